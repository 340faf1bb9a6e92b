import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { type AdminApiDeps, handleAdminApi } from '../../lambdas/admin-api/handler';
import type { Catalog, FulfilmentSystem } from '../../lambdas/domain/catalog';
import { dslCatalog } from './fixtures/catalogs';
import { InMemoryConfigurationStore } from './fixtures/configuration';
import {
  RecordingAvailabilityEvents,
  RecordingMaintenanceScheduler,
  RecordingWorkQueue,
} from './fixtures/fake-ports';
import { InMemoryOrderStore } from './fixtures/in-memory-order-store';

const SEEDED_AT = '2025-03-01T09:00:00.000Z';

const OPERATOR = { sub: 'u-op', username: 'olga', 'cognito:groups': '[operators]' };
const SUBMITTER = { sub: 'c-crm', client_id: 'order-capture', scope: 'switchboard/submit' };

/**
 * The DSL catalog plus one system for every auth profile type, one whose profile the catalog lacks, and
 * limits on the inventory. Profiles carry no credentials (those live in secrets); the test still checks
 * that nothing secret-looking reaches an answer.
 */
function catalogWithProfiles(): Catalog {
  const catalog = dslCatalog();
  catalog.authProfiles = {
    open: { id: 'open', type: 'none' },
    'billing-key': { id: 'billing-key', type: 'api-key', header: 'x-billing-key' },
    'crm-basic': { id: 'crm-basic', type: 'basic' },
    'ticket-bearer': { id: 'ticket-bearer', type: 'bearer' },
    'activation-oauth': {
      id: 'activation-oauth',
      type: 'oauth2-client-credentials',
      tokenUrl: 'https://login.activation.test/oauth2/token',
      scope: 'lines.write',
    },
    'inventory-oauth': { id: 'inventory-oauth', type: 'oauth2-client-credentials', tokenUrl: '/oauth/token' },
  };
  const system = (id: string, authProfile?: string): FulfilmentSystem => ({
    id,
    name: `The ${id} system`,
    baseUrl: `http://${id}.test/`,
    limits: {},
    ...(authProfile ? { authProfile } : {}),
  });
  const { inventory, activation } = catalog.systems;
  assert.ok(inventory && activation);
  inventory.authProfile = 'inventory-oauth';
  inventory.limits = { maxConcurrentCallouts: 4, maxCalloutsPerSecond: 10 };
  activation.authProfile = 'activation-oauth';
  catalog.systems.billing = system('billing', 'billing-key');
  catalog.systems.crm = system('crm', 'crm-basic');
  catalog.systems.ticketing = system('ticketing', 'ticket-bearer');
  catalog.systems.directory = system('directory', 'open');
  catalog.systems.legacy = system('legacy');
  catalog.systems.orphan = system('orphan', 'gone-profile');
  return catalog;
}

/** Dead-letter queues holding these many messages. */
const fixedDeadLetters = (counts: Record<string, number>) => ({
  counts: async () => Object.entries(counts).map(([queue, messages]) => ({ queue, messages })),
});

function setup(): { deps: AdminApiDeps; config: InMemoryConfigurationStore } {
  const catalog = catalogWithProfiles();
  const config = InMemoryConfigurationStore.seededFrom(catalog, SEEDED_AT);
  return { deps: adminDeps(config, catalog, fixedDeadLetters({ work: 0, callbacks: 2 })), config };
}

/** Everything the admin API needs, around a configuration store. */
function adminDeps(
  config: InMemoryConfigurationStore,
  catalog: Catalog,
  deadLetters: AdminApiDeps['deadLetters'],
): AdminApiDeps {
  return {
    config,
    catalog,
    deadLetters,
    store: new InMemoryOrderStore(),
    queue: new RecordingWorkQueue(),
    events: new RecordingAvailabilityEvents(),
    scheduler: new RecordingMaintenanceScheduler(),
    now: () => new Date('2025-03-01T12:00:00.000Z'),
  };
}

