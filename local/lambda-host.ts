import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { DeployedResource, LocalDeployment } from './cloud-assembly';

export interface LambdaHostOptions {
  log: (line: string) => void;
}

export class LambdaInvocationError extends Error {
  constructor(
    readonly functionName: string,
    readonly errorType: string,
    message: string,
  ) {
    super(`${functionName}: ${errorType}: ${message}`);
    this.name = 'LambdaInvocationError';
  }
}

interface HostedFunction {
  name: string;
  arn: string;
  timeoutMs: number;
  memory: string;
  worker: Worker;
  pending: Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>;
}

/**
 * Runs the template's Lambda functions from their bundles in cdk.out, each in its own worker thread with
 * the environment the template gives it. An execution environment handles concurrent invocations here
 * (Lambda would start more environments); the code cannot tell the difference.
 */
/** A function's invocations and their summed duration (what Lambda bills, with its memory size). */
export interface FunctionUsage {
  invocations: number;
  milliseconds: number;
  memoryMB: number;
}

export class LambdaHost {
  private readonly functions = new Map<string, HostedFunction>();
  private usageByName = new Map<string, FunctionUsage>();
  private nextId = 1;

  constructor(
    private readonly deployment: LocalDeployment,
    private readonly options: LambdaHostOptions,
  ) {}

  /** Starts every function; `baseEnvironment` (region, endpoints, credentials) comes under each template environment. */
  start(baseEnvironment: Record<string, string>): void {
    // Lambda runs a bundle from a folder with no package.json, so `.js` is CommonJS there. This project's
    // package.json says "module"; a package.json at the assembly's root restores Lambda's reading.
    writeFileSync(join(this.deployment.assemblyDir, 'package.json'), '{ "type": "commonjs" }\n');
    for (const resource of this.deployment.ofType('AWS::Lambda::Function'))
      this.host(resource, baseEnvironment);
  }

  private host(resource: DeployedResource, baseEnvironment: Record<string, string>): void {
    const props = this.deployment.resolve(resource.properties, resource.stackName) as {
      Handler?: string;
      Timeout?: number;
      MemorySize?: number;
      Environment?: { Variables?: Record<string, string> };
    };
    const assetPath = resource.metadata['aws:asset:path'];
    if (typeof assetPath !== 'string' || !props.Handler) {
      throw new Error(`${resource.logicalId}: only bundled asset functions run locally`);
    }
    const [file, exportName] = props.Handler.split(/\.(?=[^.]+$)/) as [string, string];
    const attributes = this.deployment.attributes(resource);
    const name = resource.physicalName;
    const env: Record<string, string> = {
      ...baseEnvironment,
      ...(props.Environment?.Variables ?? {}),
      AWS_LAMBDA_FUNCTION_NAME: name,
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(props.MemorySize ?? 128),
      LAMBDA_TASK_ROOT: join(this.deployment.assemblyDir, assetPath),
    };
    const worker = new Worker(new URL('./lambda-worker.ts', import.meta.url), {
      workerData: { bundleFile: join(this.deployment.assemblyDir, assetPath, `${file}.js`), exportName },
      env,
      execArgv: [
        ...(env.NODE_OPTIONS?.includes('--enable-source-maps') ? ['--enable-source-maps'] : []),
        // For profiling the functions: SWITCHBOARD_LAMBDA_EXEC_ARGV="--cpu-prof --cpu-prof-dir=/tmp/prof".
        ...(process.env.SWITCHBOARD_LAMBDA_EXEC_ARGV?.split(' ').filter(Boolean) ?? []),
      ],
      stdout: true,
      stderr: true,
    });
    const hosted: HostedFunction = {
      name,
      arn: String(attributes.Arn),
      timeoutMs: (props.Timeout ?? 3) * 1000,
      memory: String(props.MemorySize ?? 128),
      worker,
      pending: new Map(),
    };
    const prefix = `[${resource.logicalId}] `;
    for (const stream of [worker.stdout, worker.stderr]) {
      let buffered = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        buffered += chunk;
        const lines = buffered.split('\n');
        buffered = lines.pop() ?? '';
        for (const line of lines) this.options.log(prefix + line);
      });
    }
    worker.on(
      'message',
      ({
        id,
        result,
        error,
      }: {
        id: number;
        result?: unknown;
        error?: { name: string; message: string };
      }) => {
        const call = hosted.pending.get(id);
        if (!call) return;
        hosted.pending.delete(id);
        if (error) call.reject(new LambdaInvocationError(name, error.name, error.message));
        else call.resolve(result);
      },
    );
    worker.on('error', (error) => {
      this.options.log(`${prefix}crashed: ${error.stack ?? error.message}`);
      for (const call of hosted.pending.values())
        call.reject(new LambdaInvocationError(name, 'Runtime.ExitError', error.message));
      hosted.pending.clear();
    });
    this.functions.set(name, hosted);
    this.functions.set(hosted.arn, hosted);
  }

  /** Invokes by name or ARN, like lambda:Invoke with RequestResponse, enforcing the function's timeout. */
  invoke(nameOrArn: string, event: unknown): Promise<unknown> {
    const fn = this.functions.get(nameOrArn);
    if (!fn) return Promise.reject(new Error(`no local function ${nameOrArn}`));
    const id = this.nextId++;
    const startedAt = Date.now();
    const deadline = startedAt + fn.timeoutMs;
    const usage = this.usageOf(fn);
    usage.invocations++;
    const ended = () => {
      usage.milliseconds += Date.now() - startedAt;
    };
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        ended();
        fn.pending.delete(id);
        reject(new LambdaInvocationError(fn.name, 'Sandbox.Timedout', `timed out after ${fn.timeoutMs} ms`));
      }, fn.timeoutMs);
      fn.pending.set(id, {
        resolve: (v) => {
          clearTimeout(timer);
          ended();
          resolve(v);
        },
        reject: (e) => {
          clearTimeout(timer);
          ended();
          reject(e);
        },
      });
      fn.worker.postMessage({
        id,
        event,
        context: { awsRequestId: randomUUID(), functionName: fn.name, deadline, memoryLimitInMB: fn.memory },
      });
    });
  }

  private usageOf(fn: HostedFunction): FunctionUsage {
    let usage = this.usageByName.get(fn.name);
    if (!usage) {
      usage = { invocations: 0, milliseconds: 0, memoryMB: Number(fn.memory) };
      this.usageByName.set(fn.name, usage);
    }
    return usage;
  }

  /** Invocations and durations by function name since the last reset (the benchmark's cost model). */
  usage(): Record<string, FunctionUsage> {
    return Object.fromEntries([...this.usageByName].map(([name, u]) => [name, { ...u }]));
  }

  resetUsage(): void {
    this.usageByName = new Map();
  }

  async stop(): Promise<void> {
    const hosted = new Set(this.functions.values());
    await Promise.all([...hosted].map((fn) => fn.worker.terminate()));
    // Their answers can no longer come; failing them now also ends their timeout timers, which would
    // otherwise hold the process open for as long as the longest function timeout.
    for (const fn of hosted) {
      for (const call of fn.pending.values())
        call.reject(new LambdaInvocationError(fn.name, 'Runtime.ExitError', 'the local runtime stopped'));
      fn.pending.clear();
    }
    this.functions.clear();
  }
}
