import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { issuingKey, parseKeyRing, signCallbackProof } from '../../lambdas/domain/callback-keys';
import { rotateLocalCallbackKeys } from '../../local/callback-keys';
import { demoDslOrder } from '../../local/demo-orders';
import { webhookHeaders } from '../../simulators/callback-sender';
import {
  eventually,
  sendToQueue,
  startTestSwitchboard,
  type TestSwitchboard,
} from '../support/local-switchboard';

/**
 * Asynchronous callouts' callbacks end to end: activation accepts the callout with 202 and answers
 * later on the signed callback URL Switchboard gave it. Each callback is applied exactly once — whether
 * re-sent, late, early, forged, malformed or one of hundreds at once — and only the URL's own proof
 * opens it. Where the simulator cannot misbehave the way a test needs, the test plays activation itself
 * with the URL activation received.
 */

const ORDERS = '/tmf-api/productOrderingManagement/v5/productOrder';
const ACTIVATE_LINE = 'dsl-broadband.activate-line.1';

interface ItemView {
  id: string;
  key: string;
  state: string;
  history: { state: string; reason: string }[];
  request?: { headers: Record<string, string>; body?: unknown };
  response?: { status: number };
  asyncResponse?: { body: unknown; receivedAt: string };
  attributes?: Record<string, unknown>;
}

interface OrderBody {
  id: string;
  state: string;
  fulfilmentAttributes: Record<string, unknown>;
}

interface Answer {
  status: number;
  body: unknown;
}

async function submit(sb: TestSwitchboard, externalId: string): Promise<string> {
  const created = await sb.call('POST', ORDERS, demoDslOrder(externalId));
  assert.equal(created.status, 201, JSON.stringify(created.body));
  return (created.body as { id: string }).id;
}

async function order(sb: TestSwitchboard, id: string): Promise<OrderBody> {
  return (await sb.call('GET', `${ORDERS}/${id}`)).body as OrderBody;
}

function waitForCompleted(sb: TestSwitchboard, id: string): Promise<OrderBody> {
  return eventually(
    async () => {
      const body = await order(sb, id);
      assert.notEqual(body.state, 'held', `order ${id} is held: ${JSON.stringify(body)}`);
      return body.state === 'completed' ? body : undefined;
    },
    30_000,
    `order ${id} to complete`,
  );
}

async function activationItem(sb: TestSwitchboard, orderId: string): Promise<ItemView> {
  const graph = (await sb.call('GET', `/orchestration/orders/${orderId}/items`)).body as {
    items: ItemView[];
  };
  const item = graph.items.find((i) => i.key === ACTIVATE_LINE);
  assert.ok(item, `order ${orderId} has its ${ACTIVATE_LINE} item`);
  return item;
}

/** Waits until activation accepted the order's callout and Switchboard recorded that it waits. */
function waitForWaiting(sb: TestSwitchboard, orderId: string): Promise<ItemView> {
  return eventually(
    async () => {
      const item = await activationItem(sb, orderId);
      return item.state === 'Running' && item.history.some((h) => h.reason.startsWith('accepted'))
        ? item
        : undefined;
    },
    30_000,
    `order ${orderId}'s activation to wait for its callback`,
  );
}

/** The callback URL activation received for an order, as Switchboard sent it (proof and all). */
function callbackUrlOf(sb: TestSwitchboard, orderId: string): string {
  const request = sb.systems.activation.requests.find(
    (r) => (r.body as { orderId?: string } | undefined)?.orderId === orderId,
  );
  const url = request?.headers['callback-url'];
  assert.ok(typeof url === 'string', `activation got a callback-url for order ${orderId}`);
  return url;
}

/** What activation would send as its final answer for the order's line. */
function finalBodyOf(sb: TestSwitchboard, orderId: string) {
  const activation = sb.systems.activation.activations.find((a) => a.orderId === orderId);
  assert.ok(activation, `activation activated order ${orderId}`);
  const { activationId, serviceId, portId } = activation;
  return { status: 'completed', activationId, serviceId, portId };
}

/** How a test playing activation signs a callback: as activation does, or not at all, or wrongly. */
interface Signing {
  /** false: unsigned. Default: activation's secret. */
  secret?: string | false;
  /** When it signed, in epoch seconds. Default: now. */
  at?: number;
  /** Sends this body instead of the one signed (a body changed on the way). */
  tamperedBody?: string;
}

