import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type CalloutTarget,
  interpretAnswer,
  mappingInput,
  prepareCallout,
  requestRecord,
} from '../../lambdas/domain/callout';
import type { Catalog, SystemInterface } from '../../lambdas/domain/catalog';
import { decompose } from '../../lambdas/domain/decompose';
import { CalloutError, MappingError } from '../../lambdas/domain/errors';
import type { WireResponse } from '../../lambdas/domain/integration-adapters';
import type { ItemRecord, OrderRecord } from '../../lambdas/domain/orchestration';
import { productOrderCreateSchema } from '../../lambdas/domain/product-order';
import { dslCatalog, dslOrderBody, tvLine } from './fixtures/catalogs';

const AT = '2025-03-01T10:00:00.000Z';

/** A two-line order (voice, then DSL) decomposed with the DSL catalog. */
function twoLineOrder(): { order: OrderRecord; items: Map<string, ItemRecord> } {
  const body = dslOrderBody();
  const dslLine = (body.productOrderItem as Record<string, unknown>[])[0];
  const submitted = productOrderCreateSchema.parse({
    ...body,
    productOrderItem: [
      {
        id: 'line-0',
        action: 'add',
        productOffering: { id: 'voice' },
        product: { productCharacteristic: [{ name: 'bandwidth', value: 16 }] },
      },
      dslLine,
    ],
  });
  const { order, items } = decompose(dslCatalog(), 'o-1', submitted, AT);
  return { order, items: new Map(items.map((i) => [i.key, i])) };
}

function itemOf(items: Map<string, ItemRecord>, key: string): ItemRecord {
  const item = items.get(key);
  assert.ok(item, `item ${key}`);
  return item;
}

function withSystemUrl(url: string): Catalog {
  const catalog = dslCatalog();
  catalog.systems.inventory = { id: 'inventory', name: 'Inventory', baseUrl: url, limits: {} };
  return catalog;
}

/** The interface of the catalog and its system, as the worker reads them before a callout. */
function targetOf(catalog: Catalog, interfaceId: string): CalloutTarget {
  const iface = catalog.interfaces[interfaceId];
  assert.ok(iface, `interface ${interfaceId}`);
  const system = catalog.systems[iface.system];
  assert.ok(system, `system ${iface.system}`);
  return { system, iface };
}

function interfaceOf(catalog: Catalog, interfaceId: string): SystemInterface {
  return targetOf(catalog, interfaceId).iface;
}

/** A system's answer as the HTTP client returns it. */
const wire = (status: number, body: string): WireResponse => ({
  status,
  headers: { 'content-type': 'application/json' },
  body,
});

async function rejectsWithCalloutError(
  promise: Promise<unknown>,
  status: number | undefined,
  message: RegExp,
) {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof CalloutError, `a CalloutError, not ${String(error)}`);
    assert.equal(error.status, status);
    assert.match(error.message, message);
    return true;
  });
}

