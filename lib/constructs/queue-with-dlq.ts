import { Duration, Validations } from 'aws-cdk-lib';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { MAX_RECEIVE_COUNT } from '../../lambdas/shared/sqs-batch';
import type { OperatorAlerts } from './operator-alerts';

export interface QueueWithDlqProps {
  /** At least six times the consumer's timeout, so a slow batch is not delivered twice. */
  visibilityTimeout: Duration;
  /** Who is told when a message lands in the dead-letter queue. */
  alerts: OperatorAlerts;
  /** Receives before a message goes to the dead-letter queue (MAX_RECEIVE_COUNT unless its consumer counts its own). */
  maxReceiveCount?: number;
}

/**
 * An encrypted, TLS-only queue whose poison messages land in a dead-letter queue kept for 14 days, after
 * the receives the consumers count as the last (shared/sqs-batch.ts).
 */
export class QueueWithDlq extends Construct {
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;

  constructor(scope: Construct, id: string, props: QueueWithDlqProps) {
    super(scope, id);
    this.deadLetterQueue = new Queue(this, 'DeadLetters', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.deadLetterQueue).acknowledge(
      {
        id: 'AwsSolutions-SQS3',
        reason: 'This is the dead-letter queue; its messages wait for an operator.',
      },
      {
        id: 'Serverless-SQSRedrivePolicy',
        reason: 'This is the dead-letter queue: nothing consumes it, an operator redrives it.',
      },
    );
    this.queue = new Queue(this, 'Queue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: props.visibilityTimeout,
      retentionPeriod: Duration.days(14),
      deadLetterQueue: {
        queue: this.deadLetterQueue,
        maxReceiveCount: props.maxReceiveCount ?? MAX_RECEIVE_COUNT,
      },
    });
    // Operators see a message nobody could process as an alarm, not as a silence.
    props.alerts.watchQueue(
      this,
      'DeadLettersWaiting',
      this.deadLetterQueue,
      `Messages of ${id} that could not be processed wait in its dead-letter queue`,
    );
  }
}
