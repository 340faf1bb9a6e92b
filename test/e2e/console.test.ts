import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, before, describe, it as nodeIt, type TestContext } from 'node:test';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { type Browser, chromium, type Page } from 'playwright-core';
import { DynamoDbListenerStore } from '../../lambdas/adapters/dynamodb-listener-store';
import { demoDslOrder, demoTvOrder } from '../../local/demo-orders';
import { eventually, startTestSwitchboard, type TestSwitchboard } from '../support/local-switchboard';

/**
 * The operator console in a real browser (Debian's Chromium driven by playwright-core) against the local
 * runtime, which serves it from cdk.out as the distribution does on AWS: an operator takes activation
 * Down, finds the held order on the on-hold tab, brings activation back without releasing, releases the
 * item by hand and watches the order complete on its graph; retries a fallout item whose system is Down
 * (and is told it waits On Hold), then skips it; and meets the API's validation next to a retry rule's
 * field. A failing test leaves a screenshot in test-results/.
 */

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SHOTS = resolve(import.meta.dirname, '../../test-results');
const ORDERS = '/tmf-api/productOrderingManagement/v5/productOrder';
const LONG = { timeout: 60_000 };

/**
 * Pauses a listener as the delivery function does after it kept failing for an hour (a test cannot wait
 * that long): the same store, writing the same failures.
 */
async function pauseListener(sb: TestSwitchboard, id: string): Promise<void> {
  const table = sb.runtime.deployment
    .ofType('AWS::DynamoDB::Table')
    .find((t) => t.logicalId.startsWith('Configuration'));
  assert.ok(table, 'the configuration table');
  const client = DynamoDBDocumentClient.from(
    new DynamoDBClient({
      endpoint: sb.runtime.endpoints.dynamodb,
      region: sb.runtime.region,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    }),
  );
  try {
    const store = new DynamoDbListenerStore(client, table.physicalName);
    const paused = await store.recordFailure(
      id,
      { at: new Date().toISOString(), reason: 'connect ECONNREFUSED' },
      () => true,
    );
    assert.equal(paused?.state, 'paused');
  } finally {
    client.destroy();
  }
}

