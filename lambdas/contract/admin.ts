import { z } from 'zod';
import { maintenanceWindowRequestSchema } from '../use-cases/maintenance-windows';
import {
  adminPageQuery,
  cancelledMaintenanceWindow,
  changedSystem,
  changedSystemInterface,
  deadLetterQueueList,
  deletedRetryRule,
  falloutPage,
  heldItemPage,
  interfaceConfigurationPatch,
  interfaceStatusChange,
  jeopardyList,
  listenerList,
  listenerView,
  maintenanceWindow,
  maintenanceWindowList,
  offeringList,
  redriveRequestSchema,
  redriveResult,
  releaseRequestSchema,
  releaseResults,
  releaseStarted,
  retryRule,
  retryRuleDefinition,
  retryRuleList,
  systemConfigurationPatch,
  systemDetail,
  systemInterfaceView,
  systemList,
  systemStateChange,
} from './admin-schemas';
import {
  ETAG_HEADER,
  type HeaderContract,
  IF_MATCH_HEADER,
  LOCATION_HEADER,
  named,
  PAGING_HEADERS,
  pathIdParam,
  type RouteContract,
  route,
} from './route';

/**
 * The operators' administration (`/admin`): systems and system interfaces (their availability, runtime
 * configuration and history), what they hold and its release, maintenance windows, connection retry
 * rules, fallout and jeopardy, dead letters and listeners, and the catalog's offerings.
 */

export const ADMIN_TAGS = [
  {
    name: 'admin-systems',
    description:
      'Fulfilment systems and their interfaces: their state and status (Up/Down, Online/Offline), runtime configuration under If-Match, history, and maintenance windows',
  },
  {
    name: 'admin-holds',
    description:
      'Items held On Hold while their system is Down or their interface Offline, and their release',
  },
  {
    name: 'admin-retry-rules',
    description: 'Connection retry rules: what happens after a callout fails, by system or interface',
  },
  {
    name: 'admin-fallout',
    description:
      'What waits for an operator: items in fallout, and orders in jeopardy of missing their due date',
  },
  {
    name: 'admin-deliveries',
    description:
      'Messages no consumer could process (the dead-letter queues), and the listeners TMF622 events are delivered to',
  },
  {
    name: 'admin-offerings',
    description: 'The catalog’s product offerings and the characteristics an order line for each must carry',
  },
];

const OPERATORS = { roles: ['operator'] } as const;

const systemIdParams = z.object({ systemId: pathIdParam('The system’s id, as the catalog names it') });
const interfaceIdParams = z.object({
  interfaceId: pathIdParam('The system interface’s id, as the catalog names it'),
});
const ruleIdParams = z.object({ ruleId: pathIdParam('The retry rule’s id, chosen by whoever wrote it') });

const MERGE_PATCH_TYPES = ['application/merge-patch+json', 'application/json'] as const;

/** How many entries the answer holds, as a page of a TMF622 list says it (no Link: these lists page in the body). */
const RESULT_COUNT = PAGING_HEADERS['x-result-count'] as HeaderContract;
const resultCount = { 'x-result-count': RESULT_COUNT };
const wholeListCounts = {
  'x-total-count': { ...RESULT_COUNT, description: 'How many there are: the list is answered whole' },
  ...resultCount,
};

// Examples.

