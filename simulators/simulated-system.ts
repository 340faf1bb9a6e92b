import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

/**
 * The shell of a simulated fulfilment system: a real HTTP server on loopback that parses JSON, remembers
 * answers by Idempotency-Key (as a well-behaved system does), adds configurable latency and counts what
 * it saw. Simulators stand for systems Switchboard does not own; no product code imports them.
 */
export interface SimulatedSystemOptions {
  name: string;
  port: number;
  host?: string;
  /** Added before every answer, to model the system's own processing time. */
  latencyMs?: number;
}

export interface SimulatedRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

export interface SimulatedAnswer {
  status: number;
  body?: unknown;
}

export type Route = (request: SimulatedRequest) => SimulatedAnswer | Promise<SimulatedAnswer>;

export interface SimulatedSystem {
  name: string;
  url: string;
  /** Requests received (replays of a known Idempotency-Key included) and requests that acted. */
  stats: { received: number; acted: number; replayed: number };
  requests: SimulatedRequest[];
  stop(): Promise<void>;
}

export async function startSimulatedSystem(
  options: SimulatedSystemOptions,
  routes: Record<string, Route>,
): Promise<SimulatedSystem> {
  const answered = new Map<string, SimulatedAnswer>();
  const stats = { received: 0, acted: 0, replayed: 0 };
  const requests: SimulatedRequest[] = [];

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    stats.received++;
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const send = (answer: SimulatedAnswer) => {
      const body = answer.body === undefined ? '' : JSON.stringify(answer.body);
      res.writeHead(answer.status, { 'content-type': 'application/json' });
      res.end(body);
    };
    if (options.latencyMs) await new Promise((resolve) => setTimeout(resolve, options.latencyMs));
    let body: unknown;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      return send({ status: 400, body: { error: 'body is not JSON' } });
    }
    const request: SimulatedRequest = { method: req.method ?? 'GET', path, headers: req.headers, body };
    requests.push(request);
    const route = routes[`${request.method} ${path}`];
    if (!route) return send({ status: 404, body: { error: `no route ${request.method} ${path}` } });
    const key = req.headers['idempotency-key'];
    const replayKey = typeof key === 'string' ? `${request.method} ${path} ${key}` : undefined;
    const previous = replayKey ? answered.get(replayKey) : undefined;
    if (previous) {
      stats.replayed++;
      return send(previous);
    }
    const answer = await route(request);
    stats.acted++;
    if (replayKey && answer.status < 500) answered.set(replayKey, answer);
    send(answer);
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: Error) => {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: error.message }));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  return {
    name: options.name,
    url: `http://127.0.0.1:${port}`,
    stats,
    requests,
    stop: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