/** An HTTP API (payload 2.0) request as the API's JWT authorizer passes it on. */
function request(
  routeKey: string,
  pathParameters: Record<string, string> = {},
  claims: Record<string, unknown> | null = OPERATOR,
): APIGatewayProxyEventV2 {
  const path = Object.entries(pathParameters).reduce(
    (p, [name, value]) => p.replace(`{${name}}`, value),
    routeKey.split(' ')[1] ?? '',
  );
  return {
    version: '2.0',
    routeKey,
    rawPath: path,
    rawQueryString: '',
    headers: {},
    pathParameters,
    isBase64Encoded: false,
    requestContext: {
      http: { method: 'GET', path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'test' },
      routeKey,
      ...(claims ? { authorizer: { jwt: { claims, scopes: null } } } : {}),
    },
  } as unknown as APIGatewayProxyEventV2;
}

function bodyOf(response: APIGatewayProxyStructuredResultV2): Record<string, unknown> & unknown[] {
  assert.equal(response.headers?.['content-type'], 'application/json');
  return JSON.parse(String(response.body));
}

/** Field names of credentials (lambdas/domain/auth-profile.ts credentialSchemas) and the values planted below. */
const CREDENTIALS =
  /"(apiKey|username|password|token|clientId|clientSecret)"|sk-live-|hunter2|client-secret-value/;

/**
 * Plants credentials where a careless view would pick them up: on a stored system record and on the
 * catalog's profile objects, as if a secret had been read into them.
 */
function plantCredentials(deps: AdminApiDeps, config: InMemoryConfigurationStore): void {
  const planted: Record<string, Record<string, string>> = {
    'billing-key': { apiKey: 'sk-live-0123456789' },
    'crm-basic': { username: 'switchboard', password: 'hunter2' },
    'ticket-bearer': { token: 'sk-live-bearer' },
    'activation-oauth': { clientId: 'switchboard', clientSecret: 'client-secret-value' },
    'inventory-oauth': { clientId: 'switchboard', clientSecret: 'client-secret-value' },
  };
  for (const [id, values] of Object.entries(planted))
    Object.assign(deps.catalog.authProfiles[id] ?? {}, values);
  const billing = config.systems.get('billing');
  assert.ok(billing);
  Object.assign(billing, { apiKey: 'sk-live-on-the-record' });
}

describe('handleAdminApi: GET /admin/systems', () => {
  it('lists every system with its state, limits and auth profile, and counts them', async () => {
    // Prepare
    const { deps } = setup();

    // Act
    const response = await handleAdminApi(deps, request('GET /admin/systems'));

    // Assess
    assert.equal(response.statusCode, 200);
    assert.equal(response.headers?.['x-total-count'], '8');
    assert.equal(response.headers?.['x-result-count'], '8');
    const systems = bodyOf(response) as Record<string, unknown>[];
    assert.deepEqual(
      systems.map((s) => s.id),
      ['activation', 'billing', 'crm', 'directory', 'inventory', 'legacy', 'orphan', 'ticketing'],
    );
    assert.deepEqual(
      systems.find((s) => s.id === 'inventory'),
      {
        id: 'inventory',
        name: 'Network inventory',
        baseUrl: 'http://inventory.test:4101/api',
        state: 'Up',
        authProfile: { id: 'inventory-oauth', type: 'oauth2-client-credentials', tokenUrl: '/oauth/token' },
        limits: { maxConcurrentCallouts: 4, maxCalloutsPerSecond: 10 },
        seededAt: SEEDED_AT,
        updatedAt: SEEDED_AT,
        href: '/admin/systems/inventory',
      },
      'a listed system has no interfaces',
    );
  });

  it('shows every auth profile type by id and type only, and never a credential', async () => {
    // Prepare
    const { deps, config } = setup();
    plantCredentials(deps, config);

    // Act
    const response = await handleAdminApi(deps, request('GET /admin/systems'));

    // Assess
    const systems = bodyOf(response) as { id: string; authProfile: unknown }[];
    assert.deepEqual(Object.fromEntries(systems.map((s) => [s.id, s.authProfile])), {
      activation: {
        id: 'activation-oauth',
        type: 'oauth2-client-credentials',
        tokenUrl: 'https://login.activation.test/oauth2/token',
        scope: 'lines.write',
      },
      billing: { id: 'billing-key', type: 'api-key', header: 'x-billing-key' },
      crm: { id: 'crm-basic', type: 'basic' },
      directory: { id: 'open', type: 'none' },
      inventory: { id: 'inventory-oauth', type: 'oauth2-client-credentials', tokenUrl: '/oauth/token' },
      legacy: { type: 'none' },
      orphan: { id: 'gone-profile' },
      ticketing: { id: 'ticket-bearer', type: 'bearer' },
    });
    assert.doesNotMatch(String(response.body), CREDENTIALS);
  });

  it('answers an empty list when nothing is seeded', async () => {
    const deps = adminDeps(new InMemoryConfigurationStore(), dslCatalog(), fixedDeadLetters({}));

    const response = await handleAdminApi(deps, request('GET /admin/systems'));

    assert.equal(response.statusCode, 200);
    assert.deepEqual(bodyOf(response), []);
    assert.equal(response.headers?.['x-total-count'], '0');
  });
});

