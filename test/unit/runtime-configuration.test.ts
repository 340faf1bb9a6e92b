import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FulfilmentSystem, SystemInterface } from '../../lambdas/domain/catalog';
import { procedureSchema } from '../../lambdas/domain/procedure';
import {
  asksForConfiguration,
  configurationRules,
  DEPLOY_ACTOR,
  diffFields,
  interfaceRuleProblems,
  type Overrides,
  operatorChange,
  readChangeBody,
  seedMerge,
  systemRuleProblems,
} from '../../lambdas/domain/runtime-configuration';
import { etagOf, ifMatchHolds, parseIfMatch } from '../../lambdas/shared/etag';
import { planDefinitionSchema } from '../../statemachines/plan-definition';
import { asyncCatalog } from './fixtures/async';
import { dslCatalog, INVENTORY_URL } from './fixtures/catalogs';

const OLGA = { id: 'u-op', name: 'olga' };
const AT = '2025-03-01T12:00:00.000Z';

const inventory = (): FulfilmentSystem => {
  const system = dslCatalog().systems.inventory;
  assert.ok(system);
  return { ...system, limits: { maxConcurrentCallouts: 4, maxCalloutsPerSecond: 10 } };
};
const reservePort = (): SystemInterface => {
  const iface = dslCatalog().interfaces['reserve-port'];
  assert.ok(iface);
  return iface;
};
const fields = (result: ReturnType<typeof readChangeBody>) =>
  'problems' in result ? result.problems.map((p) => p.field).sort() : [];

describe('readChangeBody', () => {
  it('reads the reason and the runtime fields of a system as a merge patch', () => {
    const read = readChangeBody('system', {
      reason: ' moved to the new data centre ',
      baseUrl: 'https://inventory.example.com/',
      limits: { maxCalloutsPerSecond: null },
      circuitBreaker: null,
    });

    assert.deepEqual(read, {
      reason: 'moved to the new data centre',
      patch: {
        baseUrl: 'https://inventory.example.com/',
        limits: { maxCalloutsPerSecond: null },
        circuitBreaker: null,
      },
    });
  });

  it('names every field the catalog keeps, the state, unknown fields and a missing reason, at once', () => {
    const system = readChangeBody('system', {
      name: 'Inventory 2',
      authProfile: 'other',
      id: 'x',
      state: 'Down',
      colour: 'red',
      baseUrl: 'https://inventory.example.com/',
    });
    const iface = readChangeBody('interface', {
      reason: 'faster',
      method: 'GET',
      path: '/ports',
      adapter: 'async-rest',
      requestMapping: 'other',
      mappings: { request: 'other' },
      callbackAuth: 'standard-webhooks',
      plans: ['dsl'],
      colour: 'red',
      status: 'Offline',
      timeoutSeconds: 5,
    });

    assert.deepEqual(fields(system), ['authProfile', 'colour', 'id', 'name', 'reason', 'state']);
    assert.deepEqual(fields(iface), [
      'adapter',
      'callbackAuth',
      'colour',
      'mappings',
      'method',
      'path',
      'plans',
      'requestMapping',
      'status',
    ]);
    assert.ok('problems' in iface);
    const message = (field: string) => iface.problems.find((p) => p.field === field)?.message;
    assert.match(
      message('method') ?? '',
      /stays in the catalog: change it in its file under interfaces\/ and deploy/,
    );
    assert.match(message('mappings') ?? '', /stays in the catalog/);
    assert.match(message('status') ?? '', /in a request of its own/);
    assert.match(message('plans') ?? '', /stays in the catalog/);
    assert.equal(message('colour'), 'is not a known field');
    assert.ok('problems' in system);
    assert.match(system.problems.find((p) => p.field === 'state')?.message ?? '', /PUT \/admin\/systems/);
  });

  it('refuses a body that is no object, a blank reason, and a patch that changes nothing', () => {
    assert.deepEqual(fields(readChangeBody('interface', [1])), ['']);
    assert.deepEqual(fields(readChangeBody('interface', { reason: '  ', timeoutSeconds: 5 })), ['reason']);
    const nothing = readChangeBody('interface', { reason: 'why not' });
    assert.ok('problems' in nothing);
    assert.match(
      nothing.problems[0]?.message ?? '',
      /changes nothing: send one of timeoutSeconds, acceptedStatuses, asyncTimeoutSeconds/,
    );
  });
});