describe('mappingInput', () => {
  it('gives mappings the order with its id, the item line, its characteristics by name, its prices and the context', () => {
    // Prepare
    const { order, items } = twoLineOrder();
    const context = { portId: 'P-7' };

    // Act
    const input = mappingInput(order, itemOf(items, 'dsl-broadband.reserve-port.2'), context);

    // Assess
    assert.equal(input.order.id, 'o-1');
    assert.deepEqual(input.order.externalId, [{ id: 'crm-42' }]);
    assert.equal(input.line.id, 'line-1');
    assert.deepEqual(
      input.lines.map((l) => l.id),
      ['line-1'],
      'only the lines of the DSL run',
    );
    // As the offering declares it: the bandwidth sent as "100" is the integer 100.
    assert.deepEqual(input.characteristics, { bandwidth: 100, serviceAddress: { street: 'Main St 1' } });
    assert.deepEqual(input.prices, [
      {
        priceType: 'recurring',
        recurringChargePeriod: 'month',
        price: { taxIncludedAmount: { unit: 'EUR', value: 30 } },
      },
    ]);
    assert.equal(input.attributes, context);
  });

  it('gives every line of the item plan run, and only those, in their order', () => {
    // Prepare: voice, TV, voice, TV
    const submitted = productOrderCreateSchema.parse({
      productOrderItem: [
        { id: 'v1', action: 'add', productOffering: { id: 'voice' } },
        tvLine('tv-a', { package: 'sports' }),
        { id: 'v2', action: 'add', productOffering: { id: 'voice' } },
        tvLine('tv-b'),
      ],
    });
    const { order, items } = decompose(dslCatalog(), 'o-2', submitted, AT);
    const byKey = new Map(items.map((i) => [i.key, i]));

    // Act
    const ofTv = mappingInput(order, itemOf(byKey, 'tv-bundle.choose-channels.4'), {});
    const ofVoice = mappingInput(order, itemOf(byKey, 'voice.number-ported.3'), {});

    // Assess
    assert.equal(ofTv.line.id, 'tv-b');
    assert.deepEqual(
      ofTv.lines.map((l) => l.id),
      ['tv-a', 'tv-b'],
    );
    assert.deepEqual(
      ofVoice.lines.map((l) => l.id),
      ['v1', 'v2'],
    );
  });

  it("gives an order-scoped item the run's first line as its line, with its characteristics and prices", () => {
    const submitted = productOrderCreateSchema.parse({
      productOrderItem: [
        { id: 'v1', action: 'add', productOffering: { id: 'voice' } },
        tvLine('tv-a', { package: 'sports' }),
        tvLine('tv-b', { package: 'news' }),
      ],
    });
    const { order, items } = decompose(dslCatalog(), 'o-3', submitted, AT);
    const welcome = itemOf(new Map(items.map((i) => [i.key, i])), 'tv-bundle.welcome-pack');

    const input = mappingInput(order, welcome, { channelPackage: 'news' });

    assert.equal(welcome.lineId, undefined);
    assert.equal(input.line.id, 'tv-a');
    assert.deepEqual(input.characteristics, { package: 'sports' });
    assert.deepEqual(input.prices, []);
    assert.deepEqual(
      input.lines.map((l) => l.id),
      ['tv-a', 'tv-b'],
    );
    assert.deepEqual(input.attributes, { channelPackage: 'news' });
  });

  it('gives no line and no lines for an item whose plan the order does not run', () => {
    const { order, items } = twoLineOrder();
    const { lineId: _line, ...voice } = itemOf(items, 'voice.number-ported.1');
    const orphan = { ...voice, planId: 'no-such-plan' };

    const input = mappingInput(order, orphan, {});

    assert.deepEqual(input.line, {});
    assert.deepEqual(input.lines, []);
    assert.deepEqual(input.characteristics, {});
  });

  it('gives empty characteristics and prices for a line that has none, and {} for an unknown line', () => {
    const { order, items } = twoLineOrder();
    const voice = itemOf(items, 'voice.number-ported.1');

    const ofVoice = mappingInput(order, voice, {});
    const ofNothing = mappingInput(order, { ...voice, lineId: 'no-such-line' }, {});

    assert.deepEqual(ofVoice.characteristics, { bandwidth: 16 });
    assert.deepEqual(ofVoice.prices, []);
    assert.deepEqual(ofNothing.line, {});
    assert.deepEqual(ofNothing.characteristics, {});
  });
});

