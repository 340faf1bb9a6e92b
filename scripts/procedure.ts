/**
 * `npm run procedure -- <name> --input <file.json> [--catalog <dir>] [--secrets <file>]`: runs one
 * integration procedure against its systems (by default the catalog's, as `npm start` runs them, with
 * the credentials in .local/secrets.json) and prints every step's input, output and duration.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CatalogError, loadCatalog } from '../lib/catalog/load-catalog';
import { describePreview, previewProcedure } from '../local/procedure-preview';
import { secretsFile } from '../local/secrets-manager';

const usage = 'usage: npm run procedure -- <name> --input <file.json> [--catalog <dir>] [--secrets <file>]';
try {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      input: { type: 'string' },
      catalog: { type: 'string', default: 'catalog' },
      secrets: { type: 'string', default: secretsFile('.local') },
    },
  });
  const [name] = positionals;
  if (!name || !values.input) throw new Error(usage);
  let input: unknown;
  try {
    input = JSON.parse(readFileSync(values.input, 'utf8'));
  } catch (error) {
    throw new Error(`--input ${values.input}: ${(error as Error).message}`);
  }
  if (input === null || typeof input !== 'object' || Array.isArray(input))
    throw new Error(`--input ${values.input}: must hold a JSON object (the procedure's input)`);
  const catalog = loadCatalog(values.catalog);
  const result = await previewProcedure(catalog, name, input as Record<string, unknown>, {
    secretsFile: values.secrets ?? join('.local', 'secrets.json'),
  });
  console.log(describePreview(result));
  if (result.kind !== 'completed') process.exitCode = 1;
} catch (error) {
  console.error(error instanceof CatalogError ? error.message : (error as Error).message);
  process.exitCode = 2;
}
