import { scrubJson, scrubSecrets } from '../domain/authenticator';
import { unavailability } from '../domain/availability';
import { waitsUnder } from '../domain/callback';
import { type CalloutTarget, systemUrl } from '../domain/callout';
import { awaitedCallOf, type Polling, pollDelaySeconds } from '../domain/catalog';
import { MappingError } from '../domain/errors';
import type { Answer, CallbackAnswer } from '../domain/item-decisions';
import type { CalloutRequestRecord, CalloutResponseRecord, ItemRecord } from '../domain/orchestration';
import type { CalloutFailure } from '../domain/retry-rules';
import { mappableHeaders, mapSystemAnswer, type SystemOutcome } from '../domain/system-outcome';
import type { PollStatusMessage } from '../ports/work-queue';
import { logger } from '../shared/logger';
import { callbackAnswerOf } from './apply-callback';
import { giveBack, holdOf, MAX_RATE_WAIT_MS } from './callout-admission';
import { describe, exchange, parseIfJson, retryAfterOf } from './callout-exchange';
import { drive } from './item-driver';
import type { RunItemDeps } from './run-item-deps';

/**
 * Polling (SystemInterface.polling): a system that cannot call back is asked for the status of the work
 * it accepted, and each answer it gives is, to the item, what a callback saying the same would be.
 *
 * Each poll is a work message of the attempt that waits. It goes through the callout machinery — the
 * system's state and its interface's status (away, the item goes On Hold and its release polls again),
 * its connection limit and rate, its auth, its circuit breaker — and what it finds is decided by the
 * item's lifecycle as a callback under the poll's own id: an interim status (written only when it says
 * something), the final answer (completed, or failed to the retry rules), or a poll that got no usable
 * answer (failed, as a callout that got none: the retry rules decide, and a retry sends the request
 * again, whose acceptance starts the polling anew). A final answer applies once, whichever of a poll and
 * a callback brings it first; the other changes nothing. Polls add no plan-run state transitions.
 */

/** What one poll came to. */
export type PollResult =
  | {
      kind: 'answered';
      outcome: SystemOutcome;
      body: unknown;
      request: CalloutRequestRecord;
      response: CalloutResponseRecord;
    }
  | {
      kind: 'failed';
      error: string;
      failure: CalloutFailure;
      request: CalloutRequestRecord;
      response?: CalloutResponseRecord;
      durationMs?: number;
    }
  /** The circuit breaker has the system Down (this poll's failure may have tripped it). */
  | { kind: 'held'; reason: string };

/** How long a poll that found every connection slot of its system taken waits before it asks again. */
const BUSY_RETRY_SECONDS = 2;

/** Handles a poll message: polls for the attempt that waits, and lets the lifecycle decide what it found. */
export async function pollStatus(deps: RunItemDeps, message: PollStatusMessage): Promise<void> {
  const { orderId, itemKey, nonce, attemptId, count } = message;
  const item = await deps.store.getItem(orderId, itemKey);
  const path = item?.awaiting?.poll?.path;
  if (!item || path === undefined || item.attemptId !== attemptId || !waitsUnder(item, nonce)) {
    logger.info('status poll for a wait that is over; nothing to do', { orderId, itemKey, count });
    return;
  }
  // What waits: the item's callout, or the procedure step its progress stands at.
  const awaited = awaitedCallOf(deps.catalog, item);
  const interfaceId = awaited?.iface.id ?? '';
  const polling = awaited?.iface.polling;
  const target = await deps.config.calloutTarget(interfaceId, awaited?.iface.system);
  if (!polling || !target) {
    logger.warn('status poll of an interface that no longer polls or is not configured; the wait goes on', {
      orderId,
      itemKey,
      interfaceId,
    });
    return;
  }
  const unavailable = unavailability(target);
  if (unavailable) {
    await hold(deps, item, target, unavailable);
    return;
  }
  const lease = await slotFor(deps, target, `${attemptId}/poll-${count}`);
  if (lease === 'busy') {
    await deps.queue.send([message], { delaySeconds: BUSY_RETRY_SECONDS });
    return;
  }
  let result: PollResult;
  try {
    result = await pollOnce(deps, target, path);
  } finally {
    if (lease) await giveBack(deps, lease);
  }
  if (result.kind === 'held') {
    await hold(deps, item, target, result.reason);
    return;
  }
  const answer = answerOfPoll(result, path);
  logger.info('status poll', { orderId, itemKey, count, status: answer.status });
  if (answer.status === 'inProgress' && answer.note === undefined && answer.attributes === undefined) {
    // Nothing learnt: nothing to write, the next poll is all.
    await nextPoll(deps, message, polling);
    return;
  }
  const retryTarget = { systemId: target.system.id, interfaceId: target.iface.id };
  const {
    refused,
    decision,
    item: after,
  } = await drive(
    deps,
    { item, now: deps.now() },
    {
      kind: 'callback',
      callbackId: pollId(message),
      nonce,
      answer,
      target: retryTarget,
      ...(awaited?.step ? { step: awaited.step } : {}),
    },
  );
  const stillWaits = !refused && decision.refusal === undefined && waitsUnder(after, nonce);
  if (answer.status === 'inProgress' && (stillWaits || decision.ignored === 'duplicate'))
    await nextPoll(deps, message, polling);
}

/**
 * A held item released (its claim keeps its wait): polls once for the new attempt instead of sending its
 * request again, and says what it found as the attempt's answer — still going (it waits on, polled, until
 * the same deadline), done, failed, or held again.
 */
