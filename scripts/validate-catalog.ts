/**
 * `npm run validate [catalogDir]`: checks the catalog as `cdk synth` does and prints every problem with
 * its file and field, then runs every mapping's cases (mappings/<name>.cases.yaml).
 */
import { CatalogError, loadCatalog } from '../lib/catalog/load-catalog';
import { runMappingCases } from '../lib/catalog/mapping-cases';

const dir = process.argv[2] ?? 'catalog';
try {
  const catalog = loadCatalog(dir);
  const count = (o: object) => Object.keys(o).length;
  console.log(
    `${dir}: ${count(catalog.offerings)} offerings, ${count(catalog.plans)} plans, ${count(catalog.systems)} systems, ${count(catalog.interfaces)} system interfaces, ${count(catalog.authProfiles)} auth profiles, ${count(catalog.mappings)} mappings, ${catalog.customAdapters.length} custom adapters — valid.`,
  );
  const results = await runMappingCases(dir, catalog);
  const failed = results.filter((r) => r.failure);
  for (const result of failed) console.error(`  ${result.file} (${result.name}): ${result.failure}`);
  console.log(`mapping cases: ${results.length - failed.length} of ${results.length} pass.`);
  if (failed.length > 0) process.exitCode = 1;
} catch (error) {
  if (!(error instanceof CatalogError)) throw error;
  console.error(error.message);
  process.exitCode = 1;
}
