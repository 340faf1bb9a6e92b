import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import type { ReleaseRequest } from '../../lambdas/domain/availability';
import type { Catalog, FulfilmentSystem } from '../../lambdas/domain/catalog';
import { decompose } from '../../lambdas/domain/decompose';
import { productOrderCreateSchema } from '../../lambdas/domain/product-order';
import type { Actor } from '../../lambdas/domain/roles';
import type { StartItemMessage, WorkQueueMessage } from '../../lambdas/ports/work-queue';
import {
  type ReleaseDeps,
  releaseChosenItems,
  releaseHeldItems,
  STALE_STAMP_MS,
} from '../../lambdas/use-cases/release-held-items';
import { planDefinitionSchema } from '../../statemachines/plan-definition';
import { dslCatalog, dslOrderBody, LINE_CHARACTERISTICS, offering } from './fixtures/catalogs';
import { InMemoryConfigurationStore } from './fixtures/configuration';
import { RecordingAvailabilityEvents, RecordingTelemetry } from './fixtures/fake-ports';
import { InMemoryOrderStore } from './fixtures/in-memory-order-store';
import { capturedLogs } from './fixtures/logs';

const OPERATOR: Actor = { id: 'op-1', name: 'Olga Operator' };
const T0 = Date.parse('2025-03-01T10:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();
const DOWN_REASON = 'system "inventory" is Down: nightly maintenance';
/** The pause before the release's final look for holds the on-hold index showed late. */
const SWEEP_MS = 2_000;

/** The DSL catalog with single-callout plans to the inventory's two interfaces, and these inventory limits. */
function catalogWith(limits: FulfilmentSystem['limits'] = {}): Catalog {
  const catalog = dslCatalog();
  catalog.plans['port-only'] = planDefinitionSchema.parse({
    id: 'port-only',
    fulfils: [{ offering: 'port-only' }],
    items: [{ id: 'reserve-port', type: 'callout', interface: 'reserve-port' }],
  });
  catalog.offerings['port-only'] = offering('port-only', LINE_CHARACTERISTICS);
  catalog.plans['status-only'] = planDefinitionSchema.parse({
    id: 'status-only',
    fulfils: [{ offering: 'status-only' }],
    items: [{ id: 'port-status', type: 'callout', interface: 'port-status' }],
  });
  catalog.offerings['status-only'] = offering('status-only', LINE_CHARACTERISTICS);
  const inventory = catalog.systems.inventory;
  assert.ok(inventory);
  inventory.limits = limits;
  return catalog;
}

/** An item the tests hold: its order, its key and the interface its callout goes to. */
interface Held {
  orderId: string;
  key: string;
  interfaceId: string;
}

/**
 * The release's surroundings in memory, with a clock that only `sleep` moves (so pacing is measured
 * exactly, with no real waiting), and a simulated worker that claims a sent item (OnHold → Running)
 * once it has been in the queue `workerLatencyMs` (never, when undefined).
 */
function harness(options: { limits?: FulfilmentSystem['limits']; workerLatencyMs?: number } = {}) {
  const catalog = catalogWith(options.limits);
  const store = new InMemoryOrderStore();
  const config = InMemoryConfigurationStore.seededFrom(catalog);
  const events = new RecordingAvailabilityEvents();
  const clock = { ms: T0 };
  const sent: { message: StartItemMessage; at: number }[] = [];
  const sleeps: number[] = [];
  const hooks: { afterSend?: (count: number) => Promise<void> | void } = {};
  let lines = 0;

  const worker = async () => {
    if (options.workerLatencyMs === undefined) return;
    for (const [i, { message, at }] of sent.entries()) {
      if (at + options.workerLatencyMs > clock.ms) continue;
      if ((await store.getItem(message.orderId, message.itemKey))?.state !== 'OnHold') continue;
      await store.claimItem(
        message.orderId,
        message.itemKey,
        `worker-${i}`,
        iso(clock.ms),
        'released; started',
      );
    }
  };

  const deps: ReleaseDeps = {
    store,
    config,
    events,
    queue: {
      send: async (messages: WorkQueueMessage[], sendOptions?: { delaySeconds?: number }) => {
        assert.equal(sendOptions?.delaySeconds, undefined, 'a release sends without a delay');
        for (const message of messages) {
          assert.equal(message.kind, 'start');
          sent.push({ message: message as StartItemMessage, at: clock.ms });
          await hooks.afterSend?.(sent.length);
          await worker();
        }
      },
    },
    now: () => new Date(clock.ms),
    telemetry: new RecordingTelemetry(),
    sleep: async (ms) => {
      sleeps.push(ms);
      // A release that never ends fails the test instead of hanging it.
      if (sleeps.length > 5_000) throw new Error('the release did not end');
      clock.ms += ms;
      await worker();
    },
    remainingMs: () => 900_000,
  };

  /** Stores an order of these offerings (one callout a line) and returns its items, in line order. */
  const addOrder = async (orderId: string, offerings: string[]): Promise<Held[]> => {
    const [line] = dslOrderBody().productOrderItem as Record<string, unknown>[];
    const lineIds = offerings.map(() => `line-${++lines}`);
    const submitted = productOrderCreateSchema.parse({
      ...dslOrderBody(),
      productOrderItem: offerings.map((offering, i) => ({
        ...line,
        id: lineIds[i],
        productOffering: { id: offering },
      })),
    });
    const { order, items } = decompose(catalog, orderId, submitted, '2025-03-01T09:00:00.000Z');
    await store.createOrder(order, items);
    // Decomposition groups the items by plan; the tests think in lines.
    return [...items]
      .sort((a, b) => lineIds.indexOf(a.lineId ?? '') - lineIds.indexOf(b.lineId ?? ''))
      .map((item) => ({ orderId, key: item.key, interfaceId: item.interfaceId ?? '' }));
  };

  /** Puts the item On Hold as the worker does, held since `sinceMs`. */
  const hold = async (held: Held, sinceMs: number, systemId = 'inventory') => {
    const since = iso(sinceMs);
    const info = { systemId, interfaceId: held.interfaceId, since, reason: DOWN_REASON };
    assert.equal(await store.holdItem(held.orderId, held.key, 'delivery-0', info, since), true);
    await store.holdOrder(held.orderId, held.key, since);
  };

  return { deps, store, config, events, clock, sent, sleeps, hooks, addOrder, hold };
}

const request = (more: Partial<ReleaseRequest> = {}): ReleaseRequest => ({
  systemId: 'inventory',
  releaseId: 'rel-1',
  reason: 'operator brought it Up',
  ...more,
});

const startOf = (held: Held, releaseId = 'rel-1'): StartItemMessage => ({
  kind: 'start',
  orderId: held.orderId,
  itemKey: held.key,
  releaseId,
});

const takeDown = (config: InMemoryConfigurationStore, at = T0) =>
  config.setSystemState('inventory', 'Down', {
    by: OPERATOR,
    reason: 'nightly maintenance',
    cause: 'operator',
    at: iso(at),
  });

const setPortStatus = (config: InMemoryConfigurationStore, status: 'Online' | 'Offline') =>
  config.setInterfaceStatus('port-status', status, {
    by: OPERATOR,
    reason: 'certificate renewal',
    cause: 'operator',
    at: iso(T0),
  });

/** The release stamp each item carries while listed On Hold (undefined when unstamped or not listed). */
async function stampsOf(store: InMemoryOrderStore, items: Held[]) {
  const listed = (await store.listHeldItems({ systemId: 'inventory', limit: 1000 })).items;
  return items.map((held) => listed.find((h) => h.orderId === held.orderId && h.key === held.key)?.release);
}

const statesOf = (store: InMemoryOrderStore, items: Held[]) =>
  items.map((held) => store.item(held.orderId, held.key).state);

/** Keeps the release's logs out of the test report. */
function quietLogs(t: TestContext): void {
  capturedLogs(t);
}

describe('releaseHeldItems', () => {
  it('sends every held item of the system once, oldest hold first, stamped with the release', async (t) => {
    quietLogs(t);
    // Prepare: five items over three orders, held in an order unlike their holds' age.
    const h = harness({ workerLatencyMs: 500 });
    const [a1, a2] = await h.addOrder('o-a', ['port-only', 'port-only']);
    const [b1] = await h.addOrder('o-b', ['port-only']);
    const [c1, c2] = await h.addOrder('o-c', ['port-only', 'port-only']);
    assert.ok(a1 && a2 && b1 && c1 && c2);
    await h.hold(c1, T0 - 1_000);
    await h.hold(a1, T0 - 3_000);
    await h.hold(b1, T0 - 5_000);
    await h.hold(c2, T0 - 2_000);
    await h.hold(a2, T0 - 4_000);
    const stampsAtSend: unknown[] = [];
    h.hooks.afterSend = async (count) => {
      const { message } = h.sent[count - 1] ?? {};
      assert.ok(message);
      stampsAtSend.push(
        ...(await stampsOf(h.store, [{ orderId: message.orderId, key: message.itemKey, interfaceId: '' }])),
      );
    };

    // Act
    const summary = await releaseHeldItems(h.deps, request());

    // Assess
    assert.deepEqual(summary, {
      releaseId: 'rel-1',
      sent: 5,
      skippedOffline: 0,
      takenByOthers: 0,
      outcome: 'done',
    });
    assert.deepEqual(
      h.sent.map((s) => s.message),
      [b1, a2, a1, c2, c1].map((held) => startOf(held)),
    );
    assert.deepEqual(stampsAtSend, Array(5).fill({ id: 'rel-1', at: iso(T0) }), 'stamped before it is sent');
    assert.deepEqual(h.sleeps, [SWEEP_MS], 'one last look, which found nothing');
    assert.deepEqual(statesOf(h.store, [a1, a2, b1, c1, c2]), Array(5).fill('Running'));
    assert.deepEqual(h.events.announced, []);
    assert.deepEqual(
      (h.deps.telemetry as RecordingTelemetry).of('ItemsReleased'),
      Array(5).fill('system=inventory: 1'),
    );
  });

  it('paces the sends to the rate: at 5 callouts a second, message i goes at t0 + i × 200 ms', async (t) => {
    quietLogs(t);
    const h = harness({ limits: { maxCalloutsPerSecond: 5 }, workerLatencyMs: 100 });
    const items = await h.addOrder(
      'o-1',
      Array.from({ length: 12 }, () => 'port-only'),
    );
    for (const [i, held] of items.entries()) await h.hold(held, T0 - 60_000 + i);

    const summary = await releaseHeldItems(h.deps, request());

    assert.equal(summary.sent, 12);
    assert.equal(summary.outcome, 'done');
    assert.deepEqual(
      h.sent.map((s) => s.message),
      items.map((held) => startOf(held)),
    );
    assert.deepEqual(
      h.sent.map((s) => s.at - T0),
      [0, 200, 400, 600, 800, 1000, 1200, 1400, 1600, 1800, 2000, 2200],
    );
    assert.deepEqual(h.sleeps, [...Array(11).fill(200), SWEEP_MS]);
  });

  it('with only a concurrency limit of 2, never has more than 2 items sent and not yet started', async (t) => {
    quietLogs(t);
    // The simulated worker starts an item 150 ms after it is sent.
    const h = harness({ limits: { maxConcurrentCallouts: 2 }, workerLatencyMs: 150 });
    const items = await h.addOrder(
      'o-1',
      Array.from({ length: 12 }, () => 'port-only'),
    );
    for (const [i, held] of items.entries()) await h.hold(held, T0 - 60_000 + i);
    const waitingAtSend: number[] = [];
    h.hooks.afterSend = () => {
      const sentKeys = new Set(h.sent.map((s) => s.message.itemKey));
      waitingAtSend.push(
        items.filter((held) => sentKeys.has(held.key) && h.store.item('o-1', held.key).state === 'OnHold')
          .length,
      );
    };

    const summary = await releaseHeldItems(h.deps, request());

    assert.equal(summary.sent, 12);
    assert.deepEqual(
      h.sent.map((s) => s.message),
      items.map((held) => startOf(held)),
    );
    assert.deepEqual(waitingAtSend, [1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2]);
    // Two at a time, each pair once the worker has started the one before (polling every 100 ms).
    assert.deepEqual(
      h.sent.map((s) => s.at - T0),
      [0, 0, 200, 200, 400, 400, 600, 600, 800, 800, 1000, 1000],
    );
    assert.deepEqual(h.sleeps, [...Array(10).fill(100), SWEEP_MS]);
    assert.deepEqual(statesOf(h.store, items), Array(12).fill('Running'));
  });

  it('sends each item once in all when two releases race over the same items', async (t) => {
    quietLogs(t);
    const h = harness({ workerLatencyMs: 500 });
    const items = [
      ...(await h.addOrder(
        'o-1',
        Array.from({ length: 10 }, () => 'port-only'),
      )),
      ...(await h.addOrder(
        'o-2',
        Array.from({ length: 10 }, () => 'port-only'),
      )),
    ];
    for (const [i, held] of items.entries()) await h.hold(held, T0 - 60_000 + i);

    const [a, b] = await Promise.all([
      releaseHeldItems(h.deps, request({ releaseId: 'rel-A' })),
      releaseHeldItems(h.deps, request({ releaseId: 'rel-B' })),
    ]);

    assert.equal(a.outcome, 'done');
    assert.equal(b.outcome, 'done');
    assert.equal(a.sent + b.sent, 20);
    const sentItems = h.sent.map((s) => `${s.message.orderId}/${s.message.itemKey}`).sort();
    assert.deepEqual(
      sentItems,
      items.map((held) => `${held.orderId}/${held.key}`).sort(),
      'each exactly once',
    );
    assert.equal(h.sent.filter((s) => s.message.releaseId === 'rel-A').length, a.sent);
    assert.equal(h.sent.filter((s) => s.message.releaseId === 'rel-B').length, b.sent);
    assert.ok(a.sent > 0 && b.sent > 0, 'both releases really ran side by side');
    assert.equal(a.takenByOthers, b.sent, 'A found stamped by B what B sent');
    assert.equal(b.takenByOthers, a.sent, 'B found stamped by A what A sent');
    assert.deepEqual(statesOf(h.store, items), Array(20).fill('Running'));
  });

  it('takes over a stale stamp of a release that died, and leaves a fresh one of a live release', async (t) => {
    quietLogs(t);
    const h = harness({ workerLatencyMs: 500 });
    const [stale, fresh, free] = await h.addOrder('o-1', ['port-only', 'port-only', 'port-only']);
    assert.ok(stale && fresh && free);
    await h.hold(stale, T0 - 3_000);
    await h.hold(fresh, T0 - 2_000);
    await h.hold(free, T0 - 1_000);
    const staleAt = iso(T0 - STALE_STAMP_MS - 1);
    const freshAt = iso(T0 - 60_000);
    assert.equal(await h.store.stampRelease('o-1', stale.key, 'rel-dead', staleAt, iso(0)), true);
    assert.equal(await h.store.stampRelease('o-1', fresh.key, 'rel-live', freshAt, iso(0)), true);

    const summary = await releaseHeldItems(h.deps, request());

    assert.equal(summary.sent, 2);
    assert.equal(summary.outcome, 'done');
    assert.ok(summary.takenByOthers > 0);
    assert.deepEqual(
      h.sent.map((s) => s.message),
      [startOf(stale), startOf(free)],
    );
    assert.deepEqual(statesOf(h.store, [stale, fresh, free]), ['Running', 'OnHold', 'Running']);
    assert.deepEqual(await stampsOf(h.store, [fresh]), [{ id: 'rel-live', at: freshAt }]);
  });

  it('stops when the system is Down at the start: nothing sent, the reason given', async (t) => {
    quietLogs(t);
    const h = harness({ workerLatencyMs: 0 });
    const [held] = await h.addOrder('o-1', ['port-only']);
    assert.ok(held);
    await h.hold(held, T0 - 1_000);
    await takeDown(h.config);

    const summary = await releaseHeldItems(h.deps, request());

    assert.deepEqual(summary, {
      releaseId: 'rel-1',
      sent: 0,
      skippedOffline: 0,
      takenByOthers: 0,
      outcome: 'unavailable',
      unavailableReason: DOWN_REASON,
    });
    assert.deepEqual(h.sent, []);
    assert.deepEqual(await stampsOf(h.store, [held]), [undefined]);
  });

  it('sends nothing more once the system went Down with a page sent: the rest stay held and unstamped', async (t) => {
    quietLogs(t);
    // 101 held items: a first page of 100 and one more.
    const h = harness();
    const items: Held[] = [];
    for (let order = 0; order < 4; order++) {
      items.push(
        ...(await h.addOrder(
          `o-${order}`,
          Array.from({ length: order < 3 ? 30 : 11 }, () => 'port-only'),
        )),
      );
    }
    for (const [i, held] of items.entries()) await h.hold(held, T0 - 600_000 + i * 1_000);
    h.hooks.afterSend = async (count) => {
      if (count === 100) await takeDown(h.config, T0);
    };

    const summary = await releaseHeldItems(h.deps, request());

    assert.equal(summary.outcome, 'unavailable');
    assert.equal(summary.unavailableReason, DOWN_REASON);
    assert.equal(summary.sent, 100);
    assert.deepEqual(
      h.sent.map((s) => s.message),
      items.slice(0, 100).map((held) => startOf(held)),
    );
    const last = items.slice(100);
    assert.deepEqual(statesOf(h.store, last), ['OnHold']);
    assert.deepEqual(await stampsOf(h.store, last), [undefined]);
  });

  it('stops before its next item when the system goes Down during the release', {}, async (t) => {
    quietLogs(t);
    const h = harness();
    const items = await h.addOrder(
      'o-1',
      Array.from({ length: 6 }, () => 'port-only'),
    );
    for (const [i, held] of items.entries()) await h.hold(held, T0 - 60_000 + i);
    h.hooks.afterSend = async (count) => {
      if (count === 3) await takeDown(h.config, T0);
    };

    const summary = await releaseHeldItems(h.deps, request());

    assert.equal(summary.outcome, 'unavailable');
    assert.deepEqual(
      h.sent.map((s) => s.message),
      items.slice(0, 3).map((held) => startOf(held)),
    );
    assert.deepEqual(statesOf(h.store, items.slice(3)), ['OnHold', 'OnHold', 'OnHold']);
    assert.deepEqual(await stampsOf(h.store, items.slice(3)), [undefined, undefined, undefined]);
  });

  it('leaves held the items of an Offline interface on a system-wide release', async (t) => {
    quietLogs(t);
    const h = harness({ workerLatencyMs: 500 });
    const [r1, s1, r2, s2] = await h.addOrder('o-1', [
      'port-only',
      'status-only',
      'port-only',
      'status-only',
    ]);
    assert.ok(r1 && s1 && r2 && s2);
    assert.deepEqual(
      [r1, s1, r2, s2].map((held) => held.interfaceId),
      ['reserve-port', 'port-status', 'reserve-port', 'port-status'],
    );
    await h.hold(s1, T0 - 4_000);
    await h.hold(r1, T0 - 3_000);
    await h.hold(s2, T0 - 2_000);
    await h.hold(r2, T0 - 1_000);
    await setPortStatus(h.config, 'Offline');

    const summary = await releaseHeldItems(h.deps, request());

    assert.equal(summary.outcome, 'done');
    assert.equal(summary.sent, 2);
    assert.ok(summary.skippedOffline > 0);
    assert.deepEqual(
      h.sent.map((s) => s.message),
      [startOf(r1), startOf(r2)],
    );
    assert.deepEqual(statesOf(h.store, [r1, s1, r2, s2]), ['Running', 'OnHold', 'Running', 'OnHold']);
    assert.deepEqual(await stampsOf(h.store, [s1, s2]), [undefined, undefined]);
    assert.deepEqual(
      h.store.order('o-1').holds,
      [s1.key, r1.key, s2.key, r2.key],
      'the worker releases those',
    );
  });

  it("sends only that interface's items on an interface-scoped release, and none while it is Offline", async (t) => {
    quietLogs(t);
    const h = harness({ workerLatencyMs: 500 });
    const [r1, s1, r2, s2] = await h.addOrder('o-1', [
      'port-only',
      'status-only',
      'port-only',
      'status-only',
    ]);
    assert.ok(r1 && s1 && r2 && s2);
    await h.hold(s2, T0 - 4_000);
    await h.hold(r1, T0 - 3_000);
    await h.hold(s1, T0 - 2_000);
    await h.hold(r2, T0 - 1_000);
    await setPortStatus(h.config, 'Offline');

    // Act: while it is Offline.
    const refused = await releaseHeldItems(
      h.deps,
      request({ interfaceId: 'port-status', releaseId: 'rel-0' }),
    );

    // Assess
    assert.deepEqual(refused, {
      releaseId: 'rel-0',
      sent: 0,
      skippedOffline: 0,
      takenByOthers: 0,
      outcome: 'unavailable',
      unavailableReason: 'interface "port-status" is Offline: certificate renewal',
    });
    assert.equal(h.sent.length, 0, 'nothing sent while it is Offline');

    // Act: once it is Online again.
    await setPortStatus(h.config, 'Online');
    const summary = await releaseHeldItems(
      h.deps,
      request({ interfaceId: 'port-status', releaseId: 'rel-2' }),
    );

    // Assess
    assert.deepEqual(summary, {
      releaseId: 'rel-2',
      sent: 2,
      skippedOffline: 0,
      takenByOthers: 0,
      outcome: 'done',
    });
    assert.deepEqual(
      h.sent.map((s) => s.message),
      [startOf(s2, 'rel-2'), startOf(s1, 'rel-2')],
    );
    assert.deepEqual(statesOf(h.store, [r1, s1, r2, s2]), ['OnHold', 'Running', 'OnHold', 'Running']);
    assert.deepEqual(await stampsOf(h.store, [r1, r2]), [undefined, undefined]);
  });

  it('hands the rest to a continuation when time runs short, which releases the rest, none twice', async (t) => {
    quietLogs(t);
    const h = harness({ workerLatencyMs: 500 });
    const items: Held[] = [];
    for (let order = 0; order < 5; order++) {
      items.push(
        ...(await h.addOrder(
          `o-${order}`,
          Array.from({ length: 30 }, () => 'port-only'),
        )),
      );
    }
    for (const [i, held] of items.entries()) await h.hold(held, T0 - 600_000 + i * 1_000);
    // Time for one page: the release asks before the page and before each send.
    let asked = 0;
    h.deps.remainingMs = () => (asked++ <= 100 ? 120_000 : 59_999);

    // Act: the first run has time for one page.
    const first = await releaseHeldItems(h.deps, request());

    // Assess
    const hundredth = items[99];
    assert.ok(hundredth);
    const after = `${iso(T0 - 600_000 + 99 * 1_000)}#${hundredth.orderId}#${hundredth.key}`;
    assert.deepEqual(first, {
      releaseId: 'rel-1',
      sent: 100,
      skippedOffline: 0,
      takenByOthers: 0,
      outcome: 'continued',
    });
    assert.deepEqual(h.events.announced, [{ type: 'releaseRequested', request: { ...request(), after } }]);
    assert.deepEqual(
      h.sent.map((s) => s.message),
      items.slice(0, 100).map((held) => startOf(held)),
    );

    // Act: the continuation the event starts.
    const announced = h.events.announced[0];
    assert.ok(announced?.type === 'releaseRequested');
    h.deps.remainingMs = () => 900_000;
    const second = await releaseHeldItems(h.deps, announced.request);

    // Assess
    assert.deepEqual(second, {
      releaseId: 'rel-1',
      sent: 50,
      skippedOffline: 0,
      takenByOthers: 0,
      outcome: 'done',
    });
    assert.deepEqual(
      h.sent.map((s) => s.message),
      items.map((held) => startOf(held)),
      'every item once, oldest first',
    );
    assert.deepEqual(statesOf(h.store, items), Array(150).fill('Running'));
    assert.equal(h.events.announced.length, 1);
  });

  it('hands everything to a continuation when it starts with less than a minute left', async (t) => {
    quietLogs(t);
    const h = harness({ workerLatencyMs: 0 });
    const [held] = await h.addOrder('o-1', ['port-only']);
    assert.ok(held);
    await h.hold(held, T0 - 1_000);
    h.deps.remainingMs = () => 59_999;

    const summary = await releaseHeldItems(h.deps, request());

    assert.deepEqual(summary, {
      releaseId: 'rel-1',
      sent: 0,
      skippedOffline: 0,
      takenByOthers: 0,
      outcome: 'continued',
    });
    assert.deepEqual(h.events.announced, [{ type: 'releaseRequested', request: request() }]);
    assert.deepEqual(h.sent, []);
  });

  it('picks up in its final look a hold written during the release, also one older than those sent', async (t) => {
    quietLogs(t);
    const h = harness({ workerLatencyMs: 500 });
    const [i1, i2, i3, late] = await h.addOrder('o-1', ['port-only', 'port-only', 'port-only', 'port-only']);
    assert.ok(i1 && i2 && i3 && late);
    await h.hold(i1, T0 - 3_000);
    await h.hold(i2, T0 - 2_000);
    await h.hold(i3, T0 - 1_000);
    h.hooks.afterSend = async (count) => {
      // Written after the page was read; its sort key lies before the page's (the index showed it late).
      if (count === 1) await h.hold(late, T0 - 10_000);
    };

    const summary = await releaseHeldItems(h.deps, request());

    assert.deepEqual(summary, {
      releaseId: 'rel-1',
      sent: 4,
      skippedOffline: 0,
      takenByOthers: 0,
      outcome: 'done',
    });
    assert.deepEqual(
      h.sent.map((s) => s.message),
      [startOf(i1), startOf(i2), startOf(i3), startOf(late)],
    );
    assert.deepEqual(
      h.sent.map((s) => s.at - T0),
      [0, 0, 0, SWEEP_MS],
    );
    assert.deepEqual(h.sleeps, [SWEEP_MS, SWEEP_MS], 'looks again until a look finds nothing');
    assert.deepEqual(statesOf(h.store, [i1, i2, i3, late]), Array(4).fill('Running'));
  });

  it('does not send again in its final look an item it sent that has not started yet', {}, async (t) => {
    quietLogs(t);
    // The workers are slower than the sweep's pause (busy, or sending items back under the rate).
    const h = harness({ workerLatencyMs: 3_000 });
    const items = await h.addOrder('o-1', ['port-only', 'port-only', 'port-only']);
    for (const [i, held] of items.entries()) await h.hold(held, T0 - 60_000 + i);

    const summary = await releaseHeldItems(h.deps, request());

    assert.equal(summary.sent, 3);
    assert.deepEqual(
      h.sent.map((s) => s.message),
      items.map((held) => startOf(held)),
    );
  });

  it('counts each item left held once in its summary, however often it looks', {}, async (t) => {
    quietLogs(t);
    const h = harness({ workerLatencyMs: 500 });
    const [r1, s1, other] = await h.addOrder('o-1', ['port-only', 'status-only', 'port-only']);
    assert.ok(r1 && s1 && other);
    await h.hold(r1, T0 - 3_000);
    await h.hold(s1, T0 - 2_000);
    await h.hold(other, T0 - 1_000);
    await h.store.stampRelease('o-1', other.key, 'rel-live', iso(T0 - 1_000), iso(0));
    await setPortStatus(h.config, 'Offline');

    const summary = await releaseHeldItems(h.deps, request());

    assert.deepEqual(summary, {
      releaseId: 'rel-1',
      sent: 1,
      skippedOffline: 1,
      takenByOthers: 1,
      outcome: 'done',
    });
  });

  it('hands over to a continuation before its time runs out, also in the middle of a page at a slow rate', {}, async (t) => {
    quietLogs(t);
    const h = harness({ limits: { maxCalloutsPerSecond: 1 }, workerLatencyMs: 500 });
    // One page of 100 held items (orders have at most 40 lines a plan).
    const items: Held[] = [];
    for (const [order, lines] of [40, 40, 20].entries()) {
      items.push(
        ...(await h.addOrder(
          `o-${order}`,
          Array.from({ length: lines }, () => 'port-only'),
        )),
      );
    }
    for (const [i, held] of items.entries()) await h.hold(held, T0 - 600_000 + i * 1_000);
    // The function has 90 s left when the release starts.
    h.deps.remainingMs = () => T0 + 90_000 - h.clock.ms;

    const summary = await releaseHeldItems(h.deps, request());

    assert.equal(summary.outcome, 'continued');
    const lastSend = Math.max(...h.sent.map((s) => s.at));
    assert.ok(
      lastSend - T0 <= 30_000,
      `sent until ${(lastSend - T0) / 1000} s, with ${90 - (lastSend - T0) / 1000} s left`,
    );
  });
});

describe('releaseChosenItems', () => {
  it('releases the held items asked for and says why it leaves the others', async () => {
    const h = harness();
    const [held, pending, offline, taken] = await h.addOrder('o-1', [
      'port-only',
      'port-only',
      'status-only',
      'port-only',
    ]);
    const [, activation] = await h.addOrder('o-2', ['dsl-broadband']);
    assert.ok(held && pending && offline && taken && activation);
    assert.equal(activation.interfaceId, 'activate-line');
    await h.hold(held, T0 - 4_000);
    await h.hold(offline, T0 - 3_000);
    await h.hold(taken, T0 - 2_000);
    await h.hold(activation, T0 - 1_000, 'activation');
    await h.store.stampRelease('o-1', taken.key, 'rel-live', iso(T0 - 1_000), iso(0));
    await setPortStatus(h.config, 'Offline');
    const chosen = [held, pending, offline, taken, activation, { orderId: 'o-9', key: 'nothing.here.1' }].map(
      ({ orderId, key }) => ({ orderId, key }),
    );

    const results = await releaseChosenItems(h.deps, request(), chosen);

    assert.deepEqual(results, [
      { orderId: 'o-1', key: held.key, result: 'released' },
      { orderId: 'o-1', key: pending.key, result: 'not held' },
      { orderId: 'o-1', key: offline.key, result: 'interface offline' },
      { orderId: 'o-1', key: taken.key, result: 'being released' },
      { orderId: 'o-2', key: activation.key, result: 'not held' },
      { orderId: 'o-9', key: 'nothing.here.1', result: 'not held' },
    ]);
    assert.deepEqual(
      h.sent.map((s) => s.message),
      [startOf(held)],
    );
    assert.deepEqual(await stampsOf(h.store, [held, offline, taken]), [
      { id: 'rel-1', at: iso(T0) },
      undefined,
      { id: 'rel-live', at: iso(T0 - 1_000) },
    ]);
    assert.deepEqual(statesOf(h.store, [held, pending, offline, taken]), [
      'OnHold',
      'Pending',
      'OnHold',
      'OnHold',
    ]);
  });
});
