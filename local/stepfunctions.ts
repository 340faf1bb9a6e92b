import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { StateMachine } from 'aws-local-stepfunctions';
import { AwsServiceError, closeServer, startAwsJsonServer } from './aws-json-server';
import type { LocalDeployment } from './cloud-assembly';
import { appendLineDurably, writeFileDurably } from './durable-file';
import { freePort } from './free-port';
import type { LambdaHost } from './lambda-host';
import { installLongTimers } from './long-timers';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

export interface ExecutionRecord {
  executionArn: string;
  stateMachineArn: string;
  name: string;
  input: string;
  status: ExecutionStatus;
  startDate: number;
  stopDate?: number;
  output?: string;
  error?: string;
  cause?: string;
  /** States entered, counted from the engine's event log: what Standard workflows bill as transitions. */
  stateTransitions: number;
}

interface Machine {
  arn: string;
  name: string;
  definition: Record<string, unknown>;
  engine: StateMachine;
  taskStates: Map<string, string>;
}

/** How many finished executions the data folder keeps across restarts (AWS keeps them for 90 days). */
const KEPT_FINISHED_EXECUTIONS = 1000;
/** How many starts the journal holds before the executions file is flushed to disk and the journal emptied. */
const JOURNAL_LIMIT = 500;
/** How many executions the runtime remembers while it runs (running ones are never forgotten). */
const REMEMBERED_EXECUTIONS = 20_000;

/** The value the engine puts where a definition reads `$$.Task.Token`; each task gets its own token in its place. */
const TOKEN_PLACEHOLDER = '__switchboard_local_task_token__';

export interface LocalStepFunctionsOptions {
  dataDir: string;
  region: string;
  sqs: SQSClient;
  lambdas: LambdaHost;
  log: (line: string) => void;
}

/**
 * A Step Functions endpoint on loopback: the template's state machines run on aws-local-stepfunctions,
 * with the service integrations Switchboard uses (SQS send, with and without a task token; Lambda invoke)
 * done against the local SQS and Lambda host. Executions are kept on disk; those still running when the
 * runtime stopped are started again at the next start, and the idempotent workers replay what was done.
 */
export class LocalStepFunctions {
  private readonly machines = new Map<string, Machine>();
  private readonly executions = new Map<string, ExecutionRecord>();
  private readonly aborts = new Map<string, () => void>();
  private readonly tokens = new Map<string, { resolve: (v: Json) => void; reject: (e: Error) => void }>();
  private readonly closeListeners = new Set<(execution: Readonly<ExecutionRecord>) => void>();
  private readonly file: string;
  /** Executions started since the file was last written durably, one JSON line each, each flushed to disk. */
  private readonly journal: string;
  private journalLines = 0;
  private server?: Server;
  private saveTimer?: NodeJS.Timeout;
  private stopping = false;
  endpoint = '';

  constructor(
    private readonly deployment: LocalDeployment,
    private readonly options: LocalStepFunctionsOptions,
  ) {
    const dir = join(options.dataDir, 'stepfunctions');
    mkdirSync(dir, { recursive: true });
    this.file = join(dir, 'executions.json');
    this.journal = join(dir, 'executions.journal');
  }

  async start(): Promise<void> {
    // The engine arms plain timers for TimeoutSeconds; waits beyond 24.8 days must not fire at once.
    installLongTimers();
    for (const resource of this.deployment.ofType('AWS::StepFunctions::StateMachine')) {
      const props = this.deployment.resolve(resource.properties, resource.stackName) as {
        DefinitionString?: string;
        Definition?: Record<string, unknown>;
        DefinitionSubstitutions?: Record<string, unknown>;
      };
      let text = props.DefinitionString ?? JSON.stringify(props.Definition ?? {});
      for (const [key, value] of Object.entries(props.DefinitionSubstitutions ?? {})) {
        text = text.split(`\${${key}}`).join(String(value));
      }
      const definition = JSON.parse(text) as Record<string, unknown>;
      const arn = String(this.deployment.attributes(resource).Arn);
      this.machines.set(arn, {
        arn,
        name: resource.physicalName,
        definition,
        engine: new StateMachine(definition as never, {
          validationOptions: { checkPaths: true, checkArn: false },
        }),
        taskStates: collectTaskStates(definition),
      });
    }
    this.server = await startAwsJsonServer(await freePort(), (operation, input) =>
      this.handle(operation, input),
    );
    const address = this.server.address();
    this.endpoint = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    this.resumeRunningExecutions();
  }

