import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConflictError } from '../../lambdas/domain/errors';
import { productOrderCreateSchema } from '../../lambdas/domain/product-order';
import { submitOrder } from '../../lambdas/use-cases/submit-order';
import { dslCatalog, dslOrderBody } from './fixtures/catalogs';
import { RecordingPlanRunner, RecordingTelemetry, steppingClock } from './fixtures/fake-ports';
import { InMemoryOrderStore } from './fixtures/in-memory-order-store';

const SUBMITTER = { id: 'crm', name: 'CRM' };

function setup() {
  const store = new InMemoryOrderStore();
  const plans = new RecordingPlanRunner();
  let n = 0;
  const deps = {
    store,
    plans,
    catalog: dslCatalog(),
    now: steppingClock(),
    newId: () => `order-${++n}`,
    telemetry: new RecordingTelemetry(),
  };
  return { deps, store, plans };
}

const order = (externalId = 'crm-42') => productOrderCreateSchema.parse({ ...dslOrderBody(), externalId });

describe('submitOrder', () => {
  it('gives every submission without a key a new order', async () => {
    const { deps } = setup();

    const first = await submitOrder(deps, order(), SUBMITTER);
    const second = await submitOrder(deps, order(), SUBMITTER);

    assert.notEqual(first.id, second.id);
  });

  it('answers a retry with the same Idempotency-Key with the same order, starting nothing twice', async () => {
    // Prepare
    const { deps, plans } = setup();

    // Act
    const first = await submitOrder(deps, order(), SUBMITTER, 'key-1');
    const retry = await submitOrder(deps, order(), SUBMITTER, 'key-1');

    // Assess
    assert.equal(retry.id, first.id);
    assert.match(first.id, /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    assert.deepEqual([...plans.started], [`${first.id}-1`]);
    assert.deepEqual(deps.telemetry.of('OrdersAccepted'), [': 1'], 'one order accepted, not two');
  });

  it('keeps the keys of different submitters apart', async () => {
    const { deps } = setup();

    const mine = await submitOrder(deps, order(), SUBMITTER, 'key-1');
    const theirs = await submitOrder(deps, order(), { id: 'shop', name: 'Web shop' }, 'key-1');

    assert.notEqual(mine.id, theirs.id);
  });

  it('refuses the same key for a different order with a ConflictError, writing nothing', async () => {
    const { deps, store } = setup();
    const first = await submitOrder(deps, order('crm-42'), SUBMITTER, 'key-1');

    await assert.rejects(submitOrder(deps, order('crm-43'), SUBMITTER, 'key-1'), ConflictError);

    assert.equal((await store.listOrders({ limit: 10 })).orders.length, 1);
    assert.deepEqual((await store.getOrder(first.id))?.submitted.externalId, [{ id: 'crm-42' }]);
  });

  it('recovers an order whose plans did not start when the client retries with its key', async () => {
    // Prepare: the first attempt writes the order, then Step Functions refuses the start.
    const { deps, plans, store } = setup();
    plans.failNext = true;
    await assert.rejects(submitOrder(deps, order(), SUBMITTER, 'key-1'), /unavailable/);
    const stored = (await store.listOrders({ limit: 10 })).orders;

    // Act
    const retried = await submitOrder(deps, order(), SUBMITTER, 'key-1');

    // Assess
    assert.equal(stored.length, 1);
    assert.equal(retried.id, stored[0]?.id);
    assert.deepEqual([...plans.started], [`${retried.id}-1`]);
  });

  it('takes over a claimed key whose order never appeared only once the first request has surely died', async () => {
    // Prepare: the first request claims the key, then dies before writing anything.
    const { store, plans } = setup();
    let now = Date.parse('2025-03-01T10:00:00.000Z');
    const deps = {
      store,
      plans,
      catalog: dslCatalog(),
      now: () => new Date(now),
      telemetry: new RecordingTelemetry(),
    };
    const createOrder = store.createOrder.bind(store);
    let crash = true;
    store.createOrder = async (...args) => {
      if (crash) {
        crash = false;
        throw new Error('the Lambda timed out');
      }
      return createOrder(...args);
    };
    await assert.rejects(submitOrder(deps, order(), SUBMITTER, 'key-1'), /timed out/);

    // Act: a retry right away, then one a minute later.
    const early = submitOrder(deps, order(), SUBMITTER, 'key-1');
    await assert.rejects(
      early,
      (error) => error instanceof ConflictError && /still creating/.test(error.message),
    );
    now += 61_000;
    const late = await submitOrder(deps, order(), SUBMITTER, 'key-1');

    // Assess
    assert.equal((await store.getOrder(late.id))?.id, late.id);
    assert.deepEqual([...plans.started], [`${late.id}-1`]);
  });
});
