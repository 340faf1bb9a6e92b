import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { handleCallback } from '../../lambdas/callback-api/handler';
import { callbackIdOf, callbackNonce, correlationIdOf } from '../../lambdas/domain/callback';
import { signCallbackProof } from '../../lambdas/domain/callback-keys';
import {
  CalloutError,
  ConflictError,
  NotFoundError,
  UnauthorizedError,
  ValidationError,
} from '../../lambdas/domain/errors';
import { signWebhook, type WebhookHeaders, webhookKey } from '../../lambdas/domain/webhook-signature';
import { parseJsonBody } from '../../lambdas/shared/http';
import { applyCallback } from '../../lambdas/use-cases/apply-callback';
import { type ReceiveCallbackDeps, receiveCallback } from '../../lambdas/use-cases/receive-callback';
import { runItem } from '../../lambdas/use-cases/run-item';
import { documented } from '../support/contract';
import {
  ACTIVATE_ONLY,
  ASYNC_TIMEOUT_SECONDS,
  asyncCatalog,
  asyncWorld,
  correlationFor,
  deadlinesIn,
  dispatch,
  ORDER,
  proofFor,
  T0,
} from './fixtures/async';
import { jsonAnswer } from './fixtures/fake-ports';
import { capturedLogs } from './fixtures/logs';

/** Keeps the refusals' warnings out of the test report. */
function quietLogs(t: TestContext): void {
  capturedLogs(t);
}

/** An API Gateway event of a callback POST, as the callback API receives it. */
function callbackEvent(
  correlationId: string,
  proof: string | undefined,
  body: string,
  headers: Record<string, string> = { 'content-type': 'application/json' },
): APIGatewayProxyEventV2 {
  return {
    routeKey:
      proof === undefined ? 'POST /callbacks/{correlationId}' : 'POST /callbacks/{correlationId}/{proof}',
    rawPath: `/callbacks/${correlationId}${proof === undefined ? '' : `/${proof}`}`,
    pathParameters: { correlationId, ...(proof === undefined ? {} : { proof }) },
    headers,
    body,
    isBase64Encoded: false,
  } as unknown as APIGatewayProxyEventV2;
}

/** The callback API's answer, once checked against the API's document (whatever its status). */
async function call(deps: ReceiveCallbackDeps, event: APIGatewayProxyEventV2) {
  return documented(event.routeKey, await handleCallback(deps, event));
}

/** Hands a callback to the use case the way the handler does, the body parsed by parseJsonBody. */
function receive(
  deps: ReceiveCallbackDeps,
  request: {
    correlationId: string;
    proof: string | undefined;
    body: unknown;
    idempotencyKey?: string;
    webhook?: WebhookHeaders;
  },
) {
  const raw = typeof request.body === 'string' ? request.body : JSON.stringify(request.body);
  const event = callbackEvent(request.correlationId, request.proof, raw);
  return receiveCallback(deps, {
    correlationId: request.correlationId,
    proof: request.proof,
    rawBody: raw,
    parseBody: () => parseJsonBody(event),
    ...(request.idempotencyKey ? { idempotencyKey: request.idempotencyKey } : {}),
    ...(request.webhook ? { webhook: request.webhook } : {}),
  });
}

/** An order whose async activation was accepted under `delivery-1` and now waits for its callback. */
async function waiting(t: TestContext) {
  quietLogs(t);
  const world = await asyncWorld();
  await runItem(world.worker, dispatch(ACTIVATE_ONLY, 'token-1'), 'delivery-1');
  assert.ok(world.store.item(ORDER, ACTIVATE_ONLY).awaiting, 'the item awaits its callback');
  const correlationId = correlationFor(ACTIVATE_ONLY, 'delivery-1');
  return { ...world, correlationId, proof: await proofFor(correlationId) };
}

const FINAL = { status: 'completed', serviceId: 'SVC-1' };

