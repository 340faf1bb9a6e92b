import {
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
} from 'node:fs';
import { join } from 'node:path';
import { buildApp } from '../lib/app';
import { pruneEntries, publishEntry } from '../lib/constructs/build-cache';

const PROJECT_ROOT = join(import.meta.dirname, '..');

/**
 * Where synths keep the assets they staged, by name (`asset.<hash>`), for the next synth to reuse. A
 * function's asset is named by its bundle's code and the catalog beside it (function-bundle.ts), so a
 * synth whose sources and catalog did not change stages nothing at all; one with another catalog copies
 * its bundles from their own cache.
 */
const ASSET_CACHE = join(PROJECT_ROOT, 'node_modules', '.cache', 'switchboard-assets');

/**
 * Synthesizes the app in-process into `outdir`, with cdk.json's context (as `cdk synth` would pass it)
 * plus `context`. Returns the cloud assembly's directory. Staged assets are reused from earlier synths
 * where their names match (see ASSET_CACHE); `cdk synth` and `cdk deploy` stage their own (from the
 * bundle cache).
 */
export function synthesize(outdir: string, context: Record<string, unknown> = {}): string {
  offerCachedAssets(outdir);
  // The CLI turns asset metadata on; the local runtime finds each Lambda's bundle through it.
  const app = buildApp({
    outdir,
    context: { 'aws:cdk:enable-asset-metadata': true, ...projectContext(), ...context },
  });
  const directory = app.synth().directory;
  keepAssets(directory);
  return directory;
}

/** cdk.json's context — the catalog folder and the feature flags — as `cdk synth` passes it to the app. */
export function projectContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as {
    context?: Record<string, unknown>;
  };
  return cdkJson.context ?? {};
}

/** Links every cached asset into `outdir`: CDK stages an asset whose name is already there as it is. */
function offerCachedAssets(outdir: string): void {
  if (!existsSync(ASSET_CACHE)) return;
  mkdirSync(outdir, { recursive: true });
  for (const name of readdirSync(ASSET_CACHE)) {
    if (!name.startsWith('asset.') || existsSync(join(outdir, name))) continue;
    symlinkSync(join(ASSET_CACHE, name), join(outdir, name), 'dir');
  }
}

/**
 * After a synth: the cached assets the assembly uses become copies of their own (a later prune cannot
 * take them from a runtime reading them), the links it does not use go, and what it built is cached.
 */
function keepAssets(outdir: string): void {
  const used = usedAssets(outdir);
  mkdirSync(ASSET_CACHE, { recursive: true });
  const now = new Date();
  for (const name of readdirSync(outdir)) {
    if (!name.startsWith('asset.')) continue;
    const path = join(outdir, name);
    const cached = join(ASSET_CACHE, name);
    if (lstatSync(path).isSymbolicLink()) {
      rmSync(path);
      if (used.has(name)) {
        cpSync(cached, path, { recursive: true });
        utimesSync(cached, now, now);
      }
    } else if (statSync(path).isDirectory() && !existsSync(cached)) {
      // Copied under a temporary name and renamed, so a synth beside this one never sees half of it.
      const partial = `${cached}.${process.pid}.partial`;
      cpSync(path, partial, { recursive: true });
      publishEntry(partial, cached);
    }
  }
  pruneEntries(ASSET_CACHE, now);
}

/** The asset folders the assembly's asset manifests name. */
function usedAssets(outdir: string): Set<string> {
  const used = new Set<string>();
  for (const file of readdirSync(outdir).filter((name) => name.endsWith('.assets.json'))) {
    const manifest = JSON.parse(readFileSync(join(outdir, file), 'utf8')) as {
      files?: Record<string, { source?: { path?: string } }>;
    };
    for (const asset of Object.values(manifest.files ?? {})) {
      if (asset.source?.path) used.add(asset.source.path);
    }
  }
  return used;
}
