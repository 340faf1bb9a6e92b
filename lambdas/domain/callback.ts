import { createHash } from 'node:crypto';
import { z } from 'zod';
import { type CallbackKey, signCallbackProof } from './callback-keys';
import { outcomeOfOwnShape, type SystemOutcome, systemOutcomeSchema } from './system-outcome';

/**
 * Asynchronous callouts' callbacks. A callout that a system accepts waits for the system to POST its
 * answer to `/callbacks/{correlationId}/{proof}`:
 *
 * - the correlation id names the item and the wait: `<orderId>.<itemKey>.<nonce>`, the nonce derived from
 *   the delivery that sent the callout, so a redelivered message sends the very same URL;
 * - the proof is an HMAC of the correlation id and the URL's expiry under one of Switchboard's callback
 *   signing keys (domain/callback-keys.ts): only Switchboard can issue it, it is checked before anything
 *   is read, and nothing about it is stored. It rides in the path, not the query string, which proxies
 *   and systems' logs keep more often;
 * - an interface may further require its system to sign each callback (domain/webhook-signature.ts).
 */

export const CALLBACK_PATH = '/callbacks';

export interface Correlation {
  orderId: string;
  itemKey: string;
  nonce: string;
}

const NONCE_LENGTH = 16;

/** The wait's nonce: the same for every redelivery of the message that sent the callout. */
export const callbackNonce = (deliveryId: string): string =>
  createHash('sha256').update(deliveryId).digest('hex').slice(0, NONCE_LENGTH);

/** How an interim update reads in the item's history. */
export function interimUpdateReason(update: { note?: string; overtaken?: string }): string {
  const late = update.overtaken ? ', applied after the final answer that overtook it in the queue' : '';
  return `interim update from the system${late}${update.note ? `: ${update.note}` : ''}`;
}

/**
 * The nonce of the callback URL the item's latest attempt sent: the one its first delivery made, which a
 * delivery that takes the attempt over (its worker died) keeps, so that the system, which replays its
 * acceptance to the same Idempotency-Key, calls back a URL that is still waited on.
 */
export function nonceOf(item: { attemptId?: string; callbackNonce?: string }): string | undefined {
  return item.callbackNonce ?? (item.attemptId === undefined ? undefined : callbackNonce(item.attemptId));
}

/** True when the item's latest attempt is the one whose callback URL carries this nonce, finished or not. */
function isAttemptOf(item: { attemptId?: string; callbackNonce?: string }, nonce: string): boolean {
  return nonceOf(item) === nonce;
}

/** The states an attempt's final answer (or its deadline) leaves the item in. */
const FINAL_ANSWER_STATES: ReadonlySet<string> = new Set(['Completed', 'Failed', 'FatallyFailed']);

/**
 * The state the final answer of the attempt whose callback URL carries this nonce left the item in;
 * undefined while that attempt still waits, or when a later attempt replaced it.
 */
export function finishedAttemptState<S extends string>(
  item: { state: S; attemptId?: string; callbackNonce?: string },
  nonce: string,
): S | undefined {
  return isAttemptOf(item, nonce) && FINAL_ANSWER_STATES.has(item.state) ? item.state : undefined;
}

/** True while the item is Running under the attempt whose callback URL carries this nonce. */
export function waitsUnder(
  item: { state: string; attemptId?: string; callbackNonce?: string },
  nonce: string,
): boolean {
  return item.state === 'Running' && isAttemptOf(item, nonce);
}

/**
 * True when a final answer on the URL with this nonce is the late answer of an item its order's
 * cancellation froze while it waited on it (cancellation.ts): kept, once, and applied to nothing.
 */
export function takesLateAnswer(
  item: { state: string; callbackNonce?: string; lateAnswer?: string },
  nonce: string,
): boolean {
  return item.state === 'Frozen' && item.callbackNonce === nonce && item.lateAnswer === undefined;
}

/** The states from which the item's next attempt repeats its current request (the same URL). */
export const BEFORE_ANOTHER_ATTEMPT = ['Pending', 'OnHold', 'Failed', 'FatallyFailed'] as const;
const beforeAnotherAttempt: ReadonlySet<string> = new Set(BEFORE_ANOTHER_ATTEMPT);

