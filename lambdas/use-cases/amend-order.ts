import {
  assessAmendment,
  diffLines,
  MAX_REVISIONS,
  mergePatch,
  redoKeyOf,
  supplementalRun,
  unchangeableFields,
} from '../domain/amendment';
import { mappingExpression, mappingInput } from '../domain/callout';
import { compensationItems, plannedItems } from '../domain/cancellation';
import { type Catalog, plannedItemOf } from '../domain/catalog';
import { type Decomposition, decompose } from '../domain/decompose';
import { ConflictError, NotFoundError, type Problem, ValidationError } from '../domain/errors';
import { evaluateMapping } from '../domain/mapping';
import { checkLineCharacteristics } from '../domain/offering';
import {
  CANCELLABLE_ORDER_STATES,
  type ItemRecord,
  type LineChange,
  type OrderAggregateView,
  type OrderRecord,
  prerequisitesDone,
  type Revision,
  waitsToStart,
} from '../domain/orchestration';
import { expandPath } from '../domain/path-template';
import {
  offeringIdOf,
  type ProductOrderCreate,
  type ProductOrderItemCreate,
  productOrderCreateSchema,
} from '../domain/product-order';
import { actorOf, type Caller, maySeeOrder } from '../domain/roles';
import type { OrderStore } from '../ports/order-store';
import type { PlanRunner } from '../ports/plan-runner';
import type { WorkQueue } from '../ports/work-queue';
import { problemsFrom } from '../shared/http';
import { logger } from '../shared/logger';
import { planItemOf } from './cancel-order';

/**
 * Amending an order in flight: TMF622 `PATCH /productOrder/{id}` with a JSON merge patch of its lines
 * (domain/amendment.ts says what a change means for each item). Done in the request, so that a refusal
 * is its answer (409, nothing changed):
 *
 * 1. The patch is applied to the order as accepted and checked as a new order's lines are; only lines
 *    change (their characteristics, prices, quantity), lines are removed, or added (a plan run of their
 *    own fulfils them, started once the amendment is saved).
 * 2. The order is locked for the amendment (a conditional write; it runs out after a minute), and the
 *    items of the changed lines that wait to start (Pending, On Hold, for a retry) are frozen: none
 *    starts with values about to change.
 * 3. The items are read again and assessed. Refused: they are thawed, the lock taken off, 409.
 * 4. Otherwise, the supplemental run is written — each redone item's compensation and its new run,
 *    the items that waited for it made to wait for the new run — the redone items are Compensating, the
 *    removed lines' items skipped or compensated, the order as amended and its revision kept, and the
 *    lock taken off; what may start now is sent to the worker.
 */

export interface AmendOrderDeps {
  store: OrderStore;
  queue: WorkQueue;
  /** Starts the plan runs of the lines an amendment adds. */
  plans: PlanRunner;
  catalog: Catalog;
  now: () => Date;
}

/** How long an amendment's lock and freeze hold, should the request that took them not finish. */
export const AMENDMENT_LOCK_SECONDS = 60;

