import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { requests } from '../../lambdas/adapters/eventbridge-order-event-bus';
import type { CancellationRecord } from '../../lambdas/domain/cancel-product-order';
import { decompose } from '../../lambdas/domain/decompose';
import type { ItemRecord, OrderRecord } from '../../lambdas/domain/orchestration';
import { announcementOf, orderEventOf, type RecordChange } from '../../lambdas/domain/order-events';
import { productOrderCreateSchema } from '../../lambdas/domain/product-order';
import type { PublishedEvent } from '../../lambdas/ports/order-event-bus';
import { publishOrderEvents } from '../../lambdas/use-cases/publish-order-events';
import { schemaProblems } from '../support/contract';
import { payloadSchemaOf, tmf622Problems } from '../support/tmf622';
import { dslCatalog, dslOrderBody } from './fixtures/catalogs';

const AT = '2025-03-01T09:00:00.000Z';

function order(): { order: OrderRecord; items: ItemRecord[] } {
  const submitted = productOrderCreateSchema.parse({ ...dslOrderBody(), priority: '2' });
  const made = decompose(dslCatalog(), 'o-1', submitted, AT);
  return { order: { ...made.order, submittedBy: { id: 'c-crm', name: 'order-capture' } }, items: made.items };
}

function change(partial: Partial<RecordChange> & Pick<RecordChange, 'pk' | 'sk'>): RecordChange {
  return { kind: 'MODIFY', sequence: '4200000000000000001', at: '2025-03-01T09:00:05.000Z', ...partial };
}

const asRecord = (value: object) => ({ ...value }) as Record<string, unknown>;

describe('announcementOf: what a change of the orders table announces', () => {
  const { order: o, items } = order();
  const milestone = items.find((i) => i.type === 'milestone') as ItemRecord;

  it('announces an order created, and each change of its state, and nothing else about it', () => {
    const created = announcementOf(
      change({ kind: 'INSERT', pk: 'ORDER#o-1', sk: 'ORDER', new: asRecord(o) }),
    );
    assert.equal(created?.type, 'ProductOrderCreateEvent');
    const moved = announcementOf(
      change({
        pk: 'ORDER#o-1',
        sk: 'ORDER',
        old: asRecord(o),
        new: asRecord({ ...o, state: 'inProgress' }),
      }),
    );
    assert.equal(moved?.type, 'ProductOrderStateChangeEvent');
    assert.equal(moved?.order?.state, 'inProgress');
    const same = announcementOf(
      change({ pk: 'ORDER#o-1', sk: 'ORDER', old: asRecord(o), new: asRecord({ ...o, holds: ['x'] }) }),
    );
    assert.equal(same, undefined);
    assert.equal(
      announcementOf(change({ kind: 'REMOVE', pk: 'ORDER#o-1', sk: 'ORDER', old: asRecord(o) })),
      undefined,
    );
  });

  it('announces a milestone item completing once, and a manual task starting to wait', () => {
    const completed = { ...milestone, state: 'Completed' as const, completedAt: '2025-03-01T09:00:04.000Z' };
    const reached = announcementOf(
      change({
        pk: 'ORDER#o-1',
        sk: `ITEM#${milestone.key}`,
        old: asRecord(milestone),
        new: asRecord(completed),
      }),
    );
    assert.equal(reached?.type, 'ProductOrderMilestoneEvent');
    const again = announcementOf(
      change({
        pk: 'ORDER#o-1',
        sk: `ITEM#${milestone.key}`,
        old: asRecord(completed),
        new: asRecord(completed),
      }),
    );
    assert.equal(again, undefined, 'a replay of a completed milestone is no second milestone');
    const task = { ...milestone, type: 'manualTask' as const, key: 'p.visit.1', planItemId: 'visit' };
    const waits = announcementOf(
      change({
        pk: 'ORDER#o-1',
        sk: 'ITEM#p.visit.1',
        old: asRecord(task),
        new: asRecord({ ...task, state: 'Running' }),
      }),
    );
    assert.equal(waits?.type, 'ProductOrderInformationRequiredEvent');
    const callout = items.find((i) => i.type === 'callout') as ItemRecord;
    assert.equal(
      announcementOf(
        change({
          pk: 'ORDER#o-1',
          sk: `ITEM#${callout.key}`,
          old: asRecord(callout),
          new: asRecord({ ...callout, state: 'Completed' }),
        }),
      ),
      undefined,
      'a callout completing is no event of its own (its order moving is)',
    );
  });

  it('announces a cancellation created and its state changing', () => {
    const cancellation: CancellationRecord = {
      id: 'c-1',
      orderId: 'o-1',
      state: 'acknowledged',
      creationDate: AT,
      orderSubmittedBy: 'c-crm',
    };
    const created = announcementOf(
      change({ kind: 'INSERT', pk: 'CANCEL#c-1', sk: 'CANCEL', new: asRecord(cancellation) }),
    );
    assert.equal(created?.type, 'CancelProductOrderCreateEvent');
    const done = announcementOf(
      change({
        pk: 'CANCEL#c-1',
        sk: 'CANCEL',
        old: asRecord(cancellation),
        new: asRecord({ ...cancellation, state: 'done' }),
      }),
    );
    assert.equal(done?.type, 'CancelProductOrderStateChangeEvent');
  });

  it('announces nothing for the other records (an item log, the progress record)', () => {
    assert.equal(
      announcementOf(change({ kind: 'INSERT', pk: 'ORDER#o-1', sk: '~LOG#x#1', new: { a: 1 } })),
      undefined,
    );
    assert.equal(
      announcementOf(change({ pk: 'ORDER#o-1', sk: 'PROGRESS', old: { a: 1 }, new: { a: 2 } })),
      undefined,
    );
  });
});

