import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { z } from 'zod';
import { DynamoDbOrderStore } from '../adapters/dynamodb-order-store';
import { FetchHttpClient } from '../adapters/fetch-http-client';
import { SqsWorkQueue } from '../adapters/sqs-work-queue';
import { StepFunctionsPlanTasks } from '../adapters/step-functions';
import { dynamoDocuments, sqs, stepFunctions } from '../shared/aws-clients';
import { bundledCatalog } from '../shared/bundled-catalog';
import { requiredEnv } from '../shared/env';
import { describeError, logger } from '../shared/logger';
import { type RunItemDeps, runItem, type WorkMessage } from '../use-cases/run-item';

const workMessageSchema = z.union([
  z.object({ orderId: z.string().min(1), itemKey: z.string().min(1), taskToken: z.string().min(1) }),
  z.object({ kind: z.literal('start'), orderId: z.string().min(1), itemKey: z.string().min(1) }),
]);

/** Runs every message of the batch; the ones that fail are returned so that only they are redelivered. */
export async function handleWorkBatch(deps: RunItemDeps, event: SQSEvent): Promise<SQSBatchResponse> {
  const failures: SQSBatchResponse['batchItemFailures'] = [];
  await Promise.all(
    event.Records.map(async (record) => {
      try {
        const message = workMessageSchema.parse(JSON.parse(record.body)) as WorkMessage;
        await runItem(deps, message, record.messageId);
      } catch (error) {
        // Redelivered until the queue's maxReceiveCount, then kept in the dead-letter queue for operators.
        logger.error('work message failed', { messageId: record.messageId, ...describeError(error) });
        failures.push({ itemIdentifier: record.messageId });
      }
    }),
  );
  return { batchItemFailures: failures };
}

let deps: RunItemDeps | undefined;
/** Built on the first invocation, then kept for the life of the execution environment. */
function productionDeps(): RunItemDeps {
  deps ??= {
    store: new DynamoDbOrderStore(dynamoDocuments, requiredEnv('ORDERS_TABLE')),
    tasks: new StepFunctionsPlanTasks(stepFunctions),
    queue: new SqsWorkQueue(sqs, requiredEnv('WORK_QUEUE_URL')),
    http: new FetchHttpClient(),
    catalog: bundledCatalog(),
    now: () => new Date(),
  };
  return deps;
}

export const handler = (event: SQSEvent): Promise<SQSBatchResponse> =>
  handleWorkBatch(productionDeps(), event);
