import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { copyDemoCatalog } from '../../local/catalog-copy';
import { demoDslOrder } from '../../local/demo-orders';
import { portOutsideEphemeralRange } from '../../local/free-port';
import {
  eventually,
  itemOf,
  loggedLines,
  metricReaches,
  metricSum,
  startTestSwitchboard,
  submitOneLine,
  type TestSwitchboard,
} from '../support/local-switchboard';

/**
 * Systems going away and coming back, through the local runtime: an operator takes activation Down,
 * orders' activation callouts wait On Hold (nothing is sent), the order shows `held`, and bringing it
 * Up releases them through the bus's rule and the release function — each exactly once, also when the
 * state flips quickly. Maintenance windows run on the local scheduler; the circuit breaker takes a
 * system that refuses connections Down by itself and brings it back when its health path answers.
 */

const ORDERS = '/tmf-api/productOrderingManagement/v5/productOrder';
const ACTIVATE_LINE = 'dsl-broadband.activate-line.1';

interface ItemView {
  id: string;
  key: string;
  state: string;
  hold?: { systemId: string; interfaceId: string; since: string; reason: string };
  history: { state: string; reason: string }[];
}

interface HeldPage {
  items: {
    id: string;
    orderId: string;
    itemKey: string;
    since: string;
    reason: string;
    interfaceId: string;
  }[];
  next?: string;
}

async function submit(sb: TestSwitchboard, externalId: string): Promise<string> {
  const created = await sb.call('POST', ORDERS, demoDslOrder(externalId));
  assert.equal(created.status, 201, JSON.stringify(created.body));
  return (created.body as { id: string }).id;
}

const orderState = async (sb: TestSwitchboard, id: string) =>
  ((await sb.call('GET', `${ORDERS}/${id}`)).body as { state: string }).state;

const item = (sb: TestSwitchboard, orderId: string, key: string) => itemOf<ItemView>(sb, orderId, key);

const waitForItemState = (sb: TestSwitchboard, orderId: string, key: string, state: string) =>
  eventually(
    async () => {
      const current = await item(sb, orderId, key);
      return current.state === state ? current : undefined;
    },
    60_000,
    `item ${key} of order ${orderId} to be ${state}`,
  );

const waitForOrderState = (sb: TestSwitchboard, id: string, state: string) =>
  eventually(
    async () => ((await orderState(sb, id)) === state ? true : undefined),
    60_000,
    `order ${id} to be ${state}`,
  );

async function setSystem(sb: TestSwitchboard, systemId: string, state: 'Up' | 'Down', reason: string) {
  const answer = await sb.call('PUT', `/admin/systems/${systemId}/state`, { state, reason });
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  return answer.body as { state: string; changed: boolean; history: { to: string; reason: string }[] };
}

/** How many activation requests the system received for an order. */
const activationsFor = (sb: TestSwitchboard, orderId: string) =>
  sb.systems.activation.requests.filter(
    (r) => (r.body as { orderId?: string } | undefined)?.orderId === orderId,
  ).length;

