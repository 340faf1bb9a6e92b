import type { ItemDetail } from '../domain/orchestration';
import type { Actor } from '../domain/roles';
import type { OrderStore } from '../ports/order-store';
import type { PlanTasks } from '../ports/plan-tasks';
import type { Telemetry } from '../ports/telemetry';
import type { WorkQueue } from '../ports/work-queue';
import { actOnItem } from './item-actions';

export { parseItemId } from './item-actions';

export interface CompleteManualTaskDeps {
  store: OrderStore;
  queue: WorkQueue;
  tasks: PlanTasks;
  now: () => Date;
  /** The metrics operators watch. */
  telemetry: Telemetry;
}

/**
 * An operator completes a manual task.
 *
 * 1. Find the item; it must be a manual task waiting for an operator (Running), else 409.
 * 2. Record it Completed with the operator and the attributes they gave (a conditional write, so two
 *    operators completing it at once cannot both succeed).
 * 3. Hand it to the worker, which finishes it as any other item: attributes into the order context,
 *    the plan's task answered, dependents started.
 */
export async function completeManualTask(
  deps: CompleteManualTaskDeps,
  itemId: string,
  attributes: Record<string, unknown>,
  by: Actor,
): Promise<ItemDetail> {
  return actOnItem(deps, itemId, () => ({ action: 'complete', by, attributes }));
}
