import { randomUUID } from 'node:crypto';
import type { PlanItem } from '../../statemachines/plan-definition';
import {
  type CancellationRecord,
  type CancelProductOrderCreate,
  cancelledOrderIdOf,
} from '../domain/cancel-product-order';
import {
  assessCancellation,
  compensationItems,
  type PlanItemOf,
  plannedItems,
  settling,
} from '../domain/cancellation';
import type { Catalog } from '../domain/catalog';
import { ConflictError, ValidationError } from '../domain/errors';
import type { OrderChangeEvent } from '../domain/item-lifecycle';
import { CANCELLABLE_ORDER_STATES, type ItemRecord, prerequisitesDone } from '../domain/orchestration';
import { actorOf, type Caller, maySeeOrder } from '../domain/roles';
import type { CancellationStore } from '../ports/cancellation-store';
import type { OrderAggregate, OrderStore } from '../ports/order-store';
import type { PlanRunner } from '../ports/plan-runner';
import type { CancelOrderMessage, WorkQueue } from '../ports/work-queue';
import { logger } from '../shared/logger';

/**
 * Cancelling an order in flight (TMF622 CancelProductOrder). Asked for through the API, it is carried
 * out by the worker, one `cancel` message at a time, each picking up where the order stands:
 *
 *   acknowledged: the order is `assessingCancellation`; no item of it starts meanwhile, and no point of
 *     no return (its claim checks the order's state in the same transaction).
 *   → assessed (domain/cancellation.ts): refused when a point of no return has started — the
 *     cancellation ends `terminatedWithError` naming it and the order goes back to the state it was in;
 *     otherwise the cancellation is `inProgress` and the order `pendingCancellation`.
 *   → carried out: items not started are Discarded, items in flight Frozen, completed ones Compensating;
 *     the plan runs are stopped; a compensation item is written for each compensated item, and those
 *     no other compensation waits for are started. They run as any item does (holds, limits, retry
 *     rules, fallout); each that finishes sends the next `cancel` message.
 *   → done: once every compensation is done, the order is `cancelled`.
 *
 * An operator who fails the order instead (a compensation in fallout that cannot be done) ends the
 * cancellation `terminatedWithError`.
 */

export interface RequestCancellationDeps {
  store: OrderStore;
  cancellations: CancellationStore;
  queue: WorkQueue;
  now: () => Date;
  newId?: () => string;
}

/**
 * Asks for an order's cancellation: checked, kept (acknowledged, the order `assessingCancellation`) and
 * handed to the worker. The order must be one the caller may see, and under way.
 */
export async function requestCancellation(
  deps: RequestCancellationDeps,
  body: CancelProductOrderCreate,
  caller: Caller,
): Promise<CancellationRecord> {
  const orderId = cancelledOrderIdOf(body);
  const order = await deps.store.getOrder(orderId);
  // Another submitter's order is answered as one that does not exist: its id tells nothing.
  if (!order || !maySeeOrder(caller, order))
    throw new ValidationError([{ field: 'productOrder.id', message: `no order "${orderId}"` }]);
  if (order.cancellation && order.state !== 'cancelled')
    throw new ConflictError(
      `cancellation ${order.cancellation.id} of order ${orderId} is under way (the order is ${order.state})`,
    );
  if (!CANCELLABLE_ORDER_STATES.includes(order.state))
    throw new ConflictError(
      `order ${orderId} is ${order.state}: only an order ${CANCELLABLE_ORDER_STATES.join(', ')} can be cancelled`,
    );
  const record: CancellationRecord = {
    id: (deps.newId ?? randomUUID)(),
    orderId,
    state: 'acknowledged',
    creationDate: deps.now().toISOString(),
    ...(body.requestedCancellationDate !== undefined
      ? { requestedCancellationDate: body.requestedCancellationDate }
      : {}),
    ...(body.cancellationReason !== undefined ? { cancellationReason: body.cancellationReason } : {}),
    requestedBy: actorOf(caller),
    ...(order.submittedBy ? { orderSubmittedBy: order.submittedBy.id } : {}),
  };
  if (!(await deps.cancellations.start(record, order.state)))
    throw new ConflictError(`order ${orderId} changed while its cancellation was asked for; ask again`);
  try {
    await deps.queue.send([cancelMessage(record.id, orderId)]);
  } catch (error) {
    // Not handed on, it would never be carried out: the order goes back to where it was, and the
    // cancellation says why it ended.
    const at = deps.now().toISOString();
    await deps.store.moveCancellingOrder(orderId, record.id, 'assessingCancellation', order.state, at, {
      endCancellation: true,
    });
    await deps.cancellations.setState(record.id, ['acknowledged'], 'terminatedWithError', {
      errorMessage: 'the cancellation could not be handed to the worker; ask again',
      endedAt: at,
    });
    throw error;
  }
  return record;
}

