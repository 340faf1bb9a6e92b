import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DynamoDbOrderStore } from '../../lambdas/adapters/dynamodb-order-store';
import { listPosition } from '../../lambdas/adapters/order-records';
import type { OrderRecord, OrderState } from '../../lambdas/domain/orchestration';
import type { OrderListQuery } from '../../lambdas/ports/order-store';
import { LIST_SHARDS, listShardOf } from '../../lambdas/shared/order-table';
import { createOrdersTableWithListings, inProcessDynalite, recording } from './fixtures/dynalite';

const dynamo = inProcessDynalite('eu-west-1');
const SUBMITTERS = ['crm', 'web-shop', 'partner'];
const STATES: OrderState[] = ['inProgress', 'completed', 'held'];

/** Order n: created n seconds after nine, submitted by one of three clients, in one of three states. */
function order(n: number): OrderRecord {
  const at = new Date(Date.parse('2025-03-01T09:00:00.000Z') + n * 1000).toISOString();
  const submitter = SUBMITTERS[n % 3] as string;
  return {
    id: `order-${String(n).padStart(3, '0')}`,
    state: STATES[Math.floor(n / 3) % 3] as OrderState,
    submitted: {},
    submittedBy: { id: submitter, name: submitter },
    itemKeys: [],
    planRuns: [],
    createdAt: at,
    updatedAt: at,
  };
}

const ORDERS = Array.from({ length: 61 }, (_, n) => order(n));
const newestFirst = (orders: OrderRecord[]) =>
  [...orders].sort((a, b) => listPosition(b).localeCompare(listPosition(a))).map((o) => o.id);

let shared: { store: DynamoDbOrderStore; tableName: string } | undefined;
async function storeWithOrders() {
  if (shared) return shared;
  const tableName = await createOrdersTableWithListings(dynamo.raw);
  const store = new DynamoDbOrderStore(dynamo.db, tableName);
  for (const o of ORDERS) await store.createOrder(o, []);
  shared = { store, tableName };
  return shared;
}

/** Every page of a listing, following `next`: the ids of each page. */
async function pages(store: DynamoDbOrderStore, query: Omit<OrderListQuery, 'after'>): Promise<string[][]> {
  const found: string[][] = [];
  let after: string | undefined;
  for (let n = 0; n < 100; n++) {
    const page = await store.listOrders({ ...query, ...(after !== undefined ? { after } : {}) });
    found.push(page.orders.map((o) => o.id));
    if (page.next === undefined) return found;
    after = page.next;
  }
  assert.fail('the listing did not end');
}

describe('DynamoDbOrderStore: listing orders over sharded index partitions', () => {
  it('spreads the orders over every shard', () => {
    const shards = new Set(ORDERS.map((o) => listShardOf(o.id)));
    assert.equal(shards.size, LIST_SHARDS);
  });

  const listings: [string, Omit<OrderListQuery, 'after' | 'limit'>, (o: OrderRecord) => boolean][] = [
    ['every order', {}, () => true],
    ['the orders in one state', { state: 'completed' }, (o) => o.state === 'completed'],
    ['one submitter’s orders', { submittedBy: 'web-shop' }, (o) => o.submittedBy?.id === 'web-shop'],
    [
      'one submitter’s orders in one state (filtered)',
      { submittedBy: 'crm', state: 'held' },
      (o) => o.submittedBy?.id === 'crm' && o.state === 'held',
    ],
  ];
  for (const [what, query, matches] of listings) {
    it(`lists ${what} newest first, a page at a time, each once, across the shards`, async () => {
      // Prepare
      const { store } = await storeWithOrders();

      // Act
      const found = await pages(store, { ...query, limit: 7 });

      // Assess
      assert.deepEqual(found.flat(), newestFirst(ORDERS.filter(matches)));
      assert.ok(found.every((page) => page.length <= 7));
      if (!('submittedBy' in query && 'state' in query)) {
        // Unfiltered: every page is whole but the last.
        assert.ok(
          found.slice(0, -1).every((page) => page.length === 7),
          JSON.stringify(found),
        );
      }
    });
  }

  it('reads one round of shard queries for a page, never a count of the listing', async () => {
    // Prepare
    const { tableName } = await storeWithOrders();
    const { client, sent } = recording(dynamo.db);
    const store = new DynamoDbOrderStore(client, tableName);

    // Act
    const page = await store.listOrders({ limit: 20 });

    // Assess: a query per shard, each for a page at most, and a batch read of the page's accepted
    // orders; nothing counts.
    assert.equal(page.orders.length, 20);
    const queries = sent.filter((c) => c.name === 'QueryCommand');
    assert.equal(queries.length, LIST_SHARDS, JSON.stringify(sent.map((c) => c.name)));
    assert.ok(queries.every((q) => q.input.Limit === 20 && q.input.Select === undefined));
    assert.ok(sent.every((c) => c.name === 'QueryCommand' || c.name === 'BatchGetCommand'));
  });

  it('moves an order to its new state’s listing, in the same shard', async () => {
    const tableName = await createOrdersTableWithListings(dynamo.raw);
    const store = new DynamoDbOrderStore(dynamo.db, tableName);
    const o = { ...order(1), state: 'acknowledged' as OrderState };
    await store.createOrder(o, []);

    await store.setOrderState(o.id, ['acknowledged'], 'inProgress', '2025-03-01T10:00:00.000Z');

    assert.deepEqual((await store.listOrders({ state: 'acknowledged', limit: 10 })).orders, []);
    assert.deepEqual(
      (await store.listOrders({ state: 'inProgress', limit: 10 })).orders.map((x) => x.id),
      [o.id],
    );
  });
});