export async function amendOrder(
  deps: AmendOrderDeps,
  orderId: string,
  patch: unknown,
  caller: Caller,
): Promise<{ order: OrderRecord; aggregate: OrderAggregateView; revision?: Revision }> {
  const { store } = deps;
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch))
    throw new ValidationError([{ field: 'body', message: 'is a JSON merge patch: a JSON object' }]);
  const first = await store.getAggregate(orderId);
  // Another submitter's order is answered as one that does not exist: its id tells nothing.
  if (!first || !maySeeOrder(caller, first.order))
    throw new NotFoundError(`no productOrder with id "${orderId}"`);
  const { order } = first;
  if (order.cancellation || !CANCELLABLE_ORDER_STATES.includes(order.state))
    throw new ConflictError(
      `order ${orderId} is ${order.state}: only an order ${CANCELLABLE_ORDER_STATES.join(', ')} can be amended`,
    );
  const revisionNumber = (order.revision ?? 1) + 1;
  if (revisionNumber > MAX_REVISIONS)
    throw new ConflictError(
      `order ${orderId} has been amended ${MAX_REVISIONS - 1} times, the most it may be`,
    );

  const { amended, changes } = checkedAmendment(deps.catalog, order.submitted, patch);
  if (changes.length === 0) return { order, aggregate: first };
  const now = deps.now();
  const until = new Date(now.getTime() + AMENDMENT_LOCK_SECONDS * 1000).toISOString();
  if (
    !(await store.beginAmendment(orderId, revisionNumber, CANCELLABLE_ORDER_STATES, until, now.toISOString()))
  )
    throw new ConflictError(
      `order ${orderId} changed, or is being amended or cancelled, meanwhile; ask again`,
    );
  const touched = new Set(changes.map((c) => c.lineId));
  const frozen: string[] = [];
  try {
    for (const item of plannedItems(first.items.values()))
      if (
        item.state === 'Pending' &&
        touched.has(item.lineId ?? '') &&
        (await store.freezeForAmendment(orderId, item.key, revisionNumber, until))
      )
        frozen.push(item.key);
    // Read again once nothing of the changed lines can start: what started meanwhile is seen now.
    const aggregate = await readOrder(store, orderId);
    const changedLines = new Set(changes.filter((c) => c.change === 'changed').map((c) => c.lineId));
    const affected = await affectedItems(deps.catalog, aggregate, amended, changedLines);
    const plan = planItemOf(deps.catalog);
    const assessment = assessAmendment(aggregate.items.values(), changes, plan, affected);
    if (assessment.kind === 'refused') throw new ConflictError(assessment.reason);

    const at = deps.now().toISOString();
    const { add, rewire } = supplementalRun(
      aggregate.items.values(),
      assessment.redo,
      plan,
      revisionNumber,
      at,
    );
    const undoRemoved = compensationItems(
      aggregate.items.values(),
      new Set(assessment.compensate),
      plan,
      `for revision ${revisionNumber} (its line is removed)`,
      at,
    ).map((item) => ({ ...item, revision: revisionNumber }));
    const fresh = addedLines(deps.catalog, aggregate, amended, changes, revisionNumber, at);
    await store.addItems(orderId, [...add, ...undoRemoved, ...fresh.items]);
    for (const { key, dependsOn } of rewire) await store.rewire(orderId, key, dependsOn);
    const why = `revision ${revisionNumber} of the order`;
    for (const key of assessment.redo)
      await store.cancelItem(
        orderId,
        key,
        'compensate',
        `compensating: ${why} changes what it did; it runs again as ${redoKeyOf(key, revisionNumber)}`,
        at,
      );
    for (const key of assessment.compensate)
      await store.cancelItem(orderId, key, 'compensate', `compensating: ${why} removes its line`, at);
    for (const key of assessment.discard)
      await store.cancelItem(orderId, key, 'removeLine', `${why} removes its line`, at);

    const revision: Revision = {
      revision: revisionNumber,
      at,
      by: actorOf(caller),
      changes,
      redone: assessment.redo,
      discarded: assessment.discard,
      compensated: assessment.compensate,
    };
    const redoKeys = add.filter((item) => item.supersedes !== undefined).map((item) => item.key);
    const newKeys = [
      ...redoKeys,
      ...fresh.items.map((item) => item.key).filter((key) => !aggregate.items.has(key)),
    ];
    if (!(await store.saveAmendment(orderId, revision, amended, newKeys, fresh.runs)))
      throw new ConflictError(`the amendment of order ${orderId} took longer than its lock; ask again`);
    // The added lines' plans run as an order's do: their waits dispatch the new items.
    for (const run of fresh.starts) await deps.plans.start(run.planId, run.executionName, run.input);
    for (const key of frozen) await store.thaw(orderId, key);
    await startWhatMay(deps, orderId, [
      ...frozen,
      ...assessment.discard,
      ...add.map((i) => i.key),
      ...undoRemoved.map((i) => i.key),
    ]);
    logger.info('order amended', { orderId, revision: revisionNumber, redone: assessment.redo.length });
    // The order as amended, with its items: what the answer shows.
    const saved = await readOrder(store, orderId);
    return { order: saved.order, aggregate: saved, revision };
  } catch (error) {
    // Nothing of it was written but the freeze and the lock (a refusal), or a write failed: both go.
    for (const key of frozen) await store.thaw(orderId, key).catch(() => undefined);
    await store.endAmendment(orderId, revisionNumber).catch(() => undefined);
    if (error instanceof ConflictError) await startWhatMay(deps, orderId, frozen);
    throw error;
  }
}

