import type { PlanExecutionInput } from '../../statemachines/compile-plan';

/** Starts plan executions (Step Functions). */
export interface PlanRunner {
  /** Idempotent by execution name: starting the same run twice is not an error. */
  start(planId: string, executionName: string, input: PlanExecutionInput): Promise<void>;
}
