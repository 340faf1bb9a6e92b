import type { PlanDefinition, PlanItem } from './plan-definition';

/** The name of the definition substitution that CDK fills with the work queue's URL. */
export const WORK_QUEUE_URL = 'WorkQueueUrl';

/** What a plan execution starts with: ids only; the order itself lives in DynamoDB. */
export interface PlanExecutionInput {
  orderId: string;
  /** The order line the run fulfils, as its 1-based position; item keys are `<lineSeq>.<planItemId>`. */
  lineSeq: string;
}

/** The message each item's wait puts on the work queue. */
export interface ItemDispatch {
  orderId: string;
  itemKey: string;
  taskToken: string;
}

type AslState = Record<string, unknown>;
export interface AslDefinition {
  Comment: string;
  StartAt: string;
  States: Record<string, AslState>;
}

/**
 * Compiles a plan definition to Amazon States Language (JSONPath only).
 *
 * Every item becomes one branch of a single Parallel state, and each branch is one Task that puts the
 * item on the work queue and waits for its task token. The dependency graph is not encoded in the
 * state machine: the callout worker starts an item the moment its last prerequisite is done. That makes
 * any DAG (series-parallel or not) start every item at its earliest possible time, costs one Task state
 * per item however often it is retried or held, and keeps retry rules and holds changeable at runtime.
 */
export function compilePlan(plan: PlanDefinition): AslDefinition {
  return {
    Comment: `Switchboard plan "${plan.id}": one wait per orchestration item; ordering, retries and holds live in the callout worker.`,
    StartAt: 'Items',
    States: {
      Items: {
        Type: 'Parallel',
        Branches: plan.items.map((item) => ({
          StartAt: item.id,
          States: { [item.id]: itemWait(item, plan) },
        })),
        ResultPath: null,
        End: true,
      },
    },
  };
}

function itemWait(item: PlanItem, plan: PlanDefinition): AslState {
  return {
    Type: 'Task',
    Comment: `${item.type} ${item.id}`,
    Resource: 'arn:aws:states:::sqs:sendMessage.waitForTaskToken',
    Parameters: {
      QueueUrl: `\${${WORK_QUEUE_URL}}`,
      MessageBody: {
        'orderId.$': '$.orderId',
        'itemKey.$': `States.Format('{}.${item.id}', $.lineSeq)`,
        'taskToken.$': '$$.Task.Token',
      },
    },
    TimeoutSeconds: plan.timeoutSeconds,
    ResultPath: null,
    End: true,
  };
}
