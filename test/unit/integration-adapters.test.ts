import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type CalloutTarget,
  interpretAnswer,
  mappingInput,
  prepareCallout,
  readAnswer,
  requestRecord,
  wireUrl,
} from '../../lambdas/domain/callout';
import type { Catalog } from '../../lambdas/domain/catalog';
import { decompose } from '../../lambdas/domain/decompose';
import { CalloutError } from '../../lambdas/domain/errors';
import {
  type CalloutCall,
  type CustomAdapter,
  defineCustomAdapter,
  integrationAdapter,
  isAsyncAdapter,
  registeredCustomAdapters,
  syncRest,
  type WireResponse,
} from '../../lambdas/domain/integration-adapters';
import type { ItemRecord } from '../../lambdas/domain/orchestration';
import { productOrderCreateSchema } from '../../lambdas/domain/product-order';
import { dslCatalog, dslOrderBody } from './fixtures/catalogs';

const AT = '2025-03-01T10:00:00.000Z';
const RESERVE = 'dsl-broadband.reserve-port.1';

/** The registry lives for the whole process: every test registers under a name of its own. */
let registered = 0;
const uniqueName = (what: string) => `test-${what}-${++registered}`;

const call = (method: string): CalloutCall => ({ interfaceId: 'reserve-port', method });

const wire = (status: number, body: string, headers: Record<string, string> = {}): WireResponse => ({
  status,
  headers,
  body,
});

/** Asserts that `run` throws (or rejects with) a CalloutError whose message matches and with this status. */
async function assertCalloutError(
  run: () => unknown,
  message: RegExp,
  status?: number,
): Promise<CalloutError> {
  let caught: unknown;
  try {
    await run();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof CalloutError, `a CalloutError, not ${String(caught)}`);
  assert.match(caught.message, message);
  assert.equal(caught.status, status);
  return caught;
}

/** A tiny XML adapter, as a legacy system's catalog/adapters/<name>.ts might define it. */
const xmlAdapter: CustomAdapter = {
  encodeRequest(request) {
    const fields = Object.entries(request as Record<string, unknown>)
      .map(([name, value]) => `<${name}>${String(value)}</${name}>`)
      .join('');
    return { headers: { 'Content-Type': 'application/xml' }, body: `<request>${fields}</request>` };
  },
  decodeResponse(response) {
    const port = /<portId>([^<]*)<\/portId>/.exec(response.body)?.[1];
    if (port === undefined) throw new Error('no <portId> in the answer');
    return { portId: port };
  },
};

/** The DSL catalog whose reserve-port interface uses the adapter `name`, and a reserve item with its input. */
function reserveWith(name: string) {
  const catalog: Catalog = dslCatalog();
  const iface = catalog.interfaces['reserve-port'];
  const system = catalog.systems.inventory;
  assert.ok(iface && system);
  iface.adapter = name;
  const submitted = productOrderCreateSchema.parse(dslOrderBody());
  const { order, items } = decompose(catalog, 'o-1', submitted, AT);
  const item = items.find((i) => i.key === RESERVE);
  assert.ok(item, RESERVE);
  const target: CalloutTarget = { system, iface };
  return { catalog, target, item: item as ItemRecord, input: mappingInput(order, item, {}) };
}

describe('sync-rest: encoding', () => {
  for (const method of ['GET', 'DELETE']) {
    it(`sends no body and no content-type with ${method}`, () => {
      // Act
      const encoded = syncRest.encodeRequest({ orderId: 'o-1' }, call(method));

      // Assess
      assert.deepEqual(encoded, { headers: {} });
    });
  }

  for (const method of ['POST', 'PUT', 'PATCH']) {
    it(`sends ${method} bodies as JSON with their content-type`, () => {
      // Act
      const encoded = syncRest.encodeRequest({ orderId: 'o-1', bandwidthMbps: 100 }, call(method));

      // Assess
      assert.deepEqual(encoded, {
        headers: { 'content-type': 'application/json' },
        body: '{"orderId":"o-1","bandwidthMbps":100}',
      });
    });
  }
});

