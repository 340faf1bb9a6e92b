import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { procedureSchema } from '../../lambdas/domain/procedure';
import { describePreview, previewProcedure } from '../../local/procedure-preview';

const ROOT = resolve(import.meta.dirname, '../..');
const API_KEY = 'k-preview-0123456789';

/** Runs `npm run procedure` with these arguments; its exit code and output. */
function runPreview(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((done) => {
    const child = spawn('npm', ['run', '--silent', 'procedure', '--', ...args], { cwd: ROOT });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.on('close', (code) => done({ code, output }));
  });
}

const bodyOf = (req: IncomingMessage) =>
  new Promise<string>((done) => {
    let text = '';
    req.on('data', (chunk: Buffer) => {
      text += chunk.toString();
    });
    req.on('end', () => done(text));
  });

describe('npm run procedure (the preview)', () => {
  let dir: string;
  const seen: { path: string; key?: string; body: string }[] = [];
  const server = createServer(async (req, res) => {
    const body = await bodyOf(req);
    seen.push({
      path: req.url ?? '',
      body,
      ...(req.headers['x-api-key'] ? { key: String(req.headers['x-api-key']) } : {}),
    });
    if (req.url === '/slots' && req.headers['x-api-key'] !== API_KEY) {
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"who are you"}');
      return;
    }
    const answer =
      req.url === '/slots' ? { slotId: 'SLOT-1', start: '2025-03-03T08:00:00Z' } : { messageId: 'M-1' };
    res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
  });

  before(async () => {
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    dir = mkdtempSync(join(tmpdir(), 'switchboard-preview-'));
    const files: Record<string, string> = {
      'catalog/systems/scheduling.yaml': `id: scheduling\nname: Scheduling\nbaseUrl: ${url}\nauthProfile: scheduling-key\n`,
      'catalog/systems/notification.yaml': `id: notification\nname: Notification\nbaseUrl: ${url}\n`,
      'catalog/auth-profiles/scheduling-key.yaml': 'id: scheduling-key\ntype: api-key\nheader: x-api-key\n',
      'catalog/interfaces/book-slot.yaml': 'id: book-slot\nsystem: scheduling\nmethod: POST\npath: /slots\n',
      'catalog/offerings/none.yaml': 'id: none\nname: Nothing\n',
      'catalog/plans/none.yaml':
        'id: none\nfulfils:\n  - offering: none\nitems:\n  - id: done\n    type: milestone\n',
      'catalog/procedures/book.yaml': [
        'id: book',
        'inputs: [address]',
        'outputs: [slotId]',
        'steps:',
        '  - id: find-slot',
        '    type: http',
        '    interface: book-slot',
        `    body: '{ "address": input.address }'`,
        '  - id: quiet',
        '    type: transform',
        '    condition: $exists(input.silent)',
        '    expression: "1"',
        '  - id: notify',
        '    type: http',
        '    system: notification',
        '    method: POST',
        '    path: /messages',
        `    body: '{ "text": "slot " & steps.\`find-slot\`.slotId }'`,
        '  - id: result',
        '    type: set',
        '    values:',
        "      slotId: 'steps.`find-slot`.slotId'",
        '',
      ].join('\n'),
      'secrets.json': JSON.stringify({ 'scheduling-key': { apiKey: API_KEY } }),
      'input.json': JSON.stringify({ address: '1 Main Street' }),
    };
    for (const [path, content] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), content);
    }
  });
  after(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const args = (name: string) => [
    name,
    '--input',
    join(dir, 'input.json'),
    '--catalog',
    join(dir, 'catalog'),
    '--secrets',
    join(dir, 'secrets.json'),
  ];

  it("prints every step's input, output and duration, with the system's auth and never its secret", async () => {
    const { code, output } = await runPreview(args('book'));

    assert.equal(code, 0, output);
    assert.match(output, /▸ find-slot \(http\) — \d+ ms/);
    assert.match(output, /input: {2}\{"method":"POST","url":"http:\/\/127\.0\.0\.1:\d+\/slots"/);
    assert.match(output, /output: \{"slotId":"SLOT-1","start":"2025-03-03T08:00:00Z"\}/);
    assert.match(output, /▸ quiet \(transform\) — skipped/);
    assert.match(output, /▸ notify \(http\) — \d+ ms/);
    assert.match(output, /completed; outputs: \{"slotId":"SLOT-1"\}/);
    assert.ok(!output.includes(API_KEY), 'the key is never printed');
    assert.deepEqual(
      seen.map((s) => [s.path, s.key]),
      [
        ['/slots', API_KEY],
        ['/messages', undefined],
      ],
    );
    assert.equal(seen[1]?.body, JSON.stringify({ text: 'slot SLOT-1' }));
  });

  it('names an unknown procedure and the input it needs, with a non-zero exit', async () => {
    const unknown = await runPreview(args('nope'));
    assert.equal(unknown.code, 2);
    assert.match(unknown.output, /no procedure "nope" in the catalog \(it has book\)/);

    writeFileSync(join(dir, 'input.json'), '{}');
    const missing = await runPreview(args('book'));
    assert.equal(missing.code, 1);
    assert.match(
      missing.output,
      /failed at step "find-slot": MissingInput: procedure "book" needs the input address/,
    );
  });
});

describe('previewProcedure at an asynchronous step', () => {
  it('stops before a step whose interface answers on a callback, sending nothing to it, and says why', async () => {
    // Prepare: a sync step, then one to an async-rest interface.
    const sent: string[] = [];
    const catalog = {
      systems: { s: { id: 's', name: 'S', baseUrl: 'http://s.test', limits: {} } },
      interfaces: {
        later: {
          id: 'later',
          system: 's',
          method: 'POST' as const,
          path: '/later',
          adapter: 'async-rest',
          status: 'Online' as const,
          timeoutSeconds: 5,
        },
      },
      mappings: {},
      authProfiles: {},
      customAdapters: [],
      plans: {},
      offerings: {},
      procedures: {
        p: procedureSchema.parse({
          id: 'p',
          steps: [
            { id: 'first', type: 'http', system: 's', method: 'POST', path: '/first' },
            { id: 'wait', type: 'http', interface: 'later' },
          ],
        }),
      },
    };
    const http = {
      async send(request: { url: string }) {
        sent.push(request.url);
        return { status: 200, headers: {}, body: '{"ok":true}' };
      },
    };

    // Act
    const result = await previewProcedure(catalog, 'p', {}, { secretsFile: '/nonexistent', http });

    // Assess
    assert.equal(result.kind, 'suspended');
    assert.deepEqual(sent, ['http://s.test/first']);
    assert.match(
      describePreview(result),
      /stopped at step "wait": its interface answers on a callback or through a custom adapter, which the preview does not send$/,
    );
  });
});
