import { unavailability } from '../domain/availability';
import { waitsUnder } from '../domain/callback';
import type { CalloutTarget } from '../domain/callout';
import type { AttemptDecision, AttemptRecord, ItemRecord } from '../domain/orchestration';
import {
  type CalloutFailure,
  decideRetry,
  type FailureTarget,
  type RetryDecision,
  ruleFor,
} from '../domain/retry-rules';
import type { CallbackChange, ItemOutcome } from '../ports/order-store';
import type { RetryRuleStore } from '../ports/retry-rule-store';
import type { CallbackDeadlineMessage } from '../ports/work-queue';
import { logger } from '../shared/logger';
import { type StepTarget, stepTarget } from './callout-admission';
import type { CalloutOutcome } from './callout-exchange';
import { deadlineOf, holdOrder, sendDeadline, sendRetry } from './item-effects';
import type { RunItemDeps } from './run-item-deps';

/**
 * What becomes of an item that cannot finish now: held, retried under the rules, waiting for its
 * callback, or in fallout.
 */

/**
 * Puts a callout whose system is Down or interface Offline On Hold: no request is sent and nothing of
 * the item's attempts is used. Its order shows `held`. The hold is written before the system is read
 * again, so a system that came back meanwhile is seen here or its release sees the hold: either way
 * the item is sent back to work.
 */
export async function hold(
  deps: RunItemDeps,
  item: ItemRecord,
  deliveryId: string,
  target: StepTarget,
  reason: string,
  releaseId?: string,
): Promise<void> {
  const { store } = deps;
  const at = deps.now().toISOString();
  // The order is held before the item is: a release that takes the item after this can only find the
  // order held, and its claim lets the order go. Held the other way round, a release in between would
  // leave the order held for an item already running.
  await store.holdOrder(item.orderId, item.key, at);
  if (item.state === 'OnHold') {
    // A release's message found the system gone again: the item stays held, free for the next release.
    if (releaseId) await store.clearReleaseStamp(item.orderId, item.key, releaseId);
  } else {
    const info = {
      systemId: target.system.id,
      ...(target.pathOnly ? {} : { interfaceId: target.iface.id }),
      since: at,
      reason,
    };
    if (await store.holdItem(item.orderId, item.key, deliveryId, info, at)) {
      logger.info('callout on hold', { orderId: item.orderId, itemKey: item.key, reason });
    }
  }
  // Whoever holds the item now, the order is held only while it is On Hold (or in fallout).
  const current = await store.getItem(item.orderId, item.key);
  if (current?.state !== 'OnHold' && current?.state !== 'FatallyFailed') {
    await store.releaseOrderHold(item.orderId, item.key, at);
    return;
  }
  const now = target.pathOnly
    ? await stepTarget(deps, target.system.id, target.iface)
    : await deps.config.calloutTarget(target.iface.id, target.system.id);
  if (now && !unavailability(now)) {
    await deps.queue.send([{ kind: 'start', orderId: item.orderId, itemKey: item.key }]);
  }
}

/** Fallout for an item this delivery holds: FatallyFailed with the error, the order held until an operator acts. */
export async function fail(
  deps: RunItemDeps,
  item: ItemRecord,
  deliveryId: string,
  error: string,
  outcome: ItemOutcome = {},
): Promise<void> {
  if (
    await deps.store.failItem(item.orderId, item.key, deliveryId, error, outcome, deps.now().toISOString())
  ) {
    await holdOrder(deps, item, error);
  }
}

/**
 * A callout failed: the retry rules decide. A retry leaves the item Failed until its next attempt, which
 * a work message brings (in hops of at most 15 minutes, so hours or days work); otherwise fallout. The
 * rules are read now, so a rule changed meanwhile decides the next retry of items already failing.
 */
export async function failAttempt(
  deps: RunItemDeps,
  item: ItemRecord,
  deliveryId: string,
  outcome: CalloutOutcome,
  target: CalloutTarget,
  error: string,
): Promise<void> {
  const now = deps.now();
  const { decision, recorded } = await retryDecision(
    deps.rules,
    { systemId: target.system.id, interfaceId: target.iface.id },
    outcome.failure ?? { kind: 'unusable' },
    item.retries ?? 0,
    now,
  );
  const attempt = attemptOf(item, outcome, recorded, now);
  if (decision.kind === 'fallout') {
    return fail(deps, item, deliveryId, `${error} (${decision.reason})`, { ...outcome, attempt });
  }
  const next = decision.at.toISOString();
  const retried = await deps.store.retryLater(
    item.orderId,
    item.key,
    deliveryId,
    { ...outcome, attempt },
    { at: next, retries: decision.retry, error },
    now.toISOString(),
  );
  if (retried) await sendRetry(deps, item, next);
}

/**
 * What a failed asynchronous callout comes to, as a callback change: its final answer reported failure,
 * or none came in time. The retry rules decide as for any callout.
 */
export async function failedChange(
  deps: Pick<RunItemDeps, 'rules' | 'catalog'>,
  item: ItemRecord,
  failure: CalloutFailure,
  error: string,
  body: unknown,
  now: Date,
): Promise<CallbackChange & { kind: 'failed' }> {
  const systemId = item.interfaceId ? deps.catalog.interfaces[item.interfaceId]?.system : undefined;
  const target = systemId && item.interfaceId ? { systemId, interfaceId: item.interfaceId } : undefined;
  const { decision, recorded } = await retryDecision(deps.rules, target, failure, item.retries ?? 0, now);
  // The attempt the system accepted is the one this answer ends.
  const attempt = {
    number: Math.max(1, item.attemptCount ?? 0),
    at: now.toISOString(),
    error,
    decision: recorded,
  };
  if (decision.kind === 'fallout')
    return { kind: 'failed', error: `${error} (${decision.reason})`, body, attempt };
  const retry = { at: decision.at.toISOString(), retries: decision.retry, ruleId: decision.ruleId };
  return { kind: 'failed', error, body, retry, attempt };
}

