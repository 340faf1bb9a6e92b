import { cpus } from 'node:os';
import type { DemoEnvironment } from '../local/demo-environment';
import { localApi, planWatcher, submitDslOrder } from './local-api';
import { cpuSecondsOf } from './throughput';

export interface BacklogFigures {
  orders: number;
  failed: number;
  /** From the first POST to the last order's plan ending. */
  seconds: number;
  /** Orders completed per second over the drain, and between the 10th and 90th percentile completions. */
  ordersPerSecond: number;
  steadyOrdersPerSecond: number;
  /** CPU time per order, by process, over the whole drain. */
  cpuMsPerOrder: Record<string, number>;
  cpuBusy: number;
  /** Requests the simulated systems received per order (a DSL order needs 5: three callouts, two steps). */
  systemRequestsPerOrder: number;
  /** The most billing calls ever in flight at once (since the runtime started), against its limit of 4. */
  billingMaxInFlight: number;
}

/** How many orders are being POSTed at any moment while the backlog is submitted. */
const SUBMITTING_AT_ONCE = 50;

/**
 * A backlog: `orders` DSL orders submitted at once, as fast as the API takes them, then drained. Billing
 * keeps its limit of 4 connections, so most orders wait for a billing slot at some point; what waiting
 * costs shows in the CPU per order and in the drain rate against the throughput part's plateau.
 */
export async function measureBacklog(
  demo: DemoEnvironment,
  orders: number,
  progress: (line: string) => void,
): Promise<BacklogFigures> {
  const call = localApi(demo.runtime);
  const plans = planWatcher(demo.runtime);
  const { processes } = demo.runtime;
  const { inventory, activation, billing, scheduling, notification } = demo.systems;
  const systems = [inventory, activation, billing, scheduling, notification];
  const received = () => systems.reduce((sum, s) => sum + s.stats.received, 0);
  const requestsBefore = received();
  const cpuBefore = processes.map((p) => cpuSecondsOf(p.pid));
  const startedAt = Date.now();
  const endings: number[] = [];
  let failed = 0;
  try {
    const ids: string[] = [];
    for (let n = 0; n < orders; n += SUBMITTING_AT_ONCE) {
      const batch = Array.from({ length: Math.min(SUBMITTING_AT_ONCE, orders - n) }, (_, i) =>
        submitDslOrder(call, `bench-backlog-${n + i}`),
      );
      ids.push(...(await Promise.all(batch)));
    }
    progress(`${orders} orders submitted in ${((Date.now() - startedAt) / 1000).toFixed(1)} s`);
    let reported = 0;
    await Promise.all(
      ids.map(async (id) => {
        const execution = await plans.finished(id);
        if (execution.status !== 'SUCCEEDED') failed++;
        endings.push(Date.now() - startedAt);
        if (endings.length >= reported + orders / 10) {
          reported = endings.length;
          progress(`${endings.length} done after ${(endings.at(-1) ?? 0) / 1000} s`);
        }
      }),
    );
  } finally {
    plans.stop();
  }
  const seconds = (Date.now() - startedAt) / 1000;
  const cpuUsed = processes.map((p, i) => cpuSecondsOf(p.pid) - (cpuBefore[i] ?? 0));
  endings.sort((a, b) => a - b);
  const at = (q: number) => endings[Math.floor(q * (endings.length - 1))] ?? 0;
  const steadySpan = (at(0.9) - at(0.1)) / 1000;
  return {
    orders,
    failed,
    seconds: round(seconds),
    ordersPerSecond: round(orders / seconds),
    steadyOrdersPerSecond: round(steadySpan > 0 ? (0.8 * orders) / steadySpan : 0),
    cpuMsPerOrder: Object.fromEntries(
      processes.map((p, i) => [p.name, Math.round(((cpuUsed[i] ?? 0) * 1000) / orders)]),
    ),
    cpuBusy: round(cpuUsed.reduce((a, b) => a + b, 0) / seconds / cpus().length),
    systemRequestsPerOrder: round((received() - requestsBefore) / orders),
    billingMaxInFlight: billing.stats.maxConcurrent,
  };
}

const round = (n: number) => Math.round(n * 100) / 100;
