import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { handleCallback } from '../../lambdas/callback-api/handler';
import { callbackIdOf, callbackNonce, callbackProof, correlationIdOf } from '../../lambdas/domain/callback';
import {
  ConflictError,
  NotFoundError,
  UnauthorizedError,
  ValidationError,
} from '../../lambdas/domain/errors';
import { parseJsonBody } from '../../lambdas/shared/http';
import { applyCallback } from '../../lambdas/use-cases/apply-callback';
import { type ReceiveCallbackDeps, receiveCallback } from '../../lambdas/use-cases/receive-callback';
import { runItem } from '../../lambdas/use-cases/run-item';
import {
  ACTIVATE_ONLY,
  ASYNC_TIMEOUT_SECONDS,
  asyncWorld,
  correlationFor,
  deadlinesIn,
  dispatch,
  ORDER,
  proofFor,
  T0,
} from './fixtures/async';

/** Keeps the refusals' warnings out of the test report. */
function quietLogs(t: TestContext): void {
  t.mock.method(console, 'error', () => {});
  t.mock.method(console, 'log', () => {});
}

/** An API Gateway event of a callback POST, as the callback API receives it. */
function callbackEvent(
  correlationId: string,
  token: string | undefined,
  body: string,
  headers: Record<string, string> = { 'content-type': 'application/json' },
): APIGatewayProxyEventV2 {
  return {
    routeKey: 'POST /callbacks/{correlationId}',
    rawPath: `/callbacks/${correlationId}`,
    pathParameters: { correlationId },
    ...(token === undefined ? {} : { queryStringParameters: { token } }),
    headers,
    body,
    isBase64Encoded: false,
  } as unknown as APIGatewayProxyEventV2;
}

/** Hands a callback to the use case the way the handler does, the body parsed by parseJsonBody. */
function receive(
  deps: ReceiveCallbackDeps,
  request: { correlationId: string; token: string | undefined; body: unknown; idempotencyKey?: string },
) {
  const raw = typeof request.body === 'string' ? request.body : JSON.stringify(request.body);
  const event = callbackEvent(request.correlationId, request.token, raw);
  return receiveCallback(deps, {
    correlationId: request.correlationId,
    token: request.token,
    rawBody: raw,
    parseBody: () => parseJsonBody(event),
    ...(request.idempotencyKey ? { idempotencyKey: request.idempotencyKey } : {}),
  });
}

/** An order whose async activation was accepted under `delivery-1` and now waits for its callback. */
async function waiting(t: TestContext) {
  quietLogs(t);
  const world = await asyncWorld();
  await runItem(world.worker, dispatch(ACTIVATE_ONLY, 'token-1'), 'delivery-1');
  assert.ok(world.store.item(ORDER, ACTIVATE_ONLY).awaiting, 'the item awaits its callback');
  const correlationId = correlationFor(ACTIVATE_ONLY, 'delivery-1');
  return { ...world, correlationId, token: await proofFor(correlationId) };
}

const FINAL = { status: 'completed', serviceId: 'SVC-1' };

