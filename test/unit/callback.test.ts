import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CALLBACK_PATH,
  callbackBodySchema,
  callbackIdOf,
  callbackMessageSchema,
  callbackNonce,
  callbackUrl,
  correlationIdOf,
  parseCorrelationId,
} from '../../lambdas/domain/callback';
import { checkCallbackProof } from '../../lambdas/domain/callback-keys';

const KEY = {
  id: 'k1',
  key: 'signing-key-1-of-at-least-32-characters',
  activeFrom: '2025-01-01T00:00:00.000Z',
};
const RING = { graceSeconds: 3600, keys: [KEY] };
const NONCE = callbackNonce('delivery-1');

describe('callbackNonce', () => {
  it('is 16 hex digits, the same for every redelivery of a message and different for another message', () => {
    // Act
    const first = callbackNonce('delivery-1');
    const again = callbackNonce('delivery-1');
    const other = callbackNonce('delivery-2');

    // Assess
    assert.match(first, /^[0-9a-f]{16}$/);
    assert.equal(again, first);
    assert.notEqual(other, first);
  });
});

describe('correlation ids', () => {
  for (const itemKey of [
    'dsl-broadband.activate-line.1',
    'tv-bundle.welcome-pack',
    'dsl-broadband.done.12',
    // A cancellation's compensation, an amendment's run again, and the compensation of that.
    'dsl-broadband.activate-line.1.undo',
    'dsl-broadband.activate-line.1.r2',
    'dsl-broadband.activate-line.1.r2.undo',
  ]) {
    it(`round-trips an item key of ${itemKey.split('.').length} segments (${itemKey})`, () => {
      // Prepare
      const correlation = { orderId: '3f2c9a1e-7b4d-4e8a-9c1f-0a2b3c4d5e6f', itemKey, nonce: NONCE };

      // Act
      const id = correlationIdOf(correlation);

      // Assess
      assert.equal(id, `${correlation.orderId}.${itemKey}.${NONCE}`);
      assert.deepEqual(parseCorrelationId(id), correlation);
    });
  }

  it('keeps order ids with capitals and underscores', () => {
    const correlation = { orderId: 'Order_42-B', itemKey: 'voice.number-ported.1', nonce: NONCE };

    assert.deepEqual(parseCorrelationId(correlationIdOf(correlation)), correlation);
  });

  const malformed: [string, string][] = [
    ['empty', ''],
    ['no nonce', 'o-1.dsl-broadband.activate-line.1'],
    ['an item key of one segment', `o-1.dsl-broadband.${NONCE}`],
    ['an item key of seven segments', `o-1.a.b.c.d.e.f.g.${NONCE}`],
    ['a nonce too short', `o-1.dsl-broadband.activate-line.1.${NONCE.slice(1)}`],
    ['a nonce too long', `o-1.dsl-broadband.activate-line.1.${NONCE}0`],
    ['a nonce with capitals', `o-1.dsl-broadband.activate-line.1.${NONCE.toUpperCase().replace(/^./, 'A')}`],
    ['a nonce that is not hex', 'o-1.dsl-broadband.activate-line.1.zzzzzzzzzzzzzzzz'],
    ['an item key with capitals', `o-1.DSL.activate-line.1.${NONCE}`],
    ['an empty order id', `.dsl-broadband.activate-line.1.${NONCE}`],
    ['an order id of 101 characters', `${'o'.repeat(101)}.dsl-broadband.activate-line.1.${NONCE}`],
    ['a slash', `o-1/x.dsl-broadband.activate-line.1.${NONCE}`],
    ['a trailing newline', `o-1.dsl-broadband.activate-line.1.${NONCE}\n`],
    ['an empty segment', `o-1.dsl-broadband..1.${NONCE}`],
  ];
  for (const [what, id] of malformed) {
    it(`refuses ${what}`, () => {
      assert.equal(parseCorrelationId(id), undefined);
    });
  }
});

