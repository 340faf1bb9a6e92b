import { Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import { AttributeType, BillingMode, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { EventBus } from 'aws-cdk-lib/aws-events';
import type { Construct } from 'constructs';
import { ORDERS_BY_CREATION, ORDERS_BY_STATE } from '../lambdas/shared/order-table';
import { SwitchboardIdentity } from './constructs/identity';
import { QueueWithDlq } from './constructs/queue-with-dlq';

/**
 * What holds state and must outlive a redeploy of the code: orders and their items, the queues that
 * carry work, the bus that announces availability changes, and the user pool that says who may call.
 */
export class StatefulStack extends Stack {
  /** Orders, their orchestration items and their context: pk `ORDER#<id>`, sk `ORDER` | `CONTEXT` | `ITEM#<key>`. */
  readonly ordersTable: Table;
  /** Items ready to run (from the plans' waits and from the worker itself). */
  readonly work: QueueWithDlq;
  readonly bus: EventBus;
  readonly identity: SwitchboardIdentity;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    this.ordersTable = new Table(this, 'Orders', {
      partitionKey: { name: 'pk', type: AttributeType.STRING },
      sortKey: { name: 'sk', type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      encryption: TableEncryption.AWS_MANAGED,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // Order records only carry these keys: every order newest first, and the orders in one state.
    const listSort = { name: 'listSort', type: AttributeType.STRING };
    this.ordersTable.addGlobalSecondaryIndex({
      indexName: ORDERS_BY_CREATION,
      partitionKey: { name: 'listAll', type: AttributeType.STRING },
      sortKey: listSort,
    });
    this.ordersTable.addGlobalSecondaryIndex({
      indexName: ORDERS_BY_STATE,
      partitionKey: { name: 'listState', type: AttributeType.STRING },
      sortKey: listSort,
    });
    // The worker's timeout is 60 s; six times that before a message the worker still holds is redelivered.
    this.work = new QueueWithDlq(this, 'Work', { visibilityTimeout: Duration.minutes(6) });
    this.bus = new EventBus(this, 'Bus');
    this.identity = new SwitchboardIdentity(this, 'Identity');
  }
}
