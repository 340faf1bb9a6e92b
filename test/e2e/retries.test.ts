import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { copyDemoCatalog } from '../../local/catalog-copy';
import {
  eventually,
  itemOf,
  metricReaches,
  startTestSwitchboard,
  submitOneLine,
  type TestSwitchboard,
} from '../support/local-switchboard';

/**
 * Connection retry rules and fallout through the local runtime: a system that fails, rules an operator
 * changes at runtime, a retry whose delay spans a restart of the runtime, and the operator's retry, skip
 * and fail on items in fallout.
 */

const ORDERS = '/tmf-api/productOrderingManagement/v5/productOrder';
const ITEM = 'wobbly.work.1';

interface ItemView {
  id: string;
  state: string;
  retries?: number;
  nextAttemptAt?: string;
  error?: string;
  attempts?: { number: number; at: string; status?: number; decision: { kind: string; at?: string } }[];
  history: { state: string; reason: string; by?: { id: string } }[];
}

describe('retry rules and fallout', () => {
  let sb: TestSwitchboard;
  let wobbly: Server;
  /** What the system answers next, per order (then 200); every request it got, per order. */
  const script = new Map<string, number[]>();
  const seen = new Map<string, number[]>();

  before(async () => {
    wobbly = createServer((req, res) => {
      let text = '';
      req.on('data', (chunk: Buffer) => {
        text += chunk.toString();
      });
      req.on('end', () => {
        const orderId = String(req.headers['idempotency-key'] ?? '').split('.')[0] ?? '';
        seen.set(orderId, [...(seen.get(orderId) ?? []), Date.now()]);
        const status = script.get(orderId)?.shift() ?? 200;
        res
          .writeHead(status, { 'content-type': 'application/json' })
          .end(status === 200 ? '{"ok":true}' : `{"status":${status}}`);
        void text;
      });
    });
    await new Promise<void>((resolve) => wobbly.listen(0, '127.0.0.1', resolve));
    const dir = copyDemoCatalog();
    writeFileSync(
      join(dir, 'systems', 'wobbly.yaml'),
      'id: wobbly\nname: A wobbly system\nbaseUrl: http://127.0.0.1:1\n',
    );
    writeFileSync(
      join(dir, 'interfaces', 'wobbly-work.yaml'),
      'id: wobbly-work\nsystem: wobbly\nmethod: POST\npath: /work\ntimeoutSeconds: 5\n',
    );
    writeFileSync(
      join(dir, 'plans', 'wobbly.yaml'),
      'id: wobbly\nfulfils:\n  - offering: wobbly\nitems:\n  - id: work\n    type: callout\n    interface: wobbly-work\n',
    );
    writeFileSync(join(dir, 'offerings', 'wobbly.yaml'), 'id: wobbly\nname: Wobbly work\n');
    sb = await startTestSwitchboard({
      catalogDir: dir,
      systemBaseUrls: { wobbly: `http://127.0.0.1:${(wobbly.address() as AddressInfo).port}` },
    });
  });
  after(async () => {
    await sb?.stop();
    wobbly?.closeAllConnections();
    await new Promise((resolve) => wobbly?.close(resolve));
  });

  const submit = async (answers: number[]) => {
    const id = await submitOneLine(sb, 'wobbly');
    script.set(id, answers);
    return id;
  };
  const item = (orderId: string) => itemOf<ItemView & { key: string }>(sb, orderId, ITEM);
  const waitFor = (orderId: string, state: string, timeoutMs = 60_000) =>
    eventually(
      async () => {
        const current = await item(orderId);
        return current.state === state ? current : undefined;
      },
      timeoutMs,
      `item of ${orderId} to be ${state}`,
    );
  const orderState = async (orderId: string) =>
    ((await sb.call('GET', `${ORDERS}/${orderId}`)).body as { state: string }).state;
  const putRule = async (id: string, rule: unknown) => {
    const answer = await sb.call('PUT', `/admin/retry-rules/${id}`, rule);
    assert.ok(answer.status === 200 || answer.status === 201, JSON.stringify(answer.body));
  };

  it('retries a 503 under an operator’s fixed rule, one attempt a second, and keeps every attempt', async () => {
    await putRule('wobbly-fixed', {
      scope: { kind: 'interface', interfaceId: 'wobbly-work' },
      matches: { statuses: ['5xx'] },
      policy: { type: 'fixed', count: 3, intervalSeconds: 1 },
    });
    const id = await submit([503, 503]);
    const done = await waitFor(id, 'Completed');
    const attempts = done.attempts ?? [];
    assert.deepEqual(
      attempts.map((a) => [a.number, a.status, a.decision.kind]),
      [
        [1, 503, 'retry'],
        [2, 503, 'retry'],
        [3, 200, 'completed'],
      ],
    );
    const times = seen.get(id) ?? [];
    assert.equal(times.length, 3);
    for (let n = 1; n < times.length; n++) {
      assert.ok(
        (times[n] ?? 0) - (times[n - 1] ?? 0) >= 950,
        `attempt ${n + 1} came a second after the one before`,
      );
    }
    await eventually(
      async () => ((await orderState(id)) === 'completed' ? true : undefined),
      30_000,
      'the order to complete',
    );
  });

  it('sends a 400 to fallout at once, lists it, and an operator’s retry completes it, recorded with who and why', async () => {
    const id = await submit([400]);
    const failed = await waitFor(id, 'FatallyFailed');
    assert.match(failed.error ?? '', /answered 400.*no retry rule matches HTTP 400/);
    // The item's fallout is written first, then its order is held.
    await eventually(
      async () => ((await orderState(id)) === 'held' ? true : undefined),
      10_000,
      'the order to be held',
    );
    const fallout = (await sb.call('GET', '/admin/fallout')).body as { items: { id: string }[] };
    assert.ok(
      fallout.items.some((i) => i.id === failed.id),
      'on the fallout list',
    );

    const refused = await sb.call('POST', `/orchestration/items/${failed.id}/retry`, {});
    assert.equal(refused.status, 400, 'a retry needs a reason');
    const retried = await sb.call('POST', `/orchestration/items/${failed.id}/retry`, {
      reason: 'fixed the account',
    });
    assert.equal(retried.status, 200, JSON.stringify(retried.body));
    const done = await waitFor(id, 'Completed');
    const entry = done.history.find((h) => h.reason.startsWith('retry asked by'));
    assert.ok(entry?.by?.id, 'the retry is recorded with who');
    assert.match(entry?.reason ?? '', /fixed the account/);
    // The order completes just after its last item does.
    await eventually(
      async () => ((await orderState(id)) === 'completed' ? true : undefined),
      30_000,
      'the order to complete',
    );
    const after = (await sb.call('GET', '/admin/fallout')).body as { items: { id: string }[] };
    assert.ok(!after.items.some((i) => i.id === failed.id), 'off the fallout list');
    // Counted for operators: the 400, the fallout it caused, and the operator's retry that resolved it.
    await metricReaches(sb, 'Callouts', { outcome: 'status-4xx' });
    await metricReaches(sb, 'FalloutEntered', {});
    await metricReaches(sb, 'FalloutResolved', { action: 'retry' });
  });

  it('skips an item in fallout, so the order completes; and fails the order of another', async () => {
    const skipped = await submit([404]);
    const first = await waitFor(skipped, 'FatallyFailed');
    const skip = await sb.call('POST', `/orchestration/items/${first.id}/skip`, {
      note: 'provisioned by hand',
    });
    assert.equal(skip.status, 200, JSON.stringify(skip.body));
    await eventually(
      async () => ((await orderState(skipped)) === 'completed' ? true : undefined),
      30_000,
      'skipped order to complete',
    );
    assert.equal((await item(skipped)).state, 'Skipped');

    const failing = await submit([422]);
    const second = await waitFor(failing, 'FatallyFailed');
    const fail = await sb.call('POST', `/orchestration/items/${second.id}/fail`, {
      reason: 'customer cancelled',
    });
    assert.equal(fail.status, 200, JSON.stringify(fail.body));
    assert.equal(await orderState(failing), 'failed');
    const again = await sb.call('POST', `/orchestration/items/${second.id}/retry`, { reason: 'too late' });
    assert.equal(again.status, 409, 'an item whose order failed is no longer in fallout');
  });

  it('keeps a retry waiting across a restart of the runtime, and makes it when it is due', async () => {
    await putRule('wobbly-fixed', {
      scope: { kind: 'interface', interfaceId: 'wobbly-work' },
      matches: { statuses: ['5xx'] },
      // Long enough to be seen waiting and to restart the runtime meanwhile, even on a busy machine.
      policy: { type: 'staggered', intervalsSeconds: [15] },
    });
    const id = await submit([503]);
    const waiting = await waitFor(id, 'Failed');
    assert.ok(waiting.nextAttemptAt);
    const due = Date.parse(waiting.nextAttemptAt);

    await sb.restart();

    const done = await waitFor(id, 'Completed', 60_000);
    const times = seen.get(id) ?? [];
    assert.equal(times.length, 2, 'the retry was made once');
    assert.ok((times[1] ?? 0) >= due - 50, 'not before it was due');
    assert.deepEqual(
      (done.attempts ?? []).map((a) => a.decision.kind),
      ['retry', 'completed'],
    );
  });
});