describe('handleAdminApi: GET /admin/systems/{systemId}', () => {
  it('shows the system as it is now, with its interfaces and their status', async () => {
    // Prepare: an operator took the system down and one interface offline.
    const { deps, config } = setup();
    plantCredentials(deps, config);
    const inventory = config.systems.get('inventory');
    const portStatus = config.interfaces.get('port-status');
    assert.ok(inventory && portStatus);
    inventory.state = 'Down';
    inventory.updatedAt = '2025-03-01T12:00:00.000Z';
    portStatus.status = 'Offline';

    // Act
    const response = await handleAdminApi(
      deps,
      request('GET /admin/systems/{systemId}', { systemId: 'inventory' }),
    );

    // Assess
    assert.equal(response.statusCode, 200);
    assert.deepEqual(bodyOf(response), {
      id: 'inventory',
      name: 'Network inventory',
      baseUrl: 'http://inventory.test:4101/api',
      state: 'Down',
      authProfile: { id: 'inventory-oauth', type: 'oauth2-client-credentials', tokenUrl: '/oauth/token' },
      limits: { maxConcurrentCallouts: 4, maxCalloutsPerSecond: 10 },
      interfaces: [
        {
          id: 'port-status',
          method: 'GET',
          path: '/ports/status',
          adapter: 'sync-rest',
          status: 'Offline',
          href: '/admin/system-interfaces/port-status',
        },
        {
          id: 'reserve-port',
          method: 'POST',
          path: '/ports/reservations',
          adapter: 'sync-rest',
          status: 'Online',
          href: '/admin/system-interfaces/reserve-port',
        },
      ],
      seededAt: SEEDED_AT,
      updatedAt: '2025-03-01T12:00:00.000Z',
      href: '/admin/systems/inventory',
    });
    assert.doesNotMatch(String(response.body), CREDENTIALS);
  });

  it('shows a system without interfaces with an empty list', async () => {
    const { deps } = setup();

    const response = await handleAdminApi(
      deps,
      request('GET /admin/systems/{systemId}', { systemId: 'billing' }),
    );

    assert.equal(response.statusCode, 200);
    const body = bodyOf(response);
    assert.deepEqual(body.interfaces, []);
    assert.deepEqual(body.authProfile, { id: 'billing-key', type: 'api-key', header: 'x-billing-key' });
  });
});

describe('handleAdminApi: GET /admin/system-interfaces/{interfaceId}', () => {
  it('shows the interface with its system, status and mappings', async () => {
    const { deps } = setup();

    const response = await handleAdminApi(
      deps,
      request('GET /admin/system-interfaces/{interfaceId}', { interfaceId: 'reserve-port' }),
    );

    assert.equal(response.statusCode, 200);
    assert.deepEqual(bodyOf(response), {
      id: 'reserve-port',
      system: { id: 'inventory', href: '/admin/systems/inventory' },
      method: 'POST',
      path: '/ports/reservations',
      adapter: 'sync-rest',
      status: 'Online',
      timeoutSeconds: 10,
      mappings: { request: 'reserve-request', response: 'reserve-response' },
      seededAt: SEEDED_AT,
      updatedAt: SEEDED_AT,
      href: '/admin/system-interfaces/reserve-port',
    });
  });

  it('shows an interface without mappings with an empty mappings object', async () => {
    const { deps } = setup();

    const response = await handleAdminApi(
      deps,
      request('GET /admin/system-interfaces/{interfaceId}', { interfaceId: 'port-status' }),
    );

    assert.deepEqual(bodyOf(response).mappings, {});
  });
});

