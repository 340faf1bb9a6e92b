import {
  type CallbackMessage,
  finishedAttemptState,
  parseCorrelationId,
  waitsUnder,
} from '../domain/callback';
import { mappingExpression, mappingInput } from '../domain/callout';
import type { Catalog } from '../domain/catalog';
import { MappingError } from '../domain/errors';
import { evaluateAttributeMapping } from '../domain/mapping';
import { isDone } from '../domain/orchestration';
import type { CallbackChange, OrderStore } from '../ports/order-store';
import type { PlanTasks } from '../ports/plan-tasks';
import type { RetryRuleStore } from '../ports/retry-rule-store';
import type { WorkQueue } from '../ports/work-queue';
import { logger } from '../shared/logger';
import { finish, holdOrder, sendRetry } from './item-effects';
import { afterFailedChange, failedChange } from './item-failures';

export interface ApplyCallbackDeps {
  store: OrderStore;
  tasks: PlanTasks;
  queue: WorkQueue;
  catalog: Catalog;
  /** The retry rules, which decide after a final answer reporting failure. */
  rules: RetryRuleStore;
  now: () => Date;
}

/** What became of a callback: applied, or why it changed nothing. */
export type CallbackResult = 'applied' | 'duplicate' | 'unknown' | 'not-waiting';

/**
 * Applies a batch of callbacks. Callbacks to different waits are applied at once; those to the same wait
 * one after another, in the order the API received them, so an interim update and the final answer in
 * one batch do not race. Returns the callbacks whose application threw, with the error, for redelivery.
 */
export async function applyCallbacks<T extends { message: CallbackMessage }>(
  deps: ApplyCallbackDeps,
  callbacks: readonly T[],
): Promise<{ callback: T; error: unknown }[]> {
  const byWait = new Map<string, T[]>();
  for (const c of callbacks)
    byWait.set(c.message.correlationId, [...(byWait.get(c.message.correlationId) ?? []), c]);
  const failed: { callback: T; error: unknown }[] = [];
  await Promise.all(
    [...byWait.values()].map(async (wait) => {
      wait.sort((a, b) => Date.parse(a.message.receivedAt) - Date.parse(b.message.receivedAt));
      for (const callback of wait) {
        try {
          const { correlationId, callbackId } = callback.message;
          logger.info('callback', {
            correlationId,
            callbackId,
            result: await applyCallback(deps, callback.message),
          });
        } catch (error) {
          failed.push({ callback, error });
        }
      }
    }),
  );
  return failed;
}

/**
 * Applies one callback from the callback queue to the item it answers, exactly once.
 *
 * 1. Find the item the correlation names; it must still wait under the attempt that issued the URL.
 * 2. An interim update (`inProgress`) goes to the item's history; the item keeps waiting. One overtaken
 *    by its attempt's final answer (the queue keeps no order) still goes to the history, marked so.
 * 3. A final `completed` answer runs the interface's async-response mapping over it; its attributes
 *    complete the item, which then finishes like any other (context, done set, plan task, dependents).
 * 4. A final `failed` answer goes to the retry rules: Failed until its next attempt, or fallout (the
 *    order held). An answer whose mapping fails goes to fallout.
 *
 * An interim update is kept once by its id; a final answer applies only while the item waits under the
 * attempt that issued the URL. So a redelivered message, a re-sent callback or a late one changes nothing.
 */
export async function applyCallback(
  deps: ApplyCallbackDeps,
  message: CallbackMessage,
): Promise<CallbackResult> {
  const correlation = parseCorrelationId(message.correlationId);
  const aggregate = correlation && (await deps.store.getAggregate(correlation.orderId));
  const item = correlation && aggregate?.items.get(correlation.itemKey);
  const context = {
    correlationId: message.correlationId,
    callbackId: message.callbackId,
    status: message.body.status,
  };
  if (!correlation || !aggregate || !item) {
    logger.warn('callback for an unknown correlation changed nothing', context);
    return 'unknown';
  }
  if (item.finishedBy === message.callbackId) {
    // Applied before — but the correlator may have died before finishing what this final answer
    // started: finish again. (An interim update is kept once by its id: see below.)
    if (isDone(item)) await finish(deps, aggregate, item);
    else if (item.state === 'FatallyFailed') await holdOrder(deps, item);
    else if (item.state === 'Failed' && item.nextAttemptAt) await sendRetry(deps, item, item.nextAttemptAt);
    return 'duplicate';
  }
  // An interim update may come after the final answer of its attempt (the queue keeps no order).
  const overtaken =
    message.body.status === 'inProgress' ? finishedAttemptState(item, correlation.nonce) : undefined;
  if (!item.attemptId || !(waitsUnder(item, correlation.nonce) || overtaken)) {
    logger.warn('callback for an item that no longer waits for it changed nothing', {
      ...context,
      state: item.state,
    });
    return 'not-waiting';
  }
  const { attemptId } = item;
  const now = deps.now();
  const at = now.toISOString();
  const { body } = message;
  let change: CallbackChange;
  if (body.status === 'inProgress') {
    change = {
      kind: 'interim',
      ...(body.note ? { note: body.note } : {}),
      body,
      ...(overtaken ? { overtaken: item.state } : {}),
      afterVersion: item.version ?? 0,
    };
  } else if (body.status === 'failed') {
    const error = `the system reported failure: ${describeFailure(body)}`;
    change = await failedChange(deps, item, { kind: 'failedAnswer' }, error, body, now);
  } else {
    const name = item.interfaceId
      ? deps.catalog.interfaces[item.interfaceId]?.asyncResponseMapping
      : undefined;
    try {
      const attributes =
        name === undefined
          ? {}
          : await evaluateAttributeMapping(name, mappingExpression(deps.catalog, name), {
              ...mappingInput(aggregate.order, item, aggregate.context, aggregate.items.values()),
              response: body,
            });
      change = { kind: 'completed', attributes, body };
    } catch (error) {
      if (!(error instanceof MappingError)) throw error;
      change = await failedChange(deps, item, { kind: 'unusable' }, error.message, body, now);
    }
  }
  // An interim update changes no state: refused, it was kept before. A final answer is refused when the
  // item no longer waits under its attempt: applied before (by this very callback) or not any more.
  if (!(await deps.store.applyCallback(item.orderId, item.key, attemptId, message.callbackId, change, at))) {
    if (change.kind === 'interim') return 'duplicate';
    const current = await deps.store.getItem(item.orderId, item.key);
    return current?.finishedBy === message.callbackId ? 'duplicate' : 'not-waiting';
  }
  if (change.kind === 'completed') {
    await finish(deps, aggregate, { ...item, state: 'Completed', outputAttributes: change.attributes });
  } else if (change.kind === 'failed') {
    await afterFailedChange(deps, item, change);
  }
  return 'applied';
}

function describeFailure(body: Record<string, unknown>): string {
  const error = body.error as { code?: unknown; message?: unknown } | undefined;
  if (error && typeof error === 'object') {
    return (
      [error.code, error.message].filter((part) => typeof part === 'string').join(': ') ||
      JSON.stringify(error)
    );
  }
  return typeof body.note === 'string' ? body.note : 'no reason given';
}
