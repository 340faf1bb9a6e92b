import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import type { Catalog } from '../../lambdas/domain/catalog';
import { decompose } from '../../lambdas/domain/decompose';
import { CalloutError } from '../../lambdas/domain/errors';
import { productOrderCreateSchema } from '../../lambdas/domain/product-order';
import type { HttpResponse } from '../../lambdas/ports/http-client';
import { type RunItemDeps, runItem } from '../../lambdas/use-cases/run-item';
import { planDefinitionSchema } from '../../statemachines/plan-definition';
import { dslCatalog, dslOrderBody } from './fixtures/catalogs';
import {
  deferred,
  jsonAnswer,
  RecordingPlanTasks,
  RecordingWorkQueue,
  type Responder,
  ScriptedHttpClient,
  steppingClock,
} from './fixtures/fake-ports';
import { InMemoryOrderStore } from './fixtures/in-memory-order-store';

const ORDER = 'o-1';

/** The DSL catalog plus a plan of a single callout, so that one item completes the whole order. */
function catalogWithPortOnly(): Catalog {
  const catalog = dslCatalog();
  catalog.plans['port-only'] = planDefinitionSchema.parse({
    id: 'port-only',
    fulfils: [{ offering: 'port-only' }],
    items: [{ id: 'reserve-port', type: 'callout', interface: 'reserve-port' }],
  });
  return catalog;
}

/** Answers like the demo systems: inventory reserves port P-7, activation activates the line. */
const systems: Responder = (request) =>
  request.url.includes('/ports/reservations')
    ? jsonAnswer(201, { portId: 'P-7' })
    : jsonAnswer(200, { active: true });

/** Stores a one-line order of `offering` and returns the worker's dependencies around in-memory fakes. */
async function setup(offering: string, responder: Responder = systems, tasks = new RecordingPlanTasks()) {
  const catalog = catalogWithPortOnly();
  const body = dslOrderBody();
  const [line] = body.productOrderItem as Record<string, unknown>[];
  const submitted = productOrderCreateSchema.parse({
    ...body,
    productOrderItem: [{ ...line, productOffering: { id: offering } }],
  });
  const store = new InMemoryOrderStore();
  const { order, items } = decompose(catalog, ORDER, submitted, '2025-03-01T09:00:00.000Z');
  await store.createOrder(order, items);
  const http = new ScriptedHttpClient(responder);
  const queue = new RecordingWorkQueue();
  const deps: RunItemDeps = { store, tasks, queue, http, catalog, now: steppingClock() };
  return { deps, store, http, queue, tasks };
}

const dispatch = (itemKey: string, taskToken: string) => ({ orderId: ORDER, itemKey, taskToken });
const start = (itemKey: string) => ({ kind: 'start' as const, orderId: ORDER, itemKey });

/** Keeps the worker's warnings and errors out of the test report, and returns what was logged. */
function quietLogs(t: TestContext): () => string[] {
  const logged = t.mock.method(console, 'error', () => {});
  return () => logged.mock.calls.map((call) => String(call.arguments[0]));
}

