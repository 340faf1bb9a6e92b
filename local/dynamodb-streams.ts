import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type Shard,
  type _Record as StreamRecord,
} from '@aws-sdk/client-dynamodb-streams';
import type { LocalDeployment } from './cloud-assembly';
import { writeFileDurably } from './durable-file';
import type { LambdaHost } from './lambda-host';

const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };

/**
 * How often an idle shard is read again. Lambda reads a stream's shards about four times a second; here
 * each read costs DynamoDB Local CPU the orders need, and the mapping's batching window (a second) lets
 * records wait that long anyway.
 */
const IDLE_MS = 500;
const RETRY_MS = 1_000;

/** The event source mapping of a stream, as the template declares it. */
interface StreamSource {
  tableName: string;
  functionName: string;
  batchSize: number;
  retryAttempts: number;
  startingPosition: 'TRIM_HORIZON' | 'LATEST';
  /** How long records may wait for more before the batch goes (the mapping's batching window). */
  windowMs: number;
  /** The patterns a record must match one of (the mapping's FilterCriteria), parsed. */
  filters: Record<string, unknown>[];
}

/**
 * Lambda's event source mappings of DynamoDB streams, on DynamoDB Local's streams: each shard read in
 * order, the records that pass the mapping's filters handed to the function in batches of its size, a
 * batch that fails tried again (after a second, up to the mapping's retry attempts, then skipped and
 * logged, where AWS would send its place in the stream to the on-failure destination). Where each shard
 * was read to is kept in the data folder, so a restart goes on from there, as a mapping does.
 *
 * Filters support what Switchboard's mappings use: exact values and `prefix` on a record's fields.
 * dynalite has no streams: under it, nothing is read (and the runtime says so).
 */
export class DynamoDbStreamSources {
  private readonly controller = new AbortController();
  private readonly loops: Promise<void>[] = [];
  private readonly streams: DynamoDBStreamsClient;
  private readonly tables: DynamoDBClient;
  private readonly checkpointFile: string;
  private readonly checkpoints: Record<string, string>;

  constructor(
    private readonly deployment: LocalDeployment,
    private readonly lambdas: LambdaHost,
    endpoint: string,
    region: string,
    dataDir: string,
    private readonly log: (line: string) => void,
    /** Where each shard was read to is kept for a restart: false for a DynamoDB that keeps nothing either. */
    private readonly durable = true,
  ) {
    this.streams = new DynamoDBStreamsClient({ endpoint, region, credentials });
    this.tables = new DynamoDBClient({ endpoint, region, credentials });
    this.checkpointFile = join(dataDir, 'stream-checkpoints.json');
    this.checkpoints =
      durable && existsSync(this.checkpointFile)
        ? (JSON.parse(readFileSync(this.checkpointFile, 'utf8')) as Record<string, string>)
        : {};
  }

  /** The stream sources of the template. */
  sources(): StreamSource[] {
    const sources: StreamSource[] = [];
    for (const mapping of this.deployment.ofType('AWS::Lambda::EventSourceMapping')) {
      const p = this.deployment.resolve(mapping.properties, mapping.stackName) as {
        EventSourceArn?: string;
        FunctionName?: string;
        BatchSize?: number;
        MaximumRetryAttempts?: number;
        MaximumBatchingWindowInSeconds?: number;
        StartingPosition?: string;
        Enabled?: boolean;
        FilterCriteria?: { Filters?: { Pattern?: string }[] };
      };
      const table = /^arn:aws:dynamodb:[^:]*:[^:]*:table\/([^/]+)\/stream\//.exec(p.EventSourceArn ?? '');
      if (p.Enabled === false || !table?.[1] || !p.FunctionName) continue;
      sources.push({
        tableName: table[1],
        functionName: p.FunctionName,
        batchSize: p.BatchSize ?? 100,
        retryAttempts: p.MaximumRetryAttempts ?? 10_000,
        startingPosition: p.StartingPosition === 'LATEST' ? 'LATEST' : 'TRIM_HORIZON',
        windowMs: (p.MaximumBatchingWindowInSeconds ?? 0) * 1000,
        filters: (p.FilterCriteria?.Filters ?? []).map(
          (f) => JSON.parse(f.Pattern ?? '{}') as Record<string, unknown>,
        ),
      });
    }
    return sources;
  }

  start(): void {
    for (const source of this.sources()) this.loops.push(this.follow(source));
  }

  async stop(): Promise<void> {
    this.controller.abort();
    await Promise.allSettled(this.loops);
    this.streams.destroy();
    this.tables.destroy();
  }

