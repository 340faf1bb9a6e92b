import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { copyDemoCatalog } from '../../local/catalog-copy';
import { type SimulatedSystem, startSimulatedSystem } from '../../simulators/simulated-system';
import { eventually, itemOf, startTestSwitchboard, type TestSwitchboard } from '../support/local-switchboard';
import { largestRecords } from '../support/record-sizes';

/**
 * Nothing is stuck by the size or the count of what happens to an item: its state record stays small
 * and what it did goes to records of its own, cut to what a record keeps. Through the local runtime,
 * against a system the test plays; at the end, no record of any table is larger than 64 KB.
 */

const ORDERS = '/tmf-api/productOrderingManagement/v5/productOrder';
const KB = 1024;
const RECORD_LIMIT = 64 * KB;
/** A characteristic value just under the 16 KiB an order may carry; the request mapping sends it four times. */
const BLOB = 'x'.repeat(15 * KB);
/**
 * Eleven attempts of a 60 KB request are 660 KB: kept on one record, as they once were, they would pass
 * DynamoDB's 400 KB item limit, so ten retries prove what fifty did in a fifth of the time.
 */
const RETRIES = 10;

interface ItemView {
  key: string;
  state: string;
  error?: string;
  attempts?: { number: number; decision: { kind: string }; request?: { body?: unknown } }[];
  request?: { body?: unknown };
  history: { state: string; reason: string }[];
}

interface CutPayload {
  truncated: true;
  size: number;
  sha256: string;
}

