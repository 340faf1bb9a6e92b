import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { MAX_JSON_DEPTH } from '../../lambdas/domain/json-depth';
import {
  MAX_EXTERNAL_ID_LENGTH,
  MAX_EXTERNAL_IDS,
  MAX_NOTES,
  MAX_PRICES,
  MAX_RELATED_PARTIES,
} from '../../lambdas/domain/product-order';
import { demoDslOrder } from '../../local/demo-orders';
import {
  type ApiAnswer,
  eventually,
  startTestSwitchboard,
  type TestSwitchboard,
} from '../support/local-switchboard';

/**
 * Property-based fuzzing of the running local runtime: thousands of malformed requests, every answer
 * checked (a 4xx with the TMF error shape, never a 5xx, never a leak) and nothing written. Each property
 * has a fixed seed so a failure replays the same way; the counts keep the file well under a minute.
 * A new route gets fuzzed by adding a row to `pathRoutes` (ids in its path) or a property of its own.
 */

const ORDERS = '/tmf-api/productOrderingManagement/v5/productOrder';
const SEED = 20261126;

/** The offerings the catalog fulfils: a generated value that names one could be a valid order. */
const KNOWN_OFFERINGS = ['dsl-broadband'];
const ITEM_ACTIONS = ['add', 'modify', 'delete', 'noChange'];
/** Fields the server sets on an order; a client must not send them. */
const SERVER_SET_FIELDS = ['id', 'href', 'state', 'orderDate', 'completionDate', 'creationDate'];
const MAX_BODY_BYTES = 256 * 1024;

const validOrder = () => demoDslOrder('fuzz-base');

type Order = ReturnType<typeof validOrder> & Record<string, unknown>;
type Line = Order['productOrderItem'][number] & Record<string, unknown>;

interface ErrorBody {
  '@type'?: string;
  code: string;
  reason?: string;
  message: string;
  status?: string;
  problems?: { field: string; message: string }[];
}

