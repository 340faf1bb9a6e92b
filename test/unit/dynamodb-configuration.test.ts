import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { DeleteCommand, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoDbCalloutLimits } from '../../lambdas/adapters/dynamodb-callout-limits';
import { DynamoDbConfigurationStore } from '../../lambdas/adapters/dynamodb-configuration-store';
import { AUTOMATIC_ACTORS, type AvailabilityChange } from '../../lambdas/domain/availability';
import type { FulfilmentSystem, SystemInterface, SystemState } from '../../lambdas/domain/catalog';
import type { ConfigurationChange } from '../../lambdas/domain/runtime-configuration';
import type { SlotLease } from '../../lambdas/ports/callout-limits';
import type { ChangeGuard, ChangeRequest, MaintenanceWindow } from '../../lambdas/ports/configuration-store';
import { dslCatalog } from './fixtures/catalogs';
import { createConfigurationTable, inProcessDynalite } from './fixtures/dynalite';

const REGION = 'eu-west-1';
const SEEDED_AT = '2025-03-01T09:00:00.000Z';
const RESEEDED_AT = '2025-03-02T09:00:00.000Z';
const NOW = new Date('2025-03-01T10:00:00.000Z');
const at = (ms: number) => new Date(NOW.getTime() + ms);

const dynamo = inProcessDynalite(REGION);

