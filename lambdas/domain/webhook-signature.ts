import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';

/**
 * Signed callbacks, as the Standard Webhooks specification has senders sign them
 * (https://www.standardwebhooks.com): three headers,
 *
 * - `webhook-id`: the message's id, the same on every re-send of it;
 * - `webhook-timestamp`: when this send was signed, in epoch seconds;
 * - `webhook-signature`: `v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`, several separated by
 *   spaces while a sender moves to a new secret.
 *
 * The secret is base64 of the key's bytes, optionally prefixed `whsec_`; each system has its own, given to
 * it out of band (docs/security.md).
 */

/** How far a signature's timestamp may be from Switchboard's clock. */
export const WEBHOOK_TOLERANCE_SECONDS = 5 * 60;

const SECRET_PREFIX = 'whsec_';

/** The key bytes of a secret; throws (never showing the secret) when it is not base64 of 24 to 64 bytes. */
export function webhookKey(secret: string): Buffer {
  const encoded = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded)) throw new Error('a webhook secret must be base64');
  const key = Buffer.from(encoded, 'base64');
  if (key.length < 24 || key.length > 64) {
    throw new Error(`a webhook secret must hold 24 to 64 bytes, this one holds ${key.length}`);
  }
  return key;
}

/** The `webhook-signature` value for one send. */
export function signWebhook(key: Buffer, id: string, timestamp: number, body: string): string {
  return `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64')}`;
}

/** What a system that signs its callbacks keeps in its secret: the secret, and the one before it while it moves. */
export const systemCallbackSecretSchema = z
  .object({ secret: z.string().min(1), previousSecret: z.string().min(1).optional() })
  .strict();

/** The keys a system's callbacks may be signed with; throws naming the field (never a value). */
export function systemCallbackKeys(value: unknown): Buffer[] {
  const parsed = systemCallbackSecretSchema.safeParse(value);
  if (!parsed.success) {
    throw new Error(
      `a system's callback secret must be {"secret": "whsec_…", "previousSecret"?: "whsec_…"}; wrong: ${parsed.error.issues.map((i) => i.path.join('.') || '(root)').join(', ')}`,
    );
  }
  const { secret, previousSecret } = parsed.data;
  return [secret, ...(previousSecret ? [previousSecret] : [])].map(webhookKey);
}

export interface WebhookHeaders {
  id?: string | undefined;
  timestamp?: string | undefined;
  signature?: string | undefined;
}

export type WebhookCheck = { valid: true; id: string } | { valid: false; why: string };

/**
 * Checks a signed callback: the three headers, the timestamp within the tolerance, and a `v1` signature
 * of exactly this body under one of the keys (compared in constant time).
 */
export function checkWebhook(keys: Buffer[], headers: WebhookHeaders, body: string, now: Date): WebhookCheck {
  const missing = (['id', 'timestamp', 'signature'] as const).filter((h) => !headers[h]);
  if (missing.length > 0) {
    return {
      valid: false,
      why: `the callback must be signed: ${missing.map((h) => `webhook-${h}`).join(', ')} missing`,
    };
  }
  const { id, timestamp, signature } = headers as Required<{ [K in keyof WebhookHeaders]: string }>;
  if (id.length > 256 || !/^[\x21-\x7e]+$/.test(id)) {
    return { valid: false, why: 'webhook-id must be 1 to 256 printable characters' };
  }
  if (!/^\d{1,12}$/.test(timestamp)) {
    return { valid: false, why: 'webhook-timestamp must be epoch seconds' };
  }
  const skew = Math.round(now.getTime() / 1000) - Number(timestamp);
  if (Math.abs(skew) > WEBHOOK_TOLERANCE_SECONDS) {
    return {
      valid: false,
      why: `webhook-timestamp is ${Math.abs(skew)} s ${skew > 0 ? 'old' : 'ahead'}; at most ${WEBHOOK_TOLERANCE_SECONDS} s are accepted`,
    };
  }
  const given = signature
    .split(' ')
    .filter((s) => s.startsWith('v1,'))
    .map((s) => Buffer.from(s));
  for (const key of keys) {
    const expected = Buffer.from(signWebhook(key, id, Number(timestamp), body));
    if (given.some((g) => g.length === expected.length && timingSafeEqual(g, expected))) {
      return { valid: true, id };
    }
  }
  return {
    valid: false,
    why: 'webhook-signature does not match the body under the system’s secret (the body was changed, or signed with another secret)',
  };
}