describe('asksForConfiguration', () => {
  it('tells a configuration change from a status change by the fields an interface body names', () => {
    assert.equal(asksForConfiguration({ status: 'Offline', reason: 'x' }), false);
    assert.equal(asksForConfiguration({ status: 'Online', reason: 'x', releaseHeld: false }), false);
    assert.equal(
      asksForConfiguration({ state: 'Down', reason: 'x' }),
      false,
      'read, and refused, as a status change',
    );
    assert.equal(asksForConfiguration('status=Offline'), false);
    assert.equal(asksForConfiguration({ timeoutSeconds: 5, reason: 'x' }), true);
    assert.equal(asksForConfiguration({ path: '/x', reason: 'x' }), true, 'refused as a catalog field');
    assert.equal(asksForConfiguration({ status: 'Offline', timeoutSeconds: 5 }), true);
  });
});

describe('operatorChange', () => {
  it('records each changed field with the catalog value it replaces, and nothing for an unchanged one', () => {
    const before = inventory();
    const after = { ...before, baseUrl: 'https://dr.example.com/', limits: { maxConcurrentCallouts: 2 } };

    const { changes, overrides } = operatorChange('system', before, after, {}, { at: AT, by: OLGA });

    assert.deepEqual(changes, [
      { field: 'baseUrl', from: INVENTORY_URL, to: 'https://dr.example.com/' },
      { field: 'limits.maxConcurrentCallouts', from: 4, to: 2 },
      { field: 'limits.maxCalloutsPerSecond', from: 10, to: null },
    ]);
    assert.deepEqual(overrides, {
      baseUrl: { catalogValue: INVENTORY_URL, at: AT, by: OLGA },
      'limits.maxConcurrentCallouts': { catalogValue: 4, at: AT, by: OLGA },
      'limits.maxCalloutsPerSecond': { catalogValue: 10, at: AT, by: OLGA },
    });
    assert.deepEqual(operatorChange('system', before, structuredClone(before), {}, { at: AT, by: OLGA }), {
      changes: [],
      overrides: {},
    });
  });

  it('keeps the catalog value of the first override through a second change, and ends the override when it is set back', () => {
    const catalog = reservePort();
    const first = operatorChange(
      'interface',
      catalog,
      { ...catalog, timeoutSeconds: 20 },
      {},
      { at: AT, by: OLGA },
    );
    const later = { at: '2025-03-01T13:00:00.000Z', by: { id: 'u-2', name: 'ivan' } };

    const second = operatorChange(
      'interface',
      { ...catalog, timeoutSeconds: 20 },
      { ...catalog, timeoutSeconds: 25 },
      first.overrides,
      later,
    );
    const back = operatorChange(
      'interface',
      { ...catalog, timeoutSeconds: 25 },
      catalog,
      second.overrides,
      later,
    );

    assert.deepEqual(second.overrides, { timeoutSeconds: { catalogValue: 10, ...later } });
    assert.deepEqual(back.overrides, {});
    assert.deepEqual(back.changes, [
      { field: 'timeoutSeconds', from: 25, to: 10, note: "the catalog's value again: no longer an override" },
    ]);
  });
});

