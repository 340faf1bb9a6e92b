import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_JSON_DEPTH } from '../../lambdas/domain/json-depth';
import {
  MAX_CHARACTERISTIC_VALUE_BYTES,
  MAX_CHARACTERISTICS,
  MAX_EXTERNAL_ID_LENGTH,
  MAX_EXTERNAL_IDS,
  MAX_LINES,
  MAX_NOTES,
  MAX_ORDER_BYTES,
  MAX_PRICES,
} from '../../lambdas/domain/product-order';
import { handleOrderApi } from '../../lambdas/order-api/handler';
import { dslOrderBody } from './fixtures/catalogs';
import { orderApiDeps, postOrder } from './fixtures/order-api';

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
    const { deps, started } = orderApiDeps();
    const answer = await handleOrderApi(deps, postOrder(orderWith(MAX_CHARACTERISTIC_VALUE_BYTES)));
    assert.equal(answer.statusCode, 201, String(answer.body));
    assert.equal(started.length, 1);
  });

  it('refuses a larger characteristic value with 400 naming the field, writing nothing', async () => {
    const { deps, started } = orderApiDeps();
    const answer = await handleOrderApi(deps, postOrder(orderWith(250 * 1024)));
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
    const { deps, store, started } = orderApiDeps();
    const answer = await handleOrderApi(deps, postOrder(orderWith(10 * 1024, 5)));
    assert.equal(answer.statusCode, 413, String(answer.body));
    assert.match(
      JSON.parse(String(answer.body)).message,
      new RegExp(`at most ${MAX_ORDER_BYTES} are accepted`),
    );
    assert.deepEqual(started, []);
    assert.deepEqual((await store.listOrders({ limit: 10 })).orders.length, 0);
  });
});

/** A JSON value nested `levels` deep: objects inside objects, built without recursion. */
function nested(levels: number): unknown {
  let value: unknown = 'bottom';
  for (let i = 0; i < levels; i++) value = { deeper: value };
  return value;
}

/** The DSL order with one characteristic whose value is `value`: the service address, which takes an object. */
function orderWithValue(value: unknown) {
  const [line] = dslOrderBody().productOrderItem as Record<string, unknown>[];
  return {
    productOrderItem: [{ ...line, product: { productCharacteristic: [{ name: 'serviceAddress', value }] } }],
  };
}

