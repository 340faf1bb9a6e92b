import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { DynamoDbOrderStore } from '../adapters/dynamodb-order-store';
import { DynamoDbOrderWatch } from '../adapters/dynamodb-order-watch';
import { EventBridgeOrderEventBus } from '../adapters/eventbridge-order-event-bus';
import { type RecordChange, watchedOrderOf } from '../domain/order-events';
import { dynamoDocuments, eventBridge } from '../shared/aws-clients';
import { bundledCatalog } from '../shared/bundled-catalog';
import { requiredEnv } from '../shared/env';
import { lambdaHandler } from '../shared/handler';
import { logger } from '../shared/logger';
import { type PublishDeps, publishOrderEvents } from '../use-cases/publish-order-events';
import { assessOrders, sweepDueDates, type WatchDeps } from '../use-cases/watch-due-dates';

/**
 * The orders table's stream, read in order for each order: the TMF622 events its changes announce put
 * on the bus (use-cases/publish-order-events.ts), and the orders with a due date that the changes move
 * assessed for jeopardy (use-cases/watch-due-dates.ts), whose own write is announced in turn. A batch
 * that fails is retried by the event source, the order's later changes waiting behind it, so events are
 * neither lost nor reordered.
 */
export async function handleOrderChanges(
  deps: PublishDeps & WatchDeps,
  event: DynamoDBStreamEvent,
): Promise<void> {
  const changes = event.Records.flatMap((record) => {
    const change = changeOf(record);
    return change ? [change] : [];
  });
  const published = await publishOrderEvents(deps, changes);
  // Then the orders with a due date that these changes move: their jeopardy, assessed again.
  const watched = changes.flatMap((change) => watchedOrderOf(change) ?? []);
  const assessed = watched.length > 0 ? await assessOrders(deps, watched) : 0;
  if (published + assessed > 0)
    logger.debug('order changes handled', { changes: changes.length, published, assessed });
}

/** The same function, every minute: the watched orders whose next look has come (time passing alone). */
export async function handleSweep(deps: WatchDeps): Promise<void> {
  const assessed = await sweepDueDates(deps);
  if (assessed > 0) logger.info('due dates looked at again', { assessed });
}

/** A stream record as a change of the orders table; undefined for one without keys (none expected). */
export function changeOf(record: DynamoDBRecord): RecordChange | undefined {
  const stream = record.dynamodb;
  const keys = stream?.Keys ? unmarshall(stream.Keys as Record<string, AttributeValue>) : undefined;
  if (!stream || !keys || typeof keys.pk !== 'string' || typeof keys.sk !== 'string') return undefined;
  const image = (value: unknown) => (value ? unmarshall(value as Record<string, AttributeValue>) : undefined);
  const old = image(stream.OldImage);
  const next = image(stream.NewImage);
  return {
    kind: record.eventName ?? 'MODIFY',
    pk: keys.pk,
    sk: keys.sk,
    ...(old ? { old } : {}),
    ...(next ? { new: next } : {}),
    sequence: stream.SequenceNumber ?? '0',
    // The record's own time where it says it (more precise than the stream's, which is in seconds).
    at:
      typeof next?.updatedAt === 'string'
        ? next.updatedAt
        : new Date((stream.ApproximateCreationDateTime ?? Date.now() / 1000) * 1000).toISOString(),
  };
}

let deps: (PublishDeps & WatchDeps) | undefined;
export const handler = lambdaHandler((event: DynamoDBStreamEvent | { 'detail-type'?: string }) => {
  deps ??= {
    store: new DynamoDbOrderStore(dynamoDocuments, requiredEnv('ORDERS_TABLE')),
    bus: new EventBridgeOrderEventBus(eventBridge, requiredEnv('EVENT_BUS_NAME')),
    watch: new DynamoDbOrderWatch(dynamoDocuments, requiredEnv('ORDERS_TABLE')),
    plans: bundledCatalog().plans,
    now: () => new Date(),
  };
  if ('Records' in event) return handleOrderChanges(deps, event);
  return handleSweep(deps);
});