/** A request to fuzz: the body is JSON unless it is a string (sent raw) or bytes (sent as they are). */
interface Request {
  method: string;
  path: string;
  body?: unknown;
  as: 'submitter' | 'operator';
  headers?: Record<string, string>;
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

/** Every string in a JSON value, keys included: where a stack trace would show its real line breaks. */
function stringsIn(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(stringsIn);
  if (isPlainObject(value)) return Object.entries(value).flatMap(([k, v]) => [k, ...stringsIn(v)]);
  return [];
}

/** What a request sent, as text: an answer may echo this back without leaking anything. */
function sentText(request: Request): string {
  const { body } = request;
  const bodyText =
    body === undefined
      ? ''
      : body instanceof Uint8Array
        ? Buffer.from(body).toString('utf8')
        : typeof body === 'string'
          ? body
          : JSON.stringify(body);
  return [
    request.path,
    decodeURIComponentSafe(request.path),
    bodyText,
    ...Object.values(request.headers ?? {}),
  ]
    .concat(
      body === undefined || typeof body === 'string' || body instanceof Uint8Array ? [] : stringsIn(body),
    )
    .join('\n');
}

function decodeURIComponentSafe(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

const STACK_FRAME = /\n\s+at /;

/** A compact description of an exchange for assertion messages. */
function describeExchange(request: Request, answer: ApiAnswer): string {
  const body =
    request.body instanceof Uint8Array
      ? `bytes ${Buffer.from(request.body).toString('hex').slice(0, 400)}`
      : JSON.stringify(request.body)?.slice(0, 400);
  return `${request.method} ${request.path.slice(0, 300)} as ${request.as}${
    request.headers ? ` headers ${JSON.stringify(request.headers)}` : ''
  } body ${body}\n→ ${answer.status} ${JSON.stringify(answer.body)?.slice(0, 600)}`;
}

describe('fuzzing the API through the local runtime', () => {
  let sb: TestSwitchboard;
  let baseline: { records: number; executions: number };
  let requests = 0;
  const statusCounts = new Map<number, number>();
  let secrets: string[] = [];

  before(async () => {
    // Thousands of requests as fast as they go: above the stage's throttling, which is not what is tested
    // here (test/beside/flood.test.ts is).
    sb = await startTestSwitchboard({
      context: { 'switchboard:apiThrottle': { rateLimit: 100_000, burstLimit: 100_000 } },
    });
    secrets = sb.runtime.identities.map((identity) => identity.token);
    // The valid order every mutation starts from is accepted, so a 400 below is the mutation's doing.
    // It is left to complete before the baseline is counted, so its plan writes nothing later.
    const created = await sb.call('POST', ORDERS, validOrder(), { as: 'submitter' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const { id } = created.body as { id: string };
    await eventually(
      async () => {
        const read = await sb.call('GET', `${ORDERS}/${id}`, undefined, { as: 'submitter' });
        return (read.body as { state: string }).state === 'completed' ? true : undefined;
      },
      30_000,
      'the base order to complete',
    );
    baseline = await sb.writes();
  });
  after(async () => {
    await sb?.stop();
  });

  /** Sends a request; bytes go through fetch as they are, everything else through `sb.call`. */
  async function send(request: Request): Promise<ApiAnswer> {
    requests++;
    if (!(request.body instanceof Uint8Array))
      return sb.call(request.method, request.path, request.body, {
        as: request.as,
        headers: request.headers,
      });
    const response = await fetch(`${sb.runtime.apiUrl}${request.path}`, {
      method: request.method,
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${sb.token(request.as)}`,
        ...request.headers,
      },
      body: request.body,
    });
    const text = await response.text();
    let body: unknown = text;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      // left as text: the shape assertion says so
    }
    return { status: response.status, headers: response.headers, body };
  }

  /**
   * Sends a request that must be refused, and checks what every answer must be: one of `statuses`, a
   * JSON object in the TMF error shape (`code` is the status, `message` says something) that leaks no
   * stack trace, token or exception name beyond what the request itself sent.
   */
  async function refused(
    request: Request,
    statuses: number[],
    options: { gatewayShape?: boolean } = {},
  ): Promise<ErrorBody> {
    const answer = await send(request);
    statusCounts.set(answer.status, (statusCounts.get(answer.status) ?? 0) + 1);
    const exchange = describeExchange(request, answer);
    assert.ok(statuses.includes(answer.status), `expected ${statuses.join(' or ')}: ${exchange}`);
    assertNoLeak(request, answer, exchange);
    assert.ok(isPlainObject(answer.body), `the answer is a JSON object: ${exchange}`);
    const error = answer.body as unknown as ErrorBody;
    // API Gateway's own refusals carry only a message; the functions' carry the TMF error.
    if (!options.gatewayShape || 'code' in error)
      assert.equal(error.code, String(answer.status), `code is the status: ${exchange}`);
    assert.equal(typeof error.message, 'string', `message is a string: ${exchange}`);
    assert.ok(error.message.length > 0, `message is not empty: ${exchange}`);
    assert.match(answer.headers.get('content-type') ?? '', /^application\/json/, exchange);
    return error;
  }

  function assertNoLeak(request: Request, answer: ApiAnswer, exchange: string): void {
    const text = typeof answer.body === 'string' ? answer.body : (JSON.stringify(answer.body) ?? '');
    const texts = [text, ...stringsIn(answer.body)];
    const sent = sentText(request);
    for (const secret of secrets) {
      assert.ok(!texts.some((t) => t.includes(secret)), `the answer holds a bearer token: ${exchange}`);
    }
    if (!STACK_FRAME.test(sent)) {
      assert.ok(!texts.some((t) => STACK_FRAME.test(t)), `the answer holds a stack trace: ${exchange}`);
    }
    if (!sent.includes('Exception')) {
      assert.ok(!texts.some((t) => t.includes('Exception')), `the answer names an Exception: ${exchange}`);
    }
  }

  /** The 400 names `field` (or a field under it) among its problems. */
  function assertNames(error: ErrorBody, field: string, context: string): void {
    assert.ok(
      error.problems?.some((p) => p.field === field || (field !== '' && p.field.startsWith(`${field}.`))),
      `problems name ${JSON.stringify(field)}: ${JSON.stringify(error.problems)} for ${context}`,
    );
  }

  const submit = (body: unknown, headers?: Record<string, string>): Request => ({
    method: 'POST',
    path: ORDERS,
    body,
    as: 'submitter',
    ...(headers ? { headers } : {}),
  });

  // ---------------------------------------------------------------------------------------------
  // 1. Arbitrary JSON, and order-shaped JSON with random field values, submitted as an order.

  const mentionsOffering = (value: unknown) => {
    const text = JSON.stringify(value) ?? '';
    return KNOWN_OFFERINGS.some((offering) => text.includes(offering));
  };
  const anyJson = fc.jsonValue({ maxDepth: 4 });
  const anyUnicodeJson = fc.jsonValue({ maxDepth: 3, stringUnit: 'binary' });
  const line = fc.record(
    {
      '@type': fc.oneof(fc.constant('ProductOrderItem'), anyJson),
      id: fc.oneof(fc.string({ maxLength: 120 }), anyJson),
      action: fc.oneof(fc.constantFrom(...ITEM_ACTIONS, 'upgrade', 'ADD', ''), anyJson),
      quantity: fc.oneof(fc.integer({ min: -2, max: 3 }), fc.double(), anyJson),
      productOffering: fc.oneof(
        fc.record(
          { id: fc.oneof(fc.string(), anyJson), entityId: fc.oneof(fc.string(), anyJson) },
          { requiredKeys: [] },
        ),
        anyJson,
      ),
      product: fc.oneof(
        fc.record(
          {
            productCharacteristic: fc.oneof(
              fc.array(
                fc.record(
                  {
                    '@type': fc.oneof(
                      fc.constantFrom('IntegerCharacteristic', 'StringCharacteristic', 'Nonsense'),
                      anyJson,
                    ),
                    name: fc.oneof(fc.constantFrom('bandwidth', 'serviceAddress', ''), anyJson),
                    value: anyJson,
                  },
                  { requiredKeys: [] },
                ),
                { maxLength: 3 },
              ),
              anyJson,
            ),
          },
          { requiredKeys: [] },
        ),
        anyJson,
      ),
    },
    { requiredKeys: [] },
  );
  const orderShaped = fc
    .record(
      {
        '@type': fc.oneof(fc.constant('ProductOrder'), anyJson),
        externalId: fc.oneof(fc.string({ maxLength: 220 }), anyJson),
        description: fc.oneof(fc.string(), anyJson),
        requestedInitialState: fc.oneof(fc.constantFrom('acknowledged', 'draft'), anyJson),
        requestedCompletionDate: fc.oneof(
          fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
          anyJson,
        ),
        productOrderItem: fc.oneof({ weight: 4, arbitrary: fc.array(line, { maxLength: 3 }) }, anyJson),
        orderTotalPrice: anyJson,
        note: anyJson,
        relatedParty: anyJson,
      },
      { requiredKeys: [] },
    )
    // Without a known offering no order can be valid: each of these must be refused.
    .filter((order) => !mentionsOffering(order));
  /** Right around the body limit: refused as too big above it, as invalid below it. */
  const nearTheLimit = fc.integer({ min: MAX_BODY_BYTES - 64, max: MAX_BODY_BYTES + 64 }).map((size) => {
    const prefix = '{"productOrderItem":[],"description":"';
    return `${prefix}${'x'.repeat(Math.max(0, size - prefix.length - 2))}"}`;
  });

  it('refuses arbitrary JSON submitted as an order with 400, never anything else', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(anyJson, anyUnicodeJson), async (body) => {
        if (mentionsOffering(body)) return;
        // Sent as its JSON text: `sb.call` would send a JSON string value raw, unquoted.
        await refused(submit(JSON.stringify(body)), [400]);
      }),
      { seed: SEED, numRuns: 400 },
    );
  });

  it('refuses order-shaped JSON with random field values with 400, and bodies over the limit with 413', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof({ weight: 15, arbitrary: orderShaped }, { weight: 1, arbitrary: nearTheLimit }),
        async (body) => {
          const bytes = Buffer.byteLength(typeof body === 'string' ? body : JSON.stringify(body));
          await refused(submit(body), [bytes > MAX_BODY_BYTES ? 413 : 400]);
        },
      ),
      { seed: SEED, numRuns: 300 },
    );
  });

