import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { Authenticator } from '../../lambdas/domain/authenticator';
import { callbackNonce, parseCorrelationId } from '../../lambdas/domain/callback';
import type { Catalog } from '../../lambdas/domain/catalog';
import { decompose } from '../../lambdas/domain/decompose';
import { UnauthorizedError } from '../../lambdas/domain/errors';
import { defineCustomAdapter } from '../../lambdas/domain/integration-adapters';
import { toItemView } from '../../lambdas/domain/item-view';
import { procedureSchema } from '../../lambdas/domain/procedure';
import { productOrderCreateSchema } from '../../lambdas/domain/product-order';
import type { Actor } from '../../lambdas/domain/roles';
import type { HttpRequest } from '../../lambdas/ports/http-client';
import type { StartItemMessage } from '../../lambdas/ports/work-queue';
import { type ApplyCallbackDeps, applyCallback } from '../../lambdas/use-cases/apply-callback';
import { type ReceiveCallbackDeps, receiveCallback } from '../../lambdas/use-cases/receive-callback';
import { runItem } from '../../lambdas/use-cases/run-item';
import type { RunItemDeps } from '../../lambdas/use-cases/run-item-deps';
import { planDefinitionSchema } from '../../statemachines/plan-definition';
import legacyWorkOrders from '../support/catalog-adapters/legacy-work-orders';
import { schemaProblems } from '../support/contract';
import { callbackMessage, deadlinesIn, manualClock, RecordingCallbackQueue, T0 } from './fixtures/async';
import { offering } from './fixtures/catalogs';
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

/**
 * An integration procedure whose middle step answers on a callback: the item waits at that step, the
 * callback hands it back, and the next claim runs the procedure on from the step after — each request
 * sent once, whatever is redelivered, raced or retried.
 */

const ORDER = 'o-1';
const KEY = 'install.dispatch.1';
const OPERATOR: Actor = { id: 'op-1', name: 'Olga Operator' };
const WORK_ORDERS = 'legacy-work-orders';
defineCustomAdapter(WORK_ORDERS, legacyWorkOrders);

/**
 * Scheduling finds a slot (sync), a crew system books a crew for it on a callback (async-rest, or its
 * legacy twin through the asynchronous custom adapter), and notification takes the message (a path).
 */
function dispatchCatalog(crewInterface: 'book-crew' | 'crew-orders' = 'book-crew'): Catalog {
  const crewBody =
    crewInterface === 'book-crew'
      ? '{ "slot": steps.find.slotId, "notify": callback.url }'
      : '{ "job": "J-" & steps.find.slotId }';
  return {
    systems: {
      scheduling: { id: 'scheduling', name: 'Scheduling', baseUrl: 'http://scheduling.test', limits: {} },
      crews: { id: 'crews', name: 'Crews', baseUrl: 'http://crews.test/api', limits: {} },
      notification: {
        id: 'notification',
        name: 'Notification',
        baseUrl: 'http://notification.test',
        limits: {},
      },
    },
    interfaces: {
      'book-slot': {
        id: 'book-slot',
        system: 'scheduling',
        method: 'POST',
        path: '/slots',
        adapter: 'sync-rest',
        status: 'Online',
        timeoutSeconds: 5,
      },
      'book-crew': {
        id: 'book-crew',
        system: 'crews',
        method: 'POST',
        path: '/crews',
        adapter: 'async-rest',
        status: 'Online',
        timeoutSeconds: 5,
        asyncTimeoutSeconds: 3600,
        asyncResponseMapping: 'crew-answer',
      },
      'crew-orders': {
        id: 'crew-orders',
        system: 'crews',
        method: 'POST',
        path: '/legacy',
        adapter: WORK_ORDERS,
        status: 'Online',
        timeoutSeconds: 5,
        asyncTimeoutSeconds: 3600,
      },
    },
    mappings: { 'crew-answer': '{ "crew": response.crew, "at": response.at }' },
    authProfiles: {},
    customAdapters: [WORK_ORDERS],
    asynchronousAdapters: [WORK_ORDERS],
    offerings: { install: offering('install', [{ name: 'serviceAddress', valueType: 'string' }]) },
    procedures: {
      dispatch: procedureSchema.parse({
        id: 'dispatch',
        inputs: ['address'],
        outputs: ['slotId', 'crew', 'messageId'],
        steps: [
          { id: 'find', type: 'http', interface: 'book-slot', body: '{ "address": input.address }' },
          { id: 'crew', type: 'http', interface: crewInterface, body: crewBody },
          {
            id: 'notify',
            type: 'http',
            system: 'notification',
            method: 'POST',
            path: '/messages',
            body: '{ "text": "crew " & steps.crew.crew }',
          },
          {
            id: 'result',
            type: 'set',
            values: {
              slotId: 'steps.find.slotId',
              crew: 'steps.crew.crew',
              messageId: 'steps.notify.messageId',
            },
          },
        ],
      }),
    },
    plans: {
      install: planDefinitionSchema.parse({
        id: 'install',
        fulfils: [{ offering: 'install' }],
        items: [
          {
            id: 'dispatch',
            type: 'autoTask',
            procedure: 'dispatch',
            input: '{ "address": characteristics.serviceAddress }',
            output: '{ "crew": output.crew, "message": output.messageId }',
          },
        ],
      }),
    },
  };
}

