import { type SimulatedSystem, startSimulatedSystem } from '../../simulators/simulated-system';

export interface TimedCall {
  /** The item key, from the idempotency key `<orderId>.<key>`. */
  key: string;
  orderId: string;
  start: number;
  end: number;
}

/**
 * A test system that takes as long as it is told per plan item (by item id) and records when each call
 * started and ended, so tests can check when items really ran against their dependencies.
 */
export async function startTimingSystem(
  latencyMs: (planItemId: string) => number,
): Promise<SimulatedSystem & { calls: TimedCall[] }> {
  const calls: TimedCall[] = [];
  const system = await startSimulatedSystem(
    { name: 'timing', port: 0 },
    {
      'POST /work': async ({ headers }) => {
        const start = Date.now();
        const idempotencyKey = String(headers['idempotency-key'] ?? '');
        const dot = idempotencyKey.indexOf('.');
        const orderId = idempotencyKey.slice(0, dot);
        const key = idempotencyKey.slice(dot + 1);
        const planItemId = key.split('.')[1] ?? '';
        await new Promise((resolve) => setTimeout(resolve, latencyMs(planItemId)));
        calls.push({ key, orderId, start, end: Date.now() });
        return { status: 200, body: { done: key } };
      },
    },
  );
  return Object.assign(system, { calls });
}
