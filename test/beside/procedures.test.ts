import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { copyDemoCatalog } from '../../local/catalog-copy';
import { eventually, startTestSwitchboard, type TestSwitchboard } from '../support/local-switchboard';

/**
 * An integration procedure's HTTP steps through the local runtime's callout machinery: a step whose
 * system is Down waits On Hold and goes on after the system is Up, and a step that fails is retried under
 * an operator's retry rule; in both, the step before it is never sent again. A step that answers on a
 * callback makes its item wait there, and the callback runs the procedure on from the next step. And a
 * callout through an asynchronous custom adapter waits for its callback, or falls out at once when the
 * adapter reads the answer as a refusal no retry mends.
 */

const ORDERS = '/tmf-api/productOrderingManagement/v5/productOrder';
const ITEM = 'ticket.open-ticket.1';

/** A CRM finds the account, then a ticketing system opens a ticket for it: two systems, two paths. */
const PROCEDURE = `id: open-ticket
inputs: [customer]
outputs: [ticketId, account]
steps:
  - id: lookup
    type: http
    system: crm
    method: POST
    path: /accounts/lookup
    body: '{ "customer": input.customer }'
  - id: open
    type: http
    system: ticketing
    method: POST
    path: /tickets
    body: '{ "account": steps.lookup.account, "subject": "new line" }'
  - id: result
    type: set
    values:
      ticketId: steps.open.ticketId
      account: steps.lookup.account
`;

const PLAN = `id: ticket
fulfils:
  - offering: ticket
items:
  - id: open-ticket
    type: autoTask
    procedure: open-ticket
    input: '{ "customer": order.externalId[0].id }'
    output: '{ "ticketId": output.ticketId, "account": output.account }'
`;

/** Looks a customer's account up (sync), books a visit that answers on a callback, confirms the booking. */
const ASYNC_PROCEDURE = `id: provision
inputs: [customer]
outputs: [account, booking, confirmation]
steps:
  - id: lookup
    type: http
    system: crm
    method: POST
    path: /accounts/lookup
    body: '{ "customer": input.customer }'
  - id: book
    type: http
    interface: ticketing-book
    body: '{ "account": steps.lookup.account, "notify": callback.url }'
  - id: confirm
    type: http
    system: ticketing
    method: POST
    path: /confirmations
    body: '{ "booking": steps.book.bookingId }'
  - id: result
    type: set
    values:
      account: steps.lookup.account
      booking: steps.book.bookingId
      confirmation: steps.confirm.confirmationId
`;

const ASYNC_PLAN = `id: provision
fulfils:
  - offering: provision
items:
  - id: provision
    type: autoTask
    procedure: provision
    input: '{ "customer": order.externalId[0].id }'
`;

/**
 * A procedure whose step creates a job on the demo's telephony platform, which cannot call back: the
 * step's interface polls the job's status, and the procedure goes on once a poll finds it done.
 */
const POLLED_PROCEDURE = `id: voice-job
inputs: [order]
outputs: [circuit, polledStatus]
steps:
  - id: create
    type: http
    interface: telephony-create-job
    body: '{ "orderId": input.order, "product": "voice" }'
  - id: result
    type: set
    values:
      circuit: steps.create.circuitId
      polledStatus: steps.create.status
`;

const POLLED_PLAN = `id: voice-job
fulfils:
  - offering: voice-job
items:
  - id: job
    type: autoTask
    procedure: voice-job
    input: '{ "order": order.externalId[0].id }'
`;

/** A callout to the legacy work-order system, through its asynchronous custom adapter. */
const WORK_ORDER_PLAN = `id: work-order
fulfils:
  - offering: work-order
items:
  - id: dispatch
    type: callout
    interface: work-orders-dispatch
`;

interface ItemView {
  state: string;
  retries?: number;
  hold?: { systemId: string; interfaceId?: string; reason: string };
  attempts?: { number: number; status?: number; decision: { kind: string } }[];
  procedure?: { next: number; trace: { step: string; type: string }[] };
  attributes?: Record<string, unknown>;
  awaiting?: { since: string; deadline: string; step?: string };
  error?: string;
  history?: { state: string; reason: string }[];
}

