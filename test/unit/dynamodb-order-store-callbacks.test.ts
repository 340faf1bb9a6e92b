import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DynamoDbOrderStore } from '../../lambdas/adapters/dynamodb-order-store';
import { callbackNonce } from '../../lambdas/domain/callback';
import type { CallbackChange } from '../../lambdas/ports/order-store';
import { inProcessDynalite, orderStoreWithOneItem, recording } from './fixtures/dynalite';

const dynamo = inProcessDynalite('eu-west-1');
const AT = '2025-03-01T10:00:00.000Z';
const LATER = '2025-03-01T10:00:05.000Z';
const interim = (afterVersion: number): CallbackChange & { kind: 'interim' } => ({
  kind: 'interim',
  note: 'line test passed',
  body: { status: 'inProgress' },
  afterVersion,
});
const completed: CallbackChange = {
  kind: 'completed',
  attributes: { serviceId: 'S-1' },
  body: { status: 'completed' },
};

/** An activation waiting for its callbacks under attempt-1. */
async function waitingItem() {
  const world = await orderStoreWithOneItem(dynamo, { key: 'dsl.activate.1', type: 'callout' });
  assert.ok(await world.store.claimItem(world.orderId, world.key, 'attempt-1', AT, 'started'));
  return world;
}

describe('DynamoDbOrderStore.getItemForCallback', () => {
  it('reads the item and whether the callback is kept in one consistent request', async () => {
    const { store, orderId, key, tableName } = await waitingItem();
    assert.equal(await store.applyCallback(orderId, key, 'attempt-1', 'cb-1', interim(2), AT), true);
    const { client, sent } = recording(dynamo.db);
    const door = new DynamoDbOrderStore(client, tableName);

    const kept = await door.getItemForCallback(orderId, key, callbackNonce('attempt-1'), 'cb-1');
    const fresh = await door.getItemForCallback(orderId, key, callbackNonce('attempt-1'), 'cb-2');
    const none = await door.getItemForCallback(orderId, 'dsl.no-such.1', callbackNonce('attempt-1'), 'cb-1');

    assert.deepEqual(
      sent.map((command) => command.name),
      ['BatchGetCommand', 'BatchGetCommand', 'BatchGetCommand'],
    );
    assert.deepEqual(kept, { item: await store.getItem(orderId, key), keptBefore: true });
    assert.equal(fresh.keptBefore, false);
    assert.equal(fresh.item?.attemptId, 'attempt-1');
    assert.deepEqual(none, { item: undefined, keptBefore: false });
  });
});

describe('DynamoDbOrderStore.applyCallback', () => {
  it('keeps an interim update in the log once per callback id, and leaves the state as it was', async () => {
    const { store, orderId, key } = await waitingItem();
    const before = await store.getItem(orderId, key);

    assert.equal(await store.applyCallback(orderId, key, 'attempt-1', 'cb-1', interim(2), AT), true);
    assert.equal(await store.applyCallback(orderId, key, 'attempt-1', 'cb-1', interim(2), AT), false);

    assert.deepEqual(await store.getItem(orderId, key), before, 'the state record is not rewritten');
    assert.equal(
      (await store.getItemForCallback(orderId, key, callbackNonce('attempt-1'), 'cb-1')).keptBefore,
      true,
    );
    assert.equal(
      (await store.getItemForCallback(orderId, key, callbackNonce('attempt-2'), 'cb-1')).keptBefore,
      false,
    );
    const item = await store.getItemDetail(orderId, key);
    assert.deepEqual(item?.history.at(-1), {
      at: AT,
      state: 'Running',
      reason: 'interim update from the system: line test passed',
    });
  });

  it('shows an interim update overtaken by the final answer after it, in the state that answer left', async () => {
    const { store, orderId, key } = await waitingItem();
    assert.equal(await store.applyCallback(orderId, key, 'attempt-1', 'cb-final', completed, AT), true);
    const done = await store.getItem(orderId, key);
    const overtaken: CallbackChange = { ...interim(done?.version ?? 0), overtaken: 'Completed' };

    assert.equal(await store.applyCallback(orderId, key, 'attempt-1', 'cb-interim', overtaken, LATER), true);
    assert.equal(await store.applyCallback(orderId, key, 'attempt-1', 'cb-interim', overtaken, LATER), false);

    const item = await store.getItemDetail(orderId, key);
    assert.equal(item?.state, 'Completed');
    assert.equal(item?.finishedBy, 'cb-final');
    assert.deepEqual(item?.outputAttributes, { serviceId: 'S-1' });
    assert.deepEqual(item?.asyncResponse, { body: { status: 'completed' }, receivedAt: AT });
    assert.deepEqual(
      item?.history.slice(-2).map((h) => [h.state, h.reason]),
      [
        ['Completed', "completed by the system's callback"],
        [
          'Completed',
          'interim update from the system, applied after the final answer that overtook it in the queue: line test passed',
        ],
      ],
    );
  });

  it('refuses a final answer the attempt no longer waits for, and keeps what it said all the same', async () => {
    const { store, orderId, key } = await waitingItem();
    assert.equal(await store.applyCallback(orderId, key, 'attempt-1', 'cb-final', completed, AT), true);
    const before = await store.getItem(orderId, key);

    assert.equal(await store.applyCallback(orderId, key, 'attempt-1', 'cb-final', completed, LATER), false);
    assert.equal(await store.applyCallback(orderId, key, 'attempt-0', 'cb-other', completed, LATER), false);

    assert.deepEqual(await store.getItem(orderId, key), before);
    assert.equal(
      (await store.getItemForCallback(orderId, key, callbackNonce('attempt-0'), 'cb-other')).keptBefore,
      true,
    );
  });
});

