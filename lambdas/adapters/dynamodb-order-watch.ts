import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Assessment } from '../domain/jeopardy';
import type { OrderWatch, WatchedOrder } from '../ports/order-watch';
import { LIST_SHARDS, listShardOf, ORDERS_WATCHED } from '../shared/order-table';
import { ORDER_SK, orderPk } from './order-records';

const watchPartition = (shard: number) => `WATCH#${shard}`;

/**
 * The watch as attributes of each order's `ORDER` record: `jeopardy`, `expectedCompletionDate`, and the
 * sparse index keys `watchList` (its shard) and `nextCheckAt`. One UpdateItem an assessment.
 */
export class DynamoDbOrderWatch implements OrderWatch {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async record(orderId: string, assessment: Assessment, at: string, readAt: string): Promise<void> {
    // The order's updatedAt moves too: its stream record is the jeopardy event, which happened now.
    const set = ['updatedAt = :at'];
    const remove: string[] = [];
    const values: Record<string, unknown> = { ':at': at, ':read': readAt };
    const keep = (name: string, value: unknown) => {
      if (value === undefined) remove.push(name);
      else {
        set.push(`${name} = :${name}`);
        values[`:${name}`] = value;
      }
    };
    keep('jeopardy', assessment.jeopardy);
    keep('expectedCompletionDate', assessment.expectedCompletionDate);
    keep('nextCheckAt', assessment.nextCheckAt);
    keep(
      'watchList',
      assessment.nextCheckAt === undefined ? undefined : watchPartition(listShardOf(orderId)),
    );
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: orderPk(orderId), sk: ORDER_SK },
          UpdateExpression: `SET ${set.join(', ')}${remove.length > 0 ? ` REMOVE ${remove.join(', ')}` : ''}`,
          // The order as assessed: a state change or another assessment since is newer than this one.
          ConditionExpression: 'attribute_exists(pk) AND updatedAt = :read',
          ExpressionAttributeValues: values,
        }),
      );
    } catch (error) {
      // An order that is gone has nothing to watch; one that changed is assessed again from that change.
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  async due(now: string, limit: number): Promise<string[]> {
    const pages = await Promise.all(
      Array.from({ length: LIST_SHARDS }, (_, shard) =>
        this.db.send(
          new QueryCommand({
            TableName: this.tableName,
            IndexName: ORDERS_WATCHED,
            KeyConditionExpression: 'watchList = :list AND nextCheckAt <= :now',
            ExpressionAttributeValues: { ':list': watchPartition(shard), ':now': now },
            Limit: limit,
          }),
        ),
      ),
    );
    return pages
      .flatMap((page) => page.Items ?? [])
      .sort((a, b) => String(a.nextCheckAt).localeCompare(String(b.nextCheckAt)))
      .slice(0, limit)
      .map((record) => String(record.id));
  }

  async inJeopardy(): Promise<WatchedOrder[]> {
    const found: WatchedOrder[] = [];
    for (let shard = 0; shard < LIST_SHARDS; shard++) {
      let start: Record<string, unknown> | undefined;
      do {
        const page = await this.db.send(
          new QueryCommand({
            TableName: this.tableName,
            IndexName: ORDERS_WATCHED,
            KeyConditionExpression: 'watchList = :list',
            FilterExpression: 'attribute_exists(jeopardy)',
            ExpressionAttributeValues: { ':list': watchPartition(shard) },
            ExclusiveStartKey: start,
          }),
        );
        found.push(
          ...((page.Items ?? []) as WatchedOrder[]).map(
            ({ id, state, dueDate, expectedCompletionDate, jeopardy, submittedBy }) => ({
              id,
              state,
              dueDate,
              ...(expectedCompletionDate ? { expectedCompletionDate } : {}),
              ...(jeopardy ? { jeopardy } : {}),
              ...(submittedBy ? { submittedBy } : {}),
            }),
          ),
        );
        start = page.LastEvaluatedKey;
      } while (start);
    }
    return found.sort((a, b) => (a.jeopardy?.since ?? '').localeCompare(b.jeopardy?.since ?? ''));
  }
}