/** An order expected to miss its due date. */
const JEOPARDY = {
  since: '2025-03-01T09:00:04.000Z',
  kinds: ['late'],
  reasons: ['expected to complete at 2025-03-03T12:00:00.000Z, after its due date'],
  expectedCompletionDate: '2025-03-03T12:00:00.000Z',
  dueDate: '2025-03-02T17:00:00.000Z',
};

describe('orderEventOf: the events as TMF622 v5 shapes them', () => {
  const { order: o, items } = order();
  const milestone = items.find((i) => i.type === 'milestone') as ItemRecord;
  const cases: [string, RecordChange][] = [
    ['ProductOrderCreateEvent', change({ kind: 'INSERT', pk: 'ORDER#o-1', sk: 'ORDER', new: asRecord(o) })],
    [
      'ProductOrderStateChangeEvent',
      change({
        pk: 'ORDER#o-1',
        sk: 'ORDER',
        old: asRecord(o),
        new: asRecord({ ...o, state: 'completed', completedAt: '2025-03-01T09:00:05.000Z' }),
      }),
    ],
    [
      'ProductOrderMilestoneEvent',
      change({
        pk: 'ORDER#o-1',
        sk: `ITEM#${milestone.key}`,
        old: asRecord(milestone),
        new: asRecord({ ...milestone, state: 'Completed', completedAt: '2025-03-01T09:00:04.000Z' }),
      }),
    ],
    [
      'ProductOrderInformationRequiredEvent',
      change({
        pk: 'ORDER#o-1',
        sk: 'ITEM#p.visit.1',
        old: asRecord({ ...milestone, type: 'manualTask', key: 'p.visit.1', planItemId: 'visit' }),
        new: asRecord({
          ...milestone,
          type: 'manualTask',
          key: 'p.visit.1',
          planItemId: 'visit',
          state: 'Running',
        }),
      }),
    ],
    [
      'CancelProductOrderStateChangeEvent',
      change({
        pk: 'CANCEL#c-1',
        sk: 'CANCEL',
        old: { id: 'c-1', orderId: 'o-1', state: 'inProgress', creationDate: AT },
        new: { id: 'c-1', orderId: 'o-1', state: 'done', creationDate: AT, effectiveCancellationDate: AT },
      }),
    ],
    [
      'CancelProductOrderCreateEvent',
      change({
        kind: 'INSERT',
        pk: 'CANCEL#c-2',
        sk: 'CANCEL',
        new: {
          id: 'c-2',
          orderId: 'o-1',
          state: 'acknowledged',
          creationDate: AT,
          cancellationReason: 'moved',
        },
      }),
    ],
    [
      'CancelProductOrderStateChangeEvent',
      change({
        pk: 'CANCEL#c-3',
        sk: 'CANCEL',
        old: { id: 'c-3', orderId: 'o-1', state: 'acknowledged', creationDate: AT },
        new: {
          id: 'c-3',
          orderId: 'o-1',
          state: 'terminatedWithError',
          creationDate: AT,
          errorMessage: 'item p.activate.1 is a point of no return and has completed',
          endedAt: AT,
        },
      }),
    ],
    [
      'ProductOrderJeopardyAlertEvent',
      change({ pk: 'ORDER#o-1', sk: 'ORDER', old: asRecord(o), new: asRecord({ ...o, jeopardy: JEOPARDY }) }),
    ],
    [
      'ProductOrderJeopardyAlertEvent',
      change({ pk: 'ORDER#o-1', sk: 'ORDER', old: asRecord({ ...o, jeopardy: JEOPARDY }), new: asRecord(o) }),
    ],
  ];

  for (const [n, [type, recorded]] of cases.entries()) {
    it(`${type} (case ${n + 1}): valid by the published schema and by Switchboard’s webhook, its payload too`, () => {
      const announcement = announcementOf(recorded);
      assert.ok(announcement, type);
      const event = orderEventOf(announcement, recorded, o);
      assert.ok(event);
      assert.equal(event.eventType, type);
      assert.equal(event['@type'], type);
      assert.deepEqual(tmf622Problems(type, event), []);
      assert.deepEqual(tmf622Problems(payloadSchemaOf(type), event.event), []);
      // As a listener receives it: the JSON the delivery posts.
      assert.deepEqual(schemaProblems(type, JSON.parse(JSON.stringify(event))), []);
      assert.equal(event.sequence.length, 40);
      assert.equal(event.correlationId, 'o-1');
    });
  }

  it('raises a jeopardy as a Hazard and clears it as Normal', () => {
    const alerts = cases
      .filter(([type]) => type === 'ProductOrderJeopardyAlertEvent')
      .map(([, recorded]) => {
        const announcement = announcementOf(recorded);
        assert.ok(announcement);
        const productOrder = orderEventOf(announcement, recorded, o)?.event.productOrder as {
          productOrderJeopardyAlert: { jeopardyType: string }[];
        };
        return productOrder.productOrderJeopardyAlert.map((alert) => alert.jeopardyType);
      });
    assert.deepEqual(alerts, [['Hazard'], ['Normal']]);
  });

  it('gives the same change the same event id, and another change another', () => {
    const [, recorded] = cases[1] as [string, RecordChange];
    const announcement = announcementOf(recorded);
    assert.ok(announcement);
    const first = orderEventOf(announcement, recorded, o);
    const again = orderEventOf(announcement, recorded, o);
    const later = orderEventOf(announcement, { ...recorded, sequence: '4200000000000000002' }, o);
    assert.equal(first?.eventId, again?.eventId);
    assert.notEqual(first?.eventId, later?.eventId);
    assert.ok((first?.sequence ?? '') < (later?.sequence ?? ''), 'sequences sort as text');
  });

  it('says what the order was when it changed: its state then, whatever it is now', () => {
    const [, recorded] = cases[1] as [string, RecordChange];
    const announcement = announcementOf(recorded);
    assert.ok(announcement);
    const event = orderEventOf(announcement, recorded, { ...o, state: 'failed' });
    assert.ok(event);
    assert.equal((event.event.productOrder as { state: string }).state, 'completed');
    assert.equal(event.priority, '2');
  });
});

