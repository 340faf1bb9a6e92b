import type { DemoEnvironment } from '../local/demo-environment';
import { type Call, localApi, planWatcher, quantile, submitDslOrder } from './local-api';

export interface SystemLatencies {
  /** Each demo system's answer to a callout. */
  systemMs: number;
  /** Activation's work after its 202: to the interim callback, then to the final one. */
  interimMs: number;
  finalMs: number;
}

export interface OverheadFigures {
  orders: number;
  /**
   * The DSL plan's critical path: inventory, activation's answer and its two callbacks, billing. The
   * installation booking (scheduling, then notification) runs beside activation and billing, and is shorter.
   */
  criticalPathMs: number;
  medianOrderMs: number;
  p99OrderMs: number;
  /** Order time over the critical path; 1.0 is the physical limit. */
  medianRatio: number;
  p99Ratio: number;
}

export interface CallbackLatency {
  callbacks: number;
  medianMs: number;
  p99Ms: number;
  maxMs: number;
}

interface ItemView {
  key: string;
  state: string;
  completedAt?: string;
}

const ACTIVATION_ITEM = 'dsl-broadband.activate-line.1';

/**
 * One DSL order at a time, so that nothing queues behind anything: the time from its POST to the end of
 * its plan, against the sum of the simulated systems' latencies along the plan's critical path. The same
 * orders give the callback latency: from the moment activation starts POSTing its final callback to the
 * moment the item is recorded Completed (its `completedAt`) — API, callback queue, correlator, DynamoDB.
 */
export async function measureOverhead(
  demo: DemoEnvironment,
  orders: number,
  latencies: SystemLatencies,
): Promise<{ overhead: OverheadFigures; callbacks: CallbackLatency }> {
  const call = localApi(demo.runtime);
  const plans = planWatcher(demo.runtime);
  const criticalPathMs = 3 * latencies.systemMs + latencies.interimMs + latencies.finalMs;
  const times: number[] = [];
  const callbackLatencies: number[] = [];
  try {
    for (let n = 0; n < orders; n++) {
      const sentAt = Date.now();
      const id = await submitDslOrder(call, `bench-overhead-${n}`);
      const execution = await plans.finished(id);
      const endedAt = Date.now();
      if (execution.status !== 'SUCCEEDED') throw new Error(`order ${id} ended ${execution.status}`);
      times.push(endedAt - sentAt);
      callbackLatencies.push(await callbackLatencyOf(call, demo, id));
    }
  } finally {
    plans.stop();
  }
  times.sort((a, b) => a - b);
  callbackLatencies.sort((a, b) => a - b);
  const ratio = (ms: number) => Math.round((ms / criticalPathMs) * 100) / 100;
  return {
    overhead: {
      orders,
      criticalPathMs,
      medianOrderMs: quantile(times, 0.5),
      p99OrderMs: quantile(times, 0.99),
      medianRatio: ratio(quantile(times, 0.5)),
      p99Ratio: ratio(quantile(times, 0.99)),
    },
    callbacks: {
      callbacks: callbackLatencies.length,
      medianMs: quantile(callbackLatencies, 0.5),
      p99Ms: quantile(callbackLatencies, 0.99),
      maxMs: callbackLatencies.at(-1) ?? 0,
    },
  };
}

/** From activation's final callback leaving the system to the item's `completedAt`. */
async function callbackLatencyOf(call: Call, demo: DemoEnvironment, orderId: string): Promise<number> {
  const { activation } = demo.systems;
  const request = activation.requests.find((r) => (r.body as { orderId?: string })?.orderId === orderId);
  const url = request?.headers['callback-url'];
  const final = activation.callbacks.find(
    (c) => c.url === url && (c.body as { status?: string }).status === 'completed',
  );
  const read = await call('GET', `/orchestration/orders/${orderId}/items`, 'operator');
  const item = (read.body as { items: ItemView[] }).items.find((i) => i.key === ACTIVATION_ITEM);
  if (!final || !item?.completedAt)
    throw new Error(`order ${orderId}: no final callback or no completed activation item to time`);
  return Date.parse(item.completedAt) - final.sentAt.getTime();
}
