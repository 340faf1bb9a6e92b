import { createHash } from 'node:crypto';

/** Names of the orders table's indexes: created by the stateful stack, queried by the order store. */
export const ORDERS_BY_CREATION = 'ordersByCreation';
export const ORDERS_BY_STATE = 'ordersByState';
/** Orders by who submitted them, newest first: what a submitter lists. */
export const ORDERS_BY_SUBMITTER = 'ordersBySubmitter';
/**
 * The listing indexes' partitions are split in this many shards (`<key>#<shard>`, the shard from the
 * order id's hash), so that no index partition takes every order's write; a listing merges the shards.
 */
export const LIST_SHARDS = 8;
/** The shard an order's listing keys go to: the same for the order's life. */
export const listShardOf = (orderId: string): number =>
  (createHash('sha256').update(orderId).digest()[0] ?? 0) % LIST_SHARDS;
/** Held items by system, oldest first (a sparse index: only On Hold items carry `heldSystem`). */
export const ITEMS_HELD_BY_SYSTEM = 'itemsHeldBySystem';
/** Held items by system interface, oldest first. */
export const ITEMS_HELD_BY_INTERFACE = 'itemsHeldByInterface';
/** What the on-hold indexes keep of an item besides their keys. */
export const HELD_ITEM_ATTRIBUTES = ['orderId', 'key', 'hold', 'releaseId', 'releaseAt'];
/** Items in fallout across orders, oldest first (sparse: only FatallyFailed items awaiting an operator). */
export const ITEMS_IN_FALLOUT = 'itemsInFallout';
/** The one partition of the fallout index. */
export const FALLOUT_LIST = 'FALLOUT';
/** What the fallout index keeps of an item besides its keys. */
export const FALLOUT_ITEM_ATTRIBUTES = ['orderId', 'key', 'error'];
/**
 * Items a worker holds, by when its lease runs out (sparse: only a Running item a worker holds carries
 * `leaseList`, written with `leaseUntil` and removed with it), so a sweep finds the ones whose worker died.
 */
export const ITEMS_BY_LEASE = 'itemsByLease';
/** The one partition of the lease index. */
export const LEASE_LIST = 'LEASED';
/** What the lease index keeps of an item besides its keys. */
export const LEASED_ITEM_ATTRIBUTES = ['orderId', 'key'];
/**
 * Orders with a due date that is still to be kept, by when they are next looked at for jeopardy (sparse:
 * only such an order carries `watchList`, in LIST_SHARDS shards `WATCH#<n>`, with `nextCheckAt`).
 */
export const ORDERS_WATCHED = 'ordersWatched';
/** What the watch index keeps of an order besides its keys: enough to list the orders in jeopardy. */
export const WATCHED_ORDER_ATTRIBUTES = [
  'id',
  'state',
  'dueDate',
  'expectedCompletionDate',
  'jeopardy',
  'submittedBy',
];
