import { z } from 'zod';
import { type PlanDefinition, slug } from '../../statemachines/plan-definition';

/** A fulfilment system Switchboard calls but does not own. */
export const systemSchema = z
  .object({
    id: slug,
    name: z.string().min(1),
    baseUrl: z.url({ protocol: /^https?$/ }),
  })
  .strict();

/** One endpoint of a system, and how a callout talks to it. */
export const systemInterfaceSchema = z
  .object({
    id: slug,
    system: slug,
    method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']),
    path: z.string().startsWith('/'),
    adapter: z.enum(['sync-rest']),
    timeoutSeconds: z.number().int().min(1).max(900).default(30),
    /** Names of mappings in the catalog's mappings folder. */
    requestMapping: slug.optional(),
    responseMapping: slug.optional(),
  })
  .strict();

export type FulfilmentSystem = z.infer<typeof systemSchema>;
export type SystemInterface = z.infer<typeof systemInterfaceSchema>;

/** Everything a deployed Switchboard knows from configuration; validated once at synth. */
export interface Catalog {
  systems: Record<string, FulfilmentSystem>;
  interfaces: Record<string, SystemInterface>;
  /** JSONata expressions by name. */
  mappings: Record<string, string>;
  plans: Record<string, PlanDefinition>;
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
