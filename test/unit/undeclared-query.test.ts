import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { adminRoutes } from '../../lambdas/contract/admin';
import { hubRoutes } from '../../lambdas/contract/hub';
import { orderRoutes } from '../../lambdas/contract/orders';
import { ValidationError } from '../../lambdas/domain/errors';
import { handleOrderApi } from '../../lambdas/order-api/handler';
import { refuseUndeclaredQuery } from '../../lambdas/shared/query';
import { orderApiDeps } from './fixtures/order-api';

const request = (routeKey: string, query?: Record<string, string>) =>
  ({ routeKey, ...(query ? { queryStringParameters: query } : {}) }) as unknown as APIGatewayProxyEventV2;

describe('a query parameter a route does not declare', () => {
  it('is refused, naming each, on a route that declares no query', () => {
    const refused = () =>
      refuseUndeclaredQuery(
        request('GET /tmf-api/productOrderingManagement/v5/hub/{id}', { fields: 'callback', limit: '5' }),
        hubRoutes,
      );
    assert.throws(refused, (error: unknown) => {
      assert.ok(error instanceof ValidationError);
      assert.deepEqual(
        error.problems.map((p) => p.field),
        ['fields', 'limit'],
      );
      return true;
    });
  });

  it('is left to the route’s own schema where it declares a query, and nothing is refused without one', () => {
    refuseUndeclaredQuery(
      request('GET /tmf-api/productOrderingManagement/v5/productOrder', { nope: '1' }),
      orderRoutes,
    );
    refuseUndeclaredQuery(request('GET /admin/systems'), adminRoutes);
  });

  it('is answered 400 by the order API, before anything is read', async () => {
    const { deps } = orderApiDeps();
    const answer = await handleOrderApi(deps, {
      ...request('GET /tmf-api/productOrderingManagement/v5/cancelProductOrder/{id}', { fields: 'state' }),
      pathParameters: { id: 'c-1' },
      headers: {},
      requestContext: { authorizer: { jwt: { claims: { sub: 'op', 'cognito:groups': '[operators]' } } } },
    } as unknown as APIGatewayProxyEventV2);
    assert.equal(answer.statusCode, 400, answer.body);
    assert.deepEqual(JSON.parse(String(answer.body)).problems, [
      { field: 'fields', message: 'is not a query parameter of this route' },
    ]);
  });
});
