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

export type WorkQueueMessage = StartItemMessage | CallbackDeadlineMessage;

export interface WorkQueue {
  /** Sends now, or after `delaySeconds` (at most 900, SQS's limit). */
  send(messages: WorkQueueMessage[], options?: { delaySeconds?: number }): Promise<void>;
}
