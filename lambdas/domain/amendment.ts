import { compensationItems, compensationKeyOf, type PlanItemOf, plannedItems } from './cancellation';
import type { Problem } from './errors';
import { type ItemRecord, type LineChange, waitsToStart } from './orchestration';

/**
 * Amending an order in flight (TMF622 PATCH /productOrder/{id}, a JSON merge patch): what a change of its
 * lines means for their items, decided from the items as they are (pure functions; the use case,
 * use-cases/amend-order.ts, loads, decides, then carries it out).
 *
 * - An item of a changed line that has not started simply runs with the new values: items read the
 *   order when they run.
 * - One that has completed and that the change affects (what it would send now differs from what it
 *   sent) is **redone**: compensated, then run again as a new item of the amendment's revision (a
 *   supplemental run), `<key>.r<revision>`, which its dependents wait for instead.
 * - One the change does not affect stays as it is.
 * - The change is **refused** (409, nothing changed) when a changed or removed line has passed its
 *   point of no return (such an item of it has started), when the change touches an item its system is
 *   working on (amend again once it answered), or a completed item that the change affects and that
 *   declares no compensation (it cannot be undone to be redone).
 *
 * A removed line's items are skipped when they have not started and compensated when they have (the
 * same refusals hold); an added line is fulfilled by a plan run of its own.
 */

/** The most revisions an order keeps: amendments past it are refused. */
export const MAX_REVISIONS = 20;

/** RFC 7386 JSON merge patch: objects merge, `null` removes a member, anything else replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const base =
    target !== null && typeof target === 'object' && !Array.isArray(target)
      ? { ...(target as Record<string, unknown>) }
      : {};
  for (const [name, value] of Object.entries(patch)) {
    if (value === null) delete base[name];
    else base[name] = mergePatch(base[name], value);
  }
  return base;
}

/** The fields of a line an amendment may change; anything else of a line is what the line is. */
const CHANGEABLE_LINE_FIELDS = ['product', 'itemPrice', 'quantity', 'note', 'itemTerm'] as const;

/** Order fields an amendment may not change: only its lines are amended. */
export function unchangeableFields(
  before: Record<string, unknown>,
  after: Record<string, unknown>,
): Problem[] {
  const names = new Set([...Object.keys(before), ...Object.keys(after)]);
  names.delete('productOrderItem');
  return [...names]
    .filter((name) => JSON.stringify(before[name]) !== JSON.stringify(after[name]))
    .sort()
    .map((field) => ({
      field,
      message: 'cannot be amended: an amendment changes the order’s lines (productOrderItem) only',
    }));
}

type Line = { id: string; [field: string]: unknown };

/** What changed between the order's lines and the amended ones, by line id; problems with a change. */
export function diffLines(
  before: readonly Line[],
  after: readonly Line[],
): { changes: LineChange[]; problems: Problem[] } {
  const changes: LineChange[] = [];
  const problems: Problem[] = [];
  const old = new Map(before.map((line) => [line.id, line]));
  after.forEach((line, index) => {
    const was = old.get(line.id);
    if (!was) {
      changes.push({ lineId: line.id, change: 'added' });
      return;
    }
    // TMF's type tags (`@type`, …) say nothing of what the line is: one sent back as read changes nothing.
    const fields = [...new Set([...Object.keys(was), ...Object.keys(line)])]
      .filter((field) => !field.startsWith('@'))
      .filter((field) => JSON.stringify(untagged(was[field])) !== JSON.stringify(untagged(line[field])))
      .sort();
    for (const field of fields)
      if (!(CHANGEABLE_LINE_FIELDS as readonly string[]).includes(field))
        problems.push({
          field: `productOrderItem.${index}.${field}`,
          message: `cannot be amended on line "${line.id}": remove the line and add another`,
        });
    if (fields.length > 0) changes.push({ lineId: line.id, change: 'changed', fields });
  });
  const kept = new Set(after.map((line) => line.id));
  for (const line of before) if (!kept.has(line.id)) changes.push({ lineId: line.id, change: 'removed' });
  return { changes, problems };
}

/** A value without TMF's `@`-prefixed type tags, at any depth. */
function untagged(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(untagged);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([name]) => !name.startsWith('@'))
      .map(([name, inner]) => [name, untagged(inner)]),
  );
}

export type AmendmentAssessment =
  | { kind: 'refused'; itemKey: string; reason: string }
  | {
      kind: 'amend';
      /** Completed items the change affects: compensated, then run again. */
      redo: string[];
      /** Items of removed lines that have not started. */
      discard: string[];
      /** Completed items of removed lines: compensated. */
      compensate: string[];
    };

/**
 * What the change asks of each item of the changed and removed lines. `affected`: the completed or
 * running items that would send something else now (the use case compares their requests before and
 * after the change).
 */
