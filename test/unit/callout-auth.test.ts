import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { type AuthProfile, authProfileSchema } from '../../lambdas/domain/auth-profile';
import { Authenticator } from '../../lambdas/domain/authenticator';
import type { Catalog } from '../../lambdas/domain/catalog';
import { decompose } from '../../lambdas/domain/decompose';
import { CalloutError } from '../../lambdas/domain/errors';
import { productOrderCreateSchema } from '../../lambdas/domain/product-order';
import type { HttpRequest, HttpResponse } from '../../lambdas/ports/http-client';
import { runItem } from '../../lambdas/use-cases/run-item';
import type { RunItemDeps } from '../../lambdas/use-cases/run-item-deps';
import { planDefinitionSchema } from '../../statemachines/plan-definition';
import { dslCatalog, dslOrderBody, INVENTORY_URL, LINE_CHARACTERISTICS, offering } from './fixtures/catalogs';
import {
  InMemoryCalloutLimits,
  InMemoryConfigurationStore,
  InMemoryRetryRuleStore,
  StaticSecretStore,
} from './fixtures/configuration';
import {
  jsonAnswer,
  RecordingAvailabilityEvents,
  RecordingPlanTasks,
  RecordingTelemetry,
  RecordingWorkQueue,
  type Responder,
  ScriptedHttpClient,
  steppingClock,
  testCallbacks,
} from './fixtures/fake-ports';
import { InMemoryOrderStore } from './fixtures/in-memory-order-store';
import { capturedLogs } from './fixtures/logs';
import { pemBodyLines, testPki } from './fixtures/pki';

const ORDER = 'o-1';
const PORT = 'port-only.reserve-port.1';
const RESERVATIONS = `${INVENTORY_URL}/ports/reservations`;
const TOKEN_URL = `${INVENTORY_URL}/oauth2/token`;

const API_KEY = 'ak-5b1d2e3f4a';
const USERNAME = 'svc-switchboard';
const PASSWORD = 'p4ssw0rd-e8c1';
const BEARER = 'static-bearer-77aa99';
const CLIENT_ID = 'switchboard-client-31';
const CLIENT_SECRET = 'client-secret-c0ffee';

const base64 = (text: string) => Buffer.from(text).toString('base64');
const accessToken = (n: number) => `oauth-at-${n}-d00d`;

type Kind = 'api-key' | 'basic' | 'bearer' | 'oauth2-client-credentials';

interface Credential {
  profile: AuthProfile;
  secret: Record<string, unknown>;
  /** The request header that carries it. */
  header: string;
  /** What that header holds when right; OAuth2's depends on the token last issued. */
  expected: (issued: number) => string;
  /** Every string that may never be stored: the credential in each form it takes. */
  neverStored: string[];
}

const CREDENTIALS: Record<Kind, Credential> = {
  'api-key': {
    profile: authProfileSchema.parse({ id: 'inventory-key', type: 'api-key', header: 'X-Partner-Key' }),
    secret: { apiKey: API_KEY },
    header: 'x-partner-key',
    expected: () => API_KEY,
    neverStored: [API_KEY],
  },
  basic: {
    profile: authProfileSchema.parse({ id: 'inventory-basic', type: 'basic' }),
    secret: { username: USERNAME, password: PASSWORD },
    header: 'authorization',
    expected: () => `Basic ${base64(`${USERNAME}:${PASSWORD}`)}`,
    neverStored: [PASSWORD, base64(`${USERNAME}:${PASSWORD}`)],
  },
  bearer: {
    profile: authProfileSchema.parse({ id: 'inventory-bearer', type: 'bearer' }),
    secret: { token: BEARER },
    header: 'authorization',
    expected: () => `Bearer ${BEARER}`,
    neverStored: [BEARER],
  },
  'oauth2-client-credentials': {
    profile: authProfileSchema.parse({
      id: 'inventory-oauth',
      type: 'oauth2-client-credentials',
      tokenUrl: '/oauth2/token',
      scope: 'ports',
    }),
    secret: { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET },
    header: 'authorization',
    expected: (issued) => `Bearer ${accessToken(issued)}`,
    neverStored: [
      accessToken(1),
      accessToken(2),
      accessToken(3),
      CLIENT_ID,
      CLIENT_SECRET,
      base64(`${CLIENT_ID}:${CLIENT_SECRET}`),
    ],
  },
};

