import { z } from 'zod';
import { lineActions, slug } from '../../statemachines/plan-definition';
import {
  type ChangeCause,
  interfaceStatusRequestSchema,
  reasonSchema,
  systemStateRequestSchema,
} from '../domain/availability';
import {
  CALLBACK_AUTHS,
  circuitBreakerSchema,
  INTERFACE_STATUSES,
  pollingSchema,
  SYSTEM_STATES,
  systemInterfaceSchema,
  systemLimitsSchema,
  systemSchema,
} from '../domain/catalog';
import type { ListenerRecord } from '../domain/listener';
import { characteristicSpecSchema } from '../domain/offering';
import { ORDER_STATES } from '../domain/orchestration';
import { retryPolicySchema, retryRuleBodySchema } from '../domain/retry-rules';
import type { ConfigurationChange, RUNTIME_FIELDS } from '../domain/runtime-configuration';
import { maintenanceWindowRequestSchema } from '../use-cases/maintenance-windows';
import { actorSchema as actor } from './common';
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

// Requests: path, query and bodies, the same schemas the handler validates with.

const systemIdParams = z.object({ systemId: pathIdParam('The system’s id, as the catalog names it') });
const interfaceIdParams = z.object({
  interfaceId: pathIdParam('The system interface’s id, as the catalog names it'),
});
const ruleIdParams = z.object({ ruleId: pathIdParam('The retry rule’s id, chosen by whoever wrote it') });

/**
 * A page of a list that is read oldest first (held items, fallout): how many, and where the previous page
 * ended. Any other parameter is refused.
 */
export const adminPageQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(200).default(50).describe('How many entries a page holds'),
    after: z
      .string()
      .min(1)
      .max(600)
      .optional()
      .describe('The `next` of the previous page, as it was answered: the page starts after it'),
  })
  .strict();

/** POST /admin/systems/{systemId}/release; the body may be left out (every held item). */
export const releaseRequestSchema = named(
  'ReleaseRequest',
  z
    .object({
      itemIds: z
        .array(z.string().min(3).max(400))
        .min(1)
        .max(100)
        .optional()
        .describe('The items to release (`<orderId>.<itemKey>`); every held item of the system when absent'),
      reason: z
        .string()
        .trim()
        .min(1)
        .max(500)
        .optional()
        .describe('Kept with the release, beside your name'),
    })
    .strict(),
  'Which held items to release, and why',
);

/** POST /admin/dead-letters/{queue}/redrive */
export const redriveRequestSchema = named(
  'RedriveRequest',
  z
    .object({
      max: z
        .number()
        .int()
        .min(1)
        .max(1000)
        .default(1000)
        .describe('The most dead letters to send back (all of them, up to 1,000, by default)'),
    })
    .strict(),
  'How many of a queue’s dead letters to send back to the queue they came from',
);

/** The field name a runtime field's dotted path starts with: what a merge patch names. */
type TopLevel<P extends string> = P extends `${infer Head}.${string}` ? Head : P;
type RuntimeFieldsOf<S extends keyof typeof RUNTIME_FIELDS> = TopLevel<(typeof RUNTIME_FIELDS)[S][number]>;

/**
 * A shape's fields as an answer carries them: one with a default is always there, so the document says it
 * is required. (Typed as the shape it came from: only the document reads these schemas.)
 */
function withoutDefaults<S extends z.ZodRawShape>(shape: S): S {
  return Object.fromEntries(
    Object.entries(shape).map(([name, field]) => [
      name,
      field instanceof z.ZodDefault ? field.unwrap() : field,
    ]),
  ) as S;
}

const patchReason = reasonSchema.describe('Why: kept in the history with your name (required)');

/**
 * The fields a system's merge patch may change (domain/runtime-configuration.ts: RUNTIME_FIELDS, which
 * the type keeps these to), each as the catalog reads it. The handler reads the body field by field to
 * name each one it refuses (readChangeBody), then checks the system it makes as the catalog is checked.
 */
