import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it, type TestContext } from 'node:test';
import { FetchHttpClient } from '../../lambdas/adapters/fetch-http-client';
import { type AuthProfile, authProfileSchema } from '../../lambdas/domain/auth-profile';
import {
  Authenticator,
  type Credentialed,
  scrubJson,
  scrubSecrets,
} from '../../lambdas/domain/authenticator';
import { CalloutError } from '../../lambdas/domain/errors';
import type { SecretStore } from '../../lambdas/ports/secret-store';
import { StaticSecretStore } from './fixtures/configuration';
import { listenOnLoopback } from './fixtures/loopback';

const CLIENT_ID = 'switchboard-client-7f3a';
// Characters that client authentication must form-encode before base64 (RFC 6749 §2.3.1).
const CLIENT_SECRET = 'cs:S3cr3t+/ with space%';
const API_KEY = 'ak-1f0e9d8c7b6a';
const USERNAME = 'svc-switchboard';
const PASSWORD = 'p@ss:w0rd-91';
const BEARER = 'static-bearer-5e4d3c2b';

const profile = (value: unknown): AuthProfile => authProfileSchema.parse(value);

const OAUTH2 = profile({
  id: 'inventory-oauth',
  type: 'oauth2-client-credentials',
  tokenUrl: '/oauth2/token',
  scope: 'ports:write ports:read',
});

/** A request as the loopback server received it. */
interface Received {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

interface Answer {
  status: number;
  /** Sent as JSON. */
  json?: unknown;
  /** Sent as it is, when there is no `json`. */
  text?: string;
  delayMs?: number;
}

interface LoopbackServer {
  url: string;
  received: Received[];
  /** Requests to one path. */
  to(path: string): Received[];
}

/** Starts an HTTP server on a free loopback port, closed when the test ends. */
async function startServer(t: TestContext, handle: (request: Received) => Answer): Promise<LoopbackServer> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const request = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      received.push(request);
      const answer = handle(request);
      setTimeout(() => {
        const json = answer.json !== undefined;
        res.writeHead(answer.status, { 'content-type': json ? 'application/json' : 'text/plain' });
        res.end(json ? JSON.stringify(answer.json) : (answer.text ?? ''));
      }, answer.delayMs ?? 0);
    });
  });
  const url = await listenOnLoopback(t, server);
  return {
    url,
    received,
    to: (path) => received.filter((r) => r.path === path),
  };
}

const refused = (why: string): Answer => ({ status: 401, json: { error: 'unauthorized', why } });

/** The user and password of an `authorization: Basic …` header, decoded as RFC 6749 §2.3.1 says. */
function basicCredentials(header: string | undefined): { user: string; password: string } | undefined {
  const match = /^Basic (.+)$/.exec(header ?? '');
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  const formDecode = (s: string) => decodeURIComponent(s.replace(/\+/g, ' '));
  return { user: formDecode(decoded.slice(0, colon)), password: formDecode(decoded.slice(colon + 1)) };
}

interface TokenServerOptions {
  /** Where the token endpoint is. */
  tokenPath?: string;
  /** Sent as expires_in; absent when undefined. */
  expiresIn?: number;
  delayMs?: number;
  /** Answers the token request instead of the rules below, for a token endpoint that misbehaves. */
  tokenAnswer?: (request: Received) => Answer | undefined;
}

/**
 * An OAuth2 authorization server and the API it guards, in one: the token endpoint checks the client
 * credentials, the form and the scope, and issues token-1, token-2, …; POST /work accepts only the most
 * recently issued token.
 */
