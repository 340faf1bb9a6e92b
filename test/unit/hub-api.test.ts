import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { handleOrderApi, type OrderApiDeps } from '../../lambdas/order-api/handler';
import { MAX_LISTENERS_PER_OWNER } from '../../lambdas/order-api/hub';
import { documented } from '../support/contract';
import { orderApiDeps } from './fixtures/order-api';

const HUB = '/tmf-api/productOrderingManagement/v5/hub';
const CALLERS = {
  crm: { sub: 'c-crm', client_id: 'order-capture', scope: 'switchboard/submit' },
  shop: { sub: 'c-shop', client_id: 'web-shop', scope: 'switchboard/submit' },
  reporting: { sub: 'c-bi', client_id: 'reporting', scope: 'switchboard/read-orders' },
  operator: { sub: 'u-olga', username: 'olga', 'cognito:groups': ['operators'] },
  nobody: { sub: 'u-new', username: 'newcomer' },
};

function request(
  as: keyof typeof CALLERS,
  routeKey: string,
  options: { body?: unknown; id?: string; raw?: string } = {},
): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey,
    rawPath: routeKey.split(' ')[1]?.replace('{id}', options.id ?? ''),
    headers: { 'content-type': 'application/json' },
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
    ...(options.raw === undefined ? {} : { body: options.raw }),
    ...(options.id ? { pathParameters: { id: options.id } } : {}),
    isBase64Encoded: false,
    requestContext: { authorizer: { jwt: { claims: CALLERS[as], scopes: null } } },
  } as unknown as APIGatewayProxyEventV2;
}

const body = (answer: { body?: string }) => JSON.parse(answer.body ?? 'null');

/** The order API's answer, once checked against the API's document (whatever its status). */
async function call(deps: OrderApiDeps, event: APIGatewayProxyEventV2) {
  return documented(event.routeKey, await handleOrderApi(deps, event));
}

