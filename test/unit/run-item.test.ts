import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { Authenticator } from '../../lambdas/domain/authenticator';
import type { Catalog } from '../../lambdas/domain/catalog';
import { decompose } from '../../lambdas/domain/decompose';
import { CalloutError } from '../../lambdas/domain/errors';
import { productOrderCreateSchema } from '../../lambdas/domain/product-order';
import type { Actor } from '../../lambdas/domain/roles';
import type { HttpResponse } from '../../lambdas/ports/http-client';
import { runItem } from '../../lambdas/use-cases/run-item';
import type { RunItemDeps } from '../../lambdas/use-cases/run-item-deps';
import { planDefinitionSchema } from '../../statemachines/plan-definition';
import { dslCatalog, dslOrderBody, LINE_CHARACTERISTICS, offering, tvLine } from './fixtures/catalogs';
import {
  InMemoryCalloutLimits,
  InMemoryConfigurationStore,
  InMemoryRetryRuleStore,
  StaticSecretStore,
} from './fixtures/configuration';
import {
  deferred,
  jsonAnswer,
  RecordingAvailabilityEvents,
  RecordingPlanTasks,
  RecordingTelemetry,
  RecordingWorkQueue,
  type Responder,
  ScriptedHttpClient,
  steppingClock,
  testCallbacks,
} from './fixtures/fake-ports';
import { InMemoryOrderStore } from './fixtures/in-memory-order-store';
import { capturedLogs } from './fixtures/logs';
import { withoutRetries } from './fixtures/retry-rules';

const OPERATOR: Actor = { id: 'op-1', name: 'Olga Operator' };

const ORDER = 'o-1';
const PORT = 'port-only.reserve-port.1';
const RESERVE = 'dsl-broadband.reserve-port.1';
const ACTIVATE = 'dsl-broadband.activate-line.1';
const DONE = 'dsl-broadband.done.1';
const VOICE = 'voice.number-ported.1';

/** The DSL catalog plus a plan of a single callout, so that one item completes the whole order. */
function catalogWithPortOnly(): Catalog {
  const catalog = dslCatalog();
  catalog.plans['port-only'] = planDefinitionSchema.parse({
    id: 'port-only',
    fulfils: [{ offering: 'port-only' }],
    items: [{ id: 'reserve-port', type: 'callout', interface: 'reserve-port' }],
  });
  catalog.offerings['port-only'] = offering('port-only', LINE_CHARACTERISTICS);
  return catalog;
}

/** Answers like the demo systems: inventory reserves port P-7, activation activates the line. */
const systems: Responder = (request) =>
  request.url.includes('/ports/reservations')
    ? jsonAnswer(201, { portId: 'P-7' })
    : jsonAnswer(200, { active: true });

/** Stores a one-line order of `offering` and returns the worker's dependencies around in-memory fakes. */
async function setup(offering: string, responder: Responder = systems, tasks = new RecordingPlanTasks()) {
  const [line] = dslOrderBody().productOrderItem as Record<string, unknown>[];
  return setupLines([{ ...line, productOffering: { id: offering } }], responder, tasks);
}

/** Stores an order of these lines and returns the worker's dependencies around in-memory fakes. */
async function setupLines(
  lines: Record<string, unknown>[],
  responder: Responder = systems,
  tasks = new RecordingPlanTasks(),
) {
  const catalog = catalogWithPortOnly();
  const submitted = productOrderCreateSchema.parse({ ...dslOrderBody(), productOrderItem: lines });
  const store = new InMemoryOrderStore();
  const { order, items } = decompose(catalog, ORDER, submitted, '2025-03-01T09:00:00.000Z');
  await store.createOrder(order, items);
  const http = new ScriptedHttpClient(responder);
  const queue = new RecordingWorkQueue();
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
  return { deps, store, http, queue, tasks, items };
}

/** Sets (or replaces) the condition of a plan item in the catalog the worker reads. */
function setCondition(catalog: Catalog, planId: string, itemId: string, condition: string): void {
  const planItem = catalog.plans[planId]?.items.find((i) => i.id === itemId);
  assert.ok(planItem, `plan item ${planId}.${itemId}`);
  planItem.condition = condition;
}

/** Runs every start message queued from `from` on, including those queued meanwhile; returns where it stopped. */
async function drain(deps: RunItemDeps, queue: RecordingWorkQueue, from = 0): Promise<number> {
  let next = from;
  for (; next < queue.sent.length; next++) {
    const message = queue.sent[next];
    if (message) await runItem(deps, message, `start-${next}`);
  }
  return next;
}

const dispatch = (itemKey: string, taskToken: string) => ({ orderId: ORDER, itemKey, taskToken });
const start = (itemKey: string) => ({ kind: 'start' as const, orderId: ORDER, itemKey });

/** Keeps the worker's warnings and errors out of the test report, and returns what was logged. */
function quietLogs(t: TestContext): () => string[] {
  return capturedLogs(t, 'WARN', 'ERROR');
}

