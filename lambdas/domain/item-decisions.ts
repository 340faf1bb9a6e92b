import { article } from '../../statemachines/plan-definition';
import type { HoldInfo } from './availability';
import { callbackNonce, finishedAttemptState, keepsAnswerFor, nonceOf, waitsUnder } from './callback';
import {
  type ItemEvent,
  LEASE_SECONDS,
  LIFECYCLE,
  leaseExpired,
  onArrival,
  transition,
} from './item-lifecycle';
import {
  type AttemptDecision,
  type AttemptRecord,
  type Awaiting,
  CANCELLABLE_ORDER_STATES,
  type CalloutRequestRecord,
  type CalloutResponseRecord,
  type ItemRecord,
  type ItemState,
  isDone,
  type KeptAnswer,
  type OrderState,
  prerequisitesDone,
} from './orchestration';
import { MAX_STEP_OUTPUT_BYTES, type StepRef, type StepTrace } from './procedure';
import {
  type CalloutFailure,
  decideRetry,
  type FailureTarget,
  type RetryRule,
  renewsRequest,
  ruleFor,
} from './retry-rules';
import type { Actor } from './roles';

/**
 * Every decision about an orchestration item, as one pure function: `decide(facts, event)` takes the
 * item as read (with its order, where the event needs it) and what happened, and answers with the write
 * that records the transition and the effects to carry out once it is made. The use cases only load
 * what a decision needs, call it, make the write, and carry out the effects (use-cases/item-driver.ts).
 *
 * Some events need something found out before the item can move on — a condition evaluated, the
 * system's admission, the callout itself, a callback's mapping, the retry rules. The decision then
 * names that `next` step; the use case finds it out and brings it back as the next event. So a work
 * message is a short conversation: arrived → (condition) → (admission) → claim → answer.
 */

/** What one callout or task came to, as its attempt and the item keep it. */
export interface ItemOutcome {
  request?: CalloutRequestRecord;
  response?: CalloutResponseRecord;
  attributes?: Record<string, unknown>;
  /**
   * The attempt this outcome ends, with the request it sent and the response to it: kept in the item's
   * log before its state changes, so what was sent is kept even when the item has moved on meanwhile.
   */
  attempt?: AttemptRecord;
  /** A procedure's steps run since its progress was last kept, with their places: kept in its log too. */
  steps?: { index: number; trace: StepTrace }[];
}

/** What a run of the item came to: done (attributes), failed (error), or accepted until a deadline. */
export interface Answer extends ItemOutcome {
  error?: string;
  /** How a callout failed, for the retry rules. */
  failure?: CalloutFailure;
  /** How long a callout that got no answer took to fail. */
  durationMs?: number;
  /** Its system accepted it and answers on the callback by then (ISO time). */
  awaitingUntil?: string;
  /** Since when it waits, when not since this answer: a polled wait resumed after a hold goes on. */
  awaitingSince?: string;
  /** Accepted by a system that is polled: the status path, and how long until the first poll. */
  poll?: { path: string; delaySeconds: number };
  /** What was accepted is this step of the item's procedure (its id), not the item's own callout. */
  awaitingStep?: string;
}

/** What one callback does to the item waiting for it. */
export type CallbackChange =
  /**
   * An interim update. `overtaken` is set when the attempt's final answer was applied first (a standard
   * queue keeps no order): the update was accepted while the item waited, so it is still recorded in the
   * history, as long as the item is in that state under the same attempt; nothing else changes.
   */
  | {
      kind: 'interim';
      note?: string;
      body: unknown;
      overtaken?: ItemState;
      afterVersion: number;
      /** What the update says it learnt so far: kept on the item until it completes (interimAttributes). */
      attributes?: Record<string, unknown>;
    }
  | { kind: 'completed'; attributes: Record<string, unknown>; body: unknown }
  /**
   * A final failure, or no final answer in time: with `retry` the item is Failed until its next attempt,
   * without it FatallyFailed (fallout). `attempt` is what the attempt came to.
   */
  | {
      kind: 'failed';
      error: string;
      body: unknown;
      retry?: { at: string; retries: number; ruleId: string };
      attempt?: AttemptRecord;
      /** The system refused the request itself: the next attempt is a new request (renewsRequest). */
      newRequest?: true;
    }
  /**
   * The final answer of a procedure's asynchronous step: its output kept as the step's, and the item
   * handed back to be claimed again, which runs the procedure on from the next step. `trace` is the
   * step's line in the procedure's trace.
   */
  | { kind: 'stepCompleted'; step: StepRef; output: unknown; body: unknown; trace: StepTrace };

/** What a callback said, once read (a `completed` one is mapped before it applies). */
export type CallbackAnswer =
  | { status: 'inProgress'; note?: string; body: unknown; attributes?: Record<string, unknown> }
  /**
   * `attributes` absent: not mapped yet (the decision asks for it). `output`: for a procedure's step, what
   * its async-response mapping made of the body (absent: the body is the step's output).
   */
  | { status: 'completed'; body: unknown; attributes?: Record<string, unknown>; output?: unknown }
  /**
   * `failure`: how it failed, for the retry rules — a status poll that got no usable answer; a system's
   * own report of failure when absent.
   */
  | { status: 'failed'; body: unknown; error: string; failure?: CalloutFailure }
  /** A completed answer its mapping could not use. */
  | { status: 'unusable'; body: unknown; error: string };

/** What the system of a callout said about taking it now. */
export type Gate =
  | { kind: 'go' }
  /** On its system's waiting list for a connection slot: the callout that frees one wakes it. */
  | { kind: 'waiting' }
  /** Its turn under the rate is further off than a worker waits: ask again later. */
  | { kind: 'later'; delaySeconds: number }
  /** Its system or interface is not configured: it cannot run. */
  | { kind: 'unconfigured'; error: string };

/** An operator's action on an item. */
export type OperatorAction =
  | { action: 'retry'; by: Actor; reason: string }
  | { action: 'skip'; by: Actor; note: string; pastPointOfNoReturn?: string }
  | { action: 'fail'; by: Actor; reason: string }
  | { action: 'complete'; by: Actor; attributes: Record<string, unknown> }
  /** Gives up on a running attempt; the retry rules of its system decide, as for a failed callout. */
  | ({ action: 'abort'; by: Actor; reason: string } & Retryable);

/** Where a failed attempt went, and the operators' rules (read only when an attempt failed). */
interface Retryable {
  /** The system and interface the attempt went to: its failure goes to their retry rules. */
  target?: FailureTarget;
  /** The rules, once read: a decision that needs them and has none asks for them (`next: 'retryRules'`). */
  rules?: readonly RetryRule[];
}

