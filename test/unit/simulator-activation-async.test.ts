import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { createServer as createTcpServer, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { checkWebhook, webhookKey } from '../../lambdas/domain/webhook-signature';
import { type ActivationOptions, type ActivationSystem, startActivation } from '../../simulators/activation';

/** A callback as Switchboard's callback endpoint saw it. */
interface ReceivedCallback {
  /** Path and query string, as requested. */
  target: string;
  headers: IncomingHttpHeaders;
  body: Record<string, unknown>;
  /** The body as sent: what a signature covers. */
  raw: string;
  at: number;
}

/**
 * Plays Switchboard's callback endpoint: records what arrives and answers 202, or the statuses queued in
 * `answers`, one per callback received, first.
 */
async function startCallbackEndpoint(answers: number[] = []) {
  const received: ReceivedCallback[] = [];
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    received.push({
      target: req.url ?? '',
      headers: req.headers,
      body: JSON.parse(raw),
      raw,
      at: performance.now(),
    });
    const status = answers.shift() ?? 202;
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(status === 202 ? { accepted: true } : { error: `answered ${status}` }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

type CallbackEndpoint = Awaited<ReturnType<typeof startCallbackEndpoint>>;

const startAsync = (options: Omit<ActivationOptions, 'port' | 'mode'> = {}) =>
  startActivation({ port: 0, mode: 'async', callbacks: { retryDelayMs: 5 }, ...options });

function activate(system: ActivationSystem, body: unknown, headers: Record<string, string> = {}) {
  return fetch(`${system.url}/services/activations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

let ports = 0;
const line = (orderId: string) => ({ orderId, orderItemId: '1', portId: `DSLAM-20/1/${++ports}` });

describe('the activation simulator signing its callbacks (Standard Webhooks)', () => {
  const secret = `whsec_${Buffer.alloc(32, 5).toString('base64')}`;

  it('signs each send of each callback; a re-send (after a 429 or a 5xx) keeps its webhook-id and is signed afresh', async () => {
    // Prepare: the endpoint throttles the interim callback's first send (429), then fails (503): it is
    // re-sent twice.
    const endpoint = await startCallbackEndpoint([429, 503]);
    const activation = await startAsync({ callbackSecret: secret, interimDelayMs: 0, finalDelayMs: 0 });
    try {
      // Act
      const response = await activate(activation, line('o-signed'), {
        'callback-url': `${endpoint.url}/callbacks/c/p`,
      });
      assert.equal(response.status, 202);
      await activation.settled();

      // Assess: interim (three times), final; every one verifiable with the secret, over the body as sent.
      const { received } = endpoint;
      assert.equal(received.length, 4);
      for (const callback of received) {
        const headers = {
          id: String(callback.headers['webhook-id']),
          timestamp: String(callback.headers['webhook-timestamp']),
          signature: String(callback.headers['webhook-signature']),
        };
        assert.deepEqual(checkWebhook([webhookKey(secret)], headers, callback.raw, new Date()), {
          valid: true,
          id: callback.headers['idempotency-key'],
        });
      }
      const [first, resent, again, final] = received;
      assert.equal(resent?.headers['webhook-id'], first?.headers['webhook-id'], 'a re-send keeps its id');
      assert.equal(again?.headers['webhook-id'], first?.headers['webhook-id']);
      assert.notEqual(final?.headers['webhook-id'], first?.headers['webhook-id']);
    } finally {
      await activation.stop();
      await endpoint.stop();
    }
  });
});

describe('the activation simulator in async mode', () => {
  let endpoint: CallbackEndpoint;
  let activation: ActivationSystem;
  before(async () => {
    endpoint = await startCallbackEndpoint();
    activation = await startAsync();
  });
  after(async () => {
    await activation.stop();
    await endpoint.stop();
  });

  it('answers 202 at once, then calls back in progress, then completed, at the URL exactly as given', async () => {
    const callbackUrl = `${endpoint.url}/callbacks/ORD-1/3?token=a%2Fb.c-d&item=3`;
    const before = endpoint.received.length;

    const response = await activate(activation, line('o-happy'), { 'callback-url': callbackUrl });
    const answered = performance.now();
    const accepted = (await response.json()) as { activationId: string; status: string };
    await activation.settled();

    assert.equal(response.status, 202);
    assert.equal(accepted.status, 'accepted');
    assert.match(accepted.activationId, /^ACT-\d{6}$/);
    const received = endpoint.received.slice(before);
    assert.equal(received.length, 2);
    const [interim, final] = received as [ReceivedCallback, ReceivedCallback];
    assert.ok(interim.at > answered, 'the interim callback came after the 202');
    assert.ok(
      final.at - interim.at >= 90,
      `the final one came ${final.at - interim.at} ms after the interim`,
    );
    for (const callback of received) {
      assert.equal(callback.target, '/callbacks/ORD-1/3?token=a%2Fb.c-d&item=3');
      assert.equal(callback.headers['content-type'], 'application/json');
    }
    assert.deepEqual(interim.body, {
      status: 'inProgress',
      note: 'line test passed',
      activationId: accepted.activationId,
    });
    const made = activation.activations.find((a) => a.activationId === accepted.activationId);
    assert.deepEqual(final.body, {
      status: 'completed',
      activationId: accepted.activationId,
      serviceId: made?.serviceId,
      portId: made?.portId,
    });
    const keys = received.map((c) => c.headers['idempotency-key']);
    assert.ok(keys.every((key) => typeof key === 'string' && key !== ''));
    assert.notEqual(keys[0], keys[1], 'each callback has its own key');
    const recorded = activation.callbacks.filter((c) => c.url === callbackUrl);
    assert.deepEqual(
      recorded.map((c) => [c.idempotencyKey, c.body, c.status, c.answer, c.attempt]),
      received.map((c) => [c.headers['idempotency-key'], c.body, 202, { accepted: true }, 1]),
    );
    assert.ok(recorded.every((c) => c.sentAt instanceof Date && c.error === undefined));
  });

  it('takes the callback URL from the body when the header is absent, and prefers the header', async () => {
    const fromBody = `${endpoint.url}/callbacks/body?token=b`;
    const fromHeader = `${endpoint.url}/callbacks/header?token=h`;

    const bodyOnly = await activate(activation, { ...line('o-body'), callbackUrl: fromBody });
    const both = await activate(
      activation,
      { ...line('o-both'), callbackUrl: fromBody },
      { 'callback-url': fromHeader },
    );
    await activation.settled();

    assert.equal(bodyOnly.status, 202);
    assert.equal(both.status, 202);
    const targets = (id: string) =>
      endpoint.received.filter((c) => c.body.activationId === id).map((c) => c.target);
    const bodyOnlyId = ((await bodyOnly.json()) as { activationId: string }).activationId;
    const bothId = ((await both.json()) as { activationId: string }).activationId;
    assert.deepEqual(targets(bodyOnlyId), ['/callbacks/body?token=b', '/callbacks/body?token=b']);
    assert.deepEqual(targets(bothId), ['/callbacks/header?token=h', '/callbacks/header?token=h']);
  });

  it('answers 400 naming callback-url when there is no usable callback URL, and activates nothing', async () => {
    const count = activation.activations.length;
    const sent = activation.callbacks.length;

    const missing = await activate(activation, line('o-missing'));
    const relative = await activate(activation, line('o-relative'), {
      'callback-url': '/callbacks/x?token=t',
    });
    const notHttp = await activate(activation, line('o-ftp'), {
      'callback-url': 'ftp://127.0.0.1/x?token=t',
    });
    await activation.settled();

    for (const response of [missing, relative, notHttp]) {
      assert.equal(response.status, 400);
      const body = (await response.json()) as { error: string; field: string };
      assert.equal(body.field, 'callback-url');
      assert.match(body.error, /callback-url/);
    }
    assert.equal(activation.activations.length, count);
    assert.equal(activation.callbacks.length, sent);
  });

  it('answers an invalid request 400 at once, as in sync mode, and never calls back', async () => {
    const sent = activation.callbacks.length;

    const response = await activate(
      activation,
      { orderId: 'o-invalid' },
      { 'callback-url': `${endpoint.url}/callbacks/invalid?token=t` },
    );
    await activation.settled();

    assert.equal(response.status, 400);
    assert.deepEqual(await response.json(), { error: 'portId is required', field: 'portId' });
    assert.equal(activation.callbacks.length, sent);
  });

  it('accepts a port taken by another order, then calls back failed with PORT_TAKEN', async () => {
    const port = line('o-first');
    const url = `${endpoint.url}/callbacks/taken?token=t`;
    const first = await activate(activation, port, {
      'callback-url': `${endpoint.url}/callbacks/first?token=t`,
    });
    const count = activation.activations.length;

    const second = await activate(activation, { ...port, orderId: 'o-second' }, { 'callback-url': url });
    const accepted = (await second.json()) as { activationId: string; status: string };
    await activation.settled();

    assert.equal(second.status, 202);
    assert.equal(accepted.status, 'accepted');
    assert.notEqual(accepted.activationId, ((await first.json()) as { activationId: string }).activationId);
    const bodies = endpoint.received
      .filter((c) => c.target === '/callbacks/taken?token=t')
      .map((c) => c.body);
    assert.equal(bodies.length, 2);
    assert.equal(bodies[0]?.status, 'inProgress');
    assert.deepEqual(bodies[1], {
      status: 'failed',
      activationId: accepted.activationId,
      error: { code: 'PORT_TAKEN', message: `port ${port.portId} is already active for another order` },
    });
    assert.equal(activation.activations.length, count, 'no activation was made');
  });

  it('replays the same request by Idempotency-Key: the same 202, no second activation, no more callbacks', async () => {
    const url = `${endpoint.url}/callbacks/replay?token=t`;
    const headers = { 'callback-url': url, 'idempotency-key': 'o-replay.activate' };
    const request = line('o-replay');

    const first = await activate(activation, request, headers);
    const again = await activate(activation, request, headers);
    await activation.settled();

    assert.equal(again.status, 202);
    assert.deepEqual(await again.json(), await first.json());
    assert.equal(activation.activations.filter((a) => a.orderId === 'o-replay').length, 1);
    assert.equal(endpoint.received.filter((c) => c.target === '/callbacks/replay?token=t').length, 2);
  });
});

describe('the async activation simulator sending its final callback twice', () => {
  it('sends the same final callback twice with the same Idempotency-Key', async () => {
    const endpoint = await startCallbackEndpoint();
    const activation = await startAsync({ duplicateFinal: true, interimDelayMs: 5, finalDelayMs: 5 });
    try {
      await activate(activation, line('o-dup'), { 'callback-url': `${endpoint.url}/cb?token=t` });
      await activation.settled();

      const [interim, final, duplicate] = endpoint.received;
      assert.equal(endpoint.received.length, 3);
      assert.equal(interim?.body.status, 'inProgress');
      assert.equal(final?.body.status, 'completed');
      assert.deepEqual(duplicate?.body, final?.body);
      assert.equal(duplicate?.headers['idempotency-key'], final?.headers['idempotency-key']);
      assert.notEqual(interim?.headers['idempotency-key'], final?.headers['idempotency-key']);
    } finally {
      await activation.stop();
      await endpoint.stop();
    }
  });
});

describe('the async activation simulator calling back before it answers', () => {
  it('delivers the final callback before the 202 arrives, and no interim one', async () => {
    const endpoint = await startCallbackEndpoint();
    const activation = await startAsync({ callbackFirst: true });
    try {
      const response = await activate(activation, line('o-early'), {
        'callback-url': `${endpoint.url}/cb?token=t`,
      });
      const answered = performance.now();
      const accepted = (await response.json()) as { activationId: string };
      await activation.settled();

      assert.equal(response.status, 202);
      assert.equal(endpoint.received.length, 1);
      const [final] = endpoint.received;
      assert.ok(final && final.at < answered, 'the callback arrived before the 202');
      assert.equal(final.body.status, 'completed');
      assert.equal(final.body.activationId, accepted.activationId);
    } finally {
      await activation.stop();
      await endpoint.stop();
    }
  });
});

describe('the async activation simulator when a callback fails', () => {
  const quick = { interimDelayMs: 1, finalDelayMs: 1 };

  it('re-sends a callback answered 503, with the same key, and records every attempt', async () => {
    const endpoint = await startCallbackEndpoint([503, 503]);
    const activation = await startAsync(quick);
    try {
      await activate(activation, line('o-503'), { 'callback-url': `${endpoint.url}/cb?token=t` });
      await activation.settled();

      assert.deepEqual(
        endpoint.received.map((c) => c.body.status),
        ['inProgress', 'inProgress', 'inProgress', 'completed'],
      );
      const [first, second, third] = activation.callbacks;
      assert.deepEqual(
        activation.callbacks.map((c) => [
          c.body && (c.body as { status: string }).status,
          c.attempt,
          c.status,
        ]),
        [
          ['inProgress', 1, 503],
          ['inProgress', 2, 503],
          ['inProgress', 3, 202],
          ['completed', 1, 202],
        ],
      );
      assert.equal(second?.idempotencyKey, first?.idempotencyKey);
      assert.equal(third?.idempotencyKey, first?.idempotencyKey);
      assert.deepEqual(first?.answer, { error: 'answered 503' });
    } finally {
      await activation.stop();
      await endpoint.stop();
    }
  });

  it('does not re-send a callback answered 409', async () => {
    const endpoint = await startCallbackEndpoint([409, 409]);
    const activation = await startAsync(quick);
    try {
      await activate(activation, line('o-409'), { 'callback-url': `${endpoint.url}/cb?token=t` });
      await activation.settled();

      assert.equal(endpoint.received.length, 2, 'one interim, one final, neither re-sent');
      assert.deepEqual(
        activation.callbacks.map((c) => [c.attempt, c.status, c.answer]),
        [
          [1, 409, { error: 'answered 409' }],
          [1, 409, { error: 'answered 409' }],
        ],
      );
    } finally {
      await activation.stop();
      await endpoint.stop();
    }
  });

  it('re-sends after a network error a few times, then gives up, recording why', async () => {
    const closed = await startCallbackEndpoint();
    await closed.stop();
    const activation = await startAsync({ ...quick, callbacks: { retries: 2, retryDelayMs: 1 } });
    try {
      await activate(activation, line('o-refused'), { 'callback-url': `${closed.url}/cb?token=t` });
      await activation.settled();

      assert.deepEqual(
        activation.callbacks.map((c) => [(c.body as { status: string }).status, c.attempt, c.status]),
        [
          ['inProgress', 1, undefined],
          ['inProgress', 2, undefined],
          ['inProgress', 3, undefined],
          ['completed', 1, undefined],
          ['completed', 2, undefined],
          ['completed', 3, undefined],
        ],
      );
      assert.ok(activation.callbacks.every((c) => /ECONNREFUSED/.test(c.error ?? '')));
    } finally {
      await activation.stop();
    }
  });
});

describe('stopping the async activation simulator', () => {
  it('cancels a callback waiting for its answer', async () => {
    let connected!: () => void;
    const reached = new Promise<void>((resolve) => {
      connected = resolve;
    });
    const sockets = new Set<Socket>();
    // Takes the connection and never answers, like an endpoint that hangs.
    const silent = createTcpServer((socket) => {
      sockets.add(socket);
      connected();
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const address = silent.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const activation = await startAsync({ interimDelayMs: 0 });
    try {
      await activate(activation, line('o-hang'), { 'callback-url': `http://127.0.0.1:${port}/cb?token=t` });
      await reached;

      await activation.stop();

      assert.equal(activation.callbacks.length, 1);
      assert.equal(activation.callbacks[0]?.error, 'stopped before an answer came');
      await activation.settled();
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('leaves no timer behind: a process that stops it with callbacks hours away exits at once', async () => {
    const module = pathToFileURL(new URL('../../simulators/activation.ts', import.meta.url).pathname).href;
    const script = `
      const { startActivation } = await import(${JSON.stringify(module)});
      const activation = await startActivation({ port: 0, mode: 'async', interimDelayMs: 3_600_000 });
      const response = await fetch(activation.url + '/services/activations', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'callback-url': 'http://127.0.0.1:9/cb?token=t' },
        body: JSON.stringify({ orderId: 'o-1', portId: 'P-1' }),
      });
      await activation.stop();
      console.log(JSON.stringify({ status: response.status, callbacks: activation.callbacks.length }));
    `;
    const { code, stdout, stderr } = await new Promise<{
      code: number | null;
      stdout: string;
      stderr: string;
    }>((resolve, reject) => {
      const flags = ['--no-concurrent-sparkplug', '--no-concurrent-recompilation']; // as package.json's scripts
      const child = spawn(
        process.execPath,
        [...flags, '--import', 'tsx', '--input-type=module', '-e', script],
        {
          // A timer left behind would hold the process for an hour; this kills it first, failing the test.
          timeout: 20_000,
        },
      );
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk) => {
        stdout += chunk;
      });
      child.stderr.on('data', (chunk) => {
        stderr += chunk;
      });
      child.on('error', reject);
      child.on('close', (exitCode) => resolve({ code: exitCode, stdout, stderr }));
    });

    assert.equal(code, 0, stderr);
    assert.deepEqual(JSON.parse(stdout), { status: 202, callbacks: 0 });
  });
});
