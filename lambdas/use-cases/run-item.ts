import type { ItemDispatch } from '../../statemachines/compile-plan';
import type { PlanItem } from '../../statemachines/plan-definition';
import { type Authenticator, scrubJson, scrubSecrets } from '../domain/authenticator';
import { AUTOMATIC_ACTORS, unavailability } from '../domain/availability';
import { callbackNonce, callbackUrl, waitsUnder } from '../domain/callback';
import {
  type CalloutTarget,
  interpretAnswer,
  type MappingInput,
  mappingInput,
  type PreparedCallout,
  prepareCallout,
  requestRecord,
  systemUrl,
} from '../domain/callout';
import { type Catalog, DEFAULT_ASYNC_TIMEOUT_SECONDS, type SystemInterface } from '../domain/catalog';
import { CalloutError, MappingError } from '../domain/errors';
import { isAsyncAdapter } from '../domain/integration-adapters';
import { evaluateAttributeMapping, evaluateMapping } from '../domain/mapping';
import {
  type AttemptDecision,
  type AttemptRecord,
  type CalloutRequestRecord,
  type ItemRecord,
  isDone,
  prerequisitesDone,
} from '../domain/orchestration';
import {
  type HttpOutcome,
  type HttpStep,
  type Procedure,
  runProcedure,
  startProgress,
} from '../domain/procedure';
import { pathInterface, stepRequest } from '../domain/procedure-request';
import {
  type CalloutFailure,
  decideRetry,
  type FailureTarget,
  type RetryDecision,
  retryAfterSeconds,
  ruleFor,
} from '../domain/retry-rules';
import type { AvailabilityEvents } from '../ports/availability-events';
import type { CalloutLimits, HandedSlot, SlotLease, SlotWaiter } from '../ports/callout-limits';
import type { ConfigurationStore, SystemRecord } from '../ports/configuration-store';
import type { HttpClient, HttpRequest, HttpResponse } from '../ports/http-client';
import type { CallbackChange, ItemOutcome, OrderAggregate, OrderStore } from '../ports/order-store';
import type { PlanTasks } from '../ports/plan-tasks';
import type { RetryRuleStore } from '../ports/retry-rule-store';
import type {
  CallbackDeadlineMessage,
  HealthProbeMessage,
  StartItemMessage,
  WorkQueue,
} from '../ports/work-queue';
import { logger } from '../shared/logger';
import { changeSystemState } from './change-availability';

export interface CallbackIssuer {
  /** The API's base URL: callbacks go to `<baseUrl>/callbacks/{correlationId}`. */
  baseUrl: string;
  signingKey(): Promise<string>;
}

export interface RunItemDeps {
  store: OrderStore;
  tasks: PlanTasks;
  queue: WorkQueue;
  http: HttpClient;
  catalog: Catalog;
  /** Where systems send asynchronous answers, and the key that signs the URLs. */
  callbacks: CallbackIssuer;
  /** Systems and interfaces as they are now. */
  config: ConfigurationStore;
  limits: CalloutLimits;
  /** The operators' connection retry rules, read at every retry decision. */
  rules: RetryRuleStore;
  auth: Authenticator;
  /** Announces a system the circuit breaker took Down or brought back Up. */
  events: AvailabilityEvents;
  now: () => Date;
  sleep: (ms: number) => Promise<void>;
}

/** The longest a callout waits in the worker for its turn under a system's rate; longer waits go back to the queue. */
export const MAX_RATE_WAIT_MS = 10_000;
/**
 * How long a callout on a system's waiting list waits before it asks again by itself. Callouts that end
 * wake it much sooner; this is for a slot no one hands on (its holder died, and its lease ran out).
 */
export const WAIT_RECHECK_SECONDS = 120;
/** How long a slot kept for a woken callout waits for it; then anyone may take it. */
const HAND_OFF_SECONDS = 30;

export type WorkMessage = ItemDispatch | StartItemMessage | CallbackDeadlineMessage | HealthProbeMessage;

