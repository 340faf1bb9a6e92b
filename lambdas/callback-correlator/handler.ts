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
import { describeError, logger } from '../shared/logger';
import { failedRecords } from '../shared/sqs-batch';
import { type ApplyCallbackDeps, applyCallback } from '../use-cases/apply-callback';

/**
 * Applies the callback queue's messages. Callbacks to different waits are applied at once; those to the
 * same wait one after another, in the order the API received them, so an interim update and the final
 * answer in one batch do not race. One that cannot be read or applied is returned as a batch failure:
 * redelivered after a backoff, and after the queue's maxReceiveCount kept in its dead-letter queue.
 */
export async function handleCallbackBatch(
  deps: ApplyCallbackDeps,
  event: SQSEvent,
  redelivery?: Redelivery,
): Promise<SQSBatchResponse> {
  const failed: SQSRecord[] = [];
  const fail = (record: SQSRecord, error: unknown) => {
    logger.error('callback message failed', { messageId: record.messageId, ...describeError(error) });
    failed.push(record);
  };
  const unreadable = new Set<SQSRecord>();
  const byWait = new Map<string, { record: SQSRecord; message: CallbackMessage }[]>();
  for (const record of event.Records) {
    try {
      const message = callbackMessageSchema.parse(JSON.parse(record.body));
      byWait.set(message.correlationId, [...(byWait.get(message.correlationId) ?? []), { record, message }]);
    } catch (error) {
      unreadable.add(record);
      fail(record, error);
    }
  }
  await Promise.all(
    [...byWait.values()].map(async (callbacks) => {
      callbacks.sort((a, b) => Date.parse(a.message.receivedAt) - Date.parse(b.message.receivedAt));
      for (const { record, message } of callbacks) {
        try {
          const result = await applyCallback(deps, message);
          logger.info('callback', {
            correlationId: message.correlationId,
            callbackId: message.callbackId,
            result,
          });
        } catch (error) {
          fail(record, error);
        }
      }
    }),
  );
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
  };
  return deps;
}

let redelivery: Redelivery | undefined;
export const handler = (event: SQSEvent): Promise<SQSBatchResponse> => {
  redelivery ??= new SqsRedelivery(sqs, requiredEnv('CALLBACK_QUEUE_URL'));
  return handleCallbackBatch(productionDeps(), event, redelivery);
};