describe('mappingInput: lineAttributes', () => {
  /** A two-line DSL order, decomposed. */
  function twoDslLines(): { order: OrderRecord; items: Map<string, ItemRecord> } {
    const [line] = dslOrderBody().productOrderItem as Record<string, unknown>[];
    const submitted = productOrderCreateSchema.parse({
      ...dslOrderBody(),
      productOrderItem: [
        { ...line, id: 'line-1' },
        { ...line, id: 'line-2' },
      ],
    });
    const { order, items } = decompose(dslCatalog(), 'o-4', submitted, AT);
    return { order, items: new Map(items.map((i) => [i.key, i])) };
  }

  /** The item as the store has it once it completed at `completedAt`, having written `attributes`. */
  function completed(
    items: Map<string, ItemRecord>,
    key: string,
    attributes: Record<string, unknown>,
    completedAt: string,
  ): void {
    items.set(key, { ...itemOf(items, key), state: 'Completed', outputAttributes: attributes, completedAt });
  }

  it("gives each line's activation its own line's port, while the context holds the last port written", () => {
    // Prepare: both lines reserved a port; line 2 finished last, so the context has its port.
    const { order, items } = twoDslLines();
    completed(items, 'dsl-broadband.reserve-port.1', { portId: 'P-1' }, '2025-03-01T10:00:01.000Z');
    completed(items, 'dsl-broadband.reserve-port.2', { portId: 'P-2' }, '2025-03-01T10:00:02.000Z');
    const context = { portId: 'P-2' };

    // Act
    const ofLine1 = mappingInput(
      order,
      itemOf(items, 'dsl-broadband.activate-line.1'),
      context,
      items.values(),
    );
    const ofLine2 = mappingInput(
      order,
      itemOf(items, 'dsl-broadband.activate-line.2'),
      context,
      items.values(),
    );

    // Assess
    assert.deepEqual(ofLine1.lineAttributes, { portId: 'P-1' });
    assert.deepEqual(ofLine2.lineAttributes, { portId: 'P-2' });
    assert.deepEqual(ofLine1.attributes, { portId: 'P-2' }, 'the order context is unchanged');
  });

  it('lets a request mapping send the port of its own line', async () => {
    // Prepare
    const { order, items } = twoDslLines();
    completed(items, 'dsl-broadband.reserve-port.1', { portId: 'P-1' }, '2025-03-01T10:00:01.000Z');
    completed(items, 'dsl-broadband.reserve-port.2', { portId: 'P-2' }, '2025-03-01T10:00:02.000Z');
    const catalog = dslCatalog();
    catalog.mappings['activate-request'] = '{ "line": line.id, "portId": lineAttributes.portId }';
    interfaceOf(catalog, 'activate-line').requestMapping = 'activate-request';
    const activate = itemOf(items, 'dsl-broadband.activate-line.1');

    // Act
    const prepared = await prepareCallout(
      catalog,
      targetOf(catalog, 'activate-line'),
      activate,
      mappingInput(order, activate, { portId: 'P-2' }, items.values()),
    );

    // Assess
    assert.deepEqual(prepared.mapped, { line: 'line-1', portId: 'P-1' });
  });

  it('merges what the done items of the line wrote, oldest first, so the latest write of a name wins', () => {
    // Prepare: the activation completed after the reservation and wrote a port too.
    const { order, items } = twoDslLines();
    completed(items, 'dsl-broadband.activate-line.1', { portId: 'P-new' }, '2025-03-01T10:00:05.000Z');
    completed(
      items,
      'dsl-broadband.reserve-port.1',
      { portId: 'P-old', vlan: 7 },
      '2025-03-01T10:00:01.000Z',
    );

    // Act
    const input = mappingInput(order, itemOf(items, 'dsl-broadband.done.1'), {}, items.values());

    // Assess
    assert.deepEqual(input.lineAttributes, { portId: 'P-new', vlan: 7 });
  });

  it('leaves out items that are not Completed, items of other lines and the item itself', () => {
    // Prepare
    const { order, items } = twoDslLines();
    const reserve = itemOf(items, 'dsl-broadband.reserve-port.1');
    items.set(reserve.key, { ...reserve, state: 'FatallyFailed', outputAttributes: { portId: 'P-failed' } });
    completed(items, 'dsl-broadband.reserve-port.2', { portId: 'P-2' }, '2025-03-01T10:00:02.000Z');
    completed(items, 'dsl-broadband.activate-line.1', { lineActive: true }, '2025-03-01T10:00:03.000Z');

    // Act
    const input = mappingInput(order, itemOf(items, 'dsl-broadband.activate-line.1'), {}, items.values());

    // Assess
    assert.deepEqual(input.lineAttributes, {});
  });

  it('gives {} when no items are given', () => {
    const { order, items } = twoDslLines();

    const input = mappingInput(order, itemOf(items, 'dsl-broadband.activate-line.1'), { portId: 'P-1' });

    assert.deepEqual(input.lineAttributes, {});
  });

  it('gives an order-scoped item {} even when its first line has done items', () => {
    // Prepare
    const submitted = productOrderCreateSchema.parse({
      productOrderItem: [tvLine('tv-a', { package: 'sports' }), tvLine('tv-b')],
    });
    const decomposed = decompose(dslCatalog(), 'o-5', submitted, AT);
    const items = new Map(decomposed.items.map((i) => [i.key, i]));
    completed(items, 'tv-bundle.choose-channels.1', { channelPackage: 'sports' }, '2025-03-01T10:00:01.000Z');
    const welcome = itemOf(items, 'tv-bundle.welcome-pack');

    // Act
    const input = mappingInput(decomposed.order, welcome, { channelPackage: 'sports' }, items.values());

    // Assess
    assert.equal(input.line.id, 'tv-a');
    assert.deepEqual(input.lineAttributes, {});
  });
});