/**
 * Handles one work-queue message about one orchestration item.
 *
 * 1. A plan's wait arrives (dispatch): keep its task token on the item. If the item's prerequisites are
 *    not done (read from the order and the item alone), that is all.
 * 2. Read the order in one query. A done item is replayed: its effects are applied again (idempotently)
 *    and its task answered, so a re-run plan or a duplicate message never calls a system twice.
 * 3. An item whose prerequisites are not all done waits; the last prerequisite to finish starts it.
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
    // n records n times over.
    const early = await store.getOrderWith(message.orderId, [message.itemKey]);
    const waiting = early.items.get(message.itemKey);
    if (early.order && waiting?.state === 'Pending' && !prerequisitesDone(waiting, early.order)) return;
  }
  const aggregate = await store.getAggregate(message.orderId);
  const item = aggregate?.items.get(message.itemKey);
  if (!aggregate || !item) {
    logger.error('work message for an unknown item', { orderId: message.orderId, itemKey: message.itemKey });
    return;
  }

  if (isDone(item)) return finish(deps, aggregate, item);
  if (item.state === 'FatallyFailed') {
    // Waits for an operator. Hold the order again: a worker may have died between the two writes.
    return holdOrder(deps, item);
  }
  if (aggregate.order.state === 'failed') {
    // An operator failed the order: nothing more of it is started (a retry or a release that comes now).
    logger.info('item of a failed order not started', { orderId: item.orderId, itemKey: item.key });
    return;
  }
  // A held item runs only as a callout whose system is available; a message for it that is not a
  // release (a re-sent dispatch, say) is one too: admission below decides.
  if (
    item.state === 'Failed' &&
    item.nextAttemptAt &&
    deps.now().getTime() < Date.parse(item.nextAttemptAt)
  ) {
    // Its next attempt is not due yet: the message goes on (a wait longer than SQS's 15 minutes hops).
    return sendRetry(deps, item, item.nextAttemptAt);
  }
  if (item.state === 'Running' && item.attemptId !== deliveryId) return; // another delivery runs it
  if (item.awaiting) {
    // Its system accepted it; the callback or the deadline finishes it. The deadline is sent again, in
    // case the delivery that recorded the wait died before sending it (a second one changes nothing).
    return sendDeadline(deps, deadlineOf(item, deliveryId, item.awaiting.deadline));
  }
  if (!item.taskTokens?.length) return; // its dispatch will come and start it
  if (!prerequisitesDone(item, aggregate.order)) return;

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

async function start(
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

interface Admission {
  kind: 'admitted';
  target: CalloutTarget;
  lease?: SlotLease;
}

/**
 * Lets a callout go only when its system can take it: a free connection slot (held until the callout
 * ends) and its turn under the rate. When the system is full the item stays Pending and asks again later.
 */
async function admit(
  deps: RunItemDeps,
  item: ItemRecord,
  deliveryId: string,
  wake: Wake | undefined,
): Promise<
  | Admission
  | { kind: 'waiting' }
  | { kind: 'later'; delaySeconds: number }
  | { kind: 'unconfigured'; error: string }
  | { kind: 'hold'; target: CalloutTarget; reason: string }
> {
  const interfaceId = item.interfaceId ?? '';
  const target = await deps.config.calloutTarget(interfaceId, deps.catalog.interfaces[interfaceId]?.system);
  if (!target) {
    return {
      kind: 'unconfigured',
      error: `system interface "${item.interfaceId}" or its system is not configured (is the catalog seeded?)`,
    };
  }
  // Before any slot or turn is taken: a held callout uses none of its system's capacity.
  const unavailable = unavailability(target);
  if (unavailable) return { kind: 'hold', target, reason: unavailable };
  const { system } = target;
  const now = deps.now();
  const lease = await takeSlot(deps, target, deliveryId, item, wake);
  if (lease === 'waiting') return { kind: 'waiting' };
  // The rate's turn is taken just before the send (see callout); here a system booked far ahead only
  // sends the item back to the queue, so no worker sits waiting for long.
  const perSecond = system.limits.maxCalloutsPerSecond;
  if (perSecond !== undefined) {
    const next = await deps.limits.peekNextStart(system.id);
    const ahead = next ? next.getTime() - now.getTime() : 0;
    if (ahead > MAX_RATE_WAIT_MS) {
      if (lease) await giveBack(deps, lease);
      return { kind: 'later', delaySeconds: Math.max(1, Math.ceil((ahead - MAX_RATE_WAIT_MS) / 1000)) };
    }
  }
  return { kind: 'admitted', target, lease };
}

/**
 * A connection slot on the target's system when it limits its concurrent callouts: the lease, held until
 * the callout ends; undefined when it has no limit. When every slot is taken the callout goes on the
 * system's waiting list and costs nothing while it waits ('waiting'): the next callout to end keeps its
 * slot for the oldest waiter and wakes it (giveBack). It joins the list before it asks once more, so a
 * slot freed meanwhile is taken here or handed to it. A message it sends itself much later asks again,
 * should no wake come (a worker that died holding a slot hands nothing on; its lease runs out).
 */
