import type { AvailabilityChange, ReleaseRequest } from '../domain/availability';

/** What a change of availability announces on the event bus. */
export interface AvailabilityEvent {
  systemId: string;
  interfaceId?: string;
  /** Why, as the operator (or Switchboard) said it. */
  reason: string;
  /** The change announced (absent when an operator asks again for a system that is available). */
  change?: AvailabilityChange;
  /** For a change to available: the release it starts (none when an operator keeps the held items for a release by hand). */
  releaseId?: string;
}

/** Switchboard's event bus, for availability: a system or interface coming back releases its held items. */
export interface AvailabilityEvents {
  available(event: AvailabilityEvent): Promise<void>;
  unavailable(event: AvailabilityEvent): Promise<void>;
  /** Starts a release by hand, or continues one that ran out of time. */
  requestRelease(request: ReleaseRequest): Promise<void>;
}
