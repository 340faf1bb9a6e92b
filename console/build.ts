import { copyFileSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { buildSync } from 'esbuild';

/** The console's source folder; its built files are `index.html`, `styles.css` and `app.js`. */
export const CONSOLE_DIR = resolve(import.meta.dirname);

export interface ConsoleBuild {
  files: { name: string; bytes: number; gzipBytes: number }[];
}

/**
 * Builds the console into `outDir`: the app bundled and minified by esbuild (Preact and dagre
 * included), with the page and its styles beside it. Synth runs this (the CDK asset's local bundling,
 * which must be synchronous), so `cdk.out` holds exactly what the distribution serves, on AWS and in
 * the local runtime.
 */
export function buildConsole(outDir: string): ConsoleBuild {
  mkdirSync(outDir, { recursive: true });
  buildSync({
    entryPoints: [join(CONSOLE_DIR, 'src', 'main.tsx')],
    outfile: join(outDir, 'app.js'),
    bundle: true,
    minify: true,
    format: 'esm',
    target: ['es2022', 'chrome110', 'safari16', 'firefox115'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    legalComments: 'linked',
    logLevel: 'warning',
  });
  for (const name of ['index.html', 'styles.css']) copyFileSync(join(CONSOLE_DIR, name), join(outDir, name));
  return {
    files: ['index.html', 'styles.css', 'app.js'].map((name) => {
      const path = join(outDir, name);
      return { name, bytes: statSync(path).size, gzipBytes: gzipSync(readFileSync(path)).length };
    }),
  };
}
