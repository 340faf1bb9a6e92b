/**
 * `npm run bench [part …]`: benchmarks through the local runtime, printed as a table and written as JSON
 * under bench-results/ (git-ignored). Parts: `callbacks` (callback-to-completion latency).
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { startDemoEnvironment } from '../local/demo-environment';
import { measureCallbackLatency } from './callbacks';

const root = join(import.meta.dirname, '..');
const parts = process.argv.slice(2);
const wanted = (part: string) => parts.length === 0 || parts.includes(part);
const known = ['callbacks'];
const unknown = parts.filter((p) => !known.includes(p));
if (unknown.length > 0) {
  console.error(`unknown part(s): ${unknown.join(', ')}; known: ${known.join(', ')}`);
  process.exit(2);
}

const dataDir = join(root, '.local', 'bench');
rmSync(dataDir, { recursive: true, force: true });
console.log('Starting a local runtime with the demo systems for the benchmark …');
const demo = await startDemoEnvironment({
  dataDir,
  assemblyDir: join(dataDir, 'cdk.out'),
  port: 0,
  systemPorts: 'free',
  latencyMs: 0,
  // The benchmark sends activation's final answers itself.
  activationFinalDelayMs: 3_600_000,
  log: () => {},
});
const results: Record<string, unknown> = {
  machine: { cpus: cpus().length, cpu: cpus()[0]?.model, memoryGiB: Math.round(totalmem() / 2 ** 30) },
  dynamoDb: demo.runtime.dynamoDbEngine,
  at: new Date().toISOString(),
};
try {
  if (wanted('callbacks')) {
    const latency = await measureCallbackLatency(demo, Number(process.env.BENCH_CALLBACKS ?? 100));
    results.callbacks = latency;
    console.log('\ncallback → item completed (one at a time)');
    console.table([
      {
        callbacks: latency.callbacks,
        'median ms': latency.medianMs,
        'p99 ms': latency.p99Ms,
        'max ms': latency.maxMs,
      },
    ]);
  }
} finally {
  await demo.stop();
}
const out = join(root, 'bench-results');
mkdirSync(out, { recursive: true });
const file = join(out, `bench-${Date.now()}.json`);
writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
console.log(`\nwritten to ${file}`);
process.exit(0);