describe('seedMerge: what a redeploy does with what operators changed', () => {
  const overridden = (fields: Record<string, unknown>): Overrides =>
    Object.fromEntries(
      Object.entries(fields).map(([field, catalogValue]) => [field, { catalogValue, at: AT, by: OLGA }]),
    );

  it('takes a new record as the catalog has it', () => {
    const merged = seedMerge('system', inventory(), undefined);

    assert.deepEqual(merged, {
      definition: inventory(),
      overrides: {},
      changes: [],
      kept: [],
      dropped: [],
      changed: true,
    });
  });

  it('changes nothing when neither the catalog nor an operator changed anything', () => {
    const merged = seedMerge('system', inventory(), { definition: inventory(), overrides: {} });

    assert.equal(merged.changed, false);
    assert.deepEqual(merged.changes, []);
  });

  it("applies the catalog's change to a field no operator changed, and says so field by field", () => {
    const changed = {
      ...inventory(),
      name: 'Inventory (new)',
      limits: { maxConcurrentCallouts: 8, maxCalloutsPerSecond: 10 },
    };

    const merged = seedMerge('system', changed, { definition: inventory(), overrides: {} });

    assert.deepEqual(merged.definition, changed);
    assert.deepEqual(merged.changes, [
      { field: 'limits.maxConcurrentCallouts', from: 4, to: 8 },
      { field: 'name', from: 'Network inventory', to: 'Inventory (new)' },
    ]);
    assert.equal(merged.changed, true);
  });

  it("keeps an operator's value while the catalog's value of that field is unchanged, and applies the catalog's other changes", () => {
    // Prepare: the operator lowered the concurrency (catalog 4) and moved the system; the catalog now
    // changes the rate only.
    const current = {
      definition: {
        ...inventory(),
        baseUrl: 'https://dr.example.com/',
        limits: { maxConcurrentCallouts: 2, maxCalloutsPerSecond: 10 },
      },
      overrides: overridden({ baseUrl: INVENTORY_URL, 'limits.maxConcurrentCallouts': 4 }),
    };
    const catalog = { ...inventory(), limits: { maxConcurrentCallouts: 4, maxCalloutsPerSecond: 20 } };

    // Act
    const merged = seedMerge('system', catalog, current);

    // Assess
    assert.deepEqual(merged.definition, {
      ...inventory(),
      baseUrl: 'https://dr.example.com/',
      limits: { maxConcurrentCallouts: 2, maxCalloutsPerSecond: 20 },
    });
    assert.deepEqual(merged.overrides, current.overrides);
    assert.deepEqual(merged.kept, ['baseUrl', 'limits.maxConcurrentCallouts']);
    assert.deepEqual(merged.dropped, []);
    assert.deepEqual(merged.changes, [{ field: 'limits.maxCalloutsPerSecond', from: 10, to: 20 }]);
  });

  it("lets the catalog's new value win once the catalog changed the field, dropping the override with a note", () => {
    const current = {
      definition: { ...reservePort(), timeoutSeconds: 20 },
      overrides: overridden({ timeoutSeconds: 10 }),
    };

    const merged = seedMerge('interface', { ...reservePort(), timeoutSeconds: 15 }, current);

    assert.equal(merged.definition.timeoutSeconds, 15);
    assert.deepEqual(merged.overrides, {});
    assert.deepEqual(merged.dropped, ['timeoutSeconds']);
    assert.equal(merged.changes.length, 1);
    assert.deepEqual(
      { ...merged.changes[0], note: undefined },
      { field: 'timeoutSeconds', from: 20, to: 15, note: undefined },
    );
    assert.match(
      merged.changes[0]?.note ?? '',
      /^the catalog changed it from 10 to 15 since the override: its value replaces the one olga \(u-op\) set on 2025-03-01T12:00:00.000Z$/,
    );
  });

  it('drops an override on a field the catalog removed or added, as a change of that field', () => {
    // The operator removed the breaker (the catalog had one); the catalog now has another breaker.
    const breaker = { failureThreshold: 5, healthPath: '/health', probeIntervalSeconds: 30 };
    const current = { definition: inventory(), overrides: overridden({ circuitBreaker: breaker }) };

    const merged = seedMerge(
      'system',
      { ...inventory(), circuitBreaker: { ...breaker, failureThreshold: 3 } },
      current,
    );

    assert.deepEqual(merged.definition.circuitBreaker, { ...breaker, failureThreshold: 3 });
    assert.deepEqual(merged.dropped, ['circuitBreaker']);
    assert.match(merged.changes[0]?.note ?? '', /changed it from \{.*\} to \{.*"failureThreshold":3.*\}/);
  });

  it('ends an override the catalog caught up with: the value stays, the history says so', () => {
    const current = {
      definition: { ...reservePort(), timeoutSeconds: 20 },
      overrides: overridden({ timeoutSeconds: 10 }),
    };

    const merged = seedMerge('interface', { ...reservePort(), timeoutSeconds: 20 }, current);

    assert.equal(merged.definition.timeoutSeconds, 20);
    assert.deepEqual(merged.overrides, {});
    assert.equal(merged.changed, true);
    assert.deepEqual(merged.changes, [
      {
        field: 'timeoutSeconds',
        from: 20,
        to: 20,
        note: 'the catalog now has the value olga (u-op) set on 2025-03-01T12:00:00.000Z: no longer an override',
      },
    ]);
  });

  it("drops a kept value that breaks the new catalog's rules: a timeout above the new slowest interface's", () => {
    // Prepare: the operator raised reserve-port to 30 s (the catalog's slowest then); the catalog now
    // allows at most 20 s anywhere, without changing reserve-port's own 10 s.
    const catalog = dslCatalog();
    const activate = catalog.interfaces['activate-line'];
    assert.ok(activate);
    activate.timeoutSeconds = 20;
    const current = {
      definition: { ...reservePort(), timeoutSeconds: 30 },
      overrides: overridden({ timeoutSeconds: 10 }),
    };

    // Act
    const merged = seedMerge('interface', reservePort(), current, configurationRules(catalog).interface);

    // Assess
    assert.equal(merged.definition.timeoutSeconds, 10);
    assert.deepEqual(merged.dropped, ['timeoutSeconds']);
    assert.match(
      merged.changes[0]?.note ?? '',
      /breaks the deployed catalog's rules \(is at most 20 at runtime/,
    );
  });

  it('keeps a kept value that still holds under the rules', () => {
    const current = {
      definition: { ...reservePort(), timeoutSeconds: 30 },
      overrides: overridden({ timeoutSeconds: 10 }),
    };

    const merged = seedMerge('interface', reservePort(), current, configurationRules(dslCatalog()).interface);

    assert.equal(merged.definition.timeoutSeconds, 30);
    assert.deepEqual(merged.kept, ['timeoutSeconds']);
    assert.deepEqual(merged.changes, []);
    assert.equal(merged.changed, false);
  });

  it('drops an override of a field no longer changed at runtime', () => {
    const current = {
      definition: { ...reservePort(), path: '/ports/v2' },
      overrides: overridden({ path: '/ports/reservations' }),
    };

    const merged = seedMerge('interface', reservePort(), current);

    assert.equal(merged.definition.path, '/ports/reservations');
    assert.deepEqual(merged.dropped, ['path']);
    assert.match(merged.changes[0]?.note ?? '', /no longer changed at runtime/);
  });
});