describe('prepareCallout', () => {
  it('builds the request with the request mapping, JSON headers and the idempotency key', async () => {
    const { order, items } = twoLineOrder();
    const item = itemOf(items, 'dsl-broadband.reserve-port.2');
    const catalog = dslCatalog();

    const prepared = await prepareCallout(
      catalog,
      targetOf(catalog, 'reserve-port'),
      item,
      mappingInput(order, item, {}),
    );

    assert.deepEqual(prepared, {
      url: 'http://inventory.test:4101/api/ports/reservations',
      method: 'POST',
      headers: {
        accept: 'application/json',
        'content-type': 'application/json',
        'idempotency-key': 'o-1.dsl-broadband.reserve-port.2',
      },
      mapped: { orderId: 'o-1', orderItemId: 'line-1', bandwidthMbps: 100 },
      body: '{"orderId":"o-1","orderItemId":"line-1","bandwidthMbps":100}',
      timeoutMs: 10_000,
    });
  });

  for (const [baseUrl, expected] of [
    ['http://inventory.test/api', 'http://inventory.test/api/ports/reservations'],
    ['http://inventory.test/api/', 'http://inventory.test/api/ports/reservations'],
    ['http://inventory.test', 'http://inventory.test/ports/reservations'],
    ['http://inventory.test/', 'http://inventory.test/ports/reservations'],
    ['https://inventory.test:8443/a/b', 'https://inventory.test:8443/a/b/ports/reservations'],
  ] as const) {
    it(`joins ${baseUrl} and the interface path under the base path`, async () => {
      const { order, items } = twoLineOrder();
      const item = itemOf(items, 'dsl-broadband.reserve-port.2');
      const catalog = withSystemUrl(baseUrl);

      const prepared = await prepareCallout(
        catalog,
        targetOf(catalog, 'reserve-port'),
        item,
        mappingInput(order, item, {}),
      );

      assert.equal(prepared.url, expected);
    });
  }

  it('calls the system and interface it is given, as they are now, rather than those of the catalog', async () => {
    // Prepare: an operator moved the inventory and slowed its interface since the catalog was built.
    const { order, items } = twoLineOrder();
    const item = itemOf(items, 'dsl-broadband.reserve-port.2');
    const catalog = dslCatalog();
    const { system, iface } = targetOf(catalog, 'reserve-port');

    // Act
    const prepared = await prepareCallout(
      catalog,
      {
        system: { ...system, baseUrl: 'http://inventory-2.test/v2' },
        iface: { ...iface, timeoutSeconds: 60 },
      },
      item,
      mappingInput(order, item, {}),
    );

    // Assess
    assert.equal(prepared.url, 'http://inventory-2.test/v2/ports/reservations');
    assert.equal(prepared.timeoutMs, 60_000);
  });

  it('sends the order, line and attributes when the interface has no request mapping', async () => {
    const { order, items } = twoLineOrder();
    const item = itemOf(items, 'dsl-broadband.activate-line.2');
    const input = mappingInput(order, item, { portId: 'P-7' });
    const catalog = dslCatalog();

    const prepared = await prepareCallout(catalog, targetOf(catalog, 'activate-line'), item, input);

    assert.equal(prepared.url, 'http://activation.test:4102/lines');
    assert.equal(prepared.method, 'PUT');
    assert.deepEqual(prepared.mapped, {
      order: input.order,
      line: input.line,
      attributes: { portId: 'P-7' },
    });
    assert.deepEqual(JSON.parse(prepared.body ?? ''), prepared.mapped);
    assert.equal(prepared.timeoutMs, 30_000);
  });

  for (const method of ['GET', 'DELETE'] as const) {
    it(`sends no body and no content-type with ${method}`, async () => {
      const { order, items } = twoLineOrder();
      const catalog = dslCatalog();
      interfaceOf(catalog, 'port-status').method = method;
      const item = { ...itemOf(items, 'dsl-broadband.reserve-port.2'), interfaceId: 'port-status' };

      const prepared = await prepareCallout(
        catalog,
        targetOf(catalog, 'port-status'),
        item,
        mappingInput(order, item, {}),
      );

      assert.equal(prepared.method, method);
      assert.equal(prepared.body, undefined);
      assert.equal('body' in prepared, false);
      assert.deepEqual(prepared.headers, {
        accept: 'application/json',
        'idempotency-key': 'o-1.dsl-broadband.reserve-port.2',
      });
    });
  }

  it('fails with a MappingError for a request mapping the catalog does not have', async () => {
    // The interface and system are now read from the configuration store before the callout (see
    // run-item.test.ts); what prepareCallout still looks up in the catalog is the mapping.
    const { order, items } = twoLineOrder();
    const item = itemOf(items, 'dsl-broadband.reserve-port.2');
    const catalog = dslCatalog();
    delete catalog.mappings['reserve-request'];

    await assert.rejects(
      prepareCallout(catalog, targetOf(catalog, 'reserve-port'), item, mappingInput(order, item, {})),
      (error: unknown) => {
        assert.ok(error instanceof MappingError, `a MappingError, not ${String(error)}`);
        assert.equal(error.mapping, 'reserve-request');
        assert.match(error.message, /is not in the catalog/);
        return true;
      },
    );
  });

  it('passes a failing request mapping on as a MappingError', async () => {
    const { order, items } = twoLineOrder();
    const catalog = dslCatalog();
    catalog.mappings['reserve-request'] = '$nope()';
    const item = itemOf(items, 'dsl-broadband.reserve-port.2');

    await assert.rejects(
      prepareCallout(catalog, targetOf(catalog, 'reserve-port'), item, mappingInput(order, item, {})),
      MappingError,
    );
  });

  it('records the prepared request as sent, with the mapped body and no encoded copy for sync-rest', async () => {
    const { order, items } = twoLineOrder();
    const item = itemOf(items, 'dsl-broadband.reserve-port.2');
    const catalog = dslCatalog();
    const prepared = await prepareCallout(
      catalog,
      targetOf(catalog, 'reserve-port'),
      item,
      mappingInput(order, item, {}),
    );

    const record = requestRecord(prepared, 'sync-rest', AT);

    assert.deepEqual(record, {
      method: 'POST',
      url: prepared.url,
      headers: prepared.headers,
      body: { orderId: 'o-1', orderItemId: 'line-1', bandwidthMbps: 100 },
      sentAt: AT,
    });
  });
});

