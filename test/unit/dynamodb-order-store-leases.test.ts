import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoDbOrderStore } from '../../lambdas/adapters/dynamodb-order-store';
import { itemSk, orderPk } from '../../lambdas/adapters/order-records';
import { callbackNonce } from '../../lambdas/domain/callback';
import type { ItemRecord } from '../../lambdas/domain/orchestration';
import {
  createOrdersTableWithLeaseIndex,
  inProcessDynalite,
  orderRecordFor,
  orderStoreWithOneItem,
} from './fixtures/dynalite';

const dynamo = inProcessDynalite('eu-west-1');
const KEY = 'dsl.reserve-port.1';
const AT = '2025-03-01T10:00:00.000Z';
const LEASE = '2025-03-01T10:00:20.000Z';
const AFTER = '2025-03-01T10:00:21.000Z';
const OLGA = { id: 'u-op', name: 'olga' };

describe('DynamoDbOrderStore: leases on running items', () => {
  it('holds a claimed item for its lease: another delivery takes it over only once the lease has run out', async () => {
    const { store, orderId } = await orderStoreWithOneItem(dynamo, { key: KEY, type: 'callout' });
    assert.ok(await store.claimItem(orderId, KEY, 'worker-1', AT, 'started', LEASE));
    assert.equal((await store.getItem(orderId, KEY))?.leaseUntil, LEASE);

    assert.equal(
      await store.claimItem(orderId, KEY, 'worker-2', '2025-03-01T10:00:19.000Z', 'again', LEASE),
      false,
    );
    assert.ok(await store.renewLease(orderId, KEY, 'worker-1', '2025-03-01T10:00:40.000Z'));
    assert.equal(
      await store.claimItem(orderId, KEY, 'worker-2', AFTER, 'taken over', LEASE),
      false,
      'renewed',
    );
    assert.ok(
      await store.claimItem(
        orderId,
        KEY,
        'worker-2',
        '2025-03-01T10:00:41.000Z',
        'taken over',
        '2025-03-01T10:01:01.000Z',
      ),
    );

    const item = await store.getItem(orderId, KEY);
    assert.equal(item?.attemptId, 'worker-2');
    assert.equal(await store.renewLease(orderId, KEY, 'worker-1', '2025-03-01T10:05:00.000Z'), false, 'lost');
    assert.equal(await store.completeItem(orderId, KEY, 'worker-1', {}, AFTER), false);
    assert.ok(await store.completeItem(orderId, KEY, 'worker-2', {}, AFTER));
    assert.equal((await store.getItem(orderId, KEY))?.leaseUntil, undefined, 'leaving Running ends the hold');
  });

  it('keeps no lease on an item waiting for its callback, and renews none there', async () => {
    const { store, orderId } = await orderStoreWithOneItem(dynamo, { key: KEY, type: 'callout' });
    assert.ok(await store.claimItem(orderId, KEY, 'worker-1', AT, 'started', LEASE));
    assert.ok(await store.awaitCallback(orderId, KEY, 'worker-1', {}, { since: AT, deadline: AFTER }, AT));
    assert.equal((await store.getItem(orderId, KEY))?.leaseUntil, undefined);
    assert.equal(await store.renewLease(orderId, KEY, 'worker-1', AFTER), false);
    assert.equal(
      await store.claimItem(orderId, KEY, 'worker-2', '2025-03-01T11:00:00.000Z', 'x', LEASE),
      false,
    );
  });

  it("records an operator's abort of a Running item whoever holds it: a retry, or fallout", async () => {
    const { store, orderId, tableName } = await orderStoreWithOneItem(dynamo, { key: KEY, type: 'callout' });
    assert.ok(await store.claimItem(orderId, KEY, 'worker-1', AT, 'started', LEASE));
    const attempt = {
      number: 1,
      at: AFTER,
      error: 'aborted by olga (u-op): hangs',
      decision: { kind: 'retry' as const, at: '2025-03-01T10:00:31.000Z', ruleId: 'default', retry: 1 },
    };
    assert.ok(
      await store.abortByOperator(
        orderId,
        KEY,
        OLGA,
        { error: attempt.error, attempt, retry: { at: '2025-03-01T10:00:31.000Z', retries: 1 } },
        AFTER,
      ),
    );
    const detail = await store.getItemDetail(orderId, KEY);
    assert.equal(detail?.state, 'Failed');
    assert.equal(detail?.nextAttemptAt, '2025-03-01T10:00:31.000Z');
    assert.deepEqual(detail?.history.at(-1)?.by, OLGA);
    assert.equal(detail?.attempts?.at(-1)?.error, attempt.error);
    assert.equal(await store.abortByOperator(orderId, KEY, OLGA, { error: 'again', attempt }, AFTER), false);

    assert.ok(await store.claimItem(orderId, KEY, 'worker-2', '2025-03-01T10:00:31.000Z', 'retry', LEASE));
    assert.ok(
      await store.abortByOperator(
        orderId,
        KEY,
        OLGA,
        { error: 'gone for good', attempt: { ...attempt, number: 2 } },
        AFTER,
      ),
    );
    assert.equal((await store.getItem(orderId, KEY))?.state, 'FatallyFailed');
    // On the fallout list: the sparse index's keys are on the record (the key-only table has no index).
    const { Item } = await dynamo.db.send(
      new GetCommand({ TableName: tableName, Key: { pk: orderPk(orderId), sk: itemSk(KEY) } }),
    );
    assert.ok(Item?.falloutList && String(Item.falloutSort).startsWith(AFTER));
    assert.equal(Item?.error, 'gone for good');
  });

  it('lists the items whose lease ran out, from the lease index, and no others', async () => {
    // Prepare: four items of one order on a table with the lease index.
    const tableName = await createOrdersTableWithLeaseIndex(dynamo.raw);
    const store = new DynamoDbOrderStore(dynamo.db, tableName);
    const orderId = 'o-leases';
    const item = (key: string): ItemRecord => ({
      orderId,
      key,
      planId: 'dsl',
      planItemId: key.split('.')[1] ?? key,
      type: 'callout',
      dependsOn: [],
      state: 'Pending',
      version: 1,
      recent: [],
      createdAt: AT,
      updatedAt: AT,
    });
    const [gone, live, waiting, done] = ['dsl.gone.1', 'dsl.live.1', 'dsl.waiting.1', 'dsl.done.1'];
    const items = [gone, live, waiting, done].map((key) => item(String(key)));
    await store.createOrder(orderRecordFor(orderId, items), items);
    const second = (s: number) => new Date(Date.parse(AT) + s * 1000).toISOString();
    // `gone`: its worker died (lease ran out at 20 s); `live`: renewed to 40 s; `waiting`: its system
    // accepted it and it waits, unheld, for its callback; `done`: completed.
    for (const key of [gone, live, waiting, done])
      assert.ok(await store.claimItem(orderId, String(key), `w-${key}`, AT, 'started', LEASE));
    assert.ok(await store.renewLease(orderId, String(live), `w-${live}`, second(40)));
    assert.ok(
      await store.awaitCallback(
        orderId,
        String(waiting),
        `w-${waiting}`,
        {},
        { since: AT, deadline: AFTER },
        AT,
      ),
    );
    assert.ok(await store.completeItem(orderId, String(done), `w-${done}`, {}, AT));

    // Act and assess: at 21 s only `gone` has run out; at 41 s `live` has too, listed after it.
    assert.deepEqual(await store.expiredLeases(second(21), 10), [{ orderId, key: gone }]);
    assert.deepEqual(await store.expiredLeases(second(41), 10), [
      { orderId, key: gone },
      { orderId, key: live },
    ]);
    assert.deepEqual(await store.expiredLeases(second(41), 1), [{ orderId, key: gone }], 'at most the limit');
    assert.equal((await store.getItem(orderId, String(gone)))?.leaseUntil, LEASE);
    assert.equal(
      'leaseList' in ((await store.getItem(orderId, String(gone))) ?? {}),
      false,
      "the index's key is not part of the item",
    );

    // A takeover holds it for a lease of its own: off the list until that runs out.
    assert.ok(
      await store.claimItem(orderId, String(gone), 'takeover-1', second(21), 'taken over', second(41)),
    );
    assert.deepEqual(await store.expiredLeases(second(30), 10), []);
  });

  it('applies a callback to the attempt its URL names after a takeover, though decided on a read from before it', async () => {
    // Prepare: worker-1 sent the callout (its URL's nonce) and died; worker-2 took the item over, going on
    // with that URL. The correlator read the item before the takeover: it writes for worker-1.
    const { store, orderId } = await orderStoreWithOneItem(dynamo, { key: KEY, type: 'callout' });
    const nonce = callbackNonce('worker-1');
    assert.ok(await store.claimItem(orderId, KEY, 'worker-1', AT, 'started', LEASE, nonce));
    assert.ok(
      await store.claimItem(orderId, KEY, 'worker-2', AFTER, 'taken over', '2025-03-01T10:00:41.000Z', nonce),
    );
    const completed = {
      kind: 'completed' as const,
      body: { status: 'completed' },
      attributes: { serviceId: 'S-1' },
    };

    // Act and assess: a URL of another attempt applies nothing; the URL's own attempt's answer applies.
    assert.equal(
      await store.applyCallback(
        orderId,
        KEY,
        'worker-1',
        'cb-0',
        completed,
        AFTER,
        callbackNonce('worker-0'),
      ),
      false,
    );
    assert.ok(await store.applyCallback(orderId, KEY, 'worker-1', 'cb-1', completed, AFTER, nonce));
    const item = await store.getItem(orderId, KEY);
    assert.equal(item?.state, 'Completed');
    assert.equal(item?.finishedBy, 'cb-1');
    assert.deepEqual(item?.outputAttributes, { serviceId: 'S-1' });
  });
});
