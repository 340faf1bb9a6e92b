import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { z } from 'zod';
import { DynamoDbListenerStore } from '../adapters/dynamodb-listener-store';
import { FetchHttpClient } from '../adapters/fetch-http-client';
import { SqsDeliveryQueue } from '../adapters/sqs-delivery-queue';
import { SqsRedelivery } from '../adapters/sqs-redelivery';
import { DELIVERY_ATTEMPTS, deliveryDelaySeconds } from '../domain/listener';
import { ORDER_EVENT_SOURCE, ORDER_EVENT_TYPES, type OrderEvent } from '../domain/order-events';
import type { PublishedEvent } from '../ports/order-event-bus';
import type { Redelivery } from '../ports/redelivery';
import { dynamoDocuments, sqs } from '../shared/aws-clients';
import { requiredEnv } from '../shared/env';
import { lambdaHandler } from '../shared/handler';
import { describeError, logger } from '../shared/logger';
import { telemetry } from '../shared/observability';
import { countDeliveries } from '../shared/sqs-batch';
import { type DeliverDeps, deliver, fanOut } from '../use-cases/deliver-events';

const eventSchema = z
  .object({
    eventId: z.string().min(1),
    eventType: z.enum(ORDER_EVENT_TYPES),
    correlationId: z.string().min(1),
    eventTime: z.string().min(1),
  })
  .loose();
const publishedSchema = z.object({ event: eventSchema, submittedBy: z.string().min(1).optional() });
/** An event from the bus, as its rule invokes the function with it. */
const busEventSchema = z.object({
  source: z.literal(ORDER_EVENT_SOURCE),
  'detail-type': z.string(),
  detail: publishedSchema,
});
/** One delivery, as the delivery queue carries it. */
const deliverySchema = publishedSchema.extend({ listenerId: z.string().min(1) });

/**
 * An event from the bus (the rule invokes the function asynchronously, which retries it and keeps it with
 * its error should it keep failing): fanned out to its listeners, one delivery each on the queue.
 * Listeners are read for each event: one registered a moment ago receives the next event.
 */
export async function handleBusEvent(deps: DeliverDeps, event: unknown): Promise<number> {
  const { detail } = busEventSchema.parse(event);
  return fanOut(deps, asPublished(detail), await deps.listeners.list());
}

/**
 * The delivery queue's batch: each delivery posted to its listener. One that failed comes back after its
 * backoff (listener.ts: deliveryDelaySeconds), until the queue's maxReceiveCount sends it to the
 * dead-letter queue, more than a day later.
 */
export async function handleDeliveryBatch(
  deps: DeliverDeps,
  event: SQSEvent,
  redelivery?: Redelivery,
): Promise<SQSBatchResponse> {
  const failed: SQSRecord[] = [];
  const later: { receiptHandle: string; seconds: number }[] = [];
  await Promise.all(
    event.Records.map(async (record) => {
      let message: z.infer<typeof deliverySchema>;
      try {
        message = deliverySchema.parse(JSON.parse(record.body));
      } catch (error) {
        // No wait makes it readable: back within a second, it reaches the dead-letter queue soon.
        logger.error('delivery message unreadable', { messageId: record.messageId, ...describeError(error) });
        failed.push(record);
        later.push({ receiptHandle: record.receiptHandle, seconds: 1 });
        return;
      }
      try {
        const outcome = await deliver(deps, { ...asPublished(message), listenerId: message.listenerId });
        if (outcome.kind === 'failed') {
          failed.push(record);
          const attempt = Number(record.attributes.ApproximateReceiveCount) || 1;
          later.push({ receiptHandle: record.receiptHandle, seconds: deliveryDelaySeconds(attempt) });
        }
      } catch (error) {
        logger.error('event delivery failed', { messageId: record.messageId, ...describeError(error) });
        failed.push(record);
        later.push({ receiptHandle: record.receiptHandle, seconds: deliveryDelaySeconds(1) });
      }
    }),
  );
  if (redelivery && later.length > 0)
    await redelivery
      .later(later)
      .catch((error: unknown) =>
        logger.warn('failed deliveries keep the queue visibility timeout', describeError(error)),
      );
  countDeliveries(deps.telemetry, 'deliveries', event.Records, failed, DELIVERY_ATTEMPTS);
  return { batchItemFailures: failed.map((record) => ({ itemIdentifier: record.messageId })) };
}

function asPublished(message: z.infer<typeof publishedSchema>): PublishedEvent {
  return {
    event: message.event as unknown as OrderEvent,
    ...(message.submittedBy === undefined ? {} : { submittedBy: message.submittedBy }),
  };
}

let deps: DeliverDeps | undefined;
let redelivery: Redelivery | undefined;
export const handler = lambdaHandler(async (event: SQSEvent | Record<string, unknown>) => {
  const queueUrl = requiredEnv('DELIVERY_QUEUE_URL');
  deps ??= {
    listeners: new DynamoDbListenerStore(dynamoDocuments, requiredEnv('CONFIGURATION_TABLE')),
    queue: new SqsDeliveryQueue(sqs, queueUrl, requiredEnv('DELIVERY_DEAD_LETTER_QUEUE_URL')),
    http: new FetchHttpClient(),
    now: () => new Date(),
    telemetry,
  };
  redelivery ??= new SqsRedelivery(sqs, queueUrl);
  if ('Records' in event && Array.isArray(event.Records))
    return handleDeliveryBatch(deps, event as SQSEvent, redelivery);
  await handleBusEvent(deps, event);
  return undefined;
});