async function startTokenServer(t: TestContext, options: TokenServerOptions = {}) {
  const tokenPath = options.tokenPath ?? '/oauth2/token';
  let issued = 0;
  const server = await startServer(t, (request) => {
    if (request.path === tokenPath) {
      const override = options.tokenAnswer?.(request);
      if (override) return override;
      const client = basicCredentials(request.headers.authorization);
      if (client?.user !== CLIENT_ID || client.password !== CLIENT_SECRET) {
        return { status: 401, json: { error: 'invalid_client' } };
      }
      if (request.headers['content-type'] !== 'application/x-www-form-urlencoded') {
        return { status: 400, json: { error: 'invalid_request' } };
      }
      const form = new URLSearchParams(request.body);
      if (form.get('grant_type') !== 'client_credentials') {
        return { status: 400, json: { error: 'unsupported_grant_type' } };
      }
      issued++;
      return {
        status: 200,
        delayMs: options.delayMs ?? 0,
        json: {
          access_token: `token-${issued}`,
          token_type: 'Bearer',
          ...(options.expiresIn !== undefined ? { expires_in: options.expiresIn } : {}),
        },
      };
    }
    if (request.path === '/work') {
      return request.headers.authorization === `Bearer token-${issued}` && issued > 0
        ? { status: 200, json: { done: true } }
        : refused('not the current token');
    }
    return { status: 404, text: 'no such path' };
  });
  return { ...server, tokenRequests: () => server.to(tokenPath) };
}

/** A clock the test moves by hand. */
function manualClock(start = '2025-03-01T10:00:00.000Z') {
  let ms = Date.parse(start);
  return {
    now: () => new Date(ms),
    advance: (by: number) => {
      ms += by;
    },
  };
}

const oauthSecrets = () =>
  new StaticSecretStore({ [OAUTH2.id]: { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET } });

function authenticator(secrets: SecretStore, clock = manualClock()) {
  return new Authenticator(secrets, new FetchHttpClient(), clock.now);
}

/** Sends POST /work with the credential headers and returns the status the server answered. */
async function work(url: string, credentialed: Credentialed): Promise<number> {
  const answer = await new FetchHttpClient().send({
    method: 'POST',
    url: `${url}/work`,
    headers: { 'content-type': 'application/json', ...credentialed.headers },
    body: '{}',
    timeoutMs: 5000,
  });
  return answer.status;
}

/** Asserts a CalloutError whose message matches every pattern and contains none of the values. */
async function assertCalloutError(
  promise: Promise<unknown>,
  patterns: RegExp[],
  forbidden: string[] = [],
): Promise<string> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof CalloutError, `a CalloutError, not ${String(caught)}`);
  for (const pattern of patterns) assert.match(caught.message, pattern);
  for (const value of forbidden) {
    assert.ok(!caught.message.includes(value), `the message gives away "${value}": ${caught.message}`);
  }
  return caught.message;
}

describe('Authenticator: no auth', () => {
  for (const [name, given] of [
    ['an absent profile', undefined],
    ['a "none" profile', profile({ id: 'open', type: 'none' })],
  ] as const) {
    it(`adds no headers and reads no secret for ${name}`, async () => {
      // Prepare
      const secrets = new StaticSecretStore({});

      // Act
      const credentialed = await authenticator(secrets).headers(given, 'http://inventory.test');

      // Assess
      assert.deepEqual(credentialed, { headers: {}, secrets: [] });
      assert.equal(secrets.reads, 0);
    });
  }
});