  // ---------------------------------------------------------------------------------------------
  // 2. One mutation of a valid order, each sure to make it invalid, and the field it should name.

  interface Mutation {
    name: string;
    /** The field the 400's problems must name; `undefined` where it cannot be known. */
    field: string | undefined;
    body: unknown;
    headers?: Record<string, string>;
  }

  const mutate = (name: string, field: string | undefined, change: (order: Order) => void): Mutation => {
    const order = validOrder() as Order;
    change(order);
    return { name, field, body: order };
  };
  const firstLine = (order: Order) => order.productOrderItem[0] as Line;
  const notA =
    <T>(values: readonly T[]) =>
    (value: T) =>
      !values.includes(value);

  /** Near misses of an ISO date-time with offset, and strings that do not start like one. */
  const notADateTime = fc.oneof(
    fc
      .tuple(
        fc.date({ noInvalidDate: true }),
        fc.constantFrom<(d: Date) => string>(
          (d) => d.toUTCString(),
          (d) => d.toString(),
          (d) => d.toISOString().slice(0, 10),
          (d) => d.toISOString().replace('Z', ''),
          (d) => d.toISOString().replace('T', ' '),
          (d) => d.toISOString().replace('Z', '+0100'),
          (d) => String(d.getTime()),
          (d) => d.toISOString().replace(/-\d\d-/, '-13-'),
          (d) => d.toISOString().replace(/T\d\d/, 'T25'),
        ),
      )
      .map(([date, format]) => format(date)),
    fc.string({ maxLength: 40 }).filter((s) => !/^\d{4}-\d\d-\d\dT/.test(s)),
  );

