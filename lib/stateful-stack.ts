import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps, Tags, Validations } from 'aws-cdk-lib';
import {
  AttributeType,
  BillingMode,
  ProjectionType,
  StreamViewType,
  Table,
  TableEncryption,
} from 'aws-cdk-lib/aws-dynamodb';
import { EventBus } from 'aws-cdk-lib/aws-events';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { type AuthProfile, needsSecret } from '../lambdas/domain/auth-profile';
import { systemCallbackSecretName } from '../lambdas/domain/catalog';
import { DELIVERY_ATTEMPTS } from '../lambdas/domain/listener';
import { CONFIGURATION_BY_KIND } from '../lambdas/shared/configuration-table';
import {
  FALLOUT_ITEM_ATTRIBUTES,
  HELD_ITEM_ATTRIBUTES,
  ITEMS_BY_LEASE,
  ITEMS_HELD_BY_INTERFACE,
  ITEMS_HELD_BY_SYSTEM,
  ITEMS_IN_FALLOUT,
  LEASED_ITEM_ATTRIBUTES,
  ORDERS_BY_CREATION,
  ORDERS_BY_STATE,
  ORDERS_BY_SUBMITTER,
  ORDERS_WATCHED,
  WATCHED_ORDER_ATTRIBUTES,
} from '../lambdas/shared/order-table';
import { SwitchboardIdentity } from './constructs/identity';
import { OperatorAlerts } from './constructs/operator-alerts';
import { QueueWithDlq } from './constructs/queue-with-dlq';

/**
 * What holds state and must outlive a redeploy of the code: orders and their items, the queues that
 * carry work, the bus that announces availability changes, and the user pool that says who may call.
 */
export interface StatefulStackProps extends StackProps {
  /** The catalog's auth profiles: each that needs credentials gets a secret. */
  authProfiles: AuthProfile[];
  /** The systems whose callbacks are signed (catalog.ts: systemsSigningCallbacks): each gets a secret. */
  systemsSigningCallbacks: string[];
  /** An email address told of every alarm (context `switchboard:alarmEmail`). */
  alarmEmail?: string;
  /** Where the hosted UI sends people back (context `switchboard:peopleCallbackUrls`). */
  peopleCallbackUrls?: string[];
  /** The deployment's stage (context `stage`): in the names that must be unique in an account. */
  stage?: string;
}

/**
 * The tag that names a secret's entry (an auth profile's id, `callback-signing-key`, or
 * `callbacks:<systemId>`); the local runtime reads it.
 */
export const SECRET_TAG = 'switchboard:secret';

export class StatefulStack extends Stack {
  /** Orders, their orchestration items and their context: pk `ORDER#<id>`, sk `ORDER` | `ACCEPTED` | `PROGRESS` | `ITEM#<key>` | `~LOG#…`. */
  readonly ordersTable: Table;
  /** Items ready to run (from the plans' waits and from the worker itself). */
  readonly work: QueueWithDlq;
  readonly bus: EventBus;
  readonly identity: SwitchboardIdentity;
  /**
   * Systems, system interfaces and their runtime state and limits (see configuration-table.ts): seeded
   * from the catalog at deploy, changed by operators at runtime.
   */
  readonly configurationTable: Table;
  /** Callbacks from systems, between the callback API and the correlator. */
  readonly callbacks: QueueWithDlq;
  /** TMF622 events on their way to the hub's listeners, one message per event and listener. */
  readonly deliveries: QueueWithDlq;
  /**
   * The keys that sign callback URLs: `{"key": "…"}` as generated at the first deploy, a key ring once
   * rotated (domain/callback-keys.ts).
   */
  readonly callbackSigningKey: Secret;
  /** The secret each system signs its callbacks with (Standard Webhooks), by system id. */
  readonly systemCallbackSecrets: Record<string, Secret> = {};
  /** One secret per auth profile that needs credentials, by profile id. */
  readonly authSecrets: Record<string, Secret> = {};
  /** The topic every alarm notifies. */
  readonly alerts: OperatorAlerts;

