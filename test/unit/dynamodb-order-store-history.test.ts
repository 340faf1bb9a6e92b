import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoDbOrderStore } from '../../lambdas/adapters/dynamodb-order-store';
import { logPrefix, orderPk } from '../../lambdas/adapters/order-records';
import type { HoldInfo } from '../../lambdas/domain/availability';
import { RECENT_HISTORY } from '../../lambdas/domain/item-log';
import { inProcessDynalite, orderStoreWithOneItem, recording } from './fixtures/dynalite';

const dynamo = inProcessDynalite('eu-west-1');
const at = (second: number) => new Date(Date.UTC(2025, 2, 1, 10, 0, second)).toISOString();
const held = (second: number): HoldInfo => ({
  systemId: 'inventory',
  interfaceId: 'inventory-reserve-port',
  since: at(second),
  reason: 'system "inventory" is Down: firmware',
});

/** The sort keys of the item's history records in the log. */
async function loggedHistory(tableName: string, orderId: string, key: string): Promise<string[]> {
  const page = await dynamo.db.send(
    new QueryCommand({
      TableName: tableName,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :history)',
      ExpressionAttributeValues: { ':pk': orderPk(orderId), ':history': `${logPrefix(key)}H#` },
    }),
  );
  return (page.Items ?? []).map((record) => String(record.sk).slice(`${logPrefix(key)}H#`.length));
}

describe('DynamoDbOrderStore: an item history', () => {
  it('keeps a few entries on the state, moves the older ones to the log in batches, and loses none', async () => {
    // Prepare: an item decomposed (entry 1), then started and held over and over.
    const { store, orderId, key, tableName } = await orderStoreWithOneItem(dynamo, {
      key: 'dsl.reserve-port.1',
      type: 'callout',
    });
    const reasons = ['decomposed'];

    // Act: 12 transitions, one write each unless the state's entries pass the cap.
    for (let round = 1; round <= 6; round++) {
      const attempt = `delivery-${round}`;
      assert.equal(await store.claimItem(orderId, key, attempt, at(2 * round), `started ${round}`), true);
      reasons.push(`started ${round}`);
      assert.equal(await store.holdItem(orderId, key, attempt, held(2 * round + 1), at(2 * round + 1)), true);
      reasons.push('on hold: system "inventory" is Down: firmware');
    }

    // Assess: the state keeps at most the cap, the log the rest, and the view shows all 13 in order.
    const state = await store.getItem(orderId, key);
    assert.equal(state?.version, 13);
    const recent = state?.recent ?? [];
    assert.ok(recent.length >= 1 && recent.length <= RECENT_HISTORY.entries, `${recent.length} on the state`);
    const logged = await loggedHistory(tableName, orderId, key);
    assert.equal(logged.length + recent.length, 13, 'each entry is in the log or on the state, not both');
    assert.deepEqual(
      logged.map(Number),
      Array.from({ length: logged.length }, (_, i) => i + 1),
    );
    const detail = await store.getItemDetail(orderId, key);
    assert.deepEqual(
      detail?.history.map((entry) => entry.reason),
      reasons,
    );
  });

  it('writes a transition under the cap as one request', async () => {
    // Prepare
    const { orderId, key, tableName } = await orderStoreWithOneItem(dynamo, {
      key: 'dsl.reserve-port.1',
      type: 'callout',
    });
    const { client, sent } = recording(dynamo.db);
    const store = new DynamoDbOrderStore(client, tableName);

    // Act
    assert.equal(await store.claimItem(orderId, key, 'delivery-1', at(1), 'started'), true);

    // Assess
    assert.deepEqual(
      sent.map((command) => command.name),
      ['UpdateCommand'],
    );
    assert.equal((await loggedHistory(tableName, orderId, key)).length, 0);
  });
});