describe('runItem', () => {
  it('runs a dispatched item with no prerequisites once, completes it and the order, and answers its task', async () => {
    // Prepare
    const { deps, store, http, queue, tasks } = await setup('port-only');

    // Act
    await runItem(deps, dispatch('1.reserve-port', 'token-1'), 'delivery-1');

    // Assess
    assert.equal(http.requests.length, 1);
    const [request] = http.requests;
    assert.equal(request?.method, 'POST');
    assert.equal(request?.url, 'http://inventory.test:4101/api/ports/reservations');
    assert.equal(request?.headers['idempotency-key'], 'o-1.1.reserve-port');
    assert.deepEqual(JSON.parse(request?.body ?? ''), {
      orderId: ORDER,
      orderItemId: 'line-1',
      bandwidthMbps: 100,
    });
    assert.equal(request?.timeoutMs, 10_000);

    const item = store.item(ORDER, '1.reserve-port');
    assert.equal(item.state, 'Completed');
    assert.deepEqual(
      item.history.map((h) => h.state),
      ['Pending', 'Running', 'Completed'],
    );
    assert.equal(item.attemptId, 'delivery-1');
    assert.deepEqual(item.outputAttributes, { portId: 'P-7' });
    assert.equal(item.request?.url, request?.url);
    assert.equal(item.response?.status, 201);
    assert.deepEqual(item.response?.body, { portId: 'P-7' });
    assert.ok((item.response?.durationMs ?? -1) >= 0);
    assert.ok(item.completedAt);

    assert.deepEqual(store.context(ORDER), { portId: 'P-7' });
    const order = store.order(ORDER);
    assert.equal(order.state, 'completed');
    assert.deepEqual(order.doneItems, ['1.reserve-port']);
    assert.ok(order.completedAt);
    assert.deepEqual(tasks.answers, [
      { taskToken: 'token-1', output: { itemKey: '1.reserve-port', state: 'Completed' } },
    ]);
    assert.deepEqual(queue.sent, []);
  });

  it('leaves the order in progress while other items remain', async () => {
    const { deps, store } = await setup('dsl-broadband');

    await runItem(deps, dispatch('1.reserve-port', 'token-1'), 'delivery-1');

    const order = store.order(ORDER);
    assert.equal(order.state, 'inProgress');
    assert.deepEqual(order.doneItems, ['1.reserve-port']);
    assert.equal(order.completedAt, undefined);
  });

  it('does nothing but keep the token for an item whose prerequisites are not done', async () => {
    const { deps, store, http, queue, tasks } = await setup('dsl-broadband');

    await runItem(deps, dispatch('1.activate-line', 'token-2'), 'delivery-2');

    const item = store.item(ORDER, '1.activate-line');
    assert.equal(item.state, 'Pending');
    assert.deepEqual(item.taskTokens, ['token-2']);
    assert.equal(item.history.length, 1);
    assert.equal(http.requests.length, 0);
    assert.deepEqual(tasks.answers, []);
    assert.deepEqual(queue.sent, []);
    assert.equal(store.order(ORDER).state, 'acknowledged');
  });

  it('starts a dependent whose dispatch came early once its prerequisite completes, through the whole plan', async () => {
    const { deps, store, http, queue, tasks } = await setup('dsl-broadband');
    await runItem(deps, dispatch('1.done', 'token-3'), 'delivery-3');
    await runItem(deps, dispatch('1.activate-line', 'token-2'), 'delivery-2');

    // Act: the first item runs, and only the item waiting for it directly is started.
    await runItem(deps, dispatch('1.reserve-port', 'token-1'), 'delivery-1');

    // Assess
    assert.deepEqual(queue.sent, [start('1.activate-line')]);
    assert.equal(store.item(ORDER, '1.activate-line').state, 'Pending');

    // Act: the worker receives the start messages as they are queued.
    await runItem(deps, start('1.activate-line'), 'delivery-4');
    await runItem(deps, start('1.done'), 'delivery-5');

    // Assess
    assert.deepEqual(queue.sent, [start('1.activate-line'), start('1.done')]);
    assert.deepEqual(
      http.requests.map((r) => [r.method, r.url]),
      [
        ['POST', 'http://inventory.test:4101/api/ports/reservations'],
        ['PUT', 'http://activation.test:4102/lines'],
      ],
    );
    const activation = JSON.parse(http.requests[1]?.body ?? '{}');
    assert.deepEqual(activation.attributes, { portId: 'P-7' }, 'activation sees the reserved port');
    assert.deepEqual(store.context(ORDER), { portId: 'P-7', lineActive: true, activatedWith: 'P-7' });
    assert.deepEqual(
      tasks.answers.map((a) => a.taskToken),
      ['token-1', 'token-2', 'token-3'],
    );
    const order = store.order(ORDER);
    assert.equal(order.state, 'completed');
    assert.deepEqual([...order.doneItems].sort(), ['1.activate-line', '1.done', '1.reserve-port']);
  });

  it('runs an item at once when its dispatch arrives after its prerequisite completed', async () => {
    const { deps, store, queue, tasks } = await setup('dsl-broadband');
    await runItem(deps, dispatch('1.reserve-port', 'token-1'), 'delivery-1');

    await runItem(deps, dispatch('1.activate-line', 'token-2'), 'delivery-2');

    assert.deepEqual(queue.sent, [], 'no start was queued for an item without a token');
    assert.equal(store.item(ORDER, '1.activate-line').state, 'Completed');
    assert.deepEqual(
      tasks.answers.map((a) => a.taskToken),
      ['token-1', 'token-2'],
    );
  });

  it('ignores a start message for an item whose dispatch has not arrived', async () => {
    const { deps, store, http } = await setup('port-only');

    await runItem(deps, start('1.reserve-port'), 'delivery-1');

    assert.equal(store.item(ORDER, '1.reserve-port').state, 'Pending');
    assert.equal(http.requests.length, 0);
  });

  it('replays a completed item for a duplicate dispatch: no second callout, the new token answered', async () => {
    const { deps, store, http, tasks } = await setup('port-only');
    await runItem(deps, dispatch('1.reserve-port', 'token-1'), 'delivery-1');

    await runItem(deps, dispatch('1.reserve-port', 'token-rerun'), 'delivery-2');

    assert.equal(http.requests.length, 1);
    // Every token the item ever got is answered again; the first execution's answers "gone" on AWS.
    assert.deepEqual(
      tasks.answers.map((a) => a.taskToken),
      ['token-1', 'token-1', 'token-rerun'],
    );
    assert.deepEqual(tasks.answers[2]?.output, { itemKey: '1.reserve-port', state: 'Completed' });
    const item = store.item(ORDER, '1.reserve-port');
    assert.equal(item.state, 'Completed');
    assert.equal(item.history.length, 3);
    assert.deepEqual(store.context(ORDER), { portId: 'P-7' });
    assert.deepEqual(store.order(ORDER).doneItems, ['1.reserve-port']);
    assert.equal(store.order(ORDER).state, 'completed');
  });

  it('leaves an item Running under another delivery alone', async () => {
    // Prepare: a worker took the item and died mid-callout.
    const { deps, store, http, tasks } = await setup('port-only');
    await store.attachTaskToken(ORDER, '1.reserve-port', 'token-1', '2025-03-01T09:30:00.000Z');
    await store.claimItem(ORDER, '1.reserve-port', 'delivery-1', '2025-03-01T09:30:00.000Z');

    // Act: another message for the item arrives.
    await runItem(deps, dispatch('1.reserve-port', 'token-1'), 'delivery-2');

    // Assess
    const item = store.item(ORDER, '1.reserve-port');
    assert.equal(item.state, 'Running');
    assert.equal(item.attemptId, 'delivery-1');
    assert.equal(http.requests.length, 0);
    assert.deepEqual(tasks.answers, []);
  });

  it('lets the redelivery of the running message take the item over and call again', async () => {
    const { deps, store, http, tasks } = await setup('port-only');
    await store.attachTaskToken(ORDER, '1.reserve-port', 'token-1', '2025-03-01T09:30:00.000Z');
    await store.claimItem(ORDER, '1.reserve-port', 'delivery-1', '2025-03-01T09:30:00.000Z');

    await runItem(deps, dispatch('1.reserve-port', 'token-1'), 'delivery-1');

    assert.equal(http.requests.length, 1);
    assert.equal(http.requests[0]?.headers['idempotency-key'], 'o-1.1.reserve-port');
    const item = store.item(ORDER, '1.reserve-port');
    assert.equal(item.state, 'Completed');
    assert.equal(item.startedAt, '2025-03-01T09:30:00.000Z', 'the first start is kept');
    assert.deepEqual(
      tasks.answers.map((a) => a.taskToken),
      ['token-1'],
    );
  });

  it('does not call the system for a second delivery while the first is mid-callout', async () => {
    const called = deferred<void>();
    const answer = deferred<HttpResponse>();
    const { deps, store, http } = await setup('port-only', () => {
      called.resolve();
      return answer.promise;
    });
    const first = runItem(deps, dispatch('1.reserve-port', 'token-1'), 'delivery-1');
    await called.promise;

    await runItem(deps, dispatch('1.reserve-port', 'token-1'), 'delivery-2');
    answer.resolve(jsonAnswer(201, { portId: 'P-7' }));
    await first;

    assert.equal(http.requests.length, 1);
    assert.equal(store.item(ORDER, '1.reserve-port').state, 'Completed');
  });

  // Product bug: a dispatch with a new token (a re-run or redrive of the plan) that arrives while another
  // delivery runs the item is stored on the item, but the running worker answers the token of its own
  // snapshot, so the execution waiting on the new token is never answered (until its timeout).
  it('answers the task token that arrived while the item was running', async () => {
    const called = deferred<void>();
    const answer = deferred<HttpResponse>();
    const { deps, store, tasks } = await setup('port-only', () => {
      called.resolve();
      return answer.promise;
    });
    const first = runItem(deps, dispatch('1.reserve-port', 'token-1'), 'delivery-1');
    await called.promise;

    await runItem(deps, dispatch('1.reserve-port', 'token-rerun'), 'delivery-2');
    answer.resolve(jsonAnswer(201, { portId: 'P-7' }));
    await first;

    assert.ok(store.item(ORDER, '1.reserve-port').taskTokens?.includes('token-rerun'));
    assert.ok(
      tasks.answers.some((a) => a.taskToken === 'token-rerun'),
      `the waiting execution is answered; answered ${JSON.stringify(tasks.answers.map((a) => a.taskToken))}`,
    );
  });

  it('makes the item FatallyFailed and holds the order when the system answers 503', async (t) => {
    const logs = quietLogs(t);
    const { deps, store, http, queue, tasks } = await setup('dsl-broadband', () => ({
      status: 503,
      headers: { 'content-type': 'text/plain' },
      body: 'down for maintenance',
    }));
    await runItem(deps, dispatch('1.activate-line', 'token-2'), 'delivery-2');

    await runItem(deps, dispatch('1.reserve-port', 'token-1'), 'delivery-1');

    const item = store.item(ORDER, '1.reserve-port');
    assert.equal(item.state, 'FatallyFailed');
    assert.equal(item.error, 'answered 503: down for maintenance');
    assert.equal(item.history.at(-1)?.reason, 'answered 503: down for maintenance');
    assert.equal(item.request?.method, 'POST');
    assert.deepEqual([item.response?.status, item.response?.body], [503, 'down for maintenance']);
    assert.equal(item.outputAttributes, undefined);
    assert.equal(store.order(ORDER).state, 'held');
    assert.deepEqual(store.order(ORDER).doneItems, []);
    assert.deepEqual(tasks.answers, []);
    assert.deepEqual(queue.sent, []);
    assert.equal(store.item(ORDER, '1.activate-line').state, 'Pending');
    assert.equal(http.requests.length, 1);
    assert.ok(logs().some((line) => line.includes('item failed')));
  });

  it('leaves a FatallyFailed item to the operator when its message comes again', async (t) => {
    quietLogs(t);
    const { deps, store, http } = await setup('port-only', () => ({ status: 500, headers: {}, body: '' }));
    await runItem(deps, dispatch('1.reserve-port', 'token-1'), 'delivery-1');

    await runItem(deps, dispatch('1.reserve-port', 'token-1'), 'delivery-1');

    assert.equal(http.requests.length, 1);
    assert.equal(store.item(ORDER, '1.reserve-port').state, 'FatallyFailed');
    assert.equal(store.item(ORDER, '1.reserve-port').error, 'answered 500');
  });

  it('fails the item with the transport error when the system cannot be reached', async (t) => {
    quietLogs(t);
    const { deps, store } = await setup('port-only', () => {
      throw new CalloutError('timed out after 10000 ms');
    });

    await runItem(deps, dispatch('1.reserve-port', 'token-1'), 'delivery-1');

    const item = store.item(ORDER, '1.reserve-port');
    assert.equal(item.state, 'FatallyFailed');
    assert.equal(item.error, 'timed out after 10000 ms');
    assert.ok(item.request, 'the request is recorded');
    assert.equal(item.response, undefined);
    assert.equal(store.order(ORDER).state, 'held');
  });

  it('fails the item without a call when its request mapping fails', async (t) => {
    quietLogs(t);
    const { deps, store, http } = await setup('port-only');
    deps.catalog.mappings['reserve-request'] = '$nope()';

    await runItem(deps, dispatch('1.reserve-port', 'token-1'), 'delivery-1');

    const item = store.item(ORDER, '1.reserve-port');
    assert.equal(item.state, 'FatallyFailed');
    assert.match(item.error ?? '', /^mapping "reserve-request": /);
    assert.equal(http.requests.length, 0);
  });

  it('reports an unexpected error as an internal error on the item', async (t) => {
    quietLogs(t);
    const { deps, store } = await setup('port-only', () => {
      throw new TypeError('socket exploded');
    });

    await runItem(deps, dispatch('1.reserve-port', 'token-1'), 'delivery-1');

    assert.equal(store.item(ORDER, '1.reserve-port').error, 'internal error: socket exploded');
  });

  it('completes a milestone without any HTTP call', async () => {
    const { deps, store, http, tasks } = await setup('voice');

    await runItem(deps, dispatch('1.number-ported', 'token-1'), 'delivery-1');

    assert.equal(http.requests.length, 0);
    const item = store.item(ORDER, '1.number-ported');
    assert.equal(item.state, 'Completed');
    assert.equal(item.request, undefined);
    assert.deepEqual(store.context(ORDER), {});
    assert.equal(store.order(ORDER).state, 'completed');
    assert.deepEqual(
      tasks.answers.map((a) => a.taskToken),
      ['token-1'],
    );
  });

  it('still completes the item when the plan no longer waits for it', async (t) => {
    const logs = quietLogs(t);
    const { deps, store } = await setup('port-only', systems, new RecordingPlanTasks('gone'));

    await runItem(deps, dispatch('1.reserve-port', 'token-1'), 'delivery-1');

    assert.equal(store.item(ORDER, '1.reserve-port').state, 'Completed');
    assert.equal(store.order(ORDER).state, 'completed');
    assert.ok(logs().some((line) => line.includes('no longer waits for this item')));
  });

  it('drops a dispatch for an item or order that does not exist', async (t) => {
    const logs = quietLogs(t);
    const { deps, http, tasks } = await setup('port-only');

    await runItem(deps, dispatch('1.no-such-item', 'token-1'), 'delivery-1');
    await runItem(
      deps,
      { orderId: 'no-such-order', itemKey: '1.reserve-port', taskToken: 'token-2' },
      'delivery-2',
    );
    await runItem(deps, start('1.no-such-item'), 'delivery-3');

    assert.equal(http.requests.length, 0);
    assert.deepEqual(tasks.answers, []);
    assert.equal(logs().length, 3);
    assert.ok(
      logs().every((line) => !line.includes('token-')),
      'task tokens are not logged',
    );
  });
});
