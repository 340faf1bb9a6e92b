import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { CreateTableCommand, DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoDbOrderStore } from '../../lambdas/adapters/dynamodb-order-store';
import type { HoldInfo } from '../../lambdas/domain/availability';
import { callbackNonce } from '../../lambdas/domain/callback';
import type { ItemRecord, OrderState } from '../../lambdas/domain/orchestration';
import type { HeldItem } from '../../lambdas/ports/order-store';
import {
  HELD_ITEM_ATTRIBUTES,
  ITEMS_HELD_BY_INTERFACE,
  ITEMS_HELD_BY_SYSTEM,
  ORDERS_BY_CREATION,
  ORDERS_BY_STATE,
} from '../../lambdas/shared/order-table';
import { inProcessDynalite, orderRecordFor } from './fixtures/dynalite';

const REGION = 'eu-west-1';
const CREATED_AT = '2025-03-01T09:00:00.000Z';
const NOW = new Date('2025-03-01T10:00:00.000Z');
const iso = (ms: number) => new Date(NOW.getTime() + ms).toISOString();
/** What the on-hold indexes need on an item; reads of the item never show them. */
const LISTING_ATTRIBUTES = ['heldSystem', 'heldInterface', 'holdSort', 'releaseId', 'releaseAt'];

const dynamo = inProcessDynalite(REGION);

