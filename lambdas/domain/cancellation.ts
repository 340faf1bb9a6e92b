import type { PlanItem } from '../../statemachines/plan-definition';
import type { ItemRecord } from './orchestration';

/**
 * What cancelling an order in flight means for each of its items, decided from the items as they are
 * (a pure function; the cancellation's use case loads, decides, then carries it out).
 *
 * - An item that has not acted — Pending, On Hold, waiting for a retry, in fallout — is **discarded**:
 *   it will never run.
 * - An item waiting on its system (Running: a synchronous call in flight, or an accepted asynchronous
 *   one waiting for its callback) is **frozen**: its late answer is recorded but moves nothing. Should
 *   the answer say the system acted, the item is compensated like a completed one.
 * - A completed item is **compensated** when its plan item declares a compensation, and **left** as it
 *   is when it declares none (nothing undoes it: the cancellation says so).
 * - Skipped items (and those already discarded or compensated) need nothing.
 *
 * An order with a completed item past its point of no return cannot be cancelled: the assessment is
 * **refused**, naming the item, and nothing changes.
 *
 * Compensations run in reverse dependency order: an item's compensation waits for the compensations of
 * every item that depends on it, directly or not (the port is released after the line on it is off),
 * and for every frozen item that depends on it to settle. `waitsFor` says, for each item to compensate
 * or that may need compensating, what it waits for.
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
      /** For each item in `compensate` or `freeze`: the items whose compensation (or settling) it waits for. */
      waitsFor: Record<string, string[]>;
    };

/** The plan item an orchestration item instantiates, as far as cancellation asks. */
export type PlanItemOf = (item: ItemRecord) => Pick<PlanItem, 'pointOfNoReturn' | 'compensation'> | undefined;

const NOT_ACTED = new Set<ItemRecord['state']>(['Pending', 'OnHold', 'Failed', 'FatallyFailed']);

export function assessCancellation(
  items: Iterable<ItemRecord>,
  planItemOf: PlanItemOf,
): CancellationAssessment {
  const all = [...items].sort((a, b) => a.key.localeCompare(b.key));
  const past = all.find((item) => item.state === 'Completed' && planItemOf(item)?.pointOfNoReturn === true);
  if (past)
    return {
      kind: 'refused',
      itemKey: past.key,
      reason: `item ${past.key} has completed, and it is a point of no return: the order can no longer be cancelled`,
    };
  const discard: string[] = [];
  const freeze: string[] = [];
  const compensate: string[] = [];
  const left: string[] = [];
  for (const item of all) {
    if (NOT_ACTED.has(item.state)) discard.push(item.key);
    else if (item.state === 'Running') freeze.push(item.key);
    else if (item.state === 'Completed')
      (planItemOf(item)?.compensation === undefined ? left : compensate).push(item.key);
  }
  // What may still need undoing: the compensated and the frozen. Each waits for those among them that
  // depend on it, transitively (through items that need nothing too).
  const undoable = new Set([...compensate, ...freeze]);
  const dependents = dependentsOf(all);
  const waitsFor: Record<string, string[]> = {};
  for (const key of [...compensate, ...freeze]) {
    waitsFor[key] = [...transitive(key, dependents)].filter((other) => undoable.has(other)).sort();
  }
  return { kind: 'cancel', discard, freeze, compensate, left, waitsFor };
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
 * The compensations that may start now: those to compensate whose every waited-for item is settled
 * (`settled`: compensated, or frozen and found not to have acted, or needing nothing after all).
 */
export function compensationsReady(
  assessment: Extract<CancellationAssessment, { kind: 'cancel' }>,
  toCompensate: Iterable<string>,
  settled: ReadonlySet<string>,
): string[] {
  return [...toCompensate].filter((key) =>
    (assessment.waitsFor[key] ?? []).every((other) => settled.has(other)),
  );
}
