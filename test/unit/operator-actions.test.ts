import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { handleWorkBatch } from '../../lambdas/callout-worker/handler';
import { Authenticator } from '../../lambdas/domain/authenticator';
import type { HoldInfo } from '../../lambdas/domain/availability';
import type { Catalog } from '../../lambdas/domain/catalog';
import { decompose } from '../../lambdas/domain/decompose';
import { ConflictError } from '../../lambdas/domain/errors';
import { productOrderCreateSchema } from '../../lambdas/domain/product-order';
import type { Actor } from '../../lambdas/domain/roles';
import { handleOrchestrationApi, type OrchestrationApiDeps } from '../../lambdas/orchestration-api/handler';
import { skipByOperator } from '../../lambdas/use-cases/operator-actions';
import { runItem } from '../../lambdas/use-cases/run-item';
import type { RunItemDeps } from '../../lambdas/use-cases/run-item-deps';
import { TakeoverPacer, takeOverExpiredItems } from '../../lambdas/use-cases/take-over-items';
import { documented } from '../support/contract';
import { dslCatalog, dslOrderBody, tvLine } from './fixtures/catalogs';
import {
  InMemoryCalloutLimits,
  InMemoryConfigurationStore,
  InMemoryRetryRuleStore,
  StaticSecretStore,
} from './fixtures/configuration';
import {
  jsonAnswer,
  RecordingAvailabilityEvents,
  RecordingPlanRunner,
  RecordingPlanTasks,
  RecordingTelemetry,
  RecordingWorkQueue,
  ScriptedHttpClient,
  steppingClock,
  testCallbacks,
} from './fixtures/fake-ports';
import { InMemoryOrderStore } from './fixtures/in-memory-order-store';

const ORDER = 'o-1';
const RESERVE = 'dsl-broadband.reserve-port.1';
const ACTIVATE = 'dsl-broadband.activate-line.1';
const DONE = 'dsl-broadband.done.1';
const CHECK = 'dsl-broadband.check-port.1';
const RESERVE_2 = 'dsl-broadband.reserve-port.2';
const ACTIVATE_2 = 'dsl-broadband.activate-line.2';

const DECOMPOSED_AT = '2025-03-01T09:00:00.000Z';
const FAILED_AT = '2025-03-01T10:00:00.000Z';
const NEXT_RETRY_AT = '2025-03-01T13:00:00.000Z';
/** When the orchestration API's clock says it is. */
const NOW = '2025-03-01T12:00:00.000Z';

/** JWT claims as the API's authorizer passes them on: an operator (olga) and a machine submitter. */
const OPERATOR = { sub: 'u-op', username: 'olga', 'cognito:groups': '[operators]' };
const SUBMITTER = { sub: 'c-crm', client_id: 'order-capture', scope: 'switchboard/submit' };
/** What the operator's actions record of her. */
const OLGA: Actor = { id: 'u-op', name: 'olga' };

const ERROR_400 = 'HTTP 400 from inventory: bandwidth 100 is not offered at this address';

/**
 * The DSL catalog with a point of no return, as the bundled catalog has one: activating the line cannot
 * be undone. A port check follows the milestone after it, so it comes after the point of no return
 * through another item.
 */
function catalogWithPointOfNoReturn(): Catalog {
  const catalog = dslCatalog();
  const plan = catalog.plans['dsl-broadband'];
  const activate = plan?.items.find((i) => i.id === 'activate-line');
  const done = plan?.items.find((i) => i.id === 'done');
  assert.ok(plan && activate && done);
  activate.pointOfNoReturn = true;
  plan.items.push({
    ...done,
    id: 'check-port',
    type: 'callout',
    interface: 'port-status',
    dependsOn: ['done'],
  });
  return catalog;
}

/** An order of `lines` DSL lines (line-1, line-2, …), stored and in progress, with the API's dependencies. */
async function setup(lines = 1) {
  const catalog = catalogWithPointOfNoReturn();
  const [line] = dslOrderBody().productOrderItem as Record<string, unknown>[];
  const submitted = productOrderCreateSchema.parse({
    ...dslOrderBody(),
    productOrderItem: Array.from({ length: lines }, (_, i) => ({ ...line, id: `line-${i + 1}` })),
  });
  const { order, items } = decompose(catalog, ORDER, submitted, DECOMPOSED_AT);
  const store = new InMemoryOrderStore();
  await store.createOrder(order, items);
  assert.ok(await store.setOrderState(ORDER, ['acknowledged'], 'inProgress', DECOMPOSED_AT));
  const queue = new RecordingWorkQueue();
  const tasks = new RecordingPlanTasks();
  const rules = new InMemoryRetryRuleStore();
  const plans = new RecordingPlanRunner();
  const deps: OrchestrationApiDeps = {
    store,
    queue,
    tasks,
    plans,
    catalog,
    rules,
    now: () => new Date(NOW),
    telemetry: new RecordingTelemetry(),
  };
  return { deps, store, queue, tasks, plans };
}

/** The worker's dependencies around the same store and queue, with systems that answer as told. */
function workerDeps(api: OrchestrationApiDeps, answer = jsonAnswer(201, { portId: 'P-7' })) {
  const http = new ScriptedHttpClient(() => answer);
  const now = steppingClock('2025-03-01T12:30:00.000Z');
  const deps: RunItemDeps = {
    store: api.store,
    tasks: api.tasks,
    queue: api.queue,
    http,
    catalog: api.catalog,
    config: InMemoryConfigurationStore.seededFrom(api.catalog),
    limits: new InMemoryCalloutLimits(),
    auth: new Authenticator(new StaticSecretStore({}), http, now),
    now,
    telemetry: new RecordingTelemetry(),
    callbacks: testCallbacks,
    events: new RecordingAvailabilityEvents(),
    rules: new InMemoryRetryRuleStore(),
    sleep: async () => {},
  };
  return { deps, http };
}

/** The worker ran the item and it failed with an error no rule retries: fallout, and the order held. */
async function putInFallout(store: InMemoryOrderStore, key: string, error = ERROR_400): Promise<void> {
  const attempt = `attempt-${key}`;
  assert.ok(await store.claimItem(ORDER, key, attempt, FAILED_AT, 'prerequisites done'));
  assert.ok(await store.failItem(ORDER, key, attempt, error, {}, FAILED_AT));
  await store.holdOrder(ORDER, key, FAILED_AT);
}

