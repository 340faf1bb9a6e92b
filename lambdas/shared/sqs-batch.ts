import type { SQSBatchResponse, SQSRecord } from 'aws-lambda';
import type { Redelivery } from '../ports/redelivery';
import type { Telemetry } from '../ports/telemetry';
import { describeError, logger } from './logger';

/** How many receives a message gets before its queue moves it to its dead-letter queue (every queue's). */
export const MAX_RECEIVE_COUNT = 5;

function receiveCount(record: SQSRecord): number {
  return Number(record.attributes.ApproximateReceiveCount) || 1;
}

/**
 * Counts a batch's messages received again (`MessagesRedelivered`) and the failed ones that had their
 * last receive, which their queue now moves to its dead-letter queue (`MessagesDeadLettered`).
 */
export function countDeliveries(
  telemetry: Telemetry,
  queue: 'work' | 'callbacks' | 'deliveries',
  records: readonly SQSRecord[],
  failed: readonly SQSRecord[],
  maxReceiveCount = MAX_RECEIVE_COUNT,
): void {
  for (const record of records) {
    if (receiveCount(record) > 1) telemetry.record('MessagesRedelivered', { queue });
  }
  for (const record of failed) {
    if (receiveCount(record) >= maxReceiveCount) telemetry.record('MessagesDeadLettered', { queue });
  }
}

/**
 * How long a message that failed on its n-th receive waits before it comes back: 5 s, 30 s, 3 min, then
 * 15 min. A passing fault costs seconds; a longer outage is waited out for about 18 minutes before the
 * fifth failure sends the message to the dead-letter queue (the queues' visibility timeouts alone gave
 * 12 to 24 minutes, with no fast first retry).
 */
export function redeliveryDelaySeconds(receiveCount: number): number {
  return Math.min(900, 5 * 6 ** (Math.max(1, receiveCount) - 1));
}

/**
 * The batch's answer to the event source: the records that failed, which Lambda leaves on the queue.
 * With a `redelivery`, each comes back after its backoff instead of the queue's visibility timeout, and
 * one that could not even be read comes back after a second: no wait makes it readable, so it reaches the
 * dead-letter queue (the queue's maxReceiveCount) within seconds. (A second rather than none: fauxqs
 * refuses a zero visibility for a message it keeps on disk.) Should that change fail, the message
 * still comes back, only later.
 */
export async function failedRecords(
  failed: readonly SQSRecord[],
  redelivery: Redelivery | undefined,
  unreadable: ReadonlySet<SQSRecord> = new Set(),
): Promise<SQSBatchResponse> {
  if (redelivery && failed.length > 0) {
    await redelivery
      .later(
        failed.map((record) => ({
          receiptHandle: record.receiptHandle,
          seconds: unreadable.has(record) ? 1 : redeliveryDelaySeconds(receiveCount(record)),
        })),
      )
      .catch((error: unknown) =>
        logger.warn("failed messages come back after the queue's visibility timeout", describeError(error)),
      );
  }
  return { batchItemFailures: failed.map((record) => ({ itemIdentifier: record.messageId })) };
}
