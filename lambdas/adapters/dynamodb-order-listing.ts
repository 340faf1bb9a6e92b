import { type DynamoDBDocumentClient, QueryCommand, type QueryCommandOutput } from '@aws-sdk/lib-dynamodb';
import type { OrderListQuery } from '../ports/order-store';
import { batchGet } from '../shared/batch-get';
import { LIST_SHARDS, ORDERS_BY_CREATION, ORDERS_BY_STATE, ORDERS_BY_SUBMITTER } from '../shared/order-table';
import { ALL_ORDERS, externalPk, listPartition, ORDER_SK, orderPk } from './order-records';

/**
 * Order listings from the orders table's listing indexes. Each index partition is split in LIST_SHARDS
 * shards (order-records.ts: listKeys), so a page is a merge: every shard is queried from the position
 * the page starts after, newest first, and the orders are taken in order down to the highest position
 * at which some shard stopped — below it, that shard has not been read. Without a filter one round fills
 * the page (the shard that stopped highest returned a whole page above its stop); a submitter's orders
 * in one state are filtered and may take a few rounds, at most MAX_ROUNDS, after which the page is
 * returned short with where to go on. Nothing counts the listing.
 */

/** Rounds of shard queries one page may take when a filter drops orders. */
const MAX_ROUNDS = 4;
/** The orders an external id's listing looks at: an id names one order, or a few. */
const MAX_PER_EXTERNAL_ID = 1000;

export interface ListedPage {
  /** The order records of the page, newest first. */
  records: Record<string, unknown>[];
  next?: string;
}

export async function listOrderRecords(
  db: DynamoDBDocumentClient,
  tableName: string,
  query: OrderListQuery,
): Promise<ListedPage> {
  if (query.externalId !== undefined)
    return listByExternalId(db, tableName, { ...query, externalId: query.externalId });
  const { index, key, filter } = listingOf(query);
  const found: Record<string, unknown>[] = [];
  let after = query.after;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const wanted = query.limit - found.length;
    const shards = await Promise.all(
      Array.from({ length: LIST_SHARDS }, (_, shard) =>
        queryShard(db, tableName, {
          index,
          partition: listPartition(key.value, shard),
          key: key.name,
          after,
          limit: wanted,
          filter,
        }),
      ),
    );
    // The highest position at which a shard stopped with more to read: the page is sure down to it.
    const stops = shards.flatMap((s) => (s.LastEvaluatedKey ? [String(s.LastEvaluatedKey.listSort)] : []));
    const sureDownTo = stops.sort().at(-1);
    const sure = shards
      .flatMap((s) => s.Items ?? [])
      .filter((record) => sureDownTo === undefined || String(record.listSort) >= sureDownTo)
      .sort((a, b) => String(b.listSort).localeCompare(String(a.listSort)));
    found.push(...sure.slice(0, wanted));
    if (sure.length > wanted) return { records: found, next: String(found.at(-1)?.listSort) };
    if (sureDownTo === undefined) return { records: found };
    if (found.length === query.limit) return { records: found, next: sureDownTo };
    after = sureDownTo;
  }
  return { records: found, ...(after !== undefined ? { next: after } : {}) };
}

/** Which index a query reads, the key of its partitions, and what it filters. */
function listingOf(query: OrderListQuery): {
  index: string;
  key: { name: string; value: string };
  filter?: { state: string };
} {
  if (query.submittedBy !== undefined) {
    return {
      index: ORDERS_BY_SUBMITTER,
      key: { name: 'listOwner', value: query.submittedBy },
      ...(query.state ? { filter: { state: query.state } } : {}),
    };
  }
  if (query.state) return { index: ORDERS_BY_STATE, key: { name: 'listState', value: query.state } };
  return { index: ORDERS_BY_CREATION, key: { name: 'listAll', value: ALL_ORDERS } };
}

function queryShard(
  db: DynamoDBDocumentClient,
  tableName: string,
  q: {
    index: string;
    key: string;
    partition: string;
    after: string | undefined;
    limit: number;
    filter: { state: string } | undefined;
  },
): Promise<QueryCommandOutput> {
  return db.send(
    new QueryCommand({
      TableName: tableName,
      IndexName: q.index,
      KeyConditionExpression: `#key = :partition${q.after !== undefined ? ' AND listSort < :after' : ''}`,
      ...(q.filter ? { FilterExpression: '#state = :state' } : {}),
      ExpressionAttributeNames: { '#key': q.key, ...(q.filter ? { '#state': 'state' } : {}) },
      ExpressionAttributeValues: {
        ':partition': q.partition,
        ...(q.after !== undefined ? { ':after': q.after } : {}),
        ...(q.filter ? { ':state': q.filter.state } : {}),
      },
      ScanIndexForward: false,
      Limit: q.limit,
    }),
  );
}

/** The orders with an external id: at most the 1,000 newest are looked at. */
async function listByExternalId(
  db: DynamoDBDocumentClient,
  tableName: string,
  query: OrderListQuery & { externalId: string },
): Promise<ListedPage> {
  const found = await db.send(
    new QueryCommand({
      TableName: tableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': externalPk(query.externalId) },
      Limit: MAX_PER_EXTERNAL_ID,
    }),
  );
  const keys = (found.Items ?? []).map((record) => ({ pk: orderPk(String(record.orderId)), sk: ORDER_SK }));
  const orders = (await batchGet(db, tableName, keys))
    .filter((order) => query.state === undefined || order.state === query.state)
    .filter(
      (order) =>
        query.submittedBy === undefined ||
        (order.submittedBy as { id?: string } | undefined)?.id === query.submittedBy,
    )
    .filter((order) => query.after === undefined || String(order.listSort) < query.after)
    .sort((a, b) => String(b.listSort).localeCompare(String(a.listSort)));
  const page = orders.slice(0, query.limit);
  return {
    records: page,
    ...(orders.length > query.limit ? { next: String(page.at(-1)?.listSort) } : {}),
  };
}
