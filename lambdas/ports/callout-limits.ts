/** A connection slot of a system, held while one callout is in flight. */
export interface SlotLease {
  systemId: string;
  slot: number;
  holder: string;
}

/** A slot a release kept for one item (`<orderId>.<itemKey>`), which that item's callout may take. */
export interface HandedSlot {
  item: string;
  slot: number;
}

/** A callout waiting for a connection slot of its system. */
export interface SlotWaiter {
  orderId: string;
  itemKey: string;
  /** When it began to wait: its place on the list, oldest first, kept however often it asks again. */
  since: string;
  /** Its order's priority (0 highest; absent: the lowest): the list is by priority first, then by `since`. */
  priority?: number;
  /** The attempt a procedure's step waits in (it holds its item), carried on by the message that wakes it. */
  attemptId?: string;
}

/**
 * The systems' concurrency and rate limits, shared by every worker. Leases expire, so a worker that dies
 * mid-callout gives its slot back by itself.
 */
export interface CalloutLimits {
  /**
   * Takes a free connection slot of the system until `expiresAt` — or the one handed to `item`
   * (`<orderId>.<itemKey>`) when a callout released it for it, or one `inheritFrom` holds (the attempt
   * this delivery takes over: its worker died holding the slot for the same callout); undefined when all
   * `max` are taken.
   */
  acquireSlot(
    systemId: string,
    max: number,
    holder: string,
    now: Date,
    expiresAt: Date,
    handed?: HandedSlot,
    inheritFrom?: string,
  ): Promise<SlotLease | undefined>;
  /**
   * Gives the slot back. When callouts wait for one, the oldest is handed it instead: the slot is kept
   * for that item until `handOffUntil`, and the waiter is returned with the slot, to be woken; nothing
   * else may take the slot meanwhile, so a backlog drains in the order it formed.
   */
  releaseSlot(
    lease: SlotLease,
    now: Date,
    handOffUntil: Date,
  ): Promise<{ waiter: SlotWaiter; slot: number } | undefined>;
  /** Puts a callout on its system's waiting list; a callout already on it keeps its place. */
  waitForSlot(systemId: string, waiter: SlotWaiter): Promise<void>;
  /** Takes a callout off the waiting list (it has a slot now). */
  stopWaiting(systemId: string, waiter: SlotWaiter): Promise<void>;
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
