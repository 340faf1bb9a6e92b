import type { Catalog } from '../domain/catalog';
import { configurationRules } from '../domain/runtime-configuration';
import type { ConfigurationStore, SeedResult } from '../ports/configuration-store';

/**
 * Writes the catalog's systems and interfaces to the configuration table (at every deploy whose catalog
 * changed). Definitions are replaced, but a field an operator changed at runtime keeps the operator's
 * value until the catalog changes that field (domain/runtime-configuration.ts, seedMerge; every kept
 * value must still hold under this catalog's rules); runtime state that operators set is kept; entries
 * the catalog no longer has are removed.
 */
export function seedConfiguration(
  deps: { config: ConfigurationStore; now: () => Date },
  catalog: Catalog,
): Promise<SeedResult> {
  return deps.config.seed(
    Object.values(catalog.systems),
    Object.values(catalog.interfaces),
    deps.now().toISOString(),
    configurationRules(catalog),
  );
}
