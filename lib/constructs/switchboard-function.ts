import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import {
  ApplicationLogLevel,
  Architecture,
  type IDestination,
  Function as LambdaFunction,
  LoggingFormat,
  Runtime,
  SystemLogLevel,
  Tracing,
} from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import type { Catalog } from '../../lambdas/domain/catalog';
import { CONFIGURATION_BY_KIND } from '../../lambdas/shared/configuration-table';
import { functionCode } from './function-bundle';

/** Where every function's logs and metrics go, the same for all of one deployment. */
export interface FunctionTelemetry {
  /** The Powertools service: `switchboard`, or `switchboard-<stage>` (a dimension of every metric). */
  serviceName: string;
  /** The CloudWatch namespace of the metrics. */
  namespace: string;
  /**
   * The application log level (context `switchboard:logLevel`). Never above INFO: Lambda filters the
   * lines it cannot find a level in as INFO, and the metrics' lines (EMF) have none.
   */
  logLevel: 'DEBUG' | 'INFO';
}

export interface SwitchboardFunctionProps {
  /** The handler file, relative to the project root (lambdas/<name>/handler.ts). */
  entry: string;
  description: string;
  catalog: Catalog;
  telemetry: FunctionTelemetry;
  timeout?: Duration;
  memorySize?: number;
  /** Concurrency kept for this function alone, and the most it may use (none by default). */
  reservedConcurrentExecutions?: number;
  /** Modules bundled for their side effects: the catalog's custom integration adapters, which register themselves. */
  inject?: string[];
  /**
   * Carries the systems' base URLs in the catalog. Only the configuration seeder needs them (every
   * other function reads a system's address from the configuration table): without them a function's
   * asset is the same wherever it is deployed, so a synth whose inputs did not change can reuse it.
   */
  withSystemAddresses?: true;
  /**
   * How it is invoked, which says where a failed invocation is kept: by the API, which answers the
   * caller; by a queue's event source, whose dead-letter queue keeps what keeps failing; or
   * asynchronously (a rule, a schedule, CloudFormation), retried twice and then sent with its error to
   * `onFailure`; by a DynamoDB stream's event source, which has an on-failure destination of its own; or
   * by Secrets Manager's rotation, which records a failed step on the secret.
   */
  invocation: 'api' | 'queue' | 'stream' | 'rotation' | { asynchronous: IDestination };
}

/**
 * A Lambda with Switchboard's defaults: Node 24 on ARM64, X-Ray, JSON logs at the deployment's level in
 * its own log group with a retention, Powertools' service and metrics namespace, source maps, and the
 * validated catalog in its asset beside the bundle (so what runs is what was checked at synth; see
 * function-bundle.ts). The AWS SDK is bundled too, so the local runtime runs exactly the deployed artefact.
 */
export class SwitchboardFunction extends LambdaFunction {
  constructor(scope: Construct, id: string, props: SwitchboardFunctionProps) {
    const logGroup = new LogGroup(scope, `${id}Logs`, {
      retention: RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const catalog = props.withSystemAddresses ? props.catalog : withoutSystemAddresses(props.catalog);
    super(scope, id, {
      code: functionCode(props.entry, catalog, props.inject ?? []),
      handler: 'index.handler',
      description: props.description,
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      ...(props.reservedConcurrentExecutions !== undefined
        ? { reservedConcurrentExecutions: props.reservedConcurrentExecutions }
        : {}),
      timeout: props.timeout ?? Duration.seconds(30),
      tracing: Tracing.ACTIVE,
      logGroup,
      // JSON as Powertools writes it; Lambda's own lines JSON too, and only its warnings.
      loggingFormat: LoggingFormat.JSON,
      applicationLogLevelV2: ApplicationLogLevel[props.telemetry.logLevel],
      systemLogLevelV2: SystemLogLevel.WARN,
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_SERVICE_NAME: props.telemetry.serviceName,
        POWERTOOLS_METRICS_NAMESPACE: props.telemetry.namespace,
      },
      ...(typeof props.invocation === 'object'
        ? { onFailure: props.invocation.asynchronous, retryAttempts: 2, maxEventAge: Duration.hours(6) }
        : {}),
    });
    Validations.of(this).acknowledge(
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'Only the X-Ray PutTraceSegments/PutTelemetryRecords grant uses "*": those actions have no resource-level permissions.',
      },
      {
        id: 'Serverless-LambdaDLQ',
        reason: {
          api: 'Invoked synchronously by API Gateway: a failure is the caller’s answer (a 5xx), there is no event to keep.',
          queue:
            'Invoked by an SQS event source: a message that keeps failing goes to that queue’s dead-letter queue, which has an alarm.',
          stream:
            'Invoked by a DynamoDB stream event source, whose on-failure destination (a queue with an alarm) keeps a batch that keeps failing.',
          asynchronous:
            'Invoked asynchronously: a failed invocation goes, with its error, to an onFailure destination (a queue with an alarm), which keeps more than a dead-letter queue would.',
          rotation:
            'Invoked synchronously by Secrets Manager for each rotation step: a failed step fails the rotation, the secret keeps its current version, and Secrets Manager tries again at the next rotation.',
        }[typeof props.invocation === 'object' ? 'asynchronous' : props.invocation],
      },
      // SQS event sources take no on-failure destination (only streams and Kafka do): the queue's own
      // dead-letter queue keeps what fails.
      {
        id: 'Serverless-LambdaEventSourceMappingDestination',
        reason:
          'An SQS event source: its queue redrives a message that keeps failing to its dead-letter queue.',
      },
    );
  }

