import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { DescribeExecutionCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { LocalDeployment } from '../../local/cloud-assembly';
import type { LambdaHost } from '../../local/lambda-host';
import { type ExecutionRecord, LocalStepFunctions } from '../../local/stepfunctions';

const region = 'us-east-1';
const ACCOUNT = '000000000000';
const STACK = 'Plans';
const FINISHED_RUNS = 1005;
/** KEPT_FINISHED_EXECUTIONS in local/stepfunctions.ts, which it does not export. */
const KEPT_FINISHED = 1000;

/** A cloud assembly of two state machines: one that succeeds at once, one that waits an hour. */
function writeAssembly(dir: string): void {
  const machine = (definition: unknown) => ({
    Type: 'AWS::StepFunctions::StateMachine',
    Properties: { DefinitionString: JSON.stringify(definition) },
  });
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'manifest.json'),
    JSON.stringify({
      artifacts: {
        [STACK]: { type: 'aws:cloudformation:stack', properties: { templateFile: `${STACK}.template.json` } },
      },
    }),
  );
  writeFileSync(
    join(dir, `${STACK}.template.json`),
    JSON.stringify({
      Resources: {
        Instant: machine({ StartAt: 'Done', States: { Done: { Type: 'Pass', End: true } } }),
        HourLong: machine({ StartAt: 'Wait', States: { Wait: { Type: 'Wait', Seconds: 3600, End: true } } }),
      },
    }),
  );
}

/** Neither SQS nor Lambda is reached by a Pass or a Wait state; a call would be a test failure. */
const unreachable = (service: string) =>
  new Proxy(
    {},
    {
      get: () => () => {
        throw new Error(`the state machines under test do not call ${service}`);
      },
    },
  );

