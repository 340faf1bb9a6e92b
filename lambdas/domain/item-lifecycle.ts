import {
  CANCELLED_ITEM_STATES,
  type ItemRecord,
  type ItemState,
  isDone,
  type OrderState,
  prerequisitesDone,
} from './orchestration';

/**
 * The orchestration item's lifecycle, as data: which event moves an item from which states to which.
 * One table, read by the stores (each transition's write is conditional on it) and by whoever must say
 * why an item refused an event; tests check every event on every state against it.
 *
 *   Pending ──start──> Running ──await──> Running (waiting for its callback)
 *      ▲                  │
 *      └─────resume───────┤  (a procedure's asynchronous step answered: its next step runs on a new claim)
 *      │                  ├──complete──> Completed
 *      │                  ├──retryLater──> Failed ──start──> Running
 *      │                  ├──fail──> FatallyFailed (fallout) ──operatorRetry──> Pending
 *      ├──hold──> OnHold ─┴──start (released)──> Running
 *      └──skip (condition false)──> Skipped
 *
 * A cancellation of the order (use-cases/cancel-order.ts) ends every item where it stands: one that has
 * not acted is discarded (Pending, On Hold, Failed or in fallout ──discard──> Discarded), one in flight
 * on its system is frozen (Running ──freeze──> Frozen; so is a polled wait held On Hold, whose system
 * accepted the work), and a completed one whose plan item declares a
 * compensation is undone (Completed ──compensate──> Compensating ──compensated──> Compensated, as its
 * compensation item completes; ──compensationSkipped──> Completed when an operator skips that
 * compensation). A frozen item's late answer is kept in its log and applied to nothing
 * (Frozen ──lateAnswer──> Frozen); then it settles: it did not act (──settle──> Discarded), it acted and
 * is undone (──compensate──> Compensating), or it acted and nothing undoes it (──settleActed──> Completed).
 * One that no answer reached by its wait's end is compensated if it can be, and otherwise stays Frozen.
 *
 * When the plan execution that waits for an item ends abnormally (failed, timed out, stopped) while the
 * item is under way, `runEnded` puts it in fallout from Pending, OnHold, Failed or Running.
 *
 * While Running, an item belongs to the delivery that claimed it: only that attempt moves it on (a
 * redelivery of the same message takes over), so a worker that lost the item can change nothing. An
 * operator acts on an item that waits for one (fallout, a retry due, On Hold), never on a Running one.
 */

export const ITEM_EVENTS = [
  'start',
  'hold',
  'skip',
  'await',
  'resume',
  'complete',
  'retryLater',
  'fail',
  'manualComplete',
  'operatorRetry',
  'operatorSkip',
  'operatorFail',
  'operatorAbort',
  'operatorAbortToFallout',
  'runEnded',
  'discard',
  'freeze',
  'compensate',
  'compensated',
  'compensationSkipped',
  'lateAnswer',
  'settle',
  'settleActed',
  'removeLine',
] as const;
export type ItemEvent = (typeof ITEM_EVENTS)[number];

/** The events of an order's cancellation or amendment: each moves an item whatever attempt holds it. */
export type OrderChangeEvent = Extract<
  ItemEvent,
  | 'discard'
  | 'freeze'
  | 'compensate'
  | 'compensated'
  | 'compensationSkipped'
  | 'settle'
  | 'settleActed'
  | 'removeLine'
>;

export interface LifecycleRule {
  /** The states the event moves an item out of, whoever sends it. */
  from: readonly ItemState[];
  /** Also from Running, when the event comes from the attempt that holds the item. */
  fromOwnRunning: boolean;
  /** Also from Running under another attempt whose lease has run out: its worker is gone. */
  fromExpiredRunning?: true;
  to: ItemState;
  /** What the event is, in an operator's words, for a refusal. */
  means: string;
  /** For an operator's action: which items it applies to, as the refusal (409) says it. */
  refusal?: string;
}