describe('receiveCallback', () => {
  describe('refuses a callback without a valid proof (401) before reading anything', () => {
    const forgeries: [string, () => Promise<string | undefined>][] = [
      ['no token', async () => undefined],
      ['an empty token', async () => ''],
      [
        'a token signed with another key',
        async () => callbackProof('not-the-key', correlationFor(ACTIVATE_ONLY, 'delivery-1')),
      ],
      ['the token of another wait of the item', () => proofFor(correlationFor(ACTIVATE_ONLY, 'delivery-0'))],
      ['garbage', async () => '%%%not-base64%%%'],
    ];
    for (const [what, forge] of forgeries) {
      it(`with ${what}`, async (t) => {
        // Prepare
        const { intake, store, callbackQueue, correlationId } = await waiting(t);
        const proof = await forge();
        store.reads = 0;

        // Act
        const received = receive(intake, { correlationId, token: proof, body: FINAL });

        // Assess
        await assert.rejects(received, UnauthorizedError);
        assert.equal(store.reads, 0, 'nothing was read');
        assert.deepEqual(callbackQueue.sent, []);
      });
    }

    it('even when the body is not JSON either', async (t) => {
      const { intake, store, correlationId } = await waiting(t);
      store.reads = 0;

      await assert.rejects(
        receive(intake, { correlationId, token: 'forged', body: '{oops' }),
        UnauthorizedError,
      );
      assert.equal(store.reads, 0);
    });
  });

  it('answers 404 for a malformed correlation id, even with a valid proof for it, without reading', async (t) => {
    // Prepare
    const { intake, store, callbackQueue } = await waiting(t);
    const correlationId = 'not-a-correlation-id';
    store.reads = 0;

    // Act
    const received = receive(intake, { correlationId, token: await proofFor(correlationId), body: FINAL });

    // Assess
    await assert.rejects(received, NotFoundError);
    assert.equal(store.reads, 0);
    assert.deepEqual(callbackQueue.sent, []);
  });

  for (const [what, correlationId] of [
    [
      'an unknown order',
      correlationIdOf({ orderId: 'o-404', itemKey: ACTIVATE_ONLY, nonce: callbackNonce('delivery-1') }),
    ],
    ['an unknown item of a known order', correlationFor('activate-only.no-such-item.1', 'delivery-1')],
  ] as [string, string][]) {
    it(`answers 404 for ${what}`, async (t) => {
      const { intake, callbackQueue } = await waiting(t);

      const received = receive(intake, { correlationId, token: await proofFor(correlationId), body: FINAL });

      await assert.rejects(received, NotFoundError);
      assert.deepEqual(callbackQueue.sent, []);
    });
  }

  it('answers 400 naming the field for a body without a status', async (t) => {
    // Prepare
    const { intake, callbackQueue, correlationId, token } = await waiting(t);

    // Act
    const received = receive(intake, { correlationId, token, body: { serviceId: 'SVC-1' } });

    // Assess
    await assert.rejects(received, (error: unknown) => {
      assert.ok(error instanceof ValidationError);
      assert.deepEqual(
        error.problems.map((p) => p.field),
        ['status'],
      );
      return true;
    });
    assert.deepEqual(callbackQueue.sent, []);
  });

  for (const [what, raw] of [
    ['not JSON', '{"status": "completed"'],
    ['empty', ''],
    ['a JSON array', '[{"status":"completed"}]'],
    ['a status it does not know', '{"status":"done"}'],
  ] as [string, string][]) {
    it(`answers 400 for a body that is ${what}`, async (t) => {
      const { intake, callbackQueue, correlationId, token } = await waiting(t);

      await assert.rejects(receive(intake, { correlationId, token, body: raw }), ValidationError);
      assert.deepEqual(callbackQueue.sent, []);
    });
  }

  it('queues a callback for a waiting item and answers 202 with its receipt, changing nothing', async (t) => {
    // Prepare
    const { intake, store, callbackQueue, correlationId, token, clock } = await waiting(t);
    const before = store.item(ORDER, ACTIVATE_ONLY);
    clock.advance(60);
    const raw = JSON.stringify(FINAL);

    // Act
    const receipt = await receive(intake, { correlationId, token, body: raw });

    // Assess
    const callbackId = callbackIdOf(undefined, raw);
    assert.deepEqual(receipt, { correlationId, callbackId, status: 'accepted' });
    assert.deepEqual(callbackQueue.sent, [
      { correlationId, callbackId, body: FINAL, receivedAt: '2025-03-01T10:01:00.000Z' },
    ]);
    assert.deepEqual(store.item(ORDER, ACTIVATE_ONLY), before);
  });

  it('identifies a callback by its Idempotency-Key when it has one', async (t) => {
    const { intake, callbackQueue, correlationId, token } = await waiting(t);

    const receipt = await receive(intake, { correlationId, token, body: FINAL, idempotencyKey: 'idem-1' });

    assert.equal(receipt.callbackId, callbackIdOf('idem-1', 'ignored'));
    assert.equal(callbackQueue.sent[0]?.callbackId, receipt.callbackId);
  });

  it('answers a re-sent callback (same Idempotency-Key) with the same receipt after it completed the item', async (t) => {
    // Prepare: the callback is received and applied; the item is Completed.
    const { intake, correlator, store, callbackQueue, correlationId, token } = await waiting(t);
    const first = await receive(intake, { correlationId, token, body: FINAL, idempotencyKey: 'idem-1' });
    const [queued] = callbackQueue.sent;
    assert.ok(queued);
    assert.equal(await applyCallback(correlator, queued), 'applied');
    assert.equal(store.item(ORDER, ACTIVATE_ONLY).state, 'Completed');

    // Act: re-sent with the same key, its body formatted differently.
    const again = await receive(intake, {
      correlationId,
      token,
      body: `${JSON.stringify(FINAL)}\n`,
      idempotencyKey: 'idem-1',
    });

    // Assess
    assert.deepEqual(again, first);
    assert.equal(callbackQueue.sent.length, 1, 'not queued again');
  });

  it('answers a re-sent callback (same raw body, no key) with the same receipt after it completed the item', async (t) => {
    const { intake, correlator, callbackQueue, correlationId, token } = await waiting(t);
    const raw = JSON.stringify(FINAL);
    const first = await receive(intake, { correlationId, token, body: raw });
    const [queued] = callbackQueue.sent;
    assert.ok(queued);
    assert.equal(await applyCallback(correlator, queued), 'applied');

    const again = await receive(intake, { correlationId, token, body: raw });

    assert.deepEqual(again, first);
    assert.equal(callbackQueue.sent.length, 1);
  });

  it('answers 409 for a new callback to an item that is already finished', async (t) => {
    // Prepare
    const { intake, correlator, callbackQueue, correlationId, token } = await waiting(t);
    await receive(intake, { correlationId, token, body: FINAL });
    const [queued] = callbackQueue.sent;
    assert.ok(queued);
    await applyCallback(correlator, queued);

    // Act
    const received = receive(intake, {
      correlationId,
      token,
      body: { status: 'failed', note: 'changed my mind' },
    });

    // Assess
    await assert.rejects(received, (error: unknown) => {
      assert.ok(error instanceof ConflictError);
      assert.match(error.message, /Completed/);
      return true;
    });
    assert.equal(callbackQueue.sent.length, 1);
  });

  it('answers 409 for a final answer that comes after the deadline ended its wait (the item waits for its retry)', async (t) => {
    const { intake, worker, queue, callbackQueue, clock, correlationId, token } = await waiting(t);
    const [deadline] = deadlinesIn(queue.sent);
    assert.ok(deadline);
    clock.advance(ASYNC_TIMEOUT_SECONDS);
    await runItem(worker, deadline, 'deadline-1');

    // The default rule retries a timeout: the item is Failed, waiting for its next attempt.
    await assert.rejects(
      receive(intake, { correlationId, token, body: FINAL }),
      /the item is Failed; its callback changes nothing/,
    );
    assert.deepEqual(callbackQueue.sent, []);
  });

  it('answers 409 for a callback to an earlier wait of an item a later attempt now runs', async (t) => {
    // Prepare: the item runs under delivery-2; the callback names delivery-1's wait.
    quietLogs(t);
    const { intake, store, callbackQueue } = await asyncWorld();
    await store.claimItem(ORDER, ACTIVATE_ONLY, 'delivery-2', T0, 'prerequisites done; started');
    const stale = correlationFor(ACTIVATE_ONLY, 'delivery-1');

    // Act
    const received = receive(intake, { correlationId: stale, token: await proofFor(stale), body: FINAL });

    // Assess
    await assert.rejects(received, (error: unknown) => {
      assert.ok(error instanceof ConflictError);
      assert.match(error.message, /superseded/);
      return true;
    });
    assert.deepEqual(callbackQueue.sent, []);
  });

  it('keeps the token out of what it queues (and the correlator stores) when the body echoes the callback URL', async (t) => {
    // Prepare
    const { intake, correlator, store, callbackQueue, correlationId, token } = await waiting(t);
    const url = `https://switchboard.test/callbacks/${correlationId}?token=${token}`;

    // Act
    await receive(intake, { correlationId, token, body: { ...FINAL, answeredTo: url } });
    const [queued] = callbackQueue.sent;
    assert.ok(queued);
    await applyCallback(correlator, queued);

    // Assess
    assert.ok(!JSON.stringify(queued).includes(token), 'the queued message has no token');
    assert.ok(!JSON.stringify(store.item(ORDER, ACTIVATE_ONLY)).includes(token), 'the item has no token');
  });

  it('answers 409 for an item that is still Pending', async (t) => {
    quietLogs(t);
    const { intake } = await asyncWorld();
    const correlationId = correlationFor(ACTIVATE_ONLY, 'delivery-1');

    await assert.rejects(
      receive(intake, { correlationId, token: await proofFor(correlationId), body: FINAL }),
      ConflictError,
    );
  });
});