/**
 * What can happen to an item. `deliveryId` is the work message (across its redeliveries) that runs it.
 *
 * - `arrived`: a work message about it — its plan's dispatch, a start, its retry due, a release, a
 *   redelivery;
 * - `conditionEvaluated`, `admitted`, `answered`: what the steps a decision asked for found out;
 * - `held`: its system or interface is away (found at admission, by the circuit breaker during the
 *   callout, or at a procedure's HTTP step);
 * - `unrunnable`: it cannot run at all (no system configured, a condition that cannot be evaluated);
 * - `callback` and `deadline`: an asynchronous callout's answer, or the end of the wait for it;
 * - `operator`: an operator's retry, skip, fail, or completion of a manual task;
 * - `runEnded`: the plan execution that waits for it failed, timed out or was stopped.
 */
export type LifecycleEvent =
  | { kind: 'arrived'; deliveryId: string; releaseId?: string }
  | { kind: 'conditionEvaluated'; deliveryId: string; applies: boolean | string }
  | { kind: 'admitted'; deliveryId: string; gate: Gate; releaseId?: string }
  | { kind: 'held'; deliveryId: string; hold: Omit<HoldInfo, 'since'>; releaseId?: string }
  | { kind: 'unrunnable'; deliveryId: string; reason: string; error: string }
  | ({ kind: 'answered'; deliveryId: string; outcome: Answer } & Retryable)
  | ({ kind: 'callback'; callbackId: string; nonce: string; answer: CallbackAnswer } & Retryable & Awaited)
  | ({ kind: 'deadline'; nonce: string; dueAt: string } & Retryable & Awaited)
  | ({ kind: 'operator' } & OperatorAction)
  | { kind: 'runEnded'; run: EndedRun };

/**
 * What a callback or a deadline is about when the item runs a procedure: the asynchronous step it waits
 * on (catalog.ts: awaitedCallOf). A callback to a procedure's item without one is for no step, and
 * changes nothing.
 */
interface Awaited {
  step?: StepRef;
}

/** A plan execution that ended without finishing its items, as Step Functions announced it. */
export interface EndedRun {
  executionName: string;
  status: 'FAILED' | 'TIMED_OUT' | 'ABORTED';
  /** Step Functions' error and cause, as one line (empty when it gave none). */
  cause: string;
}

/** What a decision is taken from besides the event: the item as read, its order, and the time. */
export interface ItemFacts {
  item: ItemRecord;
  /** Its order's state, done set and holds (read with the item by the worker and the operator actions). */
  order?: { state: OrderState; done: readonly string[]; holds?: readonly string[] };
  /**
   * What its plan says of it: the condition it runs under, a manual task's instructions, whether it is a
   * point of no return.
   */
  planned?: { condition?: string; instructions?: string; pointOfNoReturn?: boolean };
  now: Date;
}

/** The one conditional write that records a transition; the store refuses it when the item moved meanwhile. */
export type Write =
  /** `leaseUntil`: how long the worker holds it (absent for a manual task, which waits for an operator). */
  | {
      kind: 'claim';
      attemptId: string;
      reason: string;
      leaseUntil?: string;
      nonce: string;
      /** Made only while the order is in one of these states (a point of no return's claim). */
      guardOrder?: readonly OrderState[];
    }
  | { kind: 'hold'; attemptId: string; hold: HoldInfo }
  | { kind: 'skip'; attemptId: string; reason: string }
  | {
      kind: 'await';
      attemptId: string;
      outcome: ItemOutcome;
      awaiting: Awaiting;
    }
  | { kind: 'complete'; attemptId: string; outcome: ItemOutcome }
  | {
      kind: 'retryLater';
      attemptId: string;
      outcome: ItemOutcome & { attempt: AttemptRecord };
      retry: { at: string; retries: number; error: string };
      /** The system refused the request itself: the next attempt is a new request (renewsRequest). */
      newRequest?: true;
    }
  | { kind: 'fail'; attemptId: string; error: string; outcome: ItemOutcome; newRequest?: true }
  /** `nonce`: of the URL it came on, under which the log keeps it. */
  | { kind: 'callback'; attemptId: string; callbackId: string; change: CallbackChange; nonce: string }
  /** A final answer to the item's current request that came while no attempt waited: kept for the next. */
  | { kind: 'keepAnswer'; answer: KeptAnswer; body: unknown }
  /** A frozen item's final answer on its callback URL: kept, applied to nothing (cancellation.ts). */
  | {
      kind: 'lateAnswer';
      nonce: string;
      callbackId: string;
      acted: boolean;
      body: unknown;
      attributes?: Record<string, unknown>;
    }
  | { kind: 'manualComplete'; by: Actor; attributes: Record<string, unknown> }
  | { kind: 'operatorRetry'; by: Actor; reason: string }
  | { kind: 'operatorSkip'; by: Actor; note: string }
  | { kind: 'operatorFail'; by: Actor; reason: string }
  /** Its plan run ended while it was under way: fallout, with `error` saying which run and how. */
  | { kind: 'runEnded'; error: string }
  | {
      kind: 'operatorAbort';
      by: Actor;
      /** What the history and the fallout list say: who aborted it, and why. */
      error: string;
      attempt: AttemptRecord;
      /** Its next attempt, when the retry rules give one; fallout otherwise. */
      retry?: { at: string; retries: number };
    };

/** What a transition sets going; each is safe to carry out twice (a replay does). */
export type Effect =
  /** The item is done: its attributes into the context, counted done, its plan answered, dependents started. */
  | { kind: 'finish'; state?: 'Completed' | 'Skipped'; attributes?: Record<string, unknown> }
  /** Its order waits for an operator (fallout) or a system (On Hold); `error` is logged. */
  | { kind: 'holdOrder'; error?: string }
  | { kind: 'releaseOrderHold' }
  /** The order's first item started: acknowledged → inProgress. */
  | { kind: 'orderInProgress' }
  /** An operator failed the order: it is failed, and every plan wait for this item fails. */
  | { kind: 'failOrder'; by: Actor; reason: string }
  | { kind: 'sendRetry'; at: string }
  | { kind: 'sendDeadline'; nonce: string; dueAt: string }
  /** The next status poll of a polled wait: of the attempt that waits, after a delay (polls.ts). */
  | { kind: 'sendPoll'; nonce: string; attemptId: string; delaySeconds: number; count: number }
  /** A work message that starts the item (again): now, after a delay, under the attempt that holds it. */
  | { kind: 'sendStart'; delaySeconds?: number; attemptId?: string; releaseId?: string }
  /** A release found its system away again: the item stays held, free for the next release. */
  | { kind: 'clearReleaseStamp'; releaseId: string }
  /**
   * After a hold is written, the system is read again: one that came back meanwhile is seen here or its
   * release sees the hold, so the item is never left held with its system up.
   */
  | { kind: 'recheckHold' }
  | { kind: 'log'; level: 'info' | 'warn'; message: string }
  /**
   * The answer of a call whose item was frozen meanwhile (the write of its outcome was refused): kept
   * on the item as its late answer, if it is frozen under this delivery, and its cancellation moved on.
   */
  | { kind: 'lateAnswer'; deliveryId: string; acted: boolean; attributes?: Record<string, unknown> }
  /** The item's order is being cancelled, and this changes what its cancellation does next. */
  | { kind: 'moveCancellation' };

