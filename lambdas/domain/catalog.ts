import { z } from 'zod';
import { type PlanDefinition, type PlanItem, slug } from '../../statemachines/plan-definition';
import type { AuthProfile } from './auth-profile';
import type { Offering } from './offering';
import { pathTemplateProblems } from './path-template';
import type { Procedure, StepRef } from './procedure';

/**
 * What a system can take. Both hold across every worker at once: a legacy system that accepts four
 * connections gets at most four, however many orders are running.
 */
export const systemLimitsSchema = z
  .object({
    /** The most callouts in flight to the system at any moment. */
    maxConcurrentCallouts: z.number().int().min(1).max(1000).optional(),
    /** The most callouts started in any one second. */
    maxCalloutsPerSecond: z.number().positive().max(10_000).optional(),
  })
  .strict();

/**
 * The automatic circuit breaker: after `failureThreshold` connection failures or timeouts in a row the
 * system goes Down by itself; every `probeIntervalSeconds` a GET of `healthPath` (with the system's
 * auth) is tried, and the first 2xx brings it back Up, releasing what was held meanwhile.
 */
export const circuitBreakerSchema = z
  .object({
    failureThreshold: z.number().int().min(1).max(1000),
    healthPath: z.string().startsWith('/'),
    probeIntervalSeconds: z.number().int().min(1).max(900).default(30),
  })
  .strict();

/** A fulfilment system Switchboard calls but does not own. */
export const systemSchema = z
  .object({
    id: slug,
    name: z.string().min(1),
    baseUrl: z.url({ protocol: /^https?$/ }),
    /** The auth profile (auth-profiles/<id>.yaml) its callouts use; none when absent. */
    authProfile: slug.optional(),
    limits: systemLimitsSchema.default({}),
    circuitBreaker: circuitBreakerSchema.optional(),
  })
  .strict();

/** Integration adapters built in; any other name is a custom adapter (adapters/<name>.ts in the catalog). */
export const BUILT_IN_ADAPTERS = ['sync-rest', 'async-rest'] as const;

/** The longest an asynchronous callout may wait for its final answer by default: a week. */
export const DEFAULT_ASYNC_TIMEOUT_SECONDS = 7 * 24 * 3600;

/** How a system's callbacks prove they are its own, beyond the URL's proof (docs/security.md). */
export const CALLBACK_AUTHS = ['url-proof', 'standard-webhooks'] as const;
export type CallbackAuth = (typeof CALLBACK_AUTHS)[number];

/** The secret entry of a system whose callbacks are signed: `callbacks:<systemId>`. */
export const systemCallbackSecretName = (systemId: string): string => `callbacks:${systemId}`;

/** The systems some of whose interfaces want signed callbacks: each needs a callback secret. */
export function systemsSigningCallbacks(catalog: Pick<Catalog, 'interfaces'>): string[] {
  const systems = Object.values(catalog.interfaces)
    .filter((i) => i.callbackAuth === 'standard-webhooks')
    .map((i) => i.system);
  return [...new Set(systems)].sort();
}

/**
 * Polling: for a system that cannot call back, the status of the work it accepted is asked for instead.
 * After the accepting answer, a GET of `path` (its placeholders filled from what mappings see, plus the
 * accepting answer as `response` and its headers as `responseHeaders`) is sent every `intervalSeconds`,
 * the interval growing by `backoffRate` after each poll up to `maxIntervalSeconds`; `statusMapping` turns
 * each 2xx answer into an outcome (domain/system-outcome.ts). The interface's `asyncTimeoutSeconds` still
 * bounds the whole wait, and callbacks are still taken: whichever final answer comes first applies.
 */
export const pollingSchema = z
  .object({
    path: z.string().startsWith('/'),
    statusMapping: slug,
    intervalSeconds: z.number().int().min(1).max(900).default(30),
    backoffRate: z.number().min(1).max(10).default(1),
    /** The longest interval the backoff grows to (at most SQS's 15-minute delay); the first when absent. */
    maxIntervalSeconds: z.number().int().min(1).max(900).optional(),
  })
  .strict()
  .superRefine((polling, ctx) => {
    for (const problem of pathTemplateProblems(polling.path))
      ctx.addIssue({ code: 'custom', path: ['path'], message: problem });
    if (polling.maxIntervalSeconds !== undefined && polling.maxIntervalSeconds < polling.intervalSeconds)
      ctx.addIssue({
        code: 'custom',
        path: ['maxIntervalSeconds'],
        message: `must be at least intervalSeconds (${polling.intervalSeconds})`,
      });
  });
export type Polling = z.infer<typeof pollingSchema>;

/** The delay before a poll, in seconds: the interval grown by the backoff once per poll before it. */
export function pollDelaySeconds(polling: Polling, pollsBefore: number): number {
  const ceiling = polling.maxIntervalSeconds ?? polling.intervalSeconds;
  const grown = polling.intervalSeconds * polling.backoffRate ** Math.max(0, pollsBefore);
  return Math.min(ceiling, Math.max(polling.intervalSeconds, Math.round(grown)));
}

