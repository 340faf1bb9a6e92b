import { type ItemRecord, prerequisitesDone, waitsToStart } from '../domain/orchestration';
import type { OrderAggregate } from '../ports/order-store';
import type { CallbackDeadlineMessage, StartItemMessage } from '../ports/work-queue';
import { logger } from '../shared/logger';
import { cancelMessage } from './cancel-order';
import type { RunItemDeps } from './run-item-deps';

/**
 * What an item's transition sets going: its retry or deadline message, its order held, its plan task
 * answered and its dependents started.
 */

/** Brings a Failed item back when its next attempt is due: as far ahead as SQS allows, then again. */
export async function sendRetry(
  deps: Pick<RunItemDeps, 'queue' | 'now'>,
  item: ItemRecord,
  dueAt: string,
): Promise<void> {
  const remaining = (Date.parse(dueAt) - deps.now().getTime()) / 1000;
  await deps.queue.send([{ kind: 'start', orderId: item.orderId, itemKey: item.key }], {
    delaySeconds: Math.min(MAX_SQS_DELAY_SECONDS, Math.max(0, Math.ceil(remaining))),
  });
}

/**
 * Holds the order of an item in fallout until an operator acts; with `error`, the item just failed and
 * the failure is logged. Holding twice changes nothing, so every replay of a failure holds again.
 */
export async function holdOrder(
  deps: Pick<RunItemDeps, 'store' | 'now'>,
  item: Pick<ItemRecord, 'orderId' | 'key'>,
  error?: string,
): Promise<void> {
  await deps.store.holdOrder(item.orderId, item.key, deps.now().toISOString());
  if (error !== undefined)
    logger.warn('item failed', { orderId: item.orderId, itemKey: item.key, reason: error });
}

/** Sends the deadline message as far ahead as SQS allows; it sends itself on until it is due. */
export async function sendDeadline(
  deps: Pick<RunItemDeps, 'queue' | 'now'>,
  message: CallbackDeadlineMessage,
): Promise<void> {
  const remaining = (Date.parse(message.dueAt) - deps.now().getTime()) / 1000;
  await deps.queue.send([message], {
    delaySeconds: Math.min(MAX_SQS_DELAY_SECONDS, Math.max(0, Math.ceil(remaining))),
  });
}

const MAX_SQS_DELAY_SECONDS = 900;

/**
 * Finishes a done item: its attributes into the order context, the item into the done set (the order
 * completes with its last item), every plan task waiting for it answered, and its ready dependents started.
 */
export async function finish(
  deps: Pick<RunItemDeps, 'store' | 'tasks' | 'queue' | 'now' | 'telemetry' | 'startReady'>,
  aggregate: OrderAggregate,
  item: ItemRecord,
): Promise<void> {
  const { store } = deps;
  if (item.compensates !== undefined)
    return finishCompensation(deps, aggregate, { ...item, compensates: item.compensates });
  // Once counted done its attributes are in the context; merging them again on a replay could
  // overwrite what a later item wrote.
  const merged = aggregate.done.includes(item.key) ? undefined : item.outputAttributes;
  const done = await store.markItemDone(item.orderId, item.key, merged);
  if (aggregate.order.itemKeys.every((key) => done.includes(key))) {
    const at = deps.now().toISOString();
    if (await store.setOrderState(item.orderId, ['acknowledged', 'inProgress', 'held'], 'completed', at))
      deps.telemetry.record('OrdersCompleted', {});
  }
  // Read again after the item is recorded done. A token that reached this item meanwhile (a re-run
  // execution) was written before its dispatch read the item, so either that dispatch saw the item done
  // and answers its own token, or this read sees the token. Dependents' tokens work the same way. Only
  // this item and its dependents are read (dependencies never change), not the whole order.
  const dependents = [...aggregate.items.values()]
    .filter((other) => other.dependsOn.includes(item.key))
    .map((other) => other.key);
  const fresh = await store.getProgressWith(item.orderId, [item.key, ...dependents]);
  const doneNow = fresh.done ?? done;
  const tokens = new Set([...(item.taskTokens ?? []), ...(fresh.items.get(item.key)?.taskTokens ?? [])]);
  const ready = readyDependents(fresh.items.values(), item.key, doneNow);
  // Independent of each other: the plan hears of the item while its dependents already start.
  const answers = [...tokens].map((token) =>
    deps.tasks.succeed(token, { itemKey: item.key, state: item.state }),
  );
  await Promise.all([
    Promise.all(answers).then((results) => {
      // A run started again (after a restart, by the sweep) gave the item a new token and the old ones
      // answer "gone": only an item no run waits for at all is worth saying so.
      if (results.length > 0 && results.every((answered) => answered === 'gone'))
        logger.warn('a plan run no longer waits for this item, and no later run does', {
          orderId: item.orderId,
          itemKey: item.key,
        });
    }),
    startReady(deps, ready),
  ]);
}

