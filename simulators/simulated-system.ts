import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { createGate, mediaTypeOf, type SimulatedAuth, TOKEN_PATH } from './simulated-auth';

export { mediaTypeOf, type SimulatedAuth, TOKEN_PATH } from './simulated-auth';

/**
 * The shell of a simulated fulfilment system: a real HTTP server on loopback that checks its callers'
 * credentials, parses JSON (and hands any other body over as text), remembers answers by Idempotency-Key
 * (as a well-behaved system does), adds configurable latency and counts what it saw. Simulators stand for
 * systems Switchboard does not own; no product code imports them.
 */
export interface SimulatedSystemOptions {
  name: string;
  port: number;
  host?: string;
  /**
   * Added before every answer, to model the system's own processing time. A function is asked afresh for
   * each request, so a benchmark can spread latencies.
   */
  latencyMs?: number | (() => number);
  /** Credentials every request must carry; none when absent. */
  auth?: SimulatedAuth;
  /** Asked for each request that passed the credentials check: the fault to answer it with, if any. */
  faults?: (request: SimulatedRequest) => Fault | undefined;
  /**
   * Mutual TLS: the system speaks https with this server certificate and takes only connections that
   * present a client certificate `clientCa` signed (all PEM); others are refused in the handshake.
   */
  tls?: { certificate: string; privateKey: string; clientCa: string };
}

/**
 * What a misbehaving system does instead of answering well: an error status (429 says when to come
 * back; 422 refuses the request, which no retry changes), no answer at all until the caller gives up,
 * or a connection reset — before acting, or after acting, so that the caller never learns it acted
 * (only an Idempotency-Key saves it from acting twice).
 */
export type Fault = 500 | 503 | 429 | 422 | 'hang' | 'reset' | 'resetAfterActing';

/** What a particular simulator (inventory, activation, billing) takes: the shell's options less the name. */
export type SimulatorOptions = Omit<SimulatedSystemOptions, 'name'>;

export interface SimulatedRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  /** The parsed body of a JSON request; undefined for an empty or non-JSON body. */
  body: unknown;
  /** The raw body, for systems that speak something other than JSON. */
  text: string;
  contentType?: string;
  /** The path's `{name}` segments of the route that took it, decoded. */
  params: Record<string, string>;
}

export interface SimulatedAnswer {
  status: number;
  /** Sent as JSON. */
  body?: unknown;
  /** Sent as is instead of `body`, for answers that are not JSON. */
  text?: string;
  /** Defaults to application/json, or text/plain for a `text` answer. */
  contentType?: string;
  headers?: Record<string, string>;
}

export type Route = (request: SimulatedRequest) => SimulatedAnswer | Promise<SimulatedAnswer>;

export interface SimulatedSystemStats {
  /** Every request that arrived, token requests and refusals included. */
  received: number;
  /** Requests that reached a route and acted. */
  acted: number;
  /** Requests answered from the Idempotency-Key store without acting again. */
  replayed: number;
  /** 401s answered, by the gate or by the token endpoint. */
  unauthorized: number;
  /** Access tokens issued by an oauth2 system's token endpoint. */
  tokensIssued: number;
  /** Requests being handled now, from arrival to answer. */
  inFlight: number;
  /** The most requests ever handled at the same moment, latency included. */
  maxConcurrent: number;
  /** Faults answered instead of the route (see SimulatedSystemOptions.faults). */
  faults: number;
  /** TLS handshakes refused (mutual TLS: no client certificate, or one the system does not trust). */
  tlsRefused: number;
}

export interface SimulatedSystem {
  name: string;
  url: string;
  stats: SimulatedSystemStats;
  /** Requests that passed the credentials check, token requests excepted: the callouts the system saw. */
  requests: SimulatedRequest[];
  /**
   * How often the system acted on each Idempotency-Key (`<method> <path> <key>`) and succeeded, replays
   * aside: more than once is an effect done twice (a refusal, 4xx, is no effect).
   */
  actionsByKey: Map<string, number>;
  /** Forgets the access tokens an oauth2 system issued; a no-op for other systems. */
  revokeTokens(): void;
  /**
   * Mutual TLS: from now on takes only client certificates `clientCa` signed, and drops every open
   * connection, so that the next request shakes hands anew. A no-op for a system without TLS.
   */
  trustClientsOf(clientCa: string): void;
  stop(): Promise<void>;
}