  /** Reads the table's stream, shard after shard (a child once its parent is read to its end). */
  private async follow(source: StreamSource): Promise<void> {
    const signal = this.controller.signal;
    const described = await this.tables
      .send(new DescribeTableCommand({ TableName: source.tableName }))
      .catch((error: Error) => {
        this.log(`[streams] table ${source.tableName} could not be described: ${error.message}`);
        return undefined;
      });
    const streamArn = described?.Table?.LatestStreamArn;
    if (!streamArn) {
      this.log(
        `[streams] table ${source.tableName} has no stream here; ${source.functionName} gets no records`,
      );
      return;
    }
    const finished = new Set<string>();
    const reading = new Map<string, Promise<void>>();
    while (!signal.aborted) {
      let shards: Shard[];
      try {
        shards = await this.shardsOf(streamArn);
      } catch (error) {
        if (signal.aborted) return;
        this.log(`[streams] describing ${source.tableName}'s stream failed: ${(error as Error).message}`);
        await sleep(RETRY_MS, signal);
        continue;
      }
      for (const shard of shards) {
        const id = shard.ShardId ?? '';
        const parentDone =
          !shard.ParentShardId ||
          finished.has(shard.ParentShardId) ||
          !shards.some((s) => s.ShardId === shard.ParentShardId);
        if (finished.has(id) || reading.has(id) || !parentDone) continue;
        reading.set(
          id,
          this.readShard(source, streamArn, id).then(
            () => {
              finished.add(id);
              reading.delete(id);
            },
            (error: Error) => {
              // Read again from its checkpoint at the next look at the stream.
              this.log(`[streams] reading shard ${id} stopped: ${error.message}`);
              reading.delete(id);
            },
          ),
        );
      }
      await sleep(IDLE_MS * 20, signal);
    }
    await Promise.allSettled(reading.values());
  }

  private async shardsOf(streamArn: string): Promise<Shard[]> {
    const shards: Shard[] = [];
    let start: string | undefined;
    do {
      const page = await this.streams.send(
        new DescribeStreamCommand({
          StreamArn: streamArn,
          ...(start ? { ExclusiveStartShardId: start } : {}),
        }),
      );
      shards.push(...(page.StreamDescription?.Shards ?? []));
      start = page.StreamDescription?.LastEvaluatedShardId;
    } while (start);
    return shards;
  }

  /** Reads one shard to its end (a closed shard) or until the runtime stops. */
  private async readShard(source: StreamSource, streamArn: string, shardId: string): Promise<void> {
    const signal = this.controller.signal;
    const checkpointKey = `${source.functionName}/${shardId}`;
    let iterator = await this.iteratorOf(source, streamArn, shardId, this.checkpoints[checkpointKey]);
    // Records waiting for the batching window, and since when; the last record read.
    const batch: StreamRecord[] = [];
    let batchSince: number | undefined;
    let readTo: string | undefined;
    while (!signal.aborted && iterator) {
      let records: StreamRecord[];
      let next: string | undefined;
      try {
        const page = await this.streams.send(
          new GetRecordsCommand({ ShardIterator: iterator, Limit: source.batchSize }),
        );
        records = page.Records ?? [];
        next = page.NextShardIterator;
      } catch (error) {
        if (signal.aborted) return;
        // An iterator DynamoDB Local no longer takes (it refuses one taken at TRIM_HORIZON before the
        // shard's first record, once there are records): a new one, from where the shard was read to.
        this.log(
          `[streams] reading shard ${shardId} failed, reading it again from where it was: ${(error as Error).message}`,
        );
        await sleep(IDLE_MS, signal);
        // What waited in the batch is read again from there too.
        batch.length = 0;
        batchSince = undefined;
        iterator = await this.iteratorOf(source, streamArn, shardId, this.checkpoints[checkpointKey]);
        continue;
      }
      const passing = records.filter((record) => passesFilters(source.filters, record));
      iterator = next;
      if (passing.length > 0) {
        batch.push(...passing);
        batchSince ??= Date.now();
      }
      // The batch goes once full, or once its first record has waited the batching window.
      const due = batchSince !== undefined && Date.now() - batchSince >= source.windowMs;
      readTo = records.at(-1)?.dynamodb?.SequenceNumber ?? readTo;
      if (batch.length >= source.batchSize || (batch.length > 0 && (due || !iterator))) {
        // Not handed (the runtime stops): nothing is checkpointed, and a restart reads it again.
        if (!(await this.hand(source, streamArn, batch.splice(0, batch.length)))) return;
        batchSince = undefined;
      }
      // Where the shard was read to, once all that was read is handed on (or passed no filter).
      if (readTo && batch.length === 0 && readTo !== this.checkpoints[checkpointKey])
        this.checkpoint(checkpointKey, readTo);
      if (records.length === 0 || batch.length > 0)
        await sleep(batch.length > 0 ? Math.min(IDLE_MS, source.windowMs) : IDLE_MS, signal);
    }
  }