describe('runItem', () => {
  it('runs a dispatched item with no prerequisites once, completes it and the order, and answers its task', async () => {
    // Prepare
    const { deps, store, http, queue, tasks } = await setup('port-only');

    // Act
    await runItem(deps, dispatch(PORT, 'token-1'), 'delivery-1');

    // Assess
    assert.equal(http.requests.length, 1);
    const [request] = http.requests;
    assert.equal(request?.method, 'POST');
    assert.equal(request?.url, 'http://inventory.test:4101/api/ports/reservations');
    assert.equal(request?.headers['idempotency-key'], `o-1.${PORT}`);
    assert.deepEqual(JSON.parse(request?.body ?? ''), {
      orderId: ORDER,
      orderItemId: 'line-1',
      bandwidthMbps: 100,
    });
    assert.equal(request?.timeoutMs, 10_000);

    const item = store.item(ORDER, PORT);
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
    assert.deepEqual(store.done(ORDER), [PORT]);
    assert.ok(order.completedAt);
    assert.deepEqual(tasks.answers, [
      { taskToken: 'token-1', output: { itemKey: PORT, state: 'Completed' } },
    ]);
    assert.deepEqual(queue.sent, []);
    // Counted for operators: a callout answered well, traced as a span of its system, the order done.
    const telemetry = deps.telemetry as RecordingTelemetry;
    assert.deepEqual(telemetry.of('Callouts'), [
      'system=inventory,interface=reserve-port,outcome=success: 1',
    ]);
    assert.equal(telemetry.of('CalloutLatency').length, 1);
    assert.deepEqual(telemetry.of('OrdersCompleted'), [': 1']);
    assert.deepEqual(telemetry.spans, [
      {
        name: 'callout inventory/reserve-port',
        annotations: { system: 'inventory', interface: 'reserve-port' },
      },
    ]);
  });

  it('leaves the order in progress while other items remain', async () => {
    const { deps, store } = await setup('dsl-broadband');

    await runItem(deps, dispatch(RESERVE, 'token-1'), 'delivery-1');

    const order = store.order(ORDER);
    assert.equal(order.state, 'inProgress');
    assert.deepEqual(store.done(ORDER), [RESERVE]);
    assert.equal(order.completedAt, undefined);
  });

  it('does nothing but keep the token for an item whose prerequisites are not done', async () => {
    const { deps, store, http, queue, tasks } = await setup('dsl-broadband');

    await runItem(deps, dispatch(ACTIVATE, 'token-2'), 'delivery-2');

    const item = store.item(ORDER, ACTIVATE);
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
    await runItem(deps, dispatch(DONE, 'token-3'), 'delivery-3');
    await runItem(deps, dispatch(ACTIVATE, 'token-2'), 'delivery-2');

    // Act: the first item runs, and only the item waiting for it directly is started.
    await runItem(deps, dispatch(RESERVE, 'token-1'), 'delivery-1');

    // Assess
    assert.deepEqual(queue.sent, [start(ACTIVATE)]);
    assert.equal(store.item(ORDER, ACTIVATE).state, 'Pending');

    // Act: the worker receives the start messages as they are queued.
    await runItem(deps, start(ACTIVATE), 'delivery-4');
    await runItem(deps, start(DONE), 'delivery-5');

    // Assess
    assert.deepEqual(queue.sent, [start(ACTIVATE), start(DONE)]);
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
    assert.deepEqual(store.done(ORDER).sort(), [ACTIVATE, DONE, RESERVE].sort());
  });

  it('runs an item at once when its dispatch arrives after its prerequisite completed', async () => {
    const { deps, store, queue, tasks } = await setup('dsl-broadband');
    await runItem(deps, dispatch(RESERVE, 'token-1'), 'delivery-1');

    await runItem(deps, dispatch(ACTIVATE, 'token-2'), 'delivery-2');

    assert.deepEqual(queue.sent, [], 'no start was queued for an item without a token');
    assert.equal(store.item(ORDER, ACTIVATE).state, 'Completed');
    assert.deepEqual(
      tasks.answers.map((a) => a.taskToken),
      ['token-1', 'token-2'],
    );
  });

  it('ignores a start message for an item whose dispatch has not arrived', async () => {
    const { deps, store, http } = await setup('port-only');

    await runItem(deps, start(PORT), 'delivery-1');

    assert.equal(store.item(ORDER, PORT).state, 'Pending');
    assert.equal(http.requests.length, 0);
  });

  it('replays a completed item for a duplicate dispatch: no second callout, the new token answered', async () => {
    const { deps, store, http, tasks } = await setup('port-only');
    await runItem(deps, dispatch(PORT, 'token-1'), 'delivery-1');

    await runItem(deps, dispatch(PORT, 'token-rerun'), 'delivery-2');

    assert.equal(http.requests.length, 1);
    // Every token the item ever got is answered again; the first execution's answers "gone" on AWS.
    assert.deepEqual(
      tasks.answers.map((a) => a.taskToken),
      ['token-1', 'token-1', 'token-rerun'],
    );
    assert.deepEqual(tasks.answers[2]?.output, { itemKey: PORT, state: 'Completed' });
    const item = store.item(ORDER, PORT);
    assert.equal(item.state, 'Completed');
    assert.equal(item.history.length, 3);
    assert.deepEqual(store.context(ORDER), { portId: 'P-7' });
    assert.deepEqual(store.done(ORDER), [PORT]);
    assert.equal(store.order(ORDER).state, 'completed');
  });

  it('leaves an item Running under another delivery alone', async () => {
    // Prepare: a worker took the item and died mid-callout.
    const { deps, store, http, tasks } = await setup('port-only');
    await store.attachTaskToken(ORDER, PORT, 'token-1', '2025-03-01T09:30:00.000Z');
    await store.claimItem(
      ORDER,
      PORT,
      'delivery-1',
      '2025-03-01T09:30:00.000Z',
      'prerequisites done; started',
    );

    // Act: another message for the item arrives.
    await runItem(deps, dispatch(PORT, 'token-1'), 'delivery-2');

    // Assess
    const item = store.item(ORDER, PORT);
    assert.equal(item.state, 'Running');
    assert.equal(item.attemptId, 'delivery-1');
    assert.equal(http.requests.length, 0);
    assert.deepEqual(tasks.answers, []);
  });

  it('lets the redelivery of the running message take the item over and call again', async () => {
    const { deps, store, http, tasks } = await setup('port-only');
    await store.attachTaskToken(ORDER, PORT, 'token-1', '2025-03-01T09:30:00.000Z');
    await store.claimItem(
      ORDER,
      PORT,
      'delivery-1',
      '2025-03-01T09:30:00.000Z',
      'prerequisites done; started',
    );

    await runItem(deps, dispatch(PORT, 'token-1'), 'delivery-1');

    assert.equal(http.requests.length, 1);
    assert.equal(http.requests[0]?.headers['idempotency-key'], `o-1.${PORT}`);
    const item = store.item(ORDER, PORT);
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
    const first = runItem(deps, dispatch(PORT, 'token-1'), 'delivery-1');
    await called.promise;

    await runItem(deps, dispatch(PORT, 'token-1'), 'delivery-2');
    answer.resolve(jsonAnswer(201, { portId: 'P-7' }));
    await first;

    assert.equal(http.requests.length, 1);
    assert.equal(store.item(ORDER, PORT).state, 'Completed');
  });

  // Regression: a dispatch with a new token (a re-run or redrive of the plan) that arrives while another
  // delivery runs the item must be answered too, or the execution waiting on it hangs until its timeout.
  it('answers the task token that arrived while the item was running', async () => {
    const called = deferred<void>();
    const answer = deferred<HttpResponse>();
    const { deps, store, tasks } = await setup('port-only', () => {
      called.resolve();
      return answer.promise;
    });
    const first = runItem(deps, dispatch(PORT, 'token-1'), 'delivery-1');
    await called.promise;

    await runItem(deps, dispatch(PORT, 'token-rerun'), 'delivery-2');
    answer.resolve(jsonAnswer(201, { portId: 'P-7' }));
    await first;

    assert.ok(store.item(ORDER, PORT).taskTokens?.includes('token-rerun'));
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
    // A 503 is retried by default: here the operators' rule retries nothing.
    await withoutRetries(deps.rules);
    await runItem(deps, dispatch(ACTIVATE, 'token-2'), 'delivery-2');

    await runItem(deps, dispatch(RESERVE, 'token-1'), 'delivery-1');

    const item = store.item(ORDER, RESERVE);
    assert.equal(item.state, 'FatallyFailed');
    const error = 'answered 503: down for maintenance (retry rule "no-retry" does not retry HTTP 503)';
    assert.equal(item.error, error);
    assert.equal(item.history.at(-1)?.reason, error);
    assert.equal(item.request?.method, 'POST');
    assert.deepEqual([item.response?.status, item.response?.body], [503, 'down for maintenance']);
    assert.deepEqual(item.attempts, [
      {
        number: 1,
        at: item.request?.sentAt,
        request: item.request,
        status: 503,
        durationMs: item.response?.durationMs,
        error: 'answered 503: down for maintenance',
        decision: {
          kind: 'fallout',
          reason: 'retry rule "no-retry" does not retry HTTP 503',
          ruleId: 'no-retry',
        },
      },
    ]);
    assert.equal(item.retries, undefined);
    assert.equal(item.nextAttemptAt, undefined);
    assert.equal(item.outputAttributes, undefined);
    assert.equal(store.order(ORDER).state, 'held');
    assert.deepEqual(store.done(ORDER), []);
    assert.deepEqual(tasks.answers, []);
    assert.deepEqual(queue.sent, []);
    assert.equal(store.item(ORDER, ACTIVATE).state, 'Pending');
    assert.equal(http.requests.length, 1);
    assert.ok(logs().some((line) => line.includes('item failed')));
    // Counted for operators: the callout's outcome and latency, the item into fallout; no order completed.
    const telemetry = deps.telemetry as RecordingTelemetry;
    assert.deepEqual(telemetry.of('Callouts'), [
      'system=inventory,interface=reserve-port,outcome=status-5xx: 1',
    ]);
    assert.deepEqual(telemetry.of('CalloutLatency'), [
      `system=inventory,interface=reserve-port: ${item.response?.durationMs}`,
    ]);
    assert.deepEqual(telemetry.of('FalloutEntered'), ['interface=reserve-port: 1']);
    assert.deepEqual(telemetry.of('OrdersCompleted'), []);
  });

  it('leaves a FatallyFailed item to the operator when its message comes again', async (t) => {
    quietLogs(t);
    const { deps, store, http } = await setup('port-only', () => ({ status: 500, headers: {}, body: '' }));
    await withoutRetries(deps.rules);
    await runItem(deps, dispatch(PORT, 'token-1'), 'delivery-1');

    await runItem(deps, dispatch(PORT, 'token-1'), 'delivery-1');

    assert.equal(http.requests.length, 1);
    assert.equal(store.item(ORDER, PORT).state, 'FatallyFailed');
    assert.equal(
      store.item(ORDER, PORT).error,
      'answered 500 (retry rule "no-retry" does not retry HTTP 500)',
    );
  });

  it('fails the item with the transport error when the system cannot be reached', async (t) => {
    quietLogs(t);
    // As the HTTP client reports a timeout: no answer at all.
    const { deps, store } = await setup('port-only', () => {
      throw new CalloutError('no answer within 10000 ms', undefined, true);
    });
    await withoutRetries(deps.rules);

    await runItem(deps, dispatch(PORT, 'token-1'), 'delivery-1');

    const item = store.item(ORDER, PORT);
    assert.equal(item.state, 'FatallyFailed');
    assert.equal(item.error, 'no answer within 10000 ms (retry rule "no-retry" does not retry a timeout)');
    assert.ok(item.request, 'the request is recorded');
    assert.equal(item.response, undefined);
    assert.equal(store.order(ORDER).state, 'held');
  });

  it('fails the item without a call when its request mapping fails', async (t) => {
    quietLogs(t);
    const { deps, store, http } = await setup('port-only');
    deps.catalog.mappings['reserve-request'] = '$nope()';

    await runItem(deps, dispatch(PORT, 'token-1'), 'delivery-1');

    const item = store.item(ORDER, PORT);
    assert.equal(item.state, 'FatallyFailed');
    assert.match(item.error ?? '', /^mapping "reserve-request": /);
    assert.equal(http.requests.length, 0);
  });

  for (const [what, expression, error] of [
    ['throws', '$error("no port in the answer")', /^mapping "reserve-response": .*no port in the answer/],
    ['yields no object of attributes', '"P-7"', /^mapping "reserve-response": /],
  ] as const) {
    it(`fails the item, naming the mapping, when its response mapping ${what}, keeping the answer`, async (t) => {
      quietLogs(t);
      const { deps, store, http, tasks } = await setup('port-only');
      deps.catalog.mappings['reserve-response'] = expression;

      await runItem(deps, dispatch(PORT, 'token-1'), 'delivery-1');

      const item = store.item(ORDER, PORT);
      assert.equal(http.requests.length, 1, 'the system was called once');
      assert.equal(item.state, 'FatallyFailed');
      assert.match(item.error ?? '', error);
      assert.equal(item.response?.status, 201, 'the answer it could not use is kept');
      assert.deepEqual(store.context(ORDER), {}, 'no attribute written');
      assert.deepEqual(tasks.answers, [], 'the plan still waits: the item is in fallout');
    });
  }

  it('reports an unexpected error as an internal error on the item', async (t) => {
    quietLogs(t);
    const { deps, store } = await setup('port-only', () => {
      throw new TypeError('socket exploded');
    });

    await runItem(deps, dispatch(PORT, 'token-1'), 'delivery-1');

    // Not an answer a retry could change: no rule applies, so fallout.
    const item = store.item(ORDER, PORT);
    assert.equal(item.state, 'FatallyFailed');
    assert.equal(
      item.error,
      'internal error: socket exploded (no retry rule matches an answer that cannot be used)',
    );
    assert.equal(store.order(ORDER).state, 'held');
  });

  it('completes a milestone without any HTTP call', async () => {
    const { deps, store, http, tasks } = await setup('voice');

    await runItem(deps, dispatch(VOICE, 'token-1'), 'delivery-1');

    assert.equal(http.requests.length, 0);
    const item = store.item(ORDER, VOICE);
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

    await runItem(deps, dispatch(PORT, 'token-1'), 'delivery-1');

    assert.equal(store.item(ORDER, PORT).state, 'Completed');
    assert.equal(store.order(ORDER).state, 'completed');
    assert.ok(logs().some((line) => line.includes('no longer waits for this item')));
  });

  it('drops a dispatch for an item or order that does not exist', async (t) => {
    const logs = quietLogs(t);
    const { deps, http, tasks } = await setup('port-only');

    await runItem(deps, dispatch('port-only.no-such-item.1', 'token-1'), 'delivery-1');
    await runItem(deps, { orderId: 'no-such-order', itemKey: PORT, taskToken: 'token-2' }, 'delivery-2');
    await runItem(deps, start('port-only.no-such-item.1'), 'delivery-3');

    assert.equal(http.requests.length, 0);
    assert.deepEqual(tasks.answers, []);
    assert.equal(logs().length, 3);
    assert.ok(
      logs().every((line) => !line.includes('token-')),
      'task tokens are not logged',
    );
  });
});