/** What the use case finds out next, and brings back as the next event. */
export type Step = 'evaluateCondition' | 'admit' | 'perform' | 'mapAnswer' | 'retryRules';

export interface Decision {
  /** The event does not apply to the item as it is: nothing is written (an operator gets 409 with it). */
  refusal?: string;
  /** The event changes nothing, and why (a callback's result). */
  ignored?: 'duplicate' | 'not-waiting';
  /** Why nothing is done, when nothing is. */
  because?: string;
  /** Carried out before the write (a hold holds its order first: see `held`). */
  before?: readonly Effect[];
  write?: Write;
  /** Carried out once the write is made, or at once when there is none. */
  effects: readonly Effect[];
  /** When the store refuses the write (the item moved meanwhile): what to do, and what to say. */
  whenRefused?: { effects?: readonly Effect[]; refusal?: string; ignored?: Decision['ignored'] };
  /** After the write is made: the step to take next. */
  next?: Step;
  /** After the write is made: the event that follows at once (an item claimed only to fail). */
  follows?: LifecycleEvent;
}

const nothing: Decision = { effects: [] };

export function decide(facts: ItemFacts, event: LifecycleEvent): Decision {
  switch (event.kind) {
    case 'arrived':
      return arrived(facts, event);
    case 'conditionEvaluated':
      return conditionEvaluated(facts, event);
    case 'admitted':
      return admitted(facts, event);
    case 'held':
      return held(facts, event);
    case 'unrunnable':
      return unrunnable(facts, event.deliveryId, event.reason, event.error);
    case 'answered':
      return answered(facts, event);
    case 'callback':
      return callback(facts, event);
    case 'deadline':
      return deadline(facts, event);
    case 'operator':
      return operator(facts, event);
    case 'runEnded':
      return runEnded(facts, event.run);
  }
}

const RUN_ENDINGS: Record<EndedRun['status'], string> = {
  FAILED: 'failed',
  TIMED_OUT: 'timed out',
  ABORTED: 'was stopped',
};

/**
 * The plan execution that waits for the item ended abnormally. An item under way (running, held,
 * waiting for a retry, or ready to start) or never dispatched goes to fallout, where an operator retries
 * it (the worker runs it without its plan: finishing answers a task token no one waits for), skips it or
 * fails the order; one that waits for its prerequisites starts when they are done, as before. Nothing
 * for an item that is done or in fallout already, or of an order that ended.
 */
function runEnded(facts: ItemFacts, run: EndedRun): Decision {
  const { item, order } = facts;
  if (!order) return { ...nothing, refusal: 'a run that ended is decided with its order' };
  // A cancelled order's runs are stopped by its cancellation, which has ended its items itself.
  if (['failed', 'completed', 'pendingCancellation', 'cancelled'].includes(order.state))
    return { ...nothing, because: `its order is ${order.state}` };
  if (isDone(item) || item.state === 'FatallyFailed')
    return { ...nothing, because: `the item is ${item.state} already` };
  const dispatched = (item.taskTokens?.length ?? 0) > 0;
  if (item.state === 'Pending' && dispatched && !prerequisitesDone(item, order.done))
    return { ...nothing, because: 'it waits for its prerequisites, which start it' };
  if ('refused' in transition(item.state, 'runEnded', false))
    return { ...nothing, because: `the item is ${item.state}` };
  const how = RUN_ENDINGS[run.status];
  const error = `its plan run ${run.executionName} ${how}${run.cause ? `: ${run.cause}` : ''}`;
  return {
    write: { kind: 'runEnded', error },
    effects: [{ kind: 'holdOrder', error }],
    whenRefused: { effects: [], ignored: 'not-waiting' },
  };
}

/**
 * The item as a write that was made leaves it: what the store records, for the decisions that follow in
 * the same message (and for the tests, which run the lifecycle against it).
 */
export function evolve(item: ItemRecord, write: Write, at: string): ItemRecord {
  if (write.kind === 'keepAnswer') return { ...item, keptAnswer: write.answer };
  if (write.kind === 'lateAnswer')
    return {
      ...item,
      lateAnswer: write.acted ? 'acted' : 'notActed',
      ...(write.attributes ? { outputAttributes: write.attributes } : {}),
      version: (item.version ?? 0) + 1,
      updatedAt: at,
    };
  const event = eventOf(write);
  if (!event) return item;
  // Only a claim leaves a worker holding the item; every other transition ends its hold.
  const { nextAttemptAt: _next, leaseUntil: _lease, ...rest } = item;
  const moved: ItemRecord = {
    ...rest,
    state: LIFECYCLE[event].to,
    version: (item.version ?? 0) + 1,
    updatedAt: at,
  };
  const counted = (outcome: ItemOutcome) => (outcome.attempt ? { attemptCount: outcome.attempt.number } : {});
  switch (write.kind) {
    case 'claim': {
      const { error: _error, ...claimed } = moved;
      const lease = write.leaseUntil ? { leaseUntil: write.leaseUntil } : {};
      return {
        ...claimed,
        ...lease,
        attemptId: write.attemptId,
        callbackNonce: write.nonce,
        startedAt: item.startedAt ?? at,
      };
    }
    case 'hold': {
      // The request stays the same (callbackNonce with it): the system may have had it already.
      const { attemptId: _attempt, ...held } = moved;
      return { ...held, hold: write.hold };
    }
    case 'skip':
    case 'operatorSkip':
      return { ...moved, completedAt: at };
    case 'await':
      return { ...moved, awaiting: write.awaiting, ...counted(write.outcome) };
    case 'complete':
      return {
        ...moved,
        completedAt: at,
        ...counted(write.outcome),
        ...(write.outcome.attributes ? { outputAttributes: write.outcome.attributes } : {}),
      };
    case 'retryLater': {
      const { awaiting: _awaiting, ...failed } = renewed(moved, write.newRequest);
      const { at: nextAttemptAt, retries, error } = write.retry;
      return { ...failed, nextAttemptAt, retries, error, ...counted(write.outcome) };
    }
    case 'fail':
      return { ...renewed(moved, write.newRequest), error: write.error, ...counted(write.outcome) };
    case 'callback': {
      const { change } = write;
      if (change.kind === 'stepCompleted') {
        // No attempt holds it and no URL is waited on: the next claim runs the procedure on.
        const {
          attemptId: _attempt,
          awaiting: _awaiting,
          callbackNonce: _nonce,
          interimAttributes: _learnt,
          ...resumed
        } = moved;
        const progress = item.procedure ?? { next: 0, steps: {}, vars: {} };
        return {
          ...resumed,
          finishedBy: write.callbackId,
          procedure: {
            ...progress,
            next: change.step.index + 1,
            steps: { ...progress.steps, [change.step.id]: change.output },
          },
        };
      }
      const finished = { ...moved, finishedBy: write.callbackId };
      if (change.kind === 'completed')
        return { ...finished, completedAt: at, outputAttributes: change.attributes };
      if (change.kind !== 'failed') return finished;
      const attempts = change.attempt ? { attemptCount: change.attempt.number } : {};
      const next = renewed(finished, change.newRequest);
      if (!change.retry) return { ...next, error: change.error, ...attempts };
      const { awaiting: _awaiting, ...failed } = next;
      const { at: nextAttemptAt, retries } = change.retry;
      return { ...failed, error: change.error, nextAttemptAt, retries, ...attempts };
    }
    case 'manualComplete':
      return { ...moved, completedAt: at, completedBy: write.by, outputAttributes: write.attributes };
    case 'operatorRetry': {
      const { attemptId: _attempt, awaiting: _awaiting, error: _error, ...retried } = moved;
      return { ...retried, retries: 0 };
    }
    case 'operatorFail':
      return moved;
    case 'runEnded': {
      const { awaiting: _awaiting, ...ended } = moved;
      return { ...ended, error: write.error };
    }
    case 'operatorAbort': {
      const { awaiting: _awaiting, ...aborted } = moved;
      const attempts = { attemptCount: write.attempt.number, error: write.error };
      return write.retry
        ? { ...aborted, ...attempts, nextAttemptAt: write.retry.at, retries: write.retry.retries }
        : { ...aborted, ...attempts };
    }
  }
}

