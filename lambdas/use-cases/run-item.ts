import { planItemOf } from '../../statemachines/compile-plan';
import type { PlanItem } from '../../statemachines/plan-definition';
import { type CallbackMessage, callbackBodySchema, correlationIdOf } from '../domain/callback';
import { mappingExpression, mappingInput } from '../domain/callout';
import { nothingToUndo } from '../domain/cancellation';
import { awaitedCallOf, calloutTargetOf, plannedItemOf } from '../domain/catalog';
import { MappingError } from '../domain/errors';
import type { ItemFacts, LifecycleEvent } from '../domain/item-decisions';
import { LEASE_SECONDS } from '../domain/item-lifecycle';
import { evaluateMapping } from '../domain/mapping';
import { type ItemRecord, prerequisitesDone } from '../domain/orchestration';
import { mapSystemAnswer } from '../domain/system-outcome';
import type { OrderAggregate } from '../ports/order-store';
import { addLogKeys, logger } from '../shared/logger';
import { applyCallback } from './apply-callback';
import { checkDeadline } from './callback-deadline';
import {
  type Admission,
  admit,
  giveBack,
  holdOf,
  passOnHandedSlot,
  type Wake,
  wakeOf,
} from './callout-admission';
import { callout, describe, probeHealth } from './callout-exchange';
import { carryOutCancellation } from './cancel-order';
import { drive, type FindOut, type Scene } from './item-driver';
import { pollStatus, resumePolling } from './poll-status';
import { mapAttributes, runProcedureItem } from './procedure-item';
import type { RunItemDeps, WorkMessage } from './run-item-deps';

/**
 * Handles one work-queue message about one orchestration item.
 *
 * 1. A plan's wait arrives (dispatch): keep its task token on the item. If the item's prerequisites are
 *    not done (read from the order and the item alone), that is all.
 * 2. Read the order in one query, and let the lifecycle decide (domain/item-decisions.ts) what the
 *    message means for the item now: a done item is replayed, one in fallout holds its order, one whose
 *    retry is not due waits on, one that waits for its callback has its deadline sent again; one whose
 *    dispatch or prerequisites have not come waits for whatever comes last to start it.
 * 3. Each step the decisions ask for is found out here and decided in turn: its condition evaluated, a
 *    callout's admission by its system (held, waiting for a slot, or later), the claim for this
 *    delivery, the run itself, and what its answer comes to (complete, wait, retry, fallout).
 * 4. A finished item's attributes go to the order context, it is counted done, its plan's task answered,
 *    and every dependent whose prerequisites are now all done started (item-effects.ts: finish).
 *
 * `deliveryId` identifies the message across redeliveries, so a worker that died mid-callout is taken
 * over by the redelivery of its message, and by nothing else.
 */
