import { type EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { AVAILABILITY_SOURCE, DETAIL_TYPES, type ReleaseRequest } from '../domain/availability';
import type { AvailabilityEvent, AvailabilityEvents } from '../ports/availability-events';

/** Availability announced on Switchboard's EventBridge bus (source `switchboard.availability`). */
export class EventBridgeAvailabilityEvents implements AvailabilityEvents {
  constructor(
    private readonly client: EventBridgeClient,
    private readonly busName: string,
  ) {}

  available(event: AvailabilityEvent): Promise<void> {
    return this.put(DETAIL_TYPES.available, event, event.systemId);
  }

  unavailable(event: AvailabilityEvent): Promise<void> {
    return this.put(DETAIL_TYPES.unavailable, event, event.systemId);
  }

  requestRelease(request: ReleaseRequest): Promise<void> {
    return this.put(DETAIL_TYPES.releaseRequested, request, request.systemId);
  }

  /** One event; a refused entry is an error, so the caller's change is reported as not announced. */
  private async put(detailType: string, detail: object, systemId: string): Promise<void> {
    const result = await this.client.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: this.busName,
            Source: AVAILABILITY_SOURCE,
            DetailType: detailType,
            Detail: JSON.stringify(detail),
            Resources: [`switchboard:system/${systemId}`],
          },
        ],
      }),
    );
    const failed = result.Entries?.find((e) => e.ErrorCode);
    if ((result.FailedEntryCount ?? 0) > 0 || failed) {
      throw new Error(
        `the event bus refused "${detailType}": ${failed?.ErrorCode} ${failed?.ErrorMessage ?? ''}`,
      );
    }
  }
}
