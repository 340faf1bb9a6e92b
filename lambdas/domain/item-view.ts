import type { ItemRecord, OrderAggregateView } from './orchestration';

/** An orchestration item as operators see it: never its task token or delivery id. */
export function toItemView(item: ItemRecord) {
  const {
    taskTokens: _tokens,
    attemptId: _attempt,
    callbackIds: _callbacks,
    outputAttributes,
    key,
    ...rest
  } = item;
  // The id is what /orchestration/items/{itemId} takes; the key is what dependencies name.
  return {
    id: `${item.orderId}.${key}`,
    key,
    ...rest,
    ...(outputAttributes ? { attributes: outputAttributes } : {}),
  };
}

/** The order's plan as a graph: its items as nodes, their dependencies as edges. */
export function toItemGraph({ order, items }: OrderAggregateView) {
  const nodes = [...items.values()].sort((a, b) => a.key.localeCompare(b.key, 'en', { numeric: true }));
  return {
    orderId: order.id,
    state: order.state,
    ...(order.submittedBy ? { submittedBy: order.submittedBy } : {}),
    items: nodes.map(toItemView),
    dependencies: nodes.flatMap((item) => item.dependsOn.map((from) => ({ from, to: item.key }))),
  };
}
