/**
 * `npm run chaos [-- --orders=N]`: drives N DSL orders (default 300) through the local runtime while the
 * simulated systems fail about a fifth of their requests (500, 503, 429 with Retry-After, no answer past
 * the timeout, a connection reset before or after acting), systems go Down and Up and interfaces Offline
 * and Online, and the runtime's whole process group is killed with SIGKILL and started again, four times:
 * right after a 201, mid-release, as a maintenance window ends, and with callouts under way.
 * Then the faults stop, fallout is retried once, and it reports: orders accepted, completed, in fallout,
 * stuck (neither), lost (accepted, then unknown); how long after the restart every item that was under
 * way at the kill moved again; and effects done twice at the systems (a system that acted twice on one
 * Idempotency-Key). Written as JSON under bench-results/ too. docs/performance.md keeps the figures.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { demoDslOrder } from '../local/demo-orders';
import { freePort } from '../local/free-port';
import { loadLocalIdentities } from '../local/identities';
import { writeDefaultSecrets } from '../local/secrets-manager';
import { synthesize } from '../local/synthesize';
import {
  type DemoSystemPorts,
  type DemoSystems,
  demoCredentials,
  FREE_DEMO_PORTS,
  startDemoSystems,
} from '../simulators/demo-systems';
import type { Fault } from '../simulators/simulated-system';

const ROOT = join(import.meta.dirname, '..');
const ORDERS = '/tmf-api/productOrderingManagement/v5/productOrder';
const FAULTS: Fault[] = [500, 503, 429, 'hang', 'reset', 'resetAfterActing'];

/**
 * The moments the runtime is killed at (SIGKILL to its process group), in this order as the orders come
 * in: right after an order's 201; while a release of held items runs (the system was just brought Up);
 * as a maintenance window ends (the scheduler brings its system Up and releases what it held); and the
 * measured one, with items running and waiting (mid-callout), from which the recovery figures are taken.
 */
export const KILL_MOMENTS = ['afterAccepted', 'midRelease', 'windowEnd', 'inFlight'] as const;
export type KillMoment = (typeof KILL_MOMENTS)[number];

export interface ChaosOptions {
  orders: number;
  /** Which kills the run makes (default: all of KILL_MOMENTS); `inFlight` is the one measured. */
  kills?: readonly KillMoment[];
  /** The share of requests each system answers with a fault while faults are on. Default 0.2. */
  faultRate?: number;
  /** How long to wait, after the last order and the fallout retry, for every order to settle. */
  settleTimeoutMs?: number;
  log?: (line: string) => void;
}

export interface ChaosReport {
  orders: number;
  accepted: number;
  completed: number;
  /** Orders with an item in fallout at the end, after one retry of every item in fallout. */
  inFallout: number;
  /** Accepted orders neither completed nor waiting for an operator in fallout. */
  stuck: string[];
  /** Accepted orders the API no longer knows. */
  lost: string[];
  /** Items a worker held at the kill: Running, their callout under way. */
  inFlightAtKill: number;
  /** From the restart to the moment the last of them had moved again: the figure held to the target. */
  recoverySeconds: number;
  /**
   * Items Running at the kill that waited for their system's callback: no worker held them; they move
   * when the system calls back, which a callback that failed while the runtime was down does again on the
   * system's own schedule (the simulator's backoff doubles from 0.5 s). Reported, not held to the target.
   */
  awaitingAtKill: number;
  awaitingMovedSeconds: number;
  /** Items of either kind that had not moved when the run gave up waiting for them. */
  notMoved: number;
  /** Their ids, and the state each was last seen in. */
  notMovedItems: string[];
  /**
   * Items ready to start at the kill (Pending, prerequisites done): a worker may have had them, or they
   * waited their turn for a system's connection, so the time they took to move says as much about the
   * backlog as about the crash. Reported, not held to the target.
   */
  readyAtKill: number;
  readyMovedSeconds: number;
  /** The kills made: at which moment, after how many accepted orders, and how long the restart took. */
  kills: { moment: KillMoment; atAccepted: number; restartSeconds: number }[];
  /** The maintenance window the `windowEnd` kill came at, as the API shows it at the end. */
  window?: { endedAt?: string; systemState?: string };
  /** Actions a system took twice for one Idempotency-Key. */
  duplicateEffects: number;
  faultsInjected: number;
  availabilityFlips: number;
  falloutRetried: number;
  seconds: number;
}