export async function startSimulatedSystem(
  options: SimulatedSystemOptions,
  routes: Record<string, Route>,
): Promise<SimulatedSystem> {
  const answered = new Map<string, SimulatedAnswer>();
  const stats: SimulatedSystemStats = {
    received: 0,
    acted: 0,
    replayed: 0,
    unauthorized: 0,
    tokensIssued: 0,
    inFlight: 0,
    maxConcurrent: 0,
    faults: 0,
    tlsRefused: 0,
  };
  const actionsByKey = new Map<string, number>();
  const requests: SimulatedRequest[] = [];
  const gate = createGate(options.auth, options.name);
  const latency = () =>
    typeof options.latencyMs === 'function' ? options.latencyMs() : (options.latencyMs ?? 0);

  const compiled = compileRoutes(routes);

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const method = req.method ?? 'GET';
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const send = (answer: SimulatedAnswer) => {
      if (answer.status === 401) stats.unauthorized++;
      const isText = answer.text !== undefined;
      const payload = isText ? answer.text : answer.body === undefined ? '' : JSON.stringify(answer.body);
      const contentType = answer.contentType ?? (isText ? 'text/plain; charset=utf-8' : 'application/json');
      res.writeHead(answer.status, { ...answer.headers, 'content-type': contentType });
      res.end(payload);
    };
    const delay = latency();
    if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));

    if (gate.tokenEndpoint && path === TOKEN_PATH) {
      const answer = gate.tokenEndpoint({ method, headers: req.headers, text });
      if (answer.status === 200) stats.tokensIssued++;
      return send(answer);
    }
    const refusal = gate.refuse(req.headers);
    if (refusal) return send(refusal);

    const contentType = req.headers['content-type'];
    let body: unknown;
    if (isJson(contentType) && text !== '') {
      try {
        body = JSON.parse(text);
      } catch {
        return send({ status: 400, body: { error: 'body is not JSON' } });
      }
    }
    const matched = matchRoute(compiled, method, path);
    const request: SimulatedRequest = {
      method,
      path,
      headers: req.headers,
      body,
      text,
      contentType,
      params: matched?.params ?? {},
    };
    requests.push(request);
    const route = matched?.route;
    if (!route) return send({ status: 404, body: { error: `no route ${method} ${path}` } });
    const key = req.headers['idempotency-key'];
    const replayKey = typeof key === 'string' ? `${method} ${path} ${key}` : undefined;
    const previous = replayKey ? answered.get(replayKey) : undefined;
    if (previous) {
      stats.replayed++;
      return send(previous);
    }
    const fault = options.faults?.(request);
    if (fault !== undefined && fault !== 'resetAfterActing') {
      stats.faults++;
      if (fault === 'reset') return void req.socket.destroy();
      // No answer: the caller's timeout ends the request (or stop() does).
      if (fault === 'hang') return new Promise<void>((resolve) => res.once('close', () => resolve()));
      return send({
        status: fault,
        body: { error: `simulated ${fault}` },
        ...(fault === 429 ? { headers: { 'retry-after': '1' } } : {}),
      });
    }
    const answer = await route(request);
    stats.acted++;
    if (replayKey && answer.status < 300) actionsByKey.set(replayKey, (actionsByKey.get(replayKey) ?? 0) + 1);
    if (replayKey && answer.status < 500) answered.set(replayKey, answer);
    if (fault === 'resetAfterActing') {
      stats.faults++;
      return void req.socket.destroy();
    }
    send(answer);
  };

  const listener = (req: IncomingMessage, res: ServerResponse) => {
    stats.received++;
    stats.inFlight++;
    stats.maxConcurrent = Math.max(stats.maxConcurrent, stats.inFlight);
    handle(req, res)
      .catch((error: Error) => {
        if (res.headersSent) return res.destroy(error);
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: error.message }));
      })
      // Counted down when the answer is written, not when the socket closes, so a caller sending its
      // next request the moment it reads this answer is never counted as overlapping it.
      .finally(() => stats.inFlight--);
  };
  const { tls } = options;
  const secureContext = (clientCa: string) => ({
    cert: tls?.certificate,
    key: tls?.privateKey,
    ca: clientCa,
  });
  const server: Server | HttpsServer = tls
    ? createHttpsServer(
        { ...secureContext(tls.clientCa), requestCert: true, rejectUnauthorized: true },
        listener,
      )
    : createServer(listener);
  server.on('tlsClientError', () => stats.tlsRefused++);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  return {
    name: options.name,
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    stats,
    requests,
    actionsByKey,
    revokeTokens: () => gate.revokeTokens(),
    trustClientsOf(clientCa) {
      if (!tls || !('setSecureContext' in server)) return;
      server.setSecureContext(secureContext(clientCa));
      server.closeAllConnections();
    },
    stop: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** A body without a content-type is taken for JSON, as the simulators always did. */
function isJson(contentType: string | undefined): boolean {
  const mediaType = mediaTypeOf(contentType);
  return mediaType === undefined || mediaType === 'application/json' || mediaType.endsWith('+json');
}

interface CompiledRoute {
  method: string;
  pattern: RegExp;
  names: string[];
  route: Route;
}

/** Routes are `METHOD /path`, where a `{name}` segment takes any one segment: `DELETE /ports/{portId}`. */
function compileRoutes(routes: Record<string, Route>): CompiledRoute[] {
  return Object.entries(routes).map(([key, route]) => {
    const [method = '', path = ''] = key.split(' ');
    const names: string[] = [];
    const source = path
      .split('/')
      .map((segment) => {
        const name = /^\{(\w+)\}$/.exec(segment)?.[1];
        if (name === undefined) return segment.replace(/[.*+?^$()|[\]\\]/g, '\\$&');
        names.push(name);
        return '([^/]+)';
      })
      .join('/');
    return { method, pattern: new RegExp(`^${source}$`), names, route };
  });
}

function matchRoute(
  routes: CompiledRoute[],
  method: string,
  path: string,
): { route: Route; params: Record<string, string> } | undefined {
  for (const candidate of routes) {
    if (candidate.method !== method) continue;
    const match = candidate.pattern.exec(path);
    if (!match) continue;
    const params = Object.fromEntries(
      candidate.names.map((name, i) => [name, decodeURIComponent(match[i + 1] ?? '')]),
    );
    return { route: candidate.route, params };
  }
  return undefined;
}
