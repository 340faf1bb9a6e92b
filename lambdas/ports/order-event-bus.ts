import type { OrderEvent } from '../domain/order-events';

/** An order event on its way to the listeners, with whose order it is about (who may receive it). */
export interface PublishedEvent {
  event: OrderEvent;
  /** The id of the submitter of the order the event is about. */
  submittedBy?: string;
}

/** The bus TMF622 events go on (EventBridge): every consumer of order events subscribes there. */
export interface OrderEventBus {
  /** Puts the events on the bus, in order; throws when any could not be put (all are put again then). */
  publish(events: PublishedEvent[]): Promise<void>;
}

/** One event for one listener, on the delivery queue. */
export interface Delivery extends PublishedEvent {
  listenerId: string;
}

/** The queue deliveries wait in, each retried on its own. */
export interface DeliveryQueue {
  send(deliveries: Delivery[]): Promise<void>;
  /** Moves a delivery straight to the dead-letter queue (its listener is paused). */
  deadLetter(delivery: Delivery): Promise<void>;
}
