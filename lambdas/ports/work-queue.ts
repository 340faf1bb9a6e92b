/** Asks the worker to look at an item again, e.g. because its last prerequisite is done. */
export interface StartItemMessage {
  kind: 'start';
  orderId: string;
  itemKey: string;
  /**
   * The attempt the item is Running under, when a delivery that holds it sends it back to the queue
   * (its system was busy): the new message goes on as that attempt.
   */
  attemptId?: string;
  /** The release that sent a held item back to work; its stamp comes off if the item stays held. */
  releaseId?: string;
  /** Since when the callout waits for a connection slot of its system: its place on the waiting list. */
  waitingSince?: string;
  /** The slot a callout that ended kept for this one, which wakes it: its turn has come. */
  handedSlot?: number;
  /** The system whose slot it was handed. */
  handedSystem?: string;
}

/** Asks whether a system the circuit breaker took Down is healthy again (see circuitBreakerSchema). */
export interface HealthProbeMessage {
  kind: 'probe';
  systemId: string;
  /** The breaker's Down this probe is about: a later Down (or an operator's change) ends it. */
  changeId: string;
}

/**
 * Checks, when it comes due, whether an asynchronous callout got its final answer. Deadlines further
 * away than SQS's 15-minute delay are reached in hops: each early arrival sends itself on again.
 */
export interface CallbackDeadlineMessage {
  kind: 'deadline';
  orderId: string;
  itemKey: string;
  /** The wait it guards (see callbackNonce): a later attempt's wait is not this one's business. */
  nonce: string;
  dueAt: string;
}

/**
 * Asks a polled system for the status of the work it accepted (SystemInterface.polling), for the attempt
 * that waits on it; a poll that finds the attempt no longer waiting does nothing.
 */
export interface PollStatusMessage {
  kind: 'poll';
  orderId: string;
  itemKey: string;
  /** The wait it polls for (see callbackNonce). */
  nonce: string;
  /** The attempt that waits: a later attempt polls for itself. */
  attemptId: string;
  /** Polls sent before this one in the attempt's wait: how far the interval has grown. */
  count: number;
}

/**
 * Moves an order's cancellation on (use-cases/cancel-order.ts): assesses it, carries it out, starts the
 * compensations that may run, and ends it once they are done. Sent when it is asked for and as each
 * compensation finishes; each handling picks up where the order stands, so a second changes nothing.
 */
export interface CancelOrderMessage {
  kind: 'cancel';
  orderId: string;
  cancellationId: string;
}

export type WorkQueueMessage =
  | StartItemMessage
  | CallbackDeadlineMessage
  | HealthProbeMessage
  | CancelOrderMessage
  | PollStatusMessage;

export interface WorkQueue {
  /** Sends now, or after `delaySeconds` (at most 900, SQS's limit). */
  send(messages: WorkQueueMessage[], options?: { delaySeconds?: number }): Promise<void>;
}
