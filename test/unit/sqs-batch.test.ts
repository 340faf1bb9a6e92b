import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { handleCallbackBatch } from '../../lambdas/callback-correlator/handler';
import { handleWorkBatch, MESSAGE_LEASE_SECONDS } from '../../lambdas/callout-worker/handler';
import { LEASE_SECONDS } from '../../lambdas/domain/item-lifecycle';
import type { Comeback, Redelivery } from '../../lambdas/ports/redelivery';
import { failedRecords, MAX_RECEIVE_COUNT, redeliveryDelaySeconds } from '../../lambdas/shared/sqs-batch';
import type { ApplyCallbackDeps } from '../../lambdas/use-cases/apply-callback';
import type { RunItemDeps } from '../../lambdas/use-cases/run-item-deps';
import { TakeoverPacer, takeoverNeedsMs } from '../../lambdas/use-cases/take-over-items';
import { RecordingTelemetry } from './fixtures/fake-ports';
import { capturedLogs } from './fixtures/logs';

const record = (messageId: string, receiveCount: number, body = '{}'): SQSRecord =>
  ({
    messageId,
    receiptHandle: `receipt-${messageId}`,
    body,
    attributes: { ApproximateReceiveCount: String(receiveCount) },
  }) as unknown as SQSRecord;

/** Remembers what it was asked to bring back. */
class RecordingRedelivery implements Redelivery {
  readonly asked: Comeback[][] = [];
  async later(comebacks: Comeback[]): Promise<void> {
    this.asked.push(comebacks);
  }
}

describe('redeliveryDelaySeconds', () => {
  it('backs off sixfold from 5 s with each receive, up to 15 minutes', () => {
    assert.deepEqual([0, 1, 2, 3, 4, 5, 100].map(redeliveryDelaySeconds), [5, 5, 30, 180, 900, 900, 900]);
  });
});

describe('failedRecords', () => {
  it('answers the failed records and brings each back after the backoff of its receive count', async () => {
    const redelivery = new RecordingRedelivery();

    const answer = await failedRecords([record('m-1', 1), record('m-2', 3)], redelivery);

    assert.deepEqual(answer, { batchItemFailures: [{ itemIdentifier: 'm-1' }, { itemIdentifier: 'm-2' }] });
    assert.deepEqual(redelivery.asked, [
      [
        { receiptHandle: 'receipt-m-1', seconds: 5 },
        { receiptHandle: 'receipt-m-2', seconds: 180 },
      ],
    ]);
  });

  it('brings an unreadable record back at once, so that it reaches the dead-letter queue within seconds', async () => {
    const redelivery = new RecordingRedelivery();
    const unreadable = record('m-2', 1);

    await failedRecords([record('m-1', 1), unreadable], redelivery, new Set([unreadable]));

    assert.deepEqual(redelivery.asked, [
      [
        { receiptHandle: 'receipt-m-1', seconds: 5 },
        { receiptHandle: 'receipt-m-2', seconds: 1 },
      ],
    ]);
  });

  it('asks nothing of the queue when nothing failed', async () => {
    const redelivery = new RecordingRedelivery();

    assert.deepEqual(await failedRecords([], redelivery), { batchItemFailures: [] });
    assert.deepEqual(redelivery.asked, []);
  });

  it('still answers the failures when the queue refuses the backoff: they come back later, not never', async (t) => {
    const warnings = capturedLogs(t, 'WARN');
    const refusing: Redelivery = {
      later: async () => {
        throw new Error('AccessDenied');
      },
    };

    const answer = await failedRecords([record('m-1', 2)], refusing);

    assert.deepEqual(answer, { batchItemFailures: [{ itemIdentifier: 'm-1' }] });
    assert.match(String(warnings()[0]), /visibility timeout.*AccessDenied/);
  });
});

