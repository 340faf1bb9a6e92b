/**
 * `npm run validate [catalogDir]`: checks the catalog as `cdk synth` does and prints every problem with
 * its file and field.
 */
import { CatalogError, loadCatalog } from '../lib/catalog/load-catalog';

const dir = process.argv[2] ?? 'catalog';
try {
  const catalog = loadCatalog(dir);
  const count = (o: object) => Object.keys(o).length;
  console.log(
    `${dir}: ${count(catalog.plans)} plans, ${count(catalog.systems)} systems, ${count(catalog.interfaces)} system interfaces, ${count(catalog.mappings)} mappings — valid.`,
  );
} catch (error) {
  if (!(error instanceof CatalogError)) throw error;
  console.error(error.message);
  process.exitCode = 1;
}