/** The worker ran the item, its system answered 503, and the retry rules set its next attempt. */
async function putWaitingForRetry(store: InMemoryOrderStore, key: string): Promise<void> {
  const attempt = `attempt-${key}`;
  assert.ok(await store.claimItem(ORDER, key, attempt, FAILED_AT, 'prerequisites done'));
  assert.ok(
    await store.retryLater(
      ORDER,
      key,
      attempt,
      {
        attempt: {
          number: 1,
          at: FAILED_AT,
          status: 503,
          error: 'HTTP 503 from inventory',
          decision: { kind: 'retry', at: NEXT_RETRY_AT, ruleId: 'default', retry: 1 },
        },
      },
      { at: NEXT_RETRY_AT, retries: 1, error: 'HTTP 503 from inventory' },
      FAILED_AT,
    ),
  );
}

/** The item's system is Down: the worker put it On Hold and the order held. */
async function putOnHold(store: InMemoryOrderStore, key: string): Promise<void> {
  const hold: HoldInfo = {
    systemId: 'inventory',
    interfaceId: 'reserve-port',
    since: FAILED_AT,
    reason: 'system "inventory" is Down: maintenance',
  };
  await store.holdOrder(ORDER, key, FAILED_AT);
  assert.ok(await store.holdItem(ORDER, key, `attempt-${key}`, hold, FAILED_AT));
}

/** The worker ran the item, it completed, and it counts done. */
async function complete(store: InMemoryOrderStore, key: string): Promise<void> {
  const attempt = `attempt-${key}`;
  assert.ok(await store.claimItem(ORDER, key, attempt, FAILED_AT, 'prerequisites done'));
  assert.ok(await store.completeItem(ORDER, key, attempt, {}, FAILED_AT));
  await store.markItemDone(ORDER, key, undefined);
}

type Action = 'retry' | 'skip' | 'fail' | 'abort';
const ACTIONS: Action[] = ['retry', 'skip', 'fail'];

/** An HTTP API (payload 2.0) request for an action on an item, as the API's JWT authorizer passes it on. */
function actionRequest(
  action: Action | 'complete',
  itemId: string,
  body: unknown,
  claims: Record<string, unknown>,
): APIGatewayProxyEventV2 {
  const routeKey = `POST /orchestration/items/{itemId}/${action}`;
  const path = `/orchestration/items/${itemId}/${action}`;
  return {
    version: '2.0',
    routeKey,
    rawPath: path,
    rawQueryString: '',
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    pathParameters: { itemId },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    isBase64Encoded: false,
    requestContext: {
      http: { method: 'POST', path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'test' },
      routeKey,
      authorizer: { jwt: { claims, scopes: null } },
    },
  } as unknown as APIGatewayProxyEventV2;
}

/** Posts the action on the item of ORDER with this key (or this whole item id), as the operator unless told. */
function post(
  deps: OrchestrationApiDeps,
  action: Action | 'complete',
  key: string,
  body: unknown,
  claims: Record<string, unknown> = OPERATOR,
): Promise<APIGatewayProxyStructuredResultV2> {
  return call(deps, actionRequest(action, `${ORDER}.${key}`, body, claims));
}

/** The orchestration API's answer, once checked against the API's document (whatever its status). */
async function call(
  deps: OrchestrationApiDeps,
  event: APIGatewayProxyEventV2,
): Promise<APIGatewayProxyStructuredResultV2> {
  return documented(event.routeKey, await handleOrchestrationApi(deps, event));
}

/** GET /orchestration/orders/{orderId}/items, as the API's JWT authorizer passes it on. */
function itemsRequest(orderId: string, claims: Record<string, unknown> = OPERATOR): APIGatewayProxyEventV2 {
  const routeKey = 'GET /orchestration/orders/{orderId}/items';
  const path = `/orchestration/orders/${orderId}/items`;
  return {
    version: '2.0',
    routeKey,
    rawPath: path,
    rawQueryString: '',
    headers: {},
    pathParameters: { orderId },
    isBase64Encoded: false,
    requestContext: {
      http: { method: 'GET', path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'test' },
      routeKey,
      authorizer: { jwt: { claims, scopes: null } },
    },
  } as unknown as APIGatewayProxyEventV2;
}

function bodyOf(response: APIGatewayProxyStructuredResultV2): Record<string, unknown> {
  assert.equal(response.headers?.['content-type'], 'application/json');
  return JSON.parse(String(response.body));
}

/** Asserts the answer's status and returns its body. */
function answered(response: APIGatewayProxyStructuredResultV2, status: number): Record<string, unknown> {
  const body = bodyOf(response);
  assert.equal(
    response.statusCode,
    status,
    `expected ${status}, got ${response.statusCode}: ${response.body}`,
  );
  return body;
}

/** The keys of the items on the fallout list, oldest first. */
async function falloutKeys(store: InMemoryOrderStore): Promise<string[]> {
  return (await store.listFallout({ limit: 100 })).items.map((i) => i.key);
}

/** The keys of the items on the inventory's on-hold list. */
async function heldKeys(store: InMemoryOrderStore): Promise<string[]> {
  return (await store.listHeldItems({ systemId: 'inventory', limit: 100 })).items.map((i) => i.key);
}

