import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { exchangeLogProblems } from '../support/exchange-log';

/**
 * `npm run bench -- --quick` runs every part of the benchmark small and writes its figures as JSON. This
 * checks that the output is well-formed and that the figures are figures (finite, in range, counted from
 * the run) — never how fast anything was: these machines are shared.
 */

const count = z.number().finite().nonnegative();
const positive = z.number().finite().positive();
const usage = z.object({
  orders: positive,
  stateTransitions: positive,
  lambdaInvocations: positive,
  lambdaGbSeconds: positive,
  sqsRequests: positive,
  dynamoDbRequests: positive,
  dynamoDbReadUnits: positive,
  dynamoDbWriteUnits: positive,
  eventBridgeEvents: count,
  schedulerRequests: count,
  apiRequests: positive,
  secretsManagerCalls: count,
  msPerOrder: positive,
  serviceMsPerOrder: z.record(z.string(), count),
});
const level = z.object({
  concurrency: positive,
  completed: count,
  failed: count,
  seconds: positive,
  ordersPerSecond: count,
  calloutsPerSecond: count,
  medianOrderMs: count,
  p99OrderMs: count,
  cpuMsPerOrder: z.record(z.string(), count),
  cpuBusy: count,
});
const results = z.object({
  quick: z.literal(true),
  machine: z.object({ cpus: positive }),
  dynamoDbEngine: z.string(),
  throughput: z.object({ levels: z.array(level).min(2), best: level, peakMemoryMiB: positive }),
  backlog: z.object({
    orders: positive,
    failed: z.literal(0),
    seconds: positive,
    ordersPerSecond: positive,
    cpuMsPerOrder: z.record(z.string(), count),
    systemRequestsPerOrder: positive,
    billingMaxInFlight: z.number().int().min(1).max(4),
    /** Absent only when the quick throughput levels finished no order (a busy machine): no plateau. */
    ofPlateau: positive.optional(),
  }),
  overhead: z.object({
    orders: positive,
    criticalPathMs: positive,
    medianOrderMs: positive,
    p99OrderMs: positive,
    medianRatio: z.number().min(1),
    p99Ratio: z.number().min(1),
  }),
  callbacks: z.object({ callbacks: positive, medianMs: count, p99Ms: count, maxMs: count }),
  holds: z.object({
    held: positive,
    ratePerSecond: positive,
    releaseSeconds: positive,
    floorSeconds: positive,
    ratio: positive,
    lost: z.literal(0),
    sentTwice: z.literal(0),
  }),
  cost: z.object({ usage, perMillionOrdersUsd: z.record(z.string(), count) }),
  scaling: z.array(z.object({ scenario: z.string(), items: positive, usage })).min(6),
  seconds: positive,
});

describe('npm run bench -- --quick', () => {
  it('runs every part and writes well-formed figures', { timeout: 300_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'switchboard-bench-'));
    try {
      const { code, output } = await runBench(dir);
      assert.equal(code, 0, output);
      for (const heading of [
        'throughput:',
        'backlog:',
        'overhead:',
        'callback → item completed',
        'hold and release:',
        'cost:',
        'scaling:',
      ])
        assert.ok(output.includes(heading), `the output lacks "${heading}":\n${output}`);
      const files = readdirSync(join(dir, 'results'));
      assert.equal(files.length, 1, `one results file, got ${files.join(', ')}`);
      const figures = results.parse(JSON.parse(readFileSync(join(dir, 'results', files[0] ?? ''), 'utf8')));

      if (figures.throughput.best.ordersPerSecond > 0)
        assert.ok(figures.backlog.ofPlateau !== undefined, 'the backlog is compared with the plateau');

      // Figures that are counted, not timed, can be checked exactly.
      const dsl = figures.cost.usage;
      assert.equal(dsl.stateTransitions, 6, 'the four-item DSL plan enters six states');
      const total = Object.entries(figures.cost.perMillionOrdersUsd)
        .filter(([line]) => line !== 'total')
        .reduce((sum, [, usd]) => sum + usd, 0);
      assert.ok(Math.abs(total - (figures.cost.perMillionOrdersUsd.total ?? 0)) < 0.05, 'the lines add up');
      const byScenario = new Map(figures.scaling.map((s) => [s.scenario, s]));
      const plain = byScenario.get('1 callout, 0 retries')?.usage.stateTransitions;
      assert.ok(plain !== undefined);
      for (const scenario of ['1 callout, 1 retry', '1 callout, held once'])
        assert.equal(
          byScenario.get(scenario)?.usage.stateTransitions,
          plain,
          `${scenario}: no more transitions`,
        );
      for (const size of [5, 20, 80])
        assert.equal(byScenario.get(`plan of ${size} callouts`)?.usage.stateTransitions, size + 2);
      assert.deepEqual(exchangeLogProblems(join(dir, 'api-exchanges.jsonl')), []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

function runBench(dir: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const flags = ['--no-concurrent-sparkplug', '--no-concurrent-recompilation'];
    const child = spawn(process.execPath, [...flags, '--import', 'tsx', 'bench/run.ts', '--quick'], {
      env: {
        ...process.env,
        BENCH_DATA_DIR: join(dir, 'data'),
        BENCH_RESULTS_DIR: join(dir, 'results'),
        // What the benchmark's runtimes answered is held to the API's documents too.
        SWITCHBOARD_API_EXCHANGES: join(dir, 'api-exchanges.jsonl'),
      },
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.on('close', (code) => resolve({ code, output }));
  });
}