const OLGA = { id: 'u-7f3a', name: 'olga' };
const EXAMPLE_CHANGE = {
  at: '2026-12-07T09:40:00.000Z',
  by: OLGA,
  reason: 'firmware upgrade',
  cause: 'operator',
  from: 'Up',
  to: 'Down',
};
const EXAMPLE_SYSTEM = {
  id: 'inventory',
  name: 'Network inventory',
  baseUrl: 'https://inventory.example.net/api',
  state: 'Up',
  authProfile: {
    id: 'inventory-oauth',
    type: 'oauth2-client-credentials',
    tokenUrl: 'https://login.example.net/oauth2/token',
    scope: 'ports.write',
  },
  limits: { maxConcurrentCallouts: 4, maxCalloutsPerSecond: 10 },
  circuitBreaker: {
    failureThreshold: 5,
    healthPath: '/health',
    probeIntervalSeconds: 30,
    consecutiveFailures: 0,
  },
  revision: 2,
  overrides: {
    'limits.maxConcurrentCallouts': { catalogValue: 8, at: '2026-12-01T08:00:00.000Z', by: OLGA },
  },
  seededAt: '2026-11-30T18:00:00.000Z',
  updatedAt: '2026-12-01T08:00:00.000Z',
  href: '/admin/systems/inventory',
};
const EXAMPLE_CONFIGURATION_CHANGE = {
  kind: 'configuration',
  at: '2026-12-01T08:00:00.000Z',
  by: OLGA,
  reason: 'the inventory struggles under load',
  cause: 'operator',
  revision: 2,
  changes: [{ field: 'limits.maxConcurrentCallouts', from: 8, to: 4 }],
};
const EXAMPLE_SYSTEM_DETAIL = {
  ...EXAMPLE_SYSTEM,
  interfaces: [
    {
      id: 'reserve-port',
      method: 'POST',
      path: '/ports/reservations',
      adapter: 'sync-rest',
      status: 'Online',
      href: '/admin/system-interfaces/reserve-port',
    },
  ],
  history: [EXAMPLE_CONFIGURATION_CHANGE],
  maintenanceWindows: [],
  onHoldItems: { href: '/admin/systems/inventory/on-hold-items' },
};
const EXAMPLE_INTERFACE = {
  id: 'activate-line',
  system: { id: 'activation', href: '/admin/systems/activation' },
  method: 'PUT',
  path: '/lines/{lineId}',
  adapter: 'async-rest',
  timeoutSeconds: 30,
  status: 'Offline',
  statusChange: { ...EXAMPLE_CHANGE, from: 'Online', to: 'Offline', reason: 'activation release 4.2' },
  acceptedStatuses: [202],
  asyncTimeoutSeconds: 3600,
  callbackAuth: 'standard-webhooks',
  mappings: { request: 'activate-request', asyncResponse: 'activate-callback' },
  revision: 1,
  overrides: {},
  seededAt: '2026-11-30T18:00:00.000Z',
  updatedAt: '2026-12-07T09:40:00.000Z',
  href: '/admin/system-interfaces/activate-line',
  history: [{ ...EXAMPLE_CHANGE, from: 'Online', to: 'Offline', reason: 'activation release 4.2' }],
  onHoldItems: { href: '/admin/system-interfaces/activate-line/on-hold-items' },
};
const EXAMPLE_WINDOW = {
  id: '3f9c2a7b1e04',
  systemId: 'inventory',
  start: '2026-12-12T01:00:00.000Z',
  end: '2026-12-12T03:00:00.000Z',
  reason: 'database upgrade',
  createdBy: OLGA,
  createdAt: '2026-12-07T09:45:00.000Z',
  href: '/admin/systems/inventory/maintenance-windows/3f9c2a7b1e04',
};
const EXAMPLE_RULE_DEFINITION = {
  description: 'The inventory is slow to recover',
  scope: { kind: 'system', systemId: 'inventory' },
  matches: { timeouts: false, connectionErrors: true, failedAnswers: false, statuses: ['5xx', 429] },
  policy: {
    type: 'exponential',
    firstIntervalSeconds: 30,
    factor: 2,
    capSeconds: 3600,
    jitter: 0.2,
    count: 8,
  },
  honourRetryAfter: true,
};
const EXAMPLE_RULE_RECORD = {
  id: 'inventory-5xx',
  ...EXAMPLE_RULE_DEFINITION,
  createdAt: '2026-12-01T08:10:00.000Z',
  updatedAt: '2026-12-01T08:10:00.000Z',
  updatedBy: OLGA,
};

// Routes.

