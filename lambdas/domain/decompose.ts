import { itemKey, MAX_LINES_PER_RUN, type PlanExecutionInput } from '../../statemachines/compile-plan';
import type { PlanDefinition } from '../../statemachines/plan-definition';
import { type Catalog, findPlanFor } from './catalog';
import { PayloadTooLargeError, type Problem, ValidationError } from './errors';
import { dueDateOf } from './jeopardy';
import { checkLineCharacteristics } from './offering';
import type { ItemRecord, OrderRecord } from './orchestration';
import { MAX_ORDER_BYTES, offeringIdOf, type ProductOrderCreate } from './product-order';

export interface Decomposition {
  order: OrderRecord;
  items: ItemRecord[];
  runs: { planId: string; executionName: string; input: PlanExecutionInput }[];
}

interface Line {
  id: string;
  seq: string;
}

/**
 * Turns an accepted order into its orchestration. Each line (other than `noChange`) goes to the plan
 * that fulfils its offering and action; each plan runs once per order over the lines it fulfils, with
 * its order-scoped items once and its line-scoped items once per line. A dependency on a line-scoped
 * item means the same line's instance, or every instance when the dependent is order-scoped. Each
 * line's characteristics are held to its offering's declaration, and the order is kept with them as
 * read (typed, with the offering's defaults). Lines no plan fulfils, or whose characteristics do not
 * fit, reject the whole order, naming every problem.
 */
export function decompose(
  catalog: Catalog,
  orderId: string,
  submitted: ProductOrderCreate,
  at: string,
  /**
   * For lines an amendment adds (amend-order.ts): the position the first of them counts from (after
   * every line the order had), and what its plan runs are named after.
   */
  added?: { firstSeq: number; runPrefix: string },
): Decomposition {
  const problems: Problem[] = [];
  const linesByPlan = new Map<string, { plan: PlanDefinition; lines: Line[] }>();

  const kept = submitted.productOrderItem.map((line, index) => {
    if (line.action === 'noChange') return line;
    const offering = offeringIdOf(line);
    const plan = findPlanFor(catalog, offering, line.action);
    if (!plan) {
      problems.push({
        field: `productOrderItem.${index}.productOffering`,
        message: `no plan fulfils offering "${offering}" with action "${line.action}" (line "${line.id}")`,
      });
      return line;
    }
    const declared = catalog.offerings[offering];
    // The catalog's loader makes every offering a plan fulfils declared: a gap is a bug, not a bad order.
    if (!declared) throw new Error(`plan "${plan.id}" fulfils offering "${offering}", which is not declared`);
    const checked = checkLineCharacteristics(declared, line, index);
    problems.push(...checked.problems);
    const entry = linesByPlan.get(plan.id) ?? { plan, lines: [] };
    entry.lines.push({ id: line.id, seq: String(index + (added?.firstSeq ?? 1)) });
    linesByPlan.set(plan.id, entry);
    return checked.line;
  });
  for (const { plan, lines } of linesByPlan.values()) {
    if (lines.length > MAX_LINES_PER_RUN) {
      problems.push({
        field: 'productOrderItem',
        message: `${lines.length} lines go to plan "${plan.id}"; one order may send at most ${MAX_LINES_PER_RUN} lines to a plan`,
      });
    }
  }
  if (problems.length > 0) throw new ValidationError(problems);
  if (linesByPlan.size === 0) {
    throw new ValidationError([
      { field: 'productOrderItem', message: 'every line is "noChange": there is nothing to fulfil' },
    ]);
  }

  const accepted = { ...submitted, productOrderItem: kept };
  if (kept.some((line, i) => line !== submitted.productOrderItem[i])) {
    // Defaults make the order bigger than it came: it must still fit what an order may be.
    const size = Buffer.byteLength(JSON.stringify(accepted));
    if (size > MAX_ORDER_BYTES)
      throw new PayloadTooLargeError(
        `the order with its offerings' defaults is ${size} bytes as JSON; at most ${MAX_ORDER_BYTES} are accepted (docs/api.md#limits)`,
      );
  }

  const items: ItemRecord[] = [];
  const runs: Decomposition['runs'] = [];
  [...linesByPlan.values()].forEach(({ plan, lines }, runIndex) => {
    items.push(...planItems(plan, lines, orderId, at));
    runs.push({
      planId: plan.id,
      executionName: `${added?.runPrefix ?? `${orderId}-`}${runIndex + 1}`,
      input: { orderId, lines: lines.map((l) => l.seq) },
    });
  });
  const order: OrderRecord = {
    id: orderId,
    state: 'acknowledged',
    submitted: accepted as Record<string, unknown>,
    itemKeys: items.map((item) => item.key),
    planRuns: runs.map(({ planId, executionName }) => ({
      planId,
      executionName,
      lineIds: linesByPlan.get(planId)?.lines.map((l) => l.id) ?? [],
    })),
    createdAt: at,
    updatedAt: at,
  };
  const due = dueDateOf(order, catalog.plans);
  const priority = priorityOf(order.submitted.priority);
  // What the items need of their order's timing, they carry: whether a due date watches them (no read of
  // the order to know), and its priority (their place on a system's waiting list).
  const timed = items.map(
    (item): ItemRecord => ({
      ...item,
      ...(due === undefined ? {} : { watched: true }),
      ...(priority === undefined ? {} : { priority }),
    }),
  );
  return { order: added || due === undefined ? order : { ...order, dueDate: due }, items: timed, runs };
}

