import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { demoDslOrder } from '../../local/demo-orders';
import {
  eventually,
  loggedLines,
  startTestSwitchboard,
  type TestSwitchboard,
} from '../support/local-switchboard';
import { tmf622Problems } from '../support/tmf622';

const TMF = '/tmf-api/productOrderingManagement/v5';

interface Item {
  key: string;
  state: string;
  compensates?: string;
  history: { at: string; state: string; reason: string }[];
}

/**
 * Cancelling and amending DSL orders in flight through the local runtime (TMF622 CancelProductOrder,
 * PATCH /productOrder/{id}): what has not started is discarded (or runs with the new values), what was
 * done is compensated through the callout machinery (and run again), and a point of no return that has
 * started refuses the change while the order goes on.
 */
describe('changing an order in flight: cancelling and amending it', () => {
  let sb: TestSwitchboard;
  /** Billing answers 500 while this is set: its item started, and waits for a retry. */
  let billingFails = false;
  /** Inventory refuses to release a port (422) while this is set: the compensation falls out. */
  let releaseRefused = false;
  before(async () => {
    sb = await startTestSwitchboard({
      faults: (system, request) => {
        if (system === 'billing' && billingFails) return 500;
        if (system === 'inventory' && releaseRefused && request.method === 'DELETE') return 422;
        return undefined;
      },
      // Activation's final answer comes 3 s after its 202: long enough to cancel while it works.
      activation: { interimDelayMs: 50, finalDelayMs: 3000 },
    });
  });
  after(async () => {
    await sb?.stop();
  });

  const submit = async (externalId: string) => {
    const created = await sb.call('POST', `${TMF}/productOrder`, demoDslOrder(externalId));
    assert.equal(created.status, 201, JSON.stringify(created.body));
    return (created.body as { id: string }).id;
  };
  const itemsOf = async (orderId: string) => {
    const answer = await sb.call('GET', `/orchestration/orders/${orderId}/items`);
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    return new Map((answer.body as { items: Item[] }).items.map((item) => [item.key, item]));
  };
  const itemIn = (orderId: string, key: string, state: string) =>
    eventually(
      async () => ((await itemsOf(orderId)).get(key)?.state === state ? true : undefined),
      60_000,
      `${key} to be ${state}`,
    );
  const cancellationIn = (id: string, states: string[]) =>
    eventually(
      async () => {
        const answer = await sb.call('GET', `${TMF}/cancelProductOrder/${id}`);
        assert.equal(answer.status, 200, JSON.stringify(answer.body));
        const body = answer.body as { state: string };
        return states.includes(body.state) ? body : undefined;
      },
      60_000,
      `cancellation ${id} to be ${states.join(' or ')}`,
    );
  const orderState = async (orderId: string) =>
    ((await sb.call('GET', `${TMF}/productOrder/${orderId}`)).body as { state: string }).state;
  const setSystem = async (systemId: string, state: 'Up' | 'Down') => {
    const answer = await sb.call('PUT', `/admin/systems/${systemId}/state`, { state, reason: 'test' });
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
  };

  it('before any item acted: discards them all, and undoes nothing', async () => {
    await setSystem('inventory', 'Down');
    try {
      const orderId = await submit('cancel-first');
      await itemIn(orderId, 'dsl-broadband.reserve-port.1', 'OnHold');
      const released = sb.systems.inventory.released.length;
      const asked = await sb.call('POST', `${TMF}/cancelProductOrder`, { productOrder: { id: orderId } });
      assert.equal(asked.status, 201, JSON.stringify(asked.body));

      const done = await cancellationIn((asked.body as { id: string }).id, ['done', 'terminatedWithError']);
      assert.equal(done.state, 'done');
      assert.equal(await orderState(orderId), 'cancelled');
      const states = [...(await itemsOf(orderId)).values()].map((item) => item.state);
      assert.deepEqual(new Set(states), new Set(['Discarded']), 'no compensation: nothing had acted');
      assert.equal(sb.systems.inventory.released.length, released);
    } finally {
      await setSystem('inventory', 'Up');
    }
  });

  it('after the port was reserved: releases it, discards what had not started, and cancels the order', async () => {
    await setSystem('activation', 'Down');
    try {
      const orderId = await submit('cancel-1');
      await itemIn(orderId, 'dsl-broadband.activate-line.1', 'OnHold');
      await itemIn(orderId, 'dsl-broadband.book-installation.1', 'Completed');
      const port = [...sb.systems.inventory.reserved].find(([, r]) => r.orderId === orderId)?.[0];
      assert.ok(port, 'inventory reserved a port for the order');

      const asked = await sb.call('POST', `${TMF}/cancelProductOrder`, {
        '@type': 'CancelProductOrder',
        productOrder: { id: orderId, '@type': 'ProductOrderRef' },
        cancellationReason: 'the customer moved',
      });
      assert.equal(asked.status, 201, JSON.stringify(asked.body));
      const cancellation = asked.body as { id: string; href: string; state: string };
      assert.equal(cancellation.state, 'acknowledged');
      assert.equal(asked.headers.get('location'), cancellation.href);
      assert.deepEqual(tmf622Problems('CancelProductOrder', asked.body), []);

      const done = await cancellationIn(cancellation.id, ['done', 'terminatedWithError']);
      assert.equal(done.state, 'done', JSON.stringify(done));
      assert.deepEqual(tmf622Problems('CancelProductOrder', done), []);
      assert.equal(await orderState(orderId), 'cancelled');
      assert.deepEqual(sb.systems.inventory.released, [port], 'the port was released, once');
      const view = (await sb.call('GET', `${TMF}/productOrder/${orderId}`)).body as {
        productOrderItem: { state?: string }[];
      };
      assert.equal(view.productOrderItem[0]?.state, 'cancelled', 'its line says so too');
      assert.deepEqual(
        tmf622Problems('ProductOrder', view),
        [],
        'a cancelled order is a TMF622 ProductOrder',
      );

      const items = await itemsOf(orderId);
      const states = Object.fromEntries([...items].map(([key, item]) => [key, item.state]));
      assert.deepEqual(states, {
        'dsl-broadband.reserve-port.1': 'Compensated',
        'dsl-broadband.reserve-port.1.undo': 'Completed',
        'dsl-broadband.activate-line.1': 'Discarded',
        // The booking declares no compensation: what it did stays done.
        'dsl-broadband.book-installation.1': 'Completed',
        'dsl-broadband.start-billing.1': 'Discarded',
      });
      assert.equal(
        items.get('dsl-broadband.reserve-port.1.undo')?.compensates,
        'dsl-broadband.reserve-port.1',
      );

      // Activation back Up sends nothing of the cancelled order: its item was taken off the hold lists.
      await setSystem('activation', 'Up');
      await new Promise((resolve) => setTimeout(resolve, 2000));
      assert.equal(
        sb.systems.activation.requests.filter((r) => JSON.stringify(r.body ?? '').includes(orderId)).length,
        0,
      );

      const listed = await sb.call('GET', `${TMF}/cancelProductOrder?productOrder.id=${orderId}`);
      assert.equal(listed.status, 200);
      assert.deepEqual(
        (listed.body as { id: string }[]).map((c) => c.id),
        [cancellation.id],
      );
      const again = await sb.call('POST', `${TMF}/cancelProductOrder`, { productOrder: { id: orderId } });
      assert.equal(again.status, 409, JSON.stringify(again.body));
      assert.match(JSON.stringify(again.body), /is cancelled/);
    } finally {
      await setSystem('activation', 'Up');
    }
  });

  it('while activation works on the line: freezes it, takes its late answer, switches the line off, then releases the port', async () => {
    const orderId = await submit('cancel-frozen');
    const activate = 'dsl-broadband.activate-line.1';
    await eventually(
      async () => {
        const item = (await itemsOf(orderId)).get(activate) as (Item & { awaiting?: unknown }) | undefined;
        return item?.state === 'Running' && item.awaiting ? item : undefined;
      },
      60_000,
      'activation to accept the line and work on it',
    );
    const asked = await sb.call('POST', `${TMF}/cancelProductOrder`, { productOrder: { id: orderId } });
    assert.equal(asked.status, 201, JSON.stringify(asked.body));
    const { id } = asked.body as { id: string };
    await itemIn(orderId, activate, 'Frozen');

    const done = await cancellationIn(id, ['done', 'terminatedWithError']);
    assert.equal(done.state, 'done', JSON.stringify(done));
    assert.equal(await orderState(orderId), 'cancelled');
    const activation = sb.systems.activation.activations.find((a) => a.orderId === orderId);
    assert.equal(activation?.status, 'deactivated', 'the line its late answer reported active is off again');
    assert.ok(activation && sb.systems.inventory.released.includes(activation.portId), 'its port is free');

    const items = await itemsOf(orderId);
    assert.equal(items.get(activate)?.state, 'Compensated');
    assert.match(
      items
        .get(activate)
        ?.history.map((h) => h.reason)
        .join('\n') ?? '',
      /late callback, kept and applied to nothing.*its system acted/,
    );
    assert.equal(items.get('dsl-broadband.reserve-port.1')?.state, 'Compensated');
    assert.equal(items.get('dsl-broadband.start-billing.1')?.state, 'Discarded');
    // The line is switched off before its port is released: the port's compensation waited for it.
    const deactivated = Date.parse(String(items.get(`${activate}.undo`)?.history.at(-1)?.at ?? ''));
    const releaseStarted = items
      .get('dsl-broadband.reserve-port.1.undo')
      ?.history.find((h) => h.state === 'Running');
    assert.ok(releaseStarted, 'the release ran');
    assert.ok(deactivated <= Date.parse(String((releaseStarted as { at?: string }).at)));
    // The late answer was applied to nothing: the order never learnt the service id it reported.
    const order = (await sb.call('GET', `${TMF}/productOrder/${orderId}`)).body as {
      fulfilmentAttributes?: Record<string, unknown>;
    };
    assert.equal(order.fulfilmentAttributes?.serviceId, undefined);
    // Nothing reached billing for this order.
    assert.equal(
      sb.systems.billing.requests.filter((r) => r.text.includes(orderId)).length,
      0,
      'billing heard nothing of it',
    );
  });

  it('puts a compensation that fails in fallout, and an operator who retries it completes the cancellation', async () => {
    await setSystem('activation', 'Down');
    releaseRefused = true;
    try {
      const orderId = await submit('cancel-fallout');
      await itemIn(orderId, 'dsl-broadband.activate-line.1', 'OnHold');
      const asked = await sb.call('POST', `${TMF}/cancelProductOrder`, { productOrder: { id: orderId } });
      const { id } = asked.body as { id: string };
      const release = 'dsl-broadband.reserve-port.1.undo';
      await itemIn(orderId, release, 'FatallyFailed');
      assert.equal((await cancellationIn(id, ['inProgress'])).state, 'inProgress');
      assert.equal(await orderState(orderId), 'pendingCancellation');
      const fallout = (await sb.call('GET', '/admin/fallout')).body as { items: { id: string }[] };
      assert.ok(
        fallout.items.some((item) => item.id === `${orderId}.${release}`),
        'in the fallout list',
      );

      releaseRefused = false;
      const retried = await sb.call('POST', `/orchestration/items/${orderId}.${release}/retry`, {
        reason: 'inventory fixed the reservation',
      });
      assert.equal(retried.status, 200, JSON.stringify(retried.body));
      assert.equal((await cancellationIn(id, ['done', 'terminatedWithError'])).state, 'done');
      assert.equal(await orderState(orderId), 'cancelled');
      assert.equal((await itemsOf(orderId)).get('dsl-broadband.reserve-port.1')?.state, 'Compensated');
    } finally {
      releaseRefused = false;
      await setSystem('activation', 'Up');
    }
  });

  it('refuses once billing, a point of no return, has started, naming it; and the order goes on', async () => {
    billingFails = true;
    try {
      const releasedAtStart = sb.systems.inventory.released.length;
      const orderId = await submit('cancel-2');
      await eventually(
        async () => {
          const billing = (await itemsOf(orderId)).get('dsl-broadband.start-billing.1');
          return billing?.state === 'Failed' ? billing : undefined;
        },
        60_000,
        'billing to fail once and wait for a retry',
      );
      const asked = await sb.call('POST', `${TMF}/cancelProductOrder`, { productOrder: { id: orderId } });
      assert.equal(asked.status, 201, JSON.stringify(asked.body));
      const { id } = asked.body as { id: string };

      const ended = (await cancellationIn(id, ['done', 'terminatedWithError'])) as {
        state: string;
        errorMessage?: { message: string };
      };
      assert.equal(ended.state, 'terminatedWithError');
      assert.match(
        ended.errorMessage?.message ?? '',
        /dsl-broadband\.start-billing\.1 is a point of no return/,
      );
      assert.deepEqual(tmf622Problems('CancelProductOrder', ended), []);
      assert.equal(
        sb.systems.inventory.released.length,
        releasedAtStart,
        'nothing of this order was released',
      );

      billingFails = false;
      await eventually(
        async () => ((await orderState(orderId)) === 'completed' ? true : undefined),
        90_000,
        'the order to go on and complete',
      );
    } finally {
      billingFails = false;
    }
  });

  it('refuses what it cannot take: a missing order, no order named, a server-set field', async () => {
    const missing = await sb.call('POST', `${TMF}/cancelProductOrder`, { productOrder: { id: 'no-such' } });
    assert.equal(missing.status, 400, JSON.stringify(missing.body));
    assert.match(JSON.stringify(missing.body), /productOrder\.id/);

    const noRef = await sb.call('POST', `${TMF}/cancelProductOrder`, { cancellationReason: 'x' });
    assert.equal(noRef.status, 400);
    assert.match(JSON.stringify(noRef.body), /productOrder/);

    const stateSent = await sb.call('POST', `${TMF}/cancelProductOrder`, {
      productOrder: { id: 'x' },
      state: 'done',
    });
    assert.equal(stateSent.status, 400);
    assert.match(JSON.stringify(stateSent.body), /state/);

    const unknown = await sb.call('GET', `${TMF}/cancelProductOrder/no-such`);
    assert.equal(unknown.status, 404);
  });

  /** The merge patch that sets the demo line's bandwidth. */
  const bandwidthPatch = (mbps: number) => {
    const [line] = demoDslOrder().productOrderItem;
    return {
      productOrderItem: [
        {
          ...line,
          product: {
            productCharacteristic: line?.product.productCharacteristic.map((c) =>
              c.name === 'bandwidth' ? { ...c, value: String(mbps) } : c,
            ),
          },
        },
      ],
    };
  };
  const amend = (orderId: string, patch: unknown) =>
    sb.call('PATCH', `${TMF}/productOrder/${orderId}`, patch, {
      headers: { 'content-type': 'application/merge-patch+json' },
    });
  /** The bandwidths a system was asked for on the order's behalf, in order. */
  const bandwidthsAt = (system: 'inventory' | 'activation', orderId: string) =>
    sb.systems[system].requests
      .filter((r) => r.method === 'POST' && (r.body as { orderId?: string } | undefined)?.orderId === orderId)
      .map((r) => (r.body as { bandwidthMbps?: number }).bandwidthMbps);
  const completed = (orderId: string) =>
    eventually(
      async () => ((await orderState(orderId)) === 'completed' ? true : undefined),
      90_000,
      `order ${orderId} to complete`,
    );

  it('amends the bandwidth before activation: the port reserved again with it, and activation sends it', async () => {
    await setSystem('activation', 'Down');
    let orderId = '';
    try {
      orderId = await submit('amend-before');
      await itemIn(orderId, 'dsl-broadband.activate-line.1', 'OnHold');
      await itemIn(orderId, 'dsl-broadband.reserve-port.1', 'Completed');
      const port = [...sb.systems.inventory.reserved].find(([, r]) => r.orderId === orderId)?.[0];

      const amended = await amend(orderId, bandwidthPatch(250));
      assert.equal(amended.status, 200, JSON.stringify(amended.body));
      assert.deepEqual(tmf622Problems('ProductOrder', amended.body), []);
      const line = (
        amended.body as {
          productOrderItem: { product: { productCharacteristic: { name: string; value: unknown }[] } }[];
        }
      ).productOrderItem[0];
      assert.equal(line?.product.productCharacteristic.find((c) => c.name === 'bandwidth')?.value, 250);
      await itemIn(orderId, 'dsl-broadband.reserve-port.1.r2', 'Completed');
      assert.ok(port && sb.systems.inventory.released.includes(port), 'the first reservation was released');
    } finally {
      await setSystem('activation', 'Up');
    }
    await completed(orderId);
    assert.deepEqual(bandwidthsAt('inventory', orderId), [100, 250]);
    assert.deepEqual(bandwidthsAt('activation', orderId), [250], 'activation only ever heard of 250');
    const items = await itemsOf(orderId);
    assert.equal(items.get('dsl-broadband.reserve-port.1')?.state, 'Compensated');
    assert.equal((items.get('dsl-broadband.reserve-port.1.r2') as Item & { revision?: number })?.revision, 2);
  });

  it('amends the bandwidth after activation: the line switched off and the port released, then both done again', async () => {
    await setSystem('billing', 'Down');
    let orderId = '';
    try {
      orderId = await submit('amend-after');
      await itemIn(orderId, 'dsl-broadband.activate-line.1', 'Completed');
      await itemIn(orderId, 'dsl-broadband.start-billing.1', 'OnHold');

      const amended = await amend(orderId, bandwidthPatch(50));
      assert.equal(amended.status, 200, JSON.stringify(amended.body));
      await itemIn(orderId, 'dsl-broadband.activate-line.1.r2', 'Completed');
    } finally {
      await setSystem('billing', 'Up');
    }
    await completed(orderId);
    const activations = sb.systems.activation.activations.filter((a) => a.orderId === orderId);
    assert.deepEqual(
      activations.map((a) => [a.status, a.bandwidthMbps]),
      [
        ['deactivated', 100],
        ['active', 50],
      ],
    );
    assert.deepEqual(bandwidthsAt('inventory', orderId), [100, 50]);
    const order = (await sb.call('GET', `/orchestration/orders/${orderId}/items`)).body as { items: Item[] };
    assert.equal(order.items.find((i) => i.key === 'dsl-broadband.book-installation.1')?.state, 'Completed');
    assert.equal(
      order.items.filter((i) => i.key.startsWith('dsl-broadband.book-installation')).length,
      1,
      'the visit, which the bandwidth does not change, is booked once',
    );
  });

  it('adds a line by amendment: a plan run of its own fulfils it, and the order completes with both', async () => {
    await setSystem('billing', 'Down');
    let orderId = '';
    try {
      orderId = await submit('amend-add');
      await itemIn(orderId, 'dsl-broadband.start-billing.1', 'OnHold');
      const [line] = demoDslOrder().productOrderItem;
      const amended = await amend(orderId, { productOrderItem: [line, { ...line, id: '2' }] });
      assert.equal(amended.status, 200, JSON.stringify(amended.body));
      assert.deepEqual(tmf622Problems('ProductOrder', amended.body), []);
      await itemIn(orderId, 'dsl-broadband.reserve-port.2', 'Completed');
    } finally {
      await setSystem('billing', 'Up');
    }
    await completed(orderId);
    const items = await itemsOf(orderId);
    assert.equal(items.get('dsl-broadband.start-billing.2')?.state, 'Completed');
    assert.equal((items.get('dsl-broadband.start-billing.2') as Item & { revision?: number })?.revision, 2);
    assert.equal(bandwidthsAt('inventory', orderId).length, 2, 'a port for each line');
  });

  it('refuses an amendment past the point of no return with 409 naming it, and changes nothing', async () => {
    billingFails = true;
    try {
      const orderId = await submit('amend-late');
      await itemIn(orderId, 'dsl-broadband.start-billing.1', 'Failed');
      const refused = await amend(orderId, bandwidthPatch(250));
      assert.equal(refused.status, 409, JSON.stringify(refused.body));
      assert.match(
        JSON.stringify(refused.body),
        /dsl-broadband\.start-billing\.1 is a point of no return and has started/,
      );
      const order = (await sb.call('GET', `${TMF}/productOrder/${orderId}`)).body as typeof refused.body & {
        productOrderItem: { product: { productCharacteristic: { name: string; value: unknown }[] } }[];
      };
      assert.equal(
        order.productOrderItem[0]?.product.productCharacteristic.find((c) => c.name === 'bandwidth')?.value,
        100,
        'the order is as it was',
      );
      billingFails = false;
      await completed(orderId);
      assert.deepEqual(bandwidthsAt('inventory', orderId), [100]);
    } finally {
      billingFails = false;
    }
  });

  it('refuses a JSON Patch, and an amendment of what is not a line, naming what', async () => {
    const orderId = await submit('amend-bad');
    const jsonPatch = await sb.call('PATCH', `${TMF}/productOrder/${orderId}`, [{ op: 'replace' }], {
      headers: { 'content-type': 'application/json-patch+json' },
    });
    assert.equal(jsonPatch.status, 400);
    assert.match(JSON.stringify(jsonPatch.body), /content-type/);
    const external = await amend(orderId, { externalId: [{ id: 'other' }] });
    assert.equal(external.status, 400);
    assert.match(JSON.stringify(external.body), /"field":"externalId"/);
    const missing = await amend('no-such-order', bandwidthPatch(250));
    assert.equal(missing.status, 404);
    await completed(orderId);
  });

  it('logged no error while it did all this: no message failed, none was dropped', () => {
    const errors = sb.logs.filter((line) => /"level":"(ERROR|CRITICAL)"/.test(line));
    assert.deepEqual(errors, []);
    // The log is read as it is written: the worker's word for each order it cancelled is there.
    const cancelled = loggedLines(sb, 'CalloutWorker', 'order cancelled');
    assert.equal(cancelled.length, 4);
    assert.equal(cancelled[0]?.level, 'INFO');
  });
});
