import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Authenticator } from '../../lambdas/domain/authenticator';
import type { Catalog } from '../../lambdas/domain/catalog';
import { decompose } from '../../lambdas/domain/decompose';
import type { ItemRecord } from '../../lambdas/domain/orchestration';
import { productOrderCreateSchema } from '../../lambdas/domain/product-order';
import { finish } from '../../lambdas/use-cases/item-effects';
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
  RecordingWorkQueue,
  ScriptedHttpClient,
  steppingClock,
  testCallbacks,
} from './fixtures/fake-ports';
import { InMemoryOrderStore } from './fixtures/in-memory-order-store';

const ORDER = 'o-1';
/** The `fan` plan's milestones: A and B need nothing, C needs both, D and E need A. */
const A = 'fan.a.1';
const B = 'fan.b.1';
const C = 'fan.c.1';
const D = 'fan.d.1';
const E = 'fan.e.1';

/** The DSL catalog plus `fan`, a plan of milestones only, so that no item calls a system. */
function fanCatalog(): Catalog {
  const catalog = dslCatalog();
  catalog.plans.fan = planDefinitionSchema.parse({
    id: 'fan',
    fulfils: [{ offering: 'fan' }],
    items: [
      { id: 'a', type: 'milestone' },
      { id: 'b', type: 'milestone' },
      { id: 'c', type: 'milestone', dependsOn: ['a', 'b'] },
      { id: 'd', type: 'milestone', dependsOn: ['a'] },
      { id: 'e', type: 'milestone', dependsOn: ['a'] },
    ],
  });
  catalog.offerings.fan = offering('fan', LINE_CHARACTERISTICS);
  return catalog;
}

type Read =
  | { method: 'getAggregate' | 'getOrder'; orderId: string }
  | { method: 'getItem'; orderId: string; key: string }
  | { method: 'getProgressWith'; orderId: string; keys: string[] };

/** The in-memory store, keeping every read it is asked for in order. */
class ReadRecordingOrderStore extends InMemoryOrderStore {
  readonly reads: Read[] = [];
  override async getAggregate(orderId: string) {
    this.reads.push({ method: 'getAggregate', orderId });
    return super.getAggregate(orderId);
  }
  override async getProgressWith(orderId: string, keys: string[]) {
    this.reads.push({ method: 'getProgressWith', orderId, keys: [...keys] });
    return super.getProgressWith(orderId, keys);
  }
  override async getItem(orderId: string, key: string) {
    this.reads.push({ method: 'getItem', orderId, key });
    return super.getItem(orderId, key);
  }
  override async getOrder(orderId: string) {
    this.reads.push({ method: 'getOrder', orderId });
    return super.getOrder(orderId);
  }
  /** Forgets the reads so far: what a test prepared is not what it assesses. */
  forgetReads(): void {
    this.reads.length = 0;
  }
}

/** Stores a one-line `fan` order and returns the worker's dependencies around in-memory fakes. */
async function setup() {
  const catalog = fanCatalog();
  const [line] = dslOrderBody().productOrderItem as Record<string, unknown>[];
  const submitted = productOrderCreateSchema.parse({
    ...dslOrderBody(),
    productOrderItem: [{ ...line, productOffering: { id: 'fan' } }],
  });
  const store = new ReadRecordingOrderStore();
  const { order, items } = decompose(catalog, ORDER, submitted, '2025-03-01T09:00:00.000Z');
  assert.deepEqual(
    items.map((item) => [item.key, item.dependsOn]),
    [
      [A, []],
      [B, []],
      [C, [A, B]],
      [D, [A]],
      [E, [A]],
    ],
  );
  await store.createOrder(order, items);
  const http = new ScriptedHttpClient(() => jsonAnswer(500, { error: 'no system is called' }));
  const queue = new RecordingWorkQueue();
  const tasks = new RecordingPlanTasks();
  const now = steppingClock();
  const deps: RunItemDeps = {
    store,
    tasks,
    queue,
    http,
    catalog,
    config: InMemoryConfigurationStore.seededFrom(catalog),
    limits: new InMemoryCalloutLimits(),
    auth: new Authenticator(new StaticSecretStore({}), http, now),
    now,
    telemetry: new RecordingTelemetry(),
    callbacks: testCallbacks,
    events: new RecordingAvailabilityEvents(),
    rules: new InMemoryRetryRuleStore(),
    sleep: async () => {},
  };
  return { deps, store, queue, tasks, http };
}