/**
 * The item after an attempt the system refused (renewsRequest): its next attempt is a new
 * request, with the next generation's key and a new callback URL; an answer kept for the old is void.
 */
function renewed(item: ItemRecord, newRequest: true | undefined): ItemRecord {
  if (!newRequest) return item;
  const { callbackNonce: _nonce, keptAnswer: _kept, interimAttributes: _learnt, ...rest } = item;
  return { ...rest, requestGeneration: (item.requestGeneration ?? 0) + 1 };
}

/** The lifecycle event a write makes; undefined for one that moves nothing (an interim update, a kept answer). */
export function eventOf(write: Write): ItemEvent | undefined {
  switch (write.kind) {
    case 'keepAnswer':
      return undefined;
    case 'claim':
      return 'start';
    case 'callback':
      if (write.change.kind === 'interim') return undefined;
      if (write.change.kind === 'completed') return 'complete';
      if (write.change.kind === 'stepCompleted') return 'resume';
      return write.change.retry ? 'retryLater' : 'fail';
    case 'operatorAbort':
      return write.retry ? 'operatorAbort' : 'operatorAbortToFallout';
    default:
      return write.kind;
  }
}

function arrived(facts: ItemFacts, event: Extract<LifecycleEvent, { kind: 'arrived' }>): Decision {
  const { item, order, now } = facts;
  if (!order) return { ...nothing, refusal: 'an arrival is decided with its order' };
  const arrival = onArrival(item, order, event.deliveryId, now);
  switch (arrival.kind) {
    case 'replay':
      return { effects: [{ kind: 'finish' }] };
    case 'holdOrder':
      return { effects: [{ kind: 'holdOrder' }] };
    case 'notYet':
      // A wait longer than SQS's 15 minutes hops.
      return { effects: [{ kind: 'sendRetry', at: arrival.dueAt }] };
    case 'awaitCallback': {
      const nonce = nonceOf(item) ?? callbackNonce(event.deliveryId);
      // Its first delivery may have died before it sent the first poll: polling again now does no harm.
      const poll: Effect[] =
        item.awaiting?.poll && item.attemptId
          ? [{ kind: 'sendPoll', nonce, attemptId: item.attemptId, delaySeconds: 0, count: 0 }]
          : [];
      return { effects: [{ kind: 'sendDeadline', nonce, dueAt: arrival.deadline }, ...poll] };
    }
    case 'orderFailed':
      return { effects: [{ kind: 'log', level: 'info', message: 'item of a failed order not started' }] };
    case 'ignore':
      return { effects: [], because: arrival.why };
    case 'run':
      // Evaluated again on a redelivery too: a worker may have died between claiming and failing it.
      if (facts.planned?.condition !== undefined) return { effects: [], next: 'evaluateCondition' };
      return proceed(facts, event.deliveryId);
  }
}

function conditionEvaluated(
  facts: ItemFacts,
  event: Extract<LifecycleEvent, { kind: 'conditionEvaluated' }>,
): Decision {
  const { deliveryId, applies } = event;
  if (typeof applies === 'string')
    return unrunnable(facts, deliveryId, 'prerequisites done; condition evaluated', applies);
  if (applies) return proceed(facts, deliveryId);
  return guarded(facts, 'skip', deliveryId, {
    write: { kind: 'skip', attemptId: deliveryId, reason: `condition is false: ${facts.planned?.condition}` },
    effects: [{ kind: 'finish', state: 'Skipped' }],
  });
}

/** A runnable item whose condition holds: a callout asks its system first, anything else is claimed. */
function proceed(facts: ItemFacts, deliveryId: string): Decision {
  if (facts.item.type === 'callout') return { effects: [], next: 'admit' };
  return claim(facts, deliveryId);
}

function admitted(facts: ItemFacts, event: Extract<LifecycleEvent, { kind: 'admitted' }>): Decision {
  const { item } = facts;
  const { gate, deliveryId, releaseId } = event;
  switch (gate.kind) {
    case 'go':
      return claim(facts, deliveryId);
    case 'waiting':
      return { effects: [], because: "on its system's waiting list for a connection slot" };
    case 'later':
      return {
        effects: [
          {
            kind: 'sendStart',
            delaySeconds: gate.delaySeconds,
            // A delivery that already holds the item (a redelivery) hands its attempt on with the message.
            ...(item.state === 'Running' ? { attemptId: deliveryId } : {}),
            ...(releaseId ? { releaseId } : {}),
          },
        ],
      };
    case 'unconfigured':
      return unrunnable(facts, deliveryId, 'prerequisites done; started', gate.error);
  }
}

/**
 * Pending, held or Failed → Running for this delivery. A released item lets its order go (also on a
 * redelivery, should the first one have died after the claim); the order's first item moves it on. A
 * manual task then waits for an operator; anything else runs.
 */