export async function runItem(deps: RunItemDeps, message: WorkMessage, messageId: string): Promise<void> {
  const { store } = deps;
  // A message a holding delivery sent back to the queue carries that delivery's attempt on.
  const deliveryId =
    'kind' in message && message.kind === 'start' && message.attemptId ? message.attemptId : messageId;
  const at = () => deps.now().toISOString();
  if ('kind' in message && message.kind === 'deadline') return checkDeadline(deps, message);
  if ('kind' in message && message.kind === 'probe') return probeHealth(deps, message);
  if ('kind' in message && message.kind === 'poll') return pollStatus(deps, message);
  if ('kind' in message && message.kind === 'cancel') {
    const { cancellations, plans } = deps;
    if (!cancellations || !plans)
      throw new Error('this worker was built without the cancellation store and the plan runner');
    return carryOutCancellation({ ...deps, cancellations, plans }, message);
  }
  const releaseId = 'kind' in message && message.kind === 'start' ? message.releaseId : undefined;
  const wake = 'kind' in message && message.kind === 'start' ? wakeOf(message) : undefined;
  if ('taskToken' in message) {
    const found = await store.attachTaskToken(message.orderId, message.itemKey, message.taskToken, at());
    if (!found) {
      logger.error('plan dispatched an item the order does not have', { ...message, taskToken: undefined });
      return;
    }
    // A plan dispatches every item at once; one whose prerequisites are not done only leaves its token,
    // and the last prerequisite to finish starts it (its read comes after this token was attached). Known
    // from the order and the item alone, without reading the whole order: a plan of n items would read
    // n records n times over. An item its plan starts with has no prerequisites to read for.
    if (waitsForOthers(deps, message.itemKey)) {
      const early = await store.getProgressWith(message.orderId, [message.itemKey]);
      const waiting = early.items.get(message.itemKey);
      if (early.done && waiting?.state === 'Pending' && !prerequisitesDone(waiting, early.done)) return;
    }
  }
  const aggregate = await store.getAggregate(message.orderId);
  const item = aggregate?.items.get(message.itemKey);
  if (!aggregate || !item) {
    logger.error('work message for an unknown item', { orderId: message.orderId, itemKey: message.itemKey });
    return;
  }
  const planItem = plannedItemOf(deps.catalog, item);
  const calls = calloutTargetOf(deps.catalog, item);
  if (calls) addLogKeys({ system: calls.systemId, interface: calls.interfaceId });
  const { order, done } = aggregate;
  const facts: ItemFacts = {
    item,
    order: { state: order.state, done, ...(order.holds ? { holds: order.holds } : {}) },
    ...(planItem ? { planned: planItem } : {}),
    now: deps.now(),
  };
  const released = releaseId ? { releaseId } : {};
  const scene: Scene = { aggregate };
  let admission: Admission | undefined;
  let answerKept: CallbackMessage | undefined;
  const findOut: FindOut = async (step, current) => {
    switch (step) {
      case 'evaluateCondition':
        return {
          kind: 'conditionEvaluated',
          deliveryId,
          applies: await evaluateCondition(planItem?.condition ?? 'true', aggregate, current),
        };
      case 'admit': {
        const gate = await admit(deps, current, deliveryId, wake);
        if (gate.kind === 'hold') {
          scene.target = gate.target;
          // An item On Hold already (its system still Down) is not held again: counted once, when held.
          if (current.state !== 'OnHold') countNotSent(deps, calls, 'held');
          return { kind: 'held', deliveryId, hold: holdOf(gate.target, gate.reason), ...released };
        }
        if (gate.kind === 'waiting' || gate.kind === 'later') countNotSent(deps, calls, 'throttled');
        if (gate.kind !== 'admitted') return { kind: 'admitted', deliveryId, gate, ...released };
        admission = gate;
        scene.target = gate.target;
        return { kind: 'admitted', deliveryId, gate: { kind: 'go' } };
      }
      case 'perform':
        // The system answered this request while no attempt waited: its answer, not a second ask.
        answerKept = await keptAnswerOf(deps, current);
        if (answerKept) return undefined;
        return keepingLease(deps, current, deliveryId, () =>
          perform(deps, aggregate, current, planItem, admission, deliveryId, wake),
        );
      default:
        return undefined;
    }
  };
  try {
    await drive(deps, facts, { kind: 'arrived', deliveryId, ...released }, scene, findOut);
    if (answerKept) {
      const result = await applyCallback(deps, answerKept, { kept: true });
      logger.info('took the answer kept for this request instead of asking its system again', {
        orderId: item.orderId,
        itemKey: item.key,
        callbackId: answerKept.callbackId,
        result,
      });
    }
  } finally {
    if (admission?.lease) await giveBack(deps, admission.lease);
    if (wake) await passOnHandedSlot(deps, `${item.orderId}.${item.key}`, wake);
  }
}

/**
 * Runs `work` while renewing the item's lease, every half lease, so that a callout that takes long is
 * not taken over; a worker that dies stops renewing, and the lease runs out (item-lifecycle.ts:
 * LEASE_SECONDS). Once the lease is lost (another delivery took the item over) renewing stops: that
 * delivery's write wins, and this one's are refused.
 */
async function keepingLease<T>(
  deps: RunItemDeps,
  item: ItemRecord,
  deliveryId: string,
  work: () => Promise<T>,
): Promise<T> {
  if (item.leaseUntil === undefined) return work();
  const renew = async () => {
    const until = new Date(deps.now().getTime() + LEASE_SECONDS * 1000).toISOString();
    const held = await deps.store
      .renewLease(item.orderId, item.key, deliveryId, until)
      .catch((error: unknown) => {
        logger.warn('lease not renewed; trying again', {
          orderId: item.orderId,
          itemKey: item.key,
          error: String(error),
        });
        return true;
      });
    if (!held) {
      logger.warn('lease lost: another delivery took the item over', {
        orderId: item.orderId,
        itemKey: item.key,
      });
      clearInterval(timer);
    }
  };
  const timer = setInterval(() => void renew(), (LEASE_SECONDS * 1000) / 2);
  // The work keeps the process busy; the renewals alone should not (a callout abandoned in a test).
  timer.unref();
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}

/**
 * The final answer kept for the request this claimed attempt repeats (ItemRecord.keptAnswer), as the
 * callback it was; undefined when none is kept, or its body is not there (the system is asked then).
 */
