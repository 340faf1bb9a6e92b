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
    // Ten entries a request, and at most 256 KB, one request after another: one order's events stay in
    // their order.
    for (const batch of requests(events)) {
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

/** What one PutEvents request takes: ten entries, 256 KB in all (with room for each entry's envelope). */
const MAX_ENTRIES = 10;
const MAX_REQUEST_BYTES = 240 * 1024;

/** The events in requests of at most MAX_ENTRIES and MAX_REQUEST_BYTES, in their order. */
export function requests(events: readonly PublishedEvent[]): PublishedEvent[][] {
  const batches: PublishedEvent[][] = [];
  let batch: PublishedEvent[] = [];
  let bytes = 0;
  for (const event of events) {
    const size = Buffer.byteLength(JSON.stringify(event)) + 512;
    if (batch.length > 0 && (batch.length === MAX_ENTRIES || bytes + size > MAX_REQUEST_BYTES)) {
      batches.push(batch);
      batch = [];
      bytes = 0;
    }
    batch.push(event);
    bytes += size;
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}