export const cancelMessage = (cancellationId: string, orderId: string): CancelOrderMessage => ({
  kind: 'cancel',
  orderId,
  cancellationId,
});

export interface CarryOutCancellationDeps {
  store: OrderStore;
  cancellations: CancellationStore;
  queue: WorkQueue;
  plans: PlanRunner;
  catalog: Catalog;
  now: () => Date;
}

/** How often the writes of a cancellation are tried again on items that moved meanwhile, per message. */
const ROUNDS = 5;

/** Moves a cancellation on from wherever its order stands (see the top of this file). */
export async function carryOutCancellation(
  deps: CarryOutCancellationDeps,
  message: CancelOrderMessage,
): Promise<void> {
  const { store, cancellations } = deps;
  const at = () => deps.now().toISOString();
  const record = await cancellations.get(message.cancellationId);
  if (!record) {
    logger.error('cancel message for a cancellation that is not kept', { ...message });
    return;
  }
  const aggregate = await store.getAggregate(message.orderId);
  if (!aggregate) throw new Error(`order "${message.orderId}" of cancellation ${record.id} is gone`);
  const { order } = aggregate;
  const ours = order.cancellation?.id === record.id;
  const log = { orderId: order.id, cancellationId: record.id };

  if (order.state === 'failed' && ours) {
    // An operator failed the order while its compensations ran.
    await cancellations.setState(record.id, ['acknowledged', 'inProgress'], 'terminatedWithError', {
      errorMessage: 'the order was failed by an operator before its compensations were done',
      endedAt: at(),
    });
    return;
  }
  if (order.state === 'assessingCancellation' && ours) {
    const previous = order.cancellation?.previousState ?? 'inProgress';
    const assessment =
      record.state === 'terminatedWithError'
        ? undefined
        : assessCancellation(aggregate.items.values(), planItemOf(deps.catalog));
    if (assessment === undefined || assessment.kind === 'refused') {
      // The cancellation records why first: a worker that dies between the writes leaves it ended, and
      // the next delivery only gives the order back.
      if (assessment)
        await cancellations.setState(record.id, ['acknowledged'], 'terminatedWithError', {
          errorMessage: assessment.reason,
          endedAt: at(),
        });
      await store.moveCancellingOrder(order.id, record.id, 'assessingCancellation', previous, at(), {
        endCancellation: true,
      });
      logger.info('cancellation refused; the order goes on', { ...log, reason: assessment?.reason });
      return;
    }
    await cancellations.setState(record.id, ['acknowledged'], 'inProgress');
    await store.moveCancellingOrder(
      order.id,
      record.id,
      'assessingCancellation',
      'pendingCancellation',
      at(),
      {
        clearHolds: true,
      },
    );
    return carryOut(deps, record, order.id);
  }
  if (order.state === 'pendingCancellation' && ours) return carryOut(deps, record, order.id);
  if (order.state === 'cancelled' && ours) {
    await endDone(deps, record, order.completedAt ?? at());
    return;
  }
  // Nothing of this cancellation is left to move: it ended, or a message came twice.
  if (record.state === 'acknowledged' || record.state === 'inProgress') {
    logger.warn('cancellation no longer its order’s: ended', { ...log, orderState: order.state });
    await cancellations.setState(record.id, ['acknowledged', 'inProgress'], 'terminatedWithError', {
      errorMessage: `the order is ${order.state} and no longer under this cancellation`,
      endedAt: at(),
    });
  }
}

