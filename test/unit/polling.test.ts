import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { callbackNonce } from '../../lambdas/domain/callback';
import {
  type Catalog,
  pollDelaySeconds,
  pollingSchema,
  systemInterfaceSchema,
} from '../../lambdas/domain/catalog';
import { CalloutError } from '../../lambdas/domain/errors';
import type { PollStatusMessage, WorkQueueMessage } from '../../lambdas/ports/work-queue';
import { pollStatus } from '../../lambdas/use-cases/poll-status';
import { runItem } from '../../lambdas/use-cases/run-item';
import { ACTIVATE_ONLY, asyncCatalog, asyncWorld, dispatch, ORDER } from './fixtures/async';
import { jsonAnswer, type Responder } from './fixtures/fake-ports';
import { capturedLogs } from './fixtures/logs';

/**
 * Polling (SystemInterface.polling): the acceptance's answer names the status path, each poll is a work
 * message of the attempt that waits, and what a poll finds is applied as a callback would be.
 */

/** The async activation of the fixtures, polled at /jobs/<jobId> with the job document mapped. */
function pollingCatalog(): Catalog {
  const catalog = asyncCatalog();
  const activation = catalog.interfaces['activate-line'];
  assert.ok(activation);
  const { asyncResponseMapping: _none, ...rest } = activation;
  catalog.interfaces['activate-line'] = {
    ...rest,
    polling: pollingSchema.parse({
      path: '/jobs/{response.jobId}',
      statusMapping: 'job-status',
      intervalSeconds: 2,
      backoffRate: 2,
      maxIntervalSeconds: 10,
    }),
  };
  catalog.mappings['job-status'] = `(
    body.status = "DONE" ? { "outcome": "completed", "attributes": { "serviceId": body.serviceId } } :
    body.status = "FAILED" ? { "outcome": "failed", "reason": body.error } :
    body.status = "RUNNING" ? { "outcome": "interim", "attributes": { "progress": body.progress } } :
    body.status = "QUEUED" ? { "outcome": "interim" }
  )`;
  return catalog;
}

/** Activation accepts with a job id; the job's status answers are `statuses`, one per poll, the last repeated. */
function jobSystem(statuses: (() => ReturnType<Responder>)[]): Responder & { polls: number } {
  const responder = ((request) => {
    if (!request.url.endsWith('/jobs/J-1')) return jsonAnswer(202, { jobId: 'J-1', status: 'QUEUED' });
    assert.equal(request.method, 'GET');
    const answer = statuses[Math.min(responder.polls, statuses.length - 1)];
    responder.polls += 1;
    assert.ok(answer);
    return answer();
  }) as Responder & { polls: number };
  responder.polls = 0;
  return responder;
}

const polls = (sent: readonly WorkQueueMessage[]) =>
  sent.filter((m): m is PollStatusMessage => m.kind === 'poll');

async function accepted(t: TestContext, statuses: (() => ReturnType<Responder>)[]) {
  capturedLogs(t);
  const system = jobSystem(statuses);
  const world = await asyncWorld({ catalog: pollingCatalog(), responder: system });
  await runItem(world.worker, dispatch(ACTIVATE_ONLY, 'token-1'), 'delivery-1');
  return { ...world, system };
}

/** Handles the latest poll message the worker queued; returns it. */
async function pollNow(world: Awaited<ReturnType<typeof accepted>>): Promise<PollStatusMessage> {
  const message = polls(world.queue.sent).at(-1);
  assert.ok(message, 'a poll was queued');
  await pollStatus(world.worker, message);
  return message;
}

