import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { type AdminApiDeps, handleAdminApi as handleUnchecked } from '../../lambdas/admin-api/handler';
import { DEFAULT_RETRY_RULE } from '../../lambdas/domain/retry-rules';
import { checkedAgainstContract } from '../support/checked-handler';
import { dslCatalog } from './fixtures/catalogs';
import { InMemoryConfigurationStore, InMemoryRetryRuleStore } from './fixtures/configuration';
import {
  RecordingAvailabilityEvents,
  RecordingMaintenanceScheduler,
  RecordingTelemetry,
  RecordingWorkQueue,
} from './fixtures/fake-ports';
import { InMemoryListenerStore } from './fixtures/in-memory-listener-store';
import { InMemoryOrderStore } from './fixtures/in-memory-order-store';

/** Every answer of the admin API in these tests is checked against the API's document. */
const handleAdminApi = checkedAgainstContract(handleUnchecked);

const OPERATOR = { sub: 'u-op', username: 'olga', 'cognito:groups': '[operators]' };
const OTHER_OPERATOR = { sub: 'c-ops-bot', client_id: 'ops-bot', scope: 'switchboard/operate' };
const SUBMITTER = { sub: 'c-crm', client_id: 'order-capture', scope: 'switchboard/submit' };

/** When the admin API's clock says it is, unless a test moves it. */
const NOW = '2025-03-01T12:00:00.000Z';
const LATER = '2025-03-02T08:30:00.000Z';

/**
 * The admin API around the DSL catalog (systems inventory and activation; interfaces reserve-port,
 * activate-line, port-status), with an empty retry rule store and a clock a test moves by setting `clock.at`.
 */
function setup() {
  const catalog = dslCatalog();
  const rules = new InMemoryRetryRuleStore();
  const clock = { at: NOW };
  const deps: AdminApiDeps = {
    config: InMemoryConfigurationStore.seededFrom(catalog),
    catalog,
    deadLetters: { counts: async () => [], redrivable: [], redrive: async () => 0 },
    listeners: new InMemoryListenerStore(),
    watch: { inJeopardy: async () => [] },
    store: new InMemoryOrderStore(),
    queue: new RecordingWorkQueue(),
    events: new RecordingAvailabilityEvents(),
    scheduler: new RecordingMaintenanceScheduler(),
    rules,
    now: () => new Date(clock.at),
    telemetry: new RecordingTelemetry(),
  };
  return { deps, rules, clock };
}

/** An HTTP API (payload 2.0) request as the API's JWT authorizer passes it on; a string body is sent as is. */
function request(
  routeKey: string,
  pathParameters: Record<string, string>,
  claims: Record<string, unknown>,
  body?: unknown,
): APIGatewayProxyEventV2 {
  const [method = 'GET', route = ''] = routeKey.split(' ');
  const path = Object.entries(pathParameters).reduce(
    (p, [name, value]) => p.replace(`{${name}}`, value),
    route,
  );
  const hasBody = body !== undefined;
  return {
    version: '2.0',
    routeKey,
    rawPath: path,
    rawQueryString: '',
    headers: hasBody ? { 'content-type': 'application/json' } : {},
    pathParameters,
    ...(hasBody ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    isBase64Encoded: false,
    requestContext: {
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'test' },
      routeKey,
      authorizer: { jwt: { claims, scopes: null } },
    },
  } as unknown as APIGatewayProxyEventV2;
}

/** The retry rule routes, called as `claims` (the operator olga unless given). */
const putRule = (
  deps: AdminApiDeps,
  ruleId: string,
  body: unknown,
  claims: Record<string, unknown> = OPERATOR,
) => handleAdminApi(deps, request('PUT /admin/retry-rules/{ruleId}', { ruleId }, claims, body));
const getRule = (deps: AdminApiDeps, ruleId: string, claims: Record<string, unknown> = OPERATOR) =>
  handleAdminApi(deps, request('GET /admin/retry-rules/{ruleId}', { ruleId }, claims));
const deleteRule = (deps: AdminApiDeps, ruleId: string, claims: Record<string, unknown> = OPERATOR) =>
  handleAdminApi(deps, request('DELETE /admin/retry-rules/{ruleId}', { ruleId }, claims));
const listRules = (deps: AdminApiDeps, claims: Record<string, unknown> = OPERATOR) =>
  handleAdminApi(deps, request('GET /admin/retry-rules', {}, claims));

function bodyOf(response: APIGatewayProxyStructuredResultV2): Record<string, unknown> {
  assert.equal(response.headers?.['content-type'], 'application/json');
  return JSON.parse(String(response.body));
}

