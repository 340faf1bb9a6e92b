import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { handleRotation } from '../../lambdas/callback-key-rotation/handler';
import {
  checkCallbackProof,
  issuingKey,
  KEY_ACTIVATION_DELAY_SECONDS,
  parseKeyRing,
  signCallbackProof,
} from '../../lambdas/domain/callback-keys';
import type { RotatingSecret } from '../../lambdas/ports/rotating-secret';
import { type RotationDeps, rotateCallbackKeys } from '../../lambdas/use-cases/rotate-callback-keys';
import { rotateLocalCallbackKeys } from '../../local/callback-keys';
import { capturedLogs } from './fixtures/logs';

const NOW = new Date('2026-03-01T08:00:00.000Z');
const FIRST = { key: 'f'.repeat(64) };

/** A secret's versions in memory, staged the way Secrets Manager stages them. */
class InMemoryRotatingSecret implements RotatingSecret {
  readonly values = new Map<string, unknown>([['v1', FIRST]]);
  readonly stages = new Map<string, string[]>([['v1', ['AWSCURRENT']]]);

  async versions() {
    return Object.fromEntries(this.stages);
  }
  async current() {
    const [id] = [...this.stages].find(([, s]) => s.includes('AWSCURRENT')) ?? [];
    return id ? this.values.get(id) : undefined;
  }
  async pending(versionId: string) {
    return this.stages.get(versionId)?.includes('AWSPENDING') ? this.values.get(versionId) : undefined;
  }
  async putPending(versionId: string, value: unknown) {
    this.values.set(versionId, structuredClone(value));
    this.stages.set(versionId, ['AWSPENDING']);
  }
  async makeCurrent(to: string, from: string | undefined) {
    if (from) this.stages.set(from, ['AWSPREVIOUS']);
    this.stages.set(to, ['AWSCURRENT']);
  }
  /** What Secrets Manager does when a rotation starts: a version id staged AWSPENDING, with no value yet. */
  begin(versionId: string) {
    this.stages.set(versionId, ['AWSPENDING']);
  }
}

function quietLogs(t: TestContext): void {
  capturedLogs(t);
}

const deps = (secret: RotatingSecret): RotationDeps => ({ secret, graceSeconds: 7200, now: () => NOW });
const STEPS = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'] as const;

describe('rotateCallbackKeys (Secrets Manager rotation)', () => {
  it('makes the ring with a new key current, the first key still accepted, through the four steps', async (t) => {
    // Prepare
    quietLogs(t);
    const secret = new InMemoryRotatingSecret();
    secret.begin('v2');
    const oldProof = signCallbackProof(parseKeyRing(FIRST).keys[0] as never, 'o.a.b.0123456789abcdef', NOW);

    // Act
    for (const step of STEPS) await rotateCallbackKeys(deps(secret), step, 'v2');

    // Assess
    assert.deepEqual(Object.fromEntries(secret.stages), { v1: ['AWSPREVIOUS'], v2: ['AWSCURRENT'] });
    const ring = parseKeyRing(await secret.current());
    assert.deepEqual(
      ring.keys.map((k) => k.id),
      ['initial', 'k20260301080000'],
    );
    assert.equal(ring.graceSeconds, 7200);
    assert.equal(issuingKey(ring, NOW).id, 'initial', 'the new key waits for every cache to read it');
    const later = new Date(NOW.getTime() + KEY_ACTIVATION_DELAY_SECONDS * 1000);
    assert.equal(issuingKey(ring, later).id, 'k20260301080000');
    assert.equal(checkCallbackProof(ring, 'o.a.b.0123456789abcdef', oldProof, later).valid, true);
  });

  it('takes every step again without harm: createSecret keeps the pending ring it made', async (t) => {
    quietLogs(t);
    const secret = new InMemoryRotatingSecret();
    secret.begin('v2');
    await rotateCallbackKeys(deps(secret), 'createSecret', 'v2');
    const made = secret.values.get('v2');

    await rotateCallbackKeys(
      { ...deps(secret), now: () => new Date(NOW.getTime() + 60_000) },
      'createSecret',
      'v2',
    );
    for (const step of STEPS) await rotateCallbackKeys(deps(secret), step, 'v2');
    await rotateCallbackKeys(deps(secret), 'finishSecret', 'v2');

    assert.deepEqual(secret.values.get('v2'), made);
    assert.deepEqual(secret.stages.get('v2'), ['AWSCURRENT']);
  });

  it('refuses a version the secret is not rotating to, changing nothing', async () => {
    const secret = new InMemoryRotatingSecret();

    await assert.rejects(rotateCallbackKeys(deps(secret), 'createSecret', 'v9'), /not being rotated/);
    secret.stages.set('v3', ['AWSPREVIOUS']);
    await assert.rejects(rotateCallbackKeys(deps(secret), 'finishSecret', 'v3'), /not pending rotation/);
    assert.deepEqual(Object.fromEntries(secret.stages), { v1: ['AWSCURRENT'], v3: ['AWSPREVIOUS'] });
  });

  it('fails the test step on a pending value that is no key ring, naming the field', async () => {
    const secret = new InMemoryRotatingSecret();
    secret.begin('v2');
    secret.values.set('v2', { graceSeconds: 60, keys: [{ id: 'k1' }] });

    await assert.rejects(rotateCallbackKeys(deps(secret), 'testSecret', 'v2'), /keys\.0\.key/);
  });

  it('rotates the signing key only: the handler refuses another secret and a malformed event', async (t) => {
    process.env.CALLBACK_SIGNING_SECRET_ARN = 'arn:signing';
    t.after(() => {
      delete process.env.CALLBACK_SIGNING_SECRET_ARN;
    });
    const secret = new InMemoryRotatingSecret();
    const event = { Step: 'createSecret', SecretId: 'arn:other', ClientRequestToken: 'v2' };

    await assert.rejects(
      handleRotation(() => deps(secret), event),
      /rotates the callback signing key only/,
    );
    await assert.rejects(
      handleRotation(() => deps(secret), { ...event, Step: 'dropSecret' }),
      /Step/,
    );
  });
});

