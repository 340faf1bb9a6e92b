/** Answers the plan executions' waits (Step Functions task tokens). */
export interface PlanTasks {
  /** 'gone' when the execution no longer waits for this token (it timed out, was stopped, or already got its answer). */
  succeed(taskToken: string, output: Record<string, unknown>): Promise<'ok' | 'gone'>;
  /** Fails the wait, which fails the plan's execution (an operator failed the order). */
  fail(taskToken: string, error: string, cause: string): Promise<'ok' | 'gone'>;
}
