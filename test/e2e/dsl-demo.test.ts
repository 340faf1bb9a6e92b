import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { demoDslOrder } from '../../local/demo-orders';
import { exchangeLogProblems } from '../support/exchange-log';
import { eventually, startTestSwitchboard, type TestSwitchboard } from '../support/local-switchboard';
import { tmf622Problems } from '../support/tmf622';

/**
 * The DSL demo end to end on the local runtime: inventory (API key), activation (OAuth2 client
 * credentials) and legacy billing (HTTP basic, XML through a custom adapter), each a real HTTP server
 * that checks its credentials; data flowing from one callout to the next; prices reaching billing; the
 * systems' limits holding; and no credential anywhere in what the API answers.
 */

const ORDERS = '/tmf-api/productOrderingManagement/v5/productOrder';

interface OrderBody {
  id: string;
  state: string;
  fulfilmentAttributes: Record<string, unknown>;
}

async function submitAndComplete(sb: TestSwitchboard, externalId: string): Promise<OrderBody> {
  const created = await sb.call('POST', ORDERS, demoDslOrder(externalId));
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const { id } = created.body as { id: string };
  return eventually(
    async () => {
      const body = (await sb.call('GET', `${ORDERS}/${id}`)).body as OrderBody;
      assert.notEqual(body.state, 'held', `order ${id} is held: ${JSON.stringify(body)}`);
      return body.state === 'completed' ? body : undefined;
    },
    60_000,
    `order ${id} to complete`,
  );
}

