import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { type AddressInfo, createServer as createTcpServer, type Socket } from 'node:net';
import { describe, it, type TestContext } from 'node:test';
import { FetchHttpClient, MAX_RESPONSE_BYTES } from '../../lambdas/adapters/fetch-http-client';
import { CalloutError } from '../../lambdas/domain/errors';
import type { HttpRequest } from '../../lambdas/ports/http-client';
import { listenOnLoopback } from './fixtures/loopback';

/** Short, so the tests of systems that never answer stay quick. */
const TIMEOUT_MS = 200;
/** Long enough that a healthy loopback callout (even of 1 MiB) never reaches it. */
const GENEROUS_TIMEOUT_MS = 10_000;
/** A callout still pending this long after its own timeout has hung. */
const HANG_MARGIN_MS = 5_000;
const CHUNK_BYTES = 64 * 1024;

/** A request as the loopback server received it. */
interface Received {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** Answers a request however the test's system misbehaves; the request body has been read already. */
type Handle = (res: ServerResponse, req: IncomingMessage) => void;

interface LoopbackServer {
  url: string;
  received: Received[];
}

/** Starts an HTTP server on a free loopback port, with every connection closed when the test ends. */
async function startServer(t: TestContext, handle: Handle): Promise<LoopbackServer> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks),
      });
      handle(res, req);
    });
  });
  const url = await listenOnLoopback(t, server);
  return { url, received };
}

