import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { z } from 'zod';
import { DynamoDbCalloutLimits } from '../adapters/dynamodb-callout-limits';
import { DynamoDbCancellationStore } from '../adapters/dynamodb-cancellation-store';
import { DynamoDbConfigurationStore } from '../adapters/dynamodb-configuration-store';
import { DynamoDbOrderStore } from '../adapters/dynamodb-order-store';
import { DynamoDbRetryRuleStore } from '../adapters/dynamodb-retry-rule-store';
import { EventBridgeAvailabilityEvents } from '../adapters/eventbridge-availability-events';
import { FetchHttpClient } from '../adapters/fetch-http-client';
import { SecretsManagerSecretStore } from '../adapters/secrets-manager-secret-store';
import { SqsRedelivery } from '../adapters/sqs-redelivery';
import { SqsWorkQueue } from '../adapters/sqs-work-queue';
import { StepFunctionsPlanRunner, StepFunctionsPlanTasks } from '../adapters/step-functions';
import { Authenticator } from '../domain/authenticator';
import { LEASE_SECONDS } from '../domain/item-lifecycle';
import type { Redelivery } from '../ports/redelivery';
import { dynamoDocuments, eventBridge, secretsManager, sqs, stepFunctions } from '../shared/aws-clients';
import { bundledCatalog } from '../shared/bundled-catalog';
import { CALLBACK_SIGNING_KEY, callbackKeyRing } from '../shared/callback-signing-key';
import { jsonRecordEnv, requiredEnv } from '../shared/env';
import { lambdaHandler } from '../shared/handler';
import { describeError, type LogKeys, logger, withLogKeys } from '../shared/logger';
import { telemetry } from '../shared/observability';
import { countDeliveries, failedRecords } from '../shared/sqs-batch';
import { runWithFollowOns } from '../use-cases/follow-on';
import type { RunItemDeps, WorkMessage } from '../use-cases/run-item-deps';
import { TakeoverLooks, TakeoverPacer, takeoverNeedsMs } from '../use-cases/take-over-items';

const workMessageSchema = z.union([
  z.object({ orderId: z.string().min(1), itemKey: z.string().min(1), taskToken: z.string().min(1) }),
  z.object({
    kind: z.literal('start'),
    orderId: z.string().min(1),
    itemKey: z.string().min(1),
    attemptId: z.string().min(1).optional(),
    releaseId: z.string().min(1).optional(),
    waitingSince: z.iso.datetime().optional(),
    handedSlot: z.number().int().min(0).optional(),
    handedSystem: z.string().min(1).optional(),
  }),
  z.object({
    kind: z.literal('deadline'),
    orderId: z.string().min(1),
    itemKey: z.string().min(1),
    nonce: z.string().min(1),
    dueAt: z.iso.datetime(),
  }),
  z.object({ kind: z.literal('probe'), systemId: z.string().min(1), changeId: z.string().min(1) }),
  z.object({ kind: z.literal('cancel'), orderId: z.string().min(1), cancellationId: z.string().min(1) }),
  z.object({
    kind: z.literal('poll'),
    orderId: z.string().min(1),
    itemKey: z.string().min(1),
    nonce: z.string().min(1),
    attemptId: z.string().min(1),
    count: z.number().int().min(0),
  }),
]);

/**
 * Runs every message of the batch; the ones that fail are returned so that only they are redelivered,
 * after a backoff.
 */
