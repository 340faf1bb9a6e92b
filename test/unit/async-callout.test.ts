import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { callbackNonce, parseCorrelationId } from '../../lambdas/domain/callback';
import { checkCallbackProof } from '../../lambdas/domain/callback-keys';
import { defineCustomAdapter } from '../../lambdas/domain/integration-adapters';
import type { CallbackDeadlineMessage } from '../../lambdas/ports/work-queue';
import { applyCallback } from '../../lambdas/use-cases/apply-callback';
import { runItem } from '../../lambdas/use-cases/run-item';
import legacyWorkOrders from '../support/catalog-adapters/legacy-work-orders';
import {
  ACTIVATE,
  ACTIVATE_ONLY,
  ASYNC_TIMEOUT_SECONDS,
  asyncCatalog,
  asyncWorld,
  callbackMessage,
  correlationFor,
  deadlinesIn,
  dispatch,
  MAX_DELAY_SECONDS,
  ORDER,
  RESERVE,
  start,
  T0,
} from './fixtures/async';
import { jsonAnswer, steppingClock, testCallbacks } from './fixtures/fake-ports';
import { capturedLogs } from './fixtures/logs';
import { withoutRetries } from './fixtures/retry-rules';

/** Keeps the worker's warnings out of the test report. */
function quietLogs(t: TestContext): void {
  capturedLogs(t);
}

/** The callback URL, its correlation id and its token, as the worker sent them in the header. */
function sentCallback(headers: Record<string, string> | undefined) {
  const header = headers?.['callback-url'];
  assert.ok(header, 'the request carries a callback-url header');
  const url = new URL(header);
  const [, correlationId = '', token = ''] = /^\/callbacks\/([^/]+)\/([^/]+)$/.exec(url.pathname) ?? [];
  return { header, url, correlationId, token };
}

/** Starts the activate-only order's async callout under `delivery-1` with its system accepting it. */
async function accepted(t: TestContext, options: Parameters<typeof asyncWorld>[0] = {}) {
  quietLogs(t);
  const world = await asyncWorld(options);
  await runItem(world.worker, dispatch(ACTIVATE_ONLY, 'token-1'), 'delivery-1');
  return world;
}