describe('the DSL demo: three systems, three kinds of authentication, data and prices flowing', () => {
  let sb: TestSwitchboard;
  before(async () => {
    // Long enough that the burst's billing callouts overlap and meet billing's limit of 4 even when the
    // machine is busy (the suites beside this lane run at the same time): at 20 ms they sometimes did not.
    sb = await startTestSwitchboard({ latencyMs: 150 });
  });
  after(async () => {
    await sb?.stop();
  });

  it('reserves a port, activates the line at that port and bills its prices net of their alterations', async () => {
    const order = await submitAndComplete(sb, 'dsl-flow');
    assert.deepEqual(
      tmf622Problems('ProductOrder', order),
      [],
      'the completed order is a TMF622 ProductOrder',
    );

    const reservation = sb.systems.inventory.requests.find(
      (r) => (r.body as { orderId?: string }).orderId === order.id,
    );
    const activation = sb.systems.activation.activations.find((a) => a.orderId === order.id);
    assert.ok(reservation && activation);
    assert.equal(activation.portId, order.fulfilmentAttributes.portId, 'activation got the reserved port');
    assert.equal(activation.bandwidthMbps, 100);

    const charges = sb.systems.billing.charges.filter((c) => c.orderId === order.id);
    assert.deepEqual(
      charges.map(({ type, period, amount, currency, serviceId }) => ({
        type,
        period,
        amount,
        currency,
        serviceId,
      })),
      [
        // 39.90 a month less the 20 % welcome discount; 49.00 installation less 10.00 for ordering online.
        {
          type: 'recurring',
          period: 'month',
          amount: '31.92',
          currency: 'EUR',
          serviceId: activation.serviceId,
        },
        {
          type: 'one-time',
          period: undefined,
          amount: '39.00',
          currency: 'EUR',
          serviceId: activation.serviceId,
        },
      ],
    );
    assert.match(String(order.fulfilmentAttributes.billingAccountId), /^BA-\d{6}$/);
    assert.deepEqual(order.fulfilmentAttributes.monthlyCharge, { amount: 31.92, currency: 'EUR' });

    const items = (await sb.call('GET', `/orchestration/orders/${order.id}/items`)).body as {
      items: {
        key: string;
        request: { body: unknown; encodedBody?: string; headers: Record<string, string> };
      }[];
    };
    const billing = items.items.find((i) => i.key === 'dsl-broadband.start-billing.1');
    assert.ok(billing?.request.encodedBody?.includes('<chargeRequest>'), 'the XML the adapter sent is kept');
    assert.ok(billing);
    assert.equal(billing.request.headers['content-type'], 'application/xml');
    const callouts = items.items.filter((i) => i.request);
    assert.deepEqual(
      callouts.map((i) => i.request.headers['idempotency-key']),
      callouts.map((i) => `${order.id}.${i.key}`),
    );

    // The auto task's procedure booked the visit at the line's address and told the customer.
    const slot = sb.systems.scheduling.slots.find((s) => s.orderId === order.id);
    assert.ok(slot, 'scheduling booked a slot for the order');
    assert.equal(slot.address, '1 Main Street, Springfield');
    assert.equal(order.fulfilmentAttributes.installationSlot, slot.slotId);
    assert.equal(order.fulfilmentAttributes.installationStart, slot.start);
    const message = sb.systems.notification.messages.find(
      (m) => m.messageId === order.fulfilmentAttributes.installationConfirmation,
    );
    assert.ok(message, 'the confirmation went out');
    assert.equal(message.to, `customer of order ${order.id}`);
    assert.ok(message.text.includes(slot.start), message.text);
  });

  it('authenticates to each system its own way, reusing the OAuth2 token and renewing it after a 401', async () => {
    for (const system of Object.values(sb.systems).filter((s) => typeof s === 'object' && 'stats' in s)) {
      assert.equal(system.stats.unauthorized, 0, `${system.name} refused nothing`);
    }
    const tokensBefore = sb.systems.activation.stats.tokensIssued;
    await submitAndComplete(sb, 'dsl-token-reuse');
    assert.equal(sb.systems.activation.stats.tokensIssued, tokensBefore, 'the cached token was reused');

    sb.systems.activation.revokeTokens();
    await submitAndComplete(sb, 'dsl-token-renewal');
    assert.equal(sb.systems.activation.stats.tokensIssued, tokensBefore + 1, 'one fresh token after the 401');
    assert.equal(sb.systems.activation.stats.unauthorized, 1);

    // Notification's profile is none: it gets no credential of any kind, nor another system's.
    const toNotification = sb.systems.notification.requests;
    assert.ok(toNotification.length > 0, 'notification was called');
    const secrets = Object.values(sb.credentials).flatMap((c) => Object.values(c) as string[]);
    for (const request of toNotification) {
      assert.equal(request.headers.authorization, undefined);
      assert.equal(request.headers['x-api-key'], undefined);
      for (const secret of secrets) assert.ok(!JSON.stringify(request.headers).includes(secret));
    }
  });

  it('never shows a credential: not in items, orders, the admin API or the log', async () => {
    const orders = (await sb.call('GET', `${ORDERS}?limit=100`)).body as { id: string }[];
    assert.ok(orders.length > 0, 'orders ran, so credentials were used');
    const answers = [JSON.stringify(orders)];
    for (const { id } of orders) {
      answers.push(JSON.stringify((await sb.call('GET', `/orchestration/orders/${id}/items`)).body));
    }
    const systems = (await sb.call('GET', '/admin/systems')).body as { id: string }[];
    answers.push(JSON.stringify(systems));
    for (const { id } of systems) {
      const system = (await sb.call('GET', `/admin/systems/${id}`)).body as { interfaces: { id: string }[] };
      answers.push(JSON.stringify(system));
      for (const iface of system.interfaces) {
        answers.push(JSON.stringify((await sb.call('GET', `/admin/system-interfaces/${iface.id}`)).body));
      }
    }
    const secrets = Object.values(sb.credentials).flatMap((c) => Object.values(c) as string[]);
    const basic = Buffer.from(
      `${sb.credentials['billing-basic'].username}:${sb.credentials['billing-basic'].password}`,
    ).toString('base64');
    const log = sb.logs.join('\n');
    assert.ok(secrets.length >= 5 && log.length > 0);
    for (const secret of [...secrets, basic]) {
      for (const answer of answers) assert.ok(!answer.includes(secret), 'a credential leaked into an answer');
      assert.ok(!log.includes(secret), 'a credential leaked into the log');
    }
  });

  it('shows systems and interfaces as seeded, with their state, limits and auth profile', async () => {
    const list = await sb.call('GET', '/admin/systems');
    assert.equal(list.status, 200);
    const systems = list.body as { id: string; state: string }[];
    assert.deepEqual(
      systems.map((s) => [s.id, s.state]),
      [
        ['activation', 'Up'],
        ['billing', 'Up'],
        ['inventory', 'Up'],
        ['notification', 'Up'],
        ['porting', 'Up'],
        ['provisioning', 'Up'],
        ['scheduling', 'Up'],
        ['telephony', 'Up'],
      ],
    );
    const billing = (await sb.call('GET', '/admin/systems/billing')).body as Record<string, unknown>;
    assert.equal(billing.baseUrl, sb.systems.billing.url);
    assert.deepEqual(billing.limits, { maxConcurrentCallouts: 4 });
    assert.deepEqual(billing.authProfile, { id: 'billing-basic', type: 'basic' });
    assert.deepEqual(
      (billing.interfaces as { id: string; status: string }[]).map((i) => [i.id, i.status]),
      [
        ['billing-start-charging', 'Online'],
        ['billing-stop-charging', 'Online'],
      ],
    );
    const iface = await sb.call('GET', '/admin/system-interfaces/billing-start-charging');
    assert.equal(iface.status, 200);
    assert.equal((iface.body as { adapter: string }).adapter, 'legacy-billing-xml');
    assert.equal((await sb.call('GET', '/admin/systems/nope')).status, 404);
    const deadLetters = await sb.call('GET', '/admin/dead-letters');
    assert.equal(deadLetters.status, 200);
    assert.deepEqual(deadLetters.body, [
      { queue: 'work', messages: 0 },
      { queue: 'callbacks', messages: 0 },
      { queue: 'deliveries', messages: 0 },
    ]);
    assert.equal((await sb.call('GET', '/admin/systems', undefined, { as: 'submitter' })).status, 403);
  });

  it('keeps every system within its concurrency limit when many orders run at once', async (t) => {
    const orders = await Promise.all(
      Array.from({ length: 16 }, (_, n) => submitAndComplete(sb, `dsl-burst-${n}`)),
    );
    assert.equal(new Set(orders.map((o) => o.fulfilmentAttributes.serviceId)).size, 16);
    assert.ok(
      sb.systems.billing.stats.maxConcurrent <= 4,
      `billing saw ${sb.systems.billing.stats.maxConcurrent} at once; its limit is 4`,
    );
    assert.ok(sb.systems.billing.stats.maxConcurrent >= 2, 'the burst did reach billing in parallel');
    assert.ok(sb.systems.inventory.stats.maxConcurrent <= 20);
    assert.ok(sb.systems.activation.stats.maxConcurrent <= 20);
    const { inventory, activation, billing } = sb.systems;
    t.diagnostic(
      `most requests at once: billing ${billing.stats.maxConcurrent} (limit 4), inventory ${inventory.stats.maxConcurrent} (limit 20), activation ${activation.stats.maxConcurrent} (limit 20)`,
    );
  });
});

