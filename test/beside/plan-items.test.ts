import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { demoTvOrder } from '../../local/demo-orders';
import { eventually, startTestSwitchboard, type TestSwitchboard } from '../support/local-switchboard';

const ORDERS = '/tmf-api/productOrderingManagement/v5/productOrder';

interface ItemView {
  id: string;
  key: string;
  state: string;
  completedBy?: { id: string; name: string };
  history: { state: string; reason: string; by?: { id: string } }[];
}

describe('the tv-bundle demo plan: auto tasks, a condition, a manual task, a milestone', () => {
  let sb: TestSwitchboard;
  before(async () => {
    sb = await startTestSwitchboard();
  });
  after(async () => {
    await sb?.stop();
  });

  const items = async (orderId: string) =>
    ((await sb.call('GET', `/orchestration/orders/${orderId}/items`)).body as { items: ItemView[] }).items;
  const order = async (orderId: string) =>
    (await sb.call('GET', `${ORDERS}/${orderId}`)).body as {
      state: string;
      fulfilmentAttributes: Record<string, unknown>;
    };

  it('waits for an operator to complete the technician visit, then completes with their attributes', async () => {
    const { id } = (await sb.call('POST', ORDERS, demoTvOrder('technician'))).body as { id: string };
    const visit = await eventually(async () =>
      (await items(id)).find((i) => i.key === 'tv-bundle.technician-visit.1' && i.state === 'Running'),
    );
    assert.match(visit.history.at(-1)?.reason ?? '', /waiting for an operator: Install the set-top box/);
    assert.equal((await order(id)).state, 'inProgress');

    const complete = `/orchestration/items/${visit.id}/complete`;
    assert.equal((await sb.call('POST', complete, { installedBy: 'Sam' }, { as: 'submitter' })).status, 403);
    assert.equal((await sb.call('POST', complete, ['not', 'an', 'object'])).status, 400);
    const done = await sb.call('POST', complete, { installedBy: 'Sam' });
    assert.equal(done.status, 200, JSON.stringify(done.body));

    const finished = await eventually(async () => {
      const o = await order(id);
      return o.state === 'completed' ? o : undefined;
    });
    // Done (its worker finished it): a second completion is refused. Before that, a second POST hands
    // the completed task on again (idempotent), should the first hand-over have failed.
    assert.equal((await sb.call('POST', complete, { installedBy: 'Sam' })).status, 409, 'it is done already');
    assert.deepEqual(finished.fulfilmentAttributes, {
      channelPackage: 'sports',
      installedBy: 'Sam',
      welcomePack: 'sent',
    });
    const completedVisit = (await items(id)).find((i) => i.key === 'tv-bundle.technician-visit.1');
    assert.deepEqual(completedVisit?.completedBy, { id: 'local-operator', name: 'operator' });
    assert.equal(completedVisit?.history.at(-1)?.by?.id, 'local-operator');
    const states = Object.fromEntries((await items(id)).map((i) => [i.key, i.state]));
    assert.deepEqual(states, {
      'tv-bundle.choose-channels.1': 'Completed',
      'tv-bundle.technician-visit.1': 'Completed',
      'tv-bundle.service-ready.1': 'Completed',
      'tv-bundle.welcome-pack': 'Completed',
    });
  });

  it('skips the visit when no technician was asked for, completing with no person involved', async () => {
    const { id } = (await sb.call('POST', ORDERS, demoTvOrder('self'))).body as { id: string };
    await eventually(async () => ((await order(id)).state === 'completed' ? true : undefined));
    const visit = (await items(id)).find((i) => i.key === 'tv-bundle.technician-visit.1');
    assert.equal(visit?.state, 'Skipped');
    assert.equal((await sb.call('POST', `/orchestration/items/${visit?.id}/complete`, {})).status, 409);
  });

  it('refuses to complete items that are not waiting manual tasks, or do not exist', async () => {
    const { id } = (await sb.call('POST', ORDERS, demoTvOrder('self'))).body as { id: string };
    await eventually(async () => ((await order(id)).state === 'completed' ? true : undefined));
    assert.equal(
      (await sb.call('POST', `/orchestration/items/${id}.tv-bundle.choose-channels.1/complete`)).status,
      409,
    );
    assert.equal(
      (await sb.call('POST', `/orchestration/items/${id}.tv-bundle.nothing.1/complete`)).status,
      404,
    );
    assert.equal((await sb.call('POST', '/orchestration/items/no-dot/complete')).status, 400);
  });

  it('lists orders by state, newest first, a page at a time by the Link header’s cursor', async () => {
    const page = await sb.call('GET', `${ORDERS}?state=completed&limit=1`);
    assert.equal(page.status, 200);
    assert.equal(page.headers.get('x-result-count'), '1');
    assert.equal(page.headers.get('x-total-count'), null, 'nothing counts the listing');
    const [newest] = page.body as { state: string; id: string }[];
    assert.equal(newest?.state, 'completed');
    const link = /^<([^>]+)>; rel="next"$/.exec(page.headers.get('link') ?? '')?.[1];
    assert.ok(link?.startsWith(`${ORDERS}?state=completed&limit=1&after=`), String(link));
    const next = await sb.call('GET', link ?? '');
    assert.equal(next.status, 200);
    const [second] = next.body as { state: string; id: string }[];
    assert.equal(second?.state, 'completed');
    assert.notEqual(second?.id, newest?.id);
    const offset = await sb.call('GET', `${ORDERS}?state=completed&limit=1&offset=1`);
    assert.equal(offset.status, 400);
    assert.deepEqual(
      (offset.body as { problems: { field: string }[] }).problems.map((p) => p.field),
      ['offset'],
    );
    const forged = await sb.call('GET', `${ORDERS}?after=bm90LWEtY3Vyc29y`);
    assert.equal(forged.status, 400);
    const all = await sb.call('GET', `${ORDERS}?limit=100`, undefined, { as: 'operator' });
    assert.equal(all.status, 200);
    assert.equal(Number(all.headers.get('x-result-count')), (all.body as unknown[]).length);
    const bad = await sb.call('GET', `${ORDERS}?state=finished&colour=red`);
    assert.equal(bad.status, 400);
    const fields = (bad.body as { problems: { field: string }[] }).problems.map((p) => p.field).sort();
    assert.deepEqual(fields, ['colour', 'state']);
  });
});
