import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { Authenticator } from '../../lambdas/domain/authenticator';
import type { Catalog, FulfilmentSystem } from '../../lambdas/domain/catalog';
import { decompose } from '../../lambdas/domain/decompose';
import { CalloutError } from '../../lambdas/domain/errors';
import { productOrderCreateSchema } from '../../lambdas/domain/product-order';
import type { HttpRequest, HttpResponse } from '../../lambdas/ports/http-client';
import type { StartItemMessage, WorkQueue } from '../../lambdas/ports/work-queue';
import {
  giveBack,
  MAX_LATE_TURNS,
  MAX_RATE_WAIT_MS,
  turnTolerance,
  WAIT_RECHECK_SECONDS,
} from '../../lambdas/use-cases/callout-admission';
import { runItem } from '../../lambdas/use-cases/run-item';
import type { RunItemDeps } from '../../lambdas/use-cases/run-item-deps';
import { planDefinitionSchema } from '../../statemachines/plan-definition';
import { dslCatalog, dslOrderBody, LINE_CHARACTERISTICS, offering } from './fixtures/catalogs';
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
  type Responder,
  ScriptedHttpClient,
  testCallbacks,
} from './fixtures/fake-ports';
import { InMemoryOrderStore } from './fixtures/in-memory-order-store';
import { capturedLogs } from './fixtures/logs';
import { withoutRetries } from './fixtures/retry-rules';

const ORDER = 'o-1';
const T0 = Date.parse('2025-03-01T10:00:00.000Z');
/** The key of the single callout of line n. */
const keyOf = (line: number) => `port-only.reserve-port.${line}`;
/** How long the worker leases a slot for a callout to reserve-port (timeout 10 s): see admit(). */
const LEASE_MS = MAX_RATE_WAIT_MS + 2 * 10_000 + 60_000;

/** A work queue that keeps each message with the delay it was sent with. */
class DelayRecordingQueue implements WorkQueue {
  readonly sent: { message: StartItemMessage; delaySeconds?: number }[] = [];

  async send(messages: StartItemMessage[], options?: { delaySeconds?: number }): Promise<void> {
    for (const message of messages) this.sent.push({ message, delaySeconds: options?.delaySeconds });
  }
}

