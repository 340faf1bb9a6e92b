import type { PlanDefinition } from '../../statemachines/plan-definition';
import { durationMs, inWords } from './duration';
import type { ItemRecord, Jeopardy, OrderRecord } from './orchestration';

export type { Jeopardy };

/**
 * Whether an order will miss its due date, read from its plan before it happens.
 *
 * - **Due date**: the order's `requestedCompletionDate`, or its acceptance plus the shortest
 *   `completionWithin` of the plans it runs. No due date, no jeopardy.
 * - **Expected completion**: along the critical path of the items' `expectedDuration`s. A done item ends
 *   when it ended; one under way ends at its start plus its duration, or now if it has run longer; one not
 *   started starts once its prerequisites end (or now) and takes its duration. Items without a duration
 *   take none.
 * - **In jeopardy** when the expected completion is after the due date, or an item under way has run past
 *   its expected duration by more than its plan's `overrunMargin`. Cleared when neither holds (the late
 *   item finished, the order caught up) or the order ended.
 */

export interface Assessment {
  /** Set while the order is in jeopardy. */
  jeopardy?: Jeopardy;
  expectedCompletionDate?: string;
  /**
   * The next moment the assessment could change with nothing else happening (an item passing its
   * expected end or its margin, the due date itself); undefined once the order has ended.
   */
  nextCheckAt?: string;
}

/** States in which an item's work is over, as far as the order's timing goes. */
const ENDED = new Set(['Completed', 'Skipped', 'Discarded', 'Compensated']);
/** States in which an order has ended: nothing of it will complete later. */
const ORDER_ENDED = new Set(['completed', 'failed', 'cancelled']);

/** The plans an order runs, by id, as the catalog has them (only their timing is read). */
export type PlansById = Readonly<
  Record<string, Pick<PlanDefinition, 'completionWithin' | 'overrunMargin' | 'items'>>
>;

/** When an order is due, if it is. */
export function dueDateOf(
  order: Pick<OrderRecord, 'submitted' | 'createdAt' | 'planRuns'>,
  plans: PlansById,
): string | undefined {
  const requested = order.submitted.requestedCompletionDate;
  if (typeof requested === 'string' && !Number.isNaN(Date.parse(requested)))
    return new Date(requested).toISOString();
  const within = order.planRuns
    .map((run) => plans[run.planId]?.completionWithin)
    .map((text) => (text === undefined ? undefined : durationMs(text)))
    .filter((ms): ms is number => ms !== undefined);
  if (within.length === 0) return undefined;
  return new Date(Date.parse(order.createdAt) + Math.min(...within)).toISOString();
}

/**
 * The order's jeopardy now, from its items. `previous` is what is kept on the order: a jeopardy that
 * holds on keeps its `since`.
 */
export function assess(
  order: Pick<OrderRecord, 'state' | 'dueDate' | 'jeopardy'>,
  items: Iterable<ItemRecord>,
  plans: PlansById,
  now: Date,
): Assessment {
  if (order.dueDate === undefined || ORDER_ENDED.has(order.state)) return {};
  const due = Date.parse(order.dueDate);
  const t = now.getTime();
  const all = [...items].filter((item) => item.compensates === undefined);
  const byKey = new Map(all.map((item) => [item.key, item]));
  const expectedOf = (item: ItemRecord): number | undefined => {
    const text = plans[item.planId]?.items.find((p) => p.id === item.planItemId)?.expectedDuration;
    return text === undefined ? undefined : durationMs(text);
  };
  const ends = new Map<string, number>();
  const endOf = (item: ItemRecord, trail: Set<string>): number => {
    const known = ends.get(item.key);
    if (known !== undefined) return known;
    let end: number;
    if (ENDED.has(item.state)) end = Date.parse(item.completedAt ?? item.updatedAt);
    else if (item.startedAt !== undefined && item.state !== 'Pending') {
      end = Math.max(t, Date.parse(item.startedAt) + (expectedOf(item) ?? 0));
    } else {
      trail.add(item.key);
      const after = item.dependsOn
        .map((key) => byKey.get(key))
        .filter((p): p is ItemRecord => p !== undefined && !trail.has(p.key))
        .map((p) => endOf(p, trail));
      end = Math.max(t, ...after) + (expectedOf(item) ?? 0);
      trail.delete(item.key);
    }
    ends.set(item.key, end);
    return end;
  };
  const expected = Math.max(t, ...all.map((item) => endOf(item, new Set())));
  const reasons: string[] = [];
  const kinds: string[] = [];
  if (expected > due) kinds.push('late');
  if (expected > due)
    reasons.push(
      `expected to complete at ${new Date(expected).toISOString()}, ${inWords(expected - due)} after its due date`,
    );
  // The next moments the picture changes by itself: an item under way reaching its expected end (from
  // then on the order's expected completion moves with the clock) or its margin, and the due date.
  const checks: number[] = [due];
  for (const item of all) {
    const duration = expectedOf(item);
    if (
      ENDED.has(item.state) ||
      item.startedAt === undefined ||
      item.state === 'Pending' ||
      duration === undefined
    )
      continue;
    const started = Date.parse(item.startedAt);
    const margin = plans[item.planId]?.overrunMargin ?? 0.25;
    const limit = started + duration * (1 + margin);
    if (t > limit) {
      kinds.push(`overrun:${item.key}`);
      reasons.push(`${item.key} has run ${inWords(t - started)}, expected ${inWords(duration)}`);
    }
    checks.push(started + duration, limit);
  }
  // Work not yet started, or overdue, moves the expected completion with the clock: while it is still
  // before the due date, it passes it once the slack is used up. (Once late, the order stays late until
  // something changes, which the stream brings; the hourly look is enough then.)
  if (expected <= due) checks.push(t + (due - expected) + 1000);
  // While the order runs it is looked at again at least hourly (a due date long passed, say).
  const future = checks.filter((at) => at > t);
  const nextCheckAt = new Date(Math.min(t + HOUR, ...future)).toISOString();
  const expectedCompletionDate = new Date(expected).toISOString();
  if (reasons.length === 0) return { expectedCompletionDate, nextCheckAt };
  return {
    jeopardy: {
      since: order.jeopardy?.since ?? now.toISOString(),
      kinds,
      reasons,
      expectedCompletionDate,
      dueDate: order.dueDate,
    },
    expectedCompletionDate,
    nextCheckAt,
  };
}

const HOUR = 3_600_000;

/**
 * Whether a new assessment says something other than what is kept on the order: raised, cleared, or for
 * other kinds of reason. (The figures in the reasons move with the clock; they are no news.)
 */
export function jeopardyChanged(kept: Jeopardy | undefined, now: Jeopardy | undefined): boolean {
  if (!kept || !now) return kept !== now;
  return kept.kinds.join(' ') !== now.kinds.join(' ');
}
