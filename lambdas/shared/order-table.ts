/** Names of the orders table's indexes: created by the stateful stack, queried by the order store. */
export const ORDERS_BY_CREATION = 'ordersByCreation';
export const ORDERS_BY_STATE = 'ordersByState';
