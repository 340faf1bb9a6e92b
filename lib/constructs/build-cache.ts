import { readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The two caches synths keep under node_modules/.cache — built bundles (function-bundle.ts) and staged
 * assets (local/synthesize.ts) — publish and prune their entries the same way.
 */

/** How long an entry no synth has built or used is kept. */
export const CACHE_DAYS = 7;

/**
 * Renames an entry built under a temporary name into the cache, so a synth beside this one never sees
 * half of it. That synth (the two test lanes, on a cold cache) may have published the same entry first:
 * its copy is as good as ours, which goes.
 */
export function publishEntry(partial: string, cached: string): void {
  try {
    renameSync(partial, cached);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw error;
    rmSync(partial, { recursive: true, force: true });
  }
}

/** Removes the cache's entries no synth has built or used for CACHE_DAYS. */
export function pruneEntries(cache: string, now: Date): void {
  const oldest = now.getTime() - CACHE_DAYS * 24 * 3600 * 1000;
  for (const name of readdirSync(cache)) {
    const path = join(cache, name);
    // Another synth may publish (rename) or drop its partial entry between the listing and the look.
    const entry = statSync(path, { throwIfNoEntry: false });
    if (entry && entry.mtimeMs < oldest) rmSync(path, { recursive: true, force: true });
  }
}