describe('interfaceRuleProblems', () => {
  it("holds a timeout to the catalog's slowest interface's: the worker's time limit is set at deploy", () => {
    const catalog = dslCatalog();

    assert.deepEqual(interfaceRuleProblems({ ...reservePort(), timeoutSeconds: 30 }, catalog), []);
    const problems = interfaceRuleProblems({ ...reservePort(), timeoutSeconds: 31 }, catalog);
    assert.deepEqual(
      problems.map((p) => p.field),
      ['timeoutSeconds'],
    );
    assert.match(problems[0]?.message ?? '', /is at most 30 at runtime/);
  });

  it('takes accepted statuses and a callback timeout only on an asynchronous interface', () => {
    const problems = interfaceRuleProblems(
      { ...reservePort(), acceptedStatuses: [202], asyncTimeoutSeconds: 60 },
      dslCatalog(),
    );

    assert.deepEqual(
      problems.map((p) => p.field),
      ['acceptedStatuses', 'asyncTimeoutSeconds'],
    );
    assert.match(
      problems[0]?.message ?? '',
      /only an asynchronous interface \(async-rest, or a custom adapter whose module says asynchronous: true\) waits for a callback; this one's adapter is "sync-rest"/,
    );
  });

  it("holds an asynchronous callout's wait under its callback URL's deployed life and every plan's wait for it", () => {
    // Prepare: activate-line waits 3600 s for its callback (the catalog's longest); a plan waits 4000 s.
    const catalog = asyncCatalog();
    const plan = catalog.plans['activate-only'];
    assert.ok(plan);
    plan.timeoutSeconds = 4000;
    const activate = catalog.interfaces['activate-line'];
    assert.ok(activate);

    // Act
    const shorter = interfaceRuleProblems({ ...activate, asyncTimeoutSeconds: 600 }, catalog);
    const longerUrl = interfaceRuleProblems({ ...activate, asyncTimeoutSeconds: 3601 }, catalog);
    catalog.interfaces.other = { ...activate, id: 'other', asyncTimeoutSeconds: 100_000 };
    const pastPlan = interfaceRuleProblems({ ...activate, asyncTimeoutSeconds: 3980 }, catalog);

    // Assess
    assert.deepEqual(shorter, []);
    assert.deepEqual(
      longerUrl.map((p) => p.field),
      ['asyncTimeoutSeconds'],
    );
    assert.match(
      longerUrl[0]?.message ?? '',
      /callback URL live 3931 s, longer than the callback keys' grace was deployed for \(3930 s/,
    );
    assert.deepEqual(
      pastPlan.map((p) => p.field),
      ['asyncTimeoutSeconds'],
    );
    assert.match(
      pastPlan[0]?.message ?? '',
      /plan "activate-only" waits at most 4000 s for item "activate-line", but this interface's callout may take 4010 s/,
    );
  });

  it("holds an asynchronous procedure step's interface to the plan's wait for all the procedure's asynchronous steps", () => {
    // Prepare: a procedure of two asynchronous steps to activate-line, which the plan waits 8000 s for.
    const catalog = asyncCatalog();
    const activate = catalog.interfaces['activate-line'];
    assert.ok(activate);
    catalog.procedures.twice = procedureSchema.parse({
      id: 'twice',
      steps: [
        { id: 'first', type: 'http', interface: 'activate-line' },
        { id: 'second', type: 'http', interface: 'activate-line' },
      ],
    });
    catalog.plans.twice = planDefinitionSchema.parse({
      id: 'twice',
      fulfils: [{ offering: 'activate-only' }],
      timeoutSeconds: 8000,
      items: [{ id: 'both', type: 'autoTask', procedure: 'twice' }],
    });

    // Act: 2 × (30 + 3600) fits in 8000 s; 2 × (30 + 3990) does not.
    const fits = interfaceRuleProblems({ ...activate, asyncTimeoutSeconds: 3600 }, catalog);
    const tooLong = interfaceRuleProblems({ ...activate, asyncTimeoutSeconds: 3990 }, catalog);

    // Assess
    assert.ok(!fits.some((p) => p.message.includes('plan "twice"')), JSON.stringify(fits));
    assert.ok(
      tooLong.some((p) =>
        /plan "twice" waits at most 8000 s for item "both", but its procedure's asynchronous steps \(this interface's among them\) may take 8040 s/.test(
          p.message,
        ),
      ),
      JSON.stringify(tooLong),
    );
  });
});