describe('publishOrderEvents', () => {
  it('publishes a batch’s events in order, reading each order once, and nothing for an order that is gone', async () => {
    const { order: o } = order();
    const reads: string[] = [];
    const published: PublishedEvent[][] = [];
    const deps = {
      store: {
        getOrder: async (id: string) => {
          reads.push(id);
          return id === 'o-1' ? o : undefined;
        },
      },
      bus: { publish: async (events: PublishedEvent[]) => void published.push(events) },
    };
    const changes = [
      change({ kind: 'INSERT', pk: 'ORDER#o-1', sk: 'ORDER', new: asRecord(o), sequence: '1' }),
      change({
        pk: 'ORDER#o-1',
        sk: 'ORDER',
        old: asRecord(o),
        new: asRecord({ ...o, state: 'inProgress' }),
        sequence: '2',
      }),
      change({
        kind: 'INSERT',
        pk: 'ORDER#gone',
        sk: 'ORDER',
        new: asRecord({ ...o, id: 'gone' }),
        sequence: '3',
      }),
    ];

    const count = await publishOrderEvents(deps, changes);

    assert.equal(count, 2);
    assert.deepEqual(reads, ['o-1', 'gone']);
    assert.deepEqual(
      published[0]?.map((p) => [p.event.eventType, p.submittedBy]),
      [
        ['ProductOrderCreateEvent', 'c-crm'],
        ['ProductOrderStateChangeEvent', 'c-crm'],
      ],
    );
  });
});

describe('putting events on the bus', () => {
  it('sends at most ten entries and about 240 KB a request, in their order', () => {
    const event = (n: number, kb: number) =>
      ({ event: { eventId: `e-${n}`, title: 'x'.repeat(kb * 1024) } }) as unknown as PublishedEvent;
    const small = requests(Array.from({ length: 23 }, (_, n) => event(n, 1)));
    assert.deepEqual(
      small.map((r) => r.length),
      [10, 10, 3],
    );
    const large = requests(Array.from({ length: 7 }, (_, n) => event(n, 48)));
    assert.deepEqual(
      large.map((r) => r.length),
      [4, 3],
      'five of 48 KB would pass 240 KB',
    );
    assert.deepEqual(
      large.flat().map((e) => e.event.eventId),
      ['e-0', 'e-1', 'e-2', 'e-3', 'e-4', 'e-5', 'e-6'],
    );
  });
});
