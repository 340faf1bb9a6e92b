import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { copyDemoCatalog } from '../../local/catalog-copy';
import { eventually, startTestSwitchboard, type TestSwitchboard } from '../support/local-switchboard';
import { startTimingSystem, type TimedCall } from '../support/timing-system';

/**
 * Proves the plan compiler on the local engine: plans of every shape run their items as soon as their
 * prerequisites are done, and never earlier; items with no order between them overlap in time.
 */

const ORDERS = '/tmf-api/productOrderingManagement/v5/productOrder';

interface TestItem {
  id: string;
  dependsOn?: string[];
  ms?: number;
  condition?: string;
  scope?: 'order' | 'line';
}

/** A deterministic pseudo-random generator (mulberry32), so the random DAG is the same every run. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const chain = Array.from(
  { length: 100 },
  (_, i): TestItem => ({ id: `c${i}`, ...(i > 0 ? { dependsOn: [`c${i - 1}`] } : {}) }),
);
const fanOut: TestItem[] = [
  { id: 'root' },
  ...Array.from({ length: 50 }, (_, i): TestItem => ({ id: `leaf${i}`, dependsOn: ['root'], ms: 3000 })),
];
const diamond: TestItem[] = [
  { id: 'top' },
  { id: 'left', dependsOn: ['top'], ms: 100 },
  { id: 'right', dependsOn: ['top'], ms: 500 },
  { id: 'bottom', dependsOn: ['left', 'right'] },
];
// Not series-parallel: d waits only for b, so it must not wait for the slow a.
const nShape: TestItem[] = [
  { id: 'a', ms: 800 },
  { id: 'b', ms: 50 },
  { id: 'c', dependsOn: ['a', 'b'] },
  { id: 'd', dependsOn: ['b'] },
];
const rnd = random(4242);
const randomDag = Array.from({ length: 30 }, (_, i): TestItem => {
  const deps = Array.from({ length: i }, (_, j) => `r${j}`).filter(() => rnd() < 0.12);
  return { id: `r${i}`, dependsOn: deps, ms: Math.floor(rnd() * 150) };
});
const conditional: TestItem[] = [
  { id: 'first' },
  { id: 'skipped', dependsOn: ['first'], condition: 'characteristics.speed = "fast"' },
  { id: 'after-skipped', dependsOn: ['skipped'] },
  { id: 'taken', dependsOn: ['first'], condition: 'characteristics.speed = "slow"' },
];
const perLine: TestItem[] = [
  { id: 'prepare', scope: 'order' },
  { id: 'work', dependsOn: ['prepare'], ms: 200 },
  { id: 'wrap-up', dependsOn: ['work'], scope: 'order' },
];

const plans: Record<string, TestItem[]> = {
  'chain-100': chain,
  'fan-out-50': fanOut,
  diamond,
  'n-shape': nShape,
  'random-dag': randomDag,
  conditional,
  'per-line': perLine,
};
const latency = new Map<string, number>();
for (const items of Object.values(plans)) for (const item of items) latency.set(item.id, item.ms ?? 0);

function writeCatalog(): string {
  const dir = copyDemoCatalog();
  writeFileSync(
    join(dir, 'systems', 'timing.yaml'),
    'id: timing\nname: Timing test system\nbaseUrl: http://127.0.0.1:1\n',
  );
  writeFileSync(
    join(dir, 'interfaces', 'timing-work.yaml'),
    'id: timing-work\nsystem: timing\nmethod: POST\npath: /work\nadapter: sync-rest\ntimeoutSeconds: 30\n',
  );
  for (const [id, items] of Object.entries(plans)) {
    const plan = {
      id,
      fulfils: [{ offering: id }],
      items: items.map((item) => ({
        id: item.id,
        type: 'callout',
        interface: 'timing-work',
        dependsOn: item.dependsOn ?? [],
        ...(item.condition ? { condition: item.condition } : {}),
        ...(item.scope ? { scope: item.scope } : {}),
      })),
    };
    writeFileSync(join(dir, 'plans', `${id}.json`), JSON.stringify(plan));
    // The conditional plan reads the line's speed; the others read nothing.
    const characteristics = id === 'conditional' ? [{ name: 'speed', valueType: 'string' }] : [];
    writeFileSync(join(dir, 'offerings', `${id}.json`), JSON.stringify({ id, name: id, characteristics }));
  }
  return dir;
}

describe('compiled plans on the local engine', () => {
  let sb: TestSwitchboard;
  let timing: Awaited<ReturnType<typeof startTimingSystem>>;
  before(async () => {
    timing = await startTimingSystem((id) => latency.get(id) ?? 0);
    sb = await startTestSwitchboard({ catalogDir: writeCatalog(), systemBaseUrls: { timing: timing.url } });
  });
  after(async () => {
    await sb?.stop();
    await timing?.stop();
  });

  /** Submits an order for a plan (one line unless said) and waits until it completes; returns its calls by item id. */
  async function run(plan: string, lines = 1, characteristics: Record<string, string> = {}) {
    const created = await sb.call('POST', ORDERS, {
      productOrderItem: Array.from({ length: lines }, (_, i) => ({
        id: `line-${i + 1}`,
        action: 'add',
        productOffering: { id: plan },
        product: {
          productCharacteristic: Object.entries(characteristics).map(([name, value]) => ({ name, value })),
        },
      })),
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const { id } = created.body as { id: string };
    await eventually(
      async () => {
        const read = await sb.call('GET', `${ORDERS}/${id}`);
        const state = (read.body as { state: string }).state;
        assert.ok(state !== 'held' && state !== 'failed', `order ${id} is ${state}`);
        return state === 'completed' ? true : undefined;
      },
      90_000,
      `${plan} to complete`,
    );
    const calls = new Map<string, TimedCall>();
    for (const call of timing.calls.filter((c) => c.orderId === id)) {
      assert.ok(!calls.has(call.key), `${call.key} was called once`);
      calls.set(call.key, call);
    }
    return { id, calls, at: (key: string) => calls.get(`${plan}.${key}`) ?? assert.fail(`${key} never ran`) };
  }

  /** Checks every item started after all its prerequisites ended; returns the largest start lag. */
  function checkOrder(plan: string, items: TestItem[], at: (key: string) => TimedCall): number {
    let worstLag = 0;
    for (const item of items) {
      const call = at(`${item.id}.1`);
      const deps = (item.dependsOn ?? []).map((d) => at(`${d}.1`));
      for (const dep of deps)
        assert.ok(call.start >= dep.end, `${plan}: ${item.id} started before a prerequisite ended`);
      if (deps.length > 0) worstLag = Math.max(worstLag, call.start - Math.max(...deps.map((d) => d.end)));
    }
    return worstLag;
  }

  it('runs a chain of 100 strictly in order, one item per state transition plus two', async () => {
    const { at, id } = await run('chain-100');
    const lag = checkOrder('chain-100', chain, at);
    assert.ok(lag < 5_000, `no item waits seconds for its prerequisite (worst ${lag} ms)`);
    const machine =
      sb.runtime.deployment
        .ofType('AWS::StepFunctions::StateMachine')
        .find((m) => m.logicalId.startsWith('Planchain100')) ?? assert.fail('no chain-100 machine');
    const executionArn = `${String(sb.runtime.deployment.attributes(machine).Arn).replace(':stateMachine:', ':execution:')}:${id}-1`;
    // The order completes as the last task is answered; the execution ends a moment later.
    const execution = await eventually(
      async () => {
        const record = sb.runtime.stepFunctions.executionRecord(executionArn);
        return record?.status === 'SUCCEEDED' ? record : undefined;
      },
      10_000,
      'the chain-100 execution to succeed',
    );
    // One Map, one Parallel per line, one Task per item.
    assert.equal(execution.stateTransitions, 102);
  });

  it('runs a fan-out of 50 at the same time', async () => {
    const { at } = await run('fan-out-50');
    checkOrder('fan-out-50', fanOut, at);
    const leaves = fanOut.slice(1).map((item) => at(`${item.id}.1`));
    // How many leaves ran at the same moment: sweep over start (+1) and end (-1) events.
    const events = leaves
      .flatMap((c) => [
        [c.start, 1],
        [c.end, -1],
      ])
      .sort((x, y) => (x[0] ?? 0) - (y[0] ?? 0) || (x[1] ?? 0) - (y[1] ?? 0));
    let running = 0;
    let most = 0;
    for (const [, change] of events) {
      running += change ?? 0;
      most = Math.max(most, running);
    }
    assert.ok(most >= 30, `at least 30 of the 50 leaves ran at once (${most} did)`);
    const span = Math.max(...leaves.map((c) => c.end)) - Math.min(...leaves.map((c) => c.start));
    assert.ok(
      span < 50 * 3000 * 0.2,
      `the fan-out took ${span} ms, a fraction of the ${50 * 3000} ms one after another would`,
    );
  });

  it('runs a diamond: both sides together, the bottom after the slower side', async () => {
    const { at } = await run('diamond');
    checkOrder('diamond', diamond, at);
    assert.ok(
      at('left.1').start < at('right.1').end && at('right.1').start < at('left.1').end,
      'the sides overlap',
    );
  });

  it('runs an N-shape without making d wait for the unrelated slow a', async () => {
    const { at } = await run('n-shape');
    checkOrder('n-shape', nShape, at);
    assert.ok(at('d.1').start < at('a.1').end, 'd started while a was still running');
    assert.ok(at('a.1').start < at('b.1').end, 'a and b overlap');
  });

  it('runs a random DAG (seed 4242) with every item after its prerequisites and none held back', async () => {
    const { at } = await run('random-dag');
    const lag = checkOrder('random-dag', randomDag, at);
    assert.ok(lag < 5_000, `worst start lag after the last prerequisite: ${lag} ms`);
  });

  it('skips an item whose condition is false, and its dependents still run', async () => {
    const { id, calls } = await run('conditional', 1, { speed: 'slow' });
    assert.ok(!calls.has('conditional.skipped.1'), 'the skipped item called nothing');
    assert.ok(calls.has('conditional.after-skipped.1') && calls.has('conditional.taken.1'));
    const items = await sb.call('GET', `/orchestration/orders/${id}/items`);
    const states = Object.fromEntries(
      (items.body as { items: { key: string; state: string }[] }).items.map((i) => [i.key, i.state]),
    );
    assert.equal(states['conditional.skipped.1'], 'Skipped');
    assert.equal(states['conditional.after-skipped.1'], 'Completed');
  });

  it('runs line-scoped items once per line, between the order-scoped ones', async () => {
    const { at, calls } = await run('per-line', 3);
    assert.equal(calls.size, 5, 'prepare and wrap-up once, work three times');
    const prepare = at('prepare');
    const wrapUp = at('wrap-up');
    const works = ['1', '2', '3'].map((line) => at(`work.${line}`));
    for (const work of works) {
      assert.ok(work.start >= prepare.end, 'each line waits for the order-scoped preparation');
      assert.ok(wrapUp.start >= work.end, 'the wrap-up waits for every line');
    }
    assert.ok(
      Math.max(...works.map((w) => w.start)) < Math.min(...works.map((w) => w.end)),
      'the lines run together',
    );
  });
});