describe('a callout that names what it acts on: DELETE and GET with path templates', () => {
  /** The DSL catalog with inventory's release and look-up of a port, each addressed by the port. */
  const withPortInterfaces = (): Catalog => {
    const catalog = dslCatalog();
    const base = { system: 'inventory', adapter: 'sync-rest', status: 'Online', timeoutSeconds: 10 } as const;
    catalog.interfaces['release-port'] = {
      ...base,
      id: 'release-port',
      method: 'DELETE',
      path: '/ports/reservations/{portId}?order={order.id}',
    };
    catalog.interfaces['look-up-port'] = {
      ...base,
      id: 'look-up-port',
      method: 'GET',
      path: '/ports/{portId}',
      responseMapping: 'port-state',
    };
    catalog.mappings['port-state'] = '{ "portState": response.state }';
    return catalog;
  };

  it('sends a DELETE to the path the order’s attributes fill, with no body', async () => {
    const { order, items } = twoLineOrder();
    const item = itemOf(items, 'dsl-broadband.reserve-port.2');
    const catalog = withPortInterfaces();

    const prepared = await prepareCallout(
      catalog,
      targetOf(catalog, 'release-port'),
      item,
      mappingInput(order, item, { portId: 'DSLAM 7/12' }),
    );

    assert.equal(prepared.url, 'http://inventory.test:4101/api/ports/reservations/DSLAM%207%2F12?order=o-1');
    assert.equal(prepared.method, 'DELETE');
    assert.equal(prepared.body, undefined);
    assert.equal(prepared.headers['content-type'], undefined);
    assert.equal(requestRecord(prepared, 'sync-rest', AT).url, prepared.url);
  });

  it('takes a DELETE’s empty answer (a 204, or a 200 with nothing) as done, with no attributes', async () => {
    const { order, items } = twoLineOrder();
    const item = itemOf(items, 'dsl-broadband.reserve-port.2');
    const catalog = withPortInterfaces();
    const input = mappingInput(order, item, { portId: 'P-1' });

    for (const status of [204, 200]) {
      assert.deepEqual(
        await interpretAnswer(catalog, interfaceOf(catalog, 'release-port'), wire(status, ''), input),
        { body: null, attributes: {} },
      );
    }
  });

  it('sends a GET with no body and maps its answer', async () => {
    const { order, items } = twoLineOrder();
    const item = itemOf(items, 'dsl-broadband.reserve-port.2');
    const catalog = withPortInterfaces();
    const input = mappingInput(order, item, { portId: 'P-1' });

    const prepared = await prepareCallout(catalog, targetOf(catalog, 'look-up-port'), item, input);
    const answer = await interpretAnswer(
      catalog,
      interfaceOf(catalog, 'look-up-port'),
      wire(200, '{"state":"reserved"}'),
      input,
    );

    assert.equal(prepared.url, 'http://inventory.test:4101/api/ports/P-1');
    assert.equal(prepared.body, undefined);
    assert.deepEqual(answer.attributes, { portState: 'reserved' });
  });

  it('fails with a MappingError naming the placeholder when the order has no value for it', async () => {
    const { order, items } = twoLineOrder();
    const item = itemOf(items, 'dsl-broadband.reserve-port.2');
    const catalog = withPortInterfaces();

    await assert.rejects(
      prepareCallout(catalog, targetOf(catalog, 'release-port'), item, mappingInput(order, item, {})),
      (error: unknown) =>
        error instanceof MappingError &&
        /path of interface release-port.*\{portId\} names attribute "portId"/.test(error.message),
    );
  });
});