describe('runItem: asynchronous callouts', () => {
  it('sends a callback-url header with a valid proof for <orderId>.<itemKey>.<nonce of the delivery>', async (t) => {
    // Prepare
    quietLogs(t);
    const { worker, http } = await asyncWorld();

    // Act
    await runItem(worker, dispatch(ACTIVATE_ONLY, 'token-1'), 'delivery-1');

    // Assess
    assert.equal(http.requests.length, 1);
    const { url, correlationId, token } = sentCallback(http.requests[0]?.headers);
    assert.equal(url.origin, testCallbacks.baseUrl);
    assert.equal(correlationId, `${ORDER}.${ACTIVATE_ONLY}.${callbackNonce('delivery-1')}`);
    assert.deepEqual(parseCorrelationId(correlationId), {
      orderId: ORDER,
      itemKey: ACTIVATE_ONLY,
      nonce: callbackNonce('delivery-1'),
    });
    const proof = checkCallbackProof(await testCallbacks.keys(), correlationId, token, new Date(T0));
    assert.equal(proof.valid, true);
    // Valid on its own for the callout's timeout, its wait for the answer, and five minutes of slack.
    assert.equal(
      proof.valid && proof.expiresAt.toISOString(),
      new Date(Date.parse(T0) + (30 + ASYNC_TIMEOUT_SECONDS + 300) * 1000).toISOString(),
    );
    const body = JSON.parse(http.requests[0]?.body ?? '{}');
    assert.equal(body.notify, url.href, 'the request mapping sees callback.url');
  });

  it('keeps the proof out of the stored item: request headers, request body and an echoing answer', async (t) => {
    // Prepare: the system echoes the callback URL it was given.
    quietLogs(t);
    const { worker, http, store } = await asyncWorld({
      responder: (request) =>
        jsonAnswer(202, { activationId: 'ACT-1', willCall: request.headers['callback-url'] }),
    });

    // Act
    await runItem(worker, dispatch(ACTIVATE_ONLY, 'token-1'), 'delivery-1');

    // Assess
    const { token, correlationId } = sentCallback(http.requests[0]?.headers);
    assert.ok(token.length > 0);
    const item = store.item(ORDER, ACTIVATE_ONLY);
    assert.ok(!JSON.stringify(item).includes(token), 'no trace of the proof anywhere in the item');
    const scrubbed = `${testCallbacks.baseUrl}/callbacks/${correlationId}/***`;
    assert.equal(item.request?.headers['callback-url'], scrubbed);
    assert.deepEqual(item.request?.body, { notify: scrubbed });
    assert.deepEqual(item.response?.body, { activationId: 'ACT-1', willCall: scrubbed });
    // What went on the wire was the real thing.
    assert.ok(http.requests[0]?.body?.includes(token));
  });

  it('leaves a 202 Running and awaiting its callback, answers no task, and queues one deadline 900 s away', async (t) => {
    // Prepare
    quietLogs(t);
    const { worker, store, queue, tasks } = await asyncWorld();

    // Act
    await runItem(worker, dispatch(ACTIVATE_ONLY, 'token-1'), 'delivery-1');

    // Assess
    const item = store.item(ORDER, ACTIVATE_ONLY);
    assert.equal(item.state, 'Running');
    assert.equal(item.attemptId, 'delivery-1');
    const deadline = new Date(Date.parse(T0) + ASYNC_TIMEOUT_SECONDS * 1000).toISOString();
    assert.deepEqual(item.awaiting, { since: T0, deadline });
    assert.equal(item.response?.status, 202);
    assert.deepEqual(item.response?.body, { activationId: 'ACT-1', status: 'accepted' });
    assert.match(
      item.history.at(-1)?.reason ?? '',
      /^accepted by the system; waiting for its callback until /,
    );
    assert.equal(item.history.at(-1)?.state, 'Running');
    assert.equal(item.outputAttributes, undefined);
    assert.deepEqual(tasks.answers, []);
    assert.equal(store.order(ORDER).state, 'inProgress');
    assert.deepEqual(store.done(ORDER), []);
    assert.deepEqual(queue.sent, [
      {
        kind: 'deadline',
        orderId: ORDER,
        itemKey: ACTIVATE_ONLY,
        nonce: callbackNonce('delivery-1'),
        dueAt: deadline,
      },
    ]);
    assert.deepEqual(queue.delays, [MAX_DELAY_SECONDS]);
  });

  it('measures the deadline from the moment the acceptance was received', async (t) => {
    // Prepare: a clock that moves on every reading, so each step of the callout sees its own time.
    quietLogs(t);
    const world = await asyncWorld();
    world.worker.now = steppingClock();

    // Act
    await runItem(world.worker, dispatch(ACTIVATE_ONLY, 'token-1'), 'delivery-1');

    // Assess
    const item = world.store.item(ORDER, ACTIVATE_ONLY);
    const receivedAt = Date.parse(item.response?.receivedAt ?? '');
    assert.equal(Date.parse(item.awaiting?.deadline ?? ''), receivedAt + ASYNC_TIMEOUT_SECONDS * 1000);
    assert.ok(Date.parse(item.awaiting?.since ?? '') >= receivedAt);
    assert.equal(deadlinesIn(world.queue.sent)[0]?.dueAt, item.awaiting?.deadline);
  });

  it('asks for the deadline itself when it is nearer than SQS’s longest delay', async (t) => {
    // Prepare
    const catalog = asyncCatalog();
    const activation = catalog.interfaces['activate-line'];
    assert.ok(activation);
    activation.asyncTimeoutSeconds = 120;

    // Act
    const { queue, store } = await accepted(t, { catalog });

    // Assess
    assert.deepEqual(queue.delays, [120]);
    assert.equal(store.item(ORDER, ACTIVATE_ONLY).awaiting?.deadline, '2025-03-01T10:02:00.000Z');
  });

  it('waits a week when the interface sets no timeout', async (t) => {
    const catalog = asyncCatalog();
    const activation = catalog.interfaces['activate-line'];
    assert.ok(activation);
    delete activation.asyncTimeoutSeconds;

    const { store, queue } = await accepted(t, { catalog });

    assert.equal(store.item(ORDER, ACTIVATE_ONLY).awaiting?.deadline, '2025-03-08T10:00:00.000Z');
    assert.deepEqual(queue.delays, [MAX_DELAY_SECONDS]);
  });

  it('completes a 200 at once with the response mapping: no wait, no deadline', async (t) => {
    // Prepare
    quietLogs(t);
    const { worker, store, queue, tasks } = await asyncWorld({
      responder: () => jsonAnswer(200, { active: true }),
    });

    // Act
    await runItem(worker, dispatch(ACTIVATE_ONLY, 'token-1'), 'delivery-1');

    // Assess
    const item = store.item(ORDER, ACTIVATE_ONLY);
    assert.equal(item.state, 'Completed');
    assert.equal(item.awaiting, undefined);
    assert.deepEqual(item.outputAttributes, { lineActive: true });
    assert.deepEqual(store.context(ORDER), { lineActive: true });
    assert.equal(store.order(ORDER).state, 'completed');
    assert.deepEqual(tasks.answers, [
      { taskToken: 'token-1', output: { itemKey: ACTIVATE_ONLY, state: 'Completed' } },
    ]);
    assert.deepEqual(deadlinesIn(queue.sent), []);
  });

  it('waits only on the statuses the interface accepts: with [201], a 202 completes synchronously', async (t) => {
    // Prepare
    const catalog = asyncCatalog();
    const activation = catalog.interfaces['activate-line'];
    assert.ok(activation);
    activation.acceptedStatuses = [201];

    // Act
    const { store, queue } = await accepted(t, {
      catalog,
      responder: () => jsonAnswer(202, { active: true }),
    });

    // Assess
    assert.equal(store.item(ORDER, ACTIVATE_ONLY).state, 'Completed');
    assert.deepEqual(deadlinesIn(queue.sent), []);
  });

  it('fails a 4xx, holds the order, and keeps the proof out of the error and the stored answer', async (t) => {
    // Prepare
    quietLogs(t);
    const { worker, store, http, queue, tasks } = await asyncWorld({
      responder: (request) =>
        jsonAnswer(422, { message: `cannot call back ${request.headers['callback-url']}` }),
    });

    // Act
    await runItem(worker, dispatch(ACTIVATE_ONLY, 'token-1'), 'delivery-1');

    // Assess
    const item = store.item(ORDER, ACTIVATE_ONLY);
    assert.equal(item.state, 'FatallyFailed');
    assert.match(item.error ?? '', /^answered 422/);
    assert.equal(item.awaiting, undefined);
    const { token, correlationId } = sentCallback(http.requests[0]?.headers);
    assert.ok(!JSON.stringify(item).includes(token));
    assert.ok(item.error?.includes(`/callbacks/${correlationId}/***`));
    assert.equal(store.order(ORDER).state, 'held');
    assert.deepEqual(tasks.answers, []);
    assert.deepEqual(queue.sent, []);
  });

  it('calls nothing again when its message is redelivered while the item awaits its callback, only re-sends the deadline', async (t) => {
    // Prepare
    const { worker, http, queue, store } = await accepted(t);
    const before = store.item(ORDER, ACTIVATE_ONLY);

    // Act: the same delivery again, and a fresh dispatch of the item under another delivery.
    await runItem(worker, dispatch(ACTIVATE_ONLY, 'token-1'), 'delivery-1');
    await runItem(worker, start(ACTIVATE_ONLY), 'delivery-2');

    // Assess
    assert.equal(http.requests.length, 1);
    // The holding delivery re-sends the same deadline, in case it died before sending it the first time.
    assert.equal(queue.sent.length, 2);
    assert.deepEqual(queue.sent[1], queue.sent[0]);
    assert.deepEqual(store.item(ORDER, ACTIVATE_ONLY), before);
  });

  it('sends the same callback URL when a worker died after claiming and its message is redelivered', async (t) => {
    // Prepare: the first worker claimed the item and died before its callout was recorded.
    quietLogs(t);
    const { worker, http, store } = await asyncWorld();
    await store.attachTaskToken(ORDER, ACTIVATE_ONLY, 'token-1', T0);
    await store.claimItem(ORDER, ACTIVATE_ONLY, 'delivery-1', T0, 'prerequisites done; started');
    const first = await asyncWorld();
    await runItem(first.worker, dispatch(ACTIVATE_ONLY, 'token-1'), 'delivery-1');

    // Act
    await runItem(worker, dispatch(ACTIVATE_ONLY, 'token-1'), 'delivery-1');

    // Assess
    assert.equal(
      sentCallback(http.requests[0]?.headers).header,
      sentCallback(first.http.requests[0]?.headers).header,
    );
    assert.ok(store.item(ORDER, ACTIVATE_ONLY).awaiting);
  });

  it('starts the async callout of a DSL line with the port its reservation got', async (t) => {
    // Prepare
    quietLogs(t);
    const { worker, store, http, queue } = await asyncWorld({ offering: 'dsl-broadband' });
    await runItem(worker, dispatch(ACTIVATE, 'token-2'), 'delivery-2');

    // Act
    await runItem(worker, dispatch(RESERVE, 'token-1'), 'delivery-1');
    await runItem(worker, start(ACTIVATE), 'delivery-3');

    // Assess
    const activation = http.requests[1];
    const { correlationId, header } = sentCallback(activation?.headers);
    assert.equal(correlationId, correlationFor(ACTIVATE, 'delivery-3'));
    assert.deepEqual(JSON.parse(activation?.body ?? '{}'), { portId: 'P-7', notify: header });
    assert.equal(store.item(ORDER, ACTIVATE).state, 'Running');
    assert.deepEqual(
      queue.sent.map((m) => m.kind),
      ['start', 'deadline'],
    );
  });
});

