import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker, type WorkerOptions } from 'node:worker_threads';
import type { DeployedResource, LocalDeployment } from './cloud-assembly';
import { LocalMetrics } from './metrics';

export interface LambdaHostOptions {
  log: (line: string) => void;
  /** Where the functions' Embedded Metric Format output is counted; a new one unless given. */
  metrics?: LocalMetrics;
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
  /** Its execution environment: started by the first invocation, gone after a crash or a long idle. */
  worker?: Worker;
  launch: () => Worker;
  lastUsed: number;
  pending: Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>;
}

/** An execution environment idle this long is reclaimed, as Lambda reclaims idle ones. */
const IDLE_RECLAIM_MS = 10 * 60_000;

/** A function's invocations and their summed duration (what Lambda bills, with its memory size). */
export interface FunctionUsage {
  invocations: number;
  milliseconds: number;
  memoryMB: number;
}

/**
 * Runs the template's Lambda functions from their bundles in cdk.out, each in its own worker thread with
 * the environment the template gives it. An execution environment handles concurrent invocations here
 * (Lambda would start more environments); the code cannot tell the difference. Every environment
 * starts with the runtime; as on Lambda, one is replaced after a crash, and one idle for ten minutes is
 * reclaimed (its next invocation starts it again, cold), so functions seldom called hold no memory.
 */
export class LambdaHost {
  private readonly functions = new Map<string, HostedFunction>();
  /** Functions of other runtimes, by ARN, with the runtime: an invocation says why it cannot run. */
  private readonly notHosted = new Map<string, string>();
  private usageByName = new Map<string, FunctionUsage>();
  private nextId = 1;
  private reclaimer?: NodeJS.Timeout;
  /** The metrics the functions wrote as EMF, as CloudWatch would extract them from their logs. */
  readonly metrics: LocalMetrics;

  constructor(
    private readonly deployment: LocalDeployment,
    private readonly options: LambdaHostOptions,
  ) {
    this.metrics = options.metrics ?? new LocalMetrics();
  }

  /** Starts every function; `baseEnvironment` (region, endpoints, credentials) comes under each template environment. */
  start(baseEnvironment: Record<string, string>): void {
    // Lambda runs a bundle from a folder with no package.json, so `.js` is CommonJS there. This project's
    // package.json says "module"; a package.json at the assembly's root restores Lambda's reading.
    writeFileSync(join(this.deployment.assemblyDir, 'package.json'), '{ "type": "commonjs" }\n');
    for (const resource of this.deployment.ofType('AWS::Lambda::Function')) {
      // Only Node.js bundles run here. The one other function, BucketDeployment's Python provider, has
      // nothing to do locally: the local distribution serves its files (local/distribution.ts).
      const { Runtime } = this.deployment.resolve(resource.properties, resource.stackName) as {
        Runtime?: string;
      };
      if (Runtime && !Runtime.startsWith('nodejs')) {
        this.notHosted.set(this.deployment.attributes(resource).Arn as string, Runtime);
        continue;
      }
      this.host(resource, baseEnvironment);
    }
    // Warm from the start, as provisioned concurrency would be: a cold start's delay lets a system's
    // interim callback and its final one reach the correlator together, and the interim come second.
    for (const fn of new Set(this.functions.values())) fn.worker = fn.launch();
    this.reclaimer = setInterval(() => this.reclaimIdle(), 60_000);
    this.reclaimer.unref();
  }