describe('interpretAnswer', () => {
  const reserve = () => {
    const { order, items } = twoLineOrder();
    const item = itemOf(items, 'dsl-broadband.reserve-port.2');
    const catalog = dslCatalog();
    return {
      catalog,
      iface: interfaceOf(catalog, 'reserve-port'),
      input: mappingInput(order, item, { earlier: true }),
    };
  };

  it('turns a 2xx JSON answer into attributes with the response mapping', async () => {
    const { catalog, iface, input } = reserve();

    const answer = await interpretAnswer(catalog, iface, wire(201, '{"portId":"P-7","extra":1}'), input);

    assert.deepEqual(answer, { body: { portId: 'P-7', extra: 1 }, attributes: { portId: 'P-7' } });
  });

  it('lets the response mapping read the status and the attributes so far', async () => {
    const { catalog, iface, input } = reserve();
    catalog.mappings['reserve-response'] =
      '{ "status": status, "seen": attributes.earlier, "line": line.id }';

    const answer = await interpretAnswer(catalog, iface, wire(200, '{}'), input);

    assert.deepEqual(answer.attributes, { status: 200, seen: true, line: 'line-1' });
  });

  it('writes no attributes when the interface has no response mapping', async () => {
    const { catalog, input } = reserve();

    const answer = await interpretAnswer(
      catalog,
      interfaceOf(catalog, 'port-status'),
      wire(200, '[1]'),
      input,
    );

    assert.deepEqual(answer, { body: [1], attributes: {} });
  });

  it('refuses a 2xx answer that is not JSON, quoting it', async () => {
    const { catalog, iface, input } = reserve();

    await rejectsWithCalloutError(
      interpretAnswer(catalog, iface, wire(200, '<html>OK</html>'), input),
      200,
      /^answered 200 with a body that is not JSON: "<html>OK<\/html>"$/,
    );
  });

  it('refuses an empty 2xx answer', async () => {
    const { catalog, iface, input } = reserve();

    for (const [status, body] of [
      [200, ''],
      [204, '  \n'],
    ] as const) {
      await rejectsWithCalloutError(
        interpretAnswer(catalog, iface, wire(status, body), input),
        status,
        new RegExp(`^answered ${status} with an empty body where JSON was expected$`),
      );
    }
  });

  it('refuses a redirect, saying it is not followed', async () => {
    const { catalog, iface, input } = reserve();

    await rejectsWithCalloutError(
      interpretAnswer(catalog, iface, wire(302, 'Found'), input),
      302,
      /^answered 302, a redirect, which callouts do not follow$/,
    );
  });

  it('refuses a 4xx or 5xx answer, with its status and an excerpt of its body', async () => {
    const { catalog, iface, input } = reserve();

    await rejectsWithCalloutError(
      interpretAnswer(catalog, iface, wire(503, 'Service Unavailable'), input),
      503,
      /^answered 503: Service Unavailable$/,
    );
    await rejectsWithCalloutError(
      interpretAnswer(catalog, iface, wire(422, '{"error":"no free port"}'), input),
      422,
      /^answered 422: \{"error":"no free port"\}$/,
    );
    await rejectsWithCalloutError(
      interpretAnswer(catalog, iface, wire(500, ''), input),
      500,
      /^answered 500$/,
    );
  });

  it('cuts a long error body to an excerpt', async () => {
    const { catalog, iface, input } = reserve();

    await assert.rejects(
      interpretAnswer(catalog, iface, wire(500, 'x'.repeat(5000)), input),
      (error: Error) => {
        assert.equal(error.message, `answered 500: ${'x'.repeat(300)}`);
        return true;
      },
    );
  });

  it('passes a failing response mapping on as a MappingError', async () => {
    const { catalog, iface, input } = reserve();
    catalog.mappings['reserve-response'] = 'response.portId';

    await assert.rejects(
      interpretAnswer(catalog, iface, wire(200, '{"portId":"P-7"}'), input),
      (error: unknown) => {
        assert.ok(error instanceof MappingError);
        assert.equal(error.mapping, 'reserve-response');
        return true;
      },
    );
  });

  it('fails with a MappingError for a response mapping the catalog does not have', async () => {
    const { catalog, iface, input } = reserve();
    delete catalog.mappings['reserve-response'];

    await assert.rejects(
      interpretAnswer(catalog, iface, wire(200, '{"portId":"P-7"}'), input),
      (error: unknown) => {
        assert.ok(error instanceof MappingError);
        assert.equal(error.mapping, 'reserve-response');
        assert.match(error.message, /is not in the catalog/);
        return true;
      },
    );
  });
});
