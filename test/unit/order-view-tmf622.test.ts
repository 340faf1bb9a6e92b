import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decompose } from '../../lambdas/domain/decompose';
import { toProductOrder } from '../../lambdas/domain/order-view';
import { productOrderCreateSchema } from '../../lambdas/domain/product-order';
import { loadCatalog } from '../../lib/catalog/load-catalog';
import { demoDslOrder, demoTvOrder } from '../../local/demo-orders';
import { tmf622Problems } from '../support/tmf622';

const catalog = loadCatalog('catalog');

/** An order accepted as the order API accepts it, and answered as it answers. */
function answered(body: Record<string, unknown>) {
  const submitted = productOrderCreateSchema.parse(body);
  const { order, items } = decompose(catalog, 'o-1', submitted, '2026-12-06T10:00:00.000Z');
  return toProductOrder(order, items, { portId: 'DSLAM-10/1/1' }) as Record<string, unknown> & {
    productOrderItem: Record<string, unknown>[];
  };
}

describe('a product order as answered', () => {
  it('is valid by the TMF622 v5 ProductOrder schema for each demo order', () => {
    for (const body of [demoDslOrder('crm-1'), demoTvOrder()]) {
      assert.deepEqual(tmf622Problems('ProductOrder', answered(body)), []);
    }
  });

  it('gives every part a client may send without its @type the type TMF622 requires, and a reference its id', () => {
    const dsl = demoDslOrder('crm-3');
    const lines = dsl.productOrderItem as Record<string, unknown>[];
    const view = answered({
      ...dsl,
      externalId: 'crm-3',
      note: [{ text: 'call before the visit' }],
      productOrderItem: lines.map((line) => ({
        ...line,
        productOffering: { entityId: 'dsl-broadband' },
        note: [{ text: 'ground floor' }],
      })),
    });

    assert.deepEqual(tmf622Problems('ProductOrder', view), []);
    assert.deepEqual(view.externalId, [{ '@type': 'ExternalIdentifier', id: 'crm-3' }]);
    assert.deepEqual(view.note, [{ '@type': 'Note', text: 'call before the visit' }]);
    const [line] = view.productOrderItem;
    assert.deepEqual(line?.productOffering, {
      '@type': 'ProductOfferingRef',
      entityId: 'dsl-broadband',
      id: 'dsl-broadband',
    });
    const product = line?.product as {
      '@type': string;
      productCharacteristic: { '@type': string; name: string }[];
    };
    assert.equal(product['@type'], 'Product');
    assert.deepEqual(
      product.productCharacteristic.map((c) => [c.name, c['@type']]),
      [
        ['bandwidth', 'IntegerCharacteristic'],
        ['serviceAddress', 'StringCharacteristic'],
      ],
    );
  });

  it('records what holds it in fallout, a timeout by its code, and its jeopardy, valid by the schema', () => {
    const submitted = productOrderCreateSchema.parse(demoDslOrder('crm-4'));
    const { order, items } = decompose(catalog, 'o-1', submitted, '2026-12-06T10:00:00.000Z');
    const timedOut = items.map((item) =>
      item.planItemId === 'activate-line'
        ? {
            ...item,
            state: 'FatallyFailed' as const,
            error: 'no final callback by its deadline 2026-12-06T11:00:00.000Z (timed out)',
            updatedAt: '2026-12-06T11:00:00.000Z',
          }
        : item,
    );
    const jeopardy = {
      since: '2026-12-06T10:30:00.000Z',
      kinds: ['late'],
      reasons: ['expected to complete at 2026-12-06T14:00:00.000Z, 2 h after its due date'],
      expectedCompletionDate: '2026-12-06T14:00:00.000Z',
      dueDate: '2026-12-06T12:00:00.000Z',
    };
    const view = toProductOrder(
      { ...order, state: 'held', jeopardy, expectedCompletionDate: jeopardy.expectedCompletionDate },
      timedOut,
    ) as Record<string, unknown>;

    assert.deepEqual(tmf622Problems('ProductOrder', view), []);
    const [error] = view.productOrderErrorMessage as Record<string, unknown>[];
    assert.equal(error?.code, 'timeout');
    assert.match(String(error?.message), /deadline/);
    assert.deepEqual(error?.productOrderItem, [
      {
        '@type': 'ProductOrderItemRef',
        productOrderItemId: '1',
        productOrderId: 'o-1',
        ProductOrderHref: '/tmf-api/productOrderingManagement/v5/productOrder/o-1',
      },
    ]);
    assert.equal(view.expectedCompletionDate, '2026-12-06T14:00:00.000Z');
    const [alert] = view.productOrderJeopardyAlert as Record<string, unknown>[];
    assert.equal(alert?.jeopardyType, 'Hazard');
    assert.equal(alert?.name, 'dueDate');
  });

  it('keeps the @type a client sent', () => {
    const dsl = demoDslOrder('crm-4');
    const [line] = dsl.productOrderItem as Record<string, unknown>[];
    const product = line?.product as { productCharacteristic: Record<string, unknown>[] };
    const view = answered({
      ...dsl,
      productOrderItem: [
        {
          ...line,
          product: {
            ...product,
            productCharacteristic: product.productCharacteristic.map((c) => ({
              '@type': 'Characteristic',
              ...c,
            })),
          },
        },
      ],
    });

    const [answeredLine] = view.productOrderItem;
    assert.ok(answeredLine);
    const { productCharacteristic: characteristics } = answeredLine.product as {
      productCharacteristic: { '@type': string; name: string }[];
    };
    // The address is kept as sent; the bandwidth, sent as text and read as a number, takes its
    // offering's type (docs/api.md: characteristics).
    assert.deepEqual(
      characteristics.map((c) => [c.name, c['@type']]),
      [
        ['bandwidth', 'IntegerCharacteristic'],
        ['serviceAddress', 'Characteristic'],
      ],
    );
    assert.deepEqual(tmf622Problems('ProductOrder', view), []);
  });
});
