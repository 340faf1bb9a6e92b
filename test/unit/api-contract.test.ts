import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { answerProblems } from '../support/contract';

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