/** Starts a TCP server that answers the first bytes of each connection with `reply`, for answers that are not proper HTTP. */
async function startRawServer(t: TestContext, reply: (socket: Socket) => void): Promise<string> {
  const sockets = new Set<Socket>();
  const server = createTcpServer((socket) => {
    sockets.add(socket);
    socket.once('data', () => reply(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(
    () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A loopback port a server listened on a moment ago, and no longer. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function request(url: string, overrides: Partial<HttpRequest> = {}): HttpRequest {
  return { method: 'GET', url, headers: {}, timeoutMs: GENEROUS_TIMEOUT_MS, ...overrides };
}

/** The promise's outcome, or a failure naming `what` if it is still pending after `ms`: a hang fails, it does not stall the run. */
async function settles<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new assert.AssertionError({ message: `${what} hung (${ms} ms)` })), ms);
  });
  try {
    return await Promise.race([promise, hung]);
  } finally {
    clearTimeout(timer);
  }
}

/** Sends the request and asserts that it fails, without hanging, with a CalloutError matching every pattern. */
async function assertCalloutError(given: HttpRequest, patterns: RegExp[]): Promise<CalloutError> {
  let caught: unknown;
  try {
    const answer = await settles(
      new FetchHttpClient().send(given),
      given.timeoutMs + HANG_MARGIN_MS,
      'the callout',
    );
    assert.fail(`the callout succeeded with ${answer.status}`);
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof CalloutError, `a CalloutError, not ${String(caught)}`);
  for (const pattern of patterns) assert.match(caught.message, pattern);
  return caught;
}

/** Writes `bytes` bytes of `a` as a chunked body (no content-length), honouring back-pressure, then ends. */
function writeChunked(res: ServerResponse, bytes: number): void {
  let left = bytes;
  const pump = () => {
    while (left > 0 && !res.destroyed) {
      const size = Math.min(CHUNK_BYTES, left);
      left -= size;
      if (!res.write(Buffer.alloc(size, 'a'))) {
        res.once('drain', pump);
        return;
      }
    }
    if (!res.destroyed) res.end();
  };
  pump();
}

/** Writes a chunked body that never ends, for as long as the connection lasts. */
function writeEndlessly(res: ServerResponse): void {
  const chunk = Buffer.alloc(CHUNK_BYTES, 'a');
  const pump = () => {
    while (!res.destroyed) {
      if (!res.write(chunk)) {
        res.once('drain', pump);
        return;
      }
    }
  };
  pump();
}

describe('FetchHttpClient: a system that does not answer in time', () => {
  it('fails with "no answer within N ms" when the system takes the request and never answers', async (t) => {
    // Prepare
    const server = await startServer(t, () => {});

    // Act and Assess
    const error = await assertCalloutError(request(`${server.url}/ports`, { timeoutMs: TIMEOUT_MS }), [
      new RegExp(`^no answer within ${TIMEOUT_MS} ms$`),
    ]);
    assert.equal(error.status, undefined);
    assert.equal(server.received.length, 1, 'the request did reach the system');
  });

  it('fails with "no answer within N ms" when the system sends its headers and then stalls the body', async (t) => {
    // Prepare
    const server = await startServer(t, (res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"portId":');
    });

    // Act and Assess
    await assertCalloutError(request(`${server.url}/ports`, { timeoutMs: TIMEOUT_MS }), [
      new RegExp(`^no answer within ${TIMEOUT_MS} ms$`),
    ]);
  });

  it('hangs up on a system that never answers, so it does not keep the connection', async (t) => {
    // Prepare
    let hungUp: () => void = () => {};
    const closed = new Promise<void>((resolve) => {
      hungUp = resolve;
    });
    const server = await startServer(t, (res) => res.on('close', hungUp));

    // Act
    await assertCalloutError(request(server.url, { timeoutMs: TIMEOUT_MS }), [/^no answer within/]);

    // Assess
    await settles(closed, HANG_MARGIN_MS, "the system's connection");
  });
});

describe('FetchHttpClient: a system that cannot be reached or drops the line', () => {
  it('fails with "connection failed (ECONNREFUSED)" when nothing listens on the port', async () => {
    // Prepare
    const port = await closedPort();

    // Act and Assess
    const error = await assertCalloutError(request(`http://127.0.0.1:${port}/ports`), [
      /^connection failed \(ECONNREFUSED\)/,
    ]);
    assert.equal(error.status, undefined);
  });

  it('fails with "connection failed" when the system closes the connection without answering', async (t) => {
    const server = await startServer(t, (res) => res.socket?.destroy());

    await assertCalloutError(request(server.url), [/^connection failed/]);
  });

  for (const [framing, headers] of [
    ['a content-length', { 'content-length': '1000' }],
    ['chunked', {}],
  ] as const) {
    it(`fails with "connection failed" when the socket is destroyed mid-body (${framing})`, async (t) => {
      // Prepare: part of the body is sent and flushed, then the connection is cut.
      const server = await startServer(t, (res) => {
        res.writeHead(200, { 'content-type': 'text/plain', ...headers });
        res.write('a'.repeat(100), () => setTimeout(() => res.socket?.destroy(), 20));
      });

      // Act and Assess
      await assertCalloutError(request(server.url), [/^connection failed/]);
    });
  }
});

describe('FetchHttpClient: a system that answers something broken', () => {
  it('fails with "connection failed" when the answer is not HTTP', async (t) => {
    const url = await startRawServer(t, (socket) => socket.end('HELLO WORLD\r\n\r\n'));

    await assertCalloutError(request(url), [/^connection failed/]);
  });

  it('fails with "connection failed" when the connection ends before the body its content-length announces', async (t) => {
    const url = await startRawServer(t, (socket) =>
      socket.end('HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nab'),
    );

    await assertCalloutError(request(url), [/^connection failed/]);
  });

  it('fails with "no answer within N ms" when the body stays shorter than its content-length', async (t) => {
    const url = await startRawServer(t, (socket) =>
      socket.write('HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nab'),
    );

    await assertCalloutError(request(url, { timeoutMs: TIMEOUT_MS }), [
      new RegExp(`^no answer within ${TIMEOUT_MS} ms$`),
    ]);
  });
});

describe('FetchHttpClient: redirects', () => {
  for (const status of [301, 302, 303, 307, 308]) {
    it(`gives back a ${status} as it is and does not follow its Location`, async (t) => {
      // Prepare
      const target = await startServer(t, (res) => res.end('followed'));
      const server = await startServer(t, (res) => {
        res.writeHead(status, { location: `${target.url}/moved` });
        res.end();
      });

      // Act
      const answer = await settles(
        new FetchHttpClient().send(request(`${server.url}/ports`, { method: 'POST', body: '{}' })),
        HANG_MARGIN_MS,
        'the callout',
      );

      // Assess
      assert.equal(answer.status, status);
      assert.equal(answer.headers.location, `${target.url}/moved`);
      assert.equal(answer.body, '');
      assert.equal(target.received.length, 0, 'the redirect target saw no request');
    });
  }
});

describe('FetchHttpClient: the size of the answer', () => {
  it('fails naming the limit and keeping the status when an endless chunked body passes the limit, and hangs up', async (t) => {
    // Prepare
    let hungUp: (finished: boolean) => void = () => {};
    const closed = new Promise<boolean>((resolve) => {
      hungUp = resolve;
    });
    const server = await startServer(t, (res) => {
      res.on('close', () => hungUp(res.writableFinished));
      res.writeHead(200, { 'content-type': 'application/json' });
      writeEndlessly(res);
    });

    // Act
    const error = await assertCalloutError(request(server.url), [
      new RegExp(`^answer larger than ${MAX_RESPONSE_BYTES} bytes$`),
    ]);

    // Assess
    assert.equal(error.status, 200);
    const finished = await settles(closed, HANG_MARGIN_MS, "tearing down the system's connection");
    assert.equal(finished, false, 'the system never got to finish its answer');
  });

  it('fails on a chunked body one byte over the limit, keeping the status', async (t) => {
    // Prepare
    const server = await startServer(t, (res) => {
      res.writeHead(500, { 'content-type': 'text/html' });
      writeChunked(res, MAX_RESPONSE_BYTES + 1);
    });

    // Act
    const error = await assertCalloutError(request(server.url), [
      new RegExp(`answer larger than ${MAX_RESPONSE_BYTES} bytes`),
    ]);

    // Assess
    assert.equal(error.status, 500);
  });

  it('accepts a chunked body of exactly the limit', async (t) => {
    // Prepare
    const server = await startServer(t, (res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      writeChunked(res, MAX_RESPONSE_BYTES);
    });

    // Act
    const answer = await settles(
      new FetchHttpClient().send(request(server.url)),
      HANG_MARGIN_MS,
      'the callout',
    );

    // Assess
    assert.equal(answer.status, 200);
    assert.equal(answer.headers['transfer-encoding'], 'chunked');
    assert.equal(answer.body.length, MAX_RESPONSE_BYTES);
    assert.equal(answer.body, 'a'.repeat(MAX_RESPONSE_BYTES));
  });

  it('gives back an empty body for a 204', async (t) => {
    // Prepare
    const server = await startServer(t, (res) => {
      res.writeHead(204);
      res.end();
    });

    // Act
    const answer = await new FetchHttpClient().send(request(server.url, { method: 'DELETE' }));

    // Assess
    assert.deepEqual({ status: answer.status, body: answer.body }, { status: 204, body: '' });
  });
});

describe('FetchHttpClient: what goes over the wire', () => {
  it('decodes bytes that are not UTF-8 without throwing, as replacement characters', async (t) => {
    // Prepare: Latin-1 "café", a stray 0xff, and a UTF-8 lead byte cut off at the end.
    const server = await startServer(t, (res) => {
      res.writeHead(200, { 'content-type': 'text/plain; charset=iso-8859-1' });
      res.end(Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x20, 0xff, 0x20, 0xc3]));
    });

    // Act
    const answer = await new FetchHttpClient().send(request(server.url));

    // Assess
    assert.equal(answer.status, 200);
    assert.equal(answer.body, 'caf\uFFFD \uFFFD \uFFFD');
  });

  it('decodes a UTF-8 character split across two chunks', async (t) => {
    // Prepare: "✓" is e2 9c 93; the first chunk ends inside it.
    const server = await startServer(t, (res) => {
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
      res.write(Buffer.from([0x6f, 0x6b, 0x20, 0xe2, 0x9c]), () =>
        setTimeout(() => res.end(Buffer.from([0x93])), 20),
      );
    });

    // Act
    const answer = await new FetchHttpClient().send(request(server.url));

    // Assess
    assert.equal(answer.body, 'ok ✓');
  });

  it('sends the method, path, headers and body as given, and gives back the status, headers and body', async (t) => {
    // Prepare
    const body = JSON.stringify({ portId: 'P-7', note: 'Zoë ✓' });
    const server = await startServer(t, (res) => {
      res.writeHead(201, { 'content-type': 'application/json', 'x-request-id': 'req-9' });
      res.end('{"accepted":true}');
    });

    // Act
    const answer = await new FetchHttpClient().send(
      request(`${server.url}/api/ports?dryRun=false`, {
        method: 'PUT',
        headers: {
          'content-type': 'application/json',
          authorization: 'Bearer token-1',
          'X-Correlation-Id': 'corr-42',
        },
        body,
      }),
    );

    // Assess
    assert.equal(server.received.length, 1);
    const [received] = server.received;
    assert.ok(received);
    assert.equal(received.method, 'PUT');
    assert.equal(received.path, '/api/ports?dryRun=false');
    assert.equal(received.headers['content-type'], 'application/json');
    assert.equal(received.headers.authorization, 'Bearer token-1');
    assert.equal(received.headers['x-correlation-id'], 'corr-42');
    assert.equal(received.headers['content-length'], String(Buffer.byteLength(body)));
    assert.deepEqual(received.body, Buffer.from(body, 'utf8'));
    assert.equal(answer.status, 201);
    assert.equal(answer.headers['content-type'], 'application/json');
    assert.equal(answer.headers['x-request-id'], 'req-9');
    assert.equal(answer.body, '{"accepted":true}');
  });

  it('sends no body when none is given', async (t) => {
    const server = await startServer(t, (res) => res.end('ok'));

    await new FetchHttpClient().send(request(`${server.url}/ports/P-7`));

    assert.equal(server.received[0]?.method, 'GET');
    assert.equal(server.received[0]?.body.length, 0);
  });
});
