import { type Assessment, assess, jeopardyChanged, type PlansById } from '../domain/jeopardy';
import type { OrderStore } from '../ports/order-store';
import type { OrderWatch } from '../ports/order-watch';

export interface WatchDeps {
  store: Pick<OrderStore, 'getAggregate'>;
  watch: OrderWatch;
  plans: PlansById;
  now: () => Date;
}

/** How many orders one look of the sweep assesses at most; the rest wait for the next look. */
export const SWEEP_LIMIT = 200;

/**
 * Assesses each order again (jeopardy.ts) and keeps what changed: its jeopardy raised, cleared or for
 * other reasons (which its stream record announces as a ProductOrderJeopardyAlertEvent), its expected
 * completion, and when to look again. Nothing is written for an order whose assessment is the same.
 */
export async function assessOrders(deps: WatchDeps, orderIds: Iterable<string>): Promise<number> {
  let written = 0;
  for (const orderId of new Set(orderIds)) {
    const aggregate = await deps.store.getAggregate(orderId);
    if (!aggregate?.order.dueDate) continue;
    const { order } = aggregate;
    const now = deps.now();
    const assessment = assess(order, aggregate.items.values(), deps.plans, now);
    if (!changed(order, assessment)) continue;
    await deps.watch.record(orderId, assessment, now.toISOString(), order.updatedAt);
    written++;
  }
  return written;
}

/** Looks at the orders whose next check has come (the sweep, every minute). */
export async function sweepDueDates(deps: WatchDeps): Promise<number> {
  return assessOrders(deps, await deps.watch.due(deps.now().toISOString(), SWEEP_LIMIT));
}

function changed(
  order: { jeopardy?: Assessment['jeopardy']; expectedCompletionDate?: string; nextCheckAt?: string },
  assessment: Assessment,
): boolean {
  return (
    jeopardyChanged(order.jeopardy, assessment.jeopardy) ||
    order.expectedCompletionDate !== assessment.expectedCompletionDate ||
    order.nextCheckAt !== assessment.nextCheckAt
  );
}