function claim(facts: ItemFacts, deliveryId: string): Decision {
  const { item, order, planned, now } = facts;
  const manual = item.type === 'manualTask';
  const takeover = item.state === 'Running' && item.attemptId !== deliveryId && leaseExpired(item, now);
  const reason = takeover
    ? `its worker's lease ran out at ${item.leaseUntil} (the worker is gone); taken over and started again`
    : manual
      ? `prerequisites done; waiting for an operator${planned?.instructions ? `: ${planned.instructions}` : ''}`
      : item.state === 'OnHold'
        ? `released: ${item.hold?.systemId ? `system "${item.hold.systemId}" is available again` : 'available again'}; started`
        : item.state === 'Failed'
          ? `retry ${item.retries ?? 0} due; started`
          : item.procedure?.next
            ? `started again; its procedure goes on at step ${item.procedure.next + 1}`
            : 'prerequisites done; started';
  const effects: Effect[] = [];
  if (item.state === 'OnHold' || order?.holds?.includes(item.key)) effects.push({ kind: 'releaseOrderHold' });
  if (order?.state === 'acknowledged') effects.push({ kind: 'orderInProgress' });
  // A worker holds what it runs for a lease it renews; a manual task waits for an operator, unheld.
  const lease = manual ? {} : { leaseUntil: new Date(now.getTime() + LEASE_SECONDS * 1000).toISOString() };
  // The same request, with the same callback URL, until its system refuses it (renewsRequest): a
  // takeover, a release or a retry after a timeout may reach a system that had the request already,
  // and that replays its first answer to it.
  const nonce = item.callbackNonce ?? callbackNonce(deliveryId);
  // A point of no return is passed once it starts: it starts only while the order may still be
  // cancelled, so no cancellation assessed meanwhile misses it (cancellation.ts).
  const guard = planned?.pointOfNoReturn ? { guardOrder: CANCELLABLE_ORDER_STATES } : {};
  return guarded(facts, 'start', deliveryId, {
    write: { kind: 'claim', attemptId: deliveryId, reason, nonce, ...lease, ...guard },
    effects,
    ...(manual ? {} : { next: 'perform' as const }),
  });
}

/** Claims the item only to fail it: it cannot run (fallout, where an operator sees why). */
function unrunnable(facts: ItemFacts, deliveryId: string, reason: string, error: string): Decision {
  const nonce = facts.item.callbackNonce ?? callbackNonce(deliveryId);
  return guarded(facts, 'start', deliveryId, {
    write: { kind: 'claim', attemptId: deliveryId, reason, nonce },
    effects: [],
    follows: { kind: 'answered', deliveryId, outcome: { error } },
  });
}

/**
 * Its system or interface is away: On Hold, no request sent, nothing of its attempts used. The order is
 * held before the item is: a release that takes the item after this can only find the order held, and
 * its claim lets the order go (held the other way round, a release in between would leave the order
 * held for an item already running). An item held already (a release found its system away again)
 * stays held, free for the next release.
 */
function held(facts: ItemFacts, event: Extract<LifecycleEvent, { kind: 'held' }>): Decision {
  const { item, now } = facts;
  if (item.state === 'OnHold') {
    return {
      before: [{ kind: 'holdOrder' }],
      effects: [
        ...(event.releaseId ? [{ kind: 'clearReleaseStamp' as const, releaseId: event.releaseId }] : []),
        { kind: 'recheckHold' },
      ],
    };
  }
  const decision = guarded(facts, 'hold', event.deliveryId, {
    before: [{ kind: 'holdOrder' }],
    write: { kind: 'hold', attemptId: event.deliveryId, hold: { ...event.hold, since: now.toISOString() } },
    effects: [
      { kind: 'log', level: 'info', message: `callout on hold: ${event.hold.reason}` },
      { kind: 'recheckHold' },
    ],
    whenRefused: { effects: [{ kind: 'recheckHold' }] },
  });
  return decision;
}

/** A claimed item's run came to an answer: it completes, waits for its callback, is retried, or falls out. */
function answered(facts: ItemFacts, event: Extract<LifecycleEvent, { kind: 'answered' }>): Decision {
  const { item, now } = facts;
  const { deliveryId, outcome, target } = event;
  if (item.state !== 'Running' || item.attemptId !== deliveryId)
    return { ...nothing, refusal: 'the item does not run under this attempt' };
  if (outcome.error !== undefined) {
    if (!target) {
      return {
        write: { kind: 'fail', attemptId: deliveryId, error: outcome.error, outcome: outcomeOf(outcome) },
        effects: [{ kind: 'holdOrder', error: outcome.error }],
        whenRefused: frozenMeanwhile(deliveryId, false),
      };
    }
    if (!event.rules) return { effects: [], next: 'retryRules' };
    const failure = outcome.failure ?? { kind: 'unusable' };
    const verdict = failureVerdict(event.rules, target, failure, item, now, outcome.error);
    const kept = { ...outcomeOf(outcome), attempt: attemptOf(item, outcome, verdict.recorded, now) };
    const renew = renewsRequest(failure) ? { newRequest: true as const } : {};
    if (!verdict.retry) {
      const write: Write = {
        kind: 'fail',
        attemptId: deliveryId,
        error: verdict.error,
        outcome: kept,
        ...renew,
      };
      return { write, effects: verdict.effects, whenRefused: frozenMeanwhile(deliveryId, false) };
    }
    const { at, retries } = verdict.retry;
    return {
      write: {
        kind: 'retryLater',
        attemptId: deliveryId,
        outcome: kept,
        retry: { at, retries, error: verdict.error },
        ...renew,
      },
      effects: verdict.effects,
      whenRefused: frozenMeanwhile(deliveryId, false),
    };
  }
  if (outcome.awaitingUntil !== undefined) {
    // The wait starts when the system accepted the callout; its deadline is counted from then.
    const since = outcome.awaitingSince ?? outcome.response?.receivedAt ?? now.toISOString();
    const { poll } = outcome;
    const awaiting: Awaiting = {
      since,
      deadline: outcome.awaitingUntil,
      ...(poll ? { poll: { path: poll.path } } : {}),
      ...(outcome.awaitingStep !== undefined ? { step: outcome.awaitingStep } : {}),
    };
    const attempt = attemptOf(item, outcome, { kind: 'accepted', until: awaiting.deadline }, now);
    const nonce = nonceOf(item) ?? callbackNonce(deliveryId);
    return {
      // Refused when its callback came before this answer and finished the item: what was sent is kept
      // all the same (the store keeps the attempt before it writes the wait).
      write: { kind: 'await', attemptId: deliveryId, outcome: { ...outcomeOf(outcome), attempt }, awaiting },
      effects: [
        { kind: 'sendDeadline', nonce, dueAt: awaiting.deadline },
        ...(poll
          ? [
              {
                kind: 'sendPoll' as const,
                nonce,
                attemptId: deliveryId,
                delaySeconds: poll.delaySeconds,
                count: 0,
              },
            ]
          : []),
      ],
    };
  }
  const attempt = target ? { attempt: attemptOf(item, outcome, { kind: 'completed' }, now) } : {};
  return {
    write: { kind: 'complete', attemptId: deliveryId, outcome: { ...outcomeOf(outcome), ...attempt } },
    effects: [
      {
        kind: 'finish',
        state: 'Completed',
        ...(outcome.attributes ? { attributes: outcome.attributes } : {}),
      },
    ],
    whenRefused: frozenMeanwhile(deliveryId, true, outcome.attributes),
  };
}