describe('POST /orchestration/items/{itemId}/retry', () => {
  it('puts an item in fallout back to Pending with its retries reset, releases the order and starts it', async () => {
    // Prepare: one retry was used before the item fell out.
    const { deps, store, queue, tasks } = await setup();
    await putWaitingForRetry(store, RESERVE);
    await putInFallout(store, RESERVE);
    const before = store.item(ORDER, RESERVE);
    assert.equal(before.state, 'FatallyFailed');
    assert.equal(before.retries, 1);
    assert.equal(before.error, ERROR_400);
    assert.deepEqual(await falloutKeys(store), [RESERVE]);
    assert.equal(store.order(ORDER).state, 'held');

    // Act
    const response = await post(deps, 'retry', RESERVE, { reason: '  inventory added the bandwidth  ' });

    // Assess
    const view = answered(response, 200);
    assert.equal(view.id, `${ORDER}.${RESERVE}`);
    assert.equal(view.state, 'Pending');
    assert.equal(view.retries, 0);
    assert.equal(
      'taskTokens' in view || 'attemptId' in view,
      false,
      'the view keeps tokens and attempts out',
    );

    const item = store.item(ORDER, RESERVE);
    assert.equal(item.state, 'Pending');
    assert.equal(item.retries, 0);
    assert.equal(item.error, undefined);
    assert.equal(item.attemptId, undefined);
    assert.equal(item.nextAttemptAt, undefined);
    assert.equal(item.updatedAt, NOW);
    assert.deepEqual(item.history.at(-1), {
      at: NOW,
      state: 'Pending',
      reason: 'retry asked by olga: inventory added the bandwidth',
      by: OLGA,
    });
    assert.equal(item.history.length, before.history.length + 1);
    assert.deepEqual(await falloutKeys(store), []);
    const order = store.order(ORDER);
    assert.equal(order.state, 'inProgress');
    assert.equal(order.holds, undefined);
    assert.deepEqual(queue.sent, [{ kind: 'start', orderId: ORDER, itemKey: RESERVE }]);
    assert.deepEqual(queue.delays, [0], 'a fresh attempt now');
    assert.deepEqual(tasks.failures, []);
    assert.deepEqual(tasks.answers, []);
    assert.deepEqual((deps.telemetry as RecordingTelemetry).of('FalloutResolved'), ['action=retry: 1']);
  });

  it('keeps the order held while another of its items is still in fallout', async () => {
    const { deps, store } = await setup(2);
    await putInFallout(store, RESERVE);
    await putInFallout(store, RESERVE_2);

    answered(await post(deps, 'retry', RESERVE, { reason: 'address corrected' }), 200);

    const order = store.order(ORDER);
    assert.equal(order.state, 'held');
    assert.deepEqual(order.holds, [RESERVE_2]);
    assert.deepEqual(await falloutKeys(store), [RESERVE_2]);
    assert.equal(store.item(ORDER, RESERVE_2).state, 'FatallyFailed');
  });

  it('retries an item waiting for its next retry now, without waiting for it', async () => {
    const { deps, store, queue } = await setup();
    await putWaitingForRetry(store, RESERVE);
    assert.equal(store.item(ORDER, RESERVE).nextAttemptAt, NEXT_RETRY_AT);

    const view = answered(await post(deps, 'retry', RESERVE, { reason: 'inventory is back' }), 200);

    assert.equal(view.state, 'Pending');
    const item = store.item(ORDER, RESERVE);
    assert.equal(item.state, 'Pending');
    assert.equal(item.retries, 0);
    assert.equal(item.nextAttemptAt, undefined);
    assert.equal(item.error, undefined);
    assert.deepEqual(item.history.at(-1), {
      at: NOW,
      state: 'Pending',
      reason: 'retry asked by olga: inventory is back',
      by: OLGA,
    });
    assert.equal(store.order(ORDER).state, 'inProgress');
    assert.deepEqual(queue.sent, [{ kind: 'start', orderId: ORDER, itemKey: RESERVE }]);
  });

  it('hands the retried item to the worker, which calls its system again and completes it', async () => {
    // Prepare: the plan dispatched the item, so it waits on it.
    const { deps, store, queue, tasks } = await setup();
    await store.attachTaskToken(ORDER, RESERVE, 'token-reserve', DECOMPOSED_AT);
    await putInFallout(store, RESERVE);
    answered(await post(deps, 'retry', RESERVE, { reason: 'address corrected' }), 200);
    const worker = workerDeps(deps);

    // Act: the worker takes the start message the retry queued.
    const [start] = queue.sent;
    assert.ok(start);
    await runItem(worker.deps, start, 'delivery-retry');

    // Assess
    assert.equal(worker.http.requests.length, 1);
    assert.equal(worker.http.requests[0]?.url, 'http://inventory.test:4101/api/ports/reservations');
    const item = store.item(ORDER, RESERVE);
    assert.equal(item.state, 'Completed');
    assert.deepEqual(item.outputAttributes, { portId: 'P-7' });
    assert.deepEqual(store.done(ORDER), [RESERVE]);
    assert.equal(store.order(ORDER).state, 'inProgress');
    assert.deepEqual(tasks.answers, [
      { taskToken: 'token-reserve', output: { itemKey: RESERVE, state: 'Completed' } },
    ]);
    assert.deepEqual(await falloutKeys(store), []);
  });

  it('answers 409 for an item that is Pending, Running, Completed or On Hold, and changes nothing', async () => {
    // Prepare: line 1 reserved its port and is activating; line 2's inventory is Down.
    const { deps, store, queue } = await setup(2);
    await complete(store, RESERVE);
    assert.ok(await store.claimItem(ORDER, ACTIVATE, 'attempt-activate', FAILED_AT, 'port reserved'));
    await putOnHold(store, RESERVE_2);
    const cases = [
      [ACTIVATE_2, 'Pending'],
      [ACTIVATE, 'Running'],
      [RESERVE, 'Completed'],
      [RESERVE_2, 'OnHold'],
    ] as const;
    const before = new Map(cases.map(([key]) => [key, store.item(ORDER, key)]));
    const orderBefore = store.order(ORDER);

    for (const [key, state] of cases) {
      // Act
      const body = answered(await post(deps, 'retry', key, { reason: 'try again' }), 409);

      // Assess
      assert.equal(
        body.message,
        `item "${ORDER}.${key}" is ${state}; only an item in fallout or waiting for a retry can be retried`,
      );
      assert.deepEqual(store.item(ORDER, key), before.get(key));
    }
    assert.deepEqual(store.order(ORDER), orderBefore);
    assert.equal(orderBefore.state, 'held');
    assert.deepEqual(queue.sent, []);
  });

  it('answers 400 naming `reason` when it is missing, blank or not text, and names an unknown field', async () => {
    const { deps, store, queue } = await setup();
    await putInFallout(store, RESERVE);
    const before = store.item(ORDER, RESERVE);

    const missing = answered(await post(deps, 'retry', RESERVE, {}), 400);
    const blank = answered(await post(deps, 'retry', RESERVE, { reason: '   ' }), 400);
    const notText = answered(await post(deps, 'retry', RESERVE, { reason: 42 }), 400);
    const unknown = answered(await post(deps, 'retry', RESERVE, { reason: 'why', by: 'someone else' }), 400);

    assert.deepEqual(
      (missing.problems as { field: string }[]).map((p) => p.field),
      ['reason'],
    );
    assert.deepEqual(blank.problems, [{ field: 'reason', message: 'is required: say why' }]);
    assert.deepEqual(
      (notText.problems as { field: string }[]).map((p) => p.field),
      ['reason'],
    );
    assert.deepEqual(unknown.problems, [{ field: 'by', message: 'is not a known field' }]);
    assert.deepEqual(store.item(ORDER, RESERVE), before);
    assert.equal(store.order(ORDER).state, 'held');
    assert.deepEqual(queue.sent, []);
  });

  it('answers 400 for a request with no body at all', async () => {
    const { deps, store } = await setup();
    await putInFallout(store, RESERVE);

    const body = answered(await post(deps, 'retry', RESERVE, undefined), 400);

    assert.deepEqual(body.problems, [{ field: '', message: 'the body is empty; a JSON object is expected' }]);
    assert.equal(store.item(ORDER, RESERVE).state, 'FatallyFailed');
  });

  it('answers 404 for an item or an order that does not exist', async () => {
    const { deps, queue } = await setup();

    const noItem = answered(await post(deps, 'retry', 'dsl-broadband.nothing.1', { reason: 'why' }), 404);
    const noOrder = answered(
      await call(deps, actionRequest('retry', `o-2.${RESERVE}`, { reason: 'why' }, OPERATOR)),
      404,
    );

    assert.equal(noItem.message, `no orchestration item "${ORDER}.dsl-broadband.nothing.1"`);
    assert.equal(noOrder.message, `no orchestration item "o-2.${RESERVE}"`);
    assert.deepEqual(queue.sent, []);
  });

  for (const malformed of ['o-1', 'o-1.', '.reserve-port', 'o 1.dsl-broadband.reserve-port.1', '../o-1.x']) {
    it(`answers 400 naming itemId for the malformed item id ${JSON.stringify(malformed)}`, async () => {
      const { deps, queue } = await setup();

      const body = answered(
        await call(deps, actionRequest('retry', malformed, { reason: 'why' }, OPERATOR)),
        400,
      );

      assert.deepEqual(
        (body.problems as { field: string }[]).map((p) => p.field),
        ['itemId'],
      );
      assert.deepEqual(queue.sent, []);
    });
  }
});

