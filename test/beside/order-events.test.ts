import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type CrmEvent, DemoCrm } from '../../local/demo-crm';
import { demoDslOrder, demoTvOrder } from '../../local/demo-orders';
import {
  eventually,
  sendToQueue,
  startTestSwitchboard,
  type TestSwitchboard,
} from '../support/local-switchboard';
import { payloadSchemaOf, tmf622Problems } from '../support/tmf622';

const BASE = '/tmf-api/productOrderingManagement/v5';

type Received = CrmEvent;

describe('TMF622 events through the local runtime', () => {
  let sb: TestSwitchboard;
  const listeners: DemoCrm[] = [];

  async function register(as: string, query?: string): Promise<{ listener: DemoCrm; id: string }> {
    const listener = new DemoCrm();
    await listener.start();
    listeners.push(listener);
    const answer = await sb.call(
      'POST',
      `${BASE}/hub`,
      { callback: listener.url, ...(query ? { query } : {}) },
      { as },
    );
    assert.equal(answer.status, 201, JSON.stringify(answer.body));
    const hub = answer.body as { id: string; secret: string };
    listener.secret = hub.secret;
    return { listener, id: hub.id };
  }

  async function submit(body: unknown, as = 'submitter'): Promise<string> {
    const created = await sb.call('POST', `${BASE}/productOrder`, body, { as });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    return (created.body as { id: string }).id;
  }

  const completed = (listener: DemoCrm, orderId: string) =>
    eventually(
      async () =>
        listener
          .of(orderId)
          .some(
            (r) =>
              r.body.eventType === 'ProductOrderStateChangeEvent' &&
              (r.body.event.productOrder as { state: string }).state === 'completed',
          ) || undefined,
      60_000,
      `order ${orderId} completed, as the listener heard it`,
    );

  before(async () => {
    sb = await startTestSwitchboard();
  });
  after(async () => {
    await sb?.stop();
    for (const listener of listeners) await listener.stop();
  });

  it('delivers every event of a DSL order, signed, in its sequence, each valid by the TMF622 v5 schema', async () => {
    const { listener } = await register('submitter');
    const orderId = await submit(demoDslOrder('events-1'));

    await completed(listener, orderId);

    const events = listener.of(orderId);
    assert.deepEqual(listener.unverified, []);
    const states = events
      .filter((r) => r.body.eventType === 'ProductOrderStateChangeEvent')
      .map((r) => (r.body.event.productOrder as { state: string }).state);
    assert.equal(events[0]?.body.eventType, 'ProductOrderCreateEvent');
    assert.deepEqual(states, ['inProgress', 'completed']);
    for (const { body } of events) {
      assert.deepEqual(tmf622Problems(body.eventType, body), [], body.eventType);
      assert.deepEqual(tmf622Problems(payloadSchemaOf(body.eventType), body.event), [], body.eventType);
    }
    assert.equal(new Set(events.map((e) => e.id)).size, events.length, 'each event once');
  });

  it('announces a plan’s milestone and an item that waits for a person', async () => {
    const { listener } = await register(
      'submitter',
      'eventType=ProductOrderMilestoneEvent,ProductOrderInformationRequiredEvent',
    );
    const selfInstalled = await submit(demoTvOrder('self'));
    const visited = await submit(demoTvOrder('technician'));

    const milestone = await eventually(
      async () => listener.of(selfInstalled).find((r) => r.body.eventType === 'ProductOrderMilestoneEvent'),
      60_000,
      'the milestone',
    );
    const waiting = await eventually(
      async () =>
        listener.of(visited).find((r) => r.body.eventType === 'ProductOrderInformationRequiredEvent'),
      60_000,
      'the technician visit waiting',
    );

    const reached = (milestone.body.event.productOrder as { productOrderMilestone: { name: string }[] })
      .productOrderMilestone;
    assert.deepEqual(
      reached.map((m) => m.name),
      ['service-ready'],
    );
    assert.match(JSON.stringify(waiting.body.event.informationRequired), /technician-visit/);
    assert.deepEqual(tmf622Problems('ProductOrderInformationRequiredEventPayload', waiting.body.event), []);
  });

  it('filters: a listener that asks for completed orders hears of each once', async () => {
    const { listener } = await register(
      'submitter',
      'eventType=ProductOrderStateChangeEvent&event.productOrder.state=completed',
    );
    const orderId = await submit(demoDslOrder('events-filter'));

    await completed(listener, orderId);
    // The events after `completed` (none) and before it (filtered) had their time to arrive.
    await new Promise((resolve) => setTimeout(resolve, 1000));

    assert.deepEqual(
      listener.of(orderId).map((r) => r.body.eventType),
      ['ProductOrderStateChangeEvent'],
    );
  });

  it('keeps each listener to its owner: another submitter neither sees nor removes it, nor hears of its orders', async () => {
    const { listener: crm, id } = await register('submitter');
    const { listener: shop } = await register('local-web-shop');

    assert.equal(
      (await sb.call('GET', `${BASE}/hub/${id}`, undefined, { as: 'local-web-shop' })).status,
      404,
    );
    assert.equal(
      (await sb.call('DELETE', `${BASE}/hub/${id}`, undefined, { as: 'local-web-shop' })).status,
      404,
    );
    const orderId = await submit(demoDslOrder('events-own'));
    await completed(crm, orderId);
    assert.deepEqual(shop.of(orderId), []);

    assert.equal((await sb.call('DELETE', `${BASE}/hub/${id}`, undefined, { as: 'submitter' })).status, 204);
    assert.equal((await sb.call('GET', `${BASE}/hub/${id}`, undefined, { as: 'submitter' })).status, 404);
  });

  it('announces a cancellation asked for and carried out, each event valid by the schema', async () => {
    const { listener } = await register(
      'submitter',
      'eventType=CancelProductOrderCreateEvent,CancelProductOrderStateChangeEvent',
    );
    const activation = (state: 'Up' | 'Down') =>
      sb.call('PUT', '/admin/systems/activation/state', {
        state,
        reason: 'test: the order waits for activation',
      });
    // Activation Down: the order waits for it once its port is reserved, and is cancelled there.
    assert.equal((await activation('Down')).status, 200);
    try {
      const orderId = await submit(demoDslOrder('events-cancel'));
      await eventually(
        async () => {
          const read = await sb.call('GET', `${BASE}/productOrder/${orderId}`, undefined, {
            as: 'submitter',
          });
          return (read.body as { state: string }).state === 'held' || undefined;
        },
        60_000,
        'the order waiting for activation',
      );
      const asked = await sb.call('POST', `${BASE}/cancelProductOrder`, { productOrder: { id: orderId } });
      assert.equal(asked.status, 201, JSON.stringify(asked.body));
      const stateOf = (r: Received) => (r.body.event.cancelProductOrder as { state: string }).state;
      await eventually(
        async () => listener.of(orderId).some((r) => stateOf(r) === 'done') || undefined,
        60_000,
        'the cancellation done, as the listener heard it',
      );
      // A cancellation's events carry its order's id as their correlationId, its own sequence.
      const events = listener.of(orderId);
      assert.equal(events[0]?.body.eventType, 'CancelProductOrderCreateEvent');
      assert.deepEqual(
        events.filter((r) => r.body.eventType === 'CancelProductOrderStateChangeEvent').map(stateOf),
        ['inProgress', 'done'],
      );
      for (const { body } of events) {
        assert.deepEqual(tmf622Problems(body.eventType, body), [], body.eventType);
        assert.deepEqual(tmf622Problems(payloadSchemaOf(body.eventType), body.event), [], body.eventType);
      }
    } finally {
      await activation('Up');
    }
  });

  it('raises a jeopardy before the due date passes, and clears it when the late item finishes', async () => {
    const { listener } = await register('submitter', 'eventType=ProductOrderJeopardyAlertEvent');
    // Due in an hour; the technician's visit is expected to take two days.
    const due = new Date(Date.now() + 3_600_000).toISOString();
    const orderId = await submit({ ...demoTvOrder('technician'), requestedCompletionDate: due });
    const alertOf = (r: Received) =>
      (
        r.body.event.productOrder as {
          productOrderJeopardyAlert: { jeopardyType: string; message: string }[];
        }
      ).productOrderJeopardyAlert[0];

    const raised = await eventually(
      async () => listener.of(orderId).find((r) => alertOf(r)?.jeopardyType === 'Hazard'),
      60_000,
      'the jeopardy raised',
    );
    assert.ok(Date.parse(raised.body.eventTime) < Date.parse(due), 'raised before the due date');
    assert.match(alertOf(raised)?.message ?? '', /after its due date/);
    const read = await sb.call('GET', `${BASE}/productOrder/${orderId}`, undefined, { as: 'submitter' });
    const order = read.body as { expectedCompletionDate: string; productOrderJeopardyAlert: unknown[] };
    assert.ok(Date.parse(order.expectedCompletionDate) > Date.parse(due));
    assert.equal(order.productOrderJeopardyAlert.length, 1);
    const listed = await sb.call('GET', '/admin/jeopardy', undefined, { as: 'operator' });
    assert.ok(
      (listed.body as { id: string }[]).some((o) => o.id === orderId),
      'operators see it',
    );

    // The technician has been: the order catches up and completes.
    await eventually(
      async () => {
        const done = await sb.call(
          'POST',
          `/orchestration/items/${orderId}.tv-bundle.technician-visit.1/complete`,
          {
            installedBy: 'Tess',
          },
        );
        return done.status === 200 || undefined;
      },
      60_000,
      'the visit completed',
    );
    const cleared = await eventually(
      async () => listener.of(orderId).find((r) => alertOf(r)?.jeopardyType === 'Normal'),
      60_000,
      'the jeopardy cleared',
    );
    assert.ok(cleared.body.sequence > raised.body.sequence);
    for (const { body } of listener.of(orderId)) assert.deepEqual(tmf622Problems(body.eventType, body), []);
    const after = await sb.call('GET', '/admin/jeopardy', undefined, { as: 'operator' });
    assert.ok(!(after.body as { id: string }[]).some((o) => o.id === orderId), 'no longer listed');
  });

  it('sends a delivery that waited in the dead-letter queue once an operator redrives it', async () => {
    const { listener, id } = await register('submitter');
    const orderId = await submit(demoDslOrder('events-redrive'));
    await completed(listener, orderId);
    const [first] = listener.of(orderId);
    assert.ok(first);
    // A delivery parked there, as one whose retries ran out (or whose listener was paused) is.
    await sendToQueue(
      sb,
      'DeliveriesDeadLetters',
      JSON.stringify({ event: first.body, submittedBy: 'c-crm', listenerId: id }),
    );
    const waiting = async () =>
      ((await sb.call('GET', '/admin/dead-letters')).body as { queue: string; messages: number }[]).find(
        (q) => q.queue === 'deliveries',
      )?.messages;
    await eventually(async () => ((await waiting()) === 1 ? true : undefined), 10_000, 'the parked delivery');
    const taken = listener.events.length;

    const redriven = await sb.call('POST', '/admin/dead-letters/deliveries/redrive', {});
    assert.equal(redriven.status, 200);
    assert.deepEqual(redriven.body, { queue: 'deliveries', moved: 1 });

    await eventually(
      async () => (listener.events.length > taken ? true : undefined),
      30_000,
      'the redriven delivery',
    );
    assert.equal(
      listener.events.at(-1)?.id,
      first.id,
      'the same event, by its id: the listener can tell it had it',
    );
    assert.equal(await waiting(), 0);
    assert.equal((await sb.call('POST', '/admin/dead-letters/work/redrive', {})).status, 404);
  });

  it('retries a listener that fails for a while: once it recovers it has every event, exactly once each', async () => {
    const { listener } = await register('submitter');
    const failUntil = Date.now() + 6000;
    listener.answer = () => (Date.now() < failUntil ? 503 : 200);
    const orderId = await submit(demoDslOrder('events-retry'));

    await completed(listener, orderId);
    await new Promise((resolve) => setTimeout(resolve, 1000));

    assert.ok(listener.failed.length > 0, 'it did fail at first');
    const ids = listener.of(orderId).map((r) => r.id);
    assert.equal(new Set(ids).size, ids.length, 'no event twice');
    const types = listener.of(orderId).map((r) => r.body.eventType);
    assert.equal(types[0], 'ProductOrderCreateEvent');
    assert.deepEqual(
      listener.of(orderId).filter((r) => r.body.eventType === 'ProductOrderStateChangeEvent').length,
      2,
    );
    // Operators see how its deliveries went.
    const seen = await sb.call('GET', '/admin/listeners', undefined, { as: 'operator' });
    assert.equal(seen.status, 200);
    assert.ok(
      (seen.body as { callback: string; lastSuccessAt?: string }[]).some(
        (l) => l.callback === listener.url && l.lastSuccessAt,
      ),
    );
  });
});