describe('integration procedures through the callout machinery', () => {
  let sb: TestSwitchboard;
  let server: Server;
  /** Every request by the step's idempotency key; what `/tickets` answers next, by order (then 201). */
  const received = new Map<string, number>();
  const ticketAnswers = new Map<string, number[]>();

  /** The callback URL each order's asynchronous request carried, by order. */
  const callbackUrls = new Map<string, string>();

  before(async () => {
    server = createServer((req, res) => {
      let text = '';
      req.on('data', (chunk: Buffer) => {
        text += chunk.toString();
      });
      req.on('end', () => {
        const key = String(req.headers['idempotency-key'] ?? '');
        received.set(key, (received.get(key) ?? 0) + 1);
        const orderId = key.split('.')[0] ?? '';
        if (req.headers['callback-url']) callbackUrls.set(orderId, String(req.headers['callback-url']));
        if (req.url === '/crm/accounts/lookup') {
          res.writeHead(200, { 'content-type': 'application/json' }).end(`{"account":"ACC-${orderId}"}`);
          return;
        }
        if (req.url === '/ticketing/bookings') {
          res.writeHead(202, { 'content-type': 'application/json' }).end('{"status":"accepted"}');
          return;
        }
        if (req.url === '/ticketing/confirmations') {
          const { booking } = JSON.parse(text) as { booking: string };
          res
            .writeHead(201, { 'content-type': 'application/json' })
            .end(`{"confirmationId":"CF-${booking}"}`);
          return;
        }
        if (req.url?.startsWith('/legacy/work-orders/')) {
          // The legacy system answers 200 to everything; what it means is in its lines. It knows no job
          // named "refused" (the job is the order's external id).
          res
            .writeHead(200, { 'content-type': 'text/plain' })
            .end(req.url.includes('refused') ? 'result=rejected\nreason=no such address' : 'result=queued');
          return;
        }
        const status = ticketAnswers.get(orderId)?.shift() ?? 201;
        res
          .writeHead(status, { 'content-type': 'application/json' })
          .end(status === 201 ? `{"ticketId":"T-${orderId}"}` : `{"error":"status ${status}"}`);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const dir = copyDemoCatalog();
    writeFileSync(join(dir, 'systems', 'crm.yaml'), 'id: crm\nname: CRM\nbaseUrl: http://127.0.0.1:1\n');
    writeFileSync(
      join(dir, 'systems', 'ticketing.yaml'),
      'id: ticketing\nname: Ticketing\nbaseUrl: http://127.0.0.1:1\n',
    );
    writeFileSync(join(dir, 'procedures', 'open-ticket.yaml'), PROCEDURE);
    writeFileSync(join(dir, 'plans', 'ticket.yaml'), PLAN);
    writeFileSync(join(dir, 'offerings', 'ticket.yaml'), 'id: ticket\nname: A support ticket\n');
    // A procedure with a step that answers on a callback.
    writeFileSync(
      join(dir, 'interfaces', 'ticketing-book.yaml'),
      'id: ticketing-book\nsystem: ticketing\nmethod: POST\npath: /bookings\nadapter: async-rest\ntimeoutSeconds: 5\nasyncTimeoutSeconds: 120\nasyncResponseMapping: booking-done\n',
    );
    writeFileSync(join(dir, 'mappings', 'booking-done.jsonata'), '{ "bookingId": response.bookingId }');
    writeFileSync(join(dir, 'procedures', 'provision.yaml'), ASYNC_PROCEDURE);
    writeFileSync(join(dir, 'plans', 'provision.yaml'), ASYNC_PLAN);
    writeFileSync(join(dir, 'offerings', 'provision.yaml'), 'id: provision\nname: A provisioning\n');
    // A legacy system behind an asynchronous custom adapter: the demo's adapters, and the test's.
    const adapters = join(dir, 'adapters');
    unlinkSync(adapters);
    mkdirSync(adapters);
    for (const file of [
      resolve(import.meta.dirname, '../../catalog/adapters/legacy-billing-xml.ts'),
      resolve(import.meta.dirname, '../support/catalog-adapters/legacy-work-orders.ts'),
    ])
      symlinkSync(file, join(adapters, file.split('/').at(-1) ?? ''));
    writeFileSync(
      join(dir, 'systems', 'work-orders.yaml'),
      'id: work-orders\nname: Legacy work orders\nbaseUrl: http://127.0.0.1:1\n',
    );
    writeFileSync(
      join(dir, 'interfaces', 'work-orders-dispatch.yaml'),
      'id: work-orders-dispatch\nsystem: work-orders\nmethod: POST\npath: /jobs\nadapter: legacy-work-orders\ntimeoutSeconds: 5\nasyncTimeoutSeconds: 120\nrequestMapping: work-order-request\nasyncResponseMapping: work-order-done\n',
    );
    writeFileSync(
      join(dir, 'mappings', 'work-order-request.jsonata'),
      '{ "job": "J-" & order.externalId[0].id }',
    );
    writeFileSync(join(dir, 'mappings', 'work-order-done.jsonata'), '{ "workTicket": response.ticket }');
    writeFileSync(join(dir, 'procedures', 'voice-job.yaml'), POLLED_PROCEDURE);
    writeFileSync(join(dir, 'plans', 'voice-job.yaml'), POLLED_PLAN);
    writeFileSync(join(dir, 'offerings', 'voice-job.yaml'), 'id: voice-job\nname: A voice job\n');
    writeFileSync(join(dir, 'plans', 'work-order.yaml'), WORK_ORDER_PLAN);
    writeFileSync(join(dir, 'offerings', 'work-order.yaml'), 'id: work-order\nname: A work order\n');
    sb = await startTestSwitchboard({
      catalogDir: dir,
      systemBaseUrls: { crm: `${base}/crm`, ticketing: `${base}/ticketing`, 'work-orders': `${base}/legacy` },
    });
  });
  after(async () => {
    await sb?.stop();
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
  });

  const submit = async (externalId: string, ticketing: number[] = [], offering = 'ticket') => {
    const created = await sb.call('POST', ORDERS, {
      externalId: [{ id: externalId }],
      productOrderItem: [{ id: '1', action: 'add', productOffering: { id: offering } }],
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id = (created.body as { id: string }).id;
    ticketAnswers.set(id, ticketing);
    return id;
  };
  const item = async (orderId: string, key = ITEM) => {
    const graph = (await sb.call('GET', `/orchestration/orders/${orderId}/items`)).body as {
      items: (ItemView & { key: string })[];
    };
    const found = graph.items.find((i) => i.key === key);
    assert.ok(found, JSON.stringify(graph));
    return found;
  };
  const waitFor = (orderId: string, state: string, key = ITEM, until?: (found: ItemView) => boolean) =>
    eventually(
      async () => {
        const current = await item(orderId, key);
        return current.state === state && (until?.(current) ?? true) ? current : undefined;
      },
      60_000,
      `item ${key} of ${orderId} to be ${state}`,
    );
  const callBack = async (orderId: string, body: unknown) => {
    const url = await eventually(async () => callbackUrls.get(orderId), 30_000, `${orderId}'s callback URL`);
    const answer = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    assert.equal(answer.status, 202, await answer.text());
  };
  const sent = (orderId: string, step: string) => received.get(`${orderId}.${ITEM}.${step}`) ?? 0;
  const setTicketing = async (state: 'Up' | 'Down', reason: string) => {
    const answer = await sb.call('PUT', '/admin/systems/ticketing/state', { state, reason });
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
  };

  it('holds the second step while its system is Down, and after Up finishes without sending the first again', async () => {
    await setTicketing('Down', 'ticketing upgrade');
    const id = await submit('procedure-held');

    const held = await waitFor(id, 'OnHold');
    assert.equal(held.hold?.systemId, 'ticketing');
    assert.equal(held.hold?.interfaceId, undefined, 'a path of a system is held by the system alone');
    assert.match(held.hold?.reason ?? '', /system "ticketing" is Down: ticketing upgrade/);
    assert.deepEqual(
      held.procedure?.trace.map((s) => s.step),
      ['lookup'],
    );
    assert.equal(sent(id, 'lookup'), 1);
    assert.equal(sent(id, 'open'), 0, 'nothing went to the Down system');
    const onHold = (await sb.call('GET', '/admin/systems/ticketing/on-hold-items')).body as {
      items: { orderId: string }[];
    };
    assert.ok(
      onHold.items.some((h) => h.orderId === id),
      `on the system's on-hold list: ${JSON.stringify(onHold)}`,
    );

    await setTicketing('Up', 'upgrade done');
    const done = await waitFor(id, 'Completed');
    assert.deepEqual(done.attributes, { ticketId: `T-${id}`, account: `ACC-${id}` });
    assert.deepEqual(
      done.procedure?.trace.map((s) => s.step),
      ['lookup', 'open', 'result'],
    );
    assert.equal(sent(id, 'lookup'), 1, 'the first step was not repeated');
    assert.equal(sent(id, 'open'), 1);
    const order = (await sb.call('GET', `${ORDERS}/${id}`)).body as { state: string };
    await eventually(
      async () =>
        ((await sb.call('GET', `${ORDERS}/${id}`)).body as { state: string }).state === 'completed'
          ? true
          : undefined,
      30_000,
      `order ${id} (${order.state}) to complete`,
    );
  });

  it('retries a failed step under an operator’s retry rule, resuming at that step', async () => {
    const rule = await sb.call('PUT', '/admin/retry-rules/ticketing-busy', {
      scope: { kind: 'system', systemId: 'ticketing' },
      matches: { statuses: ['5xx'] },
      policy: { type: 'fixed', count: 2, intervalSeconds: 1 },
    });
    assert.ok(rule.status === 200 || rule.status === 201, JSON.stringify(rule.body));
    const id = await submit('procedure-retried', [503, 503]);

    const done = await waitFor(id, 'Completed');
    assert.deepEqual(
      (done.attempts ?? []).map((a) => [a.number, a.status, a.decision.kind]),
      [
        [1, 503, 'retry'],
        [2, 503, 'retry'],
      ],
    );
    assert.equal(done.retries, 2);
    assert.deepEqual(done.attributes, { ticketId: `T-${id}`, account: `ACC-${id}` });
    assert.equal(sent(id, 'lookup'), 1, 'the first step was not repeated');
    assert.equal(sent(id, 'open'), 3, 'the failed step was sent three times, with one idempotency key');
  });

  it('puts the item in fallout when the rule runs out, naming the procedure and the step', async () => {
    const id = await submit('procedure-fallout', [503, 503, 503]);

    const failed = await waitFor(id, 'FatallyFailed');
    assert.equal(failed.attempts?.length, 3);
    const view = (await sb.call('GET', `/orchestration/orders/${id}/items`)).body as {
      items: { key: string; error?: string }[];
    };
    assert.match(
      view.items.find((i) => i.key === ITEM)?.error ?? '',
      /procedure "open-ticket" step "open": ticketing answered 503/,
    );
    assert.equal(sent(id, 'lookup'), 1);
  });

  it('waits at a step that answers on a callback; the callback runs the procedure on from the next step, each request sent once', async () => {
    const key = 'provision.provision.1';
    const id = await submit('procedure-async', [], 'provision');

    const waiting = await waitFor(id, 'Running', key, (found) => found.awaiting?.step === 'book');
    assert.equal(waiting.procedure?.next, 1, 'it waits at the booking');
    assert.equal(received.get(`${id}.${key}.confirm`) ?? 0, 0, 'the step after it waits too');

    await callBack(id, { status: 'inProgress', note: 'a technician is being found' });
    await callBack(id, { status: 'completed', bookingId: `B-${id}` });

    const done = await waitFor(id, 'Completed', key);
    assert.deepEqual(done.attributes, {
      account: `ACC-${id}`,
      booking: `B-${id}`,
      confirmation: `CF-B-${id}`,
    });
    assert.deepEqual(
      done.procedure?.trace.map((s) => s.step),
      ['lookup', 'book', 'confirm', 'result'],
    );
    assert.ok(
      done.history?.some((h) => /interim update from the system: a technician is being found/.test(h.reason)),
    );
    for (const step of ['lookup', 'book', 'confirm'])
      assert.equal(received.get(`${id}.${key}.${step}`), 1, `${step} was sent once`);
  });

  /** The telephony platform's job for an order (its external id), and how many times it was asked to create one. */
  const telephonyJob = (externalId: string) =>
    sb.systems.telephony.jobs.find((j) => j.orderId === externalId);
  const jobsCreated = (externalId: string) =>
    sb.systems.telephony.requests.filter(
      (r) => r.method === 'POST' && (r.body as { orderId?: string }).orderId === externalId,
    ).length;

  it('polls a step whose system cannot call back, and goes on with what the poll that found it done said', async () => {
    const key = 'voice-job.job.1';
    sb.systems.telephony.pollsUntilDone = 2;
    const id = await submit('procedure-polled', [], 'voice-job');

    const done = await waitFor(id, 'Completed', key);
    const job = telephonyJob('procedure-polled');
    assert.ok(job, 'the job was created');
    assert.equal(job.polls, 2, 'polled until done');
    assert.deepEqual(done.attributes, { circuit: `CCT-${job.jobId.slice(4)}`, polledStatus: 'COMPLETE' });
    assert.ok(
      done.history?.some((h) => h.reason.includes(`polling /jobs/${job.jobId} for its status`)),
      JSON.stringify(done.history),
    );
    assert.equal(jobsCreated('procedure-polled'), 1, 'the job was created once');
  });

  it('holds a polled step while its system is Down and, released, polls on without creating its job again', async () => {
    const key = 'voice-job.job.1';
    sb.systems.telephony.pollsUntilDone = 3;
    const id = await submit('procedure-polled-held', [], 'voice-job');
    const jobOf = () => telephonyJob('procedure-polled-held');
    await eventually(async () => ((jobOf()?.polls ?? 0) >= 1 ? true : undefined), 30_000, 'a first poll');
    const setTelephony = async (state: 'Up' | 'Down', reason: string) => {
      const answer = await sb.call('PUT', '/admin/systems/telephony/state', { state, reason });
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
    };
    await setTelephony('Down', 'switch upgrade');
    try {
      const held = await waitFor(id, 'OnHold', key);
      assert.equal(held.awaiting?.step, 'create', 'it keeps the step it polls for');
    } finally {
      await setTelephony('Up', 'upgraded');
    }
    const done = await waitFor(id, 'Completed', key);
    const job = jobOf();
    assert.equal(job?.polls, 3, 'polled on until done');
    assert.equal(done.attributes?.circuit, `CCT-${job?.jobId.slice(4)}`);
    assert.equal(jobsCreated('procedure-polled-held'), 1, 'the job was created once');
  });

  it('waits for the callback of a callout through an asynchronous custom adapter, and completes with it', async () => {
    const key = 'work-order.dispatch.1';
    const id = await submit('work-order-async', [], 'work-order');

    await waitFor(id, 'Running', key, (found) => found.awaiting !== undefined);
    await callBack(id, { status: 'completed', ticket: `WT-${id}` });

    const done = await waitFor(id, 'Completed', key);
    assert.deepEqual(done.attributes, { workTicket: `WT-${id}` });
    assert.equal(received.get(`${id}.${key}`), 1);
  });

  it('puts a callout in fallout at once when its custom adapter reads the answer as a refusal no retry mends', async () => {
    const key = 'work-order.dispatch.1';
    const id = await submit('work-order-refused', [], 'work-order');

    const failed = await waitFor(id, 'FatallyFailed', key);
    assert.equal(failed.attempts?.length, 1, 'not retried');
    assert.match(failed.error ?? '', /reads as a failure: no such address/);
  });
});
