import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { MAX_CHARACTERISTIC_VALUE_BYTES, MAX_ORDER_BYTES } from '../../lambdas/domain/product-order';
import { handleOrderApi, type OrderApiDeps } from '../../lambdas/order-api/handler';
import { dslCatalog, dslOrderBody } from './fixtures/catalogs';
import { steppingClock } from './fixtures/fake-ports';
import { InMemoryOrderStore } from './fixtures/in-memory-order-store';

const SUBMITTER = { sub: 'c-crm', client_id: 'order-capture', scope: 'switchboard/submit' };
const ROUTE = 'POST /tmf-api/productOrderingManagement/v5/productOrder';

function post(body: unknown): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey: ROUTE,
    rawPath: ROUTE.split(' ')[1],
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    isBase64Encoded: false,
    requestContext: { authorizer: { jwt: { claims: SUBMITTER, scopes: null } } },
  } as unknown as APIGatewayProxyEventV2;
}

function setup() {
  const store = new InMemoryOrderStore();
  const started: string[] = [];
  const deps: OrderApiDeps = {
    store,
    plans: { start: async (_plan, name) => void started.push(name) },
    catalog: dslCatalog(),
    now: steppingClock(),
  };
  return { deps, store, started };
}

/** The DSL order with a characteristic of `bytes` bytes on each of `lines` lines. */
function orderWith(bytes: number, lines = 1) {
  const [line] = dslOrderBody().productOrderItem as Record<string, unknown>[];
  return {
    productOrderItem: Array.from({ length: lines }, (_, i) => ({
      ...line,
      id: `line-${i}`,
      product: { productCharacteristic: [{ name: 'note', value: 'n'.repeat(bytes - 2) }] },
    })),
  };
}

describe('the order API keeps every order small enough to keep', () => {
  it('accepts a characteristic value of the most an order may carry', async () => {
    const { deps, started } = setup();
    const answer = await handleOrderApi(deps, post(orderWith(MAX_CHARACTERISTIC_VALUE_BYTES)));
    assert.equal(answer.statusCode, 201, String(answer.body));
    assert.equal(started.length, 1);
  });

  it('refuses a larger characteristic value with 400 naming the field, writing nothing', async () => {
    const { deps, started } = setup();
    const answer = await handleOrderApi(deps, post(orderWith(250 * 1024)));
    assert.equal(answer.statusCode, 400);
    const body = JSON.parse(String(answer.body)) as { problems: { field: string; message: string }[] };
    assert.deepEqual(body.problems, [
      {
        field: 'productOrderItem.0.product.productCharacteristic.0.value',
        message: `is ${250 * 1024} bytes as JSON; a characteristic value may have at most ${MAX_CHARACTERISTIC_VALUE_BYTES}`,
      },
    ]);
    assert.deepEqual(started, []);
  });

  it('refuses an order over its limit as a whole with 413 saying the limit, writing nothing', async () => {
    const { deps, store, started } = setup();
    const answer = await handleOrderApi(deps, post(orderWith(10 * 1024, 5)));
    assert.equal(answer.statusCode, 413, String(answer.body));
    assert.match(
      JSON.parse(String(answer.body)).message,
      new RegExp(`at most ${MAX_ORDER_BYTES} are accepted`),
    );
    assert.deepEqual(started, []);
    assert.deepEqual((await store.listOrders({ offset: 0, limit: 10 })).total, 0);
  });
});
