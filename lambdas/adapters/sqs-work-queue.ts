import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { WorkQueue, WorkQueueMessage } from '../ports/work-queue';

export class SqsWorkQueue implements WorkQueue {
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async send(messages: WorkQueueMessage[], options: { delaySeconds?: number } = {}): Promise<void> {
    const delay =
      options.delaySeconds === undefined
        ? {}
        : { DelaySeconds: Math.min(900, Math.max(0, Math.ceil(options.delaySeconds))) };
    for (let i = 0; i < messages.length; i += 10) {
      const batch = messages.slice(i, i + 10);
      const result = await this.sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: this.queueUrl,
          Entries: batch.map((message, n) => ({
            Id: String(n),
            MessageBody: JSON.stringify(message),
            ...delay,
          })),
        }),
      );
      if (result.Failed && result.Failed.length > 0) {
        throw new Error(
          `work queue refused ${result.Failed.length} messages: ${result.Failed[0]?.Message ?? ''}`,
        );
      }
    }
  }
}