describe('DynamoDbOrderStore: answers kept for the next attempt, and new requests', () => {
  const failedAnswer = (newRequest: boolean): CallbackChange => ({
    kind: 'failed',
    error: 'the system reported failure: E42',
    body: { status: 'failed' },
    retry: { at: LATER, retries: 1, ruleId: 'default' },
    ...(newRequest ? { newRequest: true as const } : {}),
  });

  it('keeps an answer whole for an item between attempts of the request it answers, once, and never for another', async () => {
    // Prepare: the wait under attempt-1 failed without an answer (the request stays the same).
    const { store, orderId, key } = await waitingItem();
    const nonce = callbackNonce('attempt-1');
    assert.ok(
      await store.applyCallback(orderId, key, 'attempt-1', 'deadline:x', failedAnswer(false), AT, nonce),
    );
    // Larger than a log record keeps of a payload: the kept body is whole.
    const body = { status: 'completed', serviceId: 'S-1', note: 'x'.repeat(20_000) };
    const answer = { nonce, callbackId: 'cb-late', receivedAt: LATER };

    // Act
    const other = await store.keepAnswer(
      orderId,
      key,
      { ...answer, nonce: callbackNonce('attempt-0') },
      body,
      LATER,
    );
    const kept = await store.keepAnswer(orderId, key, answer, body, LATER);
    const second = await store.keepAnswer(orderId, key, { ...answer, callbackId: 'cb-2' }, body, LATER);

    // Assess
    assert.deepEqual([other, kept, second], [false, true, false]);
    const item = await store.getItem(orderId, key);
    assert.deepEqual(item?.keptAnswer, answer);
    assert.deepEqual(await store.keptAnswerBody(orderId, key, answer), { body });
    assert.equal((await store.getItemForCallback(orderId, key, nonce, 'cb-late')).keptBefore, true);
    // The order's detail reads its items' logs, not the kept bodies beside them.
    const detail = await store.getOrderDetail(orderId);
    assert.equal(detail?.items.get(key)?.state, 'Failed');
    // Running again, the item takes no answer to keep.
    assert.ok(await store.claimItem(orderId, key, 'attempt-2', LATER, 'retry due', undefined, nonce));
    const running = { ...answer, callbackId: 'cb-3' };
    assert.equal(await store.keepAnswer(orderId, key, running, body, LATER), false);
  });

  it('makes the next attempt a new request after the system refused the request', async () => {
    // Prepare: an activation waiting under attempt-1.
    const { store, orderId, key } = await waitingItem();
    const nonce = callbackNonce('attempt-1');

    // Act
    const failed = await store.applyCallback(
      orderId,
      key,
      'attempt-1',
      'cb-failed',
      failedAnswer(true),
      AT,
      nonce,
    );

    // Assess: the next generation's key; no URL kept, so the next claim makes its own.
    assert.equal(failed, true);
    const item = await store.getItem(orderId, key);
    assert.equal(item?.state, 'Failed');
    assert.equal(item?.requestGeneration, 1);
    assert.equal(item?.callbackNonce, undefined);
    assert.equal(item?.finishedBy, 'cb-failed');
    assert.ok(await store.claimItem(orderId, key, 'attempt-2', LATER, 'retry due'));
    assert.equal((await store.getItem(orderId, key))?.callbackNonce, callbackNonce('attempt-2'));
  });
});
