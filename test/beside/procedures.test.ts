import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { copyDemoCatalog } from '../../local/catalog-copy';
import { eventually, startTestSwitchboard, type TestSwitchboard } from '../support/local-switchboard';

/**
 * An integration procedure's HTTP steps through the local runtime's callout machinery: a step whose
 * system is Down waits On Hold and goes on after the system is Up, and a step that fails is retried under
 * an operator's retry rule; in both, the step before it is never sent again.
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

interface ItemView {
  state: string;
  retries?: number;
  hold?: { systemId: string; interfaceId?: string; reason: string };
  attempts?: { number: number; status?: number; decision: { kind: string } }[];
  procedure?: { next: number; trace: { step: string; type: string }[] };
  attributes?: Record<string, unknown>;
}

describe('integration procedures through the callout machinery', () => {
  let sb: TestSwitchboard;
  let server: Server;
  /** Every request by the step's idempotency key; what `/tickets` answers next, by order (then 201). */
  const received = new Map<string, number>();
  const ticketAnswers = new Map<string, number[]>();

  before(async () => {
    server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const key = String(req.headers['idempotency-key'] ?? '');
        received.set(key, (received.get(key) ?? 0) + 1);
        const orderId = key.split('.')[0] ?? '';
        if (req.url === '/crm/accounts/lookup') {
          res.writeHead(200, { 'content-type': 'application/json' }).end(`{"account":"ACC-${orderId}"}`);
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
    sb = await startTestSwitchboard({
      catalogDir: dir,
      systemBaseUrls: { crm: `${base}/crm`, ticketing: `${base}/ticketing` },
    });
  });
  after(async () => {
    await sb?.stop();
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
  });

  const submit = async (externalId: string, ticketing: number[] = []) => {
    const created = await sb.call('POST', ORDERS, {
      externalId: [{ id: externalId }],
      productOrderItem: [{ id: '1', action: 'add', productOffering: { id: 'ticket' } }],
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id = (created.body as { id: string }).id;
    ticketAnswers.set(id, ticketing);
    return id;
  };
  const item = async (orderId: string) => {
    const graph = (await sb.call('GET', `/orchestration/orders/${orderId}/items`)).body as {
      items: (ItemView & { key: string })[];
    };
    const found = graph.items.find((i) => i.key === ITEM);
    assert.ok(found, JSON.stringify(graph));
    return found;
  };
  const waitFor = (orderId: string, state: string) =>
    eventually(
      async () => {
        const current = await item(orderId);
        return current.state === state ? current : undefined;
      },
      60_000,
      `item of ${orderId} to be ${state}`,
    );
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
});
