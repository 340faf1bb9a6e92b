import { Duration, Stack, type StackProps } from 'aws-cdk-lib';
import type { Table } from 'aws-cdk-lib/aws-dynamodb';
import type { EventBus } from 'aws-cdk-lib/aws-events';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { Construct } from 'constructs';
import type { Catalog } from '../lambdas/domain/catalog';
import { ORDERS_BY_CREATION, ORDERS_BY_STATE } from '../lambdas/shared/order-table';
import { SwitchboardApi } from './constructs/api';
import type { SwitchboardIdentity } from './constructs/identity';
import { PlanStateMachine } from './constructs/plan-state-machine';
import type { QueueWithDlq } from './constructs/queue-with-dlq';
import { SwitchboardFunction } from './constructs/switchboard-function';

export interface StatelessStackProps extends StackProps {
  catalog: Catalog;
  ordersTable: Table;
  work: QueueWithDlq;
  bus: EventBus;
  identity: SwitchboardIdentity;
}

/** The code: one state machine per plan definition, the Lambdas and the API in front of them. */
export class StatelessStack extends Stack {
  readonly api: SwitchboardApi;

  constructor(scope: Construct, id: string, props: StatelessStackProps) {
    super(scope, id, props);
    const { catalog, ordersTable, work } = props;

    const plans = Object.values(catalog.plans).map((plan) => ({
      plan,
      machine: new PlanStateMachine(this, `Plan-${plan.id}`, { plan, workQueue: work.queue }).stateMachine,
    }));

    const orderApi = new SwitchboardFunction(this, 'OrderApi', {
      entry: 'lambdas/order-api/handler.ts',
      description: 'TMF622 productOrder: submits orders and starts their plans; reads orders',
      catalog,
    }).bindTable('ORDERS_TABLE', ordersTable, 'read-write', {
      indexes: [ORDERS_BY_CREATION, ORDERS_BY_STATE],
    });
    orderApi.addEnvironment(
      'PLAN_STATE_MACHINES',
      Stack.of(this).toJsonString(
        Object.fromEntries(plans.map(({ plan, machine }) => [plan.id, machine.stateMachineArn])),
      ),
    );
    for (const { machine } of plans) machine.grantStartExecution(orderApi);

    const orchestrationApi = new SwitchboardFunction(this, 'OrchestrationApi', {
      entry: 'lambdas/orchestration-api/handler.ts',
      description: "Orchestration view and operator actions: an order's items; completing manual tasks",
      catalog,
    })
      .bindTable('ORDERS_TABLE', ordersTable, 'read-update')
      .bindQueueSender('WORK_QUEUE_URL', work.queue);

    const calloutWorker = new SwitchboardFunction(this, 'CalloutWorker', {
      entry: 'lambdas/callout-worker/handler.ts',
      description: 'Runs orchestration items: waits for prerequisites, calls systems, completes plan tasks',
      catalog,
      timeout: Duration.seconds(60),
    })
      .bindTable('ORDERS_TABLE', ordersTable, 'read-update')
      .bindQueueSender('WORK_QUEUE_URL', work.queue);
    calloutWorker.addEventSource(
      new SqsEventSource(work.queue, { batchSize: 10, reportBatchItemFailures: true, maxConcurrency: 50 }),
    );
    for (const { machine } of plans) machine.grantTaskResponse(calloutWorker);

    this.api = new SwitchboardApi(this, 'Api', { orderApi, orchestrationApi, identity: props.identity });
  }
}