/**
 * When an answer's write is refused: the item may have been frozen by its order's cancellation while
 * the call was out. Its answer is then its late answer (`acted`: it says the system acted).
 */
const frozenMeanwhile = (
  deliveryId: string,
  acted: boolean,
  attributes?: Record<string, unknown>,
): Decision['whenRefused'] => ({
  effects: [{ kind: 'lateAnswer', deliveryId, acted, ...(attributes ? { attributes } : {}) }],
});

/**
 * A callback, applied exactly once: an interim update goes to the item's history (one overtaken by its
 * attempt's final answer still does, marked so); a final answer applies only while the item waits under
 * the attempt that issued the URL — `completed` once mapped, `failed` (or unusable) to the retry rules.
 * One applied before is a duplicate, and what it started is done again (its worker may have died).
 */
function callback(facts: ItemFacts, event: Extract<LifecycleEvent, { kind: 'callback' }>): Decision {
  const { item, now } = facts;
  const { answer, nonce, callbackId } = event;
  if (item.finishedBy === callbackId) return { ignored: 'duplicate', effects: replayOfFinal(item) };
  if (item.state === 'Frozen') return lateCallback(item, event);
  // An interim update may come after the final answer of its attempt (the queue keeps no order).
  const overtaken = answer.status === 'inProgress' ? finishedAttemptState(item, nonce) : undefined;
  if (!item.attemptId || !(waitsUnder(item, nonce) || overtaken)) {
    // A final answer to the request the item's next attempt repeats (it was held, or is between
    // retries): kept, and taken by that attempt instead of asking a system that would only replay.
    if (answer.status !== 'inProgress' && keepsAnswerFor(item, nonce))
      return {
        write: {
          kind: 'keepAnswer',
          answer: { nonce, callbackId, receivedAt: now.toISOString() },
          body: answer.body,
        },
        effects: [],
      };
    return {
      ignored: 'not-waiting',
      effects: [
        {
          kind: 'log',
          level: 'warn',
          message: `callback for an item ${item.state} that no longer waits for it changed nothing`,
        },
      ],
    };
  }
  // A procedure's item waits at one of its steps, never as a callout: an answer for no step it waits at
  // (a URL of a step it has moved past) changes nothing.
  const { step } = event;
  if (item.procedure !== undefined && (!step || item.procedure.next !== step.index))
    return {
      ignored: 'not-waiting',
      effects: [
        {
          kind: 'log',
          level: 'warn',
          message: 'callback for a procedure step the item does not wait at changed nothing',
        },
      ],
    };
  const write = (change: CallbackChange): Write => ({
    kind: 'callback',
    attemptId: item.attemptId as string,
    callbackId,
    change,
    nonce,
  });
  switch (answer.status) {
    case 'inProgress':
      return {
        write: write({
          kind: 'interim',
          ...(answer.note ? { note: answer.note } : {}),
          body: answer.body,
          ...(overtaken ? { overtaken } : {}),
          afterVersion: item.version ?? 0,
          // Learnt while it still waits; an update overtaken by its final answer has nothing to add to.
          ...(answer.attributes && !overtaken ? { attributes: answer.attributes } : {}),
        }),
        effects: [],
        // Kept before, under its id.
        whenRefused: { ignored: 'duplicate' },
      };
    case 'completed': {
      if (!answer.attributes) return { effects: [], next: 'mapAnswer' };
      if (step) return stepCompleted(facts, event, step, write);
      // What interim updates said comes first: the final answer's attributes win where both name one.
      const attributes = { ...item.interimAttributes, ...answer.attributes };
      return {
        write: write({ kind: 'completed', attributes, body: answer.body }),
        effects: [{ kind: 'finish', state: 'Completed', attributes }],
        whenRefused: { ignored: 'not-waiting' },
      };
    }
    case 'failed':
    case 'unusable': {
      const failure: CalloutFailure =
        answer.status === 'failed' ? (answer.failure ?? { kind: 'failedAnswer' }) : { kind: 'unusable' };
      if (event.target && !event.rules) return { effects: [], next: 'retryRules' };
      const error = `${stepPrefix(step)}${answer.error}`;
      const change = failedChange(item, event, failure, error, answer.body, now);
      return { write: write(change), effects: afterFailure(change), whenRefused: { ignored: 'not-waiting' } };
    }
  }
}

/** How an error of a procedure's step begins, naming the procedure and the step (nothing for a callout). */
const stepPrefix = (step: StepRef | undefined) =>
  step ? `procedure "${step.procedure}" step "${step.id}": ` : '';

/**
 * The final `completed` answer of a procedure's asynchronous step: the step's output (the answer through
 * its interface's async-response mapping, or the answer itself) is kept in the procedure's progress, and
 * the item waits Pending to be claimed again — by the start this sends, or any other message, whichever
 * claims first — which runs the procedure on from the next step. The callback URL goes with the wait:
 * no answer on it applies to a later step. An output larger than a step may keep cannot be used.
 */
function stepCompleted(
  facts: ItemFacts,
  event: Extract<LifecycleEvent, { kind: 'callback' }>,
  step: StepRef,
  write: (change: CallbackChange) => Write,
): Decision {
  const { item, now } = facts;
  const { answer } = event;
  if (answer.status !== 'completed') return nothing;
  const output = answer.output !== undefined ? answer.output : answer.body;
  const size = new TextEncoder().encode(JSON.stringify(output) ?? '').length;
  if (size > MAX_STEP_OUTPUT_BYTES) {
    if (event.target && !event.rules) return { effects: [], next: 'retryRules' };
    const error = `${stepPrefix(step)}its answer gives ${size} bytes, more than a step may keep (${MAX_STEP_OUTPUT_BYTES})`;
    const change = failedChange(item, event, { kind: 'unusable' }, error, answer.body, now);
    return { write: write(change), effects: afterFailure(change), whenRefused: { ignored: 'not-waiting' } };
  }
  const since = item.awaiting?.since ?? now.toISOString();
  const trace: StepTrace = {
    step: step.id,
    type: 'http',
    output,
    startedAt: since,
    ms: Math.max(0, now.getTime() - Date.parse(since)),
  };
  return {
    write: write({ kind: 'stepCompleted', step, output, body: answer.body, trace }),
    effects: [{ kind: 'sendStart' }],
    whenRefused: { ignored: 'not-waiting' },
  };
}

