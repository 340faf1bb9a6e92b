import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CALLBACK_THROTTLE } from '../../lib/constructs/api';
import { demoDslOrder } from '../../local/demo-orders';
import { eventually, startTestSwitchboard, type TestSwitchboard } from '../support/local-switchboard';

/**
 * A flood of the callback route — a leaked URL replayed, a system gone wrong — while orders run. The
 * stage throttles the callback routes tighter than the rest (CALLBACK_THROTTLE): the flood is answered
 * 429 at the gateway, and what passes is refused by the door's proof check before anything is read;
 * the worker, the correlator and the other routes go on. Activation answers at once here, so the orders
 * need no callback of their own to complete.
 */

const ORDERS = '/tmf-api/productOrderingManagement/v5/productOrder';
/** Requests in flight at once against the callback route. */
const FLOODERS = 40;

describe('a flood of the callback route while orders run', () => {
  let sb: TestSwitchboard;
  before(async () => {
    sb = await startTestSwitchboard({ activation: { mode: 'sync' } });
  });
  after(async () => {
    await sb?.stop();
  });

  /** Submits an order and waits for it to complete: the milliseconds it took. */
  async function completeOne(name: string): Promise<number> {
    const started = Date.now();
    const created = await sb.call('POST', ORDERS, demoDslOrder(name));
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const { id } = created.body as { id: string };
    await eventually(
      async () => {
        const { state } = (await sb.call('GET', `${ORDERS}/${id}`)).body as { state: string };
        assert.notEqual(state, 'failed', `order ${id} failed`);
        return state === 'completed' ? true : undefined;
      },
      90_000,
      `order ${name} to complete`,
    );
    return Date.now() - started;
  }

  it('answers the flood 429 at the gateway, lets through no more than the throttling allows, and the orders complete', async (t) => {
    // Prepare: how long eight orders at once take with no flood.
    const calm = await Promise.all(Array.from({ length: 8 }, (_, n) => completeOne(`calm-${n}`)));

    // Act: the flood, and orders submitted while it goes on.
    const statuses = new Map<number, number>();
    let flooding = true;
    const url = `${sb.runtime.apiUrl}/callbacks/ORD-x.dsl-broadband.activate-line.1.0123456789abcdef/initial.9999999999.${'A'.repeat(43)}`;
    const floodStarted = performance.now();
    const flood = Array.from({ length: FLOODERS }, async () => {
      while (flooding) {
        const response = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{"status":"completed","serviceId":"SVC-FORGED"}',
        });
        await response.arrayBuffer();
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
      }
    });
    const during = await Promise.all(Array.from({ length: 8 }, (_, n) => completeOne(`flooded-${n}`)));
    flooding = false;
    await Promise.all(flood);
    const floodSeconds = (performance.now() - floodStarted) / 1000;

    // Assess: only refusals — 429 from the gateway, 401 from the door for what passed it.
    const sent = [...statuses.values()].reduce((a, b) => a + b, 0);
    assert.deepEqual(
      [...statuses.keys()].sort(),
      [401, 429],
      `answers to the flood: ${JSON.stringify(Object.fromEntries(statuses))}`,
    );
    // A token bucket lets through at most its burst and its rate for the time it ran, whatever the load.
    const passed = statuses.get(401) ?? 0;
    const allowed = CALLBACK_THROTTLE.burstLimit + CALLBACK_THROTTLE.rateLimit * floodSeconds;
    assert.ok(passed <= allowed + 1, `${passed} passed the throttling; at most ${Math.floor(allowed)} may`);
    assert.equal(sb.runtime.api.throttled.get('POST /callbacks/{correlationId}/{proof}'), statuses.get(429));
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
    t.diagnostic(
      `flood: ${sent} callbacks in ${floodSeconds.toFixed(1)} s (${Math.round(sent / floodSeconds)}/s, ${FLOODERS} at once): ${statuses.get(429)} answered 429 by the gateway, ${passed} passed to the door (401); eight orders at once took ${median(calm)} ms each (median) before the flood and ${median(during)} ms during it`,
    );
  });
});