describe('POST /orchestration/items/{itemId}/skip', () => {
  it('skips an item in fallout with the note, takes it off the fallout list and releases the order', async () => {
    // Prepare
    const { deps, store, queue, tasks } = await setup();
    await putInFallout(store, RESERVE);

    // Act
    const response = await post(deps, 'skip', RESERVE, { note: 'port P-9 reserved by hand' });

    // Assess
    const view = answered(response, 200);
    assert.equal(view.id, `${ORDER}.${RESERVE}`);
    assert.equal(view.state, 'Skipped');
    assert.equal(view.completedAt, NOW);
    const item = store.item(ORDER, RESERVE);
    assert.equal(item.state, 'Skipped');
    assert.equal(item.completedAt, NOW);
    assert.deepEqual(item.history.at(-1), {
      at: NOW,
      state: 'Skipped',
      reason: 'skipped by olga: port P-9 reserved by hand',
      by: OLGA,
    });
    assert.deepEqual(await falloutKeys(store), []);
    const order = store.order(ORDER);
    assert.equal(order.state, 'inProgress');
    assert.equal(order.holds, undefined);
    assert.deepEqual(store.done(ORDER), [], 'the worker, not the API, counts it done');
    assert.deepEqual(queue.sent, [{ kind: 'start', orderId: ORDER, itemKey: RESERVE }]);
    assert.deepEqual(tasks.answers, []);
    assert.deepEqual(tasks.failures, []);
    assert.deepEqual((deps.telemetry as RecordingTelemetry).of('FalloutResolved'), ['action=skip: 1']);
  });

  it('skips an item waiting for its next retry', async () => {
    const { deps, store, queue } = await setup();
    await putWaitingForRetry(store, RESERVE);

    answered(await post(deps, 'skip', RESERVE, { note: 'not needed for this address' }), 200);

    const item = store.item(ORDER, RESERVE);
    assert.equal(item.state, 'Skipped');
    assert.equal(item.completedAt, NOW);
    assert.equal(item.nextAttemptAt, undefined);
    assert.deepEqual(item.history.at(-1), {
      at: NOW,
      state: 'Skipped',
      reason: 'skipped by olga: not needed for this address',
      by: OLGA,
    });
    assert.equal(store.order(ORDER).state, 'inProgress');
    assert.deepEqual(queue.sent, [{ kind: 'start', orderId: ORDER, itemKey: RESERVE }]);
  });

  it('skips an item On Hold, taking it off the on-hold lists and releasing the order', async () => {
    const { deps, store, queue } = await setup();
    await putOnHold(store, RESERVE);
    assert.deepEqual(await heldKeys(store), [RESERVE]);
    assert.equal(store.order(ORDER).state, 'held');

    answered(await post(deps, 'skip', RESERVE, { note: 'reserved in the old inventory' }), 200);

    const item = store.item(ORDER, RESERVE);
    assert.equal(item.state, 'Skipped');
    assert.equal(item.completedAt, NOW);
    assert.deepEqual(item.history.at(-1), {
      at: NOW,
      state: 'Skipped',
      reason: 'skipped by olga: reserved in the old inventory',
      by: OLGA,
    });
    assert.deepEqual(await heldKeys(store), []);
    assert.deepEqual(
      (await store.listHeldItems({ systemId: 'inventory', interfaceId: 'reserve-port', limit: 100 })).items,
      [],
    );
    const order = store.order(ORDER);
    assert.equal(order.state, 'inProgress');
    assert.equal(order.holds, undefined);
    assert.deepEqual(queue.sent, [{ kind: 'start', orderId: ORDER, itemKey: RESERVE }]);
  });

  it('lets the worker finish the skipped item: counted done, its task answered, its dependent started', async () => {
    // Prepare: the plan waits on both items of the line.
    const { deps, store, queue, tasks } = await setup();
    await store.attachTaskToken(ORDER, RESERVE, 'token-reserve', DECOMPOSED_AT);
    await store.attachTaskToken(ORDER, ACTIVATE, 'token-activate', DECOMPOSED_AT);
    await putInFallout(store, RESERVE);
    answered(await post(deps, 'skip', RESERVE, { note: 'port P-9 reserved by hand' }), 200);
    const worker = workerDeps(deps);

    // Act
    const [start] = queue.sent;
    assert.ok(start);
    await runItem(worker.deps, start, 'delivery-skip');

    // Assess
    assert.deepEqual(worker.http.requests, [], 'a skipped item calls no system');
    assert.deepEqual(store.done(ORDER), [RESERVE]);
    assert.deepEqual(tasks.answers, [
      { taskToken: 'token-reserve', output: { itemKey: RESERVE, state: 'Skipped' } },
    ]);
    assert.deepEqual(queue.sent.slice(1), [{ kind: 'start', orderId: ORDER, itemKey: ACTIVATE }]);
  });

  it('answers 409 for an item that is itself a point of no return', async () => {
    const { deps, store, queue } = await setup();
    await complete(store, RESERVE);
    await putInFallout(store, ACTIVATE);
    const before = store.item(ORDER, ACTIVATE);

    const body = answered(await post(deps, 'skip', ACTIVATE, { note: 'activated by phone' }), 409);

    assert.equal(body.message, `item "${ORDER}.${ACTIVATE}" cannot be skipped: it is a point of no return`);
    assert.deepEqual(store.item(ORDER, ACTIVATE), before);
    assert.deepEqual(await falloutKeys(store), [ACTIVATE]);
    assert.equal(store.order(ORDER).state, 'held');
    assert.deepEqual(queue.sent, []);
  });

  it('answers 409 for an item that comes, through another item, after a point of no return that completed', async () => {
    const { deps, store, queue } = await setup();
    await complete(store, RESERVE);
    await complete(store, ACTIVATE);
    await complete(store, DONE);
    await putInFallout(store, CHECK);
    const before = store.item(ORDER, CHECK);

    const body = answered(await post(deps, 'skip', CHECK, { note: 'checked by phone' }), 409);

    assert.equal(
      body.message,
      `item "${ORDER}.${CHECK}" cannot be skipped: it comes after "activate-line", a point of no return that completed`,
    );
    assert.deepEqual(store.item(ORDER, CHECK), before);
    assert.deepEqual(await falloutKeys(store), [CHECK]);
    assert.equal(store.order(ORDER).state, 'held');
    assert.deepEqual(queue.sent, []);
  });

  it('skips an item after a point of no return that did not complete (its condition skipped it)', async () => {
    const { deps, store, queue } = await setup();
    await complete(store, RESERVE);
    assert.ok(await store.skipItem(ORDER, ACTIVATE, 'attempt-activate', 'condition is false', FAILED_AT));
    await store.markItemDone(ORDER, ACTIVATE, undefined);
    await complete(store, DONE);
    await putInFallout(store, CHECK);

    answered(await post(deps, 'skip', CHECK, { note: 'checked by phone' }), 200);

    assert.equal(store.item(ORDER, CHECK).state, 'Skipped');
    assert.deepEqual(await falloutKeys(store), []);
    assert.equal(store.order(ORDER).state, 'inProgress');
    assert.deepEqual(queue.sent, [{ kind: 'start', orderId: ORDER, itemKey: CHECK }]);
  });

  it('answers 409 for an item that is Pending or Completed', async () => {
    const { deps, store, queue } = await setup();
    await complete(store, RESERVE);

    // The milestone comes after the point of no return, which has not completed: only its state refuses.
    const pending = answered(await post(deps, 'skip', DONE, { note: 'n/a' }), 409);
    const completed = answered(await post(deps, 'skip', RESERVE, { note: 'n/a' }), 409);

    assert.equal(
      pending.message,
      `item "${ORDER}.${DONE}" is Pending; only an item in fallout, waiting for a retry or On Hold can be skipped`,
    );
    assert.match(String(completed.message), /is Completed; only an item in fallout/);
    assert.equal(store.item(ORDER, DONE).state, 'Pending');
    assert.equal(store.item(ORDER, RESERVE).state, 'Completed');
    assert.deepEqual(queue.sent, []);
  });

  it('answers 400 naming `note` when it is missing or blank, or `reason` was sent instead', async () => {
    const { deps, store, queue } = await setup();
    await putInFallout(store, RESERVE);
    const before = store.item(ORDER, RESERVE);

    const missing = answered(await post(deps, 'skip', RESERVE, {}), 400);
    const blank = answered(await post(deps, 'skip', RESERVE, { note: '' }), 400);
    const wrongField = answered(await post(deps, 'skip', RESERVE, { reason: 'not needed' }), 400);

    assert.deepEqual(
      (missing.problems as { field: string }[]).map((p) => p.field),
      ['note'],
    );
    assert.deepEqual(blank.problems, [{ field: 'note', message: 'is required: say why' }]);
    assert.deepEqual(
      (wrongField.problems as { field: string }[]).map((p) => p.field),
      ['note', 'reason'],
    );
    assert.deepEqual(store.item(ORDER, RESERVE), before);
    assert.deepEqual(queue.sent, []);
  });
});

