import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DynamoDbConfigurationStore } from '../../lambdas/adapters/dynamodb-configuration-store';
import { DynamoDbRetryRuleStore } from '../../lambdas/adapters/dynamodb-retry-rule-store';
import { type RetryRule, retryRuleBodySchema } from '../../lambdas/domain/retry-rules';
import type { Actor } from '../../lambdas/domain/roles';
import { dslCatalog } from './fixtures/catalogs';
import { createConfigurationTable, inProcessDynalite } from './fixtures/dynalite';

const REGION = 'eu-west-1';
const SEEDED_AT = '2025-03-01T09:00:00.000Z';
const CREATED_AT = '2025-03-01T12:00:00.000Z';
const REPLACED_AT = '2025-03-02T08:30:00.000Z';
const OLGA: Actor = { id: 'u-op', name: 'olga' };
const OPS_BOT: Actor = { id: 'c-ops-bot', name: 'ops-bot' };

const dynamo = inProcessDynalite(REGION);

/** A fresh configuration table (the stateful stack's keys and index) with a unique name. */
const newTable = () => createConfigurationTable(dynamo.raw);

/** A rule store on a fresh table. */
async function newStore(): Promise<{ rules: DynamoDbRetryRuleStore; table: string }> {
  const table = await newTable();
  return { rules: new DynamoDbRetryRuleStore(dynamo.db, table), table };
}

/** A rule as the admin API hands it to the store: parsed by the same schema, so the defaults are filled in. */
function rule(id: string, body: Record<string, unknown> = {}): RetryRule {
  return {
    id,
    ...retryRuleBodySchema.parse({
      scope: { kind: 'all' },
      matches: { timeouts: true },
      policy: { type: 'fixed', count: 3, intervalSeconds: 60 },
      ...body,
    }),
  };
}

/** 5xx and 429 from the inventory, retried with a growing, jittered interval: numbers, strings, a fraction. */
const INVENTORY_RULE = rule('inventory-5xx', {
  description: 'The inventory is slow to recover',
  scope: { kind: 'system', systemId: 'inventory' },
  matches: { connectionErrors: true, statuses: ['5xx', 429, '400-404'] },
  policy: {
    type: 'exponential',
    firstIntervalSeconds: 30,
    factor: 1.5,
    capSeconds: 3600,
    jitter: 0.2,
    count: 5,
  },
});