export async function handleWorkBatch(
  deps: RunItemDeps,
  event: SQSEvent,
  redelivery?: Redelivery,
  takeovers?: TakeoverPacer,
  remainingMs?: () => number,
): Promise<SQSBatchResponse> {
  // Beside its batch, now and on its heartbeats, the items whose worker died (take-over-items.ts).
  const looks = takeovers ? new TakeoverLooks(deps, takeovers, remainingMs) : undefined;
  looks?.look();
  // A dependent is run here only with as much time left as a takeover needs: one item's whole run.
  const runNeedsMs = remainingMs ? takeoverNeedsMs(deps.catalog) : 0;
  const hasTimeFor = () => (remainingMs?.() ?? Number.POSITIVE_INFINITY) >= runNeedsMs;
  const failed: SQSRecord[] = [];
  const unreadable = new Set<SQSRecord>();
  const pending = new Set(event.Records);
  // Each message is held for a lease, not the queue's visibility timeout (sized for the function's
  // timeout): renewed while it runs, it comes back within a lease should this worker die, and its
  // redelivery takes over the items it ran.
  const hold = () =>
    redelivery
      ?.later(
        [...pending].map((record) => ({
          receiptHandle: record.receiptHandle,
          seconds: MESSAGE_LEASE_SECONDS,
        })),
      )
      .catch((error: unknown) => logger.warn('messages kept their visibility timeout', describeError(error)));
  await hold();
  const heartbeat = setInterval(
    () => {
      void hold();
      looks?.look();
    },
    (LEASE_SECONDS * 1000) / 2,
  );
  try {
    await Promise.all(
      event.Records.map(async (record) => {
        let message: WorkMessage;
        try {
          message = workMessageSchema.parse(JSON.parse(record.body)) as WorkMessage;
        } catch (error) {
          logger.error('work message unreadable', { messageId: record.messageId, ...describeError(error) });
          unreadable.add(record);
          failed.push(record);
          return;
        }
        await withLogKeys({ messageId: record.messageId, ...logKeysOf(message) }, async () => {
          try {
            await runWithFollowOns(deps, message, record.messageId, hasTimeFor);
          } catch (error) {
            // Redelivered until the queue's maxReceiveCount, then kept in the dead-letter queue for operators.
            logger.error('work message failed', describeError(error));
            failed.push(record);
          } finally {
            pending.delete(record);
          }
        });
      }),
    );
  } finally {
    clearInterval(heartbeat);
    await looks?.settled();
  }
  countDeliveries(deps.telemetry, 'work', event.Records, failed);
  return failedRecords(failed, redelivery, unreadable);
}

/** The keys of a work message's log lines: its order and item, or the system a probe is for. */
function logKeysOf(message: WorkMessage): LogKeys {
  if ('systemId' in message) return { system: message.systemId };
  if ('cancellationId' in message) return { orderId: message.orderId };
  return { orderId: message.orderId, itemKey: message.itemKey };
}

/** How long a message stays invisible while its worker holds it: its item's lease, and a little more. */
export const MESSAGE_LEASE_SECONDS = LEASE_SECONDS + 10;

let deps: RunItemDeps | undefined;
/** Built on the first invocation, then kept for the life of the execution environment. */
function productionDeps(): RunItemDeps {
  if (deps) return deps;
  const http = new FetchHttpClient();
  const now = () => new Date();
  const configurationTable = requiredEnv('CONFIGURATION_TABLE');
  const secrets = new SecretsManagerSecretStore(secretsManager, {
    ...jsonRecordEnv('AUTH_PROFILE_SECRETS'),
    [CALLBACK_SIGNING_KEY]: requiredEnv('CALLBACK_SIGNING_SECRET_ARN'),
  });
  deps = {
    store: new DynamoDbOrderStore(dynamoDocuments, requiredEnv('ORDERS_TABLE')),
    tasks: new StepFunctionsPlanTasks(stepFunctions),
    queue: new SqsWorkQueue(sqs, requiredEnv('WORK_QUEUE_URL')),
    http,
    catalog: bundledCatalog(),
    config: new DynamoDbConfigurationStore(dynamoDocuments, configurationTable),
    limits: new DynamoDbCalloutLimits(dynamoDocuments, configurationTable),
    auth: new Authenticator(secrets, http, now),
    callbacks: { baseUrl: requiredEnv('CALLBACK_BASE_URL'), keys: () => callbackKeyRing(secrets) },
    events: new EventBridgeAvailabilityEvents(eventBridge, requiredEnv('EVENT_BUS_NAME')),
    rules: new DynamoDbRetryRuleStore(dynamoDocuments, configurationTable),
    now,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    telemetry,
    cancellations: new DynamoDbCancellationStore(dynamoDocuments, requiredEnv('ORDERS_TABLE')),
    plans: new StepFunctionsPlanRunner(stepFunctions, jsonRecordEnv('PLAN_STATE_MACHINES')),
  };
  return deps;
}

let redelivery: Redelivery | undefined;
const takeovers = new TakeoverPacer();
export const handler = lambdaHandler((event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
  redelivery ??= new SqsRedelivery(sqs, requiredEnv('WORK_QUEUE_URL'));
  return handleWorkBatch(productionDeps(), event, redelivery, takeovers, () =>
    context.getRemainingTimeInMillis(),
  );
});
