/** Asks the worker to look at an item again, e.g. because its last prerequisite is done. */
export interface StartItemMessage {
  kind: 'start';
  orderId: string;
  itemKey: string;
}

export interface WorkQueue {
  /** Sends now, or after `delaySeconds` (at most 900, SQS's limit). */
  send(messages: StartItemMessage[], options?: { delaySeconds?: number }): Promise<void>;
}
