import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoDbCalloutLimits } from '../../lambdas/adapters/dynamodb-callout-limits';
import { DynamoDbConfigurationStore } from '../../lambdas/adapters/dynamodb-configuration-store';
import type { FulfilmentSystem, SystemInterface } from '../../lambdas/domain/catalog';
import type { SlotLease } from '../../lambdas/ports/callout-limits';
import { CONFIGURATION_BY_KIND } from '../../lambdas/shared/configuration-table';
import { dslCatalog } from './fixtures/catalogs';

const REGION = 'eu-west-1';
const SEEDED_AT = '2025-03-01T09:00:00.000Z';
const RESEEDED_AT = '2025-03-02T09:00:00.000Z';
const NOW = new Date('2025-03-01T10:00:00.000Z');
const at = (ms: number) => new Date(NOW.getTime() + ms);

interface Dynalite {
  listen(port: number, host: string, cb: (err?: Error) => void): void;
  address(): AddressInfo;
  close(cb: () => void): void;
}

// dynalite in this process, its data in memory: a real DynamoDB API (conditions, expressions, indexes)
// without Java or a network.
let server: Dynalite;
let raw: DynamoDBClient;
let db: DynamoDBDocumentClient;

before(async () => {
  const dynalite = createRequire(import.meta.url)('dynalite') as (o: { createTableMs: number }) => Dynalite;
  server = dynalite({ createTableMs: 0 });
  await new Promise<void>((resolve, reject) =>
    server.listen(0, '127.0.0.1', (err) => (err ? reject(err) : resolve())),
  );
  raw = new DynamoDBClient({
    endpoint: `http://127.0.0.1:${server.address().port}`,
    region: REGION,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  // As lambdas/shared/aws-clients.ts builds it.
  db = DynamoDBDocumentClient.from(raw, {
    marshallOptions: { removeUndefinedValues: true, convertEmptyValues: false },
  });
});

after(async () => {
  raw?.destroy();
  if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** A fresh configuration table (the stateful stack's keys and index) with a unique name. */
async function newTable(): Promise<string> {
  const name = `configuration-${randomUUID()}`;
  await raw.send(
    new CreateTableCommand({
      TableName: name,
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
        { AttributeName: 'listKind', AttributeType: 'S' },
        { AttributeName: 'listSort', AttributeType: 'S' },
      ],
      GlobalSecondaryIndexes: [
        {
          IndexName: CONFIGURATION_BY_KIND,
          KeySchema: [
            { AttributeName: 'listKind', KeyType: 'HASH' },
            { AttributeName: 'listSort', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
    }),
  );
  // dynalite creates the table on a timer, even with createTableMs 0.
  for (let i = 0; i < 100; i++) {
    const { Table } = await raw.send(new DescribeTableCommand({ TableName: name }));
    if (Table?.TableStatus === 'ACTIVE') return name;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.fail(`table ${name} did not become active`);
}

/** The DSL catalog's systems and interfaces; activation has limits and an auth profile, one interface starts Offline. */
function definitions(): { systems: FulfilmentSystem[]; interfaces: SystemInterface[] } {
  const catalog = dslCatalog();
  const activation = catalog.systems.activation;
  const portStatus = catalog.interfaces['port-status'];
  assert.ok(activation && portStatus);
  activation.limits = { maxConcurrentCallouts: 4, maxCalloutsPerSecond: 2.5 };
  activation.authProfile = 'activation-oauth';
  portStatus.status = 'Offline';
  return { systems: Object.values(catalog.systems), interfaces: Object.values(catalog.interfaces) };
}

const byId = <T extends { id: string }>(list: T[], id: string): T => {
  const found = list.find((entry) => entry.id === id);
  assert.ok(found, id);
  return found;
};

describe('DynamoDbConfigurationStore', () => {
  it('seeds systems and interfaces and reads them back whole, with their initial state', async () => {
    // Prepare
    const config = new DynamoDbConfigurationStore(db, await newTable());
    const { systems, interfaces } = definitions();

    // Act
    const result = await config.seed(systems, interfaces, SEEDED_AT);

    // Assess
    assert.deepEqual(result, { systems: 2, interfaces: 3, removed: [] });
    const stamps = { seededAt: SEEDED_AT, updatedAt: SEEDED_AT };
    assert.deepEqual(await config.listSystems(), [
      { ...byId(systems, 'activation'), state: 'Up', ...stamps },
      { ...byId(systems, 'inventory'), state: 'Up', ...stamps },
    ]);
    assert.deepEqual(await config.getSystem('activation'), {
      id: 'activation',
      name: 'Activation',
      baseUrl: 'http://activation.test:4102/',
      authProfile: 'activation-oauth',
      limits: { maxConcurrentCallouts: 4, maxCalloutsPerSecond: 2.5 },
      state: 'Up',
      ...stamps,
    });
    assert.deepEqual(
      (await config.interfacesOf('inventory')).map((i) => [i.id, i.status]),
      [
        ['port-status', 'Offline'],
        ['reserve-port', 'Online'],
      ],
    );
    assert.deepEqual(await config.getInterface('reserve-port'), {
      ...byId(interfaces, 'reserve-port'),
      status: 'Online',
      ...stamps,
    });
    assert.deepEqual(await config.calloutTarget('activate-line'), {
      system: await config.getSystem('activation'),
      iface: await config.getInterface('activate-line'),
    });
  });

  it('answers undefined or nothing for what is not there', async () => {
    // Prepare: an interface whose system was never seeded.
    const config = new DynamoDbConfigurationStore(db, await newTable());
    const { interfaces } = definitions();
    await config.seed([], [byId(interfaces, 'reserve-port')], SEEDED_AT);

    // Act + Assess
    assert.equal(await config.getSystem('inventory'), undefined);
    assert.equal(await config.getInterface('no-such-interface'), undefined);
    assert.deepEqual(await config.interfacesOf('no-such-system'), []);
    assert.deepEqual(await config.listSystems(), []);
    assert.equal(await config.calloutTarget('no-such-interface'), undefined);
    assert.equal(await config.calloutTarget('reserve-port'), undefined, 'its system is missing');
  });

  it('replaces definitions on a second seed but keeps the state and status an operator set meanwhile', async () => {
    // Prepare
    const tableName = await newTable();
    const config = new DynamoDbConfigurationStore(db, tableName);
    const { systems, interfaces } = definitions();
    await config.seed(systems, interfaces, SEEDED_AT);
    const operatorAt = '2025-03-01T12:00:00.000Z';
    await db.send(
      new UpdateCommand({
        TableName: tableName,
        Key: { pk: 'SYSTEM#inventory', sk: 'SYSTEM' },
        UpdateExpression: 'SET #state = :down, updatedAt = :at',
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: { ':down': 'Down', ':at': operatorAt },
      }),
    );
    await db.send(
      new UpdateCommand({
        TableName: tableName,
        Key: { pk: 'INTERFACE#reserve-port', sk: 'INTERFACE' },
        UpdateExpression: 'SET #status = :offline, updatedAt = :at',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':offline': 'Offline', ':at': operatorAt },
      }),
    );
    const changed = structuredClone(systems);
    byId(changed, 'inventory').baseUrl = 'https://inventory.example.com/v2';
    const changedInterfaces = structuredClone(interfaces);
    byId(changedInterfaces, 'reserve-port').timeoutSeconds = 20;
    byId(changedInterfaces, 'port-status').status = 'Online';

    // Act
    const result = await config.seed(changed, changedInterfaces, RESEEDED_AT);

    // Assess
    assert.deepEqual(result.removed, []);
    const inventory = await config.getSystem('inventory');
    assert.equal(inventory?.baseUrl, 'https://inventory.example.com/v2');
    assert.equal(inventory?.state, 'Down', 'the operator took it down; a deploy does not bring it up');
    assert.equal(inventory?.seededAt, RESEEDED_AT);
    assert.equal(inventory?.updatedAt, operatorAt);
    const reserve = await config.getInterface('reserve-port');
    assert.equal(reserve?.timeoutSeconds, 20);
    assert.equal(reserve?.status, 'Offline');
    assert.equal(reserve?.updatedAt, operatorAt);
    assert.equal(
      (await config.getInterface('port-status'))?.status,
      'Offline',
      'the status it was first seeded with is state too: a new initial status does not replace it',
    );
    const activation = await config.getSystem('activation');
    assert.equal(activation?.state, 'Up');
    assert.equal(activation?.updatedAt, SEEDED_AT);
    assert.equal(activation?.seededAt, RESEEDED_AT);
    assert.equal(
      (await config.calloutTarget('reserve-port'))?.system.baseUrl,
      'https://inventory.example.com/v2',
    );
  });

  it('drops a field the new definition no longer has', async () => {
    // Prepare
    const config = new DynamoDbConfigurationStore(db, await newTable());
    const { systems, interfaces } = definitions();
    await config.seed(systems, interfaces, SEEDED_AT);
    const changed = structuredClone(systems);
    delete byId(changed, 'activation').authProfile;
    byId(changed, 'activation').limits = {};

    // Act
    await config.seed(changed, interfaces, RESEEDED_AT);

    // Assess
    const activation = await config.getSystem('activation');
    assert.equal(activation && 'authProfile' in activation, false);
    assert.deepEqual(activation?.limits, {});
  });

  it('deletes and reports the systems and interfaces the catalog no longer has', async () => {
    // Prepare
    const config = new DynamoDbConfigurationStore(db, await newTable());
    const { systems, interfaces } = definitions();
    await config.seed(systems, interfaces, SEEDED_AT);

    // Act: activation and its interface are gone, and so is inventory's port-status.
    const result = await config.seed(
      [byId(systems, 'inventory')],
      [byId(interfaces, 'reserve-port')],
      RESEEDED_AT,
    );

    // Assess
    assert.deepEqual(result, {
      systems: 1,
      interfaces: 1,
      removed: ['interface activate-line', 'interface port-status', 'system activation'],
    });
    assert.deepEqual(
      (await config.listSystems()).map((s) => s.id),
      ['inventory'],
    );
    assert.equal(await config.getSystem('activation'), undefined);
    assert.equal(await config.getInterface('activate-line'), undefined);
    assert.equal(await config.getInterface('port-status'), undefined);
    assert.deepEqual(await config.interfacesOf('activation'), []);
    assert.deepEqual(
      (await config.interfacesOf('inventory')).map((i) => i.id),
      ['reserve-port'],
    );
  });

  it('moves an interface to another system without removing it', async () => {
    // Prepare
    const config = new DynamoDbConfigurationStore(db, await newTable());
    const { systems, interfaces } = definitions();
    await config.seed(systems, interfaces, SEEDED_AT);
    const moved = structuredClone(interfaces);
    byId(moved, 'port-status').system = 'activation';

    // Act
    const result = await config.seed(systems, moved, RESEEDED_AT);

    // Assess
    assert.deepEqual(result.removed, []);
    assert.deepEqual(
      (await config.interfacesOf('inventory')).map((i) => i.id),
      ['reserve-port'],
    );
    assert.deepEqual(
      (await config.interfacesOf('activation')).map((i) => i.id),
      ['activate-line', 'port-status'],
    );
    assert.equal((await config.calloutTarget('port-status'))?.system.id, 'activation');
  });

  it('lists more systems than fit in one page of the index', async () => {
    // Prepare: definitions of about 3 KB each, so that a 1 MB query page cannot hold all 400.
    const config = new DynamoDbConfigurationStore(db, await newTable());
    const padding = 'x'.repeat(3000);
    const many: FulfilmentSystem[] = Array.from({ length: 400 }, (_, i) => ({
      id: `system-${String(i).padStart(3, '0')}`,
      name: `System ${i} ${padding}`,
      baseUrl: 'http://system.test/',
      limits: {},
    }));

    // Act
    await config.seed(many, [], SEEDED_AT);

    // Assess
    const listed = await config.listSystems();
    assert.equal(listed.length, 400);
    assert.deepEqual(
      listed.map((s) => s.id),
      many.map((s) => s.id),
    );
  });
});

describe('DynamoDbCalloutLimits: connection slots', () => {
  const LEASE_END = at(60_000);

  it('gives at most max leases to concurrent acquirers, each a different slot', async () => {
    // Prepare
    const limits = new DynamoDbCalloutLimits(db, await newTable());

    // Act: twenty workers ask at once for one of three slots.
    const leases = await Promise.all(
      Array.from({ length: 20 }, (_, i) => limits.acquireSlot('inventory', 3, `holder-${i}`, NOW, LEASE_END)),
    );

    // Assess
    const granted = leases.filter((lease): lease is SlotLease => lease !== undefined);
    assert.equal(granted.length, 3);
    assert.deepEqual(granted.map((l) => l.slot).sort(), [0, 1, 2]);
    assert.equal(new Set(granted.map((l) => l.holder)).size, 3);
    for (const lease of granted) assert.equal(lease.systemId, 'inventory');
    assert.equal(await limits.acquireSlot('inventory', 3, 'late', NOW, LEASE_END), undefined);
    assert.ok(
      await limits.acquireSlot('activation', 3, 'other-system', NOW, LEASE_END),
      'another system has slots of its own',
    );
  });

  it('frees exactly one slot on release, for the next acquirer', async () => {
    // Prepare
    const limits = new DynamoDbCalloutLimits(db, await newTable());
    const first = await limits.acquireSlot('inventory', 2, 'holder-1', NOW, LEASE_END);
    const second = await limits.acquireSlot('inventory', 2, 'holder-2', NOW, LEASE_END);
    assert.ok(first && second);

    // Act
    await limits.releaseSlot(first);

    // Assess
    const next = await limits.acquireSlot('inventory', 2, 'holder-3', NOW, LEASE_END);
    assert.deepEqual(next, { systemId: 'inventory', slot: first.slot, holder: 'holder-3' });
    assert.equal(await limits.acquireSlot('inventory', 2, 'holder-4', NOW, LEASE_END), undefined);
  });

  it('lets the same holder take its slot again (a redelivery of the message)', async () => {
    const limits = new DynamoDbCalloutLimits(db, await newTable());
    const first = await limits.acquireSlot('inventory', 1, 'delivery-1', NOW, LEASE_END);

    const again = await limits.acquireSlot('inventory', 1, 'delivery-1', at(1_000), at(120_000));

    assert.deepEqual(again, first);
    assert.equal(await limits.acquireSlot('inventory', 1, 'delivery-2', at(61_000), at(180_000)), undefined);
  });

  it('takes over leases that expired, and not one that runs until now', async () => {
    // Prepare: two workers took both slots and died; their leases end 1 s from now.
    const limits = new DynamoDbCalloutLimits(db, await newTable());
    await limits.acquireSlot('inventory', 2, 'dead-1', NOW, at(1_000));
    await limits.acquireSlot('inventory', 2, 'dead-2', NOW, at(1_000));

    // Act + Assess
    assert.equal(await limits.acquireSlot('inventory', 2, 'early', at(500), at(60_000)), undefined);
    assert.equal(await limits.acquireSlot('inventory', 2, 'on-time', at(1_000), at(60_000)), undefined);
    const taken = await Promise.all(
      ['new-1', 'new-2', 'new-3'].map((holder) =>
        limits.acquireSlot('inventory', 2, holder, at(1_001), at(60_000)),
      ),
    );
    assert.equal(taken.filter(Boolean).length, 2);
    assert.deepEqual(
      taken
        .map((lease) => lease?.slot)
        .filter((slot) => slot !== undefined)
        .sort(),
      [0, 1],
    );
  });

  it('ignores a release by a worker that does not hold the slot', async () => {
    // Prepare: a lease expired and was taken over; the first holder comes back late and releases.
    const tableName = await newTable();
    const limits = new DynamoDbCalloutLimits(db, tableName);
    const stale = await limits.acquireSlot('inventory', 1, 'slow-worker', NOW, at(1_000));
    assert.ok(stale);
    const current = await limits.acquireSlot('inventory', 1, 'new-worker', at(2_000), at(60_000));
    assert.ok(current);

    // Act
    await limits.releaseSlot(stale);
    await limits.releaseSlot({ systemId: 'inventory', slot: 5, holder: 'nobody' });

    // Assess
    const record = await db.send(
      new GetCommand({ TableName: tableName, Key: { pk: 'SYSTEM#inventory', sk: 'SLOT#0' } }),
    );
    assert.equal(record.Item?.holder, 'new-worker');
    assert.equal(record.Item?.expiresAt, at(60_000).getTime());
    assert.equal(await limits.acquireSlot('inventory', 1, 'another', at(3_000), at(60_000)), undefined);

    // Act: releasing twice is harmless.
    await limits.releaseSlot(current);
    await limits.releaseSlot(current);

    // Assess
    assert.ok(await limits.acquireSlot('inventory', 1, 'another', at(3_000), at(60_000)));
  });
});

describe('DynamoDbCalloutLimits: start rate', () => {
  const times = (turns: ({ startAt: Date } | { askAgainAt: Date })[]) =>
    turns.map((turn) => ('startAt' in turn ? turn.startAt.getTime() - NOW.getTime() : undefined));

  it('spaces the starts of concurrent reservers 1000/perSecond ms apart from now', async () => {
    // Prepare
    const limits = new DynamoDbCalloutLimits(db, await newTable());

    // Act: twenty workers at the same instant, four starts a second.
    const turns = await Promise.all(
      Array.from({ length: 20 }, () => limits.reserveStart('inventory', 4, NOW, 10_000)),
    );

    // Assess
    assert.deepEqual(
      times(turns).sort((a, b) => (a ?? 0) - (b ?? 0)),
      Array.from({ length: 20 }, (_, i) => i * 250),
    );
    assert.deepEqual(times([await limits.reserveStart('inventory', 4, NOW, 10_000)]), [5_000]);
  });

  it('starts at once on an idle system, also after a busy spell has passed', async () => {
    const limits = new DynamoDbCalloutLimits(db, await newTable());
    await limits.reserveStart('inventory', 4, NOW, 10_000);
    await limits.reserveStart('inventory', 4, NOW, 10_000);

    const later = await limits.reserveStart('inventory', 4, at(60_000), 10_000);

    assert.deepEqual(later, { startAt: at(60_000) });
    assert.deepEqual(await limits.reserveStart('inventory', 4, at(60_000), 10_000), { startAt: at(60_250) });
  });

  it('rounds the interval of a rate that does not divide a second up', async () => {
    const limits = new DynamoDbCalloutLimits(db, await newTable());

    const turns = [];
    for (let i = 0; i < 3; i++) turns.push(await limits.reserveStart('inventory', 3, NOW, 10_000));

    assert.deepEqual(times(turns), [0, 334, 668]);
  });

  it('says when to ask again, without moving the schedule, once the turn is beyond maxWaitMs', async () => {
    // Prepare: one start a second, waits of at most 2 s: starts at +0, +1 s and +2 s are taken.
    const tableName = await newTable();
    const limits = new DynamoDbCalloutLimits(db, tableName);
    const taken = [];
    for (let i = 0; i < 3; i++) taken.push(await limits.reserveStart('inventory', 1, NOW, 2_000));
    assert.deepEqual(times(taken), [0, 1_000, 2_000]);

    // Act
    const refused = await limits.reserveStart('inventory', 1, NOW, 2_000);

    // Assess: the next free turn is +3 s; it is within reach from +1 s on.
    assert.deepEqual(refused, { askAgainAt: at(1_000) });
    const rate = await db.send(
      new GetCommand({ TableName: tableName, Key: { pk: 'SYSTEM#inventory', sk: 'RATE' } }),
    );
    assert.equal(rate.Item?.nextStart, at(3_000).getTime());

    // Act: asking again when told.
    const turn = await limits.reserveStart('inventory', 1, at(1_000), 2_000);

    // Assess
    assert.deepEqual(turn, { startAt: at(3_000) });
  });

  it('refuses concurrent reservers beyond maxWaitMs and reserves nothing for them', async () => {
    // Prepare
    const tableName = await newTable();
    const limits = new DynamoDbCalloutLimits(db, tableName);

    // Act: twenty at once, four a second, at most 2 s of waiting: nine turns (+0 … +2 s) exist.
    const turns = await Promise.all(
      Array.from({ length: 20 }, () => limits.reserveStart('inventory', 4, NOW, 2_000)),
    );

    // Assess
    assert.deepEqual(
      times(turns)
        .filter((t) => t !== undefined)
        .sort((a, b) => a - b),
      [0, 250, 500, 750, 1_000, 1_250, 1_500, 1_750, 2_000],
    );
    const refused = turns.filter((turn) => 'askAgainAt' in turn);
    assert.equal(refused.length, 11);
    for (const turn of refused) assert.deepEqual(turn, { askAgainAt: at(250) });
    const rate = await db.send(
      new GetCommand({ TableName: tableName, Key: { pk: 'SYSTEM#inventory', sk: 'RATE' } }),
    );
    assert.equal(rate.Item?.nextStart, at(2_250).getTime());
  });
});
