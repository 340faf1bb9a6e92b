import type { Catalog } from '../domain/catalog';
import type { ConfigurationStore, SeedResult } from '../ports/configuration-store';

/**
 * Writes the catalog's systems and interfaces to the configuration table (at every deploy whose catalog
 * changed). Definitions are replaced; runtime state that operators set is kept; entries the catalog no
 * longer has are removed.
 */
export function seedConfiguration(
  deps: { config: ConfigurationStore; now: () => Date },
  catalog: Catalog,
): Promise<SeedResult> {
  return deps.config.seed(
    Object.values(catalog.systems),
    Object.values(catalog.interfaces),
    deps.now().toISOString(),
  );
}
