import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { mappingInput } from '../../lambdas/domain/callout';
import { MAX_ORDER_BYTES } from '../../lambdas/domain/product-order';
import { handleOrderApi } from '../../lambdas/order-api/handler';
import { loadCatalog } from '../../lib/catalog/load-catalog';
import { demoDslOrder } from '../../local/demo-orders';
import { dslCatalog, LINE_CHARACTERISTICS, offering } from './fixtures/catalogs';
import { orderApiDeps, postOrder } from './fixtures/order-api';

/** The demo catalog, whose DSL offering takes an integer bandwidth and a service address (both required). */
const DEMO = loadCatalog(resolve(import.meta.dirname, '../../catalog'));
const CHARACTERISTIC = 'productOrderItem.0.product.productCharacteristic';

interface ErrorBody {
  code: string;
  message: string;
  problems: { field: string; message: string }[];
}

/** The demo DSL order with its line's characteristics replaced. */
function dslOrderWith(...characteristics: { name: string; value: unknown }[]) {
  const order = demoDslOrder('crm-7');
  const [line] = order.productOrderItem;
  return { ...order, productOrderItem: [{ ...line, product: { productCharacteristic: characteristics } }] };
}

/** The order with more lines after its own. */
const withLines = (order: { productOrderItem: unknown[] }, ...lines: Record<string, unknown>[]) => ({
  ...order,
  productOrderItem: [...order.productOrderItem, ...lines],
});

const tvLine = (id: string, characteristics: { name: string; value: unknown }[] = []) => ({
  id,
  action: 'add',
  productOffering: { id: 'tv-bundle' },
  product: { productCharacteristic: characteristics },
});

/** Submits the order to the demo catalog's API and, when it is refused, says that nothing was written or started. */
async function submit(body: unknown, catalog = DEMO) {
  const { deps, store, started } = orderApiDeps(catalog);
  const answer = await handleOrderApi(deps, postOrder(body));
  if (answer.statusCode !== 201) {
    assert.equal((await store.listOrders({ limit: 10 })).orders.length, 0, 'no order was written');
    assert.deepEqual(started, [], 'no plan was started');
  }
  return { answer, store, started };
}

const errorOf = (answer: APIGatewayProxyStructuredResultV2) => JSON.parse(String(answer.body)) as ErrorBody;

