import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';

/**
 * Lifts the demo systems' own limits in a copy of the catalog (billing takes 4 connections at once),
 * so that the benchmark measures Switchboard rather than a limit it was told to keep. The limits stay
 * configured, so their bookkeeping is in every figure.
 */
export function liftDemoLimits(catalogDir: string): void {
  const dir = join(catalogDir, 'systems');
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.yaml'))) {
    const system = parse(readFileSync(join(dir, file), 'utf8')) as { limits?: Record<string, number> };
    // Billing keeps its own 4 connections: the backlog part drains against them.
    system.limits = {
      maxConcurrentCallouts: system.limits?.maxConcurrentCallouts === 4 ? 4 : 1000,
      maxCalloutsPerSecond: 5000,
    };
    writeFileSync(join(dir, file), stringify(system));
  }
}

/** The plan sizes the scaling part compares. */
export const SCALING_PLAN_SIZES = [5, 20, 80] as const;
/** Items of a scaling plan run in this many lanes: item n waits for item n − LANES. */
const LANES = 4;

/**
 * The scaling part's entries, added to a catalog copy: an `echo` system that answers at once, a `flaky`
 * system that fails as often as the benchmark tells it, and plans of 5, 20 and 80 echo callouts in four
 * lanes, plus a one-callout plan on the flaky system. Base URLs come at synth (`systemBaseUrls`).
 */
export function writeScalingCatalog(dir: string): void {
  for (const id of ['echo', 'flaky']) {
    writeFileSync(
      join(dir, 'systems', `${id}.yaml`),
      stringify({
        id,
        name: `Benchmark ${id} system`,
        baseUrl: 'http://127.0.0.1:1',
        limits: { maxConcurrentCallouts: 1000, maxCalloutsPerSecond: 5000 },
      }),
    );
    writeFileSync(
      join(dir, 'interfaces', `${id}-work.yaml`),
      stringify({ id: `${id}-work`, system: id, method: 'POST', path: '/work', timeoutSeconds: 10 }),
    );
  }
  for (const offering of [...SCALING_PLAN_SIZES.map((size) => `scale-${size}`), 'flaky'])
    writeFileSync(join(dir, 'offerings', `${offering}.yaml`), stringify({ id: offering, name: offering }));
  for (const size of SCALING_PLAN_SIZES) {
    writeFileSync(
      join(dir, 'plans', `scale-${size}.yaml`),
      stringify({
        id: `scale-${size}`,
        fulfils: [{ offering: `scale-${size}` }],
        items: Array.from({ length: size }, (_, n) => ({
          id: `step-${n + 1}`,
          type: 'callout',
          interface: 'echo-work',
          ...(n >= LANES ? { dependsOn: [`step-${n + 1 - LANES}`] } : {}),
        })),
      }),
    );
  }
  writeFileSync(
    join(dir, 'plans', 'flaky.yaml'),
    stringify({
      id: 'flaky',
      fulfils: [{ offering: 'flaky' }],
      items: [{ id: 'try', type: 'callout', interface: 'flaky-work' }],
    }),
  );
}

/** A one-line order of an offering that carries no characteristics or prices. */
export function plainOrder(offering: string, externalId: string) {
  return {
    externalId: [{ id: externalId }],
    productOrderItem: [{ id: '1', action: 'add', productOffering: { id: offering } }],
  };
}
