import { ChangeMessageVisibilityBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { Comeback, Redelivery } from '../ports/redelivery';

/** Changes the visibility of received messages of one queue (sqs:ChangeMessageVisibility). */
export class SqsRedelivery implements Redelivery {
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async later(comebacks: Comeback[]): Promise<void> {
    const refused: string[] = [];
    for (let i = 0; i < comebacks.length; i += 10) {
      const result = await this.sqs.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: this.queueUrl,
          Entries: comebacks.slice(i, i + 10).map(({ receiptHandle, seconds }, n) => ({
            Id: String(n),
            ReceiptHandle: receiptHandle,
            VisibilityTimeout: Math.max(0, Math.min(43_200, Math.ceil(seconds))),
          })),
        }),
      );
      for (const failed of result.Failed ?? []) refused.push(failed.Message ?? failed.Code ?? 'refused');
    }
    if (refused.length > 0) {
      throw new Error(`the queue kept ${refused.length} messages' visibility as it was: ${refused[0]}`);
    }
  }
}