  /** Media types that are not JSON, by the API's reading (`application/json` or `application/…+json`). */
  const notJsonMediaType = fc
    .oneof(
      fc.constantFrom(
        'text/plain',
        'text/json',
        'application/xml',
        'application/jsonx',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
        'application/octet-stream',
        'json',
        '*/*',
      ),
      fc.string({
        minLength: 1,
        maxLength: 40,
        unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789/+-.;= '),
      }),
    )
    .filter((type) => type.trim() !== '' && !/^application\/(.+\+)?json\b/i.test(type.trim()));

  const mutation: fc.Arbitrary<Mutation> = fc.oneof(
    fc.constant(
      mutate('no productOrderItem', 'productOrderItem', (o) => {
        delete (o as Partial<Order>).productOrderItem;
      }),
    ),
    fc
      .string({ maxLength: 30 })
      .filter(notA(ITEM_ACTIONS))
      .map((action) =>
        mutate('an unknown action', 'productOrderItem.0.action', (o) => {
          firstLine(o).action = action;
        }),
      ),
    fc
      .string({ maxLength: 60 })
      .filter(notA(KNOWN_OFFERINGS))
      .map((id) =>
        mutate('an unknown offering', 'productOrderItem.0.productOffering', (o) => {
          firstLine(o).productOffering = { id };
        }),
      ),
    anyJson
      .filter((id) => typeof id !== 'string')
      .map((id) =>
        mutate('a line id that is not a string', 'productOrderItem.0.id', (o) => {
          Object.assign(firstLine(o), { id });
        }),
      ),
    fc.string({ minLength: 1, maxLength: 100 }).map((id) =>
      mutate('a duplicate line id', 'productOrderItem.1.id', (o) => {
        firstLine(o).id = id;
        o.productOrderItem.push({ ...firstLine(o) });
      }),
    ),
    fc
      .tuple(
        fc.integer({ min: 0, max: 1 }),
        fc.oneof(
          fc.double({ noNaN: true, noDefaultInfinity: true }),
          anyJson,
          fc.constantFrom('100', '1e2', '1.5', 1.5, -0.25, true, null),
        ),
      )
      .filter(([, value]) => !Number.isInteger(JSON.parse(JSON.stringify(value))))
      .map(([index, value]) =>
        mutate(
          'an IntegerCharacteristic that is not an integer',
          `productOrderItem.0.product.productCharacteristic.${index}.value`,
          (o) => {
            const characteristic = firstLine(o).product.productCharacteristic[index] as Record<
              string,
              unknown
            >;
            characteristic['@type'] = 'IntegerCharacteristic';
            characteristic.value = value;
          },
        ),
      ),
    fc.tuple(fc.constantFrom(...SERVER_SET_FIELDS), anyJson).map(([field, value]) =>
      mutate(`a server-set ${field}`, field, (o) => {
        o[field] = value;
      }),
    ),
    notADateTime.map((date) =>
      mutate('a requestedCompletionDate that is not a date-time', 'requestedCompletionDate', (o) => {
        o.requestedCompletionDate = date;
      }),
    ),
    notJsonMediaType.map(
      (type): Mutation => ({
        name: 'a content-type that is not JSON',
        field: 'content-type',
        body: validOrder(),
        headers: { 'content-type': type },
      }),
    ),
    fc.nat().map((cut): Mutation => {
      const text = JSON.stringify(validOrder());
      return { name: 'truncated JSON', field: '', body: text.slice(0, cut % text.length) };
    }),
    fc
      .oneof(fc.uint8Array({ maxLength: 200 }), fc.string({ unit: 'binary', maxLength: 100 }))
      .map((raw): Mutation => {
        const text = typeof raw === 'string' ? raw : Buffer.from(raw).toString('utf8');
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch {
          parsed = undefined;
        }
        // Not JSON, or JSON that is not an object: the body as a whole is the problem.
        return { name: 'random bytes', field: isPlainObject(parsed) ? undefined : '', body: raw };
      }),
  );