const systemConfigurationPatch = named(
  'SystemConfigurationPatch',
  z
    .object({
      reason: patchReason,
      ...({
        baseUrl: systemSchema.shape.baseUrl.optional(),
        limits: z
          .object({
            maxConcurrentCallouts: systemLimitsSchema.shape.maxConcurrentCallouts.nullable(),
            maxCalloutsPerSecond: systemLimitsSchema.shape.maxCalloutsPerSecond.nullable(),
          })
          .strict()
          .optional()
          .describe('Each limit changed on its own; null removes it'),
        circuitBreaker: z
          .object(withoutDefaults(circuitBreakerSchema.shape))
          .strict()
          .partial()
          .nullable()
          .optional()
          .describe('Merged into the breaker the system has (a whole one when it has none); null removes it'),
      } satisfies Record<RuntimeFieldsOf<'system'>, z.ZodType>),
    })
    .strict(),
  'A JSON merge patch (RFC 7386) of a system’s runtime configuration, with the reason: only these fields change at runtime; the rest of a definition stays in the catalog (400 naming each such field)',
);

/** The fields an interface's merge patch may change, as a system's. */
const interfaceConfigurationPatch = named(
  'SystemInterfaceConfigurationPatch',
  z
    .object({
      reason: patchReason,
      ...({
        timeoutSeconds: systemInterfaceSchema.shape.timeoutSeconds
          .unwrap()
          .nullable()
          .optional()
          .describe('null: back to the default, 30'),
        acceptedStatuses: systemInterfaceSchema.shape.acceptedStatuses
          .nullable()
          .describe('Asynchronous interfaces only; null: back to the default, [202]'),
        asyncTimeoutSeconds: systemInterfaceSchema.shape.asyncTimeoutSeconds
          .nullable()
          .describe('Asynchronous interfaces only; null: back to the default, a week'),
      } satisfies Record<RuntimeFieldsOf<'interface'>, z.ZodType>),
    })
    .strict(),
  'A JSON merge patch (RFC 7386) of an interface’s runtime configuration, with the reason; checked against the deployed catalog’s rules (its slowest timeout, its plans’ waits)',
);

const systemStateChange = named(
  'SystemStateChange',
  systemStateRequestSchema,
  'Takes a system Down or brings it Up. `releaseHeld: false` (with Up only) keeps its held items until an operator releases them',
);

const interfaceStatusChange = named(
  'SystemInterfaceStatusChange',
  interfaceStatusRequestSchema,
  'Takes an interface Offline or brings it Online. `releaseHeld: false` (with Online only) keeps its held items until an operator releases them',
);

const MERGE_PATCH_TYPES = ['application/merge-patch+json', 'application/json'] as const;

// Answers: what the views (domain/system-view.ts, listener.ts, offering-view.ts, …) make.

const instant = named(
  'DateTime',
  z.iso.datetime(),
  'An instant, in UTC, as ISO 8601 writes it (`2026-12-07T09:30:00.000Z`)',
);

const availabilityChange = named(
  'AvailabilityChange',
  z
    .object({
      at: instant,
      by: actor,
      reason: z.string(),
      cause: z.enum({
        operator: 'operator',
        maintenance: 'maintenance',
        'circuit-breaker': 'circuit-breaker',
      } satisfies Record<ChangeCause, ChangeCause>),
      windowId: z.string().optional().describe('The maintenance window behind the change'),
      from: z.enum([...SYSTEM_STATES, ...INTERFACE_STATUSES]),
      to: z.enum([...SYSTEM_STATES, ...INTERFACE_STATUSES]),
    })
    .strict(),
  'A change of a system’s state or an interface’s status: who, when, why, and from what to what',
);

