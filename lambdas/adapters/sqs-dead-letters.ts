import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { DeadLetters } from '../ports/dead-letters';

export class SqsDeadLetters implements DeadLetters {
  readonly redrivable: readonly string[];

  constructor(
    private readonly sqs: SQSClient,
    /** Dead-letter queue URLs by purpose. */
    private readonly queues: Record<string, string>,
    /** The queue each purpose's dead letters may be sent back to, for those an operator may redrive. */
    private readonly sources: Record<string, string> = {},
  ) {
    this.redrivable = Object.keys(sources).filter((purpose) => purpose in queues);
  }

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

  /**
   * Ten at a time: received (hidden for a minute), sent to the source queue, then deleted. A crash between
   * the send and the delete sends a message twice, which its consumer tells by its id (a delivery's
   * event id); nothing is lost.
   */
  async redrive(queue: string, max: number): Promise<number> {
    const from = this.queues[queue];
    const to = this.sources[queue];
    if (!from || !to) throw new Error(`no dead-letter queue "${queue}" to redrive`);
    let moved = 0;
    while (moved < max) {
      const { Messages = [] } = await this.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: from,
          MaxNumberOfMessages: Math.min(10, max - moved),
          VisibilityTimeout: 60,
          WaitTimeSeconds: 0,
        }),
      );
      if (Messages.length === 0) break;
      const sent = await this.sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: to,
          Entries: Messages.map((m, i) => ({ Id: String(i), MessageBody: m.Body ?? '' })),
        }),
      );
      const ok = new Set((sent.Successful ?? []).map((s) => s.Id));
      const done = Messages.filter((_, i) => ok.has(String(i)));
      if (done.length > 0)
        await this.sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: from,
            Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle ?? '' })),
          }),
        );
      moved += done.length;
      if (done.length < Messages.length)
        throw new Error(`the ${queue} queue refused ${Messages.length - done.length} of them`);
    }
    return moved;
  }
}