/** 5xx and 429 from the inventory, retried with a growing interval. */
const INVENTORY_RULE = {
  description: 'The inventory is slow to recover',
  scope: { kind: 'system', systemId: 'inventory' },
  matches: { statuses: ['5xx', 429] },
  policy: { type: 'exponential', firstIntervalSeconds: 30, factor: 2, capSeconds: 3600, count: 5 },
};

/** INVENTORY_RULE as the API keeps it: every default filled in, written by olga at NOW. */
const INVENTORY_RECORD = {
  id: 'inventory-5xx',
  description: 'The inventory is slow to recover',
  scope: { kind: 'system', systemId: 'inventory' },
  matches: { timeouts: false, connectionErrors: false, failedAnswers: false, statuses: ['5xx', 429] },
  policy: { type: 'exponential', firstIntervalSeconds: 30, factor: 2, capSeconds: 3600, jitter: 0, count: 5 },
  honourRetryAfter: true,
  createdAt: NOW,
  updatedAt: NOW,
  updatedBy: { id: 'u-op', name: 'olga' },
};

/** A minimal valid rule: timeouts everywhere, retried three times a minute apart. */
const TIMEOUT_RULE = {
  scope: { kind: 'all' },
  matches: { timeouts: true },
  policy: { type: 'fixed', count: 3, intervalSeconds: 60 },
};

describe('handleAdminApi: PUT /admin/retry-rules/{ruleId}', () => {
  it('creates a rule: 201 with its location, the defaults filled in, and who wrote it when', async () => {
    // Prepare
    const { deps, rules } = setup();

    // Act
    const response = await putRule(deps, 'inventory-5xx', INVENTORY_RULE);

    // Assess
    assert.equal(response.statusCode, 201);
    assert.deepEqual(response.headers, {
      'content-type': 'application/json',
      location: '/admin/retry-rules/inventory-5xx',
    });
    assert.deepEqual(bodyOf(response), INVENTORY_RECORD);
    assert.deepEqual(await rules.list(), [INVENTORY_RECORD]);
  });

  it('replaces a rule: 200 without a location, createdAt kept, updatedAt and updatedBy the new writer', async () => {
    // Prepare
    const { deps, clock } = setup();
    await putRule(deps, 'inventory-5xx', INVENTORY_RULE);
    clock.at = LATER;

    // Act
    const response = await putRule(
      deps,
      'inventory-5xx',
      {
        scope: { kind: 'interface', interfaceId: 'reserve-port' },
        matches: { connectionErrors: true, statuses: ['500-504'] },
        policy: { type: 'staggered', intervalsSeconds: [10, 3600, 86400] },
        honourRetryAfter: false,
      },
      OTHER_OPERATOR,
    );

    // Assess
    const replaced = {
      id: 'inventory-5xx',
      scope: { kind: 'interface', interfaceId: 'reserve-port' },
      matches: { timeouts: false, connectionErrors: true, failedAnswers: false, statuses: ['500-504'] },
      policy: { type: 'staggered', intervalsSeconds: [10, 3600, 86400] },
      honourRetryAfter: false,
      createdAt: NOW,
      updatedAt: LATER,
      updatedBy: { id: 'c-ops-bot', name: 'ops-bot' },
    };
    assert.equal(response.statusCode, 200);
    assert.deepEqual(response.headers, { 'content-type': 'application/json' });
    assert.deepEqual(bodyOf(response), replaced, 'the old description is gone with the rest of the old rule');
    assert.deepEqual(bodyOf(await getRule(deps, 'inventory-5xx')), replaced);
  });

  it('keeps every policy type as it was sent, with the exponential jitter defaulting to 0', async () => {
    // Prepare
    const { deps } = setup();
    const policies = {
      none: { type: 'none' },
      fixed: { type: 'fixed', count: 1, intervalSeconds: 1 },
      staggered: { type: 'staggered', intervalsSeconds: [10, 3600, 86400] },
      exponential: {
        type: 'exponential',
        firstIntervalSeconds: 5,
        factor: 1.5,
        capSeconds: 600,
        jitter: 0.25,
        count: 8,
      },
      forever: { type: 'forever', intervalSeconds: 31_536_000 },
    };

    // Act
    const kept: Record<string, unknown> = {};
    for (const [id, policy] of Object.entries(policies)) {
      const response = await putRule(deps, id, { ...TIMEOUT_RULE, policy });
      assert.equal(response.statusCode, 201, id);
      kept[id] = bodyOf(response).policy;
    }

    // Assess
    assert.deepEqual(kept, policies);
  });
});