describe('sync-rest: decoding', () => {
  it('reads a JSON answer', () => {
    // Act
    const decoded = syncRest.decodeResponse(wire(201, '{"portId":"P-7","ok":[1,2]}'), call('POST'));

    // Assess
    assert.deepEqual(decoded, { portId: 'P-7', ok: [1, 2] });
  });

  it('refuses an empty answer, or one of only whitespace, with its status', async () => {
    for (const [status, body] of [
      [200, ''],
      [204, ' \n\t'],
    ] as const) {
      await assertCalloutError(
        () => syncRest.decodeResponse(wire(status, body), call('POST')),
        new RegExp(`^answered ${status} with an empty body where JSON was expected$`),
        status,
      );
    }
  });

  it('refuses an answer that is not JSON, quoting an excerpt of at most 120 characters', async () => {
    await assertCalloutError(
      () => syncRest.decodeResponse(wire(200, '<html>OK</html>'), call('POST')),
      /^answered 200 with a body that is not JSON: "<html>OK<\/html>"$/,
      200,
    );
    const long = `<html>${'y'.repeat(500)}</html>`;
    const error = await assertCalloutError(
      () => syncRest.decodeResponse(wire(200, long), call('POST')),
      /^answered 200 with a body that is not JSON: /,
      200,
    );
    assert.equal(
      error.message,
      `answered 200 with a body that is not JSON: ${JSON.stringify(long.slice(0, 120))}`,
    );
  });
});

describe('the custom adapter registry', () => {
  it('finds a custom adapter under the name it was defined with', () => {
    // Prepare
    const name = uniqueName('xml');

    // Act
    const defined = defineCustomAdapter(name, xmlAdapter);

    // Assess
    assert.equal(defined, xmlAdapter);
    assert.equal(integrationAdapter(name), xmlAdapter);
    assert.ok(registeredCustomAdapters().includes(name));
  });

  it('gives the built-in adapter for "sync-rest"', () => {
    assert.equal(integrationAdapter('sync-rest'), syncRest);
  });

  it('names the module it expected for an adapter nobody defined', async () => {
    await assertCalloutError(
      () => integrationAdapter('legacy-soap'),
      /^integration adapter "legacy-soap" .*catalog\/adapters\/legacy-soap\.ts/,
    );
    assert.ok(!registeredCustomAdapters().includes('legacy-soap'));
  });

  it('does not let a custom adapter replace "sync-rest"', () => {
    // Act and Assess
    assert.throws(() => defineCustomAdapter('sync-rest', xmlAdapter), /"sync-rest" is built in/);
    assert.equal(integrationAdapter('sync-rest'), syncRest);
    assert.ok(!registeredCustomAdapters().includes('sync-rest'));
  });
});

