import { randomUUID } from 'node:crypto';
import type { Catalog } from '../domain/catalog';
import { decompose } from '../domain/decompose';
import type { OrderRecord } from '../domain/orchestration';
import type { ProductOrderCreate } from '../domain/product-order';
import type { Actor } from '../domain/roles';
import type { OrderStore } from '../ports/order-store';
import type { PlanRunner } from '../ports/plan-runner';

export interface SubmitOrderDeps {
  store: OrderStore;
  plans: PlanRunner;
  catalog: Catalog;
  now: () => Date;
  newId?: () => string;
}

/**
 * Accepts a validated TMF622 order.
 *
 * 1. Decompose it (the submitter is recorded on the order): each line to its plan, each plan item to an orchestration item (rejects unknown offerings).
 * 2. Store the items, then the order, so a reader never sees an order without its items.
 * 3. Start one plan execution per line, named after the order and line, so a retry starts nothing twice.
 */
export async function submitOrder(
  deps: SubmitOrderDeps,
  submitted: ProductOrderCreate,
  submittedBy: Actor,
): Promise<OrderRecord> {
  const at = deps.now().toISOString();
  const orderId = (deps.newId ?? randomUUID)();
  const { order, items, runs } = decompose(deps.catalog, orderId, submitted, at);
  order.submittedBy = submittedBy;
  await deps.store.createOrder(order, items);
  for (const run of runs) await deps.plans.start(run.planId, run.executionName, run.input);
  return order;
}
