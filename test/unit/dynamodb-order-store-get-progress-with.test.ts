import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BatchGetCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoDbOrderStore } from '../../lambdas/adapters/dynamodb-order-store';
import type { ItemRecord } from '../../lambdas/domain/orchestration';
import {
  batchRequest,
  createKeyOnlyOrdersTable,
  inProcessDynalite,
  orderRecordFor,
  recording,
  type SentCommand,
} from './fixtures/dynalite';

const REGION = 'eu-west-1';
const CREATED_AT = '2025-03-01T09:00:00.000Z';

const dynamo = inProcessDynalite(REGION);

/** A fresh orders table with the stateful stack's keys; these reads use no index. */
const newTable = () => createKeyOnlyOrdersTable(dynamo.raw);

/** The keys a recorded BatchGetItem asked the table for, as sort keys. */
const batchKeys = (command: SentCommand | undefined, tableName: string): string[] =>
  batchRequest(command, tableName).Keys.map((key) => key.sk);

const pendingItem = (orderId: string, key: string): ItemRecord => ({
  orderId,
  key,
  planId: 'many',
  planItemId: key,
  type: 'milestone',
  dependsOn: [],
  state: 'Pending',
  version: 1,
  recent: [{ at: CREATED_AT, state: 'Pending', reason: 'order accepted' }],
  createdAt: CREATED_AT,
  updatedAt: CREATED_AT,
});

/** Stores an acknowledged order with `count` Pending items keyed `item-000`, `item-001`, …; returns them. */
async function storeOrder(store: DynamoDbOrderStore, orderId: string, count: number): Promise<ItemRecord[]> {
  const items = Array.from({ length: count }, (_, i) =>
    pendingItem(orderId, `item-${String(i).padStart(3, '0')}`),
  );
  await store.createOrder(orderRecordFor(orderId, items, 'acknowledged'), items);
  return items;
}

const keyAt = (items: ItemRecord[], index: number): string => {
  const item = items[index];
  assert.ok(item, `item ${index}`);
  return item.key;
};

