/** Names of the orders table's indexes: created by the stateful stack, queried by the order store. */
export const ORDERS_BY_CREATION = 'ordersByCreation';
export const ORDERS_BY_STATE = 'ordersByState';
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
