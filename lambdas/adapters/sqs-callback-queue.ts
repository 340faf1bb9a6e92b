import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { CallbackMessage } from '../domain/callback';
import type { CallbackQueue } from '../ports/callback-queue';

export class SqsCallbackQueue implements CallbackQueue {
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async send(message: CallbackMessage): Promise<void> {
    await this.sqs.send(
      new SendMessageCommand({ QueueUrl: this.queueUrl, MessageBody: JSON.stringify(message) }),
    );
  }
}
