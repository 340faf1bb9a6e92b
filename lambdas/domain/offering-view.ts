import type { Catalog } from './catalog';

/**
 * How the admin API shows the catalog's offerings: each with the characteristics it takes, as declared
 * (name, valueType, unit, required, allowed values, pattern, bounds, default), and the plans that fulfil
 * it for which actions. A plain shape rather than TMF620's, on purpose (docs/api.md#offerings).
 */
export function toOfferingViews(catalog: Pick<Catalog, 'offerings' | 'plans'>) {
  return Object.values(catalog.offerings)
    .sort((a, b) => a.id.localeCompare(b.id))
    .map((offering) => ({
      id: offering.id,
      name: offering.name,
      ...(offering.description !== undefined ? { description: offering.description } : {}),
      characteristics: offering.characteristics,
      fulfilledBy: Object.values(catalog.plans).flatMap((plan) =>
        plan.fulfils
          .filter((f) => f.offering === offering.id)
          .map((f) => ({ plan: plan.id, actions: f.actions })),
      ),
    }));
}
