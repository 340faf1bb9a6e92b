import { scrubJson } from '../domain/authenticator';
import {
  type CallbackBody,
  callbackBodySchema,
  callbackIdOf,
  keepsAnswerFor,
  parseCorrelationId,
  proofMatches,
  waitsUnder,
} from '../domain/callback';
import { ConflictError, NotFoundError, UnauthorizedError } from '../domain/errors';
import type { CallbackQueue } from '../ports/callback-queue';
import type { OrderStore } from '../ports/order-store';
import { parseWith } from '../shared/http';
import { logger } from '../shared/logger';

export interface ReceiveCallbackDeps {
  store: OrderStore;
  queue: CallbackQueue;
  signingKey: () => Promise<string>;
  now: () => Date;
}

export interface CallbackReceipt {
  correlationId: string;
  callbackId: string;
  status: 'accepted';
}

/**
 * Takes a system's callback at the door and answers it at once; the correlator applies it later.
 *
 * 1. The proof in the URL must be Switchboard's signature of the correlation id (401 before any read).
 * 2. The body must be a JSON object with a `status` (400 naming the field).
 * 3. The item must exist (404); a callback seen before gets the same answer as the first time, whatever
 *    the item's state now; a new one for an item no longer waiting for it is refused (409) — unless it
 *    is a final answer to the request the item's next attempt repeats, which is kept for that attempt
 *    (domain/callback.ts: keepsAnswerFor).
 * 4. Queue it for the correlator and answer 202.
 *
 * Nothing here changes an item: a refused callback changes nothing and is logged for operators.
 */
export async function receiveCallback(
  deps: ReceiveCallbackDeps,
  request: {
    correlationId: string;
    token: string | undefined;
    /** The body as sent (its hash identifies a callback re-sent without an Idempotency-Key). */
    rawBody: string;
    /** Parses the body; throws a ValidationError (or PayloadTooLargeError) saying what is wrong. */
    parseBody: () => unknown;
    idempotencyKey?: string;
  },
): Promise<CallbackReceipt> {
  const { correlationId } = request;
  const correlation = parseCorrelationId(correlationId);
  if (!request.token || !proofMatches(await deps.signingKey(), correlationId, request.token)) {
    logger.warn('callback refused: no valid proof', { correlationId: correlationId.slice(0, 200) });
    throw new UnauthorizedError(
      'the callback URL carries no valid proof; use the URL exactly as it was sent',
    );
  }
  if (!correlation) throw new NotFoundError(`no callout waits on correlation "${correlationId}"`);
  const body: CallbackBody = parseWith(callbackBodySchema, request.parseBody());

  const { orderId, itemKey, nonce } = correlation;
  const callbackId = callbackIdOf(nonce, request.idempotencyKey, request.rawBody);
  const { item, keptBefore } = await deps.store.getItemForCallback(orderId, itemKey, nonce, callbackId);
  if (!item) {
    logger.warn('callback for an unknown correlation', { correlationId });
    throw new NotFoundError(`no callout waits on correlation "${correlationId}"`);
  }
  const receipt: CallbackReceipt = { correlationId, callbackId, status: 'accepted' };
  if (keptBefore) return receipt;
  const forNextAttempt = body.status !== 'inProgress' && keepsAnswerFor(item, nonce);
  if (!waitsUnder(item, nonce) && !forNextAttempt) {
    logger.warn('callback for an item that no longer waits for it', {
      correlationId,
      state: item.state,
      status: body.status,
    });
    throw new ConflictError(
      item.state === 'Running'
        ? 'this callout was superseded by a later attempt; its callback changes nothing'
        : `the item is ${item.state}; its callback changes nothing`,
    );
  }
  // A system may echo its callback URL: the proof is a credential and goes no further than this door.
  const kept = scrubJson(body, [request.token]);
  await deps.queue.send({ correlationId, callbackId, body: kept, receivedAt: deps.now().toISOString() });
  return receipt;
}