/** What the retry rules decide for a failed attempt, and that decision as the attempt records it. */
async function retryDecision(
  rules: RetryRuleStore,
  target: FailureTarget | undefined,
  failure: CalloutFailure,
  retriesSoFar: number,
  now: Date,
): Promise<{ decision: RetryDecision; recorded: AttemptDecision }> {
  const rule = target ? ruleFor(await rules.list(), target, failure) : undefined;
  const decision = decideRetry(rule, failure, retriesSoFar, now);
  const recorded: AttemptDecision =
    decision.kind === 'fallout'
      ? { kind: 'fallout', reason: decision.reason, ...(decision.ruleId ? { ruleId: decision.ruleId } : {}) }
      : { kind: 'retry', at: decision.at.toISOString(), ruleId: decision.ruleId, retry: decision.retry };
  return { decision, recorded };
}

/** After a failed change is applied: the next attempt is sent on its way, or the order waits in fallout. */
export async function afterFailedChange(
  deps: Pick<RunItemDeps, 'store' | 'queue' | 'now'>,
  item: ItemRecord,
  change: CallbackChange & { kind: 'failed' },
): Promise<void> {
  if (change.retry) await sendRetry(deps, item, change.retry.at);
  else await holdOrder(deps, item, change.error);
}

/** The record of the attempt an outcome ends. */
export function attemptOf(
  item: ItemRecord,
  outcome: CalloutOutcome,
  decision: AttemptDecision,
  now: Date,
): AttemptRecord {
  return {
    number: (item.attemptCount ?? 0) + 1,
    at: outcome.request?.sentAt ?? now.toISOString(),
    ...(outcome.request ? { request: outcome.request } : {}),
    ...(outcome.response
      ? { status: outcome.response.status, durationMs: outcome.response.durationMs }
      : outcome.durationMs !== undefined
        ? { durationMs: outcome.durationMs }
        : {}),
    ...(outcome.error !== undefined ? { error: outcome.error } : {}),
    decision,
  };
}

/** Claims the item for this delivery and fails it at once (it cannot run: a bad condition, no system). */
export async function claimAndFail(
  deps: RunItemDeps,
  item: ItemRecord,
  deliveryId: string,
  reason: string,
  error: string,
): Promise<void> {
  if (await deps.store.claimItem(item.orderId, item.key, deliveryId, deps.now().toISOString(), reason)) {
    await fail(deps, item, deliveryId, error);
  }
}

/**
 * The system accepted an asynchronous callout: the item stays Running, waiting for its callback, and a
 * deadline message will fail it if no final answer came by then. A callback that arrived before the
 * acceptance was recorded has already finished the item; then there is nothing to do here.
 */
export async function awaitCallback(
  deps: RunItemDeps,
  item: ItemRecord,
  deliveryId: string,
  outcome: CalloutOutcome,
): Promise<void> {
  // The wait starts when the system accepted the callout; its deadline is counted from then.
  const since = outcome.response ? new Date(outcome.response.receivedAt) : deps.now();
  const deadline = outcome.awaitingUntil ?? since;
  const awaiting = { since: since.toISOString(), deadline: deadline.toISOString() };
  const attempt = attemptOf(item, outcome, { kind: 'accepted', until: awaiting.deadline }, deps.now());
  // Refused when its callback came before this answer and finished the item: what was sent is kept all
  // the same (the store keeps the attempt before it writes the wait).
  const waiting = await deps.store.awaitCallback(
    item.orderId,
    item.key,
    deliveryId,
    { ...outcome, attempt },
    awaiting,
    since.toISOString(),
  );
  if (waiting) await sendDeadline(deps, deadlineOf(item, deliveryId, awaiting.deadline));
}

/**
 * A deadline came: if the wait it guards still waits and the time has come, no final answer arrived in
 * time and the item fails (to the retry rules, once they exist; to fallout until then).
 */
export async function checkDeadline(deps: RunItemDeps, message: CallbackDeadlineMessage): Promise<void> {
  const item = await deps.store.getItem(message.orderId, message.itemKey);
  if (item?.finishedBy === `deadline:${message.nonce}`) {
    // This deadline failed the item; a worker may have died before what follows: do it again.
    if (item.state === 'FatallyFailed') return holdOrder(deps, item);
    if (item.state === 'Failed' && item.nextAttemptAt) return sendRetry(deps, item, item.nextAttemptAt);
    return;
  }
  if (!item?.attemptId || !waitsUnder(item, message.nonce)) return;
  if (deps.now().getTime() < Date.parse(message.dueAt)) return sendDeadline(deps, message);
  const since = item.awaiting?.since ?? message.dueAt;
  const error = `no final answer on the callback within ${Math.round((Date.parse(message.dueAt) - Date.parse(since)) / 1000)} s of the system accepting the callout`;
  const now = deps.now();
  const change = await failedChange(deps, item, { kind: 'timeout' }, error, null, now);
  if (
    await deps.store.applyCallback(
      item.orderId,
      item.key,
      item.attemptId,
      `deadline:${message.nonce}`,
      change,
      now.toISOString(),
    )
  ) {
    await afterFailedChange(deps, item, change);
  }
}
