import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { demoDslOrder, demoStaticIpOrder } from '../../local/demo-orders';
import { createCertificateAuthority } from '../../simulators/demo-pki';
import { eventually, itemOf, startTestSwitchboard, type TestSwitchboard } from '../support/local-switchboard';
import { tmf622Problems } from '../support/tmf622';

const ORDERS = '/tmf-api/productOrderingManagement/v5/productOrder';

interface OrderBody {
  state: string;
  fulfilmentAttributes: { portId: string };
  productOrderItem: { state: string }[];
}

interface ErrorBody {
  code: string;
  message: string;
  problems?: { field: string; message: string }[];
}

describe('a DSL order through the local runtime', () => {
  let sb: TestSwitchboard;
  before(async () => {
    sb = await startTestSwitchboard();
  });
  after(async () => {
    await sb?.stop();
  });

  it('completes with the port the inventory reserved, calling the inventory once', async () => {
    const created = await sb.call('POST', ORDERS, demoDslOrder('e2e-1'));
    assert.equal(created.status, 201);
    const order = created.body as { id: string; state: string; href: string; externalId: unknown };
    assert.equal(order.state, 'acknowledged');
    assert.deepEqual(order.externalId, [{ '@type': 'ExternalIdentifier', id: 'e2e-1' }]);
    assert.deepEqual(tmf622Problems('ProductOrder', created.body), [], 'the 201 is a TMF622 ProductOrder');
    assert.equal(created.headers.get('location'), order.href);

    const done = await eventually(
      async () => {
        const read = await sb.call('GET', `${ORDERS}/${order.id}`);
        const body = read.body as OrderBody;
        return body.state === 'completed' ? body : undefined;
      },
      30_000,
      'the order to complete',
    );
    const reservation = sb.inventory.requests.find(
      (r) => (r.body as { orderId?: string } | undefined)?.orderId === order.id,
    );
    assert.ok(reservation, 'the inventory received the reservation');
    assert.equal(reservation.headers['idempotency-key'], `${order.id}.dsl-broadband.reserve-port.1`);
    assert.deepEqual(reservation.body, {
      orderId: order.id,
      orderItemId: '1',
      bandwidthMbps: 100,
      serviceAddress: '1 Main Street, Springfield',
    });
    assert.deepEqual(
      tmf622Problems('ProductOrder', done),
      [],
      'the completed order is a TMF622 ProductOrder',
    );
    const attributes = done.fulfilmentAttributes;
    assert.match(attributes.portId, /^DSLAM-/);
    assert.equal(
      sb.inventory.requests.filter((r) => (r.body as { orderId?: string })?.orderId === order.id).length,
      1,
    );
    assert.equal(done.productOrderItem[0]?.state, 'completed');

    const items = await sb.call('GET', `/orchestration/orders/${order.id}/items`);
    assert.equal(items.status, 200);
    const graph = items.body as {
      state: string;
      items: {
        id: string;
        state: string;
        request: { url: string };
        response: { status: number; body: { portId: string } };
        history: { state: string }[];
        startedAt: string;
        completedAt: string;
        taskToken?: string;
      }[];
    };
    assert.equal(graph.state, 'completed');
    const item = graph.items.find((i) => i.id === `${order.id}.dsl-broadband.reserve-port.1`);
    assert.ok(item);
    assert.equal(item.state, 'Completed');
    assert.equal(item.request.url, `${sb.inventory.url}/ports/reservations`);
    assert.equal(item.response.status, 201);
    assert.equal(item.response.body.portId, attributes.portId);
    assert.deepEqual(
      item.history.map((h) => h.state),
      ['Pending', 'Running', 'Completed'],
    );
    assert.ok(item.startedAt <= item.completedAt);
    assert.equal(item.taskToken, undefined, 'task tokens are never shown');
  });

  /** The demo order with its line's characteristics replaced. */
  const withCharacteristics = (...characteristics: { name: string; value: unknown }[]) => {
    const order = demoDslOrder('bad-characteristics');
    const [line] = order.productOrderItem;
    return { ...order, productOrderItem: [{ ...line, product: { productCharacteristic: characteristics } }] };
  };
  const CHARACTERISTIC = 'productOrderItem.0.product.productCharacteristic';

  it('rejects bad orders with 400 naming every problem, writing nothing and starting nothing', async () => {
    const before = await sb.writes();
    const cases: { body: unknown; fields: string[]; messages?: RegExp[] }[] = [
      { body: '{"productOrderItem": [', fields: [''] },
      { body: {}, fields: ['productOrderItem'] },
      { body: { productOrderItem: [] }, fields: ['productOrderItem'] },
      {
        body: { productOrderItem: [{ id: 1, action: 'upgrade', productOffering: { id: 'dsl-broadband' } }] },
        fields: ['productOrderItem.0.id', 'productOrderItem.0.action'],
      },
      {
        body: { productOrderItem: [{ id: '1', action: 'add', productOffering: { id: 'carrier-pigeon' } }] },
        fields: ['productOrderItem.0.productOffering'],
      },
      { body: { ...demoDslOrder('x'), state: 'completed' }, fields: ['state'] },
      // Valid TMF622, but not what the DSL offering takes: a bandwidth that is no integer and a line
      // without its service address, both named at once, before the plan could fail on them.
      {
        body: withCharacteristics({ name: 'bandwidth', value: '100M' }),
        fields: [`${CHARACTERISTIC}.0.value`, CHARACTERISTIC],
        messages: [
          /^line "1": characteristic "bandwidth" must be an integer \(Mbit\/s\), not "100M"$/,
          /^line "1": characteristic "serviceAddress" is required/,
        ],
      },
      {
        body: withCharacteristics(
          { name: 'bandwidth', value: 30 },
          { name: 'serviceAddress', value: '1 Main Street' },
          { name: 'bandwith', value: 100 },
        ),
        fields: [`${CHARACTERISTIC}.0.value`, `${CHARACTERISTIC}.2.name`],
        messages: [
          /characteristic "bandwidth" must be one of 16, 50, 100, 250/,
          /characteristic "bandwith" is not one/,
        ],
      },
    ];
    for (const { body, fields, messages = [] } of cases) {
      const answer = await sb.call('POST', ORDERS, body);
      assert.equal(answer.status, 400, JSON.stringify(body));
      const error = answer.body as ErrorBody;
      assert.equal(error.code, '400');
      for (const field of fields) {
        assert.ok(
          error.problems?.some((p) => p.field === field),
          `${JSON.stringify(body)} → problems name ${field}: ${JSON.stringify(error.problems)}`,
        );
      }
      for (const message of messages) {
        assert.ok(
          error.problems?.some((p) => message.test(p.message)),
          `${JSON.stringify(body)} → a problem says ${message}: ${JSON.stringify(error.problems)}`,
        );
      }
    }
    const tooBig = await sb.call('POST', ORDERS, {
      ...demoDslOrder('big'),
      description: 'x'.repeat(300 * 1024),
    });
    assert.equal(tooBig.status, 413);
    assert.equal((tooBig.body as ErrorBody).code, '413');
    assert.deepEqual(await sb.writes(), before);
  });

  it('shows what each offering takes: GET /admin/offerings, for the submitter too', async () => {
    const answer = await sb.call('GET', '/admin/offerings', undefined, { as: 'submitter' });
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    const offerings = answer.body as {
      id: string;
      characteristics: { name: string; valueType: string; unit?: string; required: unknown }[];
      fulfilledBy: { plan: string; actions: string[] }[];
    }[];
    assert.deepEqual(
      offerings.map((o) => o.id),
      ['dsl-broadband', 'static-ip', 'tv-bundle', 'voice-line'],
    );
    const dsl = offerings[0];
    assert.deepEqual(
      dsl?.characteristics.map((c) => [c.name, c.valueType, c.unit, c.required]),
      [
        ['bandwidth', 'integer', 'Mbit/s', true],
        ['serviceAddress', 'string', undefined, true],
        ['contactEmail', 'string', undefined, false],
      ],
    );
    assert.deepEqual(dsl?.fulfilledBy, [{ plan: 'dsl-broadband', actions: ['add'] }]);
  });

  /** The static IP add-on's one item, as the orchestration API shows it. */
  interface StaticIpItem {
    id: string;
    key: string;
    state: string;
    error?: string;
    request?: { url: string };
    response?: { status: number; body: { address: string } };
    attempts?: { decision: { kind: string } }[];
  }
  const STATIC_IP_ITEM = 'static-ip.assign-static-ip.1';
  const staticIpItem = (orderId: string, state: string) =>
    eventually(
      async () => {
        const item = await itemOf<StaticIpItem>(sb, orderId, STATIC_IP_ITEM);
        return item.state === state ? item : undefined;
      },
      30_000,
      `the static IP item of ${orderId} to be ${state}`,
    );
  const orderCompletes = (orderId: string) =>
    eventually(
      async () => {
        const read = (await sb.call('GET', `${ORDERS}/${orderId}`)).body as {
          state: string;
          fulfilmentAttributes?: Record<string, string>;
        };
        return read.state === 'completed' ? read : undefined;
      },
      30_000,
      `order ${orderId} to complete`,
    );
  /** The lines of base64 of the key and certificate Switchboard presents: none may be kept or logged. */
  const keyMaterial = () => {
    const { privateKey, certificate } = sb.credentials['provisioning-mtls'];
    return [privateKey, certificate].flatMap((pem) =>
      pem.split('\n').filter((line) => line !== '' && !line.startsWith('-----')),
    );
  };

  it('completes a static IP order at provisioning, which knows Switchboard only by its client certificate', async () => {
    const created = await sb.call('POST', ORDERS, demoStaticIpOrder('v4', 'e2e-static-ip'));
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const { id } = created.body as { id: string };

    const done = await orderCompletes(id);

    const { provisioning } = sb.systems;
    const assignment = provisioning.assignments.find((a) => a.orderId === id);
    assert.ok(assignment, 'provisioning assigned an address');
    assert.equal(done.fulfilmentAttributes?.staticIp, assignment.address);
    assert.match(assignment.address, /^203\.0\.113\.\d+$/);
    const item = await itemOf<StaticIpItem>(sb, id, STATIC_IP_ITEM);
    assert.equal(item.request?.url, `${provisioning.url}/static-ips`);
    assert.match(provisioning.url, /^https:/);
    assert.equal(item.response?.status, 201);
    const kept = JSON.stringify(item);
    const log = sb.logs.join('\n');
    for (const line of keyMaterial()) {
      assert.ok(!kept.includes(line), 'the item keeps key material');
      assert.ok(!log.includes(line), 'the log holds key material');
    }
  });

  it('puts a static IP item in fallout, naming the refused TLS handshake, while provisioning trusts another CA; once it trusts ours again an operator’s retry completes it', async (t) => {
    // Prepare: one retry a second for connection failures at provisioning, then fallout.
    const rule = await sb.call('PUT', '/admin/retry-rules/provisioning-tls', {
      scope: { kind: 'system', systemId: 'provisioning' },
      matches: { connectionErrors: true },
      policy: { type: 'fixed', count: 1, intervalSeconds: 1 },
    });
    assert.ok(rule.status === 200 || rule.status === 201, JSON.stringify(rule.body));
    t.after(async () => {
      await sb.call('DELETE', '/admin/retry-rules/provisioning-tls');
    });
    const { provisioning } = sb.systems;
    const refusedBefore = provisioning.stats.tlsRefused;
    provisioning.trustClientsOf(
      createCertificateAuthority('A CA Switchboard has no certificate of').certificate,
    );

    // Act
    const created = await sb.call('POST', ORDERS, demoStaticIpOrder('v6', 'e2e-static-ip-refused'));
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const { id } = created.body as { id: string };
    const failed = await staticIpItem(id, 'FatallyFailed');

    // Assess: a connection failure under the rule, twice, naming the TLS refusal and the profile.
    assert.match(
      failed.error ?? '',
      /^connection failed \(\w+\): the system closed the TLS connection without answering, as a system behind mutual TLS does when it refuses the client certificate of auth profile "provisioning-mtls"/,
    );
    assert.deepEqual(
      failed.attempts?.map((a) => a.decision.kind),
      ['retry', 'fallout'],
    );
    assert.ok(provisioning.stats.tlsRefused >= refusedBefore + 2, 'both handshakes were refused');
    assert.equal(provisioning.assignments.filter((a) => a.orderId === id).length, 0);

    // Act: provisioning trusts Switchboard's CA again; an operator retries.
    provisioning.trustClientsOf(sb.credentials['provisioning-mtls'].caBundle);
    const retried = await sb.call('POST', `/orchestration/items/${failed.id}/retry`, {
      reason: 'provisioning trusts our CA again',
    });
    assert.equal(retried.status, 200, JSON.stringify(retried.body));

    // Assess
    const done = await orderCompletes(id);
    assert.match(done.fulfilmentAttributes?.staticIp ?? '', /^2001:db8::/);
    const log = sb.logs.join('\n');
    for (const line of keyMaterial()) assert.ok(!log.includes(line), 'the log holds key material');
  });

  it('answers 404 for an order that does not exist and 400 for a malformed id', async () => {
    const missing = await sb.call('GET', `${ORDERS}/00000000-0000-0000-0000-000000000000`);
    assert.equal(missing.status, 404);
    assert.match((missing.body as ErrorBody).message, /no productOrder/);
    const items = await sb.call('GET', '/orchestration/orders/00000000-0000-0000-0000-000000000000/items');
    assert.equal(items.status, 404);
    const malformed = await sb.call('GET', `${ORDERS}/${encodeURIComponent('<script>')}`);
    assert.equal(malformed.status, 400);
  });

  it('answers a retried POST with the same Idempotency-Key with the same order, and a different order with 409', async () => {
    const headers = { 'idempotency-key': `crm-retry-${Date.now()}` };
    const first = await sb.call('POST', ORDERS, demoDslOrder('retry-1'), { headers });
    const retry = await sb.call('POST', ORDERS, demoDslOrder('retry-1'), { headers });
    assert.equal(first.status, 201);
    assert.equal(retry.status, 201);
    const id = (first.body as { id: string }).id;
    assert.equal((retry.body as { id: string }).id, id);
    const other = await sb.call('POST', ORDERS, demoDslOrder('retry-2'), { headers });
    assert.equal(other.status, 409);
    const bad = await sb.call('POST', ORDERS, demoDslOrder('retry-3'), {
      headers: { 'idempotency-key': 'has space' },
    });
    assert.equal(bad.status, 400);
    await eventually(async () => {
      const read = (await sb.call('GET', `${ORDERS}/${id}`)).body as { state: string };
      return read.state === 'completed' ? true : undefined;
    });
    const reservations = sb.inventory.requests.filter(
      (r) => (r.body as { orderId?: string })?.orderId === id,
    );
    assert.equal(reservations.length, 1, 'the retry started nothing twice');
  });

  it('keeps orders across a restart of the local runtime', async () => {
    const created = await sb.call('POST', ORDERS, demoDslOrder('e2e-restart'));
    const { id } = created.body as { id: string };
    await eventually(async () => {
      const read = await sb.call('GET', `${ORDERS}/${id}`);
      return (read.body as { state: string }).state === 'completed' ? true : undefined;
    });
    await sb.restart();
    const read = await sb.call('GET', `${ORDERS}/${id}`);
    assert.equal(read.status, 200);
    assert.equal((read.body as { state: string }).state, 'completed');
  });
});
