import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import type { SQSEvent } from 'aws-lambda';
import { handleCallbackBatch } from '../../lambdas/callback-correlator/handler';
import type { CallbackBody } from '../../lambdas/domain/callback';
import { callbackNonce, correlationIdOf } from '../../lambdas/domain/callback';
import type { Comeback, Redelivery } from '../../lambdas/ports/redelivery';
import { applyCallback } from '../../lambdas/use-cases/apply-callback';
import { receiveCallback } from '../../lambdas/use-cases/receive-callback';
import { runItem } from '../../lambdas/use-cases/run-item';
import {
  ACTIVATE,
  ACTIVATE_ONLY,
  asyncCatalog,
  asyncWorld,
  callbackMessage,
  correlationFor,
  DONE,
  deadlinesIn,
  dispatch,
  ORDER,
  RESERVE,
  start,
  T0,
} from './fixtures/async';
import { jsonAnswer, type RecordingTelemetry } from './fixtures/fake-ports';
import { capturedLogs } from './fixtures/logs';

/** Keeps the correlator's warnings and info lines out of the test report. */
function quietLogs(t: TestContext): void {
  capturedLogs(t);
}

/** An order whose async activation (activate-only) was accepted under `delivery-1` and waits for its callback. */
async function waiting(t: TestContext, options: Parameters<typeof asyncWorld>[0] = {}) {
  quietLogs(t);
  const world = await asyncWorld(options);
  await runItem(world.worker, dispatch(ACTIVATE_ONLY, 'token-1'), 'delivery-1');
  assert.ok(world.store.item(ORDER, ACTIVATE_ONLY).awaiting, 'the item awaits its callback');
  return { ...world, correlationId: correlationFor(ACTIVATE_ONLY, 'delivery-1') };
}

/** Everything a callback could change, to show that one changed nothing. */
function snapshot(world: Awaited<ReturnType<typeof waiting>>, itemKey = ACTIVATE_ONLY) {
  return {
    item: world.store.item(ORDER, itemKey),
    order: world.store.order(ORDER),
    context: world.store.context(ORDER),
    answers: [...world.tasks.answers],
    sent: [...world.queue.sent],
  };
}

