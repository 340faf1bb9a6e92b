import { Agent, createServer, request as httpRequest, type Server } from 'node:http';
import { closeServer, readBody } from './aws-json-server';
import { freePort, listen } from './free-port';

/** What the runtime's AWS services were asked, by service and operation, and DynamoDB's capacity units. */
export interface MeterReading {
  /** `<service> <Operation>` → requests. SQS receives that returned nothing are `sqs ReceiveMessage (empty)`. */
  requests: Record<string, number>;
  /** Summed from the ConsumedCapacity DynamoDB reported for every request. */
  dynamoDb: { readUnits: number; writeUnits: number };
  /** By service: the time its requests took to be answered (not SQS receives' long polls), summed. */
  milliseconds: Record<string, number>;
}

/** DynamoDB operations that report ConsumedCapacity when asked. */
const CAPACITY_OPERATIONS = new Set([
  'GetItem',
  'PutItem',
  'UpdateItem',
  'DeleteItem',
  'Query',
  'Scan',
  'BatchGetItem',
  'BatchWriteItem',
  'TransactGetItems',
  'TransactWriteItems',
]);

const READ_OPERATIONS = new Set(['GetItem', 'Query', 'Scan', 'BatchGetItem', 'TransactGetItems']);

interface Capacity {
  CapacityUnits?: number;
  ReadCapacityUnits?: number;
  WriteCapacityUnits?: number;
}

/**
 * Counting proxies in front of the local AWS endpoints, so that a run can say what it would cost: every
 * request is forwarded unchanged but for DynamoDB's, which are asked to return their consumed capacity
 * (DynamoDB Local computes it as DynamoDB bills it: 4 KB read units, 1 KB write units, transactions
 * doubled). Only the benchmark turns this on; it adds a hop to every call.
 */
export class ServiceMeter {
  private requests = new Map<string, number>();
  private milliseconds = new Map<string, number>();
  private readUnits = 0;
  private writeUnits = 0;
  private readonly servers: Server[] = [];
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 256 });

  /** Starts a proxy for `service` in front of `endpoint`; returns the proxy's endpoint. */
  async proxy(service: string, endpoint: string | (() => string)): Promise<string> {
    const server = createServer(async (req, res) => {
      try {
        const target = new URL(typeof endpoint === 'string' ? endpoint : endpoint());
        let body = await readBody(req);
        const amzTarget = String(req.headers['x-amz-target'] ?? '');
        const operation = amzTarget
          ? amzTarget.slice(amzTarget.lastIndexOf('.') + 1)
          : `${req.method} ${(req.url ?? '').split('?')[0]?.replace(/\/[^/]+/g, '/…')}`;
        const metered = service === 'dynamodb' && CAPACITY_OPERATIONS.has(operation);
        if (metered && body) {
          const input = JSON.parse(body) as Record<string, unknown>;
          input.ReturnConsumedCapacity ??= 'TOTAL';
          body = JSON.stringify(input);
        }
        const sentAt = performance.now();
        // The body is read whole and sent with its length: a chunked encoding beside it is refused.
        const { 'transfer-encoding': _chunked, ...forwarded } = req.headers;
        const headers = {
          ...forwarded,
          host: target.host,
          'content-length': String(Buffer.byteLength(body)),
        };
        const upstream = httpRequest(
          {
            host: target.hostname,
            port: target.port,
            method: req.method,
            path: req.url,
            headers,
            agent: this.agent,
          },
          async (answer) => {
            const chunks: Buffer[] = [];
            for await (const chunk of answer) chunks.push(chunk as Buffer);
            const text = Buffer.concat(chunks);
            // A receive's time is mostly its long poll waiting for messages, not the service working.
            if (operation !== 'ReceiveMessage')
              this.milliseconds.set(
                service,
                (this.milliseconds.get(service) ?? 0) + performance.now() - sentAt,
              );
            try {
              this.count(service, operation, answer.statusCode ?? 0, metered, text);
            } catch (error) {
              // An answer the meter cannot read is passed on all the same, and said in the count.
              this.count(service, `${operation} (unreadable: ${(error as Error).name})`, 200, false, text);
            }
            res.writeHead(answer.statusCode ?? 502, answer.headers);
            res.end(text);
          },
        );
        upstream.on('error', (error) => {
          res.writeHead(502, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ __type: 'ProxyError', message: error.message }));
        });
        upstream.end(body);
      } catch (error) {
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ __type: 'ProxyError', message: (error as Error).message }));
      }
    });
    const port = await freePort();
    await listen(server, port);
    this.servers.push(server);
    return `http://127.0.0.1:${port}`;
  }

  private count(service: string, operation: string, status: number, metered: boolean, body: Buffer): void {
    let key = `${service} ${operation}`;
    if (status === 200 && (metered || (service === 'sqs' && operation === 'ReceiveMessage'))) {
      const output = JSON.parse(body.toString('utf8')) as {
        ConsumedCapacity?: Capacity | Capacity[];
        Messages?: unknown[];
      };
      if (service === 'sqs' && (output.Messages?.length ?? 0) === 0) key += ' (empty)';
      for (const capacity of [output.ConsumedCapacity ?? []].flat()) {
        // Read and write units where DynamoDB tells them apart (transactions), else the operation's kind.
        if (capacity.ReadCapacityUnits !== undefined || capacity.WriteCapacityUnits !== undefined) {
          this.readUnits += capacity.ReadCapacityUnits ?? 0;
          this.writeUnits += capacity.WriteCapacityUnits ?? 0;
        } else if (READ_OPERATIONS.has(operation)) this.readUnits += capacity.CapacityUnits ?? 0;
        else this.writeUnits += capacity.CapacityUnits ?? 0;
      }
    } else if (status !== 200) {
      key += ` (HTTP ${status})`;
      // A write refused by its condition is billed all the same, at least one write unit.
      if (service === 'dynamodb' && metered && body.includes('ConditionalCheckFailed')) this.writeUnits += 1;
    }
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
  }

  /** What was counted since the last reset. */
  reading(): MeterReading {
    return {
      requests: Object.fromEntries([...this.requests].sort(([a], [b]) => a.localeCompare(b))),
      dynamoDb: { readUnits: this.readUnits, writeUnits: this.writeUnits },
      milliseconds: Object.fromEntries([...this.milliseconds].map(([s, ms]) => [s, Math.round(ms)])),
    };
  }

  reset(): void {
    this.requests = new Map();
    this.milliseconds = new Map();
    this.readUnits = 0;
    this.writeUnits = 0;
  }

  async stop(): Promise<void> {
    await Promise.all(this.servers.map((server) => closeServer(server)));
    this.agent.destroy();
  }
}