/** Scheduling gives SLOT-7, the crew systems accept, notification takes MSG-1; `crews` may answer otherwise. */
function systems(crews: Responder = () => jsonAnswer(202, { status: 'queued' })): Responder {
  return (request) => {
    if (request.url.startsWith('http://scheduling.test/')) return jsonAnswer(201, { slotId: 'SLOT-7' });
    if (request.url.startsWith('http://crews.test/')) return crews(request);
    return jsonAnswer(201, { messageId: 'MSG-1' });
  };
}

async function world(t: TestContext, responder: Responder = systems(), catalog = dispatchCatalog()) {
  capturedLogs(t);
  const submitted = productOrderCreateSchema.parse({
    productOrderItem: [
      {
        id: '1',
        action: 'add',
        productOffering: { id: 'install' },
        product: { productCharacteristic: [{ name: 'serviceAddress', value: '1 Main Street' }] },
      },
    ],
  });
  const store = new InMemoryOrderStore();
  const { order, items } = decompose(catalog, ORDER, submitted, '2025-03-01T09:00:00.000Z');
  await store.createOrder(order, items);
  const clock = manualClock();
  const http = new ScriptedHttpClient(responder);
  const queue = new RecordingWorkQueue();
  const tasks = new RecordingPlanTasks();
  const rules = new InMemoryRetryRuleStore();
  const telemetry = new RecordingTelemetry();
  const worker: RunItemDeps = {
    store,
    tasks,
    queue,
    http,
    catalog,
    config: InMemoryConfigurationStore.seededFrom(catalog),
    limits: new InMemoryCalloutLimits(),
    auth: new Authenticator(new StaticSecretStore({}), http, clock.now),
    now: clock.now,
    telemetry,
    callbacks: testCallbacks,
    events: new RecordingAvailabilityEvents(),
    rules,
    sleep: async () => {},
  };
  const correlator: ApplyCallbackDeps = { store, tasks, queue, catalog, rules, now: clock.now, telemetry };
  const intake: ReceiveCallbackDeps = {
    store,
    queue: new RecordingCallbackQueue(),
    keys: testCallbacks.keys,
    catalog,
    systemKeys: async () => {
      throw new Error('no system signs its callbacks here');
    },
    now: clock.now,
  };
  return { store, http, queue, tasks, rules, clock, worker, correlator, intake, catalog };
}

const dispatch = { orderId: ORDER, itemKey: KEY, taskToken: 'token-1' };
const start: StartItemMessage = { kind: 'start', orderId: ORDER, itemKey: KEY };
const hosts = (http: ScriptedHttpClient) => http.requests.map((r) => new URL(r.url).host);
const crewRequests = (http: ScriptedHttpClient) =>
  http.requests.filter((r) => r.url.startsWith('http://crews.test/'));

/** The callback URL a request carried, as its parts. */
function callbackOf(request: HttpRequest | undefined) {
  const header = request?.headers['callback-url'];
  assert.ok(header, 'the request carries a callback-url header');
  const [, correlationId = '', proof = ''] = /\/callbacks\/([^/]+)\/([^/]+)$/.exec(header) ?? [];
  return { header, correlationId, proof };
}

/** What the API's document finds wrong with the item as the orchestration view answers it. */
async function viewProblems(store: InMemoryOrderStore): Promise<string[]> {
  const detail = await store.getItemDetail(ORDER, KEY);
  assert.ok(detail);
  return schemaProblems('OrchestrationItem', JSON.parse(JSON.stringify(toItemView(detail))));
}

