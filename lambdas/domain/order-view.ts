import type { ItemRecord, OrderContext, OrderRecord } from './orchestration';

export const TMF622_BASE_PATH = '/tmf-api/productOrderingManagement/v5';

type LineState = 'acknowledged' | 'inProgress' | 'held' | 'completed';

/** A line's TMF state, from the states of the orchestration items that fulfil it. */
function lineState(items: ItemRecord[]): LineState | undefined {
  if (items.length === 0) return undefined;
  if (items.some((i) => i.state === 'FatallyFailed' || i.state === 'OnHold')) return 'held';
  if (items.every((i) => i.state === 'Completed' || i.state === 'Skipped')) return 'completed';
  if (items.some((i) => i.state !== 'Pending')) return 'inProgress';
  return 'acknowledged';
}

/**
 * The TMF622 ProductOrder resource for an order. The attributes fulfilment wrote (the reserved port, …)
 * are returned in `fulfilmentAttributes`, a Switchboard extension of the resource.
 */
export function toProductOrder(order: OrderRecord, items?: Iterable<ItemRecord>, context?: OrderContext) {
  // A line's items: its own line-scoped ones and the order-scoped ones of the plan run that covers it.
  const byLine = new Map<string, ItemRecord[]>();
  const add = (lineId: string, item: ItemRecord) => byLine.set(lineId, [...(byLine.get(lineId) ?? []), item]);
  for (const item of items ?? []) {
    if (item.lineId !== undefined) add(item.lineId, item);
    else
      for (const lineId of order.planRuns.find((r) => r.planId === item.planId)?.lineIds ?? [])
        add(lineId, item);
  }
  const lines = (order.submitted.productOrderItem as Record<string, unknown>[] | undefined) ?? [];
  return {
    ...order.submitted,
    '@type': 'ProductOrder',
    id: order.id,
    href: `${TMF622_BASE_PATH}/productOrder/${order.id}`,
    state: order.state,
    creationDate: order.createdAt,
    orderDate: order.createdAt,
    ...(order.completedAt ? { completionDate: order.completedAt } : {}),
    productOrderItem: lines.map((line) => {
      const state = items ? lineState(byLine.get(String(line.id)) ?? []) : undefined;
      return { '@type': 'ProductOrderItem', ...line, ...(state ? { state } : {}) };
    }),
    ...(context ? { fulfilmentAttributes: context } : {}),
  };
}
