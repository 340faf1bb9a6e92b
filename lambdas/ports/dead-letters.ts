/** The dead-letter queues: messages no consumer could process, waiting for an operator. */
export interface DeadLetters {
  /** How many messages wait in each dead-letter queue, by the queue's purpose (`work`, `callbacks`). */
  counts(): Promise<{ queue: string; messages: number }[]>;
  /** The purposes whose dead letters an operator may send back to be tried again. */
  readonly redrivable: readonly string[];
  /**
   * Sends up to `max` of a queue's dead letters back to the queue they came from, each moved once (sent,
   * then deleted); how many were moved.
   */
  redrive(queue: string, max: number): Promise<number>;
}