const configurationChange = named(
  'ConfigurationChange',
  z
    .object({
      kind: z.literal('configuration'),
      at: instant,
      by: actor,
      reason: z.string(),
      cause: z.enum({ operator: 'operator', deploy: 'deploy' } satisfies Record<
        ConfigurationChange['cause'],
        ConfigurationChange['cause']
      >),
      revision: z.number().int().describe('The revision the change made (its ETag)'),
      changes: z.array(
        z
          .object({
            field: z.string().describe('A dotted path (`limits.maxConcurrentCallouts`)'),
            from: z.unknown().describe('null: it was not set'),
            to: z.unknown().describe('null: it is not set'),
            note: z.string().optional().describe('Why, when a deploy decided it or an override ended'),
          })
          .strict(),
      ),
    })
    .strict(),
  'A change of a system’s or an interface’s runtime configuration, by an operator or a deploy',
);

const historyEntry = named(
  'HistoryEntry',
  z.union([availabilityChange, configurationChange]),
  'An entry of a system’s or an interface’s history, newest first: a change of its state or status, or of its configuration',
);

const overrides = named(
  'Overrides',
  z.record(
    z.string(),
    z
      .object({
        catalogValue: z.unknown().describe('The catalog’s value it replaced (null: the catalog had none)'),
        at: instant,
        by: actor,
      })
      .strict(),
  ),
  'The fields an operator changed at runtime, by dotted path, each with the catalog’s value it replaced: a deploy keeps the operator’s value until the catalog changes that field',
);

const authProfileView = named(
  'AuthProfileView',
  z.union([
    z.object({ id: slug, type: z.literal('api-key'), header: z.string() }).strict(),
    z
      .object({
        id: slug,
        type: z.literal('oauth2-client-credentials'),
        tokenUrl: z.string(),
        scope: z.string().optional(),
      })
      .strict(),
    z.object({ id: slug, type: z.enum(['none', 'basic', 'bearer', 'mtls']) }).strict(),
    z.object({ id: slug }).strict().describe('A profile the deployed catalog does not have'),
    z
      .object({ type: z.literal('none') })
      .strict()
      .describe('No profile: callouts carry no credentials'),
  ]),
  'How the system’s callouts prove who Switchboard is: the profile’s id and type (and an OAuth2 token URL and scope, an API key’s header). Credentials live in a secret and never leave it through the API',
);

const link = z.object({ href: z.string() }).strict();

/** What a system and an interface both carry about their configuration record. */
const recordFields = {
  revision: z
    .number()
    .int()
    .min(0)
    .describe('Counts the changes of its configuration; its ETag is `"r<revision>"`'),
  overrides,
  seededAt: instant.describe('When a deploy last seeded it from the catalog'),
  updatedAt: instant,
};

const interfaceSummary = named(
  'SystemInterfaceSummary',
  z
    .object({
      id: slug,
      method: systemInterfaceSchema.shape.method,
      path: z.string(),
      adapter: slug,
      status: z.enum(INTERFACE_STATUSES),
      statusChange: availabilityChange.optional().describe('The change that brought it to its status'),
      href: z.string(),
    })
    .strict(),
  'An interface of a system, as the system’s view lists it',
);

const systemFields = {
  id: slug,
  name: z.string(),
  baseUrl: systemSchema.shape.baseUrl,
  state: z.enum(SYSTEM_STATES),
  stateChange: availabilityChange
    .optional()
    .describe('The change that brought it to its state; absent as seeded'),
  authProfile: authProfileView,
  limits: named(
    'SystemLimits',
    systemLimitsSchema,
    'What the system can take, across every worker at once: callouts in flight, and started a second',
  ),
  circuitBreaker: named(
    'CircuitBreakerView',
    z
      .object({
        ...withoutDefaults(circuitBreakerSchema.shape),
        consecutiveFailures: z
          .number()
          .int()
          .min(0)
          .describe('Connection failures and timeouts in a row so far'),
      })
      .strict(),
    'The automatic circuit breaker: Down by itself after `failureThreshold` failures in a row, back Up after a healthy probe',
  ).optional(),
  ...recordFields,
  href: z.string(),
};

const systemView = named(
  'SystemView',
  z.object(systemFields).strict(),
  'A fulfilment system as it is now: its state, limits, circuit breaker and auth profile, and its configuration’s revision and overrides',
);

