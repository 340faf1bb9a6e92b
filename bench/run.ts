/**
 * `npm run bench [-- --quick] [part …]`: Switchboard's benchmarks through the local runtime, printed as
 * tables and written as JSON under bench-results/ (git-ignored). docs/performance.md explains each part
 * and keeps the latest full run's figures.
 *
 * Parts: throughput, backlog, overhead, callbacks (measured with overhead), holds — on a plain runtime — then
 * cost and scaling on a second runtime whose AWS requests are counted (the meter adds a hop to every
 * request, so nothing timed for speed runs on it). `--quick` runs every part small, in under two minutes.
 *
 * Settings (environment): BENCH_LATENCY_MS (each simulated system's latency, default 50),
 * BENCH_DYNAMODB (memory | auto | dynalite, default memory), BENCH_SQS (memory | disk, default memory), BENCH_MAX_CONCURRENCY (throughput's last level), BENCH_BACKLOG (the backlog's orders), BENCH_HELD and BENCH_RELEASE_RATE (the
 * hold-release part), BENCH_LOG=<file> (keeps the runtimes' logs), BENCH_DATA_DIR (the runtimes' data,
 * default .local/bench), BENCH_RESULTS_DIR (default bench-results).
 */
import {
  appendFileSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { copyDemoCatalog } from '../local/catalog-copy';
import type { LocalDeployment } from '../local/cloud-assembly';
import { startDemoEnvironment } from '../local/demo-environment';
import type { DynamoDbChoice } from '../local/dynamodb';
import { startLocalRuntime } from '../local/runtime';
import { secretsFile } from '../local/secrets-manager';
import type { SqsChoice } from '../local/sqs';
import { measureBacklog } from './backlog';
import { liftDemoLimits, SCALING_PLAN_SIZES, writeScalingCatalog } from './catalog';
import { costPerMillionOrders, meterOrders, type OrderUsage } from './cost';
import { measureHoldRelease, startBulkSystem, writeBulkCatalog } from './holds';
import { localApi, submitDslOrder } from './local-api';
import { measureOverhead } from './overhead';
import { PRICES } from './prices';
import { measureScaling } from './scaling';
import { startScalingSystems } from './scaling-systems';
import { measureThroughput } from './throughput';

const root = join(import.meta.dirname, '..');
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const parts = args.filter((a) => !a.startsWith('--'));
const known = ['throughput', 'backlog', 'overhead', 'callbacks', 'holds', 'cost', 'scaling'];
const unknown = [
  ...parts.filter((p) => !known.includes(p)),
  ...args.filter((a) => a.startsWith('--') && a !== '--quick'),
];
if (unknown.length > 0) {
  console.error(
    `unknown part(s) or option(s): ${unknown.join(', ')}; parts: ${known.join(', ')}; option: --quick`,
  );
  process.exit(2);
}
const wanted = (...names: string[]) => parts.length === 0 || names.some((n) => parts.includes(n));

const latencyMs = Number(process.env.BENCH_LATENCY_MS ?? 50);
const dynamoDb = (process.env.BENCH_DYNAMODB ?? 'memory') as DynamoDbChoice;
/** SQS in memory, as DynamoDB: what is measured is Switchboard, not the emulator keeping messages on disk. */
const sqs = (process.env.BENCH_SQS ?? 'memory') as SqsChoice;
const settings = quick
  ? {
      throughputSeconds: 2,
      maxConcurrency: 8,
      overheadOrders: 8,
      costOrders: 3,
      scalingOrders: 1,
      retries: [0, 1],
      held: 50,
      backlogOrders: 40,
    }
  : {
      throughputSeconds: 10,
      maxConcurrency: 256,
      overheadOrders: 50,
      costOrders: 20,
      scalingOrders: 3,
      retries: [0, 1, 3],
      held: 10_000,
      backlogOrders: 1000,
    };
const held = Number(process.env.BENCH_HELD ?? settings.held);
const releaseRate = Number(process.env.BENCH_RELEASE_RATE ?? 10);
const log = process.env.BENCH_LOG
  ? (line: string) => appendFileSync(String(process.env.BENCH_LOG), `${line}\n`)
  : () => {};
const progress = (line: string) => console.log(`  ${line}`);

const catalogDir = copyDemoCatalog();
liftDemoLimits(catalogDir);
writeBulkCatalog(catalogDir, releaseRate);
writeScalingCatalog(catalogDir);
const bulk = await startBulkSystem();
const scaling = await startScalingSystems();
const dataDir = process.env.BENCH_DATA_DIR ?? join(root, '.local', 'bench');
rmSync(dataDir, { recursive: true, force: true });

const results: Record<string, unknown> = {
  at: new Date().toISOString(),
  quick,
  machine: { cpus: cpus().length, cpu: cpus()[0]?.model, memoryGiB: Math.round(totalmem() / 2 ** 30) },
  node: process.version,
  settings: { latencyMs, dynamoDb, sqs, ...settings, held, releaseRate },
};
const startedAt = Date.now();
console.log(`Starting a local runtime with simulated systems of ${latencyMs} ms for the benchmark …`);
const demo = await startDemoEnvironment({
  catalogDir,
  systemBaseUrls: { bulk: bulk.url, echo: scaling.echo.url, flaky: scaling.flaky.url },
  dataDir: join(dataDir, 'plain'),
  assemblyDir: join(dataDir, 'cdk.out'),
  port: 0,
  systemPorts: 'free',
  latencyMs,
  activationInterimDelayMs: latencyMs / 2,
  activationFinalDelayMs: latencyMs / 2,
  dynamoDb,
  sqs,
  log,
});
results.dynamoDbEngine = demo.runtime.dynamoDbEngine;
results.bundles = bundleSizes(demo.runtime.deployment);
console.log(
  '\nLambda bundles (minified, the AWS SDK included; the catalog beside them in catalog.json), KiB',
);
console.table(results.bundles);
try {
  if (wanted('throughput')) {
    console.log('\nthroughput: DSL orders kept in flight, rising until orders/s stops rising');
    const figures = await measureThroughput(demo, {
      seconds: settings.throughputSeconds,
      maxConcurrency: Number(process.env.BENCH_MAX_CONCURRENCY ?? settings.maxConcurrency),
      progress,
    });
    results.throughput = figures;
    console.table(
      figures.levels.map((l) => ({
        'in flight': l.concurrency,
        'orders/s': l.ordersPerSecond,
        'callouts/s': l.calloutsPerSecond,
        'median ms': l.medianOrderMs,
        'p99 ms': l.p99OrderMs,
        failed: l.failed,
        'cpu busy': l.cpuBusy,
        ...Object.fromEntries(Object.entries(l.cpuMsPerOrder).map(([p, ms]) => [`${p} cpu ms/order`, ms])),
      })),
    );
    const shares = Object.entries(figures.peakMemoryByProcessMiB).map(([name, mib]) => `${name} ${mib}`);
    console.log(
      `peak memory of the runtime's processes: ${figures.peakMemoryMiB} MiB (${shares.join(', ')})`,
    );
  }
  if (wanted('backlog')) {
    const orders = Number(process.env.BENCH_BACKLOG ?? settings.backlogOrders);
    console.log(`\nbacklog: ${orders} DSL orders submitted at once, billing limited to 4 connections`);
    const figures = await measureBacklog(demo, orders, progress);
    const plateau = (results.throughput as { best?: { ordersPerSecond: number } } | undefined)?.best;
    // No share of a plateau that measured nothing (a quick level on a busy machine can finish no order).
    const ofPlateau =
      plateau && plateau.ordersPerSecond > 0 ? figures.ordersPerSecond / plateau.ordersPerSecond : undefined;
    results.backlog = { ...figures, ...(ofPlateau !== undefined ? { ofPlateau } : {}) };
    console.table([
      {
        orders: figures.orders,
        failed: figures.failed,
        seconds: figures.seconds,
        'orders/s': figures.ordersPerSecond,
        'steady orders/s': figures.steadyOrdersPerSecond,
        ...(plateau
          ? { 'of the plateau': `${Math.round((figures.ordersPerSecond / plateau.ordersPerSecond) * 100)} %` }
          : {}),
        'system requests/order': figures.systemRequestsPerOrder,
        'billing max in flight': figures.billingMaxInFlight,
        'cpu busy': figures.cpuBusy,
        ...Object.fromEntries(
          Object.entries(figures.cpuMsPerOrder).map(([p, ms]) => [`${p} cpu ms/order`, ms]),
        ),
      },
    ]);
  }
  if (wanted('overhead', 'callbacks')) {
    console.log(`\noverhead: one DSL order at a time, systems of ${latencyMs} ms`);
    const figures = await measureOverhead(demo, settings.overheadOrders, {
      systemMs: latencyMs,
      interimMs: latencyMs / 2,
      finalMs: latencyMs / 2,
    });
    results.overhead = figures.overhead;
    results.callbacks = figures.callbacks;
    console.table([figures.overhead]);
    console.log('callback → item completed (the same orders)');
    console.table([figures.callbacks]);
  }
  if (wanted('holds')) {
    console.log(`\nhold and release: ${held} callouts held on a Down system, released at ${releaseRate}/s`);
    const figures = await measureHoldRelease(localApi(demo.runtime), bulk, held, releaseRate, progress);
    results.holds = figures;
    console.table([figures]);
  }
} finally {
  await demo.runtime.stop();
}

if (wanted('cost', 'scaling')) {
  console.log('\nStarting a second runtime that counts every AWS request …');
  const meteredDir = join(dataDir, 'metered');
  mkdirSync(meteredDir, { recursive: true });
  // The simulators check the credentials of the first runtime's secrets file.
  copyFileSync(secretsFile(join(dataDir, 'plain')), secretsFile(meteredDir));
  const runtime = await startLocalRuntime({
    assemblyDir: join(dataDir, 'cdk.out'),
    dataDir: meteredDir,
    port: 0,
    dynamoDb,
    sqs,
    log,
    meter: true,
  });
  try {
    if (wanted('cost')) {
      const call = localApi(runtime);
      // The first order pays for cold starts and token fetches: it is left out of the count.
      await meterOrders(runtime, 1, (n) => submitDslOrder(call, `bench-cost-warm-${n}`));
      const usage = await meterOrders(runtime, settings.costOrders, (n) =>
        submitDslOrder(call, `bench-cost-${n}`),
      );
      const cost = costPerMillionOrders(usage);
      results.cost = { usage, perMillionOrdersUsd: cost, prices: PRICES };
      console.log(
        `\ncost: what one DSL order asks of AWS (average of ${usage.orders}), and a million of them`,
      );
      console.table([usageRow('DSL order', usage)]);
      console.log('DynamoDB requests per order, by operation');
      console.table([usage.dynamoDbRequestsByOperation]);
      console.log(`USD per million DSL orders at ${PRICES.region} list prices read ${PRICES.readAt}`);
      console.table([cost]);
    }
    if (wanted('scaling')) {
      console.log('\nscaling: plan size, retries and holds');
      const figures = await measureScaling(runtime, scaling, {
        orders: settings.scalingOrders,
        sizes: [...SCALING_PLAN_SIZES],
        retries: settings.retries,
        progress,
      });
      results.scaling = figures;
      console.table(figures.map((s) => usageRow(s.scenario, s.usage, s.items)));
    }
  } finally {
    await runtime.stop();
  }
}
await Promise.all([demo.systems.stop(), bulk.stop(), scaling.stop()]);
results.seconds = Math.round((Date.now() - startedAt) / 1000);

const out = process.env.BENCH_RESULTS_DIR ?? join(root, 'bench-results');
mkdirSync(out, { recursive: true });
const file = join(out, `bench-${quick ? 'quick-' : ''}${Date.now()}.json`);
writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
console.log(`\nfinished in ${results.seconds} s; written to ${file}`);
process.exit(0);

/** Each function's bundle in the cloud assembly: what Lambda loads at a cold start, and its source map. */
function bundleSizes(deployment: LocalDeployment): Record<string, { js: number; map: number }> {
  const sizes: Record<string, { js: number; map: number }> = {};
  for (const fn of deployment.ofType('AWS::Lambda::Function')) {
    const assetPath = fn.metadata['aws:asset:path'];
    if (typeof assetPath !== 'string') continue;
    const file = join(deployment.assemblyDir, assetPath, 'index.js');
    const kib = (path: string) => (existsSync(path) ? Math.round(statSync(path).size / 1024) : 0);
    sizes[fn.logicalId.replace(/[0-9A-F]{8}$/, '')] = { js: kib(file), map: kib(`${file}.map`) };
  }
  return sizes;
}

function usageRow(scenario: string, usage: OrderUsage, items?: number) {
  return {
    scenario,
    ...(items === undefined ? {} : { items }),
    'ms/order': usage.msPerOrder,
    transitions: usage.stateTransitions,
    ...(items === undefined
      ? {}
      : { 'transitions/item': Math.round((usage.stateTransitions / items) * 100) / 100 }),
    lambda: usage.lambdaInvocations,
    'GB-s': usage.lambdaGbSeconds,
    sqs: usage.sqsRequests,
    'ddb req': usage.dynamoDbRequests,
    RRU: usage.dynamoDbReadUnits,
    WRU: usage.dynamoDbWriteUnits,
    events: usage.eventBridgeEvents,
    api: usage.apiRequests,
  };
}
