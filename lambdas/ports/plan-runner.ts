import type { PlanExecutionInput } from '../../statemachines/compile-plan';

/** Starts and stops plan executions (Step Functions). */
export interface PlanRunner {
  /** Idempotent by execution name: starting the same run twice is not an error. */
  start(planId: string, executionName: string, input: PlanExecutionInput): Promise<void>;
  /**
   * Stops a run, with `error` (default `Switchboard.OrderFailed`) and `cause`; one that has ended
   * already, or never started, is no error.
   */
  stop(planId: string, executionName: string, cause: string, error?: string): Promise<void>;
}