const KINDS = Object.keys(CREDENTIALS) as Kind[];
const STATIC_KINDS: Kind[] = ['api-key', 'basic', 'bearer'];

interface InventoryOptions {
  /** Refuses this many requests that carry the right credential with a 401, as if it had just revoked it. */
  refuseValid?: number;
  /** The answer to a request with the right credential; a reserved port by default. */
  answer?: (request: HttpRequest) => HttpResponse;
  /** The header value it accepts, when not the one of the kind's usual credential. */
  expected?: (issued: number) => string;
}

/**
 * The inventory behind a credential check, and its OAuth2 token endpoint: a request without the right
 * credential gets a 401 that echoes what it carried, as careless systems do.
 */
function guardedInventory(kind: Kind, options: InventoryOptions = {}): Responder {
  const credential = CREDENTIALS[kind];
  let issued = 0;
  let refusals = options.refuseValid ?? 0;
  return (request) => {
    if (request.url === TOKEN_URL) {
      if (request.headers.authorization !== `Basic ${base64(`${CLIENT_ID}:${CLIENT_SECRET}`)}`) {
        return jsonAnswer(401, { error: 'invalid_client' });
      }
      issued++;
      return jsonAnswer(200, { access_token: accessToken(issued), token_type: 'Bearer', expires_in: 3600 });
    }
    const given = request.headers[credential.header];
    const expected = options.expected ?? credential.expected;
    if (given !== expected(issued) || refusals-- > 0) {
      return jsonAnswer(401, { error: 'unauthorized', given: given ?? null });
    }
    return (options.answer ?? (() => jsonAnswer(201, { portId: 'P-7' })))(request);
  };
}

/** The DSL catalog plus a plan of a single callout to the inventory, which authenticates with `profile`. */
function catalogWithGuardedInventory(profile: AuthProfile | undefined, profileId = profile?.id): Catalog {
  const catalog = dslCatalog();
  catalog.plans['port-only'] = planDefinitionSchema.parse({
    id: 'port-only',
    fulfils: [{ offering: 'port-only' }],
    items: [{ id: 'reserve-port', type: 'callout', interface: 'reserve-port' }],
  });
  catalog.offerings['port-only'] = offering('port-only', LINE_CHARACTERISTICS);
  const inventory = catalog.systems.inventory;
  assert.ok(inventory);
  if (profileId !== undefined) inventory.authProfile = profileId;
  if (profile) catalog.authProfiles[profile.id] = profile;
  return catalog;
}

/** Stores a one-line port-only order and returns the worker's dependencies around in-memory fakes. */
async function setup(options: {
  kind: Kind;
  responder: Responder;
  secrets?: Record<string, Record<string, unknown>>;
  catalog?: Catalog;
}) {
  const credential = CREDENTIALS[options.kind];
  const catalog = options.catalog ?? catalogWithGuardedInventory(credential.profile);
  const [line] = dslOrderBody().productOrderItem as Record<string, unknown>[];
  const submitted = productOrderCreateSchema.parse({
    ...dslOrderBody(),
    productOrderItem: [{ ...line, productOffering: { id: 'port-only' } }],
  });
  const store = new InMemoryOrderStore();
  const { order, items } = decompose(catalog, ORDER, submitted, '2025-03-01T09:00:00.000Z');
  await store.createOrder(order, items);
  const http = new ScriptedHttpClient(options.responder);
  const now = steppingClock();
  const secretStore = new StaticSecretStore(
    options.secrets ?? { [credential.profile.id]: credential.secret },
  );
  const deps: RunItemDeps = {
    store,
    tasks: new RecordingPlanTasks(),
    queue: new RecordingWorkQueue(),
    http,
    catalog,
    config: InMemoryConfigurationStore.seededFrom(catalog),
    limits: new InMemoryCalloutLimits(),
    auth: new Authenticator(secretStore, http, now),
    now,
    telemetry: new RecordingTelemetry(),
    callbacks: testCallbacks,
    events: new RecordingAvailabilityEvents(),
    rules: new InMemoryRetryRuleStore(),
    sleep: async () => {},
  };
  return {
    deps,
    store,
    http,
    secretStore,
    reservations: () => http.requests.filter((r) => r.url === RESERVATIONS),
    tokenRequests: () => http.requests.filter((r) => r.url === TOKEN_URL),
  };
}