describe('POST /orchestration/items/{itemId}/fail', () => {
  it("fails the order of an item in fallout, recording who and why, and fails the plan's waits for it", async () => {
    // Prepare: two plan executions wait on the item (a re-run one too).
    const { deps, store, queue, tasks } = await setup();
    await store.attachTaskToken(ORDER, RESERVE, 'token-1', DECOMPOSED_AT);
    await store.attachTaskToken(ORDER, RESERVE, 'token-2', DECOMPOSED_AT);
    await putInFallout(store, RESERVE);

    // Act
    const response = await post(deps, 'fail', RESERVE, { reason: 'customer cancelled' });

    // Assess
    const view = answered(response, 200);
    assert.equal(view.state, 'FatallyFailed');
    // Fallout resolved by failing the order (the item stays FatallyFailed): counted so, not as new fallout.
    const telemetry = deps.telemetry as RecordingTelemetry;
    assert.deepEqual(telemetry.of('FalloutResolved'), ['action=fail: 1']);
    assert.deepEqual(telemetry.of('FalloutEntered'), []);
    assert.deepEqual(telemetry.of('OrdersFailed'), [': 1']);
    const item = store.item(ORDER, RESERVE);
    assert.equal(item.state, 'FatallyFailed');
    assert.equal(item.error, ERROR_400, 'the failure that put it in fallout stays');
    assert.deepEqual(item.history.at(-1), {
      at: NOW,
      state: 'FatallyFailed',
      reason: 'order failed by olga: customer cancelled',
      by: OLGA,
    });
    assert.deepEqual(await falloutKeys(store), []);
    const order = store.order(ORDER);
    assert.equal(order.state, 'failed');
    assert.equal(order.completedAt, NOW);
    assert.deepEqual(tasks.failures, [
      {
        taskToken: 'token-1',
        error: 'Switchboard.OrderFailed',
        cause: 'failed by olga (u-op): customer cancelled',
      },
      {
        taskToken: 'token-2',
        error: 'Switchboard.OrderFailed',
        cause: 'failed by olga (u-op): customer cancelled',
      },
    ]);
    assert.deepEqual(tasks.answers, []);
    assert.deepEqual(queue.sent, []);
  });

  it('fails the order of an item waiting for its next retry', async () => {
    const { deps, store, tasks } = await setup();
    await store.attachTaskToken(ORDER, RESERVE, 'token-1', DECOMPOSED_AT);
    await putWaitingForRetry(store, RESERVE);

    answered(await post(deps, 'fail', RESERVE, { reason: 'address does not exist' }), 200);

    const item = store.item(ORDER, RESERVE);
    assert.equal(item.state, 'FatallyFailed');
    assert.equal(item.nextAttemptAt, undefined);
    assert.deepEqual(item.history.at(-1), {
      at: NOW,
      state: 'FatallyFailed',
      reason: 'order failed by olga: address does not exist',
      by: OLGA,
    });
    assert.deepEqual(await falloutKeys(store), []);
    assert.equal(store.order(ORDER).state, 'failed');
    assert.deepEqual(
      tasks.failures.map((f) => f.taskToken),
      ['token-1'],
    );
  });

  it('answers 409 to any further action on an item of the failed order', async () => {
    // Prepare
    const { deps, store, queue, tasks } = await setup();
    await store.attachTaskToken(ORDER, RESERVE, 'token-1', DECOMPOSED_AT);
    await putInFallout(store, RESERVE);
    answered(await post(deps, 'fail', RESERVE, { reason: 'customer cancelled' }), 200);
    const before = store.item(ORDER, RESERVE);
    const orderBefore = store.order(ORDER);

    for (const action of ACTIONS) {
      // Act
      const body = answered(
        await post(deps, action, RESERVE, action === 'skip' ? { note: 'again' } : { reason: 'again' }),
        409,
      );

      // Assess
      assert.equal(
        body.message,
        `the order of item "${ORDER}.${RESERVE}" is failed; its items take no more actions`,
        action,
      );
    }
    assert.deepEqual(store.item(ORDER, RESERVE), before);
    assert.deepEqual(store.order(ORDER), orderBefore);
    assert.equal(tasks.failures.length, 1);
    assert.deepEqual(queue.sent, []);
  });

  it('answers 409 for an item that is Pending or On Hold, leaving the order as it was', async () => {
    const { deps, store, tasks } = await setup(2);
    await putOnHold(store, RESERVE_2);

    const pending = answered(await post(deps, 'fail', RESERVE, { reason: 'cancelled' }), 409);
    const held = answered(await post(deps, 'fail', RESERVE_2, { reason: 'cancelled' }), 409);

    assert.equal(
      pending.message,
      `item "${ORDER}.${RESERVE}" is Pending; only an item in fallout or waiting for a retry can fail its order`,
    );
    assert.match(String(held.message), /is OnHold; only an item in fallout or waiting for a retry/);
    assert.equal(store.order(ORDER).state, 'held');
    assert.equal(store.item(ORDER, RESERVE_2).state, 'OnHold');
    assert.deepEqual(tasks.failures, []);
  });

  it('answers 400 naming `reason` when it is missing or blank', async () => {
    const { deps, store, tasks } = await setup();
    await putInFallout(store, RESERVE);

    const missing = answered(await post(deps, 'fail', RESERVE, { note: 'cancelled' }), 400);
    const blank = answered(await post(deps, 'fail', RESERVE, { reason: ' \n ' }), 400);

    assert.deepEqual(
      (missing.problems as { field: string }[]).map((p) => p.field),
      ['reason', 'note'],
    );
    assert.deepEqual(blank.problems, [{ field: 'reason', message: 'is required: say why' }]);
    assert.equal(store.order(ORDER).state, 'held');
    assert.equal(store.item(ORDER, RESERVE).history.at(-1)?.state, 'FatallyFailed');
    assert.equal(store.item(ORDER, RESERVE).history.at(-1)?.by, undefined);
    assert.deepEqual(tasks.failures, []);
  });
});