describe('runItem: conditions', () => {
  it('runs an item whose condition is true as usual', async () => {
    // Prepare
    const { deps, store, http } = await setup('port-only');
    setCondition(deps.catalog, 'port-only', 'reserve-port', 'characteristics.bandwidth = 100');

    // Act
    await runItem(deps, dispatch(PORT, 'token-1'), 'delivery-1');

    // Assess
    assert.equal(http.requests.length, 1);
    const item = store.item(ORDER, PORT);
    assert.equal(item.state, 'Completed');
    assert.deepEqual(
      item.history.map((h) => [h.state, h.reason]),
      [
        ['Pending', 'decomposed by plan "port-only" for line "line-1"'],
        ['Running', 'prerequisites done; started'],
        ['Completed', 'completed'],
      ],
    );
  });

  it('skips an item whose condition is false: no claim, no call, its task answered and the order done', async () => {
    const { deps, store, http, queue, tasks } = await setup('port-only');
    setCondition(deps.catalog, 'port-only', 'reserve-port', 'characteristics.bandwidth = "1000"');

    await runItem(deps, dispatch(PORT, 'token-1'), 'delivery-1');

    assert.equal(http.requests.length, 0);
    const item = store.item(ORDER, PORT);
    assert.equal(item.state, 'Skipped');
    assert.deepEqual(
      item.history.map((h) => [h.state, h.reason]),
      [
        ['Pending', 'decomposed by plan "port-only" for line "line-1"'],
        ['Skipped', 'condition is false: characteristics.bandwidth = "1000"'],
      ],
    );
    assert.ok(item.completedAt);
    assert.equal(item.attemptId, undefined, 'never claimed');
    assert.deepEqual(tasks.answers, [{ taskToken: 'token-1', output: { itemKey: PORT, state: 'Skipped' } }]);
    assert.deepEqual(store.done(ORDER), [PORT]);
    assert.equal(store.order(ORDER).state, 'completed');
    assert.deepEqual(store.context(ORDER), {});
    assert.deepEqual(queue.sent, []);
  });

  it('skips an item whose condition reads a path with no value', async () => {
    const { deps, store, http, tasks } = await setup('voice');
    setCondition(deps.catalog, 'voice', 'number-ported', 'characteristics.portingRequested');

    await runItem(deps, dispatch(VOICE, 'token-1'), 'delivery-1');

    assert.equal(store.item(ORDER, VOICE).state, 'Skipped');
    assert.equal(http.requests.length, 0);
    assert.deepEqual(
      tasks.answers.map((a) => a.output.state),
      ['Skipped'],
    );
    assert.equal(store.order(ORDER).state, 'completed');
  });

  it("starts a skipped item's dependent, which then runs without the skipped item's attributes", async () => {
    // Prepare: activation's dispatch came before the port reservation's.
    const { deps, store, http, queue, tasks } = await setup('dsl-broadband');
    setCondition(deps.catalog, 'dsl-broadband', 'reserve-port', 'false');
    await runItem(deps, dispatch(ACTIVATE, 'token-2'), 'delivery-2');

    // Act
    await runItem(deps, dispatch(RESERVE, 'token-1'), 'delivery-1');

    // Assess
    assert.equal(store.item(ORDER, RESERVE).state, 'Skipped');
    assert.deepEqual(queue.sent, [start(ACTIVATE)]);
    assert.equal(
      store.item(ORDER, ACTIVATE).state,
      'Pending',
      'started by its message, not in the same call',
    );

    // Act: the start message arrives.
    await runItem(deps, start(ACTIVATE), 'delivery-3');

    // Assess
    assert.deepEqual(
      http.requests.map((r) => r.method),
      ['PUT'],
    );
    assert.deepEqual(JSON.parse(http.requests[0]?.body ?? '{}').attributes, {});
    assert.equal(store.item(ORDER, ACTIVATE).state, 'Completed');
    assert.deepEqual(
      tasks.answers.map((a) => [a.taskToken, a.output.state]),
      [
        ['token-1', 'Skipped'],
        ['token-2', 'Completed'],
      ],
    );
    assert.equal(store.order(ORDER).state, 'inProgress');
  });

  it('evaluates a condition only once the prerequisites are done, over the attributes they wrote', async () => {
    const { deps, store, http, queue } = await setup('dsl-broadband');
    setCondition(deps.catalog, 'dsl-broadband', 'activate-line', 'attributes.portId = "P-9"');
    await runItem(deps, dispatch(ACTIVATE, 'token-2'), 'delivery-2');
    await runItem(deps, dispatch(DONE, 'token-3'), 'delivery-3');
    assert.equal(store.item(ORDER, ACTIVATE).state, 'Pending', 'not skipped before its prerequisite is done');

    await runItem(deps, dispatch(RESERVE, 'token-1'), 'delivery-1');
    await drain(deps, queue);

    assert.equal(store.item(ORDER, ACTIVATE).state, 'Skipped', 'the reserved port is P-7');
    assert.equal(store.item(ORDER, DONE).state, 'Completed');
    assert.deepEqual(
      http.requests.map((r) => r.method),
      ['POST'],
    );
    assert.equal(store.order(ORDER).state, 'completed');
  });

  for (const [what, condition, error] of [
    [
      'a string',
      'characteristics.serviceAddress.street',
      /^condition of number-ported yielded "Main St 1", not true or false$/,
    ],
    ['a number', '$count(lines)', /^condition of number-ported yielded 1, not true or false$/],
    ['null', 'null', /^condition of number-ported yielded null, not true or false$/],
    ['a runtime error', '$nope()', /^mapping "number-ported\.condition": /],
    ['a syntax error', 'characteristics.(', /^mapping "number-ported\.condition": is not valid JSONata: /],
  ] as const) {
    it(`fails the item and holds the order when its condition yields ${what}`, async (t) => {
      quietLogs(t);
      const { deps, store, http, queue, tasks } = await setup('voice');
      setCondition(deps.catalog, 'voice', 'number-ported', condition);

      await runItem(deps, dispatch(VOICE, 'token-1'), 'delivery-1');

      const item = store.item(ORDER, VOICE);
      assert.equal(item.state, 'FatallyFailed');
      assert.match(item.error ?? '', error);
      assert.deepEqual(
        item.history.map((h) => h.state),
        ['Pending', 'Running', 'FatallyFailed'],
      );
      assert.equal(item.history[1]?.reason, 'prerequisites done; condition evaluated');
      assert.equal(store.order(ORDER).state, 'held');
      assert.deepEqual(store.done(ORDER), []);
      assert.deepEqual(tasks.answers, []);
      assert.deepEqual(queue.sent, []);
      assert.equal(http.requests.length, 0);
    });
  }
  // Product bug (lambdas/use-cases/run-item.ts, runItem: the condition is evaluated only while the item
  // is Pending): a condition that cannot be evaluated claims the item (Running, this delivery) and then
  // fails it. When the worker dies between the two writes, the redelivery of the same message finds the
  // item Running under its own delivery id, skips the condition and performs the item: the system is
  // called although the condition was never true.
  it('does not perform an item whose condition could not be evaluated when its message is redelivered', async (t) => {
    quietLogs(t);
    const { deps, store, http } = await setup('port-only');
    setCondition(deps.catalog, 'port-only', 'reserve-port', 'characteristics.bandwidth');
    // Prepare: the first delivery claimed the item to fail it, and died before the failure was written.
    await store.attachTaskToken(ORDER, PORT, 'token-1', '2025-03-01T09:30:00.000Z');
    await store.claimItem(
      ORDER,
      PORT,
      'delivery-1',
      '2025-03-01T09:30:00.000Z',
      'prerequisites done; condition evaluated',
    );

    // Act
    await runItem(deps, dispatch(PORT, 'token-1'), 'delivery-1');

    // Assess
    assert.equal(http.requests.length, 0, 'the system is not called');
    assert.equal(store.item(ORDER, PORT).state, 'FatallyFailed');
    assert.equal(store.order(ORDER).state, 'held');
  });
});