/**
 * The items and plan runs of the lines an amendment adds, decomposed as a new order's lines are: their
 * positions count on after every line the order has had, their runs are named after the revision.
 */
function addedLines(
  catalog: Catalog,
  aggregate: OrderAggregateView,
  amended: Record<string, unknown>,
  changes: readonly LineChange[],
  revision: number,
  at: string,
): { items: ItemRecord[]; runs: OrderRecord['planRuns']; starts: Decomposition['runs'] } {
  const added = new Set(changes.filter((c) => c.change === 'added').map((c) => c.lineId));
  if (added.size === 0) return { items: [], runs: [], starts: [] };
  const lines = (amended.productOrderItem as ProductOrderItemCreate[]).filter((line) => added.has(line.id));
  const positions = [...aggregate.items.keys()]
    .map((key) => Number(key.split('.')[2]))
    .filter(Number.isInteger);
  const firstSeq =
    Math.max(0, ...positions, (aggregate.order.submitted.productOrderItem as unknown[]).length) + 1;
  let decomposed: Decomposition;
  try {
    decomposed = decompose(
      catalog,
      aggregate.order.id,
      { ...(amended as ProductOrderCreate), productOrderItem: lines },
      at,
      { firstSeq, runPrefix: `${aggregate.order.id}-r${revision}-` },
    );
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    // Named as the patch has them: the added lines' places among all the order's lines.
    const all = amended.productOrderItem as ProductOrderItemCreate[];
    throw new ValidationError(
      error.problems.map((problem) => ({
        ...problem,
        field: problem.field.replace(/^productOrderItem\.(\d+)/, (_whole, i: string) => {
          const line = lines[Number(i)];
          return `productOrderItem.${line ? all.indexOf(line) : i}`;
        }),
      })),
    );
  }
  const { order, items, runs } = decomposed;
  return { items: items.map((item) => ({ ...item, revision })), runs: order.planRuns, starts: runs };
}

/** The order as amended, checked as a new order's lines are, and what changed; 400 naming each problem. */
function checkedAmendment(
  catalog: Catalog,
  submitted: Record<string, unknown>,
  patch: object,
): { amended: Record<string, unknown>; changes: ReturnType<typeof diffLines>['changes'] } {
  const merged = mergePatch(submitted, patch) as Record<string, unknown>;
  const problems: Problem[] = [...unchangeableFields(submitted, merged)];
  const parsed = productOrderCreateSchema.safeParse(merged);
  if (!parsed.success) problems.push(...problemsFrom(parsed.error.issues));
  if (problems.length > 0 || !parsed.success) throw new ValidationError(problems);
  const before = (submitted.productOrderItem as ProductOrderItemCreate[] | undefined) ?? [];
  const { changes, problems: lineProblems } = diffLines(before, parsed.data.productOrderItem);
  problems.push(...lineProblems);
  // Each changed line is held to its offering's declaration, as when the order came.
  const lines = parsed.data.productOrderItem.map((line, index) => {
    if (!changes.some((c) => c.lineId === line.id && c.change !== 'removed')) return line;
    const offering = catalog.offerings[offeringIdOf(line)];
    if (!offering) return line;
    const checked = checkLineCharacteristics(offering, line, index);
    problems.push(...checked.problems);
    return checked.line;
  });
  if (problems.length > 0) throw new ValidationError(problems);
  return { amended: { ...parsed.data, productOrderItem: lines } as Record<string, unknown>, changes };
}

