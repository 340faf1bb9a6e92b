import { createHash } from 'node:crypto';
import { CustomResource, Duration, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import type { Table } from 'aws-cdk-lib/aws-dynamodb';
import { type EventBus, Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { CfnScheduleGroup } from 'aws-cdk-lib/aws-scheduler';
import { type ISecret, RotationSchedule } from 'aws-cdk-lib/aws-secretsmanager';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { AVAILABILITY_SOURCE, DETAIL_TYPES } from '../lambdas/domain/availability';
import { CALLBACK_KEY_ROTATION_DAYS, keyGraceSeconds } from '../lambdas/domain/callback-keys';
import { type Catalog, slowestCalloutSeconds, systemCallbackSecretName } from '../lambdas/domain/catalog';
import { METRICS_NAMESPACE } from '../lambdas/domain/metrics';
import { CONFIGURATION_BY_KIND } from '../lambdas/shared/configuration-table';
import {
  ITEMS_BY_LEASE,
  ITEMS_HELD_BY_INTERFACE,
  ITEMS_HELD_BY_SYSTEM,
  ITEMS_IN_FALLOUT,
  ORDERS_BY_CREATION,
  ORDERS_BY_STATE,
  ORDERS_BY_SUBMITTER,
  ORDERS_WATCHED,
} from '../lambdas/shared/order-table';
import {
  ABNORMAL_END,
  EXECUTION_STATUS_CHANGE,
  STEP_FUNCTIONS_SOURCE,
} from '../lambdas/shared/plan-run-events';
import { MAX_RATE_WAIT_MS } from '../lambdas/use-cases/callout-admission';
import { SwitchboardApi } from './constructs/api';
import { customAdapterRegistrations } from './constructs/custom-adapters';
import type { SwitchboardIdentity } from './constructs/identity';
import { OperationsDashboard } from './constructs/operations-dashboard';
import type { OperatorAlerts } from './constructs/operator-alerts';
import { OperatorConsole } from './constructs/operator-console';
import { addOrderEvents } from './constructs/order-events';
import { grantStopExecution, grantTaskAnswers, PlanStateMachine } from './constructs/plan-state-machine';
import type { QueueWithDlq } from './constructs/queue-with-dlq';
import { type FunctionTelemetry, SwitchboardFunction } from './constructs/switchboard-function';
import { switchboardOpenApi } from './openapi';

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
  /** The secrets systems sign their callbacks with, by system id. */
  systemCallbackSecrets: Record<string, ISecret>;
  work: QueueWithDlq;
  /** TMF622 events on their way to the hub's listeners. */
  deliveries: QueueWithDlq;
  bus: EventBus;
  identity: SwitchboardIdentity;
  /** The topic every alarm notifies. */
  alerts: OperatorAlerts;
  /** The HTTP API's default route throttling (context `switchboard:apiThrottle`). */
  apiThrottle?: { rateLimit: number; burstLimit: number };
  /** The callback routes' throttling (context `switchboard:callbackThrottle`). */
  callbackThrottle?: { rateLimit: number; burstLimit: number };
  /**
   * Concurrency reserved for the worker and the correlator (context `switchboard:reservedConcurrency`);
   * `false` reserves none (an account whose concurrency limit is too low to reserve any).
   */
  reservedConcurrency?: ReservedConcurrency | false;
  /** The stage (context `stage`): the functions' service name, and so their metrics, carry it. */
  stage?: string;
  /** The functions' application log level (context `switchboard:logLevel`); INFO by default. */
  logLevel?: FunctionTelemetry['logLevel'];
}

/** The most batches of work the worker runs at once (its event source's maximum concurrency). */
export const WORKER_MAX_CONCURRENCY = 50;
/** The most batches of callbacks the correlator applies at once. */
export const CORRELATOR_MAX_CONCURRENCY = 20;

export interface ReservedConcurrency {
  worker: number;
  correlator: number;
}

/**
 * What the worker and the correlator keep for themselves: as many as their queues' event sources may
 * run at once, so no other function — the callback door under a flood, above all — can take them.
 */
export const DEFAULT_RESERVED_CONCURRENCY: ReservedConcurrency = {
  worker: WORKER_MAX_CONCURRENCY,
  correlator: CORRELATOR_MAX_CONCURRENCY,
};

/** The code: one state machine per plan definition, the Lambdas and the API in front of them. */
export class StatelessStack extends Stack {
  readonly api: SwitchboardApi;

  constructor(scope: Construct, id: string, props: StatelessStackProps) {
    super(scope, id, props);
    const { catalog, ordersTable, work, deliveries } = props;
    const telemetry: FunctionTelemetry = {
      serviceName: props.stage ? `switchboard-${props.stage}` : 'switchboard',
      namespace: METRICS_NAMESPACE,
      logLevel: props.logLevel ?? 'INFO',
    };
    const reserved =
      props.reservedConcurrency === false
        ? undefined
        : (props.reservedConcurrency ?? DEFAULT_RESERVED_CONCURRENCY);

    // What an asynchronous invocation, a rule or a schedule could not deliver lands here, with why, and
    // operators are told: a release, a maintenance window's start or end, or a seeding never vanishes.
    const undelivered = new Queue(this, 'Undelivered', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(undelivered).acknowledge(
      {
        id: 'AwsSolutions-SQS3',
        reason: 'This is a dead-letter queue itself; its messages wait for an operator.',
      },
      {
        id: 'Serverless-SQSRedrivePolicy',
        reason: 'This is a dead-letter queue itself: nothing consumes it.',
      },
    );
    props.alerts.watchQueue(
      this,
      'UndeliveredWaiting',
      undelivered,
      'An event, schedule or asynchronous invocation could not be delivered: it waits in the Undelivered queue',
    );
    const onFailure = new SqsDestination(undelivered);

    const plans = Object.values(catalog.plans).map((plan) => ({
      plan,
      machine: new PlanStateMachine(this, `Plan-${plan.id}`, { plan, workQueue: work.queue }).stateMachine,
    }));

    const orderApi = new SwitchboardFunction(this, 'OrderApi', {
      entry: 'lambdas/order-api/handler.ts',
      description: 'TMF622 productOrder: submits orders and starts their plans; reads orders',
      catalog,
      telemetry,
      invocation: 'api',
    })
      // Deletes only the records of an order it could not write whole (dynamodb-order-store.ts: createOrder).
      .bindTable('ORDERS_TABLE', ordersTable, 'read-write-delete', {
        indexes: [ORDERS_BY_CREATION, ORDERS_BY_STATE, ORDERS_BY_SUBMITTER],
      })
      // A cancellation asked for is carried out by the worker (use-cases/cancel-order.ts).
      .bindQueueSender('WORK_QUEUE_URL', work.queue);
    orderApi.addJsonEnvironment(
      'PLAN_STATE_MACHINES',
      Object.fromEntries(plans.map(({ plan, machine }) => [plan.id, machine.stateMachineArn])),
    );
    for (const { machine } of plans) machine.grantStartExecution(orderApi);

    const orchestrationApi = new SwitchboardFunction(this, 'OrchestrationApi', {
      entry: 'lambdas/orchestration-api/handler.ts',
      description: "Orchestration view and operator actions: an order's items; completing manual tasks",
      catalog,
      telemetry,
      invocation: 'api',
    })
      .bindTable('ORDERS_TABLE', ordersTable, 'read-write')
      // The retry rules decide what follows an operator's abort.
      .bindTable('CONFIGURATION_TABLE', props.configurationTable, 'read', {
        indexes: [CONFIGURATION_BY_KIND],
      })
      .bindQueueSender('WORK_QUEUE_URL', work.queue);

    const calloutWorker = new SwitchboardFunction(this, 'CalloutWorker', {
      entry: 'lambdas/callout-worker/handler.ts',
      description: 'Runs orchestration items: waits for prerequisites, calls systems, completes plan tasks',
      catalog,
      telemetry,
      invocation: 'queue',
      inject: customAdapterRegistrations(props.customAdapterFiles),
      timeout: workerTimeout(catalog),
      ...(reserved ? { reservedConcurrentExecutions: reserved.worker } : {}),
    })
      // The items whose worker died, through the lease index (take-over-items.ts).
      .bindTable('ORDERS_TABLE', ordersTable, 'read-write', { indexes: [ITEMS_BY_LEASE] })
      // Limits and availability by key (a system's waiting list is put and deleted); the retry rules
      // through the listing index.
      .bindTable('CONFIGURATION_TABLE', props.configurationTable, 'read-write-delete', {
        indexes: [CONFIGURATION_BY_KIND],
      })
      .bindQueueSender('WORK_QUEUE_URL', work.queue)
      .bindSecrets('AUTH_PROFILE_SECRETS', props.authSecrets)
      .bindSecret('CALLBACK_SIGNING_SECRET_ARN', props.callbackSigningKey)
      .bindEventBus('EVENT_BUS_NAME', props.bus);
    // A cancellation stops its order's plan runs.
    calloutWorker.addJsonEnvironment(
      'PLAN_STATE_MACHINES',
      Object.fromEntries(plans.map(({ plan, machine }) => [plan.id, machine.stateMachineArn])),
    );
    for (const { machine } of plans) grantStopExecution(machine, calloutWorker);

    const callbackApi = new SwitchboardFunction(this, 'CallbackApi', {
      entry: 'lambdas/callback-api/handler.ts',
      description:
        "Receives systems' callbacks: checks the proof, answers at once, queues them for the correlator",
      catalog,
      telemetry,
      invocation: 'api',
    })
      .bindTable('ORDERS_TABLE', ordersTable, 'read')
      .bindQueueSender('CALLBACK_QUEUE_URL', props.callbacks.queue)
      .bindSecret('CALLBACK_SIGNING_SECRET_ARN', props.callbackSigningKey)
      .bindSecrets(
        'CALLBACK_SYSTEM_SECRETS',
        Object.fromEntries(
          Object.entries(props.systemCallbackSecrets).map(([systemId, secret]) => [
            systemCallbackSecretName(systemId),
            secret,
          ]),
        ),
      );

    // The signing keys rotate every 30 days: a new key joins the ring, signs ten minutes later, and the
    // one it replaces is accepted as long as the longest-lived callback URL it signed (callback-keys.ts).
    const keyRotation = new SwitchboardFunction(this, 'CallbackKeyRotation', {
      entry: 'lambdas/callback-key-rotation/handler.ts',
      description: 'Rotates the keys that sign callback URLs without breaking any URL a system still holds',
      catalog,
      telemetry,
      invocation: 'rotation',
    });
    keyRotation.addEnvironment('CALLBACK_SIGNING_SECRET_ARN', props.callbackSigningKey.secretArn);
    keyRotation.addEnvironment('CALLBACK_KEY_GRACE_SECONDS', String(keyGraceSeconds(catalog)));
    new RotationSchedule(this, 'CallbackKeyRotationSchedule', {
      secret: props.callbackSigningKey,
      rotationLambda: keyRotation,
      automaticallyAfter: Duration.days(CALLBACK_KEY_ROTATION_DAYS),
      // The first rotation waits for the schedule: a deploy does not rotate.
      rotateImmediatelyOnUpdate: false,
    });

    const callbackCorrelator = new SwitchboardFunction(this, 'CallbackCorrelator', {
      entry: 'lambdas/callback-correlator/handler.ts',
      description: 'Applies callbacks to the items they answer, exactly once, and finishes those items',
      catalog,
      telemetry,
      invocation: 'queue',
      ...(reserved ? { reservedConcurrentExecutions: reserved.correlator } : {}),
    })
      .bindTable('ORDERS_TABLE', ordersTable, 'read-write')
      // The retry rules decide after a final answer reporting failure.
      .bindTable('CONFIGURATION_TABLE', props.configurationTable, 'read', {
        indexes: [CONFIGURATION_BY_KIND],
      })
      .bindQueueSender('WORK_QUEUE_URL', work.queue)
      .bindQueueConsumer('CALLBACK_QUEUE_URL', props.callbacks.queue);
    callbackCorrelator.addEventSource(
      new SqsEventSource(props.callbacks.queue, {
        batchSize: 10,
        reportBatchItemFailures: true,
        maxConcurrency: CORRELATOR_MAX_CONCURRENCY,
      }),
    );
    for (const { machine } of plans) grantTaskAnswers(machine, callbackCorrelator, ['succeed']);
    calloutWorker.addEventSource(
      new SqsEventSource(work.queue, {
        batchSize: 10,
        reportBatchItemFailures: true,
        maxConcurrency: WORKER_MAX_CONCURRENCY,
      }),
    );
    for (const { machine } of plans) grantTaskAnswers(machine, calloutWorker, ['succeed']);
    // An operator who fails an order fails the plan's wait for its item, and stops the order's other runs.
    orchestrationApi.addJsonEnvironment(
      'PLAN_STATE_MACHINES',
      Object.fromEntries(plans.map(({ plan, machine }) => [plan.id, machine.stateMachineArn])),
    );
    for (const { machine } of plans) {
      // An operator's completion or skip finishes an item; failing an order fails the plan's wait.
      grantTaskAnswers(machine, orchestrationApi, ['succeed', 'fail']);
      grantStopExecution(machine, orchestrationApi);
    }

    // Held items go back to work when their system comes back (or an operator releases them).
    const releaseHeldItems = new SwitchboardFunction(this, 'ReleaseHeldItems', {
      entry: 'lambdas/release-held-items/handler.ts',
      description: 'Sends held items back to work, oldest first, at their system’s pace, exactly once',
      catalog,
      telemetry,
      invocation: { asynchronous: onFailure },
      timeout: Duration.minutes(15),
    })
      .bindTable('ORDERS_TABLE', ordersTable, 'read-update', {
        indexes: [ITEMS_HELD_BY_SYSTEM, ITEMS_HELD_BY_INTERFACE],
      })
      .bindTable('CONFIGURATION_TABLE', props.configurationTable, 'read', {
        indexes: [CONFIGURATION_BY_KIND],
      })
      .bindQueueSender('WORK_QUEUE_URL', work.queue)
      .bindEventBus('EVENT_BUS_NAME', props.bus);
    new Rule(this, 'ReleaseOnAvailable', {
      eventBus: props.bus,
      description: 'A system Up or an interface Online (or a release asked for): release its held items',
      eventPattern: {
        source: [AVAILABILITY_SOURCE],
        detailType: [DETAIL_TYPES.available, DETAIL_TYPES.releaseRequested],
        // An operator's Up that keeps held items for a release by hand is announced without one.
        detail: { releaseId: [{ exists: true }] },
      },
      targets: [
        new LambdaFunction(releaseHeldItems, {
          retryAttempts: 4,
          maxEventAge: Duration.hours(2),
          deadLetterQueue: undelivered,
        }),
      ],
    });

    // Plan runs are watched from outside: one that fails, times out or is stopped puts what it left under
    // way in fallout; every five minutes a sweep starts plans that never started and lets go of holds
    // nothing holds any more.
    const planRunWatcher = new SwitchboardFunction(this, 'PlanRunWatcher', {
      entry: 'lambdas/plan-run-watcher/handler.ts',
      description:
        'Puts the items of a plan run that ended abnormally in fallout; sweeps for unstarted plans',
      catalog,
      telemetry,
      invocation: { asynchronous: onFailure },
      timeout: Duration.minutes(5),
    })
      // The sweep: orders by state, items whose worker died, held items of a system that is back.
      .bindTable('ORDERS_TABLE', ordersTable, 'read-write', {
        indexes: [ORDERS_BY_STATE, ITEMS_BY_LEASE, ITEMS_HELD_BY_SYSTEM],
      })
      .bindTable('CONFIGURATION_TABLE', props.configurationTable, 'read', {
        indexes: [CONFIGURATION_BY_KIND],
      })
      .bindQueueSender('WORK_QUEUE_URL', work.queue)
      .bindEventBus('EVENT_BUS_NAME', props.bus);
    planRunWatcher.addJsonEnvironment(
      'PLAN_STATE_MACHINES',
      Object.fromEntries(plans.map(({ plan, machine }) => [plan.id, machine.stateMachineArn])),
    );
    for (const { machine } of plans) {
      machine.grantStartExecution(planRunWatcher);
      grantTaskAnswers(machine, planRunWatcher, ['succeed']);
    }
    const watcherTarget = () =>
      new LambdaFunction(planRunWatcher, {
        retryAttempts: 4,
        maxEventAge: Duration.hours(2),
        deadLetterQueue: undelivered,
      });
    new Rule(this, 'PlanRunEnded', {
      description: 'A plan run failed, timed out or was stopped: the watcher puts its items in fallout',
      eventPattern: {
        source: [STEP_FUNCTIONS_SOURCE],
        detailType: [EXECUTION_STATUS_CHANGE],
        detail: {
          status: [...ABNORMAL_END],
          stateMachineArn: plans.map(({ machine }) => machine.stateMachineArn),
        },
      },
      targets: [watcherTarget()],
    });
    new Rule(this, 'PlanRunSweep', {
      description: 'Starts plans that never started and lets go of holds nothing holds',
      schedule: Schedule.rate(Duration.minutes(5)),
      targets: [watcherTarget()],
    });

    // Maintenance windows: one-time schedules invoke this at a window's start and end.
    const maintenanceWindow = new SwitchboardFunction(this, 'MaintenanceWindow', {
      entry: 'lambdas/maintenance-window/handler.ts',
      description: 'Starts and ends maintenance windows: takes a system Down and brings it back Up',
      catalog,
      telemetry,
      invocation: { asynchronous: onFailure },
    })
      .bindTable('CONFIGURATION_TABLE', props.configurationTable, 'read-update')
      .bindEventBus('EVENT_BUS_NAME', props.bus);
    const scheduleGroup = new CfnScheduleGroup(this, 'MaintenanceSchedules', {
      name: `${Stack.of(this).stackName}-maintenance`.slice(0, 64),
    });
    const schedulerRole = new Role(this, 'MaintenanceSchedulerRole', {
      assumedBy: new ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
      description: 'EventBridge Scheduler invokes the maintenance window function with this role',
    });
    // The function itself only (grantInvoke would add its versions too).
    schedulerRole.addToPolicy(
      new PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [maintenanceWindow.functionArn] }),
    );

    const adminApi = new SwitchboardFunction(this, 'AdminApi', {
      entry: 'lambdas/admin-api/handler.ts',
      description:
        'Admin API for operators: systems and interfaces, their state and history, held items, maintenance, retry rules',
      catalog,
      telemetry,
      invocation: 'api',
    })
      // Operators create and delete retry rules there; orders they only update (holds, releases).
      .bindTable('CONFIGURATION_TABLE', props.configurationTable, 'read-write-delete', {
        indexes: [CONFIGURATION_BY_KIND],
      })
      .bindTable('ORDERS_TABLE', ordersTable, 'read-update', {
        indexes: [ITEMS_HELD_BY_SYSTEM, ITEMS_HELD_BY_INTERFACE, ITEMS_IN_FALLOUT, ORDERS_WATCHED],
      })
      .bindQueueSender('WORK_QUEUE_URL', work.queue)
      .bindEventBus('EVENT_BUS_NAME', props.bus);
    adminApi.addEnvironment('MAINTENANCE_FUNCTION_ARN', maintenanceWindow.functionArn);
    adminApi.addEnvironment('MAINTENANCE_SCHEDULER_ROLE_ARN', schedulerRole.roleArn);
    adminApi.addEnvironment('MAINTENANCE_SCHEDULE_GROUP', scheduleGroup.ref);
    // A window's start or end the scheduler could not invoke is kept, and operators are told.
    adminApi.addEnvironment('MAINTENANCE_DEAD_LETTER_QUEUE_ARN', undelivered.queueArn);
    undelivered.grantSendMessages(schedulerRole);
    adminApi.addToRolePolicy(
      new PolicyStatement({
        actions: ['scheduler:CreateSchedule', 'scheduler:DeleteSchedule'],
        resources: [
          Stack.of(this).formatArn({
            service: 'scheduler',
            resource: 'schedule',
            resourceName: `${scheduleGroup.ref}/*`,
          }),
        ],
      }),
    );
    schedulerRole.grantPassRole(adminApi.grantPrincipal);
    Validations.of(adminApi).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:scheduler:<AWS::Region>:<AWS::AccountId>:schedule/<MaintenanceSchedules>/*]',
      reason:
        "Maintenance windows' schedules are created at runtime, one per window start and end, with names made from the window id; the grant covers Switchboard's own schedule group only.",
    });
    const deadLetterQueues = {
      work: work.deadLetterQueue,
      callbacks: props.callbacks.deadLetterQueue,
      deliveries: deliveries.deadLetterQueue,
    };
    // Event deliveries an operator sends back to their queue, once their listener is well again.
    adminApi.addJsonEnvironment('REDRIVE_TO', { deliveries: deliveries.queue.queueUrl });
    deliveries.deadLetterQueue.grantConsumeMessages(adminApi);
    deliveries.queue.grantSendMessages(adminApi);
    adminApi.bindListeners('CONFIGURATION_TABLE', props.configurationTable, [
      'dynamodb:GetItem',
      'dynamodb:UpdateItem',
    ]);
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
      telemetry,
      invocation: { asynchronous: onFailure },
      withSystemAddresses: true,
      timeout: Duration.minutes(5),
    }).bindTable('CONFIGURATION_TABLE', props.configurationTable, 'read-write-delete', {
      indexes: [CONFIGURATION_BY_KIND],
    });
    new CustomResource(this, 'SeedConfiguration', {
      serviceToken: seeder.functionArn,
      // A seeder that hangs fails the deploy after this, not after CloudFormation's hour.
      serviceTimeout: Duration.minutes(6),
      resourceType: 'Custom::SwitchboardConfiguration',
      properties: {
        catalogHash: createHash('sha256')
          .update(JSON.stringify({ systems: catalog.systems, interfaces: catalog.interfaces }))
          .digest('hex'),
      },
    });

    // TMF622 events: read from the orders table's changes, put on the bus, delivered to the hub's listeners.
    const { orderEvents, eventDelivery } = addOrderEvents(this, {
      catalog,
      telemetry,
      ordersTable,
      configurationTable: props.configurationTable,
      bus: props.bus,
      deliveries,
      undelivered,
      onFailure,
    });
    orderApi.bindListeners('CONFIGURATION_TABLE', props.configurationTable, [
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:DeleteItem',
    ]);

    this.api = new SwitchboardApi(this, 'Api', {
      ...(props.apiThrottle ? { throttle: props.apiThrottle } : {}),
      ...(props.callbackThrottle ? { callbackThrottle: props.callbackThrottle } : {}),
    });
    const operatorConsole = new OperatorConsole(this, 'Console', {
      httpApi: this.api.httpApi,
      identity: props.identity,
      apiDocument: switchboardOpenApi(),
    });
    this.api.addRoutes({
      orderApi,
      orchestrationApi,
      adminApi,
      callbackApi,
      identity: props.identity,
      clients: [...props.identity.clients, operatorConsole.client],
    });
    // Systems call back on the API's own URL.
    calloutWorker.addEnvironment('CALLBACK_BASE_URL', this.api.httpApi.apiEndpoint);

    new OperationsDashboard(this, 'Operations', {
      api: this.api.httpApi,
      functions: {
        OrderApi: orderApi,
        OrchestrationApi: orchestrationApi,
        CalloutWorker: calloutWorker,
        CallbackApi: callbackApi,
        CallbackCorrelator: callbackCorrelator,
        ReleaseHeldItems: releaseHeldItems,
        PlanRunWatcher: planRunWatcher,
        MaintenanceWindow: maintenanceWindow,
        AdminApi: adminApi,
        CallbackKeyRotation: keyRotation,
        OrderEvents: orderEvents,
        EventDelivery: eventDelivery,
      },
      queues: {
        work: { queue: work.queue, deadLetters: work.deadLetterQueue },
        callbacks: { queue: props.callbacks.queue, deadLetters: props.callbacks.deadLetterQueue },
        deliveries: { queue: deliveries.queue, deadLetters: deliveries.deadLetterQueue },
      },
      plans: Object.fromEntries(plans.map(({ plan, machine }) => [plan.id, machine])),
      alerts: props.alerts,
      telemetry,
    });
  }
}

/**
 * Long enough for the slowest callout the catalog allows, sent twice (an OAuth2 renewal), after waiting
 * for its turn under a rate limit: a worker that times out mid-callout would leave its item to a redelivery.
 */
function workerTimeout(catalog: Catalog): Duration {
  const slowest = slowestCalloutSeconds(catalog);
  return Duration.seconds(Math.min(900, Math.max(60, 2 * slowest + (2 * MAX_RATE_WAIT_MS) / 1000 + 30)));
}
