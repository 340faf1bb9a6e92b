import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BatchGetCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoDbConfigurationStore } from '../../lambdas/adapters/dynamodb-configuration-store';
import type { FulfilmentSystem, SystemInterface } from '../../lambdas/domain/catalog';
import type { Actor } from '../../lambdas/domain/roles';
import { dslCatalog } from './fixtures/catalogs';
import {
  batchRequest,
  createConfigurationTable,
  inProcessDynalite,
  recording,
  type SentCommand,
} from './fixtures/dynalite';

const REGION = 'eu-west-1';
const SEEDED_AT = '2025-03-01T09:00:00.000Z';
const OPERATOR: Actor = { id: 'op-1', name: 'Olga Operator' };

const dynamo = inProcessDynalite(REGION);

/** The DSL catalog's systems and interfaces: reserve-port and port-status on inventory, activate-line on activation. */
function definitions(): { systems: FulfilmentSystem[]; interfaces: SystemInterface[] } {
  const catalog = dslCatalog();
  return { systems: Object.values(catalog.systems), interfaces: Object.values(catalog.interfaces) };
}

/**
 * A configuration store on the file's dynalite, seeded with `systems` and `interfaces`, whose reads are
 * recorded by command class name from the seed on; `intercept` may answer a command in its place.
 */
async function seededStore(
  seed = definitions(),
  intercept?: (command: object, index: number) => Promise<unknown> | undefined,
): Promise<{ config: DynamoDbConfigurationStore; sent: SentCommand[]; tableName: string }> {
  const tableName = await createConfigurationTable(dynamo.raw);
  await new DynamoDbConfigurationStore(dynamo.db, tableName).seed(seed.systems, seed.interfaces, SEEDED_AT);
  const { client, sent } = recording(dynamo.db, intercept);
  return { config: new DynamoDbConfigurationStore(client, tableName), sent, tableName };
}

/** The partition keys a recorded BatchGetItem asked for. */
const batchKeys = (command: SentCommand | undefined, tableName: string): string[] =>
  batchRequest(command, tableName).Keys.map((key) => key.pk);

/** What the store reads one at a time: the expected answer, read on the plain client. */
async function expectedTarget(tableName: string, systemId: string, interfaceId: string) {
  const plain = new DynamoDbConfigurationStore(dynamo.db, tableName);
  const system = await plain.getSystem(systemId);
  const iface = await plain.getInterface(interfaceId);
  assert.ok(system && iface);
  return { system, iface };
}

describe('DynamoDbConfigurationStore.calloutTarget', () => {
  it('reads the interface and the hinted system in one consistent BatchGetItem', async () => {
    // Prepare
    const { config, sent, tableName } = await seededStore();

    // Act
    const target = await config.calloutTarget('activate-line', 'activation');

    // Assess
    assert.deepEqual(
      sent.map((command) => command.name),
      ['BatchGetCommand'],
    );
    assert.deepEqual(batchKeys(sent[0], tableName).sort(), ['INTERFACE#activate-line', 'SYSTEM#activation']);
    assert.equal(batchRequest(sent[0], tableName).ConsistentRead, true);
    assert.deepEqual(target, await expectedTarget(tableName, 'activation', 'activate-line'));
    assert.equal(target?.system.state, 'Up');
    assert.equal(target?.iface.status, 'Online');
  });

  it('sees a system taken Down just before', async () => {
    // Prepare
    const { config } = await seededStore();
    await config.setSystemState('inventory', 'Down', {
      by: OPERATOR,
      reason: 'firmware upgrade',
      cause: 'operator',
      at: '2025-03-01T10:00:00.000Z',
    });

    // Act
    const target = await config.calloutTarget('reserve-port', 'inventory');

    // Assess
    assert.equal(target?.system.state, 'Down');
    assert.equal(target?.system.stateChange?.reason, 'firmware upgrade');
    assert.equal(target?.iface.id, 'reserve-port');
  });

  it("reads the interface's own system when the hint names another (the catalog moved it)", async () => {
    // Prepare: port-status now belongs to activation; the worker's catalog still says inventory.
    const seed = definitions();
    const portStatus = seed.interfaces.find((iface) => iface.id === 'port-status');
    assert.ok(portStatus);
    portStatus.system = 'activation';
    const { config, sent, tableName } = await seededStore(seed);

    // Act
    const target = await config.calloutTarget('port-status', 'inventory');

    // Assess
    assert.deepEqual(
      sent.map((command) => command.name),
      ['BatchGetCommand', 'GetCommand'],
    );
    assert.deepEqual(sent[1]?.input.Key, { pk: 'SYSTEM#activation', sk: 'SYSTEM' });
    assert.deepEqual(target, await expectedTarget(tableName, 'activation', 'port-status'));
  });

  it("reads the interface's own system when the hinted system does not exist", async () => {
    // Prepare
    const { config, tableName } = await seededStore();

    // Act
    const target = await config.calloutTarget('reserve-port', 'no-such-system');

    // Assess
    assert.deepEqual(target, await expectedTarget(tableName, 'inventory', 'reserve-port'));
  });

  it('answers undefined for an unknown interface, reading nothing more', async () => {
    // Prepare
    const { config, sent } = await seededStore();

    // Act
    const target = await config.calloutTarget('no-such-interface', 'inventory');

    // Assess
    assert.equal(target, undefined);
    assert.deepEqual(
      sent.map((command) => command.name),
      ['BatchGetCommand'],
    );
  });

  it('answers undefined for an interface whose system is missing', async () => {
    // Prepare: reserve-port alone, its system inventory never seeded.
    const { interfaces } = definitions();
    const { config } = await seededStore({
      systems: [],
      interfaces: interfaces.filter((iface) => iface.id === 'reserve-port'),
    });

    // Act + Assess
    assert.equal(await config.calloutTarget('reserve-port', 'inventory'), undefined);
    assert.equal(await config.calloutTarget('reserve-port'), undefined);
  });

  it('without the hint reads the interface, then its system, as before', async () => {
    // Prepare
    const { config, sent, tableName } = await seededStore();

    // Act
    const target = await config.calloutTarget('reserve-port');

    // Assess
    assert.deepEqual(
      sent.map((command) => [command.name, (command.input.Key as { pk: string } | undefined)?.pk]),
      [
        ['GetCommand', 'INTERFACE#reserve-port'],
        ['GetCommand', 'SYSTEM#inventory'],
      ],
    );
    assert.deepEqual(target, await expectedTarget(tableName, 'inventory', 'reserve-port'));
    assert.equal(await config.calloutTarget('no-such-interface'), undefined);
  });

  it('asks again for the keys DynamoDB left unprocessed', async () => {
    // Prepare: the first BatchGetItem answers nothing and leaves both keys unprocessed.
    const { config, sent, tableName } = await seededStore(definitions(), (command, index) => {
      if (index > 0 || !(command instanceof BatchGetCommand)) return undefined;
      return Promise.resolve({ Responses: { [tableName]: [] }, UnprocessedKeys: command.input.RequestItems });
    });

    // Act
    const target = await config.calloutTarget('activate-line', 'activation');

    // Assess
    assert.deepEqual(
      sent.map((command) => command.name),
      ['BatchGetCommand', 'BatchGetCommand'],
    );
    assert.deepEqual(batchKeys(sent[1], tableName).sort(), ['INTERFACE#activate-line', 'SYSTEM#activation']);
    assert.deepEqual(target, await expectedTarget(tableName, 'activation', 'activate-line'));
  });
});