async function takeSlot(
  deps: RunItemDeps,
  { system, iface }: CalloutTarget,
  deliveryId: string,
  item: ItemRecord,
  wake: Wake | undefined,
): Promise<SlotLease | undefined | 'waiting'> {
  const maxConcurrent = system.limits.maxConcurrentCallouts;
  if (maxConcurrent === undefined) return undefined;
  const now = deps.now();
  // The lease outlives the longest this callout can take (a 401 renewal sends it twice), so a worker
  // that dies mid-call frees its slot by itself and one that lives never loses it.
  const expiresAt = new Date(now.getTime() + MAX_RATE_WAIT_MS + 2 * iface.timeoutSeconds * 1000 + 60_000);
  const acquire = (handed?: HandedSlot) =>
    deps.limits.acquireSlot(system.id, maxConcurrent, deliveryId, now, expiresAt, handed);
  const handed =
    wake?.slot === undefined ? undefined : { item: `${item.orderId}.${item.key}`, slot: wake.slot };
  const waiter: SlotWaiter = {
    orderId: item.orderId,
    itemKey: item.key,
    since: wake?.since ?? now.toISOString(),
    // A delivery that holds the item (a procedure's step, a redelivery) hands its attempt on.
    ...(item.state === 'Running' ? { attemptId: deliveryId } : {}),
  };
  const lease = await acquire(handed);
  if (lease) {
    // Handed its slot, it was taken off the list by the callout that woke it; otherwise it leaves by itself.
    if (wake && !handed) await deps.limits.stopWaiting(system.id, waiter);
    return lease;
  }
  await deps.limits.waitForSlot(system.id, waiter);
  const late = await acquire();
  if (late) {
    await deps.limits.stopWaiting(system.id, waiter);
    return late;
  }
  await deps.queue.send([wakeMessage(waiter)], { delaySeconds: WAIT_RECHECK_SECONDS });
  return 'waiting';
}

/** Gives a slot back; when callouts wait for one, it is kept for the oldest of them, which is woken. */
async function giveBack(deps: RunItemDeps, lease: SlotLease): Promise<void> {
  const now = deps.now();
  const handed = await deps.limits.releaseSlot(lease, now, new Date(now.getTime() + HAND_OFF_SECONDS * 1000));
  if (handed) await deps.queue.send([wakeMessage(handed.waiter, handed.slot)]);
}

/** A callout waiting for a slot of its system: since when (its place), and the slot it was handed, if one was. */
interface Wake {
  since: string;
  slot?: number;
}

function wakeOf(message: StartItemMessage): Wake | undefined {
  if (message.waitingSince === undefined) return undefined;
  return {
    since: message.waitingSince,
    ...(message.handedSlot === undefined ? {} : { slot: message.handedSlot }),
  };
}

function wakeMessage(waiter: SlotWaiter, handedSlot?: number): StartItemMessage {
  return {
    kind: 'start',
    orderId: waiter.orderId,
    itemKey: waiter.itemKey,
    waitingSince: waiter.since,
    ...(waiter.attemptId ? { attemptId: waiter.attemptId } : {}),
    ...(handedSlot === undefined ? {} : { handedSlot }),
  };
}

/** Why a request to a system got no answer. */
interface NoAnswer {
  error: string;
  failure: CalloutFailure;
  durationMs: number;
  /** The circuit breaker has the system Down, after this failure or before it: wait, do not fail. */
  holdReason?: string;
}

/**
 * Sends one request to its system, for a callout and a procedure's HTTP step alike: waits for its turn
 * under the system's rate, adds the auth profile's credentials at send time (kept in `secrets` so
 * everything stored can be scrubbed of them), fetches a fresh credential and sends once more on a 401,
 * and counts a refused connection or a timeout against the system's circuit breaker.
 */
async function exchange(
  deps: RunItemDeps,
  system: CalloutTarget['system'],
  request: HttpRequest,
  secrets: string[],
): Promise<{ sentAt: Date } & ({ answer: HttpResponse } | { noAnswer: NoAnswer })> {
  const profile = system.authProfile ? deps.catalog.authProfiles[system.authProfile] : undefined;
  await waitForTurn(deps, system);
  const sentAt = deps.now();
  const send = async () => {
    const credentialed = await deps.auth.headers(profile, system.baseUrl);
    secrets.push(...credentialed.secrets);
    return deps.http.send({ ...request, headers: { ...request.headers, ...credentialed.headers } });
  };
  try {
    let answer = await send();
    if (answer.status === 401 && deps.auth.renew(profile, system.baseUrl)) answer = await send();
    if (system.consecutiveFailures) await deps.config.resetConnectionFailures(system.id);
    return { sentAt, answer };
  } catch (error) {
    const unreachable = error instanceof CalloutError && error.unreachable;
    const message = describe(error, secrets);
    const failure: CalloutFailure =
      unreachable && /^no answer within/.test(error.message)
        ? { kind: 'timeout' }
        : unreachable
          ? { kind: 'connection' }
          : { kind: 'unusable' };
    const noAnswer = { error: message, failure, durationMs: deps.now().getTime() - sentAt.getTime() };
    const down = unreachable ? await countFailure(deps, system, message) : undefined;
    return { sentAt, noAnswer: down ? { ...noAnswer, holdReason: `${down} (after: ${message})` } : noAnswer };
  }
}