describe('activation taken Down and brought back Up', () => {
  let sb: TestSwitchboard;
  before(async () => {
    sb = await startTestSwitchboard();
  });
  after(async () => {
    await sb?.stop();
  });

  it('holds the activation callout without sending it, shows it on hold, and completes the order once Up', async () => {
    const down = await setSystem(sb, 'activation', 'Down', 'line card upgrade');
    assert.equal(down.state, 'Down');
    assert.equal(down.changed, true);

    const id = await submit(sb, 'held-activation');
    const held = await waitForItemState(sb, id, ACTIVATE_LINE, 'OnHold');
    assert.equal(held.hold?.systemId, 'activation');
    assert.equal(held.hold?.interfaceId, 'activation-activate-line');
    assert.match(held.hold?.reason ?? '', /system "activation" is Down: line card upgrade/);
    await waitForOrderState(sb, id, 'held');
    assert.equal(activationsFor(sb, id), 0, 'nothing was sent to a Down system');

    const page = (await sb.call('GET', '/admin/systems/activation/on-hold-items')).body as HeldPage;
    const listed = page.items.find((i) => i.orderId === id);
    assert.ok(listed, 'the held item is on the system’s on-hold list');
    assert.equal(listed.itemKey, ACTIVATE_LINE);
    assert.equal(listed.interfaceId, 'activation-activate-line');
    const byInterface = (
      await sb.call('GET', '/admin/system-interfaces/activation-activate-line/on-hold-items')
    ).body as HeldPage;
    assert.ok(
      byInterface.items.some((i) => i.orderId === id),
      'and on its interface’s',
    );

    const system = (await sb.call('GET', '/admin/systems/activation')).body as {
      state: string;
      stateChange: { reason: string; by: { id: string }; cause: string };
      history: { to: string; reason: string; by: { id: string } }[];
    };
    assert.equal(system.stateChange.reason, 'line card upgrade');
    assert.equal(system.stateChange.cause, 'operator');
    assert.equal(system.history[0]?.to, 'Down');
    assert.ok(system.history[0]?.by.id, 'the history says who');

    // The worker's log line says which order, item, system and interface, in which invocation.
    const [onHold] = loggedLines(sb, 'CalloutWorker', `callout on hold: ${held.hold?.reason}`).filter(
      (line) => line.orderId === id,
    );
    assert.ok(onHold, 'the worker logged the hold');
    assert.equal(onHold.level, 'INFO');
    assert.equal(onHold.itemKey, ACTIVATE_LINE);
    assert.equal(onHold.system, 'activation');
    assert.equal(onHold.interface, 'activation-activate-line');
    assert.match(String(onHold.function_name), /CalloutWorker/);
    assert.equal(typeof onHold.cold_start, 'boolean');
    assert.match(String(onHold.function_request_id), /^[0-9a-f-]{36}$/);
    assert.match(String(onHold.xray_trace_id), /^1-[0-9a-f]{8}-[0-9a-f]{24}$/);
    assert.ok(onHold.messageId, 'and the work message');

    const up = await setSystem(sb, 'activation', 'Up', 'upgrade done');
    assert.equal(up.state, 'Up');
    await waitForOrderState(sb, id, 'completed');
    assert.equal(activationsFor(sb, id), 1, 'released exactly once');
    const released = await item(sb, id, ACTIVATE_LINE);
    assert.ok(
      released.history.some((h) => h.state === 'Running' && h.reason.startsWith('released')),
      released.history.map((h) => h.reason).join(' | '),
    );
    const after = (await sb.call('GET', '/admin/systems/activation/on-hold-items')).body as HeldPage;
    assert.ok(!after.items.some((i) => i.orderId === id), 'no longer on hold');

    // And operators see it in the metrics: a callout held, the item held and released, then sent.
    await metricReaches(sb, 'ItemsHeld', { system: 'activation' });
    await metricReaches(sb, 'ItemsReleased', { system: 'activation' });
    await metricReaches(sb, 'Callouts', { system: 'activation', outcome: 'held' });
    await metricReaches(sb, 'Callouts', { system: 'activation', outcome: 'accepted' });
    await metricReaches(sb, 'OrdersCompleted', {});
    assert.equal(await metricSum(sb, 'FalloutEntered', {}), 0, 'nothing fell out');
  });

  it('releases every held item exactly once when the state flips Up, Down, Up', async () => {
    await setSystem(sb, 'activation', 'Down', 'flapping');
    const ids: string[] = [];
    for (let n = 0; n < 8; n++) ids.push(await submit(sb, `flap-${n}`));
    for (const id of ids) await waitForItemState(sb, id, ACTIVATE_LINE, 'OnHold');

    await setSystem(sb, 'activation', 'Up', 'back');
    await setSystem(sb, 'activation', 'Down', 'not yet');
    await setSystem(sb, 'activation', 'Up', 'back for good');
    for (const id of ids) await waitForOrderState(sb, id, 'completed');
    for (const id of ids) assert.equal(activationsFor(sb, id), 1, `order ${id}: one activation`);
  });

  it('holds a callout to an Offline interface and releases it when the interface is Online', async () => {
    const offline = await sb.call('PATCH', '/admin/system-interfaces/activation-activate-line', {
      status: 'Offline',
      reason: 'endpoint migration',
    });
    assert.equal(offline.status, 200, JSON.stringify(offline.body));
    const id = await submit(sb, 'offline-interface');
    const held = await waitForItemState(sb, id, ACTIVATE_LINE, 'OnHold');
    assert.match(
      held.hold?.reason ?? '',
      /interface "activation-activate-line" is Offline: endpoint migration/,
    );

    const release = await sb.call('POST', '/admin/systems/activation/release', { itemIds: [held.id] });
    assert.equal(release.status, 200);
    assert.deepEqual((release.body as { results: unknown[] }).results, [
      { itemId: held.id, result: 'interface offline' },
    ]);

    const online = await sb.call('PATCH', '/admin/system-interfaces/activation-activate-line', {
      status: 'Online',
      reason: 'migrated',
    });
    assert.equal(online.status, 200);
    await waitForOrderState(sb, id, 'completed');
    assert.equal(activationsFor(sb, id), 1);
  });

  it('refuses a manual release while the system is Down, and a malformed state change, naming the field', async () => {
    await setSystem(sb, 'activation', 'Down', 'manual release check');
    const refused = await sb.call('POST', '/admin/systems/activation/release', {});
    assert.equal(refused.status, 409);
    const bad = await sb.call('PUT', '/admin/systems/activation/state', { state: 'Sideways' });
    assert.equal(bad.status, 400);
    const fields = (bad.body as { problems: { field: string }[] }).problems.map((p) => p.field).sort();
    assert.deepEqual(fields, ['reason', 'state']);
    await setSystem(sb, 'activation', 'Up', 'manual release check done');
  });

  it('takes the system Down for a maintenance window and back Up at its end, on the local scheduler', async () => {
    // Long enough that an order submitted once the system is Down reaches its callout inside the window
    // on a loaded machine; the hold is read from the item's history, which a short one can outlive.
    const start = new Date(Date.now() + 1500);
    const end = new Date(start.getTime() + 6000);
    const planned = await sb.call('POST', '/admin/systems/activation/maintenance-windows', {
      start: start.toISOString(),
      end: end.toISOString(),
      reason: 'firmware',
    });
    assert.equal(planned.status, 201, JSON.stringify(planned.body));
    const windowId = (planned.body as { id: string }).id;

    const down = await eventually(
      async () => {
        const system = (await sb.call('GET', '/admin/systems/activation')).body as {
          state: string;
          stateChange?: { cause: string; windowId?: string };
        };
        return system.state === 'Down' ? system : undefined;
      },
      20_000,
      'the window to take activation Down',
    );
    assert.equal(down.stateChange?.cause, 'maintenance');
    assert.equal(down.stateChange?.windowId, windowId);
    assert.ok(Date.now() >= start.getTime() - 50, 'not before the window starts');

    const id = await submit(sb, 'during-maintenance');
    await waitForOrderState(sb, id, 'completed');
    assert.ok(Date.now() >= end.getTime() - 50, 'released once the window ended');
    const activated = await item(sb, id, ACTIVATE_LINE);
    const hold = activated.history.find((h) => h.state === 'OnHold');
    assert.ok(hold, activated.history.map((h) => `${h.state}: ${h.reason}`).join(' | '));
    assert.ok(
      hold.reason.includes(`system "activation" is Down: maintenance window ${windowId}`),
      hold.reason,
    );
    assert.match(hold.reason, /: firmware$/);
    const system = (await sb.call('GET', '/admin/systems/activation')).body as {
      state: string;
      maintenanceWindows: { id: string; startedAt?: string; endedAt?: string }[];
    };
    assert.equal(system.state, 'Up');
    const window = system.maintenanceWindows.find((w) => w.id === windowId);
    assert.ok(window?.startedAt && window.endedAt, JSON.stringify(window));
  });
});