/** Runs `npm run demo` (with `args`) in a fresh data folder: its exit code and everything it printed. */
async function runDemo(args: string[]): Promise<{ code: number | null; output: string; dataDir: string }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-demo-'));
  // Everything the demo asked of the API, held to the API's documents as every end-to-end test's is.
  const exchanges = join(dataDir, 'api-exchanges.jsonl');
  return new Promise((resolve, reject) => {
    // The V8 flags `npm run demo` runs with (see package.json): no exit-time deadlock of the process.
    const flags = ['--no-concurrent-sparkplug', '--no-concurrent-recompilation'];
    const child = spawn(process.execPath, [...flags, '--import', 'tsx', 'local/demo.ts', ...args], {
      env: {
        ...process.env,
        DEMO_DATA_DIR: dataDir,
        DEMO_LATENCY_MS: '5',
        SWITCHBOARD_API_EXCHANGES: exchanges,
      },
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.on('close', (exit) => {
      // A demo that failed says so itself; what it answered is checked when it ran to its end.
      const outside = exit === 0 ? exchangeLogProblems(exchanges) : [];
      if (outside.length > 0)
        reject(new Error(`the demo's API answered outside its documents:\n${outside.join('\n')}`));
      else resolve({ code: exit, output, dataDir });
    });
  });
}

describe('npm run demo', () => {
  it('shows a hold with --hold and a jeopardy with --late: activation Down, the item On Hold, the order in jeopardy, activation Up, the jeopardy cleared, each event signed', async () => {
    // One run for both (a runtime's start is most of a demo's time): --late holds activation as --hold does.
    const { code, output, dataDir } = await runDemo(['--hold', '--late']);
    try {
      assert.equal(code, 0, output);
      const order = [
        /operator: activation Down/,
        /activate-line\s+OnHold/,
        /order held; activation's on-hold list:\n\s+\S+\.dsl-broadband\.activate-line\.1 since \+[\d.]+ s: system "activation" is Down: demo: line card upgrade/,
        /operator: activation Up/,
        /activate-line\s+Completed/,
        /The order completed in about/,
      ].map((pattern) => output.search(pattern));
      assert.ok(
        order.every((at) => at >= 0),
        `every step is shown:\n${output}`,
      );
      assert.deepEqual(
        [...order].sort((a, b) => a - b),
        order,
        'in this order',
      );
      assert.match(output, /history\s+\+[\d.]+ s released: system "activation" is available again; started/);
      const late = [
        /CRM: listening at http:\/\/127\.0\.0\.1:\d+\/tmf-events/,
        /operator: activation Down/,
        /CRM\s+← ProductOrderCreateEvent order acknowledged \(signature verified\)/,
        /CRM\s+← ProductOrderJeopardyAlertEvent in jeopardy: expected to complete at \S+, [\d dhmins]+ after its due date/,
        /operator: activation Up/,
        /activate-line\s+Completed/,
        /CRM\s+← ProductOrderJeopardyAlertEvent jeopardy cleared/,
        /Events the CRM received for order \S+ \(by sequence, each signature verified\):/,
        /Jeopardy: raised, cleared\./,
      ].map((pattern) => output.search(pattern));
      assert.ok(
        late.every((at) => at >= 0),
        `every step of the jeopardy is shown:\n${output}`,
      );
      assert.doesNotMatch(output, /CRM\s+refused/);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('cancels with --cancel while activation works: the line switched off, then the port released, in the timeline', async () => {
    const { code, output, dataDir } = await runDemo(['--cancel']);
    try {
      assert.equal(code, 0, output);
      const steps = [
        /reserve-port\s+Completed/,
        /customer: cancels the order while activation works on the line \(acknowledged\)/,
        /activate-line\s+Frozen/,
        /late callback, kept and applied to nothing \(its order is cancelled\): its system acted/,
        /undo activate-line · activation · started \+[\d.]+ s · Completed/,
        /request\s+DELETE http:\/\/127\.0\.0\.1:\d+\/services\/activations\/ACT-\d{6}/,
        /undo reserve-port · inventory · started \+[\d.]+ s · Completed/,
        /request\s+DELETE http:\/\/127\.0\.0\.1:\d+\/ports\/reservations\/DSLAM-/,
        /Cancellation \S+: done; the order is cancelled/,
      ].map((pattern) => output.search(pattern));
      assert.ok(
        steps.every((at) => at >= 0),
        `every step is shown:\n${output}`,
      );
      assert.doesNotMatch(output, /start-billing · billing · started \+/, 'billing never started');
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('amends with --amend before activation: the port reserved again at 250, and activation sent 250', async () => {
    const { code, output, dataDir } = await runDemo(['--amend']);
    try {
      assert.equal(code, 0, output);
      const steps = [
        /reserve-port\s+Completed/,
        /activate-line\s+OnHold/,
        /customer: changes the bandwidth to 250 Mbit\/s before activation \(200: revision 2\)/,
        /undo reserve-port\s+Completed/,
        /reserve-port \(again\)\s+Completed/,
        /operator: activation Up/,
        /activate-line\s+Completed/,
        /The order completed in about/,
      ].map((pattern) => output.search(pattern));
      assert.ok(
        steps.every((at) => at >= 0),
        `every step is shown:\n${output}`,
      );
      assert.deepEqual(
        [...steps].sort((a, b) => a - b),
        steps,
        'in this order',
      );
      assert.match(
        output,
        /"bandwidthMbps":250\}\n\s+response\s+202/,
        'activation was sent the new bandwidth',
      );
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('runs the demo order (a DSL line, a voice line, a static IP) to completed and prints its timeline', async () => {
    const { code, output, dataDir } = await runDemo([]);
    try {
      assert.equal(code, 0, output);
      assert.match(output, /The order completed in about/);
      for (const item of [
        'reserve-port · inventory',
        'activate-line · activation',
        'start-billing · billing',
        'book-installation · autoTask',
      ]) {
        assert.ok(output.includes(item), `the timeline shows ${item}`);
      }
      assert.match(output, /sent as <\?xml/);
      // The auto task's procedure, step by step.
      assert.match(output, /step\s+book-slot \(http\) \d+ ms → \{.*"slotId":"SLOT-\d{6}"/);
      assert.match(output, /step\s+no-slot \(fail\) skipped/);
      assert.match(output, /step\s+confirm \(http\) \d+ ms → \{.*"messageId":"MSG-\d{6}"/);
      // The rest of the estate, on lines of their own: a port called back in the gateway's own words, a
      // job polled until done, a static IP over mutual TLS.
      for (const pattern of [
        /port-number\s+Completed/,
        /provision-line\s+Completed/,
        /assign-static-ip\s+Completed/,
        /port-number · porting · started/,
        /history\s+\+[\d.]+ s interim update from the system: port scheduled for \d{4}-\d{2}-\d{2}/,
        /wrote\s+\{"portDate":"\d{4}-\d{2}-\d{2}","portedNumber":"\+441632960001","portRef":"PRT-\d{6}"\}/,
        /provision-line · telephony · started/,
        /history\s+\+[\d.]+ s accepted by the system; polling \/jobs\/JOB-\d{6} for its status until/,
        /wrote\s+\{"provisioningProgress":\d+,"circuitId":"CCT-\d{6}"\}/,
        /assign-static-ip · provisioning · started/,
        /request\s+POST https:\/\/127\.0\.0\.1:\d+\/static-ips/,
        /The order completed in about/,
      ])
        assert.match(output, pattern);
      // At its end, the metrics the functions wrote for the order, read from GET /local/metrics.
      const metrics = output.slice(output.indexOf('Metrics the functions wrote for this order'));
      assert.ok(metrics.length > 0 && output.includes('Metrics the functions wrote'), output);
      assert.match(
        metrics,
        /Callouts \(Count\)[\s\S]*system=inventory interface=\S+ outcome=success\s+samples 1/,
      );
      assert.match(metrics, /outcome=accepted/, 'the asynchronous activation');
      assert.match(metrics, /CalloutLatency \(Milliseconds\)[\s\S]*p99 [\d.]+ ms/);
      assert.match(metrics, /OrdersAccepted \(Count\)\s+\(total\)\s+samples 1/);
      assert.match(metrics, /OrdersCompleted \(Count\)\s+\(total\)\s+samples 1/);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
