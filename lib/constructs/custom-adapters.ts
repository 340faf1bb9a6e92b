import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';

const REGISTRY = resolve(import.meta.dirname, '..', '..', 'lambdas', 'domain', 'integration-adapters.ts');

/**
 * One registration module per custom adapter file, for esbuild's `inject`: it imports the adapter's
 * default export and registers it under its file name. The adapter module itself stays free of any
 * Switchboard import but a type, so a catalog can live outside this repository.
 */
export function customAdapterRegistrations(adapterFiles: string[]): string[] {
  if (adapterFiles.length === 0) return [];
  const dir = join(
    tmpdir(),
    `switchboard-adapters-${createHash('sha256').update(adapterFiles.join('\n')).digest('hex').slice(0, 16)}`,
  );
  mkdirSync(dir, { recursive: true });
  return adapterFiles.map((file) => {
    const name = basename(file, '.ts');
    // .mts: an ES module wherever the temporary folder is, as the adapter and the registry are.
    const registration = join(dir, `${name}.mts`);
    writeFileSync(
      registration,
      // The adapter's own digest, so a bundle is named by the adapter's code, not only by its path.
      `// ${createHash('sha256').update(readFileSync(file)).digest('hex')}\nimport adapter from ${JSON.stringify(resolve(file))};\nimport { defineCustomAdapter } from ${JSON.stringify(REGISTRY)};\ndefineCustomAdapter(${JSON.stringify(name)}, adapter);\n`,
    );
    return registration;
  });
}