describe('the operator console', () => {
  let sb: TestSwitchboard;
  let browser: Browser;
  let page: Page;

  before(async () => {
    assert.ok(
      existsSync(CHROMIUM),
      `no Chromium at ${CHROMIUM}: install Debian's chromium package (.ci/run does) or set CHROMIUM_PATH`,
    );
    sb = await startTestSwitchboard({ latencyMs: 10 });
    // Playwright adds --no-sandbox (the tests run as root) and turns off background networking itself.
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--disable-gpu', '--disable-quic'] });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(`${sb.runtime.apiUrl}/console/#token=${sb.token('operator')}`);
    await page.getByRole('link', { name: 'Orders' }).waitFor();
  });
  after(async () => {
    await browser?.close();
    await sb?.stop();
  });

  /** A test that leaves a screenshot of the page in test-results/ when it fails. */
  const it = (name: string, body: (t: TestContext) => Promise<void>) =>
    nodeIt(name, async (t) => {
      try {
        await body(t);
      } catch (error) {
        mkdirSync(SHOTS, { recursive: true });
        const file = join(SHOTS, `console-${name.replace(/[^a-z0-9]+/gi, '-').slice(0, 80)}.png`);
        await page?.screenshot({ path: file, fullPage: true }).catch(() => undefined);
        t.diagnostic(`screenshot: ${file}`);
        throw error;
      }
    });

  /** Fills the reason dialog and confirms it. */
  const confirmWith = async (reason: string, button: string, options: { untick?: RegExp } = {}) => {
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    if (options.untick) await dialog.getByLabel(options.untick).uncheck();
    await dialog.locator('textarea').fill(reason);
    await dialog.getByRole('button', { name: button }).click();
    await dialog.waitFor({ state: 'hidden' });
  };
  const submit = async (order: unknown) => {
    const created = await sb.call('POST', ORDERS, order);
    assert.equal(created.status, 201, JSON.stringify(created.body));
    return (created.body as { id: string }).id;
  };

  it('takes activation Down, finds the order on hold, releases it by hand and sees it complete on its graph', async () => {
    await page.getByRole('link', { name: 'Systems' }).click();
    await page.getByRole('link', { name: 'Service activation' }).click();
    await page.getByRole('button', { name: 'Take Down' }).click();
    await confirmWith('line card upgrade', 'Take Down');
    await page.locator('.panel-head [data-state="Down"]').waitFor();

    const orderId = await submit(demoDslOrder('console-held'));
    await page.getByRole('link', { name: 'On hold' }).click();
    const row = page.locator(`tr[data-order="${orderId}"]`);
    await row.waitFor(LONG);
    assert.match((await row.textContent()) ?? '', /system "activation" is Down: line card upgrade/);
    assert.equal(
      await page.getByRole('button', { name: /Release selected/ }).isDisabled(),
      true,
      'nothing is released while the system is Down',
    );

    // Up, but keeping the held item for a release by hand; it stays on the tab.
    await page.getByRole('button', { name: 'Bring Up' }).click();
    await confirmWith('upgrade done', 'Bring Up', { untick: /Release its held items now/ });
    await page.getByText('its held items wait for your release').waitFor();
    await page.locator('.panel-head [data-state="Up"]').waitFor();
    await row.waitFor();
    await row.getByRole('checkbox').check();
    // The tab reads again every 2 s; the operator's selection survives it.
    await page.waitForTimeout(2_500);
    assert.equal(await row.getByRole('checkbox').isChecked(), true, 'still selected after a refresh');
    await page.getByRole('button', { name: 'Release selected (1)' }).click();
    await page.locator('[aria-label="Release results"] [data-result="released"]').waitFor();

    // The released item leaves the tab; the order's page shows it running on.
    await page.goto(`${sb.runtime.apiUrl}/console/#/orders/${orderId}`);
    await page.locator('[data-item="dsl-broadband.activate-line.1"][data-state="Completed"]').waitFor(LONG);
    await page.locator('.panel-head [data-state="completed"]').waitFor(LONG);
    for (const node of await page.locator('g.node').all()) {
      assert.equal(
        await node.getAttribute('data-state'),
        'Completed',
        String(await node.getAttribute('data-item')),
      );
    }
  });

  it('retries a fallout item while its system is Down and says it waits On Hold, then fails its order', async () => {
    // No prices: the billing adapter cannot build its charge request, which no rule retries.
    const { itemPrice: _prices, ...line } = demoDslOrder('console-fallout').productOrderItem[0] as Record<
      string,
      unknown
    >;
    const orderId = await submit({ externalId: 'console-fallout', productOrderItem: [line] });
    const itemId = `${orderId}.dsl-broadband.start-billing.1`;
    await eventually(
      async () => {
        const fallout = (await sb.call('GET', '/admin/fallout')).body as { items: { id: string }[] };
        return fallout.items.some((i) => i.id === itemId) ? true : undefined;
      },
      60_000,
      `${itemId} in fallout`,
    );
    const billingDown = await sb.call('PUT', '/admin/systems/billing/state', {
      state: 'Down',
      reason: 'invoice run',
    });
    assert.equal(billingDown.status, 200);

    await page.getByRole('link', { name: 'Fallout' }).click();
    const row = page.locator(`tr[data-fallout="${itemId}"]`);
    await row.waitFor(LONG);
    await row.getByRole('checkbox').check();
    await page.getByRole('button', { name: /Retry selected/ }).click();
    await confirmWith('prices fixed upstream', 'Retry');
    const result = page.locator(`[data-result-for="${itemId}"]`);
    await result.waitFor();
    assert.match(
      (await result.textContent()) ?? '',
      /retried, but Billing \(legacy\) is Down: it waits On Hold/,
    );

    // Billing back: the item fails again (still no prices). Billing is a point of no return, so the
    // skip is refused, with the API's reason, and the operator fails the order from the item's panel.
    assert.equal(
      (await sb.call('PUT', '/admin/systems/billing/state', { state: 'Up', reason: 'run over' })).status,
      200,
    );
    await row.waitFor(LONG);
    await row.getByRole('checkbox').check();
    await page.getByRole('button', { name: 'Skip selected' }).click();
    await confirmWith('billed by hand', 'Skip');
    await result.waitFor();
    assert.match((await result.textContent()) ?? '', /cannot be skipped: it is a point of no return/);

    await row.getByRole('link').click();
    await page.getByRole('button', { name: 'Fail the order' }).click();
    await confirmWith('customer cancelled', 'Fail the order');
    await page.locator('.panel-head [data-state="failed"]').waitFor(LONG);
    const order = (await sb.call('GET', `${ORDERS}/${orderId}`)).body as { state: string };
    assert.equal(order.state, 'failed');
  });

  it('cancels an order from its page: the graph shows the port undone and the rest discarded; a refusal says why', async () => {
    assert.equal(
      (await sb.call('PUT', '/admin/systems/activation/state', { state: 'Down', reason: 'cabinet works' }))
        .status,
      200,
    );
    try {
      const orderId = await submit(demoDslOrder('console-cancel'));
      await page.goto(`${sb.runtime.apiUrl}/console/#/orders/${orderId}`);
      await page.locator('[data-item="dsl-broadband.activate-line.1"][data-state="OnHold"]').waitFor(LONG);
      await page.getByRole('button', { name: 'Cancel order' }).click();
      await confirmWith('the customer moved', 'Cancel the order');
      await page.locator('.panel-head [data-state="cancelled"]').waitFor(LONG);
      await page
        .locator('[data-item="dsl-broadband.reserve-port.1"][data-state="Compensated"]')
        .waitFor(LONG);
      await page.locator('[data-item="dsl-broadband.reserve-port.1.undo"][data-state="Completed"]').waitFor();
      await page.locator('[data-item="dsl-broadband.activate-line.1"][data-state="Discarded"]').waitFor();
      assert.match(
        (await page.locator('[data-item="dsl-broadband.reserve-port.1.undo"]').textContent()) ?? '',
        /undo reserve-port/,
      );
      await page.getByText('Cancellation done').waitFor();
      assert.equal(
        await page.getByRole('button', { name: 'Cancel order' }).count(),
        0,
        'nothing left to cancel',
      );
    } finally {
      await sb.call('PUT', '/admin/systems/activation/state', { state: 'Up', reason: 'works done' });
    }

    // Billing, a point of no return, has started (and fallen out: no prices): the cancellation is refused.
    const { itemPrice: _prices, ...line } = demoDslOrder('console-refused').productOrderItem[0] as Record<
      string,
      unknown
    >;
    const refusedId = await submit({ externalId: 'console-refused', productOrderItem: [line] });
    await page.goto(`${sb.runtime.apiUrl}/console/#/orders/${refusedId}`);
    await page
      .locator('[data-item="dsl-broadband.start-billing.1"][data-state="FatallyFailed"]')
      .waitFor(LONG);
    await page.getByRole('button', { name: 'Cancel order' }).click();
    await confirmWith('too late?', 'Cancel the order');
    await page
      .getByText(/Refused: item dsl-broadband\.start-billing\.1 is a point of no return/)
      .waitFor(LONG);
    await page.locator('.panel-head [data-state="held"]').waitFor(LONG);
  });

  it('changes a line’s bandwidth from the order page: the port reserved again, a revision shown; a refusal says why', async () => {
    assert.equal(
      (await sb.call('PUT', '/admin/systems/activation/state', { state: 'Down', reason: 'cabinet works' }))
        .status,
      200,
    );
    try {
      const orderId = await submit(demoDslOrder('console-amend'));
      await page.goto(`${sb.runtime.apiUrl}/console/#/orders/${orderId}`);
      await page.locator('[data-item="dsl-broadband.activate-line.1"][data-state="OnHold"]').waitFor(LONG);
      await page.locator('[data-item="dsl-broadband.reserve-port.1"][data-state="Completed"]').waitFor(LONG);
      await page.getByRole('button', { name: 'Change line 1' }).click();
      const dialog = page.getByRole('dialog');
      await dialog.waitFor();
      const text = await dialog.locator('textarea').inputValue();
      assert.match(text, /"bandwidth": 100/, 'the dialog opens with the line as it is');
      await dialog.locator('textarea').fill(text.replace('"bandwidth": 100', '"bandwidth": 250'));
      await dialog.getByRole('button', { name: 'Amend the order' }).click();
      await dialog.waitFor({ state: 'hidden' });
      await page.getByText('2 (amended)').waitFor(LONG);
      await page
        .locator('[data-item="dsl-broadband.reserve-port.1.r2"][data-state="Completed"]')
        .waitFor(LONG);
      assert.match(
        (await page.locator('[data-item="dsl-broadband.reserve-port.1.r2"]').textContent()) ?? '',
        /reserve-port \(r2\)/,
      );
    } finally {
      await sb.call('PUT', '/admin/systems/activation/state', { state: 'Up', reason: 'works done' });
    }

    // Billing has started (and fallen out: no prices): the line is past its point of no return.
    const { itemPrice: _prices, ...line } = demoDslOrder('console-amend-late').productOrderItem[0] as Record<
      string,
      unknown
    >;
    const lateId = await submit({ externalId: 'console-amend-late', productOrderItem: [line] });
    await page.goto(`${sb.runtime.apiUrl}/console/#/orders/${lateId}`);
    await page
      .locator('[data-item="dsl-broadband.start-billing.1"][data-state="FatallyFailed"]')
      .waitFor(LONG);
    await page.getByRole('button', { name: 'Change line 1' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    await dialog
      .locator('textarea')
      .fill((await dialog.locator('textarea').inputValue()).replace('"bandwidth": 100', '"bandwidth": 50'));
    await dialog.getByRole('button', { name: 'Amend the order' }).click();
    await dialog
      .getByText(/dsl-broadband\.start-billing\.1 is a point of no return and has started/)
      .waitFor(LONG);
    await dialog.getByRole('button', { name: 'Cancel' }).click();
  });

  it('shows the API’s validation next to a retry rule’s field, then saves and deletes the rule', async () => {
    await page.getByRole('link', { name: 'Retry rules' }).click();
    await page.getByRole('link', { name: 'New rule' }).click();
    const form = page.getByRole('form', { name: 'Retry rule' });
    await form.getByLabel('Id').fill('billing-busy');
    await form.locator('select[name="scopeKind"]').selectOption('system');
    await form.getByLabel('System id').fill('billing');
    await form.getByLabel('Statuses').fill('503, 6xx');
    await form.getByLabel('Retries').fill('three');
    await form.getByLabel('Interval (s)').fill('30');
    await form.getByRole('button', { name: 'Save rule' }).click();
    await form.locator('[data-problem-for="policy.count"]').waitFor();
    await form.locator('[data-problem-for="matches"]').waitFor();

    await form.getByLabel('Statuses').fill('503, 5xx');
    await form.getByLabel('Retries').fill('3');
    await form.getByRole('button', { name: 'Save rule' }).click();
    const rule = page.locator('tr[data-rule="billing-busy"]');
    await rule.waitFor();
    assert.match((await rule.textContent()) ?? '', /system billing[\s\S]*3 × every 30 s[\s\S]*503, 5xx/);
    const stored = await sb.call('GET', '/admin/retry-rules/billing-busy');
    assert.equal(stored.status, 200);

    page.once('dialog', (dialog) => void dialog.accept());
    await rule.getByRole('button', { name: 'Delete' }).click();
    await rule.waitFor({ state: 'detached' });
    assert.equal((await sb.call('GET', '/admin/retry-rules/billing-busy')).status, 404);
  });

  it('shows an order in jeopardy and why, and a listener that keeps failing, which it resumes', async () => {
    // An order due in an hour whose technician's visit is expected to take two days.
    const due = new Date(Date.now() + 3_600_000).toISOString();
    const late = await submit({ ...demoTvOrder('technician'), requestedCompletionDate: due });
    await page.getByRole('link', { name: 'Jeopardy' }).click();
    const row = page.locator(`tr[data-jeopardy="${late}"]`);
    await row.waitFor(LONG);
    assert.match((await row.textContent()) ?? '', /after its due date/);

    // A listener nobody answers, paused as the delivery function pauses one that keeps failing.
    const registered = await sb.call(
      'POST',
      '/tmf-api/productOrderingManagement/v5/hub',
      { callback: 'http://127.0.0.1:9/nobody-listens' },
      { as: 'submitter' },
    );
    assert.equal(registered.status, 201);
    const { id } = registered.body as { id: string };
    await pauseListener(sb, id);
    await page.getByRole('link', { name: 'Listeners' }).click();
    const listener = page.locator(`tr[data-listener="${id}"]`);
    await listener.waitFor(LONG);
    assert.match((await listener.textContent()) ?? '', /paused/);
    await listener.getByRole('button', { name: 'Resume' }).click();
    await page.locator(`tr[data-listener="${id}"] [data-state="active"]`).waitFor(LONG);
    const seen = await sb.call('GET', '/admin/listeners');
    assert.equal((seen.body as { id: string; state: string }[]).find((l) => l.id === id)?.state, 'active');
  });

  it('shows an interface with every field and its history, and a system’s configuration changed at runtime', async () => {
    // An operator raised inventory's reservation timeout at runtime (with the ETag the GET gave).
    const path = '/admin/system-interfaces/inventory-reserve-port';
    const read = await sb.call('GET', path);
    const etag = read.headers.get('etag');
    assert.ok(etag, 'the interface answers an ETag');
    const raised = await sb.call(
      'PATCH',
      path,
      { timeoutSeconds: 20, reason: 'inventory is slow after its upgrade' },
      { headers: { 'if-match': etag } },
    );
    assert.equal(raised.status, 200, JSON.stringify(raised.body));
    try {
      await page.goto(`${sb.runtime.apiUrl}/console/#/systems/inventory`);
      await page.locator('[data-field="baseUrl"]').waitFor(LONG);
      assert.match(
        (await page.locator('[data-field="baseUrl"]').textContent()) ?? '',
        /^http:\/\/127\.0\.0\.1:\d+/,
      );
      assert.match((await page.locator('[data-field="limits"]').textContent()) ?? '', /20 at once/);
      assert.match((await page.locator('[data-field="circuitBreaker"]').textContent()) ?? '', /none/);

      await page.getByRole('link', { name: 'inventory-reserve-port' }).click();
      await page.getByRole('heading', { name: 'Interface inventory-reserve-port' }).waitFor();
      const field = (name: string) => page.locator(`[aria-label$="every field"] [data-field="${name}"]`);
      await field('timeoutSeconds').waitFor(LONG);
      const timeout = (await field('timeoutSeconds').textContent()) ?? '';
      assert.match(timeout, /^20/);
      assert.match(timeout, /changed at runtime by .+; the catalog has 10/);
      assert.equal(await field('method').textContent(), 'POST');
      assert.equal(await field('path').textContent(), '/ports/reservations');
      assert.equal(await field('adapter').textContent(), 'sync-rest');
      assert.match((await field('mappings').textContent()) ?? '', /request: reserve-port-request/);
      const history = page.getByRole('table', { name: 'History of inventory-reserve-port' });
      const row = history.locator('tr[data-change="configuration"]').first();
      await row.waitFor();
      assert.match(
        (await row.textContent()) ?? '',
        /timeoutSeconds: 10 → 20[\s\S]*inventory is slow after its upgrade/,
      );

      // An asynchronous interface shows what it waits for, with the defaults it takes.
      await page.goto(`${sb.runtime.apiUrl}/console/#/systems/activation?interface=activation-activate-line`);
      await field('asyncTimeoutSeconds').waitFor(LONG);
      assert.equal(await field('asyncTimeoutSeconds').textContent(), '3600');
      assert.equal(await field('acceptedStatuses').textContent(), '202');
      assert.equal(await field('callbackAuth').textContent(), 'standard-webhooks');
      assert.equal(await field('adapter').textContent(), 'async-rest');
      assert.match((await field('mappings').textContent()) ?? '', /asyncResponse: activate-line-response/);
    } finally {
      const now = await sb.call('GET', path);
      const restored = await sb.call(
        'PATCH',
        path,
        { timeoutSeconds: 10, reason: 'back to the catalog' },
        { headers: { 'if-match': String(now.headers.get('etag')) } },
      );
      assert.equal(restored.status, 200, JSON.stringify(restored.body));
      assert.deepEqual((restored.body as { overrides: unknown }).overrides, {});
    }
  });

  it('is usable from the keyboard and readable on a tablet', async () => {
    const orderId = await submit(demoDslOrder('console-keyboard'));
    await page.goto(`${sb.runtime.apiUrl}/console/#/orders/${orderId}`);
    const node = page.locator('g.node[data-item="dsl-broadband.reserve-port.1"]');
    await node.waitFor(LONG);
    await node.focus();
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Item reserve-port' }).waitFor();
    assert.equal(
      await page.evaluate<string>('document.activeElement?.textContent ?? ""'),
      'Item reserve-port',
      'the opened panel has the focus',
    );
    await page.keyboard.press('Tab');
    assert.ok(await page.evaluate('document.activeElement !== document.body'), 'focus moves on with Tab');
    await page.getByRole('link', { name: 'Systems' }).focus();
    await page.keyboard.press('Enter');
    // Polled from here: waitForFunction evaluates its predicate with eval in the page once it has to
    // wait, which the console's Content-Security-Policy (script-src 'self') rightly refuses.
    await eventually(
      async () =>
        (await page.evaluate<boolean>(
          'document.activeElement?.textContent === "Systems" && document.activeElement.tagName === "H2"',
        )) || undefined,
      10_000,
      'the Systems page’s heading to have the focus',
    );
    assert.equal(await page.title(), 'Systems · Switchboard', 'and a new page its heading and title');

    await page.setViewportSize({ width: 820, height: 1180 });
    for (const path of [
      '#/orders',
      `#/orders/${orderId}`,
      '#/systems',
      '#/systems/activation?tab=on-hold',
      '#/systems/activation?interface=activation-activate-line',
      '#/fallout',
    ]) {
      await page.goto(`${sb.runtime.apiUrl}/console/${path}`);
      await page.locator('.panel').first().waitFor();
      const overflow = await page.evaluate<number>(
        'document.documentElement.scrollWidth - window.innerWidth',
      );
      assert.ok(overflow <= 0, `${path} is ${overflow} px wider than a tablet's screen`);
    }
    await page.setViewportSize({ width: 1280, height: 900 });
  });
});