describe('systemRuleProblems', () => {
  it('keeps a system under mutual TLS on https, as at synth', () => {
    const catalog = dslCatalog();
    catalog.authProfiles['inventory-tls'] = { id: 'inventory-tls', type: 'mtls' };
    const inventory = catalog.systems.inventory;
    assert.ok(inventory);
    const tls = { ...inventory, authProfile: 'inventory-tls' };

    assert.deepEqual(systemRuleProblems({ ...tls, baseUrl: 'https://inventory.example' }, catalog), []);
    assert.deepEqual(
      systemRuleProblems({ ...tls, baseUrl: 'http://inventory.example' }, catalog).map((p) => [
        p.field,
        p.message,
      ]),
      [
        [
          'baseUrl',
          'auth profile "inventory-tls" is mutual TLS, which needs an https base URL (not "http://inventory.example")',
        ],
      ],
    );
    assert.deepEqual(systemRuleProblems({ ...inventory, baseUrl: 'http://inventory.example' }, catalog), []);
  });
});

describe('diffFields', () => {
  it("names a system's limits one by one and leaves an interface's seeded status out", () => {
    assert.deepEqual(
      diffFields('system', { limits: { maxConcurrentCallouts: 4 } }, { limits: { maxCalloutsPerSecond: 5 } }),
      [
        { field: 'limits.maxCalloutsPerSecond', from: null, to: 5 },
        { field: 'limits.maxConcurrentCallouts', from: 4, to: null },
      ],
    );
    assert.deepEqual(diffFields('interface', { ...reservePort(), status: 'Offline' }, reservePort()), []);
  });
});

describe('ETags and If-Match', () => {
  it("reads If-Match as RFC 9110 has it, a weak or unquoted tag as the tag, and '*' as any", () => {
    assert.equal(etagOf(3), '"r3"');
    assert.equal(parseIfMatch(undefined), undefined);
    assert.equal(parseIfMatch(' '), undefined);
    for (const header of ['"r3"', 'W/"r3"', 'r3', '"r1", "r3"', '*'])
      assert.equal(ifMatchHolds(parseIfMatch(header) ?? { any: false, tags: [] }, 3), true, header);
    for (const header of ['"r2"', '"r33"', '"3"', 'W/"r2", "r4"'])
      assert.equal(ifMatchHolds(parseIfMatch(header) ?? { any: true }, 3), false, header);
  });

  it('names the deploy as the actor of a seed’s changes', () => {
    assert.deepEqual(DEPLOY_ACTOR, { id: 'switchboard:deploy', name: 'deploy' });
  });
});
