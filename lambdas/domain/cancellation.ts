import type { PlanItem } from '../../statemachines/plan-definition';
import type { ItemRecord } from './orchestration';

/**
 * What cancelling an order in flight means for each of its items, decided from the items as they are
 * (pure functions; the cancellation's use case, use-cases/cancel-order.ts, loads, decides, then carries
 * it out).
 *
 * - An item that has not acted — Pending, On Hold, waiting for a retry, in fallout — is **discarded**:
 *   it will never run.
 * - An item waiting on its system (Running: a synchronous call in flight, or an accepted asynchronous
 *   one waiting for its callback) is **frozen**: its late answer is kept in its log and applied to
 *   nothing, and it then settles by what that answer says (`settling`).
 * - A completed item is **compensated** when its plan item declares a compensation, and **left** as it
 *   is when it declares none (nothing undoes it: the cancellation says so) or an operator skipped it.
 * - Skipped items (and those already discarded, frozen or compensated) need nothing.
 *
 * An order with an item past its point of no return cannot be cancelled: the assessment is **refused**,
 * naming the item, and nothing changes. A point of no return is passed once its item has started (its
 * system was asked to act), not only once it has completed: the answer may still be on its way. While a
 * cancellation is assessed such an item cannot start (its claim is conditional on the order's state),
 * so no assessment misses one.
 *
 * Compensations run in reverse dependency order: an item's compensation waits for the compensations of
 * every item that depends on it, directly or not (the port is released after the line on it is off),
 * frozen ones included, until they settle.
 */
export type CancellationAssessment =
  | { kind: 'refused'; itemKey: string; reason: string }
  | {
      kind: 'cancel';
      discard: string[];
      freeze: string[];
      compensate: string[];
      /** Completed items that declare no compensation: they stay done. */
      left: string[];
    };

/** The plan item an orchestration item instantiates, as far as cancellation asks. */
export type PlanItemOf = (item: ItemRecord) => Pick<PlanItem, 'pointOfNoReturn' | 'compensation'> | undefined;

const NOT_ACTED = new Set<ItemRecord['state']>(['Pending', 'OnHold', 'Failed', 'FatallyFailed']);

/** The items of the order's plans: not the compensations a cancellation added. */
export const plannedItems = (items: Iterable<ItemRecord>): ItemRecord[] =>
  [...items].filter((item) => item.compensates === undefined).sort((a, b) => a.key.localeCompare(b.key));

export function assessCancellation(
  items: Iterable<ItemRecord>,
  planItemOf: PlanItemOf,
): CancellationAssessment {
  const given = [...items];
  const all = plannedItems(given);
  // A completed item whose compensation an operator skipped stays done: it is not compensated twice.
  const undoneBefore = new Set(given.flatMap((item) => (item.compensates ? [item.compensates] : [])));
  const past = all.find(
    (item) =>
      planItemOf(item)?.pointOfNoReturn === true &&
      (item.startedAt !== undefined || item.state === 'Completed'),
  );
  if (past)
    return {
      kind: 'refused',
      itemKey: past.key,
      reason: `item ${past.key} is a point of no return and has ${past.state === 'Completed' ? 'completed' : `started (it is ${past.state})`}: the order can no longer be cancelled`,
    };
  const discard: string[] = [];
  const freeze: string[] = [];
  const compensate: string[] = [];
  const left: string[] = [];
  for (const item of all) {
    // On Hold with its wait kept, its system accepted the work (a polled wait its system's absence held):
    // it is in flight, and frozen like a Running one, not discarded.
    const inFlight = item.state === 'Running' || (item.state === 'OnHold' && item.awaiting !== undefined);
    if (inFlight) freeze.push(item.key);
    else if (NOT_ACTED.has(item.state)) discard.push(item.key);
    else if (item.state === 'Completed')
      (planItemOf(item)?.compensation === undefined || undoneBefore.has(item.key) ? left : compensate).push(
        item.key,
      );
  }
  return { kind: 'cancel', discard, freeze, compensate, left };
}

/**
 * True when a compensation's system answered that there is nothing to undo (404 Not Found, 410 Gone: the
 * port is not reserved, the activation is off already). An undo is idempotent, so that is done: the
 * request went out before, or what it undoes never happened (a frozen item that did not act after all).
 */
