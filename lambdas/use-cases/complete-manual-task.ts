import { ConflictError, NotFoundError, ValidationError } from '../domain/errors';
import { itemDetail } from '../domain/item-log';
import type { ItemDetail } from '../domain/orchestration';
import type { Actor } from '../domain/roles';
import type { OrderStore } from '../ports/order-store';
import type { PlanTasks } from '../ports/plan-tasks';
import type { WorkQueue } from '../ports/work-queue';
import { advance } from './item-driver';

export interface CompleteManualTaskDeps {
  store: OrderStore;
  queue: WorkQueue;
  tasks: PlanTasks;
  now: () => Date;
}

/** An item's id in URLs: the order id (a UUID, no dots) and the item's key, `<orderId>.<key>`. */
export function parseItemId(itemId: string): { orderId: string; key: string } {
  const dot = itemId.indexOf('.');
  if (dot <= 0 || dot === itemId.length - 1) {
    throw new ValidationError([
      { field: 'itemId', message: 'is not an item id (<orderId>.<plan>.<item>[.<line>])' },
    ]);
  }
  return { orderId: itemId.slice(0, dot), key: itemId.slice(dot + 1) };
}

/**
 * An operator completes a manual task.
 *
 * 1. Find the item; it must be a manual task waiting for an operator (Running), else 409.
 * 2. Record it Completed with the operator and the attributes they gave (a conditional write, so two
 *    operators completing it at once cannot both succeed).
 * 3. Hand it to the worker, which finishes it as any other item: attributes into the order context,
 *    the plan's task answered, dependents started.
 */
export async function completeManualTask(
  deps: CompleteManualTaskDeps,
  itemId: string,
  attributes: Record<string, unknown>,
  by: Actor,
): Promise<ItemDetail> {
  const { orderId, key } = parseItemId(itemId);
  const aggregate = await deps.store.getAggregate(orderId);
  const item = aggregate?.items.get(key);
  if (!aggregate || !item) throw new NotFoundError(`no orchestration item "${itemId}"`);
  const { order, done } = aggregate;
  const { decision, refused } = await advance(
    deps,
    { item, order: { state: order.state, done }, now: deps.now() },
    { kind: 'operator', action: 'complete', by, attributes },
  );
  const refusal = decision.refusal ?? (refused ? decision.whenRefused?.refusal : undefined);
  if (refusal !== undefined) throw new ConflictError(refusal);
  const completed = { ...item, state: 'Completed' as const, completedBy: by, outputAttributes: attributes };
  return (await deps.store.getItemDetail(orderId, key)) ?? itemDetail(completed, []);
}