/**
 * Plays activation: POSTs a callback (an object as JSON, a string as is), signed the Standard Webhooks
 * way with activation's secret as the catalog's interface wants, its key as the webhook-id.
 */
async function postCallback(
  sb: TestSwitchboard,
  url: string,
  body: unknown,
  idempotencyKey?: string,
  signing: Signing = {},
): Promise<Answer> {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const secret = signing.secret ?? sb.credentials['callbacks:activation'].secret;
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(idempotencyKey ? { 'idempotency-key': idempotencyKey } : {}),
      ...(secret ? webhookHeaders(secret, idempotencyKey ?? randomUUID(), text, signing.at) : {}),
    },
    body: signing.tamperedBody ?? text,
  });
  const answer = await response.text();
  let parsed: unknown = answer;
  try {
    parsed = JSON.parse(answer);
  } catch {
    // left as text: the assertion that expects JSON will say so
  }
  return { status: response.status, body: parsed };
}

/** A callback URL's parts: `…/callbacks/<correlationId>/<proof>`. */
const correlationIdOf = (url: string) => new URL(url).pathname.split('/').at(-2) ?? '';
const proofOf = (url: string) => new URL(url).pathname.split('/').at(-1) ?? '';
const withProof = (url: string, proof: string) => `${url.slice(0, url.lastIndexOf('/'))}/${proof}`;

interface CorrelatorEntry {
  correlationId: string;
  callbackId: string;
  result: string;
}

/** How the correlator disposed of each callback, from its structured log. */
function correlatorLog(sb: TestSwitchboard): CorrelatorEntry[] {
  return sb.logs.flatMap((line) => {
    if (!line.includes('"message":"callback"')) return [];
    try {
      const entry = JSON.parse(line.slice(line.indexOf('{'))) as Partial<CorrelatorEntry> & {
        message?: string;
      };
      return entry.message === 'callback' && entry.correlationId && entry.callbackId && entry.result
        ? [{ correlationId: entry.correlationId, callbackId: entry.callbackId, result: entry.result }]
        : [];
    } catch {
      return [];
    }
  });
}

/**
 * The correlator's failed deliveries, as logged: a message it could not apply, or a whole batch whose
 * invocation failed (timed out, crashed). Each comes back after the queue's visibility timeout.
 */
const correlatorFailures = (sb: TestSwitchboard) =>
  sb.logs.filter(
    (line) =>
      line.includes('callback message failed') ||
      (line.includes('CallbackCorrelator') && line.includes('failed a batch')),
  );

const correlatorResults = (sb: TestSwitchboard, correlationId: string) =>
  correlatorLog(sb).filter((e) => e.correlationId === correlationId);

const interimEntries = (item: ItemView) => item.history.filter((h) => h.reason.startsWith('interim update'));
/** The item's completion: an update applied after the final answer carries the Completed state too. */
const completedEntries = (item: ItemView) =>
  item.history.filter((h) => h.state === 'Completed' && !h.reason.startsWith('interim update'));
const billingRequestsFor = (sb: TestSwitchboard, orderId: string) =>
  sb.systems.billing.requests.filter((r) => r.text.includes(`<orderId>${orderId}</orderId>`));