  private handle(operation: string, input: Record<string, unknown>): unknown {
    switch (operation) {
      case 'StartExecution':
        return this.startExecution(
          String(input.stateMachineArn),
          input.name as string | undefined,
          String(input.input ?? '{}'),
        );
      case 'DescribeExecution':
        return this.describe(this.execution(String(input.executionArn)));
      case 'ListExecutions':
        return {
          executions: [...this.executions.values()]
            .filter((e) => e.stateMachineArn === input.stateMachineArn)
            .filter((e) => !input.statusFilter || e.status === input.statusFilter)
            .map(({ input: _i, output: _o, ...summary }) => summary),
        };
      case 'StopExecution': {
        const execution = this.execution(String(input.executionArn));
        this.aborts.get(execution.executionArn)?.();
        this.close(execution, 'ABORTED', { error: input.error as string, cause: input.cause as string });
        return { stopDate: execution.stopDate };
      }
      case 'SendTaskSuccess':
        return this.answerTask(String(input.taskToken), (t) =>
          t.resolve(JSON.parse(String(input.output ?? '{}')) as Json),
        );
      case 'SendTaskFailure':
        return this.answerTask(String(input.taskToken), (t) => {
          const error = new Error(String(input.cause ?? ''));
          error.name = String(input.error ?? 'TaskFailed');
          t.reject(error);
        });
      case 'SendTaskHeartbeat':
        if (!this.tokens.has(String(input.taskToken)))
          throw new AwsServiceError('TaskDoesNotExist', 'no task waits for this token');
        return {};
      default:
        throw new AwsServiceError(
          'UnknownOperationException',
          `the local Step Functions does not implement ${operation}`,
        );
    }
  }

  private answerTask(
    token: string,
    settle: (t: { resolve: (v: Json) => void; reject: (e: Error) => void }) => void,
  ) {
    const task = this.tokens.get(token);
    if (!task)
      throw new AwsServiceError(
        'TaskDoesNotExist',
        'no task waits for this token (answered, timed out or stopped)',
      );
    this.tokens.delete(token);
    settle(task);
    return {};
  }

  private startExecution(stateMachineArn: string, name: string | undefined, input: string) {
    const machine = this.machines.get(stateMachineArn);
    if (!machine)
      throw new AwsServiceError('StateMachineDoesNotExist', `no state machine ${stateMachineArn}`);
    const executionName = name ?? randomUUID();
    if (!/^[A-Za-z0-9_-]{1,80}$/.test(executionName))
      throw new AwsServiceError('InvalidName', `invalid name ${executionName}`);
    const executionArn = `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${executionName}`;
    const existing = this.executions.get(executionArn);
    if (existing) {
      // Standard workflows: the same name and input while running is the same execution.
      if (existing.status === 'RUNNING' && existing.input === input) {
        return { executionArn, startDate: existing.startDate };
      }
      throw new AwsServiceError('ExecutionAlreadyExists', `execution ${executionName} already exists`);
    }
    try {
      JSON.parse(input);
    } catch {
      throw new AwsServiceError('InvalidExecutionInput', 'input is not JSON');
    }
    const record: ExecutionRecord = {
      executionArn,
      stateMachineArn,
      name: executionName,
      input,
      status: 'RUNNING',
      startDate: Date.now() / 1000,
      stateTransitions: 0,
    };
    this.executions.set(executionArn, record);
    // On disk before the caller hears of it: an order answered 201 has its plan, however the runtime ends.
    appendLineDurably(this.journal, JSON.stringify(record));
    this.journalLines++;
    this.run(machine, record);
    this.save();
    return { executionArn, startDate: record.startDate };
  }

  private run(machine: Machine, record: ExecutionRecord): void {
    const overrides: Record<string, (input: Json) => Promise<Json>> = {};
    for (const [stateName, resource] of machine.taskStates) {
      overrides[stateName] = (input) => this.runTask(resource, input);
    }
    const execution = machine.engine.run(JSON.parse(record.input), {
      overrides: { taskResourceLocalHandlers: overrides as never },
      context: {
        Execution: {
          Id: record.executionArn,
          Name: record.name,
          Input: JSON.parse(record.input),
          StartTime: new Date(record.startDate * 1000).toISOString(),
        },
        StateMachine: { Id: machine.arn, Name: machine.name },
        Task: { Token: TOKEN_PLACEHOLDER },
      } as never,
    });
    this.aborts.set(record.executionArn, execution.abort);
    void (async () => {
      for await (const event of execution.eventLogs) {
        if (event.type === 'StateEntered') record.stateTransitions++;
      }
    })();
    execution.result.then(
      (output) => this.close(record, 'SUCCEEDED', { output: JSON.stringify(output) }),
      (error: Error) => {
        const timedOut = error.name === 'ExecutionTimeoutError';
        const aborted = error.name === 'ExecutionAbortedError';
        const failure = error as Error & { cause?: unknown };
        // The engine wraps what failed the execution (States.Timeout, a task's error): AWS names that.
        const inner = failure.cause instanceof Error ? failure.cause : undefined;
        this.close(record, aborted ? 'ABORTED' : timedOut ? 'TIMED_OUT' : 'FAILED', {
          error: inner?.name ?? failure.name,
          cause: inner ? inner.message : String(failure.cause ?? failure.message),
        });
        if (!aborted)
          this.options.log(
            `[stepfunctions] ${record.name} ${record.status}: ${failure.name}: ${failure.message}`,
          );
      },
    );
  }

