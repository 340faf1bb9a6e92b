import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startNotification } from '../../simulators/notification';
import { nextWorkingMorning, startScheduling } from '../../simulators/scheduling';

const post = async (url: string, body: unknown) => {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
};

describe('the simulated scheduling system', () => {
  let scheduling: Awaited<ReturnType<typeof startScheduling>>;
  before(async () => {
    // A Friday afternoon: the next working morning is Monday's.
    scheduling = await startScheduling({ port: 0, now: () => new Date('2025-03-07T15:00:00Z') });
  });
  after(() => scheduling.stop());

  it('books a slot on the next working morning, and the same one again for the same order', async () => {
    const first = await post(`${scheduling.url}/slots`, { orderId: 'o-1', address: '1 Main Street' });
    const again = await post(`${scheduling.url}/slots`, { orderId: 'o-1', address: '1 Main Street' });

    assert.equal(first.status, 201);
    assert.equal(first.body.slotId, 'SLOT-000001');
    assert.equal(first.body.start, '2025-03-10T08:00:00.000Z');
    assert.equal(again.status, 200);
    assert.deepEqual(again.body, first.body);
    assert.equal(scheduling.slots.length, 1);
  });

  it('refuses a booking without an order or an address, naming the field', async () => {
    const answer = await post(`${scheduling.url}/slots`, { orderId: 'o-2' });

    assert.equal(answer.status, 400);
    assert.equal(answer.body.field, 'address');
  });

  it('skips the weekend to the next working morning', () => {
    assert.equal(
      nextWorkingMorning(new Date('2025-03-05T10:00:00Z')).toISOString(),
      '2025-03-06T08:00:00.000Z',
    );
    assert.equal(
      nextWorkingMorning(new Date('2025-03-08T10:00:00Z')).toISOString(),
      '2025-03-10T08:00:00.000Z',
    );
  });
});

describe('the simulated notification gateway', () => {
  let notification: Awaited<ReturnType<typeof startNotification>>;
  before(async () => {
    notification = await startNotification({ port: 0 });
  });
  after(() => notification.stop());

  it('queues a message and keeps it', async () => {
    const answer = await post(`${notification.url}/messages`, { to: 'ada@example.com', text: 'Your slot' });

    assert.equal(answer.status, 202);
    assert.deepEqual(answer.body, { messageId: 'MSG-000001', status: 'queued' });
    assert.deepEqual(notification.messages, [
      { messageId: 'MSG-000001', to: 'ada@example.com', text: 'Your slot' },
    ]);
  });

  it('refuses a message without a recipient, naming the field', async () => {
    const answer = await post(`${notification.url}/messages`, { text: 'hello' });

    assert.equal(answer.status, 400);
    assert.equal(answer.body.field, 'to');
  });
});
