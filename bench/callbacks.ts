import type { DemoEnvironment } from '../local/demo-environment';
import { demoDslOrder } from '../local/demo-orders';

export interface CallbackLatency {
  callbacks: number;
  medianMs: number;
  p99Ms: number;
  maxMs: number;
}

interface ItemView {
  key: string;
  state: string;
  awaiting?: unknown;
  completedAt?: string;
}

/**
 * Callback-to-completion latency: from the moment a system starts POSTing its final callback to the
 * moment the item is recorded Completed (its `completedAt`), one callback at a time, so the figure is
 * the path's own latency — API, callback queue, correlator, DynamoDB — not queueing behind others.
 * The simulated activation accepts each callout and never answers by itself; the benchmark answers.
 */
export async function measureCallbackLatency(
  demo: DemoEnvironment,
  callbacks: number,
): Promise<CallbackLatency> {
  const { runtime, systems } = demo;
  const token = (role: string) => runtime.identities.find((i) => i.role === role)?.token ?? '';
  const get = async (path: string) =>
    (await (
      await fetch(`${runtime.apiUrl}${path}`, { headers: { authorization: `Bearer ${token('operator')}` } })
    ).json()) as {
      items: ItemView[];
    };
  const latencies: number[] = [];
  for (let n = 0; n < callbacks; n++) {
    const created = await fetch(`${runtime.apiUrl}/tmf-api/productOrderingManagement/v5/productOrder`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token('submitter')}`, 'content-type': 'application/json' },
      body: JSON.stringify(demoDslOrder(`bench-callback-${n}`)),
    });
    const { id } = (await created.json()) as { id: string };
    const activationKey = 'dsl-broadband.activate-line.1';
    // Wait until activation accepted the callout and the item waits for its callback.
    for (;;) {
      const item = (await get(`/orchestration/orders/${id}/items`)).items.find(
        (i) => i.key === activationKey,
      );
      if (item?.awaiting) break;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const request = systems.activation.requests.find((r) => (r.body as { orderId?: string }).orderId === id);
    const url = String(request?.headers['callback-url'] ?? '');
    const activationId = `BENCH-${n}`;
    const sentAt = Date.now();
    const answer = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': `${activationId}-final` },
      body: JSON.stringify({ status: 'completed', activationId, serviceId: `SVC-B${n}`, portId: 'bench' }),
    });
    if (answer.status !== 202) throw new Error(`callback answered ${answer.status}: ${await answer.text()}`);
    for (;;) {
      const item = (await get(`/orchestration/orders/${id}/items`)).items.find(
        (i) => i.key === activationKey,
      );
      if (item?.state === 'Completed' && item.completedAt) {
        latencies.push(Date.parse(item.completedAt) - sentAt);
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }
  latencies.sort((a, b) => a - b);
  const at = (q: number) =>
    latencies[Math.min(latencies.length - 1, Math.ceil(q * latencies.length) - 1)] ?? 0;
  return { callbacks, medianMs: at(0.5), p99Ms: at(0.99), maxMs: latencies.at(-1) ?? 0 };
}