interface Api {
  url: string;
  submitter: string;
  operator: string;
}

/** A runtime in its own process group, so that one signal kills it, its JVM and its workers alike. */
interface RuntimeProcess {
  child: ChildProcess;
  ready: Promise<void>;
}

export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const log = options.log ?? ((line: string) => console.log(line));
  const began = Date.now();
  const rate = options.faultRate ?? 0.2;
  let faultsOn = true;
  const credentials = demoCredentials();
  const systems = await startDemoSystems({
    ports: FREE_DEMO_PORTS,
    credentials,
    latencyMs: 20,
    activationMode: 'async',
    // A system that calls back keeps trying for about two minutes, which covers the runtime's restart.
    activationCallbacks: { retries: 8, retryDelayMs: 500 },
    // Activation too may act and lose its answer: its retry repeats the request, with the same key and
    // callback URL, and the answer it calls back with is applied or kept for that retry.
    faults: () => {
      if (!faultsOn || Math.random() >= rate) return undefined;
      return FAULTS[Math.floor(Math.random() * FAULTS.length)];
    },
  });
  const work = mkdtempSync(join(tmpdir(), 'switchboard-chaos-'));
  const dataDir = join(work, 'data');
  mkdirSync(dataDir);
  let runtime: RuntimeProcess | undefined;
  try {
    log('synthesizing …');
    const assemblyDir = synthesize(join(work, 'cdk.out'), { 'switchboard:systemBaseUrls': systems.urls });
    writeDefaultSecrets(dataDir, { ...credentials });
    const port = await freePort();
    const start = () => startRuntime(assemblyDir, dataDir, port, join(work, 'runtime.log'));
    runtime = start();
    await runtime.ready;
    const identities = loadLocalIdentities(dataDir);
    const tokenOf = (role: string) => identities.find((i) => i.role === role)?.token ?? '';
    const api: Api = {
      url: `http://127.0.0.1:${port}`,
      submitter: tokenOf('submitter'),
      operator: tokenOf('operator'),
    };
    log(`runtime up on ${api.url}; ${options.orders} orders, ${Math.round(rate * 100)} % of requests fail`);
    // What an operator of flaky systems sets: quick retries, five of them, instead of the default's
    // 10 s, 30 s and 90 s.
    const rule = await call(api, 'operator', 'PUT', '/admin/retry-rules/chaos', {
      description: 'Chaos run: flaky systems are retried quickly',
      scope: { kind: 'all' },
      matches: { timeouts: true, connectionErrors: true, failedAnswers: false, statuses: [408, 429, '5xx'] },
      policy: { type: 'fixed', count: 5, intervalSeconds: 2 },
      honourRetryAfter: true,
    });
    if (rule.status !== 201 && rule.status !== 200)
      throw new Error(`retry rule refused: ${JSON.stringify(rule)}`);

    const accepted: string[] = [];
    const flipper = flipAvailability(api, systems, () => faultsOn);
    let recovery: ReturnType<typeof watchRecovery> | undefined;
    let readyRecovery: ReturnType<typeof watchRecovery> | undefined;
    let inFlightAtKill = 0;
    let awaitingAtKill = 0;
    let awaitingRecovery: ReturnType<typeof watchRecovery> | undefined;
    let readyAtKill = 0;
    const kills: ChaosReport['kills'] = [];
    let windowId: string | undefined;
    /** SIGKILL, then the runtime again on the same data folder; returns when it serves. */
    const killAndRestart = async (moment: KillMoment) => {
      const atAccepted = accepted.length;
      const killed = runtime;
      if (killed) await kill(killed.child);
      const restartedAt = Date.now();
      runtime = start();
      await runtime.ready;
      const restartSeconds = Math.round((Date.now() - restartedAt) / 100) / 10;
      kills.push({ moment, atAccepted, restartSeconds });
      log(`runtime started again in ${restartSeconds} s`);
      return restartedAt;
    };
    // Each kill comes at its share of the orders, the measured one last, so nothing after it disturbs
    // what it measures.
    const moments = KILL_MOMENTS.filter((moment) => (options.kills ?? KILL_MOMENTS).includes(moment));
    const killAt = new Map(
      moments.map((moment, i) => [
        Math.max(1, Math.floor((options.orders * (i + 1) * 0.6) / moments.length)),
        moment,
      ]),
    );
    const killFor: Record<KillMoment, () => Promise<void>> = {
      afterAccepted: async () => {
        log(`killing the runtime (SIGKILL) right after the 201 of order ${accepted.length}`);
        await killAndRestart('afterAccepted');
      },
      midRelease: async () => {
        // Inventory goes Down long enough for callouts to be held, and the kill follows its Up at once.
        const why = { reason: 'chaos run: a release to kill' };
        await call(api, 'operator', 'PUT', '/admin/systems/inventory/state', { state: 'Down', ...why });
        await new Promise((resolve) => setTimeout(resolve, 1500));
        await call(api, 'operator', 'PUT', '/admin/systems/inventory/state', { state: 'Up', ...why });
        log('killing the runtime (SIGKILL) as inventory came Up and its held callouts are released');
        await killAndRestart('midRelease');
      },
      windowEnd: async () => {
        // A window of billing's that ends two seconds from now; the kill comes a moment after its end. Its
        // times are taken once the admin API answers: just after a restart its function may still be
        // loading, and a window whose end passed while the request waited is refused.
        await call(api, 'operator', 'GET', '/admin/systems/billing');
        const end = Date.now() + 3000;
        const window = await call(api, 'operator', 'POST', '/admin/systems/billing/maintenance-windows', {
          start: new Date(end - 2000).toISOString(),
          end: new Date(end).toISOString(),
          reason: 'chaos run: a window whose end is killed',
        });
        if (window.status !== 201) throw new Error(`maintenance window refused: ${JSON.stringify(window)}`);
        windowId = String(window.body.id);
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, end + 300 - Date.now())));
        log("killing the runtime (SIGKILL) as billing's maintenance window ends");
        await killAndRestart('windowEnd');
      },
      inFlight: async () => {
        const { running, awaiting, ready } = await underWay(api, [...accepted]);
        inFlightAtKill = running.size;
        awaitingAtKill = awaiting.size;
        readyAtKill = ready.size;
        log(
          `killing the runtime (SIGKILL) with ${accepted.length} orders accepted, ${running.size} items running, ${awaiting.size} waiting for their callback and ${ready.size} ready`,
        );
        const restartedAt = await killAndRestart('inFlight');
        recovery = watchRecovery(api, running, restartedAt);
        awaitingRecovery = watchRecovery(api, awaiting, restartedAt);
        readyRecovery = watchRecovery(api, ready, restartedAt);
      },
    };
    let next = 0;
    // One kill at a time, and no new submission while one is under way (those sent already are sent
    // again until the runtime is back).
    let killing = Promise.resolve();
    const submitOne = async (n: number) => {
      await killing;
      accepted.push(await submit(api, n));
      const moment = killAt.get(accepted.length);
      if (moment) {
        killAt.delete(accepted.length);
        killing = killing.then(killFor[moment]);
        await killing;
      }
    };
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < options.orders) await submitOne(next++);
      }),
    );
    log(`${accepted.length} orders accepted; the faults stop; waiting for the orders to settle`);
    faultsOn = false;
    await flipper.stop();
    const none = { seconds: 0, notMoved: 0, notMovedItems: [] };
    const moved = recovery ? await recovery : none;
    const awaitingMoved = awaitingRecovery ? await awaitingRecovery : none;
    const readyMoved = readyRecovery ? await readyRecovery : none;
    log(`in-flight items moved again within ${moved.seconds} s of the restart (${moved.notMoved} did not)`);
    log(
      `items waiting for a callback moved within ${awaitingMoved.seconds} s (${awaitingMoved.notMoved} did not)`,
    );
    const notMovedItems = [...moved.notMovedItems, ...awaitingMoved.notMovedItems];
    for (const item of notMovedItems) log(`  not moved: ${item}`);
    const settleMs = options.settleTimeoutMs ?? 15 * 60_000;
    await settle(api, accepted, settleMs / 2);
    const retried = await retryFallout(api);
    log(`retried ${retried} items in fallout`);
    const end = await settle(api, accepted, settleMs / 2);
    const window = windowId ? await windowAtEnd(api, 'billing', windowId) : undefined;
    return {
      orders: options.orders,
      accepted: accepted.length,
      completed: end.completed,
      inFallout: end.inFallout,
      stuck: end.stuck,
      lost: end.lost,
      inFlightAtKill,
      recoverySeconds: moved.seconds,
      awaitingAtKill,
      awaitingMovedSeconds: awaitingMoved.seconds,
      notMoved: notMovedItems.length,
      notMovedItems,
      readyAtKill,
      readyMovedSeconds: readyMoved.seconds,
      kills,
      ...(window ? { window } : {}),
      duplicateEffects: duplicates(systems),
      faultsInjected: Object.values(systemsByName(systems)).reduce((sum, s) => sum + s.stats.faults, 0),
      availabilityFlips: flipper.flips(),
      falloutRetried: retried,
      seconds: Math.round((Date.now() - began) / 1000),
    };
  } finally {
    // A run that failed half-way stops its faults too: the flips would otherwise go on, and the process
    // with them.
    faultsOn = false;
    if (runtime) await stopRuntime(runtime.child);
    await systems.stop();
    if (process.env.CHAOS_KEEP) log(`kept ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }
}

/** The runtime process of the run under way, for a Ctrl-C of the run to take down with it. */
let current: ChildProcess | undefined;

function startRuntime(assemblyDir: string, dataDir: string, port: number, logFile: string): RuntimeProcess {
  const child = spawn(
    process.execPath,
    [
      '--no-concurrent-sparkplug',
      '--no-concurrent-recompilation',
      '--import',
      'tsx',
      join(ROOT, 'bench/chaos-runtime.ts'),
    ],
    {
      cwd: ROOT,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        CHAOS_ASSEMBLY: assemblyDir,
        CHAOS_DATA: dataDir,
        CHAOS_PORT: String(port),
        CHAOS_LOG: logFile,
      },
    },
  );
  current = child;
  const ready = new Promise<void>((resolve, reject) => {
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('ready ')) resolve();
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.once('exit', (code, signal) =>
      reject(new Error(`the runtime exited (${code ?? signal}) before it served:\n${output}`)),
    );
  });
  return { child, ready };
}

/** SIGKILL to the runtime's whole process group: no handler runs, as in a crash. */
async function kill(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
  await exited;
}

async function stopRuntime(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  process.kill(child.pid, 'SIGTERM');
  const timer = setTimeout(() => child.pid !== undefined && process.kill(-child.pid, 'SIGKILL'), 30_000);
  await exited;
  clearTimeout(timer);
}

async function call(api: Api, role: 'submitter' | 'operator', method: string, path: string, body?: unknown) {
  const response = await fetch(`${api.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${api[role]}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(15_000),
  });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

/** Submits order `n` until it is accepted; its Idempotency-Key makes every retry the same order. */
async function submit(api: Api, n: number): Promise<string> {
  for (let attempt = 0; ; attempt++) {
    try {
      const response = await fetch(`${api.url}${ORDERS}`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${api.submitter}`,
          'content-type': 'application/json',
          'idempotency-key': `chaos-${n}`,
        },
        body: JSON.stringify(demoDslOrder(`chaos-${n}`)),
        signal: AbortSignal.timeout(15_000),
      });
      const body = (await response.json()) as { id?: string };
      if ((response.status === 201 || response.status === 200) && body.id) return body.id;
      if (response.status < 500 && response.status !== 409 && response.status !== 429)
        throw new Error(`order ${n} refused: ${response.status} ${JSON.stringify(body)}`);
    } catch (error) {
      if ((error as Error).message.startsWith(`order ${n} refused`)) throw error;
      // The runtime is down (killed): the same request again once it is back.
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(5000, 200 * 2 ** attempt)));
  }
}

interface ItemView {
  id: string;
  key: string;
  state: string;
  /** One entry per transition: its length says how often the item moved. */
  history: unknown[];
  dependsOn: string[];
  /** Present while it waits for its system's callback. */
  awaiting?: unknown;
}

/**
 * The items of these orders that are under way, with how often each has moved so far: running (a
 * worker holds it), awaiting (Running, waiting for its callback), and ready (pending, every
 * prerequisite done).
 */
async function underWay(
  api: Api,
  orderIds: string[],
): Promise<{ running: Map<string, number>; awaiting: Map<string, number>; ready: Map<string, number> }> {
  const running = new Map<string, number>();
  const awaiting = new Map<string, number>();
  const readyItems = new Map<string, number>();
  // Read eight at a time, so that the picture is of one moment, as near the kill as it can be.
  const graphs: ItemView[][] = [];
  const pending = [...orderIds];
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (let orderId = pending.shift(); orderId; orderId = pending.shift()) {
        const graph = await call(api, 'operator', 'GET', `/orchestration/orders/${orderId}/items`);
        graphs.push((graph.body.items ?? []) as ItemView[]);
      }
    }),
  );
  for (const items of graphs) {
    const state = new Map(items.map((item) => [item.key, item.state]));
    for (const item of items) {
      const ready =
        item.state === 'Pending' &&
        item.dependsOn.every((key) => state.get(key) === 'Completed' || state.get(key) === 'Skipped');
      if (item.state === 'Running') (item.awaiting ? awaiting : running).set(item.id, item.history.length);
      else if (ready) readyItems.set(item.id, item.history.length);
    }
  }
  return { running, awaiting, ready: readyItems };
}

/** Polls the items that were under way at the kill until each has moved (its version went up). */
async function watchRecovery(
  api: Api,
  inFlight: Map<string, number>,
  restartedAt: number,
): Promise<{ seconds: number; notMoved: number; notMovedItems: string[] }> {
  const waiting = new Map(inFlight);
  const lastSeen = new Map<string, string>();
  let last = restartedAt;
  const giveUpAt = restartedAt + 10 * 60_000;
  while (waiting.size > 0 && Date.now() < giveUpAt) {
    const orders = new Set([...waiting.keys()].map((itemId) => itemId.slice(0, itemId.indexOf('.'))));
    for (const orderId of orders) {
      const graph = await call(api, 'operator', 'GET', `/orchestration/orders/${orderId}/items`).catch(
        () => undefined,
      );
      if (graph?.status !== 200)
        for (const id of waiting.keys())
          if (id.startsWith(`${orderId}.`)) lastSeen.set(id, `unread (${graph?.status ?? 'no answer'})`);
      for (const item of (graph?.body.items ?? []) as ItemView[]) {
        const version = waiting.get(item.id);
        if (version !== undefined) lastSeen.set(item.id, `${item.state}, ${item.history.length} entries`);
        if (version !== undefined && item.history.length > version) {
          waiting.delete(item.id);
          last = Date.now();
        }
      }
    }
    if (waiting.size > 0) await new Promise((resolve) => setTimeout(resolve, 500));
  }
  return {
    seconds: Math.round((last - restartedAt) / 100) / 10,
    notMoved: waiting.size,
    notMovedItems: [...waiting.keys()].map((id) => `${id}: ${lastSeen.get(id) ?? 'never seen'}`),
  };
}

/** Every few seconds a system goes Down (or an interface Offline) for a couple of seconds, then back. */
function flipAvailability(api: Api, systems: DemoSystems, on: () => boolean) {
  let flips = 0;
  let stopped = false;
  const interfaces = ['inventory-reserve-port', 'activation-activate-line', 'billing-start-charging'];
  const names = Object.keys(FREE_DEMO_PORTS) as (keyof DemoSystemPorts)[];
  const loop = (async () => {
    while (!stopped && on()) {
      await new Promise((resolve) => setTimeout(resolve, 3000));
      if (stopped) break;
      const reason = { reason: 'chaos run' };
      try {
        if (Math.random() < 0.5) {
          const system = names[Math.floor(Math.random() * names.length)] ?? 'inventory';
          await call(api, 'operator', 'PUT', `/admin/systems/${system}/state`, { state: 'Down', ...reason });
          await new Promise((resolve) => setTimeout(resolve, 2000));
          await call(api, 'operator', 'PUT', `/admin/systems/${system}/state`, { state: 'Up', ...reason });
        } else {
          const iface = interfaces[Math.floor(Math.random() * interfaces.length)] ?? interfaces[0];
          await call(api, 'operator', 'PATCH', `/admin/system-interfaces/${iface}`, {
            status: 'Offline',
            ...reason,
          });
          await new Promise((resolve) => setTimeout(resolve, 2000));
          await call(api, 'operator', 'PATCH', `/admin/system-interfaces/${iface}`, {
            status: 'Online',
            ...reason,
          });
        }
        flips++;
      } catch {
        // The runtime is down (killed): the next flip comes once it is back.
      }
    }
  })();
  return {
    flips: () => flips,
    /** Stops flipping and brings every system Up and every interface Online. */
    stop: async () => {
      stopped = true;
      await loop;
      for (const system of names)
        await call(api, 'operator', 'PUT', `/admin/systems/${system}/state`, {
          state: 'Up',
          reason: 'chaos over',
        });
      for (const iface of interfaces)
        await call(api, 'operator', 'PATCH', `/admin/system-interfaces/${iface}`, {
          status: 'Online',
          reason: 'chaos over',
        });
      void systems;
    },
  };
}

async function falloutItems(api: Api): Promise<{ id: string; orderId: string }[]> {
  const items: { id: string; orderId: string }[] = [];
  let after: string | undefined;
  do {
    const page = await call(
      api,
      'operator',
      'GET',
      `/admin/fallout?limit=200${after ? `&after=${encodeURIComponent(after)}` : ''}`,
    );
    items.push(...((page.body.items ?? []) as { id: string; orderId: string }[]));
    after = page.body.next as string | undefined;
  } while (after);
  return items;
}

async function retryFallout(api: Api): Promise<number> {
  const items = await falloutItems(api);
  for (const item of items)
    await call(api, 'operator', 'POST', `/orchestration/items/${item.id}/retry`, {
      reason: 'chaos run: faults stopped',
    });
  return items.length;
}

/**
 * Waits until every order is completed or waits for an operator (an item in fallout), or the time is up;
 * then says which are which.
 */
async function settle(api: Api, orderIds: string[], timeoutMs: number) {
  const giveUpAt = Date.now() + timeoutMs;
  for (;;) {
    const fallout = new Set((await falloutItems(api)).map((item) => item.orderId));
    let completed = 0;
    const lost: string[] = [];
    const stuck: string[] = [];
    for (const id of orderIds) {
      const order = await call(api, 'submitter', 'GET', `${ORDERS}/${id}`);
      if (order.status === 404) lost.push(id);
      else if (order.body.state === 'completed') completed++;
      else if (!fallout.has(id)) stuck.push(id);
    }
    const inFallout = orderIds.filter((id) => fallout.has(id)).length;
    if (stuck.length === 0 || Date.now() > giveUpAt) return { completed, inFallout, stuck, lost };
    await new Promise((resolve) => setTimeout(resolve, 5000));
  }
}

/** The window as the API shows it now, and its system's state. */
async function windowAtEnd(api: Api, systemId: string, windowId: string) {
  const system = await call(api, 'operator', 'GET', `/admin/systems/${systemId}`);
  const windows = (system.body.maintenanceWindows ?? []) as { id: string; endedAt?: string }[];
  const endedAt = windows.find((w) => w.id === windowId)?.endedAt;
  return { ...(endedAt ? { endedAt } : {}), systemState: String(system.body.state) };
}

function systemsByName(systems: DemoSystems) {
  const { inventory, activation, billing, scheduling, notification } = systems;
  return { inventory, activation, billing, scheduling, notification };
}

/**
 * Effects done twice at the systems: one item's request acted on successfully more than once, under one
 * Idempotency-Key or under the keys of its generations (`<order>.<item>` and `<order>.<item>.r<n>`).
 */
function duplicates(systems: DemoSystems): number {
  let twice = 0;
  for (const system of Object.values(systemsByName(systems))) {
    const byItem = new Map<string, number>();
    for (const [key, count] of system.actionsByKey) {
      const item = key.replace(/\.r\d+$/, '');
      byItem.set(item, (byItem.get(item) ?? 0) + count);
    }
    for (const count of byItem.values()) twice += Math.max(0, count - 1);
  }
  return twice;
}

if (import.meta.main) {
  const ordersArg = process.argv.find((arg) => arg.startsWith('--orders='));
  const orders = Number(ordersArg?.slice('--orders='.length) ?? process.env.CHAOS_ORDERS ?? 300);
  if (!Number.isInteger(orders) || orders < 2) {
    console.error('--orders must be a whole number of at least 2');
    process.exit(2);
  }
  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    process.once(signal, () => {
      if (current?.pid !== undefined) process.kill(-current.pid, 'SIGKILL');
      process.exit(130);
    });
  const report = await runChaos({ orders });
  const { kills, window, ...figures } = report;
  console.table({ ...figures, stuck: report.stuck.length, lost: report.lost.length });
  console.table(kills);
  if (window) console.log(`billing's maintenance window: ended ${window.endedAt ?? 'never'}`);
  const dir = process.env.BENCH_RESULTS_DIR ?? join(ROOT, 'bench-results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `chaos-${new Date().toISOString().replaceAll(':', '-')}.json`);
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`written to ${file}`);
  const failed = report.lost.length > 0 || report.stuck.length > 0 || report.duplicateEffects > 0;
  process.exit(failed ? 1 : 0);
}
