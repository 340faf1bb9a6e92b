import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { CancellationRecord, CancellationState } from '../domain/cancel-product-order';
import type { OrderState } from '../domain/orchestration';
import type { CancellationEnd, CancellationStore } from '../ports/cancellation-store';
import { listShardOf, ORDERS_BY_CREATION } from '../shared/order-table';
import { noTransactions } from './dynamodb-order-store';
import { listPartition, ORDER_SK, orderPk } from './order-records';

/**
 * CancelProductOrder records in the orders table, each in a partition of its own (`CANCEL#<id>`, read
 * by id), and listed through the all-orders listing index under a key of their own: one partition
 * (`CANCELLATION`), newest first. Cancellations are few beside orders, so one partition takes their
 * writes; a submitter's own are filtered from it.
 */
const cancellationPk = (id: string) => `CANCEL#${id}`;
const CANCELLATION_SK = 'CANCEL';
export const ALL_CANCELLATIONS = 'CANCELLATION';
const listSortOf = (record: Pick<CancellationRecord, 'creationDate' | 'id'>) =>
  `${record.creationDate}#${record.id}`;

export class DynamoDbCancellationStore implements CancellationStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async start(record: CancellationRecord, from: OrderState): Promise<boolean> {
    const assessing: OrderState = 'assessingCancellation';
    const put = {
      TableName: this.tableName,
      Item: {
        pk: cancellationPk(record.id),
        sk: CANCELLATION_SK,
        ...record,
        listAll: ALL_CANCELLATIONS,
        listSort: listSortOf(record),
      },
      ConditionExpression: 'attribute_not_exists(pk)',
    };
    const update = {
      TableName: this.tableName,
      Key: { pk: orderPk(record.orderId), sk: ORDER_SK },
      UpdateExpression:
        'SET #state = :assessing, listState = :list, cancellation = :cancellation, updatedAt = :at',
      ConditionExpression: '#state = :from AND attribute_not_exists(cancellation)',
      ExpressionAttributeNames: { '#state': 'state' },
      ExpressionAttributeValues: {
        ':assessing': assessing,
        ':list': listPartition(assessing, listShardOf(record.orderId)),
        ':cancellation': { id: record.id, previousState: from },
        ':from': from,
        ':at': record.creationDate,
      },
    };
    try {
      await this.db.send(new TransactWriteCommand({ TransactItems: [{ Put: put }, { Update: update }] }));
      return true;
    } catch (error) {
      if ((error as Error).name === 'TransactionCanceledException') return false;
      if (!noTransactions(error)) throw error;
    }
    // dynalite, the local runtime's emulator without Java, has no transactions: the cancellation first,
    // then the order, and the cancellation taken back if the order moved. DynamoDB never comes here.
    try {
      await this.db.send(new PutCommand(put));
    } catch (error) {
      if ((error as Error).name === 'ConditionalCheckFailedException') return false;
      throw error;
    }
    try {
      await this.db.send(new UpdateCommand(update));
      return true;
    } catch (error) {
      await this.db.send(
        new DeleteCommand({ TableName: this.tableName, Key: { pk: put.Item.pk, sk: put.Item.sk } }),
      );
      if ((error as Error).name === 'ConditionalCheckFailedException') return false;
      throw error;
    }
  }

  async get(id: string): Promise<CancellationRecord | undefined> {
    const result = await this.db.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { pk: cancellationPk(id), sk: CANCELLATION_SK },
        ConsistentRead: true,
      }),
    );
    return result.Item ? toCancellation(result.Item) : undefined;
  }

  async list(query: {
    orderSubmittedBy?: string;
    state?: CancellationState;
    orderId?: string;
    after?: string;
    limit: number;
  }): Promise<{ cancellations: CancellationRecord[]; next?: string }> {
    const filters: string[] = [];
    const values: Record<string, unknown> = { ':all': ALL_CANCELLATIONS };
    const names: Record<string, string> = {};
    if (query.orderSubmittedBy !== undefined) {
      filters.push('orderSubmittedBy = :by');
      values[':by'] = query.orderSubmittedBy;
    }
    if (query.state !== undefined) {
      filters.push('#state = :state');
      names['#state'] = 'state';
      values[':state'] = query.state;
    }
    if (query.orderId !== undefined) {
      filters.push('orderId = :order');
      values[':order'] = query.orderId;
    }
    const found: CancellationRecord[] = [];
    let after = query.after;
    // A filtered page may take a few reads; it comes back short, with where to go on, after four.
    for (let round = 0; round < 4 && found.length < query.limit; round++) {
      const page = await this.db.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: ORDERS_BY_CREATION,
          KeyConditionExpression: `listAll = :all${after !== undefined ? ' AND listSort < :after' : ''}`,
          ...(filters.length > 0 ? { FilterExpression: filters.join(' AND ') } : {}),
          ...(Object.keys(names).length > 0 ? { ExpressionAttributeNames: names } : {}),
          ExpressionAttributeValues: { ...values, ...(after !== undefined ? { ':after': after } : {}) },
          ScanIndexForward: false,
          Limit: query.limit - found.length,
        }),
      );
      found.push(...(page.Items ?? []).map(toCancellation));
      const last = page.LastEvaluatedKey?.listSort;
      if (typeof last !== 'string') return { cancellations: found };
      after = last;
    }
    const lastFound = found.at(-1);
    const next = found.length === query.limit && lastFound ? listSortOf(lastFound) : after;
    return { cancellations: found, ...(next !== undefined ? { next } : {}) };
  }

  async setState(
    id: string,
    from: readonly CancellationState[],
    to: CancellationState,
    end?: CancellationEnd,
  ): Promise<boolean> {
    const sets = ['#state = :to'];
    const values: Record<string, unknown> = { ':to': to };
    from.forEach((state, i) => {
      values[`:from${i}`] = state;
    });
    for (const [field, value] of Object.entries(end ?? {})) {
      if (value === undefined) continue;
      sets.push(`${field} = :${field}`);
      values[`:${field}`] = value;
    }
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: cancellationPk(id), sk: CANCELLATION_SK },
          UpdateExpression: `SET ${sets.join(', ')}`,
          ConditionExpression: `#state IN (${from.map((_, i) => `:from${i}`).join(', ')})`,
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: values,
        }),
      );
      return true;
    } catch (error) {
      if ((error as Error).name === 'ConditionalCheckFailedException') return false;
      throw error;
    }
  }
}

/** The view of a kept cancellation is built from the record: what only the store needs is left out. */
function toCancellation(record: Record<string, unknown>): CancellationRecord {
  const { pk: _pk, sk: _sk, listAll: _all, listSort: _sort, ...rest } = record;
  return rest as unknown as CancellationRecord;
}
