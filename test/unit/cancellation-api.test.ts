import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { OrderRecord } from '../../lambdas/domain/orchestration';
import { handleOrderApi, type OrderApiDeps } from '../../lambdas/order-api/handler';
import { documented } from '../support/contract';
import { orderApiDeps } from './fixtures/order-api';

const BASE = '/tmf-api/productOrderingManagement/v5/cancelProductOrder';
const CALLERS = {
  crm: { sub: 'c-crm', client_id: 'crm', scope: 'switchboard/submit' },
  shop: { sub: 'c-shop', client_id: 'shop', scope: 'switchboard/submit' },
  desk: { sub: 'c-desk', client_id: 'desk', scope: 'switchboard/read-orders' },
  operator: { sub: 'u-op', username: 'olga', 'cognito:groups': '[operators]' },
} as const;

function request(
  as: keyof typeof CALLERS,
  routeKey: string,
  options: { body?: unknown; id?: string; query?: Record<string, string> } = {},
): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey,
    rawPath: routeKey.split(' ')[1]?.replace('{id}', options.id ?? ''),
    headers: { 'content-type': 'application/json' },
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
    ...(options.id === undefined ? {} : { pathParameters: { id: options.id } }),
    ...(options.query ? { queryStringParameters: options.query } : {}),
    isBase64Encoded: false,
    requestContext: { authorizer: { jwt: { claims: CALLERS[as], scopes: null } } },
  } as unknown as APIGatewayProxyEventV2;
}

/** The order API's answer, once checked against the API's document (whatever its status). */
async function call(deps: OrderApiDeps, event: APIGatewayProxyEventV2) {
  return documented(event.routeKey, await handleOrderApi(deps, event));
}

const bodyOf = (answer: { body?: string }) => JSON.parse(String(answer.body));

/** Orders o-0 (the CRM's, in progress), o-1 (the shop's, in progress) and o-2 (the CRM's, completed). */
async function world() {
  let n = 0;
  const made = orderApiDeps();
  const deps: OrderApiDeps = { ...made.deps, newId: () => `c-${++n}` };
  for (const [i, by, state] of [
    [0, 'c-crm', 'inProgress'],
    [1, 'c-shop', 'inProgress'],
    [2, 'c-crm', 'completed'],
  ] as const) {
    const at = new Date(Date.parse('2025-03-01T09:00:00.000Z') + i * 60_000).toISOString();
    const order: OrderRecord = {
      id: `o-${i}`,
      state,
      submitted: {},
      submittedBy: { id: by, name: by },
      itemKeys: [],
      planRuns: [],
      createdAt: at,
      updatedAt: at,
    };
    await made.store.createOrder(order, []);
  }
  return { ...made, deps };
}

describe('TMF622 cancelProductOrder', () => {
  it('acknowledges a cancellation, where it is, and reads and lists it', async () => {
    const { deps, queue } = await world();

    const created = await call(
      deps,
      request('crm', `POST ${BASE}`, {
        body: { productOrder: { id: 'o-0' }, cancellationReason: 'moved house' },
      }),
    );

    assert.equal(created.statusCode, 201);
    const cancellation = bodyOf(created);
    assert.equal(created.headers?.location, `${BASE}/${cancellation.id}`);
    assert.deepEqual(
      [cancellation['@type'], cancellation.state, cancellation.productOrder.id],
      ['CancelProductOrder', 'acknowledged', 'o-0'],
    );
    assert.equal(queue.sent.length, 1, 'handed to the worker');
    const read = await call(deps, request('crm', `GET ${BASE}/{id}`, { id: cancellation.id }));
    assert.deepEqual(bodyOf(read), cancellation);
    const listed = await call(deps, request('desk', `GET ${BASE}`, { query: { state: 'acknowledged' } }));
    assert.equal(listed.headers?.['x-result-count'], '1');
  });

  it('answers one that ended with an error as the extended type, saying why', async () => {
    const { deps, cancellations } = await world();
    const { id } = bodyOf(
      await call(deps, request('operator', `POST ${BASE}`, { body: { productOrder: { id: 'o-1' } } })),
    );
    await cancellations.setState(id, ['acknowledged'], 'terminatedWithError', {
      errorMessage: 'item p.activate.1 is a point of no return and has completed',
      endedAt: '2025-03-01T10:00:00.000Z',
    });

    const read = bodyOf(await call(deps, request('shop', `GET ${BASE}/{id}`, { id })));

    assert.equal(read['@type'], 'SwitchboardCancelProductOrder');
    assert.equal(read.errorMessage.status, 'terminatedWithError');
  });

  it('pages by cursor, with the link to the next page', async () => {
    const { deps } = await world();
    for (const id of ['o-0', 'o-1'])
      await call(deps, request('operator', `POST ${BASE}`, { body: { productOrder: { id } } }));

    const first = await call(deps, request('operator', `GET ${BASE}`, { query: { limit: '1' } }));

    assert.equal(first.headers?.['x-result-count'], '1');
    assert.match(String(first.headers?.link), /rel="next"$/);
  });

  it('refuses as the document says', async () => {
    const { deps } = await world();
    const status = async (event: APIGatewayProxyEventV2) => (await call(deps, event)).statusCode;

    // Another's order is no order (400 naming productOrder.id); a finished one cannot be cancelled.
    assert.equal(
      await status(request('shop', `POST ${BASE}`, { body: { productOrder: { id: 'o-0' } } })),
      400,
    );
    assert.equal(
      await status(request('crm', `POST ${BASE}`, { body: { productOrder: { id: 'o-2' } } })),
      409,
    );
    assert.equal(
      await status(request('crm', `POST ${BASE}`, { body: { productOrder: {}, state: 'done' } })),
      400,
    );
    assert.equal(
      await status(request('desk', `POST ${BASE}`, { body: { productOrder: { id: 'o-0' } } })),
      403,
    );
    assert.equal(await status(request('crm', `GET ${BASE}`, { query: { status: 'done' } })), 400);
    assert.equal(await status(request('crm', `GET ${BASE}`, { query: { after: 'not-a-cursor' } })), 400);
    assert.equal(await status(request('crm', `GET ${BASE}/{id}`, { id: 'c-9' })), 404);
    assert.equal(await status(request('crm', `GET ${BASE}/{id}`, { id: '../c-1' })), 400);
    // Under way already: a second cancellation of the same order.
    assert.equal(
      await status(request('crm', `POST ${BASE}`, { body: { productOrder: { id: 'o-0' } } })),
      201,
    );
    assert.equal(
      await status(request('crm', `POST ${BASE}`, { body: { productOrder: { id: 'o-0' } } })),
      409,
    );
    // Another submitter's cancellation reads as none.
    assert.equal(await status(request('shop', `GET ${BASE}/{id}`, { id: 'c-1' })), 404);
  });
});