describe('records that stay small whatever happens to an item', () => {
  let sb: TestSwitchboard;
  /** The system under the test's hand: refuses jobs with 503 until told to take them; accepts async jobs. */
  let bulky: SimulatedSystem;
  let refusing = true;
  /** The order whose 60 KB callout is retried until fallout, started first: its retries take a minute. */
  let retried: string;

  before(async () => {
    bulky = await startSimulatedSystem(
      { name: 'bulky', port: 0 },
      {
        'POST /jobs': () =>
          refusing ? { status: 503, body: { error: 'busy' } } : { status: 200, body: { jobId: 'J-1' } },
        'POST /async-jobs': () => ({ status: 202, body: { status: 'accepted' } }),
      },
    );
    const dir = copyDemoCatalog();
    const file = (path: string, text: string) => writeFileSync(join(dir, ...path.split('/')), text);
    file('systems/bulky.yaml', 'id: bulky\nname: Bulky jobs\nbaseUrl: http://127.0.0.1:1\n');
    file(
      'interfaces/bulky-send.yaml',
      'id: bulky-send\nsystem: bulky\nmethod: POST\npath: /jobs\nadapter: sync-rest\ntimeoutSeconds: 5\nrequestMapping: bulky-request\n',
    );
    file(
      'interfaces/bulky-async.yaml',
      'id: bulky-async\nsystem: bulky\nmethod: POST\npath: /async-jobs\nadapter: async-rest\ntimeoutSeconds: 5\nasyncTimeoutSeconds: 600\n',
    );
    file(
      'mappings/bulky-request.jsonata',
      '{ "orderId": order.id, "parts": [characteristics.blob, characteristics.blob, characteristics.blob, characteristics.blob] }\n',
    );
    for (const [plan, iface] of [
      ['bulky-sync', 'bulky-send'],
      ['bulky-async', 'bulky-async'],
    ]) {
      file(
        `plans/${plan}.yaml`,
        `id: ${plan}\nfulfils:\n  - offering: ${plan}\nitems:\n  - id: send\n    type: callout\n    interface: ${iface}\n`,
      );
      file(
        `offerings/${plan}.yaml`,
        `id: ${plan}\nname: Bulky jobs\ncharacteristics:\n  - { name: blob, valueType: string, required: true }\n`,
      );
    }
    // A thousand callbacks as fast as they go: above the callback routes' throttling, which is not what
    // is tested here (test/beside/flood.test.ts is).
    sb = await startTestSwitchboard({
      catalogDir: dir,
      systemBaseUrls: { bulky: bulky.url },
      context: { 'switchboard:callbackThrottle': { rateLimit: 100_000, burstLimit: 100_000 } },
    });
    const rule = await sb.call('PUT', '/admin/retry-rules/bulky-send', {
      scope: { kind: 'interface', interfaceId: 'bulky-send' },
      matches: { statuses: [503] },
      policy: { type: 'fixed', count: RETRIES, intervalSeconds: 1 },
    });
    assert.ok(rule.status === 200 || rule.status === 201, JSON.stringify(rule.body));
    retried = await submit('bulky-sync', BLOB);
  });
  after(async () => {
    await sb?.stop();
    await bulky?.stop();
  });

  const order = (offering: string, value: unknown) => ({
    productOrderItem: [
      {
        id: '1',
        action: 'add',
        productOffering: { id: offering },
        product: { productCharacteristic: [{ name: 'blob', value }] },
      },
    ],
  });
  const submit = async (offering: string, value: unknown) => {
    const created = await sb.call('POST', ORDERS, order(offering, value));
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id = (created.body as { id: string }).id;
    planOf.set(id, offering);
    return id;
  };
  const planOf = new Map<string, string>();
  const itemIn = (orderId: string) => itemOf<ItemView>(sb, orderId, `${planOf.get(orderId)}.send.1`);

  it('refuses an order with a 250 KB characteristic, naming the field, and keeps nothing of it', async () => {
    // That order's retries write all along: what must not change is the orders there are, and the plans.
    const orders = async () =>
      ((await sb.call('GET', `${ORDERS}?limit=100`, undefined, { as: 'operator' })).body as { id: string }[])
        .map((o) => o.id)
        .join();
    const before = { orders: await orders(), executions: (await sb.writes()).executions };
    const refused = await sb.call('POST', ORDERS, order('bulky-sync', 'a'.repeat(250 * KB)));

    assert.equal(refused.status, 400, JSON.stringify(refused.body).slice(0, 500));
    const problems = (refused.body as { problems: { field: string; message: string }[] }).problems;
    assert.deepEqual(
      problems.map((p) => p.field),
      ['productOrderItem.0.product.productCharacteristic.0.value'],
    );
    assert.match(problems[0]?.message ?? '', /at most 16384/);
    assert.deepEqual({ orders: await orders(), executions: (await sb.writes()).executions }, before);
  });

  it('refuses a callback body of 1 MB or 200 KB with 413, and keeps one of 180 KB cut', async () => {
    const id = await submit('bulky-async', 'small');
    const callbackUrl = await acceptedCallbackUrl(id);

    for (const size of [1024 * KB, 200 * KB]) {
      const huge = await post(
        callbackUrl,
        { status: 'inProgress', detail: 'y'.repeat(size) },
        `huge-${size}`,
      );
      assert.equal(huge.status, 413, JSON.stringify(huge.body));
      assert.match((huge.body as { message: string }).message, /at most 196608 are accepted/);
    }

    const large = await post(callbackUrl, { status: 'completed', detail: 'z'.repeat(180 * KB) }, 'large');
    assert.equal(large.status, 202, JSON.stringify(large.body));
    const done = await eventually(async () => {
      const item = await itemIn(id);
      return item.state === 'Completed' ? item : undefined;
    });
    const kept = (done as ItemView & { asyncResponse?: { body: CutPayload } }).asyncResponse?.body;
    assert.equal(kept?.truncated, true, 'the view says the body was cut');
    assert.ok((kept?.size ?? 0) > 180 * KB, 'with its full size');
    assert.match(kept?.sha256 ?? '', /^[0-9a-f]{64}$/);
  });

  it('completes an asynchronous item after 1,000 interim callbacks of 2 KB each and its final answer', async () => {
    const id = await submit('bulky-async', 'small');
    const callbackUrl = await acceptedCallbackUrl(id);

    // Ten at a time, so the runtime's queue, not the test, decides the pace.
    for (let start = 0; start < 1000; start += 10) {
      const answers = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          post(
            callbackUrl,
            { status: 'inProgress', note: `step ${start + i}`, detail: 'd'.repeat(2 * KB) },
            `u-${start + i}`,
          ),
        ),
      );
      for (const answer of answers) assert.equal(answer.status, 202, JSON.stringify(answer.body));
    }
    const interim = await eventually(
      async () => {
        const item = await itemIn(id);
        const count = item.history.filter((h) => h.reason.startsWith('interim update')).length;
        return count === 1000 ? item : undefined;
      },
      120_000,
      'the 1,000 interim updates in the history',
    );
    assert.equal(interim.state, 'Running');

    assert.equal((await post(callbackUrl, { status: 'completed' }, 'final')).status, 202);
    const done = await eventually(async () => {
      const answer = await sb.call('GET', `${ORDERS}/${id}`);
      return (answer.body as { state: string }).state === 'completed' ? itemIn(id) : undefined;
    });
    assert.equal(done.state, 'Completed');
  });

  it(`ends a callout with a 60 KB request in fallout after ${RETRIES} retries, which an operator can retry`, async () => {
    const id = retried;

    const fallout = await eventually(
      async () => {
        const item = await itemIn(id);
        return item.state === 'FatallyFailed' ? item : undefined;
      },
      180_000,
      `fallout after ${RETRIES} retries`,
    );
    assert.equal(fallout.attempts?.length, RETRIES + 1);
    const sent = bulky.requests.filter(
      (r) => r.path === '/jobs' && String(r.headers['idempotency-key']).startsWith(id),
    );
    assert.equal(sent.length, RETRIES + 1, 'each attempt sent once');
    assert.ok(Buffer.byteLength(sent[0]?.text ?? '') > 60_000, 'a 60 KB request went out');
    const keptBody = fallout.attempts?.[0]?.request?.body as CutPayload | undefined;
    assert.equal(keptBody?.truncated, true, 'each attempt keeps its request cut, saying so');

    refusing = false;
    const retry = await sb.call('POST', `/orchestration/items/${id}.bulky-sync.send.1/retry`, {
      reason: 'the system takes jobs again',
    });
    assert.equal(retry.status, 200, JSON.stringify(retry.body).slice(0, 500));
    await eventually(async () => {
      const answer = await sb.call('GET', `${ORDERS}/${id}`);
      return (answer.body as { state: string }).state === 'completed' ? true : undefined;
    });
  });

  it('left no record of any table larger than 64 KB', async () => {
    const largest = await largestRecords(sb.runtime);
    for (const record of largest) {
      assert.ok(
        record.bytes < RECORD_LIMIT,
        `${record.table} ${record.pk} ${record.sk}: ${record.bytes} bytes`,
      );
    }
    console.log(`largest records: ${largest.map((r) => `${r.table} ${r.sk} ${r.bytes} B`).join('; ')}`);
  });

  /** The callback URL the system was given for the order's asynchronous job. */
  async function acceptedCallbackUrl(orderId: string): Promise<string> {
    return eventually(async () => {
      const request = bulky.requests.find(
        (r) => r.path === '/async-jobs' && String(r.headers['idempotency-key']).startsWith(orderId),
      );
      const url = request ? String(request.headers['callback-url'] ?? '') : '';
      if (!url) return undefined;
      // The item waits once its acceptance is recorded.
      const item = await itemIn(orderId);
      return item.history.some((h) => h.reason.startsWith('accepted by the system')) ? url : undefined;
    });
  }
});

async function post(url: string, body: unknown, key: string): Promise<{ status: number; body: unknown }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'idempotency-key': key },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  try {
    return { status: response.status, body: JSON.parse(text) };
  } catch {
    return { status: response.status, body: text };
  }
}
