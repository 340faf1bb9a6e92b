import type { PlanExecutionInput } from '../../statemachines/compile-plan';

/** Starts and stops plan executions (Step Functions). */
export interface PlanRunner {
  /** Idempotent by execution name: starting the same run twice is not an error. */
  start(planId: string, executionName: string, input: PlanExecutionInput): Promise<void>;
  /** Stops a run; one that has ended already, or never started, is no error. */
  stop(planId: string, executionName: string, cause: string): Promise<void>;
}
