/** The dead-letter queues: messages no consumer could process, waiting for an operator. */
export interface DeadLetters {
  /** How many messages wait in each dead-letter queue, by the queue's purpose (`work`, `callbacks`). */
  counts(): Promise<{ queue: string; messages: number }[]>;
}
