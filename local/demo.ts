/**
 * `npm run demo`: starts a fresh local runtime with the demo's simulated systems on free ports, submits
 * the demo DSL order and prints each item as it moves, then the order's timeline: every item with its
 * system, request, response and duration, and the metrics the functions wrote meanwhile, read from
 * `GET /local/metrics`. Exits non-zero if the order does not complete.
 *
 * `npm run demo -- --hold` shows a hold: activation is taken Down first, the order's activation waits On
 * Hold (the order `held`), then activation comes back Up and the release completes the order.
 *
 * `npm run demo -- --cancel` cancels the order once its port is reserved and activation works on the
 * line (activation takes two seconds to answer): the activation is frozen, its late answer switches the
 * line off again, the port is released after it, billing never starts, and the order ends `cancelled`.
 *
 * `npm run demo -- --amend` changes the bandwidth from 100 to 250 Mbit/s before activation: activation
 * is taken Down so that the line waits for it once its port is reserved; the amendment releases the port
 * and reserves it again at the new bandwidth; activation comes back Up and is sent 250.
 *
 * `npm run demo -- --late` asks for completion within the hour, and holds activation as --hold does:
 * activation is expected to take four hours (catalog/plans/dsl-broadband.yaml) and waits behind its
 * system, so the order is in jeopardy at once; activation comes back Up, the line is activated in
 * seconds, and the jeopardy clears.
 *
 * Without a flag the order has two more lines, for the rest of the estate: a voice line that keeps the
 * customer's number — the number-porting gateway calls back in its own vocabulary (read by its
 * interface's callback mapping), and the legacy telephony platform, which cannot call back, is polled
 * until its job is done — and a static IP, assigned by provisioning, which takes only mutual TLS.
 *
 * Every run registers a small simulated CRM as a TMF622 listener (demo-crm.ts): it verifies each event's
 * signature and prints it as it comes; the timeline ends with the events it received.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { DemoCrm } from './demo-crm';
import { startDemoEnvironment } from './demo-environment';
import { demoDslOrder, demoStaticIpOrder, demoVoiceOrder } from './demo-orders';
import { type MetricSeries, type MetricsSnapshot, metricsTable } from './metrics';

const root = join(import.meta.dirname, '..');
// Fresh at every run; DEMO_DATA_DIR moves it (the tests run the demo in a temporary folder).
const dataDir = process.env.DEMO_DATA_DIR ?? join(root, '.local', 'demo');
const TIMEOUT_MS = 60_000;
const LATE = process.argv.includes('--late');
/** --late holds activation as --hold does: the two may run as one. */
const HOLD = process.argv.includes('--hold') || LATE;
const CANCEL = process.argv.includes('--cancel');
const AMEND = process.argv.includes('--amend');
/** The whole estate: without a flag, the order also has a voice line and a static IP (see above). */
const ESTATE = !HOLD && !CANCEL && !AMEND;
const TMF = '/tmf-api/productOrderingManagement/v5';
/** How long the --hold demo keeps activation Down once the item is held. */
const HOLD_FOR_MS = 2_000;
/** A function's output reaches the runtime a moment after it is written: the order's last metrics may lag. */
const METRICS_WAIT_MS = 2_000;

interface ItemView {
  key: string;
  planItemId: string;
  /** A compensation: the item it undoes. */
  compensates?: string;
  awaiting?: { since: string; deadline: string };
  type: string;
  state: string;
  interfaceId?: string;
  startedAt?: string;
  completedAt?: string;
  error?: string;
  attributes?: Record<string, unknown>;
  request?: { method: string; url: string; body?: unknown; encodedBody?: string };
  response?: { status: number; body?: unknown; durationMs: number };
  asyncResponse?: { body: unknown; receivedAt: string };
  history: { at: string; state: string; reason: string }[];
  /** An auto task's integration procedure: each step it ran. */
  procedure?: { trace: { step: string; type: string; skipped?: true; output?: unknown; ms: number }[] };
}

rmSync(dataDir, { recursive: true, force: true });
console.log('Synthesizing and starting a local runtime with the demo systems …');
const demo = await startDemoEnvironment({
  dataDir,
  assemblyDir: join(dataDir, 'cdk.out'),
  port: 0,
  systemPorts: 'free',
  latencyMs: Number(process.env.DEMO_LATENCY_MS ?? 25),
  // Long enough for the customer to change their mind while activation works on the line.
  ...(CANCEL ? { activationFinalDelayMs: 2_000 } : {}),
  dynamoDb: process.env.SWITCHBOARD_DYNAMODB === 'dynalite' ? 'dynalite' : 'auto',
  log: () => {},
});
let exitCode = 1;
try {
  exitCode = await runDemo();
} catch (error) {
  console.error(`The demo failed: ${(error as Error).message}`);
} finally {
  await demo.stop();
}
process.exit(exitCode);