describe('runItem: autoTask', () => {
  it('completes an autoTask with the attributes setAttributes yields, without any call', async () => {
    // Prepare
    const { deps, store, http, queue, tasks } = await setupLines([tvLine('tv-a', { package: 'sports' })]);
    await runItem(deps, dispatch('tv-bundle.technician-visit.1', 'token-2'), 'delivery-2');

    // Act
    await runItem(deps, dispatch('tv-bundle.choose-channels.1', 'token-1'), 'delivery-1');

    // Assess
    assert.equal(http.requests.length, 0);
    const item = store.item(ORDER, 'tv-bundle.choose-channels.1');
    assert.equal(item.state, 'Completed');
    assert.deepEqual(item.outputAttributes, { channelPackage: 'sports' });
    assert.equal(item.request, undefined);
    assert.deepEqual(store.context(ORDER), { channelPackage: 'sports' });
    assert.deepEqual(tasks.answers, [
      { taskToken: 'token-1', output: { itemKey: 'tv-bundle.choose-channels.1', state: 'Completed' } },
    ]);
    assert.deepEqual(queue.sent, [start('tv-bundle.technician-visit.1')]);
    assert.equal(store.order(ORDER).state, 'inProgress');
  });

  it("lets setAttributes read the line's characteristics with a default for a missing one", async () => {
    const { deps, store } = await setupLines([tvLine('tv-a')]);

    await runItem(deps, dispatch('tv-bundle.choose-channels.1', 'token-1'), 'delivery-1');

    assert.deepEqual(store.context(ORDER), { channelPackage: 'basic' });
  });

  for (const [what, expression, error] of [
    [
      'not an object',
      '"sports"',
      /^mapping "choose-channels\.setAttributes": must produce an object of attributes$/,
    ],
    ['no value', 'characteristics.nothing', /^mapping "choose-channels\.setAttributes": produced no value$/],
    ['an error', '$nope()', /^mapping "choose-channels\.setAttributes": /],
  ] as const) {
    it(`fails an autoTask whose setAttributes yields ${what}, and holds the order`, async (t) => {
      quietLogs(t);
      const { deps, store, tasks } = await setupLines([tvLine('tv-a')]);
      const planItem = deps.catalog.plans['tv-bundle']?.items.find((i) => i.id === 'choose-channels');
      assert.ok(planItem);
      planItem.setAttributes = expression;

      await runItem(deps, dispatch('tv-bundle.choose-channels.1', 'token-1'), 'delivery-1');

      const item = store.item(ORDER, 'tv-bundle.choose-channels.1');
      assert.equal(item.state, 'FatallyFailed');
      assert.match(item.error ?? '', error);
      assert.equal(item.outputAttributes, undefined);
      assert.deepEqual(store.context(ORDER), {});
      assert.equal(store.order(ORDER).state, 'held');
      assert.deepEqual(tasks.answers, []);
    });
  }
});

