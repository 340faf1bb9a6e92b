import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { Authenticator } from '../../lambdas/domain/authenticator';
import { AUTOMATIC_ACTORS } from '../../lambdas/domain/availability';
import type { Catalog, FulfilmentSystem } from '../../lambdas/domain/catalog';
import { decompose } from '../../lambdas/domain/decompose';
import { CalloutError } from '../../lambdas/domain/errors';
import { productOrderCreateSchema } from '../../lambdas/domain/product-order';
import type { Actor } from '../../lambdas/domain/roles';
import type { HealthProbeMessage, StartItemMessage } from '../../lambdas/ports/work-queue';
import { runItem } from '../../lambdas/use-cases/run-item';
import type { RunItemDeps } from '../../lambdas/use-cases/run-item-deps';
import { planDefinitionSchema } from '../../statemachines/plan-definition';
import { dslCatalog, dslOrderBody, INVENTORY_URL, LINE_CHARACTERISTICS, offering } from './fixtures/catalogs';
import {
  InMemoryCalloutLimits,
  InMemoryConfigurationStore,
  InMemoryRetryRuleStore,
  StaticSecretStore,
} from './fixtures/configuration';
import {
  jsonAnswer,
  RecordingAvailabilityEvents,
  RecordingPlanTasks,
  RecordingTelemetry,
  RecordingWorkQueue,
  type Responder,
  ScriptedHttpClient,
  testCallbacks,
} from './fixtures/fake-ports';
import { InMemoryOrderStore } from './fixtures/in-memory-order-store';
import { capturedLogs } from './fixtures/logs';

