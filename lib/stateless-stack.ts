import { createHash } from 'node:crypto';
import { CustomResource, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import type { Table } from 'aws-cdk-lib/aws-dynamodb';
import type { EventBus } from 'aws-cdk-lib/aws-events';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import type { Catalog } from '../lambdas/domain/catalog';
import { CONFIGURATION_BY_KIND } from '../lambdas/shared/configuration-table';
import { ORDERS_BY_CREATION, ORDERS_BY_STATE } from '../lambdas/shared/order-table';
import { MAX_RATE_WAIT_MS } from '../lambdas/use-cases/run-item';
import { SwitchboardApi } from './constructs/api';
import { customAdapterRegistrations } from './constructs/custom-adapters';
import type { SwitchboardIdentity } from './constructs/identity';
import { PlanStateMachine } from './constructs/plan-state-machine';
import type { QueueWithDlq } from './constructs/queue-with-dlq';
import { SwitchboardFunction } from './constructs/switchboard-function';

export interface StatelessStackProps extends StackProps {
  catalog: Catalog;
  /** The catalog's custom integration adapter modules (adapters/<name>.ts), bundled into the worker. */
  customAdapterFiles: string[];
  ordersTable: Table;
  configurationTable: Table;
  /** Secrets of the auth profiles that need credentials, by profile id. */
  authSecrets: Record<string, ISecret>;
  callbacks: QueueWithDlq;
  callbackSigningKey: ISecret;
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
    orderApi.addJsonEnvironment(
      'PLAN_STATE_MACHINES',
      Object.fromEntries(plans.map(({ plan, machine }) => [plan.id, machine.stateMachineArn])),
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
      inject: customAdapterRegistrations(props.customAdapterFiles),
      timeout: workerTimeout(catalog),
    })
      .bindTable('ORDERS_TABLE', ordersTable, 'read-update')
      .bindTable('CONFIGURATION_TABLE', props.configurationTable, 'read-update')
      .bindQueueSender('WORK_QUEUE_URL', work.queue)
      .bindSecrets('AUTH_PROFILE_SECRETS', props.authSecrets)
      .bindSecret('CALLBACK_SIGNING_SECRET_ARN', props.callbackSigningKey);

    const callbackApi = new SwitchboardFunction(this, 'CallbackApi', {
      entry: 'lambdas/callback-api/handler.ts',
      description:
        "Receives systems' callbacks: checks the proof, answers at once, queues them for the correlator",
      catalog,
    })
      .bindTable('ORDERS_TABLE', ordersTable, 'read')
      .bindQueueSender('CALLBACK_QUEUE_URL', props.callbacks.queue)
      .bindSecret('CALLBACK_SIGNING_SECRET_ARN', props.callbackSigningKey);

    const callbackCorrelator = new SwitchboardFunction(this, 'CallbackCorrelator', {
      entry: 'lambdas/callback-correlator/handler.ts',
      description: 'Applies callbacks to the items they answer, exactly once, and finishes those items',
      catalog,
    })
      .bindTable('ORDERS_TABLE', ordersTable, 'read-update')
      .bindQueueSender('WORK_QUEUE_URL', work.queue);
    callbackCorrelator.addEventSource(
      new SqsEventSource(props.callbacks.queue, {
        batchSize: 10,
        reportBatchItemFailures: true,
        maxConcurrency: 20,
      }),
    );
    for (const { machine } of plans) machine.grantTaskResponse(callbackCorrelator);
    calloutWorker.addEventSource(
      new SqsEventSource(work.queue, { batchSize: 10, reportBatchItemFailures: true, maxConcurrency: 50 }),
    );
    for (const { machine } of plans) machine.grantTaskResponse(calloutWorker);

    const adminApi = new SwitchboardFunction(this, 'AdminApi', {
      entry: 'lambdas/admin-api/handler.ts',
      description: 'Admin API for operators: systems and system interfaces as they are now',
      catalog,
    }).bindTable('CONFIGURATION_TABLE', props.configurationTable, 'read', {
      indexes: [CONFIGURATION_BY_KIND],
    });
    const deadLetterQueues = { work: work.deadLetterQueue, callbacks: props.callbacks.deadLetterQueue };
    adminApi.addJsonEnvironment(
      'DEAD_LETTER_QUEUES',
      Object.fromEntries(
        Object.entries(deadLetterQueues).map(([purpose, queue]) => [purpose, queue.queueUrl]),
      ),
    );
    for (const queue of Object.values(deadLetterQueues)) {
      adminApi.addToRolePolicy(
        new PolicyStatement({ actions: ['sqs:GetQueueAttributes'], resources: [queue.queueArn] }),
      );
    }

    // Seeds systems and interfaces at every deploy whose catalog changed (the hash is the trigger).
    const seeder = new SwitchboardFunction(this, 'ConfigurationSeeder', {
      entry: 'lambdas/configuration-seeder/handler.ts',
      description: "Custom resource: seeds the catalog's systems and interfaces into the configuration table",
      catalog,
      timeout: Duration.minutes(5),
    }).bindTable('CONFIGURATION_TABLE', props.configurationTable, 'read-write-delete', {
      indexes: [CONFIGURATION_BY_KIND],
    });
    new CustomResource(this, 'SeedConfiguration', {
      serviceToken: seeder.functionArn,
      resourceType: 'Custom::SwitchboardConfiguration',
      properties: {
        catalogHash: createHash('sha256')
          .update(JSON.stringify({ systems: catalog.systems, interfaces: catalog.interfaces }))
          .digest('hex'),
      },
    });

    this.api = new SwitchboardApi(this, 'Api', {
      orderApi,
      orchestrationApi,
      adminApi,
      callbackApi,
      identity: props.identity,
    });
    // Systems call back on the API's own URL.
    calloutWorker.addEnvironment('CALLBACK_BASE_URL', this.api.httpApi.apiEndpoint);
  }
}

/**
 * Long enough for the slowest callout the catalog allows, sent twice (an OAuth2 renewal), after waiting
 * for its turn under a rate limit: a worker that times out mid-callout would leave its item to a redelivery.
 */
function workerTimeout(catalog: Catalog): Duration {
  const slowest = Math.max(0, ...Object.values(catalog.interfaces).map((i) => i.timeoutSeconds));
  return Duration.seconds(Math.min(900, Math.max(60, 2 * slowest + (2 * MAX_RATE_WAIT_MS) / 1000 + 30)));
}