describe('callbackIdOf', () => {
  it('with an Idempotency-Key, depends on the key only', () => {
    // Act
    const first = callbackIdOf(NONCE, 'idem-1', '{"status":"completed"}');
    const resent = callbackIdOf(NONCE, 'idem-1', '{"status":"completed","serviceId":"S-1"}');
    const other = callbackIdOf(NONCE, 'idem-2', '{"status":"completed"}');

    // Assess
    assert.match(first, /^[0-9a-f]{32}$/);
    assert.equal(resent, first);
    assert.notEqual(other, first);
  });

  it('without one, depends on the raw body, byte for byte', () => {
    const body = '{"status":"completed","serviceId":"S-1"}';

    assert.equal(callbackIdOf(NONCE, undefined, body), callbackIdOf(NONCE, undefined, body));
    assert.notEqual(callbackIdOf(NONCE, undefined, body), callbackIdOf(NONCE, undefined, `${body} `));
    assert.match(callbackIdOf(NONCE, undefined, body), /^[0-9a-f]{32}$/);
  });

  it('treats an empty Idempotency-Key as none', () => {
    assert.equal(
      callbackIdOf(NONCE, '', '{"status":"failed"}'),
      callbackIdOf(NONCE, undefined, '{"status":"failed"}'),
    );
  });

  it('is scoped to the request whose URL it came on: the same body for a new request is a new callback', () => {
    const body = '{"status":"failed"}';

    assert.notEqual(
      callbackIdOf(NONCE, undefined, body),
      callbackIdOf(callbackNonce('delivery-2'), undefined, body),
    );
    assert.notEqual(
      callbackIdOf(NONCE, 'idem-1', body),
      callbackIdOf(callbackNonce('delivery-2'), 'idem-1', body),
    );
  });

  it('never confuses a key with a body of the same text', () => {
    assert.notEqual(callbackIdOf(NONCE, 'abc', 'x'), callbackIdOf(NONCE, undefined, 'abc'));
  });
});

describe('callbackUrl', () => {
  const correlation = { orderId: 'o-1', itemKey: 'dsl-broadband.activate-line.1', nonce: NONCE };
  const id = correlationIdOf(correlation);
  const EXPIRES = new Date('2025-03-01T11:00:00.000Z');

  it('is <base>/callbacks/<correlation id>/<proof>, the proof in the path and nothing in the query string', () => {
    // Act
    const { url, proof } = callbackUrl('https://api.example.test/prod', KEY, correlation, EXPIRES);

    // Assess
    assert.equal(url, `https://api.example.test/prod${CALLBACK_PATH}/${id}/${proof}`);
    const parsed = new URL(url);
    assert.equal(parsed.search, '');
    assert.match(proof, /^k1\.1740826800\.[A-Za-z0-9_-]{43}$/);
    const check = checkCallbackProof(RING, id, proof, new Date('2025-03-01T10:00:00.000Z'));
    assert.deepEqual(check, { valid: true, keyId: 'k1', expiresAt: EXPIRES });
  });

  it('does not double the slash of a base URL that ends with one', () => {
    const { url, proof } = callbackUrl('https://api.example.test/', KEY, correlation, EXPIRES);
    assert.equal(url, `https://api.example.test/callbacks/${id}/${proof}`);
  });

  it('is the same for the same wait and expiry, and another for another key', () => {
    const first = callbackUrl('https://a.test', KEY, correlation, EXPIRES).url;
    assert.equal(callbackUrl('https://a.test', KEY, correlation, EXPIRES).url, first);
    assert.notEqual(
      callbackUrl(
        'https://a.test',
        { ...KEY, key: 'signing-key-2-of-at-least-32-characters' },
        correlation,
        EXPIRES,
      ).url,
      first,
    );
  });
});

describe('callback schemas', () => {
  it('take a body with a status and keep whatever else the system says', () => {
    // Act
    const parsed = callbackBodySchema.parse({ status: 'completed', serviceId: 'S-1', note: 'done' });

    // Assess
    assert.deepEqual(parsed, { status: 'completed', serviceId: 'S-1', note: 'done' });
  });

  for (const [what, body] of [
    ['without a status', { serviceId: 'S-1' }],
    ['with an unknown status', { status: 'done' }],
    ['with a note that is not text', { status: 'inProgress', note: 42 }],
    ['with a note over 2000 characters', { status: 'inProgress', note: 'n'.repeat(2001) }],
    ['that is an array', [{ status: 'completed' }]],
    ['that is null', null],
  ] as [string, unknown][]) {
    it(`refuse a body ${what}`, () => {
      assert.equal(callbackBodySchema.safeParse(body).success, false);
    });
  }

  it('read a queued callback message, and refuse one without a callback id', () => {
    const message = {
      correlationId: 'o-1.dsl-broadband.activate-line.1.0123456789abcdef',
      callbackId: 'c-1',
      body: { status: 'inProgress' },
      receivedAt: '2025-03-01T10:00:00.000Z',
    };

    assert.deepEqual(callbackMessageSchema.parse(message), message);
    assert.equal(callbackMessageSchema.safeParse({ ...message, callbackId: '' }).success, false);
  });
});