describe('runItem: callback deadlines', () => {
  /** The deadline the worker queued when the system accepted the callout. */
  function queuedDeadline(sent: readonly unknown[]): CallbackDeadlineMessage {
    const [deadline] = deadlinesIn(sent as CallbackDeadlineMessage[]);
    assert.ok(deadline, 'a deadline was queued');
    return deadline;
  }

  it('sends an early deadline on with the remaining delay, at most 900 s, and changes nothing', async (t) => {
    // Prepare
    const { worker, store, queue, clock } = await accepted(t);
    const deadline = queuedDeadline(queue.sent);
    const before = store.item(ORDER, ACTIVATE_ONLY);

    // Act: the first hop arrives after 900 s, later ones when less than 900 s remain.
    clock.advance(900);
    await runItem(worker, deadline, 'deadline-1');
    clock.advance(2400);
    await runItem(worker, deadline, 'deadline-2');
    clock.advance(299.5);
    await runItem(worker, deadline, 'deadline-3');

    // Assess
    assert.deepEqual(queue.sent.slice(1), [deadline, deadline, deadline]);
    assert.deepEqual(queue.delays, [900, 900, 300, 1]);
    assert.deepEqual(store.item(ORDER, ACTIVATE_ONLY), before);
    assert.equal(store.order(ORDER).state, 'inProgress');
  });

  it('fails the item when the deadline is due and no final answer came, and holds the order', async (t) => {
    // Prepare
    const { worker, store, queue, clock, tasks } = await accepted(t);
    const deadline = queuedDeadline(queue.sent);
    // A missed deadline is a timeout, which the default rule retries: here no rule retries it.
    await withoutRetries(worker.rules);

    // Act
    clock.advance(ASYNC_TIMEOUT_SECONDS);
    await runItem(worker, deadline, 'deadline-1');

    // Assess
    const item = store.item(ORDER, ACTIVATE_ONLY);
    assert.equal(item.state, 'FatallyFailed');
    assert.equal(
      item.error,
      'no final answer on the callback within 3600 s of the system accepting the callout (retry rule "no-retry" does not retry a timeout)',
    );
    assert.equal(item.history.at(-1)?.state, 'FatallyFailed');
    assert.equal(store.order(ORDER).state, 'held');
    assert.equal(queue.sent.length, 1, 'nothing sent on');
    assert.deepEqual(tasks.answers, []);
  });

  it('still fails an item that only had interim updates', async (t) => {
    const { worker, store, queue, clock, correlator } = await accepted(t);
    const deadline = queuedDeadline(queue.sent);
    const interim = callbackMessage(correlationFor(ACTIVATE_ONLY, 'delivery-1'), {
      status: 'inProgress',
      note: 'line test',
    });
    assert.equal(await applyCallback(correlator, interim), 'applied');
    await withoutRetries(worker.rules);

    clock.advance(ASYNC_TIMEOUT_SECONDS + 1);
    await runItem(worker, deadline, 'deadline-1');

    assert.equal(store.item(ORDER, ACTIVATE_ONLY).state, 'FatallyFailed');
    assert.equal(
      store.item(ORDER, ACTIVATE_ONLY).error,
      'no final answer on the callback within 3600 s of the system accepting the callout (retry rule "no-retry" does not retry a timeout)',
    );
    assert.equal(store.order(ORDER).state, 'held');
  });

  it('does nothing for a deadline that guards another wait of the item', async (t) => {
    // Prepare
    const { worker, store, queue, clock } = await accepted(t);
    const deadline = queuedDeadline(queue.sent);
    const before = store.item(ORDER, ACTIVATE_ONLY);

    // Act: early and due, under another delivery's nonce.
    const other = { ...deadline, nonce: callbackNonce('delivery-0') };
    await runItem(worker, other, 'deadline-1');
    clock.advance(ASYNC_TIMEOUT_SECONDS);
    await runItem(worker, other, 'deadline-2');

    // Assess
    assert.deepEqual(store.item(ORDER, ACTIVATE_ONLY), before);
    assert.equal(store.order(ORDER).state, 'inProgress');
    assert.equal(queue.sent.length, 1, 'not sent on either');
  });

  it('does nothing for a deadline of an item its callback already completed', async (t) => {
    // Prepare
    const { worker, store, queue, clock, correlator, tasks } = await accepted(t);
    const deadline = queuedDeadline(queue.sent);
    const final = callbackMessage(correlationFor(ACTIVATE_ONLY, 'delivery-1'), {
      status: 'completed',
      serviceId: 'SVC-1',
    });
    assert.equal(await applyCallback(correlator, final), 'applied');
    const before = store.item(ORDER, ACTIVATE_ONLY);
    const answers = tasks.answers.length;

    // Act
    clock.advance(ASYNC_TIMEOUT_SECONDS);
    await runItem(worker, deadline, 'deadline-1');

    // Assess
    assert.deepEqual(store.item(ORDER, ACTIVATE_ONLY), before);
    assert.equal(before.state, 'Completed');
    assert.equal(store.order(ORDER).state, 'completed');
    assert.equal(tasks.answers.length, answers);
    assert.equal(queue.sent.length, 1);
  });

  it('does nothing for a deadline of an unknown item', async (t) => {
    const { worker, queue } = await accepted(t);
    const deadline = queuedDeadline(queue.sent);

    await runItem(worker, { ...deadline, itemKey: 'no-such.item.1' }, 'deadline-1');
    await runItem(worker, { ...deadline, orderId: 'o-404' }, 'deadline-2');

    assert.equal(queue.sent.length, 1);
  });
});

