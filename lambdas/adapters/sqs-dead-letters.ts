import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { DeadLetters } from '../ports/dead-letters';

export class SqsDeadLetters implements DeadLetters {
  constructor(
    private readonly sqs: SQSClient,
    /** Queue URLs by purpose. */
    private readonly queues: Record<string, string>,
  ) {}

  async counts(): Promise<{ queue: string; messages: number }[]> {
    return Promise.all(
      Object.entries(this.queues).map(async ([queue, url]) => {
        const { Attributes } = await this.sqs.send(
          new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages'] }),
        );
        return { queue, messages: Number(Attributes?.ApproximateNumberOfMessages ?? 0) };
      }),
    );
  }
}