export function nothingToUndo(failure: { kind: string; status?: number } | undefined): boolean {
  return failure?.kind === 'status' && (failure.status === 404 || failure.status === 410);
}

/** The key of the item that compensates `key`: it sorts and reads beside it. */
export const compensationKeyOf = (key: string): string => `${key}.undo`;

/**
 * The compensation items of a cancellation, one for each item in `undone` (those Compensating or
 * Compensated, or about to be), each waiting for the compensations of the undone items that depend on
 * it, directly or through items that need nothing.
 */
export function compensationItems(
  items: Iterable<ItemRecord>,
  undone: ReadonlySet<string>,
  planItemOf: PlanItemOf,
  /** What the compensations are for, as their history says it: `for cancellation <id>`. */
  purpose: string,
  at: string,
): ItemRecord[] {
  const all = plannedItems(items);
  const dependents = dependentsOf(all);
  return all.flatMap((item): ItemRecord[] => {
    const compensation = planItemOf(item)?.compensation;
    if (!undone.has(item.key) || compensation === undefined) return [];
    const waitsFor = [...transitive(item.key, dependents)].filter((other) => undone.has(other)).sort();
    const state = 'Pending' as const;
    return [
      {
        orderId: item.orderId,
        key: compensationKeyOf(item.key),
        planId: item.planId,
        planItemId: item.planItemId,
        ...(item.lineId !== undefined ? { lineId: item.lineId } : {}),
        type: compensation.interface !== undefined ? 'callout' : 'autoTask',
        ...(compensation.interface !== undefined ? { interfaceId: compensation.interface } : {}),
        dependsOn: waitsFor.map(compensationKeyOf),
        compensates: item.key,
        state,
        version: 1,
        recent: [{ at, state, reason: `compensates ${item.key} ${purpose}` }],
        createdAt: at,
        updatedAt: at,
      },
    ];
  });
}

function dependentsOf(items: ItemRecord[]): Map<string, string[]> {
  const dependents = new Map<string, string[]>();
  for (const item of items) {
    for (const prerequisite of item.dependsOn) {
      dependents.set(prerequisite, [...(dependents.get(prerequisite) ?? []), item.key]);
    }
  }
  return dependents;
}

function transitive(key: string, dependents: Map<string, string[]>): Set<string> {
  const seen = new Set<string>();
  const walk = (from: string) => {
    for (const next of dependents.get(from) ?? []) {
      if (seen.has(next)) continue;
      seen.add(next);
      walk(next);
    }
  };
  walk(key);
  return seen;
}

/**
 * What becomes of a frozen item now: it settles by the late answer it took — its system did not act
 * (`settle`: Discarded), acted and is undone (`compensate`), or acted with nothing to undo it
 * (`settleActed`: Completed) — or, with no answer yet, it waits until `frozenUntil`. Past that, with no
 * answer, it may have acted: it is compensated if it can be (an undo of what was not done changes
 * nothing), and otherwise stays Frozen (`unanswered`), for an operator to look into.
 */
export function settling(
  item: Pick<ItemRecord, 'lateAnswer' | 'frozenUntil'>,
  planned: Pick<PlanItem, 'compensation'> | undefined,
  now: Date,
):
  | { event: 'settle' | 'settleActed' | 'compensate'; reason: string }
  | { waitsUntil: string }
  | { unanswered: true } {
  const undoable = planned?.compensation !== undefined;
  if (item.lateAnswer === 'notActed')
    return { event: 'settle', reason: 'its late answer says its system did not act' };
  if (item.lateAnswer === 'acted')
    return undoable
      ? { event: 'compensate', reason: 'its late answer says its system acted: what it did is undone' }
      : { event: 'settleActed', reason: 'its late answer says its system acted, and nothing undoes it' };
  if (item.frozenUntil !== undefined && now.getTime() < Date.parse(item.frozenUntil))
    return { waitsUntil: item.frozenUntil };
  if (undoable)
    return {
      event: 'compensate',
      reason: `no answer came by ${item.frozenUntil ?? 'the end of its wait'}; it may have acted: what it did is undone`,
    };
  return { unanswered: true };
}