describe('polling: a system that cannot call back is asked for the status of the work it accepted', () => {
  it('waits on the acceptance with the status path filled from its answer, and queues the first poll', async (t) => {
    const world = await accepted(t, [() => jsonAnswer(200, { status: 'QUEUED' })]);

    const item = world.store.item(ORDER, ACTIVATE_ONLY);
    assert.equal(item.state, 'Running', item.error);
    assert.deepEqual(item.awaiting?.poll, { path: '/jobs/J-1' });
    const [first] = polls(world.queue.sent);
    assert.deepEqual(first, {
      kind: 'poll',
      orderId: ORDER,
      itemKey: ACTIVATE_ONLY,
      nonce: callbackNonce('delivery-1'),
      attemptId: 'delivery-1',
      count: 0,
    });
    assert.equal(world.queue.delays.at(-1), 2, 'the first poll after the interval');
  });

  it('polls until the job is done, growing the interval, keeping interim attributes, completing once', async (t) => {
    const world = await accepted(t, [
      () => jsonAnswer(200, { status: 'QUEUED' }),
      () => jsonAnswer(200, { status: 'RUNNING', progress: 50 }),
      () => jsonAnswer(200, { status: 'DONE', serviceId: 'SVC-9' }),
    ]);

    await pollNow(world);
    assert.equal(world.store.item(ORDER, ACTIVATE_ONLY).state, 'Running');
    assert.equal(world.queue.delays.at(-1), 4, 'then twice as long');
    await pollNow(world);
    assert.deepEqual(world.store.item(ORDER, ACTIVATE_ONLY).interimAttributes, { progress: 50 });
    assert.equal(world.queue.delays.at(-1), 8);
    const last = await pollNow(world);

    const done = world.store.item(ORDER, ACTIVATE_ONLY);
    assert.equal(done.state, 'Completed');
    assert.deepEqual(done.outputAttributes, { progress: 50, serviceId: 'SVC-9' });
    assert.equal(world.system.polls, 3);
    // The same poll message again (a redelivery) and a later poll change nothing and ask nothing.
    const queued = world.queue.sent.length;
    await pollStatus(world.worker, last);
    await pollStatus(world.worker, { ...last, count: last.count + 1 });
    assert.equal(world.system.polls, 3);
    assert.equal(world.queue.sent.length, queued);
    assert.equal(
      world.store.item(ORDER, ACTIVATE_ONLY).history.filter((h) => h.state === 'Completed').length,
      1,
    );
  });

  it('applies a done job once when the system also calls back with it', async (t) => {
    const world = await accepted(t, [() => jsonAnswer(200, { status: 'DONE', serviceId: 'SVC-9' })]);
    const message = polls(world.queue.sent).at(-1);
    assert.ok(message);
    // The system's callback (in Switchboard's shape) comes first; the poll then finds the wait over.
    const { applyCallback } = await import('../../lambdas/use-cases/apply-callback');
    const { correlationFor } = await import('./fixtures/async');
    assert.equal(
      await applyCallback(world.correlator, {
        correlationId: correlationFor(ACTIVATE_ONLY, 'delivery-1'),
        callbackId: 'cb-1',
        body: { status: 'completed', serviceId: 'SVC-9' },
        outcome: { status: 'completed', attributes: { serviceId: 'SVC-9' } },
        receivedAt: '2025-03-01T10:00:00.000Z',
      }),
      'applied',
    );
    await pollStatus(world.worker, message);
    assert.equal(world.system.polls, 0, 'a wait that is over is not polled');
    assert.equal(world.store.item(ORDER, ACTIVATE_ONLY).state, 'Completed');
  });

  it('fails the attempt on a reported failure, to the retry rules', async (t) => {
    const world = await accepted(t, [() => jsonAnswer(200, { status: 'FAILED', error: 'no such line' })]);
    await pollNow(world);
    const item = world.store.item(ORDER, ACTIVATE_ONLY);
    assert.equal(item.state, 'FatallyFailed');
    assert.match(item.error ?? '', /^the system reported failure: no such line \(no retry rule matches/);
  });

  it('retries under the default rule a poll the system answered 503, as a failed callout', async (t) => {
    const world = await accepted(t, [() => jsonAnswer(503, { error: 'busy' })]);
    await pollNow(world);
    const item = world.store.item(ORDER, ACTIVATE_ONLY);
    assert.equal(item.state, 'Failed');
    assert.match(item.error ?? '', /^status poll of \/jobs\/J-1: answered 503/);
    assert.equal(item.awaiting, undefined, 'its retry sends the request again');
  });

  it('retries a poll that could not connect, and fails as unusable a status its mapping cannot read', async (t) => {
    const refused = await accepted(t, [
      () => {
        throw new CalloutError('connection refused', undefined, true);
      },
    ]);
    await pollNow(refused);
    assert.equal(refused.store.item(ORDER, ACTIVATE_ONLY).state, 'Failed');

    const unreadable = await accepted(t, [() => jsonAnswer(200, { status: 'WHO-KNOWS' })]);
    await pollNow(unreadable);
    const item = unreadable.store.item(ORDER, ACTIVATE_ONLY);
    assert.equal(item.state, 'FatallyFailed');
    assert.match(item.error ?? '', /mapping "job-status": produced no value/);
  });

  it('counts a poll that could not connect against the circuit breaker, which holds the item when it trips', async (t) => {
    capturedLogs(t);
    const catalog = pollingCatalog();
    const activation = catalog.systems.activation;
    assert.ok(activation);
    catalog.systems.activation = {
      ...activation,
      circuitBreaker: { failureThreshold: 1, healthPath: '/health', probeIntervalSeconds: 30 },
    };
    const system = jobSystem([
      () => {
        throw new CalloutError('connection refused', undefined, true);
      },
    ]);
    const world = await asyncWorld({ catalog, responder: system });
    await runItem(world.worker, dispatch(ACTIVATE_ONLY, 'token-1'), 'delivery-1');
    const message = polls(world.queue.sent).at(-1);
    assert.ok(message);

    await pollStatus(world.worker, message);

    const item = world.store.item(ORDER, ACTIVATE_ONLY);
    assert.equal(item.state, 'OnHold');
    assert.match(
      item.hold?.reason ?? '',
      /system "activation" is Down: 1 connection failures or timeouts in a row/,
    );
    assert.equal((await world.worker.config.getSystem('activation'))?.state, 'Down');
    assert.ok(
      world.queue.sent.some((m) => m.kind === 'probe'),
      'its health is probed',
    );
  });

  it('holds the item, polling nothing, while its system is Down; released, it polls on', async (t) => {
    const world = await accepted(t, [
      () => jsonAnswer(200, { status: 'RUNNING', progress: 10 }),
      () => jsonAnswer(200, { status: 'DONE', serviceId: 'SVC-9' }),
    ]);
    await world.worker.config.setSystemState('activation', 'Down', {
      by: { id: 'op-1', name: 'Olga' },
      reason: 'upgrade',
      cause: 'operator',
      at: '2025-03-01T10:00:00.000Z',
    });
    await pollNow(world);
    const held = world.store.item(ORDER, ACTIVATE_ONLY);
    assert.equal(held.state, 'OnHold');
    assert.equal(held.hold?.systemId, 'activation');
    assert.deepEqual(held.awaiting?.poll, { path: '/jobs/J-1' }, 'it keeps what it polls');
    assert.equal(world.system.polls, 0);

    await world.worker.config.setSystemState('activation', 'Up', {
      by: { id: 'op-1', name: 'Olga' },
      reason: 'done',
      cause: 'operator',
      at: '2025-03-01T10:00:01.000Z',
    });
    // The release's start message: the item is claimed and polls instead of sending its request again.
    await runItem(world.worker, { kind: 'start', orderId: ORDER, itemKey: ACTIVATE_ONLY }, 'release-1');
    const resumed = world.store.item(ORDER, ACTIVATE_ONLY);
    assert.equal(resumed.state, 'Running');
    assert.equal(resumed.attemptId, 'release-1');
    assert.equal(world.system.polls, 1);
    assert.equal(
      world.http.requests.filter((r) => !r.url.endsWith('/jobs/J-1')).length,
      1,
      'no second request',
    );
    assert.equal(polls(world.queue.sent).at(-1)?.attemptId, 'release-1', 'polled on by the new attempt');
    await pollNow(world);
    assert.equal(world.store.item(ORDER, ACTIVATE_ONLY).state, 'Completed');
  });

  it('refuses a status path the acceptance cannot fill, failing the callout as unusable', async (t) => {
    capturedLogs(t);
    const world = await asyncWorld({
      catalog: pollingCatalog(),
      responder: () => jsonAnswer(202, { status: 'accepted' }),
    });
    await runItem(world.worker, dispatch(ACTIVATE_ONLY, 'token-1'), 'delivery-1');
    const item = world.store.item(ORDER, ACTIVATE_ONLY);
    assert.equal(item.state, 'FatallyFailed');
    assert.match(item.error ?? '', /placeholder \{response\.jobId\} produced no value/);
  });
});

describe('the polling block of an interface', () => {
  const base = { id: 'jobs', system: 'legacy', method: 'POST', path: '/jobs', adapter: 'async-rest' };

  it('grows the interval by the backoff up to its maximum', () => {
    const polling = pollingSchema.parse({
      path: '/jobs/{response.id}',
      statusMapping: 's',
      intervalSeconds: 5,
      backoffRate: 1.5,
      maxIntervalSeconds: 20,
    });
    assert.deepEqual(
      [0, 1, 2, 3, 4, 5].map((n) => pollDelaySeconds(polling, n)),
      [5, 8, 11, 17, 20, 20],
    );
    const steady = pollingSchema.parse({ path: '/s', statusMapping: 's' });
    assert.deepEqual(
      [0, 7].map((n) => pollDelaySeconds(steady, n)),
      [30, 30],
    );
  });

  for (const [what, polling, field] of [
    [
      'a maximum below the interval',
      { intervalSeconds: 10, maxIntervalSeconds: 5 },
      'polling.maxIntervalSeconds',
    ],
    ['an interval beyond SQS’s 15 minutes', { intervalSeconds: 901 }, 'polling.intervalSeconds'],
    ['a backoff that shrinks', { backoffRate: 0.5 }, 'polling.backoffRate'],
    ['a path with a broken placeholder', { path: '/jobs/{response.id' }, 'polling.path'],
    ['an unknown field', { method: 'POST' }, 'polling'],
  ] as [string, Record<string, unknown>, string][]) {
    it(`refuses ${what}, naming ${field}`, () => {
      const parsed = systemInterfaceSchema.safeParse({
        ...base,
        polling: { path: '/jobs/{response.id}', statusMapping: 's', ...polling },
      });
      assert.equal(parsed.success, false);
      assert.ok(
        parsed.error?.issues.some((i) => i.path.join('.') === field),
        JSON.stringify(parsed.error?.issues),
      );
    });
  }

  it('is for asynchronous interfaces, as is a callback mapping, which replaces an async-response mapping', () => {
    const sync = systemInterfaceSchema.safeParse({
      ...base,
      adapter: 'sync-rest',
      callbackMapping: 'c',
      polling: { path: '/jobs/1', statusMapping: 's' },
    });
    assert.deepEqual(sync.error?.issues.map((i) => i.path.join('.')).sort(), ['callbackMapping', 'polling']);
    const both = systemInterfaceSchema.safeParse({
      ...base,
      callbackMapping: 'c',
      asyncResponseMapping: 'a',
    });
    assert.deepEqual(
      both.error?.issues.map((i) => i.path.join('.')),
      ['asyncResponseMapping'],
    );
  });
});