describe('DynamoDbRetryRuleStore', () => {
  it('creates a rule and reads it back exactly', async () => {
    // Prepare
    const { rules } = await newStore();

    // Act
    const result = await rules.put(INVENTORY_RULE, OLGA, CREATED_AT);
    const read = await rules.get('inventory-5xx');

    // Assess
    const expected = {
      id: 'inventory-5xx',
      description: 'The inventory is slow to recover',
      scope: { kind: 'system', systemId: 'inventory' },
      matches: {
        timeouts: false,
        connectionErrors: true,
        failedAnswers: false,
        statuses: ['5xx', 429, '400-404'],
      },
      policy: {
        type: 'exponential',
        firstIntervalSeconds: 30,
        factor: 1.5,
        capSeconds: 3600,
        jitter: 0.2,
        count: 5,
      },
      honourRetryAfter: true,
      createdAt: CREATED_AT,
      updatedAt: CREATED_AT,
      updatedBy: OLGA,
    };
    assert.deepEqual(result, { created: true, rule: expected });
    assert.deepEqual(read, expected);
  });

  it('reads a rule without a description and with an empty status list as it was written', async () => {
    // Prepare
    const { rules } = await newStore();
    const plain = rule('timeouts', { policy: { type: 'none' } });

    // Act
    await rules.put(plain, OLGA, CREATED_AT);

    // Assess
    assert.deepEqual(await rules.get('timeouts'), {
      id: 'timeouts',
      scope: { kind: 'all' },
      matches: { timeouts: true, connectionErrors: false, failedAnswers: false, statuses: [] },
      policy: { type: 'none' },
      honourRetryAfter: true,
      createdAt: CREATED_AT,
      updatedAt: CREATED_AT,
      updatedBy: OLGA,
    });
  });

  it('replaces a rule: not created, createdAt kept, the rest the new rule, its writer and time', async () => {
    // Prepare
    const { rules } = await newStore();
    await rules.put(INVENTORY_RULE, OLGA, CREATED_AT);
    const replacement = rule('inventory-5xx', {
      scope: { kind: 'interface', interfaceId: 'reserve-port' },
      matches: { statuses: [503] },
      policy: { type: 'staggered', intervalsSeconds: [10, 3600, 86400] },
      honourRetryAfter: false,
    });

    // Act
    const result = await rules.put(replacement, OPS_BOT, REPLACED_AT);

    // Assess
    const expected = {
      id: 'inventory-5xx',
      scope: { kind: 'interface', interfaceId: 'reserve-port' },
      matches: { timeouts: false, connectionErrors: false, failedAnswers: false, statuses: [503] },
      policy: { type: 'staggered', intervalsSeconds: [10, 3600, 86400] },
      honourRetryAfter: false,
      createdAt: CREATED_AT,
      updatedAt: REPLACED_AT,
      updatedBy: OPS_BOT,
    };
    assert.deepEqual(result, { created: false, rule: expected });
    assert.deepEqual(await rules.get('inventory-5xx'), expected, 'the old description is gone');
    assert.deepEqual(await rules.list(), [expected], 'still one rule');
  });

  it('lists nothing on an empty table', async () => {
    // Prepare
    const { rules } = await newStore();

    // Act
    const listed = await rules.list();

    // Assess
    assert.deepEqual(listed, []);
  });

  it('lists every rule sorted by id, character by character (a-10 before a-2)', async () => {
    // Prepare
    const { rules } = await newStore();
    const ids = ['zeta', 'a-2', 'alpha', 'a-10', 'a', 'a-1', 'b9', 'b10'];
    const written = new Map<string, unknown>();
    for (const [i, id] of ids.entries()) {
      const at = new Date(Date.parse(CREATED_AT) + i * 1000).toISOString();
      written.set(id, (await rules.put(rule(id, { description: `rule ${id}` }), OLGA, at)).rule);
    }

    // Act
    const listed = await rules.list();

    // Assess
    const sorted = ['a', 'a-1', 'a-10', 'a-2', 'alpha', 'b10', 'b9', 'zeta'];
    assert.deepEqual(
      listed.map((r) => r.id),
      sorted,
    );
    assert.deepEqual(
      listed,
      sorted.map((id) => written.get(id)),
    );
  });

  it('removes a rule and answers with what it was; then it is neither read nor listed', async () => {
    // Prepare
    const { rules } = await newStore();
    const { rule: stored } = await rules.put(INVENTORY_RULE, OLGA, CREATED_AT);
    const { rule: other } = await rules.put(rule('timeouts'), OLGA, CREATED_AT);

    // Act
    const removed = await rules.remove('inventory-5xx');

    // Assess
    assert.deepEqual(removed, stored);
    assert.equal(await rules.get('inventory-5xx'), undefined);
    assert.deepEqual(await rules.list(), [other]);
  });

  it('answers undefined when asked to remove a rule that does not exist', async () => {
    // Prepare
    const { rules } = await newStore();
    await rules.put(rule('timeouts'), OLGA, CREATED_AT);

    // Act
    const removed = await rules.remove('no-such-rule');

    // Assess
    assert.equal(removed, undefined);
    assert.deepEqual(
      (await rules.list()).map((r) => r.id),
      ['timeouts'],
    );
  });

  it('answers undefined for a rule that does not exist', async () => {
    // Prepare
    const { rules } = await newStore();

    // Act
    const read = await rules.get('no-such-rule');

    // Assess
    assert.equal(read, undefined);
  });

  it('keeps rules apart from the systems and interfaces in the same table, and a seed leaves them alone', async () => {
    // Prepare
    const { rules, table } = await newStore();
    const config = new DynamoDbConfigurationStore(dynamo.db, table);
    const catalog = dslCatalog();
    await config.seed(Object.values(catalog.systems), Object.values(catalog.interfaces), SEEDED_AT);
    // Rule ids that are also a system's and an interface's id.
    const { rule: inventory } = await rules.put(rule('inventory'), OLGA, CREATED_AT);
    const { rule: reservePort } = await rules.put(rule('reserve-port'), OLGA, CREATED_AT);

    // Act
    const systems = await config.listSystems();
    const inventoryInterfaces = await config.interfacesOf('inventory');
    const listed = await rules.list();
    const reseed = await config.seed([], [], SEEDED_AT);

    // Assess
    assert.deepEqual(
      systems.map((s) => s.id),
      ['activation', 'inventory'],
    );
    assert.equal(systems[1]?.name, 'Network inventory', 'the system record is the system, not the rule');
    assert.deepEqual(
      inventoryInterfaces.map((i) => i.id),
      ['port-status', 'reserve-port'],
    );
    assert.deepEqual(listed, [inventory, reservePort]);
    assert.deepEqual(reseed.removed, [
      'interface activate-line',
      'interface port-status',
      'interface reserve-port',
      'system activation',
      'system inventory',
    ]);
    assert.deepEqual(await config.listSystems(), []);
    assert.deepEqual(await rules.list(), [inventory, reservePort], 'a seed removes systems, never rules');
  });
});