  it('refuses every mutation of a valid order with 400 naming the mutated field', async () => {
    await fc.assert(
      fc.asyncProperty(mutation, async ({ name, field, body, headers }) => {
        const request = submit(body, headers);
        const error = await refused(request, [400]);
        if (field !== undefined) assertNames(error, field, `${name}: ${JSON.stringify(body)?.slice(0, 300)}`);
        else assert.ok((error.problems?.length ?? 0) > 0, `${name}: the 400 lists problems`);
      }),
      { seed: SEED, numRuns: 700 },
    );
  });

  /** The valid order with one part pushed past a limit: nesting up to 10,000 levels, or a count one to fifty over. */
  const pastALimit = fc.oneof(
    fc
      .record({ levels: fc.integer({ min: MAX_JSON_DEPTH - 5, max: 10_000 }), arrays: fc.boolean() })
      .map(({ levels, arrays }) => {
        // As text: nothing in JavaScript stringifies 10,000 levels.
        const [open, close] = arrays ? ['[', ']'] : ['{"a":', '}'];
        const body = JSON.stringify(validOrder())
          .replace('"value":"100"', '"value":"__DEEP__"')
          .replace('"__DEEP__"', `${open.repeat(levels)}1${close.repeat(levels)}`);
        return { body, field: 'productOrderItem.0.product.productCharacteristic.0.value' };
      }),
    fc
      .record({
        limit: fc.constantFrom(
          { field: 'externalId', max: MAX_EXTERNAL_IDS, part: (i: number) => ({ id: `CRM-${i}` }) },
          { field: 'note', max: MAX_NOTES, part: () => ({ text: 'n' }) },
          { field: 'relatedParty', max: MAX_RELATED_PARTIES, part: () => ({ role: 'customer' }) },
          {
            field: 'orderTotalPrice',
            max: MAX_PRICES,
            part: () => ({ priceType: 'recurring', price: { taxIncludedAmount: { unit: 'EUR', value: 1 } } }),
          },
        ),
        over: fc.integer({ min: 1, max: 50 }),
      })
      .map(({ limit, over }) => ({
        body: {
          ...validOrder(),
          [limit.field]: Array.from({ length: limit.max + over }, (_, i) => limit.part(i)),
        },
        field: limit.field,
      })),
    fc.integer({ min: MAX_EXTERNAL_ID_LENGTH + 1, max: 5_000 }).map((length) => ({
      body: { ...validOrder(), externalId: [{ id: 'x'.repeat(length) }] },
      field: 'externalId.0.id',
    })),
  );

