import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startInventory } from '../../simulators/inventory';
import {
  type SimulatedRequest,
  type SimulatedSystem,
  startSimulatedSystem,
} from '../../simulators/simulated-system';

describe('a simulated system counting concurrency', () => {
  let system: SimulatedSystem;
  before(async () => {
    system = await startSimulatedSystem(
      { name: 'slow', port: 0, latencyMs: 100 },
      { 'POST /work': () => ({ status: 200, body: { ok: true } }) },
    );
  });
  after(() => system.stop());

  const work = () => fetch(`${system.url}/work`, { method: 'POST' }).then((r) => r.arrayBuffer());

  it('counts one at a time for requests sent one after another', async () => {
    for (let i = 0; i < 5; i++) await work();

    assert.equal(system.stats.maxConcurrent, 1);
    assert.equal(system.stats.inFlight, 0);
  });

  it('counts every request handled at the same moment, latency included', async () => {
    await Promise.all([work(), work(), work(), work(), work()]);

    assert.equal(system.stats.maxConcurrent, 5);
    assert.equal(system.stats.inFlight, 0);
    assert.equal(system.stats.received, 10);
  });
});

describe('a simulated system with latency from a function', () => {
  it('asks the function afresh for every request', async () => {
    const latencies = [80, 0];
    let asked = 0;
    const system = await startSimulatedSystem(
      { name: 'spread', port: 0, latencyMs: () => latencies[asked++] ?? 0 },
      { 'GET /ping': () => ({ status: 204 }) },
    );
    try {
      const started = Date.now();
      await fetch(`${system.url}/ping`);
      const first = Date.now() - started;
      await fetch(`${system.url}/ping`);

      assert.equal(asked, 2);
      assert.ok(first >= 75, `the first request took ${first} ms`);
    } finally {
      await system.stop();
    }
  });
});

describe('a simulated system reading bodies', () => {
  let system: SimulatedSystem;
  let seen: SimulatedRequest | undefined;
  before(async () => {
    system = await startSimulatedSystem(
      { name: 'bodies', port: 0 },
      {
        'POST /echo': (request) => {
          seen = request;
          return { status: 200, body: { received: request.body ?? null } };
        },
        'GET /legacy': () => ({ status: 200, contentType: 'application/xml', text: '<pong>1</pong>' }),
        'GET /plain': () => ({ status: 200, text: 'pong' }),
      },
    );
  });
  after(() => system.stop());

  const post = (body: string, headers: Record<string, string>) =>
    fetch(`${system.url}/echo`, { method: 'POST', headers, body });

  it('parses a JSON body and keeps its raw text and content-type too', async () => {
    const response = await post('{"a":1}', { 'content-type': 'application/json; charset=utf-8' });

    assert.deepEqual(await response.json(), { received: { a: 1 } });
    assert.equal(seen?.text, '{"a":1}');
    assert.equal(seen?.contentType, 'application/json; charset=utf-8');
  });

  it('passes a body of another media type through as text, leaving body undefined', async () => {
    const response = await post('<ping>1</ping>', { 'content-type': 'application/xml' });

    assert.equal(response.status, 200);
    assert.equal(seen?.body, undefined);
    assert.equal(seen?.text, '<ping>1</ping>');
    assert.equal(seen?.contentType, 'application/xml');
  });

  it('answers 400 for a body that is not JSON when the content-type says JSON or says nothing', async () => {
    for (const headers of [
      { 'content-type': 'application/json' },
      { 'content-type': 'application/merge-patch+json' },
      {},
    ]) {
      // fetch labels a string body text/plain unless told otherwise; a Blob without a type sends no header.
      const body = 'content-type' in headers ? '<not json>' : new Blob(['<not json>']);
      const response = await fetch(`${system.url}/echo`, { method: 'POST', headers, body });

      assert.equal(response.status, 400);
      assert.deepEqual(await response.json(), { error: 'body is not JSON' });
    }
  });

  it('sends a text answer as is, with its content-type', async () => {
    const legacy = await fetch(`${system.url}/legacy`);
    const plain = await fetch(`${system.url}/plain`);

    assert.equal(legacy.headers.get('content-type'), 'application/xml');
    assert.equal(await legacy.text(), '<pong>1</pong>');
    assert.match(plain.headers.get('content-type') ?? '', /^text\/plain/);
    assert.equal(await plain.text(), 'pong');
  });

  it('still answers 404 for a route it does not have', async () => {
    const response = await fetch(`${system.url}/nowhere`);

    assert.equal(response.status, 404);
    assert.deepEqual(await response.json(), { error: 'no route GET /nowhere' });
  });
});