/**
 * The completed and running items of the changed lines that the change affects: what they would send now — a
 * callout's path and body, a procedure's input, an auto task's attributes — differs from what the order
 * before the change gives. One whose request cannot be worked out either way counts as affected.
 */
async function affectedItems(
  catalog: Catalog,
  aggregate: OrderAggregateView,
  amended: Record<string, unknown>,
  changedLines: ReadonlySet<string>,
): Promise<Set<string>> {
  const affected = new Set<string>();
  for (const item of plannedItems(aggregate.items.values())) {
    if ((item.state !== 'Completed' && item.state !== 'Running') || !changedLines.has(item.lineId ?? ''))
      continue;
    const [before, after] = await Promise.all([
      requestOf(catalog, aggregate, item, aggregate.order.submitted),
      requestOf(catalog, aggregate, item, amended),
    ]);
    if (before === undefined || after === undefined || before !== after) affected.add(item.key);
  }
  return affected;
}

/** What the item sends, as JSON, were it to run on `submitted`; undefined when it cannot be worked out. */
async function requestOf(
  catalog: Catalog,
  aggregate: OrderAggregateView,
  item: ItemRecord,
  submitted: Record<string, unknown>,
): Promise<string | undefined> {
  const planned = plannedItemOf(catalog, item);
  const input = mappingInput(
    { ...aggregate.order, submitted },
    item,
    aggregate.context,
    aggregate.items.values(),
  );
  try {
    if (item.type === 'callout') {
      const iface = catalog.interfaces[item.interfaceId ?? ''];
      if (!iface) return undefined;
      const body =
        iface.requestMapping !== undefined
          ? await evaluateMapping(
              iface.requestMapping,
              mappingExpression(catalog, iface.requestMapping),
              input,
            )
          : iface.method === 'GET' || iface.method === 'DELETE'
            ? null
            : { order: input.order, line: input.line, attributes: input.attributes };
      return JSON.stringify([await expandPath(iface.path, input, iface.id), body]);
    }
    if (planned?.procedure !== undefined)
      return JSON.stringify(
        planned.input ? await evaluateMapping(`${item.planItemId}.input`, planned.input, input) : input.line,
      );
    if (planned?.setAttributes !== undefined)
      return JSON.stringify(
        await evaluateMapping(`${item.planItemId}.setAttributes`, planned.setAttributes, input),
      );
    return '';
  } catch {
    return undefined;
  }
}

/**
 * Sends to the worker what may start now among `keys`: Pending items whose prerequisites are done and
 * that a plan run dispatched (or that no plan run dispatches: compensations and runs again), and the
 * skipped items of removed lines, whose finish answers their plan run.
 */
async function startWhatMay(deps: AmendOrderDeps, orderId: string, keys: string[]): Promise<void> {
  if (keys.length === 0) return;
  const { items, done } = await deps.store.getProgressWith(orderId, [...new Set(keys)]);
  const starts = [...items.values()].filter(
    (item) =>
      item.state === 'Skipped' ||
      (waitsToStart(item) &&
        ((item.taskTokens?.length ?? 0) > 0 ||
          item.compensates !== undefined ||
          item.supersedes !== undefined) &&
        prerequisitesDone(item, done ?? [])),
  );
  if (starts.length > 0)
    await deps.queue.send(starts.map((item) => ({ kind: 'start', orderId, itemKey: item.key })));
  logger.info('amendment sends to work what may start', {
    orderId,
    looked: [...items.keys()],
    started: starts.map((item) => item.key),
  });
}

async function readOrder(store: OrderStore, orderId: string): Promise<OrderAggregateView> {
  const aggregate = await store.getAggregate(orderId);
  if (!aggregate) throw new Error(`order "${orderId}" is gone`);
  return aggregate;
}