describe('receiveCallback', () => {
  describe('refuses a callback without a valid proof (401) before reading anything', () => {
    const forgeries: [string, () => Promise<string | undefined>][] = [
      ['no proof', async () => undefined],
      ['an empty proof', async () => ''],
      [
        'a proof signed with another key of the same id',
        async () =>
          signCallbackProof(
            { id: 'k1', key: 'not-the-key-but-32-characters-long', activeFrom: T0 },
            correlationFor(ACTIVATE_ONLY, 'delivery-1'),
            new Date(Date.parse(T0) + 3600_000),
          ),
      ],
      [
        'a proof under a key id the ring does not have',
        async () =>
          signCallbackProof(
            { id: 'k9', key: 'test-callback-signing-key-of-32-characters', activeFrom: T0 },
            correlationFor(ACTIVATE_ONLY, 'delivery-1'),
            new Date(Date.parse(T0) + 3600_000),
          ),
      ],
      [
        'a valid proof whose expiry was moved later',
        async () => {
          const [keyId, expires, mac] = (await proofFor(correlationFor(ACTIVATE_ONLY, 'delivery-1'))).split(
            '.',
          );
          return `${keyId}.${Number(expires) + 86_400}.${mac}`;
        },
      ],
      ['the proof of another wait of the item', () => proofFor(correlationFor(ACTIVATE_ONLY, 'delivery-0'))],
      ['garbage', async () => '%%%not-base64%%%'],
    ];
    for (const [what, forge] of forgeries) {
      it(`with ${what}`, async (t) => {
        // Prepare
        const { intake, store, callbackQueue, correlationId } = await waiting(t);
        const proof = await forge();
        store.reads = 0;

        // Act
        const received = receive(intake, { correlationId, proof: proof, body: FINAL });

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
        receive(intake, { correlationId, proof: 'forged', body: '{oops' }),
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
    const received = receive(intake, { correlationId, proof: await proofFor(correlationId), body: FINAL });

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

      const received = receive(intake, { correlationId, proof: await proofFor(correlationId), body: FINAL });

      await assert.rejects(received, NotFoundError);
      assert.deepEqual(callbackQueue.sent, []);
    });
  }

  it('answers 400 naming the field for a body without a status', async (t) => {
    // Prepare
    const { intake, callbackQueue, correlationId, proof } = await waiting(t);

    // Act
    const received = receive(intake, { correlationId, proof, body: { serviceId: 'SVC-1' } });

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
      const { intake, callbackQueue, correlationId, proof } = await waiting(t);

      await assert.rejects(receive(intake, { correlationId, proof, body: raw }), ValidationError);
      assert.deepEqual(callbackQueue.sent, []);
    });
  }

  it('queues a callback for a waiting item and answers 202 with its receipt, changing nothing', async (t) => {
    // Prepare
    const { intake, store, callbackQueue, correlationId, proof, clock } = await waiting(t);
    const before = store.item(ORDER, ACTIVATE_ONLY);
    clock.advance(60);
    const raw = JSON.stringify(FINAL);

    // Act
    const receipt = await receive(intake, { correlationId, proof, body: raw });

    // Assess
    const callbackId = callbackIdOf(nonceIn(correlationId), undefined, raw);
    assert.deepEqual(receipt, { correlationId, callbackId, status: 'accepted' });
    assert.deepEqual(callbackQueue.sent, [
      {
        correlationId,
        callbackId,
        body: FINAL,
        outcome: { status: 'completed' },
        receivedAt: '2025-03-01T10:01:00.000Z',
      },
    ]);
    assert.deepEqual(store.item(ORDER, ACTIVATE_ONLY), before);
  });

  it('identifies a callback by its Idempotency-Key when it has one', async (t) => {
    const { intake, callbackQueue, correlationId, proof } = await waiting(t);

    const receipt = await receive(intake, { correlationId, proof, body: FINAL, idempotencyKey: 'idem-1' });

    assert.equal(receipt.callbackId, callbackIdOf(nonceIn(correlationId), 'idem-1', 'ignored'));
    assert.equal(callbackQueue.sent[0]?.callbackId, receipt.callbackId);
  });

  it('answers a re-sent callback (same Idempotency-Key) with the same receipt after it completed the item', async (t) => {
    // Prepare: the callback is received and applied; the item is Completed.
    const { intake, correlator, store, callbackQueue, correlationId, proof } = await waiting(t);
    const first = await receive(intake, { correlationId, proof, body: FINAL, idempotencyKey: 'idem-1' });
    const [queued] = callbackQueue.sent;
    assert.ok(queued);
    assert.equal(await applyCallback(correlator, queued), 'applied');
    assert.equal(store.item(ORDER, ACTIVATE_ONLY).state, 'Completed');

    // Act: re-sent with the same key, its body formatted differently.
    const again = await receive(intake, {
      correlationId,
      proof,
      body: `${JSON.stringify(FINAL)}\n`,
      idempotencyKey: 'idem-1',
    });

    // Assess
    assert.deepEqual(again, first);
    assert.equal(callbackQueue.sent.length, 1, 'not queued again');
  });

  it('answers a re-sent callback (same raw body, no key) with the same receipt after it completed the item', async (t) => {
    const { intake, correlator, callbackQueue, correlationId, proof } = await waiting(t);
    const raw = JSON.stringify(FINAL);
    const first = await receive(intake, { correlationId, proof, body: raw });
    const [queued] = callbackQueue.sent;
    assert.ok(queued);
    assert.equal(await applyCallback(correlator, queued), 'applied');

    const again = await receive(intake, { correlationId, proof, body: raw });

    assert.deepEqual(again, first);
    assert.equal(callbackQueue.sent.length, 1);
  });

  it('answers 409 for a new callback to an item that is already finished', async (t) => {
    // Prepare
    const { intake, correlator, callbackQueue, correlationId, proof } = await waiting(t);
    await receive(intake, { correlationId, proof, body: FINAL });
    const [queued] = callbackQueue.sent;
    assert.ok(queued);
    await applyCallback(correlator, queued);

    // Act
    const received = receive(intake, {
      correlationId,
      proof,
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

  it('answers 409 for a callback to an earlier wait of an item a later attempt now runs', async (t) => {
    // Prepare: the item runs under delivery-2; the callback names delivery-1's wait.
    quietLogs(t);
    const { intake, store, callbackQueue } = await asyncWorld();
    await store.claimItem(ORDER, ACTIVATE_ONLY, 'delivery-2', T0, 'prerequisites done; started');
    const stale = correlationFor(ACTIVATE_ONLY, 'delivery-1');

    // Act
    const received = receive(intake, { correlationId: stale, proof: await proofFor(stale), body: FINAL });

    // Assess
    await assert.rejects(received, (error: unknown) => {
      assert.ok(error instanceof ConflictError);
      assert.match(error.message, /superseded/);
      return true;
    });
    assert.deepEqual(callbackQueue.sent, []);
  });

  it('keeps the proof out of what it queues (and the correlator stores) when the body echoes the callback URL', async (t) => {
    // Prepare
    const { intake, correlator, store, callbackQueue, correlationId, proof } = await waiting(t);
    const url = `https://switchboard.test/callbacks/${correlationId}/${proof}`;

    // Act
    await receive(intake, { correlationId, proof, body: { ...FINAL, answeredTo: url } });
    const [queued] = callbackQueue.sent;
    assert.ok(queued);
    await applyCallback(correlator, queued);

    // Assess
    assert.ok(!JSON.stringify(queued).includes(proof), 'the queued message has no proof');
    assert.ok(!JSON.stringify(store.item(ORDER, ACTIVATE_ONLY)).includes(proof), 'the item has no proof');
  });

  it('answers 409 for an item that is still Pending', async (t) => {
    quietLogs(t);
    const { intake } = await asyncWorld();
    const correlationId = correlationFor(ACTIVATE_ONLY, 'delivery-1');

    await assert.rejects(
      receive(intake, { correlationId, proof: await proofFor(correlationId), body: FINAL }),
      ConflictError,
    );
  });
});

describe('receiveCallback: a URL past its expiry', () => {
  it('refuses (401, saying when it expired) a proof past its expiry for an item that no longer waits on it', async (t) => {
    // Prepare: the callback completed the item; the URL's own life then ended.
    const { intake, correlator, callbackQueue, correlationId, clock } = await waiting(t);
    const expiresAt = new Date(Date.parse(T0) + 600_000);
    const proof = await proofFor(correlationId, expiresAt);
    await receive(intake, { correlationId, proof, body: FINAL });
    const [queued] = callbackQueue.sent;
    assert.ok(queued);
    await applyCallback(correlator, queued);
    clock.advance(601);

    // Act
    const received = receive(intake, { correlationId, proof, body: { status: 'failed' } });

    // Assess
    await assert.rejects(received, (error: unknown) => {
      assert.ok(error instanceof UnauthorizedError);
      assert.match(error.message, new RegExp(`expired at ${expiresAt.toISOString()}`));
      return true;
    });
    assert.equal(callbackQueue.sent.length, 1);
  });

  it('accepts a proof past its expiry while the item still waits on its URL with a deadline to come (a later attempt sent it again)', async (t) => {
    // Prepare: the item waits (deadline an hour after T0); the URL given first expired after ten minutes.
    const { intake, callbackQueue, correlationId, clock } = await waiting(t);
    const proof = await proofFor(correlationId, new Date(Date.parse(T0) + 600_000));
    clock.advance(1200);

    // Act
    const receipt = await receive(intake, { correlationId, proof, body: FINAL });

    // Assess
    assert.equal(receipt.status, 'accepted');
    assert.equal(callbackQueue.sent.length, 1);
  });

  it('refuses a proof past its expiry once the wait’s own deadline has passed too', async (t) => {
    const { intake, callbackQueue, correlationId, clock } = await waiting(t);
    const proof = await proofFor(correlationId, new Date(Date.parse(T0) + 600_000));
    clock.advance(ASYNC_TIMEOUT_SECONDS + 60);

    await assert.rejects(receive(intake, { correlationId, proof, body: FINAL }), /expired at/);
    assert.deepEqual(callbackQueue.sent, []);
  });
});

describe('receiveCallback: an interface whose system signs its callbacks (Standard Webhooks)', () => {
  const SECRET = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
  const OTHER_SECRET = `whsec_${Buffer.alloc(32, 9).toString('base64')}`;

  /** The activate-only order waiting for its callback, its interface wanting signed callbacks. */
  async function signedWaiting(t: TestContext) {
    quietLogs(t);
    const catalog = asyncCatalog();
    const iface = catalog.interfaces['activate-line'];
    assert.ok(iface);
    catalog.interfaces['activate-line'] = { ...iface, callbackAuth: 'standard-webhooks' };
    const world = await asyncWorld({ catalog, systemSecrets: { activation: SECRET } });
    await runItem(world.worker, dispatch(ACTIVATE_ONLY, 'token-1'), 'delivery-1');
    const correlationId = correlationFor(ACTIVATE_ONLY, 'delivery-1');
    return { ...world, correlationId, proof: await proofFor(correlationId) };
  }

  /** The headers a system sends: its message id, the time it signed, and the signature of the body. */
  const signed = (raw: string, options: { id?: string; at?: number; secret?: string } = {}) => {
    const at = options.at ?? Math.round(Date.parse(T0) / 1000);
    const id = options.id ?? 'msg_1';
    return {
      id,
      timestamp: String(at),
      signature: signWebhook(webhookKey(options.secret ?? SECRET), id, at, raw),
    };
  };

  it('accepts a callback signed by its system, identified by its webhook-id', async (t) => {
    const { intake, callbackQueue, correlationId, proof } = await signedWaiting(t);
    const raw = JSON.stringify(FINAL);

    const receipt = await receive(intake, { correlationId, proof, body: raw, webhook: signed(raw) });

    assert.equal(receipt.callbackId, callbackIdOf(nonceIn(correlationId), 'msg_1', 'ignored'));
    assert.equal(callbackQueue.sent.length, 1);
  });

  const refusals: [string, (raw: string) => { body: string; webhook?: WebhookHeaders }, RegExp][] = [
    [
      'an unsigned callback',
      (raw) => ({ body: raw }),
      /webhook-id, webhook-timestamp, webhook-signature missing/,
    ],
    [
      'a callback signed with another secret',
      (raw) => ({ body: raw, webhook: signed(raw, { secret: OTHER_SECRET }) }),
      /does not match/,
    ],
    [
      'a body changed after signing',
      (raw) => ({ body: raw.replace('SVC-1', 'SVC-FORGED'), webhook: signed(raw) }),
      /does not match/,
    ],
    [
      'a signature more than five minutes old',
      (raw) => ({ body: raw, webhook: signed(raw, { at: Math.round(Date.parse(T0) / 1000) - 301 }) }),
      /301 s old/,
    ],
    [
      'a signature from more than five minutes ahead',
      (raw) => ({ body: raw, webhook: signed(raw, { at: Math.round(Date.parse(T0) / 1000) + 400 }) }),
      /400 s ahead/,
    ],
  ];
  for (const [what, make, why] of refusals) {
    it(`refuses ${what} (401 saying why), queueing nothing`, async (t) => {
      const { intake, callbackQueue, correlationId, proof, store } = await signedWaiting(t);
      const before = store.item(ORDER, ACTIVATE_ONLY);

      const received = receive(intake, { correlationId, proof, ...make(JSON.stringify(FINAL)) });

      await assert.rejects(received, (error: unknown) => {
        assert.ok(error instanceof UnauthorizedError);
        assert.match(error.message, why);
        assert.match(error.message, /system "activation" signs its callbacks/);
        return true;
      });
      assert.deepEqual(callbackQueue.sent, []);
      assert.deepEqual(store.item(ORDER, ACTIVATE_ONLY), before);
    });
  }

  it('answers a replayed webhook-id (signed again, later) as a duplicate, and applies it once', async (t) => {
    // Prepare: the callback arrives and is applied.
    const { intake, correlator, callbackQueue, store, correlationId, proof, clock } = await signedWaiting(t);
    const raw = JSON.stringify(FINAL);
    const first = await receive(intake, { correlationId, proof, body: raw, webhook: signed(raw) });
    const [queued] = callbackQueue.sent;
    assert.ok(queued);
    assert.equal(await applyCallback(correlator, queued), 'applied');

    // Act: the system re-sends it two minutes later, signed anew under the same message id.
    clock.advance(120);
    const at = Math.round(clock.now().getTime() / 1000);
    const again = await receive(intake, { correlationId, proof, body: raw, webhook: signed(raw, { at }) });

    // Assess
    assert.deepEqual(again, first);
    assert.equal(callbackQueue.sent.length, 1, 'not queued again');
    assert.equal(store.item(ORDER, ACTIVATE_ONLY).state, 'Completed');
  });

  it('accepts the previous secret while the system moves to a new one', async (t) => {
    const world = await signedWaiting(t);
    const intake = {
      ...world.intake,
      systemKeys: async () => [webhookKey(OTHER_SECRET), webhookKey(SECRET)],
    };
    const raw = JSON.stringify(FINAL);

    const receipt = await receive(intake, {
      correlationId: world.correlationId,
      proof: world.proof,
      body: raw,
      webhook: signed(raw),
    });

    assert.equal(receipt.status, 'accepted');
  });
});

describe('handleCallback', () => {
  it('answers 202 with the receipt, the Idempotency-Key header identifying the callback', async (t) => {
    // Prepare
    const { intake, callbackQueue, correlationId, proof } = await waiting(t);
    const event = callbackEvent(correlationId, proof, JSON.stringify(FINAL), {
      'content-type': 'application/json',
      'idempotency-key': 'idem-7',
    });

    // Act
    const response = await call(intake, event);

    // Assess
    assert.equal(response.statusCode, 202);
    assert.deepEqual(JSON.parse(String(response.body)), {
      correlationId,
      callbackId: callbackIdOf(nonceIn(correlationId), 'idem-7', ''),
      status: 'accepted',
    });
    assert.equal(callbackQueue.sent.length, 1);
  });

  it('identifies a base64-encoded body by its decoded text', async (t) => {
    const { intake, correlationId, proof } = await waiting(t);
    const raw = JSON.stringify(FINAL);
    const event = {
      ...callbackEvent(correlationId, proof, Buffer.from(raw).toString('base64')),
      isBase64Encoded: true,
    };

    const response = await call(intake, event);

    assert.equal(response.statusCode, 202);
    assert.equal(
      JSON.parse(String(response.body)).callbackId,
      callbackIdOf(nonceIn(correlationId), undefined, raw),
    );
  });

  for (const [what, status, event] of [
    ['no proof', 401, (id: string) => callbackEvent(id, undefined, JSON.stringify(FINAL))],
    ['a forged proof', 401, (id: string) => callbackEvent(id, 'forged', JSON.stringify(FINAL))],
    [
      'a body that is not JSON',
      400,
      (id: string, proof: string) => callbackEvent(id, proof, 'status=completed'),
    ],
    [
      'a body that is not declared JSON',
      400,
      (id: string, proof: string) =>
        callbackEvent(id, proof, JSON.stringify(FINAL), { 'content-type': 'text/plain' }),
    ],
    [
      'another route',
      404,
      (id: string, proof: string) => ({
        ...callbackEvent(id, proof, JSON.stringify(FINAL)),
        routeKey: 'GET /callbacks/{correlationId}',
      }),
    ],
  ] as [string, number, (id: string, proof: string) => APIGatewayProxyEventV2][]) {
    it(`answers ${status} for ${what}`, async (t) => {
      const { intake, callbackQueue, correlationId, proof } = await waiting(t);

      // Another route is no route of the document: its answer is checked only as the 404 it is.
      const handle = what === 'another route' ? handleCallback : call;
      const response = await handle(intake, event(correlationId, proof));

      assert.equal(response.statusCode, status);
      assert.equal(JSON.parse(String(response.body)).status, String(status));
      assert.deepEqual(callbackQueue.sent, []);
    });
  }

  it('answers 404 for a callout that does not exist, and 413 for a body larger than it takes', async (t) => {
    const { intake, callbackQueue, correlationId, proof } = await waiting(t);
    const elsewhere = correlationFor(ACTIVATE_ONLY, 'delivery-1', 'o-9');

    const none = await call(
      intake,
      callbackEvent(elsewhere, await proofFor(elsewhere), JSON.stringify(FINAL)),
    );
    const large = await call(
      intake,
      callbackEvent(correlationId, proof, JSON.stringify({ ...FINAL, note: 'x'.repeat(200 * 1024) })),
    );

    assert.deepEqual([none.statusCode, large.statusCode], [404, 413]);
    assert.deepEqual(callbackQueue.sent, []);
  });

  it('answers 409 for a callback to a finished item', async (t) => {
    const { intake, correlator, callbackQueue, correlationId, proof } = await waiting(t);
    await call(intake, callbackEvent(correlationId, proof, JSON.stringify(FINAL)));
    const [queued] = callbackQueue.sent;
    assert.ok(queued);
    await applyCallback(correlator, queued);

    const response = await call(
      intake,
      callbackEvent(correlationId, proof, JSON.stringify({ status: 'failed' })),
    );

    assert.equal(response.statusCode, 409);
  });

  it('answers the receipt of a re-sent callback without queueing it again after the item is done', async (t) => {
    const { intake, correlator, callbackQueue, correlationId, proof } = await waiting(t);
    const event = callbackEvent(correlationId, proof, JSON.stringify(FINAL));
    const first = await call(intake, event);
    const [queued] = callbackQueue.sent;
    assert.ok(queued);
    await applyCallback(correlator, queued);

    const again = await call(intake, event);

    assert.equal(again.statusCode, 202);
    assert.equal(again.body, first.body);
    assert.equal(callbackQueue.sent.length, 1);
  });
});

/** The nonce a correlation id ends with: the request its URL belongs to. */
function nonceIn(correlationId: string): string {
  return correlationId.split('.').at(-1) ?? '';
}

describe('retries a system can follow', () => {
  const operator = { id: 'op-1', name: 'Olga Operator' };
  const keyOf = (request: { headers: Record<string, string> } | undefined) =>
    request?.headers['idempotency-key'];
  /**
   * The callback URL without its proof: what names the request's wait. Each attempt signs the URL anew
   * (its expiry is that attempt's), and any of them is accepted while the item waits on the request.
   */
  const urlOf = (request: { headers: Record<string, string> } | undefined) =>
    request?.headers['callback-url']?.replace(/\/[^/]+$/, '');

  it('keeps a final answer that comes after the deadline ended its wait, and the retry takes it instead of asking again', async (t) => {
    // Prepare: the wait's deadline passed; the default rule retries a timeout, so the item is Failed.
    const { intake, correlator, worker, store, http, queue, callbackQueue, clock, correlationId, proof } =
      await waiting(t);
    const [deadline] = deadlinesIn(queue.sent);
    assert.ok(deadline);
    clock.advance(ASYNC_TIMEOUT_SECONDS);
    await runItem(worker, deadline, 'deadline-1');
    assert.equal(store.item(ORDER, ACTIVATE_ONLY).state, 'Failed');

    // Act: the system's late answer, on the URL of the request the retry repeats; then the retry.
    const receipt = await receive(intake, { correlationId, proof, body: FINAL });
    const [queued] = callbackQueue.sent;
    assert.ok(queued);
    const result = await applyCallback(correlator, queued);
    const kept = store.item(ORDER, ACTIVATE_ONLY);
    clock.advance(60);
    await runItem(worker, { kind: 'start', orderId: ORDER, itemKey: ACTIVATE_ONLY }, 'retry-1');

    // Assess: accepted and kept; the retry completed the item with it, and the system was asked once.
    assert.equal(receipt.status, 'accepted');
    assert.equal(result, 'kept');
    assert.equal(kept.state, 'Failed');
    assert.deepEqual(kept.keptAnswer, {
      nonce: correlationId.split('.').at(-1),
      callbackId: queued.callbackId,
      receivedAt: queued.receivedAt,
    });
    const item = store.item(ORDER, ACTIVATE_ONLY);
    assert.equal(item.state, 'Completed');
    assert.deepEqual(item.outputAttributes, { serviceId: 'SVC-1' });
    assert.equal(http.requests.length, 1, 'no second request: the system would only have replayed its 202');
    // Sent again, the answer is a duplicate (kept before), and a second answer for the request is refused.
    assert.equal((await receive(intake, { correlationId, proof, body: FINAL })).status, 'accepted');
    await assert.rejects(
      receive(intake, { correlationId, proof, body: { status: 'failed' } }),
      /the item is Completed/,
    );
  });

  it('keeps the answer a system sends while the item it acted on is On Hold, when its worker died and the takeover found the interface Offline', async (t) => {
    // Prepare: a worker claimed activation, sent the request, and died; then activation went Offline.
    quietLogs(t);
    const world = await asyncWorld();
    const { intake, correlator, worker, store, http, callbackQueue, clock } = world;
    await store.attachTaskToken(ORDER, ACTIVATE_ONLY, 'token-1', T0);
    assert.ok(await store.claimItem(ORDER, ACTIVATE_ONLY, 'dead-worker', T0, 'started', clock.at(20)));
    const change = { by: operator, reason: 'vendor incident', cause: 'operator' as const, at: T0 };
    await worker.config.setInterfaceStatus('activate-line', 'Offline', change);
    clock.advance(30);

    // Act: the takeover holds the item; the system's answer comes on the dead worker's URL; it is released.
    await runItem(worker, { kind: 'start', orderId: ORDER, itemKey: ACTIVATE_ONLY }, 'takeover-1');
    const held = store.item(ORDER, ACTIVATE_ONLY);
    const correlationId = correlationFor(ACTIVATE_ONLY, 'dead-worker');
    await receive(intake, { correlationId, proof: await proofFor(correlationId), body: FINAL });
    const [queued] = callbackQueue.sent;
    assert.ok(queued);
    const result = await applyCallback(correlator, queued);
    await worker.config.setInterfaceStatus('activate-line', 'Online', { ...change, at: clock.at(60) });
    clock.advance(60);
    await runItem(worker, { kind: 'start', orderId: ORDER, itemKey: ACTIVATE_ONLY }, 'release-1');

    // Assess: On Hold with its request's URL kept; the answer kept, then taken by the released attempt.
    assert.equal(held.state, 'OnHold');
    assert.equal(held.callbackNonce, callbackNonce('dead-worker'));
    assert.equal(result, 'kept');
    const item = store.item(ORDER, ACTIVATE_ONLY);
    assert.equal(item.state, 'Completed');
    assert.deepEqual(item.outputAttributes, { serviceId: 'SVC-1' });
    assert.equal(http.requests.length, 0, 'the released attempt asked no one: the system had answered');
  });

  it('keeps a final answer that comes while the worker is writing its attempt off (the system acted and the connection broke)', async (t) => {
    // Prepare: activation accepted (the item waits); the correlator reads it Running, and the worker's
    // write that the attempt got no answer lands between that read and the correlator's own write.
    const { intake, correlator, worker, store, http, callbackQueue, clock, correlationId, proof } =
      await waiting(t);
    const original = store.applyCallback.bind(store);
    let raced = false;
    t.mock.method(store, 'applyCallback', async (...args: Parameters<typeof store.applyCallback>) => {
      if (!raced) {
        raced = true;
        const attempt = {
          number: 1,
          at: T0,
          error: 'connection reset',
          decision: { kind: 'retry' as const, at: clock.at(10), ruleId: 'default', retry: 1 },
        };
        await store.retryLater(
          ORDER,
          ACTIVATE_ONLY,
          'delivery-1',
          { attempt },
          { at: clock.at(10), retries: 1, error: 'connection reset' },
          T0,
        );
      }
      return original(...args);
    });

    // Act
    await receive(intake, { correlationId, proof, body: FINAL });
    const result = await applyCallback(
      correlator,
      callbackQueue.sent[0] as (typeof callbackQueue.sent)[number],
    );
    clock.advance(10);
    await runItem(worker, { kind: 'start', orderId: ORDER, itemKey: ACTIVATE_ONLY }, 'retry-1');

    // Assess: decided again on the item as it was then, kept, and taken by the retry.
    assert.equal(result, 'kept');
    assert.equal(store.item(ORDER, ACTIVATE_ONLY).state, 'Completed');
    assert.equal(http.requests.length, 1);
  });

  it("sends a new Idempotency-Key and callback URL after the system refused the request, so an operator's retry is not answered from its cache", async (t) => {
    // Prepare: activation refuses the first request (400: fallout under the default rule), then accepts.
    quietLogs(t);
    let calls = 0;
    const world = await asyncWorld({
      responder: () => (calls++ === 0 ? jsonAnswer(400, { error: 'unknown port' }) : jsonAnswer(202, {})),
    });
    const { worker, store, http, clock } = world;
    await runItem(worker, dispatch(ACTIVATE_ONLY, 'token-1'), 'delivery-1');
    const refused = store.item(ORDER, ACTIVATE_ONLY);

    // Act: an operator retries.
    assert.ok(await store.retryByOperator(ORDER, ACTIVATE_ONLY, operator, 'port fixed', clock.at(60)));
    clock.advance(60);
    await runItem(worker, { kind: 'start', orderId: ORDER, itemKey: ACTIVATE_ONLY }, 'operator-retry-1');

    // Assess: the second request is a new one, with a key and URL of its own; the item waits on the new URL.
    assert.equal(refused.state, 'FatallyFailed');
    assert.equal(refused.requestGeneration, 1);
    const [first, second] = http.requests;
    assert.equal(keyOf(first), `${ORDER}.${ACTIVATE_ONLY}`);
    assert.equal(keyOf(second), `${ORDER}.${ACTIVATE_ONLY}.r1`);
    assert.notEqual(urlOf(second), urlOf(first));
    const item = store.item(ORDER, ACTIVATE_ONLY);
    assert.equal(item.state, 'Running');
    assert.ok(item.awaiting);
    assert.equal(item.callbackNonce, callbackNonce('operator-retry-1'));
  });

  it('keeps the Idempotency-Key and callback URL when it is unknown whether the system acted (a timeout, a 503)', async (t) => {
    // Prepare: activation times out, then answers 503, then accepts; the default rule retries both.
    quietLogs(t);
    let calls = 0;
    const world = await asyncWorld({
      responder: () => {
        calls++;
        if (calls === 1) throw new CalloutError('no answer within 30 s', undefined, true);
        return calls === 2 ? jsonAnswer(503, {}) : jsonAnswer(202, {});
      },
    });
    const { worker, store, http, clock } = world;

    // Act
    await runItem(worker, dispatch(ACTIVATE_ONLY, 'token-1'), 'delivery-1');
    clock.advance(10);
    await runItem(worker, { kind: 'start', orderId: ORDER, itemKey: ACTIVATE_ONLY }, 'retry-1');
    clock.advance(30);
    await runItem(worker, { kind: 'start', orderId: ORDER, itemKey: ACTIVATE_ONLY }, 'retry-2');

    // Assess: three attempts of one request.
    assert.equal(http.requests.length, 3);
    assert.deepEqual(new Set(http.requests.map(keyOf)), new Set([`${ORDER}.${ACTIVATE_ONLY}`]));
    assert.equal(new Set(http.requests.map(urlOf)).size, 1);
    const item = store.item(ORDER, ACTIVATE_ONLY);
    assert.equal(item.state, 'Running');
    assert.equal(item.requestGeneration, undefined);
  });

  it("applies the same failure body sent again for a new request: a callback's id is scoped to its request", async (t) => {
    // Prepare: the system reports failure on the callback (fallout under the default rule).
    const { intake, correlator, worker, store, http, callbackQueue, clock, correlationId, proof } =
      await waiting(t);
    const failed = { status: 'failed', error: { code: 'E42', message: 'line test failed' } };
    await receive(intake, { correlationId, proof, body: failed });
    await applyCallback(correlator, callbackQueue.sent[0] as (typeof callbackQueue.sent)[number]);
    assert.equal(store.item(ORDER, ACTIVATE_ONLY).state, 'FatallyFailed');

    // Act: an operator retries; the new request fails the same way, with the very same body.
    assert.ok(await store.retryByOperator(ORDER, ACTIVATE_ONLY, operator, 'line repaired', clock.at(60)));
    clock.advance(60);
    await runItem(worker, { kind: 'start', orderId: ORDER, itemKey: ACTIVATE_ONLY }, 'operator-retry-1');
    const renewed = correlationFor(ACTIVATE_ONLY, 'operator-retry-1');
    const receipt = await receive(intake, {
      correlationId: renewed,
      proof: await proofFor(renewed),
      body: failed,
    });
    const result = await applyCallback(
      correlator,
      callbackQueue.sent[1] as (typeof callbackQueue.sent)[number],
    );

    // Assess: a new request (new URL), and its failure applied, not dropped as a duplicate.
    assert.notEqual(renewed, correlationId);
    assert.equal(http.requests.length, 2);
    assert.notEqual(receipt.callbackId, callbackQueue.sent[0]?.callbackId);
    assert.equal(result, 'applied');
    const item = store.item(ORDER, ACTIVATE_ONLY);
    assert.equal(item.state, 'FatallyFailed');
    assert.equal(item.requestGeneration, 2);
  });
});
