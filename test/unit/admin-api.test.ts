import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { type AdminApiDeps, handleAdminApi as handleUnchecked } from '../../lambdas/admin-api/handler';
import { AUTOMATIC_ACTORS } from '../../lambdas/domain/availability';
import type { Catalog, FulfilmentSystem } from '../../lambdas/domain/catalog';
import type { ListenerRecord } from '../../lambdas/domain/listener';
import type { ItemRecord, OrderRecord } from '../../lambdas/domain/orchestration';
import { runMaintenancePhase } from '../../lambdas/use-cases/maintenance-windows';
import { checkedAgainstContract } from '../support/checked-handler';
import { type Declared, dslCatalog, offering } from './fixtures/catalogs';
import { InMemoryConfigurationStore, InMemoryRetryRuleStore } from './fixtures/configuration';
import {
  RecordingAvailabilityEvents,
  RecordingMaintenanceScheduler,
  RecordingTelemetry,
  RecordingWorkQueue,
} from './fixtures/fake-ports';
import { InMemoryListenerStore } from './fixtures/in-memory-listener-store';
import { InMemoryOrderStore } from './fixtures/in-memory-order-store';
import { capturedLogs } from './fixtures/logs';

/** Every answer of the admin API in these tests is checked against the API's document. */
const handleAdminApi = checkedAgainstContract(handleUnchecked);

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

/** Dead-letter queues holding these many messages; their redrives are recorded. */
const fixedDeadLetters = (counts: Record<string, number>) => {
  const redriven: { queue: string; max: number }[] = [];
  return {
    counts: async () => Object.entries(counts).map(([queue, messages]) => ({ queue, messages })),
    redrivable: ['deliveries'],
    redriven,
    redrive: async (queue: string, max: number) => {
      redriven.push({ queue, max });
      return Math.min(max, counts[queue] ?? 0);
    },
  };
};

/** When the admin API's clock says it is, unless a test moves it. */
const NOW = '2025-03-01T12:00:00.000Z';

function setup() {
  const catalog = catalogWithProfiles();
  const config = InMemoryConfigurationStore.seededFrom(catalog, SEEDED_AT);
  return { ...adminDeps(config, catalog, fixedDeadLetters({ work: 0, callbacks: 2 })), config };
}

/**
 * Everything the admin API needs, around a configuration store, with the fakes it writes to and a clock a
 * test moves by setting `clock.at`.
 */
function adminDeps(
  config: InMemoryConfigurationStore,
  catalog: Catalog,
  deadLetters: AdminApiDeps['deadLetters'],
) {
  const fakes = {
    store: new InMemoryOrderStore(),
    queue: new RecordingWorkQueue(),
    events: new RecordingAvailabilityEvents(),
    scheduler: new RecordingMaintenanceScheduler(),
    rules: new InMemoryRetryRuleStore(),
  };
  const clock = { at: NOW };
  const deps: AdminApiDeps = {
    config,
    catalog,
    deadLetters,
    listeners: new InMemoryListenerStore(),
    watch: { inJeopardy: async () => [] },
    ...fakes,
    now: () => new Date(clock.at),
    telemetry: new RecordingTelemetry(),
  };
  return { deps, clock, ...fakes };
}

/** What a request carries besides its route: a body (sent as JSON unless it is a string) and a query. */
interface Sent {
  body?: unknown;
  query?: Record<string, string>;
}

/** An HTTP API (payload 2.0) request as the API's JWT authorizer passes it on. */
function request(
  routeKey: string,
  pathParameters: Record<string, string> = {},
  claims: Record<string, unknown> | null = OPERATOR,
  sent: Sent = {},
): APIGatewayProxyEventV2 {
  const [method = 'GET', route = ''] = routeKey.split(' ');
  const path = Object.entries(pathParameters).reduce(
    (p, [name, value]) => p.replace(`{${name}}`, value),
    route,
  );
  const hasBody = sent.body !== undefined;
  return {
    version: '2.0',
    routeKey,
    rawPath: path,
    rawQueryString: new URLSearchParams(sent.query ?? {}).toString(),
    headers: hasBody ? { 'content-type': 'application/json' } : {},
    pathParameters,
    ...(sent.query ? { queryStringParameters: sent.query } : {}),
    ...(hasBody ? { body: typeof sent.body === 'string' ? sent.body : JSON.stringify(sent.body) } : {}),
    isBase64Encoded: false,
    requestContext: {
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'test' },
      routeKey,
      ...(claims ? { authorizer: { jwt: { claims, scopes: null } } } : {}),
    },
  } as unknown as APIGatewayProxyEventV2;
}