  constructor(scope: Construct, id: string, props: StatefulStackProps) {
    super(scope, id, props);
    this.ordersTable = new Table(this, 'Orders', {
      partitionKey: { name: 'pk', type: AttributeType.STRING },
      sortKey: { name: 'sk', type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      encryption: TableEncryption.AWS_MANAGED,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy: RemovalPolicy.RETAIN,
      // Each change, before and after: the TMF622 events are derived from it (lambdas/order-events).
      stream: StreamViewType.NEW_AND_OLD_IMAGES,
    });
    // Order records only carry these keys: every order newest first, the orders in one state, the orders
    // of one submitter; each partition split in shards (`<key>#<0-7>`, order-table.ts: LIST_SHARDS).
    const listSort = { name: 'listSort', type: AttributeType.STRING };
    for (const [indexName, partition] of [
      [ORDERS_BY_CREATION, 'listAll'],
      [ORDERS_BY_STATE, 'listState'],
      [ORDERS_BY_SUBMITTER, 'listOwner'],
    ] as const) {
      this.ordersTable.addGlobalSecondaryIndex({
        indexName,
        partitionKey: { name: partition, type: AttributeType.STRING },
        sortKey: listSort,
      });
    }
    // Sparse: only an order with a due date to keep carries these keys, by when it is next looked at for
    // jeopardy; the sweep reads what is due, operators the ones in jeopardy.
    this.ordersTable.addGlobalSecondaryIndex({
      indexName: ORDERS_WATCHED,
      partitionKey: { name: 'watchList', type: AttributeType.STRING },
      sortKey: { name: 'nextCheckAt', type: AttributeType.STRING },
      projectionType: ProjectionType.INCLUDE,
      nonKeyAttributes: WATCHED_ORDER_ATTRIBUTES,
    });
    // Sparse: only On Hold items carry these keys, so each index is exactly the on-hold list, oldest first.
    for (const [indexName, partition] of [
      [ITEMS_HELD_BY_SYSTEM, 'heldSystem'],
      [ITEMS_HELD_BY_INTERFACE, 'heldInterface'],
    ] as const) {
      this.ordersTable.addGlobalSecondaryIndex({
        indexName,
        partitionKey: { name: partition, type: AttributeType.STRING },
        sortKey: { name: 'holdSort', type: AttributeType.STRING },
        projectionType: ProjectionType.INCLUDE,
        nonKeyAttributes: HELD_ITEM_ATTRIBUTES,
      });
    }
    // Sparse too: only items in fallout carry these keys, so the index is the fallout list, oldest first.
    this.ordersTable.addGlobalSecondaryIndex({
      indexName: ITEMS_IN_FALLOUT,
      partitionKey: { name: 'falloutList', type: AttributeType.STRING },
      sortKey: { name: 'falloutSort', type: AttributeType.STRING },
      projectionType: ProjectionType.INCLUDE,
      nonKeyAttributes: FALLOUT_ITEM_ATTRIBUTES,
    });
    // Sparse: only a Running item a worker holds carries `leaseList`, so the index lists the leases by
    // when they run out, and a sweep finds the items whose worker died without waiting for their message.
    this.ordersTable.addGlobalSecondaryIndex({
      indexName: ITEMS_BY_LEASE,
      partitionKey: { name: 'leaseList', type: AttributeType.STRING },
      sortKey: { name: 'leaseUntil', type: AttributeType.STRING },
      projectionType: ProjectionType.INCLUDE,
      nonKeyAttributes: LEASED_ITEM_ATTRIBUTES,
    });
    // The worker's timeout is 60 s; six times that before a message the worker still holds is redelivered.
    this.alerts = new OperatorAlerts(this, 'Alerts', props.alarmEmail ? { email: props.alarmEmail } : {});
    this.work = new QueueWithDlq(this, 'Work', {
      visibilityTimeout: Duration.minutes(6),
      alerts: this.alerts,
    });
    this.bus = new EventBus(this, 'Bus');
    this.identity = new SwitchboardIdentity(this, 'Identity', {
      ...(props.peopleCallbackUrls ? { peopleCallbackUrls: props.peopleCallbackUrls } : {}),
      ...(props.stage ? { stage: props.stage } : {}),
    });

    // The correlator's timeout is 30 s; six times that before a message it still holds is redelivered.
    // The delivery function's timeout is 30 s; a failed delivery comes back after its own backoff, and
    // DELIVERY_ATTEMPTS receives take more than a day (domain/listener.ts).
    this.deliveries = new QueueWithDlq(this, 'Deliveries', {
      visibilityTimeout: Duration.minutes(3),
      maxReceiveCount: DELIVERY_ATTEMPTS,
      alerts: this.alerts,
    });
    this.callbacks = new QueueWithDlq(this, 'Callbacks', {
      visibilityTimeout: Duration.minutes(3),
      alerts: this.alerts,
    });
    this.callbackSigningKey = new Secret(this, 'CallbackSigningKey', {
      description: 'Switchboard: the keys that sign callback URLs of asynchronous callouts',
      generateSecretString: {
        secretStringTemplate: '{}',
        generateStringKey: 'key',
        passwordLength: 64,
        excludePunctuation: true,
      },
      // Deleting it with the stack would void every callback URL systems still hold.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Tags.of(this.callbackSigningKey).add(SECRET_TAG, 'callback-signing-key');
    Validations.of(this.callbackSigningKey).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'Rotated every 30 days by a rotation schedule in the stateless stack, which holds the rotation function (the code); the check sees one stack only.',
    });

    for (const systemId of props.systemsSigningCallbacks) {
      const secret = new Secret(this, `CallbackSecret-${systemId}`, {
        description: `Switchboard: the secret system "${systemId}" signs its callbacks with (Standard Webhooks). Give it to the system out of band.`,
        // 48 letters and digits: base64 of 36 random bytes, the form a Standard Webhooks secret takes
        // (with or without its whsec_ prefix).
        generateSecretString: {
          secretStringTemplate: '{}',
          generateStringKey: 'secret',
          passwordLength: 48,
          excludePunctuation: true,
        },
        removalPolicy: RemovalPolicy.RETAIN,
      });
      Tags.of(secret).add(SECRET_TAG, systemCallbackSecretName(systemId));
      Validations.of(secret).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason:
          'Shared with the system, which must change it at the same time: rotated by hand, the previous secret kept in "previousSecret" until the system signs with the new one (docs/security.md).',
      });
      new CfnOutput(this, `CallbackSecretArn-${systemId}`, {
        value: secret.secretArn,
        description: `Secret that system "${systemId}" signs its callbacks with`,
      });
      this.systemCallbackSecrets[systemId] = secret;
    }