/**
 * The end of the wait for a callback: if the wait it guards still waits and its time has come, no final
 * answer arrived in time and the attempt failed (to the retry rules). Not yet due, it waits on.
 */
function deadline(facts: ItemFacts, event: Extract<LifecycleEvent, { kind: 'deadline' }>): Decision {
  const { item, now } = facts;
  const { nonce, dueAt } = event;
  // Attempts of one request share its callback URL's nonce: the deadline is the attempt's own.
  const id = `deadline:${nonce}:${dueAt}`;
  // This deadline failed the item; a worker may have died before what follows: do it again.
  if (item.finishedBy === id) {
    const effects = replayOfFinal(item).filter((e) => e.kind !== 'finish');
    return { effects, because: 'this deadline ended the wait before' };
  }
  if (!item.attemptId || !waitsUnder(item, nonce) || (item.awaiting && item.awaiting.deadline !== dueAt))
    return { effects: [], because: 'the wait this deadline guards is over' };
  if (now.getTime() < Date.parse(dueAt)) return { effects: [{ kind: 'sendDeadline', nonce, dueAt }] };
  if (event.target && !event.rules) return { effects: [], next: 'retryRules' };
  const since = item.awaiting?.since ?? dueAt;
  const seconds = Math.round((Date.parse(dueAt) - Date.parse(since)) / 1000);
  const error = `${stepPrefix(event.step)}no final answer on the callback within ${seconds} s of the system accepting the callout`;
  const change = failedChange(item, event, { kind: 'timeout' }, error, null, now);
  return {
    write: { kind: 'callback', attemptId: item.attemptId, callbackId: id, change, nonce },
    effects: afterFailure(change),
  };
}

/** The refusal an operator reads (409), naming the item. */
const refusedFor = (item: ItemRecord, why: string) => `item "${item.orderId}.${item.key}" ${why}`;

/**
 * An operator's action. Retry, skip and fail act on an item waiting for an operator (fallout, a retry
 * due, On Hold for a skip) of an order still in progress; they hand the item back to the worker, which
 * runs or finishes it. Completing a manual task acts on one waiting Running for an operator.
 */
function operator(facts: ItemFacts, event: Extract<LifecycleEvent, { kind: 'operator' }>): Decision {
  const { item, order } = facts;
  if (event.action === 'complete') return completeManual(facts, event);
  if (order && (order.state === 'failed' || order.state === 'completed'))
    return {
      ...nothing,
      refusal: `the order of item "${item.orderId}.${item.key}" is ${order.state}; its items take no more actions`,
    };
  const handBack: Effect[] = [{ kind: 'releaseOrderHold' }, { kind: 'sendStart' }];
  switch (event.action) {
    case 'retry':
      return byOperator(item, 'operatorRetry', {
        write: { kind: 'operatorRetry', by: event.by, reason: event.reason },
        effects: handBack,
      });
    case 'skip':
      if (event.pastPointOfNoReturn)
        return { ...nothing, refusal: refusedFor(item, `cannot be skipped: ${event.pastPointOfNoReturn}`) };
      return byOperator(item, 'operatorSkip', {
        write: { kind: 'operatorSkip', by: event.by, note: event.note },
        effects: handBack,
      });
    case 'fail':
      return byOperator(item, 'operatorFail', {
        write: { kind: 'operatorFail', by: event.by, reason: event.reason },
        effects: [{ kind: 'failOrder', by: event.by, reason: event.reason }],
      });
    case 'abort':
      return abort(facts, event);
  }
}

/**
 * An operator gives up on a Running attempt (its system will not answer, its worker hangs): the attempt
 * ends as one that got no answer, and the retry rules of its system decide, exactly as for a failed
 * callout — Failed until its next attempt, or fallout. A worker still running it can change nothing
 * after this (its writes need the item Running under its attempt); a late callback is not applied.
 */
function abort(facts: ItemFacts, event: Extract<OperatorAction, { action: 'abort' }>): Decision {
  const { item, now } = facts;
  if (item.type === 'manualTask')
    return {
      ...nothing,
      refusal: refusedFor(item, 'is a manual task: an operator completes it, or fails its order'),
    };
  const refused = byOperator(item, 'operatorAbort', nothing);
  if (refused.refusal !== undefined) return refused;
  if (event.target && !event.rules) return { effects: [], next: 'retryRules' };
  const error = `aborted by ${event.by.name} (${event.by.id}): ${event.reason}`;
  const verdict = failureVerdict(event.rules ?? [], event.target, { kind: 'timeout' }, item, now, error);
  // The attempt its system accepted, while it waits for its callback; else the one that was under way.
  const number = item.awaiting ? Math.max(1, item.attemptCount ?? 0) : (item.attemptCount ?? 0) + 1;
  const attempt: AttemptRecord = { number, at: now.toISOString(), error, decision: verdict.recorded };
  const retry = verdict.retry ? { retry: { at: verdict.retry.at, retries: verdict.retry.retries } } : {};
  return {
    write: { kind: 'operatorAbort', by: event.by, error: verdict.error, attempt, ...retry },
    effects: verdict.effects,
    whenRefused: { refusal: refusedFor(item, 'was changed meanwhile; read it again') },
  };
}

function completeManual(facts: ItemFacts, event: Extract<OperatorAction, { action: 'complete' }>): Decision {
  const { item, order } = facts;
  if (item.type === 'manualTask' && item.state === 'Completed' && order && !order.done.includes(item.key)) {
    // Completed but never handed on (the hand-over failed): hand it on again, which is idempotent.
    return { effects: [{ kind: 'sendStart' }] };
  }
  if (item.type !== 'manualTask') {
    return { ...nothing, refusal: refusedFor(item, `is ${article(item.type)}, not a manual task`) };
  }
  if (item.state !== 'Running')
    return { ...nothing, refusal: refusedFor(item, `is ${item.state}, not waiting for an operator`) };
  return {
    write: { kind: 'manualComplete', by: event.by, attributes: event.attributes },
    effects: [{ kind: 'sendStart' }],
    whenRefused: { refusal: refusedFor(item, 'was changed meanwhile; read it again') },
  };
}

