import type { ListenerRecord } from '../domain/listener';

/** The listeners registered on the TMF622 hub (domain/listener.ts). */
export interface ListenerStore {
  /** Registers a new listener (its id is new). */
  create(listener: ListenerRecord): Promise<void>;
  get(id: string): Promise<ListenerRecord | undefined>;
  /** Every listener, or those `ownerId` registered. Read from an index: one registered a moment ago may be missing. */
  list(options?: { ownerId?: string }): Promise<ListenerRecord[]>;
  /** Removes it; false when there was none. */
  remove(id: string): Promise<boolean>;
  /** A delivery it took: its failures in a row end. */
  recordSuccess(id: string, at: string): Promise<void>;
  /**
   * A delivery it failed: one more failure in a row, and the listener paused when `pauseIf` says so of
   * the listener as it is after the failure. The listener after it (undefined when it is gone).
   */
  recordFailure(
    id: string,
    failure: { at: string; reason: string },
    pauseIf: (listener: ListenerRecord) => boolean,
  ): Promise<ListenerRecord | undefined>;
  /** Back to `active`, its failures forgotten; false when there is no such listener. */
  resume(id: string): Promise<boolean>;
}
