import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { cancelProductOrderCreateSchema } from '../../lambdas/domain/cancel-product-order';
import { ConflictError, ValidationError } from '../../lambdas/domain/errors';
import type { Caller } from '../../lambdas/domain/roles';
import { requestCancellation } from '../../lambdas/use-cases/cancel-order';
import { failByOperator, skipByOperator } from '../../lambdas/use-cases/operator-actions';
import { runItem } from '../../lambdas/use-cases/run-item';
import {
  ACTIVATE,
  DONE,
  drain,
  OPERATOR,
  ORDER,
  RESERVE,
  type Setup,
  SUBMITTER,
  setup,
  statefulSystems,
  systems,
  WELCOME,
} from './fixtures/order-changes';
import { withoutRetries } from './fixtures/retry-rules';

const cancel = (s: Setup, caller: Caller = SUBMITTER, body: unknown = { productOrder: { id: ORDER } }) =>
  requestCancellation(
    { store: s.store, cancellations: s.cancellations, queue: s.queue, now: s.deps.now, newId: () => 'c-1' },
    cancelProductOrderCreateSchema.parse(body),
    caller,
  );

const stateOf = async (s: Setup, key: string) => (await s.store.getItem(ORDER, key))?.state;

/** The port reserved: reserve-port dispatched and run; the rest of the plan not dispatched yet. */
async function reserved(s: Setup) {
  await runItem(s.deps, { orderId: ORDER, itemKey: RESERVE, taskToken: 't-reserve' }, 'm-reserve');
  assert.equal(await stateOf(s, RESERVE), 'Completed');
  return s.queue.sent.length;
}

