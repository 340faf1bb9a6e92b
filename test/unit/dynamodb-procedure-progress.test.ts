import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ProcedureProgress } from '../../lambdas/domain/procedure';
import type { CallbackChange } from '../../lambdas/ports/order-store';
import { inProcessDynalite, orderStoreWithOneItem } from './fixtures/dynalite';

const REGION = 'eu-west-1';
const AT = '2025-03-01T09:00:00.000Z';
const LATER = '2025-03-01T10:00:00.000Z';
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

describe('DynamoDbOrderStore: a procedure waiting at an asynchronous step', () => {
  const NONCE = 'a1b2c3d4e5f60718';
  const atBook = { next: 1, steps: { lookup: { account: 'ACC-1' } }, vars: {}, trace: [] };
  const answered = (index = 1): CallbackChange & { kind: 'stepCompleted' } => ({
    kind: 'stepCompleted',
    step: { procedure: 'open-ticket', id: 'book', index },
    output: { slot: 'S-1', 'with.dot': true },
    body: { status: 'completed', slot: 'S-1' },
    trace: { step: 'book', type: 'http', output: { slot: 'S-1' }, startedAt: AT, ms: 5 },
  });

  it("keeps the step's callback nonce with the progress before the step is sent, and lets it go with the next", async () => {
    const { store, orderId, key } = await storeWithOneItem();
    assert.ok(await store.claimItem(orderId, key, 'attempt-1', AT, 'started'));

    assert.equal(await store.saveProcedureProgress(orderId, key, 'attempt-1', atBook, AT, NONCE), true);
    assert.equal((await store.getItem(orderId, key))?.callbackNonce, NONCE);
    assert.equal(
      await store.saveProcedureProgress(orderId, key, 'attempt-1', { ...atBook, next: 2 }, AT),
      true,
    );
    assert.equal((await store.getItem(orderId, key))?.callbackNonce, undefined);
  });

  it("hands the item back Pending with the step's output, once, only on the step's URL and at that step", async () => {
    // Prepare: the step sent and accepted under attempt-1.
    const { store, orderId, key } = await storeWithOneItem();
    assert.ok(await store.claimItem(orderId, key, 'attempt-1', AT, 'started', '2025-03-01T09:00:20.000Z'));
    assert.ok(await store.saveProcedureProgress(orderId, key, 'attempt-1', atBook, AT, NONCE));
    assert.ok(
      await store.awaitCallback(
        orderId,
        key,
        'attempt-1',
        {},
        { since: AT, deadline: LATER, step: 'book' },
        AT,
      ),
    );

    // Act and Assess: another URL, and another step, change nothing.
    assert.equal(
      await store.applyCallback(orderId, key, 'attempt-1', 'cb-0', answered(), AT, 'ffffffffffffffff'),
      false,
    );
    assert.equal(await store.applyCallback(orderId, key, 'attempt-1', 'cb-0', answered(2), AT, NONCE), false);
    assert.equal(await store.applyCallback(orderId, key, 'attempt-1', 'cb-1', answered(), AT, NONCE), true);
    assert.equal(await store.applyCallback(orderId, key, 'attempt-1', 'cb-1', answered(), AT, NONCE), false);

    const item = await store.getItemDetail(orderId, key);
    assert.equal(item?.state, 'Pending');
    assert.equal(
      item?.history.at(-1)?.reason,
      'procedure step "book" completed by the system\'s callback; the procedure goes on at its next step',
    );
    assert.equal(
      item?.history.at(-2)?.reason,
      `procedure step "book" accepted by the system; waiting for its callback until ${LATER}`,
    );
    assert.equal(item?.procedure?.next, 2);
    assert.deepEqual(item?.procedure?.steps, {
      lookup: { account: 'ACC-1' },
      book: { slot: 'S-1', 'with.dot': true },
    });
    assert.deepEqual(
      item?.procedure?.trace.map((t) => t.step),
      ['book'],
    );
    assert.deepEqual(item?.asyncResponse?.body, { status: 'completed', slot: 'S-1' });
    const state = await store.getItem(orderId, key);
    assert.equal(state?.attemptId, undefined);
    assert.equal(state?.awaiting, undefined);
    assert.equal(state?.callbackNonce, undefined);
    assert.equal(state?.leaseUntil, undefined);
    assert.equal(state?.finishedBy, 'cb-1');

    // The next claim, by any delivery, runs it on.
    assert.ok(
      await store.claimItem(orderId, key, 'attempt-2', AT, 'started again', '2025-03-01T09:00:20.000Z'),
    );
  });
});
