/** The events the plan-run watcher is invoked with: the names the stack's rules and the handler share. */

/** Where Step Functions announces its executions' status changes (on the default bus). */
export const STEP_FUNCTIONS_SOURCE = 'aws.states';
/** What Step Functions announces as an execution changes status. */
export const EXECUTION_STATUS_CHANGE = 'Step Functions Execution Status Change';
/** The statuses of a run that ended without finishing its items: the only ones the watcher is sent. */
export const ABNORMAL_END = ['FAILED', 'TIMED_OUT', 'ABORTED'] as const;
/** What an EventBridge schedule rule sends. */
export const SCHEDULED_EVENT = 'Scheduled Event';
