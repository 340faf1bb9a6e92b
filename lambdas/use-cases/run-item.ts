import { planItemOf } from '../../statemachines/compile-plan';
import type { PlanItem } from '../../statemachines/plan-definition';
import { mappingInput } from '../domain/callout';
import { MappingError } from '../domain/errors';
import { onArrival } from '../domain/item-lifecycle';
import { evaluateMapping } from '../domain/mapping';
import { type ItemRecord, prerequisitesDone } from '../domain/orchestration';
import type { OrderAggregate } from '../ports/order-store';
import { logger } from '../shared/logger';
import { type Admission, admit, giveBack, type Wake, wakeOf } from './callout-admission';
import { type CalloutOutcome, callout, describe, probeHealth } from './callout-exchange';
import { deadlineOf, finish, holdOrder, sendDeadline, sendRetry } from './item-effects';
import {
  attemptOf,
  awaitCallback,
  checkDeadline,
  claimAndFail,
  fail,
  failAttempt,
  hold,
} from './item-failures';
import { mapAttributes, runProcedureItem } from './procedure-item';
import type { RunItemDeps, WorkMessage } from './run-item-deps';

/**
 * Handles one work-queue message about one orchestration item.
 *
 * 1. A plan's wait arrives (dispatch): keep its task token on the item. If the item's prerequisites are
 *    not done (read from the order and the item alone), that is all.
 * 2. Read the order in one query, and let the lifecycle say what the message means for the item now
 *    (onArrival): a done item is replayed, one in fallout holds its order, one whose retry is not due
 *    waits on, one that waits for its callback has its deadline sent again; one whose dispatch or
 *    prerequisites have not come waits for whatever comes last to start it.
 * 3. Evaluate its condition; a callout is admitted by its system (held, waiting for a slot, or later).
 * 4. Claim the item for this delivery (Pending → Running), run it, and record the outcome.
 * 5. Finish: write its attributes to the order context, count it done, answer the plan's task, and start
 *    every dependent whose prerequisites are now all done.
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

  const arrival = onArrival(
    item,
    { state: aggregate.order.state, done: aggregate.done },
    deliveryId,
    deps.now(),
  );
  switch (arrival.kind) {
    case 'replay':
      return finish(deps, aggregate, item);
    case 'holdOrder':
      return holdOrder(deps, item);
    case 'notYet':
      // A wait longer than SQS's 15 minutes hops.
      return sendRetry(deps, item, arrival.dueAt);
    case 'awaitCallback':
      return sendDeadline(deps, deadlineOf(item, deliveryId, arrival.deadline));
    case 'orderFailed':
      logger.info('item of a failed order not started', { orderId: item.orderId, itemKey: item.key });
      return;
    case 'ignore':
      return;
    case 'run':
      break;
  }
  // A held item runs only as a callout whose system is available; a message for it that is not a
  // release (a re-sent dispatch, say) is one too: admission below decides.

  const planItem = deps.catalog.plans[item.planId]?.items.find((p) => p.id === item.planItemId);
  // Evaluated again on a redelivery too: a worker may have died between claiming and failing the item.
  if (planItem?.condition !== undefined) {
    const applies = await evaluateCondition(planItem.condition, aggregate, item);
    if (applies === false) {
      if (
        await store.skipItem(
          item.orderId,
          item.key,
          deliveryId,
          `condition is false: ${planItem.condition}`,
          at(),
        )
      ) {
        await finish(deps, aggregate, { ...item, state: 'Skipped' });
      }
      return;
    }
    if (typeof applies === 'string') {
      return claimAndFail(deps, item, deliveryId, 'prerequisites done; condition evaluated', applies);
    }
  }

  let admission: Admission | undefined;
  if (item.type === 'callout') {
    const gate = await admit(deps, item, deliveryId, wake);
    if (gate.kind === 'waiting') return; // on its system's waiting list: a callout that ends wakes it
    if (gate.kind === 'hold') return hold(deps, item, deliveryId, gate.target, gate.reason, releaseId);
    if (gate.kind === 'later') {
      // A delivery that already holds the item (a redelivery) hands its attempt on with the message.
      const resumed = item.state === 'Running' ? { attemptId: deliveryId } : {};
      await deps.queue.send(
        [
          {
            kind: 'start',
            orderId: item.orderId,
            itemKey: item.key,
            ...resumed,
            ...(releaseId ? { releaseId } : {}),
          },
        ],
        { delaySeconds: gate.delaySeconds },
      );
      return;
    }
    if (gate.kind === 'unconfigured') {
      return claimAndFail(deps, item, deliveryId, 'prerequisites done; started', gate.error);
    }
    admission = gate;
  }
  try {
    await start(deps, aggregate, item, deliveryId, planItem, admission, wake);
  } finally {
    if (admission?.lease) await giveBack(deps, admission.lease);
  }
}

export async function start(
  deps: RunItemDeps,
  aggregate: OrderAggregate,
  item: ItemRecord,
  deliveryId: string,
  planItem: PlanItem | undefined,
  admission: Admission | undefined,
  wake: Wake | undefined,
): Promise<void> {
  const { store } = deps;
  const at = () => deps.now().toISOString();
  const manual = item.type === 'manualTask';
  const reason = manual
    ? `prerequisites done; waiting for an operator${planItem?.instructions ? `: ${planItem.instructions}` : ''}`
    : item.state === 'OnHold'
      ? `released: ${item.hold?.systemId ? `system "${item.hold.systemId}" is available again` : 'available again'}; started`
      : item.state === 'Failed'
        ? `retry ${item.retries ?? 0} due; started`
        : 'prerequisites done; started';
  if (!(await store.claimItem(item.orderId, item.key, deliveryId, at(), reason))) return;
  // A released item no longer holds its order (also on a redelivery, should the first one have died here).
  if (item.state === 'OnHold' || aggregate.order.holds?.includes(item.key)) {
    await store.releaseOrderHold(item.orderId, item.key, at());
  }
  // Only an order's first item moves it on; for the rest the write would be refused by its condition.
  if (aggregate.order.state === 'acknowledged')
    await store.setOrderState(item.orderId, ['acknowledged'], 'inProgress', at());
  if (manual) return; // an operator completes it (POST /orchestration/items/{itemId}/complete)

  const outcome = planItem?.procedure
    ? await runProcedureItem(deps, aggregate, item, planItem, deliveryId, wake)
    : await perform(deps, aggregate, item, planItem?.setAttributes, admission, deliveryId);
  // A procedure's HTTP step is held, throttled or to be retried: the item is already where it waits.
  if (outcome.suspended) return;
  if (outcome.holdReason !== undefined && admission) {
    // The circuit breaker took its system Down as this callout failed to connect: it waits with the rest.
    // Claimed above: it is Running under this delivery now, whatever the copy read before said.
    return hold(deps, { ...item, state: 'Running' }, deliveryId, admission.target, outcome.holdReason);
  }
  if (outcome.error !== undefined) {
    // A callout's failure goes to the retry rules; anything else's (a mapping of an auto task) to fallout.
    if (admission) return failAttempt(deps, item, deliveryId, outcome, admission.target, outcome.error);
    return fail(deps, item, deliveryId, outcome.error, outcome);
  }
  if (outcome.awaitingUntil !== undefined) return awaitCallback(deps, item, deliveryId, outcome);
  const completed = admission
    ? { ...outcome, attempt: attemptOf(item, outcome, { kind: 'completed' }, deps.now()) }
    : outcome;
  if (!(await store.completeItem(item.orderId, item.key, deliveryId, completed, at()))) return;
  await finish(deps, aggregate, { ...item, state: 'Completed', outputAttributes: outcome.attributes });
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

async function perform(
  deps: RunItemDeps,
  aggregate: OrderAggregate,
  item: ItemRecord,
  setAttributes: string | undefined,
  admission: Admission | undefined,
  deliveryId: string,
): Promise<CalloutOutcome> {
  if (item.type === 'milestone') return {};
  const input = mappingInput(aggregate.order, item, aggregate.context, aggregate.items.values());
  if (item.type === 'autoTask')
    return mapAttributes(`${item.planItemId}.setAttributes`, setAttributes ?? '', input);
  if (!admission) return { error: 'internal error: a callout ran without its system' };
  return callout(deps, item, input, admission, deliveryId);
}