/**
 * Ends every planned item where it stands, settles the frozen ones whose late answer came (or whose wait
 * ended), stops the plan runs, writes the compensations, starts those that may start, and ends the
 * cancellation once all are done and no frozen item still waits. Each step is safe to take again.
 */
async function carryOut(deps: CarryOutCancellationDeps, record: CancellationRecord, orderId: string) {
  const { store } = deps;
  const at = () => deps.now().toISOString();
  const plan = planItemOf(deps.catalog);
  let aggregate = await readOrder(store, orderId);
  for (let round = 0; ; round++) {
    const writes = itemWrites(aggregate.items.values(), plan, deps.catalog, deps.now());
    if (writes.length === 0) break;
    if (round === ROUNDS)
      throw new Error(
        `items of order ${orderId} kept moving while its cancellation ended them; trying again`,
      );
    for (const { key, event, reason, frozenUntil } of writes)
      await store.cancelItem(orderId, key, event, `${reason} (cancellation ${record.id})`, at(), frozenUntil);
    // Those that moved meanwhile (a claim, an answer) are decided again as they are now.
    aggregate = await readOrder(store, orderId);
  }
  // Its plan runs wait for items that will never finish: stopped once, before the compensations are
  // written (a worker that dies between the two stops them again).
  if (aggregate.order.cancellation?.compensations === undefined) {
    const cause = `order cancelled (cancellation ${record.id})`;
    for (const run of aggregate.order.planRuns)
      await deps.plans.stop(run.planId, run.executionName, cause, 'Switchboard.OrderCancelled');
  }

  // A compensation for each item undone or that may be (a frozen one, until it settles); each waits for
  // those of the items that depend on its own.
  const undone = new Set(
    plannedItems(aggregate.items.values())
      .filter((item) => UNDONE.has(item.state))
      .map((item) => item.key),
  );
  const compensations = compensationItems(
    aggregate.items.values(),
    undone,
    plan,
    `for cancellation ${record.id}`,
    at(),
  );
  const kept = aggregate.order.cancellation?.compensations ?? [];
  if (
    compensations.some((c) => !kept.includes(c.key)) ||
    aggregate.order.cancellation?.compensations === undefined
  ) {
    await store.addCompensations(orderId, record.id, compensations);
    aggregate = await readOrder(store, orderId);
  }
  const keys = aggregate.order.cancellation?.compensations ?? [];
  // A compensation of an item that settled without needing one (it did not act, or nothing undoes it)
  // is not run: discarded, and counted done so that those waiting for it go on.
  for (const key of keys) {
    const compensation = aggregate.items.get(key);
    const original = compensation?.compensates ? aggregate.items.get(compensation.compensates) : undefined;
    if (!compensation || !original || UNDONE.has(original.state)) continue;
    if (compensation.state === 'Pending')
      await store.cancelItem(
        orderId,
        key,
        'discard',
        `not needed: ${original.key} is ${original.state} (cancellation ${record.id})`,
        at(),
      );
    if (!aggregate.done.includes(key)) await store.markItemDone(orderId, key, undefined);
  }
  aggregate = await readOrder(store, orderId);
  const waiting = plannedItems(aggregate.items.values()).flatMap((item) => {
    if (item.state !== 'Frozen') return [];
    const settled = settling(item, plan(item), deps.now());
    return 'waitsUntil' in settled ? [settled.waitsUntil] : [];
  });
  if (waiting.length === 0 && keys.every((key) => aggregate.done.includes(key))) {
    const ended = at();
    if (await store.moveCancellingOrder(orderId, record.id, 'pendingCancellation', 'cancelled', ended))
      logger.info('order cancelled', { orderId, cancellationId: record.id, compensations: keys.length });
    await endDone(deps, record, ended);
    return;
  }
  const ready = keys
    .map((key) => aggregate.items.get(key))
    .filter(
      (item): item is ItemRecord =>
        item !== undefined &&
        item.state === 'Pending' &&
        aggregate.items.get(item.compensates ?? '')?.state === 'Compensating' &&
        prerequisitesDone(item, aggregate.done),
    );
  if (ready.length > 0)
    await deps.queue.send(ready.map((item) => ({ kind: 'start', orderId, itemKey: item.key })));
  // A frozen item whose answer does not come settles when its wait ends: this looks again then.
  const soonest = waiting.sort()[0];
  if (soonest !== undefined) {
    const seconds = Math.ceil((Date.parse(soonest) - deps.now().getTime()) / 1000) + 1;
    await deps.queue.send([cancelMessage(record.id, orderId)], {
      delaySeconds: Math.min(MAX_SQS_DELAY_SECONDS, Math.max(1, seconds)),
    });
  }
}

