import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { type AdminApiDeps, handleAdminApi as handleUnchecked } from '../../lambdas/admin-api/handler';
import type { Catalog } from '../../lambdas/domain/catalog';
import type { ConfigurationStore } from '../../lambdas/ports/configuration-store';
import { checkedAgainstContract } from '../support/checked-handler';
import { asyncCatalog } from './fixtures/async';
import { INVENTORY_URL } from './fixtures/catalogs';
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

/**
 * Operators change a system's or an interface's configuration at runtime through the admin API: JSON
 * merge patches under If-Match, checked as the catalog is, kept in the history with who, when and why.
 */

const SEEDED_AT = '2025-03-01T09:00:00.000Z';
const NOW = '2025-03-01T12:00:00.000Z';
const OPERATOR = { sub: 'u-op', username: 'olga', 'cognito:groups': '[operators]' };
const OLGA = { id: 'u-op', name: 'olga' };

/** The DSL catalog with activate-line asynchronous (30 s to answer, an hour for its callback). */
function setup(catalog: Catalog = asyncCatalog()) {
  const config = InMemoryConfigurationStore.seededFrom(catalog, SEEDED_AT);
  const events = new RecordingAvailabilityEvents();
  const deps: AdminApiDeps = {
    config,
    catalog,
    deadLetters: { counts: async () => [], redrivable: [], redrive: async () => 0 },
    listeners: new InMemoryListenerStore(),
    watch: { inJeopardy: async () => [] },
    store: new InMemoryOrderStore(),
    queue: new RecordingWorkQueue(),
    events,
    scheduler: new RecordingMaintenanceScheduler(),
    rules: new InMemoryRetryRuleStore(),
    now: () => new Date(NOW),
    telemetry: new RecordingTelemetry(),
  };
  return { deps, config, events };
}

/** An HTTP API (payload 2.0) request by the operator, with a JSON body and these headers. */
function request(
  routeKey: string,
  pathParameters: Record<string, string>,
  body?: unknown,
  headers: Record<string, string> = {},
): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey,
    rawPath: routeKey.split(' ')[1] ?? '',
    rawQueryString: '',
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    pathParameters,
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    isBase64Encoded: false,
    requestContext: {
      http: {
        method: routeKey.split(' ')[0],
        path: '/',
        protocol: 'HTTP/1.1',
        sourceIp: '127.0.0.1',
        userAgent: 'test',
      },
      routeKey,
      authorizer: { jwt: { claims: OPERATOR, scopes: null } },
    },
  } as unknown as APIGatewayProxyEventV2;
}

const SYSTEM = 'PATCH /admin/systems/{systemId}';
const INTERFACE = 'PATCH /admin/system-interfaces/{interfaceId}';
const patchSystem = (deps: AdminApiDeps, id: string, body: unknown, headers: Record<string, string> = {}) =>
  handleAdminApi(deps, request(SYSTEM, { systemId: id }, body, headers));
const patchInterface = (
  deps: AdminApiDeps,
  id: string,
  body: unknown,
  headers: Record<string, string> = {},
) => handleAdminApi(deps, request(INTERFACE, { interfaceId: id }, body, headers));
const getInterface = (deps: AdminApiDeps, id: string) =>
  handleAdminApi(deps, request('GET /admin/system-interfaces/{interfaceId}', { interfaceId: id }));
const getSystem = (deps: AdminApiDeps, id: string) =>
  handleAdminApi(deps, request('GET /admin/systems/{systemId}', { systemId: id }));

function bodyOf(response: APIGatewayProxyStructuredResultV2): Record<string, unknown> {
  return JSON.parse(String(response.body));
}
const problemFields = (response: APIGatewayProxyStructuredResultV2) =>
  ((bodyOf(response).problems ?? []) as { field: string }[]).map((p) => p.field).sort();

/** Keeps the use case's log lines out of the report. */
const quiet = (t: TestContext) => capturedLogs(t, 'INFO');

describe('GET a system or an interface: the ETag', () => {
  it('answers the revision as a strong ETag, and shows it with the overrides in the body', async () => {
    const { deps } = setup();

    const system = await getSystem(deps, 'inventory');
    const iface = await getInterface(deps, 'reserve-port');

    assert.equal(system.headers?.etag, '"r1"');
    assert.equal(iface.headers?.etag, '"r1"');
    assert.equal(bodyOf(iface).revision, 1);
    assert.deepEqual(bodyOf(iface).overrides, {});
  });

  it('shows every field of an asynchronous interface, its callback settings with their defaults', async () => {
    const { deps } = setup();

    const body = bodyOf(await getInterface(deps, 'activate-line'));

    assert.equal(body.adapter, 'async-rest');
    assert.equal(body.timeoutSeconds, 30);
    assert.equal(body.asyncTimeoutSeconds, 3600);
    assert.deepEqual(body.acceptedStatuses, [202], 'the default');
    assert.equal(body.callbackAuth, 'url-proof', 'the default');
    assert.deepEqual(body.mappings, {
      request: 'activate-request',
      response: 'activate-response',
      asyncResponse: 'activate-callback',
    });
  });
});