export const maintenanceWindow = named(
  'MaintenanceWindow',
  z
    .object({
      id: z.string(),
      systemId: slug,
      start: instant,
      end: instant,
      reason: z.string(),
      createdBy: actor,
      createdAt: instant,
      startedAt: instant.optional().describe('When it took the system Down (or found it Down already)'),
      endedAt: instant.optional().describe('When it brought the system back Up (or left an operator’s Down)'),
      href: z.string(),
    })
    .strict(),
  'A planned maintenance: the system goes Down at its start and comes back Up at its end, by itself',
);

export const systemDetail = named(
  'SystemDetail',
  z
    .object({
      ...systemFields,
      interfaces: z.array(interfaceSummary),
      history: z.array(historyEntry).describe('The latest 50 changes, newest first'),
      maintenanceWindows: z.array(maintenanceWindow),
      onHoldItems: link.describe('Its held items'),
    })
    .strict(),
  'A system read alone: as listed, with its interfaces, its history, its maintenance windows and the link to its held items',
);

export const changedSystem = named(
  'ChangedSystem',
  systemDetail.extend({
    changed: z.boolean().describe('false: it was so already, and nothing was written'),
  }),
  'The system after a change, and whether the change changed anything',
);

/** An interface's definition fields as its view shows them: every one, the mappings apart. */
const {
  id: _id,
  system: _system,
  status: _status,
  requestMapping: _request,
  responseMapping: _response,
  asyncResponseMapping: _asyncResponse,
  ...interfaceDefinition
} = withoutDefaults(systemInterfaceSchema.shape);

// A component of its own, which the interface view refers to.
named(
  'Polling',
  pollingSchema,
  'How the status of accepted work is asked for, for a system that cannot call back',
);

const interfaceFields = {
  id: slug,
  system: z.object({ id: slug, href: z.string() }).strict(),
  ...interfaceDefinition,
  status: z.enum(INTERFACE_STATUSES),
  statusChange: availabilityChange
    .optional()
    .describe('The change that brought it to its status; absent as seeded'),
  acceptedStatuses: interfaceDefinition.acceptedStatuses.describe(
    'Asynchronous interfaces: the statuses that mean accepted (the default, [202], filled in)',
  ),
  asyncTimeoutSeconds: interfaceDefinition.asyncTimeoutSeconds.describe(
    'Asynchronous interfaces: how long the final answer may take (the default, a week, filled in)',
  ),
  callbackAuth: z
    .enum(CALLBACK_AUTHS)
    .optional()
    .describe(
      'Asynchronous interfaces: what a callback must carry besides its URL’s proof (default url-proof)',
    ),
  mappings: z
    .object({ request: slug.optional(), response: slug.optional(), asyncResponse: slug.optional() })
    .strict()
    .describe('Its mappings by role, by name'),
  ...recordFields,
  href: z.string(),
  history: z.array(historyEntry).describe('The latest 50 changes, newest first'),
  onHoldItems: link.describe('Its held items'),
};

export const systemInterfaceView = named(
  'SystemInterfaceView',
  z.object(interfaceFields).strict(),
  'A system interface as it is now: every field of its definition, its status, its mappings, its configuration’s revision and overrides, and its history',
);

export const changedSystemInterface = named(
  'ChangedSystemInterface',
  systemInterfaceView.extend({
    changed: z.boolean().describe('false: it was so already, and nothing was written'),
  }),
  'The interface after a change of its status or configuration, and whether the change changed anything',
);

const heldItem = named(
  'HeldItem',
  z
    .object({
      id: z
        .string()
        .describe('The item’s id (`<orderId>.<itemKey>`), as /orchestration/items/{itemId} takes it'),
      orderId: z.string(),
      itemKey: z.string(),
      systemId: slug,
      interfaceId: slug
        .optional()
        .describe(
          'Absent for a procedure step sent to a path of its system: only the system’s state holds it',
        ),
      since: instant,
      reason: z.string(),
      releasing: z
        .object({ releaseId: z.string(), since: instant })
        .strict()
        .optional()
        .describe('A release sent it back to work, and no worker has taken it yet'),
      href: z.string().describe('Its order’s items'),
    })
    .strict(),
  'An item waiting On Hold for its system or interface',
);