export async function resumePolling(
  deps: RunItemDeps,
  item: ItemRecord,
  target: CalloutTarget,
): Promise<Answer & { holdReason?: string }> {
  const awaiting = item.awaiting;
  const polling = target.iface.polling;
  if (!awaiting?.poll || !polling)
    return { error: 'internal error: resumed polling for a wait that polls nothing' };
  const result = await pollOnce(deps, target, awaiting.poll.path);
  if (result.kind === 'held') return { holdReason: result.reason };
  const { request, response } = result;
  if (result.kind === 'failed')
    return {
      request,
      ...(response ? { response } : {}),
      error: `status poll of ${awaiting.poll.path}: ${result.error}`,
      failure: result.failure,
      ...(result.durationMs !== undefined ? { durationMs: result.durationMs } : {}),
    };
  const { outcome } = result;
  switch (outcome.status) {
    case 'inProgress':
      return {
        request,
        response,
        awaitingUntil: awaiting.deadline,
        awaitingSince: awaiting.since,
        poll: { path: awaiting.poll.path, delaySeconds: pollDelaySeconds(polling, 0) },
      };
    case 'completed':
      return { request, response, attributes: { ...item.interimAttributes, ...outcome.attributes } };
    case 'failed':
      return {
        request,
        response,
        error: `the system reported failure: ${outcome.reason ?? 'no reason given'}`,
        failure: { kind: 'failedAnswer' },
      };
  }
}

/**
 * One poll: a GET of the status path under the system's base URL, with its auth, under its rate and
 * circuit breaker; a 2xx answer through the status mapping. Never throws for what the system does.
 */
export async function pollOnce(deps: RunItemDeps, target: CalloutTarget, path: string): Promise<PollResult> {
  const { system, iface } = target;
  const polling = iface.polling as Polling;
  const url = systemUrl(system.baseUrl, path);
  const headers = { accept: 'application/json' };
  const secrets: string[] = [];
  const sent = await exchange(
    deps,
    system,
    { method: 'GET', url, headers, timeoutMs: iface.timeoutSeconds * 1000 },
    secrets,
  );
  const request: CalloutRequestRecord = { method: 'GET', url, headers, sentAt: sent.sentAt.toISOString() };
  if ('noAnswer' in sent) {
    const { holdReason, error, failure, durationMs } = sent.noAnswer;
    if (holdReason !== undefined) return { kind: 'held', reason: holdReason };
    return { kind: 'failed', error, failure, request, durationMs };
  }
  const { answer } = sent;
  const receivedAt = deps.now();
  const text = scrubSecrets(answer.body, secrets);
  const body = parseIfJson(text) ?? null;
  const response: CalloutResponseRecord = {
    status: answer.status,
    body,
    receivedAt: receivedAt.toISOString(),
    durationMs: receivedAt.getTime() - sent.sentAt.getTime(),
  };
  if (answer.status < 200 || answer.status >= 300)
    return {
      kind: 'failed',
      error: `answered ${answer.status}`,
      failure: { kind: 'status', status: answer.status, ...retryAfterOf(answer, receivedAt) },
      request,
      response,
    };
  const expression = deps.catalog.mappings[polling.statusMapping];
  try {
    if (expression === undefined) throw new MappingError(polling.statusMapping, 'is not in the catalog');
    const { outcome } = await mapSystemAnswer(polling.statusMapping, expression, {
      body,
      headers: mappableHeaders(answer.headers ?? {}),
      status: answer.status,
    });
    return { kind: 'answered', outcome: scrubJson(outcome, secrets), body, request, response };
  } catch (error) {
    return {
      kind: 'failed',
      error: describe(error, secrets),
      failure: { kind: 'unusable' },
      request,
      response,
    };
  }
}

/** A poll's result as the callback the lifecycle applies. */
function answerOfPoll(result: Exclude<PollResult, { kind: 'held' }>, path: string): CallbackAnswer {
  if (result.kind === 'answered') return callbackAnswerOf(result.outcome, result.body);
  return {
    status: 'failed',
    body: result.response?.body ?? null,
    error: `status poll of ${path}: ${result.error}`,
    failure: result.failure,
  };
}

/** The id a poll's answer is applied under: one per poll of one attempt, the same on its redelivery. */
export const pollId = ({ nonce, attemptId, count }: PollStatusMessage): string =>
  `poll:${nonce}:${attemptId}:${count}`;

/** The item's system or interface is away: it goes On Hold, and the release polls again. */
async function hold(
  deps: RunItemDeps,
  item: ItemRecord,
  target: CalloutTarget,
  reason: string,
): Promise<void> {
  await drive(
    deps,
    { item, now: deps.now() },
    { kind: 'held', deliveryId: item.attemptId ?? '', hold: holdOf(target, reason) },
    { target },
  );
}

/** A connection slot for the poll when its system limits them; 'busy' when none is free now. */
async function slotFor(deps: RunItemDeps, target: CalloutTarget, holder: string) {
  const max = target.system.limits.maxConcurrentCallouts;
  if (max === undefined) return undefined;
  const now = deps.now();
  const expiresAt = new Date(
    now.getTime() + MAX_RATE_WAIT_MS + 2 * target.iface.timeoutSeconds * 1000 + 60_000,
  );
  return (await deps.limits.acquireSlot(target.system.id, max, holder, now, expiresAt)) ?? 'busy';
}

async function nextPoll(deps: RunItemDeps, message: PollStatusMessage, polling: Polling): Promise<void> {
  const count = message.count + 1;
  await deps.queue.send([{ ...message, count }], { delaySeconds: pollDelaySeconds(polling, count) });
}
