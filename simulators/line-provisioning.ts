import { randomUUID } from 'node:crypto';
import { callbackUrlOf } from './activation';
import { type CallbackSenderOptions, createCallbackSender, type SentCallback } from './callback-sender';
import {
  type SimulatedAnswer,
  type SimulatedRequest,
  type SimulatedSystem,
  type SimulatorOptions,
  startSimulatedSystem,
} from './simulated-system';

/** A provisioning job, as the system reports it. */
export interface ProvisioningJob {
  jobId: string;
  orderId: string;
  status: 'QUEUED' | 'RUNNING' | 'COMPLETE' | 'FAILED';
  /** Status requests answered so far. */
  polls: number;
  circuitId?: string;
  error?: string;
  /** Where to tell the caller it is done, when it asked to be told. */
  callbackUrl?: string;
}

export interface LineProvisioningOptions extends SimulatorOptions {
  /** How failed callbacks are re-sent. */
  callbacks?: CallbackSenderOptions;
}

export interface LineProvisioningSystem extends SimulatedSystem {
  jobs: ProvisioningJob[];
  /** How many status requests a job takes to finish (the one that finds it done included). Default 3. */
  pollsUntilDone: number;
  /**
   * Also calls the caller back (at the request's `callback-url`, if it sent one) the moment a job is
   * done — while the status request that found it done is being answered, so the two race. Default false.
   */
  callBackWhenDone: boolean;
  /** Every callback sent. */
  callbacks: SentCallback[];
  settled(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A legacy line-provisioning system that cannot call back: it takes a job and must be asked how it is
 * going. `POST /jobs` `{ orderId, product }` → 202 `{ jobId, status: "QUEUED" }` with a `Location`;
 * `GET /jobs/{jobId}` → 200 `{ jobId, status, progress?, circuitId?, error? }` — QUEUED, then RUNNING,
 * until the job has been asked about `pollsUntilDone` times: then COMPLETE with its circuit id (FAILED
 * for a product it does not provision: anything but `voice`). An unknown job is 404.
 */
export async function startLineProvisioning(
  options: LineProvisioningOptions,
): Promise<LineProvisioningSystem> {
  const { callbacks, ...systemOptions } = options;
  const sender = createCallbackSender(callbacks ?? {});
  const jobs: ProvisioningJob[] = [];
  // The returned system once started: tests change its settings between orders.
  let state: Pick<LineProvisioningSystem, 'pollsUntilDone' | 'callBackWhenDone'> = {
    pollsUntilDone: 3,
    callBackWhenDone: false,
  };

  const create = (request: SimulatedRequest): SimulatedAnswer => {
    const body = (request.body ?? {}) as Record<string, unknown>;
    for (const field of ['orderId', 'product'] as const) {
      if (typeof body[field] !== 'string' || body[field] === '')
        return { status: 400, body: { error: `${field} is required`, field } };
    }
    const orderId = body.orderId as string;
    const known = jobs.find((job) => job.orderId === orderId);
    const url = request.headers['callback-url'] ? callbackUrlOf(request) : undefined;
    const job: ProvisioningJob = known ?? {
      jobId: `JOB-${String(jobs.length + 1).padStart(6, '0')}`,
      orderId,
      status: body.product === 'voice' ? 'QUEUED' : 'FAILED',
      polls: 0,
      ...(body.product === 'voice'
        ? {}
        : { error: `product ${String(body.product)} is not provisioned here` }),
      ...(typeof url === 'string' ? { callbackUrl: url } : {}),
    };
    if (!known) jobs.push(job);
    return {
      status: 202,
      body: { jobId: job.jobId, status: job.status === 'FAILED' ? 'QUEUED' : job.status },
      headers: { location: `/jobs/${job.jobId}` },
    };
  };

  const status = ({ params }: SimulatedRequest): SimulatedAnswer => {
    const job = jobs.find((j) => j.jobId === params.jobId);
    if (!job) return { status: 404, body: { error: `no job ${params.jobId}` } };
    job.polls += 1;
    if (job.status === 'QUEUED' || job.status === 'RUNNING') {
      if (job.polls >= state.pollsUntilDone) {
        job.status = 'COMPLETE';
        job.circuitId = `CCT-${job.jobId.slice(4)}`;
        if (state.callBackWhenDone && job.callbackUrl)
          sender.deliver(job.callbackUrl, randomUUID(), document(job));
      } else job.status = 'RUNNING';
    }
    return { status: 200, body: document(job) };
  };

  const system = await startSimulatedSystem(
    { name: 'line-provisioning', ...systemOptions },
    { 'POST /jobs': create, 'GET /jobs/{jobId}': status },
  );
  const stopServer = system.stop;
  const started = Object.assign(system, {
    jobs,
    ...state,
    callbacks: sender.sent,
    settled: sender.settled,
    stop: async () => {
      await sender.stop();
      await stopServer();
    },
  });
  state = started;
  return started;
}

/** What the system says of a job, to a status request and on its callback. */
function document(job: ProvisioningJob) {
  const progress =
    job.status === 'RUNNING' ? Math.min(90, Math.round((100 * job.polls) / (job.polls + 2))) : undefined;
  return {
    jobId: job.jobId,
    status: job.status,
    ...(progress !== undefined ? { progress } : {}),
    ...(job.circuitId ? { circuitId: job.circuitId } : {}),
    ...(job.error ? { error: job.error } : {}),
  };
}
