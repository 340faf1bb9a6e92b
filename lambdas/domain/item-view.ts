import type { ItemDetail, OrderContext, OrderRecord } from './orchestration';

/** An orchestration item as operators see it: never its task token, delivery id or bookkeeping. */
export function toItemView(item: ItemDetail) {
  const {
    taskTokens: _tokens,
    attemptId: _attempt,
    attemptCount: _count,
    finishedBy: _finishedBy,
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
export function toItemGraph({
  order,
  items,
}: {
  order: OrderRecord;
  context?: OrderContext;
  items: ReadonlyMap<string, ItemDetail>;
}) {
  const nodes = [...items.values()].sort((a, b) => a.key.localeCompare(b.key, 'en', { numeric: true }));
  return {
    orderId: order.id,
    state: order.state,
    ...(order.submittedBy ? { submittedBy: order.submittedBy } : {}),
    // Which revision the order is at, and each amendment: who, when, what changed, what it redid.
    revision: order.revision ?? 1,
    ...(order.revisions ? { revisions: order.revisions } : {}),
    ...(order.cancellation ? { cancellation: order.cancellation } : {}),
    items: nodes.map(toItemView),
    dependencies: nodes.flatMap((item) => item.dependsOn.map((from) => ({ from, to: item.key }))),
  };
}