/**
 * Takes the callout's turn under its system's rate and waits for it. Taken here, right before the send,
 * so the starts the rate spaces are the requests on the wire, not the work before them. A turn further
 * away than admission saw (another worker was faster) is waited for in steps.
 */
async function waitForTurn(deps: RunItemDeps, system: CalloutTarget['system']): Promise<void> {
  const perSecond = system.limits.maxCalloutsPerSecond;
  if (perSecond === undefined) return;
  const giveUpAt = deps.now().getTime() + 2 * MAX_RATE_WAIT_MS;
  for (;;) {
    const now = deps.now();
    // The worker's timeout allows this much waiting; beyond it the message is redelivered and resumes.
    if (now.getTime() > giveUpAt) throw new Error(`no turn under the rate of system "${system.id}" in time`);
    const turn = await deps.limits.reserveStart(system.id, perSecond, now, MAX_RATE_WAIT_MS);
    const until = 'startAt' in turn ? turn.startAt : turn.askAgainAt;
    const wait = until.getTime() - now.getTime();
    if (wait > 0) await deps.sleep(wait);
    if ('startAt' in turn) return;
  }
}

/**
 * Puts a callout whose system is Down or interface Offline On Hold: no request is sent and nothing of
 * the item's attempts is used. Its order shows `held`. The hold is written before the system is read
 * again, so a system that came back meanwhile is seen here or its release sees the hold: either way
 * the item is sent back to work.
 */