describe('cancelling an order (use case)', () => {
  it('releases the reserved port through its compensation, discards the rest, and ends done', async () => {
    const s = await setup();
    const from = await reserved(s);

    const record = await cancel(s, SUBMITTER, { productOrder: { id: ORDER }, cancellationReason: 'moved' });
    assert.deepEqual(
      { state: record.state, reason: record.cancellationReason, by: record.requestedBy?.id },
      { state: 'acknowledged', reason: 'moved', by: 'c-crm' },
    );
    assert.equal((await s.store.getOrder(ORDER))?.state, 'assessingCancellation');
    await drain(s, from);

    assert.equal((await s.store.getOrder(ORDER))?.state, 'cancelled');
    const ended = await s.cancellations.get('c-1');
    assert.equal(ended?.state, 'done');
    assert.ok(ended?.effectiveCancellationDate);
    assert.equal(await stateOf(s, RESERVE), 'Compensated');
    assert.equal(await stateOf(s, `${RESERVE}.undo`), 'Completed');
    assert.equal(await stateOf(s, ACTIVATE), 'Discarded');
    assert.equal(await stateOf(s, DONE), 'Discarded');
    assert.deepEqual(
      s.http.requests.filter((r) => r.method === 'DELETE').map((r) => new URL(r.url).pathname),
      ['/api/ports/reservations/P-7'],
    );
    assert.equal(s.stopped.length, 1, 'the plan run was stopped');
  });

  it('counts a compensation answered "not found" as done: there was nothing left to undo', async () => {
    const s = await setup(systems(404));
    const from = await reserved(s);
    await cancel(s);
    await drain(s, from);

    assert.equal(await stateOf(s, RESERVE), 'Compensated');
    assert.equal((await s.cancellations.get('c-1'))?.state, 'done');
  });

  it('keeps the order pending while a compensation is in fallout; an operator who skips it ends the cancellation', async () => {
    const s = await setup(systems(500));
    await withoutRetries(s.deps.rules);
    const from = await reserved(s);
    await cancel(s);
    const next = await drain(s, from);

    assert.equal(await stateOf(s, `${RESERVE}.undo`), 'FatallyFailed');
    assert.equal((await s.store.getOrder(ORDER))?.state, 'pendingCancellation');
    assert.equal((await s.cancellations.get('c-1'))?.state, 'inProgress');

    await skipByOperator(s.operators, `${ORDER}.${RESERVE}.undo`, { note: 'released by hand' }, OPERATOR);
    await drain(s, next);

    assert.equal(
      await stateOf(s, RESERVE),
      'Completed',
      'what it did stays done: its compensation was skipped',
    );
    assert.equal((await s.store.getOrder(ORDER))?.state, 'cancelled');
    assert.equal((await s.cancellations.get('c-1'))?.state, 'done');
  });

  it('ends the cancellation terminatedWithError when an operator fails the order from a compensation in fallout', async () => {
    const s = await setup(systems(500));
    await withoutRetries(s.deps.rules);
    const from = await reserved(s);
    await cancel(s);
    const next = await drain(s, from);

    await failByOperator(s.operators, `${ORDER}.${RESERVE}.undo`, { reason: 'inventory lost it' }, OPERATOR);
    await drain(s, next);

    assert.equal((await s.store.getOrder(ORDER))?.state, 'failed');
    const ended = await s.cancellations.get('c-1');
    assert.equal(ended?.state, 'terminatedWithError');
    assert.match(ended?.errorMessage ?? '', /failed by an operator/);
  });

  it('freezes an item whose call is out; its late answer says the line is on, so it is switched off before the port is released', async () => {
    let cancelDuringCall: (() => Promise<void>) | undefined;
    const s = await setup(async (request) => {
      if (request.method === 'PUT' && cancelDuringCall) {
        const during = cancelDuringCall;
        cancelDuringCall = undefined;
        await during();
      }
      return systems()(request);
    });
    await reserved(s);
    const from = s.queue.sent.length;
    // Activation is called; while its call is out, the order is cancelled and the cancellation carried out.
    cancelDuringCall = async () => {
      await cancel(s);
      const message = s.queue.sent.at(-1);
      assert.equal(message?.kind, 'cancel');
      if (message) await runItem(s.deps, message, 'm-cancel');
      assert.equal(await stateOf(s, ACTIVATE), 'Frozen');
    };
    await runItem(s.deps, { orderId: ORDER, itemKey: ACTIVATE, taskToken: 't-activate' }, 'm-activate');
    await drain(s, from);

    const activate = await s.store.getItem(ORDER, ACTIVATE);
    assert.equal(activate?.state, 'Compensated');
    assert.equal(activate?.lateAnswer, 'acted');
    const deletes = s.http.requests.filter((r) => r.method === 'DELETE').map((r) => new URL(r.url).pathname);
    assert.deepEqual(
      deletes,
      ['/lines/P-7', '/api/ports/reservations/P-7'],
      'the line off first, with what its late answer gave',
    );
    assert.equal((await s.store.getOrder(ORDER))?.state, 'cancelled');
    assert.equal(
      (await s.store.getProgressWith(ORDER, [])).done?.includes(ACTIVATE),
      false,
      'its answer was applied to nothing',
    );
  });

  it('refuses, naming the item, once a point of no return has started; the order goes back to where it was', async () => {
    const s = await setup();
    await reserved(s);
    await runItem(s.deps, { orderId: ORDER, itemKey: ACTIVATE, taskToken: 't-activate' }, 'm-activate');
    const from = s.queue.sent.length;
    await runItem(s.deps, { orderId: ORDER, itemKey: DONE, taskToken: 't-done' }, 'm-done');
    assert.equal((await s.store.getOrder(ORDER))?.state, 'inProgress', 'the welcome is still to come');
    await cancel(s);
    await drain(s, from);

    const ended = await s.cancellations.get('c-1');
    assert.equal(ended?.state, 'terminatedWithError');
    assert.match(
      ended?.errorMessage ?? '',
      /dsl-broadband\.done\.1 is a point of no return and has completed/,
    );
    const order = await s.store.getOrder(ORDER);
    assert.equal(order?.state, 'inProgress');
    assert.equal(order?.cancellation, undefined, 'a later cancellation may be asked for');
    assert.equal(await stateOf(s, RESERVE), 'Completed', 'nothing was undone');
  });

  it('starts no point of no return while a cancellation is assessed: its claim checks the order', async () => {
    const s = await setup();
    await reserved(s);
    await runItem(s.deps, { orderId: ORDER, itemKey: ACTIVATE, taskToken: 't-activate' }, 'm-activate');
    await cancel(s);
    const before = s.queue.sent.length;
    await runItem(s.deps, { orderId: ORDER, itemKey: DONE, taskToken: 't-done' }, 'm-done');

    assert.equal(await stateOf(s, DONE), 'Pending');
    const again = s.queue.sent.slice(before);
    assert.deepEqual(
      again.map((m) => m.kind),
      ['start'],
      'it looks again shortly: the cancellation may be refused',
    );
  });

  it('asks only for an order the caller may see, under way, and under no other cancellation', async () => {
    const s = await setup();
    const other: Caller = { id: 'c-shop', name: 'web shop', roles: new Set(['submitter']) };
    await assert.rejects(cancel(s, other), (error: unknown) => {
      assert.ok(error instanceof ValidationError);
      assert.deepEqual(error.problems, [{ field: 'productOrder.id', message: `no order "${ORDER}"` }]);
      return true;
    });
    await assert.rejects(cancel(s, SUBMITTER, { productOrder: { id: 'o-404' } }), ValidationError);

    await cancel(s);
    await assert.rejects(cancel(s), (error: unknown) => {
      assert.ok(error instanceof ConflictError);
      assert.match(error.message, /cancellation c-1 of order o-1 is under way/);
      return true;
    });

    const done = await setup();
    await done.store.setOrderState(ORDER, ['acknowledged'], 'completed', '2025-03-01T11:00:00.000Z');
    await assert.rejects(
      cancel(done),
      /order o-1 is completed: only an order acknowledged, inProgress, held can be cancelled/,
    );
  });

  it('gives the order back and ends the cancellation when the worker cannot be told', async () => {
    const s = await setup();
    s.queue.send = async () => {
      throw new Error('SQS is away');
    };
    await assert.rejects(cancel(s), /SQS is away/);

    const order = await s.store.getOrder(ORDER);
    assert.equal(order?.state, 'acknowledged');
    assert.equal(order?.cancellation, undefined);
    assert.equal((await s.cancellations.get('c-1'))?.state, 'terminatedWithError');
  });
});