describe('runItem: manualTask', () => {
  /** A TV line that asks for a technician, with its channels chosen and the visit dispatched. */
  async function visitDispatched() {
    const setup = await setupLines([tvLine('tv-a', { installation: 'technician' })]);
    const { deps, queue } = setup;
    await runItem(deps, dispatch('tv-bundle.service-ready.1', 'token-3'), 'delivery-3');
    await runItem(deps, dispatch('tv-bundle.welcome-pack', 'token-4'), 'delivery-4');
    await runItem(deps, dispatch('tv-bundle.choose-channels.1', 'token-1'), 'delivery-1');
    assert.deepEqual(queue.sent, []);
    return setup;
  }

  it('claims a manual task whose prerequisites are done and leaves it waiting for an operator', async () => {
    // Prepare
    const { deps, store, http, queue, tasks } = await visitDispatched();

    // Act
    await runItem(deps, dispatch('tv-bundle.technician-visit.1', 'token-2'), 'delivery-2');

    // Assess
    const item = store.item(ORDER, 'tv-bundle.technician-visit.1');
    assert.equal(item.state, 'Running');
    assert.equal(item.attemptId, 'delivery-2');
    assert.deepEqual(item.history.at(-1), {
      at: item.startedAt,
      state: 'Running',
      reason: 'prerequisites done; waiting for an operator: Install the set-top box.',
    });
    assert.equal(item.completedAt, undefined);
    assert.equal(http.requests.length, 0);
    assert.deepEqual(
      tasks.answers.map((a) => a.taskToken),
      ['token-1'],
      'only the autoTask is answered',
    );
    assert.deepEqual(queue.sent, []);
    assert.deepEqual(store.done(ORDER), ['tv-bundle.choose-channels.1']);
    assert.equal(store.order(ORDER).state, 'inProgress');
  });

  it('says only that it waits for an operator when the manual task has no instructions', async () => {
    const { deps, store } = await visitDispatched();
    const planItem = deps.catalog.plans['tv-bundle']?.items.find((i) => i.id === 'technician-visit');
    assert.ok(planItem);
    delete planItem.instructions;

    await runItem(deps, dispatch('tv-bundle.technician-visit.1', 'token-2'), 'delivery-2');

    assert.equal(
      store.item(ORDER, 'tv-bundle.technician-visit.1').history.at(-1)?.reason,
      'prerequisites done; waiting for an operator',
    );
  });

  it('is never completed by the worker, whatever message about it comes again', async () => {
    const { deps, store, tasks, queue } = await visitDispatched();
    await runItem(deps, dispatch('tv-bundle.technician-visit.1', 'token-2'), 'delivery-2');

    await runItem(deps, dispatch('tv-bundle.technician-visit.1', 'token-2'), 'delivery-2');
    await runItem(deps, dispatch('tv-bundle.technician-visit.1', 'token-rerun'), 'delivery-5');
    await runItem(deps, start('tv-bundle.technician-visit.1'), 'delivery-6');

    const item = store.item(ORDER, 'tv-bundle.technician-visit.1');
    assert.equal(item.state, 'Running');
    assert.equal(item.attemptId, 'delivery-2');
    assert.deepEqual(item.taskTokens, ['token-2', 'token-rerun']);
    assert.deepEqual(
      tasks.answers.map((a) => a.taskToken),
      ['token-1'],
    );
    assert.deepEqual(queue.sent, []);
    assert.equal(store.done(ORDER).includes('tv-bundle.technician-visit.1'), false);
  });

  it("finishes a manual task an operator completed: the operator's attributes, every token, the dependents", async () => {
    // Prepare
    const { deps, store, queue, tasks } = await visitDispatched();
    await runItem(deps, dispatch('tv-bundle.technician-visit.1', 'token-2'), 'delivery-2');
    const completed = await store.completeManualTask(
      ORDER,
      'tv-bundle.technician-visit.1',
      OPERATOR,
      { installedBy: 'Tom' },
      'box fitted',
      '2025-03-01T12:00:00.000Z',
    );
    assert.equal(completed, true);

    // Act: the operator API hands the item back to the worker.
    await runItem(deps, start('tv-bundle.technician-visit.1'), 'delivery-7');

    // Assess
    const item = store.item(ORDER, 'tv-bundle.technician-visit.1');
    assert.equal(item.state, 'Completed');
    assert.deepEqual(item.completedBy, OPERATOR);
    assert.deepEqual(item.history.at(-1), {
      at: '2025-03-01T12:00:00.000Z',
      state: 'Completed',
      reason: 'completed by Olga Operator (op-1): box fitted',
      by: OPERATOR,
    });
    assert.deepEqual(store.context(ORDER), { channelPackage: 'basic', installedBy: 'Tom' });
    assert.deepEqual(
      tasks.answers.map((a) => [a.taskToken, a.output.state]),
      [
        ['token-1', 'Completed'],
        ['token-2', 'Completed'],
      ],
    );
    assert.deepEqual(queue.sent, [start('tv-bundle.service-ready.1')]);

    // Act: the rest of the plan runs.
    await drain(deps, queue);

    // Assess
    assert.equal(store.item(ORDER, 'tv-bundle.service-ready.1').state, 'Completed');
    assert.equal(store.item(ORDER, 'tv-bundle.welcome-pack').state, 'Completed');
    assert.equal(store.order(ORDER).state, 'completed');
  });

  it('does not let an operator complete a manual task that is not waiting for one', async () => {
    const { store } = await visitDispatched();

    const pending = await store.completeManualTask(
      ORDER,
      'tv-bundle.technician-visit.1',
      OPERATOR,
      {},
      undefined,
      'x',
    );
    const notManual = await store.completeManualTask(
      ORDER,
      'tv-bundle.choose-channels.1',
      OPERATOR,
      {},
      undefined,
      'x',
    );

    assert.deepEqual([pending, notManual], [false, false]);
    assert.equal(store.item(ORDER, 'tv-bundle.technician-visit.1').state, 'Pending');
  });

  it('skips a manual task whose condition is false and starts its dependent', async () => {
    const { deps, store, queue } = await setupLines([tvLine('tv-a', { installation: 'self' })]);
    await runItem(deps, dispatch('tv-bundle.technician-visit.1', 'token-2'), 'delivery-2');
    await runItem(deps, dispatch('tv-bundle.service-ready.1', 'token-3'), 'delivery-3');

    await runItem(deps, dispatch('tv-bundle.choose-channels.1', 'token-1'), 'delivery-1');
    await drain(deps, queue);

    assert.deepEqual(queue.sent, [start('tv-bundle.technician-visit.1'), start('tv-bundle.service-ready.1')]);
    assert.equal(store.item(ORDER, 'tv-bundle.technician-visit.1').state, 'Skipped');
    assert.equal(store.item(ORDER, 'tv-bundle.service-ready.1').state, 'Completed');
  });
});