describe('PATCH /admin/system-interfaces/{interfaceId}: configuration', () => {
  it('refuses a change without If-Match with 428 naming If-Match, and writes nothing', async () => {
    const { deps, config } = setup();

    const response = await patchInterface(deps, 'reserve-port', { timeoutSeconds: 20, reason: 'slow today' });

    assert.equal(response.statusCode, 428);
    const body = bodyOf(response);
    assert.equal(body['@type'], 'Error');
    assert.equal(body.code, '428');
    assert.equal(body.reason, 'Precondition Required');
    assert.match(String(body.message), /needs If-Match with the ETag its GET answered \(now "r1"\)/);
    assert.deepEqual(problemFields(response), ['If-Match']);
    assert.equal(config.interfaces.get('reserve-port')?.timeoutSeconds, 10);
    assert.deepEqual(await config.history('interface', 'reserve-port', 10), []);
  });

  it('refuses a stale If-Match with 412, and writes nothing', async () => {
    const { deps, config } = setup();

    const response = await patchInterface(
      deps,
      'reserve-port',
      { timeoutSeconds: 20, reason: 'slow today' },
      { 'if-match': '"r0"' },
    );

    assert.equal(response.statusCode, 412);
    assert.equal(bodyOf(response).reason, 'Precondition Failed');
    assert.match(
      String(bodyOf(response).message),
      /has changed since you read it \(it is at "r1"\): nothing was written/,
    );
    assert.deepEqual(problemFields(response), ['If-Match']);
    assert.equal(config.interfaces.get('reserve-port')?.revision, 1);
    assert.equal(config.interfaces.get('reserve-port')?.timeoutSeconds, 10);
  });

  it('changes the timeout under the current ETag: 200 with the new ETag, the override, and the history entry', async (t) => {
    // Prepare
    quiet(t);
    const { deps, config } = setup();
    const etag = (await getInterface(deps, 'reserve-port')).headers?.etag;
    assert.equal(etag, '"r1"');

    // Act
    const response = await patchInterface(
      deps,
      'reserve-port',
      { timeoutSeconds: 20, reason: 'inventory answers slowly after its upgrade' },
      { 'if-match': String(etag), 'content-type': 'application/merge-patch+json' },
    );

    // Assess
    assert.equal(response.statusCode, 200, response.body);
    assert.equal(response.headers?.etag, '"r2"');
    const body = bodyOf(response);
    assert.equal(body.changed, true);
    assert.equal(body.timeoutSeconds, 20);
    assert.equal(body.revision, 2);
    assert.deepEqual(body.overrides, { timeoutSeconds: { catalogValue: 10, at: NOW, by: OLGA } });
    const entry = {
      kind: 'configuration',
      at: NOW,
      by: OLGA,
      reason: 'inventory answers slowly after its upgrade',
      cause: 'operator',
      revision: 2,
      changes: [{ field: 'timeoutSeconds', from: 10, to: 20 }],
    };
    assert.deepEqual(body.history, [entry]);
    // What the worker reads for its next callout.
    assert.equal((await config.calloutTarget('reserve-port'))?.iface.timeoutSeconds, 20);
    // The old ETag is stale now.
    const again = await patchInterface(
      deps,
      'reserve-port',
      { timeoutSeconds: 25, reason: 'slower' },
      { 'if-match': String(etag) },
    );
    assert.equal(again.statusCode, 412);
  });

  it('lists configuration and status changes in one history, newest first', async (t) => {
    quiet(t);
    const { deps } = setup();
    const offline = await patchInterface(deps, 'reserve-port', { status: 'Offline', reason: 'migration' });
    assert.equal(offline.statusCode, 200);
    deps.now = () => new Date('2025-03-01T12:05:00.000Z');

    const changed = await patchInterface(
      deps,
      'reserve-port',
      { timeoutSeconds: 5, reason: 'fail fast' },
      { 'if-match': String(offline.headers?.etag) },
    );

    assert.equal(changed.statusCode, 200, changed.body);
    const history = bodyOf(changed).history as { reason: string }[];
    assert.deepEqual(
      history.map((h) => h.reason),
      ['fail fast', 'migration'],
    );
    assert.equal(bodyOf(changed).status, 'Offline', 'the status is left as it is');
  });

  it('answers changed: false for a patch that changes no value, and writes nothing', async () => {
    const { deps, config } = setup();

    const response = await patchInterface(
      deps,
      'reserve-port',
      { timeoutSeconds: 10, reason: 'same' },
      { 'if-match': '"r1"' },
    );

    assert.equal(response.statusCode, 200);
    assert.equal(bodyOf(response).changed, false);
    assert.equal(response.headers?.etag, '"r1"');
    assert.deepEqual(await config.history('interface', 'reserve-port', 10), []);
  });

  it('changes what an asynchronous interface waits for, and removes a setting with null', async (t) => {
    quiet(t);
    const { deps, config } = setup();

    const response = await patchInterface(
      deps,
      'activate-line',
      {
        acceptedStatuses: [200, 202],
        asyncTimeoutSeconds: 600,
        reason: 'activation answers within minutes now',
      },
      { 'if-match': '"r1"' },
    );
    const removed = await patchInterface(
      deps,
      'activate-line',
      { acceptedStatuses: null, reason: 'back to 202 only' },
      { 'if-match': '"r2"' },
    );

    assert.equal(response.statusCode, 200, response.body);
    assert.deepEqual((bodyOf(response).history as { changes: unknown[] }[])[0]?.changes, [
      { field: 'acceptedStatuses', from: null, to: [200, 202] },
      { field: 'asyncTimeoutSeconds', from: 3600, to: 600 },
    ]);
    assert.equal(removed.statusCode, 200, removed.body);
    const stored = config.interfaces.get('activate-line');
    assert.equal(stored?.acceptedStatuses, undefined);
    assert.equal(stored?.asyncTimeoutSeconds, 600);
    assert.deepEqual(
      Object.keys(stored?.overrides ?? {}),
      ['asyncTimeoutSeconds'],
      'acceptedStatuses is as the catalog has it again',
    );
  });

  it('answers 400 naming each field the catalog keeps, and each unknown one, before anything is read from If-Match', async () => {
    const { deps, config } = setup();

    const response = await patchInterface(deps, 'reserve-port', {
      reason: 'try everything',
      timeoutSeconds: 20,
      method: 'GET',
      path: '/ports/v2',
      adapter: 'async-rest',
      mappings: { request: 'other' },
      responseMapping: 'other',
      plans: ['dsl-broadband'],
    });

    assert.equal(response.statusCode, 400);
    assert.deepEqual(problemFields(response), [
      'adapter',
      'mappings',
      'method',
      'path',
      'plans',
      'responseMapping',
    ]);
    const problems = bodyOf(response).problems as { field: string; message: string }[];
    assert.match(problems.find((p) => p.field === 'path')?.message ?? '', /stays in the catalog/);
    assert.equal(config.interfaces.get('reserve-port')?.revision, 1);
  });

  it('answers 400 naming every value the catalog would refuse, and the rules of the deployed catalog', async () => {
    const { deps, config } = setup();

    const invalid = await patchInterface(
      deps,
      'reserve-port',
      { timeoutSeconds: 0, acceptedStatuses: [302], reason: 'bad values' },
      { 'if-match': '"r1"' },
    );
    const againstRules = await patchInterface(
      deps,
      'reserve-port',
      { timeoutSeconds: 31, asyncTimeoutSeconds: 60, reason: 'against the rules' },
      { 'if-match': '"r1"' },
    );
    const tooLongForItsCallback = await patchInterface(
      deps,
      'activate-line',
      { asyncTimeoutSeconds: 7200, reason: 'activation is slow' },
      { 'if-match': '"r1"' },
    );

    assert.equal(invalid.statusCode, 400);
    assert.deepEqual(problemFields(invalid), ['acceptedStatuses.0', 'timeoutSeconds']);
    assert.equal(againstRules.statusCode, 400);
    assert.deepEqual(problemFields(againstRules), ['asyncTimeoutSeconds', 'timeoutSeconds']);
    assert.match(String(bodyOf(againstRules).message), /timeoutSeconds: is at most 30 at runtime/);
    assert.equal(tooLongForItsCallback.statusCode, 400);
    assert.deepEqual(problemFields(tooLongForItsCallback), ['asyncTimeoutSeconds']);
    assert.equal(config.interfaces.get('reserve-port')?.revision, 1, 'nothing written');
  });

  it('refuses status and configuration in one request, naming the status', async () => {
    const { deps } = setup();

    const response = await patchInterface(
      deps,
      'reserve-port',
      { status: 'Offline', timeoutSeconds: 5, reason: 'both' },
      { 'if-match': '"r1"' },
    );

    assert.equal(response.statusCode, 400);
    assert.deepEqual(problemFields(response), ['status']);
  });

  it('refuses a JSON Patch by name, and takes a weak or a wildcard If-Match', async (t) => {
    quiet(t);
    const { deps } = setup();

    const jsonPatch = await patchInterface(
      deps,
      'reserve-port',
      JSON.stringify([{ op: 'replace', path: '/timeoutSeconds', value: 5 }]),
      { 'if-match': '"r1"', 'content-type': 'application/json-patch+json' },
    );
    const weak = await patchInterface(
      deps,
      'reserve-port',
      { timeoutSeconds: 5, reason: 'behind CloudFront' },
      { 'if-match': 'W/"r1"' },
    );
    const any = await patchInterface(
      deps,
      'reserve-port',
      { timeoutSeconds: 6, reason: 'whatever it is now' },
      { 'if-match': '*' },
    );

    assert.equal(jsonPatch.statusCode, 400);
    assert.deepEqual(problemFields(jsonPatch), ['content-type']);
    assert.equal(weak.statusCode, 200, weak.body);
    assert.equal(any.statusCode, 200, any.body);
    assert.equal(any.headers?.etag, '"r3"');
  });

  it('answers 412 when another change is written between its read and its write', async () => {
    // Prepare: a store whose record moves on (another operator) just before this write.
    const { deps, config } = setup();
    const racing: ConfigurationStore = Object.create(config);
    racing.reconfigureInterface = async (id, expected, next) => {
      const record = config.interfaces.get(id);
      if (record) record.revision += 1;
      return config.reconfigureInterface(id, expected, next);
    };
    deps.config = racing;

    // Act
    const response = await patchInterface(
      deps,
      'reserve-port',
      { timeoutSeconds: 5, reason: 'race' },
      { 'if-match': '"r1"' },
    );

    // Assess
    assert.equal(response.statusCode, 412);
    assert.equal(config.interfaces.get('reserve-port')?.timeoutSeconds, 10);
  });

  it('answers 404 for an unknown interface', async () => {
    const { deps } = setup();

    const response = await patchInterface(
      deps,
      'nope',
      { timeoutSeconds: 5, reason: 'x' },
      { 'if-match': '"r1"' },
    );

    assert.equal(response.statusCode, 404);
  });
});

