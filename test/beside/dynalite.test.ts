import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { demoDslOrder } from '../../local/demo-orders';
import { eventually, startTestSwitchboard, type TestSwitchboard } from '../support/local-switchboard';

const ORDERS = '/tmf-api/productOrderingManagement/v5/productOrder';

// Machines without Java run the local runtime on dynalite; the same order must complete there too.
describe('the local runtime on dynalite', () => {
  let sb: TestSwitchboard;
  before(async () => {
    sb = await startTestSwitchboard({ dynamoDb: 'dynalite' });
  });
  after(async () => {
    await sb?.stop();
  });

  it('completes a DSL order and keeps it across a restart', async () => {
    assert.equal(sb.runtime.dynamoDbEngine, 'dynalite');
    const created = await sb.call('POST', ORDERS, demoDslOrder('on-dynalite'));
    assert.equal(created.status, 201);
    const { id } = created.body as { id: string };
    const completed = await eventually(async () => {
      const read = await sb.call('GET', `${ORDERS}/${id}`);
      const body = read.body as { state: string; fulfilmentAttributes?: { portId?: string } };
      return body.state === 'completed' ? body : undefined;
    });
    assert.match(completed.fulfilmentAttributes?.portId ?? '', /^DSLAM-/);
    await sb.restart();
    const again = await sb.call('GET', `${ORDERS}/${id}`);
    assert.equal((again.body as { state: string }).state, 'completed');
  });
});