/**
 * True when a final answer on the URL with this nonce, which no attempt waits for now, is kept for the
 * item's next attempt: the URL is its current request's (the next attempt sends it again), the item is
 * between attempts, and no answer is kept for it yet (the first one a system sends is its answer).
 */
export function keepsAnswerFor(
  item: { state: string; callbackNonce?: string; keptAnswer?: unknown },
  nonce: string,
): boolean {
  return (
    item.callbackNonce === nonce && beforeAnotherAttempt.has(item.state) && item.keptAnswer === undefined
  );
}

export const correlationIdOf = ({ orderId, itemKey, nonce }: Correlation): string =>
  `${orderId}.${itemKey}.${nonce}`;

/**
 * A correlation id: the order id, the item key — `<plan>.<item>[.<line>]`, and for a cancellation's or
 * an amendment's items `.r<n>` and `.undo` — and the request's nonce. Order ids never contain a dot.
 */
export const CORRELATION_ID = /^([A-Za-z0-9_-]{1,100})\.([a-z0-9-]+(?:\.[a-z0-9-]+){1,5})\.([0-9a-f]{16})$/;

/** Splits a correlation id; undefined when it cannot be one. */
export function parseCorrelationId(correlationId: string): Correlation | undefined {
  const match = CORRELATION_ID.exec(correlationId);
  if (!match) return undefined;
  const [, orderId, itemKey, nonce] = match as unknown as [string, string, string, string];
  return { orderId, itemKey, nonce };
}

/** The URL a system calls back: `<baseUrl>/callbacks/<correlationId>/<proof>` (domain/callback-keys.ts). */
export function callbackUrl(
  baseUrl: string,
  key: CallbackKey,
  correlation: Correlation,
  expiresAt: Date,
): { url: string; proof: string } {
  const correlationId = correlationIdOf(correlation);
  const proof = signCallbackProof(key, correlationId, expiresAt);
  const base = baseUrl.endsWith('/') ? baseUrl.slice(0, -1) : baseUrl;
  return { url: `${base}${CALLBACK_PATH}/${correlationId}/${proof}`, proof };
}

/** What a system sends on the callback: its status, and whatever else it has to say. */
export const callbackBodySchema = z.looseObject({
  status: z
    .enum(['inProgress', 'completed', 'failed'])
    .describe('inProgress: an interim update; completed or failed: the final answer'),
  note: z.string().max(2000).optional().describe('Shown in the item’s history'),
});
export type CallbackBody = z.infer<typeof callbackBodySchema>;

/**
 * Identifies one callback across re-sends: the system's Idempotency-Key when it gives one, else the
 * body's hash (a system re-sending the same answer sends the same body) — within the request whose URL
 * it came on (its nonce), so that the same `failed` body sent again for a new request is a new answer.
 */
export function callbackIdOf(nonce: string, idempotencyKey: string | undefined, rawBody: string): string {
  const basis = idempotencyKey ? `key:${idempotencyKey}` : `body:${rawBody}`;
  return createHash('sha256').update(`${nonce}\n${basis}`).digest('hex').slice(0, 32);
}

/**
 * The message the callback intake puts on the callback queue for the correlator: the body as the system
 * sent it (parsed when JSON), and what it comes to (`outcome`), read from its `status` or by its
 * interface's callback mapping at the door. A message without `outcome` (queued by an earlier version)
 * is in Switchboard's own shape, and its outcome is read from its body.
 */
export const callbackMessageSchema = z
  .object({
    correlationId: z.string().min(1),
    callbackId: z.string().min(1),
    body: z.unknown(),
    outcome: systemOutcomeSchema.optional(),
    receivedAt: z.string().min(1),
  })
  .superRefine((message, ctx) => {
    if (message.outcome === undefined && !callbackBodySchema.safeParse(message.body).success)
      ctx.addIssue({
        code: 'custom',
        path: ['body'],
        message: 'without an outcome, the body must have a status',
      });
  });
export type CallbackMessage = z.infer<typeof callbackMessageSchema>;

/** What a queued callback comes to: its outcome, or (queued without one) its own-shape body's. */
export function outcomeOfMessage(message: Pick<CallbackMessage, 'body' | 'outcome'>): SystemOutcome {
  return message.outcome ?? outcomeOfOwnShape(callbackBodySchema.parse(message.body));
}
