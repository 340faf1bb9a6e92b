import { createServer, type IncomingMessage, type Server } from 'node:http';
import { listen } from './free-port';

/** An error answered the way AWS JSON-protocol services answer: HTTP 400 with `__type` and `message`. */
export class AwsServiceError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

export type AwsJsonHandler = (
  operation: string,
  input: Record<string, unknown>,
) => Promise<unknown> | unknown;

/**
 * A loopback HTTP server for an AWS JSON-protocol service (awsJson1_0/1_1): the operation comes from
 * the X-Amz-Target header, input and output are JSON. Signatures are not checked.
 */
export async function startAwsJsonServer(port: number, handle: AwsJsonHandler): Promise<Server> {
  const server = createServer(async (req, res) => {
    const reply = (status: number, body: unknown) => {
      const text = JSON.stringify(body);
      res.writeHead(status, {
        'content-type': 'application/x-amz-json-1.0',
        'content-length': Buffer.byteLength(text),
      });
      res.end(text);
    };
    try {
      const target = String(req.headers['x-amz-target'] ?? '');
      const operation = target.slice(target.lastIndexOf('.') + 1);
      const raw = await readBody(req);
      const input = raw.length > 0 ? (JSON.parse(raw) as Record<string, unknown>) : {};
      reply(200, (await handle(operation, input)) ?? {});
    } catch (error) {
      if (error instanceof AwsServiceError)
        reply(error.status, { __type: error.code, message: error.message });
      else reply(500, { __type: 'InternalFailure', message: (error as Error).message });
    }
  });
  await listen(server, port);
  return server;
}

export function readBody(req: IncomingMessage, limit = 10 * 1024 * 1024): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new AwsServiceError('RequestEntityTooLarge', `request body over ${limit} bytes`, 413));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