describe('runItem: order-scoped items', () => {
  it('starts an order-scoped item once every line it waits for is done, and gives it every line', async () => {
    // Prepare: a self-installed line and one with a technician; the plan dispatches every wait at once.
    const { deps, store, queue, tasks, items } = await setupLines([
      tvLine('tv-a', { installation: 'self' }),
      { id: 'phone', action: 'add', productOffering: { id: 'voice' } },
      tvLine('tv-b', { installation: 'technician', package: 'movies' }),
    ]);
    const tvKeys = items.filter((i) => i.planId === 'tv-bundle').map((i) => i.key);
    assert.deepEqual(tvKeys, [
      'tv-bundle.choose-channels.1',
      'tv-bundle.choose-channels.3',
      'tv-bundle.technician-visit.1',
      'tv-bundle.technician-visit.3',
      'tv-bundle.service-ready.1',
      'tv-bundle.service-ready.3',
      'tv-bundle.welcome-pack',
    ]);

    // Act
    for (const [i, key] of [...tvKeys].reverse().entries()) {
      await runItem(deps, dispatch(key, `token-${key}`), `dispatch-${i}`);
    }
    const drained = await drain(deps, queue);

    // Assess: line 1 is done, line 3 waits for its technician, the welcome pack for line 3.
    const states = () => Object.fromEntries(tvKeys.map((key) => [key, store.item(ORDER, key).state]));
    assert.deepEqual(states(), {
      'tv-bundle.choose-channels.1': 'Completed',
      'tv-bundle.choose-channels.3': 'Completed',
      'tv-bundle.technician-visit.1': 'Skipped',
      'tv-bundle.technician-visit.3': 'Running',
      'tv-bundle.service-ready.1': 'Completed',
      'tv-bundle.service-ready.3': 'Pending',
      'tv-bundle.welcome-pack': 'Pending',
    });
    assert.equal(store.order(ORDER).state, 'inProgress');

    // Act: the technician is done, then the worker carries on.
    await store.completeManualTask(ORDER, 'tv-bundle.technician-visit.3', OPERATOR, {}, undefined, 'x');
    await runItem(deps, start('tv-bundle.technician-visit.3'), 'operator-1');
    await drain(deps, queue, drained);

    // Assess
    assert.ok(Object.values(states()).every((state) => state === 'Completed' || state === 'Skipped'));
    const welcome = store.item(ORDER, 'tv-bundle.welcome-pack');
    assert.deepEqual(welcome.outputAttributes, { welcomePack: 'sent', welcomedLines: 2, firstLine: 'tv-a' });
    assert.equal(
      queue.starts().filter((m) => m.itemKey === 'tv-bundle.welcome-pack').length,
      1,
      'started once, by the last line to be ready',
    );
    assert.ok(tasks.answers.some((a) => a.taskToken === 'token-tv-bundle.welcome-pack'));
    assert.equal(
      store.item(ORDER, 'voice.number-ported.2').state,
      'Pending',
      'another plan run, not dispatched',
    );
    assert.equal(store.order(ORDER).state, 'inProgress');
  });
});

