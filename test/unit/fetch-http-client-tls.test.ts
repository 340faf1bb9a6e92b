import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { describe, it, type TestContext } from 'node:test';
import type { TLSSocket } from 'node:tls';
import { FetchHttpClient } from '../../lambdas/adapters/fetch-http-client';
import { CalloutError } from '../../lambdas/domain/errors';
import type { ClientTls, HttpRequest } from '../../lambdas/ports/http-client';
import { pemBodyLines, testPki } from './fixtures/pki';

const PROFILE = 'provisioning-mtls';
const TIMEOUT_MS = 200;

interface MtlsServer {
  url: string;
  /** The common name of the client certificate each answered request came with. */
  callers: string[];
  /** TLS connections the system accepted. */
  connections: () => number;
  /** Handshakes the system refused. */
  refused: () => number;
}

/**
 * An https server on loopback that, like a system behind mutual TLS, takes only connections that present
 * a client certificate signed by the test CA (Node's server refuses others by closing the connection).
 */
async function startMtlsServer(
  t: TestContext,
  handle: (res: ServerResponse, req: IncomingMessage) => void = (res) => {
    res.writeHead(201, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ assignmentId: 'IP-1' }));
  },
): Promise<MtlsServer> {
  const pki = testPki();
  const callers: string[] = [];
  let connections = 0;
  let refused = 0;
  const server = createServer(
    {
      cert: pki.server.certificate,
      key: pki.server.privateKey,
      ca: pki.ca.certificate,
      requestCert: true,
      rejectUnauthorized: true,
    },
    (req, res) => {
      callers.push(String((req.socket as TLSSocket).getPeerCertificate().subject?.CN));
      req.resume();
      req.on('end', () => handle(res, req));
    },
  );
  server.on('secureConnection', () => connections++);
  server.on('tlsClientError', () => refused++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return {
    url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    callers,
    connections: () => connections,
    refused: () => refused,
  };
}

/** Switchboard's TLS material as the authenticator hands it over: the test CA's client certificate. */
function material(overrides: Partial<ClientTls> = {}): ClientTls {
  const { client, ca } = testPki();
  return {
    profileId: PROFILE,
    certificate: client.certificate,
    privateKey: client.privateKey,
    caBundle: ca.certificate,
    ...overrides,
  };
}

function request(url: string, tls: ClientTls, overrides: Partial<HttpRequest> = {}): HttpRequest {
  return {
    method: 'POST',
    url: `${url}/static-ips`,
    headers: { 'content-type': 'application/json' },
    body: '{"orderId":"o-1"}',
    timeoutMs: 10_000,
    tls,
    ...overrides,
  };
}

/**
 * A moment between two requests: undici hands a connection back to its pool a tick after the answer's
 * last byte, so a request sent at once would open another (as two callouts at once do).
 */
const pause = () => new Promise((resolve) => setTimeout(resolve, 20));

/** A client whose connection pools close when the test ends. */
function client(t: TestContext): FetchHttpClient {
  const http = new FetchHttpClient();
  t.after(() => http.close());
  return http;
}

/** Sends and asserts a CalloutError matching the pattern, with no key material in its message. */
async function assertFails(
  http: FetchHttpClient,
  given: HttpRequest,
  pattern: RegExp,
): Promise<CalloutError> {
  const error = await http.send(given).then(
    (answer) => assert.fail(`answered ${answer.status}`),
    (e: unknown) => e,
  );
  assert.ok(error instanceof CalloutError, `a CalloutError, not ${String(error)}`);
  assert.match(error.message, pattern);
  const { client: presented, rogueClient } = testPki();
  for (const line of [...pemBodyLines(presented.privateKey), ...pemBodyLines(rogueClient.privateKey)]) {
    assert.ok(!error.message.includes(line), 'the error quotes the private key');
  }
  assert.doesNotMatch(error.message, /-----BEGIN/);
  return error;
}

describe('FetchHttpClient: mutual TLS', () => {
  it('presents the client certificate: a system that demands one from its CA answers, and knows who called', async (t) => {
    // Prepare
    const server = await startMtlsServer(t);

    // Act
    const answer = await client(t).send(request(server.url, material()));

    // Assess
    assert.equal(answer.status, 201);
    assert.deepEqual(JSON.parse(answer.body), { assignmentId: 'IP-1' });
    assert.equal(answer.headers['content-type'], 'application/json');
    assert.deepEqual(server.callers, ['switchboard-test']);
  });

  it('keeps one connection pool per profile: later requests reuse the connection', async (t) => {
    const server = await startMtlsServer(t);
    const http = client(t);

    for (let i = 0; i < 3; i++) {
      assert.equal((await http.send(request(server.url, material()))).status, 201);
      await pause();
    }

    assert.equal(server.connections(), 1, 'one handshake for three requests');
  });

  it('presents the new certificate once the secret is rotated: new material, a new pool', async (t) => {
    const server = await startMtlsServer(t);
    const http = client(t);
    const { renewed } = testPki();

    await http.send(request(server.url, material()));
    await pause();
    await http.send(request(server.url, material({ ...renewed })));
    await pause();
    await http.send(request(server.url, material({ ...renewed })));

    assert.deepEqual(server.callers, ['switchboard-test', 'switchboard-renewed', 'switchboard-renewed']);
    assert.equal(server.connections(), 2);
  });

  it('fails as a connection failure naming the profile when the system refuses a certificate from a CA it does not trust', async (t) => {
    // Prepare
    const server = await startMtlsServer(t);
    const { rogueClient } = testPki();

    // Act
    const error = await assertFails(
      client(t),
      request(server.url, material({ ...rogueClient })),
      /^connection failed \((UND_ERR_SOCKET|ECONNRESET|EPIPE)\): the system closed the TLS connection without answering, as a system behind mutual TLS does when it refuses the client certificate of auth profile "provisioning-mtls"/,
    );

    // Assess: unreachable, so the retry rules see a connection failure.
    assert.equal(error.unreachable, true);
    assert.equal(error.status, undefined);
    assert.equal(server.refused(), 1);
    assert.deepEqual(server.callers, [], 'no request reached the system');
  });

  it('names the TLS alert when the system refuses the handshake with one (here: no certificate presented)', async (t) => {
    // Prepare: material without a certificate, which the authenticator never hands over, makes the
    // system send its alert (certificate required) rather than just closing.
    const server = await startMtlsServer(t);

    // Act and Assess
    const error = await assertFails(
      client(t),
      request(server.url, material({ certificate: '', privateKey: '' })),
      /^TLS handshake refused \(ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED\): the system asks for a client certificate, and auth profile "provisioning-mtls" presented none: tlsv13 alert certificate required$/,
    );
    assert.equal(error.unreachable, true);
  });

  it("fails naming the caBundle when the system's certificate comes from another CA", async (t) => {
    const server = await startMtlsServer(t);

    const error = await assertFails(
      client(t),
      request(server.url, material({ caBundle: testPki().rogueCa.certificate })),
      /^TLS handshake failed \([A-Z_]+\): the system's certificate is not trusted by the caBundle of auth profile "provisioning-mtls": /,
    );

    assert.equal(error.unreachable, true);
    assert.equal(server.connections(), 0);
  });

  it('trusts only the public roots without a caBundle, and says so', async (t) => {
    const server = await startMtlsServer(t);

    await assertFails(
      client(t),
      request(server.url, material({ caBundle: undefined })),
      /^TLS handshake failed \(SELF_SIGNED_CERT_IN_CHAIN\): the system's certificate is not trusted \(auth profile "provisioning-mtls" has no caBundle, so only the public roots are\)/,
    );
  });

  it('keeps the timeout: a system that shakes hands and never answers fails with "no answer within N ms"', async (t) => {
    const server = await startMtlsServer(t, () => {});

    const error = await assertFails(
      client(t),
      request(server.url, material(), { timeoutMs: TIMEOUT_MS }),
      new RegExp(`^no answer within ${TIMEOUT_MS} ms$`),
    );

    assert.equal(error.unreachable, true);
  });

  it('follows no redirect', async (t) => {
    const server = await startMtlsServer(t, (res) => {
      res.writeHead(302, { location: '/elsewhere' });
      res.end();
    });

    const answer = await client(t).send(request(server.url, material()));

    assert.equal(answer.status, 302);
    assert.equal(answer.headers.location, '/elsewhere');
    assert.equal(server.callers.length, 1);
  });

  it('refuses to send a client certificate over plain http, as an error no retry mends', async (t) => {
    const error = await assertFails(
      client(t),
      request('http://127.0.0.1:9', material()),
      /^auth profile "provisioning-mtls" is mutual TLS, which needs an https URL$/,
    );

    assert.equal(error.unreachable, false);
  });
});
