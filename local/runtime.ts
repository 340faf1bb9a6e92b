import { randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SQSClient } from '@aws-sdk/client-sqs';
import { EXECUTION_STATUS_CHANGE, STEP_FUNCTIONS_SOURCE } from '../lambdas/shared/plan-run-events';
import { type ApiExchange, LocalApiGateway } from './api-gateway';
import { LocalAsyncInvocations } from './async-invocations';
import { LocalDeployment } from './cloud-assembly';
import { deployCustomResources } from './custom-resources';
import { LocalDistribution } from './distribution';
import { createTables, type DynamoDbChoice, type LocalDynamoDb, startDynamoDb } from './dynamodb';
import { DynamoDbStreamSources } from './dynamodb-streams';
import { LocalEventBridge } from './eventbridge';
import { freePort } from './free-port';
import { type LocalIdentity, loadLocalIdentities } from './identities';
import { LambdaHost } from './lambda-host';
import { ServiceMeter } from './metering';
import { LocalMetrics } from './metrics';
import { LocalScheduler } from './scheduler';
import { LocalSecretsManager, writeDefaultSecrets } from './secrets-manager';
import { createQueues, LOCAL_ACCOUNT_ID, type SqsChoice, SqsEventSources, startSqs } from './sqs';
import { LocalStepFunctions } from './stepfunctions';

export interface LocalRuntimeOptions {
  /** The synthesized cloud assembly (cdk.out). */
  assemblyDir: string;
  /** Where DynamoDB, SQS and Step Functions keep their data across restarts. */
  dataDir: string;
  /** The API's port; 0 picks a free one. */
  port: number;
  host?: string;
  region?: string;
  /** `auto` uses DynamoDB Local when Java is on PATH, else dynalite. */
  dynamoDb?: DynamoDbChoice;
  /** Where SQS keeps its messages (default `disk`: they survive a restart). */
  sqs?: SqsChoice;
  log?: (line: string) => void;
  /** Counts every AWS request the functions and the runtime make (the benchmark's cost model); adds a hop. */
  meter?: boolean;
  /** Told of every request to a route of the API and its answer. */
  observeApi?: (exchange: ApiExchange) => void;
}

export interface LocalRuntime {
  apiUrl: string;
  endpoints: {
    dynamodb: string;
    sqs: string;
    stepfunctions: string;
    eventbridge: string;
    secretsmanager: string;
    scheduler: string;
  };
  region: string;
  dynamoDbEngine: LocalDynamoDb['engine'];
  /** The processes the runtime is made of (for the benchmark's CPU and memory figures). */
  processes: { name: string; pid: number }[];
  deployment: LocalDeployment;
  /** Bearer tokens by role (from the data folder's identities.json). */
  identities: LocalIdentity[];
  stepFunctions: LocalStepFunctions;
  lambdas: LambdaHost;
  api: LocalApiGateway;
  eventBridge: LocalEventBridge;
  scheduler: LocalScheduler;
  /** Present when started with `meter`. */
  meter?: ServiceMeter;
  /** The metrics the functions wrote (EMF) since the start or the last reset; also at `GET /local/metrics`. */
  metrics: LocalMetrics;
  stop(): Promise<void>;
}

/**
 * A small AWS on loopback that runs a synthesized Switchboard: DynamoDB, SQS (fauxqs), Step Functions
 * (aws-local-stepfunctions), EventBridge, Secrets Manager (values from the data folder's secrets.json) and
 * API Gateway endpoints, and the template's Lambda bundles with their template environment pointed at
 * those endpoints through AWS_ENDPOINT_URL_*. The template's custom resources are deployed before the API
 * serves, as CloudFormation deploys them before the stack is complete.
 */
