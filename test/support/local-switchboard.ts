import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'node:test';
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { type LocalRuntime, startLocalRuntime } from '../../local/runtime';
import { writeDefaultSecrets } from '../../local/secrets-manager';
import { LOCAL_ACCOUNT_ID } from '../../local/sqs';
import { synthesize } from '../../local/synthesize';
import { type ActivationOptions, startActivation } from '../../simulators/activation';
import {
  type DemoCredentials,
  type DemoSystems,
  type DemoSystemsOptions,
  demoCredentials,
  FREE_DEMO_PORTS,
  startDemoSystems,
} from '../../simulators/demo-systems';
import type { SimulatedSystem } from '../../simulators/simulated-system';
import { ContractWatch } from './contract-watch';

export interface TestSwitchboard {
  runtime: LocalRuntime;
  /** The demo's inventory, activation and billing systems, each checking its own credentials. */
  systems: DemoSystems;
  inventory: SimulatedSystem;
  /** What the local secrets file gives each auth profile (and the simulators accept). */
  credentials: DemoCredentials;
  assemblyDir: string;
  dataDir: string;
  /** The runtime's log so far, one line each, the Lambdas' structured logs included (prefixed by function). */
  logs: readonly string[];
  /**
   * Calls the API as a role (by default an operator for /orchestration and /admin, else a submitter;
   * `null` sends no token): JSON in, status and parsed JSON out.
   */
  call(method: string, path: string, body?: unknown, options?: CallOptions): Promise<ApiAnswer>;
  /** The bearer token the local identity file gives a role (its first caller of it), or a caller by its sub. */
  token(role: string): string;
  /** What has been written: records in the orders table and plan executions started, on every plan. */
  writes(): Promise<{ records: number; executions: number }>;
  /** Checks every request and answer against the API's document and TMF622's (contract-watch.ts). */
  contract: ContractWatch;
  /** Stops the runtime, keeping its data, and starts it again on the same port. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export interface CallOptions {
  as?: string | null;
  headers?: Record<string, string>;
}

export interface ApiAnswer {
  status: number;
  headers: Headers;
  body: unknown;
}

/**
 * A whole Switchboard on loopback for end-to-end tests: the app synthesized into a temporary cloud
 * assembly with the systems pointed at simulators on free ports, and the local runtime on a free port
 * with a temporary data folder.
 */
export interface TestSwitchboardOptions {
  dynamoDb?: 'auto' | 'dynalite';
  /** Another catalog folder (default: the demo catalog). */
  catalogDir?: string;
  /** Base URLs of further systems of that catalog, by system id. */
  systemBaseUrls?: Record<string, string>;
  /** Latency of the demo systems. */
  latencyMs?: number;
  /** How the activation system answers asynchronously (default: an interim callback after 50 ms, the final 100 ms later). */
  activation?: Pick<
    ActivationOptions,
    'interimDelayMs' | 'finalDelayMs' | 'duplicateFinal' | 'callbackFirst' | 'callbacks' | 'mode'
  >;
  /** More synth context (`switchboard:callbackThrottle`, …). */
  context?: Record<string, unknown>;
  /** Faults the demo systems answer with instead of acting (asked for each request, so a test can change them). */
  faults?: DemoSystemsOptions['faults'];
}

/** How long one API call of a test may take before it fails (a hung runtime must fail the test, not CI). */
const CALL_TIMEOUT_MS = 60_000;
/** How many of the runtime's last log lines a failed test prints. */
const LOG_LINES_ON_FAILURE = 80;

/** Switchboards started and not yet stopped, whose logs a failing test prints. */
const running = new Set<TestSwitchboard>();

// A test that fails (a timeout included) prints what the runtimes were doing: on a CI machine that is
// the only view of a run that went wrong.
afterEach((t) => {
  // `passed` is on the context at run time (Node ≥ 21.7) but not yet in @types/node.
  if ((t as { passed?: boolean }).passed === false) {
    for (const sb of running) {
      const tail = sb.logs.slice(-LOG_LINES_ON_FAILURE);
      console.log(`--- last ${tail.length} lines of the runtime log (test "${t.name}" failed) ---`);
      for (const line of tail) console.log(line);
    }
  }
  // What the test's requests and answers did against the API's documents fails the test that made them.
  const outside = [...running].flatMap((sb) => sb.contract.take());
  if (outside.length > 0) throw new ContractBroken(t.name, outside);
});

/** Requests or answers of a test that the API's document, or TMF622's, does not allow. */
class ContractBroken extends Error {
  constructor(test: string, problems: string[]) {
    super(
      `"${test}": the API answered outside its documents (docs/api.md#the-reference-openapijson):\n${problems.join('\n')}`,
    );
  }
}

export async function startTestSwitchboard(options: TestSwitchboardOptions = {}): Promise<TestSwitchboard> {
  const credentials = demoCredentials();
  let systems = await startDemoSystems({
    ports: FREE_DEMO_PORTS,
    credentials,
    activationMode: 'async',
    ...(options.latencyMs !== undefined ? { latencyMs: options.latencyMs } : {}),
    ...(options.faults ? { faults: options.faults } : {}),
  });
  try {
    if (options.activation) systems = await replaceActivation(systems, credentials, options);
    return await startAround(systems, credentials, options);
  } catch (error) {
    // A runtime that failed to start must not leave the simulators holding the test process open.
    await systems.stop();
    throw error;
  }
}

/**
 * The demo systems with an activation system answering as `options.activation` says. The demo starts
 * activation with its delays only, so a duplicate final or an early callback needs one of our own,
 * guarded the same way (the scope the catalog's activation-oauth profile asks for).
 */
async function replaceActivation(
  systems: DemoSystems,
  credentials: DemoCredentials,
  options: TestSwitchboardOptions,
): Promise<DemoSystems> {
  const { clientId, clientSecret } = credentials['activation-oauth'];
  await systems.activation.stop();
  const activation = await startActivation({
    port: 0,
    ...(options.latencyMs !== undefined ? { latencyMs: options.latencyMs } : {}),
    auth: { type: 'oauth2', clientId, clientSecret, scope: 'activations' },
    mode: 'async',
    callbackSecret: credentials['callbacks:activation'].secret,
    ...options.activation,
  });
  const { inventory, billing, scheduling, notification, porting, telephony, provisioning } = systems;
  return {
    ...systems,
    activation,
    urls: { ...systems.urls, activation: activation.url },
    stop: async () => {
      await Promise.all(
        [inventory, activation, billing, scheduling, notification, porting, telephony, provisioning].map(
          (system) => system.stop(),
        ),
      );
    },
  };
}

async function startAround(
  systems: DemoSystems,
  credentials: DemoCredentials,
  options: TestSwitchboardOptions,
): Promise<TestSwitchboard> {
  const assemblyDir = synthesize(mkdtempSync(join(tmpdir(), 'switchboard-e2e-cdk-')), {
    'switchboard:systemBaseUrls': { ...systems.urls, ...options.systemBaseUrls },
    ...(options.catalogDir ? { 'switchboard:catalogDir': options.catalogDir } : {}),
    ...options.context,
  });
  const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-e2e-data-'));
  writeDefaultSecrets(dataDir, { ...credentials });
  const logs: string[] = [];
  const contract = new ContractWatch();
  const start = (port = 0) =>
    startLocalRuntime({
      assemblyDir,
      dataDir,
      port,
      dynamoDb: options.dynamoDb,
      log: (line) => logs.push(line),
      observeApi: contract.observe,
    });
  const handle: TestSwitchboard = {
    runtime: await start(),
    systems,
    inventory: systems.inventory,
    credentials,
    assemblyDir,
    dataDir,
    logs,
    contract,
    token(role) {
      const { identities } = handle.runtime;
      const identity =
        identities.find((i) => i.role === role) ?? identities.find((i) => i.claims.sub === role);
      if (!identity) throw new Error(`the local identity file has no ${role}`);
      return identity.token;
    },
    async writes() {
      const { runtime } = handle;
      const config = {
        region: runtime.region,
        credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      };
      const dynamo = new DynamoDBClient({ ...config, endpoint: runtime.endpoints.dynamodb });
      const sfn = new SFNClient({ ...config, endpoint: runtime.endpoints.stepfunctions });
      let records = 0;
      // The orders table only: the configuration table changes with every callout's limits.
      for (const table of runtime.deployment
        .ofType('AWS::DynamoDB::Table')
        .filter((t) => t.logicalId.startsWith('Orders'))) {
        records +=
          (await dynamo.send(new ScanCommand({ TableName: table.physicalName, Select: 'COUNT' }))).Count ?? 0;
      }
      let executions = 0;
      for (const machine of runtime.deployment.ofType('AWS::StepFunctions::StateMachine')) {
        const stateMachineArn = String(runtime.deployment.attributes(machine).Arn);
        executions +=
          (await sfn.send(new ListExecutionsCommand({ stateMachineArn }))).executions?.length ?? 0;
      }
      dynamo.destroy();
      sfn.destroy();
      return { records, executions };
    },
    async call(method, path, body, options = {}) {
      const role =
        options.as === undefined
          ? /^\/(orchestration|admin)\//.test(path)
            ? 'operator'
            : 'submitter'
          : options.as;
      const response = await fetch(`${handle.runtime.apiUrl}${path}`, {
        method,
        headers: {
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...(role ? { authorization: `Bearer ${handle.token(role)}` } : {}),
          ...options.headers,
        },
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
        signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
      });
      const text = await response.text();
      let parsed: unknown = text;
      try {
        parsed = text === '' ? undefined : JSON.parse(text);
      } catch {
        // left as text: the assertion that expects JSON will say so
      }
      return { status: response.status, headers: response.headers, body: parsed };
    },
    async restart() {
      // On the same port, as a deployed API keeps its URL: the callback URLs systems hold still reach it.
      const port = Number(new URL(handle.runtime.apiUrl).port);
      await handle.runtime.stop();
      handle.runtime = await start(port);
    },
    async stop() {
      running.delete(handle);
      await handle.runtime.stop();
      await systems.stop();
      if (process.env.KEEP_E2E_DATA) console.log(`kept ${dataDir}; runtime log:\n${logs.join('\n')}`);
      else {
        // The cloud assembly too: about 100 MB of bundles a suite, which filled a shared disk run after run.
        rmSync(dataDir, { recursive: true, force: true });
        rmSync(assemblyDir, { recursive: true, force: true });
      }
      // Exchanges after the suite's last test (its teardown's) are held to the documents too.
      const outside = contract.take();
      if (outside.length > 0) throw new ContractBroken('teardown', outside);
      // A suite that called the API and had nothing checked has lost its watch, not passed it.
      const served = [...handle.runtime.api.requests].some(([route, count]) => route !== '-' && count > 0);
      if (served && contract.checked === 0)
        throw new Error('the API answered requests, and none was checked against its documents');
    },
  };
  running.add(handle);
  return handle;
}

/** Polls until `check` returns a value, or fails after `timeoutMs` with the last thing seen. */
export async function eventually<T>(
  check: () => Promise<T | undefined>,
  timeoutMs = 30_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    // A check that never settles (a call to a hung server) fails the wait at its deadline all the same.
    let timer: NodeJS.Timeout | undefined;
    const value = await Promise.race([
      check(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what} (a check hung)`)),
          Math.max(0, deadline - Date.now()) + 1000,
        );
      }),
    ]).finally(() => clearTimeout(timer));
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const ORDERS = '/tmf-api/productOrderingManagement/v5/productOrder';

/** Submits a one-line order for `offeringId` (201 or the test fails) and returns its id. */
export async function submitOneLine(sb: TestSwitchboard, offeringId: string): Promise<string> {
  const created = await sb.call('POST', ORDERS, {
    productOrderItem: [{ id: '1', action: 'add', productOffering: { id: offeringId } }],
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  return (created.body as { id: string }).id;
}

/** One item of an order as the orchestration API shows it; the test fails when the order has none by `key`. */
export async function itemOf<T extends { key: string }>(
  sb: TestSwitchboard,
  orderId: string,
  key: string,
): Promise<T> {
  const graph = (await sb.call('GET', `/orchestration/orders/${orderId}/items`)).body as { items: T[] };
  const found = graph.items.find((i) => i.key === key);
  assert.ok(found, `order ${orderId} has item ${key}`);
  return found;
}

/**
 * The sum of a metric the functions wrote, as `GET /local/metrics` serves it: of its series with exactly
 * these dimensions (and the service), so a rollup is not counted with its detail.
 */
export async function metricSum(
  sb: TestSwitchboard,
  name: string,
  dimensions: Record<string, string> = {},
): Promise<number> {
  const query = new URLSearchParams({ name, ...dimensions });
  const answer = await sb.call('GET', `/local/metrics?${query}`);
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  const { series } = answer.body as { series: { dimensions: Record<string, string>; sum: number }[] };
  const keys = Object.keys(dimensions).length + 1;
  return series.filter((s) => Object.keys(s.dimensions).length === keys).reduce((sum, s) => sum + s.sum, 0);
}

/** Waits until a metric's sum reaches `atLeast` (the functions' output reaches the runtime a moment later). */
export function metricReaches(
  sb: TestSwitchboard,
  name: string,
  dimensions: Record<string, string>,
  atLeast = 1,
): Promise<number> {
  return eventually(
    async () => {
      const sum = await metricSum(sb, name, dimensions);
      return sum >= atLeast ? sum : undefined;
    },
    10_000,
    `${name} ${JSON.stringify(dimensions)} to reach ${atLeast}`,
  );
}

/** The JSON log lines a function wrote (the runtime prefixes each with `[LogicalId] `) with this message. */
export function loggedLines(sb: TestSwitchboard, fn: string, message: string): Record<string, unknown>[] {
  return sb.logs.flatMap((line) => {
    const match = /^\[([^\]]+)\] (\{.*\})$/.exec(line);
    if (!match?.[1]?.startsWith(fn) || !match[2]) return [];
    const parsed = JSON.parse(match[2]) as Record<string, unknown>;
    return parsed.message === message ? [parsed] : [];
  });
}

/**
 * Sends a message straight to one of the runtime's queues, the first whose logical id starts with
 * `logicalIdPrefix` (as a bad deploy or an operator might): what its consumer then does is the test's.
 */
export async function sendToQueue(sb: TestSwitchboard, logicalIdPrefix: string, body: string): Promise<void> {
  const queue = sb.runtime.deployment
    .ofType('AWS::SQS::Queue')
    .find((q) => q.logicalId.startsWith(logicalIdPrefix));
  assert.ok(queue, `a queue ${logicalIdPrefix}…`);
  const sqs = new SQSClient({
    endpoint: sb.runtime.endpoints.sqs,
    region: sb.runtime.region,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  try {
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: `${sb.runtime.endpoints.sqs}/${LOCAL_ACCOUNT_ID}/${queue.physicalName}`,
        MessageBody: body,
      }),
    );
  } finally {
    sqs.destroy();
  }
}
