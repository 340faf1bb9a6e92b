import { scrubJson } from '../domain/authenticator';
import {
  callbackBodySchema,
  callbackIdOf,
  keepsAnswerFor,
  parseCorrelationId,
  takesLateAnswer,
  waitsUnder,
} from '../domain/callback';
import { type CallbackKeyRing, checkCallbackProof } from '../domain/callback-keys';
import { awaitedCallOf, type Catalog } from '../domain/catalog';
import {
  ConflictError,
  MappingError,
  NotFoundError,
  UnauthorizedError,
  ValidationError,
} from '../domain/errors';
import type { ItemRecord } from '../domain/orchestration';
import { mapSystemAnswer, outcomeOfOwnShape, type SystemOutcome } from '../domain/system-outcome';
import { checkWebhook, type WebhookHeaders } from '../domain/webhook-signature';
import type { CallbackQueue } from '../ports/callback-queue';
import type { OrderStore } from '../ports/order-store';
import { parseWith } from '../shared/http';
import { logger } from '../shared/logger';

export interface ReceiveCallbackDeps {
  store: OrderStore;
  queue: CallbackQueue;
  /** The ring of keys that sign callback URLs. */
  keys: () => Promise<CallbackKeyRing>;
  /**
   * Which interfaces want their callbacks signed, and by which system; their callback mappings; which
   * step a procedure waits at.
   */
  catalog: Pick<Catalog, 'interfaces' | 'mappings' | 'plans' | 'procedures' | 'asynchronousAdapters'>;
  /** The keys a system signs its callbacks with (its callback secret). */
  systemKeys: (systemId: string) => Promise<Buffer[]>;
  now: () => Date;
}

export interface CallbackReceipt {
  correlationId: string;
  callbackId: string;
  status: 'accepted';
}

export interface CallbackRequest {
  correlationId: string;
  /** The URL's proof: its last path segment. */
  proof: string | undefined;
  /** The body as sent: what a signature covers, and its hash identifies a callback re-sent without an id. */
  rawBody: string;
  /** Parses the body; throws a ValidationError (or PayloadTooLargeError) saying what is wrong. */
  parseBody: () => unknown;
  idempotencyKey?: string;
  /** The Standard Webhooks headers, when the system signs. */
  webhook?: WebhookHeaders;
  /** Every header, names in lower case: what an interface's callback mapping may read. */
  headers?: Record<string, string>;
}

/**
 * Takes a system's callback at the door and answers it at once; the correlator applies it later.
 *
 * 1. The URL's proof must be Switchboard's, under a key of the ring still accepted (401 before any read).
 * 2. The item must exist (404).
 * 3. If its interface wants signed callbacks, the Standard Webhooks signature must be the system's, over
 *    this very body, and recent (401 saying what is wrong).
 * 4. A proof past its expiry counts only while the item still waits on its URL (a later attempt of the
 *    same request sent it again, with its own deadline); else 401.
 * 5. The body must be a JSON object with a `status` (400 naming the field) — or, when the interface has
 *    a callback mapping, whatever the system sends (JSON, else text), which the mapping must turn into an
 *    outcome (400 saying why it could not).
 * 6. A callback seen before (the same `webhook-id`, `Idempotency-Key`, or body) gets the same answer as
 *    the first time, whatever the item's state now; a new one for an item no longer waiting for it is
 *    refused (409) — unless it is a final answer to the request the item's next attempt repeats, which is
 *    kept for that attempt (domain/callback.ts: keepsAnswerFor).
 * 7. Queue it for the correlator and answer 202.
 *
 * Nothing here changes an item: a refused callback changes nothing and is logged for operators.
 */
