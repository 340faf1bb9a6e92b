import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DemoEnvironment } from '../local/demo-environment';
import { localApi, planWatcher, quantile, submitDslOrder } from './local-api';

export interface ThroughputLevel {
  /** Orders kept in flight at once. */
  concurrency: number;
  /** Orders completed within the measured window. */
  completed: number;
  failed: number;
  seconds: number;
  ordersPerSecond: number;
  /** Callouts the simulated systems acted on within the window. */
  calloutsPerSecond: number;
  /** From the POST to the end of the order's plan. */
  medianOrderMs: number;
  p99OrderMs: number;
  /** CPU time per completed order, by process: what saturates first. */
  cpuMsPerOrder: Record<string, number>;
  /** Of the machine's cores, the share the runtime's processes kept busy. */
  cpuBusy: number;
}

export interface ThroughputFigures {
  levels: ThroughputLevel[];
  best: ThroughputLevel;
  /** The most resident memory the runtime's processes (this one and DynamoDB Local's JVM) used at once. */
  peakMemoryMiB: number;
  /** Each process's resident memory at that peak. */
  peakMemoryByProcessMiB: Record<string, number>;
}

/**
 * DSL orders completed per second with `concurrency` orders kept in flight (a closed loop: each finished
 * order is replaced by a new one), at rising concurrency until the figure stops rising by at least 5 %.
 * Each level warms up for a second, then is measured for `seconds`.
 */
export async function measureThroughput(
  demo: DemoEnvironment,
  options: { seconds: number; maxConcurrency: number; progress: (line: string) => void },
): Promise<ThroughputFigures> {
  const call = localApi(demo.runtime);
  const plans = planWatcher(demo.runtime);
  const { processes } = demo.runtime;
  const memory = memorySampler(processes);
  const levels: ThroughputLevel[] = [];
  let serial = 0;
  try {
    for (let concurrency = 1; concurrency <= options.maxConcurrency; concurrency *= 2) {
      const warmUpMs = 1000;
      const startedAt = Date.now();
      const windowStart = startedAt + warmUpMs;
      const windowEnd = windowStart + options.seconds * 1000;
      const durations: number[] = [];
      let completed = 0;
      let failed = 0;
      const { inventory, activation, billing } = demo.systems;
      const countCallouts = () => inventory.stats.acted + activation.stats.acted + billing.stats.acted;
      const cpuNow = () => processes.map((p) => cpuSecondsOf(p.pid));
      // What the callouts and the processes' CPU came to between the window's opening and its close.
      const window = (async () => {
        await sleep(windowStart - Date.now());
        const callouts = countCallouts();
        const cpu = cpuNow();
        await sleep(windowEnd - Date.now());
        return {
          callouts: countCallouts() - callouts,
          cpuUsed: cpuNow().map((seconds, i) => seconds - (cpu[i] ?? 0)),
        };
      })();
      const slot = async () => {
        while (Date.now() < windowEnd) {
          const sentAt = Date.now();
          const id = await submitDslOrder(call, `bench-throughput-${++serial}`);
          const execution = await plans.finished(id);
          const endedAt = Date.now();
          if (endedAt < windowStart || endedAt > windowEnd) continue;
          if (execution.status === 'SUCCEEDED') {
            completed++;
            durations.push(endedAt - sentAt);
          } else failed++;
        }
      };
      await Promise.all(Array.from({ length: concurrency }, slot));
      const { callouts: calloutsInWindow, cpuUsed } = await window;
      durations.sort((a, b) => a - b);
      const level: ThroughputLevel = {
        concurrency,
        completed,
        failed,
        seconds: options.seconds,
        ordersPerSecond: round(completed / options.seconds),
        calloutsPerSecond: round(calloutsInWindow / options.seconds),
        medianOrderMs: quantile(durations, 0.5),
        p99OrderMs: quantile(durations, 0.99),
        cpuMsPerOrder: Object.fromEntries(
          processes.map((p, i) => [
            p.name,
            completed ? Math.round(((cpuUsed[i] ?? 0) * 1000) / completed) : 0,
          ]),
        ),
        cpuBusy: round(cpuUsed.reduce((a, b) => a + b, 0) / options.seconds / cpus().length),
      };
      levels.push(level);
      options.progress(
        `${concurrency} in flight: ${level.ordersPerSecond} orders/s, ${level.calloutsPerSecond} callouts/s, median ${level.medianOrderMs} ms, p99 ${level.p99OrderMs} ms${failed ? `, ${failed} FAILED` : ''}`,
      );
      const bestBefore = Math.max(0, ...levels.slice(0, -1).map((l) => l.ordersPerSecond));
      if (levels.length > 1 && level.ordersPerSecond < bestBefore * 1.05) break;
    }
  } finally {
    plans.stop();
    memory.stop();
  }
  const best = levels.reduce((a, b) => (b.ordersPerSecond > a.ordersPerSecond ? b : a));
  return {
    levels,
    best,
    peakMemoryMiB: memory.peakMiB(),
    peakMemoryByProcessMiB: memory.peakByProcessMiB(),
  };
}

/** User and system CPU time a process used so far, from /proc (0 where there is none). */
export function cpuSecondsOf(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11] ?? 0) + Number(fields[12] ?? 0)) / 100;
  } catch {
    return 0;
  }
}

/**
 * Samples the resident memory of the given processes every 200 ms: the peak of their sum, and each
 * one's share at that moment.
 */
export function memorySampler(processes: { name: string; pid: number }[]) {
  let peak = 0;
  let shares: Record<string, number> = {};
  const sample = () => {
    const now: Record<string, number> = {};
    for (const { name, pid } of processes) {
      try {
        const status = readFileSync(`/proc/${pid}/status`, 'utf8');
        now[name] = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
      } catch {
        now[name] = 0; // a process that ended has no memory left to count
      }
    }
    const total = Object.values(now).reduce((a, b) => a + b, 0);
    if (total > peak) {
      peak = total;
      shares = now;
    }
  };
  sample();
  const timer = setInterval(sample, 200);
  return {
    peakMiB: () => Math.round(peak / 2 ** 20),
    peakByProcessMiB: () =>
      Object.fromEntries(Object.entries(shares).map(([name, bytes]) => [name, Math.round(bytes / 2 ** 20)])),
    stop: () => {
      sample();
      clearInterval(timer);
    },
  };
}

const round = (n: number) => Math.round(n * 10) / 10;
