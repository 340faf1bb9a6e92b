import type { Context, EventBridgeEvent } from 'aws-lambda';
import { z } from 'zod';
import { DynamoDbConfigurationStore } from '../adapters/dynamodb-configuration-store';
import { DynamoDbOrderStore } from '../adapters/dynamodb-order-store';
import { EventBridgeAvailabilityEvents } from '../adapters/eventbridge-availability-events';
import { SqsWorkQueue } from '../adapters/sqs-work-queue';
import { DETAIL_TYPES, type ReleaseRequest } from '../domain/availability';
import { dynamoDocuments, eventBridge, sqs } from '../shared/aws-clients';
import { requiredEnv } from '../shared/env';
import { lambdaHandler } from '../shared/handler';
import { logger } from '../shared/logger';
import { telemetry } from '../shared/observability';
import { type ReleaseDeps, type ReleaseSummary, releaseHeldItems } from '../use-cases/release-held-items';

const availableSchema = z.object({
  systemId: z.string().min(1),
  interfaceId: z.string().min(1).optional(),
  /** Always there: the bus's rule passes only announcements that start a release. */
  releaseId: z.string().min(1),
  reason: z.string(),
});

const releaseRequestSchema = z.object({
  systemId: z.string().min(1),
  interfaceId: z.string().min(1).optional(),
  releaseId: z.string().min(1),
  after: z.string().min(1).optional(),
  reason: z.string(),
});

/**
 * The release function, invoked by the bus's rule for "System Available" (a system Up, an interface
 * Online) and "Held Items Release Requested" (an operator's release of all, or a release continuing).
 * An event it cannot read is an error, so EventBridge's retries and the function's failure
 * destination keep it.
 */
export async function handleRelease(
  deps: Omit<ReleaseDeps, 'remainingMs'>,
  event: EventBridgeEvent<string, unknown>,
  context: Pick<Context, 'getRemainingTimeInMillis'>,
): Promise<ReleaseSummary> {
  let request: ReleaseRequest;
  if (event['detail-type'] === DETAIL_TYPES.available) {
    const detail = availableSchema.parse(event.detail);
    request = {
      systemId: detail.systemId,
      ...(detail.interfaceId ? { interfaceId: detail.interfaceId } : {}),
      releaseId: detail.releaseId,
      reason: detail.reason,
    };
  } else if (event['detail-type'] === DETAIL_TYPES.releaseRequested) {
    request = releaseRequestSchema.parse(event.detail);
  } else {
    throw new Error(`the release function does not handle "${event['detail-type']}" events`);
  }
  logger.info('releasing held items', { ...request });
  return releaseHeldItems({ ...deps, remainingMs: () => context.getRemainingTimeInMillis() }, request);
}

let deps: Omit<ReleaseDeps, 'remainingMs'> | undefined;
/** Built on the first invocation, then kept for the life of the execution environment. */
function productionDeps(): Omit<ReleaseDeps, 'remainingMs'> {
  deps ??= {
    store: new DynamoDbOrderStore(dynamoDocuments, requiredEnv('ORDERS_TABLE')),
    config: new DynamoDbConfigurationStore(dynamoDocuments, requiredEnv('CONFIGURATION_TABLE')),
    queue: new SqsWorkQueue(sqs, requiredEnv('WORK_QUEUE_URL')),
    events: new EventBridgeAvailabilityEvents(eventBridge, requiredEnv('EVENT_BUS_NAME')),
    now: () => new Date(),
    telemetry,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  };
  return deps;
}

export const handler = lambdaHandler((event: EventBridgeEvent<string, unknown>, context: Context) =>
  handleRelease(productionDeps(), event, context),
);