describe('the TMF622 hub', () => {
  it('registers a listener, answering its secret once and where it is', async () => {
    const { deps } = orderApiDeps();
    const created = await call(
      deps,
      request('crm', `POST ${HUB}`, {
        body: { callback: 'https://crm.example.com/tmf', query: 'eventType=ProductOrderStateChangeEvent' },
      }),
    );
    assert.equal(created.statusCode, 201);
    const hub = body(created);
    assert.equal(hub['@type'], 'Hub');
    assert.equal(hub.callback, 'https://crm.example.com/tmf');
    assert.equal(hub.query, 'eventType=ProductOrderStateChangeEvent');
    assert.match(hub.secret, /^whsec_/);
    assert.equal(created.headers?.location, `${HUB}/${hub.id}`);

    const read = await call(deps, request('crm', `GET ${HUB}/{id}`, { id: hub.id }));
    assert.equal(read.statusCode, 200);
    assert.equal(body(read).secret, undefined, 'the secret is answered once');
  });

  it('refuses a registration it cannot deliver to, naming the field', async () => {
    const { deps } = orderApiDeps();
    for (const [sent, field] of [
      [{}, 'callback'],
      [{ callback: 'http://crm.example.com/tmf' }, 'callback'],
      [{ callback: 'https://crm.example.com/tmf', query: 'state>completed' }, 'query'],
      [{ callback: 'https://crm.example.com/tmf', id: 'mine' }, 'id'],
    ] as const) {
      const answer = await call(deps, request('crm', `POST ${HUB}`, { body: sent }));
      assert.equal(answer.statusCode, 400, JSON.stringify(sent));
      assert.match(answer.body ?? '', new RegExp(field), JSON.stringify(sent));
    }
    assert.equal((await deps.listeners.list()).length, 0, 'nothing half-registered');
  });

  it('lets only its owner, or an operator, see and remove a listener', async () => {
    const { deps } = orderApiDeps();
    const { id } = body(
      await call(deps, request('crm', `POST ${HUB}`, { body: { callback: 'https://crm.example.com/tmf' } })),
    );
    await call(deps, request('shop', `POST ${HUB}`, { body: { callback: 'https://shop.example.com/tmf' } }));

    assert.equal((await call(deps, request('shop', `GET ${HUB}/{id}`, { id }))).statusCode, 404);
    assert.equal((await call(deps, request('shop', `DELETE ${HUB}/{id}`, { id }))).statusCode, 404);
    assert.equal((await call(deps, request('reporting', `DELETE ${HUB}/{id}`, { id }))).statusCode, 404);
    const own = body(await call(deps, request('shop', `GET ${HUB}`)));
    assert.deepEqual(
      own.map((h: { callback: string }) => h.callback),
      ['https://shop.example.com/tmf'],
    );
    const all = body(await call(deps, request('operator', `GET ${HUB}`)));
    assert.equal(all.length, 2);

    assert.equal((await call(deps, request('operator', `GET ${HUB}/{id}`, { id }))).statusCode, 200);
    assert.equal((await call(deps, request('crm', `DELETE ${HUB}/{id}`, { id }))).statusCode, 204);
    assert.equal((await call(deps, request('crm', `GET ${HUB}/{id}`, { id }))).statusCode, 404);
  });

  it('refuses a registration past the most one caller may have, and takes one again after a removal', async () => {
    const { deps } = orderApiDeps();
    const register = () =>
      call(deps, request('crm', `POST ${HUB}`, { body: { callback: 'https://crm.example.com/tmf' } }));
    for (let n = 0; n < MAX_LISTENERS_PER_OWNER; n++) assert.equal((await register()).statusCode, 201);
    const refused = await register();
    assert.equal(refused.statusCode, 409);
    assert.match(refused.body ?? '', /the most one caller may have/);
    assert.equal(
      (
        await call(
          deps,
          request('shop', `POST ${HUB}`, { body: { callback: 'https://shop.example.com/tmf' } }),
        )
      ).statusCode,
      201,
      'another caller counts its own',
    );
    const [first] = await deps.listeners.list({ ownerId: 'c-crm' });
    assert.ok(first);
    await call(deps, request('crm', `DELETE ${HUB}/{id}`, { id: first.id }));
    assert.equal((await register()).statusCode, 201);
  });

  it('refuses as the document says: a caller without a role, a malformed id, a body too large', async () => {
    const { deps } = orderApiDeps();
    for (const routeKey of [`POST ${HUB}`, `GET ${HUB}`, `GET ${HUB}/{id}`, `DELETE ${HUB}/{id}`])
      assert.equal(
        (
          await call(
            deps,
            request('nobody', routeKey, { id: 'h-1', body: { callback: 'https://x.example' } }),
          )
        ).statusCode,
        403,
        routeKey,
      );
    for (const routeKey of [`GET ${HUB}/{id}`, `DELETE ${HUB}/{id}`])
      assert.equal((await call(deps, request('crm', routeKey, { id: '../x' }))).statusCode, 400, routeKey);
    const large = await call(deps, request('crm', `POST ${HUB}`, { raw: 'x'.repeat(300 * 1024) }));
    assert.equal(large.statusCode, 413);
    const listed = await call(deps, request('crm', `GET ${HUB}`));
    assert.equal(listed.headers?.['x-result-count'], '0');
  });

  it('gives a reader’s listener every order’s events, a submitter’s only its own', async () => {
    const { deps } = orderApiDeps();
    await call(
      deps,
      request('reporting', `POST ${HUB}`, { body: { callback: 'https://bi.example.com/tmf' } }),
    );
    await call(deps, request('crm', `POST ${HUB}`, { body: { callback: 'https://crm.example.com/tmf' } }));
    const kept = await deps.listeners.list();
    assert.deepEqual(kept.map((l) => [l.owner.id, l.readsAll]).sort(), [
      ['c-bi', true],
      ['c-crm', false],
    ]);
  });
});
