import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Catalog } from '../domain/catalog';

/**
 * The file beside each function's bundle that holds the catalog validated at synth (see
 * SwitchboardFunction). Lambdas read their configuration from their own asset: nothing to fetch at cold
 * start, and no way to run against a catalog that synth did not check.
 */
export const CATALOG_FILE = 'catalog.json';

let catalog: Catalog | undefined;

/** The catalog in the function's asset, read once (Lambda and the local runtime set LAMBDA_TASK_ROOT). */
export function bundledCatalog(): Catalog {
  if (catalog) return catalog;
  const root = process.env.LAMBDA_TASK_ROOT;
  if (!root) {
    throw new Error(
      `LAMBDA_TASK_ROOT is not set: this code runs only from a function's asset, beside its ${CATALOG_FILE}`,
    );
  }
  catalog = JSON.parse(readFileSync(join(root, CATALOG_FILE), 'utf8')) as Catalog;
  return catalog;
}