describe("activation's asynchronous answer: accepted, an interim update, the final callback (re-sent)", () => {
  let sb: TestSwitchboard;
  before(async () => {
    sb = await startTestSwitchboard({ activation: { duplicateFinal: true } });
  });
  after(async () => {
    await sb?.stop();
  });

  it('completes the demo order through the signed callbacks, keeping the final answer and never the URL’s proof', async () => {
    const id = await submit(sb, 'callbacks-flow');
    const completed = await waitForCompleted(sb, id);
    const item = await activationItem(sb, id);
    const final = finalBodyOf(sb, id);

    assert.equal(item.state, 'Completed');
    const reasons = item.history.map((h) => h.reason);
    const accepted = reasons.findIndex((r) => r.startsWith('accepted by the system'));
    const interim = reasons.indexOf('interim update from the system: line test passed');
    const done = item.history.findIndex((h) => h.state === 'Completed');
    assert.ok(
      accepted >= 0 && interim > accepted && done > interim,
      `history in order: ${reasons.join(' | ')}`,
    );
    assert.equal(done, item.history.length - 1, 'Completed is the last word');
    assert.deepEqual(item.asyncResponse?.body, final);
    assert.deepEqual(item.attributes, { serviceId: final.serviceId, activationId: final.activationId });
    assert.equal(
      completed.fulfilmentAttributes.serviceId,
      final.serviceId,
      'the callback reached the context',
    );

    const url = callbackUrlOf(sb, id);
    const token = proofOf(url);
    assert.match(token, /^initial\.\d+\.[A-Za-z0-9_-]{43}$/, 'the callback URL carries a proof in its path');
    assert.equal(new URL(url).search, '', 'and nothing in its query string');
    assert.ok(item.request, 'the request sent is kept');
    const everything = JSON.stringify((await sb.call('GET', `/orchestration/orders/${id}/items`)).body);
    assert.ok(!everything.includes(token), 'the proof is in nothing stored');
    assert.ok(everything.includes(correlationIdOf(url)), 'while the correlation is');
  });

  it('applies a re-sent final callback once: same 202 answer, one completion, one context write, one charge', async () => {
    const id = await submit(sb, 'callbacks-duplicate');
    await waitForCompleted(sb, id);
    const url = callbackUrlOf(sb, id);
    await sb.systems.activation.settled();

    // The simulator sent the final twice with one key, as at-least-once systems do.
    const finals = sb.systems.activation.callbacks.filter(
      (c) => c.url === url && (c.body as { status: string }).status === 'completed',
    );
    assert.equal(finals.length, 2, 'the final callback and its re-send');
    const [first, again] = finals;
    assert.ok(first && again);
    assert.equal(first.idempotencyKey, again.idempotencyKey);
    assert.deepEqual([first.status, again.status], [202, 202]);
    assert.deepEqual(again.answer, first.answer, 'the re-send gets the very same answer');
    const receipt = first.answer as { correlationId: string; callbackId: string; status: string };
    assert.deepEqual(receipt, {
      correlationId: correlationIdOf(url),
      callbackId: receipt.callbackId,
      status: 'accepted',
    });

    // And once more, by hand, long after the item completed: still the same answer.
    const before = await activationItem(sb, id);
    const mine = await postCallback(sb, url, first.body, first.idempotencyKey);
    assert.equal(mine.status, 202, JSON.stringify(mine.body));
    assert.deepEqual(mine.body, first.answer);

    await new Promise((resolve) => setTimeout(resolve, 500)); // room for a wrongly queued copy to land
    const item = await activationItem(sb, id);
    assert.deepEqual(item, before, 'the item did not change');
    assert.equal(completedEntries(item).length, 1, 'completed once');
    assert.equal(interimEntries(item).length, 1);
    const applied = correlatorResults(sb, correlationIdOf(url)).filter((r) => r.result === 'applied');
    assert.deepEqual(
      applied.map((r) => r.callbackId).filter((c) => c === receipt.callbackId),
      [receipt.callbackId],
      'the final applied once, so the context was written once',
    );
    assert.equal(billingRequestsFor(sb, id).length, 1, 'billing charged once');
    assert.equal((await order(sb, id)).state, 'completed');
  });

  it('refuses a new callback to an item already completed with 409, changing nothing', async () => {
    const id = await submit(sb, 'callbacks-late');
    await waitForCompleted(sb, id);
    await sb.systems.activation.settled();
    const url = callbackUrlOf(sb, id);
    const before = { item: await activationItem(sb, id), order: await order(sb, id) };

    const late = await postCallback(sb, url, { ...finalBodyOf(sb, id), serviceId: 'SVC-LATE' }, randomUUID());
    assert.equal(late.status, 409, JSON.stringify(late.body));
    assert.match((late.body as { message: string }).message, /the item is Completed/);
    const failed = await postCallback(sb, url, { status: 'failed', note: 'changed my mind' }, randomUUID());
    assert.equal(failed.status, 409);
    const keyless = await postCallback(sb, url, { status: 'inProgress', note: 'still here' });
    assert.equal(keyless.status, 409, 'without a key a new body is a new callback');

    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.deepEqual(await activationItem(sb, id), before.item);
    assert.deepEqual(await order(sb, id), before.order);
    assert.equal(billingRequestsFor(sb, id).length, 1);
    // Changed nothing, but recorded for operators: one warning per refused callback, naming the wait.
    const correlationId = correlationIdOf(url);
    const refusals = sb.logs.filter(
      (line) =>
        line.includes('"callback for an item that no longer waits for it"') && line.includes(correlationId),
    );
    assert.equal(refusals.length, 3, refusals.join('\n'));
    assert.ok(refusals.every((line) => line.includes('"state":"Completed"')));
  });

  it('answers 401 to a correlation without a valid proof, and 404 to a proven one that names nothing', async () => {
    const id = await submit(sb, 'callbacks-unknown');
    await waitForCompleted(sb, id);
    const url = callbackUrlOf(sb, id);
    const base = url.slice(0, url.indexOf('/callbacks/'));
    const unknown = `ORD-nobody.${ACTIVATE_LINE}.0123456789abcdef`;
    const final = { status: 'completed', serviceId: 'SVC-X' };

    const forged = await postCallback(
      sb,
      `${base}/callbacks/${unknown}/initial.9999999999.${'A'.repeat(43)}`,
      final,
      'k1',
    );
    assert.equal(forged.status, 401, 'a forger cannot learn whether a correlation exists');
    assert.equal((await postCallback(sb, `${base}/callbacks/${unknown}`, final, 'k1')).status, 401);

    // Only the holder of the signing keys can prove a correlation id; the test borrows them.
    const ring = parseKeyRing(
      (JSON.parse(readFileSync(join(sb.dataDir, 'secrets.json'), 'utf8')) as Record<string, unknown>)[
        'callback-signing-key'
      ],
    );
    const expiresAt = new Date(Number(proofOf(url).split('.')[1]) * 1000);
    const proven = (correlationId: string) =>
      `${base}/callbacks/${correlationId}/${signCallbackProof(issuingKey(ring, new Date()), correlationId, expiresAt)}`;
    assert.equal(proven(correlationIdOf(url)), url, 'the borrowed keys sign exactly as Switchboard does');
    for (const correlationId of [
      unknown,
      // A real order, an item it does not have.
      `${id}.dsl-broadband.no-such-item.1.0123456789abcdef`,
      // Not a correlation id at all.
      'not-a-correlation',
    ]) {
      const answer = await postCallback(sb, proven(correlationId), final, randomUUID());
      assert.equal(answer.status, 404, `${correlationId}: ${JSON.stringify(answer.body)}`);
    }
    // Each refusal recorded for operators.
    const logged = (message: string, correlationId: string) =>
      sb.logs.some((line) => line.includes(`"${message}"`) && line.includes(correlationId));
    assert.ok(logged('callback refused: no valid proof', unknown), 'the forged callback');
    assert.ok(logged('callback for an unknown correlation', unknown), 'the unknown correlation');
  });

  it('keeps a message the correlator cannot read in the dead-letter queue within seconds, counted for operators', async () => {
    // The callback API never queues such a message; a bad deploy or a hand-sent one could.
    await sendToQueue(sb, 'CallbacksQueue', '{"correlationId": 42');

    // Five deliveries, each brought back at once rather than after the queue's 3-minute visibility timeout.
    const counts = await eventually(
      async () => {
        const answer = await sb.call('GET', '/admin/dead-letters');
        const callbacks = (answer.body as { queue: string; messages: number }[]).find(
          (q) => q.queue === 'callbacks',
        );
        return callbacks?.messages === 1 ? answer.body : undefined;
      },
      60_000,
      'the message to reach the dead-letter queue',
    );
    assert.deepEqual(counts, [
      { queue: 'work', messages: 0 },
      { queue: 'callbacks', messages: 1 },
      { queue: 'deliveries', messages: 0 },
    ]);
    assert.equal(correlatorFailures(sb).length, 5, 'tried as often as the queue’s maxReceiveCount');
  });
});

