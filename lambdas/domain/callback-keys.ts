import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import {
  type Catalog,
  DEFAULT_ASYNC_TIMEOUT_SECONDS,
  isAsynchronousInterface,
  type SystemInterface,
} from './catalog';

/**
 * The keys that sign callback URLs, and the proof a URL carries.
 *
 * A callback URL is `<api>/callbacks/<correlationId>/<proof>`, the proof being `<keyId>.<expires>.<mac>`:
 * the id of the key that signed it, when the URL stops being valid on its own (epoch seconds), and an
 * HMAC-SHA256 of the correlation id, key id and expiry under that key. The door checks it before it reads
 * anything, so a forged or altered URL costs nothing but the HMAC.
 *
 * The keys form a ring kept in one secret. Rotation adds a key that becomes the issuing key only after
 * every Lambda has read the ring again (their secret cache lasts five minutes), so no door meets a key it
 * does not know; the key it replaces is still accepted for a grace period as long as the longest-lived
 * URL it may have signed, so no waiting callout loses its URL.
 */

/** How long a new key waits before it signs: twice the Lambdas' secret cache, so every door knows it first. */
export const KEY_ACTIVATION_DELAY_SECONDS = 10 * 60;

/** Clock difference between Switchboard and a system, and queueing before a callback is sent. */
export const CALLBACK_URL_SLACK_SECONDS = 5 * 60;

/** How often the deployed stack rotates the signing keys (Secrets Manager's rotation schedule). */
export const CALLBACK_KEY_ROTATION_DAYS = 30;

/** The grace of a ring that has never been rotated (its one key's successor does not exist yet). */
export const DEFAULT_KEY_GRACE_SECONDS = 8 * 24 * 3600;

const keyIdSchema = z.string().regex(/^[A-Za-z0-9_-]{1,40}$/, 'must be 1 to 40 letters, digits, - or _');
const keyMaterial = z.string().min(32, 'must be at least 32 characters');

const keySchema = z
  .object({
    id: keyIdSchema,
    key: keyMaterial,
    /** When the key starts signing (ISO 8601); it is accepted from the moment it is in the ring. */
    activeFrom: z.iso.datetime({ offset: true }),
  })
  .strict();
export type CallbackKey = z.infer<typeof keySchema>;

const ringSchema = z
  .object({
    /** How long a key is still accepted after the next one started signing. */
    graceSeconds: z.number().int().min(0),
    keys: z.array(keySchema).min(1),
  })
  .strict()
  .superRefine((ring, ctx) => {
    const ids = ring.keys.map((k) => k.id);
    const repeated = ids.find((id, i) => ids.indexOf(id) !== i);
    if (repeated) ctx.addIssue({ code: 'custom', path: ['keys'], message: `key id "${repeated}" repeats` });
  });
export type CallbackKeyRing = z.infer<typeof ringSchema>;

/** The secret as first deployed: one generated key, before any rotation. */
const firstKeySchema = z.object({ key: keyMaterial }).strict();

/** The id the key of a never-rotated secret (`{"key": …}`) goes by. */
export const FIRST_KEY_ID = 'initial';

/**
 * The ring in the signing key's secret, oldest key first; throws naming the field that is wrong (never a
 * value). A secret of one `key` — as the stack first generates it — is a ring of that one key.
 */
export function parseKeyRing(value: unknown): CallbackKeyRing {
  const first = firstKeySchema.safeParse(value);
  if (first.success) {
    return {
      graceSeconds: DEFAULT_KEY_GRACE_SECONDS,
      keys: [{ id: FIRST_KEY_ID, key: first.data.key, activeFrom: new Date(0).toISOString() }],
    };
  }
  const ring = ringSchema.safeParse(value);
  if (!ring.success) {
    const where = ring.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new Error(
      `the callback signing key must be {"key": "<at least 32 characters>"} or a key ring {"graceSeconds", "keys": [{"id", "key", "activeFrom"}]}: ${where}`,
    );
  }
  const keys = [...ring.data.keys].sort((a, b) => Date.parse(a.activeFrom) - Date.parse(b.activeFrom));
  return { graceSeconds: ring.data.graceSeconds, keys };
}

/** The key that signs new URLs now: the newest one whose time has come. */
export function issuingKey(ring: CallbackKeyRing, now: Date): CallbackKey {
  const active = ring.keys.filter((k) => Date.parse(k.activeFrom) <= now.getTime());
  return active.at(-1) ?? (ring.keys[0] as CallbackKey);
}

/** When the key stopped signing (its successor's start), if it has. */
function retiredAt(ring: CallbackKeyRing, key: CallbackKey, now: Date): number | undefined {
  const successor = ring.keys[ring.keys.indexOf(key) + 1];
  const start = successor ? Date.parse(successor.activeFrom) : undefined;
  return start !== undefined && start <= now.getTime() ? start : undefined;
}

/** True while URLs signed by this key are accepted: it signs now, will sign, or retired within the grace. */
function accepts(ring: CallbackKeyRing, key: CallbackKey, now: Date): boolean {
  const retired = retiredAt(ring, key, now);
  return retired === undefined || now.getTime() < retired + ring.graceSeconds * 1000;
}

