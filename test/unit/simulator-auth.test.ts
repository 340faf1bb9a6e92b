import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  type SimulatedAuth,
  type SimulatedSystem,
  startSimulatedSystem,
} from '../../simulators/simulated-system';

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`;

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

function startGuarded(auth: SimulatedAuth): Promise<SimulatedSystem> {
  return startSimulatedSystem(
    { name: 'guarded', port: 0, auth },
    { 'POST /work': ({ body }) => ({ status: 201, body: { done: body } }) },
  );
}

function work(system: SimulatedSystem, headers: Record<string, string> = {}) {
  return fetch(`${system.url}/work`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ orderId: 'o-1' }),
  });
}

async function assertRefused(response: Response, challenge: RegExp) {
  assert.equal(response.status, 401);
  assert.match(response.headers.get('www-authenticate') ?? '', challenge);
  assert.match(response.headers.get('content-type') ?? '', /application\/json/);
  const body = (await response.json()) as { error?: string };
  assert.equal(body.error, 'unauthorized');
}

function requestToken(
  system: SimulatedSystem,
  form: Record<string, string>,
  headers: Record<string, string> = {},
) {
  return fetch(`${system.url}/oauth2/token`, {
    method: 'POST',
    headers: { ...FORM, ...headers },
    body: new URLSearchParams(form).toString(),
  });
}

async function tokenFrom(response: Response): Promise<string> {
  assert.equal(response.status, 200);
  const body = (await response.json()) as { access_token: string };
  return body.access_token;
}

describe('a simulated system without auth', () => {
  it('answers requests that carry no credentials, as it always did', async () => {
    const system = await startSimulatedSystem(
      { name: 'open', port: 0 },
      { 'POST /work': () => ({ status: 200, body: {} }) },
    );
    try {
      const response = await work(system);

      assert.equal(response.status, 200);
      assert.equal(system.stats.unauthorized, 0);
    } finally {
      await system.stop();
    }
  });
});

describe('api-key auth', () => {
  let system: SimulatedSystem;
  before(async () => {
    system = await startGuarded({ type: 'api-key', header: 'X-Api-Key', apiKey: 'k-right' });
  });
  after(() => system.stop());

  it('accepts the right key in the named header, whatever the case of its name', async () => {
    const response = await work(system, { 'x-api-key': 'k-right' });

    assert.equal(response.status, 201);
    assert.deepEqual(await response.json(), { done: { orderId: 'o-1' } });
  });

  it('answers 401 for a wrong or missing key, without acting or recording the request', async () => {
    const counted = { ...system.stats, requests: system.requests.length };

    await assertRefused(await work(system, { 'x-api-key': 'k-wrong' }), /^ApiKey .*header="x-api-key"/);
    await assertRefused(await work(system), /^ApiKey /);
    await assertRefused(await work(system, { authorization: 'Bearer k-right' }), /^ApiKey /);

    assert.equal(system.stats.unauthorized, counted.unauthorized + 3);
    assert.equal(system.stats.acted, counted.acted);
    assert.equal(system.requests.length, counted.requests);
  });
});

describe('basic auth', () => {
  let system: SimulatedSystem;
  before(async () => {
    system = await startGuarded({ type: 'basic', username: 'billing-user', password: 'p:ss wörd' });
  });
  after(() => system.stop());

  it('accepts the right username and password, a colon in the password included', async () => {
    const response = await work(system, { authorization: basic('billing-user', 'p:ss wörd') });

    assert.equal(response.status, 201);
  });

  it('answers 401 with a Basic challenge for a wrong password, a wrong user, another scheme or nothing', async () => {
    const attempts: Record<string, string>[] = [
      { authorization: basic('billing-user', 'wrong') },
      { authorization: basic('someone-else', 'p:ss wörd') },
      { authorization: 'Bearer p:ss wörd' },
      { authorization: 'Basic not-base64-at-all' },
      {},
    ];
    for (const headers of attempts) {
      await assertRefused(await work(system, headers), /^Basic realm="guarded"/);
    }
  });
});

describe('bearer auth', () => {
  let system: SimulatedSystem;
  before(async () => {
    system = await startGuarded({ type: 'bearer', token: 'static-token' });
  });
  after(() => system.stop());

  it('accepts the right token, whatever the case of the scheme', async () => {
    assert.equal((await work(system, { authorization: 'Bearer static-token' })).status, 201);
    assert.equal((await work(system, { authorization: 'bearer static-token' })).status, 201);
  });

  it('answers 401, naming invalid_token only when a token was presented (RFC 6750 §3.1)', async () => {
    const wrong = await work(system, { authorization: 'Bearer other-token' });
    const missing = await work(system);

    await assertRefused(wrong, /^Bearer realm="guarded", error="invalid_token"/);
    await assertRefused(missing, /^Bearer realm="guarded"$/);
  });
});

describe('oauth2 client credentials auth', () => {
  const client = { clientId: 'switchboard', clientSecret: 's3cret' };
  let system: SimulatedSystem;
  before(async () => {
    system = await startGuarded({ type: 'oauth2', ...client });
  });
  after(() => system.stop());

  it('issues a bearer token to a client authenticated by HTTP basic, and accepts it', async () => {
    const issuedBefore = system.stats.tokensIssued;

    const response = await requestToken(
      system,
      { grant_type: 'client_credentials' },
      { authorization: basic(client.clientId, client.clientSecret) },
    );

    assert.equal(response.status, 200);
    assert.equal(response.headers.get('cache-control'), 'no-store');
    const body = (await response.json()) as Record<string, unknown>;
    assert.equal(body.token_type, 'Bearer');
    assert.equal(body.expires_in, 3600);
    assert.equal(typeof body.access_token, 'string');
    assert.equal(system.stats.tokensIssued, issuedBefore + 1);
    const call = await work(system, { authorization: `Bearer ${body.access_token}` });
    assert.equal(call.status, 201);
  });

  it('issues a token to a client authenticated by client_id and client_secret in the body', async () => {
    const token = await tokenFrom(
      await requestToken(system, {
        grant_type: 'client_credentials',
        scope: 'activations',
        ...idAndSecret(),
      }),
    );

    assert.equal((await work(system, { authorization: `Bearer ${token}` })).status, 201);
  });

  it('does not record token requests among the callouts the system saw', async () => {
    const seen = system.requests.length;

    await tokenFrom(await requestToken(system, { grant_type: 'client_credentials', ...idAndSecret() }));

    assert.equal(system.requests.length, seen);
  });

  it('answers 401 invalid_client for a wrong secret or an unknown client, by either method', async () => {
    const unauthorizedBefore = system.stats.unauthorized;
    const attempts = [
      requestToken(
        system,
        { grant_type: 'client_credentials' },
        { authorization: basic('switchboard', 'x') },
      ),
      requestToken(
        system,
        { grant_type: 'client_credentials' },
        { authorization: basic('nobody', 's3cret') },
      ),
      requestToken(system, {
        grant_type: 'client_credentials',
        client_id: 'switchboard',
        client_secret: 'x',
      }),
      requestToken(system, { grant_type: 'client_credentials' }),
    ];

    for (const response of await Promise.all(attempts)) {
      assert.equal(response.status, 401);
      assert.match(response.headers.get('www-authenticate') ?? '', /^Basic /);
      assert.equal(((await response.json()) as { error: string }).error, 'invalid_client');
    }
    assert.equal(system.stats.unauthorized, unauthorizedBefore + 4);
  });

  it('answers 400 unsupported_grant_type for another grant, and invalid_request for a missing one', async () => {
    const password = await requestToken(system, { grant_type: 'password', ...idAndSecret() });
    const none = await requestToken(system, idAndSecret());

    assert.equal(password.status, 400);
    assert.deepEqual(await errorOf(password), 'unsupported_grant_type');
    assert.equal(none.status, 400);
    assert.deepEqual(await errorOf(none), 'invalid_request');
  });

  it('answers 400 invalid_request to a client using two methods at once, or a body that is not a form', async () => {
    const both = await requestToken(
      system,
      { grant_type: 'client_credentials', ...idAndSecret() },
      { authorization: basic(client.clientId, client.clientSecret) },
    );
    const json = await fetch(`${system.url}/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ grant_type: 'client_credentials', ...idAndSecret() }),
    });

    assert.equal(both.status, 400);
    assert.equal(await errorOf(both), 'invalid_request');
    assert.equal(json.status, 400);
    assert.equal(await errorOf(json), 'invalid_request');
  });

  it('refuses tokens it never issued, and client credentials offered in place of a token', async () => {
    await assertRefused(await work(system, { authorization: 'Bearer made-up' }), /error="invalid_token"/);
    await assertRefused(
      await work(system, { authorization: basic(client.clientId, client.clientSecret) }),
      /^Bearer/,
    );
    await assertRefused(await work(system), /^Bearer realm="guarded"$/);
  });

  it('refuses a cached token once revokeTokens() is called, and accepts a fresh one', async () => {
    const token = await tokenFrom(
      await requestToken(system, { grant_type: 'client_credentials', ...idAndSecret() }),
    );
    assert.equal((await work(system, { authorization: `Bearer ${token}` })).status, 201);

    system.revokeTokens();

    await assertRefused(await work(system, { authorization: `Bearer ${token}` }), /error="invalid_token"/);
    const fresh = await tokenFrom(
      await requestToken(system, { grant_type: 'client_credentials', ...idAndSecret() }),
    );
    assert.equal((await work(system, { authorization: `Bearer ${fresh}` })).status, 201);
  });

  function idAndSecret() {
    return { client_id: client.clientId, client_secret: client.clientSecret };
  }
});

