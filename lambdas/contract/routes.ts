import { ADMIN_TAGS, adminRoutes } from './admin';
import { orderRoutes } from './orders';
import type { RouteContract } from './route';

/** Every route of the API, as the stack declares it (a CDK test keeps the two equal). */
export const ROUTES: readonly RouteContract[] = [...orderRoutes, ...adminRoutes];

/** The document's groups of routes, in the order it lists them. */
export const TAGS = [
  { name: 'productOrder', description: 'TMF622 product orders: submit, list, read, amend' },
  ...ADMIN_TAGS,
];