describe('Authenticator: static credentials', () => {
  it('sends an api key in the header the profile names, lower-cased, and the system accepts it', async (t) => {
    // Prepare
    const server = await startServer(t, (r) =>
      r.headers['x-partner-key'] === API_KEY ? { status: 200, json: { ok: true } } : refused('bad key'),
    );
    const keyProfile = profile({ id: 'partner-key', type: 'api-key', header: 'X-Partner-Key' });
    const auth = authenticator(new StaticSecretStore({ 'partner-key': { apiKey: API_KEY } }));

    // Act
    const credentialed = await auth.headers(keyProfile, server.url);
    const status = await work(server.url, credentialed);

    // Assess
    assert.deepEqual(credentialed, { headers: { 'x-partner-key': API_KEY }, secrets: [API_KEY] });
    assert.equal(status, 200);
  });

  it('sends an api key in x-api-key when the profile names no header', async () => {
    const keyProfile = profile({ id: 'partner-key', type: 'api-key' });
    const auth = authenticator(new StaticSecretStore({ 'partner-key': { apiKey: API_KEY } }));

    const credentialed = await auth.headers(keyProfile, 'http://inventory.test');

    assert.deepEqual(credentialed.headers, { 'x-api-key': API_KEY });
  });

  it('sends basic credentials the system accepts, and a wrong password the system refuses', async (t) => {
    // Prepare
    const server = await startServer(t, (r) => {
      const given = basicCredentials(r.headers.authorization);
      return given?.user === USERNAME && given.password === PASSWORD
        ? { status: 200, json: { ok: true } }
        : refused('bad user or password');
    });
    const basicProfile = profile({ id: 'legacy-basic', type: 'basic' });
    const right = authenticator(
      new StaticSecretStore({ 'legacy-basic': { username: USERNAME, password: PASSWORD } }),
    );
    const wrong = authenticator(
      new StaticSecretStore({ 'legacy-basic': { username: USERNAME, password: 'not-the-password' } }),
    );

    // Act
    const credentialed = await right.headers(basicProfile, server.url);
    const accepted = await work(server.url, credentialed);
    const refusedStatus = await work(server.url, await wrong.headers(basicProfile, server.url));

    // Assess
    const encoded = Buffer.from(`${USERNAME}:${PASSWORD}`).toString('base64');
    assert.deepEqual(credentialed.headers, { authorization: `Basic ${encoded}` });
    assert.deepEqual(new Set(credentialed.secrets), new Set([encoded, PASSWORD]));
    assert.equal(accepted, 200);
    assert.equal(refusedStatus, 401);
  });

  it('sends a bearer token the system accepts', async (t) => {
    // Prepare
    const server = await startServer(t, (r) =>
      r.headers.authorization === `Bearer ${BEARER}`
        ? { status: 200, json: { ok: true } }
        : refused('bad token'),
    );
    const bearerProfile = profile({ id: 'billing-bearer', type: 'bearer' });
    const auth = authenticator(new StaticSecretStore({ 'billing-bearer': { token: BEARER } }));

    // Act
    const credentialed = await auth.headers(bearerProfile, server.url);
    const status = await work(server.url, credentialed);

    // Assess
    assert.deepEqual(credentialed, { headers: { authorization: `Bearer ${BEARER}` }, secrets: [BEARER] });
    assert.equal(status, 200);
  });

  it('does not offer to renew a static credential or no credential after a 401', () => {
    const auth = authenticator(new StaticSecretStore({}));

    for (const given of [
      undefined,
      profile({ id: 'open', type: 'none' }),
      profile({ id: 'k', type: 'api-key' }),
      profile({ id: 'b', type: 'basic' }),
      profile({ id: 't', type: 'bearer' }),
    ]) {
      assert.equal(auth.renew(given, 'http://system.test'), false, given?.type ?? 'absent');
    }
  });
});

