/** A received message to bring back after `seconds` rather than after its queue's visibility timeout. */
export interface Comeback {
  receiptHandle: string;
  seconds: number;
}

/**
 * Brings a batch's failed messages back sooner than their queue's visibility timeout would (3 or 6
 * minutes, sized for the function's timeout), so that a passing fault costs seconds, not minutes.
 */
export interface Redelivery {
  later(comebacks: Comeback[]): Promise<void>;
}