describe('the circuit breaker', () => {
  let sb: TestSwitchboard;
  let fragile: Server | undefined;
  let port = 0;
  const requests: string[] = [];

  before(async () => {
    // Nothing listens on the system's port yet: every callout's connection is refused. A port outside
    // the range the OS hands out, so that no other process is given it before the system comes back.
    port = await portOutsideEphemeralRange();
    const dir = copyDemoCatalog();
    writeFileSync(
      join(dir, 'systems', 'fragile.yaml'),
      'id: fragile\nname: A fragile system\nbaseUrl: http://127.0.0.1:1\ncircuitBreaker:\n  failureThreshold: 2\n  healthPath: /health\n  probeIntervalSeconds: 1\n',
    );
    writeFileSync(
      join(dir, 'interfaces', 'fragile-work.yaml'),
      'id: fragile-work\nsystem: fragile\nmethod: POST\npath: /work\ntimeoutSeconds: 2\n',
    );
    writeFileSync(
      join(dir, 'plans', 'fragile.yaml'),
      'id: fragile\nfulfils:\n  - offering: fragile\nitems:\n  - id: work\n    type: callout\n    interface: fragile-work\n',
    );
    writeFileSync(join(dir, 'offerings', 'fragile.yaml'), 'id: fragile\nname: Fragile work\n');
    sb = await startTestSwitchboard({
      catalogDir: dir,
      systemBaseUrls: { fragile: `http://127.0.0.1:${port}` },
    });
  });
  after(async () => {
    await sb?.stop();
    fragile?.closeAllConnections();
    await new Promise((resolve) => (fragile ? fragile.close(resolve) : resolve(undefined)));
  });

  const submitFragile = () => submitOneLine(sb, 'fragile');

  it('goes Down after two refused connections, holds what comes next, and comes back Up when its health answers', async () => {
    // The first refused connection is retried later, under the default retry rule.
    const first = await submitFragile();
    const failed = await waitForItemState(sb, first, 'fragile.work.1', 'Failed');
    assert.match(failed.history.at(-1)?.reason ?? '', /connection failed.*retry 1 at/);

    const second = await submitFragile();
    const tripped = await waitForItemState(sb, second, 'fragile.work.1', 'OnHold');
    assert.match(
      tripped.hold?.reason ?? '',
      /system "fragile" is Down: 2 connection failures or timeouts in a row/,
    );
    const system = (await sb.call('GET', '/admin/systems/fragile')).body as {
      state: string;
      stateChange: { cause: string; by: { id: string } };
    };
    assert.equal(system.state, 'Down');
    assert.equal(system.stateChange.cause, 'circuit-breaker');
    assert.equal(system.stateChange.by.id, 'switchboard:circuit-breaker');

    const third = await submitFragile();
    await waitForItemState(sb, third, 'fragile.work.1', 'OnHold');
    // The first one's retry comes due (10 s) while the system is Down: it waits On Hold with the
    // others, without using an attempt.
    const waitingRetry = await waitForItemState(sb, first, 'fragile.work.1', 'OnHold');
    assert.equal(waitingRetry.history.filter((h) => h.state === 'Running').length, 1, 'one attempt so far');

    // The system comes to life: its health path answers, and the probe brings it back.
    fragile = createServer((req, res) => {
      req.resume();
      requests.push(`${req.method} ${req.url}`);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
    await new Promise<void>((resolve) => fragile?.listen(port, '127.0.0.1', resolve));

    await waitForOrderState(sb, first, 'completed');
    await waitForOrderState(sb, second, 'completed');
    await waitForOrderState(sb, third, 'completed');
    assert.ok(requests.includes('GET /health'), 'the probe asked the health path');
    assert.equal(requests.filter((r) => r === 'POST /work').length, 3, 'each held callout sent once');
    const back = (await sb.call('GET', '/admin/systems/fragile')).body as {
      state: string;
      stateChange: { cause: string };
    };
    assert.equal(back.state, 'Up');
    assert.equal(back.stateChange.cause, 'circuit-breaker');
  });
});
