import { randomUUID } from 'node:crypto';
import { type Catalog, slowestCalloutSeconds } from '../domain/catalog';
import { LEASE_SECONDS } from '../domain/item-lifecycle';
import { describeError, logger, withLogKeys } from '../shared/logger';
import { MAX_RATE_WAIT_MS } from './callout-admission';
import { runItem } from './run-item';
import type { RunItemDeps } from './run-item-deps';

/**
 * Items whose worker died are taken over without waiting for their message. A dead worker's message
 * comes back once its visibility runs out, but behind whatever the queue holds by then: after a crash
 * under load that is the whole backlog, minutes of it. So the workers that drain the backlog look, every
 * so often, for leases that ran out and take those items over themselves; and the reconciler's sweep
 * sends them back to work when no worker runs at all (watch-plan-runs.ts).
 *
 * A takeover is a delivery of its own (a fresh id): its claim is conditional on the lease having run out,
 * so of two sweeps, or a sweep and the returning message, one takes the item and the others find it held.
 * It goes on with the attempt's callback URL and idempotency key (item-decisions.ts: claim).
 */

/** How often one worker looks for items whose worker died, at most: half a lease. */
export const TAKEOVER_INTERVAL_MS = (LEASE_SECONDS * 1000) / 2;
/**
 * The most items one look takes over, at once, beside the worker's batch of ten: enough that one
 * execution environment (the local runtime has one per function) takes over the 145 callouts a crash
 * left in flight in three looks, not fifteen. The conditional claim keeps two looks from running one.
 */
export const TAKEOVER_LIMIT = 50;

/** Takes over, in this worker, the items whose lease ran out; returns how many it found. */
export async function takeOverExpiredItems(deps: RunItemDeps, limit = TAKEOVER_LIMIT): Promise<number> {
  const expired = await deps.store.expiredLeases(deps.now().toISOString(), limit);
  await Promise.all(
    expired.map(({ orderId, key }) =>
      withLogKeys({ orderId, itemKey: key }, async () => {
        try {
          await runItem(deps, { kind: 'start', orderId, itemKey: key }, `takeover-${randomUUID()}`);
        } catch (error) {
          // Its own message or the next look tries again: the lease is still run out.
          logger.warn('taking over an item failed', describeError(error));
        }
      }),
    ),
  );
  // Found, not necessarily taken: another look or its own message may have been first, or it waits for
  // a connection slot of its system like any callout.
  if (expired.length > 0)
    logger.warn('items whose worker was gone: taking them over', { items: expired.length });
  return expired.length;
}

/**
 * Paces the takeovers of one worker's execution environment: at most one look every
 * TAKEOVER_INTERVAL_MS, however many batches it runs.
 */
export class TakeoverPacer {
  private nextAt = 0;

  constructor(private readonly intervalMs = TAKEOVER_INTERVAL_MS) {}

  /** True (and the next look moves on by an interval) when this worker should look now. */
  due(now: Date): boolean {
    if (now.getTime() < this.nextAt) return false;
    this.nextAt = now.getTime() + this.intervalMs;
    return true;
  }
}

/**
 * The time one takeover may take: its callout to the slowest interface, the longest wait for its
 * system's rate, and a margin for its writes. A worker starts no look with less time than this left.
 */
export function takeoverNeedsMs(catalog: Catalog): number {
  return slowestCalloutSeconds(catalog) * 1000 + MAX_RATE_WAIT_MS + 15_000;
}

/**
 * The looks one batch makes beside its messages: when it starts, and on each of its heartbeats, so
 * that a batch held up by a slow callout still looks every TAKEOVER_INTERVAL_MS (paced per worker,
 * across batches, by its TakeoverPacer). None starts once the invocation has less time left than a
 * takeover needs: a takeover cut off by the function's timeout would only run out its lease again.
 */
export class TakeoverLooks {
  private readonly looks: Promise<void>[] = [];
  private readonly needsMs: number;

  constructor(
    private readonly deps: RunItemDeps,
    private readonly pacer: TakeoverPacer,
    private readonly remainingMs: () => number = () => Number.POSITIVE_INFINITY,
  ) {
    this.needsMs = takeoverNeedsMs(deps.catalog);
  }

  /** Starts a look if one is due and there is time for it; never fails the batch. */
  look(): void {
    if (this.remainingMs() < this.needsMs) return;
    if (!this.pacer.due(this.deps.now())) return;
    this.looks.push(
      takeOverExpiredItems(this.deps).then(
        () => undefined,
        (error: unknown) => logger.warn('looking for items to take over failed', describeError(error)),
      ),
    );
  }

  /** Settles when every look started has. */
  async settled(): Promise<void> {
    await Promise.all(this.looks);
  }
}