describe('handleCallback', () => {
  it('answers 202 with the receipt, the Idempotency-Key header identifying the callback', async (t) => {
    // Prepare
    const { intake, callbackQueue, correlationId, token } = await waiting(t);
    const event = callbackEvent(correlationId, token, JSON.stringify(FINAL), {
      'content-type': 'application/json',
      'idempotency-key': 'idem-7',
    });

    // Act
    const response = await handleCallback(intake, event);

    // Assess
    assert.equal(response.statusCode, 202);
    assert.deepEqual(JSON.parse(String(response.body)), {
      correlationId,
      callbackId: callbackIdOf('idem-7', ''),
      status: 'accepted',
    });
    assert.equal(callbackQueue.sent.length, 1);
  });

  it('identifies a base64-encoded body by its decoded text', async (t) => {
    const { intake, correlationId, token } = await waiting(t);
    const raw = JSON.stringify(FINAL);
    const event = {
      ...callbackEvent(correlationId, token, Buffer.from(raw).toString('base64')),
      isBase64Encoded: true,
    };

    const response = await handleCallback(intake, event);

    assert.equal(response.statusCode, 202);
    assert.equal(JSON.parse(String(response.body)).callbackId, callbackIdOf(undefined, raw));
  });

  for (const [what, status, event] of [
    ['no token', 401, (id: string) => callbackEvent(id, undefined, JSON.stringify(FINAL))],
    ['a forged token', 401, (id: string) => callbackEvent(id, 'forged', JSON.stringify(FINAL))],
    [
      'a body that is not JSON',
      400,
      (id: string, token: string) => callbackEvent(id, token, 'status=completed'),
    ],
    [
      'a body that is not declared JSON',
      400,
      (id: string, token: string) =>
        callbackEvent(id, token, JSON.stringify(FINAL), { 'content-type': 'text/plain' }),
    ],
    [
      'another route',
      404,
      (id: string, token: string) => ({
        ...callbackEvent(id, token, JSON.stringify(FINAL)),
        routeKey: 'GET /callbacks/{correlationId}',
      }),
    ],
  ] as [string, number, (id: string, token: string) => APIGatewayProxyEventV2][]) {
    it(`answers ${status} for ${what}`, async (t) => {
      const { intake, callbackQueue, correlationId, token } = await waiting(t);

      const response = await handleCallback(intake, event(correlationId, token));

      assert.equal(response.statusCode, status);
      assert.equal(JSON.parse(String(response.body)).status, String(status));
      assert.deepEqual(callbackQueue.sent, []);
    });
  }

  it('answers 409 for a callback to a finished item', async (t) => {
    const { intake, correlator, callbackQueue, correlationId, token } = await waiting(t);
    await handleCallback(intake, callbackEvent(correlationId, token, JSON.stringify(FINAL)));
    const [queued] = callbackQueue.sent;
    assert.ok(queued);
    await applyCallback(correlator, queued);

    const response = await handleCallback(
      intake,
      callbackEvent(correlationId, token, JSON.stringify({ status: 'failed' })),
    );

    assert.equal(response.statusCode, 409);
  });

  it('answers the receipt of a re-sent callback without queueing it again after the item is done', async (t) => {
    const { intake, correlator, callbackQueue, correlationId, token } = await waiting(t);
    const event = callbackEvent(correlationId, token, JSON.stringify(FINAL));
    const first = await handleCallback(intake, event);
    const [queued] = callbackQueue.sent;
    assert.ok(queued);
    await applyCallback(correlator, queued);

    const again = await handleCallback(intake, event);

    assert.equal(again.statusCode, 202);
    assert.equal(again.body, first.body);
    assert.equal(callbackQueue.sent.length, 1);
  });
});