async function runDemo(): Promise<number> {
  const { runtime } = demo;
  const token = (role: string) => runtime.identities.find((i) => i.role === role)?.token ?? '';
  const call = async (path: string, role: string, body?: unknown, method?: string) => {
    const response = await fetch(`${runtime.apiUrl}${path}`, {
      method: method ?? (body === undefined ? 'GET' : 'POST'),
      headers: {
        authorization: `Bearer ${token(role)}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  const setActivation = async (state: 'Up' | 'Down', reason: string) => {
    const answer = await call('/admin/systems/activation/state', 'operator', { state, reason }, 'PUT');
    if (answer.status !== 200)
      throw new Error(`activation could not be set ${state}: ${JSON.stringify(answer.body)}`);
    console.log(`\n  operator: activation ${state} (${reason})\n`);
  };
  const crm = new DemoCrm((line) => console.log(line));
  await crm.start();
  const hub = await call(`${TMF}/hub`, 'submitter', { callback: crm.url });
  if (hub.status !== 201) throw new Error(`the CRM could not register: ${JSON.stringify(hub.body)}`);
  crm.secret = String(hub.body.secret);
  console.log(`\n  CRM: listening at ${crm.url} (hub ${hub.body.id})`);
  try {
    return await watchOrder(call, setActivation, crm);
  } finally {
    await crm.stop();
  }
}

async function watchOrder(
  call: (
    path: string,
    role: string,
    body?: unknown,
    method?: string,
  ) => Promise<{ status: number; body: Record<string, unknown> }>,
  setActivation: (state: 'Up' | 'Down', reason: string) => Promise<void>,
  crm: DemoCrm,
): Promise<number> {
  const { runtime } = demo;
  const token = (role: string) => runtime.identities.find((i) => i.role === role)?.token ?? '';
  if (HOLD) await setActivation('Down', 'demo: line card upgrade');
  if (AMEND) await setActivation('Down', 'demo: keeps the line waiting while the customer changes it');

  // Only this order's metrics, not the start's (the configuration seeder, cold starts).
  const reset = await fetch(`${runtime.apiUrl}/local/metrics`, { method: 'DELETE' });
  if (reset.status !== 204) throw new Error(`the local metrics could not be reset (${reset.status})`);

  const submittedAt = Date.now();
  const dueInAnHour = new Date(Date.now() + 3_600_000).toISOString();
  const dsl = demoDslOrder();
  const created = await call('/tmf-api/productOrderingManagement/v5/productOrder', 'submitter', {
    ...dsl,
    productOrderItem: [
      ...dsl.productOrderItem,
      ...(ESTATE ? [...demoVoiceOrder().productOrderItem, ...demoStaticIpOrder().productOrderItem] : []),
    ],
    ...(LATE ? { requestedCompletionDate: dueInAnHour } : {}),
  });
  if (created.status !== 201) throw new Error(`the order was refused: ${JSON.stringify(created.body)}`);
  const orderId = String(created.body.id);
  console.log(`\nOrder ${orderId} accepted (${created.status}); watching its items:\n`);
  const since = (iso: string | undefined) =>
    iso ? `+${((Date.parse(iso) - submittedAt) / 1000).toFixed(3)} s` : '';

  const seen = new Map<string, string>();
  let state = 'acknowledged';
  let items: ItemView[] = [];
  let heldSince: number | undefined;
  let cancellation: string | undefined;
  let amended = false;
  const nameOf = (item: ItemView) =>
    item.compensates
      ? `undo ${item.planItemId}`
      : item.key.match(/\.r\d+$/)
        ? `${item.planItemId} (again)`
        : item.planItemId;
  while (Date.now() - submittedAt < TIMEOUT_MS) {
    const graph = (await call(`/orchestration/orders/${orderId}/items`, 'operator')).body as {
      state: string;
      items: ItemView[];
    };
    ({ state, items } = graph);
    for (const item of items) {
      if (seen.get(item.key) === item.state) continue;
      seen.set(item.key, item.state);
      // When it came to this state: its latest history entry.
      const at = item.history.at(-1)?.at;
      console.log(`  ${since(at).padStart(9)}  ${nameOf(item).padEnd(20)} ${item.state}`);
    }
    const reservedPort = items.find((i) => i.key.endsWith('reserve-port.1') && i.state === 'Completed');
    const waiting = items.find((i) => i.planItemId === 'activate-line' && i.state === 'OnHold');
    if (AMEND && !amended && reservedPort && waiting) {
      amended = true;
      const line = demoDslOrder().productOrderItem[0];
      const patch = {
        productOrderItem: [
          {
            ...line,
            product: {
              productCharacteristic: line?.product.productCharacteristic.map((c) =>
                c.name === 'bandwidth' ? { ...c, value: '250' } : c,
              ),
            },
          },
        ],
      };
      const response = await fetch(`${runtime.apiUrl}${TMF}/productOrder/${orderId}`, {
        method: 'PATCH',
        headers: {
          authorization: `Bearer ${token('submitter')}`,
          'content-type': 'application/merge-patch+json',
        },
        body: JSON.stringify(patch),
      });
      if (response.status !== 200) throw new Error(`the amendment was refused: ${await response.text()}`);
      console.log('\n  customer: changes the bandwidth to 250 Mbit/s before activation (200: revision 2)\n');
    }
    if (AMEND && amended && heldSince === undefined) {
      const again = items.find((i) => i.key.endsWith('reserve-port.1.r2') && i.state === 'Completed');
      if (again) {
        heldSince = Date.now();
        await setActivation('Up', 'demo: the line may be activated');
      }
    }
    const activating = items.find((i) => i.planItemId === 'activate-line' && i.state === 'Running');
    if (CANCEL && cancellation === undefined && activating?.awaiting) {
      const asked = await call(`${TMF}/cancelProductOrder`, 'submitter', {
        productOrder: { id: orderId },
        cancellationReason: 'demo: the customer moved',
      });
      if (asked.status !== 201)
        throw new Error(`the cancellation was refused: ${JSON.stringify(asked.body)}`);
      cancellation = String(asked.body.id);
      console.log(
        `\n  customer: cancels the order while activation works on the line (${asked.body.state})\n`,
      );
    }
    // With --late, activation comes back once the CRM heard of the jeopardy too.
    const inJeopardy = crm.events.some((e) => e.orderId === orderId && e.summary.startsWith('in jeopardy'));
    if (HOLD && heldSince === undefined && state === 'held' && items.some((i) => i.state === 'OnHold')) {
      heldSince = Date.now();
      const held = (await call('/admin/systems/activation/on-hold-items', 'operator')).body as {
        items: { id: string; since: string; reason: string }[];
      };
      console.log(`\n  order ${state}; activation's on-hold list:`);
      for (const h of held.items) console.log(`    ${h.id} since ${since(h.since)}: ${h.reason}`);
    }
    const heldLongEnough = heldSince !== undefined && Date.now() - heldSince >= HOLD_FOR_MS;
    if (HOLD && heldLongEnough && state === 'held' && (!LATE || inJeopardy)) {
      await setActivation('Up', 'demo: upgrade done');
      heldSince = Number.POSITIVE_INFINITY; // brought back once
    }
    // Held by fallout is where the demo stops; held by a hold goes on once the system is back.
    if (state === 'completed' || state === 'failed' || state === 'cancelled') break;
    if (state === 'held' && items.some((i) => i.state === 'FatallyFailed')) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }

  const systemOf = new Map<string, string>();
  for (const item of items) {
    if (item.interfaceId && !systemOf.has(item.interfaceId)) {
      const iface = (await call(`/admin/system-interfaces/${item.interfaceId}`, 'operator')).body as {
        system?: { id: string };
      };
      systemOf.set(item.interfaceId, iface.system?.id ?? '?');
    }
  }
  console.log(`\nTimeline of order ${orderId} (${state}):`);
  const ordered = [...items].sort((a, b) => (a.startedAt ?? '').localeCompare(b.startedAt ?? ''));
  for (const item of ordered) {
    const system = item.interfaceId ? systemOf.get(item.interfaceId) : item.type;
    const took = item.response ? `${item.response.durationMs} ms` : '';
    console.log(`\n  ${nameOf(item)} · ${system} · started ${since(item.startedAt)} · ${item.state} ${took}`);
    if (item.request) {
      console.log(`    request   ${item.request.method} ${item.request.url}`);
      if (item.request.body !== undefined) console.log(`              ${compact(item.request.body)}`);
      if (item.request.encodedBody) console.log(`              sent as ${compact(item.request.encodedBody)}`);
    }
    if (item.response) console.log(`    response  ${item.response.status} ${compact(item.response.body)}`);
    if (item.asyncResponse) {
      console.log(
        `    callback  ${since(item.asyncResponse.receivedAt)} ${compact(item.asyncResponse.body)}`,
      );
    }
    const told = /interim|accepted|on hold|released|frozen|late|compensat|discarded|revision/;
    for (const entry of item.history.filter((h) => told.test(h.reason))) {
      console.log(`    history   ${since(entry.at)} ${entry.reason}`);
    }
    for (const step of item.procedure?.trace ?? []) {
      const outcome = step.skipped ? 'skipped' : `${step.ms} ms → ${compact(step.output)}`;
      console.log(`    step      ${step.step} (${step.type}) ${outcome}`);
    }
    if (item.attributes) console.log(`    wrote     ${compact(item.attributes)}`);
    if (item.error) console.log(`    error     ${item.error}`);
  }
  const total = ((Date.now() - submittedAt) / 1000).toFixed(3);
  printMetrics(await orderMetrics(runtime.apiUrl));
  // The order's last events follow its end by a moment (they are read from the table's stream).
  const awaited = [`order ${state}`, ...(LATE ? ['jeopardy cleared'] : [])];
  const heard = () =>
    awaited.every((summary) => crm.events.some((e) => e.orderId === orderId && e.summary === summary));
  for (const deadline = Date.now() + 10_000; !heard() && Date.now() < deadline; )
    await new Promise((resolve) => setTimeout(resolve, 50));
  console.log(`\nEvents the CRM received for order ${orderId} (by sequence, each signature verified):`);
  for (const e of crm.events
    .filter((x) => x.orderId === orderId)
    .sort((a, b) => a.sequence.localeCompare(b.sequence)))
    console.log(
      `  ${since(new Date(e.receivedAt).toISOString()).padStart(9)}  ${e.eventType.padEnd(32)} ${e.summary}`,
    );
  if (LATE) {
    const raised = crm.events.some((e) => e.orderId === orderId && e.summary.startsWith('in jeopardy'));
    const cleared = crm.events.some((e) => e.orderId === orderId && e.summary === 'jeopardy cleared');
    console.log(`\nJeopardy: ${raised ? 'raised' : 'never raised'}, ${cleared ? 'cleared' : 'not cleared'}.`);
    if (!raised || !cleared) return 1;
  }
  if (CANCEL) {
    const ended = cancellation
      ? (await call(`${TMF}/cancelProductOrder/${cancellation}`, 'submitter')).body
      : {};
    console.log(`\nCancellation ${cancellation}: ${ended.state}; the order is ${state} after ${total} s.`);
    return state === 'cancelled' && ended.state === 'done' ? 0 : 1;
  }
  if (state !== 'completed') {
    console.log(`\nThe order is ${state} after ${total} s.`);
    return 1;
  }
  console.log(`\nThe order completed in about ${total} s (polled every 50 ms).`);
  return 0;
}

/**
 * The metrics since the reset, read as a developer would: `GET /local/metrics`, once the order's last
 * metric (OrdersCompleted or OrdersFailed) is in or METRICS_WAIT_MS have passed.
 */
async function orderMetrics(apiUrl: string): Promise<MetricSeries[]> {
  const read = async (query = '') => {
    const response = await fetch(`${apiUrl}/local/metrics${query}`);
    if (response.status !== 200) throw new Error(`GET /local/metrics answered ${response.status}`);
    return ((await response.json()) as MetricsSnapshot).series;
  };
  const deadline = Date.now() + METRICS_WAIT_MS;
  while (Date.now() < deadline) {
    const ended = await Promise.all([read('?name=OrdersCompleted'), read('?name=OrdersFailed')]);
    if (ended.some((series) => series.length > 0)) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return read();
}

/**
 * Switchboard's own series, grouped by metric, one line each with its dimensions and figures, so that a
 * metric added to a function shows here without a change. Of each metric only the series of its full
 * dimensions are printed (Callouts by system, interface and outcome); its roll-ups, totals over fewer
 * dimensions, are in GET /local/metrics. A metric with no dimensions of its own (OrdersAccepted) has
 * only its series by `service`, and that one is printed. Powertools' cold starts are left out.
 */
function printMetrics(all: MetricSeries[]): void {
  const switchboard = all.filter(
    (series) => series.namespace === 'Switchboard' && !('function_name' in series.dimensions),
  );
  const detail = new Map<string, number>();
  for (const series of switchboard) {
    const count = Object.keys(series.dimensions).length;
    detail.set(series.name, Math.max(count, detail.get(series.name) ?? 0));
  }
  const shown = switchboard.filter(
    (series) => Object.keys(series.dimensions).length === detail.get(series.name),
  );
  console.log('\nMetrics the functions wrote for this order (GET /local/metrics, namespace Switchboard):');
  for (const line of shown.length === 0 ? ['none'] : metricsTable(shown)) console.log(`  ${line}`);
}

function compact(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > 400 ? `${text.slice(0, 400)} …` : text;
}
