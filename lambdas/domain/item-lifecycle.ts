import type { ItemState } from './orchestration';

/**
 * The orchestration item's lifecycle, as data: which event moves an item from which states to which.
 * One table, read by the stores (each transition's write is conditional on it) and by whoever must say
 * why an item refused an event; tests check every event on every state against it.
 *
 *   Pending ──start──> Running ──await──> Running (waiting for its callback)
 *      │                  ├──complete──> Completed
 *      │                  ├──retryLater──> Failed ──start──> Running
 *      │                  ├──fail──> FatallyFailed (fallout) ──operatorRetry──> Pending
 *      ├──hold──> OnHold ─┴──start (released)──> Running
 *      └──skip (condition false)──> Skipped
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
  'complete',
  'retryLater',
  'fail',
  'manualComplete',
  'operatorRetry',
  'operatorSkip',
  'operatorFail',
] as const;
export type ItemEvent = (typeof ITEM_EVENTS)[number];

export interface LifecycleRule {
  /** The states the event moves an item out of, whoever sends it. */
  from: readonly ItemState[];
  /** Also from Running, when the event comes from the attempt that holds the item. */
  fromOwnRunning: boolean;
  to: ItemState;
  /** What the event is, in an operator's words, for a refusal. */
  means: string;
}

export const LIFECYCLE: Readonly<Record<ItemEvent, LifecycleRule>> = {
  start: { from: ['Pending', 'OnHold', 'Failed'], fromOwnRunning: true, to: 'Running', means: 'start' },
  hold: { from: ['Pending', 'Failed'], fromOwnRunning: true, to: 'OnHold', means: 'be held' },
  skip: { from: ['Pending'], fromOwnRunning: true, to: 'Skipped', means: 'be skipped by its condition' },
  await: { from: [], fromOwnRunning: true, to: 'Running', means: 'wait for its callback' },
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
  },
  operatorSkip: {
    from: ['FatallyFailed', 'Failed', 'OnHold'],
    fromOwnRunning: false,
    to: 'Skipped',
    means: 'be skipped',
  },
  operatorFail: {
    from: ['FatallyFailed', 'Failed'],
    fromOwnRunning: false,
    to: 'FatallyFailed',
    means: 'fail its order',
  },
};

/** The event that moves a Running item to the state its outcome decides. */
export const FINISHING_EVENTS = {
  Completed: 'complete',
  Failed: 'retryLater',
  FatallyFailed: 'fail',
} as const satisfies Partial<Record<ItemState, ItemEvent>>;

/** States no event leaves: the item is done. */
export const FINAL_STATES: ReadonlySet<ItemState> = new Set(['Completed', 'Skipped']);

/**
 * What an event does to an item in `state`: the state it moves to, or why it is refused.
 * `holdsAttempt`: the event comes from the delivery the item is Running under.
 */
export function transition(
  state: ItemState,
  event: ItemEvent,
  holdsAttempt: boolean,
): { to: ItemState } | { refused: string } {
  const rule = LIFECYCLE[event];
  if (rule.from.includes(state) || (rule.fromOwnRunning && holdsAttempt && state === 'Running'))
    return { to: rule.to };
  if (FINAL_STATES.has(state)) return { refused: `the item is ${state}: it is done` };
  if (state === 'Running' && rule.fromOwnRunning)
    return { refused: 'the item runs under another attempt, which alone moves it on' };
  const from = [...rule.from, ...(rule.fromOwnRunning ? ['Running (under this attempt)'] : [])];
  return { refused: `the item is ${state}; only an item ${from.join(', ')} can ${rule.means}` };
}
