import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoDbOrderStore } from '../../lambdas/adapters/dynamodb-order-store';
import {
  externalIdsOf,
  type ItemRecord,
  type OrderRecord,
  type OrderState,
} from '../../lambdas/domain/orchestration';
import { createKeyOnlyOrdersTable, inProcessDynalite, recording } from './fixtures/dynalite';

const dynamo = inProcessDynalite('eu-west-1');

async function newStore(): Promise<DynamoDbOrderStore> {
  return new DynamoDbOrderStore(dynamo.db, await createKeyOnlyOrdersTable(dynamo.raw));
}

function order(
  id: string,
  minute: number,
  externalId: unknown,
  state: OrderState = 'inProgress',
): OrderRecord {
  const at = `2025-03-01T09:${String(minute).padStart(2, '0')}:00.000Z`;
  return {
    id,
    state,
    submitted: externalId === undefined ? {} : { externalId },
    itemKeys: [],
    planRuns: [],
    createdAt: at,
    updatedAt: at,
  };
}

describe('externalIdsOf', () => {
  it('gives each id an order was submitted with once, and nothing for an order without any', () => {
    assert.deepEqual(externalIdsOf(order('o', 0, [{ id: 'CRM-1' }, { id: 'PORTAL-9' }, { id: 'CRM-1' }])), [
      'CRM-1',
      'PORTAL-9',
    ]);
    assert.deepEqual(externalIdsOf(order('o', 0, undefined)), []);
    assert.deepEqual(externalIdsOf(order('o', 0, [{ owner: 'no id' }])), []);
  });
});

describe('DynamoDbOrderStore: orders by external id', () => {
  it('finds every order with an external id, newest first, by any of its ids, in a state, a page at a time', async () => {
    // Prepare
    const orders = await newStore();
    await orders.createOrder(order('first', 1, [{ id: 'CRM-1' }]), []);
    await orders.createOrder(order('second', 2, [{ id: 'PORTAL-9' }, { id: 'CRM-1' }], 'completed'), []);
    await orders.createOrder(order('third', 3, [{ id: 'CRM-1' }]), []);
    await orders.createOrder(order('other', 4, [{ id: 'CRM-2' }]), []);
    await orders.createOrder(order('none', 5, undefined), []);
    const ids = async (query: { externalId: string; state?: OrderState; after?: string; limit?: number }) => {
      const page = await orders.listOrders({ limit: 10, ...query });
      return { ids: page.orders.map((o) => o.id), next: page.next };
    };

    // Act + Assess
    assert.deepEqual(await ids({ externalId: 'CRM-1' }), {
      ids: ['third', 'second', 'first'],
      next: undefined,
    });
    assert.deepEqual(await ids({ externalId: 'PORTAL-9' }), { ids: ['second'], next: undefined });
    assert.deepEqual(await ids({ externalId: 'CRM-1', state: 'completed' }), {
      ids: ['second'],
      next: undefined,
    });
    // A page at a time: the next one starts after the last one's position.
    const first = await ids({ externalId: 'CRM-1', limit: 2 });
    assert.deepEqual(first, { ids: ['third', 'second'], next: '2025-03-01T09:02:00.000Z#second' });
    assert.deepEqual(await ids({ externalId: 'CRM-1', limit: 2, after: first.next }), {
      ids: ['first'],
      next: undefined,
    });
    assert.deepEqual(await ids({ externalId: 'NOPE' }), { ids: [], next: undefined });
  });
});

describe('DynamoDbOrderStore: an order that cannot be written leaves nothing behind', () => {
  /** Every record of the table, as its keys. */
  async function keysIn(tableName: string): Promise<string[]> {
    const { Items = [] } = await dynamo.db.send(new ScanCommand({ TableName: tableName }));
    return Items.map((item) => `${item.pk} ${item.sk}`);
  }
  const items = (orderId: string, count: number): ItemRecord[] =>
    Array.from({ length: count }, (_, i) => ({
      orderId,
      key: `dsl.step-${i}`,
      planId: 'dsl',
      planItemId: `step-${i}`,
      type: 'milestone',
      dependsOn: [],
      state: 'Pending',
      createdAt: '2025-03-01T09:00:00.000Z',
      updatedAt: '2025-03-01T09:00:00.000Z',
    }));

  it('deletes the items it wrote when a later batch is refused (an external id too long for a key)', async () => {
    // Prepare: 75 items go in three batches before the external id's record is refused.
    const tableName = await createKeyOnlyOrdersTable(dynamo.raw);
    const store = new DynamoDbOrderStore(dynamo.db, tableName);

    // Act
    await assert.rejects(store.createOrder(order('long', 1, [{ id: 'x'.repeat(3000) }]), items('long', 75)));

    // Assess
    assert.deepEqual(await keysIn(tableName), []);
  });

  it('deletes what it wrote when the order record itself fails, and keeps an order that exists already', async () => {
    // Prepare
    const tableName = await createKeyOnlyOrdersTable(dynamo.raw);
    const failing = recording(dynamo.db, (command) =>
      command instanceof PutCommand ? Promise.reject(new Error('the network went away')) : undefined,
    );
    const store = new DynamoDbOrderStore(dynamo.db, tableName);

    // Act
    await assert.rejects(
      new DynamoDbOrderStore(failing.client, tableName).createOrder(
        order('lost', 1, [{ id: 'CRM-7' }]),
        items('lost', 3),
      ),
      /the network went away/,
    );
    await store.createOrder(order('kept', 2, [{ id: 'CRM-8' }]), items('kept', 2));
    await assert.rejects(store.createOrder(order('kept', 2, [{ id: 'CRM-8' }]), items('kept', 2)));

    // Assess
    const keys = await keysIn(tableName);
    assert.equal(keys.filter((key) => key.includes('lost')).length, 0, keys.join('\n'));
    assert.equal(keys.filter((key) => key.startsWith('ORDER#kept')).length, 5, keys.join('\n'));
  });
});