/** A page of a list read oldest first: its entries, and where the next page starts while there is one. */
const pageOf = (id: string, entry: z.ZodType, description: string) =>
  named(
    id,
    z
      .object({
        items: z.array(entry),
        next: z.string().optional().describe('Send it as `after` for the next page; absent on the last page'),
      })
      .strict(),
    description,
  );

export const heldItemPage = pageOf('HeldItemPage', heldItem, 'A page of held items, oldest first');

const falloutEntry = named(
  'FalloutEntry',
  z
    .object({
      id: z.string().describe('The item’s id (`<orderId>.<itemKey>`)'),
      orderId: z.string(),
      itemKey: z.string(),
      since: instant,
      error: z.string().optional(),
      actions: z.array(
        z
          .object({ action: z.enum(['retry', 'skip', 'fail']), href: z.string().describe('POST it') })
          .strict(),
      ),
    })
    .strict(),
  'An item in fallout: it failed for good and waits for an operator to retry it, skip it or fail its order',
);

// The parts of a retry rule, each a component that the rule as sent, as kept and the built-in one refer to.
named('RetryRuleScope', retryRuleBodySchema.shape.scope, 'Which callouts the rule covers');
named(
  'RetryRuleMatches',
  retryRuleBodySchema.shape.matches,
  'The failures the rule decides after: timeouts, connection errors, failed final answers, statuses (`503`, `"5xx"`, `"500-599"`)',
);
named(
  'RetryPolicy',
  retryPolicySchema,
  'When the next attempt is: none (fallout), a fixed interval, a list of intervals, exponential backoff, or forever',
);

const retryRuleDefinition = named(
  'RetryRuleDefinition',
  retryRuleBodySchema,
  'A connection retry rule: its scope (every system, one system, one interface), the failures it matches, and its policy. The most specific rule matching a failure decides',
);

export const retryRule = named(
  'RetryRule',
  z
    .object({
      id: z.string(),
      ...withoutDefaults(retryRuleBodySchema.shape),
      createdAt: instant,
      updatedAt: instant,
      updatedBy: actor,
    })
    .strict(),
  'A connection retry rule as kept, with who wrote it last and when',
);

const defaultRetryRule = named(
  'DefaultRetryRule',
  z.object({ id: z.literal('default'), ...withoutDefaults(retryRuleBodySchema.shape) }).strict(),
  'The built-in rule, which applies when none of the operators’ rules matches a failure',
);

/** How many entries the answer holds, as a page of a TMF622 list says it (no Link: these lists page in the body). */
const RESULT_COUNT = PAGING_HEADERS['x-result-count'] as HeaderContract;
const resultCount = { 'x-result-count': RESULT_COUNT };
const wholeListCounts = {
  'x-total-count': { ...RESULT_COUNT, description: 'How many there are: the list is answered whole' },
  ...resultCount,
};

const offeringView = named(
  'OfferingView',
  z
    .object({
      id: z.string(),
      name: z.string(),
      description: z.string().optional(),
      characteristics: z.array(
        named(
          'CharacteristicSpec',
          characteristicSpecSchema,
          'A characteristic an order line for the offering may or must carry, and the values it takes',
        ),
      ),
      fulfilledBy: z
        .array(z.object({ plan: z.string(), actions: z.array(z.enum(lineActions)) }).strict())
        .describe('The plans that fulfil its lines, for which actions'),
    })
    .strict(),
  'A product offering of the catalog, with the characteristics it takes (a plain shape, not TMF620’s)',
);

const deadLetterQueueView = named(
  'DeadLetterQueueView',
  z
    .object({
      queue: z.string().describe('The queue’s purpose (`work`, `callbacks`, `deliveries`, …)'),
      messages: z.number().int().min(0).describe('About how many wait in it'),
    })
    .strict(),
  'A dead-letter queue: messages no consumer could process, waiting for an operator',
);

