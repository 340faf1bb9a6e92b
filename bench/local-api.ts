import { demoDslOrder } from '../local/demo-orders';
import type { LocalRuntime } from '../local/runtime';
import type { ExecutionRecord } from '../local/stepfunctions';

export type Call = (
  method: string,
  path: string,
  role: string,
  body?: unknown,
) => Promise<{ status: number; body: unknown }>;

/** How often a call the API throttled (429) is made again, after a pause that doubles from 100 ms. */
const THROTTLED_RETRIES = 8;

/**
 * Calls the local runtime's API as one of its identities (the first of that role), with a bound on each
 * call. A call the stage's throttling refuses (429) is made again after a pause, as a client must.
 */
export function localApi(runtime: LocalRuntime): Call {
  const tokens = new Map([...runtime.identities].reverse().map((i) => [i.role, i.token]));
  return async (method, path, role, body) => {
    for (let attempt = 0; ; attempt++) {
      const response = await fetch(`${runtime.apiUrl}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${tokens.get(role) ?? ''}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(120_000),
      });
      const answer = (await response.json()) as unknown;
      if (response.status !== 429 || attempt === THROTTLED_RETRIES)
        return { status: response.status, body: answer };
      await new Promise((resolve) => setTimeout(resolve, Math.min(2000, 100 * 2 ** attempt)));
    }
  };
}

const ORDERS = '/tmf-api/productOrderingManagement/v5/productOrder';

/** Submits one order; its id, or an error that says what the API answered. */
export async function submitOrder(call: Call, order: unknown): Promise<string> {
  const created = await call('POST', ORDERS, 'submitter', order);
  if (created.status !== 201)
    throw new Error(`POST productOrder answered ${created.status}: ${JSON.stringify(created.body)}`);
  return (created.body as { id: string }).id;
}

/** Submits the demo's DSL order (three callouts: inventory, activation asynchronously, billing). */
export const submitDslOrder = (call: Call, externalId: string) => submitOrder(call, demoDslOrder(externalId));

/** Reads one order as TMF622 shows it. */
export async function readOrder(call: Call, id: string): Promise<Record<string, unknown>> {
  const read = await call('GET', `${ORDERS}/${id}`, 'operator');
  if (read.status !== 200) throw new Error(`GET productOrder/${id} answered ${read.status}`);
  return read.body as Record<string, unknown>;
}

/**
 * Resolves when an order's plan execution ends, as a listener on the local Step Functions (which AWS
 * would announce on EventBridge), so that waiting for thousands of orders costs no polling at all.
 * Orders here have one plan each; an execution that ended before `finished` was asked still counts.
 */
export function planWatcher(runtime: LocalRuntime) {
  const ended = new Map<string, Readonly<ExecutionRecord>>();
  const waiting = new Map<string, (execution: Readonly<ExecutionRecord>) => void>();
  const unsubscribe = runtime.stepFunctions.onExecutionClosed((execution) => {
    const { orderId } = JSON.parse(execution.input) as { orderId: string };
    const resolve = waiting.get(orderId);
    if (resolve) {
      waiting.delete(orderId);
      resolve(execution);
    } else ended.set(orderId, execution);
  });
  return {
    finished(orderId: string): Promise<Readonly<ExecutionRecord>> {
      const done = ended.get(orderId);
      if (done) {
        ended.delete(orderId);
        return Promise.resolve(done);
      }
      return new Promise((resolve) => waiting.set(orderId, resolve));
    },
    stop: unsubscribe,
  };
}

/** The q-quantile of ascending figures (nearest rank). */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? 0;
}