describe('the order API refuses hostile input with 400 naming the field, writing nothing', () => {
  async function refused(body: unknown) {
    const { deps, store, started } = orderApiDeps();
    const answer = await handleOrderApi(deps, postOrder(body));
    assert.equal(answer.statusCode, 400, String(answer.body).slice(0, 500));
    assert.deepEqual(started, []);
    assert.equal((await store.listOrders({ limit: 10 })).orders.length, 0);
    return JSON.parse(String(answer.body)) as { problems: { field: string; message: string }[] };
  }

  it('refuses what Switchboard sets — fulfilment attributes, fallout, jeopardy, a line’s state — naming each, so no answer shows it as Switchboard’s', async () => {
    const order = dslOrderBody();
    const [line] = order.productOrderItem as Record<string, unknown>[];
    const { problems } = await refused({
      ...order,
      fulfilmentAttributes: { port: 'forged' },
      productOrderErrorMessage: [{ code: 'timeout' }],
      productOrderJeopardyAlert: [],
      expectedCompletionDate: '2026-12-24T00:00:00Z',
      productOrderItem: [{ ...line, state: 'completed' }],
    });
    assert.deepEqual(problems.map((p) => p.field).sort(), [
      'expectedCompletionDate',
      'fulfilmentAttributes',
      'productOrderErrorMessage',
      'productOrderJeopardyAlert',
    ]);
    const lineState = await refused({ ...order, productOrderItem: [{ ...line, state: 'completed' }] });
    assert.deepEqual(lineState.problems, [
      { field: 'productOrderItem.0.state', message: 'is set by the server and must not be sent' },
    ]);
  });

  it('takes a characteristic value nested to the deepest an order may go, and refuses one level more', async () => {
    // The value sits six levels into the order: it may nest the rest of MAX_JSON_DEPTH.
    const { deps } = orderApiDeps();
    const deepest = await handleOrderApi(deps, postOrder(orderWithValue(nested(MAX_JSON_DEPTH - 6))));
    assert.equal(deepest.statusCode, 201, String(deepest.body));

    const { problems } = await refused(orderWithValue(nested(MAX_JSON_DEPTH - 5)));
    assert.equal(problems.length, 1);
    assert.equal(
      problems[0]?.field,
      ['productOrderItem', '0', 'product', 'productCharacteristic', '0', 'value']
        .concat(Array(MAX_JSON_DEPTH - 6).fill('deeper'))
        .join('.'),
    );
    assert.equal(problems[0]?.message, `nests deeper than ${MAX_JSON_DEPTH} levels, the most accepted`);
  });

  it('refuses a value nested 3,000 and 10,000 levels deep (a few KB of brackets) with 400, not 500', async () => {
    // Written as text: JSON.stringify itself cannot go that deep.
    const text = JSON.stringify(orderWithValue('__DEEP__'));
    const deep = (open: string, close: string, levels: number) =>
      text.replace('"__DEEP__"', `${open.repeat(levels)}1${close.repeat(levels)}`);
    for (const body of [deep('{"a":', '}', 3_000), deep('{"a":', '}', 10_000), deep('[', ']', 10_000)]) {
      const { problems } = await refused(body);
      assert.match(problems[0]?.message ?? '', /nests deeper than/);
    }
  });

  it('refuses more external ids, longer external ids, more lines, characteristics, prices or notes than the limits', async () => {
    const base = dslOrderBody() as Record<string, unknown> & { productOrderItem: Record<string, unknown>[] };
    const [line] = base.productOrderItem;
    const price = { priceType: 'recurring', price: { taxIncludedAmount: { unit: 'EUR', value: 1 } } };
    const cases: [string, unknown, string][] = [
      [
        'external ids',
        { ...base, externalId: Array.from({ length: MAX_EXTERNAL_IDS + 1 }, (_, i) => ({ id: `CRM-${i}` })) },
        'externalId',
      ],
      [
        'a long external id',
        { ...base, externalId: [{ id: 'x'.repeat(MAX_EXTERNAL_ID_LENGTH + 1) }] },
        'externalId.0.id',
      ],
      [
        'a long external id string',
        { ...base, externalId: 'x'.repeat(MAX_EXTERNAL_ID_LENGTH + 1) },
        'externalId',
      ],
      [
        'lines',
        { productOrderItem: Array.from({ length: MAX_LINES + 1 }, (_, i) => ({ ...line, id: `line-${i}` })) },
        'productOrderItem',
      ],
      [
        'characteristics',
        {
          productOrderItem: [
            {
              ...line,
              product: {
                productCharacteristic: Array.from({ length: MAX_CHARACTERISTICS + 1 }, (_, i) => ({
                  name: `c${i}`,
                  value: i,
                })),
              },
            },
          ],
        },
        'productOrderItem.0.product.productCharacteristic',
      ],
      ['prices', { ...base, orderTotalPrice: Array(MAX_PRICES + 1).fill(price) }, 'orderTotalPrice'],
      ['notes', { ...base, note: Array(MAX_NOTES + 1).fill({ text: 'n' }) }, 'note'],
    ];
    for (const [what, body, field] of cases) {
      const { problems } = await refused(body);
      assert.ok(
        problems.some((p) => p.field === field),
        `${what}: ${JSON.stringify(problems).slice(0, 300)}`,
      );
    }
  });

  it('takes every limit at its edge', async () => {
    const base = dslOrderBody() as Record<string, unknown>;
    const { deps, started } = orderApiDeps();
    const answer = await handleOrderApi(
      deps,
      postOrder({
        ...base,
        externalId: Array.from({ length: MAX_EXTERNAL_IDS }, (_, i) => ({
          id: `${i}`.padEnd(MAX_EXTERNAL_ID_LENGTH, 'x'),
        })),
        note: Array(MAX_NOTES).fill({ text: 'n' }),
      }),
    );
    assert.equal(answer.statusCode, 201, String(answer.body));
    assert.equal(started.length, 1);
  });
});