describe('handleWorkBatch', () => {
  it('reports a message it cannot read as a failure that comes back after a second, on its way to the dead-letter queue', async (t) => {
    capturedLogs(t);
    const redelivery = new RecordingRedelivery();
    const event: SQSEvent = {
      Records: [record('m-1', 2, '{"kind":"nonsense"}'), record('m-2', 1, 'not json')],
    };

    // A message that does not parse never reaches the worker's ports.
    const answer = await handleWorkBatch(
      { telemetry: new RecordingTelemetry() } as unknown as RunItemDeps,
      event,
      redelivery,
    );

    assert.deepEqual(answer.batchItemFailures.map((f) => f.itemIdentifier).sort(), ['m-1', 'm-2']);
    // First both are held for the worker's lease, then both come back after a second.
    assert.deepEqual(
      redelivery.asked.map((asked) => asked.map((c) => c.seconds)),
      [
        [MESSAGE_LEASE_SECONDS, MESSAGE_LEASE_SECONDS],
        [1, 1],
      ],
    );
  });

  it('counts the messages received again, and the failed ones on their last receive, which go to the dead letters', async (t) => {
    capturedLogs(t);
    const telemetry = new RecordingTelemetry();
    const event: SQSEvent = {
      Records: [
        record('first', 1, 'not json'),
        record('again', 2, 'not json'),
        record('last', MAX_RECEIVE_COUNT, 'not json'),
      ],
    };

    await handleWorkBatch({ telemetry } as unknown as RunItemDeps, event, new RecordingRedelivery());

    assert.deepEqual(telemetry.of('MessagesRedelivered'), ['queue=work: 1', 'queue=work: 1']);
    assert.deepEqual(telemetry.of('MessagesDeadLettered'), ['queue=work: 1']);
  });

  it('holds every message of a batch for a lease, renewed while it runs, instead of the queue visibility timeout', async (t) => {
    t.mock.timers.enable({ apis: ['setInterval'] });
    const redelivery = new RecordingRedelivery();
    let finish = () => {};
    const slow = new Promise<void>((resolve) => {
      finish = resolve;
    });
    const deps = {
      store: { getAggregate: () => slow.then(() => undefined) },
      telemetry: new RecordingTelemetry(),
    } as unknown as RunItemDeps;
    const event: SQSEvent = {
      Records: [
        record('m-1', 1, JSON.stringify({ kind: 'start', orderId: 'o-1', itemKey: 'a' })),
        record('m-2', 1, JSON.stringify({ kind: 'start', orderId: 'o-1', itemKey: 'b' })),
      ],
    };

    const running = handleWorkBatch(deps, event, redelivery);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(redelivery.asked.length, 1, 'held at once');
    t.mock.timers.tick((LEASE_SECONDS * 1000) / 2);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(redelivery.asked.length, 2, 'renewed at half the lease');
    finish();
    const answer = await running;
    t.mock.timers.tick(LEASE_SECONDS * 1000);

    assert.deepEqual(answer.batchItemFailures, []);
    assert.equal(redelivery.asked.length, 2, 'no renewal once the batch is done');
    for (const asked of redelivery.asked)
      assert.deepEqual(
        asked.map((c) => c.seconds),
        [MESSAGE_LEASE_SECONDS, MESSAGE_LEASE_SECONDS],
      );
  });

  it('looks for items to take over when it starts and on its heartbeats, while it has time for a takeover', async (t) => {
    // Prepare: a batch held up by a slow message; a clock the heartbeats move on; an index of leases.
    t.mock.timers.enable({ apis: ['setInterval'] });
    let finish = () => {};
    const slow = new Promise<void>((resolve) => {
      finish = resolve;
    });
    let clock = Date.parse('2025-03-01T12:00:00.000Z');
    const looked: string[] = [];
    const catalog = { interfaces: { activate: { timeoutSeconds: 30 } } };
    const deps = {
      store: {
        getAggregate: () => slow.then(() => undefined),
        expiredLeases: (now: string) => {
          looked.push(now);
          return Promise.resolve([]);
        },
      },
      catalog,
      now: () => new Date(clock),
      telemetry: new RecordingTelemetry(),
    } as unknown as RunItemDeps;
    const need = takeoverNeedsMs(deps.catalog);
    let remaining = need + 20_000;
    const event: SQSEvent = {
      Records: [record('m-1', 1, JSON.stringify({ kind: 'start', orderId: 'o-1', itemKey: 'a' }))],
    };

    // Act: two heartbeats with time to spare, then one with less time left than a takeover needs.
    const running = handleWorkBatch(deps, event, undefined, new TakeoverPacer(), () => remaining);
    const beat = async () => {
      clock += (LEASE_SECONDS * 1000) / 2;
      remaining -= (LEASE_SECONDS * 1000) / 2;
      t.mock.timers.tick((LEASE_SECONDS * 1000) / 2);
      await new Promise((resolve) => setImmediate(resolve));
    };
    await new Promise((resolve) => setImmediate(resolve));
    await beat();
    await beat();
    await beat();
    finish();
    await running;

    // Assess: a look at the start and on each heartbeat but the last, which had too little time.
    assert.equal(need, 30_000 + 10_000 + 15_000);
    assert.deepEqual(looked, [
      '2025-03-01T12:00:00.000Z',
      '2025-03-01T12:00:10.000Z',
      '2025-03-01T12:00:20.000Z',
    ]);
  });
});

describe('handleCallbackBatch', () => {
  it('counts the callbacks received again and those on their last receive, logging each failure with its message', async (t) => {
    const logs = capturedLogs(t, 'ERROR');
    const telemetry = new RecordingTelemetry();
    const event: SQSEvent = {
      Records: [record('again', 2, 'not json'), record('last', MAX_RECEIVE_COUNT, '{"no":"callback"}')],
    };

    const answer = await handleCallbackBatch({ telemetry } as unknown as ApplyCallbackDeps, event);

    assert.deepEqual(answer.batchItemFailures.map((f) => f.itemIdentifier).sort(), ['again', 'last']);
    assert.deepEqual(telemetry.of('MessagesRedelivered'), ['queue=callbacks: 1', 'queue=callbacks: 1']);
    assert.deepEqual(telemetry.of('MessagesDeadLettered'), ['queue=callbacks: 1']);
    const messages = logs().map((line) => (JSON.parse(line) as { messageId?: string }).messageId);
    assert.deepEqual(messages.sort(), ['again', 'last']);
  });
});
