import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { Delivery, DeliveryQueue } from '../ports/order-event-bus';

/**
 * Deliveries on their SQS queue, one message each (an event may be near SQS's 256 KB batch limit, so they
 * are not batched); a paused listener's go to the queue's dead-letter queue directly.
 */
export class SqsDeliveryQueue implements DeliveryQueue {
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
    private readonly deadLetterQueueUrl: string,
  ) {}

  async send(deliveries: Delivery[]): Promise<void> {
    await Promise.all(deliveries.map((delivery) => this.put(this.queueUrl, delivery)));
  }

  deadLetter(delivery: Delivery): Promise<void> {
    return this.put(this.deadLetterQueueUrl, delivery);
  }

  private async put(queueUrl: string, delivery: Delivery): Promise<void> {
    await this.sqs.send(
      new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(delivery) }),
    );
  }
}