export const adminRoutes: RouteContract[] = [
  route({
    method: 'GET',
    path: '/admin/systems',
    operationId: 'listSystems',
    tag: 'admin-systems',
    access: OPERATORS,
    summary: 'List the fulfilment systems',
    description:
      'Every system, with its state, limits and auth profile, by id; read one for its interfaces and history.',
    answers: {
      200: {
        description: 'Every system (the list is whole)',
        schema: systemList,
        headers: wholeListCounts,
        example: [EXAMPLE_SYSTEM],
      },
    },
    errors: [403],
  }),
  route({
    method: 'GET',
    path: '/admin/systems/{systemId}',
    operationId: 'retrieveSystem',
    tag: 'admin-systems',
    access: OPERATORS,
    summary: 'Read a system, with its interfaces and history',
    description:
      'The system as it is now, its interfaces and their status, its latest 50 changes, its maintenance windows, and its ETag for a change of its configuration.',
    params: systemIdParams,
    answers: {
      200: {
        description: 'The system',
        schema: systemDetail,
        headers: { etag: ETAG_HEADER },
        example: EXAMPLE_SYSTEM_DETAIL,
      },
    },
    errors: [400, 403, 404],
  }),
  route({
    method: 'PATCH',
    path: '/admin/systems/{systemId}',
    operationId: 'patchSystem',
    tag: 'admin-systems',
    access: OPERATORS,
    summary: 'Change a system’s runtime configuration',
    description:
      'A JSON merge patch of its base URL, limits or circuit breaker, with the reason, under If-Match: checked as the catalog is checked, kept in its history, and kept over redeploys until the catalog changes the same field. A patch that changes no value writes nothing (`changed: false`). JSON Patch is not taken.',
    params: systemIdParams,
    headers: { 'if-match': IF_MATCH_HEADER },
    body: {
      schema: systemConfigurationPatch,
      contentTypes: MERGE_PATCH_TYPES,
      example: { limits: { maxConcurrentCallouts: 4 }, reason: 'the inventory struggles under load' },
    },
    answers: {
      200: {
        description: 'The system after the change',
        schema: changedSystem,
        headers: { etag: ETAG_HEADER },
      },
    },
    errors: [400, 403, 404, 412, 413, 428],
  }),
  route({
    method: 'PUT',
    path: '/admin/systems/{systemId}/state',
    operationId: 'changeSystemState',
    tag: 'admin-systems',
    access: OPERATORS,
    summary: 'Take a system Down or bring it Up',
    description:
      'While a system is Down its callouts wait On Hold; brought Up, its held items are released (unless `releaseHeld: false`). An Up for a system that is Up already asks for a release again (`changed: false`); a Down for one that is Down changes nothing.',
    params: systemIdParams,
    body: { schema: systemStateChange, example: { state: 'Down', reason: 'firmware upgrade' } },
    answers: { 200: { description: 'The system after the change', schema: changedSystem } },
    errors: [400, 403, 404, 413],
  }),
  route({
    method: 'GET',
    path: '/admin/systems/{systemId}/on-hold-items',
    operationId: 'listSystemHeldItems',
    tag: 'admin-holds',
    access: OPERATORS,
    summary: 'List a system’s held items, oldest first',
    params: systemIdParams,
    query: adminPageQuery,
    answers: {
      200: {
        description: 'A page of its held items',
        schema: heldItemPage,
        headers: resultCount,
        example: {
          items: [
            {
              id: 'ord-01JF8Z7K3V9Q.dsl.reserve-port.1',
              orderId: 'ord-01JF8Z7K3V9Q',
              itemKey: 'dsl.reserve-port.1',
              systemId: 'inventory',
              interfaceId: 'reserve-port',
              since: '2026-12-07T09:41:12.000Z',
              reason: 'system "inventory" is Down: firmware upgrade',
              href: '/orchestration/orders/ord-01JF8Z7K3V9Q/items',
            },
          ],
        },
      },
    },
    errors: [400, 403, 404],
  }),
  route({
    method: 'GET',
    path: '/admin/system-interfaces/{interfaceId}/on-hold-items',
    operationId: 'listSystemInterfaceHeldItems',
    tag: 'admin-holds',
    access: OPERATORS,
    summary: 'List an interface’s held items, oldest first',
    params: interfaceIdParams,
    query: adminPageQuery,
    answers: {
      200: {
        description: 'A page of its held items',
        schema: heldItemPage,
        headers: resultCount,
      },
    },
    errors: [400, 403, 404],
  }),
  route({
    method: 'POST',
    path: '/admin/systems/{systemId}/release',
    operationId: 'releaseHeldItems',
    tag: 'admin-holds',
    access: OPERATORS,
    summary: 'Release a system’s held items',
    description:
      'Named items are released at once, each answered with what became of it (200). Without `itemIds`, a release of every held item starts in the background, no faster than the system’s limits allow (202). Refused while the system is Down.',
    params: systemIdParams,
    body: {
      schema: releaseRequestSchema,
      description: 'May be left out: every held item of the system is released',
      required: false,
      example: { itemIds: ['ord-01JF8Z7K3V9Q.dsl.reserve-port.1'], reason: 'trying one order first' },
    },
    answers: {
      200: {
        description: 'The named items, each with what became of it',
        schema: releaseResults,
        example: {
          releaseId: '5b0e7c62-3d7e-4f8a-9a57-0c8d2f1e6b41',
          systemId: 'inventory',
          results: [{ itemId: 'ord-01JF8Z7K3V9Q.dsl.reserve-port.1', result: 'released' }],
        },
      },
      202: {
        description: 'A release of every held item has started',
        schema: releaseStarted,
      },
    },
    errors: [400, 403, 404, 409, 413],
  }),
  route({
    method: 'GET',
    path: '/admin/systems/{systemId}/maintenance-windows',
    operationId: 'listMaintenanceWindows',
    tag: 'admin-systems',
    access: OPERATORS,
    summary: 'List a system’s maintenance windows',
    params: systemIdParams,
    answers: {
      200: {
        description: 'Its windows, by start',
        schema: maintenanceWindowList,
        headers: resultCount,
        example: [EXAMPLE_WINDOW],
      },
    },
    errors: [400, 403, 404],
  }),
  route({
    method: 'POST',
    path: '/admin/systems/{systemId}/maintenance-windows',
    operationId: 'createMaintenanceWindow',
    tag: 'admin-systems',
    access: OPERATORS,
    summary: 'Plan a maintenance window',
    description:
      'The system goes Down at `start` and comes back Up at `end`, by itself; a window whose start has passed starts now. At most 31 days long, at most 366 days ahead; windows of one system never overlap (409 naming the other).',
    params: systemIdParams,
    body: {
      schema: named(
        'MaintenanceWindowRequest',
        maintenanceWindowRequestSchema,
        'When the system is to be Down, and why; times with their offset',
      ),
      example: {
        start: '2026-12-12T02:00:00+01:00',
        end: '2026-12-12T04:00:00+01:00',
        reason: 'database upgrade',
      },
    },
    answers: {
      201: {
        description: 'The window, planned',
        schema: maintenanceWindow,
        headers: { location: LOCATION_HEADER },
        example: EXAMPLE_WINDOW,
      },
    },
    errors: [400, 403, 404, 409, 413],
  }),
  route({
    method: 'DELETE',
    path: '/admin/systems/{systemId}/maintenance-windows/{windowId}',
    operationId: 'cancelMaintenanceWindow',
    tag: 'admin-systems',
    access: OPERATORS,
    summary: 'Cancel a maintenance window',
    description:
      'Its schedules go; a window under way ends now, bringing the system back Up unless an operator changed its state meanwhile.',
    params: systemIdParams.extend({
      windowId: pathIdParam('The window’s id, as answered when it was planned'),
    }),
    answers: {
      200: {
        description: 'The window as it was',
        schema: cancelledMaintenanceWindow,
      },
    },
    errors: [400, 403, 404],
  }),
  route({
    method: 'GET',
    path: '/admin/system-interfaces/{interfaceId}',
    operationId: 'retrieveSystemInterface',
    tag: 'admin-systems',
    access: OPERATORS,
    summary: 'Read a system interface, with its history',
    description:
      'Every field of its definition, its status, its mappings, its latest 50 changes, and its ETag for a change of its configuration.',
    params: interfaceIdParams,
    answers: {
      200: {
        description: 'The interface',
        schema: systemInterfaceView,
        headers: { etag: ETAG_HEADER },
        example: EXAMPLE_INTERFACE,
      },
    },
    errors: [400, 403, 404],
  }),
  route({
    method: 'PATCH',
    path: '/admin/system-interfaces/{interfaceId}',
    operationId: 'patchSystemInterface',
    tag: 'admin-systems',
    access: OPERATORS,
    summary: 'Take an interface Offline or Online, or change its runtime configuration',
    description:
      'A body with `status` takes the interface Offline or brings it Online (If-Match checked when sent). A body with configuration fields is a JSON merge patch of them, which needs If-Match (428 without it). The two do not mix. JSON Patch is not taken.',
    params: interfaceIdParams,
    headers: {
      'if-match': {
        ...IF_MATCH_HEADER,
        description:
          'The ETag the change was made against: required for a change of configuration (428 without it), checked when sent with a change of status; 412 when it is stale',
        required: false,
      },
    },
    body: {
      schema: named(
        'SystemInterfacePatch',
        z.union([interfaceStatusChange, interfaceConfigurationPatch]),
        'A change of the interface’s status, or a merge patch of its runtime configuration',
      ),
      contentTypes: MERGE_PATCH_TYPES,
      example: { timeoutSeconds: 45, reason: 'activation answers slowly during its migration' },
    },
    answers: {
      200: {
        description: 'The interface after the change',
        schema: changedSystemInterface,
        headers: { etag: ETAG_HEADER },
      },
    },
    errors: [400, 403, 404, 412, 413, 428],
  }),
  route({
    method: 'GET',
    path: '/admin/fallout',
    operationId: 'listFallout',
    tag: 'admin-fallout',
    access: OPERATORS,
    summary: 'List the items in fallout, oldest first',
    description: 'Across orders, what waits for an operator’s retry, skip or fail (POST the action’s href).',
    query: adminPageQuery,
    answers: {
      200: {
        description: 'A page of the items in fallout',
        schema: falloutPage,
        headers: resultCount,
        example: {
          items: [
            {
              id: 'ord-01JF8Z7K3V9Q.dsl.activate-line.1',
              orderId: 'ord-01JF8Z7K3V9Q',
              itemKey: 'dsl.activate-line.1',
              since: '2026-12-07T10:02:31.000Z',
              error: 'retries exhausted under retry rule "default" (3 made)',
              actions: ['retry', 'skip', 'fail'].map((action) => ({
                action,
                href: `/orchestration/items/ord-01JF8Z7K3V9Q.dsl.activate-line.1/${action}`,
              })),
            },
          ],
          next: '2026-12-07T10:02:31.000Z#ord-01JF8Z7K3V9Q#dsl.activate-line.1',
        },
      },
    },
    errors: [400, 403],
  }),
  route({
    method: 'GET',
    path: '/admin/retry-rules',
    operationId: 'listRetryRules',
    tag: 'admin-retry-rules',
    access: OPERATORS,
    summary: 'List the connection retry rules',
    description: 'The operators’ rules by id, and the built-in rule that applies when none of them matches.',
    answers: {
      200: {
        description: 'Every rule (the list is whole)',
        schema: retryRuleList,
        headers: {
          'x-result-count': {
            ...RESULT_COUNT,
            description: 'How many rules the operators wrote (the built-in one is not counted)',
          },
        },
      },
    },
    errors: [403],
  }),
  route({
    method: 'GET',
    path: '/admin/retry-rules/{ruleId}',
    operationId: 'retrieveRetryRule',
    tag: 'admin-retry-rules',
    access: OPERATORS,
    summary: 'Read a connection retry rule',
    params: ruleIdParams,
    answers: { 200: { description: 'The rule', schema: retryRule, example: EXAMPLE_RULE_RECORD } },
    errors: [400, 403, 404],
  }),
  route({
    method: 'PUT',
    path: '/admin/retry-rules/{ruleId}',
    operationId: 'putRetryRule',
    tag: 'admin-retry-rules',
    access: OPERATORS,
    summary: 'Create or replace a connection retry rule',
    description:
      'The rule is replaced whole; the worker applies it from its next retry decision. A rule for one system or interface must name one that is configured; `default` is the built-in rule’s id.',
    params: ruleIdParams,
    body: {
      schema: retryRuleDefinition,
      example: EXAMPLE_RULE_DEFINITION,
    },
    answers: {
      200: { description: 'The rule, replaced', schema: retryRule },
      201: {
        description: 'The rule, created',
        schema: retryRule,
        headers: { location: LOCATION_HEADER },
        example: EXAMPLE_RULE_RECORD,
      },
    },
    errors: [400, 403, 413],
  }),
  route({
    method: 'DELETE',
    path: '/admin/retry-rules/{ruleId}',
    operationId: 'deleteRetryRule',
    tag: 'admin-retry-rules',
    access: OPERATORS,
    summary: 'Delete a connection retry rule',
    params: ruleIdParams,
    answers: {
      200: {
        description: 'The rule as it was',
        schema: deletedRetryRule,
      },
    },
    errors: [400, 403, 404],
  }),
  route({
    method: 'GET',
    path: '/admin/dead-letters',
    operationId: 'listDeadLetterQueues',
    tag: 'admin-deliveries',
    access: OPERATORS,
    summary: 'Count what waits in each dead-letter queue',
    description: 'Messages no consumer could process: a work item, a callback, an event delivery.',
    answers: {
      200: {
        description: 'Each dead-letter queue',
        schema: deadLetterQueueList,
        example: [
          { queue: 'work', messages: 0 },
          { queue: 'callbacks', messages: 2 },
          { queue: 'deliveries', messages: 1 },
        ],
      },
    },
    errors: [403],
  }),
  route({
    method: 'POST',
    path: '/admin/dead-letters/{queue}/redrive',
    operationId: 'redriveDeadLetters',
    tag: 'admin-deliveries',
    access: OPERATORS,
    summary: 'Send a queue’s dead letters back to be tried again',
    description:
      'Each message is moved once, to the queue it came from. Only some queues’ dead letters are sent back by hand (404 names them).',
    params: z.object({ queue: pathIdParam('The queue’s purpose, as GET /admin/dead-letters names it') }),
    body: { schema: redriveRequestSchema, required: false, example: { max: 100 } },
    answers: {
      200: {
        description: 'How many were moved',
        schema: redriveResult,
        example: { queue: 'deliveries', moved: 1 },
      },
    },
    errors: [400, 403, 404, 413],
  }),
  route({
    method: 'GET',
    path: '/admin/jeopardy',
    operationId: 'listJeopardy',
    tag: 'admin-fallout',
    access: OPERATORS,
    summary: 'List the orders in jeopardy, longest first',
    description:
      'Orders expected to complete after their due date, or with an item that has run past its expected duration.',
    answers: {
      200: {
        description: 'Every order in jeopardy',
        schema: jeopardyList,
        headers: resultCount,
        example: [
          {
            id: 'ord-01JF8Z7K3V9Q',
            state: 'inProgress',
            dueDate: '2026-12-20T17:00:00.000Z',
            expectedCompletionDate: '2026-12-21T09:00:00.000Z',
            jeopardy: {
              since: '2026-12-18T08:00:00.000Z',
              kinds: ['late'],
              reasons: ['expected to complete at 2026-12-21T09:00:00.000Z, 16 hours after its due date'],
              expectedCompletionDate: '2026-12-21T09:00:00.000Z',
              dueDate: '2026-12-20T17:00:00.000Z',
            },
            href: '/orchestration/orders/ord-01JF8Z7K3V9Q/items',
          },
        ],
      },
    },
    errors: [403],
  }),
  route({
    method: 'GET',
    path: '/admin/listeners',
    operationId: 'listListeners',
    tag: 'admin-deliveries',
    access: OPERATORS,
    summary: 'List the hub’s listeners and how their deliveries go',
    answers: {
      200: {
        description: 'Every listener',
        schema: listenerList,
        headers: resultCount,
        example: [
          {
            id: '0b6d3f0e-2a41-4c1e-9d55-7f1c2b8e4a90',
            callback: 'https://crm.example.net/tmf622/events',
            query: 'eventType=ProductOrderStateChangeEvent',
            owner: { id: 'c-crm', name: 'order-capture' },
            readsAll: false,
            createdAt: '2026-11-30T18:30:00.000Z',
            state: 'paused',
            failures: 20,
            firstFailureAt: '2026-12-07T06:00:00.000Z',
            lastFailure: { at: '2026-12-07T07:10:00.000Z', reason: 'HTTP 503' },
            lastSuccessAt: '2026-12-07T05:59:00.000Z',
            pausedAt: '2026-12-07T07:10:00.000Z',
          },
        ],
      },
    },
    errors: [403],
  }),
  route({
    method: 'POST',
    path: '/admin/listeners/{listenerId}/resume',
    operationId: 'resumeListener',
    tag: 'admin-deliveries',
    access: OPERATORS,
    summary: 'Resume a paused listener',
    description: 'Its deliveries go again, its failures forgotten.',
    params: z.object({ listenerId: pathIdParam('The listener’s id') }),
    answers: { 200: { description: 'The listener, active', schema: listenerView } },
    errors: [400, 403, 404],
  }),
  route({
    method: 'GET',
    path: '/admin/offerings',
    operationId: 'listOfferings',
    tag: 'admin-offerings',
    summary: 'List the product offerings and the characteristics each takes',
    description:
      'From the deployed catalog: what an order line for each offering must carry, checked when the order arrives. For submitters too.',
    access: { roles: ['operator', 'submitter'] },
    answers: {
      200: {
        description: 'Every offering (the list is whole)',
        schema: offeringList,
        headers: wholeListCounts,
        example: [
          {
            id: 'dsl-broadband',
            name: 'DSL broadband',
            characteristics: [
              {
                name: 'bandwidth',
                valueType: 'integer',
                unit: 'Mbit/s',
                required: ['add'],
                allowedValues: [50, 100],
              },
              { name: 'serviceAddress', valueType: 'string', required: true },
            ],
            fulfilledBy: [{ plan: 'dsl-broadband', actions: ['add', 'modify'] }],
          },
        ],
      },
    },
    errors: [403],
  }),
];