/** Item states whose compensation may run: undone, being undone, or frozen until they settle. */
const UNDONE: ReadonlySet<ItemRecord['state']> = new Set(['Compensating', 'Compensated', 'Frozen']);
const MAX_SQS_DELAY_SECONDS = 900;

async function endDone(deps: CarryOutCancellationDeps, record: CancellationRecord, at: string) {
  await deps.cancellations.setState(record.id, ['acknowledged', 'inProgress'], 'done', {
    effectiveCancellationDate: at,
    endedAt: at,
  });
}

async function readOrder(store: OrderStore, orderId: string): Promise<OrderAggregate> {
  const aggregate = await store.getAggregate(orderId);
  if (!aggregate) throw new Error(`order "${orderId}" is gone`);
  return aggregate;
}

const REASONS = {
  discard: 'discarded: its order is cancelled before it started',
  freeze: 'frozen: its order is cancelled while its system works on it; a late answer is kept, not applied',
  compensate: 'compensating: its order is cancelled, and what it did is undone',
} as const;

/**
 * The longest a frozen item's late answer is waited for: its callback's deadline, or for a call in
 * flight twice its interface's timeout and a minute (a procedure's steps: a quarter of an hour).
 */
function frozenUntil(item: ItemRecord, catalog: Catalog, now: Date): string {
  if (item.awaiting) return item.awaiting.deadline;
  const timeout = item.interfaceId ? catalog.interfaces[item.interfaceId]?.timeoutSeconds : undefined;
  const seconds = timeout === undefined ? 15 * 60 : 2 * timeout + 60;
  return new Date(now.getTime() + seconds * 1000).toISOString();
}

interface ItemWrite {
  key: string;
  event: OrderChangeEvent;
  reason: string;
  frozenUntil?: string;
}

/** What the cancellation asks of each planned item that is not yet where it leaves it. */
function itemWrites(items: Iterable<ItemRecord>, plan: PlanItemOf, catalog: Catalog, now: Date): ItemWrite[] {
  const given = [...items];
  const all = plannedItems(given);
  const assessment = assessCancellation(given, plan);
  // Refused only before the order is pendingCancellation: no point of no return starts after that.
  if (assessment.kind === 'refused') throw new Error(`a cancellation under way found ${assessment.reason}`);
  const byKey = new Map(all.map((item) => [item.key, item]));
  const settles = all.flatMap((item): ItemWrite[] => {
    if (item.state !== 'Frozen') return [];
    const settled = settling(item, plan(item), now);
    return 'event' in settled ? [{ key: item.key, event: settled.event, reason: settled.reason }] : [];
  });
  return [
    ...assessment.discard.map((key) => ({ key, event: 'discard' as const, reason: REASONS.discard })),
    ...assessment.freeze.map((key) => {
      const item = byKey.get(key);
      const until = item ? frozenUntil(item, catalog, now) : now.toISOString();
      return { key, event: 'freeze' as const, reason: REASONS.freeze, frozenUntil: until };
    }),
    ...assessment.compensate.map((key) => ({
      key,
      event: 'compensate' as const,
      reason: REASONS.compensate,
    })),
    ...settles,
  ];
}
/** The plan item each orchestration item instantiates, from the catalog. */
export function planItemOf(catalog: Catalog): (item: ItemRecord) => PlanItem | undefined {
  return (item) => catalog.plans[item.planId]?.items.find((p) => p.id === item.planItemId);
}
