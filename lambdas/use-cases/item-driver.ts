import { unavailability } from '../domain/availability';
import {
  type Decision,
  decide,
  type Effect,
  evolve,
  type ItemFacts,
  type LifecycleEvent,
  type Step,
  type Write,
} from '../domain/item-decisions';
import { NO_INTERFACE } from '../domain/metrics';
import type { ItemRecord, OrderState } from '../domain/orchestration';
import type { OrderAggregate, OrderStore } from '../ports/order-store';
import type { PlanRunner } from '../ports/plan-runner';
import type { Telemetry } from '../ports/telemetry';
import { logger } from '../shared/logger';
import { type StepTarget, stepTarget } from './callout-admission';
import { cancelMessage } from './cancel-order';
import { finish, holdOrder, sendDeadline, sendRetry } from './item-effects';
import type { RunItemDeps } from './run-item-deps';

/**
 * Carries out the lifecycle's decisions (domain/item-decisions.ts): the one conditional write each
 * transition is, and the effects it sets going. Every use case that moves an item — the worker, the
 * callback correlator, the deadline, the operators' actions — goes through here, and decides nothing
 * itself.
 */

/** What carrying out a decision needs; the configuration only where a hold is rechecked (the worker). */
export type DriverDeps = Pick<RunItemDeps, 'store' | 'queue' | 'tasks' | 'now' | 'telemetry'> &
  Partial<Pick<RunItemDeps, 'config' | 'rules' | 'startReady'>> & {
    /** Where an operator can fail an order: its plan runs are stopped. */
    plans?: PlanRunner;
  };

/** What the message being handled already read: the order (for a finish) and the system a hold is for. */
export interface Scene {
  aggregate?: OrderAggregate;
  target?: StepTarget;
}

export interface Advanced {
  decision: Decision;
  /** The store refused the decision's write: the item moved meanwhile. */
  refused: boolean;
  /** The item as the decision left it. */
  item: ItemRecord;
}

/** Decides one event, makes its write, and carries out its effects. */
export async function advance(
  deps: DriverDeps,
  facts: ItemFacts,
  event: LifecycleEvent,
  scene: Scene = {},
): Promise<Advanced> {
  const decision = decide(facts, event);
  const { item } = facts;
  await carryOut(deps, item, decision.before ?? [], scene);
  let refused = false;
  let after = item;
  if (decision.write) {
    const at = facts.now.toISOString();
    refused = !(await write(deps.store, item, decision.write, at));
    if (!refused) {
      after = evolve(item, decision.write, at);
      countTransition(deps.telemetry, item, after, decision.write);
    }
  }
  await carryOut(deps, after, refused ? (decision.whenRefused?.effects ?? []) : decision.effects, scene);
  return { decision, refused, item: after };
}

/** What operators count of a transition: items that went On Hold, into fallout, and out of it by whom. */
function countTransition(telemetry: Telemetry, before: ItemRecord, after: ItemRecord, w: Write): void {
  const action = FALLOUT_ACTIONS[w.kind];
  if (action) {
    // An operator's answer to fallout (failing the order leaves the item FatallyFailed); on an item not
    // in fallout, an operator's action resolves none and pages no one.
    if (before.state === 'FatallyFailed') telemetry.record('FalloutResolved', { action });
    return;
  }
  if (after.state === before.state) return;
  if (after.state === 'OnHold' && after.hold) telemetry.record('ItemsHeld', { system: after.hold.systemId });
  if (after.state === 'FatallyFailed')
    telemetry.record('FalloutEntered', { interface: after.interfaceId ?? NO_INTERFACE });
}

/** The operators' actions on an item in fallout, as the `action` of FalloutResolved. */
const FALLOUT_ACTIONS: Partial<Record<Write['kind'], string>> = {
  operatorRetry: 'retry',
  operatorSkip: 'skip',
  operatorFail: 'fail',
};

/** Finds out what a decision's `next` step asks for, as the event that follows; undefined to stop. */
export type FindOut = (step: Step, item: ItemRecord) => Promise<LifecycleEvent | undefined>;

/**
 * Follows one event through as many decisions as it leads to: each `next` step is found out (the retry
 * rules here, anything else by `findOut`) and each `follows` event decided at once, until a decision ends
 * it or a write is refused. Returns the last decision carried out.
 */
