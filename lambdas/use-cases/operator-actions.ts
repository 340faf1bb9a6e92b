import { z } from 'zod';
import { type Catalog, calloutTargetOf, plannedItemOf } from '../domain/catalog';
import type { ItemDetail, ItemRecord, OrderAggregateView } from '../domain/orchestration';
import type { Actor } from '../domain/roles';
import type { OrderStore } from '../ports/order-store';
import type { PlanRunner } from '../ports/plan-runner';
import type { PlanTasks } from '../ports/plan-tasks';
import type { RetryRuleStore } from '../ports/retry-rule-store';
import type { Telemetry } from '../ports/telemetry';
import type { WorkQueue } from '../ports/work-queue';
import { parseWith } from '../shared/http';
import { actOnItem } from './item-actions';

export interface OperatorActionDeps {
  store: OrderStore;
  queue: WorkQueue;
  tasks: PlanTasks;
  /** The metrics operators watch. */
  telemetry: Telemetry;
  /** Failing an order stops its plan runs. */
  plans: PlanRunner;
  catalog: Catalog;
  /** The connection retry rules, which decide what follows an aborted attempt. */
  rules: RetryRuleStore;
  now: () => Date;
}

const text = z.string().trim().min(1, 'is required: say why').max(1000);
/** POST /orchestration/items/{itemId}/retry and /fail */
export const reasonSchema = z.object({ reason: text }).strict();
/** POST /orchestration/items/{itemId}/skip */
export const noteSchema = z.object({ note: text }).strict();

/**
 * An operator retries an item in fallout (or one waiting for its next retry): a fresh attempt now, with
 * its retry count reset. The item is Pending again, no longer holds its order, and goes to the worker,
 * which runs it as any callout (On Hold first if its system is away).
 */
export async function retryByOperator(
  deps: OperatorActionDeps,
  itemId: string,
  body: unknown,
  by: Actor,
): Promise<ItemDetail> {
  const { reason } = parseWith(reasonSchema, body);
  return actOnItem(deps, itemId, () => ({ action: 'retry', by, reason }));
}

/**
 * An operator skips an item in fallout, waiting for a retry, or On Hold: it counts as done, with the
 * note; the worker then finishes it (its plan task answered, its dependents started). An item past
 * its point of no return — one that is itself a point of no return, or comes after one that completed
 * — cannot be skipped.
 */
export async function skipByOperator(
  deps: OperatorActionDeps,
  itemId: string,
  body: unknown,
  by: Actor,
): Promise<ItemDetail> {
  const { note } = parseWith(noteSchema, body);
  return actOnItem(deps, itemId, (aggregate, item) => {
    const past = pointOfNoReturnBehind(deps.catalog, aggregate, item);
    return { action: 'skip', by, note, ...(past ? { pastPointOfNoReturn: past } : {}) };
  });
}

/**
 * An operator fails the order of an item in fallout (or waiting for a retry): the order is `failed`,
 * the item leaves the fallout list with who and why, and the plan's wait for it fails, which ends the
 * plan's execution.
 */
export async function failByOperator(
  deps: OperatorActionDeps,
  itemId: string,
  body: unknown,
  by: Actor,
): Promise<ItemDetail> {
  const { reason } = parseWith(reasonSchema, body);
  return actOnItem(deps, itemId, () => ({ action: 'fail', by, reason }));
}

/**
 * An operator aborts a Running item — its system will not answer, or its worker hangs: the attempt ends
 * as one that got no answer, and the retry rules of its system decide, as for any failed callout: Failed
 * until its next attempt, or fallout. Audited in its history with who and why.
 */
export async function abortByOperator(
  deps: OperatorActionDeps,
  itemId: string,
  body: unknown,
  by: Actor,
): Promise<ItemDetail> {
  const { reason } = parseWith(reasonSchema, body);
  return actOnItem(deps, itemId, (_aggregate, item) => {
    const target = calloutTargetOf(deps.catalog, item);
    return { action: 'abort', by, reason, ...(target ? { target } : {}) };
  });
}

/** Why the item is past its point of no return, or undefined when it is not. */
function pointOfNoReturnBehind(
  catalog: Catalog,
  aggregate: OrderAggregateView,
  item: ItemRecord,
): string | undefined {
  // A compensation is no point of no return, whatever the item it undoes is.
  const isPoint = (i: ItemRecord) => plannedItemOf(catalog, i)?.pointOfNoReturn === true;
  if (isPoint(item)) return 'it is a point of no return';
  const seen = new Set<string>();
  const pending = [...item.dependsOn];
  while (pending.length > 0) {
    const key = pending.pop() as string;
    if (seen.has(key)) continue;
    seen.add(key);
    const before = aggregate.items.get(key);
    if (!before) continue;
    if (isPoint(before) && before.state === 'Completed') {
      return `it comes after "${before.planItemId}", a point of no return that completed`;
    }
    pending.push(...before.dependsOn);
  }
  return undefined;
}