/**
 * TMF622's `priority` as a number, 0 the highest: "0" to "3"; the lowest, "4", and anything else
 * (the field is free text in TMF622) are the default, no priority.
 */
export function priorityOf(priority: unknown): number | undefined {
  return typeof priority === 'string' && /^[0-3]$/.test(priority) ? Number(priority) : undefined;
}

function planItems(plan: PlanDefinition, lines: Line[], orderId: string, at: string): ItemRecord[] {
  const byId = new Map(plan.items.map((item) => [item.id, item]));
  /** The keys an instance (on `line`, or order-scoped when undefined) waits for. */
  const prerequisites = (depIds: string[], line: Line | undefined) =>
    depIds.flatMap((depId) => {
      const dep = byId.get(depId);
      if (!dep) return [];
      if (dep.scope === 'order') return [itemKey(plan.id, depId)];
      return line ? [itemKey(plan.id, depId, line.seq)] : lines.map((l) => itemKey(plan.id, depId, l.seq));
    });
  return plan.items.flatMap((planItem) =>
    (planItem.scope === 'order' ? [undefined] : lines).map(
      (line): ItemRecord => ({
        orderId,
        key: itemKey(plan.id, planItem.id, line?.seq),
        planId: plan.id,
        planItemId: planItem.id,
        ...(line ? { lineId: line.id } : {}),
        type: planItem.type,
        ...(planItem.interface !== undefined ? { interfaceId: planItem.interface } : {}),
        dependsOn: prerequisites(planItem.dependsOn, line),
        state: 'Pending',
        version: 1,
        recent: [
          {
            at,
            state: 'Pending',
            reason: `decomposed by plan "${plan.id}"${line ? ` for line "${line.id}"` : ' for the order'}`,
          },
        ],
        createdAt: at,
        updatedAt: at,
      }),
    ),
  );
}

/**
 * The input a plan run of `order` was started with (see decompose): the order's id and the 1-based
 * positions of the lines the run fulfils. Starting a run again with it is the same run.
 */
export function runInput(order: OrderRecord, run: OrderRecord['planRuns'][number]): PlanExecutionInput {
  const lines = (order.submitted.productOrderItem ?? []) as { id?: unknown }[];
  const positions = run.lineIds.map((id) => String(lines.findIndex((line) => line.id === id) + 1));
  return { orderId: order.id, lines: positions };
}
