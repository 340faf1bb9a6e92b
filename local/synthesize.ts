import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildApp } from '../lib/app';

const PROJECT_ROOT = join(import.meta.dirname, '..');

/**
 * Synthesizes the app in-process into `outdir`, with cdk.json's context (as `cdk synth` would pass it)
 * plus `context`. Returns the cloud assembly's directory.
 */
export function synthesize(outdir: string, context: Record<string, unknown> = {}): string {
  const cdkJson = JSON.parse(readFileSync(join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as {
    context?: Record<string, unknown>;
  };
  // The CLI turns asset metadata on; the local runtime finds each Lambda's bundle through it.
  const app = buildApp({
    outdir,
    context: { 'aws:cdk:enable-asset-metadata': true, ...cdkJson.context, ...context },
  });
  return app.synth().directory;
}