describe('operator actions and roles', () => {
  for (const action of ACTIONS) {
    it(`refuses ${action} to a submitter (403) and changes nothing`, async () => {
      // Prepare
      const { deps, store, queue, tasks } = await setup();
      await store.attachTaskToken(ORDER, RESERVE, 'token-1', DECOMPOSED_AT);
      await putInFallout(store, RESERVE);
      const before = store.item(ORDER, RESERVE);
      const orderBefore = store.order(ORDER);

      // Act
      const response = await post(
        deps,
        action,
        RESERVE,
        action === 'skip' ? { note: 'please' } : { reason: 'please' },
        SUBMITTER,
      );

      // Assess
      const body = answered(response, 403);
      assert.equal(body.message, 'this needs the operator role');
      assert.deepEqual(store.item(ORDER, RESERVE), before);
      assert.deepEqual(store.order(ORDER), orderBefore);
      assert.deepEqual(await falloutKeys(store), [RESERVE]);
      assert.deepEqual(queue.sent, []);
      assert.deepEqual(tasks.failures, []);
    });
  }

  it('records the actor the use case is given, and refuses a second skip of the same item', async () => {
    const { deps, store } = await setup();
    await putInFallout(store, RESERVE);
    const robot: Actor = { id: 'svc-ops', name: 'ops-console' };

    const item = await skipByOperator(deps, `${ORDER}.${RESERVE}`, { note: 'bulk skip' }, robot);

    assert.equal(item.state, 'Skipped');
    assert.deepEqual(store.item(ORDER, RESERVE).history.at(-1), {
      at: NOW,
      state: 'Skipped',
      reason: 'skipped by ops-console: bulk skip',
      by: robot,
    });
    await assert.rejects(
      skipByOperator(deps, `${ORDER}.${RESERVE}`, { note: 'again' }, robot),
      (error: unknown) => error instanceof ConflictError && /is Skipped;/.test(error.message),
    );
  });
});

