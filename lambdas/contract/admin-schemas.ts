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
import { actorSchema as actor } from './common';
import { named } from './route';

/**
 * The schemas of the operators' administration (`/admin`): what its routes take (admin.ts declares the
 * routes) and what they answer, the types its handler answers with.
 */

// Requests: path, query and bodies, the same schemas the handler validates with.

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

export const patchReason = reasonSchema.describe('Why: kept in the history with your name (required)');

/**
 * The fields a system's merge patch may change (domain/runtime-configuration.ts: RUNTIME_FIELDS, which
 * the type keeps these to), each as the catalog reads it. The handler reads the body field by field to
 * name each one it refuses (readChangeBody), then checks the system it makes as the catalog is checked.
 */
export const systemConfigurationPatch = named(
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
export const interfaceConfigurationPatch = named(
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

export const systemStateChange = named(
  'SystemStateChange',
  systemStateRequestSchema,
  'Takes a system Down or brings it Up. `releaseHeld: false` (with Up only) keeps its held items until an operator releases them',
);

export const interfaceStatusChange = named(
  'SystemInterfaceStatusChange',
  interfaceStatusRequestSchema,
  'Takes an interface Offline or brings it Online. `releaseHeld: false` (with Online only) keeps its held items until an operator releases them',
);

// Answers: what the views (domain/system-view.ts, listener.ts, offering-view.ts, …) make.

export const instant = named(
  'DateTime',
  z.iso.datetime(),
  'An instant, in UTC, as ISO 8601 writes it (`2026-12-07T09:30:00.000Z`)',
);

export const availabilityChange = named(
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

export const configurationChange = named(
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

export const historyEntry = named(
  'HistoryEntry',
  z.union([availabilityChange, configurationChange]),
  'An entry of a system’s or an interface’s history, newest first: a change of its state or status, or of its configuration',
);

export const overrides = named(
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

export const authProfileView = named(
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

export const link = z.object({ href: z.string() }).strict();

/** What a system and an interface both carry about their configuration record. */
export const recordFields = {
  revision: z
    .number()
    .int()
    .min(0)
    .describe('Counts the changes of its configuration; its ETag is `"r<revision>"`'),
  overrides,
  seededAt: instant.describe('When a deploy last seeded it from the catalog'),
  updatedAt: instant,
};

export const interfaceSummary = named(
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

export const systemFields = {
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

export const systemView = named(
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

export const interfaceFields = {
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

export const heldItem = named(
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
export const pageOf = (id: string, entry: z.ZodType, description: string) =>
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

export const falloutEntry = named(
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

export const retryRuleDefinition = named(
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

export const defaultRetryRule = named(
  'DefaultRetryRule',
  z.object({ id: z.literal('default'), ...withoutDefaults(retryRuleBodySchema.shape) }).strict(),
  'The built-in rule, which applies when none of the operators’ rules matches a failure',
);

export const offeringView = named(
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

export const deadLetterQueueView = named(
  'DeadLetterQueueView',
  z
    .object({
      queue: z.string().describe('The queue’s purpose (`work`, `callbacks`, `deliveries`, …)'),
      messages: z.number().int().min(0).describe('About how many wait in it'),
    })
    .strict(),
  'A dead-letter queue: messages no consumer could process, waiting for an operator',
);

export const jeopardyEntry = named(
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