/** A request by the operator (olga). */
const asOperator = (
  deps: AdminApiDeps,
  routeKey: string,
  pathParameters: Record<string, string> = {},
  sent: Sent = {},
) => handleAdminApi(deps, request(routeKey, pathParameters, OPERATOR, sent));

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
        revision: 1,
        overrides: {},
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
    const { deps } = adminDeps(new InMemoryConfigurationStore(), dslCatalog(), fixedDeadLetters({}));

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
      revision: 1,
      overrides: {},
      seededAt: SEEDED_AT,
      updatedAt: '2025-03-01T12:00:00.000Z',
      href: '/admin/systems/inventory',
      history: [],
      maintenanceWindows: [],
      onHoldItems: { href: '/admin/systems/inventory/on-hold-items' },
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
      revision: 1,
      overrides: {},
      seededAt: SEEDED_AT,
      updatedAt: SEEDED_AT,
      href: '/admin/system-interfaces/reserve-port',
      history: [],
      onHoldItems: { href: '/admin/system-interfaces/reserve-port/on-hold-items' },
    });
  });

  it('shows how callbacks prove themselves for an interface whose custom adapter is asynchronous', async () => {
    const catalog = catalogWithProfiles();
    const reserve = catalog.interfaces['reserve-port'];
    assert.ok(reserve);
    catalog.interfaces['reserve-port'] = { ...reserve, adapter: 'legacy-queue' };
    const asynchronous = { ...catalog, asynchronousAdapters: ['legacy-queue'] };
    const show = async (shown: Catalog) => {
      const config = InMemoryConfigurationStore.seededFrom(shown, SEEDED_AT);
      const { deps } = adminDeps(config, shown, fixedDeadLetters({ work: 0, callbacks: 0 }));
      const response = await handleAdminApi(
        deps,
        request('GET /admin/system-interfaces/{interfaceId}', { interfaceId: 'reserve-port' }),
      );
      return bodyOf(response).callbackAuth;
    };

    assert.equal(await show(asynchronous), 'url-proof');
    assert.equal(await show(catalog), undefined, 'a synchronous custom adapter takes no callbacks');
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

  it('refuses a submitter with 403 on every route, before reading or changing anything', async (t) => {
    // Prepare
    const { deps, config, events, scheduler, queue } = setup();
    const reads = [
      t.mock.method(config, 'listSystems'),
      t.mock.method(config, 'getSystem'),
      t.mock.method(config, 'getInterface'),
    ];
    const down = { state: 'Down', reason: 'not mine to say' };
    const window = { start: '2025-03-02T00:00:00Z', end: '2025-03-02T02:00:00Z', reason: 'firmware' };
    const routes: [string, Record<string, string>, Sent?][] = [
      ['GET /admin/systems', {}],
      ['GET /admin/systems/{systemId}', { systemId: 'inventory' }],
      ['GET /admin/system-interfaces/{interfaceId}', { interfaceId: 'reserve-port' }],
      ['PUT /admin/systems/{systemId}/state', { systemId: 'inventory' }, { body: down }],
      [
        'PATCH /admin/system-interfaces/{interfaceId}',
        { interfaceId: 'reserve-port' },
        { body: { status: 'Offline', reason: 'no' } },
      ],
      ['GET /admin/systems/{systemId}/on-hold-items', { systemId: 'inventory' }],
      ['GET /admin/system-interfaces/{interfaceId}/on-hold-items', { interfaceId: 'reserve-port' }],
      ['POST /admin/systems/{systemId}/release', { systemId: 'inventory' }],
      ['GET /admin/systems/{systemId}/maintenance-windows', { systemId: 'inventory' }],
      ['POST /admin/systems/{systemId}/maintenance-windows', { systemId: 'inventory' }, { body: window }],
      [
        'DELETE /admin/systems/{systemId}/maintenance-windows/{windowId}',
        { systemId: 'inventory', windowId: 'w-1' },
      ],
      ['GET /admin/dead-letters', {}],
    ];

    // Act
    const responses = await Promise.all(
      routes.map(([route, parameters, sent]) =>
        handleAdminApi(deps, request(route, parameters, SUBMITTER, sent)),
      ),
    );

    // Assess
    for (const [i, response] of responses.entries()) {
      assert.equal(response.statusCode, 403, routes[i]?.[0]);
      assert.equal(bodyOf(response).message, 'this needs the operator role');
    }
    for (const read of reads) assert.equal(read.mock.callCount(), 0);
    assert.equal(config.systems.get('inventory')?.state, 'Up');
    assert.equal(config.interfaces.get('reserve-port')?.status, 'Online');
    assert.deepEqual(events.announced, []);
    assert.equal(scheduler.scheduled.size, 0);
    assert.deepEqual(queue.sent, []);
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

    // Unchecked: the document has no such route to check the answer against.
    const response = await handleUnchecked(
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
    capturedLogs(t);

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

const OLGA = { id: 'u-op', name: 'olga' };

/** A change as the admin API shows it: its fields without the internal id. */
const changeShown = (change: Record<string, unknown>) => ({
  at: NOW,
  by: OLGA,
  cause: 'operator',
  ...change,
});

/** The problems' fields of a 400 answer. */
function problemFields(response: APIGatewayProxyStructuredResultV2): string[] {
  assert.equal(response.statusCode, 400, String(response.body));
  return (bodyOf(response).problems as { field: string }[]).map((p) => p.field);
}

describe('handleAdminApi: PUT /admin/systems/{systemId}/state', () => {
  const route = 'PUT /admin/systems/{systemId}/state';

  it('takes a system Down, keeping who, when and why, and announces it unavailable', async () => {
    // Prepare
    const { deps, events } = setup();

    // Act
    const response = await asOperator(
      deps,
      route,
      { systemId: 'billing' },
      { body: { state: 'Down', reason: 'invoice run' } },
    );

    // Assess
    assert.equal(response.statusCode, 200);
    const change = changeShown({ reason: 'invoice run', from: 'Up', to: 'Down' });
    assert.deepEqual(bodyOf(response), {
      changed: true,
      id: 'billing',
      name: 'The billing system',
      baseUrl: 'http://billing.test/',
      state: 'Down',
      stateChange: change,
      authProfile: { id: 'billing-key', type: 'api-key', header: 'x-billing-key' },
      limits: {},
      interfaces: [],
      revision: 1,
      overrides: {},
      seededAt: SEEDED_AT,
      updatedAt: NOW,
      href: '/admin/systems/billing',
      history: [change],
      maintenanceWindows: [],
      onHoldItems: { href: '/admin/systems/billing/on-hold-items' },
    });
    assert.equal(events.announced.length, 1);
    const [announced] = events.announced;
    assert.ok(announced && 'event' in announced);
    assert.equal(announced.type, 'unavailable');
    assert.equal(announced.event.systemId, 'billing');
    assert.equal(announced.event.reason, 'invoice run');
    const { id: changeId, ...announcedChange } = announced.event.change ?? {};
    assert.equal(typeof changeId, 'string');
    assert.deepEqual(announcedChange, change);
  });

  it('keeps every change in the history, newest first, and GET shows it', async () => {
    // Prepare
    const { deps, clock } = setup();
    const steps: [string, string, string][] = [
      ['2025-03-01T12:00:00.000Z', 'Down', 'disk full'],
      ['2025-03-01T12:10:00.000Z', 'Up', 'disk replaced'],
      ['2025-03-01T12:20:00.000Z', 'Down', 'disk full again'],
    ];

    // Act
    for (const [at, state, reason] of steps) {
      clock.at = at;
      const response = await asOperator(deps, route, { systemId: 'crm' }, { body: { state, reason } });
      assert.equal(response.statusCode, 200);
    }
    const response = await asOperator(deps, 'GET /admin/systems/{systemId}', { systemId: 'crm' });

    // Assess
    const body = bodyOf(response);
    assert.deepEqual(body.history, [
      changeShown({
        at: '2025-03-01T12:20:00.000Z',
        reason: 'disk full again',
        from: 'Up',
        to: 'Down',
      }),
      changeShown({
        at: '2025-03-01T12:10:00.000Z',
        reason: 'disk replaced',
        from: 'Down',
        to: 'Up',
      }),
      changeShown({ at: '2025-03-01T12:00:00.000Z', reason: 'disk full', from: 'Up', to: 'Down' }),
    ]);
    assert.equal(body.state, 'Down');
    assert.deepEqual(body.stateChange, (body.history as unknown[])[0]);
    assert.equal(body.updatedAt, '2025-03-01T12:20:00.000Z');
  });

  it('answers changed: false and keeps no second entry for a Down on a system that is Down', async () => {
    // Prepare
    const { deps, events, clock } = setup();
    await asOperator(deps, route, { systemId: 'crm' }, { body: { state: 'Down', reason: 'disk full' } });
    clock.at = '2025-03-01T12:05:00.000Z';

    // Act
    const response = await asOperator(
      deps,
      route,
      { systemId: 'crm' },
      { body: { state: 'Down', reason: 'still full' } },
    );

    // Assess
    assert.equal(response.statusCode, 200);
    const body = bodyOf(response);
    assert.equal(body.changed, false);
    assert.equal(body.state, 'Down');
    assert.deepEqual(body.history, [changeShown({ reason: 'disk full', from: 'Up', to: 'Down' })]);
    assert.deepEqual(
      events.announced.map((a) => a.type),
      ['unavailable'],
    );
  });

  it('brings a Down system Up and announces it available with a release id', async () => {
    // Prepare
    const { deps, config, events, clock } = setup();
    await asOperator(deps, route, { systemId: 'crm' }, { body: { state: 'Down', reason: 'disk full' } });
    const down = config.systems.get('crm')?.stateChange;
    assert.ok(down);
    clock.at = '2025-03-01T12:30:00.000Z';

    // Act
    const response = await asOperator(
      deps,
      route,
      { systemId: 'crm' },
      { body: { state: 'Up', reason: 'disk replaced' } },
    );

    // Assess
    const body = bodyOf(response);
    assert.equal(body.changed, true);
    assert.equal(body.state, 'Up');
    const up = changeShown({
      at: clock.at,
      reason: 'disk replaced',
      from: 'Down',
      to: 'Up',
    });
    assert.deepEqual(body.stateChange, up);
    assert.deepEqual(
      events.announced.map((a) => a.type),
      ['unavailable', 'available'],
    );
    const announced = events.announced[1];
    assert.ok(announced && 'event' in announced);
    assert.equal(announced.event.systemId, 'crm');
    assert.equal(announced.event.reason, 'disk replaced');
    assert.match(String(announced.event.releaseId), /^[0-9a-f-]{36}$/);
    // The event carries the change whole; the view leaves out its internal ids.
    const { id: _id, follows, ...announcedChange } = announced.event.change ?? {};
    assert.deepEqual(announcedChange, up);
    assert.equal(follows, down.id, 'the event names the change it ended');
  });

  it('brings a system Up without releasing its held items when asked (releaseHeld: false)', async () => {
    // Prepare
    const { deps, events } = setup();
    await asOperator(deps, route, { systemId: 'crm' }, { body: { state: 'Down', reason: 'upgrade' } });

    // Act
    const response = await asOperator(
      deps,
      route,
      { systemId: 'crm' },
      { body: { state: 'Up', reason: 'try one order first', releaseHeld: false } },
    );

    // Assess
    assert.equal(response.statusCode, 200);
    assert.equal(bodyOf(response).state, 'Up');
    const announced = events.announced[1];
    assert.ok(announced && 'event' in announced);
    assert.equal(announced.type, 'available', 'the change is announced all the same');
    assert.equal(announced.event.releaseId, undefined, 'but no release starts');
    assert.equal(
      (bodyOf(response).stateChange as { reason: string }).reason,
      'try one order first',
      'the option is not kept in the change',
    );
    assert.equal('releaseHeld' in (bodyOf(response).stateChange as object), false);
  });

  it('refuses releaseHeld with a Down, naming the field', async () => {
    // Prepare
    const { deps, events } = setup();

    // Act
    const response = await asOperator(
      deps,
      route,
      { systemId: 'crm' },
      { body: { state: 'Down', reason: 'upgrade', releaseHeld: false } },
    );

    // Assess
    assert.equal(response.statusCode, 400);
    assert.deepEqual(bodyOf(response).problems, [
      { field: 'releaseHeld', message: 'goes only with state "Up"' },
    ]);
    assert.deepEqual(events.announced, []);
  });

  it('announces a system that is Up already once more when an operator says Up (changed: false)', async () => {
    // Prepare
    const { deps, events } = setup();

    // Act
    const responses = [
      await asOperator(deps, route, { systemId: 'crm' }, { body: { state: 'Up', reason: 'release it' } }),
      await asOperator(deps, route, { systemId: 'crm' }, { body: { state: 'Up', reason: 'again' } }),
    ];

    // Assess
    for (const response of responses) {
      const body = bodyOf(response);
      assert.equal(body.changed, false);
      assert.equal(body.state, 'Up');
      assert.deepEqual(body.history, []);
    }
    const releaseIds = events.announced.map((a) => {
      assert.equal(a.type, 'available');
      assert.ok('event' in a);
      assert.equal(a.event.systemId, 'crm');
      assert.equal(a.event.change, undefined, 'nothing changed');
      return a.event.releaseId;
    });
    assert.deepEqual(
      events.announced.map((a) => ('event' in a ? a.event.reason : undefined)),
      ['release it', 'again'],
    );
    assert.equal(releaseIds.length, 2);
    assert.notEqual(releaseIds[0], releaseIds[1], 'each asks for a release of its own');
  });

  it("announces an operator's repeated Up with its new reason and without a change", async () => {
    // Prepare: Down, then Up.
    const { deps, events, clock } = setup();
    await asOperator(deps, route, { systemId: 'crm' }, { body: { state: 'Down', reason: 'disk full' } });
    clock.at = '2025-03-01T12:10:00.000Z';
    await asOperator(deps, route, { systemId: 'crm' }, { body: { state: 'Up', reason: 'disk replaced' } });
    clock.at = '2025-03-01T12:20:00.000Z';

    // Act
    const response = await asOperator(
      deps,
      route,
      { systemId: 'crm' },
      { body: { state: 'Up', reason: 'the release event was lost' } },
    );

    // Assess
    const body = bodyOf(response);
    assert.equal(body.changed, false);
    assert.equal((body.stateChange as Record<string, unknown>).reason, 'disk replaced');
    assert.equal((body.history as unknown[]).length, 2);
    assert.deepEqual(
      events.announced.map((a) => a.type),
      ['unavailable', 'available', 'available'],
    );
    const again = events.announced[2];
    assert.ok(again && 'event' in again);
    assert.deepEqual(again.event, {
      systemId: 'crm',
      reason: 'the release event was lost',
      releaseId: again.event.releaseId,
    });
    assert.match(String(again.event.releaseId), /^[0-9a-f-]{36}$/);
  });

  const invalid: [string, unknown, string[]][] = [
    ['a missing reason', { state: 'Down' }, ['reason']],
    ['a blank reason', { state: 'Down', reason: '   ' }, ['reason']],
    ['a reason too long', { state: 'Down', reason: 'x'.repeat(501) }, ['reason']],
    ['an unknown state', { state: 'Sideways', reason: 'why not' }, ['state']],
    ['an unknown field', { state: 'Down', reason: 'disk full', force: true }, ['force']],
    ['a body that is not JSON', '{"state": "Down",', ['']],
    ['no body', undefined, ['']],
  ];
  for (const [what, body, fields] of invalid) {
    it(`answers 400 naming the field for ${what}, and changes nothing`, async () => {
      const { deps, config, events } = setup();

      const response = await asOperator(deps, route, { systemId: 'crm' }, { body });

      assert.deepEqual(problemFields(response), fields);
      assert.equal(config.systems.get('crm')?.state, 'Up');
      assert.deepEqual(events.announced, []);
    });
  }

  it('answers 404 for an unknown system', async () => {
    const { deps, events } = setup();

    const response = await asOperator(
      deps,
      route,
      { systemId: 'billing-2' },
      { body: { state: 'Down', reason: 'disk full' } },
    );

    assert.equal(response.statusCode, 404);
    assert.equal(bodyOf(response).message, 'no system with id "billing-2"');
    assert.deepEqual(events.announced, []);
  });
});

describe('handleAdminApi: PATCH /admin/system-interfaces/{interfaceId}', () => {
  const route = 'PATCH /admin/system-interfaces/{interfaceId}';

  it('takes an interface Offline, keeping who, when and why, and announces it with its system', async () => {
    // Prepare
    const { deps, events } = setup();

    // Act
    const response = await asOperator(
      deps,
      route,
      { interfaceId: 'port-status' },
      { body: { status: 'Offline', reason: 'new release' } },
    );

    // Assess
    assert.equal(response.statusCode, 200);
    const change = changeShown({ reason: 'new release', from: 'Online', to: 'Offline' });
    assert.deepEqual(bodyOf(response), {
      changed: true,
      id: 'port-status',
      system: { id: 'inventory', href: '/admin/systems/inventory' },
      method: 'GET',
      path: '/ports/status',
      adapter: 'sync-rest',
      status: 'Offline',
      statusChange: change,
      timeoutSeconds: 5,
      mappings: {},
      revision: 1,
      overrides: {},
      seededAt: SEEDED_AT,
      updatedAt: NOW,
      href: '/admin/system-interfaces/port-status',
      history: [change],
      onHoldItems: { href: '/admin/system-interfaces/port-status/on-hold-items' },
    });
    assert.equal(events.announced.length, 1);
    const [announced] = events.announced;
    assert.ok(announced && 'event' in announced);
    assert.equal(announced.type, 'unavailable');
    assert.equal(announced.event.systemId, 'inventory');
    assert.equal(announced.event.interfaceId, 'port-status');
    assert.equal(announced.event.reason, 'new release');
    const { id: _id, ...announcedChange } = announced.event.change ?? {};
    assert.deepEqual(announcedChange, change);
  });

  it('brings an interface Online without releasing its held items when asked, and refuses the option with Offline', async () => {
    // Prepare
    const { deps, events } = setup();
    const patch = (body: unknown) => asOperator(deps, route, { interfaceId: 'port-status' }, { body });
    await patch({ status: 'Offline', reason: 'new release' });

    // Act
    const refused = await patch({ status: 'Offline', reason: 'again', releaseHeld: true });
    const online = await patch({ status: 'Online', reason: 'release done', releaseHeld: false });

    // Assess
    assert.equal(refused.statusCode, 400);
    assert.deepEqual(bodyOf(refused).problems, [
      { field: 'releaseHeld', message: 'goes only with status "Online"' },
    ]);
    assert.equal(online.statusCode, 200);
    assert.equal(bodyOf(online).status, 'Online');
    const announced = events.announced.at(-1);
    assert.ok(announced && 'event' in announced);
    assert.equal(announced.type, 'available');
    assert.equal(announced.event.interfaceId, 'port-status');
    assert.equal(announced.event.releaseId, undefined);
  });

  it("shows the interface's status change in its system's view, and its own history newest first", async () => {
    // Prepare
    const { deps, clock } = setup();
    await asOperator(
      deps,
      route,
      { interfaceId: 'port-status' },
      { body: { status: 'Offline', reason: 'a' } },
    );
    clock.at = '2025-03-01T12:01:00.000Z';
    await asOperator(
      deps,
      route,
      { interfaceId: 'port-status' },
      { body: { status: 'Online', reason: 'b' } },
    );
    clock.at = '2025-03-01T12:02:00.000Z';
    await asOperator(
      deps,
      route,
      { interfaceId: 'port-status' },
      { body: { status: 'Offline', reason: 'c' } },
    );

    // Act
    const system = bodyOf(await asOperator(deps, 'GET /admin/systems/{systemId}', { systemId: 'inventory' }));
    const iface = bodyOf(
      await asOperator(deps, 'GET /admin/system-interfaces/{interfaceId}', { interfaceId: 'port-status' }),
    );

    // Assess
    const last = changeShown({
      at: '2025-03-01T12:02:00.000Z',
      reason: 'c',
      from: 'Online',
      to: 'Offline',
    });
    assert.deepEqual((system.interfaces as Record<string, unknown>[])[0], {
      id: 'port-status',
      method: 'GET',
      path: '/ports/status',
      adapter: 'sync-rest',
      status: 'Offline',
      statusChange: last,
      href: '/admin/system-interfaces/port-status',
    });
    assert.equal(system.state, 'Up', 'the system itself is untouched');
    assert.deepEqual(system.history, []);
    assert.deepEqual(iface.history, [
      last,
      changeShown({ at: '2025-03-01T12:01:00.000Z', reason: 'b', from: 'Offline', to: 'Online' }),
      changeShown({ at: NOW, reason: 'a', from: 'Online', to: 'Offline' }),
    ]);
  });

  it('answers changed: false and announces nothing for an Offline on an interface that is Offline', async () => {
    const { deps, events } = setup();
    await asOperator(
      deps,
      route,
      { interfaceId: 'port-status' },
      { body: { status: 'Offline', reason: 'a' } },
    );

    const response = await asOperator(
      deps,
      route,
      { interfaceId: 'port-status' },
      { body: { status: 'Offline', reason: 'b' } },
    );

    const body = bodyOf(response);
    assert.equal(body.changed, false);
    assert.equal((body.history as unknown[]).length, 1);
    assert.deepEqual(
      events.announced.map((a) => a.type),
      ['unavailable'],
    );
  });

  it('brings an interface Online and announces it available with its system and a release id', async () => {
    // Prepare
    const { deps, events, clock } = setup();
    await asOperator(
      deps,
      route,
      { interfaceId: 'port-status' },
      { body: { status: 'Offline', reason: 'a' } },
    );
    clock.at = '2025-03-01T12:45:00.000Z';

    // Act
    const response = await asOperator(
      deps,
      route,
      { interfaceId: 'port-status' },
      { body: { status: 'Online', reason: 'fixed' } },
    );

    // Assess
    const body = bodyOf(response);
    assert.equal(body.changed, true);
    assert.equal(body.status, 'Online');
    const announced = events.announced[1];
    assert.ok(announced && 'event' in announced);
    assert.equal(announced.type, 'available');
    assert.equal(announced.event.systemId, 'inventory');
    assert.equal(announced.event.interfaceId, 'port-status');
    assert.equal(announced.event.reason, 'fixed');
    assert.equal(announced.event.change?.at, '2025-03-01T12:45:00.000Z');
    assert.match(String(announced.event.releaseId), /^[0-9a-f-]{36}$/);
  });

  it('announces an interface that is Online already once more when an operator says Online', async () => {
    const { deps, events } = setup();

    const response = await asOperator(
      deps,
      route,
      { interfaceId: 'reserve-port' },
      { body: { status: 'Online', reason: 'release it' } },
    );

    assert.equal(bodyOf(response).changed, false);
    assert.equal(events.announced.length, 1);
    const [announced] = events.announced;
    assert.ok(announced && 'event' in announced);
    assert.equal(announced.type, 'available');
    assert.deepEqual(announced.event, {
      systemId: 'inventory',
      interfaceId: 'reserve-port',
      reason: 'release it',
      releaseId: announced.event.releaseId,
    });
    assert.equal(typeof announced.event.releaseId, 'string');
  });

  const invalid: [string, unknown, string[]][] = [
    ['a missing reason', { status: 'Offline' }, ['reason']],
    ['a blank reason', { status: 'Offline', reason: '' }, ['reason']],
    ['an unknown status', { status: 'Sideways', reason: 'why not' }, ['status']],
    ['a system state instead of a status', { state: 'Down', reason: 'wrong route' }, ['status', 'state']],
    ['a body that is not JSON', 'status=Offline', ['']],
  ];
  for (const [what, body, fields] of invalid) {
    it(`answers 400 naming the field for ${what}, and changes nothing`, async () => {
      const { deps, config, events } = setup();

      const response = await asOperator(deps, route, { interfaceId: 'port-status' }, { body });

      assert.deepEqual(problemFields(response).sort(), [...fields].sort());
      assert.equal(config.interfaces.get('port-status')?.status, 'Online');
      assert.deepEqual(events.announced, []);
    });
  }

  it('answers 404 for an unknown interface', async () => {
    const { deps, events } = setup();

    const response = await asOperator(
      deps,
      route,
      { interfaceId: 'no-such-interface' },
      { body: { status: 'Offline', reason: 'new release' } },
    );

    assert.equal(response.statusCode, 404);
    assert.equal(bodyOf(response).message, 'no system interface with id "no-such-interface"');
    assert.deepEqual(events.announced, []);
  });
});

/** The system each DSL catalog interface belongs to. */
const SYSTEM_OF: Record<string, string> = {
  'reserve-port': 'inventory',
  'port-status': 'inventory',
  'activate-line': 'activation',
};

/** One callout item of a stored order: held since `heldSince`, or left Pending without it. */
interface StoredItem {
  key: string;
  interfaceId: string;
  heldSince?: string;
}

const holdReason = (interfaceId: string) => `system "${SYSTEM_OF[interfaceId]}" is Down: firmware`;

/** Stores an order of callout items and puts those with `heldSince` On Hold, as the worker does. */
async function storeOrder(store: InMemoryOrderStore, orderId: string, items: StoredItem[]): Promise<void> {
  const at = '2025-03-01T09:30:00.000Z';
  const order: OrderRecord = {
    id: orderId,
    state: 'inProgress',
    submitted: {},
    itemKeys: items.map((i) => i.key),
    planRuns: [],
    createdAt: at,
    updatedAt: at,
  };
  const records = items.map(
    (i): ItemRecord => ({
      orderId,
      key: i.key,
      planId: i.key.split('.')[0] ?? '',
      planItemId: i.key.split('.')[1] ?? '',
      type: 'callout',
      interfaceId: i.interfaceId,
      dependsOn: [],
      state: 'Pending',
      version: 0,
      createdAt: at,
      updatedAt: at,
    }),
  );
  await store.createOrder(order, records);
  for (const { key, interfaceId, heldSince } of items) {
    if (heldSince === undefined) continue;
    const systemId = SYSTEM_OF[interfaceId] ?? '';
    const hold = { systemId, interfaceId, since: heldSince, reason: holdReason(interfaceId) };
    assert.ok(await store.holdItem(orderId, key, `attempt-${orderId}`, hold, heldSince));
    await store.holdOrder(orderId, key, heldSince);
  }
}

/** How the on-hold view shows a held item. */
const heldShown = (orderId: string, itemKey: string, interfaceId: string, since: string) => ({
  id: `${orderId}.${itemKey}`,
  orderId,
  itemKey,
  systemId: SYSTEM_OF[interfaceId],
  interfaceId,
  since,
  reason: holdReason(interfaceId),
  href: `/orchestration/orders/${orderId}/items`,
});

/**
 * Held items of the inventory on both its interfaces, held at different times, one held on activation, and
 * one Pending (not held).
 */
async function storeHeldItems(store: InMemoryOrderStore): Promise<void> {
  await storeOrder(store, 'o-2', [
    { key: 'dsl.reserve-port.1', interfaceId: 'reserve-port', heldSince: '2025-03-01T11:00:00.000Z' },
    { key: 'dsl.activate-line.1', interfaceId: 'activate-line', heldSince: '2025-03-01T10:15:00.000Z' },
  ]);
  await storeOrder(store, 'o-1', [
    { key: 'check.port-status.1', interfaceId: 'port-status', heldSince: '2025-03-01T10:00:00.000Z' },
    { key: 'dsl.reserve-port.1', interfaceId: 'reserve-port' },
  ]);
  await storeOrder(store, 'o-3', [
    { key: 'dsl.reserve-port.1', interfaceId: 'reserve-port', heldSince: '2025-03-01T10:30:00.000Z' },
  ]);
}

describe('handleAdminApi: GET on-hold items', () => {
  const systemRoute = 'GET /admin/systems/{systemId}/on-hold-items';
  const interfaceRoute = 'GET /admin/system-interfaces/{interfaceId}/on-hold-items';

  it("lists a system's held items oldest first, with order, item, since when and why", async () => {
    // Prepare
    const { deps, store } = setup();
    await storeHeldItems(store);

    // Act
    const response = await asOperator(deps, systemRoute, { systemId: 'inventory' });

    // Assess
    assert.equal(response.statusCode, 200);
    assert.equal(response.headers?.['x-result-count'], '3');
    assert.deepEqual(bodyOf(response), {
      items: [
        heldShown('o-1', 'check.port-status.1', 'port-status', '2025-03-01T10:00:00.000Z'),
        heldShown('o-3', 'dsl.reserve-port.1', 'reserve-port', '2025-03-01T10:30:00.000Z'),
        heldShown('o-2', 'dsl.reserve-port.1', 'reserve-port', '2025-03-01T11:00:00.000Z'),
      ],
    });
  });

  it("lists only the interface's own held items in the interface view", async () => {
    const { deps, store } = setup();
    await storeHeldItems(store);

    const response = await asOperator(deps, interfaceRoute, { interfaceId: 'reserve-port' });

    assert.equal(response.statusCode, 200);
    assert.deepEqual(bodyOf(response), {
      items: [
        heldShown('o-3', 'dsl.reserve-port.1', 'reserve-port', '2025-03-01T10:30:00.000Z'),
        heldShown('o-2', 'dsl.reserve-port.1', 'reserve-port', '2025-03-01T11:00:00.000Z'),
      ],
    });
  });

  it('answers an empty list for a system with nothing held', async () => {
    const { deps, store } = setup();
    await storeHeldItems(store);

    const response = await asOperator(deps, systemRoute, { systemId: 'crm' });

    assert.deepEqual(bodyOf(response), { items: [] });
    assert.equal(response.headers?.['x-result-count'], '0');
  });

  it('pages with limit, and after = the previous page’s next, without losing or repeating an item', async () => {
    // Prepare
    const { deps, store } = setup();
    await storeHeldItems(store);

    // Act
    const first = bodyOf(
      await asOperator(deps, systemRoute, { systemId: 'inventory' }, { query: { limit: '2' } }),
    );
    const second = bodyOf(
      await asOperator(
        deps,
        systemRoute,
        { systemId: 'inventory' },
        { query: { limit: '2', after: String(first.next) } },
      ),
    );

    // Assess
    const ids = (page: Record<string, unknown>) => (page.items as { id: string }[]).map((i) => i.id);
    assert.deepEqual(ids(first), ['o-1.check.port-status.1', 'o-3.dsl.reserve-port.1']);
    assert.equal(typeof first.next, 'string');
    assert.deepEqual(ids(second), ['o-2.dsl.reserve-port.1']);
    assert.equal(second.next, undefined, 'the last page has no next');
  });

  it('pages the interface view too', async () => {
    const { deps, store } = setup();
    await storeHeldItems(store);

    const first = bodyOf(
      await asOperator(deps, interfaceRoute, { interfaceId: 'reserve-port' }, { query: { limit: '1' } }),
    );
    const second = bodyOf(
      await asOperator(
        deps,
        interfaceRoute,
        { interfaceId: 'reserve-port' },
        { query: { limit: '1', after: String(first.next) } },
      ),
    );

    assert.deepEqual(
      [...(first.items as { id: string }[]), ...(second.items as { id: string }[])].map((i) => i.id),
      ['o-3.dsl.reserve-port.1', 'o-2.dsl.reserve-port.1'],
    );
    assert.equal(typeof first.next, 'string');
    assert.equal(second.next, undefined);
  });

  it('answers 404 for an unknown system or interface', async () => {
    const { deps } = setup();

    const responses = [
      await asOperator(deps, systemRoute, { systemId: 'billing-2' }),
      await asOperator(deps, interfaceRoute, { interfaceId: 'no-such-interface' }),
    ];

    assert.deepEqual(
      responses.map((r) => [r.statusCode, bodyOf(r).message]),
      [
        [404, 'no system with id "billing-2"'],
        [404, 'no system interface with id "no-such-interface"'],
      ],
    );
  });

  const badQueries: [string, Record<string, string>, string][] = [
    ['a limit of 0', { limit: '0' }, 'limit'],
    ['a limit that is no number', { limit: 'abc' }, 'limit'],
    ['a limit over 200', { limit: '201' }, 'limit'],
    ['a limit that is no whole number', { limit: '2.5' }, 'limit'],
    ['an unknown parameter', { offset: '10' }, 'offset'],
  ];
  for (const [what, query, field] of badQueries) {
    for (const [route, parameters] of [
      [systemRoute, { systemId: 'inventory' }],
      [interfaceRoute, { interfaceId: 'reserve-port' }],
    ] as const) {
      it(`answers 400 naming ${field} for ${what} (${new URLSearchParams(query)}) on ${route}`, async () => {
        const { deps, store } = setup();
        await storeHeldItems(store);

        const response = await asOperator(deps, route, parameters, { query });

        assert.deepEqual(problemFields(response), [field]);
      });
    }
  }
});

describe('handleAdminApi: POST /admin/systems/{systemId}/release', () => {
  const route = 'POST /admin/systems/{systemId}/release';

  it('refuses with 409 while the system is Down, and releases nothing', async () => {
    // Prepare
    const { deps, store, queue, events } = setup();
    await storeHeldItems(store);
    await asOperator(
      deps,
      'PUT /admin/systems/{systemId}/state',
      { systemId: 'inventory' },
      { body: { state: 'Down', reason: 'firmware' } },
    );
    events.announced.length = 0;

    // Act
    const responses = [
      await asOperator(deps, route, { systemId: 'inventory' }),
      await asOperator(
        deps,
        route,
        { systemId: 'inventory' },
        { body: { itemIds: ['o-3.dsl.reserve-port.1'] } },
      ),
    ];

    // Assess
    for (const response of responses) {
      assert.equal(response.statusCode, 409);
      assert.equal(
        bodyOf(response).message,
        'system "inventory" is Down; held items are released only while it is available',
      );
    }
    assert.deepEqual(events.announced, []);
    assert.deepEqual(queue.sent, []);
    assert.equal(store.item('o-3', 'dsl.reserve-port.1').state, 'OnHold');
  });

  it('asks for a release of all held items when no items are named (202)', async () => {
    const { deps, events } = setup();

    const response = await asOperator(deps, route, { systemId: 'inventory' });

    assert.equal(response.statusCode, 202);
    const body = bodyOf(response);
    assert.match(String(body.releaseId), /^[0-9a-f-]{36}$/);
    assert.deepEqual(body, { releaseId: body.releaseId, systemId: 'inventory', status: 'started' });
    assert.deepEqual(events.announced, [
      {
        type: 'releaseRequested',
        request: { systemId: 'inventory', releaseId: body.releaseId, reason: 'released by olga (u-op)' },
      },
    ]);
  });

  it("keeps the operator's reason with the release they ask for", async () => {
    const { deps, events } = setup();

    const response = await asOperator(
      deps,
      route,
      { systemId: 'inventory' },
      { body: { reason: 'the bus lost the event' } },
    );

    assert.equal(response.statusCode, 202);
    const [announced] = events.announced;
    assert.ok(announced && 'request' in announced);
    assert.equal(announced.request.reason, 'released by olga (u-op): the bus lost the event');
    assert.equal(announced.request.releaseId, bodyOf(response).releaseId);
  });

  it('releases the named items and says for each what became of it', async () => {
    // Prepare: o-3's item is held; o-1's reserve-port item is Running; o-2's activation item is held on
    // another system; o-1's port-status item is held but its interface is Offline.
    const { deps, store, queue, config } = setup();
    await storeHeldItems(store);
    assert.ok(await store.claimItem('o-1', 'dsl.reserve-port.1', 'attempt-9', NOW, 'started'));
    await config.setInterfaceStatus('port-status', 'Offline', {
      by: OLGA,
      reason: 'new release',
      cause: 'operator',
      at: NOW,
    });
    const itemIds = [
      'o-3.dsl.reserve-port.1',
      'o-1.dsl.reserve-port.1',
      'o-9.dsl.reserve-port.1',
      'o-2.dsl.activate-line.1',
      'o-1.check.port-status.1',
    ];

    // Act
    const response = await asOperator(deps, route, { systemId: 'inventory' }, { body: { itemIds } });

    // Assess
    assert.equal(response.statusCode, 200);
    const body = bodyOf(response);
    assert.deepEqual(body, {
      releaseId: body.releaseId,
      systemId: 'inventory',
      results: [
        { itemId: 'o-3.dsl.reserve-port.1', result: 'released' },
        { itemId: 'o-1.dsl.reserve-port.1', result: 'not held' },
        { itemId: 'o-9.dsl.reserve-port.1', result: 'not held' },
        { itemId: 'o-2.dsl.activate-line.1', result: 'not held' },
        { itemId: 'o-1.check.port-status.1', result: 'interface offline' },
      ],
    });
    assert.match(String(body.releaseId), /^[0-9a-f-]{36}$/);
    assert.deepEqual(queue.sent, [
      { kind: 'start', orderId: 'o-3', itemKey: 'dsl.reserve-port.1', releaseId: body.releaseId },
    ]);
  });

  it('releases an item named twice once: one start message, one result', async () => {
    // Prepare
    const { deps, store, queue } = setup();
    await storeHeldItems(store);
    const itemIds = ['o-3.dsl.reserve-port.1', 'o-2.dsl.reserve-port.1', 'o-3.dsl.reserve-port.1'];

    // Act
    const response = await asOperator(deps, route, { systemId: 'inventory' }, { body: { itemIds } });

    // Assess
    assert.equal(response.statusCode, 200);
    const body = bodyOf(response);
    assert.deepEqual(body.results, [
      { itemId: 'o-3.dsl.reserve-port.1', result: 'released' },
      { itemId: 'o-2.dsl.reserve-port.1', result: 'released' },
    ]);
    assert.deepEqual(queue.sent, [
      { kind: 'start', orderId: 'o-3', itemKey: 'dsl.reserve-port.1', releaseId: body.releaseId },
      { kind: 'start', orderId: 'o-2', itemKey: 'dsl.reserve-port.1', releaseId: body.releaseId },
    ]);
  });

  it('shows a released item as being released in the on-hold view until a worker takes it', async () => {
    // Prepare
    const { deps, store } = setup();
    await storeHeldItems(store);
    const released = bodyOf(
      await asOperator(
        deps,
        route,
        { systemId: 'inventory' },
        { body: { itemIds: ['o-3.dsl.reserve-port.1'] } },
      ),
    );

    // Act
    const view = bodyOf(
      await asOperator(deps, 'GET /admin/systems/{systemId}/on-hold-items', { systemId: 'inventory' }),
    );

    // Assess
    assert.deepEqual((view.items as Record<string, unknown>[])[1], {
      ...heldShown('o-3', 'dsl.reserve-port.1', 'reserve-port', '2025-03-01T10:30:00.000Z'),
      releasing: { releaseId: released.releaseId, since: NOW },
    });
    assert.equal((view.items as Record<string, unknown>[])[0]?.releasing, undefined);
  });

  it('answers "being released" and sends nothing for an item another release sent a moment ago', async () => {
    // Prepare
    const { deps, store, queue, clock } = setup();
    await storeHeldItems(store);
    const itemIds = ['o-3.dsl.reserve-port.1'];
    const first = bodyOf(await asOperator(deps, route, { systemId: 'inventory' }, { body: { itemIds } }));
    clock.at = '2025-03-01T12:01:00.000Z';

    // Act
    const second = bodyOf(await asOperator(deps, route, { systemId: 'inventory' }, { body: { itemIds } }));

    // Assess
    assert.deepEqual(second.results, [{ itemId: 'o-3.dsl.reserve-port.1', result: 'being released' }]);
    assert.notEqual(second.releaseId, first.releaseId);
    assert.equal(queue.sent.length, 1);
    assert.equal(queue.starts()[0]?.releaseId, first.releaseId);
  });

  it('takes over an item whose release stamp is more than five minutes old (that release died)', async () => {
    // Prepare
    const { deps, store, queue, clock } = setup();
    await storeHeldItems(store);
    const itemIds = ['o-3.dsl.reserve-port.1'];
    await asOperator(deps, route, { systemId: 'inventory' }, { body: { itemIds } });
    clock.at = '2025-03-01T12:05:01.000Z';

    // Act
    const second = bodyOf(await asOperator(deps, route, { systemId: 'inventory' }, { body: { itemIds } }));

    // Assess
    assert.deepEqual(second.results, [{ itemId: 'o-3.dsl.reserve-port.1', result: 'released' }]);
    assert.equal(queue.sent.length, 2);
    assert.equal(queue.starts()[1]?.releaseId, second.releaseId);
  });

  const invalid: [string, unknown, string][] = [
    ['an item id without an order', { itemIds: ['no-dot-here'] }, 'itemIds.0'],
    ['an item id ending in a dot', { itemIds: ['o-3.dsl.reserve-port.1', 'o-3.'] }, 'itemIds.1'],
    ['an empty list of items', { itemIds: [] }, 'itemIds'],
    ['an unknown field', { items: ['o-3.dsl.reserve-port.1'] }, 'items'],
    ['a body that is not JSON', 'release all', ''],
  ];
  for (const [what, body, field] of invalid) {
    it(`answers 400 naming ${field || 'the body'} for ${what}, and releases nothing`, async () => {
      const { deps, store, queue, events } = setup();
      await storeHeldItems(store);

      const response = await asOperator(deps, route, { systemId: 'inventory' }, { body });

      assert.deepEqual(problemFields(response), [field]);
      assert.deepEqual(queue.sent, []);
      assert.deepEqual(events.announced, []);
    });
  }

  it('answers 404 for an unknown system', async () => {
    const { deps, events } = setup();

    const response = await asOperator(deps, route, { systemId: 'billing-2' });

    assert.equal(response.statusCode, 404);
    assert.equal(bodyOf(response).message, 'no system with id "billing-2"');
    assert.deepEqual(events.announced, []);
  });
});

describe('handleAdminApi: maintenance windows', () => {
  const plan = 'POST /admin/systems/{systemId}/maintenance-windows';
  const list = 'GET /admin/systems/{systemId}/maintenance-windows';
  const cancel = 'DELETE /admin/systems/{systemId}/maintenance-windows/{windowId}';
  const START = '2025-03-02T00:00:00.000Z';
  const END = '2025-03-02T02:00:00.000Z';

  /** Plans a window of the inventory through the API and returns its body. */
  async function planWindow(deps: AdminApiDeps, body: Record<string, unknown>) {
    const response = await asOperator(deps, plan, { systemId: 'inventory' }, { body });
    assert.equal(response.statusCode, 201, String(response.body));
    return bodyOf(response);
  }

  it('plans a window ahead (201) and schedules its start and its end', async () => {
    // Prepare
    const { deps, config, scheduler, events } = setup();

    // Act: the start given with an offset is the same instant as START.
    const response = await asOperator(
      deps,
      plan,
      { systemId: 'inventory' },
      { body: { start: '2025-03-02T02:00:00+02:00', end: END, reason: 'firmware' } },
    );

    // Assess
    assert.equal(response.statusCode, 201);
    const body = bodyOf(response);
    assert.match(String(body.id), /^[0-9a-f]{12}$/);
    const href = `/admin/systems/inventory/maintenance-windows/${body.id}`;
    assert.deepEqual(body, {
      id: body.id,
      systemId: 'inventory',
      start: START,
      end: END,
      reason: 'firmware',
      createdBy: OLGA,
      createdAt: NOW,
      href,
    });
    assert.equal(response.headers?.location, href);
    assert.deepEqual(
      [...scheduler.scheduled.values()].map(({ event, at }) => [event, at.toISOString()]),
      [
        [{ systemId: 'inventory', windowId: body.id, phase: 'end' }, END],
        [{ systemId: 'inventory', windowId: body.id, phase: 'start' }, START],
      ],
    );
    assert.equal(config.systems.get('inventory')?.state, 'Up', 'nothing changes before the start');
    assert.deepEqual(events.announced, []);
  });

  it('starts a window whose start has passed now: the system goes Down and only the end is scheduled', async () => {
    // Prepare
    const { deps, config, scheduler, events } = setup();

    // Act
    const body = await planWindow(deps, {
      start: '2025-03-01T11:00:00.000Z',
      end: '2025-03-01T13:00:00.000Z',
      reason: 'emergency patch',
    });

    // Assess
    assert.equal(body.startedAt, NOW);
    const system = config.systems.get('inventory');
    assert.equal(system?.state, 'Down');
    assert.deepEqual(
      { ...system?.stateChange, id: undefined },
      {
        id: undefined,
        at: NOW,
        by: AUTOMATIC_ACTORS.maintenance,
        reason: `maintenance window ${body.id} (until 2025-03-01T13:00:00.000Z): emergency patch`,
        cause: 'maintenance',
        windowId: body.id,
        from: 'Up',
        to: 'Down',
      },
    );
    assert.deepEqual(
      [...scheduler.scheduled.values()].map(({ event, at }) => [event.phase, at.toISOString()]),
      [['end', '2025-03-01T13:00:00.000Z']],
    );
    assert.deepEqual(
      events.announced.map((a) => a.type),
      ['unavailable'],
    );
  });

  it('starts a window that begins right now at once', async () => {
    const { deps, config, scheduler } = setup();

    const body = await planWindow(deps, { start: NOW, end: '2025-03-01T13:00:00.000Z', reason: 'now' });

    assert.equal(body.startedAt, NOW);
    assert.equal(config.systems.get('inventory')?.state, 'Down');
    assert.deepEqual(
      [...scheduler.scheduled.values()].map(({ event }) => event.phase),
      ['end'],
    );
  });

  it('refuses with 409 a window that overlaps another, naming it, and schedules nothing for it', async () => {
    // Prepare
    const { deps, scheduler } = setup();
    const first = await planWindow(deps, { start: START, end: END, reason: 'firmware' });

    // Act
    const response = await asOperator(
      deps,
      plan,
      { systemId: 'inventory' },
      { body: { start: '2025-03-02T01:00:00.000Z', end: '2025-03-02T03:00:00.000Z', reason: 'more' } },
    );

    // Assess
    assert.equal(response.statusCode, 409);
    assert.equal(bodyOf(response).message, `the window overlaps window ${first.id} (${START} to ${END})`);
    assert.equal(scheduler.scheduled.size, 2);
    const windows = bodyOf(await asOperator(deps, list, { systemId: 'inventory' })) as { id: string }[];
    assert.deepEqual(
      windows.map((w) => w.id),
      [first.id],
    );
  });

  it('refuses with 409 a window that begins where another ends, naming the other', async () => {
    // Prepare
    const { deps, scheduler } = setup();
    const first = await planWindow(deps, { start: START, end: END, reason: 'first' });

    // Act
    const response = await asOperator(
      deps,
      plan,
      { systemId: 'inventory' },
      { body: { start: END, end: '2025-03-02T04:00:00.000Z', reason: 'second' } },
    );

    // Assess
    assert.equal(response.statusCode, 409);
    assert.equal(bodyOf(response).message, `the window overlaps window ${first.id} (${START} to ${END})`);
    assert.equal(scheduler.scheduled.size, 2);
    const windows = bodyOf(await asOperator(deps, list, { systemId: 'inventory' })) as { id: string }[];
    assert.deepEqual(
      windows.map((w) => w.id),
      [first.id],
    );
  });

  it('refuses with 409 a window that ends where another begins, naming the other', async () => {
    const { deps, scheduler } = setup();
    const later = await planWindow(deps, { start: END, end: '2025-03-02T04:00:00.000Z', reason: 'second' });

    const response = await asOperator(
      deps,
      plan,
      { systemId: 'inventory' },
      { body: { start: START, end: END, reason: 'first' } },
    );

    assert.equal(response.statusCode, 409);
    assert.equal(
      bodyOf(response).message,
      `the window overlaps window ${later.id} (${END} to 2025-03-02T04:00:00.000Z)`,
    );
    assert.equal(scheduler.scheduled.size, 2);
  });

  it('accepts a window that begins a second after another ends, and lists them by start', async () => {
    // Prepare
    const { deps, scheduler } = setup();
    const later = await planWindow(deps, {
      start: '2025-03-02T02:00:01.000Z',
      end: '2025-03-02T04:00:00.000Z',
      reason: 'second',
    });
    const earlier = await planWindow(deps, { start: START, end: END, reason: 'first' });

    // Act
    const response = await asOperator(deps, list, { systemId: 'inventory' });

    // Assess
    assert.equal(response.statusCode, 200);
    assert.equal(response.headers?.['x-result-count'], '2');
    assert.deepEqual(bodyOf(response), [earlier, later]);
    assert.equal(scheduler.scheduled.size, 4);
  });

  it('lists no windows for a system without any, and 404 for an unknown system', async () => {
    const { deps } = setup();

    const none = await asOperator(deps, list, { systemId: 'crm' });
    const unknown = await asOperator(deps, list, { systemId: 'billing-2' });

    assert.deepEqual(bodyOf(none), []);
    assert.equal(none.headers?.['x-result-count'], '0');
    assert.equal(unknown.statusCode, 404);
  });

  const invalid: [string, Record<string, unknown>, string][] = [
    ['an end before the start', { start: END, end: START, reason: 'x' }, 'end'],
    ['an end equal to the start', { start: START, end: START, reason: 'x' }, 'end'],
    [
      'an end in the past',
      { start: '2025-03-01T10:00:00.000Z', end: '2025-03-01T11:59:59.000Z', reason: 'x' },
      'end',
    ],
    ['a window longer than 31 days', { start: START, end: '2025-04-02T00:00:01.000Z', reason: 'x' }, 'end'],
    [
      'a start more than 366 days ahead',
      { start: '2026-03-03T00:00:00.000Z', end: '2026-03-03T02:00:00.000Z', reason: 'x' },
      'start',
    ],
    ['a start that is no date', { start: 'tomorrow', end: END, reason: 'x' }, 'start'],
    ['a date without an offset', { start: START, end: '2025-03-02T02:00:00', reason: 'x' }, 'end'],
    ['a missing reason', { start: START, end: END }, 'reason'],
    ['a blank reason', { start: START, end: END, reason: ' ' }, 'reason'],
    ['an unknown field', { start: START, end: END, reason: 'x', repeat: 'weekly' }, 'repeat'],
  ];
  for (const [what, body, field] of invalid) {
    it(`answers 400 naming ${field} for ${what}, and plans nothing`, async () => {
      const { deps, config, scheduler } = setup();

      const response = await asOperator(deps, plan, { systemId: 'inventory' }, { body });

      assert.deepEqual(problemFields(response), [field]);
      assert.equal(scheduler.scheduled.size, 0);
      assert.deepEqual(await config.maintenanceWindows('inventory'), []);
    });
  }

  it('answers 404 when planning a window for an unknown system', async () => {
    const { deps, scheduler } = setup();

    const response = await asOperator(
      deps,
      plan,
      { systemId: 'billing-2' },
      { body: { start: START, end: END, reason: 'firmware' } },
    );

    assert.equal(response.statusCode, 404);
    assert.equal(scheduler.scheduled.size, 0);
  });

  it('cancels a window under way: the system comes back Up, is announced, and both phases are unscheduled', async () => {
    // Prepare: a window planned ahead, whose start came due.
    const { deps, config, scheduler, events, clock } = setup();
    const window = await planWindow(deps, { start: START, end: END, reason: 'firmware' });
    const start = scheduler.scheduled.get(`inventory/${window.id}/start`);
    assert.ok(start);
    clock.at = START;
    await runMaintenancePhase(deps, start.event);
    assert.equal(config.systems.get('inventory')?.state, 'Down');
    clock.at = '2025-03-02T00:30:00.000Z';

    // Act
    const response = await asOperator(deps, cancel, { systemId: 'inventory', windowId: String(window.id) });

    // Assess
    assert.equal(response.statusCode, 200);
    assert.deepEqual(bodyOf(response), { ...window, startedAt: START, cancelled: true });
    const system = config.systems.get('inventory');
    assert.equal(system?.state, 'Up');
    assert.equal(system?.stateChange?.reason, `maintenance window ${window.id} cancelled`);
    assert.equal(system?.stateChange?.at, '2025-03-02T00:30:00.000Z');
    assert.deepEqual(
      events.announced.map((a) => a.type),
      ['unavailable', 'available'],
    );
    const up = events.announced[1];
    assert.ok(up && 'event' in up);
    assert.equal(up.event.reason, `maintenance window ${window.id} cancelled`);
    assert.deepEqual(up.event.change, system?.stateChange);
    assert.equal(scheduler.scheduled.size, 0);
    assert.deepEqual(bodyOf(await asOperator(deps, list, { systemId: 'inventory' })), []);
  });

  it('cancels a window not begun yet without touching the system', async () => {
    const { deps, config, scheduler, events } = setup();
    const window = await planWindow(deps, { start: START, end: END, reason: 'firmware' });

    const response = await asOperator(deps, cancel, { systemId: 'inventory', windowId: String(window.id) });

    assert.equal(response.statusCode, 200);
    assert.equal(bodyOf(response).cancelled, true);
    assert.equal(scheduler.scheduled.size, 0);
    assert.equal(config.systems.get('inventory')?.state, 'Up');
    assert.deepEqual(events.announced, []);
    assert.deepEqual(await config.maintenanceWindows('inventory'), []);
  });

  it('leaves an operator’s Down as it is when a window under way is cancelled', async () => {
    // Prepare: the window began, then an operator took over.
    const { deps, config, events } = setup();
    const window = await planWindow(deps, {
      start: '2025-03-01T11:00:00.000Z',
      end: '2025-03-01T13:00:00.000Z',
      reason: 'emergency patch',
    });
    await asOperator(
      deps,
      'PUT /admin/systems/{systemId}/state',
      { systemId: 'inventory' },
      { body: { state: 'Up', reason: 'done early' } },
    );
    await asOperator(
      deps,
      'PUT /admin/systems/{systemId}/state',
      { systemId: 'inventory' },
      { body: { state: 'Down', reason: 'disk failure' } },
    );
    events.announced.length = 0;

    // Act
    const response = await asOperator(deps, cancel, { systemId: 'inventory', windowId: String(window.id) });

    // Assess
    assert.equal(response.statusCode, 200);
    assert.equal(config.systems.get('inventory')?.state, 'Down');
    assert.equal(config.systems.get('inventory')?.stateChange?.reason, 'disk failure');
    assert.deepEqual(events.announced, []);
  });

  it('answers 404 for an unknown window', async () => {
    const { deps, scheduler } = setup();
    await planWindow(deps, { start: START, end: END, reason: 'firmware' });

    const response = await asOperator(deps, cancel, { systemId: 'inventory', windowId: 'no-such-window' });

    assert.equal(response.statusCode, 404);
    assert.equal(bodyOf(response).message, 'system "inventory" has no maintenance window "no-such-window"');
    assert.equal(scheduler.scheduled.size, 2);
  });

  it('shows the windows in the system view', async () => {
    const { deps } = setup();
    const window = await planWindow(deps, { start: START, end: END, reason: 'firmware' });

    const system = bodyOf(await asOperator(deps, 'GET /admin/systems/{systemId}', { systemId: 'inventory' }));

    assert.deepEqual(system.maintenanceWindows, [window]);
  });
});

describe('handleAdminApi: GET /admin/offerings', () => {
  it('lists every offering with the characteristics it takes and the plans that fulfil it, for operators and submitters', async () => {
    // Prepare: the DSL catalog, its DSL offering declaring a bandwidth with every kind of rule.
    const { deps } = setup();
    const declared: Declared[] = [
      {
        name: 'bandwidth',
        valueType: 'integer',
        unit: 'Mbit/s',
        required: ['add'],
        allowedValues: [50, 100],
        description: 'download speed',
      },
      { name: 'contactEmail', valueType: 'string', pattern: '[^@]+@[^@]+' },
      { name: 'priority', valueType: 'integer', minimum: 1, maximum: 5, default: 3 },
    ];
    deps.catalog.offerings['dsl-broadband'] = offering('dsl-broadband', declared);

    // Act
    const byOperator = await asOperator(deps, 'GET /admin/offerings');
    const bySubmitter = await handleAdminApi(deps, request('GET /admin/offerings', {}, SUBMITTER));

    // Assess
    assert.equal(byOperator.statusCode, 200);
    assert.equal(bySubmitter.statusCode, 200);
    assert.deepEqual(bodyOf(bySubmitter), bodyOf(byOperator));
    assert.equal(byOperator.headers?.['x-total-count'], '3');
    const offerings = bodyOf(byOperator) as unknown as Record<string, unknown>[];
    assert.deepEqual(
      offerings.map((o) => [o.id, o.fulfilledBy]),
      [
        ['dsl-broadband', [{ plan: 'dsl-broadband', actions: ['add', 'modify'] }]],
        ['tv-bundle', [{ plan: 'tv-bundle', actions: ['add'] }]],
        ['voice', [{ plan: 'voice', actions: ['add'] }]],
      ],
    );
    assert.deepEqual(offerings[0], {
      id: 'dsl-broadband',
      name: 'dsl-broadband',
      // As declared, with what the catalog's loader fills in: not required unless said.
      characteristics: declared.map((c) => ({ required: false, ...c })),
      fulfilledBy: [{ plan: 'dsl-broadband', actions: ['add', 'modify'] }],
    });
  });

  it('refuses a caller with neither role with 403', async () => {
    const { deps } = setup();
    const nobody = { sub: 'u-x', username: 'xavier', 'cognito:groups': '[guests]' };

    const response = await handleAdminApi(deps, request('GET /admin/offerings', {}, nobody));

    assert.equal(response.statusCode, 403);
    assert.equal(bodyOf(response).message, 'this needs the operator or submitter role');
  });
});

describe('handleAdminApi: GET /admin/fallout', () => {
  const route = 'GET /admin/fallout';

  /** The worker ran the item and it failed for good: it is in fallout. */
  async function putInFallout(store: InMemoryOrderStore, orderId: string, key: string, at: string) {
    assert.ok(await store.claimItem(orderId, key, `attempt-${orderId}`, at, 'prerequisites done'));
    assert.ok(await store.failItem(orderId, key, `attempt-${orderId}`, 'HTTP 400 from inventory', {}, at));
  }

  it('lists the items in fallout oldest first, each with the actions an operator may take', async () => {
    // Prepare
    const { deps, store } = setup();
    await storeOrder(store, 'o-1', [{ key: 'dsl.reserve-port.1', interfaceId: 'reserve-port' }]);
    await storeOrder(store, 'o-2', [{ key: 'dsl.reserve-port.1', interfaceId: 'reserve-port' }]);
    await putInFallout(store, 'o-2', 'dsl.reserve-port.1', '2025-03-01T10:00:00.000Z');
    await putInFallout(store, 'o-1', 'dsl.reserve-port.1', '2025-03-01T11:00:00.000Z');

    // Act
    const first = await asOperator(deps, route, {}, { query: { limit: '1' } });
    const second = await asOperator(deps, route, {}, { query: { after: String(bodyOf(first).next) } });

    // Assess
    assert.equal(first.statusCode, 200);
    assert.equal(first.headers?.['x-result-count'], '1');
    assert.deepEqual((bodyOf(first).items as unknown[])[0], {
      id: 'o-2.dsl.reserve-port.1',
      orderId: 'o-2',
      itemKey: 'dsl.reserve-port.1',
      since: '2025-03-01T10:00:00.000Z',
      error: 'HTTP 400 from inventory',
      actions: ['retry', 'skip', 'fail'].map((action) => ({
        action,
        href: `/orchestration/items/o-2.dsl.reserve-port.1/${action}`,
      })),
    });
    assert.deepEqual(
      (bodyOf(second).items as { id: string }[]).map((i) => i.id),
      ['o-1.dsl.reserve-port.1'],
    );
    assert.equal(bodyOf(second).next, undefined, 'the last page has no next');
  });

  it('answers 400 naming the parameter for a bad limit or an unknown one', async () => {
    const { deps } = setup();

    const responses = [
      await asOperator(deps, route, {}, { query: { limit: '0' } }),
      await asOperator(deps, route, {}, { query: { state: 'failed' } }),
    ];

    assert.deepEqual(responses.map(problemFields), [['limit'], ['state']]);
  });
});

describe('handleAdminApi: GET /admin/jeopardy', () => {
  it('lists the orders in jeopardy with a link to their items', async () => {
    // Prepare
    const { deps } = setup();
    const jeopardy = {
      since: '2025-03-01T11:00:00.000Z',
      kinds: ['late'],
      reasons: ['expected to complete at 2025-03-03T09:00:00.000Z, 16 hours after its due date'],
      expectedCompletionDate: '2025-03-03T09:00:00.000Z',
      dueDate: '2025-03-02T17:00:00.000Z',
    };
    deps.watch = {
      inJeopardy: async () => [
        {
          id: 'o-1',
          state: 'inProgress',
          dueDate: jeopardy.dueDate,
          expectedCompletionDate: jeopardy.expectedCompletionDate,
          jeopardy,
          submittedBy: { id: 'c-crm', name: 'order-capture' },
        },
      ],
    };

    // Act
    const response = await asOperator(deps, 'GET /admin/jeopardy');

    // Assess
    assert.equal(response.statusCode, 200);
    assert.equal(response.headers?.['x-result-count'], '1');
    assert.deepEqual(bodyOf(response), [
      {
        id: 'o-1',
        state: 'inProgress',
        dueDate: jeopardy.dueDate,
        expectedCompletionDate: jeopardy.expectedCompletionDate,
        jeopardy,
        submittedBy: { id: 'c-crm', name: 'order-capture' },
        href: '/orchestration/orders/o-1/items',
      },
    ]);
  });
});

describe('handleAdminApi: listeners', () => {
  const paused: ListenerRecord = {
    id: 'l-1',
    callback: 'https://crm.test/events',
    query: 'eventType=ProductOrderStateChangeEvent',
    filter: [{ path: 'eventType', values: ['ProductOrderStateChangeEvent'] }],
    secret: 'whsec_c2VjcmV0',
    owner: { id: 'c-crm', name: 'order-capture' },
    readsAll: false,
    createdAt: '2025-03-01T09:00:00.000Z',
    state: 'paused',
    failures: 20,
    firstFailureAt: '2025-03-01T10:00:00.000Z',
    lastFailure: { at: '2025-03-01T11:00:00.000Z', reason: 'HTTP 503' },
    lastSuccessAt: '2025-03-01T09:30:00.000Z',
    pausedAt: '2025-03-01T11:00:00.000Z',
  };

  it('lists the listeners and how their deliveries go, never their secret', async () => {
    const { deps } = setup();
    await deps.listeners.create(paused);

    const response = await asOperator(deps, 'GET /admin/listeners');

    assert.equal(response.statusCode, 200);
    assert.equal(response.headers?.['x-result-count'], '1');
    const { secret: _secret, filter: _filter, ...shown } = paused;
    assert.deepEqual(bodyOf(response), [shown]);
    assert.doesNotMatch(String(response.body), /whsec_/);
  });

  it('resumes a paused listener, its failures forgotten, and 404 for an unknown one', async (t) => {
    const { deps } = setup();
    await deps.listeners.create(paused);
    capturedLogs(t, 'INFO');
    const route = 'POST /admin/listeners/{listenerId}/resume';

    const resumed = await asOperator(deps, route, { listenerId: 'l-1' });
    const unknown = await asOperator(deps, route, { listenerId: 'l-9' });

    assert.equal(resumed.statusCode, 200);
    const body = bodyOf(resumed);
    assert.equal(body.state, 'active');
    assert.equal(body.failures, undefined);
    assert.equal(body.pausedAt, undefined);
    assert.equal(unknown.statusCode, 404);
    assert.equal(bodyOf(unknown).message, 'no listener with id "l-9"');
  });
});

describe('handleAdminApi: POST /admin/dead-letters/{queue}/redrive', () => {
  const route = 'POST /admin/dead-letters/{queue}/redrive';

  it('sends back at most the number asked for, and says how many moved', async () => {
    const deadLetters = fixedDeadLetters({ deliveries: 3 });
    const config = InMemoryConfigurationStore.seededFrom(dslCatalog(), SEEDED_AT);
    const { deps } = adminDeps(config, dslCatalog(), deadLetters);

    const some = await asOperator(deps, route, { queue: 'deliveries' }, { body: { max: 2 } });
    const rest = await asOperator(deps, route, { queue: 'deliveries' }, { body: {} });

    assert.equal(some.statusCode, 200);
    assert.deepEqual(bodyOf(some), { queue: 'deliveries', moved: 2 });
    assert.deepEqual(bodyOf(rest), { queue: 'deliveries', moved: 3 });
    assert.deepEqual(deadLetters.redriven, [
      { queue: 'deliveries', max: 2 },
      { queue: 'deliveries', max: 1000 },
    ]);
  });

  it('answers 404 naming the queues that are sent back by hand, and 400 for a bad max', async () => {
    const { deps } = setup();

    const work = await asOperator(deps, route, { queue: 'work' }, { body: {} });
    const zero = await asOperator(deps, route, { queue: 'deliveries' }, { body: { max: 0 } });

    assert.equal(work.statusCode, 404);
    assert.equal(
      bodyOf(work).message,
      'dead letters of "work" are not sent back by hand (these are: deliveries)',
    );
    assert.deepEqual(problemFields(zero), ['max']);
  });
});

describe('handleAdminApi: a body too large', () => {
  it('answers 413 and changes nothing', async () => {
    const { deps, config } = setup();

    const response = await asOperator(
      deps,
      'PUT /admin/systems/{systemId}/state',
      { systemId: 'crm' },
      { body: { state: 'Down', reason: 'x'.repeat(300 * 1024) } },
    );

    assert.equal(response.statusCode, 413);
    assert.equal(config.systems.get('crm')?.state, 'Up');
  });
});
