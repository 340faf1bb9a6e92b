import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DynamoDbOrderStore } from '../../lambdas/adapters/dynamodb-order-store';
import { externalIdsOf, type OrderRecord, type OrderState } from '../../lambdas/domain/orchestration';
import { createKeyOnlyOrdersTable, inProcessDynalite } from './fixtures/dynalite';

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
    const ids = async (query: {
      externalId: string;
      state?: OrderState;
      offset?: number;
      limit?: number;
    }) => {
      const page = await orders.listOrders({ offset: 0, limit: 10, ...query });
      return { ids: page.orders.map((o) => o.id), total: page.total };
    };

    // Act + Assess
    assert.deepEqual(await ids({ externalId: 'CRM-1' }), { ids: ['third', 'second', 'first'], total: 3 });
    assert.deepEqual(await ids({ externalId: 'PORTAL-9' }), { ids: ['second'], total: 1 });
    assert.deepEqual(await ids({ externalId: 'CRM-1', state: 'completed' }), { ids: ['second'], total: 1 });
    assert.deepEqual(await ids({ externalId: 'CRM-1', offset: 1, limit: 1 }), { ids: ['second'], total: 3 });
    assert.deepEqual(await ids({ externalId: 'NOPE' }), { ids: [], total: 0 });
  });
});
