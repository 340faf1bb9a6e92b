import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { callbackNonce, correlationIdOf } from '../../lambdas/domain/callback';
import {
  type CallbackKey,
  type CallbackKeyRing,
  checkCallbackProof,
  DEFAULT_KEY_GRACE_SECONDS,
  FIRST_KEY_ID,
  issuingKey,
  KEY_ACTIVATION_DELAY_SECONDS,
  keyGraceSeconds,
  keyIdAt,
  parseKeyRing,
  rotateKeyRing,
  signCallbackProof,
} from '../../lambdas/domain/callback-keys';

const T0 = new Date('2026-01-10T12:00:00.000Z');
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);
const KEY_1: CallbackKey = { id: 'k1', key: 'a'.repeat(40), activeFrom: '2026-01-01T00:00:00.000Z' };
const RING: CallbackKeyRing = { graceSeconds: 3600, keys: [KEY_1] };
const ID = correlationIdOf({
  orderId: 'o-1',
  itemKey: 'dsl-broadband.activate-line.1',
  nonce: callbackNonce('d-1'),
});

describe('callback proofs', () => {
  it('carry the key id and expiry, and check for the correlation id they were made for', () => {
    // Act
    const proof = signCallbackProof(KEY_1, ID, at(3600));

    // Assess
    assert.match(proof, /^k1\.\d+\.[A-Za-z0-9_-]{43}$/, 'safe in a path segment');
    assert.deepEqual(checkCallbackProof(RING, ID, proof, T0), {
      valid: true,
      keyId: 'k1',
      expiresAt: at(3600),
    });
  });

  it('are valid past their expiry as far as the key goes: the door decides with the item', () => {
    const proof = signCallbackProof(KEY_1, ID, at(60));

    assert.equal(checkCallbackProof(RING, ID, proof, at(120)).valid, true);
  });

  const other = correlationIdOf({
    orderId: 'o-1',
    itemKey: 'dsl-broadband.activate-line.1',
    nonce: callbackNonce('d-2'),
  });
  const proof = signCallbackProof(KEY_1, ID, at(3600));
  const [keyId, expires, mac] = proof.split('.') as [string, string, string];
  const refused: [string, string | undefined, string, RegExp][] = [
    ['absent', undefined, ID, /no proof/],
    ['empty', '', ID, /no proof/],
    ['for another wait of the same item', proof, other, /does not match/],
    ['for a longer correlation id', proof, `${ID}x`, /does not match/],
    ['with its expiry moved', `${keyId}.${Number(expires) + 1}.${mac}`, ID, /does not match/],
    ['under a key id moved to another key', `k2.${expires}.${mac}`, ID, /does not match/],
    ['under a key id the ring does not have', `k9.${expires}.${mac}`, ID, /key Switchboard does not have/],
    ['one character short', proof.slice(0, -1), ID, /no proof/],
    ['one character long', `${proof}A`, ID, /no proof/],
    ['much longer', 'A'.repeat(10_000), ID, /no proof/],
    ['multi-byte', `${keyId}.${expires}.${'é'.repeat(43)}`, ID, /no proof/],
    [
      'in standard base64',
      `${keyId}.${expires}.${Buffer.from(mac, 'base64url').toString('base64')}`,
      ID,
      /no proof/,
    ],
    ['NUL bytes', '\u0000'.repeat(60), ID, /no proof/],
  ];
  for (const [what, given, correlationId, why] of refused) {
    it(`refuse a proof ${what}, without throwing`, () => {
      const check = checkCallbackProof(
        { ...RING, keys: [KEY_1, { id: 'k2', key: 'b'.repeat(40), activeFrom: KEY_1.activeFrom }] },
        correlationId,
        given,
        T0,
      );
      assert.equal(check.valid, false);
      assert.match(check.valid ? '' : check.why, why);
    });
  }
});

describe('the key ring', () => {
  it('reads the secret as first generated ({"key"}) as a ring of that one key', () => {
    const ring = parseKeyRing({ key: 'x'.repeat(64) });

    assert.deepEqual(ring, {
      graceSeconds: DEFAULT_KEY_GRACE_SECONDS,
      keys: [{ id: FIRST_KEY_ID, key: 'x'.repeat(64), activeFrom: '1970-01-01T00:00:00.000Z' }],
    });
  });

  it('orders a ring’s keys by when they start signing', () => {
    const later = { id: 'k2', key: 'b'.repeat(40), activeFrom: '2026-02-01T00:00:00.000Z' };

    assert.deepEqual(parseKeyRing({ graceSeconds: 60, keys: [later, KEY_1] }).keys, [KEY_1, later]);
  });

  const malformed: [string, unknown, RegExp][] = [
    ['a key too short', { key: 'short' }, /keys: Required|graceSeconds/],
    ['no keys', { graceSeconds: 60, keys: [] }, /keys: /],
    [
      'a key without activeFrom',
      { graceSeconds: 60, keys: [{ id: 'k1', key: 'a'.repeat(40) }] },
      /keys\.0\.activeFrom/,
    ],
    ['a key id with a dot', { graceSeconds: 60, keys: [{ ...KEY_1, id: 'k.1' }] }, /keys\.0\.id/],
    ['a repeated key id', { graceSeconds: 60, keys: [KEY_1, KEY_1] }, /key id "k1" repeats/],
    ['a negative grace', { graceSeconds: -1, keys: [KEY_1] }, /graceSeconds/],
    ['a string', 'a'.repeat(40), /\(root\)/],
  ];
  for (const [what, value, where] of malformed) {
    it(`refuses ${what}, naming the field and never a key`, () => {
      assert.throws(
        () => parseKeyRing(value),
        (error: Error) => {
          assert.match(error.message, where);
          assert.ok(!error.message.includes('a'.repeat(40)), 'no key material in the message');
          return true;
        },
      );
    });
  }

  it('names keys by when they were made', () => {
    assert.equal(keyIdAt(T0), 'k20260110120000');
  });
});

