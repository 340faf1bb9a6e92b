import type { OrderRecord } from '../domain/orchestration';
import { announcementOf, type OrderEvent, orderEventOf, type RecordChange } from '../domain/order-events';
import type { OrderEventBus, PublishedEvent } from '../ports/order-event-bus';
import type { OrderStore } from '../ports/order-store';

export interface PublishDeps {
  store: Pick<OrderStore, 'getOrder'>;
  bus: OrderEventBus;
}

/**
 * Announces the changes of one stream batch on the bus, in the order they were made. Each order an
 * event needs is read once per batch (as it is now; the event takes its state from the change), and an
 * order that is gone announces nothing. A batch that fails is retried whole by its event source; the
 * events it announces again have the same ids (order-events.ts), so a listener sees them as the same.
 */
export async function publishOrderEvents(
  deps: PublishDeps,
  changes: readonly RecordChange[],
): Promise<number> {
  const announced = changes.flatMap((change) => {
    const announcement = announcementOf(change);
    return announcement ? [{ change, announcement }] : [];
  });
  const orders = new Map<string, Promise<OrderRecord | undefined>>();
  const orderOf = (id: string) => {
    let order = orders.get(id);
    if (!order) {
      order = deps.store.getOrder(id);
      orders.set(id, order);
    }
    return order;
  };
  const events: PublishedEvent[] = [];
  for (const { change, announcement } of announced) {
    const order = await orderOf(announcement.orderId);
    const event: OrderEvent | undefined = orderEventOf(announcement, change, order);
    if (!event) continue;
    const submittedBy =
      order?.submittedBy?.id ??
      ('cancellation' in announcement ? announcement.cancellation.orderSubmittedBy : undefined);
    events.push({ event, ...(submittedBy === undefined ? {} : { submittedBy }) });
  }
  if (events.length > 0) await deps.bus.publish(events);
  return events.length;
}