  /** An iterator after `after` (where the shard was read to), or at the mapping's starting position. */
  private async iteratorOf(
    source: StreamSource,
    streamArn: string,
    shardId: string,
    after: string | undefined,
  ): Promise<string | undefined> {
    const signal = this.controller.signal;
    while (!signal.aborted) {
      try {
        const answer = await this.streams.send(
          new GetShardIteratorCommand({
            StreamArn: streamArn,
            ShardId: shardId,
            ...(after
              ? { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: after }
              : { ShardIteratorType: source.startingPosition }),
          }),
        );
        return answer.ShardIterator;
      } catch (error) {
        if (signal.aborted) return undefined;
        this.log(`[streams] no iterator for shard ${shardId}: ${(error as Error).message}`);
        await sleep(RETRY_MS, signal);
      }
    }
    return undefined;
  }

  /**
   * One batch to the function, tried again until it succeeds or its retries are spent (then skipped, as
   * AWS would after its on-failure destination); false when the runtime stopped first.
   */
  private async hand(source: StreamSource, streamArn: string, records: StreamRecord[]): Promise<boolean> {
    const event = { Records: records.map((record) => toLambdaRecord(record, streamArn)) };
    for (let attempt = 0; !this.controller.signal.aborted; attempt++) {
      try {
        await this.lambdas.invoke(source.functionName, event);
        return true;
      } catch (error) {
        if (attempt >= source.retryAttempts) {
          this.log(
            `[streams] ${source.functionName} failed a batch of ${records.length} ${attempt + 1} times; skipped (from ${records[0]?.dynamodb?.SequenceNumber}): ${(error as Error).message}`,
          );
          return true;
        }
        this.log(
          `[streams] ${source.functionName} failed a batch; trying again: ${(error as Error).message}`,
        );
        await sleep(RETRY_MS, this.controller.signal);
      }
    }
    return false;
  }

  private checkpoint(key: string, sequence: string): void {
    this.checkpoints[key] = sequence;
    if (this.durable) writeFileDurably(this.checkpointFile, JSON.stringify(this.checkpoints));
  }
}

/** A record as Lambda hands it over: its times in epoch seconds, the stream's ARN beside it. */
function toLambdaRecord(record: StreamRecord, streamArn: string) {
  const dynamodb = { ...(record.dynamodb ?? {}) };
  for (const image of ['Keys', 'NewImage', 'OldImage'] as const) {
    const attributes = dynamodb[image];
    if (attributes) dynamodb[image] = repaired(attributes) as typeof attributes;
  }
  const created = dynamodb.ApproximateCreationDateTime;
  return {
    eventID: record.eventID,
    eventName: record.eventName,
    eventVersion: record.eventVersion ?? '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: record.awsRegion,
    eventSourceARN: streamArn,
    dynamodb: {
      ...dynamodb,
      ...(created ? { ApproximateCreationDateTime: Math.floor(new Date(created).getTime() / 1000) } : {}),
    },
  };
}

/**
 * DynamoDB Local's stream gives an empty map attribute as `{}` where DynamoDB (and its own GetItem) gives
 * `{"M": {}}`: put back, every other value as it is.
 */
export function repaired(attributes: Record<string, unknown>): Record<string, unknown> {
  const value = (attribute: unknown): unknown => {
    if (attribute === null || typeof attribute !== 'object') return attribute;
    const typed = attribute as Record<string, unknown>;
    if (Object.keys(typed).length === 0) return { M: {} };
    if (typed.M && typeof typed.M === 'object') return { M: repaired(typed.M as Record<string, unknown>) };
    if (Array.isArray(typed.L)) return { L: typed.L.map(value) };
    return typed;
  };
  return Object.fromEntries(Object.entries(attributes).map(([name, attribute]) => [name, value(attribute)]));
}

/** Whether a record matches one of the patterns (all of them, when there are none). */
export function passesFilters(filters: readonly Record<string, unknown>[], record: unknown): boolean {
  return filters.length === 0 || filters.some((pattern) => matches(pattern, record));
}

/**
 * EventBridge-style matching, as Lambda's event filtering does it: each key of the pattern must be in the
 * record; a list holds the values allowed (exact values, or `{prefix}`).
 */
function matches(pattern: unknown, value: unknown): boolean {
  if (Array.isArray(pattern)) {
    return pattern.some((allowed) => {
      if (allowed !== null && typeof allowed === 'object' && 'prefix' in allowed)
        return typeof value === 'string' && value.startsWith(String((allowed as { prefix: unknown }).prefix));
      return allowed === value;
    });
  }
  if (pattern === null || typeof pattern !== 'object') return pattern === value;
  if (value === null || typeof value !== 'object') return false;
  return Object.entries(pattern).every(([key, inner]) =>
    matches(inner, (value as Record<string, unknown>)[key]),
  );
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
}
