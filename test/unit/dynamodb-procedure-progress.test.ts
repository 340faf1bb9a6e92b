import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ProcedureProgress } from '../../lambdas/domain/procedure';
import { inProcessDynalite, orderStoreWithOneItem } from './fixtures/dynalite';

const REGION = 'eu-west-1';
const AT = '2025-03-01T09:00:00.000Z';
const dynamo = inProcessDynalite(REGION);
const storeWithOneItem = () => orderStoreWithOneItem(dynamo, { key: 'install.book.1', type: 'autoTask' });

const progress: ProcedureProgress = {
  next: 2,
  steps: { 'find-slot': { slotId: 'SLOT-7' }, 'no-slot': undefined },
  vars: {},
  trace: [
    {
      step: 'find-slot',
      type: 'http',
      input: { body: { address: 'x' } },
      output: { slotId: 'SLOT-7' },
      startedAt: AT,
      ms: 12,
    },
    { step: 'no-slot', type: 'fail', skipped: true, startedAt: AT, ms: 0 },
  ],
};

describe('DynamoDbOrderStore.saveProcedureProgress', () => {
  it('keeps the progress on the item for the attempt that runs it', async () => {
    const { store, orderId, key } = await storeWithOneItem();
    assert.ok(await store.claimItem(orderId, key, 'attempt-1', AT, 'started'));

    assert.equal(await store.saveProcedureProgress(orderId, key, 'attempt-1', progress, AT), true);

    const item = await store.getItemDetail(orderId, key);
    assert.equal(item?.procedure?.next, 2);
    assert.deepEqual(item?.procedure?.steps['find-slot'], { slotId: 'SLOT-7' });
    assert.deepEqual(
      item?.procedure?.trace.map((t) => [t.step, t.skipped ?? false]),
      [
        ['find-slot', false],
        ['no-slot', true],
      ],
    );
  });

  it('refuses another attempt, and an item that is not Running, changing nothing', async () => {
    const { store, orderId, key } = await storeWithOneItem();
    assert.equal(
      await store.saveProcedureProgress(orderId, key, 'attempt-1', progress, AT),
      false,
      'Pending',
    );
    assert.ok(await store.claimItem(orderId, key, 'attempt-1', AT, 'started'));

    assert.equal(await store.saveProcedureProgress(orderId, key, 'attempt-2', progress, AT), false);
    assert.equal((await store.getItem(orderId, key))?.procedure, undefined);
  });
});
