import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { OrderRecord } from '../../lambdas/domain/orchestration';
import { decodeCursor, encodeCursor, handleOrderApi, MAX_LIST_BYTES } from '../../lambdas/order-api/handler';
import { tmf622Problems } from '../support/tmf622';
import { orderApiDeps } from './fixtures/order-api';

const BASE = '/tmf-api/productOrderingManagement/v5';
const CALLERS = {
  crm: { sub: 'c-crm', client_id: 'crm', scope: 'switchboard/submit' },
  shop: { sub: 'c-shop', client_id: 'shop', scope: 'switchboard/submit' },
  desk: { sub: 'c-desk', client_id: 'desk', scope: 'switchboard/read-orders' },
  operator: { sub: 'u-op', username: 'olga', 'cognito:groups': '[operators]' },
} as const;

function get(path: string, as: keyof typeof CALLERS, query?: Record<string, string>): APIGatewayProxyEventV2 {
  const routeKey = path.includes('/productOrder/')
    ? `GET ${BASE}/productOrder/{id}`
    : `GET ${BASE}/productOrder`;
  return {
    version: '2.0',
    routeKey,
    rawPath: path,
    ...(path.includes('/productOrder/') ? { pathParameters: { id: path.split('/').at(-1) } } : {}),
    ...(query ? { queryStringParameters: query } : {}),
    headers: {},
    isBase64Encoded: false,
    requestContext: { authorizer: { jwt: { claims: CALLERS[as], scopes: null } } },
  } as unknown as APIGatewayProxyEventV2;
}

/** Orders 0…n-1, a minute apart, the even ones the CRM's, the odd ones the shop's. */
async function withOrders(n: number, submitted: Record<string, unknown> = {}) {
  const world = orderApiDeps();
  for (let i = 0; i < n; i++) {
    const at = new Date(Date.parse('2025-03-01T09:00:00.000Z') + i * 60_000).toISOString();
    const by = i % 2 === 0 ? { id: 'c-crm', name: 'crm' } : { id: 'c-shop', name: 'shop' };
    const order: OrderRecord = {
      id: `o-${i}`,
      state: 'inProgress',
      submitted,
      submittedBy: by,
      itemKeys: [],
      planRuns: [],
      createdAt: at,
      updatedAt: at,
    };
    await world.store.createOrder(order, []);
  }
  return world;
}

const ids = (answer: { body?: string }) =>
  (JSON.parse(String(answer.body)) as { id: string }[]).map((o) => o.id);

describe('the order API: who reads which orders', () => {
  it('answers a submitter its own order, and 404 for another’s, the same as for none', async () => {
    const { deps } = await withOrders(2);

    const own = await handleOrderApi(deps, get(`${BASE}/productOrder/o-0`, 'crm'));
    const theirs = await handleOrderApi(deps, get(`${BASE}/productOrder/o-1`, 'crm'));
    const none = await handleOrderApi(deps, get(`${BASE}/productOrder/o-9`, 'crm'));

    assert.equal(own.statusCode, 200);
    assert.equal(theirs.statusCode, 404);
    assert.equal(
      JSON.parse(String(theirs.body)).message,
      JSON.parse(String(none.body)).message.replace('o-9', 'o-1'),
    );
  });

  it('lists a submitter’s own orders only; a reader and an operator list every order', async () => {
    const { deps } = await withOrders(5);

    assert.deepEqual(ids(await handleOrderApi(deps, get(`${BASE}/productOrder`, 'crm'))), [
      'o-4',
      'o-2',
      'o-0',
    ]);
    assert.deepEqual(ids(await handleOrderApi(deps, get(`${BASE}/productOrder`, 'shop'))), ['o-3', 'o-1']);
    for (const as of ['desk', 'operator'] as const) {
      assert.deepEqual(ids(await handleOrderApi(deps, get(`${BASE}/productOrder`, as))), [
        'o-4',
        'o-3',
        'o-2',
        'o-1',
        'o-0',
      ]);
      assert.equal((await handleOrderApi(deps, get(`${BASE}/productOrder/o-1`, as))).statusCode, 200);
    }
  });

  it('answers each order of a list and each order read alone as a TMF622 v5 ProductOrder', async () => {
    // As accepted: a line with its offering, a characteristic and a price, none with its @type.
    const { deps } = await withOrders(3, {
      externalId: [{ id: 'crm-7' }],
      productOrderItem: [
        {
          id: '1',
          action: 'add',
          productOffering: { id: 'dsl-broadband' },
          product: { productCharacteristic: [{ name: 'bandwidth', value: 100 }] },
          itemPrice: [{ priceType: 'recurring', price: { taxIncludedAmount: { unit: 'EUR', value: 39.9 } } }],
        },
      ],
    });

    const list = await handleOrderApi(deps, get(`${BASE}/productOrder`, 'operator'));
    const one = await handleOrderApi(deps, get(`${BASE}/productOrder/o-1`, 'operator'));

    const orders = JSON.parse(String(list.body)) as unknown[];
    assert.equal(orders.length, 3);
    for (const order of [...orders, JSON.parse(String(one.body))])
      assert.deepEqual(tmf622Problems('ProductOrder', order), []);
  });
});