  it('refuses an order nested deeper than the limit (up to 10,000 levels) or past a count limit with 400 naming the field', async () => {
    await fc.assert(
      fc.asyncProperty(pastALimit, async ({ body, field }) => {
        const error = await refused(submit(body), [400]);
        assertNames(
          error,
          field,
          String(typeof body === 'string' ? body : JSON.stringify(body)).slice(0, 200),
        );
      }),
      { seed: SEED, numRuns: 120 },
    );
  });

  // ---------------------------------------------------------------------------------------------
  // 3. Random ids, URL-encoded into every path that names a resource.

  const pathRoutes: { name: string; path: (id: string) => string; param: string; as: Request['as'][] }[] = [
    { name: 'read an order', path: (id) => `${ORDERS}/${id}`, param: 'id', as: ['submitter', 'operator'] },
    {
      name: 'read orchestration items',
      path: (id) => `/orchestration/orders/${id}/items`,
      param: 'orderId',
      as: ['operator'],
    },
  ];

  const idChars = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-');
  const anyId = fc
    .oneof(
      fc.string({ unit: 'binary', maxLength: 40 }),
      fc.string({ unit: 'grapheme', maxLength: 20 }),
      fc.string({ unit: 'binary-ascii', maxLength: 40 }),
      fc.string({ maxLength: 40 }),
      fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,40}$/),
      fc.string({ unit: idChars, minLength: 195, maxLength: 205 }),
      fc.string({ unit: idChars, minLength: 1000, maxLength: 1200 }),
      fc.uuid(),
    )
    // The client resolves "." and ".." as path segments, and "" leaves none: no such request reaches a route.
    .filter((id) => !['', '.', '..'].includes(id));

  it('answers random ids in paths with 400 or 404, never a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(anyId, fc.nat(), async (id, pick) => {
        for (const route of pathRoutes) {
          const as = route.as[pick % route.as.length] ?? 'operator';
          const request: Request = { method: 'GET', path: route.path(encodeURIComponent(id)), as };
          const error = await refused(request, [400, 404]);
          if (error.code === '400') assertNames(error, route.param, `${route.name} ${JSON.stringify(id)}`);
        }
      }),
      { seed: SEED, numRuns: 300 },
    );
  });

  // ---------------------------------------------------------------------------------------------
  // 3b. The same paths with ids not escaped by the client.

  /**
   * Ids typed into the path as they are, percent signs included: well-formed escapes, broken ones ("%",
   * "%E2%82", "%zz") and the characters a URL path may carry unescaped. Whoever refuses a broken escape,
   * the API Gateway or the function, the answer is a 400 or 404 with a JSON message, never a 5xx.
   */
  const rawId = fc
    .array(
      fc.oneof(
        { weight: 3, arbitrary: idChars },
        fc.constantFrom(..."!$&'()*+,;=:@~"),
        fc.constantFrom(
          '%',
          '%2',
          '%zz',
          '%E2%82',
          '%C0%AF',
          '%FF',
          '%00',
          '%20',
          '%41',
          '%E2%82%AC',
          '%2F',
          '%25',
        ),
      ),
      { minLength: 1, maxLength: 12 },
    )
    .map((parts) => parts.join(''))
    // "%2e" is a dot to the client, so a segment that spells "." or ".." is resolved away before sending.
    .filter((id) => !['.', '..'].includes(id.replace(/%2e/gi, '.')));

  it('answers ids typed into paths unescaped, broken escapes included, with 400 or 404, never a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(rawId, async (id) => {
        for (const route of pathRoutes) {
          const request: Request = { method: 'GET', path: route.path(id), as: route.as[0] ?? 'operator' };
          await refused(request, [400, 404], { gatewayShape: true });
        }
      }),
      { seed: SEED, numRuns: 100 },
    );
  });

  // ---------------------------------------------------------------------------------------------
  // 5. None of it wrote anything (4, no leaks, is checked on every answer above).

  it('wrote nothing and started nothing', async (t) => {
    assert.deepEqual(await sb.writes(), baseline);
    const statuses = [...statusCounts].sort(([a], [b]) => a - b).map(([status, n]) => `${status}×${n}`);
    t.diagnostic(`${requests} fuzzed requests; answers ${statuses.join(', ')}`);
  });
});
