import { ADMIN_TAGS, adminRoutes } from './admin';
import { callbackRoutes, callbackTags } from './callbacks';
import { cancellationRoutes, cancellationTags } from './cancellations';
import { hubRoutes, hubTags } from './hub';
import { orchestrationRoutes, orchestrationTags } from './orchestration';
import { orderRoutes } from './orders';
import type { RouteContract } from './route';

/** Every route of the API, as the stack declares it (a CDK test keeps the two equal). */
export const ROUTES: readonly RouteContract[] = [
  ...orderRoutes,
  ...cancellationRoutes,
  ...hubRoutes,
  ...orchestrationRoutes,
  ...adminRoutes,
  ...callbackRoutes,
];

/** The document's groups of routes, in the order it lists them. */
export const TAGS = [
  { name: 'productOrder', description: 'TMF622 product orders: submit, list, read, amend' },
  ...cancellationTags,
  ...hubTags,
  ...orchestrationTags,
  ...ADMIN_TAGS,
  ...callbackTags,
];
