import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { copyDemoCatalog } from '../../local/catalog-copy';
import { type SimulatedSystem, startSimulatedSystem } from '../../simulators/simulated-system';
import {
  eventually,
  itemOf,
  startTestSwitchboard,
  submitOneLine,
  type TestSwitchboard,
} from '../support/local-switchboard';

/**
 * Asynchronous callouts whose answer is a failure or never comes, through the local runtime: both go to
 * the retry rules like any failed callout, and the retry waits on a callback URL of its own.
 */

const ORDERS = '/tmf-api/productOrderingManagement/v5/productOrder';
const ITEM = 'truck-roll.dispatch.1';
/** How long the truck-roll interface waits for a final answer. */
const ASYNC_TIMEOUT_SECONDS = 2;

interface ItemView {
  key: string;
  state: string;
  error?: string;
  attempts?: { number: number; decision: { kind: string }; error?: string }[];
  history: { state: string; reason: string }[];
}

describe('an asynchronous answer that reports failure, or never comes', () => {
  let sb: TestSwitchboard;
  /** The system under the test's hand: it accepts every dispatch and calls back only when told to. */
  let trucks: SimulatedSystem;

  before(async () => {
    trucks = await startSimulatedSystem(
      { name: 'trucks', port: 0 },
      { 'POST /dispatches': () => ({ status: 202, body: { status: 'accepted' } }) },
    );
    const dir = copyDemoCatalog();
    writeFileSync(
      join(dir, 'systems', 'trucks.yaml'),
      'id: trucks\nname: Truck rolls\nbaseUrl: http://127.0.0.1:1\n',
    );
    writeFileSync(
      join(dir, 'interfaces', 'trucks-dispatch.yaml'),
      `id: trucks-dispatch\nsystem: trucks\nmethod: POST\npath: /dispatches\nadapter: async-rest\ntimeoutSeconds: 5\nasyncTimeoutSeconds: ${ASYNC_TIMEOUT_SECONDS}\n`,
    );
    writeFileSync(
      join(dir, 'plans', 'truck-roll.yaml'),
      'id: truck-roll\nfulfils:\n  - offering: truck-roll\nitems:\n  - id: dispatch\n    type: callout\n    interface: trucks-dispatch\n',
    );
    writeFileSync(join(dir, 'offerings', 'truck-roll.yaml'), 'id: truck-roll\nname: A truck roll\n');
    sb = await startTestSwitchboard({ catalogDir: dir, systemBaseUrls: { trucks: trucks.url } });
  });
  after(async () => {
    await sb?.stop();
    await trucks?.stop();
  });

  const submit = () => submitOneLine(sb, 'truck-roll');
  const item = (orderId: string) => itemOf<ItemView>(sb, orderId, ITEM);
  /** The dispatches the system accepted for an order: each one's callback URL and idempotency key. */
  const acceptedFor = (orderId: string) =>
    trucks.requests
      .map((r) => ({
        callbackUrl: String(r.headers['callback-url'] ?? ''),
        key: String(r.headers['idempotency-key'] ?? ''),
      }))
      .filter((r) => r.key.split('.')[0] === orderId);
  const dispatches = (orderId: string, count: number) =>
    eventually(
      async () => {
        const seen = acceptedFor(orderId);
        return seen.length >= count ? seen : undefined;
      },
      30_000,
      `${count} dispatches of ${orderId}`,
    );
  const callBack = async (url: string, body: unknown, key: string) => {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': key },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as unknown };
  };
  const completes = (orderId: string) =>
    eventually(
      async () => {
        const order = (await sb.call('GET', `${ORDERS}/${orderId}`)).body as { state: string };
        return order.state === 'completed' ? item(orderId) : undefined;
      },
      30_000,
      `order ${orderId} to complete`,
    );
  const putRule = async (matches: Record<string, boolean>) => {
    const answer = await sb.call('PUT', '/admin/retry-rules/trucks-dispatch', {
      scope: { kind: 'interface', interfaceId: 'trucks-dispatch' },
      matches,
      policy: { type: 'fixed', count: 1, intervalSeconds: 1 },
    });
    assert.ok(answer.status === 200 || answer.status === 201, JSON.stringify(answer.body));
  };

  it('retries a callout whose final answer reports failure, under the rule for failed answers, on a new callback URL', async () => {
    await putRule({ failedAnswers: true });
    const id = await submit();
    const [first] = await dispatches(id, 1);
    assert.ok(first);

    const failed = await callBack(
      first.callbackUrl,
      { status: 'failed', error: { code: 'NO_TRUCK' } },
      'f-1',
    );
    assert.equal(failed.status, 202, JSON.stringify(failed.body));
    const [, second] = await dispatches(id, 2);
    assert.ok(second);
    assert.notEqual(second.callbackUrl, first.callbackUrl, 'the retry waits on a URL of its own');
    assert.equal(
      second.key,
      `${first.key}.r1`,
      'a new request, with a key of its own, after the system refused the first',
    );
    assert.equal(
      (await callBack(first.callbackUrl, { status: 'completed' }, 'late-1')).status,
      409,
      'the first attempt’s URL is spent',
    );
    assert.equal((await callBack(second.callbackUrl, { status: 'completed' }, 'c-2')).status, 202);

    const done = await completes(id);
    assert.equal(done.state, 'Completed');
    assert.deepEqual(
      (done.attempts ?? []).map((a) => a.decision.kind),
      ['accepted', 'retry', 'accepted'],
      'accepted, failed and retried, accepted again (and completed by its callback)',
    );
    assert.match(done.attempts?.[1]?.error ?? '', /the system reported failure: NO_TRUCK/);
  });

  it(`fails a callout with no final answer within ${ASYNC_TIMEOUT_SECONDS} s under the rule for timeouts, and retries it`, async () => {
    // The operator changes the interface's rule at runtime: now timeouts are retried.
    await putRule({ timeouts: true });
    const id = await submit();
    const [first] = await dispatches(id, 1);
    assert.ok(first);

    // The system never answers the first dispatch: its deadline fails it, and the rule sends it again.
    const [, second] = await dispatches(id, 2);
    assert.ok(second);
    const waiting = await item(id);
    assert.ok(
      waiting.history.some(
        (h) => h.state === 'Failed' && /no final answer on the callback within/.test(h.reason),
      ),
      JSON.stringify(waiting.history),
    );
    assert.equal((await callBack(second.callbackUrl, { status: 'completed' }, 'c-2')).status, 202);

    const done = await completes(id);
    assert.deepEqual(
      (done.attempts ?? []).map((a) => a.decision.kind),
      ['accepted', 'retry', 'accepted'],
    );
    assert.match(done.attempts?.[1]?.error ?? '', /no final answer on the callback within 2 s/);
    assert.equal(acceptedFor(id).length, 2, 'no third dispatch');
  });
});