    this.configurationTable = new Table(this, 'Configuration', {
      partitionKey: { name: 'pk', type: AttributeType.STRING },
      sortKey: { name: 'sk', type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      encryption: TableEncryption.AWS_MANAGED,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.configurationTable.addGlobalSecondaryIndex({
      indexName: CONFIGURATION_BY_KIND,
      partitionKey: { name: 'listKind', type: AttributeType.STRING },
      sortKey: { name: 'listSort', type: AttributeType.STRING },
    });

    for (const profile of props.authProfiles.filter(needsSecret)) {
      const secret = new Secret(this, `AuthSecret-${profile.id}`, {
        description: `Switchboard: credentials of auth profile "${profile.id}" (${profile.type}). Replace the generated value with the system's real one.`,
        // The generated value already has the fields the profile type reads, so an operator only
        // replaces values (docs/security.md).
        generateSecretString: PLACEHOLDER_SECRET[profile.type],
        removalPolicy: RemovalPolicy.RETAIN,
      });
      Tags.of(secret).add(SECRET_TAG, profile.id);
      Validations.of(secret).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason:
          'These are credentials another party issues for its own system; they are rotated when that party rotates them, not by a Switchboard rotation Lambda.',
      });
      new CfnOutput(this, `AuthSecretArn-${profile.id}`, {
        value: secret.secretArn,
        description: `Secret holding the credentials of auth profile "${profile.id}"`,
      });
      this.authSecrets[profile.id] = secret;
    }
  }
}

const PLACEHOLDER_SECRET = {
  'api-key': { secretStringTemplate: '{}', generateStringKey: 'apiKey' },
  basic: { secretStringTemplate: JSON.stringify({ username: 'replace-me' }), generateStringKey: 'password' },
  bearer: { secretStringTemplate: '{}', generateStringKey: 'token' },
  'oauth2-client-credentials': {
    secretStringTemplate: JSON.stringify({ clientId: 'replace-me' }),
    generateStringKey: 'clientSecret',
  },
  // No certificate can be generated here: both fields must be replaced with PEM (docs/security.md), and
  // until they are, callouts fail saying that they are not PEM.
  mtls: {
    secretStringTemplate: JSON.stringify({ certificate: 'replace-me' }),
    generateStringKey: 'privateKey',
  },
} as const;