export const INTERFACE_STATUSES = ['Online', 'Offline'] as const;
export type InterfaceStatus = (typeof INTERFACE_STATUSES)[number];
export const SYSTEM_STATES = ['Up', 'Down'] as const;
export type SystemState = (typeof SYSTEM_STATES)[number];

/** One endpoint of a system, and how a callout talks to it. */
export const systemInterfaceSchema = z
  .object({
    id: slug,
    system: slug,
    method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']),
    path: z.string().startsWith('/'),
    /** `sync-rest`, or the name of a custom adapter in the catalog's adapters folder. */
    adapter: slug.default('sync-rest'),
    /** The status it is seeded with; operators change it at runtime. */
    status: z.enum(INTERFACE_STATUSES).default('Online'),
    timeoutSeconds: z.number().int().min(1).max(900).default(30),
    /** Names of mappings in the catalog's mappings folder. */
    requestMapping: slug.optional(),
    responseMapping: slug.optional(),
    /** For asynchronous adapters: turns the system's later answer into order attributes. */
    asyncResponseMapping: slug.optional(),
    /** async-rest: the statuses that mean "accepted, the answer follows on the callback" (default 202). */
    acceptedStatuses: z.array(z.number().int().min(200).max(299)).min(1).optional(),
    /** async-rest: how long after the system accepted the callout its final answer may take (default a week). */
    asyncTimeoutSeconds: z
      .number()
      .int()
      .min(1)
      .max(365 * 24 * 3600)
      .optional(),
    /**
     * async-rest: what a callback must carry besides its URL's proof. `standard-webhooks`: a signature of
     * its body under the system's own secret (domain/webhook-signature.ts); `url-proof` (the default,
     * when absent): nothing more.
     */
    callbackAuth: z.enum(CALLBACK_AUTHS).optional(),
    /**
     * Asynchronous interfaces: a mapping from the system's own callback (its `body` and `headers`) to
     * Switchboard's outcome — interim or final, success or failure with a reason, attributes to write
     * (domain/system-outcome.ts). Without it the system calls back in Switchboard's shape (`status`).
     */
    callbackMapping: slug.optional(),
    /** Asynchronous interfaces: ask the system for the work's status instead of (or besides) a callback. */
    polling: pollingSchema.optional(),
  })
  .strict()
  .superRefine((iface, ctx) => {
    if (iface.callbackMapping !== undefined && iface.asyncResponseMapping !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['asyncResponseMapping'],
        message:
          'the callbackMapping gives the attributes of the final answer: an asyncResponseMapping beside it would never run',
      });
    for (const field of ['callbackMapping', 'polling'] as const) {
      if (iface[field] !== undefined && iface.adapter === 'sync-rest')
        ctx.addIssue({
          code: 'custom',
          path: [field],
          message: 'is for asynchronous interfaces: the adapter is sync-rest, whose answer is final',
        });
    }
    for (const problem of pathTemplateProblems(iface.path))
      ctx.addIssue({ code: 'custom', path: ['path'], message: problem });
    if (iface.method === 'GET' && iface.requestMapping !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['requestMapping'],
        message:
          'a GET sends no body: say what it asks for in its path and query ({…} placeholders), not in a request mapping',
      });
  });

export type FulfilmentSystem = z.infer<typeof systemSchema>;
export type SystemInterface = z.infer<typeof systemInterfaceSchema>;

/** Everything a deployed Switchboard knows from configuration; validated once at synth. */
export interface Catalog {
  systems: Record<string, FulfilmentSystem>;
  interfaces: Record<string, SystemInterface>;
  /** JSONata expressions by name. */
  mappings: Record<string, string>;
  authProfiles: Record<string, AuthProfile>;
  /** Names of the custom adapters (adapters/<name>.ts) the bundles carry. */
  customAdapters: string[];
  /**
   * Those of them that are asynchronous (their module says `asynchronous: true`), as the synth read them:
   * for the functions that carry no adapter code. Absent: none.
   */
  asynchronousAdapters?: string[];
  plans: Record<string, PlanDefinition>;
  /** Integration procedures by id (procedures/<id>.yaml), run by auto tasks. */
  procedures: Record<string, Procedure>;
  /** Product offerings by id (offerings/<id>.yaml): the characteristics each takes. Every plan's are here. */
  offerings: Record<string, Offering>;
}

/**
 * True for an interface whose system answers later, on a callback: async-rest, or a custom adapter that
 * says it is asynchronous (read at synth: `asynchronousAdapters`).
 */
export function isAsynchronousInterface(
  catalog: Pick<Catalog, 'asynchronousAdapters'>,
  iface: Pick<SystemInterface, 'adapter'>,
): boolean {
  return iface.adapter === 'async-rest' || (catalog.asynchronousAdapters ?? []).includes(iface.adapter);
}

/**
 * What an item waits for callbacks: its interface's (timeout and wait for the final answer) when it is
 * asynchronous, or each asynchronous HTTP step's of its procedure, which run one after the other.
 */