export const LIFECYCLE: Readonly<Record<ItemEvent, LifecycleRule>> = {
  start: {
    from: ['Pending', 'OnHold', 'Failed'],
    fromOwnRunning: true,
    fromExpiredRunning: true,
    to: 'Running',
    means: 'start',
  },
  // A delivery that takes over an item whose worker died and finds its system away holds it, as the
  // worker would have: On Hold where operators see it, released when the system is back.
  hold: {
    from: ['Pending', 'Failed'],
    fromOwnRunning: true,
    fromExpiredRunning: true,
    to: 'OnHold',
    means: 'be held',
  },
  skip: { from: ['Pending'], fromOwnRunning: true, to: 'Skipped', means: 'be skipped by its condition' },
  await: { from: [], fromOwnRunning: true, to: 'Running', means: 'wait for its callback' },
  // A procedure's asynchronous step got its final answer (by the nonce of its callback URL): the step's
  // output is kept and the item waits to be claimed again, by whichever delivery comes first, which runs
  // the procedure on from the next step. Not Running under the same attempt: two messages of one attempt
  // (the callback's start and a redelivery) could both run it; a claim from Pending is one write only one
  // of them makes.
  resume: {
    from: [],
    fromOwnRunning: true,
    to: 'Pending',
    means: "go on with its procedure after a step's callback",
  },
  complete: { from: [], fromOwnRunning: true, to: 'Completed', means: 'complete' },
  retryLater: { from: [], fromOwnRunning: true, to: 'Failed', means: 'wait for a retry' },
  fail: { from: [], fromOwnRunning: true, to: 'FatallyFailed', means: 'fail' },
  // A manual task waits Running for an operator, whoever claimed it.
  manualComplete: {
    from: ['Running'],
    fromOwnRunning: false,
    to: 'Completed',
    means: 'be completed by an operator',
  },
  operatorRetry: {
    from: ['FatallyFailed', 'Failed'],
    fromOwnRunning: false,
    to: 'Pending',
    means: 'be retried',
    refusal: 'only an item in fallout or waiting for a retry can be retried',
  },
  operatorSkip: {
    from: ['FatallyFailed', 'Failed', 'OnHold'],
    fromOwnRunning: false,
    to: 'Skipped',
    means: 'be skipped',
    refusal: 'only an item in fallout, waiting for a retry or On Hold can be skipped',
  },
  operatorFail: {
    from: ['FatallyFailed', 'Failed'],
    fromOwnRunning: false,
    to: 'FatallyFailed',
    means: 'fail its order',
    refusal: 'only an item in fallout or waiting for a retry can fail its order',
  },
  // An operator gives up on a running attempt (its system will not answer): the retry rules decide, as
  // for a failed callout — a retry (Failed) or fallout.
  operatorAbort: {
    from: ['Running'],
    fromOwnRunning: false,
    to: 'Failed',
    means: 'be aborted',
    refusal: 'only a Running item can be aborted',
  },
  operatorAbortToFallout: {
    from: ['Running'],
    fromOwnRunning: false,
    to: 'FatallyFailed',
    means: 'be aborted',
    refusal: 'only a Running item can be aborted',
  },
  // The plan execution that waited for the item failed, timed out or was stopped while the item was
  // under way (or never dispatched): fallout, whatever attempt held it, for an operator to decide.
  runEnded: {
    from: ['Pending', 'OnHold', 'Failed', 'Running'],
    fromOwnRunning: false,
    to: 'FatallyFailed',
    means: 'be put in fallout as its plan run ended',
  },
  // A cancellation: whatever attempt held the item, it is over.
  discard: {
    from: ['Pending', 'OnHold', 'Failed', 'FatallyFailed'],
    fromOwnRunning: false,
    to: 'Discarded',
    means: "be discarded by its order's cancellation",
  },
  freeze: {
    from: ['Running', 'OnHold'],
    fromOwnRunning: false,
    to: 'Frozen',
    means: "be frozen by its order's cancellation",
  },
  compensate: {
    from: ['Completed', 'Frozen'],
    fromOwnRunning: false,
    to: 'Compensating',
    means: 'be compensated',
  },
  compensated: { from: ['Compensating'], fromOwnRunning: false, to: 'Compensated', means: 'be compensated' },
  compensationSkipped: {
    from: ['Compensating'],
    fromOwnRunning: false,
    to: 'Completed',
    means: 'keep what it did, its compensation skipped',
  },
  // A frozen item's late answer, kept once: from the attempt that was frozen (the store checks which).
  lateAnswer: { from: ['Frozen'], fromOwnRunning: false, to: 'Frozen', means: 'take its late answer' },
  settle: {
    from: ['Frozen'],
    fromOwnRunning: false,
    to: 'Discarded',
    means: 'settle: its system did not act',
  },
  settleActed: {
    from: ['Frozen'],
    fromOwnRunning: false,
    to: 'Completed',
    means: 'settle: its system acted, and nothing undoes it',
  },
  // An amendment removed its line before it acted: done, as a skipped item is (its plan goes on).
  removeLine: {
    from: ['Pending', 'OnHold', 'Failed', 'FatallyFailed'],
    fromOwnRunning: false,
    to: 'Skipped',
    means: 'be skipped: its line is removed',
  },
};

