/** A connection slot of a system, held while one callout is in flight. */
export interface SlotLease {
  systemId: string;
  slot: number;
  holder: string;
}

/**
 * The systems' concurrency and rate limits, shared by every worker. Leases expire, so a worker that dies
 * mid-callout gives its slot back by itself.
 */
export interface CalloutLimits {
  /** Takes a free connection slot of the system until `expiresAt`; undefined when all `max` are taken. */
  acquireSlot(
    systemId: string,
    max: number,
    holder: string,
    now: Date,
    expiresAt: Date,
  ): Promise<SlotLease | undefined>;
  releaseSlot(lease: SlotLease): Promise<void>;
  /** The earliest time the system's next callout may start, without reserving it; undefined when idle. */
  peekNextStart(systemId: string): Promise<Date | undefined>;
  /**
   * Reserves the next start time the system's rate allows (starts are spaced 1/perSecond of a second
   * apart), if it is at most `maxWaitMs` away; otherwise reserves nothing and says when to ask again.
   */
  reserveStart(
    systemId: string,
    perSecond: number,
    now: Date,
    maxWaitMs: number,
  ): Promise<{ startAt: Date } | { askAgainAt: Date }>;
}