describe('callouts through a custom adapter', () => {
  it('sends what the adapter encoded, with its content-type, and keeps the idempotency key', async () => {
    // Prepare: an adapter that also tries to set the idempotency key itself.
    const name = uniqueName('xml');
    defineCustomAdapter(name, {
      ...xmlAdapter,
      encodeRequest: (request, c) => {
        const encoded = xmlAdapter.encodeRequest(request, c);
        return {
          ...encoded,
          headers: { ...encoded.headers, 'Idempotency-Key': 'mine', SOAPAction: 'reserve' },
        };
      },
    });
    const { catalog, target, item, input } = reserveWith(name);

    // Act
    const prepared = await prepareCallout(catalog, target, item, input);

    // Assess
    assert.equal(
      prepared.body,
      '<request><orderId>o-1</orderId><orderItemId>line-1</orderItemId><bandwidthMbps>100</bandwidthMbps></request>',
    );
    assert.deepEqual(prepared.mapped, { orderId: 'o-1', orderItemId: 'line-1', bandwidthMbps: 100 });
    assert.deepEqual(prepared.headers, {
      accept: 'application/json',
      'content-type': 'application/xml',
      soapaction: 'reserve',
      'idempotency-key': `o-1.${RESERVE}`,
    });
  });

  it('gives the adapter the interface and method it encodes for', async () => {
    // Prepare
    const name = uniqueName('spy');
    const calls: CalloutCall[] = [];
    defineCustomAdapter(name, {
      encodeRequest: (_request, c) => {
        calls.push(c);
        return { headers: {} };
      },
      decodeResponse: () => ({}),
    });
    const { catalog, target, item, input } = reserveWith(name);

    // Act
    const prepared = await prepareCallout(catalog, target, item, input);

    // Assess
    assert.deepEqual(calls, [{ interfaceId: 'reserve-port', method: 'POST', path: '/ports/reservations' }]);
    assert.equal('body' in prepared, false, 'no body when the adapter gives none');
  });

  it('records the encoded body next to the mapped one, cut to 8 KiB', async () => {
    // Prepare
    const name = uniqueName('xml');
    defineCustomAdapter(name, xmlAdapter);
    const { catalog, target, item, input } = reserveWith(name);
    const prepared = await prepareCallout(catalog, target, item, input);

    // Act
    const record = requestRecord(prepared, name, AT);
    const long = requestRecord({ ...prepared, body: 'z'.repeat(20_000) }, name, AT);

    // Assess
    assert.deepEqual(record, {
      method: 'POST',
      url: 'http://inventory.test:4101/api/ports/reservations',
      headers: prepared.headers,
      body: { orderId: 'o-1', orderItemId: 'line-1', bandwidthMbps: 100 },
      encodedBody: prepared.body,
      sentAt: AT,
    });
    assert.equal(long.encodedBody, 'z'.repeat(8 * 1024));
  });

  it('fails the callout with a CalloutError naming the adapter when it cannot encode', async () => {
    // Prepare
    const name = uniqueName('broken');
    defineCustomAdapter(name, {
      encodeRequest: () => {
        throw new Error('no XML for numbers');
      },
      decodeResponse: () => ({}),
    });
    const { catalog, target, item, input } = reserveWith(name);

    // Act and Assess
    await assertCalloutError(
      () => prepareCallout(catalog, target, item, input),
      new RegExp(`^adapter "${name}" could not encode the request: no XML for numbers$`),
    );
  });

  it('fails the callout for an interface whose adapter is not registered, naming the module', async () => {
    const { catalog, target, item, input } = reserveWith('never-defined');

    await assertCalloutError(
      () => prepareCallout(catalog, target, item, input),
      /catalog\/adapters\/never-defined\.ts/,
    );
  });

  it("reads a 2xx answer with the adapter's decoding, then the response mapping", async () => {
    // Prepare
    const name = uniqueName('xml');
    defineCustomAdapter(name, xmlAdapter);
    const { catalog, target, input } = reserveWith(name);

    // Act
    const answer = await interpretAnswer(
      catalog,
      target.iface,
      wire(200, '<answer><portId>P-9</portId></answer>', { 'content-type': 'application/xml' }),
      input,
    );

    // Assess
    assert.deepEqual(answer, { body: { portId: 'P-9' }, attributes: { portId: 'P-9' } });
  });

  it('fails with "adapter … rejected the answer" and the status when the adapter throws', async () => {
    // Prepare
    const name = uniqueName('xml');
    defineCustomAdapter(name, xmlAdapter);
    const { catalog, target, input } = reserveWith(name);

    // Act and Assess
    await assertCalloutError(
      () => interpretAnswer(catalog, target.iface, wire(200, '<fault>busy</fault>'), input),
      new RegExp(`^adapter "${name}" rejected the answer: no <portId> in the answer$`),
      200,
    );
  });

  it('passes on a CalloutError the adapter throws as it is', async () => {
    // Prepare
    const name = uniqueName('strict');
    defineCustomAdapter(name, {
      ...xmlAdapter,
      decodeResponse: (response) => {
        throw new CalloutError(`legacy fault in a ${response.status}`, 299);
      },
    });
    const { catalog, target, input } = reserveWith(name);

    // Act and Assess
    await assertCalloutError(
      () => interpretAnswer(catalog, target.iface, wire(202, '<fault/>'), input),
      /^legacy fault in a 202$/,
      299,
    );
  });

  it('never asks the adapter to decode a refusal', async () => {
    // Prepare
    const name = uniqueName('spy');
    let decoded = 0;
    defineCustomAdapter(name, {
      ...xmlAdapter,
      decodeResponse: () => {
        decoded++;
        return {};
      },
    });
    const { catalog, target, input } = reserveWith(name);

    // Act and Assess
    await assertCalloutError(
      () => interpretAnswer(catalog, target.iface, wire(503, '<busy/>'), input),
      /^answered 503: <busy\/>$/,
      503,
    );
    assert.equal(decoded, 0);
  });
});