async function keptAnswerOf(deps: RunItemDeps, item: ItemRecord): Promise<CallbackMessage | undefined> {
  const kept = item.keptAnswer;
  if (!kept || kept.nonce !== item.callbackNonce) return undefined;
  const stored = await deps.store.keptAnswerBody(item.orderId, item.key, kept);
  const correlationId = correlationIdOf({ orderId: item.orderId, itemKey: item.key, nonce: kept.nonce });
  // The call it waits at: its callout, or its procedure's step.
  const mapping = awaitedCallOf(deps.catalog, item)?.iface.callbackMapping;
  if (stored && mapping !== undefined) {
    // In the system's own vocabulary: read again by the mapping (which sees no headers this time).
    try {
      const { outcome } = await mapSystemAnswer(mapping, mappingExpression(deps.catalog, mapping), {
        body: stored.body,
        headers: {},
      });
      return {
        correlationId,
        callbackId: kept.callbackId,
        body: stored.body,
        outcome,
        receivedAt: kept.receivedAt,
      };
    } catch (error) {
      if (!(error instanceof MappingError)) throw error;
      logger.warn('the answer kept for this request cannot be read again; asking its system', {
        orderId: item.orderId,
        itemKey: item.key,
        why: error.message,
      });
      return undefined;
    }
  }
  const body = callbackBodySchema.safeParse(stored?.body);
  if (!body.success) {
    logger.warn('the answer kept for this request is not there; asking its system', {
      orderId: item.orderId,
      itemKey: item.key,
      callbackId: kept.callbackId,
    });
    return undefined;
  }
  return {
    correlationId,
    callbackId: kept.callbackId,
    body: body.data,
    receivedAt: kept.receivedAt,
  };
}

/** A callout its system could not take now: unavailable (held) or at its limits (throttled). */
function countNotSent(
  deps: RunItemDeps,
  target: ReturnType<typeof calloutTargetOf>,
  outcome: 'held' | 'throttled',
): void {
  if (target)
    deps.telemetry.record('Callouts', { system: target.systemId, interface: target.interfaceId, outcome });
}

/** False only for an item its plan starts with (no prerequisites in the catalog); true when unsure. */
function waitsForOthers(deps: RunItemDeps, key: string): boolean {
  const { planId, itemId } = planItemOf(key);
  const planned = deps.catalog.plans[planId]?.items.find((p) => p.id === itemId);
  return planned === undefined || planned.dependsOn.length > 0;
}

/** True or false, or the reason the condition could not be evaluated. */
async function evaluateCondition(
  condition: string,
  aggregate: OrderAggregate,
  item: ItemRecord,
): Promise<boolean | string> {
  try {
    const result = await evaluateMapping(
      `${item.planItemId}.condition`,
      condition,
      mappingInput(aggregate.order, item, aggregate.context, aggregate.items.values()),
    );
    if (typeof result !== 'boolean')
      return `condition of ${item.planItemId} yielded ${JSON.stringify(result)}, not true or false`;
    return result;
  } catch (error) {
    // A path that matches nothing (a characteristic the line does not have) is "no value": not applicable.
    if (error instanceof MappingError && /produced no value/.test(error.message)) return false;
    return describe(error);
  }
}

/**
 * Runs a claimed item — its callout, its procedure, or its auto task's mapping — and says what it came
 * to, as the event the lifecycle decides next. A procedure's HTTP step that is held, throttled or to be
 * retried has already put the item where it waits: nothing follows.
 */
async function perform(
  deps: RunItemDeps,
  aggregate: OrderAggregate,
  item: ItemRecord,
  planItem: PlanItem | undefined,
  admission: Admission | undefined,
  deliveryId: string,
  wake: Wake | undefined,
): Promise<LifecycleEvent | undefined> {
  if (planItem?.procedure) {
    const outcome = await runProcedureItem(deps, aggregate, item, planItem, deliveryId, wake);
    return outcome.suspended ? undefined : { kind: 'answered', deliveryId, outcome };
  }
  if (item.type === 'milestone') return { kind: 'answered', deliveryId, outcome: {} };
  const input = mappingInput(aggregate.order, item, aggregate.context, aggregate.items.values());
  if (item.type === 'autoTask') {
    const expression = planItem?.setAttributes ?? '';
    const outcome = await mapAttributes(`${item.planItemId}.setAttributes`, expression, input);
    return { kind: 'answered', deliveryId, outcome };
  }
  if (!admission) {
    const error = 'internal error: a callout ran without its system';
    return { kind: 'answered', deliveryId, outcome: { error } };
  }
  const { target } = admission;
  // Released from a hold that came while it was polled: it polls on, its request is not sent again.
  const outcome =
    item.awaiting?.poll && target.iface.polling
      ? await resumePolling(deps, item, target)
      : await callout(deps, item, input, admission, deliveryId);
  // The circuit breaker took its system Down as this callout failed to connect: it waits with the rest.
  if (outcome.holdReason !== undefined)
    return { kind: 'held', deliveryId, hold: holdOf(target, outcome.holdReason) };
  const failureTarget = { systemId: target.system.id, interfaceId: target.iface.id };
  if (item.compensates !== undefined && nothingToUndo(outcome.failure)) {
    // Nothing left to undo is what a compensation is for: done (its attempt keeps the answer).
    const { error: _error, failure: _failure, ...done } = outcome;
    return { kind: 'answered', deliveryId, outcome: { ...done, attributes: {} }, target: failureTarget };
  }
  return { kind: 'answered', deliveryId, outcome, target: failureTarget };
}
