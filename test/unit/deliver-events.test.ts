import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SQSEvent } from 'aws-lambda';
import { decompose } from '../../lambdas/domain/decompose';
import { type ListenerRecord, MAX_FAILURES_BEFORE_PAUSE, newListener } from '../../lambdas/domain/listener';
import { announcementOf, type OrderEvent, orderEventOf } from '../../lambdas/domain/order-events';
import { productOrderCreateSchema } from '../../lambdas/domain/product-order';
import { checkWebhook, webhookKey } from '../../lambdas/domain/webhook-signature';
import { handleBusEvent, handleDeliveryBatch } from '../../lambdas/event-delivery/handler';
import type { Delivery } from '../../lambdas/ports/order-event-bus';
import type { Comeback } from '../../lambdas/ports/redelivery';
import { type DeliverDeps, deliver } from '../../lambdas/use-cases/deliver-events';
import { webhookProblems } from '../support/contract';
import { dslCatalog, dslOrderBody } from './fixtures/catalogs';
import { jsonAnswer, RecordingTelemetry, type Responder, ScriptedHttpClient } from './fixtures/fake-ports';
import { InMemoryListenerStore } from './fixtures/in-memory-listener-store';

const AT = '2025-03-01T09:00:00.000Z';
const CRM = { id: 'c-crm', name: 'order-capture' };
const SHOP = { id: 'c-shop', name: 'web-shop' };

const event = {
  '@type': 'ProductOrderStateChangeEvent',
  eventId: 'evt-1',
  eventType: 'ProductOrderStateChangeEvent',
  eventTime: AT,
  correlationId: 'o-1',
  sequence: '1'.padStart(40, '0'),
  event: { productOrder: { id: 'o-1', state: 'completed' } },
} as unknown as OrderEvent;

function setup(responder: Responder = () => jsonAnswer(204, {})) {
  const listeners = new InMemoryListenerStore();
  const sent: Delivery[] = [];
  const parked: Delivery[] = [];
  let now = new Date('2025-03-01T10:00:00.000Z');
  const http = new ScriptedHttpClient(responder);
  const deps: DeliverDeps = {
    listeners,
    queue: {
      send: async (deliveries) => void sent.push(...deliveries),
      deadLetter: async (delivery) => void parked.push(delivery),
    },
    http,
    now: () => now,
    telemetry: new RecordingTelemetry(),
  };
  const advance = (ms: number) => {
    now = new Date(now.getTime() + ms);
  };
  return { deps, listeners, sent, parked, http, advance };
}

async function register(
  listeners: InMemoryListenerStore,
  owner = CRM,
  options: { query?: string; readsAll?: boolean } = {},
): Promise<ListenerRecord> {
  const listener = newListener(
    {
      callback: `https://${owner.id}.example.com/events`,
      ...(options.query ? { query: options.query } : {}),
    },
    owner,
    options.readsAll ?? false,
    AT,
  );
  await listeners.create(listener);
  return listener;
}

const busEvent = (submittedBy: string) => ({
  source: 'switchboard.productOrdering',
  'detail-type': event.eventType,
  detail: { event, submittedBy },
});

describe('fanning an event out to the hub’s listeners', () => {
  it('makes one delivery for each listener that may read the order and whose filter it passes', async () => {
    const { deps, listeners, sent } = setup();
    const own = await register(listeners);
    await register(listeners, SHOP);
    const reader = await register(listeners, { id: 'c-bi', name: 'reporting' }, { readsAll: true });
    await register(listeners, CRM, { query: 'eventType=ProductOrderCreateEvent' });
    const completed = await register(listeners, CRM, { query: 'event.productOrder.state=completed' });

    const count = await handleBusEvent(deps, busEvent(CRM.id));

    assert.equal(count, 3);
    assert.deepEqual(sent.map((d) => d.listenerId).sort(), [own.id, reader.id, completed.id].sort());
    assert.ok(sent.every((d) => d.event.eventId === 'evt-1' && d.submittedBy === CRM.id));
  });

  it('refuses what is no order event from the bus', async () => {
    const { deps } = setup();
    await assert.rejects(handleBusEvent(deps, { source: 'someone.else', 'detail-type': 'x', detail: {} }));
  });
});

