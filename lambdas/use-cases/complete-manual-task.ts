import { article } from '../../statemachines/plan-definition';
import { ConflictError, NotFoundError, ValidationError } from '../domain/errors';
import { itemDetail } from '../domain/item-log';
import type { ItemDetail } from '../domain/orchestration';
import type { Actor } from '../domain/roles';
import type { OrderStore } from '../ports/order-store';
import type { WorkQueue } from '../ports/work-queue';

export interface CompleteManualTaskDeps {
  store: OrderStore;
  queue: WorkQueue;
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
  if (item.type === 'manualTask' && item.state === 'Completed' && !aggregate.done.includes(key)) {
    // Completed but never handed on (the hand-over failed): hand it on again, which is idempotent.
    await deps.queue.send([{ kind: 'start', orderId, itemKey: key }]);
    return (await deps.store.getItemDetail(orderId, key)) ?? itemDetail(item, []);
  }
  if (item.type !== 'manualTask')
    throw new ConflictError(`item "${itemId}" is ${article(item.type)}, not a manual task`);
  if (item.state !== 'Running') {
    throw new ConflictError(`item "${itemId}" is ${item.state}, not waiting for an operator`);
  }
  const at = deps.now().toISOString();
  if (!(await deps.store.completeManualTask(orderId, key, by, attributes, undefined, at))) {
    throw new ConflictError(`item "${itemId}" was changed meanwhile; read it again`);
  }
  await deps.queue.send([{ kind: 'start', orderId, itemKey: key }]);
  const completed = { ...item, state: 'Completed' as const, completedAt: at, completedBy: by };
  return (
    (await deps.store.getItemDetail(orderId, key)) ??
    itemDetail({ ...completed, outputAttributes: attributes }, [])
  );
}