/** A fresh orders table with the stateful stack's keys and indexes (lib/stateful-stack.ts), uniquely named. */
async function newTable(): Promise<string> {
  const name = `orders-${randomUUID()}`;
  const heldIndex = (indexName: string, partition: string) => ({
    IndexName: indexName,
    KeySchema: [
      { AttributeName: partition, KeyType: 'HASH' as const },
      { AttributeName: 'holdSort', KeyType: 'RANGE' as const },
    ],
    Projection: { ProjectionType: 'INCLUDE' as const, NonKeyAttributes: HELD_ITEM_ATTRIBUTES },
  });
  await dynamo.raw.send(
    new CreateTableCommand({
      TableName: name,
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      AttributeDefinitions: [
        'pk',
        'sk',
        'listAll',
        'listState',
        'listSort',
        'heldSystem',
        'heldInterface',
        'holdSort',
      ].map((attribute) => ({ AttributeName: attribute, AttributeType: 'S' as const })),
      GlobalSecondaryIndexes: [
        {
          IndexName: ORDERS_BY_CREATION,
          KeySchema: [
            { AttributeName: 'listAll', KeyType: 'HASH' },
            { AttributeName: 'listSort', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
        {
          IndexName: ORDERS_BY_STATE,
          KeySchema: [
            { AttributeName: 'listState', KeyType: 'HASH' },
            { AttributeName: 'listSort', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
        heldIndex(ITEMS_HELD_BY_SYSTEM, 'heldSystem'),
        heldIndex(ITEMS_HELD_BY_INTERFACE, 'heldInterface'),
      ],
    }),
  );
  // dynalite creates the table on a timer, even with createTableMs 0.
  for (let i = 0; i < 100; i++) {
    const { Table } = await dynamo.raw.send(new DescribeTableCommand({ TableName: name }));
    if (Table?.TableStatus === 'ACTIVE') return name;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.fail(`table ${name} did not become active`);
}

/** The system each interface belongs to, as in the DSL catalog. */
const SYSTEM_OF: Record<string, string> = {
  'reserve-port': 'inventory',
  'port-status': 'inventory',
  'activate-line': 'activation',
};

const pendingItem = (orderId: string, key: string, interfaceId: string): ItemRecord => ({
  orderId,
  key,
  planId: 'broadband',
  planItemId: key.split('.')[1] ?? key,
  type: 'callout',
  interfaceId,
  dependsOn: [],
  state: 'Pending',
  version: 1,
  recent: [{ at: CREATED_AT, state: 'Pending', reason: 'order accepted' }],
  createdAt: CREATED_AT,
  updatedAt: CREATED_AT,
});

/** Stores an order in `state` with one Pending callout item per interface; returns the items. */
async function storeOrder(
  store: DynamoDbOrderStore,
  orderId: string,
  interfaces: string[],
  state: OrderState = 'inProgress',
): Promise<ItemRecord[]> {
  const items = interfaces.map((interfaceId, i) =>
    pendingItem(orderId, `broadband.${interfaceId}.${i + 1}`, interfaceId),
  );
  await store.createOrder(orderRecordFor(orderId, items, state), items);
  return items;
}

const holdOf = (item: ItemRecord, sinceMs: number): HoldInfo => {
  const interfaceId = item.interfaceId ?? '';
  const systemId = SYSTEM_OF[interfaceId] ?? '';
  return { systemId, interfaceId, since: iso(sinceMs), reason: `system "${systemId}" is Down: firmware` };
};

/** Puts a Pending item On Hold since `sinceMs`, asserting that it was. */
async function hold(store: DynamoDbOrderStore, item: ItemRecord, sinceMs: number): Promise<HoldInfo> {
  const info = holdOf(item, sinceMs);
  assert.equal(await store.holdItem(item.orderId, item.key, 'delivery-0', info, info.since), true);
  return info;
}

/** The item as the on-hold lists show it. */
const listed = (item: ItemRecord, info: HoldInfo, release?: HeldItem['release']): HeldItem => ({
  orderId: item.orderId,
  key: item.key,
  hold: info,
  holdSort: `${info.since}#${item.orderId}#${item.key}`,
  ...(release ? { release } : {}),
});

/** The item record as stored, with the index attributes reads strip. */
async function rawItem(tableName: string, item: ItemRecord): Promise<Record<string, unknown> | undefined> {
  const result = await dynamo.db.send(
    new GetCommand({
      TableName: tableName,
      Key: { pk: `ORDER#${item.orderId}`, sk: `ITEM#${item.key}` },
      ConsistentRead: true,
    }),
  );
  return result.Item;
}

const first = <T>(list: T[]): T => {
  const [value] = list;
  assert.ok(value);
  return value;
};

describe('DynamoDbOrderStore: holding items', () => {
  it('holds a Pending item: OnHold with its hold and a history entry', async () => {
    // Prepare
    const store = new DynamoDbOrderStore(dynamo.db, await newTable());
    const item = first(await storeOrder(store, 'order-1', ['reserve-port']));
    const info = holdOf(item, 1_000);

    // Act
    const held = await store.holdItem('order-1', item.key, 'delivery-1', info, iso(2_000));

    // Assess
    assert.equal(held, true);
    const onHold = { at: iso(2_000), state: 'OnHold', reason: `on hold: ${info.reason}` } as const;
    assert.deepEqual(await store.getItem('order-1', item.key), {
      ...item,
      state: 'OnHold',
      hold: info,
      version: 2,
      recent: [...(item.recent ?? []), onHold],
      updatedAt: iso(2_000),
    });
    assert.deepEqual((await store.getItemDetail('order-1', item.key))?.history, [
      ...(item.recent ?? []),
      onHold,
    ]);
  });

  it("holds a Running item under the attempt that claimed it, and takes the attempt off it (not its request's callback URL)", async () => {
    // Prepare
    const store = new DynamoDbOrderStore(dynamo.db, await newTable());
    const item = first(await storeOrder(store, 'order-1', ['reserve-port']));
    assert.equal(await store.claimItem('order-1', item.key, 'delivery-1', iso(1_000), 'started'), true);
    assert.equal((await store.getItem('order-1', item.key))?.attemptId, 'delivery-1');
    const info = holdOf(item, 2_000);

    // Act + Assess: another attempt may not.
    assert.equal(await store.holdItem('order-1', item.key, 'delivery-2', info, iso(2_000)), false);
    const running = await store.getItem('order-1', item.key);
    assert.equal(running?.state, 'Running');
    assert.equal(running?.attemptId, 'delivery-1');
    assert.equal(running?.hold, undefined);

    // Act
    const held = await store.holdItem('order-1', item.key, 'delivery-1', info, iso(2_000));

    // Assess
    assert.equal(held, true);
    const stored = await store.getItem('order-1', item.key);
    const onHold = { at: iso(2_000), state: 'OnHold', reason: `on hold: ${info.reason}` } as const;
    assert.deepEqual(stored, {
      ...item,
      state: 'OnHold',
      hold: info,
      startedAt: iso(1_000),
      // The released attempt repeats the request, with the same URL: the system may have had it.
      callbackNonce: callbackNonce('delivery-1'),
      version: 3,
      recent: [...(item.recent ?? []), { at: iso(1_000), state: 'Running', reason: 'started' }, onHold],
      updatedAt: iso(2_000),
    });
    assert.deepEqual((await store.getItemDetail('order-1', item.key))?.history, [
      ...(item.recent ?? []),
      { at: iso(1_000), state: 'Running', reason: 'started' },
      onHold,
    ]);
    assert.equal(stored && 'attemptId' in stored, false);
  });

  it('does not hold an item that is held already, done, or not there', async () => {
    // Prepare
    const store = new DynamoDbOrderStore(dynamo.db, await newTable());
    const [heldItem, doneItem] = await storeOrder(store, 'order-1', ['reserve-port', 'port-status']);
    assert.ok(heldItem && doneItem);
    const info = await hold(store, heldItem, 1_000);
    const heldBefore = await store.getItem('order-1', heldItem.key);
    await store.claimItem('order-1', doneItem.key, 'delivery-1', iso(1_000), 'started');
    await store.completeItem('order-1', doneItem.key, 'delivery-1', {}, iso(1_500));
    const doneBefore = await store.getItem('order-1', doneItem.key);

    // Act + Assess
    assert.equal(
      await store.holdItem('order-1', heldItem.key, 'delivery-0', holdOf(heldItem, 3_000), iso(3_000)),
      false,
    );
    assert.equal(
      await store.holdItem('order-1', doneItem.key, 'delivery-1', holdOf(doneItem, 3_000), iso(3_000)),
      false,
    );
    assert.equal(await store.holdItem('order-1', 'no-such-item', 'delivery-1', info, iso(3_000)), false);
    assert.deepEqual(await store.getItem('order-1', heldItem.key), heldBefore);
    assert.deepEqual(await store.getItem('order-1', doneItem.key), doneBefore);
    assert.equal(await store.getItem('order-1', 'no-such-item'), undefined);
  });

  it('keeps the on-hold index attributes out of every read of the item', async () => {
    // Prepare: a held item with a release stamp carries all five.
    const tableName = await newTable();
    const store = new DynamoDbOrderStore(dynamo.db, tableName);
    const item = first(await storeOrder(store, 'order-1', ['reserve-port']));
    const info = await hold(store, item, 1_000);
    assert.equal(await store.stampRelease('order-1', item.key, 'release-1', iso(2_000), iso(0)), true);
    const stored = await rawItem(tableName, item);
    assert.deepEqual(
      LISTING_ATTRIBUTES.map((attribute) => stored?.[attribute]),
      ['inventory', 'reserve-port', `${info.since}#order-1#${item.key}`, 'release-1', iso(2_000)],
    );

    // Act
    const read = await store.getItem('order-1', item.key);
    const aggregate = await store.getAggregate('order-1');

    // Assess
    assert.ok(read);
    for (const attribute of LISTING_ATTRIBUTES) assert.equal(attribute in read, false, attribute);
    assert.deepEqual(aggregate?.items.get(item.key), read);
    assert.equal(read.state, 'OnHold');
    assert.deepEqual(read.hold, info);
  });
});

describe('DynamoDbOrderStore: on-hold lists', () => {
  it('lists the held items of a system and of one interface, oldest hold first', async () => {
    // Prepare: holds out of the order the items were created in, across two orders and two systems.
    const store = new DynamoDbOrderStore(dynamo.db, await newTable());
    const [a1, a2, a3] = await storeOrder(store, 'order-a', ['reserve-port', 'port-status', 'activate-line']);
    const [b1, b2, b3] = await storeOrder(store, 'order-b', ['port-status', 'reserve-port', 'reserve-port']);
    assert.ok(a1 && a2 && a3 && b1 && b2 && b3);
    const a1Hold = await hold(store, a1, 4_000);
    const a2Hold = await hold(store, a2, 1_000);
    const a3Hold = await hold(store, a3, 2_000);
    const b1Hold = await hold(store, b1, 3_000);
    const b2Hold = await hold(store, b2, 5_000);
    // b3 stays Pending: not held, not listed.

    // Act
    const bySystem = await store.listHeldItems({ systemId: 'inventory', limit: 10 });
    const byInterface = await store.listHeldItems({
      systemId: 'inventory',
      interfaceId: 'reserve-port',
      limit: 10,
    });
    const otherSystem = await store.listHeldItems({ systemId: 'activation', limit: 10 });

    // Assess
    assert.deepEqual(bySystem, {
      items: [listed(a2, a2Hold), listed(b1, b1Hold), listed(a1, a1Hold), listed(b2, b2Hold)],
    });
    assert.deepEqual(byInterface, { items: [listed(a1, a1Hold), listed(b2, b2Hold)] });
    assert.deepEqual(otherSystem, { items: [listed(a3, a3Hold)] });
    assert.deepEqual(await store.listHeldItems({ systemId: 'billing', limit: 10 }), { items: [] });
    assert.deepEqual(
      await store.listHeldItems({ systemId: 'inventory', interfaceId: 'no-such-interface', limit: 10 }),
      { items: [] },
    );
  });

  it('pages through the held items with limit and next, each item once', async () => {
    // Prepare: five held items.
    const store = new DynamoDbOrderStore(dynamo.db, await newTable());
    const items = await storeOrder(store, 'order-1', [
      'reserve-port',
      'port-status',
      'reserve-port',
      'port-status',
      'reserve-port',
    ]);
    const all: HeldItem[] = [];
    for (const [i, item] of items.entries()) all.push(listed(item, await hold(store, item, (5 - i) * 1_000)));
    all.sort((a, b) => a.hold.since.localeCompare(b.hold.since));

    for (const limit of [1, 2, 3, 5]) {
      // Act
      const pages: HeldItem[][] = [];
      let after: string | undefined;
      do {
        const page = await store.listHeldItems({ systemId: 'inventory', limit, ...(after ? { after } : {}) });
        assert.ok(page.items.length <= limit);
        if (page.next !== undefined) assert.equal(page.next, page.items.at(-1)?.holdSort);
        pages.push(page.items);
        after = page.next;
        assert.ok(pages.length <= 10, 'paging ends');
      } while (after);

      // Assess
      assert.deepEqual(pages.flat(), all, `limit ${limit}`);
      assert.deepEqual(
        pages.slice(0, Math.ceil(all.length / limit)).map((page) => page.length),
        Array.from({ length: Math.ceil(all.length / limit) }, (_, i) =>
          Math.min(limit, all.length - i * limit),
        ),
        `limit ${limit}`,
      );
    }
    const reservePort = all.filter((held) => held.hold.interfaceId === 'reserve-port');
    const firstPage = await store.listHeldItems({
      systemId: 'inventory',
      interfaceId: 'reserve-port',
      limit: 2,
    });
    assert.deepEqual(firstPage.items, reservePort.slice(0, 2));
    assert.equal(firstPage.next, reservePort[1]?.holdSort);
    assert.deepEqual(
      await store.listHeldItems({
        systemId: 'inventory',
        interfaceId: 'reserve-port',
        limit: 2,
        after: firstPage.next,
      }),
      { items: reservePort.slice(2) },
    );
  });

  it('takes a claimed item off both lists; the item keeps its hold', async () => {
    // Prepare
    const tableName = await newTable();
    const store = new DynamoDbOrderStore(dynamo.db, tableName);
    const [claimed, stays] = await storeOrder(store, 'order-1', ['reserve-port', 'reserve-port']);
    assert.ok(claimed && stays);
    const info = await hold(store, claimed, 1_000);
    const staysHold = await hold(store, stays, 2_000);
    await store.stampRelease('order-1', claimed.key, 'release-1', iso(3_000), iso(0));

    // Act
    const result = await store.claimItem(
      'order-1',
      claimed.key,
      'delivery-9',
      iso(4_000),
      'released; started',
    );

    // Assess
    assert.equal(result, true);
    const item = await store.getItem('order-1', claimed.key);
    assert.equal(item?.state, 'Running');
    assert.equal(item?.attemptId, 'delivery-9');
    assert.deepEqual(item?.hold, info);
    assert.deepEqual(item?.recent?.at(-1), { at: iso(4_000), state: 'Running', reason: 'released; started' });
    assert.deepEqual(await store.listHeldItems({ systemId: 'inventory', limit: 10 }), {
      items: [listed(stays, staysHold)],
    });
    assert.deepEqual(
      await store.listHeldItems({ systemId: 'inventory', interfaceId: 'reserve-port', limit: 10 }),
      {
        items: [listed(stays, staysHold)],
      },
    );
    const stored = await rawItem(tableName, claimed);
    assert.deepEqual(
      LISTING_ATTRIBUTES.filter((attribute) => stored && attribute in stored),
      [],
    );
  });
});

describe('DynamoDbOrderStore: release stamps', () => {
  /** A table with one order whose first item is held; the second stays Pending. */
  async function heldOne() {
    const store = new DynamoDbOrderStore(dynamo.db, await newTable());
    const [item, pending] = await storeOrder(store, 'order-1', ['reserve-port', 'port-status']);
    assert.ok(item && pending);
    const info = await hold(store, item, 1_000);
    const releaseOf = async () =>
      first((await store.listHeldItems({ systemId: 'inventory', limit: 10 })).items).release;
    return { store, item, pending, info, releaseOf };
  }

  it('stamps a held item that has no stamp, its own stamp, or a stale one, and shows it in the lists', async () => {
    // Prepare
    const { store, item, info, releaseOf } = await heldOne();
    const before = await store.getItem('order-1', item.key);

    // Act + Assess: no stamp.
    assert.equal(await store.stampRelease('order-1', item.key, 'release-1', iso(10_000), iso(0)), true);
    assert.deepEqual(await store.listHeldItems({ systemId: 'inventory', limit: 10 }), {
      items: [listed(item, info, { id: 'release-1', at: iso(10_000) })],
    });
    assert.deepEqual(await store.getItem('order-1', item.key), before, 'a stamp is no change of the item');

    // Act + Assess: its own stamp, again.
    assert.equal(await store.stampRelease('order-1', item.key, 'release-1', iso(20_000), iso(15_000)), true);
    assert.deepEqual(await releaseOf(), { id: 'release-1', at: iso(20_000) });

    // Act + Assess: a stale foreign stamp (made before staleBefore).
    assert.equal(await store.stampRelease('order-1', item.key, 'release-2', iso(30_000), iso(20_001)), true);
    assert.deepEqual(await releaseOf(), { id: 'release-2', at: iso(30_000) });
    assert.deepEqual(
      await store.listHeldItems({ systemId: 'inventory', interfaceId: 'reserve-port', limit: 10 }),
      { items: [listed(item, info, { id: 'release-2', at: iso(30_000) })] },
    );
  });

  it('does not stamp over a fresh foreign stamp, nor an item that is not On Hold', async () => {
    // Prepare
    const { store, item, pending, releaseOf } = await heldOne();
    await store.stampRelease('order-1', item.key, 'release-1', iso(10_000), iso(0));

    // Act + Assess: stamped at staleBefore exactly is fresh.
    assert.equal(await store.stampRelease('order-1', item.key, 'release-2', iso(11_000), iso(10_000)), false);
    assert.equal(await store.stampRelease('order-1', item.key, 'release-2', iso(11_000), iso(0)), false);
    assert.deepEqual(await releaseOf(), { id: 'release-1', at: iso(10_000) });

    // Act + Assess: Pending, Running, no such item.
    assert.equal(await store.stampRelease('order-1', pending.key, 'release-1', iso(11_000), iso(0)), false);
    await store.claimItem('order-1', item.key, 'delivery-1', iso(12_000), 'released; started');
    assert.equal(await store.stampRelease('order-1', item.key, 'release-3', iso(13_000), iso(99_000)), false);
    assert.equal(
      await store.stampRelease('order-1', 'no-such-item', 'release-1', iso(13_000), iso(0)),
      false,
    );
    assert.equal(await store.getItem('order-1', 'no-such-item'), undefined);
    assert.deepEqual(await store.listHeldItems({ systemId: 'inventory', limit: 10 }), { items: [] });
  });

  it('clears a stamp only for the release that made it', async () => {
    // Prepare
    const { store, item, info, releaseOf } = await heldOne();
    await store.stampRelease('order-1', item.key, 'release-1', iso(10_000), iso(0));

    // Act + Assess
    await store.clearReleaseStamp('order-1', item.key, 'release-2');
    assert.deepEqual(await releaseOf(), { id: 'release-1', at: iso(10_000) });
    await store.clearReleaseStamp('order-1', item.key, 'release-1');
    assert.deepEqual(await store.listHeldItems({ systemId: 'inventory', limit: 10 }), {
      items: [listed(item, info)],
    });
    await store.clearReleaseStamp('order-1', item.key, 'release-1');
    await store.clearReleaseStamp('order-1', 'no-such-item', 'release-1');
    assert.equal(await store.getItem('order-1', 'no-such-item'), undefined);

    // Assess: free for the next release, as if never stamped.
    assert.equal(await store.stampRelease('order-1', item.key, 'release-2', iso(11_000), iso(0)), true);
    assert.deepEqual(await releaseOf(), { id: 'release-2', at: iso(11_000) });
  });
});

describe('DynamoDbOrderStore: order holds', () => {
  const sorted = (holds: string[] | undefined) => (holds ? [...holds].sort() : holds);

  it('shows an order held while any item holds it, and in progress again when none does', async () => {
    // Prepare
    const store = new DynamoDbOrderStore(dynamo.db, await newTable());
    await storeOrder(store, 'order-1', ['reserve-port', 'port-status']);
    const listedIn = async (state: OrderState) =>
      (await store.listOrders({ state, limit: 10 })).orders.map((o) => o.id);

    // Act + Assess: one hold.
    await store.holdOrder('order-1', 'item-a', iso(1_000));
    const held = await store.getOrder('order-1');
    assert.equal(held?.state, 'held');
    assert.deepEqual(held?.holds, ['item-a']);
    assert.equal(held?.updatedAt, iso(1_000));
    assert.deepEqual(await listedIn('held'), ['order-1']);
    assert.deepEqual(await listedIn('inProgress'), []);

    // Act + Assess: a second hold, and the first again.
    await store.holdOrder('order-1', 'item-b', iso(2_000));
    await store.holdOrder('order-1', 'item-a', iso(2_500));
    assert.deepEqual(sorted((await store.getOrder('order-1'))?.holds), ['item-a', 'item-b']);

    // Act + Assess: a key that does not hold it, then one of two.
    await store.releaseOrderHold('order-1', 'item-c', iso(2_800));
    await store.releaseOrderHold('order-1', 'item-a', iso(3_000));
    const stillHeld = await store.getOrder('order-1');
    assert.equal(stillHeld?.state, 'held');
    assert.deepEqual(stillHeld?.holds, ['item-b']);
    assert.equal(stillHeld?.updatedAt, iso(3_000));

    // Act + Assess: the last.
    await store.releaseOrderHold('order-1', 'item-b', iso(4_000));
    const going = await store.getOrder('order-1');
    assert.equal(going?.state, 'inProgress');
    assert.equal(going && 'holds' in going, false);
    assert.equal(going?.updatedAt, iso(4_000));
    assert.deepEqual(await listedIn('held'), []);
    assert.deepEqual(await listedIn('inProgress'), ['order-1']);
  });

  it('holds an acknowledged order too', async () => {
    const store = new DynamoDbOrderStore(dynamo.db, await newTable());
    await storeOrder(store, 'order-1', ['reserve-port'], 'acknowledged');

    await store.holdOrder('order-1', 'item-a', iso(1_000));

    const order = await store.getOrder('order-1');
    assert.equal(order?.state, 'held');
    assert.deepEqual(order?.holds, ['item-a']);
  });

  it('keeps a completed or failed order as it is, though the key is recorded in its holds', async () => {
    // Prepare
    const store = new DynamoDbOrderStore(dynamo.db, await newTable());
    for (const state of ['completed', 'failed'] as const) {
      await storeOrder(store, `order-${state}`, ['reserve-port'], state);

      // Act
      await store.holdOrder(`order-${state}`, 'item-a', iso(1_000));

      // Assess
      const order = await store.getOrder(`order-${state}`);
      assert.equal(order?.state, state);
      assert.deepEqual(order?.holds, ['item-a']);
      assert.equal(order?.updatedAt, iso(1_000));

      // Act
      await store.releaseOrderHold(`order-${state}`, 'item-a', iso(2_000));

      // Assess
      const released = await store.getOrder(`order-${state}`);
      assert.equal(released?.state, state);
      assert.equal(released && 'holds' in released, false);
    }
  });

  it('leaves the state of an order that is not held when a hold is released', async () => {
    const store = new DynamoDbOrderStore(dynamo.db, await newTable());
    await storeOrder(store, 'order-1', ['reserve-port'], 'acknowledged');

    await store.releaseOrderHold('order-1', 'item-a', iso(1_000));

    const order = await store.getOrder('order-1');
    assert.equal(order?.state, 'acknowledged');
    assert.equal(order && 'holds' in order, false);
    assert.equal(order?.updatedAt, iso(1_000));
  });

  it('refuses to hold or release an order that is not there, and creates none', async () => {
    const store = new DynamoDbOrderStore(dynamo.db, await newTable());

    await assert.rejects(store.holdOrder('no-such-order', 'item-a', iso(1_000)), {
      name: 'ConditionalCheckFailedException',
    });
    await assert.rejects(store.releaseOrderHold('no-such-order', 'item-a', iso(1_000)), {
      name: 'ConditionalCheckFailedException',
    });

    assert.equal(await store.getOrder('no-such-order'), undefined);
  });
});