describe('the local Step Functions executions file', () => {
  const root = mkdtempSync(join(tmpdir(), 'switchboard-sfn-'));
  const dataDir = join(root, 'data');
  const assemblyDir = join(root, 'cdk.out');
  writeAssembly(assemblyDir);
  const deployment = new LocalDeployment(assemblyDir, {
    region,
    accountId: ACCOUNT,
    queueUrl: (name) => name,
    apiEndpoint: () => 'http://127.0.0.1',
  });
  const arnOf = (logicalId: string) => String(deployment.resolve({ Ref: logicalId }, STACK));
  const log: string[] = [];
  const options = {
    dataDir,
    region,
    sqs: unreachable('SQS') as SQSClient,
    lambdas: unreachable('Lambda') as LambdaHost,
    log: (line: string) => log.push(line),
  };
  const stepFunctions = new LocalStepFunctions(deployment, options);
  let stopped = false;
  let restarted: LocalStepFunctions | undefined;
  let client: SFNClient | undefined;

  after(async () => {
    client?.destroy();
    await restarted?.stop();
    if (!stopped) await stepFunctions.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it('keeps every running execution and only the latest finished ones, announcing every close', async () => {
    // Prepare
    await stepFunctions.start();
    client = new SFNClient({
      endpoint: stepFunctions.endpoint,
      region,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      maxAttempts: 1,
    });
    const sfn = client;
    const closed: Readonly<ExecutionRecord>[] = [];
    stepFunctions.onExecutionClosed((execution) => closed.push({ ...execution }));
    const allClosed = new Promise<void>((resolve) => {
      const stopListening = stepFunctions.onExecutionClosed(() => {
        if (closed.length >= FINISHED_RUNS) {
          stopListening();
          resolve();
        }
      });
    });
    const start = (logicalId: string, name: string) =>
      sfn.send(new StartExecutionCommand({ stateMachineArn: arnOf(logicalId), name, input: '{}' }));

    // Act: the waiting executions start first, so they are the oldest in the file.
    const waiting = [await start('HourLong', 'waiting-1'), await start('HourLong', 'waiting-2')];
    for (let n = 0; n < FINISHED_RUNS; n++) await start('Instant', `instant-${n}`);
    await allClosed;
    await stepFunctions.stop();
    stopped = true;
    const saved = JSON.parse(
      readFileSync(join(dataDir, 'stepfunctions', 'executions.json'), 'utf8'),
    ) as ExecutionRecord[];

    // Assess: the listeners heard every execution that ended, once, and not the ones stop() left running.
    assert.equal(closed.length, FINISHED_RUNS);
    assert.equal(new Set(closed.map((e) => e.name)).size, FINISHED_RUNS);
    assert.ok(closed.every((e) => e.status === 'SUCCEEDED' && e.stopDate !== undefined && e.output === '{}'));
    assert.ok(!closed.some((e) => e.name.startsWith('waiting-')));

    // Assess: the file, written by stop().
    const running = saved.filter((e) => e.status === 'RUNNING');
    const finished = saved.filter((e) => e.status !== 'RUNNING');
    assert.deepEqual(
      running.map((e) => e.executionArn),
      waiting.map((w) => w.executionArn),
    );
    assert.equal(finished.length, KEPT_FINISHED);
    assert.deepEqual(
      finished.map((e) => e.name),
      Array.from({ length: KEPT_FINISHED }, (_, i) => `instant-${FINISHED_RUNS - KEPT_FINISHED + i}`),
      'the oldest finished executions are the ones left out',
    );
    assert.ok(finished.every((e) => e.status === 'SUCCEEDED' && e.stateTransitions === 1));
    assert.deepEqual(log, []);
  });

  it('answers DescribeExecution after a restart for what the file kept, and resumes what was running', async () => {
    // Prepare
    client?.destroy();
    restarted = new LocalStepFunctions(deployment, options);
    await restarted.start();
    const sfn = new SFNClient({
      endpoint: restarted.endpoint,
      region,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      maxAttempts: 1,
    });
    client = sfn;
    const executionArn = (logicalId: string, name: string) =>
      `${arnOf(logicalId).replace(':stateMachine:', ':execution:')}:${name}`;
    const describe = (arn: string) =>
      sfn.send(new DescribeExecutionCommand({ executionArn: arn })).catch((error: Error) => error);

    // Act
    const latest = await describe(executionArn('Instant', `instant-${FINISHED_RUNS - 1}`));
    const oldestKept = await describe(executionArn('Instant', `instant-${FINISHED_RUNS - KEPT_FINISHED}`));
    const dropped = await describe(executionArn('Instant', 'instant-0'));
    const stillWaiting = await describe(executionArn('HourLong', 'waiting-1'));

    // Assess
    assert.ok(!(latest instanceof Error) && latest.status === 'SUCCEEDED', String(latest));
    assert.ok(!(oldestKept instanceof Error) && oldestKept.status === 'SUCCEEDED', String(oldestKept));
    assert.ok(dropped instanceof Error && dropped.name === 'ExecutionDoesNotExist', String(dropped));
    assert.ok(!(stillWaiting instanceof Error) && stillWaiting.status === 'RUNNING', String(stillWaiting));
    assert.ok(log.includes('[stepfunctions] resumed 2 running executions'), log.join('\n'));
  });

  it('has a start on disk before StartExecution answers, so that a runtime killed then resumes it', async () => {
    // Act: a start, and at once (before any write of the executions file) a runtime that reads the folder,
    // as one started after a kill -9 would.
    assert.ok(client && restarted);
    const { executionArn } = await client.send(
      new StartExecutionCommand({ stateMachineArn: arnOf('HourLong'), name: 'just-answered', input: '{}' }),
    );
    const journal = readFileSync(join(dataDir, 'stepfunctions', 'executions.journal'), 'utf8');
    const afterKill = new LocalStepFunctions(deployment, options);
    log.length = 0;
    await afterKill.start();
    await afterKill.stop();

    // Assess
    assert.ok(journal.includes(String(executionArn)), 'the start is in the journal');
    assert.ok(log.includes('[stepfunctions] resumed 3 running executions'), log.join('\n'));
  });
});
