import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ROUTES } from '../../lambdas/contract/routes';
import { orderWebhooks } from '../../lambdas/contract/webhooks';
import { switchboardOpenApi } from '../../lib/openapi';
import { answerProblems, exchangeProblems, schemaProblems } from '../support/contract';
import { tmf622ExchangeProblems, tmf622Problems, unmarkedExtensions } from '../support/tmf622';

describe('the API contract checker', () => {
  it('finds nothing wrong with an answer the document allows, and names route, status and field otherwise', () => {
    const route = 'GET /tmf-api/productOrderingManagement/v5/productOrder/{id}';
    const order = {
      '@type': 'ProductOrder',
      id: 'o1',
      href: '/tmf-api/productOrderingManagement/v5/productOrder/o1',
      state: 'acknowledged',
      creationDate: '2026-12-07T09:30:00.000Z',
      productOrderItem: [{ '@type': 'ProductOrderItem', id: '1', action: 'add' }],
    };
    assert.deepEqual(answerProblems(route, { statusCode: 200, body: JSON.stringify(order) }), []);
    const problems = answerProblems(route, {
      statusCode: 200,
      body: JSON.stringify({
        ...order,
        state: 'lost',
        productOrderItem: [{ '@type': 'ProductOrderItem', id: '1', action: 'add' }],
      }),
    });
    assert.ok(
      problems.some((p) => p.startsWith(`${route} 200 body.state`)),
      problems.join('\n'),
    );
    assert.deepEqual(answerProblems(route, { statusCode: 418, body: '{}' }), [
      `${route}: answered 418, a status the document does not list`,
    ]);
  });
});

describe('an exchange checked against both documents', () => {
  const route = 'POST /tmf-api/productOrderingManagement/v5/productOrder';
  const created = {
    '@type': 'ProductOrder',
    id: 'o1',
    href: '/tmf-api/productOrderingManagement/v5/productOrder/o1',
    state: 'acknowledged',
    creationDate: '2026-12-07T09:30:00.000Z',
    externalId: [{ '@type': 'ExternalIdentifier', id: 'crm-1' }],
    productOrderItem: [
      {
        '@type': 'ProductOrderItem',
        id: '1',
        action: 'add',
        productOffering: { '@type': 'ProductOfferingRef', id: 'dsl-broadband' },
      },
    ],
  };
  const exchange = (request: unknown) => ({
    routeKey: route,
    requestHeaders: { 'content-type': 'application/json' },
    requestBody: JSON.stringify(request),
    status: 201,
    headers: { location: created.href, 'content-type': 'application/json' },
    body: JSON.stringify(created),
  });

  it('takes an order that uses only the documented leniencies: no @type, externalId as a string, an offering by id', () => {
    const lenient = {
      externalId: 'crm-1',
      productOrderItem: [{ id: '1', action: 'add', productOffering: { id: 'dsl-broadband' } }],
    };
    assert.deepEqual(exchangeProblems(exchange(lenient)), []);
    assert.deepEqual(tmf622ExchangeProblems(exchange(lenient)), []);
  });

  it('reports an accepted order that TMF622 refuses for any other reason, naming the route and field', () => {
    const problems = tmf622ExchangeProblems(
      exchange({
        productOrderItem: [{ id: '1', action: 'add', productOffering: { id: 'dsl-broadband' } }],
        relatedParty: [{ role: 'customer' }],
      }),
    );
    assert.ok(
      problems.some((p) => p.startsWith(`${route} request body by TMF622 ProductOrder_FVO: /relatedParty/0`)),
      problems.join('\n'),
    );
  });

  it('holds a value to the subtype its @type names, as TMF622’s discriminators say', () => {
    const typedAs = (type: string, value: unknown) => ({
      ...created,
      productOrderItem: [
        {
          ...created.productOrderItem[0],
          product: {
            '@type': 'Product',
            productCharacteristic: [{ '@type': type, name: 'bandwidth', value }],
          },
        },
      ],
    });
    assert.deepEqual(tmf622Problems('ProductOrder', typedAs('IntegerCharacteristic', 100)), []);
    const problems = tmf622Problems('ProductOrder', typedAs('IntegerCharacteristic', 'a hundred'));
    assert.ok(
      problems.some((p) => p.startsWith('/productOrderItem/0/product/productCharacteristic/0/value')),
      problems.join('\n'),
    );
  });

  it('reports an extension of a TMF622 resource that does not name its schema in @schemaLocation', () => {
    const order = { ...created, fulfilmentAttributes: { port: 'p-7' } };
    assert.deepEqual(unmarkedExtensions('ProductOrder', order), ['fulfilmentAttributes']);
    assert.deepEqual(
      unmarkedExtensions('ProductOrder', {
        ...order,
        '@schemaLocation': '/openapi.json#/components/schemas/ProductOrder',
      }),
      [],
    );
    assert.deepEqual(unmarkedExtensions('ProductOrder', created), []);
  });

  it('reports an answer without its Location, and a request the document refuses that was carried out', () => {
    const problems = exchangeProblems({
      ...exchange({ productOrderItem: [] }),
      headers: { 'content-type': 'application/json' },
    });
    assert.ok(problems.includes(`${route} 201: no location header`), problems.join('\n'));
    assert.ok(
      problems.some((p) => p.startsWith(`${route} request body.productOrderItem:`)),
      problems.join('\n'),
    );
  });
});

