import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { type IQueue, Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

export interface OperatorAlertsProps {
  /** Who is told: an email address subscribed to the topic (context `switchboard:alarmEmail`). */
  email?: string;
}

/**
 * Where every alarm goes: an SNS topic operators subscribe to (an email from the context, or their own
 * pager's endpoint), encrypted with a key of its own that CloudWatch may use to publish.
 */
export class OperatorAlerts extends Construct {
  readonly topic: Topic;

  constructor(scope: Construct, id: string, props: OperatorAlertsProps = {}) {
    super(scope, id);
    const key = new Key(this, 'Key', {
      description: 'Switchboard: encrypts the topic that operators are alerted on',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // CloudWatch publishes alarms to an encrypted topic only with a key it may use.
    key.grant(new ServicePrincipal('cloudwatch.amazonaws.com'), 'kms:Decrypt', 'kms:GenerateDataKey*');
    this.topic = new Topic(this, 'Topic', {
      displayName: 'Switchboard alarms',
      masterKey: key,
      enforceSSL: true,
    });
    if (props.email) {
      // An alert the email endpoint refused is kept (an alarm on it would go to this very topic).
      const undelivered = new Queue(this, 'UndeliveredAlerts', {
        encryption: QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        retentionPeriod: Duration.days(14),
      });
      Validations.of(undelivered).acknowledge(
        { id: 'AwsSolutions-SQS3', reason: 'This is the dead-letter queue of the alert subscription.' },
        {
          id: 'Serverless-SQSRedrivePolicy',
          reason: 'This is a dead-letter queue itself: nothing consumes it.',
        },
      );
      this.topic.addSubscription(new EmailSubscription(props.email, { deadLetterQueue: undelivered }));
    }
  }

  /** Sends the alarm's changes (into alarm and back to OK) to the topic. */
  notify(alarm: Alarm): void {
    const action = new SnsAction(this.topic);
    alarm.addAlarmAction(action);
    alarm.addOkAction(action);
  }

  /** An alarm for messages waiting in a queue that only failures reach; operators are told of it. */
  watchQueue(scope: Construct, id: string, queue: IQueue, what: string): Alarm {
    const alarm = new Alarm(scope, id, {
      alarmDescription: what,
      metric: queue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1) }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    this.notify(alarm);
    return alarm;
  }
}