export async function receiveCallback(
  deps: ReceiveCallbackDeps,
  request: CallbackRequest,
): Promise<CallbackReceipt> {
  const { correlationId } = request;
  const now = deps.now();
  const proof = checkCallbackProof(await deps.keys(), correlationId, request.proof, now);
  if (!proof.valid) {
    logger.warn('callback refused: no valid proof', {
      correlationId: correlationId.slice(0, 200),
      why: proof.why,
    });
    throw new UnauthorizedError(`${proof.why}; use the callback URL exactly as it was sent`);
  }
  const correlation = parseCorrelationId(correlationId);
  if (!correlation) throw new NotFoundError(`no callout waits on correlation "${correlationId}"`);

  const { orderId, itemKey, nonce } = correlation;
  const callbackId = callbackIdOf(nonce, request.webhook?.id ?? request.idempotencyKey, request.rawBody);
  const { item, keptBefore } = await deps.store.getItemForCallback(orderId, itemKey, nonce, callbackId);
  if (!item) {
    logger.warn('callback for an unknown correlation', { correlationId });
    throw new NotFoundError(`no callout waits on correlation "${correlationId}"`);
  }
  const iface = awaitedCallOf(deps.catalog, item)?.iface;
  if (iface?.callbackAuth === 'standard-webhooks') {
    const signed = checkWebhook(
      await deps.systemKeys(iface.system),
      request.webhook ?? {},
      request.rawBody,
      now,
    );
    if (!signed.valid) {
      logger.warn('callback refused: not signed by its system', {
        correlationId,
        system: iface.system,
        why: signed.why,
      });
      throw new UnauthorizedError(`${signed.why} (system "${iface.system}" signs its callbacks)`);
    }
  }
  if (proof.expiresAt.getTime() <= now.getTime() && !stillWaitsOn(item, nonce, now)) {
    logger.warn('callback refused: its URL expired', {
      correlationId,
      expiredAt: proof.expiresAt.toISOString(),
    });
    throw new UnauthorizedError(
      `the callback URL expired at ${proof.expiresAt.toISOString()}, when its callout's wait ended`,
    );
  }
  const { body, outcome } = await readCallback(deps, iface, request);

  const receipt: CallbackReceipt = { correlationId, callbackId, status: 'accepted' };
  if (keptBefore) return receipt;
  const final = outcome.status !== 'inProgress';
  const forNextAttempt = final && (keepsAnswerFor(item, nonce) || takesLateAnswer(item, nonce));
  if (!waitsUnder(item, nonce) && !forNextAttempt) {
    logger.warn('callback for an item that no longer waits for it', {
      correlationId,
      state: item.state,
      status: outcome.status,
    });
    throw new ConflictError(
      item.state === 'Running'
        ? 'this callout was superseded by a later attempt; its callback changes nothing'
        : `the item is ${item.state}; its callback changes nothing`,
    );
  }
  // A system may echo its callback URL: the proof is a credential and goes no further than this door.
  const secrets = [request.proof ?? ''];
  await deps.queue.send({
    correlationId,
    callbackId,
    body: scrubJson(body, secrets),
    outcome: scrubJson(outcome, secrets),
    receivedAt: now.toISOString(),
  });
  return receipt;
}

/**
 * The callback's body and what it comes to: by its `status` (Switchboard's own shape), or through its
 * interface's callback mapping, which reads the system's own vocabulary — its body (JSON, else text)
 * and its headers.
 */
async function readCallback(
  deps: ReceiveCallbackDeps,
  iface: Catalog['interfaces'][string] | undefined,
  request: CallbackRequest,
): Promise<{ body: unknown; outcome: SystemOutcome }> {
  const mapping = iface?.callbackMapping;
  if (mapping === undefined) {
    const body = parseWith(callbackBodySchema, request.parseBody());
    return { body, outcome: outcomeOfOwnShape(body) };
  }
  let body: unknown;
  try {
    body = request.parseBody();
  } catch (error) {
    // Not JSON: the mapping reads its text (a system that calls back in XML, or form fields).
    if (!(error instanceof ValidationError)) throw error;
    body = request.rawBody;
  }
  const expression = deps.catalog.mappings[mapping];
  try {
    if (expression === undefined) throw new MappingError(mapping, 'is not in the catalog');
    const { outcome } = await mapSystemAnswer(mapping, expression, {
      body,
      headers: request.headers ?? {},
    });
    return { body, outcome };
  } catch (error) {
    if (!(error instanceof MappingError)) throw error;
    logger.warn('callback refused: its mapping could not read it', {
      interface: iface?.id,
      why: error.message,
    });
    throw new ValidationError([
      { field: 'body', message: `interface "${iface?.id}" could not read this callback: ${error.message}` },
    ]);
  }
}

/**
 * True while the item still waits on the URL with this nonce although the URL's own expiry passed: a
 * later attempt of the same request sent the URL again and its wait is not over, the item is between
 * attempts of that request and keeps the answer for the next one, or it was frozen and takes its late
 * answer.
 */
function stillWaitsOn(item: ItemRecord, nonce: string, now: Date): boolean {
  if (keepsAnswerFor(item, nonce) || takesLateAnswer(item, nonce)) return true;
  return waitsUnder(item, nonce) && (!item.awaiting || Date.parse(item.awaiting.deadline) > now.getTime());
}
