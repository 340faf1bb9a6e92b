import { createHash } from 'node:crypto';
import type { Socket } from 'node:net';
import type * as Undici from 'undici';
import { CalloutError } from '../domain/errors';
import type { ClientTls, HttpClient, HttpRequest, HttpResponse } from '../ports/http-client';

/** The largest answer a system may send; anything bigger fails the callout rather than the worker. */
export const MAX_RESPONSE_BYTES = 1024 * 1024;

/** How long a connection's TLS alert is kept for the request that failed on it to find. */
const ALERT_KEPT_MS = 30_000;

let undici: Promise<typeof Undici> | undefined;
/**
 * undici, loaded the first time a request needs mutual TLS: loading it takes over 100 ms, which no cold
 * start of a function whose systems all take headers (or of the event delivery) should pay.
 */
const loadUndici = () => {
  undici ??= import('undici');
  return undici;
};

/** What both fetches give back, as far as this client reads it. */
interface FetchedResponse {
  status: number;
  headers: Iterable<[string, string]>;
  body: ReadableStream<Uint8Array> | null;
}

/**
 * One auth profile's connections under mutual TLS: an undici Agent whose every connection presents the
 * profile's client certificate, kept while the material stays the same.
 */
interface TlsPool {
  fingerprint: string;
  agent: Undici.Agent;
  fetch: typeof Undici.fetch;
  /**
   * The TLS alert each connection met, by its local port. undici reports a connection the system closed
   * after refusing the client certificate as only "other side closed"; the alert it got first says why.
   */
  alerts: Map<number, Error & { code?: string }>;
}

/**
 * HTTP with a hard timeout, no redirects followed, and a cap on the answer's size.
 *
 * A request with TLS material (an `mtls` auth profile) goes through undici's own `fetch` with an Agent
 * that presents the client certificate. Why undici and not node:https: Node's global fetch *is* undici,
 * so the same implementation gives both kinds of request the same timeout (the abort signal), redirect
 * handling, decompression, streaming and error shapes, read by the same code below; node:https would have
 * been a second HTTP client to keep in step. Why its own fetch and not the global one with a dispatcher:
 * the package's Agent is not promised to fit the undici built into Node, which may be another version. One
 * Agent per profile keeps its connections pooled across callouts (this client lives as long as the
 * Lambda's execution environment); a secret rotated to new material gets a new Agent, and the old one is
 * closed once its requests end.
 */
export class FetchHttpClient implements HttpClient {
  private readonly pools = new Map<string, TlsPool>();

  async send(request: HttpRequest): Promise<HttpResponse> {
    const pool = request.tls ? await this.poolFor(request.url, request.tls) : undefined;
    const init = {
      method: request.method,
      headers: request.headers,
      body: request.body,
      redirect: 'manual' as const,
      signal: AbortSignal.timeout(request.timeoutMs),
    };
    let response: FetchedResponse;
    try {
      response = pool
        ? await pool.fetch(request.url, { ...init, dispatcher: pool.agent })
        : await fetch(request.url, init);
    } catch (error) {
      throw describeFailure(error, request, pool);
    }
    try {
      const body = await readCapped(response);
      return { status: response.status, headers: Object.fromEntries(response.headers), body };
    } catch (error) {
      if (error instanceof CalloutError) throw error;
      throw describeFailure(error, request, pool);
    }
  }

  /** Closes the mutual TLS connection pools (a Lambda never needs to: they end with it). */
  async close(): Promise<void> {
    const pools = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(pools.map((pool) => pool.agent.close()));
  }

  private async poolFor(url: string, tls: ClientTls): Promise<TlsPool> {
    if (new URL(url).protocol !== 'https:') {
      // Not a connection failure: no retry mends a catalog that sends a client certificate over http.
      throw new CalloutError(`auth profile "${tls.profileId}" is mutual TLS, which needs an https URL`);
    }
    const fingerprint = createHash('sha256')
      .update(JSON.stringify([tls.certificate, tls.privateKey, tls.passphrase ?? '', tls.caBundle ?? '']))
      .digest('hex');
    const current = this.pools.get(tls.profileId);
    if (current?.fingerprint === fingerprint) return current;
    const { Agent, buildConnector, fetch } = await loadUndici();
    // Another request may have made the pool while this one waited for undici.
    const made = this.pools.get(tls.profileId);
    if (made?.fingerprint === fingerprint) return made;
    // Rotated: the old pool finishes what it carries, then closes.
    if (made) made.agent.close().catch(() => {});
    const alerts = new Map<number, Error & { code?: string }>();
    const connect = buildConnector({
      cert: tls.certificate,
      key: tls.privateKey,
      ...(tls.passphrase !== undefined ? { passphrase: tls.passphrase } : {}),
      ...(tls.caBundle !== undefined ? { ca: tls.caBundle } : {}),
    });
    const agent = new Agent({
      connect: (options, callback) =>
        connect(options, (...args) => {
          const socket = args[1];
          if (socket) keepAlerts(socket, alerts);
          callback(...args);
        }),
    });
    const pool = { fingerprint, agent, fetch, alerts };
    this.pools.set(tls.profileId, pool);
    return pool;
  }
}