/** The event that moves a Running item to the state its outcome decides. */
export const FINISHING_EVENTS = {
  Completed: 'complete',
  Failed: 'retryLater',
  FatallyFailed: 'fail',
} as const satisfies Partial<Record<ItemState, ItemEvent>>;

/**
 * States no event leaves. A Completed item is done too, and only its order's cancellation moves it on
 * (`compensate`).
 */
export const FINAL_STATES: ReadonlySet<ItemState> = new Set(['Skipped', 'Discarded', 'Compensated']);

/**
 * What an event does to an item in `state`: the state it moves to, or why it is refused.
 * `holdsAttempt`: the event comes from the delivery the item is Running under. `leaseExpired`: the item
 * is Running under an attempt whose lease ran out (its worker is gone), so another delivery may take it.
 */
export function transition(
  state: ItemState,
  event: ItemEvent,
  holdsAttempt: boolean,
  leaseExpired = false,
): { to: ItemState } | { refused: string } {
  const rule = LIFECYCLE[event];
  if (rule.from.includes(state) || (rule.fromOwnRunning && holdsAttempt && state === 'Running'))
    return { to: rule.to };
  if (rule.fromExpiredRunning && leaseExpired && state === 'Running') return { to: rule.to };
  if (CANCELLED_ITEM_STATES.has(state)) return { refused: `the item is ${state}: its order was cancelled` };
  if (FINAL_STATES.has(state) || state === 'Completed')
    return { refused: `the item is ${state}: it is done` };
  if (state === 'Running' && rule.fromOwnRunning)
    return { refused: 'the item runs under another attempt, which alone moves it on' };
  const from = [...rule.from, ...(rule.fromOwnRunning ? ['Running (under this attempt)'] : [])];
  return { refused: `the item is ${state}; only an item ${from.join(', ')} can ${rule.means}` };
}

/**
 * What the worker does with a message about an item (a dispatch, a start, a release, a retry due, a
 * redelivery), decided from the item, its order's state and done set, and the clock alone:
 *
 * - `replay`: the item is done; its effects are applied again (idempotently) and its plan answered, so a
 *   re-run plan or a duplicate message never calls a system twice;
 * - `holdOrder`: it is in fallout and waits for an operator; its order is held again (a worker may have
 *   died between the two writes);
 * - `notYet`: its retry is not due; the message goes on until it is;
 * - `awaitCallback`: its system accepted it; the wait's deadline is sent again (a second one changes
 *   nothing);
 * - `orderFailed`: an operator failed its order; nothing more of it is started (a retry or a release
 *   that comes now);
 * - `ignore`: nothing to do, and why (another delivery runs it and holds its lease; its dispatch or a
 *   prerequisite has not come: whatever comes last starts it);
 * - `run`: its condition, its system's admission and its claim come next.
 */
