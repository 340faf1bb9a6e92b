import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join, relative } from 'node:path';
import { AssetHashType, DockerImage } from 'aws-cdk-lib';
import { Code } from 'aws-cdk-lib/aws-lambda';
import { buildSync } from 'esbuild';
import type { Catalog } from '../../lambdas/domain/catalog';
import { CATALOG_FILE } from '../../lambdas/shared/bundled-catalog';
import { pruneEntries, publishEntry } from './build-cache';

const PROJECT_ROOT = join(import.meta.dirname, '..', '..');

/**
 * Where built bundles are kept by what they are made from (their code, never their catalog), so a synth
 * of another catalog — a test's own, a stage with other systems — copies them instead of running esbuild
 * once per function (about 18 s, twice that beside another test lane).
 */
const BUNDLE_CACHE = join(PROJECT_ROOT, 'node_modules', '.cache', 'switchboard-bundles');
/** The files esbuild writes for a function. */
const BUNDLE_FILES = ['index.js', 'index.js.map'];

/**
 * A function's asset: its esbuild bundle (index.js, with a source map) and, beside it, the catalog
 * validated at synth (catalog.json, read once at cold start). The asset is named by both, so a catalog
 * change still deploys every function that carries it; the bundle alone is named by its code and reused
 * from BUNDLE_CACHE by any synth whose code did not change.
 *
 * esbuild runs here, with no Docker, with the options NodejsFunction would give it: CommonJS for
 * Node 24, minified, every dependency bundled (the AWS SDK too, so the local runtime runs exactly the
 * deployed artefact).
 */
export function functionCode(entry: string, catalog: Catalog, inject: string[]): Code {
  const codeHash = bundleCodeHash(entry, inject);
  const catalogJson = JSON.stringify(catalog);
  return Code.fromAsset(join(PROJECT_ROOT, 'lambdas'), {
    assetHashType: AssetHashType.CUSTOM,
    assetHash: createHash('sha256').update(codeHash).update(catalogJson).digest('hex'),
    bundling: {
      // Never used: the bundle is built locally.
      image: DockerImage.fromRegistry('public.ecr.aws/docker/library/node:24-slim'),
      local: {
        tryBundle(outputDir) {
          const built = cachedBundle(codeHash, entry, inject);
          for (const file of BUNDLE_FILES) copyFileSync(join(built, file), join(outputDir, file));
          writeFileSync(join(outputDir, CATALOG_FILE), catalogJson);
          return true;
        },
      },
    },
  });
}

/** The bundle's folder in the cache, built first when it is not there. */
function cachedBundle(codeHash: string, entry: string, inject: string[]): string {
  const cached = join(BUNDLE_CACHE, codeHash);
  const now = new Date();
  if (BUNDLE_FILES.every((file) => existsSync(join(cached, file)))) {
    // Used: kept another CACHE_DAYS.
    utimesSync(cached, now, now);
    return cached;
  }
  // Built under a temporary name and renamed, so a synth beside this one never sees half of it.
  const partial = `${cached}.${process.pid}.partial`;
  mkdirSync(BUNDLE_CACHE, { recursive: true });
  rmSync(partial, { recursive: true, force: true });
  buildSync({
    entryPoints: [join(PROJECT_ROOT, entry)],
    outfile: join(partial, 'index.js'),
    absWorkingDir: PROJECT_ROOT,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node24',
    minify: true,
    sourcemap: true,
    inject,
    logLevel: 'error',
  });
  publishEntry(partial, cached);
  pruneEntries(BUNDLE_CACHE, now);
  return cached;
}

/** The folders whose code a function's bundle can import, and the files that pin its dependencies. */
const BUNDLE_SOURCES = ['lambdas', 'statemachines'];
const BUNDLE_PINS = ['package-lock.json', 'tsconfig.json', 'lib/constructs/function-bundle.ts'];

let sourcesHash: string | undefined;

/**
 * A SHA-256 of everything a function's bundle is made from: its entry, the code it can import, the
 * pinned dependencies, the bundling settings (this file) and the modules injected (custom adapters).
 */
function bundleCodeHash(entry: string, inject: string[]): string {
  sourcesHash ??= hashFiles([
    ...BUNDLE_SOURCES.flatMap((folder) => filesUnder(join(PROJECT_ROOT, folder))),
    ...BUNDLE_PINS.map((file) => join(PROJECT_ROOT, file)),
  ]);
  return createHash('sha256').update(sourcesHash).update(entry).update(hashFiles(inject)).digest('hex');
}

function hashFiles(files: string[]): string {
  const hash = createHash('sha256');
  for (const file of [...files].sort()) {
    hash.update(relative(PROJECT_ROOT, file)).update('\0').update(readFileSync(file)).update('\0');
  }
  return hash.digest('hex');
}

function filesUnder(folder: string): string[] {
  return readdirSync(folder, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name));
}