describe('POST /orchestration/items/{itemId}/abort', () => {
  /** The worker claimed the item and its callout runs (or its worker hangs): Running under a lease. */
  async function putRunning(store: InMemoryOrderStore, key: string, leaseUntil = '2025-03-01T12:00:20.000Z') {
    assert.ok(
      await store.claimItem(
        ORDER,
        key,
        `attempt-${key}`,
        FAILED_AT,
        'prerequisites done; started',
        leaseUntil,
      ),
    );
  }

  it('ends a Running attempt as one that got no answer: the retry rules give it a retry, audited with who and why', async () => {
    // Prepare
    const { deps, store, queue } = await setup();
    await putRunning(store, RESERVE);

    // Act
    const body = answered(
      await post(deps, 'abort', RESERVE, { reason: 'inventory hangs on this port' }),
      200,
    );

    // Assess: the default rule retries a timeout after 10 s.
    const item = store.item(ORDER, RESERVE);
    assert.equal(item.state, 'Failed');
    assert.equal(item.retries, 1);
    assert.equal(item.nextAttemptAt, '2025-03-01T12:00:10.000Z');
    assert.equal(item.leaseUntil, undefined, 'no worker holds it any more');
    assert.equal(body.state, 'Failed');
    const history = body.history as { state: string; reason: string; by?: Actor }[];
    assert.deepEqual(history.at(-1)?.by, OLGA);
    assert.match(
      history.at(-1)?.reason ?? '',
      /^aborted by olga \(u-op\): inventory hangs on this port; retry 1 at/,
    );
    // Its retry comes back when due (10 s: within SQS's delay).
    assert.deepEqual(queue.sent.at(-1), { kind: 'start', orderId: ORDER, itemKey: RESERVE });
    assert.equal(queue.delays.at(-1), 10);
    // The aborted worker, should it answer after all, changes nothing.
    assert.equal(await store.completeItem(ORDER, RESERVE, `attempt-${RESERVE}`, {}, NOW), false);
  });

  it('puts the item in fallout when no rule retries it, and holds the order', async () => {
    // Prepare: a rule that retries no timeout of inventory.
    const { deps, store } = await setup();
    await deps.rules.put(
      {
        id: 'inventory-never',
        description: 'inventory timeouts go to fallout',
        scope: { kind: 'system', systemId: 'inventory' },
        matches: { timeouts: true, connectionErrors: false, failedAnswers: false, statuses: [] },
        policy: { type: 'none' },
        honourRetryAfter: false,
      },
      OLGA,
      NOW,
    );
    await putRunning(store, RESERVE);

    // Act
    answered(await post(deps, 'abort', RESERVE, { reason: 'stuck' }), 200);

    // Assess
    assert.equal(store.item(ORDER, RESERVE).state, 'FatallyFailed');
    assert.deepEqual(await falloutKeys(store), [RESERVE]);
    assert.equal(store.order(ORDER).state, 'held');
  });

  it('refuses an item that is not Running, a manual task, and a body without a reason', async () => {
    const { deps, store } = await setup();
    const pending = answered(await post(deps, 'abort', RESERVE, { reason: 'x' }), 409);
    assert.equal(
      pending.message,
      `item "${ORDER}.${RESERVE}" is Pending; only a Running item can be aborted`,
    );
    answered(await post(deps, 'abort', RESERVE, {}), 400);
    await putRunning(store, RESERVE);
    answered(await post(deps, 'abort', RESERVE, { reason: 'x' }, SUBMITTER), 403);
  });
});

describe('a Running item whose worker is gone', () => {
  it('is taken over by another delivery once its lease has run out, and by none before', async () => {
    // Prepare: a worker claimed reserve-port and died during its callout; its message was redriven from
    // the dead-letter queue, so it comes back under a new message id.
    const { deps: api, store } = await setup();
    const { deps, http } = workerDeps(api);
    await store.attachTaskToken(ORDER, RESERVE, 'token-1', DECOMPOSED_AT);
    assert.ok(
      await store.claimItem(
        ORDER,
        RESERVE,
        'dead-worker',
        NOW,
        'prerequisites done; started',
        '2025-03-01T12:00:20.000Z',
      ),
    );
    const early = { ...deps, now: () => new Date('2025-03-01T12:00:10.000Z') };

    // Act: one delivery before the lease runs out, one after.
    await runItem(early, { kind: 'start', orderId: ORDER, itemKey: RESERVE }, 'redriven-1');
    const before = store.item(ORDER, RESERVE);
    await runItem(deps, { kind: 'start', orderId: ORDER, itemKey: RESERVE }, 'redriven-2');

    // Assess
    assert.equal(before.attemptId, 'dead-worker', 'untouched while the lease held');
    assert.equal(http.requests.length, 1, 'called once, by the delivery that took over');
    const item = store.item(ORDER, RESERVE);
    assert.equal(item.state, 'Completed');
    assert.equal(item.attemptId, 'redriven-2');
    const detail = await store.getItemDetail(ORDER, RESERVE);
    assert.ok(
      detail?.history.some((h) => /lease ran out at 2025-03-01T12:00:20.000Z .*taken over/.test(h.reason)),
      JSON.stringify(detail?.history),
    );
    // The dead worker, should it come back, changes nothing.
    assert.equal(await store.completeItem(ORDER, RESERVE, 'dead-worker', {}, NOW), false);
  });

  it('is taken over by a worker that looks for expired leases, without waiting for its message', async () => {
    // Prepare: a worker claimed reserve-port and died during its callout; its message waits in the queue.
    const { deps: api, store } = await setup();
    const { deps, http } = workerDeps(api);
    await store.attachTaskToken(ORDER, RESERVE, 'token-1', DECOMPOSED_AT);
    const leaseUntil = '2025-03-01T12:00:20.000Z';
    assert.ok(await store.claimItem(ORDER, RESERVE, 'dead-worker', NOW, 'started', leaseUntil));
    const early = { ...deps, now: () => new Date('2025-03-01T12:00:10.000Z') };
    const pacer = new TakeoverPacer();
    const noMessages = { Records: [] };

    // Act: a worker's batch while the lease holds, then two after it ran out (the second too soon to look).
    await handleWorkBatch(early, noMessages, undefined, new TakeoverPacer());
    const before = store.item(ORDER, RESERVE);
    await handleWorkBatch(deps, noMessages, undefined, pacer);
    await handleWorkBatch(deps, noMessages, undefined, pacer);

    // Assess: taken over once, as a delivery of its own that went on with the attempt's callback URL.
    assert.equal(before.attemptId, 'dead-worker', 'untouched while the lease held');
    assert.equal(http.requests.length, 1);
    const item = store.item(ORDER, RESERVE);
    assert.equal(item.state, 'Completed');
    assert.match(item.attemptId ?? '', /^takeover-/);
    assert.equal(item.callbackNonce, before.callbackNonce);
    // Its message, when it comes, finds the item done and calls no one.
    await runItem(deps, { kind: 'start', orderId: ORDER, itemKey: RESERVE }, 'dead-worker');
    assert.equal(http.requests.length, 1);
  });

  it('is taken over once when two workers look at the same moment', async () => {
    const { deps: api, store } = await setup();
    const { deps, http } = workerDeps(api);
    await store.attachTaskToken(ORDER, RESERVE, 'token-1', DECOMPOSED_AT);
    assert.ok(
      await store.claimItem(ORDER, RESERVE, 'dead-worker', NOW, 'started', '2025-03-01T12:00:20.000Z'),
    );

    const found = await Promise.all([takeOverExpiredItems(deps), takeOverExpiredItems(deps)]);

    assert.deepEqual(found, [1, 1], 'both saw it');
    assert.equal(http.requests.length, 1, 'one claimed it');
    assert.equal(store.item(ORDER, RESERVE).state, 'Completed');
  });

  it('is not taken over while it waits for its callback: no worker holds it, its deadline guards it', async () => {
    const { deps: api, store } = await setup();
    const { deps, http } = workerDeps(api);
    assert.ok(await store.claimItem(ORDER, RESERVE, 'worker-1', NOW, 'started', '2025-03-01T12:00:20.000Z'));
    assert.ok(
      await store.awaitCallback(
        ORDER,
        RESERVE,
        'worker-1',
        {},
        { since: NOW, deadline: '2025-03-02T12:00:00.000Z' },
        NOW,
      ),
    );
    assert.equal(store.item(ORDER, RESERVE).leaseUntil, undefined);

    await runItem(deps, { kind: 'start', orderId: ORDER, itemKey: RESERVE }, 'another');

    assert.equal(http.requests.length, 0);
    assert.equal(store.item(ORDER, RESERVE).attemptId, 'worker-1');
  });
});