const dispatch = (itemKey: string, taskToken: string) => ({ orderId: ORDER, itemKey, taskToken });

/** Captures the worker's logs, keeping them out of the test report. */
function workerLogs(t: TestContext): () => string {
  const logs = capturedLogs(t);
  return () => logs().join('\n');
}

/** Asserts that nothing the store keeps about the order, nor any log line, holds a credential, raw or JSON-escaped. */
async function assertNoCredentialKept(
  store: InMemoryOrderStore,
  logs: () => string,
  neverStored: string[],
): Promise<void> {
  const aggregate = await store.getAggregate(ORDER);
  assert.ok(aggregate);
  const kept = JSON.stringify({
    order: aggregate.order,
    context: aggregate.context,
    items: [...aggregate.items.values()],
  });
  const logged = logs();
  for (const secret of neverStored) {
    for (const form of [secret, JSON.stringify(secret).slice(1, -1)]) {
      assert.ok(!kept.includes(form), `the store keeps "${form}": ${kept}`);
      assert.ok(!logged.includes(form), `the logs hold "${form}": ${logged}`);
    }
  }
}

describe('callouts to a system with an auth profile', () => {
  for (const kind of KINDS) {
    it(`sends the ${kind} credential to the system and stores the request without it`, async (t) => {
      // Prepare
      const logs = workerLogs(t);
      const credential = CREDENTIALS[kind];
      const { deps, store, reservations } = await setup({ kind, responder: guardedInventory(kind) });

      // Act
      await runItem(deps, dispatch(PORT, 'task-token-1'), 'delivery-1');

      // Assess
      const [sent] = reservations();
      assert.equal(reservations().length, 1);
      assert.equal(sent?.headers[credential.header], credential.expected(1));
      const item = store.item(ORDER, PORT);
      assert.equal(item.state, 'Completed', item.error);
      assert.deepEqual(item.request?.headers, {
        accept: 'application/json',
        'content-type': 'application/json',
        'idempotency-key': `${ORDER}.${PORT}`,
      });
      assert.deepEqual(item.outputAttributes, { portId: 'P-7' });
      await assertNoCredentialKept(store, logs, credential.neverStored);
    });

    it(`keeps no ${kind} credential the system echoes in a 2xx answer`, async (t) => {
      // Prepare: the system answers with every header it received.
      const logs = workerLogs(t);
      const credential = CREDENTIALS[kind];
      const { deps, store } = await setup({
        kind,
        responder: guardedInventory(kind, {
          answer: (request) => jsonAnswer(201, { portId: 'P-7', echo: request.headers }),
        }),
      });

      // Act
      await runItem(deps, dispatch(PORT, 'task-token-1'), 'delivery-1');

      // Assess
      const item = store.item(ORDER, PORT);
      assert.equal(item.state, 'Completed', item.error);
      const { echo } = (item.response?.body ?? { echo: {} }) as { echo: Record<string, string> };
      assert.match(echo[credential.header] ?? '', /\*\*\*$/);
      assert.equal(echo['idempotency-key'], `${ORDER}.${PORT}`, 'the rest of the answer is kept');
      await assertNoCredentialKept(store, logs, credential.neverStored);
    });

    it(`keeps no ${kind} credential the HTTP client quotes in an error, in the item or the log`, async (t) => {
      // Prepare: as Node's fetch does with a header value it refuses.
      const logs = workerLogs(t);
      const credential = CREDENTIALS[kind];
      const { deps, store } = await setup({
        kind,
        responder: guardedInventory(kind, {
          answer: (request) => {
            throw new TypeError(
              `Headers.append: "${request.headers[credential.header]}" is an invalid header value.`,
            );
          },
        }),
      });

      // Act
      await runItem(deps, dispatch(PORT, 'task-token-1'), 'delivery-1');

      // Assess
      const item = store.item(ORDER, PORT);
      assert.equal(item.state, 'FatallyFailed');
      assert.match(
        item.error ?? '',
        /^internal error: Headers\.append: "[^"]*\*\*\*" is an invalid header value/,
      );
      assert.match(logs(), /unexpected error running an item/);
      await assertNoCredentialKept(store, logs, credential.neverStored);
    });

    it(`keeps no ${kind} credential the system echoes in a 4xx error`, async (t) => {
      // Prepare
      const logs = workerLogs(t);
      const credential = CREDENTIALS[kind];
      const { deps, store } = await setup({
        kind,
        responder: guardedInventory(kind, {
          answer: (request) => jsonAnswer(422, { error: 'no free port', echo: request.headers }),
        }),
      });

      // Act
      await runItem(deps, dispatch(PORT, 'task-token-1'), 'delivery-1');

      // Assess
      const item = store.item(ORDER, PORT);
      assert.equal(item.state, 'FatallyFailed');
      assert.match(item.error ?? '', /^answered 422: \{"error":"no free port"/);
      assert.match(item.error ?? '', /\*\*\*/);
      assert.equal(item.response?.status, 422);
      assert.equal(store.order(ORDER).state, 'held');
      await assertNoCredentialKept(store, logs, credential.neverStored);
    });

    it(`fails the item, naming the ${kind} profile, and sends nothing when its credentials are unavailable`, async (t) => {
      // Prepare
      const logs = workerLogs(t);
      const credential = CREDENTIALS[kind];
      const { deps, store, http } = await setup({ kind, responder: guardedInventory(kind), secrets: {} });

      // Act
      await runItem(deps, dispatch(PORT, 'task-token-1'), 'delivery-1');

      // Assess
      const item = store.item(ORDER, PORT);
      assert.equal(item.state, 'FatallyFailed');
      assert.match(item.error ?? '', new RegExp(`auth profile "${credential.profile.id}"`));
      assert.equal(http.requests.length, 0, 'neither the system nor a token endpoint is called');
      assert.equal(store.order(ORDER).state, 'held');
      await assertNoCredentialKept(store, logs, credential.neverStored);
    });
  }

  for (const kind of STATIC_KINDS) {
    it(`does not send again when the system refuses a static ${kind} credential with a 401`, async (t) => {
      // Prepare
      const logs = workerLogs(t);
      const { deps, store, reservations } = await setup({
        kind,
        responder: guardedInventory(kind, { refuseValid: 1 }),
      });

      // Act
      await runItem(deps, dispatch(PORT, 'task-token-1'), 'delivery-1');

      // Assess
      assert.equal(reservations().length, 1);
      const item = store.item(ORDER, PORT);
      assert.equal(item.state, 'FatallyFailed');
      assert.match(item.error ?? '', /^answered 401/);
      await assertNoCredentialKept(store, logs, CREDENTIALS[kind].neverStored);
    });
  }

  it('fails the item and sends nothing when the system names an auth profile the catalog does not have', async (t) => {
    // Prepare
    capturedLogs(t);
    const catalog = catalogWithGuardedInventory(undefined, 'ghost-profile');
    const { deps, store, http } = await setup({
      kind: 'api-key',
      responder: guardedInventory('api-key'),
      catalog,
    });

    // Act
    await runItem(deps, dispatch(PORT, 'task-token-1'), 'delivery-1');

    // Assess
    const item = store.item(ORDER, PORT);
    assert.equal(item.state, 'FatallyFailed');
    assert.match(
      item.error ?? '',
      /auth profile "ghost-profile" of system "inventory" is not in the catalog/,
    );
    assert.equal(http.requests.length, 0);
  });

  it('keeps no credential a system echoes JSON-escaped, in a 2xx answer or a 4xx error', async (t) => {
    // Prepare: a password JSON escapes, and a system that echoes the credentials it received.
    const logs = workerLogs(t);
    const password = 'pa"ss\\w0rd-42';
    const kind = 'basic';
    const echoing = (status: number) =>
      guardedInventory(kind, {
        expected: () => `Basic ${base64(`${USERNAME}:${password}`)}`,
        answer: () => jsonAnswer(status, { portId: 'P-7', echo: { user: USERNAME, password } }),
      });
    const secrets = { 'inventory-basic': { username: USERNAME, password } };
    const ok = await setup({ kind, responder: echoing(201), secrets });
    const refused = await setup({ kind, responder: echoing(422), secrets });

    // Act
    await runItem(ok.deps, dispatch(PORT, 'task-token-1'), 'delivery-1');
    await runItem(refused.deps, dispatch(PORT, 'task-token-1'), 'delivery-1');

    // Assess
    assert.equal(ok.store.item(ORDER, PORT).state, 'Completed');
    assert.equal(refused.store.item(ORDER, PORT).state, 'FatallyFailed');
    await assertNoCredentialKept(ok.store, logs, [password]);
    await assertNoCredentialKept(refused.store, logs, [password]);
  });
});

