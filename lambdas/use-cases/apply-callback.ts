import {
  type CallbackMessage,
  keepsAnswerFor,
  outcomeOfMessage,
  parseCorrelationId,
  waitsUnder,
} from '../domain/callback';
import { mappingExpression, mappingInput } from '../domain/callout';
import { awaitedCallOf, type Catalog } from '../domain/catalog';
import { MappingError } from '../domain/errors';
import type { CallbackAnswer } from '../domain/item-decisions';
import { evaluateAttributeMapping, evaluateMapping } from '../domain/mapping';
import type { ItemRecord } from '../domain/orchestration';
import type { SystemOutcome } from '../domain/system-outcome';
import type { OrderAggregate, OrderStore } from '../ports/order-store';
import type { PlanTasks } from '../ports/plan-tasks';
import type { RetryRuleStore } from '../ports/retry-rule-store';
import type { Telemetry } from '../ports/telemetry';
import type { WorkQueue } from '../ports/work-queue';
import { type LogKeys, logger, withLogKeys } from '../shared/logger';
import { drive } from './item-driver';

export interface ApplyCallbackDeps {
  store: OrderStore;
  tasks: PlanTasks;
  queue: WorkQueue;
  catalog: Catalog;
  /** The metrics operators watch. */
  telemetry: Telemetry;
  /** The retry rules, which decide after a final answer reporting failure. */
  rules: RetryRuleStore;
  now: () => Date;
}

/** How many times a callback is decided afresh when its item moved between its read and its write. */
const MOVED_RETRIES = 3;

/** What became of a callback: applied, or why it changed nothing. */
export type CallbackResult = 'applied' | 'kept' | 'duplicate' | 'unknown' | 'not-waiting';

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
        await withLogKeys(callbackLogKeys(callback.message), async () => {
          try {
            const { callbackId } = callback.message;
            logger.info('callback', { callbackId, result: await applyCallback(deps, callback.message) });
          } catch (error) {
            failed.push({ callback, error });
          }
        });
      }
    }),
  );
  return failed;
}

/** The keys of a callback's log lines: its correlation, and the order and item it names. */
export function callbackLogKeys(message: CallbackMessage): LogKeys {
  const correlation = parseCorrelationId(message.correlationId);
  return {
    correlationId: message.correlationId,
    orderId: correlation?.orderId,
    itemKey: correlation?.itemKey,
  };
}

/**
 * Applies one callback from the callback queue to the item it answers, exactly once. The lifecycle
 * decides (domain/item-decisions.ts: callback):
 *
 * 1. The item the correlation names must still wait under the attempt that issued the URL.
 * 2. An interim update (`inProgress`) goes to the item's history; the item keeps waiting. One overtaken
 *    by its attempt's final answer (the queue keeps no order) still goes to the history, marked so.
 * 3. A final `completed` answer runs the interface's async-response mapping over it; its attributes
 *    complete the item, which then finishes like any other (context, done set, plan task, dependents).
 * 4. A final `failed` answer goes to the retry rules: Failed until its next attempt, or fallout (the
 *    order held). An answer whose mapping fails goes to fallout.
 * 5. A final answer to the request the item's next attempt repeats, which came while no attempt waited
 *    (the item On Hold or between retries), is kept for that attempt, which takes it instead of asking
 *    its system again (run-item.ts).
 *
 * An interim update is kept once by its id; a final answer applies only while the item waits under the
 * attempt that issued the URL. So a redelivered message, a re-sent callback or a late one changes nothing;
 * one applied before sets going again what it started, should the correlator have died after the write.
 */