const jeopardyEntry = named(
  'JeopardyEntry',
  z
    .object({
      id: z.string(),
      state: z.enum(ORDER_STATES),
      dueDate: instant,
      expectedCompletionDate: instant.optional(),
      jeopardy: z
        .object({
          since: instant,
          kinds: z
            .array(z.string())
            .describe(
              '`late` (its expected completion is after its due date), `overrun:<item key>` (an item)',
            ),
          reasons: z.array(z.string()).describe('The same, for people'),
          expectedCompletionDate: instant,
          dueDate: instant,
        })
        .strict()
        .optional(),
      submittedBy: actor.optional(),
      href: z.string().describe('Its items'),
    })
    .strict(),
  'An order expected to miss its due date, or with an item that overran its expected duration',
);

export const listenerView = named(
  'ListenerView',
  z
    .object({
      id: z.string(),
      callback: z.string(),
      query: z.string().optional().describe('Its TMF630 filter, as registered'),
      owner: actor.describe('Who registered it: it receives the events of the orders its owner may read'),
      readsAll: z.boolean().describe('Its owner reads every order, not only those it submitted'),
      createdAt: instant,
      state: z
        .enum({ active: 'active', paused: 'paused' } satisfies Record<
          ListenerRecord['state'],
          ListenerRecord['state']
        >)
        .describe('paused after it kept failing: deliveries wait until it is resumed'),
      failures: z.number().int().min(0).optional().describe('Deliveries that failed in a row'),
      firstFailureAt: instant.optional(),
      lastFailure: z.object({ at: instant, reason: z.string() }).strict().optional(),
      lastSuccessAt: instant.optional(),
      pausedAt: instant.optional(),
    })
    .strict(),
  'A listener registered on the TMF622 hub, and how its deliveries go (its secret is never shown)',
);

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

/** The answers that are lists, each the type its handler answers with. */
export const falloutPage = pageOf(
  'FalloutPage',
  falloutEntry,
  'A page of the items in fallout, oldest first',
);
export const systemList = named('SystemList', z.array(systemView));
export const maintenanceWindowList = named('MaintenanceWindowList', z.array(maintenanceWindow));
export const deadLetterQueueList = named('DeadLetterQueueList', z.array(deadLetterQueueView));
export const jeopardyList = named('JeopardyList', z.array(jeopardyEntry));
export const listenerList = named('ListenerList', z.array(listenerView));
export const offeringList = named('OfferingList', z.array(offeringView));

export const releaseResults = named(
  'ReleaseResults',
  z
    .object({
      releaseId: z.uuid(),
      systemId: slug,
      results: z.array(
        z
          .object({
            itemId: z.string(),
            result: z
              .enum(['released', 'not held', 'interface offline', 'being released'])
              .describe(
                '`being released`: another release sent it a moment ago; `interface offline`: it waits for its interface',
              ),
          })
          .strict(),
      ),
    })
    .strict(),
  'What a release of named items did with each, once each (an item named twice is one)',
);
export const releaseStarted = named(
  'ReleaseStarted',
  z.object({ releaseId: z.uuid(), systemId: slug, status: z.literal('started') }).strict(),
  'A release of every held item, started in the background',
);
export const cancelledMaintenanceWindow = named(
  'CancelledMaintenanceWindow',
  maintenanceWindow.extend({ cancelled: z.literal(true) }),
  'A maintenance window, cancelled',
);
export const retryRuleList = named(
  'RetryRuleList',
  z.object({ rules: z.array(retryRule), defaultRule: defaultRetryRule }).strict(),
  'The operators’ retry rules, and the built-in one',
);
export const deletedRetryRule = named(
  'DeletedRetryRule',
  retryRule.extend({ deleted: z.literal(true) }),
  'A retry rule, deleted',
);
export const redriveResult = named(
  'RedriveResult',
  z.object({ queue: z.string(), moved: z.number().int().min(0) }).strict(),
  'How many dead letters were sent back',
);

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