describe('the order API holds each line to what its offering takes', () => {
  it('refuses a bandwidth of "100M" (valid TMF622) with 400 naming the line and the characteristic', async () => {
    const { answer } = await submit(
      dslOrderWith({ name: 'bandwidth', value: '100M' }, { name: 'serviceAddress', value: '1 Main Street' }),
    );

    assert.equal(answer.statusCode, 400);
    const error = errorOf(answer);
    assert.deepEqual(error.problems, [
      {
        field: `${CHARACTERISTIC}.0.value`,
        message: 'line "1": characteristic "bandwidth" must be an integer (Mbit/s), not "100M"',
      },
    ]);
    assert.equal(error.message, `${CHARACTERISTIC}.0.value: ${error.problems[0]?.message}`);
  });

  it('refuses a DSL line without its service address with 400 naming the line and the characteristic', async () => {
    const { answer } = await submit(dslOrderWith({ name: 'bandwidth', value: '100' }));

    assert.equal(answer.statusCode, 400);
    assert.deepEqual(errorOf(answer).problems, [
      { field: CHARACTERISTIC, message: 'line "1": characteristic "serviceAddress" is required: a string' },
    ]);
  });

  it('names every problem of every line at once, with a line no plan fulfils', async () => {
    const order = withLines(
      dslOrderWith({ name: 'bandwidth', value: 30 }, { name: 'bandwith', value: 100 }),
      tvLine('tv', [{ name: 'package', value: 'news' }]),
      { id: 'bird', action: 'add', productOffering: { id: 'carrier-pigeon' } },
    );

    const { answer } = await submit(order);

    assert.equal(answer.statusCode, 400);
    assert.deepEqual(
      errorOf(answer).problems.map((p) => [p.field, p.message.replace(/ \(it takes: .*\)$/, '')]),
      [
        [
          `${CHARACTERISTIC}.0.value`,
          'line "1": characteristic "bandwidth" must be one of 16, 50, 100, 250 (Mbit/s), not 30',
        ],
        [
          `${CHARACTERISTIC}.1.name`,
          'line "1": characteristic "bandwith" is not one offering "dsl-broadband" takes',
        ],
        [CHARACTERISTIC, 'line "1": characteristic "serviceAddress" is required: a string'],
        [
          'productOrderItem.1.product.productCharacteristic.0.value',
          'line "tv": characteristic "package" must be one of "basic", "sports", "cinema", "family", not "news"',
        ],
        [
          'productOrderItem.2.productOffering',
          'no plan fulfils offering "carrier-pigeon" with action "add" (line "bird")',
        ],
      ],
    );
  });

  it('does not hold a noChange line to anything: no plan runs for it', async () => {
    const order = withLines(demoDslOrder('crm-8'), {
      id: 'kept',
      action: 'noChange',
      productOffering: { id: 'tv-bundle' },
      product: { productCharacteristic: [{ name: 'anything', value: 'at all' }] },
    });

    const { answer } = await submit(order);

    assert.equal(answer.statusCode, 201, String(answer.body));
  });

  it('keeps the order as read: typed values and the offerings’ defaults, which GET and the mappings show', async () => {
    // Prepare: the demo DSL line (bandwidth sent as "100") and a TV line that says nothing.
    const order = withLines(demoDslOrder('crm-9'), tvLine('tv'));

    // Act
    const { answer, store, started } = await submit(order);

    // Assess
    assert.equal(answer.statusCode, 201, String(answer.body));
    assert.equal(started.length, 2);
    const created = JSON.parse(String(answer.body)) as {
      id: string;
      productOrderItem: { product: { productCharacteristic: unknown[] } }[];
    };
    assert.deepEqual(
      created.productOrderItem.map((l) => l.product.productCharacteristic),
      [
        [
          // Answered with the @type TMF622 requires: that of the value as read.
          { '@type': 'IntegerCharacteristic', name: 'bandwidth', value: 100 },
          { '@type': 'StringCharacteristic', name: 'serviceAddress', value: '1 Main Street, Springfield' },
        ],
        [
          { '@type': 'StringCharacteristic', name: 'package', value: 'basic' },
          { '@type': 'StringCharacteristic', name: 'installation', value: 'self' },
        ],
      ],
    );
    const aggregate = await store.getAggregate(created.id);
    assert.ok(aggregate);
    const choose = aggregate.items.get('tv-bundle.choose-channels.2');
    const reserve = aggregate.items.get('dsl-broadband.reserve-port.1');
    assert.ok(choose && reserve);
    assert.deepEqual(mappingInput(aggregate.order, choose, {}).characteristics, {
      package: 'basic',
      installation: 'self',
    });
    assert.equal(mappingInput(aggregate.order, reserve, {}).characteristics.bandwidth, 100);
  });

  it('refuses with 413 an order that the offerings’ defaults make bigger than an order may be', async () => {
    // Prepare: voice lines that say nothing, and a voice note whose default is 1,300 characters.
    const catalog = dslCatalog();
    catalog.offerings.voice = offering('voice', [
      ...LINE_CHARACTERISTICS.filter((c) => c.name !== 'note'),
      { name: 'note', valueType: 'string', default: 'n'.repeat(1300) },
    ]);
    const lines = Array.from({ length: 40 }, (_, i) => ({
      id: `v${i}`,
      action: 'add',
      productOffering: { id: 'voice' },
    }));

    // Act
    const { answer } = await submit({ productOrderItem: lines }, catalog);

    // Assess
    assert.equal(answer.statusCode, 413, String(answer.body).slice(0, 300));
    assert.match(
      errorOf(answer).message,
      new RegExp(
        `^the order with its offerings' defaults is \\d+ bytes as JSON; at most ${MAX_ORDER_BYTES} are accepted`,
      ),
    );
  });
});
