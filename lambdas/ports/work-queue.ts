/** Asks the worker to look at an item again, e.g. because its last prerequisite is done. */
export interface StartItemMessage {
  kind: 'start';
  orderId: string;
  itemKey: string;
}

export interface WorkQueue {
  send(messages: StartItemMessage[]): Promise<void>;
}
