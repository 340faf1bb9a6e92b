import type { Catalog } from '../domain/catalog';

/**
 * The name esbuild replaces with the catalog validated at synth (see SwitchboardFunction). Lambdas read
 * their configuration from their own bundle: nothing to fetch at cold start, and no way to run against a
 * catalog that synth did not check.
 */
export const CATALOG_GLOBAL = '__SWITCHBOARD_CATALOG__';

declare const __SWITCHBOARD_CATALOG__: Catalog | undefined;

export function bundledCatalog(): Catalog {
  if (typeof __SWITCHBOARD_CATALOG__ === 'undefined') {
    throw new Error(
      `${CATALOG_GLOBAL} is not defined: this code runs only from a bundle built by SwitchboardFunction`,
    );
  }
  return __SWITCHBOARD_CATALOG__;
}