export function asynchronousWaits(
  item: PlanItem,
  interfaces: Record<string, SystemInterface>,
  procedures: Record<string, Procedure>,
  asynchronous: (iface: SystemInterface) => boolean,
): { what: string; seconds: number }[] {
  const wait = (iface: SystemInterface) =>
    iface.timeoutSeconds + (iface.asyncTimeoutSeconds ?? DEFAULT_ASYNC_TIMEOUT_SECONDS);
  const iface = item.interface !== undefined ? interfaces[item.interface] : undefined;
  if (iface && asynchronous(iface)) return [{ what: `"${iface.id}"`, seconds: wait(iface) }];
  const procedure = item.procedure !== undefined ? procedures[item.procedure] : undefined;
  return (procedure?.steps ?? []).flatMap((step) => {
    const stepIface =
      step.type === 'http' && step.interface !== undefined ? interfaces[step.interface] : undefined;
    return stepIface && asynchronous(stepIface)
      ? [
          {
            what: `"${step.id}" (interface "${stepIface.id}")`,
            seconds: wait(stepIface),
          },
        ]
      : [];
  });
}

/** The longest timeout any interface of the catalog allows a callout, in seconds (0 without interfaces). */
export function slowestCalloutSeconds(catalog: Pick<Catalog, 'interfaces'>): number {
  return Math.max(0, ...Object.values(catalog.interfaces).map((i) => i.timeoutSeconds));
}

/** The plan that fulfils a line, by offering id and line action. */
export function findPlanFor(
  catalog: Catalog,
  offeringId: string,
  action: string,
): PlanDefinition | undefined {
  return Object.values(catalog.plans).find((plan) =>
    plan.fulfils.some((f) => f.offering === offeringId && (f.actions as string[]).includes(action)),
  );
}

/**
 * The system and interface a callout item's attempts go to, whose retry rules decide after one fails;
 * undefined for an item that calls no interface of the catalog.
 */
export function calloutTargetOf(
  catalog: Pick<Catalog, 'interfaces'>,
  item: { interfaceId?: string },
): { systemId: string; interfaceId: string } | undefined {
  const systemId = item.interfaceId ? catalog.interfaces[item.interfaceId]?.system : undefined;
  return systemId && item.interfaceId ? { systemId, interfaceId: item.interfaceId } : undefined;
}

/**
 * The call whose callbacks an item waits for (and whose deadline, signature and retry rules apply to
 * them): a callout's interface, or — for an item that runs a procedure — the HTTP step to an
 * asynchronous interface its progress stands at, which the worker keeps before it sends such a step. Undefined when
 * the item waits at no such call.
 */
export function awaitedCallOf(
  catalog: Pick<Catalog, 'interfaces' | 'plans' | 'procedures' | 'asynchronousAdapters'>,
  item: {
    interfaceId?: string;
    procedure?: { next: number };
    planId: string;
    planItemId: string;
    compensates?: string | undefined;
  },
): { iface: SystemInterface; target: { systemId: string; interfaceId: string }; step?: StepRef } | undefined {
  const targetOf = (iface: SystemInterface) => ({ systemId: iface.system, interfaceId: iface.id });
  if (item.interfaceId !== undefined) {
    const iface = catalog.interfaces[item.interfaceId];
    return iface ? { iface, target: targetOf(iface) } : undefined;
  }
  if (item.procedure === undefined) return undefined;
  const procedureId = plannedItemOf(catalog, item)?.procedure;
  const procedure = procedureId !== undefined ? catalog.procedures[procedureId] : undefined;
  const index = item.procedure.next;
  const step = procedure?.steps[index];
  if (!procedure || step?.type !== 'http' || step.interface === undefined) return undefined;
  const iface = catalog.interfaces[step.interface];
  // Only an asynchronous step's request carries a callback URL.
  if (!iface || !isAsynchronousInterface(catalog, iface)) return undefined;
  return { iface, target: targetOf(iface), step: { procedure: procedure.id, id: step.id, index } };
}

/**
 * What the plan says an item runs: its plan item, or for a compensation its
 * plan item's `compensation` (ItemRecord.compensates), as an item of its own — a callout to its interface, or a procedure with
 * its input mapping. Undefined for an item its catalog no longer has.
 */
export function plannedItemOf(
  catalog: Pick<Catalog, 'plans'>,
  item: { planId: string; planItemId: string; compensates?: string | undefined },
): PlanItem | undefined {
  const planned = catalog.plans[item.planId]?.items.find((p) => p.id === item.planItemId);
  if (planned === undefined || item.compensates === undefined) return planned;
  const { compensation } = planned;
  if (compensation === undefined) return undefined;
  return {
    id: planned.id,
    type: compensation.interface !== undefined ? 'callout' : 'autoTask',
    dependsOn: [],
    scope: planned.scope,
    pointOfNoReturn: false,
    ...(compensation.interface !== undefined ? { interface: compensation.interface } : {}),
    ...(compensation.procedure !== undefined ? { procedure: compensation.procedure } : {}),
    ...(compensation.input !== undefined ? { input: compensation.input } : {}),
  };
}