describe('rotating the key ring', () => {
  const rotation = (seconds: number, id = keyIdAt(at(seconds))) => ({
    now: at(seconds),
    id,
    key: `${id}-material-of-at-least-32-characters`,
    graceSeconds: 3600,
  });

  it('adds a key that signs only once every Lambda has read the ring again; the old one signs till then', () => {
    // Act
    const { ring, added } = rotateKeyRing(RING, rotation(0));

    // Assess
    assert.equal(added.activeFrom, at(KEY_ACTIVATION_DELAY_SECONDS).toISOString());
    assert.deepEqual(
      ring.keys.map((k) => k.id),
      ['k1', added.id],
    );
    assert.equal(issuingKey(ring, at(KEY_ACTIVATION_DELAY_SECONDS - 1)).id, 'k1');
    assert.equal(issuingKey(ring, at(KEY_ACTIVATION_DELAY_SECONDS)).id, added.id);
    // The new key is accepted at once, before it signs: a door never meets a key it does not know.
    const early = signCallbackProof(added, ID, at(7200));
    assert.equal(checkCallbackProof(ring, ID, early, at(1)).valid, true);
  });

  it('accepts the retired key for its grace period, then refuses it: a waiting callout keeps its URL', () => {
    // Prepare: a URL signed by k1 just before it retired.
    const { ring } = rotateKeyRing(RING, rotation(0));
    const retiredAt = KEY_ACTIVATION_DELAY_SECONDS;
    const old = signCallbackProof(KEY_1, ID, at(retiredAt + 3000));

    // Act and assess
    assert.equal(checkCallbackProof(ring, ID, old, at(retiredAt + 3599)).valid, true);
    const late = checkCallbackProof(ring, ID, old, at(retiredAt + 3600));
    assert.equal(late.valid, false);
    assert.match(late.valid ? '' : late.why, /retired longer ago than its grace period/);
  });

  it('changes nothing while a rotated key waits to start (a retried rotation is harmless)', () => {
    const first = rotateKeyRing(RING, rotation(0));

    const again = rotateKeyRing(first.ring, rotation(60));

    assert.deepEqual(again.ring, first.ring);
    assert.deepEqual(again.added, first.added);
  });

  it('drops the keys whose grace has passed, and keeps the one that signs', () => {
    const second = rotateKeyRing(rotateKeyRing(RING, rotation(0)).ring, rotation(2 * 3600));
    const third = rotateKeyRing(second.ring, rotation(4 * 3600));

    // Each key retires 10 min after its successor's rotation; an hour later it is dropped.
    assert.deepEqual(
      second.ring.keys.map((k) => k.id),
      [keyIdAt(at(0)), keyIdAt(at(2 * 3600))],
    );
    assert.deepEqual(
      third.ring.keys.map((k) => k.id),
      [keyIdAt(at(2 * 3600)), keyIdAt(at(4 * 3600))],
    );
  });

  it('revokes: the new key signs at once and every other is gone', () => {
    const { ring, added } = rotateKeyRing(rotateKeyRing(RING, rotation(0)).ring, {
      ...rotation(60),
      revoke: true,
    });

    assert.deepEqual(ring.keys, [added]);
    assert.equal(issuingKey(ring, at(60)).id, added.id);
    const old = signCallbackProof(KEY_1, ID, at(3600));
    assert.equal(checkCallbackProof(ring, ID, old, at(61)).valid, false);
  });

  it('refuses a key id the ring already has', () => {
    assert.throws(() => rotateKeyRing(RING, { ...rotation(0), id: 'k1' }), /already has a key "k1"/);
  });
});

describe('keyGraceSeconds', () => {
  it('outlasts the longest-lived callback URL of the catalog’s asynchronous interfaces, and a stale cache', () => {
    const grace = keyGraceSeconds({
      interfaces: {
        a: {
          id: 'a',
          system: 's',
          method: 'POST',
          path: '/',
          adapter: 'async-rest',
          status: 'Online',
          timeoutSeconds: 20,
          asyncTimeoutSeconds: 3600,
        },
        b: {
          id: 'b',
          system: 's',
          method: 'POST',
          path: '/',
          adapter: 'sync-rest',
          status: 'Online',
          timeoutSeconds: 30,
        },
      },
    });

    // a (b takes no callbacks): 20 s + an hour of waiting + 5 min of slack; + 10 min for caches.
    assert.equal(grace, 20 + 3600 + 300 + 600);
  });

  it("counts an asynchronous custom adapter's interfaces, as the synth read the adapter, and not a synchronous one's", () => {
    const legacy = {
      id: 'legacy',
      system: 's',
      method: 'POST' as const,
      path: '/',
      adapter: 'legacy-queue',
      status: 'Online' as const,
      timeoutSeconds: 10,
      asyncTimeoutSeconds: 7200,
    };

    assert.equal(
      keyGraceSeconds({ interfaces: { legacy }, asynchronousAdapters: ['legacy-queue'] }),
      10 + 7200 + 300 + 600,
    );
    assert.equal(keyGraceSeconds({ interfaces: { legacy }, asynchronousAdapters: [] }), 600);
  });
});
