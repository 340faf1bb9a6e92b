import { mkdirSync } from 'node:fs';
import { Agent } from 'node:http';
import { join } from 'node:path';
import {
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { type FauxqsServer, startFauxqs } from 'fauxqs';
import type { LocalDeployment } from './cloud-assembly';
import { freePort } from './free-port';
import type { LambdaHost } from './lambda-host';

export const LOCAL_ACCOUNT_ID = '000000000000';

export interface LocalSqs {
  endpoint: string;
  server: FauxqsServer;
  queueUrl: (name: string) => string;
  stop(): Promise<void>;
}

/** Where SQS keeps its messages: on disk, so they survive a restart (the default), or in memory. */
export type SqsChoice = 'disk' | 'memory';

/**
 * fauxqs on loopback. On `disk`, its queues and messages are kept in SQLite under `dataDir` so they
 * survive a restart (or a `kill -9`); in `memory` (the benchmark's choice, as it runs DynamoDB Local in
 * memory) nothing outlives the runtime, and the main thread spares the SQLite writes of every message.
 */
export async function startSqs(
  dataDir: string,
  region: string,
  choice: SqsChoice = 'disk',
): Promise<LocalSqs> {
  const dir = join(dataDir, 'sqs');
  if (choice === 'disk') mkdirSync(dir, { recursive: true });
  const server = await startFauxqs({
    port: await freePort(),
    logger: false,
    ...(choice === 'disk' ? { dataDir: dir } : {}),
    defaultRegion: region,
  });
  const endpoint = `http://127.0.0.1:${server.port}`;
  return {
    endpoint,
    server,
    // Queue URLs on the endpoint's own host: the SDK sends to a queue URL's host when it differs from the
    // endpoint, and `sqs.<region>.localhost` does not resolve everywhere. fauxqs finds queues by name.
    queueUrl: (name) => `${endpoint}/${LOCAL_ACCOUNT_ID}/${name}`,
    stop: () => server.stop(),
  };
}

/** Creates the template's queues with their settings, dead-letter redrive included. */
export function createQueues(deployment: LocalDeployment, sqs: LocalSqs): void {
  const queues = deployment.ofType('AWS::SQS::Queue');
  // Dead-letter queues first: a redrive policy names a queue that must exist.
  const redriving = (q: (typeof queues)[number]) => ('RedrivePolicy' in q.properties ? 1 : 0);
  for (const resource of [...queues].sort((a, b) => redriving(a) - redriving(b))) {
    const p = deployment.resolve(resource.properties, resource.stackName) as Record<string, unknown>;
    const attributes: Record<string, string> = {};
    for (const key of [
      'VisibilityTimeout',
      'MessageRetentionPeriod',
      'DelaySeconds',
      'ReceiveMessageWaitTimeSeconds',
    ]) {
      if (p[key] !== undefined) attributes[key] = String(p[key]);
    }
    if (p.RedrivePolicy) attributes.RedrivePolicy = JSON.stringify(p.RedrivePolicy);
    if (sqs.server.inspectQueue(resource.physicalName)) continue;
    sqs.server.createQueue(resource.physicalName, { attributes });
  }
}

/**
 * The template's SQS event source mappings: pollers that receive batches, invoke the function with an
 * SQS event, delete what succeeded and leave failures to come back after their visibility timeout.
 */
export class SqsEventSources {
  private readonly controller = new AbortController();
  private readonly loops: Promise<void>[] = [];
  private client?: SQSClient;
  private readonly endpoint: string;

  constructor(
    private readonly deployment: LocalDeployment,
    sqs: LocalSqs,
    private readonly lambdas: LambdaHost,
    private readonly region: string,
    private readonly log: (line: string) => void,
    /** Where the pollers send their requests: fauxqs itself, or the runtime's meter in front of it. */
    endpoint = sqs.endpoint,
  ) {
    this.endpoint = endpoint;
  }

  start(): void {
    const sources: Parameters<SqsEventSources['poll']>[0][] = [];
    for (const mapping of this.deployment.ofType('AWS::Lambda::EventSourceMapping')) {
      const p = this.deployment.resolve(mapping.properties, mapping.stackName) as {
        EventSourceArn?: string;
        FunctionName?: string;
        BatchSize?: number;
        FunctionResponseTypes?: string[];
        ScalingConfig?: { MaximumConcurrency?: number };
        Enabled?: boolean;
      };
      if (p.Enabled === false || !p.EventSourceArn?.startsWith('arn:aws:sqs:') || !p.FunctionName) continue;
      const queueName = p.EventSourceArn.split(':').pop() ?? '';
      // Lambda runs up to MaximumConcurrency batches at once (default: scales far higher; 50 is plenty here).
      const pollers = Math.min(p.ScalingConfig?.MaximumConcurrency ?? 50, 50);
      for (let i = 0; i < pollers; i++) {
        sources.push({
          queueUrl: this.deployment.env.queueUrl(queueName),
          queueArn: p.EventSourceArn,
          functionName: p.FunctionName,
          batchSize: Math.min(p.BatchSize ?? 10, 10),
          partialFailures: p.FunctionResponseTypes?.includes('ReportBatchItemFailures') ?? false,
        });
      }
    }
    // A socket for every poller's long poll, and some for the deletes: with the SDK's default pool (50)
    // the pollers of one queue took every socket and the next queue's receives waited for one — a
    // callback waited seconds for its correlator once a third queue's pollers came.
    this.client = new SQSClient({
      endpoint: this.endpoint,
      region: this.region,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      requestHandler: { httpAgent: new Agent({ keepAlive: true, maxSockets: sources.length + 16 }) },
    });
    for (const source of sources) this.loops.push(this.poll(source));
  }

  private async poll(source: {
    queueUrl: string;
    queueArn: string;
    functionName: string;
    batchSize: number;
    partialFailures: boolean;
  }): Promise<void> {
    const signal = this.controller.signal;
    const client = this.client;
    if (!client) return;
    while (!signal.aborted) {
      let messages: Message[];
      try {
        const received = await client.send(
          new ReceiveMessageCommand({
            QueueUrl: source.queueUrl,
            MaxNumberOfMessages: source.batchSize,
            WaitTimeSeconds: 2,
            MessageSystemAttributeNames: ['All'],
            MessageAttributeNames: ['All'],
          }),
          { abortSignal: signal },
        );
        messages = received.Messages ?? [];
      } catch (error) {
        if (signal.aborted) return;
        this.log(`[sqs] receive from ${source.queueArn} failed: ${(error as Error).message}`);
        await new Promise((resolve) => setTimeout(resolve, 500));
        continue;
      }
      if (messages.length === 0) continue;
      let failed = new Set<string>();
      try {
        const result = (await this.lambdas.invoke(
          source.functionName,
          toSqsEvent(messages, source.queueArn, this.region),
        )) as { batchItemFailures?: { itemIdentifier: string }[] } | undefined;
        if (source.partialFailures)
          failed = new Set((result?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
      } catch (error) {
        this.log(
          `[sqs] ${source.functionName} failed a batch of ${messages.length}: ${(error as Error).message}`,
        );
        continue; // nothing is deleted: the whole batch comes back after its visibility timeout
      }
      const done = messages.filter((m) => m.MessageId && !failed.has(m.MessageId));
      if (done.length > 0) {
        await client
          .send(
            new DeleteMessageBatchCommand({
              QueueUrl: source.queueUrl,
              Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle ?? '' })),
            }),
          )
          .catch((error: Error) => this.log(`[sqs] delete failed: ${error.message}`));
      }
    }
  }

  async stop(): Promise<void> {
    this.controller.abort();
    await Promise.allSettled(this.loops);
    this.client?.destroy();
  }
}

function toSqsEvent(messages: Message[], queueArn: string, region: string): SQSEvent {
  return {
    Records: messages.map((m) => ({
      messageId: m.MessageId ?? '',
      receiptHandle: m.ReceiptHandle ?? '',
      body: m.Body ?? '',
      attributes: {
        ApproximateReceiveCount: m.Attributes?.ApproximateReceiveCount ?? '1',
        SentTimestamp: m.Attributes?.SentTimestamp ?? String(Date.now()),
        SenderId: m.Attributes?.SenderId ?? LOCAL_ACCOUNT_ID,
        ApproximateFirstReceiveTimestamp:
          m.Attributes?.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
      },
      messageAttributes: Object.fromEntries(
        Object.entries(m.MessageAttributes ?? {}).map(([k, v]) => [
          k,
          {
            dataType: v.DataType ?? 'String',
            stringValue: v.StringValue,
            stringListValues: [],
            binaryListValues: [],
          },
        ]),
      ),
      md5OfBody: m.MD5OfBody ?? '',
      eventSource: 'aws:sqs',
      eventSourceARN: queueArn,
      awsRegion: region,
    })),
  };
}