/**
 * The ring after one rotation at `now`: a new key that starts signing after KEY_ACTIVATION_DELAY_SECONDS,
 * without the keys whose grace has passed. While a rotated key still waits to start, another rotation
 * changes nothing (the waiting key is returned as the one added), so a retried rotation is harmless.
 *
 * `revoke` is for a key that leaked: the new key signs at once and every other key is dropped, so every
 * URL already given to a system stops working (docs/security.md says what to do then).
 */
export function rotateKeyRing(
  ring: CallbackKeyRing,
  rotation: { now: Date; id: string; key: string; graceSeconds: number; revoke?: boolean },
): { ring: CallbackKeyRing; added: CallbackKey } {
  const { now } = rotation;
  if (rotation.revoke) {
    const added = { id: rotation.id, key: rotation.key, activeFrom: now.toISOString() };
    return { ring: { graceSeconds: rotation.graceSeconds, keys: [added] }, added };
  }
  const waiting = ring.keys.find((k) => Date.parse(k.activeFrom) > now.getTime());
  if (waiting) return { ring, added: waiting };
  if (ring.keys.some((k) => k.id === rotation.id)) {
    throw new Error(`the key ring already has a key "${rotation.id}"`);
  }
  const added = {
    id: rotation.id,
    key: keyMaterial.parse(rotation.key),
    activeFrom: new Date(now.getTime() + KEY_ACTIVATION_DELAY_SECONDS * 1000).toISOString(),
  };
  const kept = ring.keys.filter((k) => accepts({ ...ring, graceSeconds: rotation.graceSeconds }, k, now));
  return { ring: { graceSeconds: rotation.graceSeconds, keys: [...kept, added] }, added };
}

/** A key id that sorts by when it was made: `k<yyyymmddhhmmss>`. */
export const keyIdAt = (now: Date): string => `k${now.toISOString().replace(/[-:T]/g, '').slice(0, 14)}`;

/**
 * How long a callback URL of this interface stays valid on its own: the callout's own timeout, then the
 * wait for the final answer, and some slack for clocks and queues.
 */
export function callbackUrlLifetimeSeconds(
  iface: Pick<SystemInterface, 'timeoutSeconds' | 'asyncTimeoutSeconds'>,
): number {
  return (
    iface.timeoutSeconds +
    (iface.asyncTimeoutSeconds ?? DEFAULT_ASYNC_TIMEOUT_SECONDS) +
    CALLBACK_URL_SLACK_SECONDS
  );
}

/**
 * The grace a retired key needs for this catalog: the longest a URL it signed may live, plus the time a
 * Lambda with a stale cache may still sign with it.
 */
export function keyGraceSeconds(catalog: Pick<Catalog, 'interfaces' | 'asynchronousAdapters'>): number {
  const lifetimes = Object.values(catalog.interfaces)
    .filter((i) => isAsynchronousInterface(catalog, i))
    .map(callbackUrlLifetimeSeconds);
  return Math.max(0, ...lifetimes) + KEY_ACTIVATION_DELAY_SECONDS;
}

const mac = (key: string, correlationId: string, keyId: string, expires: number): string =>
  createHmac('sha256', key).update(`${correlationId}\n${keyId}\n${expires}`).digest('base64url');

/** The proof of a callback URL: `<keyId>.<expires>.<mac>`. */
export function signCallbackProof(key: CallbackKey, correlationId: string, expiresAt: Date): string {
  const expires = Math.ceil(expiresAt.getTime() / 1000);
  return `${key.id}.${expires}.${mac(key.key, correlationId, key.id, expires)}`;
}

export type ProofCheck = { valid: true; keyId: string; expiresAt: Date } | { valid: false; why: string };

/** A proof's shape: `<key id>.<expiry in epoch seconds>.<base64url HMAC-SHA256>`. */
export const PROOF = /^([A-Za-z0-9_-]{1,40})\.(\d{1,12})\.([A-Za-z0-9_-]{43})$/;

/**
 * Checks a URL's proof for the correlation id: its shape, its key (in the ring and not past its grace)
 * and its MAC, in constant time. An expired proof is valid here: whether it still counts depends on the
 * item (a later attempt of the same request may have sent the URL again), which the door decides.
 */
export function checkCallbackProof(
  ring: CallbackKeyRing,
  correlationId: string,
  proof: string | undefined,
  now: Date,
): ProofCheck {
  const match = PROOF.exec(proof ?? '');
  if (!match) return { valid: false, why: 'the URL carries no proof' };
  const [, keyId, expires, given] = match as unknown as [string, string, string, string];
  const key = ring.keys.find((k) => k.id === keyId);
  if (!key) return { valid: false, why: 'the URL was signed with a key Switchboard does not have' };
  const expected = Buffer.from(mac(key.key, correlationId, keyId, Number(expires)));
  if (!timingSafeEqual(expected, Buffer.from(given))) {
    return { valid: false, why: 'the URL’s proof does not match it' };
  }
  if (!accepts(ring, key, now)) {
    return { valid: false, why: 'the URL was signed with a key retired longer ago than its grace period' };
  }
  return { valid: true, keyId, expiresAt: new Date(Number(expires) * 1000) };
}