describe('callouts under OAuth2 answered 401', () => {
  const kind = 'oauth2-client-credentials';
  const bearer = (n: number) => `Bearer ${accessToken(n)}`;

  it('fetches one new token and sends once more, then completes the item', async (t) => {
    // Prepare: the system has revoked the first token.
    const logs = workerLogs(t);
    const { deps, store, reservations, tokenRequests } = await setup({
      kind,
      responder: guardedInventory(kind, { refuseValid: 1 }),
    });

    // Act
    await runItem(deps, dispatch(PORT, 'task-token-1'), 'delivery-1');

    // Assess
    assert.equal(tokenRequests().length, 2);
    assert.deepEqual(
      reservations().map((r) => r.headers.authorization),
      [bearer(1), bearer(2)],
    );
    assert.equal(
      reservations()[0]?.headers['idempotency-key'],
      reservations()[1]?.headers['idempotency-key'],
    );
    const item = store.item(ORDER, PORT);
    assert.equal(item.state, 'Completed', item.error);
    assert.equal(item.response?.status, 201);
    assert.deepEqual(item.outputAttributes, { portId: 'P-7' });
    assert.equal(store.order(ORDER).state, 'completed');
    await assertNoCredentialKept(store, logs, CREDENTIALS[kind].neverStored);
  });

  it('fails the item with the 401 when the fresh token is refused too, and sends no third time', async (t) => {
    // Prepare: the 401s echo the token they refused.
    const logs = workerLogs(t);
    const { deps, store, reservations, tokenRequests } = await setup({
      kind,
      responder: guardedInventory(kind, { refuseValid: 2 }),
    });

    // Act
    await runItem(deps, dispatch(PORT, 'task-token-1'), 'delivery-1');

    // Assess
    assert.equal(tokenRequests().length, 2);
    assert.deepEqual(
      reservations().map((r) => r.headers.authorization),
      [bearer(1), bearer(2)],
    );
    const item = store.item(ORDER, PORT);
    assert.equal(item.state, 'FatallyFailed');
    // No rule retries a 401 (the renewal was its one retry): fallout.
    assert.equal(
      item.error,
      'answered 401: {"error":"unauthorized","given":"Bearer ***"} (no retry rule matches HTTP 401)',
    );
    assert.deepEqual(item.attempts?.at(-1)?.decision, {
      kind: 'fallout',
      reason: 'no retry rule matches HTTP 401',
    });
    assert.equal(item.response?.status, 401);
    assert.equal(store.order(ORDER).state, 'held');
    await assertNoCredentialKept(store, logs, CREDENTIALS[kind].neverStored);
  });

  it('fails the item, naming the profile, when the token endpoint refuses the client', async (t) => {
    // Prepare
    const logs = workerLogs(t);
    const { deps, store, reservations, tokenRequests } = await setup({
      kind,
      responder: guardedInventory(kind),
      secrets: { 'inventory-oauth': { clientId: CLIENT_ID, clientSecret: 'not-the-client-secret' } },
    });

    // Act
    await runItem(deps, dispatch(PORT, 'task-token-1'), 'delivery-1');

    // Assess
    assert.equal(tokenRequests().length, 1);
    assert.equal(reservations().length, 0);
    const item = store.item(ORDER, PORT);
    assert.equal(item.state, 'FatallyFailed');
    assert.match(
      item.error ?? '',
      /^OAuth2 token for auth profile "inventory-oauth" from .*: answered 401 \(invalid_client\) \(no retry rule matches an answer that cannot be used\)$/,
    );
    await assertNoCredentialKept(store, logs, [...CREDENTIALS[kind].neverStored, 'not-the-client-secret']);
  });
});

