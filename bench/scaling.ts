import type { LocalRuntime } from '../local/runtime';
import { plainOrder } from './catalog';
import { meterOrders, type OrderUsage } from './cost';
import { type Call, localApi, submitOrder } from './local-api';
import type { startScalingSystems } from './scaling-systems';

export interface ScalingScenario {
  scenario: string;
  items: number;
  usage: OrderUsage;
}

/**
 * How the counts and the time per order grow: with the plan's size (echo callouts in four lanes), and
 * with the retries and holds one callout goes through (they should add no state transitions: retries
 * and holds live in the worker, not in the state machine). Runs on a metered runtime.
 */
export async function measureScaling(
  runtime: LocalRuntime,
  systems: Awaited<ReturnType<typeof startScalingSystems>>,
  options: { orders: number; sizes: number[]; retries: number[]; progress: (line: string) => void },
): Promise<ScalingScenario[]> {
  const call = localApi(runtime);
  const scenarios: ScalingScenario[] = [];
  const run = async (scenario: string, items: number, runOne: (n: number) => Promise<string>) => {
    const usage = await meterOrders(runtime, options.orders, runOne);
    scenarios.push({ scenario, items, usage });
    options.progress(
      `${scenario}: ${usage.stateTransitions} state transitions, ${usage.msPerOrder} ms an order`,
    );
  };
  // Warm: the first order of a plan pays for cold starts.
  await meterOrders(runtime, 1, (n) => submitOrder(call, plainOrder('scale-5', `bench-scale-warm-${n}`)));
  for (const size of options.sizes) {
    await run(`plan of ${size} callouts`, size, (n) =>
      submitOrder(call, plainOrder(`scale-${size}`, `bench-scale-${size}-${n}`)),
    );
  }
  // Retries a second apart, so that the part stays short; the policy does not change what is counted.
  await admin(call, 'PUT', '/admin/retry-rules/bench-flaky', {
    description: 'benchmark: the flaky system is retried every second',
    scope: { kind: 'system', systemId: 'flaky' },
    matches: { statuses: ['5xx'] },
    policy: { type: 'fixed', count: 10, intervalSeconds: 1 },
  });
  for (const retries of options.retries) {
    systems.failFirst(retries);
    await run(`1 callout, ${retries} ${retries === 1 ? 'retry' : 'retries'}`, 1, (n) =>
      submitOrder(call, plainOrder('flaky', `bench-retry-${retries}-${n}`)),
    );
  }
  systems.failFirst(0);
  await run('1 callout, held once', 1, async (n) => {
    await admin(call, 'PUT', '/admin/systems/flaky/state', { state: 'Down', reason: 'benchmark hold' });
    const id = await submitOrder(call, plainOrder('flaky', `bench-hold-${n}`));
    await waitForHold(call, id);
    await admin(call, 'PUT', '/admin/systems/flaky/state', { state: 'Up', reason: 'benchmark release' });
    return id;
  });
  return scenarios;
}

async function admin(call: Call, method: string, path: string, body: unknown): Promise<void> {
  const answer = await call(method, path, 'operator', body);
  if (answer.status >= 300)
    throw new Error(`${method} ${path} answered ${answer.status}: ${JSON.stringify(answer.body)}`);
}

async function waitForHold(call: Call, orderId: string): Promise<void> {
  const giveUpAt = Date.now() + 30_000;
  while (Date.now() < giveUpAt) {
    const read = await call('GET', `/orchestration/orders/${orderId}/items`, 'operator');
    if ((read.body as { items: { state: string }[] }).items.some((i) => i.state === 'OnHold')) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`order ${orderId}: its callout was not held within 30 s`);
}