  /** Gives the function a table: its name in `envName`, and the access its job needs, nothing more. */
  bindTable(
    envName: string,
    table: ITable,
    access: 'read' | 'read-update' | 'read-write' | 'read-write-delete',
    options: { indexes?: string[] } = {},
  ): this {
    this.addEnvironment(envName, table.tableName);
    const reads = ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:BatchGetItem'];
    // read-update changes existing records (conditional updates) but never creates or deletes one;
    // read-write also creates them (an item's transitions append its log records, written once);
    // read-write-delete also deletes. Never BatchWriteItem: IAM cannot tell its puts from its deletes,
    // so a grant of it would let a function that only appends delete too (shared/put-each.ts).
    const writes = {
      read: [],
      'read-update': ['dynamodb:UpdateItem'],
      'read-write': ['dynamodb:PutItem', 'dynamodb:UpdateItem'],
      'read-write-delete': ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
    }[access];
    this.addToRolePolicy(
      new PolicyStatement({ actions: [...reads, ...writes], resources: [table.tableArn] }),
    );
    // Named indexes only, never index/*: a function reads the indexes its job queries.
    if (options.indexes?.length) {
      this.addToRolePolicy(
        new PolicyStatement({
          actions: ['dynamodb:Query'],
          resources: options.indexes.map((index) => `${table.tableArn}/index/${index}`),
        }),
      );
    }
    return this;
  }

  /**
   * Gives the function the hub's listeners (`LISTENER#<id>` records of the configuration table, its name
   * in `envName`) and the configuration's listing index: these actions on them and on no other record
   * (IAM's dynamodb:LeadingKeys condition).
   */
  bindListeners(envName: string, table: ITable, actions: string[]): this {
    this.addEnvironment(envName, table.tableName);
    this.addToRolePolicy(
      new PolicyStatement({
        actions,
        resources: [table.tableArn],
        conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['LISTENER#*'] } },
      }),
    );
    this.addToRolePolicy(
      new PolicyStatement({
        actions: ['dynamodb:Query'],
        resources: [`${table.tableArn}/index/${CONFIGURATION_BY_KIND}`],
      }),
    );
    return this;
  }

  /** Sets `envName` to a JSON object of strings (which may hold deploy-time tokens such as ARNs). */
  addJsonEnvironment(envName: string, values: Record<string, string>): this {
    this.addEnvironment(envName, Stack.of(this).toJsonString(values));
    return this;
  }

  /** Lets the function read a secret, with its ARN in `envName`. */
  bindSecret(envName: string, secret: ISecret): this {
    this.addEnvironment(envName, secret.secretArn);
    secret.grantRead(this);
    return this;
  }

  /** Lets the function read these secrets, with their ARNs by name as a JSON object in `envName`. */
  bindSecrets(envName: string, secrets: Record<string, ISecret>): this {
    this.addJsonEnvironment(
      envName,
      Object.fromEntries(Object.entries(secrets).map(([name, secret]) => [name, secret.secretArn])),
    );
    for (const secret of Object.values(secrets)) secret.grantRead(this);
    return this;
  }

  /** Lets the function send to a queue, with its URL in `envName`. */
  bindQueueSender(envName: string, queue: IQueue): this {
    this.addEnvironment(envName, queue.queueUrl);
    queue.grantSendMessages(this);
    return this;
  }

  /**
   * Lets the function change the visibility of the messages it receives from a queue (to bring a failed
   * one back after a backoff), with the queue's URL in `envName`. The event source grants the rest.
   */
  bindQueueConsumer(envName: string, queue: IQueue): this {
    this.addEnvironment(envName, queue.queueUrl);
    queue.grantConsumeMessages(this);
    return this;
  }

  /** Puts events on the bus: its name in `envName`, events:PutEvents on it only. */
  bindEventBus(envName: string, bus: IEventBus): this {
    this.addEnvironment(envName, bus.eventBusName);
    bus.grantPutEventsTo(this);
    return this;
  }
}

/** The catalog with every system's base URL left out (the configuration table has them). */
function withoutSystemAddresses(catalog: Catalog): Catalog {
  const systems = Object.fromEntries(
    Object.entries(catalog.systems).map(([id, system]) => [id, { ...system, baseUrl: '' }]),
  );
  return { ...catalog, systems };
}
