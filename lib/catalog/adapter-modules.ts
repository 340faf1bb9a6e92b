import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { runInThisContext } from 'node:vm';
import { buildSync } from 'esbuild';
import { adapterShapeProblems } from '../../lambdas/domain/integration-adapters';

/**
 * What the synth reads of a custom adapter module (catalog/adapters/<name>.ts): whether it is an adapter
 * at all, and whether it is asynchronous. The module is the one source of that: the worker bundles it and
 * reads `asynchronous` from it, and the synth reads it here into the catalog (`asynchronousAdapters`) so
 * that the catalog's checks and the functions that carry no adapter code (the callback door, key
 * rotation, the admin API) know it too.
 *
 * The module is bundled by esbuild, as the worker's bundle is built, and run once in this process: an
 * adapter is pure by contract (two or three functions, no work at load), and a catalog kept outside this
 * repository brings the node_modules its adapters import, as its bundling needs anyway.
 */
export type AdapterModule = { asynchronous: boolean } | { problems: string[] };

const read = new Map<string, AdapterModule>();

export function readAdapterModule(path: string): AdapterModule {
  const file = resolve(path);
  let source: Buffer;
  try {
    source = readFileSync(file);
  } catch (error) {
    return { problems: [`cannot be read: ${(error as Error).message}`] };
  }
  // Read once per process and content: a synth loads the catalog once, the tests many times.
  const key = `${file}\0${createHash('sha256').update(source).digest('hex')}`;
  let module = read.get(key);
  if (!module) {
    module = load(file);
    read.set(key, module);
  }
  return module;
}

function load(file: string): AdapterModule {
  let code: string;
  try {
    const built = buildSync({
      entryPoints: [file],
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node24',
      write: false,
      logLevel: 'silent',
    });
    code = built.outputFiles[0]?.text ?? '';
  } catch (error) {
    const errors = (error as { errors?: { text: string }[] }).errors ?? [];
    return {
      problems: [`cannot be bundled: ${errors.map((e) => e.text).join('; ') || (error as Error).message}`],
    };
  }
  const module = { exports: {} as Record<string, unknown> };
  try {
    const run = runInThisContext(`(function (exports, require, module, __filename, __dirname) {${code}\n})`, {
      filename: file,
    }) as (...args: unknown[]) => void;
    run(module.exports, createRequire(file), module, file, dirname(file));
  } catch (error) {
    return { problems: [`fails as it is loaded: ${(error as Error).message}`] };
  }
  const adapter = module.exports.default;
  const problems = adapterShapeProblems(adapter).map((p) =>
    p.field === 'default' ? p.message : `its default export's ${p.field} ${p.message}`,
  );
  if (problems.length > 0) return { problems };
  return { asynchronous: (adapter as { asynchronous?: unknown }).asynchronous === true };
}
