import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { after, describe, it } from 'node:test';
import { CatalogError, type CatalogProblem, loadCatalog } from '../../lib/catalog/load-catalog';

const tempDirs: string[] = [];
after(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

function writeCatalog(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-catalog-'));
  tempDirs.push(dir);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return dir;
}

const shown = (dir: string, path: string) => relative(process.cwd(), join(dir, path));

function problemsOf(dir: string): CatalogProblem[] {
  try {
    loadCatalog(dir);
  } catch (error) {
    assert.ok(error instanceof CatalogError, `a CatalogError, not ${String(error)}`);
    return error.problems;
  }
  assert.fail('the catalog was accepted');
}

const BASE = {
  'systems/scheduling.yaml': 'id: scheduling\nname: Scheduling\nbaseUrl: http://127.0.0.1:4104\n',
  'systems/notification.yaml': 'id: notification\nname: Notification\nbaseUrl: http://127.0.0.1:4105\n',
  'interfaces/book-slot.yaml': 'id: book-slot\nsystem: scheduling\nmethod: POST\npath: /slots\n',
  'interfaces/book-later.yaml':
    'id: book-later\nsystem: scheduling\nmethod: POST\npath: /later\nadapter: async-rest\n',
  'offerings/install.yaml':
    'id: install\nname: Installation\ncharacteristics:\n  - { name: serviceAddress, valueType: string }\n',
};

const GOOD_PROCEDURE = `id: book-installation
inputs: [serviceAddress]
outputs: [slotId, messageId]
steps:
  - id: find-slot
    type: http
    interface: book-slot
    body: '{ "address": input.serviceAddress }'
  - id: no-slot
    type: fail
    condition: '$not($exists(steps.\`find-slot\`.slotId))'
    error: NoSlotAvailable
    message: '"none near " & input.serviceAddress'
  - id: notify
    type: http
    system: notification
    method: POST
    path: /messages
    body: '{ "slot": steps.\`find-slot\`.slotId }'
  - id: result
    type: set
    values:
      slotId: 'steps.\`find-slot\`.slotId'
      messageId: steps.notify.id
`;

const plan = (item: string) => `id: install
fulfils:
  - offering: install
items:
${item}`;

describe('loadCatalog: integration procedures', () => {
  it('loads a procedure and an auto task that runs it', () => {
    const dir = writeCatalog({
      ...BASE,
      'procedures/book-installation.yaml': GOOD_PROCEDURE,
      'plans/install.yaml': plan(`  - id: book
    type: autoTask
    procedure: book-installation
    input: '{ "serviceAddress": characteristics.serviceAddress }'
    output: '{ "installationSlot": output.slotId }'
`),
    });

    const catalog = loadCatalog(dir);

    assert.deepEqual(Object.keys(catalog.procedures), ['book-installation']);
    assert.deepEqual(
      catalog.procedures['book-installation']?.steps.map((s) => s.type),
      ['http', 'fail', 'http', 'set'],
    );
    assert.equal(catalog.plans.install?.items[0]?.procedure, 'book-installation');
  });

  it('reports every problem of a procedure with its file and step', () => {
    const dir = writeCatalog({
      ...BASE,
      'procedures/broken.yaml': `id: broken
outputs: [slotId, never]
steps:
  - id: find
    type: http
    interface: no-such-interface
  - id: later
    type: http
    interface: book-later
  - id: elsewhere
    type: http
    system: no-such-system
    method: GET
    path: /x
  - id: shape
    type: transform
    expression: '{ "a": '
  - id: shape
    type: set
    values:
      slotId: steps.find.slotId
`,
      'procedures/teleporting.yaml': 'id: teleporting\nsteps:\n  - id: beam\n    type: teleport\n',
      'plans/install.yaml': plan('  - id: done\n    type: milestone\n'),
    });

    const problems = problemsOf(dir).map((p) => [p.file, p.where, p.message]);

    const broken = shown(dir, 'procedures/broken.yaml');
    assert.deepEqual(
      problems.filter(([file]) => file === broken).map(([, where]) => where),
      [
        'step "find".interface',
        'step "elsewhere".system',
        'step "shape".expression',
        'step "shape".id',
        'outputs.1',
      ],
    );
    const message = (where: string) =>
      problems.find(([file, w]) => file === broken && w === where)?.[2] ?? '';
    assert.match(message('step "find".interface'), /unknown system interface "no-such-interface"/);
    assert.match(message('step "elsewhere".system'), /unknown system "no-such-system"/);
    assert.match(message('step "shape".expression'), /is not a valid JSONata expression/);
    assert.match(message('outputs.1'), /output "never" is never produced/);
    assert.deepEqual(
      problems.filter(([file]) => file === shown(dir, 'procedures/teleporting.yaml')),
      [
        [
          shown(dir, 'procedures/teleporting.yaml'),
          'step "beam".type',
          'the step type must be one of http, transform, set, fail',
        ],
      ],
    );
  });

  it('takes steps to asynchronous interfaces, and checks that the plan waits long enough for all of them', () => {
    // Prepare: an async-rest step and a step through an asynchronous custom adapter, each waiting an hour.
    const procedure = `id: book-later
steps:
  - id: ask
    type: http
    interface: book-later
  - id: confirm
    type: http
    interface: confirm-later
`;
    const files = {
      ...BASE,
      'interfaces/book-later.yaml':
        'id: book-later\nsystem: scheduling\nmethod: POST\npath: /later\nadapter: async-rest\ntimeoutSeconds: 10\nasyncTimeoutSeconds: 3600\n',
      'interfaces/confirm-later.yaml':
        'id: confirm-later\nsystem: scheduling\nmethod: POST\npath: /confirm\nadapter: queued-jobs\ntimeoutSeconds: 10\nasyncTimeoutSeconds: 3600\ncallbackAuth: standard-webhooks\n',
      'adapters/queued-jobs.ts':
        'export default { asynchronous: true, encodeRequest: () => ({ headers: {} }), decodeResponse: (r) => r.body };\n',
      'procedures/book-later.yaml': procedure,
    };
    const roomy = writeCatalog({
      ...files,
      'plans/install.yaml': plan(
        '  - id: book\n    type: autoTask\n    procedure: book-later\n    timeoutSeconds: 7300\n',
      ),
    });
    const tight = writeCatalog({
      ...files,
      'plans/install.yaml': plan(
        '  - id: book\n    type: autoTask\n    procedure: book-later\n    timeoutSeconds: 7000\n',
      ),
    });

    // Act
    const catalog = loadCatalog(roomy);
    const problems = problemsOf(tight).map((p) => [p.where, p.message]);

    // Assess
    assert.deepEqual(catalog.asynchronousAdapters, ['queued-jobs']);
    assert.deepEqual(problems, [
      [
        'item "book".timeoutSeconds',
        'the plan waits at most 7000 s for this item, but its procedure\'s asynchronous steps "ask" (interface "book-later") and "confirm" (interface "confirm-later") may take 7220 s (timeoutSeconds + asyncTimeoutSeconds); raise the plan\'s or the item\'s timeoutSeconds',
      ],
    ]);
  });

  it("reports an auto task's unknown procedure, a missing input mapping and bad input or output JSONata", () => {
    const dir = writeCatalog({
      ...BASE,
      'procedures/book-installation.yaml': GOOD_PROCEDURE,
      'plans/install.yaml': plan(`  - id: nowhere
    type: autoTask
    procedure: no-such-procedure
  - id: no-input
    type: autoTask
    procedure: book-installation
  - id: bad-mappings
    type: autoTask
    procedure: book-installation
    input: '{ "serviceAddress": '
    output: '{ "slot" output.slotId }'
`),
      // A plan whose items are malformed is reported as it is, before any reference in it is checked.
      'plans/malformed.yaml': `id: malformed
fulfils:
  - offering: malformed
items:
  - id: both
    type: autoTask
    procedure: book-installation
    input: '{}'
    setAttributes: '{}'
  - id: stray
    type: milestone
    input: '{}'
`,
    });

    const problems = problemsOf(dir).map((p) => [p.where, p.message]);

    assert.deepEqual(
      problems.map(([where]) => where).sort(),
      [
        'item "bad-mappings".input',
        'item "bad-mappings".output',
        'item "no-input".input',
        'item "nowhere".procedure',
        'items.0.procedure',
        'items.1.input',
      ].sort(),
    );
    const message = (where: string) => problems.find(([w]) => w === where)?.[1] ?? '';
    assert.match(
      message('item "nowhere".procedure'),
      /unknown procedure "no-such-procedure" \(expected procedures\/no-such-procedure\.yaml\)/,
    );
    assert.match(message('item "no-input".input'), /takes serviceAddress: give the item an input mapping/);
    assert.match(message('items.0.procedure'), /not both/);
    assert.match(message('items.1.input'), /a milestone has no input/);
  });
});