describe('handleAdminApi: GET /admin/retry-rules and /admin/retry-rules/{ruleId}', () => {
  it('gets one rule as it was stored', async () => {
    // Prepare
    const { deps } = setup();
    await putRule(deps, 'inventory-5xx', INVENTORY_RULE);

    // Act
    const response = await getRule(deps, 'inventory-5xx');

    // Assess
    assert.equal(response.statusCode, 200);
    assert.deepEqual(bodyOf(response), INVENTORY_RECORD);
  });

  it('answers 404 for a rule that does not exist', async () => {
    // Prepare
    const { deps } = setup();

    // Act
    const response = await getRule(deps, 'no-such-rule');

    // Assess
    assert.equal(response.statusCode, 404);
    assert.equal(bodyOf(response).message, 'no retry rule with id "no-such-rule"');
  });

  it('lists the rules sorted by id, with the default rule beside them and their count', async () => {
    // Prepare
    const { deps } = setup();
    const written: Record<string, unknown> = {};
    for (const id of ['zeta', 'a-2', 'alpha', 'a-10']) {
      written[id] = bodyOf(await putRule(deps, id, { ...TIMEOUT_RULE, description: id }));
    }

    // Act
    const response = await listRules(deps);

    // Assess
    assert.equal(response.statusCode, 200);
    assert.equal(response.headers?.['x-result-count'], '4');
    assert.deepEqual(bodyOf(response), {
      rules: [written['a-10'], written['a-2'], written.alpha, written.zeta],
      defaultRule: DEFAULT_RETRY_RULE,
    });
  });

  it('lists no rules but still the default rule when the operators have written none', async () => {
    // Prepare
    const { deps } = setup();

    // Act
    const response = await listRules(deps);

    // Assess
    assert.equal(response.statusCode, 200);
    assert.equal(response.headers?.['x-result-count'], '0');
    assert.deepEqual(bodyOf(response), { rules: [], defaultRule: DEFAULT_RETRY_RULE });
  });
});

describe('handleAdminApi: DELETE /admin/retry-rules/{ruleId}', () => {
  it('deletes a rule and answers with what it was; afterwards it is not found, nor deleted again', async () => {
    // Prepare
    const { deps, rules } = setup();
    await putRule(deps, 'inventory-5xx', INVENTORY_RULE);
    await putRule(deps, 'timeouts', TIMEOUT_RULE);

    // Act
    const deleted = await deleteRule(deps, 'inventory-5xx');
    const gotAfter = await getRule(deps, 'inventory-5xx');
    const deletedAgain = await deleteRule(deps, 'inventory-5xx');

    // Assess
    assert.equal(deleted.statusCode, 200);
    assert.deepEqual(bodyOf(deleted), { ...INVENTORY_RECORD, deleted: true });
    assert.equal(gotAfter.statusCode, 404);
    assert.equal(deletedAgain.statusCode, 404);
    assert.equal(bodyOf(deletedAgain).message, 'no retry rule with id "inventory-5xx"');
    assert.deepEqual(
      (await rules.list()).map((rule) => rule.id),
      ['timeouts'],
      'the other rule stays',
    );
  });
});

/** A refused PUT: the rule id in the path, what was sent, and the problems the answer must name. */
interface Refusal {
  name: string;
  ruleId?: string;
  body: unknown;
  problems: { field: string; message: string | RegExp }[];
}

