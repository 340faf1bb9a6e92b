import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { CatalogError, type CatalogProblem, loadCatalog } from '../../lib/catalog/load-catalog';

const DEMO_CATALOG = resolve(import.meta.dirname, '../../catalog');

const tempDirs: string[] = [];
after(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

/** Writes a catalog folder in the OS temp dir from `relative path → content`. */
function writeCatalog(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-catalog-'));
  tempDirs.push(dir);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return dir;
}

/** How the loader names a file in a problem: relative to the working directory. */
const shown = (dir: string, path: string) => relative(process.cwd(), join(dir, path));

function problemsOf(load: () => unknown): CatalogProblem[] {
  try {
    load();
  } catch (error) {
    assert.ok(error instanceof CatalogError, `a CatalogError, not ${String(error)}`);
    return error.problems;
  }
  assert.fail('the catalog was accepted');
}

const SYSTEM = 'id: inventory\nname: Network inventory\nbaseUrl: http://127.0.0.1:4101\n';
const INTERFACE = [
  'id: reserve-port',
  'system: inventory',
  'method: POST',
  'path: /ports/reservations',
  'adapter: sync-rest',
  'requestMapping: reserve-request',
  '',
].join('\n');
const PLAN = [
  'id: dsl',
  'fulfils:',
  '  - offering: dsl',
  'items:',
  '  - id: reserve',
  '    type: callout',
  '    interface: reserve-port',
  '  - id: done',
  '    type: milestone',
  '    dependsOn: [reserve]',
  '',
].join('\n');

const OFFERING = [
  'id: dsl',
  'name: DSL broadband',
  'characteristics:',
  '  - { name: bandwidth, valueType: integer, unit: Mbit/s, required: true }',
  '',
].join('\n');

/** A custom adapter module, as small as one can be (and, with `asynchronous: true`, one that waits). */
const ADAPTER = 'export default { encodeRequest: () => ({ headers: {} }), decodeResponse: (r) => r.body };\n';
const ASYNC_ADAPTER = ADAPTER.replace('export default {', 'export default { asynchronous: true,');

const validCatalog = () => ({
  'systems/inventory.yaml': SYSTEM,
  'interfaces/reserve-port.yaml': INTERFACE,
  'offerings/dsl.yaml': OFFERING,
  'plans/dsl.yaml': PLAN,
  'mappings/reserve-request.jsonata': '{ "orderId": order.id }',
});

describe('loadCatalog', () => {
  it('loads the demo catalog', () => {
    // Act
    const catalog = loadCatalog(DEMO_CATALOG);

    // Assess
    assert.deepEqual(Object.keys(catalog.systems), [
      'activation',
      'billing',
      'inventory',
      'notification',
      'porting',
      'provisioning',
      'scheduling',
      'telephony',
    ]);
    assert.deepEqual(Object.keys(catalog.procedures), ['book-installation']);
    assert.deepEqual(catalog.systems.inventory, {
      id: 'inventory',
      name: 'Network inventory',
      baseUrl: 'http://127.0.0.1:4101',
      authProfile: 'inventory-api-key',
      limits: { maxConcurrentCallouts: 20 },
    });
    assert.deepEqual(catalog.interfaces['inventory-reserve-port'], {
      id: 'inventory-reserve-port',
      system: 'inventory',
      method: 'POST',
      path: '/ports/reservations',
      adapter: 'sync-rest',
      status: 'Online',
      timeoutSeconds: 10,
      requestMapping: 'reserve-port-request',
      responseMapping: 'reserve-port-response',
    });
    assert.equal(catalog.interfaces['billing-start-charging']?.adapter, 'legacy-billing-xml');
    assert.deepEqual(catalog.customAdapters, ['legacy-billing-xml']);
    assert.deepEqual(
      Object.values(catalog.authProfiles).map((p) => [p.id, p.type]),
      [
        ['activation-oauth', 'oauth2-client-credentials'],
        ['billing-basic', 'basic'],
        ['inventory-api-key', 'api-key'],
        ['porting-bearer', 'bearer'],
        ['provisioning-mtls', 'mtls'],
        ['scheduling-api-key', 'api-key'],
      ],
    );
    assert.deepEqual(catalog.interfaces['telephony-create-job']?.polling, {
      path: '/jobs/{response.jobId}',
      statusMapping: 'telephony-job-status',
      intervalSeconds: 1,
      backoffRate: 1.5,
      maxIntervalSeconds: 5,
    });
    assert.equal(catalog.interfaces['porting-port-in']?.callbackMapping, 'porting-callback');
    assert.equal(catalog.systems.provisioning?.authProfile, 'provisioning-mtls');
    assert.match(catalog.systems.provisioning?.baseUrl ?? '', /^https:\/\//);
    assert.match(catalog.mappings['reserve-port-request'] ?? '', /bandwidthMbps/);
    const plan = catalog.plans['dsl-broadband'];
    assert.deepEqual(plan?.fulfils, [{ offering: 'dsl-broadband', actions: ['add'] }]);
    assert.equal(plan?.timeoutSeconds, 14 * 24 * 3600);
    assert.deepEqual(
      plan?.items.map((i) => [i.id, i.interface ?? i.procedure, i.dependsOn]),
      [
        ['reserve-port', 'inventory-reserve-port', []],
        ['activate-line', 'activation-activate-line', ['reserve-port']],
        ['book-installation', 'book-installation', ['reserve-port']],
        ['start-billing', 'billing-start-charging', ['activate-line']],
      ],
    );
    const tv = catalog.plans['tv-bundle'];
    assert.deepEqual(
      tv?.items.map((i) => [i.id, i.type, i.scope, i.condition !== undefined, i.pointOfNoReturn]),
      [
        ['choose-channels', 'autoTask', 'line', false, false],
        ['technician-visit', 'manualTask', 'line', true, false],
        ['service-ready', 'milestone', 'line', false, true],
        ['welcome-pack', 'autoTask', 'order', false, false],
      ],
    );
  });

  it('reads JSON and .yml entries as well as .yaml, and ignores other files', () => {
    const dir = writeCatalog({
      'systems/inventory.yml': SYSTEM,
      'systems/README.md': '# not an entry',
      'interfaces/reserve-port.json': JSON.stringify({
        id: 'reserve-port',
        system: 'inventory',
        method: 'GET',
        path: '/ports',
        adapter: 'sync-rest',
      }),
      'offerings/dsl.json': JSON.stringify({ id: 'dsl', name: 'DSL' }),
      'plans/dsl.yaml': PLAN,
    });

    const catalog = loadCatalog(dir);

    assert.deepEqual(Object.keys(catalog.systems), ['inventory']);
    assert.deepEqual(catalog.offerings.dsl, { id: 'dsl', name: 'DSL', characteristics: [] });
    assert.equal(catalog.interfaces['reserve-port']?.timeoutSeconds, 30);
    assert.deepEqual(catalog.mappings, {});
  });

  it('lists every problem of a broken catalog, each with its file and field', () => {
    // Prepare
    const dir = writeCatalog({
      'systems/a-inventory.yaml': SYSTEM,
      'systems/b-inventory.yaml': SYSTEM.replace('Network inventory', 'Inventory again'),
      'systems/broken.yaml': 'id: broken\nname: [unclosed\n',
      'systems/nameless.yaml': 'id: nameless\nbaseUrl: http://nameless.test\n',
      'interfaces/reserve-port.yaml': `${INTERFACE}responseMapping: reserve-response\n`,
      'interfaces/ghost.yaml': [
        'id: ghost',
        'system: nowhere',
        'method: POST',
        'path: /ghosts',
        'adapter: sync-rest',
        'requestMapping: missing-mapping',
        '',
      ].join('\n'),
      'mappings/reserve-request.jsonata': '{ "orderId": order.id }',
      'mappings/reserve-response.jsonata': '{ "portId": }',
      'offerings/dsl.yaml': OFFERING,
      'plans/cyclic.yaml': [
        'id: cyclic',
        'fulfils:',
        '  - offering: dsl',
        'items:',
        '  - { id: a, type: milestone, dependsOn: [c] }',
        '  - { id: b, type: milestone, dependsOn: [a] }',
        '  - { id: c, type: milestone, dependsOn: [b] }',
        '  - { id: d, type: callout, interface: no-such-interface }',
        '',
      ].join('\n'),
    });

    // Act
    const problems = problemsOf(() => loadCatalog(dir));

    // Assess
    const at = (file: string, where?: string) =>
      problems.filter((p) => p.file === shown(dir, file) && p.where === where);
    const expect = (file: string, where: string | undefined, message: RegExp) => {
      const found = at(file, where);
      assert.equal(
        found.length,
        1,
        `one problem at ${file} (${where}): ${JSON.stringify(problems, null, 1)}`,
      );
      assert.match(found[0]?.message ?? '', message);
    };
    expect('systems/b-inventory.yaml', 'id', /system "inventory" is also defined in .*a-inventory\.yaml/);
    expect('systems/broken.yaml', undefined, /^cannot be parsed: /);
    expect('systems/nameless.yaml', 'name', /expected string/);
    expect('interfaces/ghost.yaml', 'system', /^unknown system "nowhere"$/);
    expect(
      'interfaces/ghost.yaml',
      'requestMapping',
      /^unknown mapping "missing-mapping" \(expected mappings\/missing-mapping\.jsonata\)$/,
    );
    expect('mappings/reserve-response.jsonata', undefined, /^is not a valid JSONata expression: /);
    expect('plans/cyclic.yaml', 'item "a".dependsOn', /^dependency cycle a → b → c → a$/);
    expect('plans/cyclic.yaml', 'item "d".interface', /^unknown system interface "no-such-interface"$/);
    assert.equal(problems.length, 8, JSON.stringify(problems, null, 1));
  });

  it('names every problem in the error message, one a line', () => {
    const dir = writeCatalog({ ...validCatalog(), 'systems/nameless.yaml': 'id: nameless\n' });

    assert.throws(
      () => loadCatalog(dir),
      (error: unknown) => {
        assert.ok(error instanceof CatalogError);
        assert.equal(error.name, 'CatalogError');
        assert.equal(error.problems.length, 2);
        assert.match(error.message, /^The catalog has 2 problems:\n/);
        assert.ok(error.message.includes(`  ${shown(dir, 'systems/nameless.yaml')} (name): `));
        assert.ok(error.message.includes(`  ${shown(dir, 'systems/nameless.yaml')} (baseUrl): `));
        return true;
      },
    );
  });

  it('reports a duplicate plan, interface and offering', () => {
    const dir = writeCatalog({
      ...validCatalog(),
      'interfaces/reserve-port-copy.yaml': INTERFACE,
      'plans/other.yaml': PLAN.replace('id: dsl\n', 'id: other\n'),
      'plans/zz-dsl-again.yaml': PLAN,
    });

    const problems = problemsOf(() => loadCatalog(dir));

    assert.deepEqual(
      problems.map((p) => [p.file, p.where]).sort(),
      [
        [shown(dir, 'interfaces/reserve-port.yaml'), 'id'],
        [shown(dir, 'plans/other.yaml'), 'fulfils'],
        [shown(dir, 'plans/zz-dsl-again.yaml'), 'id'],
      ].sort(),
    );
    assert.match(
      problems.find((p) => p.where === 'fulfils')?.message ?? '',
      /^offering "dsl" \(add\) is already fulfilled by plan "dsl"$/,
    );
  });

  it('accepts conditions and setAttributes that are valid JSONata', () => {
    const dir = writeCatalog({
      ...validCatalog(),
      'plans/dsl.yaml': [
        PLAN,
        '  - id: note',
        '    type: autoTask',
        '    dependsOn: [done]',
        `    condition: 'characteristics.bandwidth = 100'`,
        `    setAttributes: '{ "noted": true }'`,
        '',
      ].join('\n'),
    });

    const catalog = loadCatalog(dir);

    const note = catalog.plans.dsl?.items.find((i) => i.id === 'note');
    assert.equal(note?.condition, 'characteristics.bandwidth = 100');
    assert.equal(note?.setAttributes, '{ "noted": true }');
  });

  it('reports a condition or setAttributes that is not valid JSONata, at the item field', () => {
    // Prepare
    const dir = writeCatalog({
      ...validCatalog(),
      'plans/dsl.yaml': [
        PLAN,
        '  - id: note',
        '    type: autoTask',
        `    condition: 'characteristics.('`,
        `    setAttributes: '{ "noted": }'`,
        '  - id: visit',
        '    type: manualTask',
        `    condition: '$$$ ('`,
        '',
      ].join('\n'),
    });

    // Act
    const problems = problemsOf(() => loadCatalog(dir));

    // Assess
    assert.deepEqual(
      problems.map((p) => [p.file, p.where]),
      [
        [shown(dir, 'plans/dsl.yaml'), 'item "note".condition'],
        [shown(dir, 'plans/dsl.yaml'), 'item "note".setAttributes'],
        [shown(dir, 'plans/dsl.yaml'), 'item "visit".condition'],
      ],
    );
    for (const problem of problems) assert.match(problem.message, /^is not a valid JSONata expression: ./);
  });

  it('reports misplaced item fields of the new item types at the item field', () => {
    const dir = writeCatalog({
      ...validCatalog(),
      'plans/dsl.yaml': [
        PLAN,
        '  - id: note',
        '    type: autoTask',
        '    scope: order',
        '  - id: visit',
        '    type: milestone',
        '    instructions: Go there.',
        '',
      ].join('\n'),
    });

    const problems = problemsOf(() => loadCatalog(dir));

    assert.deepEqual(
      problems.map((p) => [p.file, p.where]),
      [
        [shown(dir, 'plans/dsl.yaml'), 'items.2.setAttributes'],
        [shown(dir, 'plans/dsl.yaml'), 'items.3.instructions'],
      ],
    );
  });

  it('does not also report an interface mapping as unknown when its file is the invalid one', () => {
    const dir = writeCatalog({ ...validCatalog(), 'mappings/reserve-request.jsonata': '$$$ (' });

    const problems = problemsOf(() => loadCatalog(dir));

    assert.deepEqual(
      problems.map((p) => [p.file, p.where]),
      [[shown(dir, 'mappings/reserve-request.jsonata'), undefined]],
    );
  });

  // Product bug: the loader skips "unknown mapping" when any problem's file merely ends with
  // `<name>.jsonata`, so an invalid `reserve-request.jsonata` hides a missing `request.jsonata`.
  it('reports a missing mapping even when an invalid mapping has a name ending in it', () => {
    const dir = writeCatalog({
      ...validCatalog(),
      'interfaces/reserve-port.yaml': INTERFACE.replace(
        'requestMapping: reserve-request',
        'requestMapping: request',
      ),
      'mappings/reserve-request.jsonata': '$$$ (',
    });

    const problems = problemsOf(() => loadCatalog(dir));

    assert.ok(
      problems.some(
        (p) =>
          p.file === shown(dir, 'interfaces/reserve-port.yaml') &&
          p.where === 'requestMapping' &&
          p.message.startsWith('unknown mapping "request"'),
      ),
      JSON.stringify(problems, null, 1),
    );
  });

  it('rejects a catalog with no plan definition', () => {
    const dir = writeCatalog({ 'systems/inventory.yaml': SYSTEM });

    const problems = problemsOf(() => loadCatalog(dir));

    assert.deepEqual(problems, [{ file: shown(dir, 'plans'), message: 'holds no plan definition' }]);
  });

  it('reports an empty entry file as a problem of that file', () => {
    const dir = writeCatalog({ ...validCatalog(), 'systems/empty.yaml': '' });

    const problems = problemsOf(() => loadCatalog(dir));

    assert.equal(problems.length, 1);
    assert.equal(problems[0]?.file, shown(dir, 'systems/empty.yaml'));
  });

  it('replaces system base URLs from the options', () => {
    const dir = writeCatalog(validCatalog());

    const catalog = loadCatalog(dir, { systemBaseUrls: { inventory: 'https://inventory.example.com/v2' } });

    assert.equal(catalog.systems.inventory?.baseUrl, 'https://inventory.example.com/v2');
  });

  // Product bug: an override replaces baseUrl after the schema ran, so it is never checked to be an
  // http(s) URL like a catalog baseUrl is; a typo surfaces only when a callout builds its URL.
  it('rejects a base URL override that is not an http(s) URL', () => {
    const dir = writeCatalog(validCatalog());

    const problems = problemsOf(() => loadCatalog(dir, { systemBaseUrls: { inventory: 'inventory:4101' } }));

    assert.deepEqual(
      problems.map((p) => [p.file, p.where]),
      [['(context switchboard:systemBaseUrls)', 'inventory']],
    );
  });

  it('reports a base URL override for a system the catalog does not have', () => {
    const dir = writeCatalog(validCatalog());

    const problems = problemsOf(() =>
      loadCatalog(dir, { systemBaseUrls: { inventory: 'http://ok.test', billing: 'http://billing.test' } }),
    );

    assert.deepEqual(problems, [
      { file: '(context switchboard:systemBaseUrls)', where: 'billing', message: 'unknown system "billing"' },
    ]);
  });

  it('reports a system whose auth profile is not in the catalog, naming the file it expects', () => {
    const dir = writeCatalog({
      ...validCatalog(),
      'systems/inventory.yaml': `${SYSTEM}authProfile: inventory-key\n`,
    });

    const problems = problemsOf(() => loadCatalog(dir));

    assert.deepEqual(problems, [
      {
        file: shown(dir, 'systems/inventory.yaml'),
        where: 'authProfile',
        message: 'unknown auth profile "inventory-key" (expected auth-profiles/inventory-key.yaml)',
      },
    ]);
  });

  it('reports a synchronous interface that asks for signed callbacks, and a callbackAuth it does not know', () => {
    const dir = writeCatalog({
      ...validCatalog(),
      'interfaces/reserve-port.yaml': `${INTERFACE}callbackAuth: standard-webhooks\n`,
    });
    const unknown = writeCatalog({
      ...validCatalog(),
      'interfaces/reserve-port.yaml': `${INTERFACE.replace('adapter: sync-rest', 'adapter: async-rest')}callbackAuth: hmac\n`,
    });

    const problems = problemsOf(() => loadCatalog(dir));
    const unknownProblems = problemsOf(() => loadCatalog(unknown));

    assert.deepEqual(
      problems.map((p) => [p.file, p.where, p.message]),
      [
        [
          shown(dir, 'interfaces/reserve-port.yaml'),
          'callbackAuth',
          'only an asynchronous interface takes callbacks (async-rest, or a custom adapter whose module says asynchronous: true); this one\'s adapter is "sync-rest"',
        ],
      ],
    );
    assert.deepEqual(
      unknownProblems
        .filter((p) => p.file === shown(unknown, 'interfaces/reserve-port.yaml'))
        .map((p) => p.where),
      ['callbackAuth'],
    );
  });

  it('reports accepted statuses and a callback timeout on an interface that is not asynchronous', () => {
    const dir = writeCatalog({
      ...validCatalog(),
      'interfaces/reserve-port.yaml': `${INTERFACE}acceptedStatuses: [202]\nasyncTimeoutSeconds: 600\n`,
    });

    const problems = problemsOf(() => loadCatalog(dir));

    assert.deepEqual(
      problems.map((p) => [p.file, p.where, p.message]),
      ['acceptedStatuses', 'asyncTimeoutSeconds'].map((field) => [
        shown(dir, 'interfaces/reserve-port.yaml'),
        field,
        'only an asynchronous interface (async-rest, or a custom adapter whose module says asynchronous: true) waits for a callback; this one\'s adapter is "sync-rest"',
      ]),
    );
  });

  it('reports a path template that does not parse, and a GET with a request mapping, at their fields', () => {
    const dir = writeCatalog({
      ...validCatalog(),
      'interfaces/release-port.yaml': [
        'id: release-port',
        'system: inventory',
        'method: DELETE',
        'path: /ports/reservations/{portId}?by={order.}',
        '',
      ].join('\n'),
      'interfaces/look-up-port.yaml': [
        'id: look-up-port',
        'system: inventory',
        'method: GET',
        'path: /ports/{portId',
        'requestMapping: reserve-request',
        '',
      ].join('\n'),
    });

    const problems = problemsOf(() => loadCatalog(dir));

    const at = (file: string, where: string) =>
      problems.find((p) => p.file === shown(dir, file) && p.where === where)?.message ?? '';
    assert.equal(problems.length, 3, JSON.stringify(problems, null, 1));
    assert.match(at('interfaces/release-port.yaml', 'path'), /placeholder \{order\.\} is not valid JSONata/);
    assert.match(at('interfaces/look-up-port.yaml', 'path'), /a brace that opens or closes no placeholder/);
    assert.match(at('interfaces/look-up-port.yaml', 'requestMapping'), /a GET sends no body/);
  });

  it('checks compensations: what they run exists and parses, and only callouts and auto tasks have one', () => {
    const dir = writeCatalog({
      ...validCatalog(),
      'plans/dsl.yaml': [
        'id: dsl',
        'fulfils:',
        '  - offering: dsl',
        'items:',
        '  - { id: reserve, type: callout, interface: reserve-port, compensation: { interface: no-such-interface } }',
        '  - { id: both, type: callout, interface: reserve-port, compensation: { interface: reserve-port, procedure: undo } }',
        '  - { id: undo, type: autoTask, setAttributes: "{}", compensation: { procedure: no-such-procedure, input: "{" } }',
        '  - { id: done, type: milestone, compensation: { interface: reserve-port } }',
        '  - { id: stray, type: callout, interface: reserve-port, compensation: { interface: reserve-port, input: "{}" } }',
        '',
      ].join('\n'),
    });

    const problems = problemsOf(() => loadCatalog(dir));

    // The shape is checked first, at the item's place in the list, as for every item field.
    assert.deepEqual(
      problems.map((p) => [p.file, p.where, p.message]),
      [
        [
          shown(dir, 'plans/dsl.yaml'),
          'items.1.compensation',
          'a compensation is a callout (interface) or a procedure (procedure), one of the two',
        ],
        [
          shown(dir, 'plans/dsl.yaml'),
          'items.3.compensation',
          'a milestone acts on no system: it has nothing to compensate',
        ],
        [
          shown(dir, 'plans/dsl.yaml'),
          'items.4.compensation.input',
          "input maps a procedure's; this compensation runs none",
        ],
      ],
    );
  });

  it('checks the references of a compensation in a plan whose shape is sound', () => {
    const dir = writeCatalog({
      ...validCatalog(),
      'plans/dsl.yaml': [
        'id: dsl',
        'fulfils:',
        '  - offering: dsl',
        'items:',
        '  - { id: reserve, type: callout, interface: reserve-port, compensation: { interface: no-such-interface } }',
        '  - { id: undo, type: autoTask, setAttributes: "{}", compensation: { procedure: no-such-procedure, input: "{" } }',
        '',
      ].join('\n'),
    });

    const problems = problemsOf(() => loadCatalog(dir));

    const at = (where: string) =>
      problems
        .filter((p) => p.file === shown(dir, 'plans/dsl.yaml') && p.where === where)
        .map((p) => p.message);
    assert.deepEqual(at('item "reserve".compensation.interface'), [
      'unknown system interface "no-such-interface"',
    ]);
    assert.deepEqual(at('item "undo".compensation.procedure'), [
      'unknown procedure "no-such-procedure" (expected procedures/no-such-procedure.yaml)',
    ]);
    assert.match(at('item "undo".compensation.input')[0] ?? '', /^is not a valid JSONata expression: /);
  });

  it('reports an interface whose adapter is neither built in nor in adapters/', () => {
    const dir = writeCatalog({
      ...validCatalog(),
      'interfaces/reserve-port.yaml': INTERFACE.replace('adapter: sync-rest', 'adapter: soap-bridge'),
    });

    const problems = problemsOf(() => loadCatalog(dir));

    assert.deepEqual(
      problems.map((p) => [p.file, p.where]),
      [[shown(dir, 'interfaces/reserve-port.yaml'), 'adapter']],
    );
    assert.match(problems[0]?.message ?? '', /^unknown adapter "soap-bridge": /);
    assert.match(problems[0]?.message ?? '', /built in are sync-rest/);
    assert.match(problems[0]?.message ?? '', /adapters\/soap-bridge\.ts/);
  });

  it('reports an unknown asyncResponseMapping at that field', () => {
    const dir = writeCatalog({
      ...validCatalog(),
      'interfaces/reserve-port.yaml': `${INTERFACE}asyncResponseMapping: reserve-callback\n`,
    });

    const problems = problemsOf(() => loadCatalog(dir));

    assert.deepEqual(problems, [
      {
        file: shown(dir, 'interfaces/reserve-port.yaml'),
        where: 'asyncResponseMapping',
        message: 'unknown mapping "reserve-callback" (expected mappings/reserve-callback.jsonata)',
      },
    ]);
  });

  it("reports an asynchronous callout that may outlast the plan's wait for it, and accepts one that fits", () => {
    // Prepare: a 20-day answer time under the default 14-day plan, then under a 30-day plan.
    const asyncInterface = INTERFACE.replace('adapter: sync-rest', 'adapter: async-rest').concat(
      'asyncTimeoutSeconds: 1728000\n',
    );
    const tooShort = writeCatalog({ ...validCatalog(), 'interfaces/reserve-port.yaml': asyncInterface });
    const longEnough = writeCatalog({
      ...validCatalog(),
      'interfaces/reserve-port.yaml': asyncInterface,
      'plans/dsl.yaml': PLAN.replace('items:', 'timeoutSeconds: 2592000\nitems:'),
    });

    // Act
    const problems = problemsOf(() => loadCatalog(tooShort));
    const catalog = loadCatalog(longEnough);

    // Assess
    assert.equal(problems.length, 1);
    assert.equal(problems[0]?.file, shown(tooShort, 'plans/dsl.yaml'));
    assert.equal(problems[0]?.where, 'item "reserve".interface');
    assert.match(problems[0]?.message ?? '', /waits at most 1209600 s .* may take 1728030 s/);
    assert.equal(catalog.interfaces['reserve-port']?.asyncTimeoutSeconds, 1_728_000);
  });

  it('reports bad auth profiles at their file and field', () => {
    // Prepare
    const dir = writeCatalog({
      ...validCatalog(),
      'auth-profiles/kerberos.yaml': 'id: kerberos\ntype: kerberos\n',
      'auth-profiles/spaced-key.yaml': 'id: spaced-key\ntype: api-key\nheader: x api key\n',
      'auth-profiles/no-token-url.yaml': 'id: no-token-url\ntype: oauth2-client-credentials\nscope: lines\n',
      'auth-profiles/relative-token-url.yaml':
        'id: relative-token-url\ntype: oauth2-client-credentials\ntokenUrl: oauth/token\n',
      'auth-profiles/with-secret.yaml': 'id: with-secret\ntype: bearer\ntoken: do-not-put-me-here\n',
    });

    // Act
    const problems = problemsOf(() => loadCatalog(dir));

    // Assess
    assert.deepEqual(
      problems.map((p) => [p.file, p.where]).sort(),
      [
        [shown(dir, 'auth-profiles/kerberos.yaml'), 'type'],
        [shown(dir, 'auth-profiles/no-token-url.yaml'), 'tokenUrl'],
        [shown(dir, 'auth-profiles/relative-token-url.yaml'), 'tokenUrl'],
        [shown(dir, 'auth-profiles/spaced-key.yaml'), 'header'],
        [shown(dir, 'auth-profiles/with-secret.yaml'), undefined],
      ].sort(),
      JSON.stringify(problems, null, 1),
    );
    const messageAt = (file: string) => problems.find((p) => p.file === shown(dir, file))?.message ?? '';
    assert.match(messageAt('auth-profiles/spaced-key.yaml'), /must be an HTTP header name/);
    assert.match(messageAt('auth-profiles/with-secret.yaml'), /token/);
    assert.doesNotMatch(
      problems.map((p) => p.message).join('\n'),
      /do-not-put-me-here/,
      'a problem never repeats a value that may be a credential',
    );
  });

  it('takes a mutual TLS profile, and reports one that carries anything but its id and type', () => {
    // Prepare
    const dir = writeCatalog({
      ...validCatalog(),
      'systems/inventory.yaml': `${SYSTEM.replace('http://', 'https://')}authProfile: inventory-tls\n`,
      'auth-profiles/inventory-tls.yaml': 'id: inventory-tls\ntype: mtls\n',
      'auth-profiles/with-key.yaml':
        'id: with-key\ntype: mtls\nprivateKey: "-----BEGIN PRIVATE KEY----- do-not-put-me-here"\n',
    });

    // Act
    const problems = problemsOf(() => loadCatalog(dir));

    // Assess: the key belongs in the secret; the profile only says how.
    assert.deepEqual(
      problems.map((p) => [p.file, p.where]),
      [[shown(dir, 'auth-profiles/with-key.yaml'), undefined]],
      JSON.stringify(problems, null, 1),
    );
    assert.match(problems[0]?.message ?? '', /privateKey/);
    assert.doesNotMatch(problems[0]?.message ?? '', /do-not-put-me-here/);
    const valid = writeCatalog({
      ...validCatalog(),
      'systems/inventory.yaml': `${SYSTEM.replace('http://', 'https://')}authProfile: inventory-tls\n`,
      'auth-profiles/inventory-tls.yaml': 'id: inventory-tls\ntype: mtls\n',
    });
    assert.deepEqual(loadCatalog(valid).authProfiles['inventory-tls'], { id: 'inventory-tls', type: 'mtls' });
  });

  it('reports a system under mutual TLS whose base URL is not https, also when the context sets it', () => {
    // Prepare
    const files = {
      ...validCatalog(),
      'systems/inventory.yaml': `${SYSTEM}authProfile: inventory-tls\n`,
      'auth-profiles/inventory-tls.yaml': 'id: inventory-tls\ntype: mtls\n',
    };
    const dir = writeCatalog(files);
    const https = writeCatalog({
      ...files,
      'systems/inventory.yaml': `${SYSTEM.replace('http://', 'https://')}authProfile: inventory-tls\n`,
    });

    // Act
    const inFile = problemsOf(() => loadCatalog(dir));
    const inContext = problemsOf(() =>
      loadCatalog(https, { systemBaseUrls: { inventory: 'http://inventory.test:8080' } }),
    );

    // Assess
    for (const [problems, folder] of [
      [inFile, dir],
      [inContext, https],
    ] as const) {
      assert.deepEqual(
        problems.map((p) => [p.file, p.where]),
        [[shown(folder, 'systems/inventory.yaml'), 'baseUrl']],
        JSON.stringify(problems, null, 1),
      );
      assert.match(
        problems[0]?.message ?? '',
        /^auth profile "inventory-tls" is mutual TLS, which needs an https base URL/,
      );
    }
    assert.equal(
      loadCatalog(https, { systemBaseUrls: { inventory: 'https://inventory.test' } }).systems.inventory
        ?.baseUrl,
      'https://inventory.test',
    );
  });

  it("reads from each adapter's module whether it is asynchronous, and lets an asynchronous one's interfaces take callbacks", () => {
    // Prepare: one adapter that waits for callbacks, one that does not, each with callbackAuth.
    const dir = writeCatalog({
      ...validCatalog(),
      'adapters/queued-jobs.ts': ASYNC_ADAPTER,
      'adapters/fixed-width.ts': ADAPTER,
      'interfaces/reserve-port.yaml': `${INTERFACE.replace('adapter: sync-rest', 'adapter: queued-jobs')}callbackAuth: standard-webhooks\nacceptedStatuses: [200, 202]\nasyncTimeoutSeconds: 600\n`,
    });
    const synchronous = writeCatalog({
      ...validCatalog(),
      'adapters/fixed-width.ts': ADAPTER,
      'interfaces/reserve-port.yaml': `${INTERFACE.replace('adapter: sync-rest', 'adapter: fixed-width')}callbackAuth: url-proof\n`,
    });

    // Act
    const catalog = loadCatalog(dir);
    const problems = problemsOf(() => loadCatalog(synchronous));

    // Assess
    assert.deepEqual(catalog.customAdapters, ['fixed-width', 'queued-jobs']);
    assert.deepEqual(catalog.asynchronousAdapters, ['queued-jobs']);
    assert.equal(catalog.interfaces['reserve-port']?.callbackAuth, 'standard-webhooks');
    assert.deepEqual(
      problems.map((p) => [p.where, p.message]),
      [
        [
          'callbackAuth',
          'only an asynchronous interface takes callbacks (async-rest, or a custom adapter whose module says asynchronous: true); this one\'s adapter is "fixed-width"',
        ],
      ],
    );
  });

  it('reports an adapter module that is no adapter, does not bundle or fails as it loads, naming the file and what is wrong', () => {
    // Prepare
    const dir = writeCatalog({
      ...validCatalog(),
      'adapters/empty.ts': 'export default {};\n',
      'adapters/a-number.ts': 'export default 42;\n',
      'adapters/half.ts':
        "export default { encodeRequest: () => ({ headers: {} }), decodeResponse: 'no', classifyResponse: 1, asynchronous: 'yes' };\n",
      'adapters/missing-import.ts': "import x from 'no-such-package-anywhere';\nexport default x;\n",
      'adapters/throws.ts': "throw new Error('boom at load');\n",
    });

    // Act
    const problems = problemsOf(() => loadCatalog(dir));

    // Assess
    const of = (name: string) =>
      problems.filter((p) => p.file === shown(dir, `adapters/${name}.ts`)).map((p) => p.message);
    assert.deepEqual(of('empty'), [
      "its default export's encodeRequest must be a function",
      "its default export's decodeResponse must be a function",
    ]);
    assert.deepEqual(of('a-number'), ['the default export must be the adapter object']);
    assert.deepEqual(of('half'), [
      "its default export's decodeResponse must be a function",
      "its default export's classifyResponse must be a function, or absent",
      "its default export's asynchronous must be true, or absent",
    ]);
    assert.match(of('missing-import')[0] ?? '', /^cannot be bundled: .*no-such-package-anywhere/);
    assert.deepEqual(of('throws'), ['fails as it is loaded: boom at load']);
    assert.equal(problems.length, 8);
  });

  it("checks that the plan waits longer than an asynchronous custom adapter's callout may take", () => {
    // Prepare
    const dir = writeCatalog({
      ...validCatalog(),
      'adapters/queued-jobs.ts': ASYNC_ADAPTER,
      'interfaces/reserve-port.yaml': `${INTERFACE.replace('adapter: sync-rest', 'adapter: queued-jobs')}timeoutSeconds: 10\nasyncTimeoutSeconds: 3600\n`,
      'plans/dsl.yaml': PLAN.replace(
        '    interface: reserve-port',
        '    interface: reserve-port\n    timeoutSeconds: 600',
      ),
    });

    // Act
    const problems = problemsOf(() => loadCatalog(dir));

    // Assess
    assert.deepEqual(
      problems.map((p) => [p.where, p.message]),
      [
        [
          'item "reserve".timeoutSeconds',
          'the plan waits at most 600 s for this item, but its asynchronous interface "reserve-port" may take 3610 s (timeoutSeconds + asyncTimeoutSeconds); raise the plan\'s or the item\'s timeoutSeconds',
        ],
      ],
    );
  });

  it('reports an adapters/ file whose name is not a valid adapter name, or is a built-in one', () => {
    const dir = writeCatalog({
      ...validCatalog(),
      'adapters/Soap_Bridge.ts': 'export default {};\n',
      'adapters/sync-rest.ts': 'export default {};\n',
      'adapters/notes.md': 'not an adapter',
    });

    const problems = problemsOf(() => loadCatalog(dir));

    assert.deepEqual(
      problems.map((p) => [p.file, p.where]),
      [
        [shown(dir, 'adapters/Soap_Bridge.ts'), undefined],
        [shown(dir, 'adapters/sync-rest.ts'), undefined],
      ],
    );
    assert.match(
      problems[0]?.message ?? '',
      /^the file name is the adapter's name, and it must be lower-case/,
    );
    assert.equal(problems[1]?.message, '"sync-rest" is a built-in adapter\'s name');
  });

  const atSystemFile = (dir: string, problems: CatalogProblem[]) =>
    problems.filter((p) => p.file === shown(dir, 'systems/inventory.yaml'));

  // Product bug: an invalid system file also makes every interface on that system report
  // `unknown system "…"`, and an invalid auth-profile file every system using it report `unknown auth
  // profile "…"`, though the entry exists and is reported already; mappings are guarded against exactly
  // this double report (invalidMappings in lib/catalog/load-catalog.ts), systems and profiles are not.
  it("does not also report an interface's system or a system's auth profile as unknown when its file is the invalid one", () => {
    const dir = writeCatalog({
      ...validCatalog(),
      'systems/inventory.yaml': `${SYSTEM}limits:\n  maxConcurrentCallouts: 0\n`,
      'systems/billing.yaml':
        'id: billing\nname: Billing\nbaseUrl: http://billing.test\nauthProfile: billing-key\n',
      'auth-profiles/billing-key.yaml': 'id: billing-key\ntype: api-key\nheader: x api key\n',
    });

    const problems = problemsOf(() => loadCatalog(dir));

    assert.deepEqual(
      problems.map((p) => [p.file, p.where]),
      [
        [shown(dir, 'systems/inventory.yaml'), 'limits.maxConcurrentCallouts'],
        [shown(dir, 'auth-profiles/billing-key.yaml'), 'header'],
      ],
      JSON.stringify(problems, null, 1),
    );
  });

  const outOfRange: [string, string][] = [
    ['maxConcurrentCallouts', '0'],
    ['maxConcurrentCallouts', '1001'],
    ['maxConcurrentCallouts', '2.5'],
    ['maxCalloutsPerSecond', '0'],
    ['maxCalloutsPerSecond', '-1'],
    ['maxCalloutsPerSecond', '10001'],
  ];
  for (const [field, value] of outOfRange) {
    it(`reports limits.${field} of ${value} at that field`, () => {
      const dir = writeCatalog({
        ...validCatalog(),
        'systems/inventory.yaml': `${SYSTEM}limits:\n  ${field}: ${value}\n`,
      });

      const problems = problemsOf(() => loadCatalog(dir));

      // Only the system file's problems: the invalid system also makes its interface's system unknown
      // (see the product-bug test below).
      assert.deepEqual(
        atSystemFile(dir, problems).map((p) => p.where),
        [`limits.${field}`],
      );
    });
  }

  it('reports an unknown field in limits', () => {
    const dir = writeCatalog({
      ...validCatalog(),
      'systems/inventory.yaml': `${SYSTEM}limits:\n  maxConnections: 4\n`,
    });

    const problems = atSystemFile(
      dir,
      problemsOf(() => loadCatalog(dir)),
    );

    assert.deepEqual(
      problems.map((p) => p.where),
      ['limits'],
    );
    assert.match(problems[0]?.message ?? '', /maxConnections/);
  });

  it('loads auth profiles, limits and custom adapters, and lists the adapters in customAdapters', () => {
    // Prepare
    const dir = writeCatalog({
      ...validCatalog(),
      'systems/inventory.yaml': [
        SYSTEM.trimEnd(),
        'authProfile: inventory-key',
        'limits:',
        '  maxConcurrentCallouts: 4',
        '  maxCalloutsPerSecond: 2.5',
        '',
      ].join('\n'),
      'interfaces/reserve-port.yaml': [
        INTERFACE.replace('adapter: sync-rest', 'adapter: soap-bridge').trimEnd(),
        'asyncResponseMapping: reserve-callback',
        '',
      ].join('\n'),
      'mappings/reserve-callback.jsonata': '{ "portId": response.portId }',
      'auth-profiles/inventory-key.yaml': 'id: inventory-key\ntype: api-key\n',
      'auth-profiles/billing-oauth.yaml':
        'id: billing-oauth\ntype: oauth2-client-credentials\ntokenUrl: /oauth2/token\nscope: charges\n',
      'adapters/soap-bridge.ts': ADAPTER,
      'adapters/fixed-width.ts': ADAPTER,
    });

    // Act
    const catalog = loadCatalog(dir);

    // Assess
    assert.deepEqual(catalog.customAdapters, ['fixed-width', 'soap-bridge']);
    assert.deepEqual(catalog.asynchronousAdapters, []);
    assert.equal(catalog.interfaces['reserve-port']?.adapter, 'soap-bridge');
    assert.equal(catalog.interfaces['reserve-port']?.asyncResponseMapping, 'reserve-callback');
    assert.deepEqual(catalog.systems.inventory?.limits, {
      maxConcurrentCallouts: 4,
      maxCalloutsPerSecond: 2.5,
    });
    assert.equal(catalog.systems.inventory?.authProfile, 'inventory-key');
    assert.deepEqual(catalog.authProfiles, {
      'billing-oauth': {
        id: 'billing-oauth',
        type: 'oauth2-client-credentials',
        tokenUrl: '/oauth2/token',
        scope: 'charges',
      },
      'inventory-key': { id: 'inventory-key', type: 'api-key', header: 'x-api-key' },
    });
  });

  it('gives a catalog without adapters/ or auth-profiles/ no custom adapters, no profiles and no limits', () => {
    const catalog = loadCatalog(writeCatalog(validCatalog()));

    assert.deepEqual(catalog.customAdapters, []);
    assert.deepEqual(catalog.authProfiles, {});
    assert.deepEqual(catalog.systems.inventory?.limits, {});
  });
});

describe('loadCatalog: offerings', () => {
  it('loads the demo offerings with what each takes', () => {
    const catalog = loadCatalog(DEMO_CATALOG);

    assert.deepEqual(Object.keys(catalog.offerings).sort(), [
      'dsl-broadband',
      'static-ip',
      'tv-bundle',
      'voice-line',
    ]);
    assert.deepEqual(
      catalog.offerings['dsl-broadband']?.characteristics.map((c) => [c.name, c.valueType, c.required]),
      [
        ['bandwidth', 'integer', true],
        ['serviceAddress', 'string', true],
        ['contactEmail', 'string', false],
      ],
    );
    assert.deepEqual(
      catalog.offerings['tv-bundle']?.characteristics.map((c) => [c.name, c.default]),
      [
        ['package', 'basic'],
        ['installation', 'self'],
      ],
    );
  });

  it('reports every wrong declaration at its file and the characteristic by name', () => {
    const dir = writeCatalog({
      ...validCatalog(),
      'offerings/dsl.yaml': [
        'id: dsl',
        'name: DSL',
        'colour: blue',
        'characteristics:',
        '  - { name: bandwidth, valueType: integer, pattern: "[0-9]+" }',
        '  - { name: address, valueType: string, pattern: "([" }',
        '  - { name: speed, valueType: number, minimum: 10, maximum: 1 }',
        '  - { name: tier, valueType: string, allowedValues: [gold, 2] }',
        '  - { name: email, valueType: string, required: true, default: a@b }',
        '  - { valueType: boolean }',
        '',
      ].join('\n'),
    });

    const problems = problemsOf(() => loadCatalog(dir));

    const file = shown(dir, 'offerings/dsl.yaml');
    assert.deepEqual(
      problems.map((p) => [p.file, p.where, p.message]),
      [
        [file, 'characteristic "bandwidth".pattern', 'only a string takes a pattern, not an integer'],
        [
          file,
          'characteristic "address".pattern',
          'is not a valid regular expression: Invalid regular expression: /^(?:([)$/u: Unterminated character class',
        ],
        [file, 'characteristic "speed".maximum', 'is less than the minimum, 10'],
        [file, 'characteristic "tier".allowedValues.1', 'must be a string, not 2'],
        [
          file,
          'characteristic "email".default',
          'a required characteristic takes no default: a line always carries it',
        ],
        [file, 'characteristic 6.name', 'Invalid input: expected string, received undefined'],
        [file, undefined, 'Unrecognized key: "colour"'],
      ],
    );
  });

  it('reports a plan that fulfils an offering not declared, and an offering declared twice or fulfilled by no plan', () => {
    const { 'offerings/dsl.yaml': _declared, ...withoutDsl } = validCatalog();
    const dir = writeCatalog({
      ...withoutDsl,
      'offerings/other.yaml': 'id: other\nname: Other\n',
      'offerings/other-again.yaml': 'id: other\nname: Other again\n',
    });

    const problems = problemsOf(() => loadCatalog(dir));

    assert.deepEqual(
      problems.map((p) => [p.file, p.where, p.message]),
      [
        [
          shown(dir, 'offerings/other.yaml'),
          'id',
          `offering "other" is also defined in ${shown(dir, 'offerings/other-again.yaml')}`,
        ],
        [
          shown(dir, 'plans/dsl.yaml'),
          'fulfils.0.offering',
          'offering "dsl" is not declared (expected offerings/dsl.yaml, with id: dsl)',
        ],
        [
          shown(dir, 'offerings/other.yaml'),
          'id',
          'no plan fulfils offering "other": every order for it would be refused',
        ],
      ],
    );
  });

  it('does not report the offering as undeclared when its own file is the invalid one', () => {
    const dir = writeCatalog({ ...validCatalog(), 'offerings/dsl.yaml': 'id: dsl\n' });

    const problems = problemsOf(() => loadCatalog(dir));

    assert.deepEqual(
      problems.map((p) => [p.file, p.where]),
      [[shown(dir, 'offerings/dsl.yaml'), 'name']],
    );
  });

  it("reports every characteristic a plan's mappings and expressions read that an offering it fulfils does not declare", () => {
    // Prepare: a plan for two offerings; fibre declares only the bandwidth.
    const dir = writeCatalog({
      ...validCatalog(),
      'interfaces/reserve-port.yaml':
        `${INTERFACE}responseMapping: reserve-response\nasyncResponseMapping: reserve-callback\nadapter: async-rest\n`.replace(
          'adapter: sync-rest\n',
          '',
        ),
      'mappings/reserve-request.jsonata':
        '{ "bandwidthMbps": $number(characteristics.bandwidth), "address": characteristics.serviceAddress }',
      'mappings/reserve-response.jsonata': '{ "portId": response.portId, "tier": characteristics.tier }',
      'mappings/reserve-callback.jsonata': '{ "note": $lookup(characteristics, "note") }',
      'offerings/fibre.yaml':
        'id: fibre\nname: Fibre\ncharacteristics:\n  - { name: bandwidth, valueType: integer }\n',
      'plans/dsl.yaml': [
        'id: dsl',
        'timeoutSeconds: 9999999',
        'fulfils:',
        '  - offering: dsl',
        '  - offering: fibre',
        'items:',
        '  - id: reserve',
        '    type: callout',
        '    interface: reserve-port',
        '  - id: again',
        '    type: callout',
        '    interface: reserve-port',
        '  - id: done',
        '    type: autoTask',
        '    dependsOn: [reserve]',
        `    condition: 'characteristics.bandwidth > 10 and characteristics.urgent'`,
        `    setAttributes: '{ "speed": line.product.productCharacteristic[name = "speed"].value }'`,
        '',
      ].join('\n'),
    });

    // Act
    const problems = problemsOf(() => loadCatalog(dir));

    // Assess: each read named with the file it is in, once however many items use the mapping.
    const offerings = { dsl: shown(dir, 'offerings/dsl.yaml'), fibre: shown(dir, 'offerings/fibre.yaml') };
    const runs = 'as plan "dsl" runs it for item "reserve" (interface "reserve-port"), it ';
    const notDeclared = (name: string, offering: 'dsl' | 'fibre') =>
      `reads characteristic "${name}", which offering "${offering}" (${offerings[offering]}) does not declare`;
    assert.deepEqual(
      problems.map((p) => [p.file, p.where, p.message]),
      [
        ...(['dsl', 'fibre'] as const).flatMap((offering) => [
          [
            shown(dir, 'mappings/reserve-request.jsonata'),
            undefined,
            `${runs}${notDeclared('serviceAddress', offering)}`,
          ],
          [
            shown(dir, 'mappings/reserve-response.jsonata'),
            undefined,
            `${runs}${notDeclared('tier', offering)}`,
          ],
          [
            shown(dir, 'mappings/reserve-callback.jsonata'),
            undefined,
            `${runs}${notDeclared('note', offering)}`,
          ],
          [shown(dir, 'plans/dsl.yaml'), 'item "done".condition', notDeclared('urgent', offering)],
          [shown(dir, 'plans/dsl.yaml'), 'item "done".setAttributes', notDeclared('speed', offering)],
        ]),
      ],
    );
  });

  it('checks the input and output mappings of an auto task that runs a procedure', () => {
    const dir = writeCatalog({
      ...validCatalog(),
      'procedures/notify.yaml': [
        'id: notify',
        'inputs: [to]',
        'steps:',
        '  - id: send',
        '    type: http',
        '    system: inventory',
        '    method: POST',
        '    path: /messages',
        `    body: '{ "to": input.to, "email": characteristics.nowhere }'`,
        '',
      ].join('\n'),
      'plans/dsl.yaml': [
        PLAN,
        '  - id: tell',
        '    type: autoTask',
        '    procedure: notify',
        `    input: '{ "to": characteristics.contactEmail }'`,
        `    output: '{ "sentAt": characteristics.bandwidth }'`,
        '',
      ].join('\n'),
    });

    const problems = problemsOf(() => loadCatalog(dir));

    // A procedure's own steps see its input, not the line: they read no characteristic.
    assert.deepEqual(
      problems.map((p) => [p.where, p.message.match(/characteristic "(\w+)"/)?.[1]]),
      [['item "tell".input', 'contactEmail']],
    );
  });
});