describe('applyCallback', () => {
  it('adds an interim update to the history with its note; the item keeps waiting', async (t) => {
    // Prepare
    const world = await waiting(t);
    const { correlator, store, tasks, queue, correlationId, clock } = world;
    clock.advance(30);
    const message = callbackMessage(correlationId, { status: 'inProgress', note: 'line test passed' });

    // Act
    const result = await applyCallback(correlator, message);

    // Assess
    assert.equal(result, 'applied');
    const item = store.item(ORDER, ACTIVATE_ONLY);
    assert.equal(item.state, 'Running');
    assert.ok(item.awaiting);
    assert.deepEqual(item.history.at(-1), {
      at: '2025-03-01T10:00:30.000Z',
      state: 'Running',
      reason: 'interim update from the system: line test passed',
    });
    assert.equal(
      (await store.getItemForCallback(ORDER, ACTIVATE_ONLY, nonceOf(message), message.callbackId)).keptBefore,
      true,
    );
    assert.equal(item.asyncResponse, undefined);
    assert.deepEqual(store.done(ORDER), []);
    assert.equal(store.order(ORDER).state, 'inProgress');
    assert.deepEqual(store.context(ORDER), {});
    assert.deepEqual(tasks.answers, []);
    assert.equal(queue.sent.length, 1, 'only the deadline');
  });

  it('completes the item with the async mapping, answers its task and completes the order it was last of', async (t) => {
    // Prepare
    const world = await waiting(t);
    const { correlator, store, tasks, queue, correlationId, clock } = world;
    clock.advance(120);
    const body = { status: 'completed' as const, serviceId: 'SVC-1', activationId: 'ACT-1' };

    // Act
    const message = callbackMessage(correlationId, body);
    const result = await applyCallback(correlator, message);

    // Assess
    assert.equal(result, 'applied');
    const item = store.item(ORDER, ACTIVATE_ONLY);
    assert.equal(item.state, 'Completed');
    assert.deepEqual(item.outputAttributes, { serviceId: 'SVC-1' });
    assert.deepEqual(item.asyncResponse, { body, receivedAt: '2025-03-01T10:02:00.000Z' });
    assert.equal(item.history.at(-1)?.reason, "completed by the system's callback");
    assert.equal(item.response?.status, 202, 'the acceptance is kept');
    assert.deepEqual(store.context(ORDER), { serviceId: 'SVC-1' });
    const order = store.order(ORDER);
    assert.deepEqual(store.done(ORDER), [ACTIVATE_ONLY]);
    assert.equal(order.state, 'completed');
    assert.deepEqual(tasks.answers, [
      { taskToken: 'token-1', output: { itemKey: ACTIVATE_ONLY, state: 'Completed' } },
    ]);
    assert.deepEqual(
      queue.sent.map((m) => m.kind),
      ['deadline'],
    );
    // Counted for operators: from the answer at the door to the item done, and the order completed.
    const telemetry = correlator.telemetry as RecordingTelemetry;
    const [toCompletion] = telemetry.recorded.filter((r) => r.name === 'CallbackToCompletion');
    assert.deepEqual(toCompletion?.dimensions, { system: 'activation', interface: 'activate-line' });
    // The door took it two minutes before the correlator applied it.
    assert.equal(toCompletion?.value, Date.parse(item.completedAt ?? '') - Date.parse(message.receivedAt));
    assert.ok((toCompletion?.value ?? 0) >= 120_000);
    assert.deepEqual(telemetry.of('OrdersCompleted'), [': 1']);
  });

  it('starts the dependents of the item it completes, which the async mapping’s attributes reach', async (t) => {
    // Prepare: a DSL line; reserve-port done, activate-line accepted, the milestone dispatched.
    quietLogs(t);
    const world = await asyncWorld({ offering: 'dsl-broadband' });
    const { worker, correlator, store, tasks, queue } = world;
    await runItem(worker, dispatch(DONE, 'token-3'), 'delivery-3');
    await runItem(worker, dispatch(ACTIVATE, 'token-2'), 'delivery-2');
    await runItem(worker, dispatch(RESERVE, 'token-1'), 'delivery-1');
    await runItem(worker, start(ACTIVATE), 'delivery-4');
    assert.ok(store.item(ORDER, ACTIVATE).awaiting);
    const correlationId = correlationFor(ACTIVATE, 'delivery-4');

    // Act
    const result = await applyCallback(
      correlator,
      callbackMessage(correlationId, { status: 'completed', serviceId: 'SVC-9' }),
    );

    // Assess
    assert.equal(result, 'applied');
    assert.deepEqual(store.context(ORDER), { portId: 'P-7', serviceId: 'SVC-9' });
    assert.deepEqual(
      tasks.answers.map((a) => a.taskToken),
      ['token-1', 'token-2'],
    );
    assert.deepEqual(queue.sent.at(-1), start(DONE));
    assert.equal(store.order(ORDER).state, 'inProgress', 'the milestone remains');

    // Act: the milestone runs, and the order is done.
    await runItem(worker, start(DONE), 'delivery-5');

    // Assess
    assert.equal(store.order(ORDER).state, 'completed');
  });

  it('fails the item with the error the system reported and holds the order', async (t) => {
    // Prepare
    const world = await waiting(t);
    const { correlator, store, tasks, correlationId } = world;
    const body = {
      status: 'failed' as const,
      error: { code: 'PORT_FAULT', message: 'the port does not answer' },
    };

    // Act
    const result = await applyCallback(correlator, callbackMessage(correlationId, body));

    // Assess
    assert.equal(result, 'applied');
    const item = store.item(ORDER, ACTIVATE_ONLY);
    assert.equal(item.state, 'FatallyFailed');
    // No rule of the default matches a final answer reporting failure: fallout.
    assert.equal(
      item.error,
      'the system reported failure: PORT_FAULT: the port does not answer (no retry rule matches a final answer reporting failure)',
    );
    assert.deepEqual(item.asyncResponse?.body, body);
    assert.equal(store.order(ORDER).state, 'held');
    assert.deepEqual(store.done(ORDER), []);
    assert.deepEqual(store.context(ORDER), {});
    assert.deepEqual(tasks.answers, []);
  });

  for (const [what, body, error] of [
    ['a note only', { status: 'failed', note: 'no capacity' }, 'no capacity'],
    ['nothing', { status: 'failed' }, 'no reason given'],
    ['an error without code or message', { status: 'failed', error: { reason: 'x' } }, '{"reason":"x"}'],
  ] as [string, CallbackBody, string][]) {
    it(`says what it can of a failure that gives ${what}`, async (t) => {
      const { correlator, store, correlationId } = await waiting(t);

      await applyCallback(correlator, callbackMessage(correlationId, body));

      assert.equal(
        store.item(ORDER, ACTIVATE_ONLY).error,
        `the system reported failure: ${error} (no retry rule matches a final answer reporting failure)`,
      );
    });
  }

  it('fails the item, naming the mapping, when the async mapping throws', async (t) => {
    // Prepare
    const catalog = asyncCatalog();
    catalog.mappings['activate-callback'] =
      'response.serviceId ? { "serviceId": response.serviceId } : $error("no service id in the answer")';
    const world = await waiting(t, { catalog });
    const { correlator, store, tasks, correlationId } = world;

    // Act
    const result = await applyCallback(correlator, callbackMessage(correlationId, { status: 'completed' }));

    // Assess
    assert.equal(result, 'applied');
    const item = store.item(ORDER, ACTIVATE_ONLY);
    assert.equal(item.state, 'FatallyFailed');
    assert.match(item.error ?? '', /^mapping "activate-callback": /);
    assert.match(item.error ?? '', /no service id in the answer/);
    assert.equal(store.order(ORDER).state, 'held');
    assert.deepEqual(store.context(ORDER), {});
    assert.deepEqual(tasks.answers, []);
  });

  it('fails the item when the async mapping yields no object of attributes', async (t) => {
    const catalog = asyncCatalog();
    catalog.mappings['activate-callback'] = 'response.serviceId';
    const { correlator, store, correlationId } = await waiting(t, { catalog });

    await applyCallback(correlator, callbackMessage(correlationId, { status: 'completed', serviceId: 'S' }));

    assert.equal(
      store.item(ORDER, ACTIVATE_ONLY).error,
      'mapping "activate-callback": must produce an object of attributes (no retry rule matches an answer that cannot be used)',
    );
  });

  for (const status of ['inProgress', 'completed', 'failed'] as const) {
    it(`changes nothing for the same ${status} message twice: the second is a duplicate that only re-finishes`, async (t) => {
      // Prepare
      const world = await waiting(t);
      const message = callbackMessage(world.correlationId, { status, serviceId: 'SVC-1' });
      assert.equal(await applyCallback(world.correlator, message), 'applied');
      const before = snapshot(world);
      world.clock.advance(5);

      // Act
      const result = await applyCallback(world.correlator, message);

      // Assess: a correlator may have died after applying, so the duplicate finishes again: the same task
      // token answered once more (Step Functions ignores it), nothing else different.
      assert.equal(result, 'duplicate');
      const { answers: againAnswers, ...after } = snapshot(world) as Record<string, unknown> & {
        answers: unknown[];
      };
      const { answers: firstAnswers, ...was } = before as Record<string, unknown> & { answers: unknown[] };
      // Replaying the finish touches the order's updatedAt, as the worker's replay of a done item does.
      assert.deepEqual(
        { ...after, order: { ...(after.order as object), updatedAt: undefined } },
        { ...was, order: { ...(was.order as object), updatedAt: undefined } },
      );
      assert.deepEqual(
        new Set(againAnswers.map((a) => JSON.stringify(a))),
        new Set(firstAnswers.map((a) => JSON.stringify(a))),
      );
    });
  }

  it('applies a final answer delivered twice at once exactly once', async (t) => {
    // Prepare
    const world = await waiting(t);
    const message = callbackMessage(world.correlationId, { status: 'completed', serviceId: 'SVC-1' });
    const writes = t.mock.method(world.store, 'applyCallback');

    // Act: both copies read the waiting item before either writes.
    const results = await Promise.all([
      applyCallback(world.correlator, message),
      applyCallback(world.correlator, message),
    ]);

    // Assess
    assert.deepEqual([...results].sort(), ['applied', 'duplicate']);
    assert.equal(writes.mock.callCount(), 2, 'the loser learnt it was a duplicate from its refused write');
    assert.equal(world.tasks.answers.length, 1);
    assert.equal(
      world.store.item(ORDER, ACTIVATE_ONLY).history.filter((h) => h.state === 'Completed').length,
      1,
    );
  });

  it('changes nothing for a second, different final answer after the first', async (t) => {
    const world = await waiting(t);
    await applyCallback(
      world.correlator,
      callbackMessage(world.correlationId, { status: 'completed', serviceId: 'A' }),
    );
    const before = snapshot(world);

    const result = await applyCallback(
      world.correlator,
      callbackMessage(world.correlationId, { status: 'failed', note: 'late' }),
    );

    assert.equal(result, 'not-waiting');
    assert.deepEqual(snapshot(world), before);
  });

  for (const [final, state] of [
    [{ status: 'completed', serviceId: 'A' }, 'Completed'],
    [{ status: 'failed', note: 'no capacity' }, 'FatallyFailed'],
  ] as const) {
    it(`records an interim update overtaken by its final answer (${final.status}) and changes nothing else`, async (t) => {
      // Prepare: both were accepted while the item waited; the queue delivered the final first.
      const world = await waiting(t);
      await applyCallback(world.correlator, callbackMessage(world.correlationId, final));
      const before = snapshot(world);
      world.clock.advance(5);
      const interim = callbackMessage(world.correlationId, {
        status: 'inProgress',
        note: 'line test passed',
      });

      // Act
      const result = await applyCallback(world.correlator, interim);
      const again = await applyCallback(world.correlator, interim);

      // Assess
      assert.equal(result, 'applied');
      assert.equal(again, 'duplicate', 'a redelivery records it no second time');
      const { item, ...rest } = snapshot(world);
      assert.deepEqual(rest, (({ item: _, ...others }) => others)(before), 'order, context, tasks, queue');
      assert.equal(item.state, state);
      assert.deepEqual(item.history, [
        ...before.item.history,
        {
          at: '2025-03-01T10:00:05.000Z',
          state,
          reason:
            'interim update from the system, applied after the final answer that overtook it in the queue: line test passed',
        },
      ]);
      assert.equal(
        (await world.store.getItemForCallback(ORDER, ACTIVATE_ONLY, nonceOf(interim), interim.callbackId))
          .keptBefore,
        true,
      );
      assert.deepEqual(item.asyncResponse, before.item.asyncResponse, 'the final answer stays the answer');
    });
  }

  it('keeps an interim update whose final answer committed between its read and its write before that answer', async (t) => {
    // Prepare: the update reads the item Running; the final answer commits just before the update writes.
    const world = await waiting(t);
    const interim = callbackMessage(world.correlationId, { status: 'inProgress', note: 'half way' });
    const final = callbackMessage(world.correlationId, { status: 'completed', serviceId: 'SVC-1' });
    const write = world.store.applyCallback.bind(world.store);
    let overtook = false;
    t.mock.method(world.store, 'applyCallback', async (...args: Parameters<typeof write>) => {
      if (args[4].kind === 'interim' && !overtook) {
        overtook = true;
        assert.equal(await applyCallback(world.correlator, final), 'applied');
      }
      return write(...args);
    });

    // Act
    const result = await applyCallback(world.correlator, interim);

    // Assess
    assert.equal(result, 'applied');
    const item = world.store.item(ORDER, ACTIVATE_ONLY);
    assert.equal(item.state, 'Completed');
    // It was read while the item waited: it shows where it was received, before the final answer.
    assert.deepEqual(
      item.history.slice(-2).map((h) => [h.state, h.reason]),
      [
        ['Running', 'interim update from the system: half way'],
        ['Completed', "completed by the system's callback"],
      ],
    );
    assert.equal(item.finishedBy, final.callbackId);
    assert.equal(
      (await world.store.getItemForCallback(ORDER, ACTIVATE_ONLY, nonceOf(interim), interim.callbackId))
        .keptBefore,
      true,
    );
  });

  it('changes nothing for an interim update to an attempt a later one replaced', async (t) => {
    // Prepare: the item runs again under delivery-2; the update names delivery-1's wait.
    quietLogs(t);
    const world = await asyncWorld();
    await world.store.claimItem(ORDER, ACTIVATE_ONLY, 'delivery-2', T0, 'prerequisites done; started');
    const before = world.store.item(ORDER, ACTIVATE_ONLY);

    const result = await applyCallback(
      world.correlator,
      callbackMessage(correlationFor(ACTIVATE_ONLY, 'delivery-1'), { status: 'inProgress', note: 'old' }),
    );

    assert.equal(result, 'not-waiting');
    assert.deepEqual(world.store.item(ORDER, ACTIVATE_ONLY), before);
  });

  it('completes an item whose callback came before the worker recorded the acceptance (the early-callback race)', async (t) => {
    // Prepare: activation calls back — and the correlator applies it — before its 202 reaches the worker.
    quietLogs(t);
    let world: Awaited<ReturnType<typeof asyncWorld>> | undefined;
    const earlyResults: string[] = [];
    world = await asyncWorld({
      responder: async (request) => {
        assert.ok(world);
        const url = new URL(request.headers['callback-url'] ?? '');
        const before = world.store.item(ORDER, ACTIVATE_ONLY);
        assert.equal(before.state, 'Running');
        assert.equal(before.awaiting, undefined, 'the acceptance is not recorded yet');
        const raw = JSON.stringify({ status: 'completed', serviceId: 'SVC-EARLY' });
        await receiveCallback(world.intake, {
          correlationId: url.pathname.split('/')[2] ?? '',
          proof: url.pathname.split('/')[3],
          rawBody: raw,
          parseBody: () => JSON.parse(raw),
        });
        for (const message of world.callbackQueue.sent) {
          earlyResults.push(await applyCallback(world.correlator, message));
        }
        return jsonAnswer(202, { activationId: 'ACT-1' });
      },
    });
    const awaitCallback = t.mock.method(world.store, 'awaitCallback');

    // Act
    await runItem(world.worker, dispatch(ACTIVATE_ONLY, 'token-1'), 'delivery-1');

    // Assess
    assert.deepEqual(earlyResults, ['applied']);
    const item = world.store.item(ORDER, ACTIVATE_ONLY);
    assert.equal(item.state, 'Completed');
    assert.deepEqual(item.outputAttributes, { serviceId: 'SVC-EARLY' });
    assert.equal(item.awaiting, undefined);
    assert.equal(awaitCallback.mock.callCount(), 1);
    assert.equal(
      await awaitCallback.mock.calls[0]?.result,
      false,
      "the worker's awaitCallback finds it done",
    );
    assert.deepEqual(deadlinesIn(world.queue.sent), [], 'no deadline queued');
    assert.equal(world.store.order(ORDER).state, 'completed');
    assert.deepEqual(
      world.tasks.answers.map((a) => a.taskToken),
      ['token-1'],
    );
  });

  it('changes nothing for a callback to an earlier wait of the item (a stale nonce)', async (t) => {
    // Prepare: the item runs under delivery-2; the callback names delivery-1's wait.
    quietLogs(t);
    const world = await asyncWorld();
    await world.store.claimItem(ORDER, ACTIVATE_ONLY, 'delivery-2', T0, 'prerequisites done; started');
    const before = world.store.item(ORDER, ACTIVATE_ONLY);
    const stale = callbackMessage(correlationFor(ACTIVATE_ONLY, 'delivery-1'), {
      status: 'completed',
      serviceId: 'SVC-1',
    });

    // Act
    const result = await applyCallback(world.correlator, stale);

    // Assess
    assert.equal(result, 'not-waiting');
    assert.deepEqual(world.store.item(ORDER, ACTIVATE_ONLY), before);
    assert.deepEqual(world.tasks.answers, []);
  });

  it('changes nothing for a callback to an item that is still Pending', async (t) => {
    quietLogs(t);
    const world = await asyncWorld();

    const result = await applyCallback(
      world.correlator,
      callbackMessage(correlationFor(ACTIVATE_ONLY, 'delivery-1'), { status: 'completed' }),
    );

    assert.equal(result, 'not-waiting');
    assert.equal(world.store.item(ORDER, ACTIVATE_ONLY).state, 'Pending');
  });

  for (const [what, correlationId] of [
    [
      'an unknown order',
      correlationIdOf({ orderId: 'o-404', itemKey: ACTIVATE_ONLY, nonce: callbackNonce('delivery-1') }),
    ],
    ['an unknown item', correlationFor('activate-only.no-such-item.1', 'delivery-1')],
    ['a malformed correlation id', 'not-a-correlation-id'],
  ] as [string, string][]) {
    it(`answers 'unknown' for ${what}`, async (t) => {
      const world = await waiting(t);
      const before = snapshot(world);

      const result = await applyCallback(
        world.correlator,
        callbackMessage(correlationId, { status: 'completed' }),
      );

      assert.equal(result, 'unknown');
      assert.deepEqual(snapshot(world), before);
    });
  }
});