describe('runItem: a redelivery that finds its system busy', () => {
  it('waits for a slot with its attempt, so the item is resumed and not left Running', async () => {
    // Prepare: delivery-1 claimed the reservation and died; the inventory is now full (one slot, taken).
    const { deps, store, http, queue } = await setup('port-only');
    const inventory = deps.catalog.systems.inventory;
    assert.ok(inventory);
    const config = deps.config as InMemoryConfigurationStore;
    const record = config.systems.get('inventory');
    assert.ok(record);
    record.limits = { maxConcurrentCallouts: 1 };
    await store.attachTaskToken(ORDER, PORT, 'token-1', '2025-03-01T10:00:00.000Z');
    await store.claimItem(ORDER, PORT, 'delivery-1', '2025-03-01T10:00:00.000Z', 'started');
    const limits = deps.limits as InMemoryCalloutLimits;
    await limits.acquireSlot('inventory', 1, 'someone-else', new Date(0), new Date(Date.parse('2030-01-01')));

    // Act: the redelivery of delivery-1 finds no slot and waits on the system's list, with its attempt.
    await runItem(deps, dispatch(PORT, 'token-1'), 'delivery-1');
    const later = queue.sent.at(-1);
    limits.slots.clear();
    if (later) await runItem(deps, later, 'a-new-message-id');

    // Assess
    assert.ok(later && 'kind' in later && later.kind === 'start' && later.waitingSince);
    assert.deepEqual(later, {
      kind: 'start',
      orderId: ORDER,
      itemKey: PORT,
      waitingSince: later.waitingSince,
      attemptId: 'delivery-1',
    });
    assert.equal(http.requests.length, 1, 'the queued message resumed the item as its attempt');
    assert.equal((await store.getItem(ORDER, PORT))?.state, 'Completed');
  });
});
