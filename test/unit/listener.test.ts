import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ValidationError } from '../../lambdas/domain/errors';
import {
  DELIVERY_ATTEMPTS,
  deliveryDelaySeconds,
  deliveryRetrySeconds,
  hubCreateSchema,
  keepsFailing,
  MAX_FAILURES_BEFORE_PAUSE,
  matchesFilter,
  mayReceive,
  newListener,
  parseEventFilter,
  toHub,
  toRegisteredHub,
} from '../../lambdas/domain/listener';
import type { OrderEvent } from '../../lambdas/domain/order-events';

const event = {
  eventType: 'ProductOrderStateChangeEvent',
  priority: '1',
  event: { productOrder: { id: 'o-1', state: 'completed', priority: '1' } },
} as unknown as OrderEvent;

function refusal(query: string): string {
  try {
    parseEventFilter(query);
  } catch (error) {
    assert.ok(error instanceof ValidationError);
    assert.equal(error.problems[0]?.field, 'query');
    return error.problems[0]?.message ?? '';
  }
  assert.fail(`"${query}" was accepted`);
}

describe('the hub’s event filter (TMF630 query)', () => {
  it('keeps an event that matches every term, one of each term’s values', () => {
    const filter = parseEventFilter(
      'eventType=ProductOrderStateChangeEvent&event.productOrder.state=completed,failed',
    );
    assert.equal(matchesFilter(filter, event), true);
    assert.equal(matchesFilter(parseEventFilter('event.productOrder.state=failed'), event), false);
    assert.equal(matchesFilter(parseEventFilter('eventType=ProductOrderCreateEvent'), event), false);
    assert.equal(matchesFilter(parseEventFilter('event.productOrder.nothing=x'), event), false);
    assert.equal(matchesFilter(parseEventFilter(''), event), true, 'no filter: every event');
  });

  it('reads values URL-encoded as in a query string', () => {
    assert.deepEqual(parseEventFilter('event.productOrder.note=two%20words'), [
      { path: 'event.productOrder.note', values: ['two words'] },
    ]);
  });

  it('refuses what it cannot mean, naming the term', () => {
    assert.match(refusal('state'), /must be <field>=<value>/);
    assert.match(refusal('event.productOrder.state.gt=x'), /only equality is supported, not the operator gt/);
    assert.match(refusal('priority>=2'), /not a field path/);
    assert.match(refusal('eventType=ProductOrderDeleteEvent'), /not one Switchboard sends/);
    assert.match(refusal('a=1&b=2&c=3&d=4&e=5&f=6&g=7&h=8&i=9&j=10&k=11'), /at most 10/);
    assert.match(refusal('a=%E0%A4%A'), /URL-encoded/);
    assert.match(refusal('a=1,,2'), /1 to 200 characters/);
  });
});

describe('hub registration', () => {
  const valid = (callback: string) => hubCreateSchema.safeParse({ callback }).success;

  it('takes https callbacks, and http only to this machine', () => {
    assert.equal(valid('https://crm.example.com/events'), true);
    assert.equal(valid('http://127.0.0.1:9999/events'), true);
    assert.equal(valid('http://localhost/events'), true);
    assert.equal(valid('http://crm.example.com/events'), false);
    assert.equal(valid('ftp://crm.example.com/events'), false);
    assert.equal(valid('not a url'), false);
    assert.equal(valid('https://user:secret@crm.example.com/'), false);
    assert.equal(valid('https://169.254.169.254/latest/meta-data'), false);
    assert.equal(hubCreateSchema.safeParse({ callback: 'https://x.example', id: 'mine' }).success, false);
  });

  it('draws an id and a secret for each listener, and answers the secret only at registration', () => {
    const owner = { id: 'c-crm', name: 'order-capture' };
    const a = newListener(
      { callback: 'https://crm.example.com/e', query: 'eventType=ProductOrderCreateEvent' },
      owner,
      false,
      '2025-03-01T09:00:00.000Z',
    );
    const b = newListener(
      { callback: 'https://crm.example.com/e' },
      owner,
      false,
      '2025-03-01T09:00:00.000Z',
    );
    assert.notEqual(a.id, b.id);
    assert.notEqual(a.secret, b.secret);
    assert.match(a.secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
    assert.equal(toRegisteredHub(a).secret, a.secret);
    assert.equal('secret' in toHub(a), false);
    assert.deepEqual(a.filter, [{ path: 'eventType', values: ['ProductOrderCreateEvent'] }]);
  });

  it('lets a submitter’s listener receive its own orders’ events only; a reader’s, every order’s', () => {
    const submitters = { owner: { id: 'c-crm', name: 'crm' }, readsAll: false };
    assert.equal(mayReceive(submitters, 'c-crm'), true);
    assert.equal(mayReceive(submitters, 'c-shop'), false);
    assert.equal(mayReceive(submitters, undefined), false);
    assert.equal(mayReceive({ ...submitters, readsAll: true }, 'c-shop'), true);
  });
});

describe('delivery retries', () => {
  it('back off from 10 seconds to 4 hours, and go on for more than a day before the dead-letter queue', () => {
    assert.deepEqual([1, 2, 3, 4].map(deliveryDelaySeconds), [10, 30, 90, 270]);
    assert.equal(deliveryDelaySeconds(20), 4 * 3600);
    assert.ok(deliveryRetrySeconds() > 24 * 3600, `${deliveryRetrySeconds()} s`);
    assert.ok(DELIVERY_ATTEMPTS <= 20);
  });

  it('pause a listener only after many failures in a row over an hour', () => {
    const now = new Date('2025-03-01T12:00:00.000Z');
    const many = MAX_FAILURES_BEFORE_PAUSE;
    assert.equal(keepsFailing({ failures: many, firstFailureAt: '2025-03-01T10:59:00.000Z' }, now), true);
    assert.equal(keepsFailing({ failures: many, firstFailureAt: '2025-03-01T11:30:00.000Z' }, now), false);
    assert.equal(
      keepsFailing({ failures: many - 1, firstFailureAt: '2025-03-01T09:00:00.000Z' }, now),
      false,
    );
    assert.equal(keepsFailing({}, now), false);
  });
});