/** A fresh configuration table (the stateful stack's keys and index) with a unique name. */
const newTable = () => createConfigurationTable(dynamo.raw);

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
    const config = new DynamoDbConfigurationStore(dynamo.db, await newTable());
    const { systems, interfaces } = definitions();

    // Act
    const result = await config.seed(systems, interfaces, SEEDED_AT);

    // Assess
    assert.deepEqual(result, {
      systems: 2,
      interfaces: 3,
      removed: [],
      overrides: { kept: [], dropped: [] },
    });
    const stamps = { revision: 1, overrides: {}, seededAt: SEEDED_AT, updatedAt: SEEDED_AT };
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
    const config = new DynamoDbConfigurationStore(dynamo.db, await newTable());
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
    const config = new DynamoDbConfigurationStore(dynamo.db, tableName);
    const { systems, interfaces } = definitions();
    await config.seed(systems, interfaces, SEEDED_AT);
    const operatorAt = '2025-03-01T12:00:00.000Z';
    await dynamo.db.send(
      new UpdateCommand({
        TableName: tableName,
        Key: { pk: 'SYSTEM#inventory', sk: 'SYSTEM' },
        UpdateExpression: 'SET #state = :down, updatedAt = :at',
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: { ':down': 'Down', ':at': operatorAt },
      }),
    );
    await dynamo.db.send(
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
    const config = new DynamoDbConfigurationStore(dynamo.db, await newTable());
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
    const config = new DynamoDbConfigurationStore(dynamo.db, await newTable());
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
      overrides: { kept: [], dropped: [] },
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
    const config = new DynamoDbConfigurationStore(dynamo.db, await newTable());
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
    const config = new DynamoDbConfigurationStore(dynamo.db, await newTable());
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

describe('DynamoDbConfigurationStore: availability', () => {
  const OPERATOR = { id: 'operator-1', name: 'Olga Operator' };
  const iso = (ms: number) => at(ms).toISOString();
  const request = (ms: number, reason: string, extra: Partial<ChangeRequest> = {}): ChangeRequest => ({
    by: OPERATOR,
    reason,
    cause: 'operator',
    at: iso(ms),
    ...extra,
  });
  const byWindow = (ms: number, windowId: string): ChangeRequest => ({
    by: AUTOMATIC_ACTORS.maintenance,
    reason: `maintenance window ${windowId}`,
    cause: 'maintenance',
    windowId,
    at: iso(ms),
  });
  const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

  /** A table seeded with the DSL catalog. */
  async function seeded(): Promise<{ config: DynamoDbConfigurationStore; tableName: string }> {
    const tableName = await newTable();
    const config = new DynamoDbConfigurationStore(dynamo.db, tableName);
    const { systems, interfaces } = definitions();
    await config.seed(systems, interfaces, SEEDED_AT);
    return { config, tableName };
  }

  /** Sets the state, asserts that it changed, and returns the change it made. */
  async function changeState(
    config: DynamoDbConfigurationStore,
    state: SystemState,
    change: ChangeRequest,
    guard?: ChangeGuard,
  ): Promise<AvailabilityChange> {
    const result = await config.setSystemState('inventory', state, change, guard);
    assert.equal(result?.changed, true);
    assert.ok(result.system.stateChange);
    return result.system.stateChange;
  }

  it('sets a system state and keeps the change, linked to the one before, on the record', async () => {
    // Prepare
    const { config } = await seeded();

    // Act
    const down = await config.setSystemState('inventory', 'Down', request(1_000, 'firmware upgrade'));

    // Assess
    assert.ok(down);
    assert.equal(down.changed, true);
    const first = down.system.stateChange;
    assert.match(first?.id ?? '', UUID);
    assert.deepEqual(first, {
      id: first?.id,
      at: iso(1_000),
      by: OPERATOR,
      reason: 'firmware upgrade',
      cause: 'operator',
      from: 'Up',
      to: 'Down',
    });
    assert.equal(down.system.state, 'Down');
    assert.equal(down.system.updatedAt, iso(1_000));
    assert.equal(down.system.seededAt, SEEDED_AT);
    assert.deepEqual(await config.getSystem('inventory'), down.system);
    assert.equal((await config.getSystem('activation'))?.state, 'Up', 'another system is untouched');

    // Act
    const up = await config.setSystemState('inventory', 'Up', request(2_000, 'upgrade done'));

    // Assess
    assert.equal(up?.changed, true);
    const second = up?.system.stateChange;
    assert.match(second?.id ?? '', UUID);
    assert.notEqual(second?.id, first?.id);
    assert.deepEqual(second, {
      id: second?.id,
      at: iso(2_000),
      by: OPERATOR,
      reason: 'upgrade done',
      cause: 'operator',
      from: 'Down',
      to: 'Up',
      follows: first?.id,
    });
    assert.equal(up?.system.state, 'Up');
    assert.equal(up?.system.updatedAt, iso(2_000));
  });

  it('changes nothing when the system is in that state already', async () => {
    // Prepare
    const { config } = await seeded();
    const asSeeded = await config.getSystem('inventory');

    // Act + Assess: seeded Up, set Up.
    assert.deepEqual(await config.setSystemState('inventory', 'Up', request(1_000, 'why not')), {
      system: asSeeded,
      changed: false,
    });
    assert.deepEqual(await config.history('system', 'inventory', 10), []);

    // Prepare
    const down = await changeState(config, 'Down', request(2_000, 'firmware upgrade'));
    const downRecord = await config.getSystem('inventory');

    // Act
    const again = await config.setSystemState('inventory', 'Down', request(3_000, 'down again'));

    // Assess
    assert.deepEqual(again, { system: downRecord, changed: false });
    assert.deepEqual(again?.system.stateChange, down);
    assert.equal(again?.system.updatedAt, iso(2_000));
    assert.deepEqual(await config.history('system', 'inventory', 10), [down]);
  });

  it('answers undefined for a system or an interface that is not there, and creates none', async () => {
    const { config } = await seeded();

    assert.equal(await config.setSystemState('no-such-system', 'Down', request(1_000, 'gone')), undefined);
    assert.equal(
      await config.setInterfaceStatus('no-such-interface', 'Offline', request(1_000, 'gone')),
      undefined,
    );

    assert.equal(await config.getSystem('no-such-system'), undefined);
    assert.equal(await config.getInterface('no-such-interface'), undefined);
    assert.deepEqual(await config.history('system', 'no-such-system', 10), []);
    assert.deepEqual(
      (await config.listSystems()).map((s) => s.id),
      ['activation', 'inventory'],
    );
  });

  it('changes under a guard only while the state came from that cause and window', async () => {
    // Prepare: window w1 took the system Down.
    const { config } = await seeded();
    const w1Down = await changeState(config, 'Down', byWindow(1_000, 'w1'));
    assert.equal(w1Down.windowId, 'w1');
    assert.equal(w1Down.cause, 'maintenance');

    // Act + Assess: another window's end, an operator's guard: the system stays Down.
    for (const guard of [
      { cause: 'maintenance', windowId: 'w2' },
      { cause: 'operator' },
      { cause: 'circuit-breaker' },
    ] satisfies ChangeGuard[]) {
      const result = await config.setSystemState('inventory', 'Up', byWindow(2_000, 'w2'), guard);
      assert.equal(result?.changed, false, JSON.stringify(guard));
      assert.equal(result?.system.state, 'Down');
      assert.deepEqual(result?.system.stateChange, w1Down);
    }

    // Act: its own window's end.
    const w1Up = await changeState(config, 'Up', byWindow(3_000, 'w1'), {
      cause: 'maintenance',
      windowId: 'w1',
    });

    // Assess
    assert.deepEqual(w1Up, {
      id: w1Up.id,
      at: iso(3_000),
      by: AUTOMATIC_ACTORS.maintenance,
      reason: 'maintenance window w1',
      cause: 'maintenance',
      windowId: 'w1',
      from: 'Down',
      to: 'Up',
      follows: w1Down.id,
    });
  });

  it('holds a guard by cause alone whatever window made the change, and never on a state as seeded', async () => {
    // Prepare
    const { config } = await seeded();

    // Act + Assess: as seeded there is no change to match.
    const seededGuard = await config.setSystemState('inventory', 'Down', request(1_000, 'x'), {
      cause: 'operator',
    });
    assert.equal(seededGuard?.changed, false);
    assert.equal(seededGuard?.system.state, 'Up');

    // Prepare
    await changeState(config, 'Down', byWindow(2_000, 'w1'));

    // Act
    const up = await config.setSystemState('inventory', 'Up', request(3_000, 'window cut short'), {
      cause: 'maintenance',
    });

    // Assess
    assert.equal(up?.changed, true);
    assert.equal(up?.system.state, 'Up');
    assert.equal(up?.system.stateChange?.cause, 'operator');
  });

  it('takes over a Down from the same cause, as a Down→Down change that only the new window may end', async () => {
    // Prepare: window w1 took the system Down.
    const { config } = await seeded();
    const w1Down = await changeState(config, 'Down', byWindow(1_000, 'w1'));

    // Act: window w2 starts while w1 still holds it Down.
    const takeOver = await changeState(config, 'Down', byWindow(2_000, 'w2'), {
      cause: 'maintenance',
      takeOver: true,
    });

    // Assess
    assert.deepEqual(takeOver, {
      id: takeOver.id,
      at: iso(2_000),
      by: AUTOMATIC_ACTORS.maintenance,
      reason: 'maintenance window w2',
      cause: 'maintenance',
      windowId: 'w2',
      from: 'Down',
      to: 'Down',
      follows: w1Down.id,
    });
    assert.equal((await config.getSystem('inventory'))?.updatedAt, iso(2_000));
    const w1End = await config.setSystemState('inventory', 'Up', byWindow(3_000, 'w1'), {
      cause: 'maintenance',
      windowId: 'w1',
    });
    assert.equal(w1End?.changed, false, 'w1 no longer holds the system Down');
    assert.equal(w1End?.system.state, 'Down');
    const w2End = await changeState(config, 'Up', byWindow(4_000, 'w2'), {
      cause: 'maintenance',
      windowId: 'w2',
    });
    assert.equal(w2End.follows, takeOver.id);
    assert.deepEqual(
      (await config.history('system', 'inventory', 10)).map((c) => c.id),
      [w2End.id, takeOver.id, w1Down.id],
    );
  });

  it('takes over nothing when the system is Up, or Down from another cause', async () => {
    // Prepare
    const { config } = await seeded();
    const takeOver = { cause: 'maintenance', takeOver: true } satisfies ChangeGuard;

    // Act + Assess: Up as seeded.
    const whileUp = await config.setSystemState('inventory', 'Down', byWindow(1_000, 'w1'), takeOver);
    assert.equal(whileUp?.changed, false);
    assert.equal(whileUp?.system.state, 'Up');
    assert.equal(whileUp?.system.stateChange, undefined);

    // Prepare: Up after a window (the last change is the maintenance cause's, but Up).
    await changeState(config, 'Down', byWindow(2_000, 'w1'));
    const w1Up = await changeState(config, 'Up', byWindow(3_000, 'w1'), {
      cause: 'maintenance',
      windowId: 'w1',
    });

    // Act + Assess
    const afterWindow = await config.setSystemState('inventory', 'Down', byWindow(4_000, 'w2'), takeOver);
    assert.equal(afterWindow?.changed, false);
    assert.equal(afterWindow?.system.state, 'Up');
    assert.deepEqual(afterWindow?.system.stateChange, w1Up);

    // Prepare: an operator took it Down.
    const operatorDown = await changeState(config, 'Down', request(5_000, 'firmware upgrade'));

    // Act + Assess
    const underOperator = await config.setSystemState('inventory', 'Down', byWindow(6_000, 'w2'), takeOver);
    assert.equal(underOperator?.changed, false);
    assert.deepEqual(underOperator?.system.stateChange, operatorDown);
    assert.equal(
      await config.setSystemState('no-such-system', 'Down', byWindow(6_000, 'w2'), takeOver),
      undefined,
    );
  });

  it('sets an interface status and keeps its changes, as for a system', async () => {
    // Prepare
    const { config } = await seeded();

    // Act
    const offline = await config.setInterfaceStatus('reserve-port', 'Offline', request(1_000, 'bad release'));

    // Assess
    assert.equal(offline?.changed, true);
    const first = offline?.iface.statusChange;
    assert.match(first?.id ?? '', UUID);
    assert.deepEqual(first, {
      id: first?.id,
      at: iso(1_000),
      by: OPERATOR,
      reason: 'bad release',
      cause: 'operator',
      from: 'Online',
      to: 'Offline',
    });
    assert.equal(offline?.iface.status, 'Offline');
    assert.equal(offline?.iface.updatedAt, iso(1_000));
    assert.deepEqual(await config.getInterface('reserve-port'), offline?.iface);
    assert.equal((await config.getSystem('inventory'))?.state, 'Up', 'its system is untouched');

    // Act + Assess: Offline again changes nothing; neither does port-status, seeded Offline.
    const again = await config.setInterfaceStatus('reserve-port', 'Offline', request(2_000, 'still bad'));
    assert.deepEqual(again, { iface: offline?.iface, changed: false });
    const seededOffline = await config.setInterfaceStatus('port-status', 'Offline', request(2_000, 'off'));
    assert.equal(seededOffline?.changed, false);
    assert.equal(seededOffline?.iface.statusChange, undefined);

    // Act
    const online = await config.setInterfaceStatus('reserve-port', 'Online', request(3_000, 'rolled back'));

    // Assess
    const second = online?.iface.statusChange;
    assert.equal(online?.changed, true);
    assert.deepEqual(second, {
      id: second?.id,
      at: iso(3_000),
      by: OPERATOR,
      reason: 'rolled back',
      cause: 'operator',
      from: 'Offline',
      to: 'Online',
      follows: first?.id,
    });
    assert.deepEqual(await config.history('interface', 'reserve-port', 10), [second, first]);
    assert.deepEqual(await config.history('system', 'reserve-port', 10), []);
    assert.deepEqual(await config.history('system', 'inventory', 10), []);
  });

  it('lists history newest first, up to the limit', async () => {
    // Prepare
    const { config } = await seeded();
    const first = await changeState(config, 'Down', request(1_000, 'one'));
    const second = await changeState(config, 'Up', request(2_000, 'two'));
    const third = await changeState(config, 'Down', request(3_000, 'three'));

    // Act + Assess
    assert.deepEqual(await config.history('system', 'inventory', 10), [third, second, first]);
    assert.deepEqual(await config.history('system', 'inventory', 2), [third, second]);
    assert.deepEqual(await config.history('system', 'inventory', 1), [third]);
    assert.deepEqual(await config.history('system', 'activation', 10), []);
  });

  it('shows a change whose history record is missing, and writes that record with the next change', async () => {
    // Prepare: the writer of the second change died before its history record.
    const { config, tableName } = await seeded();
    const first = await changeState(config, 'Down', request(1_000, 'one'));
    const second = await changeState(config, 'Up', request(2_000, 'two'));
    const secondKey = { pk: 'SYSTEM#inventory', sk: `HISTORY#${second.at}#${second.id}` };
    await dynamo.db.send(new DeleteCommand({ TableName: tableName, Key: secondKey }));
    assert.equal(
      (await dynamo.db.send(new GetCommand({ TableName: tableName, Key: secondKey }))).Item,
      undefined,
    );

    // Act + Assess
    assert.deepEqual(await config.history('system', 'inventory', 10), [second, first]);
    assert.deepEqual(await config.history('system', 'inventory', 1), [second]);

    // Act
    const third = await changeState(config, 'Down', request(3_000, 'three'));

    // Assess
    assert.deepEqual(
      (await dynamo.db.send(new GetCommand({ TableName: tableName, Key: secondKey, ConsistentRead: true })))
        .Item,
      { ...secondKey, ...second },
    );
    assert.deepEqual(await config.history('system', 'inventory', 10), [third, second, first]);
  });

  it('keeps the state and the change an operator made when the catalog is seeded again', async () => {
    // Prepare
    const { config } = await seeded();
    const down = await changeState(config, 'Down', request(1_000, 'firmware upgrade'));
    const offline = await config.setInterfaceStatus('reserve-port', 'Offline', request(2_000, 'bad release'));
    const { systems, interfaces } = definitions();

    // Act
    await config.seed(systems, interfaces, RESEEDED_AT);

    // Assess
    const inventory = await config.getSystem('inventory');
    assert.equal(inventory?.state, 'Down');
    assert.deepEqual(inventory?.stateChange, down);
    assert.equal(inventory?.updatedAt, iso(1_000));
    assert.equal(inventory?.seededAt, RESEEDED_AT);
    const reserve = await config.getInterface('reserve-port');
    assert.equal(reserve?.status, 'Offline');
    assert.deepEqual(reserve?.statusChange, offline?.iface.statusChange);
    assert.equal(reserve?.seededAt, RESEEDED_AT);
    assert.deepEqual(await config.history('system', 'inventory', 10), [down]);
  });

  it('counts connection failures in a row and resets them', async () => {
    // Prepare
    const { config } = await seeded();

    // Act + Assess
    assert.equal(await config.recordConnectionFailure('inventory'), 1);
    assert.equal(await config.recordConnectionFailure('inventory'), 2);
    assert.equal(await config.recordConnectionFailure('inventory'), 3);
    assert.equal((await config.getSystem('inventory'))?.consecutiveFailures, 3);
    assert.equal(
      (await config.getSystem('activation'))?.consecutiveFailures,
      undefined,
      'another system has its own count',
    );

    // Act
    await config.resetConnectionFailures('inventory');

    // Assess
    const reset = await config.getSystem('inventory');
    assert.equal(reset?.consecutiveFailures, 0);
    assert.equal(reset?.updatedAt, SEEDED_AT, 'a count is no change of the state');

    // Act + Assess: reset at 0, and on a system that never failed, changes nothing.
    await config.resetConnectionFailures('inventory');
    assert.deepEqual(await config.getSystem('inventory'), reset);
    const activation = await config.getSystem('activation');
    await config.resetConnectionFailures('activation');
    assert.deepEqual(await config.getSystem('activation'), activation);
    assert.equal(activation && 'consecutiveFailures' in activation, false);

    // Act + Assess: counting starts again.
    assert.equal(await config.recordConnectionFailure('inventory'), 1);
  });

  it('counts no failure for a system that is not there, and creates none', async () => {
    const { config } = await seeded();

    await assert.rejects(config.recordConnectionFailure('no-such-system'), {
      name: 'ConditionalCheckFailedException',
    });
    await config.resetConnectionFailures('no-such-system');

    assert.equal(await config.getSystem('no-such-system'), undefined);
  });
});

describe('DynamoDbConfigurationStore: maintenance windows', () => {
  /** An instant on 1 March: `hour` o'clock and `seconds` seconds. */
  const hour = (h: number, seconds = 0) =>
    `2025-03-01T${String(h).padStart(2, '0')}:00:${String(seconds).padStart(2, '0')}.000Z`;
  const window = (id: string, start: string, end: string, systemId = 'inventory'): MaintenanceWindow => ({
    id,
    systemId,
    start,
    end,
    reason: `maintenance ${id}`,
    createdBy: { id: 'operator-1', name: 'Olga Operator' },
    createdAt: SEEDED_AT,
  });

  async function seeded(): Promise<DynamoDbConfigurationStore> {
    const config = new DynamoDbConfigurationStore(dynamo.db, await newTable());
    const { systems, interfaces } = definitions();
    await config.seed(systems, interfaces, SEEDED_AT);
    return config;
  }

  it('adds windows, refuses one that overlaps or touches another, and lists them by start', async () => {
    // Prepare
    const config = await seeded();
    const ten = window('ten', hour(10), hour(11));

    // Act + Assess
    assert.deepEqual(await config.addMaintenanceWindow(ten), { added: true });
    for (const refused of [
      window('inside', hour(10, 30), hour(10, 40)),
      window('around', hour(9), hour(12)),
      window('late', hour(10, 30), hour(12)),
      window('ends-as-it-starts', hour(9), hour(10)),
      window('starts-as-it-ends', hour(11), hour(12)),
    ]) {
      assert.deepEqual(
        await config.addMaintenanceWindow(refused),
        { added: false, overlaps: ten },
        refused.id,
      );
    }
    const eleven = window('eleven', hour(11, 1), hour(12));
    assert.deepEqual(await config.addMaintenanceWindow(eleven), { added: true });
    const eight = window('eight', hour(8), hour(9));
    assert.deepEqual(await config.addMaintenanceWindow(eight), { added: true });
    const elsewhere = window('elsewhere', hour(10), hour(11), 'activation');
    assert.deepEqual(await config.addMaintenanceWindow(elsewhere), { added: true }, 'another system');

    assert.deepEqual(await config.maintenanceWindows('inventory'), [eight, ten, eleven]);
    assert.deepEqual(await config.maintenanceWindows('activation'), [elsewhere]);
    assert.deepEqual(await config.maintenanceWindows('no-such-system'), []);
    assert.deepEqual(await config.getMaintenanceWindow('inventory', 'ten'), ten);
    assert.equal(await config.getMaintenanceWindow('inventory', 'inside'), undefined);
    assert.equal(await config.getMaintenanceWindow('activation', 'ten'), undefined);
  });

  it('marks a window started and ended once each', async () => {
    // Prepare
    const config = await seeded();
    const ten = window('ten', hour(10), hour(11));
    await config.addMaintenanceWindow(ten);

    // Act + Assess
    assert.equal(await config.markMaintenanceWindow('inventory', 'ten', 'startedAt', hour(10)), true);
    assert.equal(await config.markMaintenanceWindow('inventory', 'ten', 'startedAt', hour(10, 5)), false);
    assert.deepEqual(await config.getMaintenanceWindow('inventory', 'ten'), { ...ten, startedAt: hour(10) });
    assert.equal(await config.markMaintenanceWindow('inventory', 'ten', 'endedAt', hour(11)), true);
    assert.equal(await config.markMaintenanceWindow('inventory', 'ten', 'endedAt', hour(11, 5)), false);
    assert.deepEqual(await config.getMaintenanceWindow('inventory', 'ten'), {
      ...ten,
      startedAt: hour(10),
      endedAt: hour(11),
    });

    // Act + Assess: an ended window no longer keeps another out.
    assert.deepEqual(await config.addMaintenanceWindow(window('again', hour(10, 30), hour(12))), {
      added: true,
    });
  });

  it('removes a window, after which it cannot be marked', async () => {
    // Prepare
    const config = await seeded();
    const ten = window('ten', hour(10), hour(11));
    await config.addMaintenanceWindow(ten);

    // Act + Assess
    assert.deepEqual(await config.removeMaintenanceWindow('inventory', 'ten'), ten);
    assert.equal(await config.removeMaintenanceWindow('inventory', 'ten'), undefined);
    assert.equal(await config.markMaintenanceWindow('inventory', 'ten', 'startedAt', hour(10)), false);
    assert.equal(await config.markMaintenanceWindow('inventory', 'never', 'endedAt', hour(10)), false);
    assert.equal(await config.getMaintenanceWindow('inventory', 'ten'), undefined);
    assert.equal(await config.getMaintenanceWindow('inventory', 'never'), undefined, 'marking creates none');
    assert.deepEqual(await config.maintenanceWindows('inventory'), []);
    assert.deepEqual(await config.addMaintenanceWindow(window('other', hour(10), hour(11))), { added: true });
  });

  it('adds exactly one of two overlapping windows added at once', async () => {
    // Prepare
    const config = await seeded();
    const first = window('first', hour(10), hour(12));
    const second = window('second', hour(11), hour(13));

    // Act
    const results = await Promise.all([
      config.addMaintenanceWindow(first),
      config.addMaintenanceWindow(second),
    ]);

    // Assess
    const stored = await config.maintenanceWindows('inventory');
    assert.equal(stored.length, 1);
    const [kept] = stored;
    assert.ok(kept);
    assert.deepEqual(
      results,
      kept.id === 'first'
        ? [{ added: true }, { added: false, overlaps: first }]
        : [{ added: false, overlaps: second }, { added: true }],
    );
  });

  it('refuses a window for a system that is not there, naming it', async () => {
    const config = await seeded();

    await assert.rejects(config.addMaintenanceWindow(window('ten', hour(10), hour(11), 'no-such-system')), {
      message: 'no system "no-such-system" to add a maintenance window to',
    });

    assert.deepEqual(await config.maintenanceWindows('no-such-system'), []);
  });
});

describe('DynamoDbCalloutLimits: connection slots', () => {
  const LEASE_END = at(60_000);

  it('gives at most max leases to concurrent acquirers, each a different slot', async () => {
    // Prepare
    const limits = new DynamoDbCalloutLimits(dynamo.db, await newTable());

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
    const limits = new DynamoDbCalloutLimits(dynamo.db, await newTable());
    const first = await limits.acquireSlot('inventory', 2, 'holder-1', NOW, LEASE_END);
    const second = await limits.acquireSlot('inventory', 2, 'holder-2', NOW, LEASE_END);
    assert.ok(first && second);

    // Act
    await limits.releaseSlot(first, at(3_000), at(33_000));

    // Assess
    const next = await limits.acquireSlot('inventory', 2, 'holder-3', NOW, LEASE_END);
    assert.deepEqual(next, { systemId: 'inventory', slot: first.slot, holder: 'holder-3' });
    assert.equal(await limits.acquireSlot('inventory', 2, 'holder-4', NOW, LEASE_END), undefined);
  });

  it('lets the same holder take its slot again (a redelivery of the message)', async () => {
    const limits = new DynamoDbCalloutLimits(dynamo.db, await newTable());
    const first = await limits.acquireSlot('inventory', 1, 'delivery-1', NOW, LEASE_END);

    const again = await limits.acquireSlot('inventory', 1, 'delivery-1', at(1_000), at(120_000));

    assert.deepEqual(again, first);
    assert.equal(await limits.acquireSlot('inventory', 1, 'delivery-2', at(61_000), at(180_000)), undefined);
  });

  it('takes over leases that expired, and not one that runs until now', async () => {
    // Prepare: two workers took both slots and died; their leases end 1 s from now.
    const limits = new DynamoDbCalloutLimits(dynamo.db, await newTable());
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

  it('gives a takeover the slot the attempt it takes over held, before any other', async () => {
    // Prepare: of two slots, one is free and one is held until long after now by a worker that died.
    const limits = new DynamoDbCalloutLimits(dynamo.db, await newTable());
    const dead = await limits.acquireSlot('inventory', 2, 'dead-1', NOW, at(600_000));
    assert.ok(dead);

    // Act
    const taken = await limits.acquireSlot(
      'inventory',
      2,
      'takeover-1',
      at(1_000),
      at(60_000),
      undefined,
      'dead-1',
    );

    // Assess: the dead worker's slot, so the free one stays free; no one else inherits it.
    assert.deepEqual(taken, { systemId: 'inventory', slot: dead.slot, holder: 'takeover-1' });
    const other = await limits.acquireSlot(
      'inventory',
      2,
      'other',
      at(1_000),
      at(60_000),
      undefined,
      'dead-1',
    );
    assert.equal(other?.slot, 1 - dead.slot, 'the free one: the takeover holds the other now');
    assert.equal(
      await limits.acquireSlot('inventory', 2, 'third', at(1_000), at(60_000), undefined, 'dead-1'),
      undefined,
    );
  });

  it('ignores a release by a worker that does not hold the slot', async () => {
    // Prepare: a lease expired and was taken over; the first holder comes back late and releases.
    const tableName = await newTable();
    const limits = new DynamoDbCalloutLimits(dynamo.db, tableName);
    const stale = await limits.acquireSlot('inventory', 1, 'slow-worker', NOW, at(1_000));
    assert.ok(stale);
    const current = await limits.acquireSlot('inventory', 1, 'new-worker', at(2_000), at(60_000));
    assert.ok(current);

    // Act
    await limits.releaseSlot(stale, at(3_000), at(33_000));
    await limits.releaseSlot({ systemId: 'inventory', slot: 5, holder: 'nobody' }, at(3_000), at(33_000));

    // Assess
    const record = await dynamo.db.send(
      new GetCommand({ TableName: tableName, Key: { pk: 'SYSTEM#inventory', sk: 'SLOT#0' } }),
    );
    assert.equal(record.Item?.holder, 'new-worker');
    assert.equal(record.Item?.expiresAt, at(60_000).getTime());
    assert.equal(await limits.acquireSlot('inventory', 1, 'another', at(3_000), at(60_000)), undefined);

    // Act: releasing twice is harmless.
    await limits.releaseSlot(current, at(3_000), at(33_000));
    await limits.releaseSlot(current, at(3_000), at(33_000));

    // Assess
    assert.ok(await limits.acquireSlot('inventory', 1, 'another', at(3_000), at(60_000)));
  });
});

describe('DynamoDbCalloutLimits: the waiting list', () => {
  const waiter = (n: number) => ({
    orderId: `o-${n}`,
    itemKey: 'dsl.bill.1',
    since: at(n * 1_000).toISOString(),
  });
  const LEASE_END = at(60_000);

  it('hands a released slot to the oldest waiter, keeps it for that one alone, and frees it with no one waiting', async () => {
    // Prepare: one slot, taken; two callouts wait, the later one joining first and asking twice.
    const limits = new DynamoDbCalloutLimits(dynamo.db, await newTable());
    const lease = await limits.acquireSlot('billing', 1, 'delivery-1', NOW, LEASE_END);
    assert.ok(lease);
    await limits.waitForSlot('billing', waiter(2));
    await limits.waitForSlot('billing', waiter(1));
    await limits.waitForSlot('billing', waiter(2));

    // Act
    const handed = await limits.releaseSlot(lease, at(5_000), at(35_000));

    // Assess: the oldest, with the slot kept for it until the hand-off ends.
    assert.deepEqual(handed, { waiter: waiter(1), slot: 0 });
    assert.equal(await limits.acquireSlot('billing', 1, 'newcomer', at(6_000), LEASE_END), undefined);
    assert.equal(
      await limits.acquireSlot('billing', 1, 'delivery-x', at(6_000), LEASE_END, {
        item: 'o-2.dsl.bill.1',
        slot: 0,
      }),
      undefined,
      'not for another waiter either',
    );
    const woken = await limits.acquireSlot('billing', 1, 'delivery-2', at(6_000), LEASE_END, {
      item: 'o-1.dsl.bill.1',
      slot: 0,
    });
    assert.deepEqual(woken, { systemId: 'billing', slot: 0, holder: 'delivery-2' });

    // Act + Assess: the next release goes to the next waiter, once; then the slot is free.
    assert.deepEqual(await limits.releaseSlot(woken, at(7_000), at(37_000)), { waiter: waiter(2), slot: 0 });
    const second = await limits.acquireSlot('billing', 1, 'delivery-3', at(8_000), LEASE_END, {
      item: 'o-2.dsl.bill.1',
      slot: 0,
    });
    assert.ok(second);
    assert.equal(await limits.releaseSlot(second, at(9_000), at(39_000)), undefined);
    assert.ok(await limits.acquireSlot('billing', 1, 'newcomer', at(9_500), LEASE_END));
  });

  it('hands a released slot to the highest priority first, the oldest among equals, and a place of an earlier version too', async () => {
    // Prepare: one slot, taken; the oldest asks no priority, a later one priority 1, the latest 0.
    const tableName = await newTable();
    const limits = new DynamoDbCalloutLimits(dynamo.db, tableName);
    let lease = await limits.acquireSlot('billing', 1, 'delivery-1', NOW, LEASE_END);
    await limits.waitForSlot('billing', waiter(1));
    await limits.waitForSlot('billing', { ...waiter(2), priority: 1 });
    await limits.waitForSlot('billing', { ...waiter(3), priority: 0 });
    await limits.waitForSlot('billing', { ...waiter(4), priority: 1 });
    // A place an earlier version kept (no priority in its key) is handed on with the unprioritised ones.
    await dynamo.db.send(
      new PutCommand({
        TableName: tableName,
        Item: { pk: 'SYSTEM#billing', sk: `WAIT#${waiter(0).since}#o-0#dsl.bill.1`, ...waiter(0) },
      }),
    );

    // Act: each release hands the slot on, and its waiter takes it.
    const order: string[] = [];
    for (let n = 0; n < 5 && lease; n++) {
      const handed = await limits.releaseSlot(lease, at(10_000 + n), at(40_000));
      if (!handed) break;
      order.push(handed.waiter.orderId);
      const item = `${handed.waiter.orderId}.${handed.waiter.itemKey}`;
      lease = await limits.acquireSlot('billing', 1, `delivery-${item}`, at(10_500 + n), LEASE_END, {
        item,
        slot: handed.slot,
      });
    }

    // Assess
    assert.deepEqual(order, ['o-3', 'o-2', 'o-4', 'o-0', 'o-1']);
  });

  it('lets anyone take a handed slot its waiter never came for, once the hand-off ends', async () => {
    const limits = new DynamoDbCalloutLimits(dynamo.db, await newTable());
    const lease = await limits.acquireSlot('billing', 1, 'delivery-1', NOW, LEASE_END);
    assert.ok(lease);
    await limits.waitForSlot('billing', waiter(1));
    assert.ok(await limits.releaseSlot(lease, at(1_000), at(31_000)));

    assert.equal(await limits.acquireSlot('billing', 1, 'newcomer', at(30_000), LEASE_END), undefined);
    assert.ok(await limits.acquireSlot('billing', 1, 'newcomer', at(31_001), LEASE_END));
  });

  it('gives two releases at once two different waiters, and a stale release none', async () => {
    // Prepare: two slots taken, three waiting.
    const limits = new DynamoDbCalloutLimits(dynamo.db, await newTable());
    const leases = await Promise.all(
      ['d-1', 'd-2'].map((holder) => limits.acquireSlot('billing', 2, holder, NOW, at(2_000))),
    );
    for (const n of [1, 2, 3]) await limits.waitForSlot('billing', waiter(n));

    // Act
    const handed = await Promise.all(
      leases.map((lease) => lease && limits.releaseSlot(lease, at(1_000), at(31_000))),
    );

    // Assess
    assert.deepEqual(handed.map((h) => h?.waiter.orderId).sort(), ['o-1', 'o-2']);
    assert.notEqual(handed[0]?.slot, handed[1]?.slot);
    const stale = { systemId: 'billing', slot: 0, holder: 'd-1' };
    assert.equal(await limits.releaseSlot(stale, at(1_500), at(31_500)), undefined, 'd-1 no longer holds it');
  });

  it('takes a callout off the list when it gets a slot by itself', async () => {
    const limits = new DynamoDbCalloutLimits(dynamo.db, await newTable());
    const lease = await limits.acquireSlot('billing', 1, 'delivery-1', NOW, LEASE_END);
    assert.ok(lease);
    await limits.waitForSlot('billing', waiter(1));
    await limits.stopWaiting('billing', waiter(1));

    assert.equal(await limits.releaseSlot(lease, at(1_000), at(31_000)), undefined);
    assert.ok(await limits.acquireSlot('billing', 1, 'newcomer', at(1_500), LEASE_END));
  });
});

describe('DynamoDbCalloutLimits: start rate', () => {
  const times = (turns: ({ startAt: Date } | { askAgainAt: Date })[]) =>
    turns.map((turn) => ('startAt' in turn ? turn.startAt.getTime() - NOW.getTime() : undefined));

  it('spaces the starts of concurrent reservers 1000/perSecond ms apart from now', async () => {
    // Prepare
    const limits = new DynamoDbCalloutLimits(dynamo.db, await newTable());

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
    const limits = new DynamoDbCalloutLimits(dynamo.db, await newTable());
    await limits.reserveStart('inventory', 4, NOW, 10_000);
    await limits.reserveStart('inventory', 4, NOW, 10_000);

    const later = await limits.reserveStart('inventory', 4, at(60_000), 10_000);

    assert.deepEqual(later, { startAt: at(60_000) });
    assert.deepEqual(await limits.reserveStart('inventory', 4, at(60_000), 10_000), { startAt: at(60_250) });
  });

  it('rounds the interval of a rate that does not divide a second up', async () => {
    const limits = new DynamoDbCalloutLimits(dynamo.db, await newTable());

    const turns = [];
    for (let i = 0; i < 3; i++) turns.push(await limits.reserveStart('inventory', 3, NOW, 10_000));

    assert.deepEqual(times(turns), [0, 334, 668]);
  });

  it('says when to ask again, without moving the schedule, once the turn is beyond maxWaitMs', async () => {
    // Prepare: one start a second, waits of at most 2 s: starts at +0, +1 s and +2 s are taken.
    const tableName = await newTable();
    const limits = new DynamoDbCalloutLimits(dynamo.db, tableName);
    const taken = [];
    for (let i = 0; i < 3; i++) taken.push(await limits.reserveStart('inventory', 1, NOW, 2_000));
    assert.deepEqual(times(taken), [0, 1_000, 2_000]);

    // Act
    const refused = await limits.reserveStart('inventory', 1, NOW, 2_000);

    // Assess: the next free turn is +3 s; it is within reach from +1 s on.
    assert.deepEqual(refused, { askAgainAt: at(1_000) });
    const rate = await dynamo.db.send(
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
    const limits = new DynamoDbCalloutLimits(dynamo.db, tableName);

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
    const rate = await dynamo.db.send(
      new GetCommand({ TableName: tableName, Key: { pk: 'SYSTEM#inventory', sk: 'RATE' } }),
    );
    assert.equal(rate.Item?.nextStart, at(2_250).getTime());
  });
});

describe('DynamoDbConfigurationStore: runtime configuration', () => {
  const OLGA = { id: 'u-op', name: 'olga' };
  const CHANGED_AT = '2025-03-01T12:00:00.000Z';

  /** A table seeded with the DSL catalog, and an operator's change of reserve-port's timeout to 20 s. */
  async function seededWithChange() {
    const tableName = await newTable();
    const config = new DynamoDbConfigurationStore(dynamo.db, tableName);
    const { systems, interfaces } = definitions();
    await config.seed(systems, interfaces, SEEDED_AT);
    const change = timeoutChange(2, 10, 20, CHANGED_AT);
    const written = await config.reconfigureInterface('reserve-port', 1, {
      values: { timeoutSeconds: 20 },
      overrides: { timeoutSeconds: { catalogValue: 10, at: CHANGED_AT, by: OLGA } },
      change,
    });
    assert.notEqual(written, 'stale');
    return { tableName, config, change };
  }

  const timeoutChange = (revision: number, from: number, to: number, at: string): ConfigurationChange => ({
    id: randomUUID(),
    kind: 'configuration',
    at,
    by: OLGA,
    reason: `timeout ${to}`,
    cause: 'operator',
    revision,
    changes: [{ field: 'timeoutSeconds', from, to }],
  });

  const rawRecord = async (tableName: string, pk: string) =>
    (
      await dynamo.db.send(
        new GetCommand({
          TableName: tableName,
          Key: { pk, sk: pk.split('#')[0] ?? '' },
          ConsistentRead: true,
        }),
      )
    ).Item;

  it('writes the changed fields only, the overrides and the next revision, in one conditional write', async () => {
    // Prepare + Act
    const { tableName, config, change } = await seededWithChange();
    await config.setInterfaceStatus('reserve-port', 'Offline', {
      by: OLGA,
      reason: 'release',
      cause: 'operator',
      at: '2025-03-01T12:01:00.000Z',
    });

    // Assess
    const iface = await config.getInterface('reserve-port');
    assert.equal(iface?.timeoutSeconds, 20);
    assert.equal(iface?.revision, 2);
    assert.equal(iface?.status, 'Offline', 'a configuration change leaves the status alone');
    assert.deepEqual(iface?.overrides, { timeoutSeconds: { catalogValue: 10, at: CHANGED_AT, by: OLGA } });
    assert.equal((await config.calloutTarget('reserve-port', 'inventory'))?.iface.timeoutSeconds, 20);
    const raw = await rawRecord(tableName, 'INTERFACE#reserve-port');
    assert.equal(
      (raw?.definition as { status?: string } | undefined)?.status,
      'Online',
      "the catalog's seeded status is kept",
    );
    assert.deepEqual(raw?.lastConfigChange, change);
  });

  it('answers stale and writes nothing under another revision, or for a record that is not there', async () => {
    const { config } = await seededWithChange();
    const next = {
      values: { timeoutSeconds: 5 },
      overrides: {},
      change: timeoutChange(2, 20, 5, '2025-03-01T13:00:00.000Z'),
    };

    assert.equal(await config.reconfigureInterface('reserve-port', 1, next), 'stale');
    assert.equal(await config.reconfigureInterface('no-such-interface', 1, next), 'stale');
    assert.equal((await config.getInterface('reserve-port'))?.timeoutSeconds, 20);
    assert.equal(await config.getInterface('no-such-interface'), undefined, 'and creates none');
  });

  it("sets and removes a system's nested fields by path, leaving the others as they are", async () => {
    // Prepare
    const { config } = await seededWithChange();
    const change: ConfigurationChange = {
      ...timeoutChange(2, 0, 0, CHANGED_AT),
      changes: [
        { field: 'limits.maxCalloutsPerSecond', from: 2.5, to: null },
        { field: 'baseUrl', from: 'http://activation.test:4102/', to: 'https://dr.example.com/' },
      ],
    };

    // Act
    const written = await config.reconfigureSystem('activation', 1, {
      values: { 'limits.maxCalloutsPerSecond': null, baseUrl: 'https://dr.example.com/' },
      overrides: {},
      change,
    });

    // Assess
    const stored = await config.getSystem('activation');
    assert.deepEqual(written, stored);
    assert.deepEqual(stored?.limits, { maxConcurrentCallouts: 4 });
    assert.equal(stored?.baseUrl, 'https://dr.example.com/');
    assert.equal(stored?.authProfile, 'activation-oauth');
    assert.equal(stored?.revision, 2);
  });

  it('keeps configuration and state changes in one history, newest first, and shows a change whose record is missing', async () => {
    // Prepare: a status change, then the configuration change, whose history record is then lost.
    const tableName = await newTable();
    const config = new DynamoDbConfigurationStore(dynamo.db, tableName);
    const { systems, interfaces } = definitions();
    await config.seed(systems, interfaces, SEEDED_AT);
    const offline = await config.setInterfaceStatus('reserve-port', 'Offline', {
      by: OLGA,
      reason: 'release',
      cause: 'operator',
      at: '2025-03-01T11:00:00.000Z',
    });
    const change = timeoutChange(2, 10, 20, CHANGED_AT);
    await config.reconfigureInterface('reserve-port', 1, {
      values: { timeoutSeconds: 20 },
      overrides: {},
      change,
    });
    const key = { pk: 'INTERFACE#reserve-port', sk: `HISTORY#${change.at}#${change.id}` };
    await dynamo.db.send(new DeleteCommand({ TableName: tableName, Key: key }));

    // Act
    const history = await config.history('interface', 'reserve-port', 10);
    const next = timeoutChange(3, 20, 25, '2025-03-01T13:00:00.000Z');
    await config.reconfigureInterface('reserve-port', 2, {
      values: { timeoutSeconds: 25 },
      overrides: {},
      change: next,
    });

    // Assess
    assert.deepEqual(history, [change, offline?.iface.statusChange]);
    assert.deepEqual(
      (await dynamo.db.send(new GetCommand({ TableName: tableName, Key: key, ConsistentRead: true }))).Item,
      { ...key, ...change },
      'written again with the next change',
    );
    assert.deepEqual(
      (await config.history('interface', 'reserve-port', 10)).map((h) => h.reason),
      ['timeout 25', 'timeout 20', 'release'],
    );
  });

  it("keeps an operator's value at a redeploy whose catalog left that field as it was", async () => {
    // Prepare: the new catalog changes reserve-port's path, not its timeout.
    const { config } = await seededWithChange();
    const { systems, interfaces } = definitions();
    byId(interfaces, 'reserve-port').path = '/ports/v2/reservations';

    // Act
    const result = await config.seed(systems, interfaces, RESEEDED_AT);

    // Assess
    assert.deepEqual(result.overrides, { kept: ['interface reserve-port timeoutSeconds'], dropped: [] });
    const iface = await config.getInterface('reserve-port');
    assert.equal(iface?.timeoutSeconds, 20);
    assert.equal(iface?.path, '/ports/v2/reservations');
    assert.equal(iface?.revision, 3);
    const [deploy] = await config.history('interface', 'reserve-port', 10);
    assert.ok(deploy && 'kind' in deploy);
    assert.equal(deploy.cause, 'deploy');
    assert.deepEqual(deploy.by, { id: 'switchboard:deploy', name: 'deploy' });
    assert.deepEqual(deploy.changes, [
      { field: 'path', from: '/ports/reservations', to: '/ports/v2/reservations' },
    ]);
  });

  it("replaces an operator's value at a redeploy whose catalog changed that field, and says so in the history", async () => {
    // Prepare
    const { config } = await seededWithChange();
    const { systems, interfaces } = definitions();
    byId(interfaces, 'reserve-port').timeoutSeconds = 15;

    // Act
    const result = await config.seed(systems, interfaces, RESEEDED_AT);

    // Assess
    assert.deepEqual(result.overrides, { kept: [], dropped: ['interface reserve-port timeoutSeconds'] });
    const iface = await config.getInterface('reserve-port');
    assert.equal(iface?.timeoutSeconds, 15);
    assert.deepEqual(iface?.overrides, {});
    const [deploy] = await config.history('interface', 'reserve-port', 10);
    assert.ok(deploy && 'kind' in deploy);
    assert.equal(deploy.changes[0]?.from, 20);
    assert.equal(deploy.changes[0]?.to, 15);
    assert.match(deploy.changes[0]?.note ?? '', /the catalog changed it from 10 to 15 since the override/);
  });

  it('changes no revision and keeps no history for a redeploy that changes nothing', async () => {
    const { config } = await seededWithChange();
    const { systems, interfaces } = definitions();

    await config.seed(systems, interfaces, RESEEDED_AT);

    assert.equal((await config.getInterface('reserve-port'))?.revision, 2);
    assert.equal((await config.getSystem('inventory'))?.revision, 1);
    assert.equal(
      (await config.history('interface', 'reserve-port', 10)).length,
      1,
      'the operator’s change alone',
    );
  });

  it('gives a record seeded before revisions its first revision, and takes a change of it at revision 0', async () => {
    // Prepare: records as an earlier version seeded them: no revision, no overrides.
    const tableName = await newTable();
    const config = new DynamoDbConfigurationStore(dynamo.db, tableName);
    const { systems, interfaces } = definitions();
    for (const key of [
      {
        pk: 'INTERFACE#reserve-port',
        sk: 'INTERFACE',
        definition: byId(interfaces, 'reserve-port'),
        status: 'Online',
      },
      {
        pk: 'INTERFACE#port-status',
        sk: 'INTERFACE',
        definition: byId(interfaces, 'port-status'),
        status: 'Online',
      },
    ])
      await dynamo.db.send(
        new PutCommand({
          TableName: tableName,
          Item: {
            ...key,
            seededAt: SEEDED_AT,
            updatedAt: SEEDED_AT,
            listKind: 'INTERFACES#inventory',
            listSort: key.pk,
          },
        }),
      );

    // Act
    const legacy = await config.getInterface('port-status');
    const changed = await config.reconfigureInterface('port-status', 0, {
      values: { timeoutSeconds: 7 },
      overrides: {},
      change: timeoutChange(1, 5, 7, CHANGED_AT),
    });
    await config.seed(systems, interfaces, RESEEDED_AT);

    // Assess
    assert.equal(legacy?.revision, 0);
    assert.deepEqual(legacy?.overrides, {});
    assert.notEqual(changed, 'stale');
    assert.equal((await config.getInterface('reserve-port'))?.revision, 1);
  });

  it("merges again when an operator's change lands between a seed's read and its write", async () => {
    // Prepare: the seed's first write finds that an operator changed reserve-port meanwhile.
    const tableName = await newTable();
    const config = new DynamoDbConfigurationStore(dynamo.db, tableName);
    const { systems, interfaces } = definitions();
    await config.seed(systems, interfaces, SEEDED_AT);
    let raced = false;
    const racing = {
      send: async (command: unknown) => {
        const input = (command as { input?: { Key?: { pk?: string }; ConditionExpression?: string } }).input;
        if (!raced && command instanceof UpdateCommand && input?.Key?.pk === 'INTERFACE#reserve-port') {
          raced = true;
          await config.reconfigureInterface('reserve-port', 1, {
            values: { timeoutSeconds: 20 },
            overrides: { timeoutSeconds: { catalogValue: 10, at: CHANGED_AT, by: OLGA } },
            change: timeoutChange(2, 10, 20, CHANGED_AT),
          });
        }
        return dynamo.db.send(command as UpdateCommand);
      },
    } as unknown as typeof dynamo.db;
    const seeder = new DynamoDbConfigurationStore(racing, tableName);
    byId(interfaces, 'reserve-port').path = '/ports/v2/reservations';

    // Act
    const result = await seeder.seed(systems, interfaces, RESEEDED_AT);

    // Assess
    assert.ok(raced);
    assert.deepEqual(result.overrides.kept, ['interface reserve-port timeoutSeconds']);
    const iface = await config.getInterface('reserve-port');
    assert.equal(iface?.timeoutSeconds, 20, "the operator's change is not lost");
    assert.equal(iface?.path, '/ports/v2/reservations');
    assert.equal(iface?.revision, 3);
  });
});