/** Remembers the TLS alert a connection meets (on its own 'error', which undici then reports otherwise). */
function keepAlerts(socket: Socket, alerts: TlsPool['alerts']): void {
  const port = socket.localPort;
  if (port === undefined) return;
  socket.prependListener('error', (error: Error & { code?: string }) => {
    if (error.code?.startsWith('ERR_SSL_')) alerts.set(port, error);
  });
  socket.once('close', () => {
    setTimeout(() => alerts.delete(port), ALERT_KEPT_MS).unref();
  });
}

/** Alerts by which a system refuses the client certificate it was shown (or that none was shown). */
const CLIENT_CERTIFICATE_REFUSED =
  /CERTIFICATE_REQUIRED|UNKNOWN_CA|BAD_CERTIFICATE|CERTIFICATE_UNKNOWN|CERTIFICATE_EXPIRED|CERTIFICATE_REVOKED|UNSUPPORTED_CERTIFICATE|ACCESS_DENIED|HANDSHAKE_FAILURE|PEER_DID_NOT_RETURN_A_CERTIFICATE/;

/** Node's codes for a server certificate it does not trust. */
const SERVER_CERTIFICATE_UNTRUSTED =
  /^(SELF_SIGNED_CERT_IN_CHAIN|DEPTH_ZERO_SELF_SIGNED_CERT|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT(_LOCALLY)?|CERT_HAS_EXPIRED|CERT_NOT_YET_VALID|CERT_UNTRUSTED|CERT_REVOKED|CERT_SIGNATURE_FAILURE|INVALID_CA|ERR_TLS_CERT_ALTNAME_INVALID)$/;

/**
 * A request that got no usable answer, as a CalloutError marked unreachable, so that it counts as a
 * connection failure (or a timeout) for the retry rules and the circuit breaker. A refused TLS handshake
 * is one too: the system may accept the certificate again (it is renewed, or the system's trust fixed).
 */
function describeFailure(error: unknown, request: HttpRequest, pool: TlsPool | undefined): CalloutError {
  const e = error as Error & { cause?: unknown };
  if (e.name === 'TimeoutError' || e.name === 'AbortError') {
    return new CalloutError(`no answer within ${request.timeoutMs} ms`, undefined, true);
  }
  // fetch says only "fetch failed"; the cause says why (a refused connection, an answer that is not HTTP).
  const cause = e.cause as
    | { code?: string; message?: string; socket?: { localPort?: number } | null }
    | undefined;
  const port = cause?.socket?.localPort;
  const alert = pool && port !== undefined ? pool.alerts.get(port) : undefined;
  if (alert && port !== undefined) pool?.alerts.delete(port);
  const code = alert?.code ?? cause?.code;
  const message = alert?.message ?? cause?.message ?? e.message;
  const profile = request.tls ? `auth profile "${request.tls.profileId}"` : undefined;
  let why: string;
  if (code && CLIENT_CERTIFICATE_REFUSED.test(code)) {
    why = !profile
      ? `TLS handshake refused (${code}): the system asks for a client certificate (mutual TLS), and the system's auth profile presents none`
      : /CERTIFICATE_REQUIRED|PEER_DID_NOT_RETURN/.test(code)
        ? `TLS handshake refused (${code}): the system asks for a client certificate, and ${profile} presented none`
        : `TLS handshake refused (${code}): the system did not accept the client certificate of ${profile}`;
  } else if (code && SERVER_CERTIFICATE_UNTRUSTED.test(code)) {
    why = `TLS handshake failed (${code}): the system's certificate is not trusted${
      request.tls?.caBundle !== undefined
        ? ` by the caBundle of ${profile}`
        : profile
          ? ` (${profile} has no caBundle, so only the public roots are)`
          : ''
    }`;
  } else if (profile && (code === 'UND_ERR_SOCKET' || code === 'ECONNRESET' || code === 'EPIPE')) {
    // No alert came (a Node server refusing a certificate just closes): say what it most likely means.
    why = `connection failed (${code}): the system closed the TLS connection without answering, as a system behind mutual TLS does when it refuses the client certificate of ${profile}`;
  } else {
    return new CalloutError(`connection failed${code ? ` (${code})` : ''}: ${message}`, undefined, true);
  }
  return new CalloutError(`${why}: ${opensslReason(message)}`, undefined, true);
}

/**
 * OpenSSL's own words in one of its messages (`…:SSL routines:ssl3_read_bytes:tlsv13 alert certificate
 * required:../deps/…`), or the message itself when it is not one.
 */
function opensslReason(message: string): string {
  return /SSL routines:[^:]*:([^:]+)/.exec(message)?.[1] ?? message.split('\n')[0]?.trim() ?? message;
}

async function readCapped(response: FetchedResponse): Promise<string> {
  if (!response.body) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_RESPONSE_BYTES) {
      await reader.cancel();
      throw new CalloutError(`answer larger than ${MAX_RESPONSE_BYTES} bytes`, response.status);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}