  private host(resource: DeployedResource, baseEnvironment: Record<string, string>): void {
    const props = this.deployment.resolve(resource.properties, resource.stackName) as {
      Handler?: string;
      Timeout?: number;
      MemorySize?: number;
      Environment?: { Variables?: Record<string, string> };
      LoggingConfig?: { LogFormat?: string; ApplicationLogLevel?: string };
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
      AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
      // As Lambda does for a function logging JSON at an application log level: Powertools reads it.
      ...(props.LoggingConfig?.LogFormat === 'JSON' && props.LoggingConfig.ApplicationLogLevel
        ? { AWS_LAMBDA_LOG_LEVEL: props.LoggingConfig.ApplicationLogLevel }
        : {}),
      LAMBDA_TASK_ROOT: join(this.deployment.assemblyDir, assetPath),
    };
    const prefix = `[${resource.logicalId}] `;
    const memory = props.MemorySize ?? 128;
    const hosted: HostedFunction = {
      name,
      arn: String(attributes.Arn),
      timeoutMs: (props.Timeout ?? 3) * 1000,
      memory: String(memory),
      lastUsed: Date.now(),
      pending: new Map(),
      launch: () =>
        this.launch(hosted, prefix, {
          workerData: { bundleFile: join(this.deployment.assemblyDir, assetPath, `${file}.js`), exportName },
          env,
          execArgv: [
            ...(env.NODE_OPTIONS?.includes('--enable-source-maps') ? ['--enable-source-maps'] : []),
            // For profiling the functions: SWITCHBOARD_LAMBDA_EXEC_ARGV="--cpu-prof --cpu-prof-dir=/tmp/prof".
            ...(process.env.SWITCHBOARD_LAMBDA_EXEC_ARGV?.split(' ').filter(Boolean) ?? []),
          ],
          // The function's memory size bounds its heap, as Lambda's bounds the environment, and sizes its
          // young generation as V8 would in that much memory (8 MiB for 512 MB), not as in this whole
          // machine's: ten functions' default nurseries held a third of the runtime's memory under load.
          resourceLimits: {
            maxOldGenerationSizeMb: memory,
            maxYoungGenerationSizeMb: Math.max(4, Math.min(16, Math.round(memory / 64))),
          },
          stdout: true,
          stderr: true,
        }),
    };
    this.functions.set(name, hosted);
    this.functions.set(hosted.arn, hosted);
  }

  /** Starts a function's execution environment (a cold start): a worker thread running its bundle. */
  private launch(hosted: HostedFunction, prefix: string, options: WorkerOptions): Worker {
    const { name } = hosted;
    const worker = new Worker(new URL('./lambda-worker.ts', import.meta.url), options);
    for (const stream of [worker.stdout, worker.stderr]) {
      // Powertools writes EMF to stdout itself, one document a line, as CloudWatch reads it from a
      // function's log. Those lines are counted, not printed: several a callout, they would drown the log.
      // A line that only looks like EMF (malformed) is printed, so that the mistake shows.
      const isStdout = stream === worker.stdout;
      let buffered = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        buffered += chunk;
        const lines = buffered.split('\n');
        buffered = lines.pop() ?? '';
        for (const line of lines) {
          if (isStdout && this.metrics.ingest(line)) continue;
          this.options.log(prefix + line);
        }
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
      // The next invocation starts a new environment, as Lambda replaces one that crashed.
      if (hosted.worker === worker) hosted.worker = undefined;
      void worker.terminate();
    });
    return worker;
  }

  /** Reclaims the environments of functions idle for a while; their next invocation starts cold. */
  private reclaimIdle(): void {
    const now = Date.now();
    for (const fn of new Set(this.functions.values())) {
      if (fn.worker && fn.pending.size === 0 && now - fn.lastUsed > IDLE_RECLAIM_MS) {
        void fn.worker.terminate();
        fn.worker = undefined;
      }
    }
  }

  /** True when the function (by name or ARN) runs here. */
  hosts(nameOrArn: string): boolean {
    return this.functions.has(nameOrArn);
  }

  /** Invokes by name or ARN, like lambda:Invoke with RequestResponse, enforcing the function's timeout. */
  invoke(nameOrArn: string, event: unknown): Promise<unknown> {
    const fn = this.functions.get(nameOrArn);
    if (!fn) {
      const runtime = this.notHosted.get(nameOrArn);
      return Promise.reject(
        new Error(
          runtime
            ? `${nameOrArn} runs on ${runtime}; only Node.js functions run locally`
            : `no local function ${nameOrArn}`,
        ),
      );
    }
    const id = this.nextId++;
    fn.worker ??= fn.launch();
    const worker = fn.worker;
    const startedAt = Date.now();
    fn.lastUsed = startedAt;
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
      worker.postMessage({
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
    clearInterval(this.reclaimer);
    await Promise.all([...hosted].map((fn) => fn.worker?.terminate()));
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