/**
 * How long a worker holds a Running item without renewing its hold. A worker renews it while its callout
 * runs; one that died stops renewing, and once the lease has run out another delivery (its message's
 * redelivery, a message redriven from the dead-letter queue) takes the item over.
 */
export const LEASE_SECONDS = 20;

/** How long an item that arrives while its order's cancellation is assessed waits before it looks again. */
export const ASSESSMENT_WAIT_SECONDS = 2;

/** True when the item runs under a worker whose lease has run out. */
export function leaseExpired(item: Pick<ItemRecord, 'state' | 'leaseUntil'>, now: Date): boolean {
  return (
    item.state === 'Running' && item.leaseUntil !== undefined && now.getTime() >= Date.parse(item.leaseUntil)
  );
}

export type Arrival =
  | { kind: 'replay' }
  | { kind: 'holdOrder' }
  | { kind: 'notYet'; dueAt: string }
  | { kind: 'awaitCallback'; deadline: string }
  | { kind: 'orderFailed' }
  | { kind: 'ignore'; why: string }
  | { kind: 'run' };

export function onArrival(
  item: ItemRecord,
  order: { state: OrderState; done: readonly string[] },
  deliveryId: string,
  now: Date,
): Arrival {
  if (CANCELLED_ITEM_STATES.has(item.state))
    return { kind: 'ignore', why: `the item is ${item.state}: its order is cancelled` };
  if (isDone(item)) return { kind: 'replay' };
  if (item.state === 'FatallyFailed') return { kind: 'holdOrder' };
  if (order.state === 'failed') return { kind: 'orderFailed' };
  // While a cancellation is assessed nothing of the plan starts (it may be refused, and the item go on);
  // once it is accepted only its compensations run.
  if (order.state === 'assessingCancellation' && !item.compensates)
    return { kind: 'notYet', dueAt: new Date(now.getTime() + ASSESSMENT_WAIT_SECONDS * 1000).toISOString() };
  if ((order.state === 'pendingCancellation' || order.state === 'cancelled') && !item.compensates)
    return { kind: 'ignore', why: `its order is ${order.state}` };
  // While an amendment of its order is assessed it does not start: it may be about to change.
  if (item.amendFreeze && now.getTime() < Date.parse(item.amendFreeze.until)) {
    const soon = now.getTime() + ASSESSMENT_WAIT_SECONDS * 1000;
    return {
      kind: 'notYet',
      dueAt: new Date(Math.min(soon, Date.parse(item.amendFreeze.until))).toISOString(),
    };
  }
  if (item.state === 'Failed' && item.nextAttemptAt && now.getTime() < Date.parse(item.nextAttemptAt))
    return { kind: 'notYet', dueAt: item.nextAttemptAt };
  if (item.state === 'Running' && item.attemptId !== deliveryId && !leaseExpired(item, now))
    return { kind: 'ignore', why: 'another delivery runs it' };
  // A polled wait held On Hold keeps its wait, and its release runs it: it polls on (poll-status.ts). A
  // released one whose worker died before it waited again still holds that worker's lease: once the
  // lease ran out it is taken over and polls on, rather than sending polls and holding nothing.
  if (item.state === 'Running' && item.awaiting && !leaseExpired(item, now))
    return { kind: 'awaitCallback', deadline: item.awaiting.deadline };
  // A compensation, or an amendment's run of an item again, is started by what made it, not by a plan run.
  if (!item.taskTokens?.length && !item.compensates && !item.supersedes)
    return { kind: 'ignore', why: 'its plan has not dispatched it yet' };
  if (!prerequisitesDone(item, order.done)) return { kind: 'ignore', why: 'its prerequisites are not done' };
  return { kind: 'run' };
}