describe('handleCallbackBatch', () => {
  const record = (messageId: string, body: string) =>
    ({
      messageId,
      body,
      receiptHandle: `receipt-${messageId}`,
      attributes: { ApproximateReceiveCount: '1' },
    }) as unknown as SQSEvent['Records'][number];
  /** Remembers what the handler asked the queue to bring back, and when. */
  const recordingRedelivery = () => {
    const asked: Comeback[] = [];
    const redelivery: Redelivery = { later: async (comebacks) => void asked.push(...comebacks) };
    return { asked, redelivery };
  };

  it('reports a malformed message as a batch item failure and applies the others', async (t) => {
    // Prepare
    const world = await waiting(t);
    const interim = callbackMessage(world.correlationId, { status: 'inProgress', note: 'half way' });
    const final = callbackMessage(world.correlationId, { status: 'completed', serviceId: 'SVC-1' });
    const event: SQSEvent = {
      Records: [
        record('m-1', JSON.stringify(interim)),
        record('m-2', '{not json'),
        record('m-3', JSON.stringify({ correlationId: world.correlationId, body: { status: 'completed' } })),
        record('m-4', JSON.stringify(callbackMessage('not-a-correlation-id', { status: 'completed' }))),
      ],
    };

    const { asked, redelivery } = recordingRedelivery();

    // Act
    const response = await handleCallbackBatch(world.correlator, event, redelivery);
    const second = await handleCallbackBatch(world.correlator, {
      Records: [record('m-5', JSON.stringify(final))],
    });

    // Assess
    assert.deepEqual(
      response.batchItemFailures.map((f) => f.itemIdentifier).sort(),
      ['m-2', 'm-3'],
      'an unknown correlation is not worth a redelivery',
    );
    assert.deepEqual(
      asked,
      [
        { receiptHandle: 'receipt-m-2', seconds: 1 },
        { receiptHandle: 'receipt-m-3', seconds: 1 },
      ],
      'what cannot be read comes back after a second, on its way to the dead-letter queue',
    );
    assert.deepEqual(second.batchItemFailures, []);
    const item = world.store.item(ORDER, ACTIVATE_ONLY);
    assert.equal(item.state, 'Completed');
    assert.ok(item.history.some((h) => h.reason === 'interim update from the system: half way'));
  });

  it('applies the callbacks to one wait in the order the API received them, whatever their order in the batch', async (t) => {
    // Prepare: the final answer comes first in the batch, and an interim update's write is slow.
    const world = await waiting(t);
    const interim = {
      ...callbackMessage(world.correlationId, { status: 'inProgress', note: 'half way' }),
      receivedAt: '2025-03-01T10:00:01.000Z',
    };
    const final = {
      ...callbackMessage(world.correlationId, { status: 'completed', serviceId: 'SVC-1' }),
      receivedAt: '2025-03-01T10:00:02.000Z',
    };
    const write = world.store.applyCallback.bind(world.store);
    t.mock.method(world.store, 'applyCallback', async (...args: Parameters<typeof write>) => {
      if (args[4].kind === 'interim') await new Promise((resolve) => setTimeout(resolve, 20));
      return write(...args);
    });

    // Act
    const response = await handleCallbackBatch(world.correlator, {
      Records: [record('m-1', JSON.stringify(final)), record('m-2', JSON.stringify(interim))],
    });

    // Assess: the update went in while the item waited, before its completion.
    assert.deepEqual(response.batchItemFailures, []);
    const item = world.store.item(ORDER, ACTIVATE_ONLY);
    assert.deepEqual(
      item.history.slice(-2).map((h) => [h.state, h.reason]),
      [
        ['Running', 'interim update from the system: half way'],
        ['Completed', "completed by the system's callback"],
      ],
    );
  });

  it('reports a message whose application throws as a batch item failure', async (t) => {
    const world = await waiting(t);
    t.mock.method(world.store, 'applyCallback', async () => {
      throw new Error('throttled');
    });

    const { asked, redelivery } = recordingRedelivery();

    const response = await handleCallbackBatch(
      world.correlator,
      {
        Records: [
          record('m-1', JSON.stringify(callbackMessage(world.correlationId, { status: 'inProgress' }))),
        ],
      },
      redelivery,
    );

    assert.deepEqual(response.batchItemFailures, [{ itemIdentifier: 'm-1' }]);
    assert.deepEqual(asked, [{ receiptHandle: 'receipt-m-1', seconds: 5 }], 'back in 5 s, not 3 minutes');
  });
});

/** The nonce of the wait a callback message was sent to. */
function nonceOf(message: { correlationId: string }): string {
  return message.correlationId.split('.').at(-1) ?? '';
}
