import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createActivationRegister, startActivation } from '../../simulators/activation';
import type { SimulatedSystem } from '../../simulators/simulated-system';

describe('the activation simulator', () => {
  let activation: Awaited<ReturnType<typeof startActivation>>;
  before(async () => {
    activation = await startActivation({ port: 0 });
  });
  after(() => activation.stop());

  const activate = (body: unknown) => post(activation, body);

  it('activates the service on a port and answers 201 with the activation', async () => {
    const response = await activate({
      orderId: 'o-1',
      orderItemId: '1',
      portId: 'DSLAM-10/1/1',
      bandwidthMbps: 100,
    });

    assert.equal(response.status, 201);
    const body = (await response.json()) as Record<string, unknown>;
    assert.match(String(body.activationId), /^ACT-\d{6}$/);
    assert.match(String(body.serviceId), /^SVC-\d{6}$/);
    assert.equal(body.portId, 'DSLAM-10/1/1');
    assert.equal(body.status, 'active');
    assert.deepEqual(
      activation.activations.find((a) => a.portId === 'DSLAM-10/1/1'),
      { ...body, orderId: 'o-1', orderItemId: '1', bandwidthMbps: 100 },
    );
  });

  it('switches a line off on a DELETE (204), freeing its port for another order; 404 once it is off', async () => {
    const first = (await (await activate({ orderId: 'o-off', portId: 'DSLAM-10/1/9' })).json()) as {
      activationId: string;
    };
    const deactivate = () =>
      fetch(`${activation.url}/services/activations/${first.activationId}`, { method: 'DELETE' });

    assert.equal((await deactivate()).status, 204);
    assert.equal(
      activation.activations.find((a) => a.activationId === first.activationId)?.status,
      'deactivated',
    );
    assert.equal((await deactivate()).status, 404);
    assert.equal(
      (await activate({ orderId: 'o-next', portId: 'DSLAM-10/1/9' })).status,
      201,
      'the port is free',
    );
  });

  it('answers 200 with the same activation when the port is already active for this order', async () => {
    const first = (await (await activate({ orderId: 'o-2', portId: 'DSLAM-10/1/2' })).json()) as object;

    const again = await activate({ orderId: 'o-2', portId: 'DSLAM-10/1/2' });

    assert.equal(again.status, 200);
    assert.deepEqual(await again.json(), first);
  });

  it('answers 409 when the port is already active for another order', async () => {
    await activate({ orderId: 'o-3', portId: 'DSLAM-10/1/3' });
    const count = activation.activations.length;

    const response = await activate({ orderId: 'o-4', portId: 'DSLAM-10/1/3' });

    assert.equal(response.status, 409);
    assert.match(((await response.json()) as { error: string }).error, /DSLAM-10\/1\/3/);
    assert.equal(activation.activations.length, count);
  });

  it('answers 400 naming the missing field', async () => {
    const noPort = await activate({ orderId: 'o-5', bandwidthMbps: 100 });
    const noOrder = await activate({ portId: 'DSLAM-10/1/5' });
    const noBody = await fetch(`${activation.url}/services/activations`, { method: 'POST' });

    assert.equal(noPort.status, 400);
    assert.deepEqual(await noPort.json(), { error: 'portId is required', field: 'portId' });
    assert.equal(noOrder.status, 400);
    assert.deepEqual(await noOrder.json(), { error: 'orderId is required', field: 'orderId' });
    assert.equal(noBody.status, 400);
  });

  it('answers 400 for a field of the wrong type', async () => {
    for (const [body, field] of [
      [{ orderId: 1, portId: 'P' }, 'orderId'],
      [{ orderId: 'o-6', portId: '' }, 'portId'],
      [{ orderId: 'o-6', portId: 'P', orderItemId: 7 }, 'orderItemId'],
      [{ orderId: 'o-6', portId: 'P', bandwidthMbps: '100' }, 'bandwidthMbps'],
      [{ orderId: 'o-6', portId: 'P', bandwidthMbps: 0 }, 'bandwidthMbps'],
    ] as const) {
      const response = await activate(body);

      assert.equal(response.status, 400, JSON.stringify(body));
      assert.equal(((await response.json()) as { field: string }).field, field);
    }
  });
});

describe('the activation register', () => {
  it('keeps its rules apart from HTTP, so another transport can reuse them', () => {
    const register = createActivationRegister();

    const first = register.activate({ orderId: 'o-1', portId: 'P-1' });
    const conflict = register.activate({ orderId: 'o-2', portId: 'P-1' });
    const second = register.activate({ orderId: 'o-2', portId: 'P-2' });

    assert.equal(first.outcome, 'activated');
    assert.deepEqual(conflict, { outcome: 'port-taken', portId: 'P-1', activeOrderId: 'o-1' });
    assert.equal(second.outcome, 'activated');
    assert.deepEqual(
      register.activations.map((a) => a.serviceId),
      ['SVC-000001', 'SVC-000002'],
    );
  });
});

function post(system: SimulatedSystem, body: unknown) {
  return fetch(`${system.url}/services/activations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}