/** A legacy work-order system's adapter: flat `key=value` lines out and back, and its own verdicts. */
const legacyOrders: CustomAdapter = {
  asynchronous: true,
  encodeRequest(request, c) {
    const { job, priority } = request as { job: string; priority?: string };
    return {
      headers: { 'content-type': 'text/plain' },
      body: `job=${job}`,
      path: `/work-orders/${encodeURIComponent(job)}${c.path?.includes('?') ? `?${c.path.split('?')[1]}` : ''}`,
      ...(priority ? { query: { priority } } : {}),
    };
  },
  decodeResponse(response) {
    return Object.fromEntries(response.body.split('\n').map((line) => line.split('=') as [string, string]));
  },
  classifyResponse(response, c) {
    const result = /^result=(\w+)/m.exec(response.body)?.[1];
    if (result === 'queued') return { outcome: 'accepted' };
    if (result === 'busy')
      return { outcome: 'failure', reason: 'the queue is full', retryable: true, status: 503 };
    if (result === 'rejected') return { outcome: 'failure', reason: 'unknown job', retryable: false };
    // Its 500 with "already" means the job was done before: the job it names is the answer.
    if (response.status === 500 && /already/.test(response.body))
      return { outcome: 'success', body: { job: c.interfaceId, already: true } };
    if (result === 'done') return { outcome: 'success' };
    return {
      outcome: 'failure',
      reason: `unexpected answer ${response.status}`,
      retryable: response.status >= 500,
    };
  },
};

const iface = (adapter: string, extra: { acceptedStatuses?: number[] } = {}) => ({
  id: 'work-order',
  method: 'POST' as const,
  adapter,
  ...extra,
});