describe('delivering an event to a listener', () => {
  it('posts what the API’s document says a listener receives: the event and the Standard Webhooks headers', async () => {
    const { deps, listeners, http } = setup();
    const listener = await register(listeners);
    const submitted = productOrderCreateSchema.parse(dslOrderBody());
    const { order } = decompose(dslCatalog(), 'o-1', submitted, AT);
    const recorded = {
      kind: 'INSERT' as const,
      pk: 'ORDER#o-1',
      sk: 'ORDER',
      new: { ...order } as Record<string, unknown>,
      sequence: '4200000000000000001',
      at: AT,
    };
    const announcement = announcementOf(recorded);
    assert.ok(announcement);
    const created = orderEventOf(announcement, recorded, order);
    assert.ok(created);

    await deliver(deps, { event: created, submittedBy: CRM.id, listenerId: listener.id });

    const [request] = http.requests;
    assert.ok(request);
    assert.deepEqual(
      webhookProblems('ProductOrderCreateEvent', { headers: request.headers, body: request.body ?? '' }),
      [],
    );
  });

  it('posts it signed with the listener’s secret, as Standard Webhooks has it', async () => {
    const { deps, listeners, http } = setup();
    const listener = await register(listeners);

    const outcome = await deliver(deps, { event, submittedBy: CRM.id, listenerId: listener.id });

    assert.deepEqual(outcome, { kind: 'delivered', status: 204 });
    const [request] = http.requests;
    assert.ok(request);
    assert.equal(request.url, listener.callback);
    assert.deepEqual(JSON.parse(request.body ?? ''), event);
    const check = checkWebhook(
      [webhookKey(listener.secret)],
      {
        id: request.headers['webhook-id'],
        timestamp: request.headers['webhook-timestamp'],
        signature: request.headers['webhook-signature'],
      },
      request.body ?? '',
      new Date('2025-03-01T10:00:00.000Z'),
    );
    assert.deepEqual(check, { valid: true, id: 'evt-1' });
  });

  it('counts a failure, and a delivery taken ends the failures', async () => {
    let status = 503;
    const { deps, listeners } = setup(() => jsonAnswer(status, {}));
    const listener = await register(listeners);
    const delivery = { event, listenerId: listener.id };

    assert.deepEqual(await deliver(deps, delivery), { kind: 'failed', reason: 'the listener answered 503' });
    assert.equal((await listeners.get(listener.id))?.failures, 1);
    status = 200;
    assert.equal((await deliver(deps, delivery)).kind, 'delivered');
    assert.equal((await listeners.get(listener.id))?.failures, undefined);
  });

  it('pauses a listener that keeps failing, and parks its deliveries in the dead-letter queue', async () => {
    const { deps, listeners, parked, http, advance } = setup(() => {
      throw new Error('connect ECONNREFUSED');
    });
    const listener = await register(listeners);
    const delivery = { event, listenerId: listener.id };
    for (let i = 0; i < MAX_FAILURES_BEFORE_PAUSE; i++) {
      await deliver(deps, delivery);
      advance(4 * 60 * 1000);
    }
    assert.equal((await listeners.get(listener.id))?.state, 'paused');
    const asked = http.requests.length;

    assert.deepEqual(await deliver(deps, delivery), { kind: 'parked' });
    assert.equal(http.requests.length, asked, 'a paused listener is not called');
    assert.deepEqual(parked, [delivery]);
  });

  it('drops a delivery whose listener was removed', async () => {
    const { deps, http } = setup();
    assert.deepEqual(await deliver(deps, { event, listenerId: 'gone' }), { kind: 'dropped' });
    assert.equal(http.requests.length, 0);
  });
});

describe('the delivery queue’s batch', () => {
  it('brings a failed delivery back after its backoff, by its receive count, an unreadable one at once, and takes the rest', async () => {
    const { deps, listeners } = setup((request) =>
      jsonAnswer(request.url.includes('c-shop') ? 500 : 200, {}),
    );
    const crm = await register(listeners);
    const shop = await register(listeners, SHOP);
    const record = (id: string, listenerId: string, receives: number) => ({
      messageId: id,
      receiptHandle: `rh-${id}`,
      body: JSON.stringify({ event, listenerId }),
      attributes: { ApproximateReceiveCount: String(receives) },
    });
    const comebacks: Comeback[] = [];
    const batch = {
      Records: [
        record('m-1', crm.id, 1),
        record('m-2', shop.id, 3),
        { ...record('m-3', crm.id, 1), body: '{' },
      ],
    } as unknown as SQSEvent;

    const answer = await handleDeliveryBatch(deps, batch, { later: async (c) => void comebacks.push(...c) });

    assert.deepEqual(answer.batchItemFailures.map((f) => f.itemIdentifier).sort(), ['m-2', 'm-3']);
    assert.deepEqual(
      comebacks.sort((a, b) => a.receiptHandle.localeCompare(b.receiptHandle)),
      [
        { receiptHandle: 'rh-m-2', seconds: 90 },
        { receiptHandle: 'rh-m-3', seconds: 1 },
      ],
    );
  });
});
