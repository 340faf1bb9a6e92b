import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { DynamoDbOrderStore } from '../adapters/dynamodb-order-store';
import { DynamoDbRetryRuleStore } from '../adapters/dynamodb-retry-rule-store';
import { SqsRedelivery } from '../adapters/sqs-redelivery';
import { SqsWorkQueue } from '../adapters/sqs-work-queue';
import { StepFunctionsPlanTasks } from '../adapters/step-functions';
import { type CallbackMessage, callbackMessageSchema } from '../domain/callback';
import type { Redelivery } from '../ports/redelivery';
import { dynamoDocuments, sqs, stepFunctions } from '../shared/aws-clients';
import { bundledCatalog } from '../shared/bundled-catalog';
import { requiredEnv } from '../shared/env';
import { lambdaHandler } from '../shared/handler';
import { describeError, logger, withLogKeys } from '../shared/logger';
import { telemetry } from '../shared/observability';
import { countDeliveries, failedRecords } from '../shared/sqs-batch';
import { type ApplyCallbackDeps, applyCallbacks, callbackLogKeys } from '../use-cases/apply-callback';

/**
 * Applies the callback queue's messages (`applyCallbacks` keeps each wait's in the order received). One
 * that cannot be read or applied is returned as a batch failure: redelivered after a backoff, and after
 * the queue's maxReceiveCount kept in its dead-letter queue.
 */
export async function handleCallbackBatch(
  deps: ApplyCallbackDeps,
  event: SQSEvent,
  redelivery?: Redelivery,
): Promise<SQSBatchResponse> {
  const fail = (record: SQSRecord, error: unknown, message?: CallbackMessage) => {
    const keys = { messageId: record.messageId, ...(message ? callbackLogKeys(message) : {}) };
    withLogKeys(keys, () => logger.error('callback message failed', describeError(error)));
  };
  const unreadable = new Set<SQSRecord>();
  const readable: { record: SQSRecord; message: CallbackMessage }[] = [];
  for (const record of event.Records) {
    try {
      readable.push({ record, message: callbackMessageSchema.parse(JSON.parse(record.body)) });
    } catch (error) {
      fail(record, error);
      unreadable.add(record);
    }
  }
  const unapplied = await applyCallbacks(deps, readable);
  for (const { callback, error } of unapplied) fail(callback.record, error, callback.message);
  const failed = [...unreadable, ...unapplied.map((u) => u.callback.record)];
  countDeliveries(deps.telemetry, 'callbacks', event.Records, failed);
  return failedRecords(failed, redelivery, unreadable);
}

let deps: ApplyCallbackDeps | undefined;
function productionDeps(): ApplyCallbackDeps {
  deps ??= {
    store: new DynamoDbOrderStore(dynamoDocuments, requiredEnv('ORDERS_TABLE')),
    tasks: new StepFunctionsPlanTasks(stepFunctions),
    queue: new SqsWorkQueue(sqs, requiredEnv('WORK_QUEUE_URL')),
    catalog: bundledCatalog(),
    rules: new DynamoDbRetryRuleStore(dynamoDocuments, requiredEnv('CONFIGURATION_TABLE')),
    now: () => new Date(),
    telemetry,
  };
  return deps;
}

let redelivery: Redelivery | undefined;
export const handler = lambdaHandler((event: SQSEvent): Promise<SQSBatchResponse> => {
  redelivery ??= new SqsRedelivery(sqs, requiredEnv('CALLBACK_QUEUE_URL'));
  return handleCallbackBatch(productionDeps(), event, redelivery);
});