describe('custom adapters that classify answers and wait for callbacks', () => {
  it('says an adapter is asynchronous only when it says so, and async-rest always', () => {
    // Prepare
    const asynchronous = uniqueName('orders');
    const synchronous = uniqueName('xml');
    defineCustomAdapter(asynchronous, legacyOrders);
    defineCustomAdapter(synchronous, xmlAdapter);

    // Assess
    assert.equal(isAsyncAdapter(asynchronous), true);
    assert.equal(isAsyncAdapter(synchronous), false);
    assert.equal(isAsyncAdapter('async-rest'), true);
    assert.equal(isAsyncAdapter('sync-rest'), false);
    assert.equal(isAsyncAdapter('never-defined'), false);
  });

  it('refuses to register something that is not an adapter, naming each field', () => {
    assert.throws(
      () =>
        defineCustomAdapter(uniqueName('bad'), {
          encodeRequest: 'no',
          asynchronous: 'yes',
          classifyResponse: 1,
        } as unknown as CustomAdapter),
      (error: Error) =>
        /encodeRequest: must be a function/.test(error.message) &&
        /decodeResponse: must be a function/.test(error.message) &&
        /classifyResponse: must be a function, or absent/.test(error.message) &&
        /asynchronous: must be true, or absent/.test(error.message),
    );
  });

  it('reads each verdict: accepted, success decoded or given, and failures the rules may or may not retry', () => {
    // Prepare
    const name = uniqueName('orders');
    defineCustomAdapter(name, legacyOrders);
    const work = iface(name);

    // Act and Assess
    assert.deepEqual(readAnswer(work, wire(200, 'result=queued'), true), { kind: 'accepted' });
    assert.deepEqual(readAnswer(work, wire(200, 'result=done\nticket=T-1'), true), {
      kind: 'success',
      body: { result: 'done', ticket: 'T-1' },
    });
    assert.deepEqual(readAnswer(work, wire(500, 'result=failed already'), true), {
      kind: 'success',
      body: { job: 'work-order', already: true },
    });
    assert.deepEqual(readAnswer(work, wire(200, 'result=busy'), true), {
      kind: 'failure',
      error: `answered 200, which adapter "${name}" reads as a failure: the queue is full`,
      retryable: true,
      status: 503,
    });
    assert.deepEqual(readAnswer(work, wire(200, 'result=rejected'), true), {
      kind: 'failure',
      error: `answered 200, which adapter "${name}" reads as a failure: unknown job`,
      retryable: false,
      status: 200,
    });
  });

  it('gives the classifier the accepted statuses of an asynchronous interface, and nothing else of the rules', () => {
    // Prepare
    const name = uniqueName('spy');
    const seen: CalloutCall[] = [];
    defineCustomAdapter(name, {
      ...xmlAdapter,
      classifyResponse: (_response, c) => {
        seen.push(c);
        return { outcome: 'success', body: {} };
      },
    });

    // Act
    readAnswer(iface(name, { acceptedStatuses: [200, 202] }), wire(200, ''), true);
    readAnswer(iface(name), wire(200, ''), false);

    // Assess
    assert.deepEqual(seen, [
      { interfaceId: 'work-order', method: 'POST', acceptedStatuses: [200, 202] },
      { interfaceId: 'work-order', method: 'POST' },
    ]);
  });

  it('refuses "accepted" from an adapter that is not asynchronous: nothing would wait for the callback', () => {
    // Prepare
    const name = uniqueName('sync-orders');
    const { asynchronous: _async, ...synchronous } = legacyOrders;
    defineCustomAdapter(name, synchronous);

    // Act
    const reading = readAnswer(iface(name), wire(200, 'result=queued'), false);

    // Assess
    assert.equal(reading.kind, 'failure');
    assert.ok(reading.kind === 'failure' && !reading.retryable);
    assert.match(
      reading.kind === 'failure' ? reading.error : '',
      new RegExp(`adapter "${name}" classified the answer 200 as accepted, but it is not asynchronous`),
    );
  });

  it('turns a verdict that is no verdict, or a classifier that throws, into a failure no retry mends, naming the field', () => {
    // Prepare
    const verdicts: unknown[] = [
      { outcome: 'maybe' },
      { outcome: 'failure', reason: '', retryable: true },
      { outcome: 'failure', reason: 'x', retryable: 'yes' },
      { outcome: 'failure', reason: 'x', retryable: true, status: 42 },
      { outcome: 'accepted', body: {} },
      undefined,
    ];
    const fields = [
      /outcome/,
      /reason: must say why/,
      /retryable/,
      /status/,
      /Unrecognized key.*body|body/,
      /verdict|outcome/,
    ];
    verdicts.forEach((verdict, i) => {
      const name = uniqueName('odd');
      defineCustomAdapter(name, {
        ...xmlAdapter,
        asynchronous: true,
        classifyResponse: () => verdict as never,
      });

      // Act
      const reading = readAnswer(iface(name), wire(200, 'x'), true);

      // Assess
      assert.equal(reading.kind, 'failure', JSON.stringify(verdict));
      if (reading.kind !== 'failure') return;
      assert.equal(reading.retryable, false);
      assert.match(
        reading.error,
        new RegExp(`adapter "${name}" classified the answer 200 as nothing it can be`),
      );
      assert.match(reading.error, fields[i] as RegExp);
    });
    const throwing = uniqueName('throws');
    defineCustomAdapter(throwing, {
      ...xmlAdapter,
      classifyResponse: () => {
        throw new Error('cannot read it');
      },
    });
    assert.deepEqual(readAnswer(iface(throwing), wire(502, 'x'), false), {
      kind: 'failure',
      error: `adapter "${throwing}" could not classify the answer 502: cannot read it`,
      retryable: false,
      status: 502,
    });
  });

  it('reads answers as before without a classifier: 2xx decoded, accepted statuses only when asynchronous, others retryable', () => {
    // Prepare
    const name = uniqueName('xml');
    defineCustomAdapter(name, { ...xmlAdapter, asynchronous: true });

    // Assess
    assert.deepEqual(readAnswer(iface(name), wire(202, '<fault/>'), true), { kind: 'accepted' });
    assert.deepEqual(readAnswer(iface(name, { acceptedStatuses: [200] }), wire(200, ''), true), {
      kind: 'accepted',
    });
    assert.deepEqual(readAnswer(iface(name), wire(200, '<portId>P-1</portId>'), true), {
      kind: 'success',
      body: { portId: 'P-1' },
    });
    assert.deepEqual(readAnswer(iface(name), wire(503, 'busy'), true), {
      kind: 'failure',
      error: 'answered 503: busy',
      retryable: true,
      status: 503,
    });
    assert.deepEqual(readAnswer(iface(name), wire(301, ''), true), {
      kind: 'failure',
      error: 'answered 301, a redirect, which callouts do not follow',
      retryable: true,
      status: 301,
    });
    assert.deepEqual(readAnswer(iface(name), wire(200, '<nothing/>'), true), {
      kind: 'failure',
      error: `adapter "${name}" rejected the answer: no <portId> in the answer`,
      retryable: false,
      status: 200,
    });
  });

  it('sends a request where the adapter says, under the base URL, with its query', async () => {
    // Prepare
    const name = uniqueName('orders');
    defineCustomAdapter(name, legacyOrders);
    const { catalog, target, item, input } = reserveWith(name);
    catalog.mappings['reserve-request'] = '{ "job": "J 1/2", "priority": "high" }';

    // Act
    const prepared = await prepareCallout(catalog, target, item, input);

    // Assess
    assert.equal(prepared.url, 'http://inventory.test:4101/api/work-orders/J%201%2F2?priority=high');
    assert.equal(prepared.body, 'job=J 1/2');
  });

  it('refuses a path that names a host or a scheme, leaves the base path, or is no path, naming it', async () => {
    const base = 'https://legacy.test/api';
    const refused: [unknown, RegExp][] = [
      ['orders', /does not start with "\/"/],
      ['//evil.test/x', /names a host/],
      ['/../admin', /"\." or "\.\." segment/],
      ['/a/%2E%2e/b', /"\." or "\.\." segment/],
      ['/a\\b', /backslash/],
      ['/a b', /whitespace/],
      ['/a#b', /"#"/],
      [42, /is not a string/],
    ];
    for (const [path, message] of refused) {
      await assertCalloutError(
        () => wireUrl(base, '/orders', { path: path as string }, 'legacy'),
        new RegExp(`^adapter "legacy" gave the request path .*${message.source}`),
      );
    }
    await assertCalloutError(
      () => wireUrl(base, '/orders', { query: { '': 'x' } }, 'legacy'),
      /query parameter "", which must have a name and a string value/,
    );
    await assertCalloutError(
      () => wireUrl(base, '/orders', { query: { n: 1 as unknown as string } }, 'legacy'),
      /query parameter "n"/,
    );
    await assertCalloutError(
      () => wireUrl(base, '/orders', { query: [] as unknown as Record<string, string> }, 'legacy'),
      /a query that is not an object of parameters/,
    );
    assert.equal(wireUrl(base, '/orders/{x}', {}, 'legacy'), 'https://legacy.test/api/orders/%7Bx%7D');
    assert.equal(
      wireUrl(base, '/orders', { path: '/jobs/7?kind=install' }, 'legacy'),
      'https://legacy.test/api/jobs/7?kind=install',
    );
    // A ":" is a path's like any character: never a scheme, never another host.
    assert.equal(
      wireUrl(base, '/orders', { path: '/https://evil.test/x' }, 'legacy'),
      'https://legacy.test/api/https://evil.test/x',
    );
    assert.equal(
      wireUrl(base, '/orders', { path: '/orders:cancel' }, 'legacy'),
      'https://legacy.test/api/orders:cancel',
    );
  });
});
