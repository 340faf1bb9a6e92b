import { type EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { ORDER_EVENT_SOURCE } from '../domain/order-events';
import type { OrderEventBus, PublishedEvent } from '../ports/order-event-bus';

/**
 * TMF622 events on Switchboard's EventBridge bus: source `switchboard.productOrdering`, the event type as
 * the detail type, and `{event, submittedBy}` as the detail. An order is at most 48 KB as JSON
 * (product-order.ts: MAX_ORDER_BYTES), so every event is well within an entry's 256 KB.
 */
export class EventBridgeOrderEventBus implements OrderEventBus {
  constructor(
    private readonly client: EventBridgeClient,
    private readonly busName: string,
  ) {}

  async publish(events: PublishedEvent[]): Promise<void> {
    // Ten entries a request, one request after another: one order's events stay in their order.
    for (let i = 0; i < events.length; i += 10) {
      const batch = events.slice(i, i + 10);
      const result = await this.client.send(
        new PutEventsCommand({
          Entries: batch.map((published) => ({
            EventBusName: this.busName,
            Source: ORDER_EVENT_SOURCE,
            DetailType: published.event.eventType,
            Detail: JSON.stringify(published),
            Resources: [`switchboard:productOrder/${published.event.correlationId}`],
            Time: new Date(published.event.eventTime),
          })),
        }),
      );
      const failed = result.Entries?.find((entry) => entry.ErrorCode);
      if ((result.FailedEntryCount ?? 0) > 0 || failed)
        throw new Error(
          `the event bus refused an order event: ${failed?.ErrorCode} ${failed?.ErrorMessage ?? ''}`,
        );
    }
  }
}