describe('Authenticator: OAuth2 client credentials', () => {
  it('fetches a token with basic client authentication, the grant type and the scope; the system accepts it', async (t) => {
    // Prepare
    const server = await startTokenServer(t, { expiresIn: 3600 });
    const auth = authenticator(oauthSecrets());

    // Act
    const credentialed = await auth.headers(OAUTH2, server.url);
    const status = await work(server.url, credentialed);

    // Assess
    assert.deepEqual(credentialed, { headers: { authorization: 'Bearer token-1' }, secrets: ['token-1'] });
    assert.equal(status, 200);
    const [tokenRequest] = server.tokenRequests();
    assert.equal(tokenRequest?.method, 'POST');
    assert.equal(tokenRequest?.headers['content-type'], 'application/x-www-form-urlencoded');
    assert.equal(tokenRequest?.headers.accept, 'application/json');
    assert.deepEqual(basicCredentials(tokenRequest?.headers.authorization), {
      user: CLIENT_ID,
      password: CLIENT_SECRET,
    });
    assert.deepEqual(Object.fromEntries(new URLSearchParams(tokenRequest?.body)), {
      grant_type: 'client_credentials',
      scope: 'ports:write ports:read',
    });
    assert.ok(!tokenRequest?.body.includes(CLIENT_SECRET), 'the secret goes in the header, not the form');
  });

  it('asks for no scope when the profile gives none', async (t) => {
    const server = await startTokenServer(t);
    const { scope: _scope, ...unscoped } = OAUTH2 as Extract<
      AuthProfile,
      { type: 'oauth2-client-credentials' }
    >;

    await authenticator(oauthSecrets()).headers(unscoped, server.url);

    assert.deepEqual(Object.fromEntries(new URLSearchParams(server.tokenRequests()[0]?.body)), {
      grant_type: 'client_credentials',
    });
  });

  it('fetches the token once for five callouts one after another', async (t) => {
    // Prepare
    const server = await startTokenServer(t, { expiresIn: 3600 });
    const secrets = oauthSecrets();
    const auth = authenticator(secrets);

    // Act
    const all: Credentialed[] = [];
    for (let i = 0; i < 5; i++) all.push(await auth.headers(OAUTH2, server.url));

    // Assess
    assert.equal(server.tokenRequests().length, 1);
    assert.equal(secrets.reads, 1);
    assert.ok(all.every((c) => c.headers.authorization === 'Bearer token-1'));
    assert.equal(await work(server.url, all[4] ?? { headers: {}, secrets: [] }), 200);
  });

  it('fetches the token once for five callouts at the same moment', async (t) => {
    // Prepare: the token endpoint is slow, so every callout asks while the first fetch is in flight.
    const server = await startTokenServer(t, { expiresIn: 3600, delayMs: 100 });
    const auth = authenticator(oauthSecrets());

    // Act
    const all = await Promise.all(Array.from({ length: 5 }, () => auth.headers(OAUTH2, server.url)));

    // Assess
    assert.equal(server.tokenRequests().length, 1);
    assert.deepEqual(
      all.map((c) => c.headers.authorization),
      Array(5).fill('Bearer token-1'),
    );
  });

  it('uses a token until 30 s before it expires, then fetches a new one', async (t) => {
    // Prepare: a 60 s token is used for 60 s - 30 s = 30 s after it was asked for.
    const server = await startTokenServer(t, { expiresIn: 60 });
    const clock = manualClock();
    const auth = authenticator(oauthSecrets(), clock);
    await auth.headers(OAUTH2, server.url);

    // Act
    clock.advance(29_999);
    const justBefore = await auth.headers(OAUTH2, server.url);
    clock.advance(1);
    const atTheMargin = await auth.headers(OAUTH2, server.url);
    clock.advance(29_999);
    const stillTheNewOne = await auth.headers(OAUTH2, server.url);

    // Assess
    assert.equal(justBefore.headers.authorization, 'Bearer token-1');
    assert.equal(atTheMargin.headers.authorization, 'Bearer token-2');
    assert.equal(stillTheNewOne.headers.authorization, 'Bearer token-2');
    assert.equal(server.tokenRequests().length, 2);
    assert.equal(await work(server.url, stillTheNewOne), 200);
  });

  it('uses a token that comes without expires_in for 5 minutes less the margin', async (t) => {
    const server = await startTokenServer(t);
    const clock = manualClock();
    const auth = authenticator(oauthSecrets(), clock);
    await auth.headers(OAUTH2, server.url);

    clock.advance(269_999);
    const before = await auth.headers(OAUTH2, server.url);
    clock.advance(1);
    const after = await auth.headers(OAUTH2, server.url);

    assert.equal(before.headers.authorization, 'Bearer token-1');
    assert.equal(after.headers.authorization, 'Bearer token-2');
  });

  it('forgets the token on renew(), so the next callout fetches a fresh one the system accepts', async (t) => {
    // Prepare
    const server = await startTokenServer(t, { expiresIn: 3600 });
    const auth = authenticator(oauthSecrets());
    const first = await auth.headers(OAUTH2, server.url);

    // Act
    const renewing = auth.renew(OAUTH2, server.url);
    const second = await auth.headers(OAUTH2, server.url);

    // Assess
    assert.equal(renewing, true);
    assert.equal(first.headers.authorization, 'Bearer token-1');
    assert.equal(second.headers.authorization, 'Bearer token-2');
    assert.equal(server.tokenRequests().length, 2);
    assert.equal(await work(server.url, first), 401, 'the server only takes its newest token');
    assert.equal(await work(server.url, second), 200);
  });

  it('keeps a token per profile', async (t) => {
    const server = await startTokenServer(t, { expiresIn: 3600 });
    const other = profile({ ...OAUTH2, id: 'activation-oauth' });
    const auth = authenticator(
      new StaticSecretStore({
        [OAUTH2.id]: { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET },
        'activation-oauth': { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET },
      }),
    );

    const one = await auth.headers(OAUTH2, server.url);
    const two = await auth.headers(other, server.url);
    const oneAgain = await auth.headers(OAUTH2, server.url);

    assert.equal(one.headers.authorization, 'Bearer token-1');
    assert.equal(two.headers.authorization, 'Bearer token-2');
    assert.equal(oneAgain.headers.authorization, 'Bearer token-1');
  });

  for (const [baseSuffix, expectedPath] of [
    ['/api', '/api/oauth2/token'],
    ['/api/', '/api/oauth2/token'],
    ['', '/oauth2/token'],
  ] as const) {
    it(`resolves a token path against the system base URL ending in "${baseSuffix}"`, async (t) => {
      // Prepare
      const server = await startTokenServer(t, { tokenPath: expectedPath, expiresIn: 3600 });
      const auth = authenticator(oauthSecrets());

      // Act
      const credentialed = await auth.headers(OAUTH2, `${server.url}${baseSuffix}`);

      // Assess
      assert.equal(credentialed.headers.authorization, 'Bearer token-1');
      assert.equal(server.to(expectedPath).length, 1);
    });
  }

  it('calls an absolute token URL as it is, whatever the system base URL', async (t) => {
    const server = await startTokenServer(t, { tokenPath: '/idp/token', expiresIn: 3600 });
    const absolute = profile({ ...OAUTH2, tokenUrl: `${server.url}/idp/token` });

    const credentialed = await authenticator(oauthSecrets()).headers(absolute, 'http://inventory.test/api');

    assert.equal(credentialed.headers.authorization, 'Bearer token-1');
    assert.equal(server.to('/idp/token').length, 1);
  });

  it('fetches a token from each system for a profile whose token path two systems share', async (t) => {
    // Prepare: two systems, each with its own authorization server, under one profile with a token path.
    const a = await startTokenServer(t, { expiresIn: 3600 });
    const b = await startTokenServer(t, { expiresIn: 3600 });
    const auth = authenticator(oauthSecrets());

    // Act
    const forA = await auth.headers(OAUTH2, a.url);
    const forB = await auth.headers(OAUTH2, b.url);

    // Assess
    assert.equal(a.tokenRequests().length, 1);
    assert.equal(b.tokenRequests().length, 1, "system B's token endpoint is asked");
    assert.equal(await work(a.url, forA), 200);
    assert.equal(await work(b.url, forB), 200, "system B takes its own token, not A's");
  });

  const misbehaving: [string, (request: Received) => Answer, RegExp][] = [
    ['401', () => ({ status: 401, json: { error: 'invalid_client' } }), /answered 401 \(invalid_client\)$/],
    ['500', () => ({ status: 500, text: 'Internal Server Error' }), /answered 500$/],
    ['200 with a body that is not JSON', () => ({ status: 200, text: '<html>ok</html>' }), /no access_token/],
    [
      '200 without an access_token',
      () => ({ status: 200, json: { token_type: 'Bearer' } }),
      /no access_token/,
    ],
    [
      '200 with an empty access_token',
      () => ({ status: 200, json: { access_token: '' } }),
      /no access_token/,
    ],
    [
      '400 that echoes the client id and secret',
      () => ({ status: 400, json: { error: `unknown client ${CLIENT_ID} (secret ${CLIENT_SECRET})` } }),
      /answered 400 \(unknown client \*\*\* \(secret \*\*\*\)\)$/,
    ],
  ];
  for (const [answering, answer, why] of misbehaving) {
    it(`fails with a CalloutError naming the profile, and no credential, when the token endpoint answers ${answering}`, async (t) => {
      // Prepare
      const server = await startTokenServer(t, { tokenAnswer: answer });
      const auth = authenticator(oauthSecrets());

      // Act and Assess
      await assertCalloutError(
        auth.headers(OAUTH2, server.url),
        [
          /^OAuth2 token for auth profile "inventory-oauth" from http:\/\/127\.0\.0\.1:\d+\/oauth2\/token: /,
          why,
        ],
        [CLIENT_ID, CLIENT_SECRET],
      );
      assert.equal(server.tokenRequests().length, 1);
    });
  }

  it('keeps the encoded client credentials out of the error when the token endpoint echoes its authorization header', async (t) => {
    // Prepare
    const server = await startTokenServer(t, {
      tokenAnswer: (r) => ({
        status: 400,
        json: { error: `bad client authentication: ${r.headers.authorization}` },
      }),
    });
    const encoded = Buffer.from(
      `${encodeURIComponent(CLIENT_ID)}:${encodeURIComponent(CLIENT_SECRET)}`,
    ).toString('base64');

    // Act and Assess
    await assertCalloutError(
      authenticator(oauthSecrets()).headers(OAUTH2, server.url),
      [/inventory-oauth/],
      [encoded],
    );
  });

  it('fails with a CalloutError naming the profile when the token endpoint cannot be reached', async () => {
    // Prepare: a port a server listened on a moment ago, and no longer.
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    const unreachable = profile({ ...OAUTH2, tokenUrl: `http://127.0.0.1:${port}/oauth2/token` });

    // Act and Assess
    await assertCalloutError(
      authenticator(oauthSecrets()).headers(unreachable, 'http://inventory.test'),
      [/auth profile "inventory-oauth"/, /connection failed/],
      [CLIENT_ID, CLIENT_SECRET],
    );
  });

  it('does not keep a failed fetch: the next callout asks again', async (t) => {
    // Prepare: the token endpoint fails once, then works.
    let calls = 0;
    const server = await startTokenServer(t, {
      expiresIn: 3600,
      tokenAnswer: () => (++calls === 1 ? { status: 503, text: 'busy' } : undefined),
    });
    const auth = authenticator(oauthSecrets());
    await assert.rejects(auth.headers(OAUTH2, server.url), CalloutError);

    // Act
    const credentialed = await auth.headers(OAUTH2, server.url);

    // Assess
    assert.equal(credentialed.headers.authorization, 'Bearer token-1');
    assert.equal(server.tokenRequests().length, 2);
  });
});