describe('callouts to a system behind mutual TLS', () => {
  const MTLS = authProfileSchema.parse({ id: 'inventory-tls', type: 'mtls' });

  /** The port-only plan to an inventory on https that knows Switchboard by its client certificate. */
  function mtlsCatalog(inventory: Partial<Catalog['systems'][string]> = {}): Catalog {
    const catalog = catalogWithGuardedInventory(MTLS);
    const system = catalog.systems.inventory;
    assert.ok(system);
    Object.assign(system, { baseUrl: INVENTORY_URL.replace(/^http:/, 'https:'), ...inventory });
    return catalog;
  }

  const mtlsSecret = () => {
    const { client, ca } = testPki();
    return { certificate: client.certificate, privateKey: client.privateKey, caBundle: ca.certificate };
  };

  /** The key material in every form it could be kept in: whole, and each line of its base64. */
  const keyMaterial = () => {
    const { client } = testPki();
    return [client.privateKey, client.certificate, ...pemBodyLines(client.privateKey)];
  };

  async function setupMtls(
    responder: Responder,
    options: { inventory?: Partial<Catalog['systems'][string]>; secret?: Record<string, unknown> } = {},
  ) {
    return setup({
      kind: 'api-key',
      responder,
      catalog: mtlsCatalog(options.inventory),
      secrets: { [MTLS.id]: options.secret ?? mtlsSecret() },
    });
  }

  const toInventory = (http: ScriptedHttpClient) =>
    http.requests.filter((r) => r.url.endsWith('/ports/reservations'));

  it('hands the HTTP client the client certificate with the request, and keeps neither it nor the key', async (t) => {
    // Prepare: a system that echoes what it was sent, the TLS material included (the worst case).
    const logs = workerLogs(t);
    const { deps, store, http } = await setupMtls((request) =>
      jsonAnswer(201, { portId: 'P-7', echo: request }),
    );

    // Act
    await runItem(deps, dispatch(PORT, 'task-token-1'), 'delivery-1');

    // Assess
    const [sent] = toInventory(http);
    assert.deepEqual(sent?.tls, { profileId: MTLS.id, ...mtlsSecret() });
    assert.equal(sent?.headers.authorization, undefined, 'no credential header');
    const item = store.item(ORDER, PORT);
    assert.equal(item.state, 'Completed', item.error);
    assert.deepEqual(item.request?.headers, {
      accept: 'application/json',
      'content-type': 'application/json',
      'idempotency-key': `${ORDER}.${PORT}`,
    });
    assert.ok(item.request && !('tls' in item.request), 'the stored request has no TLS material');
    assert.deepEqual(item.outputAttributes, { portId: 'P-7' });
    await assertNoCredentialKept(store, logs, keyMaterial());
  });

  it('counts a refused handshake as a connection failure: the retry rules retry it', async (t) => {
    // Prepare
    const logs = workerLogs(t);
    const refused =
      'connection failed (UND_ERR_SOCKET): the system closed the TLS connection without answering, as a system behind mutual TLS does when it refuses the client certificate of auth profile "inventory-tls": other side closed';
    const { deps, store } = await setupMtls(() => {
      throw new CalloutError(refused, undefined, true);
    });

    // Act
    await runItem(deps, dispatch(PORT, 'task-token-1'), 'delivery-1');

    // Assess: the default rule retries connection errors.
    const item = store.item(ORDER, PORT);
    assert.equal(item.state, 'Failed');
    assert.match(
      item.error ?? '',
      /^connection failed \(UND_ERR_SOCKET\): .*refuses the client certificate of auth profile "inventory-tls".*; retry 1 at .* \(retry rule "default"\)$/,
    );
    assert.equal(item.attempts?.at(-1)?.decision.kind, 'retry');
    await assertNoCredentialKept(store, logs, keyMaterial());
  });

  it('fails the item naming the profile and what is wrong with its secret, without sending, quoting nothing', async (t) => {
    // Prepare: the key of another certificate.
    const logs = workerLogs(t);
    const { renewed } = testPki();
    const { deps, store, http } = await setupMtls(() => jsonAnswer(201, { portId: 'P-7' }), {
      secret: { ...mtlsSecret(), privateKey: renewed.privateKey },
    });

    // Act
    await runItem(deps, dispatch(PORT, 'task-token-1'), 'delivery-1');

    // Assess: no retry sends another secret: fallout, for an operator to fix the secret and retry.
    const item = store.item(ORDER, PORT);
    assert.equal(item.state, 'FatallyFailed');
    assert.match(
      item.error ?? '',
      /^the secret of auth profile "inventory-tls" \(mtls\) is missing or has invalid fields: privateKey \(does not belong to the certificate/,
    );
    assert.equal(http.requests.length, 0);
    await assertNoCredentialKept(store, logs, [
      ...keyMaterial(),
      renewed.privateKey,
      ...pemBodyLines(renewed.privateKey),
    ]);
  });

  it('takes the system Down after refused handshakes, and its health probe presents the certificate too', async (t) => {
    // Prepare: a circuit breaker that opens at the first failure.
    workerLogs(t);
    let healthy = false;
    const { deps, http } = await setupMtls(
      (request) => {
        if (request.method === 'GET')
          return jsonAnswer(healthy ? 200 : 503, { status: healthy ? 'ok' : 'down' });
        throw new CalloutError('TLS handshake refused (ERR_SSL_TLSV1_ALERT_UNKNOWN_CA): …', undefined, true);
      },
      {
        inventory: {
          circuitBreaker: { failureThreshold: 1, healthPath: '/health', probeIntervalSeconds: 30 },
        },
      },
    );
    await runItem(deps, dispatch(PORT, 'task-token-1'), 'delivery-1');
    const down = await deps.config.getSystem('inventory');
    assert.equal(down?.state, 'Down');
    const probe = (deps.queue as RecordingWorkQueue).sent.find((m) => m.kind === 'probe');
    assert.ok(probe);

    // Act
    healthy = true;
    await runItem(deps, probe, 'probe-1');

    // Assess
    const health = http.requests.find((r) => r.method === 'GET');
    assert.equal(health?.url, `${INVENTORY_URL.replace(/^http:/, 'https:')}/health`);
    assert.deepEqual(health?.tls, { profileId: MTLS.id, ...mtlsSecret() });
    assert.equal((await deps.config.getSystem('inventory'))?.state, 'Up');
  });
});