export async function applyCallback(
  deps: ApplyCallbackDeps,
  message: CallbackMessage,
  options: {
    /** How many more times it is decided afresh when the item moved between its read and its write. */
    again?: number;
    /**
     * An answer kept while no attempt waited, taken by the next attempt (run-item.ts): it waited for that
     * attempt, not for the correlator, so its time to completion is not the door's.
     */
    kept?: true;
  } = {},
): Promise<CallbackResult> {
  const again = options.again ?? MOVED_RETRIES;
  const correlation = parseCorrelationId(message.correlationId);
  const aggregate = correlation && (await deps.store.getAggregate(correlation.orderId));
  const item = correlation && aggregate?.items.get(correlation.itemKey);
  const outcome = outcomeOfMessage(message);
  const context = {
    correlationId: message.correlationId,
    callbackId: message.callbackId,
    status: outcome.status,
  };
  if (!correlation || !aggregate || !item) {
    logger.warn('callback for an unknown correlation changed nothing', context);
    return 'unknown';
  }
  const { body } = message;
  const answer = callbackAnswerOf(outcome, body);
  // What the item waits at: its callout, or its procedure's step (whose output the answer is).
  const awaited = awaitedCallOf(deps.catalog, item);
  const target = awaited?.target;
  const atStep = awaited?.step ? { step: awaited.step } : {};
  const { order, done } = aggregate;
  const {
    decision,
    refused,
    item: after,
  } = await drive(
    deps,
    { item, order: { state: order.state, done }, now: deps.now() },
    {
      kind: 'callback',
      callbackId: message.callbackId,
      nonce: correlation.nonce,
      answer,
      ...(target ? { target } : {}),
      ...atStep,
    },
    { aggregate },
    async (step, current) =>
      step === 'mapAnswer'
        ? {
            kind: 'callback',
            callbackId: message.callbackId,
            nonce: correlation.nonce,
            answer: await mapAnswer(deps, aggregate, current, body),
            ...(target ? { target } : {}),
            ...atStep,
          }
        : undefined,
  );
  if (decision.ignored && !decision.write) return decision.ignored;
  if (!refused) {
    if (!options.kept && target && after.state === 'Completed' && item.state !== 'Completed') {
      // From the system's answer reaching the door to the item done, its dependents started.
      deps.telemetry.record(
        'CallbackToCompletion',
        { system: target.systemId, interface: target.interfaceId },
        Math.max(0, deps.now().getTime() - Date.parse(message.receivedAt)),
      );
    }
    return decision.write?.kind === 'keepAnswer' ? 'kept' : 'applied';
  }
  // Refused: an interim update was kept before; a final answer no longer waits — applied before (by
  // this very callback) or not any more; or the item moved between its read and the write.
  if (decision.whenRefused?.ignored === 'duplicate') return 'duplicate';
  const current = await deps.store.getItem(item.orderId, item.key);
  if (current?.finishedBy === message.callbackId) return 'duplicate';
  // Its attempt ended meanwhile (the worker's write of a lost answer came first, the system's callback
  // right behind it), or another attempt of the same request started: decided again on what it is now.
  const final = outcome.status !== 'inProgress';
  if (
    current &&
    final &&
    (keepsAnswerFor(current, correlation.nonce) || waitsUnder(current, correlation.nonce))
  ) {
    if (again > 0) return applyCallback(deps, message, { ...options, again: again - 1 });
    throw new Error('the item kept moving while its answer was applied; the callback is tried again');
  }
  return 'not-waiting';
}

/**
 * What a system's later answer — a callback, or a status poll's answer — says to the item's lifecycle. A
 * completed outcome with attributes was mapped already (a callback or status mapping); one without is
 * mapped by the interface's async-response mapping when it applies.
 */
export function callbackAnswerOf(outcome: SystemOutcome, body: unknown): CallbackAnswer {
  const attributes =
    outcome.attributes !== undefined && Object.keys(outcome.attributes).length > 0
      ? { attributes: outcome.attributes }
      : {};
  switch (outcome.status) {
    case 'inProgress':
      return { status: 'inProgress', ...(outcome.note ? { note: outcome.note } : {}), body, ...attributes };
    case 'failed':
      return {
        status: 'failed',
        body,
        error: `the system reported failure: ${outcome.reason ?? reportedFailure(body)}`,
      };
    case 'completed':
      return outcome.attributes !== undefined
        ? { status: 'completed', body, attributes: outcome.attributes }
        : { status: 'completed', body };
  }
}

/**
 * A completed answer through its interface's async-response mapping: a callout's attributes, a
 * procedure step's output (any JSON; without a mapping the body is the output), or why it is unusable.
 */
async function mapAnswer(
  deps: ApplyCallbackDeps,
  aggregate: OrderAggregate,
  item: ItemRecord,
  body: CallbackMessage['body'],
): Promise<CallbackAnswer> {
  const awaited = awaitedCallOf(deps.catalog, item);
  const name = awaited?.iface.asyncResponseMapping;
  if (name === undefined) return { status: 'completed', body, attributes: {} };
  try {
    const expression = mappingExpression(deps.catalog, name);
    const input = {
      ...mappingInput(aggregate.order, item, aggregate.context, aggregate.items.values()),
      response: body,
    };
    if (awaited?.step)
      return {
        status: 'completed',
        body,
        attributes: {},
        output: await evaluateMapping(name, expression, input),
      };
    const attributes = await evaluateAttributeMapping(name, expression, input);
    return { status: 'completed', body, attributes };
  } catch (error) {
    if (!(error instanceof MappingError)) throw error;
    return { status: 'unusable', body, error: error.message };
  }
}

/** What a system said went wrong, from its failure answer. */
function reportedFailure(answer: unknown): string {
  if (answer === null || typeof answer !== 'object') return 'no reason given';
  const body = answer as Record<string, unknown>;
  const error = body.error as { code?: unknown; message?: unknown } | undefined;
  if (error && typeof error === 'object') {
    return (
      [error.code, error.message].filter((part) => typeof part === 'string').join(': ') ||
      JSON.stringify(error)
    );
  }
  return typeof body.note === 'string' ? body.note : 'no reason given';
}
