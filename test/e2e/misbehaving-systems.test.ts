import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { copyDemoCatalog } from '../../local/catalog-copy';
import { demoDslOrder } from '../../local/demo-orders';
import {
  eventually,
  itemOf,
  startTestSwitchboard,
  submitOneLine,
  type TestSwitchboard,
} from '../support/local-switchboard';

/**
 * Systems answer badly: not JSON, nothing, a redirect, far too much, or not at all. Each such callout
 * fails its item with the reason in its history — the worker does not crash, no task is lost, and the
 * next order runs as if nothing happened.
 */

const ORDERS = '/tmf-api/productOrderingManagement/v5/productOrder';

/** path → how the misbehaving system answers it, and what the item's error must say. */
const BEHAVIOURS: Record<
  string,
  { answer: (res: import('node:http').ServerResponse) => void; error: RegExp }
> = {
  'not-json': {
    answer: (res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html>maintenance</html>'),
    error: /answered 200 with a body that is not JSON: "<html>maintenance<\/html>"/,
  },
  empty: {
    answer: (res) => res.writeHead(200).end(),
    error: /answered 200 with an empty body where JSON was expected/,
  },
  redirect: {
    answer: (res) => res.writeHead(302, { location: 'http://elsewhere.invalid/' }).end(),
    error: /answered 302, a redirect, which callouts do not follow/,
  },
  huge: {
    answer: (res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(`{"padding":"${'x'.repeat(2 * 1024 * 1024)}"}`);
    },
    error: /answer larger than 1048576 bytes/,
  },
  silent: {
    answer: () => {
      // Never answers: the interface's timeout (1 s) must end the callout.
    },
    error: /no answer within 1000 ms/,
  },
  'server-error': {
    answer: (res) => res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":"overloaded"}'),
    error: /answered 503: \{"error":"overloaded"\}/,
  },
};

function writeMisbehavingCatalog(): string {
  const dir = copyDemoCatalog();
  writeFileSync(
    join(dir, 'systems', 'flaky.yaml'),
    'id: flaky\nname: A flaky system\nbaseUrl: http://127.0.0.1:1\n',
  );
  const items: string[] = [];
  for (const behaviour of Object.keys(BEHAVIOURS)) {
    writeFileSync(
      join(dir, 'interfaces', `flaky-${behaviour}.yaml`),
      `id: flaky-${behaviour}\nsystem: flaky\nmethod: POST\npath: /${behaviour}\ntimeoutSeconds: 1\n`,
    );
    items.push(`  - id: ${behaviour}\n    type: callout\n    interface: flaky-${behaviour}\n`);
  }
  writeFileSync(
    join(dir, 'plans', 'flaky.yaml'),
    `id: flaky\nfulfils:\n  - offering: flaky\nitems:\n${items.join('')}`,
  );
  // A plan that may wait 30 days for an operator: longer than Node's 24.8-day timer limit.
  writeFileSync(
    join(dir, 'plans', 'long-wait.yaml'),
    'id: long-wait\nfulfils:\n  - offering: long-wait\ntimeoutSeconds: 2592000\nitems:\n  - id: survey\n    type: manualTask\n',
  );
  // A system that takes five callouts a second, however many are ready.
  writeFileSync(
    join(dir, 'systems', 'steady.yaml'),
    'id: steady\nname: A rate-limited system\nbaseUrl: http://127.0.0.1:1\nlimits:\n  maxCalloutsPerSecond: 5\n',
  );
  writeFileSync(
    join(dir, 'interfaces', 'steady-work.yaml'),
    'id: steady-work\nsystem: steady\nmethod: POST\npath: /steady\ntimeoutSeconds: 10\n',
  );
  writeFileSync(
    join(dir, 'plans', 'steady.yaml'),
    'id: steady\nfulfils:\n  - offering: steady\nitems:\n  - id: work\n    type: callout\n    interface: steady-work\n',
  );
  // A slow legacy system that takes two callouts at a time.
  writeFileSync(
    join(dir, 'systems', 'narrow.yaml'),
    'id: narrow\nname: A narrow legacy system\nbaseUrl: http://127.0.0.1:1\nlimits:\n  maxConcurrentCallouts: 2\n',
  );
  writeFileSync(
    join(dir, 'interfaces', 'narrow-work.yaml'),
    'id: narrow-work\nsystem: narrow\nmethod: POST\npath: /slow-ok\ntimeoutSeconds: 10\n',
  );
  writeFileSync(
    join(dir, 'plans', 'narrow.yaml'),
    'id: narrow\nfulfils:\n  - offering: narrow\nitems:\n  - id: work\n    type: callout\n    interface: narrow-work\n',
  );
  // A plan whose manual task may wait two seconds: its run times out while the task waits.
  writeFileSync(
    join(dir, 'plans', 'short-wait.yaml'),
    'id: short-wait\nfulfils:\n  - offering: short-wait\ntimeoutSeconds: 2\nitems:\n  - id: survey\n    type: manualTask\n',
  );
  // A system whose configuration an operator changes at runtime: its answers take 2.5 s.
  writeFileSync(
    join(dir, 'systems', 'movable.yaml'),
    'id: movable\nname: A system that moves\nbaseUrl: http://127.0.0.1:1\n',
  );
  writeFileSync(
    join(dir, 'interfaces', 'movable-work.yaml'),
    'id: movable-work\nsystem: movable\nmethod: POST\npath: /sleepy\ntimeoutSeconds: 10\n',
  );
  writeFileSync(
    join(dir, 'plans', 'movable.yaml'),
    'id: movable\nfulfils:\n  - offering: movable\nitems:\n  - id: work\n    type: callout\n    interface: movable-work\n',
  );
  for (const offering of ['flaky', 'long-wait', 'short-wait', 'steady', 'narrow', 'movable'])
    writeFileSync(join(dir, 'offerings', `${offering}.yaml`), `id: ${offering}\nname: ${offering}\n`);
  return dir;
}

describe('callouts to systems that answer badly', () => {
  let sb: TestSwitchboard;
  let flaky: Server;
  /** What the narrow system saw: requests in flight now, the most ever, and when each started. */
  const narrow = { inFlight: 0, most: 0, starts: [] as number[] };
  const steadyStarts: number[] = [];
  /** Orders whose callouts reached the movable system where the catalog puts it, and where it moved to. */
  const sleepy: string[] = [];
  const standby: string[] = [];
  let standbyServer: Server;
  let flakyUrl = '';
  before(async () => {
    standbyServer = createServer((req, res) => {
      req.resume();
      standby.push(`${req.method} ${req.url} ${String(req.headers['idempotency-key']).split('.')[0]}`);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"site":"standby"}');
    });
    await new Promise<void>((resolve) => standbyServer.listen(0, '127.0.0.1', resolve));
    flaky = createServer((req, res) => {
      req.resume();
      if (req.url === '/sleepy') {
        sleepy.push(String(req.headers['idempotency-key']).split('.')[0] ?? '');
        const timer = setTimeout(
          () => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'),
          2500,
        );
        res.on('close', () => clearTimeout(timer));
        return;
      }
      if (req.url === '/steady') {
        steadyStarts.push(Date.now());
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
        return;
      }
      if (req.url === '/slow-ok') {
        narrow.inFlight++;
        narrow.most = Math.max(narrow.most, narrow.inFlight);
        narrow.starts.push(Date.now());
        setTimeout(() => {
          narrow.inFlight--;
          res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
        }, 300);
        return;
      }
      const behaviour = BEHAVIOURS[(req.url ?? '').slice(1)];
      if (behaviour) behaviour.answer(res);
      else res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => flaky.listen(0, '127.0.0.1', resolve));
    const { port } = flaky.address() as AddressInfo;
    flakyUrl = `http://127.0.0.1:${port}`;
    sb = await startTestSwitchboard({
      catalogDir: writeMisbehavingCatalog(),
      systemBaseUrls: {
        flaky: `http://127.0.0.1:${port}`,
        narrow: `http://127.0.0.1:${port}`,
        steady: `http://127.0.0.1:${port}`,
        movable: flakyUrl,
      },
    });
  });
  after(async () => {
    await sb?.stop();
    for (const server of [flaky, standbyServer]) {
      server?.closeAllConnections();
      await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    }
  });

  it('fails each item with the reason in its history and holds the order, and the next order still runs', async () => {
    // The default rule would retry the timeout and the 503; this system's rule sends them to fallout.
    const rule = await sb.call('PUT', '/admin/retry-rules/flaky-no-retry', {
      scope: { kind: 'system', systemId: 'flaky' },
      matches: { timeouts: true, connectionErrors: true, statuses: ['5xx'] },
      policy: { type: 'none' },
    });
    assert.equal(rule.status, 201, JSON.stringify(rule.body));
    const created = await sb.call('POST', ORDERS, {
      productOrderItem: [{ id: '1', action: 'add', productOffering: { id: 'flaky' } }],
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const { id } = created.body as { id: string };

    const items = await eventually(
      async () => {
        const graph = (await sb.call('GET', `/orchestration/orders/${id}/items`)).body as {
          state: string;
          items: {
            planItemId: string;
            state: string;
            error?: string;
            history: { state: string; reason: string }[];
          }[];
        };
        return graph.items.every((i) => i.state === 'FatallyFailed') ? graph.items : undefined;
      },
      60_000,
      'every flaky item to fail',
    );
    for (const item of items) {
      const expected = BEHAVIOURS[item.planItemId]?.error;
      assert.ok(expected, item.planItemId);
      assert.match(item.error ?? '', expected, `${item.planItemId}: ${item.error}`);
      const last = item.history.at(-1);
      assert.equal(last?.state, 'FatallyFailed');
      assert.match(last?.reason ?? '', expected, `${item.planItemId}'s history says why`);
    }
    // The order is held by a write of its own, just after the item's.
    await eventually(
      async () =>
        ((await sb.call('GET', `${ORDERS}/${id}`)).body as { state: string }).state === 'held' || undefined,
      10_000,
      'the order to be held',
    );

    // The worker is alive and well: a DSL order completes after all that.
    const next = (await sb.call('POST', ORDERS, demoDslOrder('after-the-storm'))).body as { id: string };
    await eventually(
      async () =>
        ((await sb.call('GET', `${ORDERS}/${next.id}`)).body as { state: string }).state === 'completed'
          ? true
          : undefined,
      60_000,
      'the next order to complete',
    );
  });

  it('applies a runtime change of a timeout and of a base URL to the next callout, keeps both in the history, and refuses a stale ETag', async () => {
    const iface = '/admin/system-interfaces/movable-work';
    const system = '/admin/systems/movable';
    const ifMatch = (etag: string | null) => ({ headers: { 'if-match': String(etag) } });
    const read = await sb.call('GET', iface);
    assert.equal((read.body as { timeoutSeconds: number }).timeoutSeconds, 10);
    const etag = read.headers.get('etag');
    assert.match(String(etag), /^"r\d+"$/);
    // Timeouts of this system go to fallout at once, so the one below is seen as it happens.
    const rule = await sb.call('PUT', '/admin/retry-rules/movable-no-retry', {
      scope: { kind: 'system', systemId: 'movable' },
      matches: { timeouts: true },
      policy: { type: 'none' },
    });
    assert.equal(rule.status, 201, JSON.stringify(rule.body));
    try {
      // Act: the operator lowers the timeout, under the ETag read; without one, or with it again, no.
      const unconditional = await sb.call('PATCH', iface, { timeoutSeconds: 1, reason: 'fail fast' });
      assert.equal(unconditional.status, 428, JSON.stringify(unconditional.body));
      const lowered = await sb.call(
        'PATCH',
        iface,
        { timeoutSeconds: 1, reason: 'movable hangs: fail fast' },
        { headers: { 'if-match': String(etag), 'content-type': 'application/merge-patch+json' } },
      );
      assert.equal(lowered.status, 200, JSON.stringify(lowered.body));
      assert.notEqual(lowered.headers.get('etag'), etag);
      const stale = await sb.call('PATCH', iface, { timeoutSeconds: 5, reason: 'too late' }, ifMatch(etag));
      assert.equal(stale.status, 412, JSON.stringify(stale.body));

      // Assess: the next callout times out after the new second, not the catalog's ten.
      const orderId = await submitOneLine(sb, 'movable');
      const failed = await eventually(
        async () => {
          const item = await itemOf<{ key: string; id: string; state: string; error?: string }>(
            sb,
            orderId,
            'movable.work.1',
          );
          return item.state === 'FatallyFailed' ? item : undefined;
        },
        60_000,
        'the movable callout to time out',
      );
      assert.match(failed.error ?? '', /no answer within 1000 ms/);
      assert.deepEqual(
        sleepy.filter((id) => id === orderId),
        [orderId],
      );

      // Act: the system moves to its standby site; the operator retries the item.
      const current = await sb.call('GET', system);
      const moved = await sb.call(
        'PATCH',
        system,
        {
          baseUrl: `http://127.0.0.1:${(standbyServer.address() as AddressInfo).port}`,
          reason: 'failover to the standby',
        },
        ifMatch(current.headers.get('etag')),
      );
      assert.equal(moved.status, 200, JSON.stringify(moved.body));
      const retried = await sb.call('POST', `/orchestration/items/${failed.id}/retry`, { reason: 'moved' });
      assert.equal(retried.status, 200, JSON.stringify(retried.body));

      // Assess: the next callout went to the standby, and the order completed.
      await eventually(
        async () =>
          ((await sb.call('GET', `${ORDERS}/${orderId}`)).body as { state: string }).state === 'completed' ||
          undefined,
        60_000,
        'the moved order to complete',
      );
      assert.deepEqual(
        standby.filter((r) => r.endsWith(orderId)),
        [`POST /sleepy ${orderId}`],
      );
      assert.equal(sleepy.filter((id) => id === orderId).length, 1, 'nothing more went to the old address');
      type History = {
        history: {
          kind?: string;
          reason: string;
          by: { id: string };
          changes?: { field: string; from: unknown; to: unknown }[];
        }[];
      };
      const [timeoutChange] = ((await sb.call('GET', iface)).body as History).history;
      assert.equal(timeoutChange?.kind, 'configuration');
      assert.deepEqual(timeoutChange?.changes, [{ field: 'timeoutSeconds', from: 10, to: 1 }]);
      assert.equal(timeoutChange?.reason, 'movable hangs: fail fast');
      assert.ok(timeoutChange?.by.id, 'who');
      const [addressChange] = ((await sb.call('GET', system)).body as History).history;
      assert.deepEqual(
        addressChange?.changes?.map((c) => [c.field, c.from]),
        [['baseUrl', flakyUrl]],
      );
      assert.equal(addressChange?.reason, 'failover to the standby');
    } finally {
      // Restore: the catalog's values again (no override left), and no rule.
      for (const [path, body] of [
        [iface, { timeoutSeconds: 10, reason: 'restored' }],
        [system, { baseUrl: flakyUrl, reason: 'restored' }],
      ] as const) {
        const now = await sb.call('GET', path);
        const restored = await sb.call('PATCH', path, body, ifMatch(now.headers.get('etag')));
        assert.equal(restored.status, 200, JSON.stringify(restored.body));
        assert.deepEqual((restored.body as { overrides: unknown }).overrides, {});
      }
      await sb.call('DELETE', '/admin/retry-rules/movable-no-retry');
    }
  });

  /** A run of the long-wait plan, as the local Step Functions keeps it. */
  const longWaitRun = (executionName: string) => {
    const machine = sb.runtime.deployment
      .ofType('AWS::StepFunctions::StateMachine')
      .find((m) => m.logicalId.startsWith('Planlongwait'));
    assert.ok(machine);
    const arn = String(sb.runtime.deployment.attributes(machine).Arn);
    return sb.runtime.stepFunctions.executionRecord(
      `${arn.replace(':stateMachine:', ':execution:')}:${executionName}`,
    );
  };

  const completeTwelveLines = async (offering: string) => {
    const lines = Array.from({ length: 12 }, (_, n) => ({
      id: `l${n}`,
      action: 'add',
      productOffering: { id: offering },
    }));
    const created = await sb.call('POST', ORDERS, { productOrderItem: lines });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const { id } = created.body as { id: string };
    await eventually(
      async () =>
        ((await sb.call('GET', `${ORDERS}/${id}`)).body as { state: string }).state === 'completed'
          ? true
          : undefined,
      60_000,
      `twelve ${offering} callouts to complete`,
    );
  };

  it('never has more callouts in flight to a system than it takes', async (t) => {
    await completeTwelveLines('narrow');
    assert.equal(narrow.starts.length, 12);
    assert.equal(narrow.most, 2, 'twelve ready callouts, two at a time');
    t.diagnostic(`narrow system (2 at a time): at most ${narrow.most} requests at once`);
  });

  it('never starts callouts to a system faster than its rate', async (t) => {
    await completeTwelveLines('steady');
    assert.equal(steadyStarts.length, 12);
    // Reserved start times are 200 ms apart; what arrives is that plus the send's jitter on a shared
    // machine, so the check is by window, with one start of slack, not by the closest pair.
    const busiestSecond = Math.max(
      ...steadyStarts.map((from) => steadyStarts.filter((at) => at >= from && at < from + 1000).length),
    );
    const span = (steadyStarts.at(-1) ?? 0) - (steadyStarts[0] ?? 0);
    assert.ok(busiestSecond <= 6, `${busiestSecond} starts within one second; the rate is 5`);
    assert.ok(span >= 1800, `twelve starts at five a second take over two seconds, not ${span} ms`);
    t.diagnostic(
      `steady system (5/s): ${busiestSecond} starts in the busiest second; 12 starts over ${span} ms`,
    );
  });

  it('waits 30 days for an item when the plan allows it, past the local engine timer limit', async () => {
    const created = await sb.call('POST', ORDERS, {
      productOrderItem: [{ id: '1', action: 'add', productOffering: { id: 'long-wait' } }],
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const { id } = created.body as { id: string };
    await eventually(async () => {
      const items = (await sb.call('GET', `/orchestration/orders/${id}/items`)).body as {
        items: { state: string }[];
      };
      return items.items[0]?.state === 'Running' ? true : undefined;
    });
    // Node fires a timer over 24.8 days at once: without long timers the wait would time out here.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.equal(longWaitRun(`${id}-1`)?.status, 'RUNNING');
    assert.equal(((await sb.call('GET', `${ORDERS}/${id}`)).body as { state: string }).state, 'inProgress');
  });

  it('puts the item of a plan run that timed out in fallout, and failing its order stops the order’s other run', async () => {
    // Prepare: one order, two plans: a run that times out after 2 s and one that may wait 30 days.
    const created = await sb.call('POST', ORDERS, {
      productOrderItem: [
        { id: '1', action: 'add', productOffering: { id: 'short-wait' } },
        { id: '2', action: 'add', productOffering: { id: 'long-wait' } },
      ],
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const { id } = created.body as { id: string };
    type Items = { items: { id: string; key: string; state: string; error?: string }[] };
    const survey = () =>
      sb
        .call('GET', `/orchestration/orders/${id}/items`)
        .then((r) => (r.body as Items).items.find((i) => i.key.startsWith('short-wait.')));

    // Act: the short run times out; the watcher hears of it.
    const fallout = await eventually(
      async () => {
        const item = await survey();
        return item?.state === 'FatallyFailed' ? item : undefined;
      },
      30_000,
      'the timed-out run’s item to be in fallout',
    );

    // Assess
    assert.match(
      fallout.error ?? '',
      new RegExp(`its plan run ${id}-\\d (failed|timed out): States\\.Timeout`),
    );
    // The order is held by a write of its own, just after the item's.
    await eventually(
      async () =>
        ((await sb.call('GET', `${ORDERS}/${id}`)).body as { state: string }).state === 'held' || undefined,
      10_000,
      'the order to be held',
    );

    // Act: the operator fails the order.
    const failed = await sb.call('POST', `/orchestration/items/${fallout.id}/fail`, {
      reason: 'survey overdue',
    });
    assert.equal(failed.status, 200, JSON.stringify(failed.body));

    // Assess: the long run is stopped, not left waiting 30 days for a survey no one will start.
    const longRun = longWaitRun(`${id}-2`);
    assert.equal(longRun?.status, 'ABORTED');
    assert.match(longRun?.cause ?? '', /survey overdue/);
  });
});
