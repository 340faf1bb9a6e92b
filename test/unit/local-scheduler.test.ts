import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import {
  ConflictException,
  CreateScheduleCommand,
  type CreateScheduleCommandInput,
  DeleteScheduleCommand,
  GetScheduleCommand,
  ListSchedulesCommand,
  ResourceNotFoundException,
  SchedulerClient,
  SchedulerServiceException,
  UpdateScheduleCommand,
  ValidationException,
} from '@aws-sdk/client-scheduler';
import { LocalScheduler } from '../../local/scheduler';

const region = 'us-east-1';
const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
const FUNCTION_ARN = 'arn:aws:lambda:us-east-1:000000000000:function:switchboard-release-hold';
const DAY_MS = 24 * 3600 * 1000;

/**
 * Asynchronous invocations that record what they were asked; `failing`: the invocation cannot be made;
 * `unending`: it is under way when the runtime stops.
 */
function fakeLambdas(failing = false, unending = false) {
  const calls: { arn: string; event: unknown; at: number }[] = [];
  const deadLetters: { queueArn: string; body: string; attributes: Record<string, string> }[] = [];
  return {
    calls,
    deadLetters,
    invokeToTheEnd: async (arn: string, event: unknown): Promise<'done' | 'stopped'> => {
      calls.push({ arn, event, at: Date.now() });
      if (failing) throw new Error('function crashed');
      if (unending) return new Promise<'done' | 'stopped'>(() => {});
      return 'done';
    },
    deadLetter: async (queueArn: string, body: string, attributes: Record<string, string>) => {
      deadLetters.push({ queueArn, body, attributes });
    },
  };
}

/** A clock that runs at real speed but reads `leadMs` before the whole second `dueAt`, which at() can name. */
function clockBefore(leadMs: number) {
  const dueAt = Math.ceil((Date.now() + 3_600_000) / 1000) * 1000;
  const shift = dueAt - leadMs - Date.now();
  return { dueAt, now: () => Date.now() + shift };
}

/** The at() expression for an instant, in UTC. */
const at = (ms: number) => `at(${new Date(ms).toISOString().slice(0, 19)})`;

async function waitFor(condition: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`not true within ${timeoutMs} ms`);
    await sleep(10);
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function scheduleInput(overrides: Partial<CreateScheduleCommandInput> = {}): CreateScheduleCommandInput {
  return {
    Name: 'release-hold-order-1',
    ScheduleExpression: at(Date.now() + DAY_MS),
    FlexibleTimeWindow: { Mode: 'OFF' },
    Target: {
      Arn: FUNCTION_ARN,
      RoleArn: 'arn:aws:iam::000000000000:role/scheduler',
      Input: JSON.stringify({ orderId: 'order-1', action: 'release' }),
    },
    ...overrides,
  };
}

