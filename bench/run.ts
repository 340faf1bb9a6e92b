/**
 * `npm run bench [part …]`: benchmarks through the local runtime, printed as a table and written as JSON
 * under bench-results/ (git-ignored). Parts: `callbacks` (callback-to-completion latency), `holds` (the
 * release of callouts held on a Down system, against its rate limit).
 */
import { appendFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { copyDemoCatalog } from '../local/catalog-copy';
import { startDemoEnvironment } from '../local/demo-environment';
import { measureCallbackLatency } from './callbacks';
import { measureHoldRelease, startBulkSystem, writeBulkCatalog } from './holds';

const root = join(import.meta.dirname, '..');
const parts = process.argv.slice(2);
const wanted = (part: string) => parts.length === 0 || parts.includes(part);
const known = ['callbacks', 'holds'];
const unknown = parts.filter((p) => !known.includes(p));
if (unknown.length > 0) {
  console.error(`unknown part(s): ${unknown.join(', ')}; known: ${known.join(', ')}`);
  process.exit(2);
}

const held = Number(process.env.BENCH_HELD ?? 10_000);
const releaseRate = Number(process.env.BENCH_RELEASE_RATE ?? 10);
const catalogDir = copyDemoCatalog();
writeBulkCatalog(catalogDir, releaseRate);
const bulk = await startBulkSystem();

const dataDir = join(root, '.local', 'bench');
rmSync(dataDir, { recursive: true, force: true });
console.log('Starting a local runtime with the demo systems for the benchmark …');
const demo = await startDemoEnvironment({
  catalogDir,
  systemBaseUrls: { bulk: bulk.url },
  dataDir,
  assemblyDir: join(dataDir, 'cdk.out'),
  port: 0,
  systemPorts: 'free',
  latencyMs: 0,
  // The benchmark sends activation's final answers itself.
  activationFinalDelayMs: 3_600_000,
  // BENCH_LOG=<file> keeps the runtime's log (every function's structured lines) for a look afterwards.
  log: process.env.BENCH_LOG
    ? (line) => appendFileSync(String(process.env.BENCH_LOG), `${line}\n`)
    : () => {},
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
  if (wanted('holds')) {
    const token = (role: string) => demo.runtime.identities.find((i) => i.role === role)?.token ?? '';
    const call = async (method: string, path: string, role: string, body?: unknown) => {
      const response = await fetch(`${demo.runtime.apiUrl}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token(role)}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(120_000),
      });
      return { status: response.status, body: (await response.json()) as unknown };
    };
    const figures = await measureHoldRelease(call, bulk, held, releaseRate, (line) =>
      console.log(`  ${line}`),
    );
    results.holds = figures;
    console.log('\nhold and release: callouts held on a Down system, released when it comes Up');
    console.table([
      {
        held: figures.held,
        'rate /s': figures.ratePerSecond,
        'hold s': figures.holdSeconds,
        'release s': figures.releaseSeconds,
        'floor s': figures.floorSeconds,
        ratio: figures.ratio,
        'most in 1 s': figures.mostInOneSecond,
        lost: figures.lost,
        'sent twice': figures.sentTwice,
      },
    ]);
  }
} finally {
  await demo.stop();
  await bulk.stop();
}
const out = join(root, 'bench-results');
mkdirSync(out, { recursive: true });
const file = join(out, `bench-${Date.now()}.json`);
writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
console.log(`\nwritten to ${file}`);
process.exit(0);