describe('handleAdminApi: refusals', () => {
  const notFound: [string, Record<string, string>, string][] = [
    ['GET /admin/systems/{systemId}', { systemId: 'billing-2' }, 'no system with id "billing-2"'],
    [
      'GET /admin/system-interfaces/{interfaceId}',
      { interfaceId: 'no-such-interface' },
      'no system interface with id "no-such-interface"',
    ],
  ];
  for (const [route, parameters, message] of notFound) {
    it(`answers 404 naming the id for an unknown id on ${route}`, async () => {
      const { deps } = setup();

      const response = await handleAdminApi(deps, request(route, parameters));

      assert.equal(response.statusCode, 404);
      assert.deepEqual(bodyOf(response), {
        '@type': 'Error',
        code: '404',
        reason: 'Not Found',
        message,
        status: '404',
      });
    });
  }

  const malformed: [string, Record<string, string>, string][] = [
    ['GET /admin/systems/{systemId}', { systemId: 'inventory;drop' }, 'systemId'],
    ['GET /admin/systems/{systemId}', { systemId: '.hidden' }, 'systemId'],
    ['GET /admin/system-interfaces/{interfaceId}', { interfaceId: 'a'.repeat(201) }, 'interfaceId'],
    ['GET /admin/system-interfaces/{interfaceId}', {}, 'interfaceId'],
  ];
  for (const [route, parameters, field] of malformed) {
    it(`answers 400 for a malformed ${field} (${JSON.stringify(parameters[field] ?? null).slice(0, 20)})`, async () => {
      const { deps } = setup();

      const response = await handleAdminApi(deps, request(route, parameters));

      assert.equal(response.statusCode, 400);
      const body = bodyOf(response);
      assert.equal(body.code, '400');
      assert.deepEqual(
        (body.problems as { field: string }[]).map((p) => p.field),
        [field],
      );
    });
  }

  it('refuses a submitter with 403 on every route, before reading anything', async (t) => {
    // Prepare
    const { deps, config } = setup();
    const read = t.mock.method(config, 'listSystems');

    // Act
    const responses = await Promise.all([
      handleAdminApi(deps, request('GET /admin/systems', {}, SUBMITTER)),
      handleAdminApi(deps, request('GET /admin/systems/{systemId}', { systemId: 'inventory' }, SUBMITTER)),
      handleAdminApi(
        deps,
        request('GET /admin/system-interfaces/{interfaceId}', { interfaceId: 'reserve-port' }, SUBMITTER),
      ),
    ]);

    // Assess
    for (const response of responses) {
      assert.equal(response.statusCode, 403);
      assert.equal(bodyOf(response).message, 'this needs the operator role');
    }
    assert.equal(read.mock.callCount(), 0);
  });

  it('refuses a request without a verified caller with 401', async () => {
    const { deps } = setup();

    const responses = await Promise.all([
      handleAdminApi(deps, request('GET /admin/systems', {}, null)),
      handleAdminApi(deps, request('GET /admin/systems', {}, { username: 'no-subject' })),
    ]);

    for (const response of responses) {
      assert.equal(response.statusCode, 401);
      assert.equal(bodyOf(response).reason, 'Unauthorized');
    }
  });

  it('answers 404 for a route it does not serve', async () => {
    const { deps } = setup();

    const response = await handleAdminApi(
      deps,
      request('DELETE /admin/systems/{systemId}', { systemId: 'crm' }),
    );

    assert.equal(response.statusCode, 404);
    assert.equal(bodyOf(response).message, 'no route DELETE /admin/systems/{systemId}');
  });

  it('answers 500 without detail when the store fails', async (t) => {
    // Prepare
    const { deps, config } = setup();
    t.mock.method(config, 'getSystem', async () => {
      throw new Error('DynamoDB: throttled on table configuration-abc');
    });
    t.mock.method(console, 'error', () => {});

    // Act
    const response = await handleAdminApi(
      deps,
      request('GET /admin/systems/{systemId}', { systemId: 'crm' }),
    );

    // Assess
    assert.equal(response.statusCode, 500);
    assert.doesNotMatch(String(response.body), /throttled|configuration-abc/);
  });

  it('shows what waits in each dead-letter queue', async () => {
    const { deps } = setup();

    const response = await handleAdminApi(deps, request('GET /admin/dead-letters'));

    assert.equal(response.statusCode, 200);
    assert.deepEqual(JSON.parse(String(response.body)), [
      { queue: 'work', messages: 0 },
      { queue: 'callbacks', messages: 2 },
    ]);
  });
});