export async function startLocalRuntime(options: LocalRuntimeOptions): Promise<LocalRuntime> {
  const region = options.region ?? 'us-east-1';
  const log = options.log ?? ((line: string) => console.log(line));
  mkdirSync(options.dataDir, { recursive: true });
  const releaseLock = lock(options.dataDir);
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const stop of stops.reverse())
      await stop().catch((error: Error) => log(`stop failed: ${error.message}`));
    releaseLock();
  };
  try {
    const port = options.port === 0 ? await freePort() : options.port;
    const host = options.host ?? '127.0.0.1';
    const apiUrl = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`;

    const [dynamo, sqs] = await Promise.all([
      startDynamoDb(options.dataDir, region, options.dynamoDb),
      startSqs(options.dataDir, region, options.sqs),
    ]);
    stops.push(dynamo.stop, sqs.stop);
    const meter = options.meter ? new ServiceMeter() : undefined;
    if (meter) stops.push(() => meter.stop());
    const metered = async (service: string, endpoint: string) =>
      meter ? meter.proxy(service, endpoint) : endpoint;
    // Every SQS request goes to its queue URL's host, so metered queue URLs carry the meter's endpoint:
    // the functions', the state machines' integration and the event source mappings' (AWS bills them all).
    const sqsEndpoint = await metered('sqs', sqs.endpoint);
    const deployment = new LocalDeployment(options.assemblyDir, {
      region,
      accountId: LOCAL_ACCOUNT_ID,
      queueUrl: (name) => `${sqsEndpoint}/${LOCAL_ACCOUNT_ID}/${name}`,
      apiEndpoint: () => apiUrl,
    });
    await createTables(deployment, dynamo.endpoint, region, { dynalite: dynamo.engine === 'dynalite' });
    createQueues(deployment, sqs);

    const sqsClient = new SQSClient({ endpoint: sqsEndpoint, region, credentials: localCredentials });
    stops.push(async () => sqsClient.destroy());
    const metrics = new LocalMetrics();
    const lambdas = new LambdaHost(deployment, { log, metrics });
    stops.push(() => lambdas.stop());
    const stepFunctions = new LocalStepFunctions(deployment, {
      dataDir: options.dataDir,
      region,
      sqs: sqsClient,
      lambdas,
      log,
    });
    const asyncInvocations = new LocalAsyncInvocations(deployment, lambdas, sqsClient, log);
    stops.push(async () => asyncInvocations.stop());
    const eventBridge = new LocalEventBridge(deployment, asyncInvocations, sqsClient, log);
    // Step Functions announces every execution's end on the default bus, as it does on AWS.
    stepFunctions.onExecutionClosed((execution) =>
      eventBridge.announce(
        STEP_FUNCTIONS_SOURCE,
        EXECUTION_STATUS_CHANGE,
        {
          executionArn: execution.executionArn,
          stateMachineArn: execution.stateMachineArn,
          name: execution.name,
          status: execution.status,
          startDate: Math.round(execution.startDate * 1000),
          stopDate: execution.stopDate === undefined ? null : Math.round(execution.stopDate * 1000),
          input: execution.input,
          output: execution.output ?? null,
          error: execution.error ?? null,
          cause: execution.cause ?? null,
        },
        [execution.executionArn],
      ),
    );
    const scheduler = new LocalScheduler(asyncInvocations, {
      dataDir: options.dataDir,
      region,
      accountId: LOCAL_ACCOUNT_ID,
      log,
    });
    // The key that signs callback URLs, and the secret each system that signs its callbacks signs them
    // with, are generated once per data folder, as the first deploy does on AWS.
    const secretsManager = new LocalSecretsManager(deployment, options.dataDir);
    writeDefaultSecrets(options.dataDir, {
      'callback-signing-key': { key: randomBytes(48).toString('base64url') },
      ...Object.fromEntries(
        secretsManager.entries
          .filter((entry) => entry.startsWith('callbacks:'))
          .map((entry) => [entry, { secret: `whsec_${randomBytes(32).toString('base64')}` }]),
      ),
    });
    await Promise.all([stepFunctions.start(), eventBridge.start(), secretsManager.start()]);
    stops.push(
      () => eventBridge.stop(),
      () => stepFunctions.stop(),
      () => secretsManager.stop(),
    );
    const serviceEndpoints = {
      dynamodb: await metered('dynamodb', dynamo.endpoint),
      sqs: sqsEndpoint,
      stepfunctions: await metered('stepfunctions', stepFunctions.endpoint),
      eventbridge: await metered('eventbridge', eventBridge.endpoint),
      secretsmanager: await metered('secretsmanager', secretsManager.endpoint),
    };
    // The scheduler's endpoint is known once it started: a meter in front of it reads it at each request.
    const meteredScheduler = meter ? await meter.proxy('scheduler', () => scheduler.endpoint) : undefined;
    // Started last, with nothing awaited between it and lambdas.start: a schedule that came due while the
    // runtime was stopped fires on the next turn of the event loop and must find the functions hosted.
    await scheduler.start();
    stops.push(() => scheduler.stop());
    const endpoints = { ...serviceEndpoints, scheduler: meteredScheduler ?? scheduler.endpoint };

    lambdas.start(lambdaEnvironment(region, endpoints));
    const eventSources = new SqsEventSources(deployment, sqs, lambdas, region, log, sqsEndpoint);
    eventSources.start();
    stops.push(() => eventSources.stop());
    // Streams are read straight from DynamoDB Local, never through the meter: Lambda's reads of a
    // stream cost nothing on AWS. dynalite has no streams.
    if (dynamo.engine === 'dynalite')
      log(
        '[streams] dynalite has no streams: no TMF622 events are sent (Java on PATH gives DynamoDB Local, which has them)',
      );
    else {
      const streamSources = new DynamoDbStreamSources(
        deployment,
        lambdas,
        dynamo.endpoint,
        region,
        options.dataDir,
        log,
        dynamo.engine === 'DynamoDB Local',
      );
      streamSources.start();
      stops.push(() => streamSources.stop());
    }
    await deployCustomResources(deployment, { dataDir: options.dataDir, functions: lambdas, log });

    const identities = loadLocalIdentities(options.dataDir);
    const api = new LocalApiGateway(
      deployment,
      lambdas,
      identities,
      log,
      new LocalDistribution(deployment),
      metrics,
      options.observeApi ?? exchangeLog(),
    );
    await api.start(port, host);
    stops.push(() => api.stop());

    return {
      apiUrl,
      endpoints,
      region,
      dynamoDbEngine: dynamo.engine,
      processes: [
        { name: 'node', pid: process.pid },
        ...(dynamo.pid === undefined ? [] : [{ name: 'DynamoDB Local', pid: dynamo.pid }]),
      ],
      deployment,
      identities,
      stepFunctions,
      lambdas,
      api,
      eventBridge,
      scheduler,
      ...(meter ? { meter } : {}),
      metrics,
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

const localCredentials = { accessKeyId: 'local', secretAccessKey: 'local' };

function lambdaEnvironment(region: string, endpoints: LocalRuntime['endpoints']): Record<string, string> {
  return {
    AWS_REGION: region,
    AWS_DEFAULT_REGION: region,
    AWS_ACCESS_KEY_ID: localCredentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: localCredentials.secretAccessKey,
    AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamodb,
    AWS_ENDPOINT_URL_SQS: endpoints.sqs,
    AWS_ENDPOINT_URL_SFN: endpoints.stepfunctions,
    AWS_ENDPOINT_URL_EVENTBRIDGE: endpoints.eventbridge,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: endpoints.secretsmanager,
    AWS_ENDPOINT_URL_SCHEDULER: endpoints.scheduler,
    AWS_EC2_METADATA_DISABLED: 'true',
    TZ: 'UTC',
  };
}

/** One runtime per data folder: two DynamoDB Locals on one database file corrupt it. */
function lock(dataDir: string): () => void {
  const file = join(dataDir, 'runtime.pid');
  if (existsSync(file)) {
    const pid = Number(readFileSync(file, 'utf8'));
    if (pid && pid !== process.pid && isAlive(pid)) {
      throw new Error(`another local runtime (pid ${pid}) uses ${dataDir}; stop it first`);
    }
  }
  writeFileSync(file, String(process.pid));
  return () => rmSync(file, { force: true });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * With `SWITCHBOARD_API_EXCHANGES=<file>`, every request to the API and its answer is appended to the
 * file, one JSON line each: how the end-to-end tests check what a runtime in another process (the demo's)
 * answered against the API's documents.
 */
function exchangeLog(): ((exchange: ApiExchange) => void) | undefined {
  const file = process.env.SWITCHBOARD_API_EXCHANGES;
  if (!file) return undefined;
  return (exchange) => appendFileSync(file, `${JSON.stringify(exchange)}\n`);
}
