import { type ItemLogEntry, logEntryKey } from '../domain/item-log';
import type { ItemRecord, OrderRecord } from '../domain/orchestration';
import { listShardOf } from '../shared/order-table';

/**
 * How the orders table lays out an order: the keys of its records, and each record read back into the
 * model (what DynamoDB adds or keeps for its indexes left out, string sets made lists).
 */

export const orderPk = (orderId: string) => `ORDER#${orderId}`;
/** One record per external id an order carries, in a partition of its own: an id's orders are one Query. */
export const externalPk = (externalId: string) => `EXTERNAL#${externalId}`;
/** The partition of one listing index's shard: `<key>#<shard>`. */
export const listPartition = (key: string, shard: number): string => `${key}#${shard}`;
/** The key of all orders' listing (its shards' partitions are `ORDER#0` … `ORDER#7`). */
export const ALL_ORDERS = 'ORDER';
/** Where an order stands in every listing, newest last: `<createdAt>#<id>`, unique. */
export const listPosition = (order: Pick<OrderRecord, 'id' | 'createdAt'>): string =>
  `${order.createdAt}#${order.id}`;
/**
 * The keys that put an order in the listing indexes: all orders, the orders in its state, the orders
 * of its submitter; each in the order's shard.
 */
export const listKeys = (order: Pick<OrderRecord, 'id' | 'state' | 'createdAt' | 'submittedBy'>) => {
  const shard = listShardOf(order.id);
  return {
    listAll: listPartition(ALL_ORDERS, shard),
    listState: listPartition(order.state, shard),
    ...(order.submittedBy ? { listOwner: listPartition(order.submittedBy.id, shard) } : {}),
    listSort: listPosition(order),
  };
};
export const ORDER_SK = 'ORDER';
/**
 * The TMF622 order as accepted (`submitted`), written once beside the order record, so the record that
 * changes with the order's state (and is copied into the two listing indexes) stays small.
 */
export const ACCEPTED_SK = 'ACCEPTED';
/**
 * What the order's items have done so far: the done set (`doneItems`) and the attributes they wrote
 * (`attributes`, the order context). Small and apart from the order, so an item's finish is one small
 * write, not a rewrite of the accepted order.
 */
export const PROGRESS_SK = 'PROGRESS';
/** Who claimed the order id: a submission with an Idempotency-Key and its request's fingerprint. */
export const SUBMISSION_SK = 'SUBMISSION';
export const itemSk = (key: string) => `ITEM#${key}`;
/**
 * An item's log records sort after every other record of the order ('~' follows every letter), so the
 * worker reads the order's state with one Query that stops before them (`sk < '~'`).
 */
export const LOG = '~';
export const logPrefix = (key: string) => `${LOG}LOG#${key}#`;
export const logSk = (key: string, entry: ItemLogEntry) => `${logPrefix(key)}${logEntryKey(entry)}`;
/**
 * A final answer kept for an item's next attempt (ItemRecord.keptAnswer), its body whole: after the
 * order's state (`sk < '~'` does not read it) and apart from the item's log.
 */
export const keptAnswerSk = (key: string, nonce: string, callbackId: string) =>
  `${LOG}ANSWER#${key}#${nonce}#${callbackId}`;
/** Oldest hold first; order and key make it unique. */
export const holdSort = (orderId: string, key: string, since: string) => `${since}#${orderId}#${key}`;

export function toLogEntry(record: Record<string, unknown>): ItemLogEntry {
  const { pk: _pk, sk: _sk, orderId: _order, itemKey: _key, ...entry } = record;
  return entry as unknown as ItemLogEntry;
}

function strip(record: Record<string, unknown>): Record<string, unknown> {
  const { pk: _pk, sk: _sk, ...rest } = record;
  return rest;
}

export function toItem(record: Record<string, unknown>): ItemRecord {
  const {
    taskTokens,
    heldSystem: _system,
    heldInterface: _interface,
    falloutList: _fallout,
    falloutSort: _falloutSort,
    leaseList: _leased,
    holdSort: _sort,
    releaseId: _release,
    releaseAt: _releaseAt,
    ...rest
  } = strip(record);
  // String sets come back as Sets; the model keeps lists.
  return {
    ...rest,
    ...(taskTokens instanceof Set ? { taskTokens: [...taskTokens] as string[] } : {}),
  } as unknown as ItemRecord;
}

/** The order from its record and the record of the order as accepted (written first, so always there). */
export function toOrder(
  record: Record<string, unknown>,
  accepted: Record<string, unknown> | undefined,
): OrderRecord {
  const { listAll: _all, listState: _state, listOwner: _owner, listSort: _sort, ...rest } = strip(record);
  const { holds, ...order } = rest;
  return {
    ...(order as unknown as OrderRecord),
    submitted: (accepted?.submitted as Record<string, unknown> | undefined) ?? {},
    ...(holds instanceof Set && holds.size > 0 ? { holds: [...holds] as string[] } : {}),
  };
}

export interface Progress {
  done: string[];
  context: Record<string, unknown>;
}

/** The done set (a string set, absent until the first item) and the context, from the progress record. */
export function toProgress(record: Record<string, unknown>): Progress {
  const { doneItems, attributes } = record;
  return {
    done: doneItems instanceof Set ? ([...doneItems] as string[]) : [],
    context: (attributes as Record<string, unknown>) ?? {},
  };
}