const dispatch = (itemKey: string, taskToken: string) => ({ orderId: ORDER, itemKey, taskToken });
const start = (itemKey: string) => ({ kind: 'start' as const, orderId: ORDER, itemKey });

/** A getProgressWith read's keys in a stable order: which keys are read matters, not in what order. */
const sortedKeys = (read: Read | undefined): string[] => {
  assert.equal(read?.method, 'getProgressWith');
  return [...read.keys].sort();
};

/** Completes an item in the store as a delivery would, without finishing it; returns it as completed. */
async function complete(store: InMemoryOrderStore, key: string): Promise<ItemRecord> {
  const at = '2025-03-01T09:30:00.000Z';
  assert.equal(await store.claimItem(ORDER, key, `delivery-${key}`, at, 'prerequisites done; started'), true);
  assert.equal(await store.completeItem(ORDER, key, `delivery-${key}`, {}, at), true);
  return store.item(ORDER, key);
}

describe('runItem: a dispatch whose prerequisites are not done', () => {
  it('keeps the token and reads only the order and that item, not the whole order', async () => {
    // Prepare
    const { deps, store, queue, tasks, http } = await setup();

    // Act
    await runItem(deps, dispatch(C, 'token-c'), 'delivery-1');

    // Assess
    assert.deepEqual(store.reads, [{ method: 'getProgressWith', orderId: ORDER, keys: [C] }]);
    const waiting = store.item(ORDER, C);
    assert.equal(waiting.state, 'Pending');
    assert.deepEqual(waiting.taskTokens, ['token-c']);
    assert.equal(waiting.history.length, 1);
    assert.deepEqual(queue.sent, []);
    assert.deepEqual(tasks.answers, []);
    assert.equal(http.requests.length, 0);
    assert.equal(store.order(ORDER).state, 'acknowledged');
  });

  it('reads only that item too when one of its prerequisites is done and another is not', async () => {
    // Prepare: A completes; C still waits for B.
    const { deps, store, queue } = await setup();
    await runItem(deps, dispatch(A, 'token-a'), 'delivery-1');
    assert.deepEqual(store.done(ORDER), [A]);
    store.forgetReads();

    // Act
    await runItem(deps, dispatch(C, 'token-c'), 'delivery-2');

    // Assess
    assert.deepEqual(store.reads, [{ method: 'getProgressWith', orderId: ORDER, keys: [C] }]);
    assert.equal(store.item(ORDER, C).state, 'Pending');
    assert.deepEqual(store.item(ORDER, C).taskTokens, ['token-c']);
    assert.deepEqual(queue.sent, []);
  });

  it('goes on to read the whole order and run an item whose prerequisites are done', async () => {
    // Prepare: A and B complete, so C's prerequisites are done when its dispatch comes.
    const { deps, store, tasks } = await setup();
    await runItem(deps, dispatch(A, 'token-a'), 'delivery-1');
    await runItem(deps, dispatch(B, 'token-b'), 'delivery-2');
    store.forgetReads();

    // Act
    await runItem(deps, dispatch(C, 'token-c'), 'delivery-3');

    // Assess
    assert.deepEqual(store.reads.slice(0, 2), [
      { method: 'getProgressWith', orderId: ORDER, keys: [C] },
      { method: 'getAggregate', orderId: ORDER },
    ]);
    assert.equal(store.item(ORDER, C).state, 'Completed');
    assert.deepEqual(tasks.answers.at(-1), {
      taskToken: 'token-c',
      output: { itemKey: C, state: 'Completed' },
    });
  });
});