  private async runTask(resource: string, input: Json): Promise<Json> {
    const params = (input ?? {}) as Record<string, Json>;
    if (resource === 'arn:aws:states:::sqs:sendMessage.waitForTaskToken') {
      const token = `local-${randomUUID()}-${randomUUID()}`;
      const answer = new Promise<Json>((resolve, reject) => this.tokens.set(token, { resolve, reject }));
      try {
        await this.sendMessage(replaceToken(params, token) as Record<string, Json>);
      } catch (error) {
        this.tokens.delete(token);
        throw error;
      }
      try {
        return await answer;
      } finally {
        this.tokens.delete(token); // a timed-out or stopped task's token answers TaskDoesNotExist
      }
    }
    if (resource === 'arn:aws:states:::sqs:sendMessage') return this.sendMessage(params);
    if (resource === 'arn:aws:states:::lambda:invoke') {
      const { FunctionName, Payload } = params as { FunctionName: string; Payload: Json };
      return { StatusCode: 200, Payload: (await this.options.lambdas.invoke(FunctionName, Payload)) as Json };
    }
    if (resource.startsWith('arn:aws:lambda:'))
      return (await this.options.lambdas.invoke(resource, input)) as Json;
    const error = new Error(`the local runtime does not implement the integration ${resource}`);
    error.name = 'States.Runtime';
    throw error;
  }

  private async sendMessage(params: Record<string, Json>): Promise<Json> {
    const body = params.MessageBody;
    const result = await this.options.sqs.send(
      new SendMessageCommand({
        QueueUrl: String(params.QueueUrl),
        MessageBody: typeof body === 'string' ? body : JSON.stringify(body),
        DelaySeconds: typeof params.DelaySeconds === 'number' ? params.DelaySeconds : undefined,
      }),
    );
    return { MessageId: result.MessageId ?? '', MD5OfMessageBody: result.MD5OfMessageBody ?? '' };
  }

  private close(record: ExecutionRecord, status: ExecutionStatus, details: Partial<ExecutionRecord>): void {
    // At shutdown, running executions stay RUNNING on disk so that the next start resumes them.
    if (record.status !== 'RUNNING' || this.stopping) return;
    Object.assign(record, details, { status, stopDate: Date.now() / 1000 });
    this.aborts.delete(record.executionArn);
    this.forgetOldest();
    this.save();
    for (const listener of this.closeListeners) listener(record);
  }

  /** Keeps memory bounded in a long run: the oldest finished executions go beyond a limit. */
  private forgetOldest(): void {
    if (this.executions.size <= REMEMBERED_EXECUTIONS) return;
    for (const [arn, execution] of this.executions) {
      if (this.executions.size <= REMEMBERED_EXECUTIONS * 0.9) break;
      if (execution.status !== 'RUNNING') this.executions.delete(arn);
    }
  }

