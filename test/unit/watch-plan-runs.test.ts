import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decompose, runInput } from '../../lambdas/domain/decompose';
import type { EndedRun } from '../../lambdas/domain/item-decisions';
import { productOrderCreateSchema } from '../../lambdas/domain/product-order';
import { handleWatch } from '../../lambdas/plan-run-watcher/handler';
import {
  planRunEnded,
  sweep,
  UNSTARTED_AFTER_MS,
  type WatchDeps,
} from '../../lambdas/use-cases/watch-plan-runs';
import { dslCatalog, dslOrderBody } from './fixtures/catalogs';
import { InMemoryConfigurationStore } from './fixtures/configuration';
import {
  RecordingAvailabilityEvents,
  RecordingPlanRunner,
  RecordingPlanTasks,
  RecordingTelemetry,
  RecordingWorkQueue,
} from './fixtures/fake-ports';
import { InMemoryOrderStore } from './fixtures/in-memory-order-store';

const CREATED = '2025-03-01T09:00:00.000Z';
const NOW = '2025-03-01T10:00:00.000Z';
const RESERVE = 'dsl-broadband.reserve-port.1';
const ACTIVATE = 'dsl-broadband.activate-line.1';
const DONE = 'dsl-broadband.done.1';
const TIMED_OUT: EndedRun = { executionName: 'o-1-1', status: 'TIMED_OUT', cause: 'States.Timeout' };

/** A one-line DSL order, its plan dispatched (every item has its task token) unless told otherwise. */
async function setup(options: { dispatched?: string[]; createdAt?: string } = {}) {
  const catalog = dslCatalog();
  const submitted = productOrderCreateSchema.parse(dslOrderBody());
  const { order, items, runs } = decompose(catalog, 'o-1', submitted, options.createdAt ?? CREATED);
  const store = new InMemoryOrderStore();
  await store.createOrder(order, items);
  for (const key of options.dispatched ?? order.itemKeys)
    await store.attachTaskToken('o-1', key, `token-${key}`, CREATED);
  const plans = new RecordingPlanRunner();
  const config = InMemoryConfigurationStore.seededFrom(catalog);
  const events = new RecordingAvailabilityEvents();
  const deps: WatchDeps = {
    store,
    queue: new RecordingWorkQueue(),
    tasks: new RecordingPlanTasks(),
    plans,
    config,
    events,
    now: () => new Date(NOW),
    telemetry: new RecordingTelemetry(),
  };
  return { deps, store, plans, runs, config, events };
}

describe('a plan run that ends abnormally', () => {
  it('puts the item it was waiting on in fallout, naming the run and how it ended, and holds the order', async () => {
    // Prepare: reserve-port runs; the rest wait for it.
    const { deps, store } = await setup();
    assert.ok(await store.setOrderState('o-1', ['acknowledged'], 'inProgress', CREATED));
    assert.ok(await store.claimItem('o-1', RESERVE, 'delivery-1', CREATED, 'started', CREATED));

    // Act
    const summary = await planRunEnded(deps, 'o-1', TIMED_OUT);

    // Assess
    assert.deepEqual(summary, { fallout: [RESERVE] });
    const reserve = store.item('o-1', RESERVE);
    assert.equal(reserve.state, 'FatallyFailed');
    assert.equal(reserve.error, 'its plan run o-1-1 timed out: States.Timeout');
    for (const key of [ACTIVATE, DONE])
      assert.equal(store.item('o-1', key).state, 'Pending', `${key} starts when its prerequisites are done`);
    assert.equal(store.order('o-1').state, 'held');
    assert.deepEqual(store.order('o-1').holds, [RESERVE]);
    const fallout = await store.listFallout({ limit: 10 });
    assert.deepEqual(
      fallout.items.map((i) => i.key),
      [RESERVE],
    );
  });

  it('changes nothing the second time it is announced', async () => {
    const { deps, store } = await setup();
    await planRunEnded(deps, 'o-1', TIMED_OUT);
    const version = store.item('o-1', RESERVE).version;

    assert.deepEqual(await planRunEnded(deps, 'o-1', TIMED_OUT), { fallout: [] });
    assert.equal(store.item('o-1', RESERVE).version, version);
  });

  it('puts an item its run never dispatched in fallout too: nothing else would ever start it', async () => {
    const { deps, store } = await setup({ dispatched: [RESERVE] });
    await store.claimItem('o-1', RESERVE, 'delivery-1', CREATED, 'started');
    await store.completeItem('o-1', RESERVE, 'delivery-1', {}, CREATED);
    await store.markItemDone('o-1', RESERVE, undefined);

    const { fallout } = await planRunEnded(deps, 'o-1', {
      executionName: 'o-1-1',
      status: 'ABORTED',
      cause: '',
    });

    assert.deepEqual(fallout.sort(), [ACTIVATE, DONE].sort());
    assert.equal(store.item('o-1', DONE).error, 'its plan run o-1-1 was stopped');
    assert.equal(store.item('o-1', RESERVE).state, 'Completed');
  });

  it('changes nothing of an order that ended, or for a run the order does not have', async () => {
    const { deps, store } = await setup();
    assert.deepEqual(await planRunEnded(deps, 'o-1', { ...TIMED_OUT, executionName: 'o-2-1' }), {
      fallout: [],
      because: 'order "o-1" has no plan run o-2-1',
    });
    assert.ok(await store.setOrderState('o-1', ['acknowledged'], 'failed', CREATED));
    assert.deepEqual(await planRunEnded(deps, 'o-1', TIMED_OUT), {
      fallout: [],
      because: 'the order is failed',
    });
    assert.equal(store.item('o-1', RESERVE).state, 'Pending');
  });
});