describe('a callback that comes before the 202 (the early-callback race)', () => {
  let sb: TestSwitchboard;
  before(async () => {
    sb = await startTestSwitchboard({
      activation: { callbackFirst: true, duplicateFinal: true },
    });
  });
  after(async () => {
    await sb?.stop();
  });

  it('still completes the order: the correlation existed before the request was sent', async () => {
    const id = await submit(sb, 'callbacks-early');
    const completed = await waitForCompleted(sb, id);
    await sb.systems.activation.settled();
    const url = callbackUrlOf(sb, id);
    const final = finalBodyOf(sb, id);

    const sent = sb.systems.activation.callbacks.filter((c) => c.url === url);
    assert.deepEqual(
      sent.map((c) => [c.attempt, c.status]),
      [
        [1, 202],
        [1, 202],
      ],
      'the early final, then its re-send, both accepted',
    );
    const item = await activationItem(sb, id);
    assert.equal(item.state, 'Completed');
    assert.deepEqual(item.asyncResponse?.body, final);
    assert.equal(completedEntries(item).length, 1);
    assert.ok(
      !item.history.some((h) => h.state === 'FatallyFailed'),
      `nothing failed: ${JSON.stringify(item.history)}`,
    );
    assert.equal(completed.fulfilmentAttributes.serviceId, final.serviceId);
    assert.equal(billingRequestsFor(sb, id).length, 1, 'billing charged once');
  });

  it('keeps the request it sent and the 202 even when the callback came first', async () => {
    const id = await submit(sb, 'callbacks-early-record');
    await waitForCompleted(sb, id);
    // The worker keeps them once the system's own 202 arrives, after the callback finished the item.
    const item = await eventually(async () => {
      const found = await activationItem(sb, id);
      return found.request ? found : undefined;
    });
    assert.equal(item.response?.status, 202);
  });
});