describe('a simulated system replaying by Idempotency-Key', () => {
  it('gives the same answer to the same key without acting again, and acts on a new key', async () => {
    let next = 1;
    const system = await startSimulatedSystem(
      { name: 'idempotent', port: 0, auth: { type: 'bearer', token: 't' } },
      { 'POST /reservations': () => ({ status: 201, body: { reservationId: next++ } }) },
    );
    try {
      const reserve = (key: string, token = 't') =>
        fetch(`${system.url}/reservations`, {
          method: 'POST',
          headers: { 'idempotency-key': key, authorization: `Bearer ${token}` },
        });

      const first = await reserve('o-1.reserve');
      const again = await reserve('o-1.reserve');
      const unauthenticated = await reserve('o-1.reserve', 'wrong');
      const other = await reserve('o-2.reserve');

      assert.deepEqual(await first.json(), { reservationId: 1 });
      assert.equal(again.status, 201);
      assert.deepEqual(await again.json(), { reservationId: 1 });
      assert.equal(unauthenticated.status, 401, 'a stored answer is no way around the credentials');
      assert.deepEqual(await other.json(), { reservationId: 2 });
      assert.equal(system.stats.acted, 2);
      assert.equal(system.stats.replayed, 1);
      assert.equal(system.stats.received, 4);
    } finally {
      await system.stop();
    }
  });
});

describe('a simulated system with a {name} segment in a route', () => {
  it('routes any one segment there and hands it over decoded, and no more than one segment', async () => {
    const seen: Record<string, string>[] = [];
    const system = await startSimulatedSystem(
      { name: 'params', port: 0 },
      {
        'DELETE /things/{thingId}/parts/{part}': ({ params }) => {
          seen.push(params);
          return { status: 204 };
        },
      },
    );
    try {
      const hit = await fetch(`${system.url}/things/a%2Fb%20c/parts/7`, { method: 'DELETE' });
      const deeper = await fetch(`${system.url}/things/a/b/parts/7`, { method: 'DELETE' });
      const otherMethod = await fetch(`${system.url}/things/a/parts/7`, { method: 'GET' });

      assert.equal(hit.status, 204);
      assert.deepEqual(seen, [{ thingId: 'a/b c', part: '7' }]);
      assert.equal(deeper.status, 404);
      assert.equal(otherMethod.status, 404);
    } finally {
      await system.stop();
    }
  });
});

describe('the inventory simulator', () => {
  it('releases a reserved port once: 204, then 404; the same request again is answered as the first', async () => {
    const inventory = await startInventory({ port: 0 });
    try {
      const reserved = await fetch(`${inventory.url}/ports/reservations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ orderId: 'o-1' }),
      }).then((r) => r.json() as Promise<{ portId: string; reservationId: string }>);
      const release = (key: string) =>
        fetch(`${inventory.url}/ports/reservations/${encodeURIComponent(reserved.portId)}`, {
          method: 'DELETE',
          headers: { 'idempotency-key': key },
        });

      assert.deepEqual(inventory.reserved.get(reserved.portId), {
        reservationId: reserved.reservationId,
        orderId: 'o-1',
      });
      assert.equal((await release('o-1.release')).status, 204);
      assert.equal((await release('o-1.release')).status, 204, 'a retry of the same request');
      assert.equal((await release('another')).status, 404, 'another request finds it free');
      assert.deepEqual(inventory.released, [reserved.portId]);
      assert.equal(inventory.reserved.size, 0);
    } finally {
      await inventory.stop();
    }
  });
});