describe('Authenticator: secrets', () => {
  const cases: [string, AuthProfile, Record<string, unknown>, RegExp, string[]][] = [
    [
      'basic without a password',
      profile({ id: 'legacy-basic', type: 'basic' }),
      { username: 'svc-user-77', pass: 'hunter2-typo' },
      /auth profile "legacy-basic" \(basic\) is missing or has invalid fields: password$/,
      ['svc-user-77', 'hunter2-typo'],
    ],
    [
      'OAuth2 without a client secret',
      OAUTH2,
      { clientId: CLIENT_ID, client_secret: CLIENT_SECRET },
      /auth profile "inventory-oauth" \(oauth2-client-credentials\) is missing or has invalid fields: clientSecret$/,
      [CLIENT_ID, CLIENT_SECRET],
    ],
    [
      'an api key that is not a string',
      profile({ id: 'partner-key', type: 'api-key' }),
      { apiKey: 918273645 },
      /auth profile "partner-key" \(api-key\) is missing or has invalid fields: apiKey$/,
      ['918273645'],
    ],
    [
      'bearer with neither field',
      profile({ id: 'billing-bearer', type: 'bearer' }),
      { tok: BEARER },
      /auth profile "billing-bearer" \(bearer\) is missing or has invalid fields: token$/,
      [BEARER],
    ],
  ];
  for (const [name, given, secret, message, values] of cases) {
    it(`fails with a CalloutError naming the fields, not the values, for ${name}`, async (t) => {
      // Prepare
      const server = await startTokenServer(t);

      // Act and Assess
      await assertCalloutError(
        authenticator(new StaticSecretStore({ [given.id]: secret })).headers(given, server.url),
        [message],
        values,
      );
      assert.equal(server.received.length, 0, 'no token is asked for with half a secret');
    });
  }

  it('names both missing OAuth2 fields', async () => {
    await assertCalloutError(
      authenticator(new StaticSecretStore({ [OAUTH2.id]: {} })).headers(OAUTH2, 'http://x.test'),
      [/invalid fields: clientId, clientSecret$/],
    );
  });

  for (const given of [profile({ id: 'partner-key', type: 'api-key' }), OAUTH2]) {
    it(`fails with a CalloutError naming the profile when the secret store throws (${given.type})`, async (t) => {
      // Prepare
      const server = await startTokenServer(t);
      const failing: SecretStore = {
        credentials: async () => {
          throw new Error('AccessDeniedException: not allowed to read the secret');
        },
      };

      // Act and Assess
      await assertCalloutError(authenticator(failing).headers(given, server.url), [
        new RegExp(`^credentials of auth profile "${given.id}" are unavailable: AccessDeniedException`),
      ]);
      assert.equal(server.received.length, 0);
    });
  }

  it('names the profile when the store has no secret for it', async () => {
    await assertCalloutError(authenticator(new StaticSecretStore({})).headers(OAUTH2, 'http://x.test'), [
      /credentials of auth profile "inventory-oauth" are unavailable/,
    ]);
  });
});