describe('oauth2 token lifetime and scope', () => {
  it('refuses a token once its lifetime is over', async () => {
    const system = await startGuarded({
      type: 'oauth2',
      clientId: 'c',
      clientSecret: 's',
      tokenTtlSeconds: 1,
    });
    try {
      const response = await requestToken(
        system,
        { grant_type: 'client_credentials' },
        { authorization: basic('c', 's') },
      );
      const { access_token: token, expires_in } = (await response.json()) as {
        access_token: string;
        expires_in: number;
      };
      assert.equal(expires_in, 1);
      assert.equal((await work(system, { authorization: `Bearer ${token}` })).status, 201);

      await new Promise((resolve) => setTimeout(resolve, 1100));

      await assertRefused(await work(system, { authorization: `Bearer ${token}` }), /error="invalid_token"/);
    } finally {
      await system.stop();
    }
  });

  it('grants the configured scope by default and refuses a scope outside it (invalid_scope)', async () => {
    const system = await startGuarded({
      type: 'oauth2',
      clientId: 'c',
      clientSecret: 's',
      scope: 'activate read',
    });
    try {
      const auth = { authorization: basic('c', 's') };

      const byDefault = await requestToken(system, { grant_type: 'client_credentials' }, auth);
      const narrower = await requestToken(system, { grant_type: 'client_credentials', scope: 'read' }, auth);
      const wider = await requestToken(
        system,
        { grant_type: 'client_credentials', scope: 'read admin' },
        auth,
      );

      assert.equal(((await byDefault.json()) as { scope: string }).scope, 'activate read');
      assert.equal(((await narrower.json()) as { scope: string }).scope, 'read');
      assert.equal(wider.status, 400);
      assert.equal(await errorOf(wider), 'invalid_scope');
    } finally {
      await system.stop();
    }
  });

  it('form-decodes a client id and secret sent in the basic header (RFC 6749 §2.3.1)', async () => {
    const system = await startGuarded({ type: 'oauth2', clientId: 'client:1', clientSecret: 'a b+c' });
    try {
      const encoded = basic(encodeURIComponent('client:1'), 'a+b%2Bc');

      const response = await requestToken(
        system,
        { grant_type: 'client_credentials' },
        { authorization: encoded },
      );

      assert.equal(response.status, 200);
    } finally {
      await system.stop();
    }
  });
});

async function errorOf(response: Response): Promise<string> {
  return ((await response.json()) as { error: string }).error;
}
