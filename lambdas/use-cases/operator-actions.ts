import { z } from 'zod';
import type { Catalog } from '../domain/catalog';
import { ConflictError, NotFoundError } from '../domain/errors';
import { itemDetail } from '../domain/item-log';
import type { ItemDetail, ItemRecord, OrderAggregateView } from '../domain/orchestration';
import type { Actor } from '../domain/roles';
import type { OrderStore } from '../ports/order-store';
import type { PlanTasks } from '../ports/plan-tasks';
import type { WorkQueue } from '../ports/work-queue';
import { parseWith } from '../shared/http';
import { parseItemId } from './complete-manual-task';

export interface OperatorActionDeps {
  store: OrderStore;
  queue: WorkQueue;
  tasks: PlanTasks;
  catalog: Catalog;
  now: () => Date;
}

const text = z.string().trim().min(1, 'is required: say why').max(1000);
/** POST /orchestration/items/{itemId}/retry and /fail */
export const reasonSchema = z.object({ reason: text }).strict();
/** POST /orchestration/items/{itemId}/skip */
export const noteSchema = z.object({ note: text }).strict();

/** The item and its order; an order that failed or completed takes no more actions (409). */
async function find(deps: OperatorActionDeps, itemId: string) {
  const { orderId, key } = parseItemId(itemId);
  const aggregate = await deps.store.getAggregate(orderId);
  const item = aggregate?.items.get(key);
  if (!aggregate || !item) throw new NotFoundError(`no orchestration item "${itemId}"`);
  if (aggregate.order.state === 'failed' || aggregate.order.state === 'completed') {
    throw new ConflictError(
      `the order of item "${itemId}" is ${aggregate.order.state}; its items take no more actions`,
    );
  }
  return { aggregate, item };
}

/**
 * An operator retries an item in fallout (or one waiting for its next retry): a fresh attempt now, with
 * its retry count reset. The item is Pending again, no longer holds its order, and goes to the worker,
 * which runs it as any callout (On Hold first if its system is away).
 */
export async function retryByOperator(
  deps: OperatorActionDeps,
  itemId: string,
  body: unknown,
  by: Actor,
): Promise<ItemDetail> {
  const { reason } = parseWith(reasonSchema, body);
  const { item } = await find(deps, itemId);
  return handBack(deps, item, 'only an item in fallout or waiting for a retry can be retried', (at) =>
    deps.store.retryByOperator(item.orderId, item.key, by, reason, at),
  );
}

/**
 * Makes the operator's change (a conditional write; 409 with `refusal` when the item is not in a state
 * for it), lets the order go, and hands the item to the worker, which runs or finishes it.
 */
async function handBack(
  deps: OperatorActionDeps,
  item: ItemRecord,
  refusal: string,
  write: (at: string) => Promise<boolean>,
): Promise<ItemDetail> {
  const at = deps.now().toISOString();
  if (!(await write(at))) {
    throw new ConflictError(`item "${item.orderId}.${item.key}" is ${item.state}; ${refusal}`);
  }
  await deps.store.releaseOrderHold(item.orderId, item.key, at);
  await deps.queue.send([{ kind: 'start', orderId: item.orderId, itemKey: item.key }]);
  return detailOf(deps, item);
}

/**
 * An operator skips an item in fallout, waiting for a retry, or On Hold: it counts as done, with the
 * note; the worker then finishes it (its plan task answered, its dependents started). An item past
 * its point of no return — one that is itself a point of no return, or comes after one that completed
 * — cannot be skipped.
 */
export async function skipByOperator(
  deps: OperatorActionDeps,
  itemId: string,
  body: unknown,
  by: Actor,
): Promise<ItemDetail> {
  const { note } = parseWith(noteSchema, body);
  const { aggregate, item } = await find(deps, itemId);
  const past = pointOfNoReturnBehind(deps.catalog, aggregate, item);
  if (past) throw new ConflictError(`item "${itemId}" cannot be skipped: ${past}`);
  return handBack(
    deps,
    item,
    'only an item in fallout, waiting for a retry or On Hold can be skipped',
    (at) => deps.store.skipByOperator(item.orderId, item.key, by, note, at),
  );
}

/**
 * An operator fails the order of an item in fallout (or waiting for a retry): the order is `failed`,
 * the item leaves the fallout list with who and why, and the plan's wait for it fails, which ends the
 * plan's execution.
 */
export async function failByOperator(
  deps: OperatorActionDeps,
  itemId: string,
  body: unknown,
  by: Actor,
): Promise<ItemDetail> {
  const { reason } = parseWith(reasonSchema, body);
  const { item } = await find(deps, itemId);
  const at = deps.now().toISOString();
  if (!(await deps.store.failByOperator(item.orderId, item.key, by, reason, at))) {
    throw new ConflictError(
      `item "${itemId}" is ${item.state}; only an item in fallout or waiting for a retry can fail its order`,
    );
  }
  await deps.store.setOrderState(item.orderId, ['acknowledged', 'inProgress', 'held'], 'failed', at);
  for (const token of item.taskTokens ?? []) {
    await deps.tasks.fail(token, 'Switchboard.OrderFailed', `failed by ${by.name} (${by.id}): ${reason}`);
  }
  return detailOf(deps, item);
}

/** The item as it is now, with its log, as the operator's answer shows it. */
async function detailOf(deps: OperatorActionDeps, item: ItemRecord): Promise<ItemDetail> {
  return (await deps.store.getItemDetail(item.orderId, item.key)) ?? itemDetail(item, []);
}

/** Why the item is past its point of no return, or undefined when it is not. */
function pointOfNoReturnBehind(
  catalog: Catalog,
  aggregate: OrderAggregateView,
  item: ItemRecord,
): string | undefined {
  const isPoint = (i: ItemRecord) =>
    catalog.plans[i.planId]?.items.find((p) => p.id === i.planItemId)?.pointOfNoReturn === true;
  if (isPoint(item)) return 'it is a point of no return';
  const seen = new Set<string>();
  const pending = [...item.dependsOn];
  while (pending.length > 0) {
    const key = pending.pop() as string;
    if (seen.has(key)) continue;
    seen.add(key);
    const before = aggregate.items.get(key);
    if (!before) continue;
    if (isPoint(before) && before.state === 'Completed') {
      return `it comes after "${before.planItemId}", a point of no return that completed`;
    }
    pending.push(...before.dependsOn);
  }
  return undefined;
}