/** A promise settled from outside, to hold a fake call open. */
function deferred<T>() {
  let resolve: (value: T) => void = () => {};
  let reject: (reason: unknown) => void = () => {};
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/**
 * The inventory's reservation endpoint with calls that can be held open: while `holding`, every call
 * waits for the test to settle it. Counts the calls in flight and the most ever in flight at once.
 */
function heldSystem() {
  const held: ReturnType<typeof deferred<HttpResponse>>[] = [];
  const state = { holding: true, inFlight: 0, maxInFlight: 0 };
  const responder: Responder = async () => {
    state.inFlight++;
    state.maxInFlight = Math.max(state.maxInFlight, state.inFlight);
    try {
      if (!state.holding) return jsonAnswer(201, { portId: 'P-7' });
      const call = deferred<HttpResponse>();
      held.push(call);
      return await call.promise;
    } finally {
      state.inFlight--;
    }
  };
  return { responder, held, state };
}

const answersAtOnce: Responder = () => jsonAnswer(201, { portId: 'P-7' });

/** The DSL catalog with a plan of a single callout (inventory's reserve-port) and the given inventory limits. */
function catalogWith(limits: FulfilmentSystem['limits']): Catalog {
  const catalog = dslCatalog();
  catalog.plans['port-only'] = planDefinitionSchema.parse({
    id: 'port-only',
    fulfils: [{ offering: 'port-only' }],
    items: [{ id: 'reserve-port', type: 'callout', interface: 'reserve-port' }],
  });
  catalog.offerings['port-only'] = offering('port-only', LINE_CHARACTERISTICS);
  const inventory = catalog.systems.inventory;
  assert.ok(inventory);
  inventory.limits = limits;
  return catalog;
}

/**
 * Stores an order of `lines` port-only lines (one callout each, all to the inventory) and returns the
 * worker's dependencies around in-memory fakes, with a clock the test moves and a `sleep` that records.
 */
async function setup(
  lines: number,
  limits: FulfilmentSystem['limits'],
  responder: Responder = answersAtOnce,
  tune: (catalog: Catalog) => void = () => {},
  secrets: Record<string, Record<string, unknown>> = {},
) {
  const catalog = catalogWith(limits);
  tune(catalog);
  const [line] = dslOrderBody().productOrderItem as Record<string, unknown>[];
  const submitted = productOrderCreateSchema.parse({
    ...dslOrderBody(),
    productOrderItem: Array.from({ length: lines }, (_, i) => ({
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
  const sleeps: number[] = [];
  const http = new ScriptedHttpClient(responder);
  const queue = new DelayRecordingQueue();
  const limitsStore = new InMemoryCalloutLimits();
  const config = InMemoryConfigurationStore.seededFrom(catalog);
  const deps: RunItemDeps = {
    store,
    tasks: new RecordingPlanTasks(),
    queue,
    http,
    catalog,
    config,
    limits: limitsStore,
    auth: new Authenticator(new StaticSecretStore(secrets), http, now),
    now,
    telemetry: new RecordingTelemetry(),
    callbacks: testCallbacks,
    events: new RecordingAvailabilityEvents(),
    rules: new InMemoryRetryRuleStore(),
    sleep: async (ms) => {
      sleeps.push(ms);
    },
  };
  return { deps, store, http, queue, limits: limitsStore, config, clock, sleeps };
}

const dispatch = (line: number) => ({ orderId: ORDER, itemKey: keyOf(line), taskToken: `token-${line}` });

/** Lets pending promise callbacks run until `done` holds (fails rather than hanging). */
async function until(done: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1000 && !done(); i++) await new Promise((resolve) => setImmediate(resolve));
  assert.ok(done(), `timed out waiting until ${what}`);
}

/** Keeps the worker's warnings and errors out of the test report. */
function quietLogs(t: TestContext): void {
  capturedLogs(t);
}

describe('runItem under a concurrency limit', () => {
  it("keeps at most maxConcurrentCallouts in flight; the rest wait on the system's list and are woken in turn, each with the slot of a callout that ended", async () => {
    // Prepare: the inventory takes two connections; five callouts to it arrive one after the other.
    const system = heldSystem();
    const { deps, store, http, queue, limits, clock } = await setup(
      5,
      { maxConcurrentCallouts: 2 },
      system.responder,
    );

    // Act
    const runs: Promise<void>[] = [];
    for (const line of [1, 2, 3, 4, 5]) {
      runs.push(runItem(deps, dispatch(line), `delivery-${line}`));
      await until(() => http.requests.length + queue.sent.length === line, `callout ${line} went or waits`);
      clock.ms += 1_000;
    }

    // Assess: two in flight, each holding a slot leased for the longest the callout can take.
    assert.equal(http.requests.length, 2);
    assert.equal(system.state.inFlight, 2);
    assert.deepEqual(
      [...limits.slots.values()].map((s) => s.expiresAt),
      [T0 + LEASE_MS, T0 + 1_000 + LEASE_MS],
    );
    const running = [1, 2];
    const waiting = [3, 4, 5];
    for (const line of waiting) {
      const item = store.item(ORDER, keyOf(line));
      assert.equal(item.state, 'Pending', `${item.key} is not claimed`);
      assert.equal(item.history.length, 1);
    }
    assert.deepEqual(
      (limits.waiting.get('inventory') ?? []).map((w) => w.itemKey),
      waiting.map(keyOf),
      'the waiting list, oldest first',
    );
    assert.deepEqual(
      queue.sent.map(({ message, delaySeconds }) => [message.itemKey, delaySeconds]),
      waiting.map((line) => [keyOf(line), WAIT_RECHECK_SECONDS]),
      'waiting costs one message each, which asks again only much later',
    );

    // Act: the system answers the two calls.
    queue.sent.length = 0;
    for (const call of system.held) call.resolve(jsonAnswer(201, { portId: 'P-7' }));
    await Promise.all(runs);

    // Assess: each callout that ended kept its slot for the oldest waiter and woke it, at once.
    for (const line of running) assert.equal(store.item(ORDER, keyOf(line)).state, 'Completed');
    assert.deepEqual(
      queue.sent.map(({ message, delaySeconds }) => [
        message.itemKey,
        message.handedSlot !== undefined,
        delaySeconds,
      ]),
      [
        [keyOf(3), true, undefined],
        [keyOf(4), true, undefined],
      ],
    );
    assert.deepEqual(
      [...limits.slots.values()].map((s) => s.holder).sort(),
      [`for:${ORDER}.${keyOf(3)}`, `for:${ORDER}.${keyOf(4)}`],
      'nothing else may take them meanwhile',
    );

    // Act: the woken ones run (the system now answers at once) and wake the last in turn.
    system.state.holding = false;
    for (let i = 0; queue.sent.length > 0; i++) {
      const [next] = queue.sent.splice(0, 1);
      if (next) await runItem(deps, next.message, `woken-${i}`);
    }

    // Assess
    for (const line of [1, 2, 3, 4, 5]) assert.equal(store.item(ORDER, keyOf(line)).state, 'Completed');
    assert.equal(http.requests.length, 5, 'each callout sent once');
    assert.equal(system.state.maxInFlight, 2, 'never more than two calls in flight');
    assert.equal(limits.slots.size, 0);
    assert.deepEqual(limits.waiting.get('inventory'), []);
    assert.equal(store.order(ORDER).state, 'completed');
  });

  it('asks again from the same place on the list when its own late message finds the system still full', async () => {
    // Prepare
    const system = heldSystem();
    const { deps, store, http, queue, limits, clock } = await setup(
      2,
      { maxConcurrentCallouts: 1 },
      system.responder,
    );
    const first = runItem(deps, dispatch(1), 'delivery-1');
    await until(() => system.held.length === 1, 'the first call is in flight');
    await runItem(deps, dispatch(2), 'delivery-2');
    const [late] = queue.sent;
    assert.ok(late);

    // Act: its own message comes back while the first call is still in flight (its lease still runs).
    clock.ms += 30_000;
    await runItem(deps, late.message, 'late-1');

    // Assess
    assert.equal(http.requests.length, 1);
    assert.equal(store.item(ORDER, keyOf(2)).state, 'Pending');
    assert.deepEqual(
      queue.sent.map((s) => [s.message.itemKey, s.message.waitingSince]),
      [
        [keyOf(2), late.message.waitingSince],
        [keyOf(2), late.message.waitingSince],
      ],
    );
    assert.equal(limits.waiting.get('inventory')?.length, 1, 'one place, kept');

    system.held[0]?.resolve(jsonAnswer(201, { portId: 'P-7' }));
    await first;
  });

  it('takes a free slot after its late message and leaves the list by itself, should no callout hand one on', async () => {
    // Prepare: the only slot is held by a worker that died; its lease runs out.
    const { deps, store, http, queue, limits, clock } = await setup(1, { maxConcurrentCallouts: 1 });
    await limits.acquireSlot('inventory', 1, 'dead-worker', new Date(T0), new Date(T0 + 60_000));
    await runItem(deps, dispatch(1), 'delivery-1');
    const [late] = queue.sent;
    assert.ok(late);

    // Act
    clock.ms += WAIT_RECHECK_SECONDS * 1000;
    await runItem(deps, late.message, 'late-1');

    // Assess
    assert.equal(store.item(ORDER, keyOf(1)).state, 'Completed');
    assert.equal(http.requests.length, 1);
    assert.deepEqual(limits.waiting.get('inventory'), []);
  });

  const isLine1 = (request: HttpRequest) => request.headers['idempotency-key'] === `${ORDER}.${keyOf(1)}`;
  const failures: { what: string; responder: Responder; tune?: (catalog: Catalog) => void; error: RegExp }[] =
    [
      {
        what: 'the call throws (no connection)',
        responder: (request) => {
          if (isLine1(request)) throw new CalloutError('connection refused', undefined, true);
          return answersAtOnce(request);
        },
        error: /^connection refused \(retry rule "no-retry" does not retry a connection error\)$/,
      },
      {
        what: 'the system answers 503',
        responder: (request) =>
          isLine1(request) ? jsonAnswer(503, { message: 'busy' }) : answersAtOnce(request),
        error: /^answered 503: \{"message":"busy"\} \(retry rule "no-retry" does not retry HTTP 503\)$/,
      },
      {
        what: 'the request mapping fails before any call',
        responder: answersAtOnce,
        tune: (catalog) => {
          catalog.mappings['reserve-request'] =
            'line.id = "line-1" ? $error("no bandwidth") : { "orderItemId": line.id }';
        },
        error: /no bandwidth/,
      },
    ];
  for (const { what, responder, tune, error } of failures) {
    it(`gives the slot back when ${what} and the item fails`, async (t) => {
      // Prepare: one connection; the first line's callout fails.
      quietLogs(t);
      const { deps, store, http, limits } = await setup(2, { maxConcurrentCallouts: 1 }, responder, tune);
      // Failed for good, not waiting for a retry: nothing of the item may keep the slot.
      await withoutRetries(deps.rules);

      // Act
      await runItem(deps, dispatch(1), 'delivery-1');

      // Assess
      const failed = store.item(ORDER, keyOf(1));
      assert.equal(failed.state, 'FatallyFailed');
      assert.match(failed.error ?? '', error);
      assert.equal(limits.slots.size, 0);
      assert.deepEqual(limits.log, ['acquire inventory#0 delivery-1', 'release inventory#0 delivery-1']);

      // Act: the next callout to the system gets the slot.
      const sentBefore = http.requests.length;
      await runItem(deps, dispatch(2), 'delivery-2');

      // Assess
      assert.equal(store.item(ORDER, keyOf(2)).state, 'Completed');
      assert.equal(http.requests.length, sentBefore + 1);
      assert.equal(limits.slots.size, 0);
    });
  }

  it('gives the slot back when the worker itself throws after the call', async (t) => {
    // Prepare: the order store fails while the outcome is recorded.
    quietLogs(t);
    const { deps, store, limits } = await setup(1, { maxConcurrentCallouts: 1 });
    t.mock.method(store, 'completeItem', async () => {
      throw new Error('DynamoDB is unavailable');
    });

    // Act
    await assert.rejects(runItem(deps, dispatch(1), 'delivery-1'), /DynamoDB is unavailable/);

    // Assess
    assert.equal(limits.slots.size, 0);
    assert.deepEqual(limits.log, ['acquire inventory#0 delivery-1', 'release inventory#0 delivery-1']);
  });

  it('passes a slot it was handed on to the next waiter at once when its item no longer needs it', async () => {
    // Prepare: line 2 and line 3 wait for inventory's one slot; the callout holding it ends and keeps it
    // for line 2, which meanwhile completed another way (it was on the list twice).
    const { deps, store, queue, limits } = await setup(3, { maxConcurrentCallouts: 1 });
    const at = new Date(T0);
    const held = await limits.acquireSlot('inventory', 1, 'other-callout', at, new Date(T0 + 60_000));
    assert.ok(held);
    for (const line of [2, 3])
      await limits.waitForSlot('inventory', {
        orderId: ORDER,
        itemKey: keyOf(line),
        since: new Date(T0 + line).toISOString(),
      });
    await store.attachTaskToken(ORDER, keyOf(2), 'token-2', at.toISOString());
    await store.claimItem(ORDER, keyOf(2), 'd-2', at.toISOString(), 'started');
    await store.completeItem(ORDER, keyOf(2), 'd-2', {}, at.toISOString());
    await giveBack(deps, held);
    const [wake] = queue.sent.splice(0);
    assert.equal(wake?.message.itemKey, keyOf(2));
    assert.equal(wake?.message.handedSystem, 'inventory');

    // Act: line 2's wake finds it done.
    await runItem(deps, wake.message, 'wake-2');

    // Assess: line 3 is woken with the slot, not left to ask again minutes later.
    const next = queue.sent.find((s) => s.message.itemKey === keyOf(3));
    assert.ok(next, 'line 3 woken');
    assert.equal(next.message.handedSlot, 0);
    assert.equal(next.delaySeconds, undefined);
  });

  it('takes over the slot of a dead worker once its lease has expired, and not before', async () => {
    // Prepare: the only slot is held by a worker that died; its lease runs until T0 + 5 s.
    const { deps, store, http, queue, limits, clock } = await setup(1, { maxConcurrentCallouts: 1 });
    await limits.acquireSlot('inventory', 1, 'dead-delivery', new Date(T0 - 60_000), new Date(T0 + 5_000));

    // Act: while the lease runs, the item must wait.
    await runItem(deps, dispatch(1), 'delivery-1');

    // Assess
    assert.equal(http.requests.length, 0);
    assert.equal(store.item(ORDER, keyOf(1)).state, 'Pending');
    assert.equal(queue.sent.length, 1);
    assert.equal(limits.slots.get('inventory#0')?.holder, 'dead-delivery');

    // Act: the delayed message comes after the lease expired.
    clock.ms = T0 + 6_000;
    const [delayed] = queue.sent;
    assert.ok(delayed);
    await runItem(deps, delayed.message, 'delayed-1');

    // Assess
    assert.equal(http.requests.length, 1);
    assert.equal(store.item(ORDER, keyOf(1)).state, 'Completed');
    assert.deepEqual(limits.log.slice(-2), [
      'acquire inventory#0 delayed-1',
      'release inventory#0 delayed-1',
    ]);
    assert.equal(limits.slots.size, 0);
  });

  it('goes on, when it takes over from a worker that died mid-callout, with the slot that worker held', async () => {
    // Prepare: the only slot is held until T0 + 60 s by a worker that died; its item lease ran out.
    const { deps, store, http, limits } = await setup(1, { maxConcurrentCallouts: 1 });
    await store.attachTaskToken(ORDER, keyOf(1), 'token-1', new Date(T0 - 60_000).toISOString());
    const lease = new Date(T0 - 10_000).toISOString();
    assert.ok(await store.claimItem(ORDER, keyOf(1), 'dead-delivery', lease, 'started', lease));
    await limits.acquireSlot('inventory', 1, 'dead-delivery', new Date(T0 - 30_000), new Date(T0 + 60_000));

    // Act: a delivery of its own takes the item over (a worker that looked for expired leases).
    await runItem(deps, { kind: 'start', orderId: ORDER, itemKey: keyOf(1) }, 'takeover-1');

    // Assess: at once, in the dead worker's slot, which is free afterwards.
    assert.equal(http.requests.length, 1);
    assert.equal(store.item(ORDER, keyOf(1)).state, 'Completed');
    assert.deepEqual(limits.log.slice(-2), [
      'acquire inventory#0 takeover-1',
      'release inventory#0 takeover-1',
    ]);
    assert.equal(limits.slots.size, 0);
  });

  it('takes no slot for a system without a concurrency limit', async () => {
    const { deps, store, limits } = await setup(1, {});

    await runItem(deps, dispatch(1), 'delivery-1');

    assert.equal(store.item(ORDER, keyOf(1)).state, 'Completed');
    assert.deepEqual(limits.log, []);
  });

  it('applies the limits of the system as it is configured now, not as the bundled catalog has them', async () => {
    // Prepare: the catalog has no limit; the configuration table has one connection.
    const system = heldSystem();
    const { deps, store, http, queue, config } = await setup(2, {}, system.responder);
    const inventory = config.systems.get('inventory');
    assert.ok(inventory);
    inventory.limits = { maxConcurrentCallouts: 1 };
    const first = runItem(deps, dispatch(1), 'delivery-1');
    await until(() => system.held.length === 1, 'the first call is in flight');

    // Act
    await runItem(deps, dispatch(2), 'delivery-2');

    // Assess
    assert.equal(http.requests.length, 1);
    assert.equal(store.item(ORDER, keyOf(2)).state, 'Pending');
    assert.deepEqual(
      queue.sent.map((s) => s.message.itemKey),
      [keyOf(2)],
    );

    system.held[0]?.resolve(jsonAnswer(201, { portId: 'P-7' }));
    await first;
  });

  it('fails an item whose interface is not configured, without taking a slot or calling', async (t) => {
    // Prepare: the configuration table lost the interface (the catalog was never seeded with it).
    quietLogs(t);
    const { deps, store, http, limits, config } = await setup(1, { maxConcurrentCallouts: 1 });
    config.interfaces.delete('reserve-port');

    // Act
    await runItem(deps, dispatch(1), 'delivery-1');

    // Assess
    const item = store.item(ORDER, keyOf(1));
    assert.equal(item.state, 'FatallyFailed');
    assert.match(item.error ?? '', /system interface "reserve-port" or its system is not configured/);
    assert.equal(http.requests.length, 0);
    assert.deepEqual(limits.log, []);
  });
});

describe('runItem under a rate limit', () => {
  it('spaces callouts that arrive at the same instant 1/perSecond apart', async () => {
    // Prepare: four callouts a second; the clock stands still.
    const { deps, store, http, sleeps } = await setup(4, { maxCalloutsPerSecond: 4 });

    // Act
    for (const line of [1, 2, 3, 4]) await runItem(deps, dispatch(line), `delivery-${line}`);

    // Assess: waits of 0 (the first starts at once and does not sleep), 250, 500 and 750 ms.
    assert.deepEqual(sleeps, [250, 500, 750]);
    assert.equal(http.requests.length, 4);
    for (const line of [1, 2, 3, 4]) assert.equal(store.item(ORDER, keyOf(line)).state, 'Completed');
  });

  it('spaces concurrent callouts the same way', async () => {
    const { deps, http, sleeps } = await setup(5, { maxCalloutsPerSecond: 4 });

    await Promise.all([1, 2, 3, 4, 5].map((line) => runItem(deps, dispatch(line), `delivery-${line}`)));

    assert.deepEqual(
      [...sleeps].sort((a, b) => a - b),
      [250, 500, 750, 1000],
    );
    assert.equal(http.requests.length, 5);
  });

  for (const { late, every, sleepsSeen, sentAt, nextStart, what } of [
    {
      late: 100,
      every: false,
      sleepsSeen: [250],
      sentAt: 350,
      nextStart: 500,
      what: 'sends a callout that wakes within its tolerance of its turn',
    },
    {
      late: 200,
      every: false,
      sleepsSeen: [250, 50],
      sentAt: 500,
      nextStart: 750,
      what: 'takes a new turn for a callout that wakes later than that, rather than bunch it with those on time',
    },
    {
      late: 200,
      every: true,
      sleepsSeen: [250, 50, 50],
      sentAt: 950,
      nextStart: 1000,
      what: `sends on its turn however late once it has taken MAX_LATE_TURNS new ones`,
    },
  ]) {
    it(what, async () => {
      // Prepare: four a second (turns 250 ms apart, 125 ms of tolerance); the first callout has taken
      // T0, and the worker's sleeps overrun by \`late\` ms (the first, or every one), as on a busy machine.
      assert.equal(turnTolerance(4), 125);
      assert.equal(MAX_LATE_TURNS, 2);
      const sent: number[] = [];
      const { deps, limits, clock, sleeps } = await setup(2, { maxCalloutsPerSecond: 4 }, (request) => {
        sent.push(clock.ms);
        return answersAtOnce(request);
      });
      await runItem(deps, dispatch(1), 'delivery-1');
      let overrun = late;
      deps.sleep = async (ms) => {
        sleeps.push(ms);
        clock.ms += ms + overrun;
        if (!every) overrun = 0;
      };

      // Act
      await runItem(deps, dispatch(2), 'delivery-2');

      // Assess
      assert.deepEqual(sleeps, sleepsSeen);
      assert.deepEqual(sent, [T0, T0 + sentAt]);
      assert.equal(limits.nextStart.get('inventory'), T0 + nextStart);
    });
  }

  it('waits up to MAX_RATE_WAIT_MS in the worker and re-queues a callout whose turn is further away, without calling', async () => {
    // Prepare: one callout every 10 s (= MAX_RATE_WAIT_MS), so the third's turn is 20 s away. Slots
    // too, to see that the one re-queued gives its slot back.
    assert.equal(MAX_RATE_WAIT_MS, 10_000);
    const { deps, store, http, queue, limits, sleeps, clock } = await setup(3, {
      maxCalloutsPerSecond: 0.1,
      maxConcurrentCallouts: 3,
    });

    // Act
    for (const line of [1, 2, 3]) await runItem(deps, dispatch(line), `delivery-${line}`);

    // Assess: a wait of exactly the maximum is still waited.
    assert.deepEqual(sleeps, [10_000]);
    assert.equal(http.requests.length, 2);
    assert.equal(store.item(ORDER, keyOf(2)).state, 'Completed');
    const third = store.item(ORDER, keyOf(3));
    assert.equal(third.state, 'Pending');
    assert.equal(third.history.length, 1);
    // It may ask again when its turn is MAX_RATE_WAIT_MS away: at T0 + 10 s.
    assert.deepEqual(queue.sent, [
      { message: { kind: 'start', orderId: ORDER, itemKey: keyOf(3) }, delaySeconds: 10 },
    ]);
    assert.equal(limits.slots.size, 0);
    assert.deepEqual(
      limits.log.filter((entry) => entry.endsWith(' delivery-3')),
      ['acquire inventory#0 delivery-3', 'release inventory#0 delivery-3'],
    );

    // Act: the delayed message comes 10 s later.
    clock.ms = T0 + 10_000;
    await runItem(deps, { kind: 'start', orderId: ORDER, itemKey: keyOf(3) }, 'delayed-1');

    // Assess: its turn (T0 + 20 s) is now within reach.
    assert.deepEqual(sleeps, [10_000, 10_000]);
    assert.equal(http.requests.length, 3);
    assert.equal(store.item(ORDER, keyOf(3)).state, 'Completed');
    assert.equal(limits.slots.size, 0);
  });

  it('re-queues with a delay of at least one second when the turn is only just too far', async () => {
    // Prepare: another worker's reservations already reach MAX_RATE_WAIT_MS + 250 ms ahead.
    const { deps, http, queue, limits } = await setup(1, { maxCalloutsPerSecond: 4 });
    limits.nextStart.set('inventory', T0 + MAX_RATE_WAIT_MS + 250);

    // Act
    await runItem(deps, dispatch(1), 'delivery-1');

    // Assess
    assert.equal(http.requests.length, 0);
    assert.deepEqual(
      queue.sent.map((s) => s.delaySeconds),
      [1],
    );
    assert.equal(limits.nextStart.get('inventory'), T0 + MAX_RATE_WAIT_MS + 250, 'nothing reserved');
  });
});

describe('the idempotency key', () => {
  it('is the same on the redelivery that takes over from a worker that died mid-callout', async () => {
    // Prepare: the first delivery's call never comes back (its worker died); one slot, which it holds.
    const system = heldSystem();
    const { deps, store, http, limits } = await setup(1, { maxConcurrentCallouts: 1 }, system.responder);
    void runItem(deps, dispatch(1), 'delivery-1');
    await until(() => system.held.length === 1, 'the first call is in flight');

    // Act: the message is delivered again (same message, same delivery id) after its visibility timeout.
    system.state.holding = false;
    await runItem(deps, dispatch(1), 'delivery-1');

    // Assess
    assert.equal(http.requests.length, 2);
    const keys = http.requests.map((r) => r.headers['idempotency-key']);
    assert.deepEqual(keys, [`${ORDER}.${keyOf(1)}`, `${ORDER}.${keyOf(1)}`]);
    const item = store.item(ORDER, keyOf(1));
    assert.equal(item.state, 'Completed');
    assert.equal(item.attemptId, 'delivery-1');
    assert.equal(limits.slots.size, 0);
  });

  it('is the same on the second send after a 401 under OAuth2, and differs between items', async () => {
    // Prepare: the inventory wants an OAuth2 token and refuses the first one.
    let reservations = 0;
    let tokens = 0;
    const { deps, http, store } = await setup(
      2,
      {},
      (request) => {
        if (request.url.endsWith('/oauth/token')) {
          tokens++;
          return jsonAnswer(200, { access_token: `token-${tokens}`, expires_in: 3600 });
        }
        reservations++;
        return reservations === 1
          ? jsonAnswer(401, { message: 'expired' })
          : jsonAnswer(201, { portId: 'P-7' });
      },
      (catalog) => {
        catalog.authProfiles['inventory-oauth'] = {
          id: 'inventory-oauth',
          type: 'oauth2-client-credentials',
          tokenUrl: '/oauth/token',
        };
        const inventory = catalog.systems.inventory;
        assert.ok(inventory);
        inventory.authProfile = 'inventory-oauth';
      },
      { 'inventory-oauth': { clientId: 'switchboard', clientSecret: 'client-secret-value' } },
    );

    // Act
    await runItem(deps, dispatch(1), 'delivery-1');
    await runItem(deps, dispatch(2), 'delivery-2');

    // Assess
    const sends = http.requests.filter((r) => r.url.includes('/ports/reservations'));
    assert.deepEqual(
      sends.map((r) => [r.headers['idempotency-key'], r.headers.authorization]),
      [
        [`${ORDER}.${keyOf(1)}`, 'Bearer token-1'],
        [`${ORDER}.${keyOf(1)}`, 'Bearer token-2'],
        [`${ORDER}.${keyOf(2)}`, 'Bearer token-2'],
      ],
    );
    assert.equal(store.item(ORDER, keyOf(1)).state, 'Completed');
  });
});
