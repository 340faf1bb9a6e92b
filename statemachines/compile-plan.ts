import type { PlanDefinition, PlanItem } from './plan-definition';

/** The name of the definition substitution that CDK fills with the work queue's URL. */
export const WORK_QUEUE_URL = 'WorkQueueUrl';

/** What a plan execution starts with: ids only; the order itself lives in DynamoDB. */
export interface PlanExecutionInput {
  orderId: string;
  /** The order lines this run fulfils, as their 1-based positions in the order. */
  lines: string[];
}

/** The message each item's wait puts on the work queue. */
export interface ItemDispatch {
  orderId: string;
  itemKey: string;
  taskToken: string;
}

/**
 * An item's key in its order: `<plan>.<item>` for an order-scoped item, `<plan>.<item>.<line>` for one
 * instance of a line-scoped item. Plan and item ids are slugs, so a key never holds another dot.
 */
export function itemKey(planId: string, itemId: string, lineSeq?: string): string {
  return lineSeq === undefined ? `${planId}.${itemId}` : `${planId}.${itemId}.${lineSeq}`;
}

/** The plan and plan item an item's key names (see itemKey). */
export function planItemOf(key: string): { planId: string; itemId: string } {
  const [planId = '', itemId = ''] = key.split('.');
  return { planId, itemId };
}

/** Inline Map states run at most 40 iterations at once on AWS; a run covers at most that many lines. */
export const MAX_LINES_PER_RUN = 40;

type AslState = Record<string, unknown>;
export interface AslDefinition {
  Comment: string;
  StartAt: string;
  States: Record<string, AslState>;
}

/**
 * Compiles a plan definition to Amazon States Language (JSONPath only).
 *
 * Every item instance gets exactly one Task that puts it on the work queue and waits for its task token:
 * order-scoped items once, line-scoped items once per line through a Map over the run's lines. All waits
 * are open at once; the dependency graph is not encoded in the state machine. The callout worker starts
 * an item the moment its last prerequisite is done, which makes any DAG (series-parallel or not) start
 * every item at its earliest possible time, costs one Task state per item however often it is retried
 * or held, and keeps retry rules and holds changeable at runtime. Parallel and Map states are only
 * added where there is more than one thing to wait for.
 */
export function compilePlan(plan: PlanDefinition): AslDefinition {
  const orderItems = plan.items.filter((item) => item.scope === 'order');
  const lineItems = plan.items.filter((item) => item.scope === 'line');
  const branches: Record<string, AslState>[] = orderItems.map((item) => ({
    [item.id]: itemWait(plan, item, itemKey(plan.id, item.id)),
  }));
  if (lineItems.length > 0) branches.push({ Lines: linesMap(plan, lineItems) });
  const comment = `Switchboard plan "${plan.id}": one wait per orchestration item; ordering, retries and holds live in the callout worker.`;
  const [only] = branches;
  if (branches.length === 1 && only) return { Comment: comment, ...single(only) };
  return {
    Comment: comment,
    StartAt: 'Items',
    States: { Items: { Type: 'Parallel', Branches: branches.map(single), ResultPath: null, End: true } },
  };
}

function single(states: Record<string, AslState>): { StartAt: string; States: Record<string, AslState> } {
  return { StartAt: Object.keys(states)[0] ?? '', States: states };
}

function linesMap(plan: PlanDefinition, items: PlanItem[]): AslState {
  const waits = Object.fromEntries(
    items.map((item) => [
      item.id,
      itemWait(plan, item, { 'itemKey.$': `States.Format('${itemKey(plan.id, item.id)}.{}', $.lineSeq)` }),
    ]),
  );
  const perLine =
    items.length === 1
      ? single(waits)
      : single({
          LineItems: {
            Type: 'Parallel',
            Branches: Object.entries(waits).map(([name, state]) => single({ [name]: state })),
            ResultPath: null,
            End: true,
          },
        });
  return {
    Type: 'Map',
    ItemsPath: '$.lines',
    ItemSelector: { 'orderId.$': '$.orderId', 'lineSeq.$': '$$.Map.Item.Value' },
    MaxConcurrency: MAX_LINES_PER_RUN,
    ItemProcessor: { ProcessorConfig: { Mode: 'INLINE' }, ...perLine },
    ResultPath: null,
    End: true,
  };
}

function itemWait(plan: PlanDefinition, item: PlanItem, key: string | Record<string, string>): AslState {
  return {
    Type: 'Task',
    Comment: `${item.type} ${item.id} (${item.scope} scope)`,
    Resource: 'arn:aws:states:::sqs:sendMessage.waitForTaskToken',
    Parameters: {
      QueueUrl: `\${${WORK_QUEUE_URL}}`,
      MessageBody: {
        'orderId.$': '$.orderId',
        ...(typeof key === 'string' ? { itemKey: key } : key),
        'taskToken.$': '$$.Task.Token',
      },
    },
    TimeoutSeconds: item.timeoutSeconds ?? plan.timeoutSeconds,
    ResultPath: null,
    End: true,
  };
}