describe('scrubSecrets', () => {
  it('replaces every occurrence of every secret with ***', () => {
    // Act
    const scrubbed = scrubSecrets(`key ${API_KEY}; again ${API_KEY}; token ${BEARER}.`, [API_KEY, BEARER]);

    // Assess
    assert.equal(scrubbed, 'key ***; again ***; token ***.');
  });

  it('ignores secrets shorter than 4 characters, and scrubs those of 4', () => {
    assert.equal(scrubSecrets('abc and abcd', ['abc']), 'abc and abcd');
    assert.equal(scrubSecrets('abc and abcd', ['abcd']), 'abc and ***');
    assert.equal(scrubSecrets('nothing here', ['']), 'nothing here');
  });

  it('leaves a text without secrets as it is', () => {
    assert.equal(scrubSecrets('answered 500', [API_KEY]), 'answered 500');
    assert.equal(scrubSecrets('answered 500', []), 'answered 500');
  });
});

describe('scrubJson', () => {
  it('replaces secrets inside any string of a JSON value', () => {
    // Prepare
    const value = { echo: { headers: [`Bearer ${BEARER}`], key: API_KEY }, ok: true, n: 1 };

    // Act
    const scrubbed = scrubJson(value, [BEARER, API_KEY]);

    // Assess
    assert.deepEqual(scrubbed, { echo: { headers: ['Bearer ***'], key: '***' }, ok: true, n: 1 });
    assert.equal(value.echo.key, API_KEY, 'the value given is not changed');
  });

  it('replaces a secret that JSON escapes', () => {
    // Prepare: quotes and backslashes appear escaped in the JSON text.
    const secret = 'pa"ss\\wo\nrd';
    const value = { echoed: `password=${secret}` };

    // Act
    const scrubbed = scrubJson(value, [secret]);

    // Assess
    assert.deepEqual(scrubbed, { echoed: 'password=***' });
    assert.ok(!JSON.stringify(scrubbed).includes(JSON.stringify(secret).slice(1, -1)));
  });

  it('gives back the same value when there is nothing to scrub', () => {
    const value = { a: 'b' };

    assert.equal(scrubJson(value, [API_KEY]), value);
    assert.equal(scrubJson(value, []), value);
    assert.equal(scrubJson(undefined, [API_KEY]), undefined);
  });

  it('ignores secrets shorter than 4 characters', () => {
    assert.deepEqual(scrubJson({ a: 'xyz!' }, ['xyz']), { a: 'xyz!' });
  });

  it('scrubs a secret that also appears outside a string, as a number or a literal', () => {
    // Prepare: a numeric PIN used as an api key, which a system echoes as a number.
    const value = { pin: 482913, note: 'pin 482913' };

    // Act
    const scrubbed = scrubJson(value, ['482913']);

    // Assess
    assert.ok(!JSON.stringify(scrubbed).includes('482913'));
  });
});