describe('DynamoDbOrderStore.getProgressWith', () => {
  it("reads the order's done set and two named items in one consistent BatchGetItem", async () => {
    // Prepare
    const tableName = await newTable();
    const items = await storeOrder(new DynamoDbOrderStore(dynamo.db, tableName), 'order-1', 3);
    const { client, sent } = recording(dynamo.db);
    const store = new DynamoDbOrderStore(client, tableName);
    const [first, , third] = [keyAt(items, 0), keyAt(items, 1), keyAt(items, 2)];

    // Act
    const read = await store.getProgressWith('order-1', [first, third]);

    // Assess
    assert.deepEqual(
      sent.map((command) => command.name),
      ['BatchGetCommand'],
    );
    assert.deepEqual(batchKeys(sent[0], tableName), ['PROGRESS', `ITEM#${first}`, `ITEM#${third}`]);
    assert.equal(batchRequest(sent[0], tableName).ConsistentRead, true);
    const whole = await store.getAggregate('order-1');
    assert.ok(whole);
    assert.deepEqual(read.done, whole.done);
    assert.deepEqual([...read.items.keys()].sort(), [first, third]);
    assert.deepEqual(read.items.get(first), whole.items.get(first));
    assert.deepEqual(read.items.get(third), whole.items.get(third));
  });

  it('sees what was written just before: a task token and a done item', async () => {
    // Prepare
    const store = new DynamoDbOrderStore(dynamo.db, await newTable());
    const items = await storeOrder(store, 'order-1', 2);
    const [first, second] = [keyAt(items, 0), keyAt(items, 1)];
    assert.equal(await store.attachTaskToken('order-1', second, 'token-2', CREATED_AT), true);
    await store.markItemDone('order-1', first, undefined);

    // Act
    const read = await store.getProgressWith('order-1', [second]);

    // Assess: string sets come back as the model's lists.
    assert.deepEqual(read.done, [first]);
    assert.deepEqual(read.items.get(second)?.taskTokens, ['token-2']);
  });

  it('leaves a key with no item out of the map', async () => {
    // Prepare
    const store = new DynamoDbOrderStore(dynamo.db, await newTable());
    const items = await storeOrder(store, 'order-1', 2);
    const first = keyAt(items, 0);

    // Act
    const read = await store.getProgressWith('order-1', [first, 'no-such-item']);

    // Assess
    assert.deepEqual(read.done, []);
    assert.deepEqual([...read.items.keys()], [first]);
    assert.equal(read.items.has('no-such-item'), false);
  });

  it('asks for a key named twice once (BatchGetItem refuses duplicate keys)', async () => {
    // Prepare
    const tableName = await newTable();
    const items = await storeOrder(new DynamoDbOrderStore(dynamo.db, tableName), 'order-1', 2);
    const { client, sent } = recording(dynamo.db);
    const store = new DynamoDbOrderStore(client, tableName);
    const [first, second] = [keyAt(items, 0), keyAt(items, 1)];

    // Act
    const read = await store.getProgressWith('order-1', [first, second, first, second, first]);

    // Assess
    assert.deepEqual(batchKeys(sent[0], tableName), ['PROGRESS', `ITEM#${first}`, `ITEM#${second}`]);
    assert.equal(sent.length, 1);
    assert.deepEqual([...read.items.keys()].sort(), [first, second]);
  });

  it('answers no order and no items for an unknown order', async () => {
    // Prepare
    const store = new DynamoDbOrderStore(dynamo.db, await newTable());
    await storeOrder(store, 'order-1', 2);

    // Act
    const read = await store.getProgressWith('no-such-order', ['item-000', 'item-001']);

    // Assess
    assert.equal(read.done, undefined);
    assert.equal(read.items.size, 0);
  });

  it('reads more than 100 keys in batches of 100 (dynalite refuses more, as DynamoDB does)', async () => {
    // Prepare: 120 items; with the progress record, 121 keys.
    const tableName = await newTable();
    const items = await storeOrder(new DynamoDbOrderStore(dynamo.db, tableName), 'order-1', 120);
    const { client, sent } = recording(dynamo.db);
    const store = new DynamoDbOrderStore(client, tableName);
    const keys = items.map((item) => item.key);

    // Act
    const read = await store.getProgressWith('order-1', [...keys, 'no-such-item']);

    // Assess
    assert.deepEqual(
      sent.map((command) => batchKeys(command, tableName).length),
      [100, 22],
    );
    assert.deepEqual(read.done, []);
    assert.deepEqual([...read.items.keys()].sort(), keys);
    assert.deepEqual(read.items.get(keyAt(items, 119)), items[119]);
  });

  it('asks again for the keys DynamoDB left unprocessed', async () => {
    // Prepare: the first BatchGetItem answers the progress record only and leaves the items unprocessed.
    const tableName = await newTable();
    const items = await storeOrder(new DynamoDbOrderStore(dynamo.db, tableName), 'order-1', 3);
    const keys = items.map((item) => item.key);
    const { client, sent } = recording(dynamo.db, (command, index) => {
      if (index > 0 || !(command instanceof BatchGetCommand)) return undefined;
      const request = command.input.RequestItems?.[tableName];
      assert.ok(request?.Keys);
      const [orderKey, ...rest] = request.Keys;
      return dynamo.db
        .send(new BatchGetCommand({ RequestItems: { [tableName]: { ...request, Keys: [orderKey ?? {}] } } }))
        .then((answer) => ({
          ...answer,
          UnprocessedKeys: { [tableName]: { ...request, Keys: rest } },
        }));
    });
    const store = new DynamoDbOrderStore(client, tableName);

    // Act
    const read = await store.getProgressWith('order-1', keys);

    // Assess
    assert.deepEqual(
      sent.map((command) => batchKeys(command, tableName)),
      [['PROGRESS', ...keys.map((key) => `ITEM#${key}`)], keys.map((key) => `ITEM#${key}`)],
    );
    assert.deepEqual(read.done, []);
    assert.deepEqual([...read.items.keys()].sort(), keys);
  });
});
