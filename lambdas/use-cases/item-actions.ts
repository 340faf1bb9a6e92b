import { ConflictError, NotFoundError, ValidationError } from '../domain/errors';
import type { OperatorAction } from '../domain/item-decisions';
import { itemDetail } from '../domain/item-log';
import type { ItemDetail, ItemRecord, OrderAggregateView } from '../domain/orchestration';
import { type DriverDeps, drive } from './item-driver';

/** What an operator's action on one item is carried out with. */

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
 * An operator's action on one item: reads it with its order, lets the lifecycle decide (409 with its
 * reason when the item or its order is not in a state for it), makes its conditional write and carries
 * out what it sets going; answers the item as it is then.
 */
export async function actOnItem(
  deps: DriverDeps,
  itemId: string,
  action: (aggregate: OrderAggregateView, item: ItemRecord) => OperatorAction,
): Promise<ItemDetail> {
  const { orderId, key } = parseItemId(itemId);
  const aggregate = await deps.store.getAggregate(orderId);
  const item = aggregate?.items.get(key);
  if (!aggregate || !item) throw new NotFoundError(`no orchestration item "${itemId}"`);
  const { order, done } = aggregate;
  const { decision, refused } = await drive(
    deps,
    { item, order: { state: order.state, done }, now: deps.now() },
    { kind: 'operator', ...action(aggregate, item) },
  );
  const refusal = decision.refusal ?? (refused ? decision.whenRefused?.refusal : undefined);
  if (refusal !== undefined) throw new ConflictError(refusal);
  return (await deps.store.getItemDetail(orderId, key)) ?? itemDetail(item, []);
}
