import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  checkWebhook,
  signWebhook,
  systemCallbackKeys,
  WEBHOOK_TOLERANCE_SECONDS,
  webhookKey,
} from '../../lambdas/domain/webhook-signature';

// The Standard Webhooks specification's published test vector: a receiver that reproduces it verifies
// what any conforming sender's library signs.
const VECTOR = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  timestamp: 1614265330,
  body: '{"test": 2432232314}',
  signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
};
const SIGNED_AT = new Date(VECTOR.timestamp * 1000);
const headers = { id: VECTOR.id, timestamp: String(VECTOR.timestamp), signature: VECTOR.signature };

describe('Standard Webhooks signatures', () => {
  it('reproduce the specification’s test vector', () => {
    assert.equal(
      signWebhook(webhookKey(VECTOR.secret), VECTOR.id, VECTOR.timestamp, VECTOR.body),
      VECTOR.signature,
    );
  });

  it('take a secret with or without its whsec_ prefix', () => {
    assert.deepEqual(webhookKey(VECTOR.secret.slice('whsec_'.length)), webhookKey(VECTOR.secret));
  });

  it('check the vector, and a header listing several signatures (a sender moving to a new secret)', () => {
    const key = webhookKey(VECTOR.secret);
    assert.deepEqual(checkWebhook([key], headers, VECTOR.body, SIGNED_AT), { valid: true, id: VECTOR.id });
    const several = { ...headers, signature: `v1,bm9wZQ== ${VECTOR.signature}` };
    assert.equal(checkWebhook([key], several, VECTOR.body, SIGNED_AT).valid, true);
  });

  it('accept any of the system’s keys (the current secret and the previous one)', () => {
    const other = webhookKey(Buffer.alloc(32, 1).toString('base64'));
    assert.equal(
      checkWebhook([other, webhookKey(VECTOR.secret)], headers, VECTOR.body, SIGNED_AT).valid,
      true,
    );
  });

  const refused: [string, Partial<typeof headers>, string, Date, RegExp][] = [
    ['no headers', {}, VECTOR.body, SIGNED_AT, /webhook-id, webhook-timestamp, webhook-signature missing/],
    [
      'no signature',
      { ...headers, signature: undefined },
      VECTOR.body,
      SIGNED_AT,
      /webhook-signature missing/,
    ],
    ['a changed body', headers, '{"test": 2432232315}', SIGNED_AT, /does not match the body/],
    ['another id', { ...headers, id: 'msg_other' }, VECTOR.body, SIGNED_AT, /does not match/],
    [
      'a v2 signature only',
      { ...headers, signature: VECTOR.signature.replace('v1,', 'v2,') },
      VECTOR.body,
      SIGNED_AT,
      /does not match/,
    ],
    [
      'a timestamp that is not a number',
      { ...headers, timestamp: '1614265330.5' },
      VECTOR.body,
      SIGNED_AT,
      /epoch seconds/,
    ],
    [
      'a timestamp older than the tolerance',
      headers,
      VECTOR.body,
      new Date(SIGNED_AT.getTime() + (WEBHOOK_TOLERANCE_SECONDS + 1) * 1000),
      /301 s old; at most 300 s/,
    ],
    [
      'a timestamp further ahead than the tolerance',
      headers,
      VECTOR.body,
      new Date(SIGNED_AT.getTime() - (WEBHOOK_TOLERANCE_SECONDS + 1) * 1000),
      /301 s ahead/,
    ],
    ['an id with spaces', { ...headers, id: 'msg 1' }, VECTOR.body, SIGNED_AT, /webhook-id must be/],
  ];
  for (const [what, given, body, now, why] of refused) {
    it(`refuse ${what}, saying why`, () => {
      const check = checkWebhook([webhookKey(VECTOR.secret)], given, body, now);
      assert.equal(check.valid, false);
      assert.match(check.valid ? '' : check.why, why);
    });
  }

  it('accept a timestamp exactly at the tolerance', () => {
    const now = new Date(SIGNED_AT.getTime() + WEBHOOK_TOLERANCE_SECONDS * 1000);
    assert.equal(checkWebhook([webhookKey(VECTOR.secret)], headers, VECTOR.body, now).valid, true);
  });
});

describe('system callback secrets', () => {
  it('give the current key, then the previous one', () => {
    const previous = `whsec_${Buffer.alloc(24, 2).toString('base64')}`;
    const keys = systemCallbackKeys({ secret: VECTOR.secret, previousSecret: previous });
    assert.deepEqual(keys, [webhookKey(VECTOR.secret), webhookKey(previous)]);
  });

  for (const [what, value, why] of [
    ['no secret', {}, /wrong: secret/],
    ['an unknown field', { secret: VECTOR.secret, extra: 1 }, /wrong: \(root\)/],
    [
      'a secret of 16 bytes',
      { secret: Buffer.alloc(16).toString('base64') },
      /24 to 64 bytes, this one holds 16/,
    ],
    ['a secret that is not base64', { secret: 'whsec_not base64!' }, /must be base64/],
  ] as [string, unknown, RegExp][]) {
    it(`refuse ${what}, never showing the secret`, () => {
      assert.throws(() => systemCallbackKeys(value), why);
    });
  }
});