describe('cancelling an order at any moment, messages in any order and some twice', () => {
  it('ends cancelled with nothing left reserved or active, or refused with the order completed; nothing undone twice', async () => {
    const outcomes = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: 12 }),
        fc.array(fc.nat(), { minLength: 60, maxLength: 60 }),
        fc.array(fc.boolean(), { minLength: 60, maxLength: 60 }),
        async (cancelAt, picks, twice) => {
          const world = statefulSystems();
          const s = await setup(world.responder);
          const tokens = [RESERVE, ACTIVATE, DONE, WELCOME].map((itemKey) => ({
            orderId: ORDER,
            itemKey,
            taskToken: `t-${itemKey}`,
          }));
          // The plan dispatches every item at once; SQS keeps no order, and delivers some messages twice.
          const bag: {
            message: (typeof s.queue.sent)[number] | (typeof tokens)[number];
            id: string;
            delayed: boolean;
          }[] = tokens.map((message, i) => ({ message, id: `d-${i}`, delayed: false }));
          let seen = 0;
          let cancelled = false;
          const take = () => {
            for (; seen < s.queue.sent.length; seen++) {
              const message = s.queue.sent[seen];
              if (message) bag.push({ message, id: `m-${seen}`, delayed: (s.queue.delays[seen] ?? 0) > 0 });
            }
          };
          for (let step = 0; step < 400; step++) {
            if (!cancelled && (step === cancelAt || bag.length === 0)) {
              cancelled = true;
              await cancel(s).catch((error: unknown) => {
                // An order that completed before its cancellation was asked for is refused at once.
                assert.ok(error instanceof ConflictError, String(error));
              });
            }
            take();
            if (bag.length === 0) break;
            // Any message may come first, but one sent with a delay only once none without is waiting:
            // a message that looks again later comes later.
            const now = bag.filter((m) => !m.delayed);
            const from = now.length > 0 ? now : bag;
            const chosen = from[(picks[step % picks.length] ?? 0) % from.length];
            const [next] = chosen ? bag.splice(bag.indexOf(chosen), 1) : [];
            if (!next) continue;
            await runItem(s.deps, next.message, next.id);
            if (twice[step % twice.length]) await runItem(s.deps, next.message, next.id);
          }
          assert.equal(bag.length, 0, 'every message was handled');

          const order = await s.store.getOrder(ORDER);
          const record = await s.cancellations.get('c-1');
          const states = await Promise.all([RESERVE, ACTIVATE, DONE, WELCOME].map((key) => stateOf(s, key)));
          assert.equal(
            new Set(world.undone).size,
            world.undone.length,
            `nothing undone twice: ${world.undone}`,
          );
          const outcome = `${record?.state ?? 'refused at once'}${world.undone.length > 0 ? ', undone' : ''}`;
          outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
          if (record?.state === 'done') {
            assert.equal(order?.state, 'cancelled');
            assert.deepEqual([...world.reserved, ...world.active], [], 'nothing left reserved or active');
            for (const state of states)
              assert.ok(['Discarded', 'Compensated'].includes(state ?? ''), `${states}`);
          } else {
            // Refused (the milestone, a point of no return, had started), or asked for too late.
            assert.ok(record === undefined || record.state === 'terminatedWithError', JSON.stringify(record));
            assert.equal(order?.state, 'completed', `${order?.state}: ${states}`);
            assert.deepEqual(states, ['Completed', 'Completed', 'Completed', 'Completed']);
            assert.deepEqual(world.undone, [], 'nothing undone');
          }
        },
      ),
      { numRuns: Number(process.env.CANCEL_RUNS ?? 150) },
    );
    // The runs went every way: cancelled with something to undo and without, and refused.
    for (const outcome of ['done', 'done, undone', 'terminatedWithError'])
      assert.ok((outcomes.get(outcome) ?? 0) > 0, `${outcome}: ${JSON.stringify([...outcomes])}`);
  });
});