describe('PATCH /admin/system-interfaces/{interfaceId}: status, as before, with If-Match when given', () => {
  it('takes an interface Offline without If-Match, answering the ETag', async () => {
    const { deps } = setup();

    const response = await patchInterface(deps, 'reserve-port', { status: 'Offline', reason: 'maintenance' });

    assert.equal(response.statusCode, 200);
    assert.equal(bodyOf(response).status, 'Offline');
    assert.equal(response.headers?.etag, '"r1"', 'a status is state, not configuration: the revision stays');
  });

  it('refuses a status change under a stale If-Match with 412, and changes nothing', async () => {
    const { deps, config, events } = setup();

    const stale = await patchInterface(
      deps,
      'reserve-port',
      { status: 'Offline', reason: 'x' },
      { 'if-match': '"r9"' },
    );
    const current = await patchInterface(
      deps,
      'reserve-port',
      { status: 'Offline', reason: 'x' },
      { 'if-match': '"r1"' },
    );

    assert.equal(stale.statusCode, 412);
    assert.equal(current.statusCode, 200);
    assert.equal(config.interfaces.get('reserve-port')?.status, 'Offline');
    assert.equal(events.announced.length, 1, 'only the second was made');
  });
});

describe('PATCH /admin/systems/{systemId}', () => {
  it('changes the base URL, one limit and the circuit breaker in one merge patch, each field in the history', async (t) => {
    // Prepare
    quiet(t);
    const { deps, config } = setup();
    const inventory = config.systems.get('inventory');
    assert.ok(inventory);
    inventory.limits = { maxConcurrentCallouts: 4, maxCalloutsPerSecond: 10 };

    // Act
    const response = await patchSystem(
      deps,
      'inventory',
      {
        baseUrl: 'https://inventory-dr.example.com/api',
        limits: { maxCalloutsPerSecond: null },
        circuitBreaker: { failureThreshold: 3, healthPath: '/health' },
        reason: 'failing over to the DR site',
      },
      { 'if-match': '"r1"', 'content-type': 'application/merge-patch+json' },
    );

    // Assess
    assert.equal(response.statusCode, 200, response.body);
    assert.equal(response.headers?.etag, '"r2"');
    const body = bodyOf(response);
    assert.equal(body.baseUrl, 'https://inventory-dr.example.com/api');
    assert.deepEqual(body.limits, { maxConcurrentCallouts: 4 });
    assert.deepEqual(body.circuitBreaker, {
      failureThreshold: 3,
      healthPath: '/health',
      probeIntervalSeconds: 30,
      consecutiveFailures: 0,
    });
    const [entry] = body.history as { changes: unknown[]; by: unknown; reason: string }[];
    assert.deepEqual(entry?.changes, [
      { field: 'baseUrl', from: INVENTORY_URL, to: 'https://inventory-dr.example.com/api' },
      { field: 'limits.maxCalloutsPerSecond', from: 10, to: null },
      {
        field: 'circuitBreaker',
        from: null,
        to: { failureThreshold: 3, healthPath: '/health', probeIntervalSeconds: 30 },
      },
    ]);
    assert.deepEqual(entry?.by, OLGA);
    assert.equal(entry?.reason, 'failing over to the DR site');
    assert.deepEqual(Object.keys(body.overrides as object).sort(), [
      'baseUrl',
      'circuitBreaker',
      'limits.maxCalloutsPerSecond',
    ]);
    assert.equal(config.systems.get('inventory')?.state, 'Up', 'its state is untouched');
  });

  it('removes the circuit breaker with null, and ends the override when the base URL is set back', async (t) => {
    quiet(t);
    const { deps, config } = setup();
    const moved = await patchSystem(
      deps,
      'inventory',
      {
        baseUrl: 'https://dr.example.com/',
        circuitBreaker: { failureThreshold: 2, healthPath: '/h' },
        reason: 'dr',
      },
      { 'if-match': '"r1"' },
    );
    assert.equal(moved.statusCode, 200, moved.body);

    const back = await patchSystem(
      deps,
      'inventory',
      { baseUrl: INVENTORY_URL, circuitBreaker: null, reason: 'primary site back' },
      { 'if-match': String(moved.headers?.etag) },
    );

    assert.equal(back.statusCode, 200, back.body);
    assert.equal(bodyOf(back).circuitBreaker, undefined);
    assert.deepEqual(config.systems.get('inventory')?.overrides, {});
  });

  it('answers 400 naming each bad value and each field it does not change here', async () => {
    const { deps, config } = setup();

    const values = await patchSystem(
      deps,
      'inventory',
      {
        baseUrl: 'ftp://inventory.example.com',
        limits: { maxConcurrentCallouts: 0, burst: 3 },
        circuitBreaker: { failureThreshold: 3, healthPath: 'health' },
        reason: 'bad values',
      },
      { 'if-match': '"r1"' },
    );
    const fields = await patchSystem(
      deps,
      'inventory',
      { name: 'Inventory 2', authProfile: 'other', state: 'Down', baseUrl: null },
      { 'if-match': '"r1"' },
    );
    const required = await patchSystem(
      deps,
      'inventory',
      { baseUrl: null, reason: 'no address' },
      { 'if-match': '"r1"' },
    );

    assert.equal(values.statusCode, 400);
    assert.deepEqual(problemFields(values), [
      'baseUrl',
      'circuitBreaker.healthPath',
      'limits.burst',
      'limits.maxConcurrentCallouts',
    ]);
    assert.equal(fields.statusCode, 400);
    assert.deepEqual(problemFields(fields), ['authProfile', 'name', 'reason', 'state']);
    assert.equal(required.statusCode, 400);
    assert.deepEqual(problemFields(required), ['baseUrl']);
    assert.equal(config.systems.get('inventory')?.revision, 1);
  });

  it('needs If-Match (428) and the current one (412)', async () => {
    const { deps } = setup();

    const missing = await patchSystem(deps, 'inventory', { baseUrl: 'https://x.example.com/', reason: 'x' });
    const stale = await patchSystem(
      deps,
      'inventory',
      { baseUrl: 'https://x.example.com/', reason: 'x' },
      { 'if-match': '"r2"' },
    );

    assert.equal(missing.statusCode, 428);
    assert.equal(stale.statusCode, 412);
  });

  it('answers 404 for an unknown system', async () => {
    const { deps } = setup();

    const response = await patchSystem(
      deps,
      'nope',
      { baseUrl: 'https://x.example.com/', reason: 'x' },
      { 'if-match': '"r1"' },
    );

    assert.equal(response.statusCode, 404);
  });
});