describe('the sweep', () => {
  it('starts the plan runs of an order left acknowledged, with the input they were first given', async () => {
    const { deps, plans, runs, store } = await setup({ dispatched: [] });

    const summary = await sweep(deps);

    assert.deepEqual(summary, { started: ['o-1'], released: [], resumed: [], releasesAsked: [] });
    assert.deepEqual([...plans.started], ['o-1-1']);
    const [run] = runs;
    assert.ok(run);
    const [planRun] = store.order('o-1').planRuns;
    assert.ok(planRun);
    assert.deepEqual(runInput(store.order('o-1'), planRun), run.input);
  });

  it(`leaves an order acknowledged less than ${UNSTARTED_AFTER_MS / 1000} s ago alone`, async () => {
    const justNow = new Date(Date.parse(NOW) - UNSTARTED_AFTER_MS + 1000).toISOString();
    const { deps, plans } = await setup({ createdAt: justNow });

    assert.deepEqual(await sweep(deps), { started: [], released: [], resumed: [], releasesAsked: [] });
    assert.equal(plans.calls, 0);
  });

  it('lets go of a hold whose item is neither On Hold nor in fallout, and keeps those that are', async () => {
    // Prepare: reserve-port was released and completed, but its worker died before letting its order go;
    // activate-line is really in fallout.
    const { deps, store } = await setup();
    assert.ok(await store.setOrderState('o-1', ['acknowledged'], 'inProgress', CREATED));
    await store.claimItem('o-1', RESERVE, 'd-1', CREATED, 'started');
    await store.completeItem('o-1', RESERVE, 'd-1', {}, CREATED);
    await store.holdOrder('o-1', RESERVE, CREATED);
    await store.claimItem('o-1', ACTIVATE, 'd-2', CREATED, 'started');
    await store.failItem('o-1', ACTIVATE, 'd-2', 'HTTP 400', {}, CREATED);
    await store.holdOrder('o-1', ACTIVATE, CREATED);

    const summary = await sweep(deps);

    assert.deepEqual(summary, { started: [], released: [`o-1.${RESERVE}`], resumed: [], releasesAsked: [] });
    assert.deepEqual(store.order('o-1').holds, [ACTIVATE]);
    assert.equal(store.order('o-1').state, 'held');
  });
});

describe('the sweep, for items whose worker died', () => {
  it('sends a Running item whose lease ran out back to work, as a delivery of its own, and leaves a live one', async () => {
    // Prepare: reserve-port's worker died (its lease ran out a second ago); activate-line's still holds it.
    const { deps, store } = await setup();
    assert.ok(await store.setOrderState('o-1', ['acknowledged'], 'inProgress', CREATED));
    const second = (s: number) => new Date(Date.parse(NOW) + s * 1000).toISOString();
    assert.ok(await store.claimItem('o-1', RESERVE, 'd-1', CREATED, 'started', second(-1)));
    assert.ok(await store.claimItem('o-1', ACTIVATE, 'd-2', CREATED, 'started', second(15)));

    const summary = await sweep(deps);

    assert.deepEqual(summary.resumed, [`o-1.${RESERVE}`]);
    assert.deepEqual((deps.queue as RecordingWorkQueue).sent, [
      { kind: 'start', orderId: 'o-1', itemKey: RESERVE },
    ]);
  });
});