describe('the examples of the document', () => {
  it('are each valid by the schema beside them, in the document and by the zod schema it was made from', () => {
    const document = switchboardOpenApi();
    const problems: string[] = [];
    const check = (where: string, media: { schema?: { $ref?: string }; example?: unknown }) => {
      const ref = media.schema?.$ref;
      if (media.example === undefined || ref === undefined) return;
      problems.push(
        ...schemaProblems(ref.replace('#/components/schemas/', ''), media.example).map(
          (p) => `${where}: ${p}`,
        ),
      );
    };
    type Operation = {
      requestBody?: { content: Record<string, { schema?: { $ref?: string }; example?: unknown }> };
      responses: Record<
        string,
        { content?: Record<string, { schema?: { $ref?: string }; example?: unknown }> }
      >;
    };
    const operations = [
      ...Object.entries(document.paths).flatMap(([path, methods]) =>
        Object.entries(methods).map(([method, operation]) => [`${method} ${path}`, operation] as const),
      ),
      ...Object.entries((document.webhooks ?? {}) as Record<string, { post: unknown }>).map(
        ([name, hook]) => [`webhook ${name}`, hook.post] as const,
      ),
    ];
    let examples = 0;
    for (const [where, operation] of operations as [string, Operation][]) {
      for (const [type, media] of Object.entries(operation.requestBody?.content ?? {})) {
        examples += media.example === undefined ? 0 : 1;
        check(`${where} request ${type}`, media);
      }
      for (const [status, answer] of Object.entries(operation.responses))
        for (const media of Object.values(answer.content ?? {})) {
          examples += media.example === undefined ? 0 : 1;
          check(`${where} ${status}`, media);
        }
    }
    for (const r of ROUTES) {
      const zodChecks: [string, { safeParse: (v: unknown) => { success: boolean } }, unknown][] = [
        [`${r.method} ${r.path} request`, r.body?.schema as never, r.body?.example],
        ...Object.entries(r.answers).map(
          ([status, answer]) =>
            [`${r.method} ${r.path} ${status}`, answer?.schema as never, answer?.example] as [
              string,
              { safeParse: (v: unknown) => { success: boolean } },
              unknown,
            ],
        ),
      ];
      for (const [where, schema, example] of zodChecks)
        if (schema && example !== undefined && !schema.safeParse(example).success)
          problems.push(`${where}: the example does not parse by its zod schema`);
    }
    for (const hook of orderWebhooks)
      if (hook.example !== undefined && !hook.schema.safeParse(hook.example).success)
        problems.push(`webhook ${hook.name}: the example does not parse by its zod schema`);
    assert.deepEqual(problems, []);
    assert.ok(examples >= 10, `only ${examples} examples`);
  });
});