/** An operator's write, refused (409) in the operator's words when the lifecycle does not allow it. */
function byOperator(item: ItemRecord, event: ItemEvent, decision: Decision): Decision {
  const refusal = refusedFor(item, `is ${item.state}; ${LIFECYCLE[event].refusal ?? LIFECYCLE[event].means}`);
  if ('refused' in transition(item.state, event, false)) return { ...nothing, refusal };
  return { ...decision, whenRefused: { refusal } };
}

/** A worker's write, made only when the lifecycle allows it for the item as read. */
function guarded(facts: ItemFacts, event: ItemEvent, deliveryId: string, decision: Decision): Decision {
  const { item, now } = facts;
  const result = transition(item.state, event, item.attemptId === deliveryId, leaseExpired(item, now));
  return 'refused' in result ? { ...nothing, refusal: result.refused } : decision;
}

/** What a final answer applied before set going, done again: the item finished, retried, or in fallout. */
/**
 * A callback to an item its order's cancellation froze while it waited: a final answer on the URL of
 * the frozen attempt is its late answer — kept, once, and applied to nothing but what the cancellation
 * does next (a `completed` one says its system acted). Anything else changes nothing.
 */
function lateCallback(item: ItemRecord, event: Extract<LifecycleEvent, { kind: 'callback' }>): Decision {
  const { answer, nonce, callbackId } = event;
  if (answer.status === 'inProgress' || item.callbackNonce !== nonce || item.lateAnswer !== undefined)
    return {
      ignored: 'not-waiting',
      effects: [{ kind: 'log', level: 'info', message: 'callback for a frozen item changed nothing' }],
    };
  // Mapped first, like any completed answer: its compensation may need what it gave (an activation id).
  if (answer.status === 'completed' && answer.attributes === undefined)
    return { effects: [], next: 'mapAnswer' };
  const attributes = answer.status === 'completed' ? { attributes: answer.attributes ?? {} } : {};
  return {
    write: {
      kind: 'lateAnswer',
      nonce,
      callbackId,
      acted: answer.status === 'completed' || answer.status === 'unusable',
      body: answer.body,
      ...attributes,
    },
    effects: [{ kind: 'moveCancellation' }],
    whenRefused: { effects: [], ignored: 'not-waiting' },
  };
}

function replayOfFinal(item: ItemRecord): Effect[] {
  if (isDone(item)) return [{ kind: 'finish' }];
  // A procedure handed back after its step's answer: whoever claims it first runs it on.
  if (item.state === 'Pending' && item.procedure !== undefined) return [{ kind: 'sendStart' }];
  if (item.state === 'FatallyFailed') return [{ kind: 'holdOrder' }];
  if (item.state === 'Failed' && item.nextAttemptAt) return [{ kind: 'sendRetry', at: item.nextAttemptAt }];
  return [];
}

/**
 * What a failed asynchronous attempt comes to, as a callback change: its final answer reported failure
 * or could not be used, or none came in time. The retry rules decide as for any callout; the attempt
 * the system accepted is the one this ends.
 */
function failedChange(
  item: ItemRecord,
  { target, rules }: Retryable,
  failure: CalloutFailure,
  error: string,
  body: unknown,
  now: Date,
): CallbackChange & { kind: 'failed' } {
  const verdict = failureVerdict(rules ?? [], target, failure, item, now, error);
  const attempt = {
    number: Math.max(1, item.attemptCount ?? 0),
    at: now.toISOString(),
    error,
    decision: verdict.recorded,
  };
  return {
    kind: 'failed',
    error: verdict.error,
    body,
    ...(verdict.retry ? { retry: verdict.retry } : {}),
    attempt,
    ...(renewsRequest(failure) ? { newRequest: true as const } : {}),
  };
}

function afterFailure(change: CallbackChange & { kind: 'failed' }): Effect[] {
  return change.retry
    ? [{ kind: 'sendRetry', at: change.retry.at }]
    : [{ kind: 'holdOrder', error: change.error }];
}

/**
 * What the retry rules make of a failed attempt, for every way one fails (an answer, a callback, a
 * deadline, an operator's abort): the decision as the attempt records it; the error the item keeps (the
 * fallout's reason added); the retry, if any; and what follows — the retry sent (a wait longer than SQS's
 * 15 minutes hops, so hours or days work), or the order held.
 */
function failureVerdict(
  rules: readonly RetryRule[],
  target: FailureTarget | undefined,
  failure: CalloutFailure,
  item: ItemRecord,
  now: Date,
  error: string,
): {
  recorded: AttemptDecision;
  error: string;
  retry?: { at: string; retries: number; ruleId: string };
  effects: Effect[];
} {
  const { decision, recorded } = retryDecision(rules, target, failure, item.retries ?? 0, now);
  if (decision.kind === 'fallout') {
    const falloutError = `${error} (${decision.reason})`;
    return { recorded, error: falloutError, effects: [{ kind: 'holdOrder', error: falloutError }] };
  }
  const retry = { at: decision.at.toISOString(), retries: decision.retry, ruleId: decision.ruleId };
  return { recorded, error, retry, effects: [{ kind: 'sendRetry', at: retry.at }] };
}

/** What the retry rules decide for a failed attempt, and that decision as the attempt records it. */
function retryDecision(
  rules: readonly RetryRule[],
  target: FailureTarget | undefined,
  failure: CalloutFailure,
  retriesSoFar: number,
  now: Date,
) {
  const rule = target ? ruleFor(rules, target, failure) : undefined;
  const decision = decideRetry(rule, failure, retriesSoFar, now);
  const recorded: AttemptDecision =
    decision.kind === 'fallout'
      ? { kind: 'fallout', reason: decision.reason, ...(decision.ruleId ? { ruleId: decision.ruleId } : {}) }
      : { kind: 'retry', at: decision.at.toISOString(), ruleId: decision.ruleId, retry: decision.retry };
  return { decision, recorded };
}

/** What of an answer the item keeps. */
function outcomeOf(answer: Answer): ItemOutcome {
  const { request, response, attributes, attempt, steps } = answer;
  return {
    ...(request ? { request } : {}),
    ...(response ? { response } : {}),
    ...(attributes ? { attributes } : {}),
    ...(attempt ? { attempt } : {}),
    ...(steps ? { steps } : {}),
  };
}

/** The record of the attempt an answer ends. */
export function attemptOf(
  item: ItemRecord,
  answer: Answer,
  decision: AttemptDecision,
  now: Date,
): AttemptRecord {
  return {
    number: (item.attemptCount ?? 0) + 1,
    at: answer.request?.sentAt ?? now.toISOString(),
    ...(answer.request ? { request: answer.request } : {}),
    ...(answer.response
      ? { status: answer.response.status, durationMs: answer.response.durationMs }
      : answer.durationMs !== undefined
        ? { durationMs: answer.durationMs }
        : {}),
    ...(answer.error !== undefined ? { error: answer.error } : {}),
    decision,
  };
}