describe('finish: reading the item and its dependents', () => {
  it('reads only the item and its dependents, answers its tokens and starts the dependents now ready', async () => {
    // Prepare: C and D wait with tokens (C for B too), E has no token yet, and B, which needs nothing,
    // has its token but is no dependent of A. A completed; a re-run execution's token reached A after
    // the aggregate was read.
    const { deps, store, queue, tasks } = await setup();
    await runItem(deps, dispatch(C, 'token-c'), 'delivery-c');
    await runItem(deps, dispatch(D, 'token-d'), 'delivery-d');
    assert.equal(await store.attachTaskToken(ORDER, A, 'token-a', '2025-03-01T09:10:00.000Z'), true);
    assert.equal(await store.attachTaskToken(ORDER, B, 'token-b', '2025-03-01T09:10:00.000Z'), true);
    const completed = await complete(store, A);
    const aggregate = await store.getAggregate(ORDER);
    assert.ok(aggregate);
    assert.equal(await store.attachTaskToken(ORDER, A, 'token-a-rerun', '2025-03-01T09:40:00.000Z'), true);
    store.forgetReads();

    // Act
    await finish(deps, aggregate, completed);

    // Assess
    assert.equal(store.reads.length, 1);
    assert.deepEqual(sortedKeys(store.reads[0]), [A, C, D, E]);
    assert.deepEqual(store.done(ORDER), [A]);
    assert.deepEqual(tasks.answers.map((answer) => answer.taskToken).sort(), ['token-a', 'token-a-rerun']);
    for (const answer of tasks.answers) assert.deepEqual(answer.output, { itemKey: A, state: 'Completed' });
    // Not C (B is not done), not E (no token), not B (it does not depend on A).
    assert.deepEqual(queue.sent, [start(D)]);
  });

  it('starts a dependent once its last prerequisite finishes, and not before', async () => {
    // Prepare: C waits with a token for A and B.
    const { deps, store, queue } = await setup();
    await runItem(deps, dispatch(C, 'token-c'), 'delivery-c');

    // Act: A finishes first.
    const afterA = await store.getAggregate(ORDER);
    assert.ok(afterA);
    await finish(deps, afterA, await complete(store, A));

    // Assess
    assert.deepEqual(queue.sent, []);

    // Act: then B.
    const afterB = await store.getAggregate(ORDER);
    assert.ok(afterB);
    store.forgetReads();
    await finish(deps, afterB, await complete(store, B));

    // Assess
    assert.deepEqual(store.reads.map(sortedKeys), [[B, C]]);
    assert.deepEqual(queue.sent, [start(C)]);
  });

  it('does not start a dependent that is no longer Pending', async () => {
    // Prepare: D has a token but another delivery already runs it.
    const { deps, store, queue } = await setup();
    await runItem(deps, dispatch(D, 'token-d'), 'delivery-d');
    const completed = await complete(store, A);
    const aggregate = await store.getAggregate(ORDER);
    assert.ok(aggregate);
    assert.equal(
      await store.claimItem(ORDER, D, 'other-delivery', '2025-03-01T09:45:00.000Z', 'started'),
      true,
    );

    // Act
    await finish(deps, aggregate, completed);

    // Assess
    assert.deepEqual(queue.sent, []);
  });

  it('after a dispatched item completes in the worker, reads the whole order once and its dependents after', async () => {
    // Prepare: C and D wait with tokens.
    const { deps, store, queue, tasks } = await setup();
    await runItem(deps, dispatch(C, 'token-c'), 'delivery-c');
    await runItem(deps, dispatch(D, 'token-d'), 'delivery-d');
    store.forgetReads();

    // Act
    await runItem(deps, dispatch(A, 'token-a'), 'delivery-a');

    // Assess: A is where its plan starts, so its dispatch reads nothing for prerequisites: the worker's
    // read of the item to run, then finish's read.
    assert.deepEqual(
      store.reads.map((read) => read.method),
      ['getAggregate', 'getProgressWith'],
    );
    assert.deepEqual(sortedKeys(store.reads[1]), [A, C, D, E]);
    assert.equal(store.item(ORDER, A).state, 'Completed');
    assert.deepEqual(tasks.answers, [{ taskToken: 'token-a', output: { itemKey: A, state: 'Completed' } }]);
    assert.deepEqual(queue.sent, [start(D)]);
  });
});
