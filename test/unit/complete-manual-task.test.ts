import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decompose } from '../../lambdas/domain/decompose';
import { ConflictError, NotFoundError, ValidationError } from '../../lambdas/domain/errors';
import { productOrderCreateSchema } from '../../lambdas/domain/product-order';
import type { Actor } from '../../lambdas/domain/roles';
import type { OrderAggregate } from '../../lambdas/ports/order-store';
import { completeManualTask, parseItemId } from '../../lambdas/use-cases/complete-manual-task';
import { dslCatalog, tvLine } from './fixtures/catalogs';
import {
  RecordingPlanTasks,
  RecordingTelemetry,
  RecordingWorkQueue,
  steppingClock,
} from './fixtures/fake-ports';
import { InMemoryOrderStore } from './fixtures/in-memory-order-store';

const ORDER = 'o-1';
const VISIT = 'tv-bundle.technician-visit.1';
const OPERATOR: Actor = { id: 'op-1', name: 'Olga Operator' };
const AT = '2025-03-01T09:00:00.000Z';

/** A TV order whose technician visit waits for an operator (claimed by the worker), unless told otherwise. */
async function setup(store = new InMemoryOrderStore(), claimVisit = true) {
  const submitted = productOrderCreateSchema.parse({
    productOrderItem: [tvLine('tv-a', { installation: 'technician' })],
  });
  const { order, items } = decompose(dslCatalog(), ORDER, submitted, AT);
  await store.createOrder(order, items);
  if (claimVisit)
    await store.claimItem(ORDER, VISIT, 'delivery-1', AT, 'prerequisites done; waiting for an operator');
  const queue = new RecordingWorkQueue();
  const tasks = new RecordingPlanTasks();
  return {
    deps: {
      store,
      queue,
      tasks,
      now: steppingClock('2025-03-01T12:00:00.000Z'),
      telemetry: new RecordingTelemetry(),
    },
    store,
    queue,
  };
}

async function rejectsWith(
  promise: Promise<unknown>,
  type: new (...args: never[]) => Error,
  message: RegExp,
) {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof type, `a ${type.name}, not ${String(error)}`);
    assert.match(error.message, message);
    return true;
  });
}

describe('parseItemId', () => {
  it('splits an item id at its first dot into the order id and the item key', () => {
    assert.deepEqual(parseItemId(`${ORDER}.${VISIT}`), { orderId: ORDER, key: VISIT });
    assert.deepEqual(parseItemId('o-1.tv-bundle.welcome-pack'), {
      orderId: 'o-1',
      key: 'tv-bundle.welcome-pack',
    });
  });

  for (const bad of ['o-1', '.tv-bundle.x', 'o-1.']) {
    it(`refuses ${JSON.stringify(bad)} as an item id`, () => {
      assert.throws(() => parseItemId(bad), ValidationError);
    });
  }
});

describe('completeManualTask', () => {
  it('completes a manual task waiting for an operator and hands it back to the worker', async () => {
    // Prepare
    const { deps, store, queue } = await setup();

    // Act
    const view = await completeManualTask(deps, `${ORDER}.${VISIT}`, { installedBy: 'Tom' }, OPERATOR);

    // Assess
    const item = store.item(ORDER, VISIT);
    assert.equal(item.state, 'Completed');
    assert.deepEqual(item.completedBy, OPERATOR);
    assert.deepEqual(item.outputAttributes, { installedBy: 'Tom' });
    assert.equal(item.completedAt, '2025-03-01T12:00:00.000Z');
    assert.deepEqual(item.history.at(-1), {
      at: '2025-03-01T12:00:00.000Z',
      state: 'Completed',
      reason: 'completed by Olga Operator (op-1)',
      by: OPERATOR,
    });
    assert.deepEqual(queue.sent, [{ kind: 'start', orderId: ORDER, itemKey: VISIT }]);
    assert.equal(view.state, 'Completed');
    assert.deepEqual(view.completedBy, OPERATOR);
    assert.deepEqual(view.outputAttributes, { installedBy: 'Tom' });
    assert.deepEqual(store.context(ORDER), {}, 'the worker, not the API, writes the attributes to the order');
  });

  it('answers 404 for an item or an order that does not exist', async () => {
    const { deps, queue } = await setup();

    await rejectsWith(
      completeManualTask(deps, `${ORDER}.tv-bundle.nothing.1`, {}, OPERATOR),
      NotFoundError,
      /nothing/,
    );
    await rejectsWith(completeManualTask(deps, `o-2.${VISIT}`, {}, OPERATOR), NotFoundError, /o-2/);
    assert.deepEqual(queue.sent, []);
  });

  it('answers 409 for an item that is not a manual task', async () => {
    const { deps, store } = await setup();

    await rejectsWith(
      completeManualTask(deps, `${ORDER}.tv-bundle.choose-channels.1`, {}, OPERATOR),
      ConflictError,
      /is a[n]? autoTask, not a manual task$/,
    );
    assert.equal(store.item(ORDER, 'tv-bundle.choose-channels.1').state, 'Pending');
  });

  it('answers 409 for a manual task that does not wait for an operator yet, or any more', async () => {
    const pending = await setup(new InMemoryOrderStore(), false);
    const done = await setup();
    await completeManualTask(done.deps, `${ORDER}.${VISIT}`, {}, OPERATOR);
    await done.store.markItemDone(ORDER, VISIT, undefined); // the worker finished it

    await rejectsWith(
      completeManualTask(pending.deps, `${ORDER}.${VISIT}`, {}, OPERATOR),
      ConflictError,
      /is Pending, not waiting for an operator/,
    );
    await rejectsWith(
      completeManualTask(done.deps, `${ORDER}.${VISIT}`, { again: true }, OPERATOR),
      ConflictError,
      /is Completed, not waiting for an operator/,
    );
    assert.deepEqual(done.store.item(ORDER, VISIT).outputAttributes, {}, 'the first completion stands');
    assert.equal(done.queue.sent.length, 1);
  });

  it('hands a completed task on again when the first hand-over never reached the worker', async () => {
    const { deps, store, queue } = await setup();
    await completeManualTask(deps, `${ORDER}.${VISIT}`, { installedBy: 'Sam' }, OPERATOR);

    const again = await completeManualTask(
      deps,
      `${ORDER}.${VISIT}`,
      { installedBy: 'someone else' },
      OPERATOR,
    );

    assert.equal(again.state, 'Completed');
    assert.deepEqual(
      store.item(ORDER, VISIT).outputAttributes,
      { installedBy: 'Sam' },
      'the first completion stands',
    );
    assert.equal(queue.sent.length, 2);
  });

  it('lets only one of two operators completing the task at once succeed', async () => {
    // Prepare: a store where another operator completes the task right after this one read it.
    class RacingStore extends InMemoryOrderStore {
      override async getAggregate(orderId: string): Promise<OrderAggregate | undefined> {
        const aggregate = await super.getAggregate(orderId);
        await super.completeManualTask(
          orderId,
          VISIT,
          { id: 'op-2', name: 'Other' },
          { by: 2 },
          undefined,
          AT,
        );
        return aggregate;
      }
    }
    const { deps, store, queue } = await setup(new RacingStore());

    // Act & Assess
    await rejectsWith(
      completeManualTask(deps, `${ORDER}.${VISIT}`, { by: 1 }, OPERATOR),
      ConflictError,
      /was changed meanwhile/,
    );
    assert.deepEqual(store.item(ORDER, VISIT).completedBy, { id: 'op-2', name: 'Other' });
    assert.deepEqual(queue.sent, []);
  });
});
