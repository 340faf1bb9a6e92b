import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Authenticator } from '../../lambdas/domain/authenticator';
import { decompose } from '../../lambdas/domain/decompose';
import { productOrderCreateSchema } from '../../lambdas/domain/product-order';
import { failByOperator } from '../../lambdas/use-cases/operator-actions';
import { runItem } from '../../lambdas/use-cases/run-item';
import { dslCatalog, dslOrderBody } from './fixtures/catalogs';
import {
  InMemoryCalloutLimits,
  InMemoryConfigurationStore,
  InMemoryRetryRuleStore,
  StaticSecretStore,
} from './fixtures/configuration';
import {
  jsonAnswer,
  RecordingAvailabilityEvents,
  RecordingPlanRunner,
  RecordingPlanTasks,
  RecordingTelemetry,
  RecordingWorkQueue,
  ScriptedHttpClient,
  testCallbacks,
} from './fixtures/fake-ports';
import { InMemoryOrderStore } from './fixtures/in-memory-order-store';

/** The worker after an operator failed an order: nothing more of it runs. */
describe('runItem for a failed order', () => {
  it('starts nothing more of an order an operator failed: a retry of another line that comes due calls no system', async () => {
    const catalog = dslCatalog();
    const [line] = dslOrderBody().productOrderItem as Record<string, unknown>[];
    const submitted = productOrderCreateSchema.parse({
      ...dslOrderBody(),
      productOrderItem: [line, { ...line, id: 'line-2' }],
    });
    const { order, items } = decompose(catalog, 'o-1', submitted, '2025-03-01T09:00:00.000Z');
    const store = new InMemoryOrderStore();
    await store.createOrder(order, items);
    const R1 = 'dsl-broadband.reserve-port.1';
    const R2 = 'dsl-broadband.reserve-port.2';
    for (const k of [R1, R2]) await store.attachTaskToken('o-1', k, `t-${k}`, '2025-03-01T09:00:00.000Z');
    // line 1 in fallout
    await store.claimItem('o-1', R1, 'a1', '2025-03-01T10:00:00.000Z', 'x');
    await store.failItem('o-1', R1, 'a1', 'HTTP 400', {}, '2025-03-01T10:00:00.000Z');
    await store.holdOrder('o-1', R1, '2025-03-01T10:00:00.000Z');
    // line 2 waiting for a retry at 11:00
    await store.claimItem('o-1', R2, 'a2', '2025-03-01T10:00:00.000Z', 'x');
    await store.retryLater(
      'o-1',
      R2,
      'a2',
      {
        attempt: {
          number: 1,
          at: '2025-03-01T10:00:00.000Z',
          decision: { kind: 'retry', at: '2025-03-01T11:00:00.000Z', ruleId: 'default', retry: 1 },
        },
      },
      { at: '2025-03-01T11:00:00.000Z', retries: 1, error: 'HTTP 503' },
      '2025-03-01T10:00:00.000Z',
    );
    const queue = new RecordingWorkQueue();
    const tasks = new RecordingPlanTasks();
    const plans = new RecordingPlanRunner();
    await failByOperator(
      {
        store,
        queue,
        tasks,
        plans,
        catalog,
        rules: new InMemoryRetryRuleStore(),
        now: () => new Date('2025-03-01T10:30:00.000Z'),
        telemetry: new RecordingTelemetry(),
      },
      `o-1.${R1}`,
      { reason: 'customer cancelled' },
      { id: 'u', name: 'olga' },
    );
    assert.equal(store.order('o-1').state, 'failed');
    assert.deepEqual(
      plans.stopped,
      [{ executionName: 'o-1-1', cause: 'failed by olga (u): customer cancelled' }],
      'its plan run is stopped, not left waiting for the items that will never start',
    );
    // line 2's retry comes due
    const http = new ScriptedHttpClient(() => jsonAnswer(201, { portId: 'P-7' }));
    const now = () => new Date('2025-03-01T11:00:01.000Z');
    await runItem(
      {
        store,
        tasks,
        queue,
        http,
        catalog,
        config: InMemoryConfigurationStore.seededFrom(catalog),
        limits: new InMemoryCalloutLimits(),
        auth: new Authenticator(new StaticSecretStore({}), http, now),
        now,
        telemetry: new RecordingTelemetry(),
        callbacks: testCallbacks,
        events: new RecordingAvailabilityEvents(),
        rules: new InMemoryRetryRuleStore(),
        sleep: async () => {},
      },
      { kind: 'start', orderId: 'o-1', itemKey: R2 },
      'retry-msg',
    );
    assert.equal(http.requests.length, 0, 'no callout for a failed order');
    assert.equal(store.item('o-1', R2).state, 'Failed', 'the item is left as it was');
    assert.equal(store.order('o-1').state, 'failed');
  });
});