  /**
   * Calls `listener` as each execution ends, as AWS announces "Step Functions Execution Status Change" on
   * EventBridge; the benchmark counts finished plans this way instead of polling. Returns the unsubscribe.
   */
  onExecutionClosed(listener: (execution: Readonly<ExecutionRecord>) => void): () => void {
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  private execution(arn: string): ExecutionRecord {
    const execution = this.executions.get(arn);
    if (!execution) throw new AwsServiceError('ExecutionDoesNotExist', `no execution ${arn}`);
    return execution;
  }

  private describe(record: ExecutionRecord) {
    return { ...record };
  }

  private resumeRunningExecutions(): void {
    let saved: ExecutionRecord[] = [];
    try {
      saved = JSON.parse(readFileSync(this.file, 'utf8')) as ExecutionRecord[];
    } catch {
      // No file yet (or a torn one from before files were written whole): the journal has what started.
    }
    // Started after the file was written: the journal adds what the file does not know.
    const known = new Set(saved.map((record) => record.executionArn));
    this.journalLines = 0;
    const journal = existsSync(this.journal) ? readFileSync(this.journal, 'utf8').split('\n') : [];
    for (const line of journal) {
      if (line.trim() === '') continue;
      try {
        const record = JSON.parse(line) as ExecutionRecord;
        this.journalLines++;
        if (!known.has(record.executionArn)) saved.push(record);
        known.add(record.executionArn);
      } catch {
        // A line cut short by a crash mid-append: its StartExecution never answered.
      }
    }
    let resumed = 0;
    for (const record of saved) {
      this.executions.set(record.executionArn, record);
      const machine = this.machines.get(record.stateMachineArn);
      if (record.status !== 'RUNNING') continue;
      if (!machine) {
        this.close(record, 'ABORTED', {
          error: 'States.Runtime',
          cause: 'its state machine is no longer deployed',
        });
        continue;
      }
      this.run(machine, record);
      resumed++;
    }
    if (resumed > 0) this.options.log(`[stepfunctions] resumed ${resumed} running executions`);
  }

  /**
   * Writes the executions soon, once for a burst of changes; atomically, so a crash leaves the old file.
   * A start does not wait for it: each is in the journal, on disk, before StartExecution answers, and the
   * next start of the runtime reads the file and then the journal. The file keeps every running execution (they resume at the next start) and the latest finished ones
   * (for DescribeExecution after a restart): writing every execution ever run made each save grow with
   * the runtime's age, until saving alone took most of the event loop (docs/performance.md).
   */
  private save(): void {
    if (this.saveTimer) return;
    this.saveTimer = setTimeout(() => this.flush(), 50);
  }

  private flush(durably = false): void {
    clearTimeout(this.saveTimer);
    this.saveTimer = undefined;
    const temp = `${this.file}.tmp`;
    const all = [...this.executions.values()];
    const finished = all.filter((e) => e.status !== 'RUNNING');
    const kept = [
      ...all.filter((e) => e.status === 'RUNNING'),
      ...finished.slice(Math.max(0, finished.length - KEPT_FINISHED_EXECUTIONS)),
    ];
    const text = JSON.stringify(kept);
    if (!durably && this.journalLines < JOURNAL_LIMIT) {
      // The journal keeps the starts durable: this file is written whole but not flushed to disk.
      writeFileSync(temp, text);
      renameSync(temp, this.file);
      return;
    }
    // Now and then the file is flushed to disk, and the journal it covers starts again.
    writeFileDurably(this.file, text);
    writeFileSync(this.journal, '');
    this.journalLines = 0;
  }

  /** Stops serving; running executions stay RUNNING on disk and resume at the next start. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.flush(true);
    for (const abort of this.aborts.values()) abort();
    // The engine clears a task's timeout timer only when the task settles: settle every waiting task, or
    // its timer (as long as the plan's timeout) keeps the process alive after the runtime stopped.
    for (const waiting of this.tokens.values()) {
      const stopped = new Error('the local runtime stopped');
      stopped.name = 'ExecutionAbortedError';
      waiting.reject(stopped);
    }
    this.tokens.clear();
    if (this.server) await closeServer(this.server);
  }

  /** For tests and the benchmark: an execution's record. */
  executionRecord(arn: string): ExecutionRecord | undefined {
    return this.executions.get(arn);
  }
}

function collectTaskStates(
  definition: Record<string, unknown>,
  into = new Map<string, string>(),
): Map<string, string> {
  for (const [name, state] of Object.entries(
    (definition.States ?? {}) as Record<string, Record<string, unknown>>,
  )) {
    if (state.Type === 'Task') {
      if (into.has(name) && into.get(name) !== state.Resource) {
        throw new Error(
          `the local engine keys task handlers by state name; "${name}" is used for two resources`,
        );
      }
      into.set(name, String(state.Resource));
    }
    for (const branch of (state.Branches ?? []) as Record<string, unknown>[]) collectTaskStates(branch, into);
    const iterator = (state.ItemProcessor ?? state.Iterator) as Record<string, unknown> | undefined;
    if (iterator) collectTaskStates(iterator, into);
  }
  return into;
}

function replaceToken(value: Json, token: string): Json {
  if (value === TOKEN_PLACEHOLDER) return token;
  if (typeof value === 'string') return value.split(TOKEN_PLACEHOLDER).join(token);
  if (Array.isArray(value)) return value.map((v) => replaceToken(v, token));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, replaceToken(v, token)]));
  }
  return value;
}