describe('the order API: listing a page at a time', () => {
  it('gives the next page’s link with an opaque cursor, and no count', async () => {
    // Prepare
    const { deps } = await withOrders(5);

    // Act
    const first = await handleOrderApi(
      deps,
      get(`${BASE}/productOrder`, 'desk', { limit: '2', state: 'inProgress' }),
    );
    const link = String(first.headers?.link);
    const next = new URL(/^<([^>]+)>; rel="next"$/.exec(link)?.[1] ?? '', 'https://api.test');
    const second = await handleOrderApi(
      deps,
      get(`${BASE}/productOrder`, 'desk', Object.fromEntries(next.searchParams)),
    );

    // Assess
    assert.deepEqual(ids(first), ['o-4', 'o-3']);
    assert.equal(first.headers?.['x-result-count'], '2');
    assert.equal(first.headers?.['x-total-count'], undefined);
    assert.equal(next.pathname, `${BASE}/productOrder`);
    assert.deepEqual([...next.searchParams.keys()], ['state', 'limit', 'after']);
    assert.equal(decodeCursor(next.searchParams.get('after') ?? ''), '2025-03-01T09:03:00.000Z#o-3');
    assert.deepEqual(ids(second), ['o-2', 'o-1']);
    const last = await handleOrderApi(
      deps,
      get(`${BASE}/productOrder`, 'desk', {
        limit: '2',
        after: encodeCursor('2025-03-01T09:01:00.000Z#o-1'),
      }),
    );
    assert.deepEqual(ids(last), ['o-0']);
    assert.equal(last.headers?.link, undefined, 'no link after the last page');
  });

  for (const [what, query, field] of [
    ['an offset other than 0', { offset: '20' }, 'offset'],
    ['a cursor Switchboard did not give', { after: 'bm90LWEtY3Vyc29y' }, 'after'],
    ['a cursor that is not even base64 JSON', { after: '%%%' }, 'after'],
  ] as const) {
    it(`refuses ${what} with 400 naming \`${field}\``, async () => {
      const { deps } = await withOrders(1);

      const answer = await handleOrderApi(deps, get(`${BASE}/productOrder`, 'desk', query));

      assert.equal(answer.statusCode, 400);
      assert.deepEqual(
        (JSON.parse(String(answer.body)) as { problems: { field: string }[] }).problems.map((p) => p.field),
        [field],
      );
    });
  }

  it('accepts offset=0, as TMF622 clients send it', async () => {
    const { deps } = await withOrders(1);
    assert.equal(
      (await handleOrderApi(deps, get(`${BASE}/productOrder`, 'desk', { offset: '0' }))).statusCode,
      200,
    );
  });

  it('keeps a page under its size limit: the orders that would pass it go to the next page', async () => {
    // Prepare: 100 orders of about 60 KB each as JSON would weigh about 6 MB.
    const { deps } = await withOrders(100, { note: 'x'.repeat(60 * 1024) });

    // Act
    const page = await handleOrderApi(deps, get(`${BASE}/productOrder`, 'desk', { limit: '100' }));

    // Assess
    const body = String(page.body);
    assert.ok(Buffer.byteLength(body) <= MAX_LIST_BYTES, `${Buffer.byteLength(body)} bytes`);
    const listed = ids(page);
    assert.ok(listed.length > 50 && listed.length < 100, `${listed.length} orders`);
    const after = new URL(
      /^<([^>]+)>/.exec(String(page.headers?.link))?.[1] ?? '',
      'https://api.test',
    ).searchParams.get('after');
    assert.equal(
      decodeCursor(after ?? ''),
      `2025-03-01T${timeOf(Number(listed.at(-1)?.slice(2)))}#${listed.at(-1)}`,
    );
  });
});

