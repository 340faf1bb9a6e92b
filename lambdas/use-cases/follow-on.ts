import type { StartItemMessage } from '../ports/work-queue';
import { describeError, logger, withOwnLogKeys } from '../shared/logger';
import { runItem } from './run-item';
import type { RunItemDeps, WorkMessage } from './run-item-deps';

/**
 * Runs a work message, then, in this same invocation, the dependents its item's finish made ready, and
 * theirs in turn. The hop from one item's answer to the next item's request is then the next item's own
 * reads and claim, not also a `start` message, its trip through the queue and a new invocation
 * (docs/performance.md measured that hop as the largest share of an order's overhead).
 *
 * Nothing about an item's safety changes. A dependent runs under a delivery id of its own, derived from
 * the message that finished its prerequisite, and claims, leases and writes as any delivery does. Should
 * this worker die while running it, the item is Running under a lease that runs out, and the sweep takes
 * it over (take-over-items.ts); the message, redelivered, finds its own item done. A dependent whose run
 * fails here, or that there is no time left for (`hasTimeFor`: one item's run may take as long as a
 * takeover), is sent to the queue as it would have been.
 */
export async function runWithFollowOns(
  deps: RunItemDeps,
  message: WorkMessage,
  messageId: string,
  hasTimeFor: () => boolean,
): Promise<void> {
  const ready: StartItemMessage[] = [];
  const collecting: RunItemDeps = {
    ...deps,
    startReady: async (messages) => {
      ready.push(...messages);
    },
  };
  await runItem(collecting, message, messageId);
  // After the run has given back its connection slot: a dependent on the same system may want it.
  await Promise.all(ready.map((next) => followOn(deps, next, `${messageId}/${next.itemKey}`, hasTimeFor)));
}

async function followOn(
  deps: RunItemDeps,
  next: StartItemMessage,
  deliveryId: string,
  hasTimeFor: () => boolean,
): Promise<void> {
  if (!hasTimeFor()) return deps.queue.send([next]);
  await withOwnLogKeys({ orderId: next.orderId, itemKey: next.itemKey, messageId: deliveryId }, async () => {
    try {
      await runWithFollowOns(deps, next, deliveryId, hasTimeFor);
    } catch (error) {
      logger.warn(
        'a dependent run in this invocation failed; it goes to the work queue',
        describeError(error),
      );
      await deps.queue.send([next]);
    }
  });
}