describe('the sweep, for held items no release is sending', () => {
  const minutesAgo = (m: number) => new Date(Date.parse(NOW) - m * 60_000).toISOString();
  const holdOn = (systemId: string, interfaceId: string) => ({
    systemId,
    interfaceId,
    reason: `system "${systemId}" is Down`,
    since: minutesAgo(10),
  });

  it('asks for a release of an available system whose held item a release stamped and then died with', async () => {
    // Prepare: inventory is Up again; its release stamped reserve-port six minutes ago and died.
    const { deps, store, events } = await setup();
    assert.ok(
      await store.holdItem('o-1', RESERVE, 'd-1', holdOn('inventory', 'reserve-port'), minutesAgo(10)),
    );
    assert.ok(await store.stampRelease('o-1', RESERVE, 'release-1', minutesAgo(6), minutesAgo(11)));

    // Act
    const summary = await sweep(deps);

    // Assess: one release of inventory, a new one (its stamps take over the stale one).
    assert.deepEqual(summary.releasesAsked, ['inventory']);
    const [asked] = events.announced;
    assert.equal(asked?.type, 'releaseRequested');
    assert.equal(asked?.type === 'releaseRequested' && asked.request.systemId, 'inventory');
    assert.notEqual(asked?.type === 'releaseRequested' && asked.request.releaseId, 'release-1');
  });

  it('asks for none while a live release sends the item, its system is Down, or its interface is Offline', async () => {
    const { deps, store, config, events } = await setup();
    const change = { by: { id: 'op', name: 'Op' }, reason: 'test', cause: 'operator' as const, at: NOW };
    // A live release stamped reserve-port a minute ago.
    assert.ok(
      await store.holdItem('o-1', RESERVE, 'd-1', holdOn('inventory', 'reserve-port'), minutesAgo(10)),
    );
    assert.ok(await store.stampRelease('o-1', RESERVE, 'release-1', minutesAgo(1), minutesAgo(6)));
    // activate-line waits for activation, which is Down.
    assert.ok(
      await store.holdItem('o-1', ACTIVATE, 'd-2', holdOn('activation', 'activate-line'), minutesAgo(10)),
    );
    await config.setSystemState('activation', 'Down', change);
    const live = await sweep(deps);
    // Activation comes back, but its interface is Offline.
    await config.setSystemState('activation', 'Up', change);
    await config.setInterfaceStatus('activate-line', 'Offline', change);
    const offline = await sweep(deps);

    assert.deepEqual(live.releasesAsked, []);
    assert.deepEqual(offline.releasesAsked, []);
    assert.deepEqual(events.announced, []);
  });
});

describe('the plan-run watcher handler', () => {
  const event = (detailType: string, detail: unknown) =>
    ({ 'detail-type': detailType, detail }) as Parameters<typeof handleWatch>[1];

  it("reads Step Functions' announcement: the order from the run's input, the error and cause as one", async () => {
    const { deps, store } = await setup();
    await handleWatch(
      deps,
      event('Step Functions Execution Status Change', {
        name: 'o-1-1',
        status: 'FAILED',
        input: JSON.stringify({ orderId: 'o-1', lines: ['1'] }),
        error: 'States.Runtime',
        cause: 'the work queue is gone',
      }),
    );
    assert.equal(
      store.item('o-1', RESERVE).error,
      'its plan run o-1-1 failed: States.Runtime: the work queue is gone',
    );
  });

  it('refuses what it cannot read, so that the dead-letter queue keeps it', async () => {
    const { deps } = await setup();
    await assert.rejects(handleWatch(deps, event('Something Else', {})), /does not handle "Something Else"/);
    await assert.rejects(
      handleWatch(
        deps,
        event('Step Functions Execution Status Change', { name: 'o-1-1', status: 'RUNNING' }),
      ),
      /status/,
    );
    await assert.rejects(
      handleWatch(deps, event('Step Functions Execution Status Change', { name: 'o-1-1', status: 'FAILED' })),
      /announced without its input/,
    );
  });

  it('sweeps on the schedule', async () => {
    const { deps, plans } = await setup({ dispatched: [] });
    assert.deepEqual(await handleWatch(deps, event('Scheduled Event', {})), {
      started: ['o-1'],
      released: [],
      resumed: [],
      releasesAsked: [],
    });
    assert.equal(plans.started.size, 1);
  });
});
