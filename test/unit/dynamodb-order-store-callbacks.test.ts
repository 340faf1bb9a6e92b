import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CallbackChange } from '../../lambdas/ports/order-store';
import { inProcessDynalite, orderStoreWithOneItem } from './fixtures/dynalite';

const dynamo = inProcessDynalite('eu-west-1');
const AT = '2025-03-01T10:00:00.000Z';
const LATER = '2025-03-01T10:00:05.000Z';
const interim: CallbackChange = { kind: 'interim', note: 'line test passed', body: { status: 'inProgress' } };
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

describe('DynamoDbOrderStore.applyCallback', () => {
  it('records an interim update while the item waits, once per callback id', async () => {
    const { store, orderId, key } = await waitingItem();

    assert.equal(await store.applyCallback(orderId, key, 'attempt-1', 'cb-1', interim, AT), true);
    assert.equal(await store.applyCallback(orderId, key, 'attempt-1', 'cb-1', interim, AT), false);

    const item = await store.getItem(orderId, key);
    assert.equal(item?.state, 'Running');
    assert.deepEqual(item?.callbackIds, ['cb-1']);
    assert.deepEqual(item?.history.at(-1), {
      at: AT,
      state: 'Running',
      reason: 'interim update from the system: line test passed',
    });
  });

  it('records an interim update overtaken by the final answer in the state that answer left', async () => {
    const { store, orderId, key } = await waitingItem();
    assert.equal(await store.applyCallback(orderId, key, 'attempt-1', 'cb-final', completed, AT), true);
    const overtaken: CallbackChange = { ...interim, overtaken: 'Completed' };

    assert.equal(
      await store.applyCallback(orderId, key, 'attempt-1', 'cb-interim', interim, LATER),
      false,
      'not as if the item still waited',
    );
    assert.equal(await store.applyCallback(orderId, key, 'attempt-1', 'cb-interim', overtaken, LATER), true);
    assert.equal(await store.applyCallback(orderId, key, 'attempt-1', 'cb-interim', overtaken, LATER), false);

    const item = await store.getItem(orderId, key);
    assert.equal(item?.state, 'Completed');
    assert.deepEqual(item?.outputAttributes, { serviceId: 'S-1' });
    assert.deepEqual(item?.asyncResponse?.body, { status: 'completed' });
    assert.deepEqual(item?.callbackIds?.sort(), ['cb-final', 'cb-interim']);
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

  it('refuses an overtaken interim update for another attempt, or for a state the item is not in', async () => {
    const { store, orderId, key } = await waitingItem();
    assert.equal(await store.applyCallback(orderId, key, 'attempt-1', 'cb-final', completed, AT), true);
    const before = await store.getItem(orderId, key);

    for (const [attempt, state] of [
      ['attempt-0', 'Completed'],
      ['attempt-1', 'FatallyFailed'],
    ] as const) {
      const change: CallbackChange = { ...interim, overtaken: state };
      assert.equal(await store.applyCallback(orderId, key, attempt, 'cb-interim', change, LATER), false);
    }

    assert.deepEqual(await store.getItem(orderId, key), before);
  });
});