export function assessAmendment(
  items: Iterable<ItemRecord>,
  changes: readonly LineChange[],
  planItemOf: PlanItemOf,
  affected: ReadonlySet<string>,
): AmendmentAssessment {
  const changed = new Set(changes.filter((c) => c.change === 'changed').map((c) => c.lineId));
  const removed = new Set(changes.filter((c) => c.change === 'removed').map((c) => c.lineId));
  // The latest instance of each item: a redo stands for what it redoes.
  const all = plannedItems(items).filter((item) => item.state !== 'Compensated');
  const touched = all.filter(
    (item) => item.lineId !== undefined && (changed.has(item.lineId) || removed.has(item.lineId)),
  );
  const redo: string[] = [];
  const discard: string[] = [];
  const compensate: string[] = [];
  for (const item of touched) {
    const planned = planItemOf(item);
    const removing = removed.has(item.lineId ?? '');
    // Whether the change reaches what the item did (or does): its request, now, would differ.
    const matters = removing ? item.startedAt !== undefined : affected.has(item.key);
    // Past its point of no return, a line is what it is: no change of it is taken.
    if (planned?.pointOfNoReturn && item.startedAt !== undefined)
      return refused(item, 'is a point of no return and has started: its line can no longer be changed');
    // In flight with what the change alters, its answer would be for the order as it was (a polled
    // wait held On Hold too: its system accepted the work).
    const inFlight =
      item.state === 'Running' || item.state === 'Frozen' || (item.state === 'OnHold' && item.awaiting);
    if (inFlight && (removing || matters))
      return refused(
        item,
        `is ${item.state}: its system is working on it (amend again once it has answered)`,
      );
    // Being undone by an earlier amendment still under way.
    if (item.state === 'Compensating')
      return refused(
        item,
        'is Compensating: an earlier change is still being carried out (amend again once it is)',
      );
    if (removing) {
      if (item.startedAt === undefined) discard.push(item.key);
      else if (item.state === 'Completed') {
        if (!planned?.compensation)
          return refused(item, 'has completed and declares no compensation: it cannot be undone');
        compensate.push(item.key);
      } else discard.push(item.key);
      continue;
    }
    if (item.state !== 'Completed' || !matters) continue;
    if (!planned?.compensation)
      return refused(
        item,
        'has completed, the change affects it, and it declares no compensation: it cannot be redone',
      );
    redo.push(item.key);
  }
  return { kind: 'amend', redo, discard, compensate };
}

const refused = (item: ItemRecord, why: string) => ({
  kind: 'refused' as const,
  itemKey: item.key,
  reason: `item ${item.key} ${why}`,
});

/** The key of the item that runs `key` again in `revision`. */
export const redoKeyOf = (key: string, revision: number): string => `${baseKeyOf(key)}.r${revision}`;
/** An item's key without its revision suffix: what every run of it shares. */
const baseKeyOf = (key: string): string => key.replace(/\.r\d+$/, '');

/**
 * The items a revision writes for its redone items — their compensations (`<key>.undo`, in reverse
 * dependency order, as a cancellation's) and their new runs (`<key>.r<revision>`, each after its own
 * compensation and after the new runs of its redone prerequisites) — and the new prerequisites of the
 * items that waited for a redone one.
 */
export function supplementalRun(
  items: Iterable<ItemRecord>,
  redo: readonly string[],
  planItemOf: PlanItemOf,
  revision: number,
  at: string,
): { add: ItemRecord[]; rewire: { key: string; dependsOn: string[] }[] } {
  const all = [...items];
  const redone = new Set(redo);
  const renamed = (key: string) => (redone.has(key) ? redoKeyOf(key, revision) : key);
  const undo = compensationItems(all, redone, planItemOf, `for revision ${revision}`, at).map((item) => ({
    ...item,
    revision,
  }));
  const again = all
    .filter((item) => redone.has(item.key))
    .map(
      (item): ItemRecord => ({
        orderId: item.orderId,
        key: redoKeyOf(item.key, revision),
        planId: item.planId,
        planItemId: item.planItemId,
        ...(item.lineId !== undefined ? { lineId: item.lineId } : {}),
        type: item.type,
        ...(item.interfaceId !== undefined ? { interfaceId: item.interfaceId } : {}),
        dependsOn: [compensationKeyOf(item.key), ...item.dependsOn.map(renamed)],
        supersedes: item.key,
        revision,
        // Its order's timing goes on with it: watched for jeopardy, and its place by priority.
        ...(item.watched ? { watched: true as const } : {}),
        ...(item.priority !== undefined ? { priority: item.priority } : {}),
        state: 'Pending',
        version: 1,
        recent: [
          { at, state: 'Pending', reason: `runs ${item.key} again with revision ${revision} of the order` },
        ],
        createdAt: at,
        updatedAt: at,
      }),
    );
  // What waits to start — On Hold or for a retry too — waits for the new runs instead.
  const rewire = all
    .filter(
      (item) => waitsToStart(item) && !redone.has(item.key) && item.dependsOn.some((d) => redone.has(d)),
    )
    .map((item) => ({ key: item.key, dependsOn: item.dependsOn.map(renamed) }));
  return { add: [...undo, ...again], rewire };
}