const OPERATOR: Actor = { id: 'op-1', name: 'Olga Operator' };
const BREAKER = AUTOMATIC_ACTORS['circuit-breaker'];
const ORDER = 'o-1';
const T0 = Date.parse('2025-03-01T10:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();
/** The key of the single callout (inventory's reserve-port) of line n. */
const keyOf = (line: number) => `port-only.reserve-port.${line}`;
const REFUSED = 'connection failed (ECONNREFUSED): inventory.test:4101';
const BREAKER_CONFIG = { failureThreshold: 3, healthPath: '/health', probeIntervalSeconds: 30 };

/** The DSL catalog with a plan of a single callout to the inventory, with these inventory settings. */
function catalogWith(inventory: Partial<FulfilmentSystem>): Catalog {
  const catalog = dslCatalog();
  catalog.plans['port-only'] = planDefinitionSchema.parse({
    id: 'port-only',
    fulfils: [{ offering: 'port-only' }],
    items: [{ id: 'reserve-port', type: 'callout', interface: 'reserve-port' }],
  });
  catalog.offerings['port-only'] = offering('port-only', LINE_CHARACTERISTICS);
  const system = catalog.systems.inventory;
  assert.ok(system);
  Object.assign(system, inventory);
  return catalog;
}

const reservesPort: Responder = () => jsonAnswer(201, { portId: 'P-7' });

/**
 * Stores an order of `lines` port-only lines (one inventory callout each) and returns the worker's
 * dependencies around in-memory fakes, with a clock that stands still until the test (or a sleep) moves it.
 */
async function setup(
  options: { lines?: number; responder?: Responder; inventory?: Partial<FulfilmentSystem> } = {},
) {
  const catalog = catalogWith(
    options.inventory ?? { limits: { maxConcurrentCallouts: 2, maxCalloutsPerSecond: 5 } },
  );
  const [line] = dslOrderBody().productOrderItem as Record<string, unknown>[];
  const submitted = productOrderCreateSchema.parse({
    ...dslOrderBody(),
    productOrderItem: Array.from({ length: options.lines ?? 1 }, (_, i) => ({
      ...line,
      id: `line-${i + 1}`,
      productOffering: { id: 'port-only' },
    })),
  });
  const store = new InMemoryOrderStore();
  const { order, items } = decompose(catalog, ORDER, submitted, '2025-03-01T09:00:00.000Z');
  await store.createOrder(order, items);
  const clock = { ms: T0 };
  const now = () => new Date(clock.ms);
  const http = new ScriptedHttpClient(options.responder ?? reservesPort);
  const queue = new RecordingWorkQueue();
  const limits = new InMemoryCalloutLimits();
  const config = InMemoryConfigurationStore.seededFrom(catalog);
  const events = new RecordingAvailabilityEvents();
  const tasks = new RecordingPlanTasks();
  const deps: RunItemDeps = {
    store,
    tasks,
    queue,
    http,
    catalog,
    config,
    limits,
    auth: new Authenticator(new StaticSecretStore({}), http, now),
    now,
    telemetry: new RecordingTelemetry(),
    callbacks: testCallbacks,
    events,
    rules: new InMemoryRetryRuleStore(),
    sleep: async (ms) => {
      clock.ms += ms;
    },
  };
  return { deps, store, http, queue, limits, config, events, tasks, clock };
}

type Config = InMemoryConfigurationStore;

const takeDown = (config: Config, reason: string, at = T0) =>
  config.setSystemState('inventory', 'Down', { by: OPERATOR, reason, cause: 'operator', at: iso(at) });
const bringUp = (config: Config, at = T0) =>
  config.setSystemState('inventory', 'Up', { by: OPERATOR, reason: 'back', cause: 'operator', at: iso(at) });
const takeOffline = (config: Config, reason: string) =>
  config.setInterfaceStatus('reserve-port', 'Offline', {
    by: OPERATOR,
    reason,
    cause: 'operator',
    at: iso(T0),
  });

const dispatch = (line: number) => ({ orderId: ORDER, itemKey: keyOf(line), taskToken: `token-${line}` });
const startOf = (line: number, more: Partial<StartItemMessage> = {}): StartItemMessage => ({
  kind: 'start',
  orderId: ORDER,
  itemKey: keyOf(line),
  ...more,
});

/** What the item went through, as state and reason. */
const historyOf = (store: InMemoryOrderStore, line: number) =>
  store.item(ORDER, keyOf(line)).history.map((h) => [h.state, h.reason]);

/** Keeps the worker's logs out of the test report. */
function quietLogs(t: TestContext): void {
  capturedLogs(t);
}

describe('runItem against a system that is Down or an interface that is Offline', () => {
  it('puts a callout ready to run against a Down system On Hold: no request, no slot, no turn, the order held', async (t) => {
    quietLogs(t);
    // Prepare
    const { deps, store, http, queue, limits, config, tasks } = await setup();
    await takeDown(config, 'nightly maintenance');

    // Act
    await runItem(deps, dispatch(1), 'delivery-1');

    // Assess
    assert.deepEqual(http.requests, []);
    assert.deepEqual(limits.log, [], 'no connection slot taken');
    assert.deepEqual([...limits.nextStart], [], 'no turn under the rate taken');
    const reason = 'system "inventory" is Down: nightly maintenance';
    const item = store.item(ORDER, keyOf(1));
    assert.equal(item.state, 'OnHold');
    assert.deepEqual(item.hold, {
      systemId: 'inventory',
      interfaceId: 'reserve-port',
      since: iso(T0),
      reason,
    });
    assert.equal(item.attemptId, undefined);
    assert.equal(item.startedAt, undefined);
    assert.deepEqual(item.taskTokens, ['token-1']);
    assert.deepEqual(item.history.at(-1), { at: iso(T0), state: 'OnHold', reason: `on hold: ${reason}` });
    assert.deepEqual(
      item.history.map((h) => h.state),
      ['Pending', 'OnHold'],
    );
    const order = store.order(ORDER);
    assert.equal(order.state, 'held');
    assert.deepEqual(order.holds, [keyOf(1)]);
    assert.deepEqual(store.done(ORDER), []);
    assert.deepEqual(queue.sent, [], 'nothing queued while the system stays Down');
    assert.deepEqual(tasks.answers, []);
    // Counted for operators: a callout held, an item held on its system.
    const telemetry = deps.telemetry as RecordingTelemetry;
    assert.deepEqual(telemetry.of('Callouts'), ['system=inventory,interface=reserve-port,outcome=held: 1']);
    assert.deepEqual(telemetry.of('ItemsHeld'), ['system=inventory: 1']);
    assert.deepEqual(telemetry.of('CalloutLatency'), [], 'nothing sent, no latency');
  });

  it('puts a callout to an Offline interface On Hold in the same way', async (t) => {
    quietLogs(t);
    const { deps, store, http, limits, config, queue } = await setup();
    await takeOffline(config, 'certificate renewal');

    await runItem(deps, dispatch(1), 'delivery-1');

    assert.deepEqual(http.requests, []);
    assert.deepEqual(limits.log, []);
    const reason = 'interface "reserve-port" is Offline: certificate renewal';
    const item = store.item(ORDER, keyOf(1));
    assert.equal(item.state, 'OnHold');
    assert.deepEqual(item.hold, {
      systemId: 'inventory',
      interfaceId: 'reserve-port',
      since: iso(T0),
      reason,
    });
    assert.deepEqual(historyOf(store, 1).at(-1), ['OnHold', `on hold: ${reason}`]);
    assert.equal(store.order(ORDER).state, 'held');
    assert.deepEqual(store.order(ORDER).holds, [keyOf(1)]);
    assert.deepEqual(queue.sent, []);
  });

  it('lists the held item for its system and for its interface, and nowhere else', async (t) => {
    quietLogs(t);
    const { deps, store, config } = await setup();
    await takeDown(config, 'nightly maintenance');

    await runItem(deps, dispatch(1), 'delivery-1');

    const listed = {
      orderId: ORDER,
      key: keyOf(1),
      hold: {
        systemId: 'inventory',
        interfaceId: 'reserve-port',
        since: iso(T0),
        reason: 'system "inventory" is Down: nightly maintenance',
      },
      holdSort: `${iso(T0)}#${ORDER}#${keyOf(1)}`,
    };
    assert.deepEqual(await store.listHeldItems({ systemId: 'inventory', limit: 10 }), { items: [listed] });
    assert.deepEqual(
      await store.listHeldItems({ systemId: 'inventory', interfaceId: 'reserve-port', limit: 10 }),
      { items: [listed] },
    );
    assert.deepEqual(await store.listHeldItems({ systemId: 'activation', limit: 10 }), { items: [] });
    assert.deepEqual(
      await store.listHeldItems({ systemId: 'inventory', interfaceId: 'port-status', limit: 10 }),
      { items: [] },
    );
  });

  it('changes nothing for a start message while the system is still Down, and takes off only its own release stamp', async (t) => {
    quietLogs(t);
    const { deps, store, http, queue, limits, config, clock } = await setup();
    await takeDown(config, 'nightly maintenance');
    await runItem(deps, dispatch(1), 'delivery-1');
    clock.ms += 5_000;

    // Act: a plain start message, then messages of two releases, one of which stamped the item.
    await runItem(deps, startOf(1), 'delivery-2');
    const stamped = await store.stampRelease(
      ORDER,
      keyOf(1),
      'rel-1',
      iso(clock.ms),
      iso(clock.ms - 300_000),
    );
    assert.equal(stamped, true);
    await runItem(deps, startOf(1, { releaseId: 'rel-2' }), 'delivery-3');
    const afterOtherRelease = await store.listHeldItems({ systemId: 'inventory', limit: 10 });
    await runItem(deps, startOf(1, { releaseId: 'rel-1' }), 'delivery-4');

    // Assess
    assert.deepEqual(http.requests, []);
    assert.deepEqual(limits.log, []);
    assert.deepEqual(queue.sent, []);
    const item = store.item(ORDER, keyOf(1));
    assert.equal(item.state, 'OnHold');
    assert.equal(item.hold?.since, iso(T0), 'still held since the first hold');
    assert.deepEqual(
      item.history.map((h) => h.state),
      ['Pending', 'OnHold'],
      'one history entry for the hold',
    );
    assert.deepEqual(
      afterOtherRelease.items.map((h) => h.release),
      [{ id: 'rel-1', at: iso(T0 + 5_000) }],
      "another release's message leaves the stamp",
    );
    assert.deepEqual(
      (await store.listHeldItems({ systemId: 'inventory', limit: 10 })).items.map((h) => h.release),
      [undefined],
      "its own release's message takes the stamp off: the next release may send the item",
    );
    assert.equal(store.order(ORDER).state, 'held');
    assert.deepEqual(store.order(ORDER).holds, [keyOf(1)]);
  });

  it('claims the held item from OnHold once the system is Up, sends the callout once and completes the order', async (t) => {
    quietLogs(t);
    const orderWhenCalled: unknown[] = [];
    let storeRef: InMemoryOrderStore | undefined;
    const { deps, store, http, limits, config, clock, tasks, queue } = await setup({
      responder: (request) => {
        const order = storeRef?.order(ORDER);
        orderWhenCalled.push({ state: order?.state, holds: order?.holds });
        return reservesPort(request);
      },
    });
    storeRef = store;
    await takeDown(config, 'nightly maintenance');
    await runItem(deps, dispatch(1), 'delivery-1');
    clock.ms += 60_000;
    await bringUp(config, clock.ms);

    // Act
    await runItem(deps, startOf(1, { releaseId: 'rel-1' }), 'delivery-2');

    // Assess
    assert.equal(http.requests.length, 1);
    assert.equal(http.requests[0]?.url, `${INVENTORY_URL}/ports/reservations`);
    assert.deepEqual(
      orderWhenCalled,
      [{ state: 'inProgress', holds: undefined }],
      'the order left held first',
    );
    assert.deepEqual(historyOf(store, 1), [
      ['Pending', 'decomposed by plan "port-only" for line "line-1"'],
      ['OnHold', 'on hold: system "inventory" is Down: nightly maintenance'],
      ['Running', 'released: system "inventory" is available again; started'],
      ['Completed', 'completed'],
    ]);
    const item = store.item(ORDER, keyOf(1));
    assert.equal(item.state, 'Completed');
    assert.equal(item.attemptId, 'delivery-2');
    assert.equal(item.startedAt, iso(T0 + 60_000));
    assert.equal(item.hold?.since, iso(T0), 'the last hold is kept as it was');
    assert.deepEqual(item.outputAttributes, { portId: 'P-7' });
    assert.deepEqual(
      limits.log,
      ['acquire inventory#0 delivery-2', 'release inventory#0 delivery-2'],
      'a released callout takes and gives back its slot as any other',
    );
    const order = store.order(ORDER);
    assert.equal(order.state, 'completed');
    assert.equal(order.holds, undefined);
    assert.deepEqual(await store.listHeldItems({ systemId: 'inventory', limit: 10 }), { items: [] });
    assert.deepEqual(tasks.answers, [
      { taskToken: 'token-1', output: { itemKey: keyOf(1), state: 'Completed' } },
    ]);
    assert.deepEqual(queue.sent, []);

    // Act: the same release's message delivered again, and another release's message for it.
    await runItem(deps, startOf(1, { releaseId: 'rel-1' }), 'delivery-3');
    await runItem(deps, startOf(1, { releaseId: 'rel-2' }), 'delivery-4');

    // Assess
    assert.equal(http.requests.length, 1, 'still exactly one request');
    assert.equal(store.item(ORDER, keyOf(1)).history.length, 4);
  });

  it('sends one request for two start messages of a released item handled at the same time', async (t) => {
    quietLogs(t);
    const { deps, store, http, limits, config } = await setup();
    await takeDown(config, 'nightly maintenance');
    await runItem(deps, dispatch(1), 'delivery-1');
    await bringUp(config);

    await Promise.all([
      runItem(deps, startOf(1, { releaseId: 'rel-1' }), 'delivery-2'),
      runItem(deps, startOf(1), 'delivery-3'),
    ]);

    assert.equal(http.requests.length, 1);
    const item = store.item(ORDER, keyOf(1));
    assert.equal(item.state, 'Completed');
    assert.deepEqual(
      item.history.map((h) => h.state),
      ['Pending', 'OnHold', 'Running', 'Completed'],
    );
    assert.equal(limits.slots.size, 0, 'both slots given back');
    assert.equal(store.order(ORDER).state, 'completed');
  });

  it('keeps the order held until the last of its held items is released', async (t) => {
    quietLogs(t);
    const { deps, store, http, config } = await setup({ lines: 2 });
    await takeDown(config, 'nightly maintenance');
    await runItem(deps, dispatch(1), 'delivery-1');
    await runItem(deps, dispatch(2), 'delivery-2');
    assert.deepEqual(store.order(ORDER).holds, [keyOf(1), keyOf(2)]);
    await bringUp(config);

    // Act: one of the two is released and completes.
    await runItem(deps, startOf(1), 'delivery-3');

    // Assess
    assert.equal(store.item(ORDER, keyOf(1)).state, 'Completed');
    assert.equal(store.item(ORDER, keyOf(2)).state, 'OnHold');
    let order = store.order(ORDER);
    assert.equal(order.state, 'held');
    assert.deepEqual(order.holds, [keyOf(2)]);
    assert.deepEqual(store.done(ORDER), [keyOf(1)]);

    // Act: the other one.
    await runItem(deps, startOf(2), 'delivery-4');

    // Assess
    order = store.order(ORDER);
    assert.equal(order.state, 'completed');
    assert.equal(order.holds, undefined);
    assert.deepEqual(store.done(ORDER), [keyOf(1), keyOf(2)]);
    assert.equal(http.requests.length, 2);
  });

  it('sends the item back to work at once when the system came Up between its read and the re-read after the hold', async (t) => {
    quietLogs(t);
    const { deps, store, http, queue, config } = await setup();
    await takeDown(config, 'nightly maintenance');
    const read = config.calloutTarget.bind(config);
    let reads = 0;
    config.calloutTarget = async (interfaceId) => {
      const target = await read(interfaceId);
      reads++;
      if (reads === 1) await bringUp(config); // after admission read it Down
      return target;
    };

    // Act
    await runItem(deps, dispatch(1), 'delivery-1');

    // Assess: held, and its start message queued without a delay.
    assert.equal(reads, 2);
    assert.equal(store.item(ORDER, keyOf(1)).state, 'OnHold');
    assert.deepEqual(http.requests, []);
    assert.deepEqual(queue.sent, [startOf(1)]);
    assert.deepEqual(queue.delays, [0]);

    // Act: the worker takes that message.
    const [message] = queue.sent;
    assert.ok(message);
    await runItem(deps, message, 'delivery-2');

    // Assess
    assert.equal(http.requests.length, 1);
    assert.equal(store.item(ORDER, keyOf(1)).state, 'Completed');
    assert.equal(store.order(ORDER).state, 'completed');
  });

  it('holds a callout whose next try comes due while its system is Down: the message sent back for a busy system', async (t) => {
    quietLogs(t);
    // One connection, taken by another worker: the callout is sent back to the queue to try again.
    const { deps, store, http, queue, limits, config } = await setup({
      inventory: { limits: { maxConcurrentCallouts: 1 } },
    });
    const other = await limits.acquireSlot(
      'inventory',
      1,
      'someone-else',
      new Date(T0),
      new Date(T0 + 60_000),
    );
    assert.ok(other);
    await runItem(deps, dispatch(1), 'delivery-1');
    assert.equal(store.item(ORDER, keyOf(1)).state, 'Pending');
    const [again] = queue.sent;
    assert.deepEqual(again, { ...startOf(1), waitingSince: iso(T0) });

    // Act: the system goes Down before the try comes due; the other worker gives its slot back, which
    // is kept for the waiting callout for a while.
    await takeDown(config, 'emergency change');
    const handed = await limits.releaseSlot(other, new Date(T0), new Date(T0 + 30_000));
    assert.equal(handed?.waiter.itemKey, keyOf(1));
    assert.ok(again);
    await runItem(deps, again, 'delivery-2');

    // Assess: held, nothing sent, no slot taken by the held callout: the one kept for it runs out.
    assert.equal(store.item(ORDER, keyOf(1)).state, 'OnHold');
    assert.deepEqual(http.requests, []);
    const probe = await limits.acquireSlot(
      'inventory',
      1,
      'check',
      new Date(T0 + 30_001),
      new Date(T0 + 31_000),
    );
    assert.ok(probe, 'the only slot is free once its hand-off ends: the held callout holds none');
    assert.equal(store.order(ORDER).state, 'held');
  });

  it('leaves the order not held when a release takes the item between its hold and the worker’s look back', async (t) => {
    quietLogs(t);
    const { deps, store, http, config } = await setup();
    await takeDown(config, 'nightly maintenance');
    // Right after the hold is written, the system comes back, a release sends the item on and another
    // worker claims it and lets the order go — all before this worker looks at the item again.
    const holdItem = store.holdItem.bind(store);
    store.holdItem = async (...args) => {
      const held = await holdItem(...args);
      await bringUp(config);
      assert.equal(await store.claimItem(ORDER, keyOf(1), 'delivery-2', iso(T0), 'released; started'), true);
      await store.releaseOrderHold(ORDER, keyOf(1), iso(T0));
      return held;
    };

    // Act
    await runItem(deps, dispatch(1), 'delivery-1');

    // Assess: the item runs under the other delivery, and nothing holds the order.
    assert.equal(store.item(ORDER, keyOf(1)).state, 'Running');
    assert.notEqual(store.order(ORDER).state, 'held');
    assert.equal(store.order(ORDER).holds, undefined);
    assert.deepEqual(http.requests, []);
  });

  it('puts On Hold a redelivery that had claimed the item when it finds the system Down; another delivery leaves it', async (t) => {
    quietLogs(t);
    const { deps, store, http, config } = await setup();
    await store.attachTaskToken(ORDER, keyOf(1), 'token-1', iso(T0));
    assert.equal(
      await store.claimItem(ORDER, keyOf(1), 'delivery-1', iso(T0), 'prerequisites done; started'),
      true,
    );
    await takeDown(config, 'nightly maintenance', T0 + 1_000);

    // Act: a message of another delivery, then the redelivery of the claiming one.
    await runItem(deps, startOf(1), 'delivery-9');
    const untouched = store.item(ORDER, keyOf(1));
    await runItem(deps, dispatch(1), 'delivery-1');

    // Assess
    assert.equal(untouched.state, 'Running');
    assert.equal(untouched.attemptId, 'delivery-1');
    assert.deepEqual(http.requests, []);
    const item = store.item(ORDER, keyOf(1));
    assert.equal(item.state, 'OnHold');
    assert.equal(item.attemptId, undefined);
    assert.deepEqual(
      item.history.map((h) => h.state),
      ['Pending', 'Running', 'OnHold'],
    );
    assert.equal(item.hold?.reason, 'system "inventory" is Down: nightly maintenance');
    assert.equal(store.order(ORDER).state, 'held');
    assert.deepEqual(
      (await store.listHeldItems({ systemId: 'inventory', limit: 10 })).items.map((h) => h.key),
      [keyOf(1)],
    );
  });
});

/**
 * An inventory that refuses connections or answers as scripted: callouts (POST) take the next of
 * `callouts`, health probes (GET) the next of `probes`; an unscripted request fails the test.
 */
function flakyInventory() {
  const callouts: ('refuse' | number)[] = [];
  const probes: ('refuse' | number)[] = [];
  const responder: Responder = (request) => {
    const next = request.method === 'GET' ? probes.shift() : callouts.shift();
    if (next === undefined) throw new Error(`unscripted request: ${request.method} ${request.url}`);
    if (next === 'refuse') throw new CalloutError(REFUSED, undefined, true);
    return jsonAnswer(next, next < 300 ? { portId: 'P-7', status: 'ok' } : { error: 'unavailable' });
  };
  return { callouts, probes, responder };
}

/** A worker around a flaky inventory with a circuit breaker (3 failures, /health, every 30 s). */
async function setupBreaker(lines: number) {
  const flaky = flakyInventory();
  const setupResult = await setup({
    lines,
    responder: flaky.responder,
    inventory: { limits: {}, circuitBreaker: { ...BREAKER_CONFIG } },
  });
  return { ...setupResult, flaky };
}

const failuresOf = async (config: Config) => (await config.getSystem('inventory'))?.consecutiveFailures;

describe('runItem with a circuit breaker', () => {
  it('fails the first two items on connection failures, takes the system Down on the third and holds that item', async (t) => {
    quietLogs(t);
    const { deps, store, http, queue, config, events, flaky } = await setupBreaker(3);
    flaky.callouts.push('refuse', 'refuse', 'refuse');

    // Act: failures 1 and 2.
    await runItem(deps, dispatch(1), 'delivery-1');
    await runItem(deps, dispatch(2), 'delivery-2');

    // Assess: they fail, to be retried under the default rule in 10 s, and are counted.
    const retryAt = iso(T0 + 10_000);
    for (const line of [1, 2]) {
      const item = store.item(ORDER, keyOf(line));
      assert.equal(item.state, 'Failed');
      assert.equal(item.error, `${REFUSED}; retry 1 at ${retryAt} (retry rule "default")`);
      assert.equal(item.nextAttemptAt, retryAt);
      assert.equal(item.retries, 1);
    }
    assert.equal(await failuresOf(config), 2);
    assert.equal((await config.getSystem('inventory'))?.state, 'Up');
    assert.deepEqual(queue.sent, [startOf(1), startOf(2)]);
    assert.deepEqual(queue.delays, [10, 10]);
    assert.deepEqual(events.announced, []);

    // Act: failure 3.
    await runItem(deps, dispatch(3), 'delivery-3');

    // Assess: the system is Down by the circuit breaker.
    assert.equal(http.requests.length, 3);
    const system = await config.getSystem('inventory');
    assert.equal(system?.state, 'Down');
    const change = system?.stateChange;
    assert.ok(change);
    const why = `3 connection failures or timeouts in a row (last: ${REFUSED})`;
    assert.deepEqual(change, {
      id: change.id,
      at: iso(T0),
      by: BREAKER,
      reason: why,
      cause: 'circuit-breaker',
      from: 'Up',
      to: 'Down',
    });
    assert.deepEqual(await config.history('system', 'inventory', 10), [change]);
    assert.deepEqual(events.announced, [
      { type: 'unavailable', event: { systemId: 'inventory', reason: change.reason, change } },
    ]);
    const probe: HealthProbeMessage = { kind: 'probe', systemId: 'inventory', changeId: change.id };
    assert.deepEqual(queue.sent, [startOf(1), startOf(2), probe]);
    assert.deepEqual(queue.delays, [10, 10, 30]);

    // Assess: the third item waits On Hold rather than failing.
    const third = store.item(ORDER, keyOf(3));
    assert.equal(third.state, 'OnHold');
    assert.equal(third.error, undefined);
    const holdReason = `system "inventory" is Down: ${why} (after: ${REFUSED})`;
    assert.deepEqual(third.hold, {
      systemId: 'inventory',
      interfaceId: 'reserve-port',
      since: iso(T0),
      reason: holdReason,
    });
    assert.deepEqual(third.history.map((h) => [h.state, h.reason]).slice(1), [
      ['Running', 'prerequisites done; started'],
      ['OnHold', `on hold: ${holdReason}`],
    ]);
    assert.deepEqual(
      (await store.listHeldItems({ systemId: 'inventory', limit: 10 })).items.map((h) => h.key),
      [keyOf(3)],
    );
    // Only the held item holds the order: the failed ones wait for their retries.
    const order = store.order(ORDER);
    assert.equal(order.state, 'held');
    assert.deepEqual(order.holds, [keyOf(3)]);
    // Counted: three connection failures, one trip, the third's item held.
    const telemetry = deps.telemetry as RecordingTelemetry;
    assert.deepEqual(telemetry.of('Callouts'), [
      'system=inventory,interface=reserve-port,outcome=connection: 1',
      'system=inventory,interface=reserve-port,outcome=connection: 1',
      // The third was sent, and failed to connect, before the breaker it tripped held its item.
      'system=inventory,interface=reserve-port,outcome=connection: 1',
    ]);
    assert.deepEqual(telemetry.of('CircuitBreakerTrips'), ['system=inventory: 1']);
    assert.deepEqual(telemetry.of('ItemsHeld'), ['system=inventory: 1']);
    assert.deepEqual(telemetry.of('FalloutEntered'), [], 'failed, to be retried: not fallout');
  });

  it('does not count an answer, 5xx included, as a failure: any answer ends the run of failures', async (t) => {
    quietLogs(t);
    const { deps, store, config, queue, events, flaky } = await setupBreaker(7);
    flaky.callouts.push('refuse', 'refuse', 503, 'refuse', 'refuse', 201, 'refuse');
    const counts: (number | undefined)[] = [];

    // Act
    for (const line of [1, 2, 3, 4, 5, 6, 7]) {
      await runItem(deps, dispatch(line), `delivery-${line}`);
      counts.push(await failuresOf(config));
    }

    // Assess
    assert.deepEqual(counts, [1, 2, 0, 1, 2, 0, 1]);
    assert.equal((await config.getSystem('inventory'))?.state, 'Up');
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6, 7].map((line) => store.item(ORDER, keyOf(line)).state),
      ['Failed', 'Failed', 'Failed', 'Failed', 'Failed', 'Completed', 'Failed'],
    );
    assert.equal(
      store.item(ORDER, keyOf(3)).error,
      `answered 503: {"error":"unavailable"}; retry 1 at ${iso(T0 + 10_000)} (retry rule "default")`,
    );
    assert.deepEqual(
      queue.sent,
      [1, 2, 3, 4, 5, 7].map((line) => startOf(line)),
      'a retry of each failed item, and no probe',
    );
    assert.deepEqual(events.announced, []);
  });

  it('probes again after the interval while the health path answers 503, and brings the system Up on a 200', async (t) => {
    quietLogs(t);
    const { deps, store, http, queue, config, events, flaky, clock } = await setupBreaker(1);
    await config.recordConnectionFailure('inventory');
    await config.recordConnectionFailure('inventory');
    flaky.callouts.push('refuse');
    await runItem(deps, dispatch(1), 'delivery-1');
    const down = (await config.getSystem('inventory'))?.stateChange;
    assert.ok(down);
    const probe: HealthProbeMessage = { kind: 'probe', systemId: 'inventory', changeId: down.id };
    assert.deepEqual(queue.sent, [probe]);

    // Act: the first probe, answered 503.
    clock.ms += 30_000;
    flaky.probes.push(503);
    await runItem(deps, probe, 'probe-1');

    // Assess
    assert.equal(http.requests.length, 2);
    const probeRequest = http.requests[1];
    assert.equal(probeRequest?.method, 'GET');
    assert.equal(probeRequest?.timeoutMs, 10_000);
    assert.equal(probeRequest?.body, undefined);
    assert.deepEqual(queue.sent, [probe, probe]);
    assert.deepEqual(queue.delays, [30, 30]);
    let system = await config.getSystem('inventory');
    assert.equal(system?.state, 'Down');
    assert.equal(system?.stateChange?.id, down.id);
    assert.equal(system?.consecutiveFailures, 3);
    assert.equal(events.announced.length, 1, 'only the Down so far');

    // Act: the second probe, answered 200.
    clock.ms += 30_000;
    flaky.probes.push(200);
    await runItem(deps, probe, 'probe-2');

    // Assess
    system = await config.getSystem('inventory');
    assert.equal(system?.state, 'Up');
    assert.equal(system?.consecutiveFailures, 0);
    const up = system?.stateChange;
    assert.ok(up);
    assert.deepEqual(up, {
      id: up.id,
      at: iso(T0 + 60_000),
      by: BREAKER,
      reason: 'health probe of /health answered 200',
      cause: 'circuit-breaker',
      from: 'Down',
      to: 'Up',
      follows: probe.changeId,
    });
    const last = events.announced.at(-1);
    assert.equal(events.announced.length, 2);
    assert.ok(last?.type === 'available');
    const { releaseId, ...announced } = last.event;
    assert.deepEqual(announced, { systemId: 'inventory', reason: up.reason, change: up });
    assert.match(releaseId ?? '', /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    assert.deepEqual(queue.sent, [probe, probe], 'no further probe');
    assert.equal(store.item(ORDER, keyOf(1)).state, 'OnHold', 'the held item waits for its release');

    // Act: a copy of the probe (a redelivery, as after a failed announcement) finds the system Up.
    await runItem(deps, probe, 'probe-3');

    // Assess: no request and no further probe; the breaker's Up is announced again, unchanged.
    assert.equal(http.requests.length, 3);
    assert.deepEqual(queue.sent, [probe, probe]);
    assert.equal(events.announced.length, 3);
    const again = events.announced.at(-1);
    assert.ok(again?.type === 'available');
    assert.deepEqual(
      { systemId: again.event.systemId, reason: again.event.reason, change: again.event.change },
      { systemId: 'inventory', reason: up.reason, change: undefined },
    );
    assert.notEqual(again.event.releaseId, releaseId, 'a release of its own');
    assert.equal((await config.getSystem('inventory'))?.stateChange?.id, up.id, 'no new change');
  });

  it('announces the breaker’s Up when the first announcement failed, on the probe’s redelivery', async (t) => {
    quietLogs(t);
    const { deps, queue, config, events, flaky } = await setupBreaker(1);
    await config.recordConnectionFailure('inventory');
    await config.recordConnectionFailure('inventory');
    flaky.callouts.push('refuse');
    await runItem(deps, dispatch(1), 'delivery-1');
    const [probe] = queue.sent;
    assert.ok(probe);
    flaky.probes.push(200);
    const announce = events.available.bind(events);
    let failures = 1;
    events.available = async (event) => {
      if (failures-- > 0) throw new Error('PutEvents throttled');
      return announce(event);
    };

    await assert.rejects(runItem(deps, probe, 'probe-1'), /PutEvents throttled/);
    assert.equal((await config.getSystem('inventory'))?.state, 'Up', 'the Up is written');
    assert.ok(!events.announced.some((a) => a.type === 'available'), 'but not announced');

    await runItem(deps, probe, 'probe-1');

    const announced = events.announced.filter((a) => a.type === 'available');
    assert.equal(announced.length, 1, 'the redelivery announced it');
  });

  it('probes again when the health path cannot be reached', async (t) => {
    quietLogs(t);
    const { deps, http, queue, config, flaky } = await setupBreaker(1);
    await config.recordConnectionFailure('inventory');
    await config.recordConnectionFailure('inventory');
    flaky.callouts.push('refuse');
    await runItem(deps, dispatch(1), 'delivery-1');
    const [probe] = queue.sent;
    assert.ok(probe);
    flaky.probes.push('refuse');

    await runItem(deps, probe, 'probe-1');

    assert.equal(http.requests.length, 2);
    assert.equal(http.requests[1]?.method, 'GET');
    assert.deepEqual(queue.sent, [probe, probe]);
    assert.deepEqual(queue.delays, [30, 30]);
    assert.equal((await config.getSystem('inventory'))?.state, 'Down');
  });

  it("does nothing for a probe whose Down is no longer the system's: an operator changed the state since", async (t) => {
    quietLogs(t);
    const { deps, http, queue, config, events, flaky } = await setupBreaker(1);
    await config.recordConnectionFailure('inventory');
    await config.recordConnectionFailure('inventory');
    flaky.callouts.push('refuse');
    await runItem(deps, dispatch(1), 'delivery-1');
    const [probe] = queue.sent;
    assert.ok(probe);
    // The operator brings it Up and takes it Down again, for reasons of their own.
    await bringUp(config, T0 + 1_000);
    await takeDown(config, 'investigating', T0 + 2_000);
    const operators = (await config.getSystem('inventory'))?.stateChange;
    flaky.probes.push(200);

    // Act
    await runItem(deps, probe, 'probe-1');

    // Assess
    assert.equal(http.requests.length, 1, 'no probe request');
    assert.deepEqual(queue.sent, [probe], 'no further probe');
    const system = await config.getSystem('inventory');
    assert.equal(system?.state, 'Down');
    assert.deepEqual(system?.stateChange, operators);
    assert.equal(events.announced.length, 1, "only the breaker's Down");
  });

  it('holds a released item whose own callout takes the system Down again', {}, async (t) => {
    quietLogs(t);
    const { deps, store, config, flaky } = await setupBreaker(1);
    await takeDown(config, 'nightly maintenance');
    await runItem(deps, dispatch(1), 'delivery-1');
    await bringUp(config, T0 + 1_000);
    await config.recordConnectionFailure('inventory');
    await config.recordConnectionFailure('inventory');
    flaky.callouts.push('refuse');

    // Act: the release's message; the callout is refused and the breaker trips.
    await runItem(deps, startOf(1, { releaseId: 'rel-1' }), 'delivery-2');

    // Assess
    assert.equal((await config.getSystem('inventory'))?.state, 'Down');
    const item = store.item(ORDER, keyOf(1));
    assert.equal(item.state, 'OnHold', `the item is ${item.state} under ${item.attemptId}`);
    assert.deepEqual(
      (await store.listHeldItems({ systemId: 'inventory', limit: 10 })).items.map((h) => h.key),
      [keyOf(1)],
      "the breaker's Up releases it",
    );
  });

  it("probes the health path under the system's base URL, as callouts go under it", {}, async (t) => {
    quietLogs(t);
    const { deps, http, queue, config, flaky } = await setupBreaker(1);
    await config.recordConnectionFailure('inventory');
    await config.recordConnectionFailure('inventory');
    flaky.callouts.push('refuse');
    await runItem(deps, dispatch(1), 'delivery-1');
    const [probe] = queue.sent;
    assert.ok(probe);
    flaky.probes.push(200);

    await runItem(deps, probe, 'probe-1');

    assert.equal(http.requests[0]?.url, `${INVENTORY_URL}/ports/reservations`);
    assert.equal(http.requests[1]?.url, `${INVENTORY_URL}/health`);
  });
});
