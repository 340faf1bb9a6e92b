import { cpSync, mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const DEMO_CATALOG = resolve(import.meta.dirname, '..', 'catalog');

/**
 * A writable copy of the demo catalog in a temporary folder, for tests and benchmarks that add or break
 * entries. The custom adapters are linked, not copied: their imports (fast-xml-parser) resolve from the
 * repository's node_modules only where the files really are.
 */
export function copyDemoCatalog(): string {
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-catalog-'));
  const adapters = join(DEMO_CATALOG, 'adapters');
  cpSync(DEMO_CATALOG, dir, { recursive: true, filter: (source) => !source.startsWith(adapters) });
  symlinkSync(adapters, join(dir, 'adapters'), 'dir');
  return dir;
}
