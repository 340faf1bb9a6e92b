import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ROUTES } from '../../lambdas/contract/routes';
import { answerProblems, exchangeProblems } from '../support/contract';
import { tmf622ExchangeProblems } from '../support/tmf622';

describe('the API contract checker', () => {
  it('finds nothing wrong with an answer the document allows, and names route, status and field otherwise', () => {
    const route = 'GET /tmf-api/productOrderingManagement/v5/productOrder/{id}';
    const order = {
      '@type': 'ProductOrder',
      id: 'o1',
      href: '/tmf-api/productOrderingManagement/v5/productOrder/o1',
      state: 'acknowledged',
      creationDate: '2026-12-07T09:30:00.000Z',
      orderDate: '2026-12-07T09:30:00.000Z',
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
    orderDate: '2026-12-07T09:30:00.000Z',
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

describe('the routes’ contracts', () => {
  it('give examples that their own schemas take', () => {
    for (const route of ROUTES) {
      const where = `${route.method} ${route.path}`;
      if (route.body?.example !== undefined) {
        const parsed = route.body.schema.safeParse(route.body.example);
        assert.ok(parsed.success, `${where} request example: ${parsed.error?.message}`);
      }
      for (const [status, answer] of Object.entries(route.answers)) {
        if (answer?.example === undefined || !answer.schema) continue;
        const parsed = answer.schema.safeParse(answer.example);
        assert.ok(parsed.success, `${where} ${status} example: ${parsed.error?.message}`);
      }
    }
  });
});