async function hold(
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

/** Fallout for an item this delivery holds: FatallyFailed with the error, the order held until an operator acts. */
async function fail(
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
async function failAttempt(
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
function attemptOf(
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

/** Brings a Failed item back when its next attempt is due: as far ahead as SQS allows, then again. */
export async function sendRetry(
  deps: Pick<RunItemDeps, 'queue' | 'now'>,
  item: ItemRecord,
  dueAt: string,
): Promise<void> {
  const remaining = (Date.parse(dueAt) - deps.now().getTime()) / 1000;
  await deps.queue.send([{ kind: 'start', orderId: item.orderId, itemKey: item.key }], {
    delaySeconds: Math.min(MAX_SQS_DELAY_SECONDS, Math.max(0, Math.ceil(remaining))),
  });
}

/** Claims the item for this delivery and fails it at once (it cannot run: a bad condition, no system). */
async function claimAndFail(
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
 * Holds the order of an item in fallout until an operator acts; with `error`, the item just failed and
 * the failure is logged. Holding twice changes nothing, so every replay of a failure holds again.
 */
export async function holdOrder(
  deps: Pick<RunItemDeps, 'store' | 'now'>,
  item: Pick<ItemRecord, 'orderId' | 'key'>,
  error?: string,
): Promise<void> {
  await deps.store.holdOrder(item.orderId, item.key, deps.now().toISOString());
  if (error !== undefined)
    logger.warn('item failed', { orderId: item.orderId, itemKey: item.key, reason: error });
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

/**
 * The default auto task: runs the item's integration procedure from where its kept progress says, the
 * input mapping giving its input and the output mapping turning its outputs into attributes. Progress
 * is kept after every step, so a procedure resumed after a hold, a retry or a lost worker runs no
 * step that already succeeded.
 */
async function runProcedureItem(
  deps: RunItemDeps,
  aggregate: OrderAggregate,
  item: ItemRecord,
  planItem: PlanItem,
  deliveryId: string,
  wake: Wake | undefined,
): Promise<CalloutOutcome> {
  const procedure = deps.catalog.procedures?.[planItem.procedure ?? ''];
  if (!procedure) return { error: `procedure "${planItem.procedure}" is not in the catalog` };
  const scope = mappingInput(aggregate.order, item, aggregate.context, aggregate.items.values());
  const input = planItem.input
    ? await mapAttributes(`${item.planItemId}.input`, planItem.input, scope)
    : { attributes: {} };
  if (!input.attributes) return input;
  // Progress is kept after each HTTP step, with the trace of the steps since: the others are cheap to
  // run again, so a procedure resumed after a lost worker runs them again but never resends a request.
  let kept = 0;
  const result = await runProcedure(
    procedure,
    input.attributes,
    item.procedure ? { ...item.procedure, trace: [] } : startProgress(),
    (step, body) => procedureStep(deps, item, procedure, step, body, deliveryId, wake),
    {
      now: deps.now,
      onStep: async (progress) => {
        if (progress.trace.at(-1)?.type !== 'http') return;
        await deps.store.saveProcedureProgress(
          item.orderId,
          item.key,
          deliveryId,
          { ...progress, trace: progress.trace.slice(kept) },
          deps.now().toISOString(),
        );
        kept = progress.trace.length;
      },
    },
  );
  if (result.kind === 'suspended') return { suspended: true };
  // What ran since the last kept progress is kept with the item's outcome.
  const { trace, next } = result.progress;
  const steps = trace.slice(kept).map((step, i) => ({ index: next - trace.length + kept + i, trace: step }));
  if (result.kind === 'failed')
    return {
      error: `procedure "${procedure.id}" step "${result.step}": ${result.error}: ${result.message}`,
      steps,
    };
  const outcome = planItem.output
    ? await mapAttributes(`${item.planItemId}.output`, planItem.output, { ...scope, output: result.outputs })
    : { attributes: result.outputs };
  return { ...outcome, steps };
}

/** An auto task's mapping to an object of attributes, or the error it failed with (never a throw). */
async function mapAttributes(
  name: string,
  expression: string,
  input: MappingInput | Record<string, unknown>,
): Promise<
  { attributes: Record<string, unknown>; error?: undefined } | { attributes?: undefined; error: string }
> {
  try {
    return { attributes: await evaluateAttributeMapping(name, expression, input) };
  } catch (error) {
    return { error: describe(error) };
  }
}

/**
 * One HTTP step of a procedure through the callout machinery: held while its system is Down or its
 * interface Offline, a connection slot and a turn under the rate, the system's auth, an idempotency
 * key that is the same for every attempt of the step, and on failure the retry rules of its system
 * and interface. Anything but an answer leaves the item where it waits and suspends the procedure.
 */
async function procedureStep(
  deps: RunItemDeps,
  item: ItemRecord,
  procedure: Procedure,
  step: HttpStep,
  body: unknown,
  deliveryId: string,
  wake: Wake | undefined,
): Promise<HttpOutcome> {
  const running = { ...item, state: 'Running' as const };
  const target =
    step.interface !== undefined
      ? await deps.config.calloutTarget(step.interface, deps.catalog.interfaces[step.interface]?.system)
      : await stepTarget(deps, step.system ?? '', pathInterface(procedure, step));
  if (!target) {
    await fail(
      deps,
      running,
      deliveryId,
      `procedure "${procedure.id}" step "${step.id}": its system or interface is not configured (is the catalog seeded?)`,
    );
    return { kind: 'suspended' };
  }
  const unavailable = unavailability(target);
  if (unavailable) {
    await hold(deps, running, deliveryId, target, unavailable);
    return { kind: 'suspended' };
  }
  const { system, iface } = target;
  // Waiting for a slot, it keeps its item: it is woken with this attempt and resumes at this step.
  const lease = await takeSlot(deps, target, deliveryId, running, wake);
  if (lease === 'waiting') return { kind: 'suspended' };
  try {
    const request = stepRequest(system.baseUrl, iface, body, `${item.orderId}.${item.key}.${step.id}`);
    const secrets: string[] = [];
    const sent = await exchange(deps, system, request, secrets);
    const { sentAt } = sent;
    const record: CalloutRequestRecord = scrubJson(
      {
        method: request.method,
        url: request.url,
        headers: request.headers,
        body,
        sentAt: sentAt.toISOString(),
      },
      secrets,
    );
    if ('noAnswer' in sent) {
      const { holdReason, ...noAnswer } = sent.noAnswer;
      // The circuit breaker has the system Down: the step waits with the rest of its system's callouts.
      if (holdReason !== undefined) await hold(deps, running, deliveryId, target, holdReason);
      else {
        const error = `procedure "${procedure.id}" step "${step.id}": ${noAnswer.error}`;
        await failAttempt(deps, running, deliveryId, { request: record, ...noAnswer }, target, error);
      }
      return { kind: 'suspended' };
    }
    const { answer } = sent;
    const answered = parseIfJson(scrubSecrets(answer.body, secrets));
    const ok = answer.status >= 200 && answer.status < 300;
    const size = Buffer.byteLength(JSON.stringify(answered) ?? '');
    if (!ok || size > MAX_STEP_ANSWER_BYTES) {
      const error = `procedure "${procedure.id}" step "${step.id}": ${system.id} answered ${ok ? `${size} bytes, more than a step may keep (${MAX_STEP_ANSWER_BYTES})` : answer.status}`;
      const response = {
        status: answer.status,
        receivedAt: deps.now().toISOString(),
        durationMs: deps.now().getTime() - sentAt.getTime(),
        body: answered,
      };
      const failure: CalloutFailure = ok
        ? { kind: 'unusable' }
        : { kind: 'status', status: answer.status, ...retryAfterOf(answer, deps.now()) };
      await failAttempt(
        deps,
        running,
        deliveryId,
        { request: record, response, failure, error },
        target,
        error,
      );
      return { kind: 'suspended' };
    }
    return { kind: 'answered', body: answered ?? null, request: record };
  } finally {
    if (lease) await giveBack(deps, lease);
  }
}

/**
 * Where a callout or a procedure's HTTP step goes. `pathOnly` marks a step sent to a path of its system:
 * its interface is made from the step, so only the system's state can hold it.
 */
type StepTarget = CalloutTarget & { pathOnly?: true };

/** A procedure step sent to a path of its system, as the system is now. */
async function stepTarget(
  deps: RunItemDeps,
  systemId: string,
  iface: SystemInterface,
): Promise<{ system: SystemRecord; iface: SystemInterface; pathOnly: true } | undefined> {
  const system = await deps.config.getSystem(systemId);
  return system ? { system, iface, pathOnly: true } : undefined;
}

/**
 * What a callout came to: done (attributes), failed (error), accepted and waiting for its callback, or
 * sent to a system the circuit breaker has just taken Down (holdReason).
 */
type CalloutOutcome = ItemOutcome & {
  /** A procedure stopped at an HTTP step that waits (held, throttled, or failed and to be retried). */
  suspended?: true;
  error?: string;
  awaitingUntil?: Date;
  holdReason?: string;
  /** How the callout failed, for the retry rules. */
  failure?: CalloutFailure;
  /** How long a callout that got no answer took to fail. */
  durationMs?: number;
};

/**
 * The system accepted an asynchronous callout: the item stays Running, waiting for its callback, and a
 * deadline message will fail it if no final answer came by then. A callback that arrived before the
 * acceptance was recorded has already finished the item; then there is nothing to do here.
 */
async function awaitCallback(
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

/** The deadline of the wait this delivery's callout began. */
const deadlineOf = (item: ItemRecord, deliveryId: string, dueAt: string): CallbackDeadlineMessage => ({
  kind: 'deadline',
  orderId: item.orderId,
  itemKey: item.key,
  nonce: callbackNonce(deliveryId),
  dueAt,
});

/** Sends the deadline message as far ahead as SQS allows; it sends itself on until it is due. */
async function sendDeadline(deps: RunItemDeps, message: CallbackDeadlineMessage): Promise<void> {
  const remaining = (Date.parse(message.dueAt) - deps.now().getTime()) / 1000;
  await deps.queue.send([message], {
    delaySeconds: Math.min(MAX_SQS_DELAY_SECONDS, Math.max(0, Math.ceil(remaining))),
  });
}

const MAX_SQS_DELAY_SECONDS = 900;

/**
 * A deadline came: if the wait it guards still waits and the time has come, no final answer arrived in
 * time and the item fails (to the retry rules, once they exist; to fallout until then).
 */
async function checkDeadline(deps: RunItemDeps, message: CallbackDeadlineMessage): Promise<void> {
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

/**
 * One callout: map and encode the request, authenticate, send, and read the answer. A 401 under OAuth2
 * fetches a fresh token once and sends once more. Credentials are added at send time only and scrubbed
 * from everything kept, errors included.
 */
async function callout(
  deps: RunItemDeps,
  item: ItemRecord,
  mappingInput: MappingInput,
  { target }: Admission,
  deliveryId: string,
): Promise<CalloutOutcome> {
  const { system, iface } = target;
  const asynchronous = isAsyncAdapter(iface.adapter);
  const secrets: string[] = [];
  let input = mappingInput;
  let callback: string | undefined;
  if (asynchronous) {
    // The URL is derived from the delivery, so a redelivered message sends the same one, and it exists
    // before the request does: a system that calls back before answering is still matched.
    const signingKey = await deps.callbacks.signingKey();
    callback = callbackUrl(deps.callbacks.baseUrl, signingKey, {
      orderId: item.orderId,
      itemKey: item.key,
      nonce: callbackNonce(deliveryId),
    });
    // The proof in the URL is a credential like any other: it is never stored.
    secrets.push(new URL(callback).searchParams.get('token') ?? '');
    input = { ...mappingInput, callback: { url: callback } };
  }
  let prepared: PreparedCallout;
  try {
    prepared = await prepareCallout(deps.catalog, target, item, input);
  } catch (error) {
    return { error: describe(error, secrets) };
  }
  if (callback) prepared.headers['callback-url'] = callback;
  if (system.authProfile && !deps.catalog.authProfiles[system.authProfile]) {
    return {
      request: scrubJson(requestRecord(prepared, iface.adapter, deps.now().toISOString()), secrets),
      error: `auth profile "${system.authProfile}" of system "${system.id}" is not in the catalog`,
    };
  }
  const { mapped: _mapped, ...wire } = prepared;
  const sent = await exchange(deps, system, wire, secrets);
  const { sentAt } = sent;
  const request = scrubJson(requestRecord(prepared, iface.adapter, sentAt.toISOString()), secrets);
  if ('noAnswer' in sent) return { request, ...sent.noAnswer };
  const { answer } = sent;
  const receivedAt = deps.now();
  const responseRecord = {
    status: answer.status,
    receivedAt: receivedAt.toISOString(),
    durationMs: receivedAt.getTime() - sentAt.getTime(),
  };
  const scrubbed = { ...answer, body: scrubSecrets(answer.body, secrets) };
  if (asynchronous && (iface.acceptedStatuses ?? [202]).includes(answer.status)) {
    const timeoutSeconds = iface.asyncTimeoutSeconds ?? DEFAULT_ASYNC_TIMEOUT_SECONDS;
    return {
      request,
      response: { ...responseRecord, body: parseIfJson(scrubbed.body) },
      awaitingUntil: new Date(receivedAt.getTime() + timeoutSeconds * 1000),
    };
  }
  try {
    const { body, attributes } = await interpretAnswer(deps.catalog, iface, scrubbed, input);
    // Decoding may have un-escaped a credential the text scrub could not see.
    return {
      request,
      response: { ...responseRecord, body: scrubJson(body, secrets) },
      attributes: scrubJson(attributes, secrets),
    };
  } catch (error) {
    // An answer outside 2xx is a status the rules may retry; a 2xx that cannot be used is not.
    const status = answer.status;
    return {
      request,
      response: { ...responseRecord, body: scrubbed.body.slice(0, 2000) },
      error: describe(error, secrets),
      failure:
        status >= 200 && status < 300
          ? { kind: 'unusable' }
          : { kind: 'status', status, ...retryAfterOf(answer, receivedAt) },
    };
  }
}

/**
 * Counts a connection failure or timeout against a system with a circuit breaker; the one that reaches
 * its threshold takes the system Down and starts probing its health. Returns why the system is Down when
 * it is (by this failure or an earlier one), so the callout waits On Hold instead of failing.
 */
async function countFailure(
  deps: RunItemDeps,
  system: CalloutTarget['system'],
  error: string,
): Promise<string | undefined> {
  const breaker = system.circuitBreaker;
  if (!breaker) return undefined;
  const failures = await deps.config.recordConnectionFailure(system.id);
  if (failures < breaker.failureThreshold) return undefined;
  const result = await changeSystemState(deps, system.id, 'Down', {
    by: AUTOMATIC_ACTORS['circuit-breaker'],
    reason: `${failures} connection failures or timeouts in a row (last: ${error})`,
    cause: 'circuit-breaker',
  });
  if (result?.system.state !== 'Down') return undefined;
  const change = result.system.stateChange;
  if (result.changed && change) {
    await deps.queue.send([{ kind: 'probe', systemId: system.id, changeId: change.id }], {
      delaySeconds: breaker.probeIntervalSeconds,
    });
  }
  return `system "${system.id}" is Down${change ? `: ${change.reason}` : ''}`;
}

/**
 * The circuit breaker's health probe: while the system is still Down from the breaker's change, GET its
 * health path with its auth; a 2xx brings it Up (which releases its held items), anything else probes
 * again after the interval. An operator's or a window's change since ends the probing.
 */
async function probeHealth(deps: RunItemDeps, message: HealthProbeMessage): Promise<void> {
  const system = await deps.config.getSystem(message.systemId);
  const breaker = system?.circuitBreaker;
  if (!system || !breaker) return;
  const up = (reason: string) =>
    changeSystemState(
      deps,
      system.id,
      'Up',
      { by: AUTOMATIC_ACTORS['circuit-breaker'], reason, cause: 'circuit-breaker' },
      { cause: 'circuit-breaker' },
    );
  if (system.state === 'Up') {
    // This probe's Down ended with the breaker's Up, maybe unannounced (the announcement failed and the
    // probe came again): announce it. A release announced twice sends nothing twice.
    const last = system.stateChange;
    if (last?.cause === 'circuit-breaker' && last.follows === message.changeId) await up(last.reason);
    return;
  }
  if (system.stateChange?.id !== message.changeId) return; // an operator or a window changed it since
  const profile = system.authProfile ? deps.catalog.authProfiles[system.authProfile] : undefined;
  let answer: HttpResponse | undefined;
  let outcome: string;
  const secrets: string[] = [];
  try {
    const credentialed = await deps.auth.headers(profile, system.baseUrl);
    secrets.push(...credentialed.secrets);
    const { headers } = credentialed;
    answer = await deps.http.send({
      method: 'GET',
      url: systemUrl(system.baseUrl, breaker.healthPath),
      headers,
      timeoutMs: 10_000,
    });
    outcome = `HTTP ${answer.status}`;
  } catch (error) {
    // A credential the request could not carry may be quoted in the error (fetch quotes a bad header).
    outcome = scrubSecrets((error as Error).message, secrets);
  }
  if (answer && answer.status >= 200 && answer.status < 300) {
    // Errors from here on fail the message, so its redelivery announces what was not.
    await up(`health probe of ${breaker.healthPath} answered ${answer.status}`);
    return;
  }
  logger.info('health probe failed; probing again', { systemId: system.id, outcome });
  await deps.queue.send([message], { delaySeconds: breaker.probeIntervalSeconds });
}

/**
 * Finishes a done item: its attributes into the order context, the item into the done set (the order
 * completes with its last item), every plan task waiting for it answered, and its ready dependents started.
 */
export async function finish(
  deps: Pick<RunItemDeps, 'store' | 'tasks' | 'queue' | 'now'>,
  aggregate: OrderAggregate,
  item: ItemRecord,
): Promise<void> {
  const { store } = deps;
  const at = deps.now().toISOString();
  // Once counted done its attributes are in the context; merging them again on a replay could
  // overwrite what a later item wrote.
  if (item.outputAttributes && !aggregate.order.doneItems.includes(item.key)) {
    await store.mergeContext(item.orderId, item.outputAttributes);
  }
  const order = await store.markItemDone(item.orderId, item.key, at);
  if (order.itemKeys.every((key) => order.doneItems.includes(key))) {
    await store.setOrderState(item.orderId, ['acknowledged', 'inProgress', 'held'], 'completed', at);
  }
  // Read again after the item is recorded done. A token that reached this item meanwhile (a re-run
  // execution) was written before its dispatch read the item, so either that dispatch saw the item done
  // and answers its own token, or this read sees the token. Dependents' tokens work the same way. Only
  // this item and its dependents are read (dependencies never change), not the whole order.
  const dependents = [...aggregate.items.values()]
    .filter((other) => other.dependsOn.includes(item.key))
    .map((other) => other.key);
  const fresh = await store.getOrderWith(item.orderId, [item.key, ...dependents]);
  const doneNow = fresh.order ?? order;
  const tokens = new Set([...(item.taskTokens ?? []), ...(fresh.items.get(item.key)?.taskTokens ?? [])]);
  const ready = [...fresh.items.values()].filter(
    (other) =>
      other.state === 'Pending' &&
      (other.taskTokens?.length ?? 0) > 0 &&
      other.dependsOn.includes(item.key) &&
      prerequisitesDone(other, doneNow),
  );
  // Independent of each other: the plan hears of the item while its dependents already start.
  await Promise.all([
    ...[...tokens].map(async (token) => {
      const answered = await deps.tasks.succeed(token, { itemKey: item.key, state: item.state });
      if (answered === 'gone')
        logger.warn('a plan execution no longer waits for this item', {
          orderId: item.orderId,
          itemKey: item.key,
        });
    }),
    ready.length > 0
      ? deps.queue.send(ready.map((other) => ({ kind: 'start', orderId: other.orderId, itemKey: other.key })))
      : undefined,
  ]);
}

/** The Retry-After an answer carried, in seconds. */
function retryAfterOf(answer: HttpResponse, now: Date): { retryAfterSeconds?: number } {
  const header = Object.entries(answer.headers ?? {}).find(
    ([name]) => name.toLowerCase() === 'retry-after',
  )?.[1];
  const seconds = retryAfterSeconds(header, now);
  return seconds === undefined ? {} : { retryAfterSeconds: seconds };
}

/**
 * The largest answer a procedure's HTTP step may give: the procedure keeps what each step gave in its
 * item's state, for the steps after it, and that state stays small. (A callout's answer goes to the
 * item's log, which keeps a cut copy of anything larger than it can hold.)
 */
export const MAX_STEP_ANSWER_BYTES = 32 * 1024;

function parseIfJson(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text.slice(0, 2000);
  }
}

/** What went wrong, for the item's history and the log, with every credential of the request scrubbed. */
function describe(error: unknown, secrets: readonly string[] = []): string {
  if (error instanceof CalloutError || error instanceof MappingError)
    return scrubSecrets(error.message, secrets);
  logger.error('unexpected error running an item', { error: scrubSecrets(String(error), secrets) });
  return scrubSecrets(`internal error: ${(error as Error).message ?? String(error)}`, secrets);
}