export async function drive(
  deps: DriverDeps,
  facts: ItemFacts,
  first: LifecycleEvent,
  scene: Scene = {},
  findOut: FindOut = async () => undefined,
): Promise<Advanced> {
  let current = facts;
  let event = first;
  for (;;) {
    const advanced = await advance(deps, current, event, scene);
    const { decision } = advanced;
    if (advanced.refused || decision.refusal !== undefined) return advanced;
    current = { ...current, item: advanced.item, now: deps.now() };
    if (decision.follows) {
      event = decision.follows;
      continue;
    }
    if (decision.next === 'retryRules' && 'target' in event && deps.rules) {
      event = { ...event, rules: await deps.rules.list() };
      continue;
    }
    const found = decision.next ? await findOut(decision.next, current.item) : undefined;
    if (!found) return advanced;
    event = found;
  }
}

/** The one conditional write of a transition; false when the store refuses it. */
function write(store: OrderStore, item: ItemRecord, w: Write, at: string): Promise<boolean> {
  const { orderId, key } = item;
  switch (w.kind) {
    case 'claim':
      return store.claimItem(orderId, key, w.attemptId, at, w.reason, w.leaseUntil, w.nonce, w.guardOrder);
    case 'hold':
      return store.holdItem(orderId, key, w.attemptId, w.hold, at);
    case 'skip':
      return store.skipItem(orderId, key, w.attemptId, w.reason, at);
    case 'await':
      return store.awaitCallback(orderId, key, w.attemptId, w.outcome, w.awaiting, w.awaiting.since);
    case 'complete':
      return store.completeItem(orderId, key, w.attemptId, w.outcome, at);
    case 'retryLater':
      return store.retryLater(orderId, key, w.attemptId, w.outcome, w.retry, at, !!w.newRequest);
    case 'fail':
      return store.failItem(orderId, key, w.attemptId, w.error, w.outcome, at, !!w.newRequest);
    case 'keepAnswer':
      return store.keepAnswer(orderId, key, w.answer, w.body, at);
    case 'lateAnswer':
      return store.recordLateAnswer(
        orderId,
        key,
        { nonce: w.nonce, callbackId: w.callbackId, body: w.body },
        w.acted,
        lateAnswerReason(w.acted, 'callback'),
        at,
        w.attributes,
      );
    case 'callback':
      return store.applyCallback(orderId, key, w.attemptId, w.callbackId, w.change, at, w.nonce);
    case 'manualComplete':
      return store.completeManualTask(orderId, key, w.by, w.attributes, undefined, at);
    case 'operatorRetry':
      return store.retryByOperator(orderId, key, w.by, w.reason, at);
    case 'operatorSkip':
      return store.skipByOperator(orderId, key, w.by, w.note, at);
    case 'operatorFail':
      return store.failByOperator(orderId, key, w.by, w.reason, at);
    case 'runEnded':
      return store.failForEndedRun(orderId, key, w.error, at);
    case 'operatorAbort':
      return store.abortByOperator(
        orderId,
        key,
        w.by,
        { error: w.error, attempt: w.attempt, ...(w.retry ? { retry: w.retry } : {}) },
        at,
      );
  }
}

/** Carries out effects one after another, in the order the decision gave them. */
async function carryOut(
  deps: DriverDeps,
  item: ItemRecord,
  effects: readonly Effect[],
  scene: Scene,
): Promise<void> {
  for (const effect of effects) await carryOutOne(deps, item, effect, scene);
}