const REFUSALS: Refusal[] = [
  {
    name: 'a fixed policy with no retries',
    body: { ...TIMEOUT_RULE, policy: { type: 'fixed', count: 0, intervalSeconds: 60 } },
    problems: [{ field: 'policy.count', message: 'Too small: expected number to be >=1' }],
  },
  {
    name: 'a staggered policy without intervals',
    body: { ...TIMEOUT_RULE, policy: { type: 'staggered', intervalsSeconds: [] } },
    problems: [{ field: 'policy.intervalsSeconds', message: 'Too small: expected array to have >=1 items' }],
  },
  {
    name: 'an exponential policy whose intervals shrink',
    body: {
      ...TIMEOUT_RULE,
      policy: { type: 'exponential', firstIntervalSeconds: 10, factor: 0.5, capSeconds: 60, count: 3 },
    },
    problems: [{ field: 'policy.factor', message: 'Too small: expected number to be >=1' }],
  },
  {
    name: 'a policy of an unknown type',
    body: { ...TIMEOUT_RULE, policy: { type: 'sometimes', intervalSeconds: 60 } },
    problems: [{ field: 'policy.type', message: /^Invalid discriminator value/ }],
  },
  {
    name: 'a status range whose start is after its end',
    body: { ...TIMEOUT_RULE, matches: { statuses: [503, '599-500'] } },
    problems: [{ field: 'matches.statuses.1', message: 'is a range whose start is after its end' }],
  },
  {
    name: 'a status range outside HTTP',
    body: { ...TIMEOUT_RULE, matches: { statuses: ['600-699'] } },
    problems: [{ field: 'matches.statuses.0', message: 'is not a status range such as "500-599" or "5xx"' }],
  },
  {
    name: 'matches that match nothing',
    body: { ...TIMEOUT_RULE, matches: { timeouts: false, statuses: [] } },
    problems: [
      {
        field: 'matches',
        message: 'matches nothing: name timeouts, connectionErrors, failedAnswers or statuses',
      },
    ],
  },
  {
    name: 'an unknown field',
    body: { ...TIMEOUT_RULE, priority: 1 },
    problems: [{ field: 'priority', message: 'is not a known field' }],
  },
  {
    name: 'a scope naming a system that is not configured',
    body: { ...TIMEOUT_RULE, scope: { kind: 'system', systemId: 'billing' } },
    problems: [{ field: 'scope.systemId', message: 'no system "billing" is configured' }],
  },
  {
    name: 'a scope naming an interface that is not configured',
    body: { ...TIMEOUT_RULE, scope: { kind: 'interface', interfaceId: 'cancel-port' } },
    problems: [{ field: 'scope.interfaceId', message: 'no system interface "cancel-port" is configured' }],
  },
  {
    name: 'the built-in rule id',
    ruleId: 'default',
    body: TIMEOUT_RULE,
    problems: [{ field: 'ruleId', message: '"default" is the built-in rule\'s id; give the rule another' }],
  },
  {
    name: 'an invalid rule id in the path',
    ruleId: '-no spaces!',
    body: TIMEOUT_RULE,
    problems: [
      { field: 'ruleId', message: 'is not a valid id (letters, digits, ".", "_" and "-", at most 200)' },
    ],
  },
  {
    name: 'a body that is not JSON',
    body: '{"scope": {"kind": "all"},',
    problems: [{ field: '', message: /^the body is not valid JSON: / }],
  },
];

describe('handleAdminApi: PUT /admin/retry-rules/{ruleId} refuses a bad rule', () => {
  for (const refusal of REFUSALS) {
    it(`refuses ${refusal.name} with 400 naming the field, and stores nothing`, async () => {
      // Prepare
      const { deps, rules } = setup();

      // Act
      const response = await putRule(deps, refusal.ruleId ?? 'my-rule', refusal.body);

      // Assess
      assert.equal(response.statusCode, 400);
      const body = bodyOf(response);
      assert.equal(body.code, '400');
      const problems = body.problems as { field: string; message: string }[];
      assert.equal(problems.length, refusal.problems.length, JSON.stringify(problems));
      refusal.problems.forEach((expected, i) => {
        assert.equal(problems[i]?.field, expected.field);
        if (typeof expected.message === 'string') assert.equal(problems[i]?.message, expected.message);
        else assert.match(String(problems[i]?.message), expected.message);
      });
      assert.equal(rules.rules.size, 0);
      assert.deepEqual(bodyOf(await listRules(deps)).rules, []);
    });
  }

  it('leaves the rule it would have replaced as it was', async () => {
    // Prepare
    const { deps, clock } = setup();
    await putRule(deps, 'inventory-5xx', INVENTORY_RULE);
    clock.at = LATER;

    // Act
    const response = await putRule(deps, 'inventory-5xx', { ...INVENTORY_RULE, matches: {} }, OTHER_OPERATOR);

    // Assess
    assert.equal(response.statusCode, 400);
    assert.deepEqual(bodyOf(await getRule(deps, 'inventory-5xx')), INVENTORY_RECORD);
  });
});

describe('handleAdminApi: retry rules are for operators only', () => {
  const routes: [string, (deps: AdminApiDeps) => Promise<APIGatewayProxyStructuredResultV2>][] = [
    ['GET /admin/retry-rules', (deps) => listRules(deps, SUBMITTER)],
    ['GET /admin/retry-rules/{ruleId}', (deps) => getRule(deps, 'inventory-5xx', SUBMITTER)],
    [
      'PUT /admin/retry-rules/{ruleId}',
      (deps) => putRule(deps, 'inventory-5xx', { ...INVENTORY_RULE, description: 'taken over' }, SUBMITTER),
    ],
    ['DELETE /admin/retry-rules/{ruleId}', (deps) => deleteRule(deps, 'inventory-5xx', SUBMITTER)],
  ];
  for (const [route, call] of routes) {
    it(`refuses a submitter ${route} with 403 and changes nothing`, async () => {
      // Prepare
      const { deps, rules } = setup();
      await putRule(deps, 'inventory-5xx', INVENTORY_RULE);

      // Act
      const response = await call(deps);

      // Assess
      assert.equal(response.statusCode, 403);
      assert.equal(bodyOf(response).message, 'this needs the operator role');
      assert.deepEqual(await rules.list(), [INVENTORY_RECORD]);
    });
  }
});