describe('runItem: a procedure step that answers on a callback', () => {
  it('waits at the step, and its callback runs the procedure on from the next step: every request sent once', async (t) => {
    // Prepare
    const w = await world(t);

    // Act: the plan dispatches the item.
    await runItem(w.worker, dispatch, 'm-1');

    // Assess: it waits at the crew step, with the step's own callback URL, in the header and the body.
    const waiting = w.store.item(ORDER, KEY);
    assert.equal(waiting.state, 'Running');
    assert.equal(waiting.awaiting?.step, 'crew');
    assert.equal(waiting.procedure?.next, 1, 'the step it waits at');
    assert.match(
      waiting.history.at(-1)?.reason ?? '',
      /^procedure step "crew" accepted by the system; waiting/,
    );
    assert.deepEqual(hosts(w.http), ['scheduling.test', 'crews.test']);
    const [crew] = crewRequests(w.http);
    const { header, correlationId, proof } = callbackOf(crew);
    assert.deepEqual(JSON.parse(crew?.body ?? '{}'), { slot: 'SLOT-7', notify: header });
    assert.equal(crew?.headers['idempotency-key'], `${ORDER}.${KEY}.crew`);
    assert.equal(parseCorrelationId(correlationId)?.nonce, callbackNonce(`${ORDER}.${KEY}.crew`));
    assert.ok(!JSON.stringify(w.store.item(ORDER, KEY)).includes(proof), 'the proof is kept nowhere');
    assert.equal(deadlinesIn(w.queue.sent).length, 1);
    assert.equal(waiting.attempts?.at(-1)?.decision.kind, 'accepted');
    assert.deepEqual(await viewProblems(w.store), [], 'the orchestration view of the waiting item');

    // Act: an interim update, then the final answer.
    w.clock.advance(60);
    await applyCallback(
      w.correlator,
      callbackMessage(correlationId, { status: 'inProgress', note: 'crew found' }),
    );
    const result = await applyCallback(
      w.correlator,
      callbackMessage(correlationId, { status: 'completed', crew: 'C-3', at: '08:00' }),
    );

    // Assess: handed back, with the step's output through its async-response mapping, and a start sent.
    assert.equal(result, 'applied');
    const handedBack = w.store.item(ORDER, KEY);
    assert.equal(handedBack.state, 'Pending');
    assert.deepEqual(handedBack.procedure?.steps.crew, { crew: 'C-3', at: '08:00' });
    assert.equal(handedBack.procedure?.next, 2);
    assert.ok(handedBack.history.some((h) => /interim update from the system: crew found/.test(h.reason)));
    assert.deepEqual(w.queue.starts(), [start]);

    // Act: the start runs it on.
    await runItem(w.worker, start, 'm-2');

    // Assess
    const done = w.store.item(ORDER, KEY);
    assert.equal(done.state, 'Completed');
    assert.deepEqual(done.outputAttributes, { crew: 'C-3', message: 'MSG-1' });
    assert.deepEqual(hosts(w.http), ['scheduling.test', 'crews.test', 'notification.test']);
    assert.equal(w.http.requests[2]?.body, JSON.stringify({ text: 'crew C-3' }));
    assert.deepEqual(
      done.procedure?.trace.map((s) => s.step),
      ['find', 'crew', 'notify', 'result'],
    );
    assert.match(
      done.history.find((h) => h.state === 'Running' && /started again/.test(h.reason))?.reason ?? '',
      /goes on at step 3/,
    );
    assert.deepEqual(w.tasks.answers.length, 1, 'the plan is answered once');
    assert.deepEqual(await viewProblems(w.store), [], 'the orchestration view of the finished item');
  });

  it("takes a callback that beats the system's own acceptance: the acceptance changes nothing, and nothing is sent twice", async (t) => {
    // Prepare: the crew system calls back before it answers 202.
    let w: Awaited<ReturnType<typeof world>> | undefined;
    w = await world(
      t,
      systems(async (request) => {
        const { correlationId } = callbackOf(request);
        assert.ok(w);
        await applyCallback(
          w.correlator,
          callbackMessage(correlationId, { status: 'completed', crew: 'C-1' }),
        );
        return jsonAnswer(202, { status: 'queued' });
      }),
    );

    // Act
    await runItem(w.worker, dispatch, 'm-1');

    // Assess: handed back by the callback; the acceptance's wait was not written.
    const handedBack = w.store.item(ORDER, KEY);
    assert.equal(handedBack.state, 'Pending');
    assert.equal(handedBack.awaiting, undefined);
    assert.deepEqual(deadlinesIn(w.queue.sent), [], 'no wait, no deadline');
    await runItem(w.worker, start, 'm-2');
    assert.equal(w.store.item(ORDER, KEY).state, 'Completed');
    assert.deepEqual(hosts(w.http), ['scheduling.test', 'crews.test', 'notification.test']);
  });

  it('runs it on once however the answer and the messages are redelivered, and after a correlator that died with the start unsent', async (t) => {
    // Prepare: accepted; the correlator's first start cannot be sent (it dies there).
    const w = await world(t);
    await runItem(w.worker, dispatch, 'm-1');
    const { correlationId } = callbackOf(crewRequests(w.http)[0]);
    const answer = callbackMessage(correlationId, { status: 'completed', crew: 'C-2' });
    const send = w.queue.send.bind(w.queue);
    w.queue.send = async () => {
      throw new Error('the queue is unreachable');
    };
    await assert.rejects(applyCallback(w.correlator, answer), /the queue is unreachable/);
    w.queue.send = send;
    assert.equal(w.store.item(ORDER, KEY).state, 'Pending', 'its write was made');
    assert.deepEqual(w.queue.starts(), []);

    // Act: the answer comes again (its message redelivered), twice; the plan's first message too.
    assert.equal(await applyCallback(w.correlator, answer), 'duplicate');
    assert.equal(await applyCallback(w.correlator, answer), 'duplicate');
    await runItem(w.worker, dispatch, 'm-1');
    for (const [i] of w.queue.starts().entries()) await runItem(w.worker, start, `m-start-${i}`);

    // Assess
    assert.equal(w.queue.starts().length, 2, 'each redelivered answer sends the start again');
    assert.equal(w.store.item(ORDER, KEY).state, 'Completed');
    assert.deepEqual(hosts(w.http), ['scheduling.test', 'crews.test', 'notification.test']);
    assert.equal(w.tasks.answers.length >= 1, true);
  });

  it("refuses, at the door and in the correlator, an answer on the step's URL once the procedure moved past it", async (t) => {
    // Prepare: completed at the step, then the procedure ran on.
    const w = await world(t);
    await runItem(w.worker, dispatch, 'm-1');
    const { correlationId, proof } = callbackOf(crewRequests(w.http)[0]);
    await applyCallback(w.correlator, callbackMessage(correlationId, { status: 'completed', crew: 'C-1' }));
    await runItem(w.worker, start, 'm-2');
    const before = w.store.item(ORDER, KEY);

    // Act
    const late = callbackMessage(correlationId, { status: 'completed', crew: 'C-9' }, 'another-id');
    const applied = await applyCallback(w.correlator, late);
    const door = receiveCallback(w.intake, {
      correlationId,
      proof,
      rawBody: '{"status":"completed"}',
      parseBody: () => ({ status: 'completed' }),
    });

    // Assess
    assert.equal(applied, 'not-waiting');
    await assert.rejects(door, /the item is Completed; its callback changes nothing/);
    assert.deepEqual(w.store.item(ORDER, KEY), before);
  });

  it('retries the step under the rules after a failed answer, as a new request with a URL of its own, then goes on', async (t) => {
    // Prepare
    const w = await world(t);
    await w.rules.put(
      {
        id: 'crews-again',
        scope: { kind: 'interface', interfaceId: 'book-crew' },
        matches: { timeouts: false, connectionErrors: false, failedAnswers: true, statuses: [] },
        policy: { type: 'fixed', count: 1, intervalSeconds: 30 },
        honourRetryAfter: true,
      },
      OPERATOR,
      T0,
    );
    await runItem(w.worker, dispatch, 'm-1');
    const first = callbackOf(crewRequests(w.http)[0]);

    // Act: the system reports failure; the retry comes due.
    await applyCallback(
      w.correlator,
      callbackMessage(first.correlationId, { status: 'failed', error: { code: 'NO_CREW' } }),
    );
    const failed = w.store.item(ORDER, KEY);
    w.clock.advance(30);
    await runItem(w.worker, start, 'm-2');

    // Assess: Failed at the step; the retry sent the step again (only it), as a new request.
    assert.equal(failed.state, 'Failed');
    assert.equal(failed.procedure?.next, 1);
    assert.match(
      failed.error ?? '',
      /^procedure "dispatch" step "crew": the system reported failure: NO_CREW/,
    );
    const [, again] = crewRequests(w.http);
    assert.equal(again?.headers['idempotency-key'], `${ORDER}.${KEY}.r1.crew`);
    const second = callbackOf(again);
    assert.notEqual(second.correlationId, first.correlationId);
    assert.deepEqual(hosts(w.http), ['scheduling.test', 'crews.test', 'crews.test']);

    // Act: the second request is answered.
    await applyCallback(
      w.correlator,
      callbackMessage(second.correlationId, { status: 'completed', crew: 'C-4' }),
    );
    await runItem(w.worker, start, 'm-3');

    // Assess
    const done = w.store.item(ORDER, KEY);
    assert.equal(done.state, 'Completed');
    assert.deepEqual(done.outputAttributes, { crew: 'C-4', message: 'MSG-1' });
    assert.deepEqual(
      (done.attempts ?? []).map((a) => a.decision.kind),
      ['accepted', 'retry', 'accepted'],
    );
  });

  it('fails the step when no answer comes by its deadline; the retry repeats the same request on the same URL', async (t) => {
    // Prepare
    const w = await world(t);
    await w.rules.put(
      {
        id: 'crews-slow',
        scope: { kind: 'system', systemId: 'crews' },
        matches: { timeouts: true, connectionErrors: false, failedAnswers: false, statuses: [] },
        policy: { type: 'fixed', count: 1, intervalSeconds: 10 },
        honourRetryAfter: true,
      },
      OPERATOR,
      T0,
    );
    await runItem(w.worker, dispatch, 'm-1');
    const [deadline] = deadlinesIn(w.queue.sent);
    assert.ok(deadline);

    // Act: the deadline comes, then the retry.
    w.clock.advance(3600);
    await runItem(
      w.worker,
      { ...deadline, dueAt: w.store.item(ORDER, KEY).awaiting?.deadline ?? '' },
      'm-deadline',
    );
    const failed = w.store.item(ORDER, KEY);
    w.clock.advance(10);
    await runItem(w.worker, start, 'm-2');

    // Assess
    assert.equal(failed.state, 'Failed');
    assert.match(
      failed.error ?? '',
      /^procedure "dispatch" step "crew": no final answer on the callback within 3600 s/,
    );
    const [first, again] = crewRequests(w.http);
    assert.equal(again?.headers['idempotency-key'], first?.headers['idempotency-key']);
    assert.equal(callbackOf(again).correlationId, callbackOf(first).correlationId);
    assert.deepEqual(hosts(w.http), ['scheduling.test', 'crews.test', 'crews.test']);
    assert.equal(w.store.item(ORDER, KEY).state, 'Running');
  });

  it("takes an answer that came while the step's retry was due, instead of asking again", async (t) => {
    // Prepare: the step's acceptance was a 503 (the system may have acted), retried in 10 s.
    let calls = 0;
    const w = await world(
      t,
      systems(() =>
        ++calls === 1 ? jsonAnswer(503, { error: 'busy' }) : jsonAnswer(202, { status: 'queued' }),
      ),
    );
    await runItem(w.worker, dispatch, 'm-1');
    assert.equal(w.store.item(ORDER, KEY).state, 'Failed');
    const { correlationId } = callbackOf(crewRequests(w.http)[0]);

    // Act: it did act, and says so; then the retry comes due, and runs on.
    assert.equal(
      await applyCallback(w.correlator, callbackMessage(correlationId, { status: 'completed', crew: 'C-5' })),
      'kept',
    );
    w.clock.advance(10);
    await runItem(w.worker, start, 'm-2');
    for (const [i] of w.queue.starts().slice(1).entries()) await runItem(w.worker, start, `m-3-${i}`);

    // Assess
    const done = w.store.item(ORDER, KEY);
    assert.equal(done.state, 'Completed');
    assert.deepEqual(done.outputAttributes, { crew: 'C-5', message: 'MSG-1' });
    assert.deepEqual(
      hosts(w.http),
      ['scheduling.test', 'crews.test', 'notification.test'],
      'not asked again',
    );
  });

  it('checks the signature of a step whose interface wants its callbacks signed', async (t) => {
    // Prepare
    const catalog = dispatchCatalog();
    const crew = catalog.interfaces['book-crew'];
    assert.ok(crew);
    catalog.interfaces['book-crew'] = { ...crew, callbackAuth: 'standard-webhooks' };
    const w = await world(t, systems(), catalog);
    w.intake.systemKeys = async () => [Buffer.from('the crew system secret')];
    await runItem(w.worker, dispatch, 'm-1');
    const { correlationId, proof } = callbackOf(crewRequests(w.http)[0]);

    // Act
    const unsigned = receiveCallback(w.intake, {
      correlationId,
      proof,
      rawBody: '{"status":"completed"}',
      parseBody: () => ({ status: 'completed' }),
    });

    // Assess
    await assert.rejects(
      unsigned,
      (error) => error instanceof UnauthorizedError && /system "crews"/.test(error.message),
    );
  });

  it('waits at a step through an asynchronous custom adapter, which builds its path, and goes on after its callback', async (t) => {
    // Prepare: the legacy crew system answers "queued" in its line format.
    const w = await world(
      t,
      systems(() => ({ status: 200, headers: {}, body: 'result=queued' })),
      dispatchCatalog('crew-orders'),
    );

    // Act
    await runItem(w.worker, dispatch, 'm-1');

    // Assess
    const [legacy] = crewRequests(w.http);
    assert.equal(legacy?.url, 'http://crews.test/api/work-orders/J-SLOT-7');
    assert.equal(legacy?.body, 'job=J-SLOT-7');
    assert.equal(w.store.item(ORDER, KEY).awaiting?.step, 'crew');
    assert.equal(w.store.item(ORDER, KEY).request?.encodedBody, 'job=J-SLOT-7');
    assert.deepEqual(await viewProblems(w.store), [], 'the orchestration view, its encoded body too');

    // Act: its callback, without a mapping: the body is the step's output.
    const { correlationId } = callbackOf(legacy);
    await applyCallback(w.correlator, callbackMessage(correlationId, { status: 'completed', crew: 'L-1' }));
    await runItem(w.worker, start, 'm-2');

    // Assess
    const done = w.store.item(ORDER, KEY);
    assert.equal(done.state, 'Completed');
    assert.deepEqual(done.procedure?.steps.crew, { status: 'completed', crew: 'L-1' });
    assert.deepEqual(done.outputAttributes, { crew: 'L-1', message: 'MSG-1' });
  });

  it('puts a step its custom adapter reads as refused for good in fallout at once, naming the step', async (t) => {
    const w = await world(
      t,
      systems(() => ({ status: 200, headers: {}, body: 'result=rejected\nreason=no crew in that area' })),
      dispatchCatalog('crew-orders'),
    );

    await runItem(w.worker, dispatch, 'm-1');

    const item = w.store.item(ORDER, KEY);
    assert.equal(item.state, 'FatallyFailed');
    assert.match(
      item.error ?? '',
      /^procedure "dispatch" step "crew": crews answered 200, which adapter "legacy-work-orders" reads as a failure: no crew in that area/,
    );
    assert.equal(item.procedure?.next, 1);
    assert.deepEqual(deadlinesIn(w.queue.sent), []);
  });

  it('puts a step its custom adapter cannot encode in fallout, naming the step and the adapter, sending nothing', async (t) => {
    // Prepare: the body gives the legacy system no job.
    const catalog = dispatchCatalog('crew-orders');
    const dispatchProcedure = catalog.procedures.dispatch;
    assert.ok(dispatchProcedure);
    const crewStep = dispatchProcedure.steps[1];
    assert.ok(crewStep?.type === 'http');
    crewStep.body = '{ "slot": steps.find.slotId }';
    const w = await world(t, systems(), catalog);

    // Act
    await runItem(w.worker, dispatch, 'm-1');

    // Assess
    const item = w.store.item(ORDER, KEY);
    assert.equal(item.state, 'FatallyFailed');
    assert.match(
      item.error ?? '',
      /^procedure "dispatch" step "crew": adapter "legacy-work-orders" could not encode the request: job: must be a non-empty string/,
    );
    assert.deepEqual(hosts(w.http), ['scheduling.test'], 'nothing went to the crew system');
  });
});