describe('callbacks on items that wait: forged, unsigned, malformed, a burst of 500, a key rotation', () => {
  let sb: TestSwitchboard;
  before(async () => {
    // Activation accepts and never calls back on its own: the tests play it. The burst sends 500
    // callbacks at once: more than the callback routes' throttling lets through (tested in test/beside/flood.test.ts).
    sb = await startTestSwitchboard({
      activation: { interimDelayMs: 600_000, finalDelayMs: 600_000 },
      context: { 'switchboard:callbackThrottle': { rateLimit: 10_000, burstLimit: 10_000 } },
    });
  });
  after(async () => {
    await sb?.stop();
  });

  it('refuses a wrong proof, another item’s proof, and a callback activation did not sign, with 401; the waiting item is unchanged', async () => {
    const [id, other] = await Promise.all([
      submit(sb, 'callbacks-forged'),
      submit(sb, 'callbacks-forged-other'),
    ]);
    const before = await waitForWaiting(sb, id);
    await waitForWaiting(sb, other);
    const url = callbackUrlOf(sb, id);
    const otherUrl = callbackUrlOf(sb, other);
    const final = finalBodyOf(sb, id);
    const proof = proofOf(url);

    const attempts: [string, string, RegExp][] = [
      [
        'a wrong proof',
        withProof(url, `${proof.slice(0, -1)}${proof.endsWith('A') ? 'B' : 'A'}`),
        /does not match/,
      ],
      ['another item’s proof', withProof(url, proofOf(otherUrl)), /does not match/],
      [
        'a proof whose expiry was moved',
        withProof(
          url,
          proof.replace(/\.(\d+)\./, (_, e) => `.${Number(e) + 1}.`),
        ),
        /does not match/,
      ],
      ['no proof', url.slice(0, url.lastIndexOf('/')), /no proof/],
    ];
    for (const [what, forged, why] of attempts) {
      const answer = await postCallback(sb, forged, final, randomUUID());
      assert.equal(answer.status, 401, `${what}: ${JSON.stringify(answer.body)}`);
      assert.match((answer.body as { message: string }).message, why, what);
    }
    // The right URL (a leaked one), but not activation's signature.
    const otherSecret = `whsec_${Buffer.alloc(32, 3).toString('base64')}`;
    const now = Math.floor(Date.now() / 1000);
    const unsigned: [string, Signing, RegExp][] = [
      ['unsigned', { secret: false }, /webhook-id, webhook-timestamp, webhook-signature missing/],
      ['signed with another secret', { secret: otherSecret }, /does not match the body/],
      [
        'changed after signing',
        { tamperedBody: JSON.stringify({ ...final, serviceId: 'SVC-FORGED' }) },
        /does not match the body/,
      ],
      ['signed ten minutes ago', { at: now - 600 }, /s old; at most 300 s/],
    ];
    for (const [what, signing, why] of unsigned) {
      const answer = await postCallback(sb, url, final, randomUUID(), signing);
      assert.equal(answer.status, 401, `${what}: ${JSON.stringify(answer.body)}`);
      assert.match((answer.body as { message: string }).message, why, what);
      assert.match((answer.body as { message: string }).message, /system "activation" signs its callbacks/);
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.deepEqual(await activationItem(sb, id), before, 'the item still waits, untouched');
    assert.equal((await order(sb, id)).state, 'inProgress');
    assert.deepEqual(correlatorResults(sb, correlationIdOf(url)), [], 'nothing reached the correlator');
  });

  it('refuses a malformed callback with 400 naming what is wrong, and the waiting item is unchanged', async () => {
    const id = await submit(sb, 'callbacks-malformed');
    const before = await waitForWaiting(sb, id);
    const url = callbackUrlOf(sb, id);

    const notJson = await postCallback(sb, url, '{"status": "completed",', randomUUID());
    assert.equal(notJson.status, 400, JSON.stringify(notJson.body));
    assert.match((notJson.body as { message: string }).message, /not valid JSON/);
    for (const [what, body] of [
      ['no status', { note: 'done, honestly' }],
      ['status "done"', { status: 'done' }],
      ['a JSON array', [{ status: 'completed' }]],
    ] as const) {
      const answer = await postCallback(sb, url, body, randomUUID());
      assert.equal(answer.status, 400, `${what}: ${JSON.stringify(answer.body)}`);
      const problems = (answer.body as { problems?: { field: string }[] }).problems ?? [];
      if (what !== 'a JSON array') {
        assert.deepEqual(
          problems.map((p) => p.field),
          ['status'],
          `${what}: ${JSON.stringify(answer.body)}`,
        );
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.deepEqual(await activationItem(sb, id), before);
    assert.deepEqual(correlatorResults(sb, correlationIdOf(url)), []);
  });

  it('applies a burst of 500 distinct callbacks on 50 waiting items exactly once each, and their copies not again', async (t) => {
    const ids = await Promise.all(Array.from({ length: 50 }, (_, n) => submit(sb, `callbacks-burst-${n}`)));
    const accepted = new Set<string>();
    await eventually(
      async () => {
        // What activation received costs nothing to look at; the items are read once it has them all.
        const sent = new Set(
          sb.systems.activation.requests.map((r) => (r.body as { orderId?: string } | undefined)?.orderId),
        );
        const asked = ids.filter((id) => !accepted.has(id) && sent.has(id));
        for (const item of await Promise.all(asked.map((id) => activationItem(sb, id)))) {
          if (item.state === 'Running' && item.history.some((h) => h.reason.startsWith('accepted')))
            accepted.add(item.id.slice(0, item.id.indexOf('.')));
        }
        return accepted.size === ids.length ? true : undefined;
      },
      45_000,
      'the 50 activations to wait for their callbacks',
    );
    // Ten distinct callbacks an item: nine interim updates at once, then the final answer; every item at
    // once. The queue keeps no order, so some updates are applied after the final that overtook them.
    const INTERIMS = 9;
    const plays = ids.map((id) => ({
      id,
      url: callbackUrlOf(sb, id),
      interims: Array.from({ length: INTERIMS }, (_, n) => ({
        key: randomUUID(),
        body: { status: 'inProgress', note: `step ${n + 1} of ${INTERIMS} done` },
      })),
      final: { key: randomUUID(), body: finalBodyOf(sb, id) },
    }));
    const send = (url: string, { key, body }: { key: string; body: unknown }) =>
      postCallback(sb, url, body, key);

    const startedAt = Date.now();
    const answers = await Promise.all(
      plays.map(async (play) => {
        const interims = await Promise.all(play.interims.map((callback) => send(play.url, callback)));
        const final = await send(play.url, play.final);
        return { play, interims, final };
      }),
    );
    const answeredAt = Date.now();
    const all = answers.flatMap((a) => [...a.interims, a.final]);
    assert.equal(all.length, 500);
    assert.deepEqual(
      all.filter((a) => a.status !== 202),
      [],
      'every callback answered 202',
    );
    const receipts = all.map((a) => (a.body as { callbackId: string }).callbackId);
    assert.equal(new Set(receipts).size, 500, '500 distinct callbacks');

    const correlations = new Set(plays.map((p) => correlationIdOf(p.url)));
    const results = () => correlatorLog(sb).filter((e) => correlations.has(e.correlationId));
    await eventually(
      async () => (results().filter((e) => e.result === 'applied').length >= 500 ? true : undefined),
      60_000,
      'every callback to be applied',
    ).catch((error: Error) => {
      // Say what the correlator made of the 500, so a failure in CI explains itself.
      const counts: Record<string, number> = {};
      for (const { result } of results()) counts[result] = (counts[result] ?? 0) + 1;
      const failed = correlatorFailures(sb);
      throw new Error(
        `${error.message}; the correlator's results so far: ${JSON.stringify(counts)}; ${failed.length} deliveries failed${failed[0] ? `, the first: ${failed[0]}` : ''}`,
      );
    });
    const appliedAt = Date.now();

    // A copy of each item's final answer and first update, re-sent: the same answer, and nothing changes.
    const resent = await Promise.all(
      answers.map(async ({ play, interims, final }) => {
        const [first] = play.interims;
        assert.ok(first);
        assert.deepEqual(await send(play.url, play.final), final, `${play.id}: the final's answer again`);
        assert.deepEqual(await send(play.url, first), interims[0], `${play.id}: the update's answer again`);
      }),
    );
    assert.equal(resent.length, 50);

    await eventually(
      async () => {
        const completed = (await sb.call('GET', `${ORDERS}?state=completed&limit=100`)).body as {
          id: string;
        }[];
        const done = new Set(completed.map((o) => o.id));
        return ids.every((id) => done.has(id)) ? true : undefined;
      },
      60_000,
      'every order to complete',
    );
    const ordersDoneAt = Date.now();

    const applied = results().filter((r) => r.result === 'applied');
    assert.deepEqual(
      applied.map((r) => r.callbackId).sort(),
      [...receipts].sort(),
      'each of the 500 applied exactly once',
    );
    const items = await Promise.all(ids.map((id) => activationItem(sb, id)));
    for (const [n, { play }] of answers.entries()) {
      const item = items[n] as ItemView;
      assert.equal(interimEntries(item).length, INTERIMS, `${play.id}: ${JSON.stringify(item.history)}`);
      assert.deepEqual(
        interimEntries(item)
          .map((h) => h.reason.slice(h.reason.lastIndexOf(': ') + 2))
          .sort(),
        play.interims.map((c) => c.body.note).sort(),
        `${play.id}: every update in the history once`,
      );
      assert.equal(completedEntries(item).length, 1, `${play.id}: completed once`);
      assert.deepEqual(item.asyncResponse?.body, play.final.body, `${play.id}: the final is the answer`);
      assert.equal(billingRequestsFor(sb, play.id).length, 1, `${play.id}: billing charged once`);
    }
    const redelivered = correlatorFailures(sb).length;
    const overtaken = items.flatMap(interimEntries).filter((h) => h.reason.includes('overtook it')).length;
    t.diagnostic(
      `500 distinct callbacks on 50 items: all answered 202 in ${answeredAt - startedAt} ms, all applied in ${appliedAt - startedAt} ms, every order completed in ${ordersDoneAt - startedAt} ms; ${overtaken} interim updates applied after the final answer that overtook them; ${redelivered} deliveries failed and came back`,
    );
  });
  it('breaks no waiting callout when the signing keys rotate: the old URL still works, and new ones carry the new key', async () => {
    // Prepare: an order waits on a URL signed by the first key.
    const id = await submit(sb, 'callbacks-rotation-before');
    await waitForWaiting(sb, id);
    const oldUrl = callbackUrlOf(sb, id);
    assert.match(proofOf(oldUrl), /^initial\./);

    // Act: rotate as `npm run rotate-callback-keys` does, dated eleven minutes ago so that the new key
    // signs already; restart, so that no Lambda keeps the ring it read before (they keep it five minutes).
    const { added } = rotateLocalCallbackKeys(sb.dataDir, {
      now: new Date(Date.now() - 11 * 60_000),
      graceSeconds: 3600,
    });
    await sb.restart();
    const next = await submit(sb, 'callbacks-rotation-after');
    await waitForWaiting(sb, next);
    const newUrl = callbackUrlOf(sb, next);
    const answers = [
      await postCallback(sb, oldUrl, finalBodyOf(sb, id), randomUUID()),
      await postCallback(sb, newUrl, finalBodyOf(sb, next), randomUUID()),
    ];

    // Assess
    assert.ok(proofOf(newUrl).startsWith(`${added.id}.`), `${newUrl} is signed by ${added.id}`);
    assert.deepEqual(
      answers.map((a) => a.status),
      [202, 202],
      JSON.stringify(answers),
    );
    await Promise.all([waitForCompleted(sb, id), waitForCompleted(sb, next)]);
  });
});