describe('GET /orchestration/orders/{orderId}/items', () => {
  it('answers the order’s plan as a graph, each item with what it did: attempts, request, answer, who acted', async () => {
    // Prepare: an item in fallout, retried by an operator, which the worker then completes.
    const { deps, store, queue } = await setup();
    await store.attachTaskToken(ORDER, RESERVE, 'token-reserve', DECOMPOSED_AT);
    await putInFallout(store, RESERVE);
    answered(await post(deps, 'retry', RESERVE, { reason: 'address corrected' }), 200);
    const [start] = queue.sent;
    assert.ok(start);
    await runItem(workerDeps(deps).deps, start, 'delivery-retry');

    // Act
    const graph = answered(await call(deps, itemsRequest(ORDER)), 200);

    // Assess
    assert.equal(graph.orderId, ORDER);
    const items = graph.items as Record<string, unknown>[];
    const reserve = items.find((item) => item.key === RESERVE);
    assert.ok(reserve);
    assert.equal(reserve.id, `${ORDER}.${RESERVE}`);
    assert.equal(reserve.state, 'Completed');
    assert.deepEqual(reserve.attributes, { portId: 'P-7' });
    assert.equal((reserve.attempts as unknown[]).length, 1);
    assert.ok(reserve.request && reserve.response, 'the latest request and answer');
    assert.ok(
      (reserve.history as { by?: Actor }[]).some((entry) => entry.by?.id === OLGA.id),
      'the operator’s retry',
    );
    assert.ok((graph.dependencies as unknown[]).length > 0);
  });

  it('answers 404 for an order that does not exist, 400 for a malformed id, 403 to a submitter', async () => {
    const { deps } = await setup();

    answered(await call(deps, itemsRequest('o-9')), 404);
    answered(await call(deps, itemsRequest('../o-1')), 400);
    answered(await call(deps, itemsRequest(ORDER, SUBMITTER)), 403);
  });
});

describe('POST /orchestration/items/{itemId}/complete', () => {
  const VISIT = 'tv-bundle.technician-visit.1';

  /** A TV order whose technician visit waits for an operator. */
  async function waitingVisit() {
    const world = await setup();
    const catalog = dslCatalog();
    const submitted = productOrderCreateSchema.parse({
      productOrderItem: [tvLine('tv-a', { installation: 'technician' })],
    });
    const { order, items } = decompose(catalog, 'o-2', submitted, DECOMPOSED_AT);
    await world.store.createOrder(order, items);
    assert.ok(await world.store.claimItem('o-2', VISIT, 'delivery-1', FAILED_AT, 'waiting for an operator'));
    return { ...world, deps: { ...world.deps, catalog } };
  }
  const complete = (deps: OrchestrationApiDeps, body: unknown) =>
    call(deps, actionRequest('complete', `o-2.${VISIT}`, body, OPERATOR));

  it('completes a manual task with the attributes the operator gives; refuses an item that is none', async () => {
    const { deps, store } = await waitingVisit();

    const item = answered(await complete(deps, { visitDate: '2025-03-04' }), 200);

    assert.equal(item.state, 'Completed');
    assert.deepEqual(item.completedBy, OLGA);
    assert.deepEqual(item.attributes, { visitDate: '2025-03-04' });
    assert.equal(store.item('o-2', VISIT).state, 'Completed');
    const callout = answered(await post(deps, 'complete', RESERVE, {}), 409);
    assert.match(String(callout.message), /not a manual task/);
  });

  it('completes one without a body, and refuses attributes it cannot take, naming them', async () => {
    const { deps } = await waitingVisit();
    const tooMany = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`a${i}`, i]));

    const refused = answered(await complete(deps, tooMany), 400);
    const longName = answered(await complete(deps, { ['x'.repeat(101)]: 1 }), 400);
    const notAnObject = answered(await complete(deps, [1]), 400);

    assert.deepEqual(
      [refused, longName, notAnObject].map((b) => (b.problems as { field: string }[]).map((p) => p.field)),
      [['body'], [`attributes.${'x'.repeat(101)}`], ['body']],
    );
    answered(await complete(deps, undefined), 200);
  });

  it('answers 404 for a task that does not exist, and 403 to a submitter', async () => {
    const { deps } = await waitingVisit();

    answered(await call(deps, actionRequest('complete', 'o-2.tv-bundle.nothing.1', {}, OPERATOR)), 404);
    answered(await call(deps, actionRequest('complete', `o-2.${VISIT}`, {}, SUBMITTER)), 403);
  });
});