/** Starts the dependents a finish made ready: in this invocation, where the worker runs them, or by the queue. */
async function startReady(
  deps: Pick<RunItemDeps, 'queue' | 'startReady'>,
  ready: readonly ItemRecord[],
): Promise<void> {
  if (ready.length === 0) return;
  const messages = ready.map(
    (other): StartItemMessage => ({ kind: 'start', orderId: other.orderId, itemKey: other.key }),
  );
  await (deps.startReady ? deps.startReady(messages) : deps.queue.send(messages));
}

/**
 * The items waiting for `key` that may start now: Pending, every prerequisite done, and dispatched by
 * their plan run — or made by a cancellation or an amendment, which no plan run dispatches.
 */
function readyDependents(items: Iterable<ItemRecord>, key: string, done: readonly string[]): ItemRecord[] {
  // One On Hold or waiting for its retry (an amendment made it wait for a new run) is looked at too:
  // the worker holds it again, or waits for its retry, as it would.
  return [...items].filter(
    (other) =>
      waitsToStart(other) &&
      ((other.taskTokens?.length ?? 0) > 0 ||
        other.compensates !== undefined ||
        other.supersedes !== undefined) &&
      other.dependsOn.includes(key) &&
      prerequisitesDone(other, done),
  );
}

/**
 * Finishes a compensation: counted done (it writes nothing to the order's context: it undoes), the
 * item it compensates marked Compensated (or Completed again, when an operator skipped the
 * compensation), and then: a cancellation's is moved on — it starts the compensations that waited for
 * this one, or ends once all are done (cancel-order.ts); an amendment's starts what waited for it.
 */
async function finishCompensation(
  deps: Pick<RunItemDeps, 'store' | 'queue' | 'now' | 'startReady'>,
  aggregate: OrderAggregate,
  item: ItemRecord & { compensates: string },
): Promise<void> {
  const { store } = deps;
  await store.markItemDone(item.orderId, item.key, undefined);
  const skipped = item.state === 'Skipped';
  await store.cancelItem(
    item.orderId,
    item.compensates,
    skipped ? 'compensationSkipped' : 'compensated',
    skipped
      ? `its compensation ${item.key} was skipped; what it did stays done`
      : `compensated by ${item.key}`,
    deps.now().toISOString(),
  );
  const cancellation = aggregate.order.cancellation;
  if (cancellation) {
    await deps.queue.send([cancelMessage(cancellation.id, item.orderId)]);
    return;
  }
  // An amendment's: what waited for it — the run of its item again, the compensations before it — goes on.
  const dependents = [...aggregate.items.values()].filter((other) => other.dependsOn.includes(item.key));
  const fresh = await deps.store.getProgressWith(
    item.orderId,
    dependents.map((other) => other.key),
  );
  await startReady(deps, readyDependents(fresh.items.values(), item.key, fresh.done ?? []));
}
