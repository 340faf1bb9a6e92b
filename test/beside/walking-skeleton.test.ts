import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { demoDslOrder } from '../../local/demo-orders';
import { eventually, startTestSwitchboard, type TestSwitchboard } from '../support/local-switchboard';
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
      ['dsl-broadband', 'tv-bundle'],
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