async function carryOutOne(deps: DriverDeps, item: ItemRecord, effect: Effect, scene: Scene): Promise<void> {
  const { store } = deps;
  const { orderId, key } = item;
  const at = () => deps.now().toISOString();
  switch (effect.kind) {
    case 'finish': {
      const aggregate = scene.aggregate ?? (await store.getAggregate(orderId));
      if (!aggregate) throw new Error(`order "${orderId}" of a finished item is gone`);
      const finished = effect.state
        ? { ...item, state: effect.state, outputAttributes: effect.attributes }
        : item;
      return finish(deps, aggregate, finished);
    }
    case 'holdOrder':
      return holdOrder(deps, item, effect.error);
    case 'releaseOrderHold':
      return store.releaseOrderHold(orderId, key, at());
    case 'orderInProgress':
      // Only an order's first item moves it on; for the rest the write is refused by its condition.
      await store.setOrderState(orderId, ['acknowledged'], 'inProgress', at());
      return;
    case 'failOrder': {
      if (!deps.plans) throw new Error('an order is failed only where its plan runs can be stopped');
      // A compensation that cannot be done fails an order under cancellation too.
      const from: OrderState[] = ['acknowledged', 'inProgress', 'held', 'pendingCancellation'];
      if (await store.setOrderState(orderId, from, 'failed', at())) deps.telemetry.record('OrdersFailed', {});
      const by = `failed by ${effect.by.name} (${effect.by.id}): ${effect.reason}`;
      for (const token of item.taskTokens ?? []) await deps.tasks.fail(token, 'Switchboard.OrderFailed', by);
      // Its other runs wait for items that will never be started now: they are stopped, not left to time out.
      const order = scene.aggregate?.order ?? (await store.getOrder(orderId));
      // The cancellation it was under ends with it (cancel-order.ts).
      if (order?.cancellation) await deps.queue.send([cancelMessage(order.cancellation.id, orderId)]);
      for (const run of order?.planRuns ?? []) await deps.plans.stop(run.planId, run.executionName, by);
      return;
    }
    case 'sendRetry':
      return sendRetry(deps, item, effect.at);
    case 'sendDeadline':
      return sendDeadline(deps, {
        kind: 'deadline',
        orderId,
        itemKey: key,
        nonce: effect.nonce,
        dueAt: effect.dueAt,
      });
    case 'sendPoll':
      return deps.queue.send(
        [
          {
            kind: 'poll',
            orderId,
            itemKey: key,
            nonce: effect.nonce,
            attemptId: effect.attemptId,
            count: effect.count,
          },
        ],
        { delaySeconds: effect.delaySeconds },
      );
    case 'sendStart': {
      const message = {
        kind: 'start' as const,
        orderId,
        itemKey: key,
        ...(effect.attemptId ? { attemptId: effect.attemptId } : {}),
        ...(effect.releaseId ? { releaseId: effect.releaseId } : {}),
      };
      if (effect.delaySeconds === undefined) return deps.queue.send([message]);
      return deps.queue.send([message], { delaySeconds: effect.delaySeconds });
    }
    case 'clearReleaseStamp':
      return store.clearReleaseStamp(orderId, key, effect.releaseId);
    case 'recheckHold':
      return recheckHold(deps, item, scene.target);
    case 'log':
      logger[effect.level](effect.message, { orderId, itemKey: key });
      return;
    case 'lateAnswer': {
      const why = lateAnswerReason(effect.acted, 'answer');
      const from = { attemptId: effect.deliveryId };
      if (await store.recordLateAnswer(orderId, key, from, effect.acted, why, at(), effect.attributes))
        return moveCancellation(deps, orderId);
      return;
    }
    case 'moveCancellation':
      return moveCancellation(deps, orderId);
  }
}

const lateAnswerReason = (acted: boolean, how: 'answer' | 'callback') =>
  `late ${how}, kept and applied to nothing (its order is cancelled): its system ${acted ? 'acted' : 'did not act'}`;

/** Moves the cancellation of the item's order on: it decides what a frozen item's late answer changes. */
async function moveCancellation(deps: DriverDeps, orderId: string): Promise<void> {
  const order = await deps.store.getOrder(orderId);
  if (order?.cancellation) await deps.queue.send([cancelMessage(order.cancellation.id, orderId)]);
}

/**
 * After a hold: whoever holds the item now, its order is held only while it is On Hold (or in fallout);
 * and a system that came back while the hold was written sends it back to work (its release may have
 * looked before the hold was there).
 */
async function recheckHold(
  deps: DriverDeps,
  item: ItemRecord,
  target: StepTarget | undefined,
): Promise<void> {
  const { store, config } = deps;
  if (!config || !target) throw new Error('a hold is rechecked with its system and the configuration');
  const current = await store.getItem(item.orderId, item.key);
  if (current?.state !== 'OnHold' && current?.state !== 'FatallyFailed') {
    await store.releaseOrderHold(item.orderId, item.key, deps.now().toISOString());
    return;
  }
  const now = target.pathOnly
    ? await stepTarget({ config }, target.system.id, target.iface)
    : await config.calloutTarget(target.iface.id, target.system.id);
  if (now && !unavailability(now)) {
    await deps.queue.send([{ kind: 'start', orderId: item.orderId, itemKey: item.key }]);
  }
}
