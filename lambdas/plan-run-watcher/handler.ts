import type { EventBridgeEvent } from 'aws-lambda';
import { z } from 'zod';
import { DynamoDbConfigurationStore } from '../adapters/dynamodb-configuration-store';
import { DynamoDbOrderStore } from '../adapters/dynamodb-order-store';
import { EventBridgeAvailabilityEvents } from '../adapters/eventbridge-availability-events';
import { SqsWorkQueue } from '../adapters/sqs-work-queue';
import { StepFunctionsPlanRunner, StepFunctionsPlanTasks } from '../adapters/step-functions';
import type { EndedRun } from '../domain/item-decisions';
import { dynamoDocuments, eventBridge, sqs, stepFunctions } from '../shared/aws-clients';
import { jsonRecordEnv, requiredEnv } from '../shared/env';
import { lambdaHandler } from '../shared/handler';
import { logger } from '../shared/logger';
import { telemetry } from '../shared/observability';
import { ABNORMAL_END, EXECUTION_STATUS_CHANGE, SCHEDULED_EVENT } from '../shared/plan-run-events';
import {
  planRunEnded,
  type RunEndedSummary,
  type SweepSummary,
  sweep,
  type WatchDeps,
} from '../use-cases/watch-plan-runs';

const statusChangeSchema = z.object({
  name: z.string().min(1),
  status: z.enum(ABNORMAL_END),
  /** The execution's input as a JSON string (absent when it was too large to include). */
  input: z.string().nullish(),
  error: z.string().nullish(),
  cause: z.string().nullish(),
});
const runInputSchema = z.object({ orderId: z.string().min(1) });

/**
 * The plan-run watcher, invoked by two rules: Step Functions' status changes of the plan machines'
 * executions (failed, timed out, aborted: the rule passes no others), and a schedule that sweeps
 * (watch-plan-runs.ts). An event it cannot read is an error, so EventBridge's retries and the dead-letter
 * queue keep it for an operator.
 */
export async function handleWatch(
  deps: WatchDeps,
  event: EventBridgeEvent<string, unknown>,
): Promise<RunEndedSummary | SweepSummary> {
  if (event['detail-type'] === SCHEDULED_EVENT) return sweep(deps);
  if (event['detail-type'] !== EXECUTION_STATUS_CHANGE)
    throw new Error(`the plan-run watcher does not handle "${event['detail-type']}" events`);
  const detail = statusChangeSchema.parse(event.detail);
  if (!detail.input) throw new Error(`execution ${detail.name} was announced without its input`);
  const { orderId } = runInputSchema.parse(JSON.parse(detail.input));
  const cause = [detail.error, detail.cause].filter((part) => part).join(': ');
  const run: EndedRun = { executionName: detail.name, status: detail.status, cause };
  const summary = await planRunEnded(deps, orderId, run);
  logger.info('a plan run ended', { orderId, ...run, ...summary });
  return summary;
}

let deps: WatchDeps | undefined;
/** Built on the first invocation, then kept for the life of the execution environment. */
function productionDeps(): WatchDeps {
  deps ??= {
    store: new DynamoDbOrderStore(dynamoDocuments, requiredEnv('ORDERS_TABLE')),
    queue: new SqsWorkQueue(sqs, requiredEnv('WORK_QUEUE_URL')),
    tasks: new StepFunctionsPlanTasks(stepFunctions),
    plans: new StepFunctionsPlanRunner(stepFunctions, jsonRecordEnv('PLAN_STATE_MACHINES')),
    config: new DynamoDbConfigurationStore(dynamoDocuments, requiredEnv('CONFIGURATION_TABLE')),
    events: new EventBridgeAvailabilityEvents(eventBridge, requiredEnv('EVENT_BUS_NAME')),
    now: () => new Date(),
    telemetry,
  };
  return deps;
}

export const handler = lambdaHandler((event: EventBridgeEvent<string, unknown>) =>
  handleWatch(productionDeps(), event),
);