/** The activate-only catalog with activation behind the legacy work-order system's asynchronous adapter. */
function workOrderCatalog() {
  const catalog = asyncCatalog();
  const activation = catalog.interfaces['activate-line'];
  assert.ok(activation);
  catalog.interfaces['activate-line'] = { ...activation, adapter: WORK_ORDERS };
  catalog.mappings['activate-request'] = '{ "job": "J-" & order.id, "notify": callback.url }';
  return catalog;
}

const WORK_ORDERS = 'legacy-work-orders';
defineCustomAdapter(WORK_ORDERS, legacyWorkOrders);

const textAnswer = (status: number, body: string) => ({ status, headers: {}, body });

describe('runItem: an asynchronous custom adapter', () => {
  it('waits for the callback when the adapter reads the answer as accepted, on the path it built; the callback completes it', async (t) => {
    // Prepare
    quietLogs(t);
    const world = await asyncWorld({
      catalog: workOrderCatalog(),
      responder: () => textAnswer(200, 'result=queued\nticket=T-1'),
    });

    // Act
    await runItem(world.worker, dispatch(ACTIVATE_ONLY, 'token-1'), 'delivery-1');

    // Assess: the request went where the adapter said, in its form, with the callback URL.
    const [request] = world.http.requests;
    assert.equal(new URL(request?.url ?? '').pathname, `/work-orders/J-${ORDER}`);
    const { header, correlationId } = sentCallback(request?.headers);
    assert.equal(request?.body, `job=J-${ORDER}\nnotify=${header}`);
    assert.equal(correlationId, correlationFor(ACTIVATE_ONLY, 'delivery-1'));
    const waiting = world.store.item(ORDER, ACTIVATE_ONLY);
    assert.equal(waiting.state, 'Running');
    assert.ok(waiting.awaiting, 'waits for its callback');
    assert.equal(waiting.attempts?.at(-1)?.decision.kind, 'accepted');
    assert.equal(deadlinesIn(world.queue.sent).length, 1);

    // Act: the system calls back.
    const result = await applyCallback(
      world.correlator,
      callbackMessage(correlationId, { status: 'completed', serviceId: 'S-9' }),
    );

    // Assess
    assert.equal(result, 'applied');
    const done = world.store.item(ORDER, ACTIVATE_ONLY);
    assert.equal(done.state, 'Completed');
    assert.deepEqual(done.outputAttributes, { serviceId: 'S-9' });
    assert.equal(world.store.order(ORDER).state, 'completed');
  });

  it('puts an answer the adapter reads as a failure no retry mends in fallout at once, whatever the rules retry', async (t) => {
    // Prepare: a rule that retries every status there is.
    quietLogs(t);
    const world = await asyncWorld({
      catalog: workOrderCatalog(),
      responder: () => textAnswer(200, 'result=rejected\nreason=no such line'),
    });
    await world.worker.rules.put(
      {
        id: 'everything',
        scope: { kind: 'all' },
        matches: {
          timeouts: true,
          connectionErrors: true,
          failedAnswers: true,
          statuses: ['1xx', '2xx', '3xx', '4xx', '5xx'],
        },
        policy: { type: 'fixed', count: 5, intervalSeconds: 10 },
        honourRetryAfter: true,
      },
      { id: 'op-1', name: 'Olga' },
      T0,
    );

    // Act
    await runItem(world.worker, dispatch(ACTIVATE_ONLY, 'token-1'), 'delivery-1');

    // Assess
    const item = world.store.item(ORDER, ACTIVATE_ONLY);
    assert.equal(item.state, 'FatallyFailed');
    assert.match(
      item.error ?? '',
      new RegExp(`answered 200, which adapter "${WORK_ORDERS}" reads as a failure: no such line`),
    );
    assert.match(item.error ?? '', /no retry rule matches an answer that cannot be used/);
    assert.equal(item.attempts?.length, 1);
    assert.equal(world.store.order(ORDER).state, 'held');
    assert.deepEqual(deadlinesIn(world.queue.sent), []);
  });

  it('leaves an answer the adapter reads as a retryable failure to the rules, as the status it names', async (t) => {
    // Prepare: "busy" on a 200 is the 503 the default rule retries.
    quietLogs(t);
    const world = await asyncWorld({
      catalog: workOrderCatalog(),
      responder: () => textAnswer(200, 'result=busy'),
    });

    // Act
    await runItem(world.worker, dispatch(ACTIVATE_ONLY, 'token-1'), 'delivery-1');

    // Assess
    const item = world.store.item(ORDER, ACTIVATE_ONLY);
    assert.equal(item.state, 'Failed');
    assert.equal(item.retries, 1);
    assert.deepEqual(
      item.attempts?.map((a) => [a.status, a.decision.kind]),
      [[200, 'retry']],
    );
    assert.equal(
      item.attempts?.[0]?.decision.kind === 'retry' && item.attempts[0].decision.ruleId,
      'default',
    );
  });

  it('completes at once with what the adapter reads from a 500 that means "already done"', async (t) => {
    // Prepare
    quietLogs(t);
    const catalog = workOrderCatalog();
    const activation = catalog.interfaces['activate-line'];
    assert.ok(activation);
    catalog.interfaces['activate-line'] = { ...activation, responseMapping: 'work-order-done' };
    catalog.mappings['work-order-done'] = '{ "ticket": response.ticket, "again": response.already }';
    const world = await asyncWorld({
      catalog,
      responder: () => textAnswer(500, 'result=failed\nticket=T-7\nnote=already done'),
    });

    // Act
    await runItem(world.worker, dispatch(ACTIVATE_ONLY, 'token-1'), 'delivery-1');

    // Assess
    const item = world.store.item(ORDER, ACTIVATE_ONLY);
    assert.equal(item.state, 'Completed');
    assert.deepEqual(item.outputAttributes, { ticket: 'T-7', again: true });
    assert.deepEqual(deadlinesIn(world.queue.sent), []);
  });
});
