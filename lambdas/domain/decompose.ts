import type { PlanExecutionInput } from '../../statemachines/compile-plan';
import { type Catalog, findPlanFor } from './catalog';
import { type Problem, ValidationError } from './errors';
import { type ItemRecord, itemKey, type OrderRecord } from './orchestration';
import { offeringIdOf, type ProductOrderCreate } from './product-order';

export interface Decomposition {
  order: OrderRecord;
  items: ItemRecord[];
  runs: { planId: string; executionName: string; input: PlanExecutionInput }[];
}

/**
 * Turns an accepted order into its orchestration: each line (other than `noChange`) goes to the plan that
 * fulfils its offering and action, and runs that plan's items. Lines no plan fulfils reject the whole
 * order, naming each such line.
 */
export function decompose(
  catalog: Catalog,
  orderId: string,
  submitted: ProductOrderCreate,
  at: string,
): Decomposition {
  const problems: Problem[] = [];
  const items: ItemRecord[] = [];
  const runs: Decomposition['runs'] = [];

  submitted.productOrderItem.forEach((line, index) => {
    if (line.action === 'noChange') return;
    const offering = offeringIdOf(line);
    const plan = findPlanFor(catalog, offering, line.action);
    if (!plan) {
      problems.push({
        field: `productOrderItem.${index}.productOffering`,
        message: `no plan fulfils offering "${offering}" with action "${line.action}" (line "${line.id}")`,
      });
      return;
    }
    const lineSeq = String(index + 1);
    for (const planItem of plan.items) {
      items.push({
        orderId,
        key: itemKey(lineSeq, planItem.id),
        planId: plan.id,
        planItemId: planItem.id,
        lineId: line.id,
        type: planItem.type,
        ...(planItem.interface !== undefined ? { interfaceId: planItem.interface } : {}),
        dependsOn: planItem.dependsOn.map((dep) => itemKey(lineSeq, dep)),
        state: 'Pending',
        history: [{ at, state: 'Pending', reason: `decomposed from line "${line.id}" by plan "${plan.id}"` }],
        createdAt: at,
        updatedAt: at,
      });
    }
    runs.push({ planId: plan.id, executionName: `${orderId}-${lineSeq}`, input: { orderId, lineSeq } });
  });

  if (problems.length > 0) throw new ValidationError(problems);
  if (items.length === 0) {
    throw new ValidationError([
      { field: 'productOrderItem', message: 'every line is "noChange": there is nothing to fulfil' },
    ]);
  }
  const order: OrderRecord = {
    id: orderId,
    state: 'acknowledged',
    submitted: submitted as Record<string, unknown>,
    itemKeys: items.map((item) => item.key),
    doneItems: [],
    planRuns: runs.map(({ planId, executionName }) => ({ planId, executionName })),
    createdAt: at,
    updatedAt: at,
  };
  return { order, items, runs };
}
