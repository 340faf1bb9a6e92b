import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { demoDslOrder } from '../../local/demo-orders';
import { startTestSwitchboard, type TestSwitchboard } from '../support/local-switchboard';

const ORDERS = '/tmf-api/productOrderingManagement/v5/productOrder';
const order = demoDslOrder('access-control');

// Every route class, who may use it, and a request that is otherwise valid.
const routeClasses = [
  {
    name: 'submit an order',
    method: 'POST',
    path: () => ORDERS,
    body: order,
    allowed: ['submitter'],
    denied: ['operator', 'reader'],
  },
  {
    name: 'read an order',
    method: 'GET',
    path: (id: string) => `${ORDERS}/${id}`,
    allowed: ['submitter', 'reader', 'operator'],
    denied: [],
  },
  {
    name: 'list orders',
    method: 'GET',
    path: () => `${ORDERS}?limit=5`,
    allowed: ['submitter', 'reader', 'operator'],
    denied: [],
  },
  {
    // The item is no waiting manual task: an allowed caller gets past access control to a 409.
    name: 'complete a manual task',
    method: 'POST',
    path: (id: string) => `/orchestration/items/${id}.dsl-broadband.reserve-port.1/complete`,
    body: {},
    allowed: ['operator'],
    denied: ['submitter'],
  },
  {
    name: 'read orchestration items',
    method: 'GET',
    path: (id: string) => `/orchestration/orders/${id}/items`,
    allowed: ['operator'],
    denied: ['submitter'],
  },
  {
    // What an order must hold is the submitter's business as much as the operator's.
    name: 'read the offerings',
    method: 'GET',
    path: () => '/admin/offerings',
    allowed: ['submitter', 'operator'],
    denied: [],
  },
];

describe('access control through the local runtime', () => {
  let sb: TestSwitchboard;
  let orderId: string;
  before(async () => {
    sb = await startTestSwitchboard();
    const created = await sb.call('POST', ORDERS, order, { as: 'submitter' });
    assert.equal(created.status, 201);
    orderId = (created.body as { id: string }).id;
  });
  after(async () => {
    await sb?.stop();
  });

  for (const route of routeClasses) {
    it(`${route.name}: 401 without a token or with an unknown one`, async () => {
      const none = await sb.call(route.method, route.path(orderId), route.body, { as: null });
      assert.equal(none.status, 401);
      assert.deepEqual(none.body, { message: 'Unauthorized' });
      const forged = await sb.call(route.method, route.path(orderId), route.body, {
        as: null,
        headers: { authorization: 'Bearer not-a-token-anyone-was-given' },
      });
      assert.equal(forged.status, 401);
    });

    it(`${route.name}: allowed for ${route.allowed.join(', ')}${route.denied.length ? `, 403 for ${route.denied.join(', ')}` : ''}`, async () => {
      for (const role of route.allowed) {
        const answer = await sb.call(route.method, route.path(orderId), route.body, { as: role });
        assert.ok(
          answer.status < 400 || answer.status === 409,
          `${role}: ${answer.status} ${JSON.stringify(answer.body)}`,
        );
      }
      for (const role of route.denied) {
        const answer = await sb.call(route.method, route.path(orderId), route.body, { as: role });
        assert.equal(answer.status, 403, role);
        assert.match((answer.body as { message: string }).message, new RegExp(route.allowed[0] ?? ''));
      }
    });
  }

  it('checks the role before the body: a denied caller learns nothing about its request', async () => {
    const answer = await sb.call('POST', ORDERS, '{not json', { as: 'operator' });
    assert.equal(answer.status, 403);
  });

  it('lets a submitter read and list only the orders it submitted; readers and operators read them all', async () => {
    // Prepare: a second order-capture client submits an order of its own.
    const created = await sb.call('POST', ORDERS, demoDslOrder('web-shop'), { as: 'local-web-shop' });
    assert.equal(created.status, 201);
    const webShops = (created.body as { id: string }).id;
    const listed = async (as: string) =>
      ((await sb.call('GET', `${ORDERS}?limit=100`, undefined, { as })).body as { id: string }[]).map(
        (o) => o.id,
      );

    // Act + Assess: each submitter sees its own and is told another's does not exist.
    for (const [as, own, other] of [
      ['submitter', orderId, webShops],
      ['local-web-shop', webShops, orderId],
    ] as const) {
      assert.equal((await sb.call('GET', `${ORDERS}/${own}`, undefined, { as })).status, 200, as);
      const theirs = await sb.call('GET', `${ORDERS}/${other}`, undefined, { as });
      assert.equal(theirs.status, 404, `${as} reading another's order`);
      // The same answer as for an order that does not exist.
      const none = await sb.call('GET', `${ORDERS}/no-such-order`, undefined, { as });
      assert.deepEqual(theirs.body, {
        ...(none.body as Record<string, unknown>),
        message: `no productOrder with id "${other}"`,
      });
      const list = await listed(as);
      assert.ok(list.includes(own), `${as} lists its own`);
      assert.ok(!list.includes(other), `${as} does not list another's`);
    }
    for (const as of ['reader', 'operator']) {
      for (const id of [orderId, webShops]) {
        assert.equal((await sb.call('GET', `${ORDERS}/${id}`, undefined, { as })).status, 200, `${as} ${id}`);
      }
      const list = await listed(as);
      assert.ok(list.includes(orderId) && list.includes(webShops), `${as} lists both`);
    }
  });

  it('records who submitted an order, as the token proved it', async () => {
    const items = await sb.call('GET', `/orchestration/orders/${orderId}/items`, undefined, {
      as: 'operator',
    });
    assert.deepEqual((items.body as { submittedBy: unknown }).submittedBy, {
      id: 'local-order-capture',
      name: 'local-order-capture',
    });
  });
});