describe('the local EventBridge Scheduler', () => {
  let dataDir: string;
  const started: LocalScheduler[] = [];
  const clients: SchedulerClient[] = [];
  const lines: string[] = [];

  /** Starts a scheduler on this test's data folder and a real SDK client on its endpoint. */
  async function start(lambdas: ReturnType<typeof fakeLambdas>, now?: () => number) {
    const scheduler = new LocalScheduler(lambdas, { dataDir, log: (line) => lines.push(line), now });
    await scheduler.start();
    started.push(scheduler);
    const client = new SchedulerClient({ endpoint: scheduler.endpoint, region, credentials, maxAttempts: 1 });
    clients.push(client);
    return { scheduler, client };
  }

  async function rejection(promise: Promise<unknown>): Promise<SchedulerServiceException> {
    const error = await promise.then(
      () => assert.fail('expected the call to fail'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof SchedulerServiceException, `not a scheduler exception: ${String(error)}`);
    return error;
  }

  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'switchboard-scheduler-'));
    lines.length = 0;
  });

  afterEach(async () => {
    for (const client of clients.splice(0)) client.destroy();
    for (const scheduler of started.splice(0)) await scheduler.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('invokes the target with the parsed Input when the schedule comes due, and keeps it', async () => {
    // Prepare
    const lambdas = fakeLambdas();
    // Due a second after the create: long enough that a loaded machine answers the create before it.
    const plannedAt = Date.now();
    const clock = clockBefore(1000);
    const { scheduler, client } = await start(lambdas, clock.now);

    // Act
    const created = await client.send(
      new CreateScheduleCommand(scheduleInput({ ScheduleExpression: at(clock.dueAt) })),
    );
    const callsRightAfterCreate = lambdas.calls.length;
    await waitFor(() => lambdas.calls.length > 0);
    await sleep(100);

    // Assess
    assert.equal(
      created.ScheduleArn,
      'arn:aws:scheduler:us-east-1:000000000000:schedule/default/release-hold-order-1',
    );
    assert.equal(callsRightAfterCreate, 0);
    assert.equal(lambdas.calls.length, 1);
    assert.equal(lambdas.calls[0]?.arn, FUNCTION_ARN);
    assert.deepEqual(lambdas.calls[0]?.event, { orderId: 'order-1', action: 'release' });
    assert.ok((lambdas.calls[0]?.at ?? 0) - plannedAt >= 950, 'fired before its due time');
    assert.equal(scheduler.invocations, 1);
    assert.ok(lines.includes(`[scheduler] release-hold-order-1 → ${FUNCTION_ARN}`));
    const kept = await client.send(new GetScheduleCommand({ Name: 'release-hold-order-1' }));
    assert.equal(kept.State, 'ENABLED');
    assert.equal(kept.ActionAfterCompletion, 'NONE');
    assert.equal(kept.GroupName, 'default');
    assert.equal(kept.ScheduleExpression, at(clock.dueAt));
    assert.equal(kept.Target?.Arn, FUNCTION_ARN);
    assert.equal(kept.Target?.Input, JSON.stringify({ orderId: 'order-1', action: 'release' }));
    assert.ok(kept.CreationDate instanceof Date);
    assert.ok(Math.abs((kept.CreationDate?.getTime() ?? 0) - (clock.dueAt - 300)) < 1000);
  });

  it('never invokes a schedule deleted before it comes due', async () => {
    // Prepare
    const lambdas = fakeLambdas();
    const clock = clockBefore(300);
    const { scheduler, client } = await start(lambdas, clock.now);
    await client.send(new CreateScheduleCommand(scheduleInput({ ScheduleExpression: at(clock.dueAt) })));

    // Act
    const deleted = await client.send(new DeleteScheduleCommand({ Name: 'release-hold-order-1' }));
    await sleep(600);

    // Assess
    assert.equal(deleted.$metadata.httpStatusCode, 200);
    assert.equal(lambdas.calls.length, 0);
    assert.equal(scheduler.invocations, 0);
    const error = await rejection(client.send(new GetScheduleCommand({ Name: 'release-hold-order-1' })));
    assert.ok(error instanceof ResourceNotFoundException);
  });

  it('refuses a second schedule of the same name in a group with ConflictException', async () => {
    // Prepare
    const { client } = await start(fakeLambdas());
    await client.send(new CreateScheduleCommand(scheduleInput()));

    // Act
    const error = await rejection(client.send(new CreateScheduleCommand(scheduleInput())));
    const otherGroup = await client.send(new CreateScheduleCommand(scheduleInput({ GroupName: 'holds' })));
    const retried = await client.send(
      new CreateScheduleCommand(scheduleInput({ Name: 'retried', ClientToken: 'token-1' })),
    );
    const retriedAgain = await client.send(
      new CreateScheduleCommand(scheduleInput({ Name: 'retried', ClientToken: 'token-1' })),
    );

    // Assess
    assert.ok(error instanceof ConflictException);
    assert.equal(error.name, 'ConflictException');
    assert.equal(error.$metadata.httpStatusCode, 409);
    assert.match(error.message, /release-hold-order-1 already exists/);
    assert.equal(
      otherGroup.ScheduleArn,
      'arn:aws:scheduler:us-east-1:000000000000:schedule/holds/release-hold-order-1',
    );
    assert.equal(retriedAgain.ScheduleArn, retried.ScheduleArn);
  });

  it('answers ResourceNotFoundException for a schedule that does not exist', async () => {
    // Prepare
    const { scheduler, client } = await start(fakeLambdas());
    await client.send(new CreateScheduleCommand(scheduleInput({ GroupName: 'holds' })));

    // Act
    const onDelete = await rejection(client.send(new DeleteScheduleCommand({ Name: 'missing' })));
    const onGet = await rejection(client.send(new GetScheduleCommand({ Name: 'missing' })));
    const inOtherGroup = await rejection(
      client.send(new GetScheduleCommand({ Name: 'release-hold-order-1' })),
    );
    const raw = await fetch(`${scheduler.endpoint}/schedules/missing`);

    // Assess
    for (const error of [onDelete, onGet, inOtherGroup]) {
      assert.ok(error instanceof ResourceNotFoundException);
      assert.equal(error.$metadata.httpStatusCode, 404);
    }
    assert.match(onGet.message, /missing does not exist/);
    assert.equal(raw.status, 404);
    assert.equal(raw.headers.get('x-amzn-errortype'), 'ResourceNotFoundException');
    assert.deepEqual(await raw.json(), { Message: 'Schedule missing does not exist.' });
  });

  it('answers ValidationException naming the member for a bad name, a missing Target and a rate()', async () => {
    // Prepare
    const { client } = await start(fakeLambdas());
    const { Target: _omitted, ...withoutTarget } = scheduleInput();

    // Act
    const badName = await rejection(
      client.send(new CreateScheduleCommand(scheduleInput({ Name: 'bad name!' }))),
    );
    const longName = await rejection(
      client.send(new CreateScheduleCommand(scheduleInput({ Name: 'n'.repeat(65) }))),
    );
    const noTarget = await rejection(
      client.send(new CreateScheduleCommand(withoutTarget as CreateScheduleCommandInput)),
    );
    const noRole = await rejection(
      client.send(
        new CreateScheduleCommand(
          scheduleInput({ Target: { Arn: FUNCTION_ARN } as CreateScheduleCommandInput['Target'] }),
        ),
      ),
    );
    const rate = await rejection(
      client.send(new CreateScheduleCommand(scheduleInput({ ScheduleExpression: 'rate(5 minutes)' }))),
    );
    const noSuchDay = await rejection(
      client.send(
        new CreateScheduleCommand(scheduleInput({ ScheduleExpression: 'at(2030-02-30T10:00:00)' })),
      ),
    );
    const listed = await client.send(new ListSchedulesCommand({}));

    // Assess
    for (const error of [badName, longName, noTarget, noRole, rate, noSuchDay]) {
      assert.ok(error instanceof ValidationException, `${error.name}: ${error.message}`);
      assert.equal(error.$metadata.httpStatusCode, 400);
    }
    assert.match(badName.message, /'Name'.*regular expression pattern/);
    assert.match(longName.message, /'Name'.*less than or equal to 64/);
    assert.match(noTarget.message, /'Target' failed to satisfy constraint: Member must not be null/);
    assert.match(noRole.message, /'Target\.RoleArn'/);
    assert.match(rate.message, /supports one-time at\(\) schedules only/);
    assert.match(noSuchDay.message, /at\(2030-02-30T10:00:00\)/);
    assert.deepEqual(listed.Schedules, []);
  });

  it('reads an at() expression in the IANA time zone given, and refuses a time a DST change skips', async () => {
    // Prepare: 12:00 in Berlin in July is 10:00 UTC; the clock reads 300 ms before that.
    const lambdas = fakeLambdas();
    const dueAt = Date.UTC(2030, 6, 1, 10, 0, 0);
    const shift = dueAt - 300 - Date.now();
    const { client } = await start(lambdas, () => Date.now() + shift);

    // Act
    await client.send(
      new CreateScheduleCommand(
        scheduleInput({
          ScheduleExpression: 'at(2030-07-01T12:00:00)',
          ScheduleExpressionTimezone: 'Europe/Berlin',
        }),
      ),
    );
    await waitFor(() => lambdas.calls.length > 0);
    const skipped = await rejection(
      client.send(
        new CreateScheduleCommand(
          scheduleInput({
            Name: 'skipped',
            ScheduleExpression: 'at(2030-03-31T02:30:00)',
            ScheduleExpressionTimezone: 'Europe/Berlin',
          }),
        ),
      ),
    );
    const unknownZone = await rejection(
      client.send(
        new CreateScheduleCommand(
          scheduleInput({ Name: 'unknown-zone', ScheduleExpressionTimezone: 'Mars/Olympus_Mons' }),
        ),
      ),
    );

    // Assess
    assert.equal(lambdas.calls.length, 1);
    assert.ok(skipped instanceof ValidationException);
    assert.match(skipped.message, /does not exist in Europe\/Berlin/);
    assert.ok(unknownZone instanceof ValidationException);
    assert.match(unknownZone.message, /ScheduleExpressionTimezone Mars\/Olympus_Mons/);
  });

  it('deletes a schedule whose ActionAfterCompletion is DELETE once it has invoked its target', async () => {
    // Prepare
    const lambdas = fakeLambdas();
    const clock = clockBefore(300);
    const { client } = await start(lambdas, clock.now);
    await client.send(
      new CreateScheduleCommand(
        scheduleInput({ ScheduleExpression: at(clock.dueAt), ActionAfterCompletion: 'DELETE' }),
      ),
    );
    const before = await client.send(new ListSchedulesCommand({}));

    // Act
    await waitFor(() => lambdas.calls.length > 0);
    await sleep(50);

    // Assess
    assert.deepEqual(
      before.Schedules?.map((s) => s.Name),
      ['release-hold-order-1'],
    );
    const error = await rejection(client.send(new GetScheduleCommand({ Name: 'release-hold-order-1' })));
    assert.ok(error instanceof ResourceNotFoundException);
    assert.deepEqual((await client.send(new ListSchedulesCommand({}))).Schedules, []);
    const saved = JSON.parse(readFileSync(join(dataDir, 'schedules.json'), 'utf8')) as {
      schedules: unknown[];
    };
    assert.deepEqual(saved.schedules, []);
  });

  it('lists summaries filtered by group, name prefix and state, a page at a time', async () => {
    // Prepare
    const { client } = await start(fakeLambdas());
    await client.send(new CreateScheduleCommand(scheduleInput({ Name: 'hold-a' })));
    await client.send(new CreateScheduleCommand(scheduleInput({ Name: 'hold-b', State: 'DISABLED' })));
    await client.send(new CreateScheduleCommand(scheduleInput({ Name: 'retry-a' })));
    await client.send(new CreateScheduleCommand(scheduleInput({ Name: 'hold-c', GroupName: 'other' })));

    // Act
    const byPrefix = await client.send(
      new ListSchedulesCommand({ GroupName: 'default', NamePrefix: 'hold-' }),
    );
    const enabled = await client.send(new ListSchedulesCommand({ State: 'ENABLED' }));
    const firstPage = await client.send(new ListSchedulesCommand({ GroupName: 'default', MaxResults: 2 }));
    const secondPage = await client.send(
      new ListSchedulesCommand({ GroupName: 'default', MaxResults: 2, NextToken: firstPage.NextToken }),
    );

    // Assess
    assert.deepEqual(
      byPrefix.Schedules?.map((s) => [s.Name, s.State, s.GroupName, s.Target?.Arn]),
      [
        ['hold-a', 'ENABLED', 'default', FUNCTION_ARN],
        ['hold-b', 'DISABLED', 'default', FUNCTION_ARN],
      ],
    );
    assert.ok(byPrefix.Schedules?.[0]?.CreationDate instanceof Date);
    assert.deepEqual(enabled.Schedules?.map((s) => s.Name).sort(), ['hold-a', 'hold-c', 'retry-a']);
    assert.deepEqual(
      firstPage.Schedules?.map((s) => s.Name),
      ['hold-a', 'hold-b'],
    );
    assert.ok(firstPage.NextToken);
    assert.deepEqual(
      secondPage.Schedules?.map((s) => s.Name),
      ['retry-a'],
    );
    assert.equal(secondPage.NextToken, undefined);
  });

  it('survives a restart: a pending schedule fires later, one that came due while stopped fires at once', async () => {
    // Prepare: the first scheduler's clock is 2 s before `pending`; `overdue` is due 1 s before it.
    const clock = clockBefore(2000);
    const first = await start(fakeLambdas(), clock.now);
    await first.client.send(
      new CreateScheduleCommand(
        scheduleInput({ Name: 'overdue', ScheduleExpression: at(clock.dueAt - 1000) }),
      ),
    );
    await first.client.send(
      new CreateScheduleCommand(scheduleInput({ Name: 'pending', ScheduleExpression: at(clock.dueAt) })),
    );
    await first.scheduler.stop();

    // Act: started again when the clock reads 300 ms before `pending`.
    const lambdas = fakeLambdas();
    const shift = clock.dueAt - 300 - Date.now();
    const restartedAt = Date.now();
    const second = await start(lambdas, () => Date.now() + shift);
    await waitFor(() => lambdas.calls.length >= 2);
    const third = await start(fakeLambdas(), () => Date.now() + shift + 60_000);
    await sleep(100);

    // Assess
    assert.equal(first.scheduler.invocations, 0);
    const [overdue, pending] = lambdas.calls;
    assert.ok(overdue && pending);
    assert.ok(
      overdue.at - restartedAt < 200,
      `overdue fired ${overdue.at - restartedAt} ms after the restart`,
    );
    assert.ok(
      pending.at - restartedAt >= 250,
      `pending fired ${pending.at - restartedAt} ms after the restart`,
    );
    assert.equal(second.scheduler.invocations, 2);
    // A fired schedule that is kept never fires again on a later start.
    assert.equal(third.scheduler.invocations, 0);
    const kept = await third.client.send(new ListSchedulesCommand({}));
    assert.deepEqual(
      kept.Schedules?.map((s) => s.Name),
      ['overdue', 'pending'],
    );
  });

  it('fires a schedule again at the next start when the runtime stopped before its invocation ended', async () => {
    // Prepare: the schedule fires, and its function is still running when the runtime is killed.
    const clock = clockBefore(100);
    const first = await start(fakeLambdas(false, true), clock.now);
    await first.client.send(
      new CreateScheduleCommand(scheduleInput({ ScheduleExpression: at(clock.dueAt) })),
    );
    await waitFor(() => first.scheduler.invocations === 1);
    await first.scheduler.stop();

    // Act
    const lambdas = fakeLambdas();
    const second = await start(lambdas, clock.now);
    await waitFor(() => lambdas.calls.length === 1);
    await sleep(50);
    const third = await start(fakeLambdas(), clock.now);
    await sleep(100);

    // Assess: at least once; and once it has ended, never again.
    assert.equal(second.scheduler.invocations, 1);
    assert.equal(third.scheduler.invocations, 0);
  });

  it('keeps a schedule due in 40 days without firing it, across a restart', async () => {
    // Prepare
    const lambdas = fakeLambdas();
    const { scheduler, client } = await start(lambdas);
    const dueAt = Date.now() + 40 * DAY_MS;

    // Act
    await client.send(new CreateScheduleCommand(scheduleInput({ ScheduleExpression: at(dueAt) })));
    await sleep(200);
    await scheduler.stop();
    const restarted = await start(lambdas);
    await sleep(200);

    // Assess
    assert.equal(lambdas.calls.length, 0);
    assert.equal(restarted.scheduler.invocations, 0);
    const kept = await restarted.client.send(new GetScheduleCommand({ Name: 'release-hold-order-1' }));
    assert.equal(kept.ScheduleExpression, at(dueAt));
    assert.ok(existsSync(join(dataDir, 'schedules.json')));
  });

  it('logs a failed invocation and goes on', async () => {
    // Prepare
    const lambdas = fakeLambdas(true);
    const clock = clockBefore(100);
    const { scheduler, client } = await start(lambdas, clock.now);

    // Act
    await client.send(new CreateScheduleCommand(scheduleInput({ ScheduleExpression: at(clock.dueAt) })));
    await waitFor(() => lines.some((line) => line.includes('failed')));
    const afterwards = await client.send(new GetScheduleCommand({ Name: 'release-hold-order-1' }));

    // Assess
    assert.equal(scheduler.invocations, 1);
    assert.ok(lines.includes(`[scheduler] release-hold-order-1 → ${FUNCTION_ARN} failed: function crashed`));
    assert.equal(afterwards.Name, 'release-hold-order-1');
  });

  it("sends what it could not invoke to the target's dead-letter queue, with why", async () => {
    // Prepare
    const lambdas = fakeLambdas(true);
    const clock = clockBefore(100);
    const { client } = await start(lambdas, clock.now);
    const deadLetterArn = 'arn:aws:sqs:us-east-1:000000000000:undelivered';
    const input = scheduleInput({ ScheduleExpression: at(clock.dueAt) });
    const target = {
      Arn: FUNCTION_ARN,
      RoleArn: 'arn:aws:iam::000000000000:role/scheduler',
      Input: input.Target?.Input,
    };

    // Act
    await client.send(
      new CreateScheduleCommand({
        ...input,
        Target: { ...target, DeadLetterConfig: { Arn: deadLetterArn } },
      }),
    );
    await waitFor(() => lambdas.deadLetters.length > 0);

    // Assess
    assert.deepEqual(lambdas.deadLetters[0]?.queueArn, deadLetterArn);
    assert.equal(lambdas.deadLetters[0]?.body, input.Target?.Input);
    assert.equal(lambdas.deadLetters[0]?.attributes.ERROR_MESSAGE, 'function crashed');
    assert.equal(lambdas.deadLetters[0]?.attributes.TARGET_ARN, FUNCTION_ARN);
    assert.match(
      lambdas.deadLetters[0]?.attributes.SCHEDULE_ARN ?? '',
      /schedule\/default\/release-hold-order-1$/,
    );
  });

  it('names the operation it does not implement', async () => {
    // Prepare
    const { client } = await start(fakeLambdas());

    // Act
    const error = await rejection(client.send(new UpdateScheduleCommand(scheduleInput())));

    // Assess
    assert.equal(error.name, 'UnknownOperationException');
    assert.equal(error.$metadata.httpStatusCode, 400);
    assert.match(error.message, /does not implement UpdateSchedule/);
  });
});