/** The time of order n: nine o'clock and n minutes. */
function timeOf(n: number): string {
  return new Date(Date.parse('2025-03-01T09:00:00.000Z') + n * 60_000).toISOString().slice(11);
}

describe('the order API: TMF630 attribute selection (fields)', () => {
  const LINE = {
    id: '1',
    action: 'add',
    productOffering: { id: 'dsl-broadband' },
    product: { productCharacteristic: [{ name: 'bandwidth', value: 100 }] },
  };

  it('answers each listed order with only the attributes asked for, besides id, href and @type, and keeps the selection on the next page', async () => {
    const { deps } = await withOrders(3, { externalId: [{ id: 'crm-7' }], productOrderItem: [LINE] });

    const list = await handleOrderApi(
      deps,
      get(`${BASE}/productOrder`, 'operator', { fields: 'state, productOrderItem.id', limit: '2' }),
    );

    assert.equal(list.statusCode, 200, list.body);
    const orders = JSON.parse(String(list.body)) as Record<string, unknown>[];
    assert.equal(orders.length, 2);
    for (const order of orders) {
      assert.deepEqual(Object.keys(order).sort(), ['@type', 'href', 'id', 'productOrderItem', 'state']);
      assert.deepEqual(order.productOrderItem, [{ id: '1' }]);
      assert.equal(order.state, 'inProgress');
    }
    assert.match(String(list.headers?.link), /fields=state%2C\+productOrderItem\.id/);
  });

  it('reads one order with the attributes asked for; a name it does not have selects nothing', async () => {
    const { deps } = await withOrders(1, { externalId: [{ id: 'crm-7' }], productOrderItem: [LINE] });

    const one = await handleOrderApi(
      deps,
      get(`${BASE}/productOrder/o-0`, 'operator', { fields: 'externalId,noSuchAttribute' }),
    );

    assert.equal(one.statusCode, 200, one.body);
    const order = JSON.parse(String(one.body)) as Record<string, unknown>;
    // The order read alone carries its fulfilment attributes, so its answer names their schema, selected or not.
    assert.deepEqual(Object.keys(order).sort(), ['@schemaLocation', '@type', 'externalId', 'href', 'id']);
  });

  for (const [what, fields] of [
    ['an empty name', 'state,,id'],
    ['a name with a space in it', 'state, order date'],
    ['a dangling dot', 'productOrderItem.'],
    ['more than 50 names', Array.from({ length: 51 }, (_, i) => `a${i}`).join(',')],
  ] as [string, string][]) {
    it(`refuses ${what} with 400 naming fields`, async () => {
      const { deps } = await withOrders(1);
      for (const path of [`${BASE}/productOrder`, `${BASE}/productOrder/o-0`]) {
        const answer = await handleOrderApi(deps, get(path, 'operator', { fields }));
        assert.equal(answer.statusCode, 400, answer.body);
        const problems = (JSON.parse(String(answer.body)) as { problems: { field: string }[] }).problems;
        assert.deepEqual(
          problems.map((p) => p.field),
          ['fields'],
        );
      }
    });
  }

  it('refuses any other query on one order, naming it', async () => {
    const { deps } = await withOrders(1);
    const answer = await handleOrderApi(deps, get(`${BASE}/productOrder/o-0`, 'operator', { state: 'held' }));
    assert.equal(answer.statusCode, 400, answer.body);
  });
});