describe('rotateLocalCallbackKeys (npm run rotate-callback-keys)', () => {
  const dataDirWith = (values: unknown) => {
    const dir = mkdtempSync(join(tmpdir(), 'switchboard-keys-'));
    writeFileSync(join(dir, 'secrets.json'), JSON.stringify(values));
    return dir;
  };

  it('rotates the ring in secrets.json, keeping every other entry, readable by its owner only', () => {
    const dir = dataDirWith({
      'callback-signing-key': FIRST,
      'billing-basic': { username: 'u', password: 'p' },
    });

    const { ring, added } = rotateLocalCallbackKeys(dir, { now: NOW, graceSeconds: 600 });

    const file = JSON.parse(readFileSync(join(dir, 'secrets.json'), 'utf8'));
    assert.deepEqual(file['billing-basic'], { username: 'u', password: 'p' });
    assert.deepEqual(parseKeyRing(file['callback-signing-key']), ring);
    assert.deepEqual(
      ring.keys.map((k) => k.id),
      ['initial', added.id],
    );
    assert.equal(statSync(join(dir, 'secrets.json')).mode & 0o777, 0o600);
  });

  it('changes nothing while the key it rotated in waits to sign', () => {
    const dir = dataDirWith({ 'callback-signing-key': FIRST });
    const first = rotateLocalCallbackKeys(dir, { now: NOW, graceSeconds: 600 });
    const written = readFileSync(join(dir, 'secrets.json'), 'utf8');

    const again = rotateLocalCallbackKeys(dir, { now: new Date(NOW.getTime() + 60_000), graceSeconds: 600 });

    assert.equal(first.changed, true);
    assert.equal(again.changed, false);
    assert.deepEqual(again.added, first.added);
    assert.equal(readFileSync(join(dir, 'secrets.json'), 'utf8'), written);
  });

  it('revokes: one new key, signing at once', () => {
    const dir = dataDirWith({ 'callback-signing-key': FIRST });

    const { ring, added } = rotateLocalCallbackKeys(dir, { now: NOW, graceSeconds: 600, revoke: true });

    assert.deepEqual(ring.keys, [added]);
    assert.equal(added.activeFrom, NOW.toISOString());
  });

  it('says what is wrong with the file, never a key', () => {
    assert.throws(
      () =>
        rotateLocalCallbackKeys(mkdtempSync(join(tmpdir(), 'switchboard-keys-')), {
          now: NOW,
          graceSeconds: 1,
        }),
      /does not exist: start the local runtime once/,
    );
    assert.throws(
      () => rotateLocalCallbackKeys(dataDirWith({}), { now: NOW, graceSeconds: 1 }),
      /no "callback-signing-key" entry/,
    );
    assert.throws(
      () =>
        rotateLocalCallbackKeys(dataDirWith({ 'callback-signing-key': { key: 'short' } }), {
          now: NOW,
          graceSeconds: 1,
        }),
      /secrets\.json, "callback-signing-key": .*key/,
    );
  });
});
