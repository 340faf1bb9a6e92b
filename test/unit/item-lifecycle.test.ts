import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  FINAL_STATES,
  ITEM_EVENTS,
  type ItemEvent,
  LIFECYCLE,
  onArrival,
  transition,
} from '../../lambdas/domain/item-lifecycle';
import {
  ITEM_STATES,
  type ItemRecord,
  type ItemState,
  type OrderState,
} from '../../lambdas/domain/orchestration';

const OPERATOR_EVENTS: readonly ItemEvent[] = [
  'operatorRetry',
  'operatorSkip',
  'operatorFail',
  'manualComplete',
  'operatorAbort',
  'operatorAbortToFallout',
];
/** What an operator may do to a Running item, whoever holds it: complete a manual task, or abort. */
const ON_RUNNING: Partial<Record<ItemEvent, ItemState>> = {
  manualComplete: 'Completed',
  operatorAbort: 'Failed',
  operatorAbortToFallout: 'FatallyFailed',
  // Not an operator's: the plan run that waited for the item ended, whichever attempt holds it.
  runEnded: 'FatallyFailed',
  // Nor this: its order's cancellation freezes it, whichever attempt holds it.
  freeze: 'Frozen',
};

/** An item as the lifecycle sees it: its state and the attempt it runs under. */
interface Model {
  state: ItemState;
  attempt?: string;
}

const event = fc.constantFrom(...ITEM_EVENTS);
const attempt = fc.constantFrom('a-1', 'a-2', 'a-3');
const step = fc.record({ event, attempt });

/**
 * Applies an event as the stores do: a worker's event carries its attempt, an operator's none; a start
 * takes the item for its attempt, and leaving Running drops it.
 */
function apply(model: Model, { event, attempt }: { event: ItemEvent; attempt: string }): Model {
  const holds = !OPERATOR_EVENTS.includes(event) && model.attempt === attempt;
  const result = transition(model.state, event, holds);
  if (!('to' in result)) return model;
  if (event === 'start') return { state: result.to, attempt };
  return result.to === 'Running' ? model : { state: result.to };
}

describe('the item lifecycle', () => {
  it('answers every event in every state, for the holding attempt or another: a state, or why not', () => {
    for (const state of ITEM_STATES)
      for (const e of ITEM_EVENTS)
        for (const holds of [true, false]) {
          const result = transition(state, e, holds);
          if ('to' in result) assert.ok(ITEM_STATES.includes(result.to), `${state} --${e}--> ${result.to}`);
          else assert.ok(result.refused.length > 10, `${state} --${e}--> refused with a reason`);
        }
  });

  it("never moves an item out of a final state, and a Completed one only by its order's cancellation", () => {
    fc.assert(
      fc.property(fc.constantFrom(...FINAL_STATES), event, fc.boolean(), (state, e, holds) => {
        const result = transition(state, e, holds);
        assert.ok('refused' in result, `${state} --${e}-->`);
        assert.match(result.refused, /it is done|its order was cancelled/);
      }),
    );
    fc.assert(
      fc.property(event, fc.boolean(), (e, holds) => {
        const result = transition('Completed', e, holds);
        if (e === 'compensate') assert.deepEqual(result, { to: 'Compensating' });
        else assert.ok('refused' in result, `Completed --${e}-->`);
      }),
    );
  });

  it('lets only the attempt that holds a Running item move it, and of operators only completing a manual task or aborting; and the end of its plan run', () => {
    fc.assert(
      fc.property(event, (e) => {
        const other = transition('Running', e, false);
        const operators = ON_RUNNING[e];
        if (operators) assert.deepEqual(other, { to: operators });
        else assert.ok('refused' in other, `Running --${e}--> by another attempt`);
        if (OPERATOR_EVENTS.includes(e) && !operators)
          assert.ok('refused' in transition('Running', e, true), `an operator's ${e} of a Running item`);
      }),
    );
  });

  it('lets another delivery start (or, finding its system away, hold) a Running item only once the lease of its worker has run out', () => {
    for (const e of ITEM_EVENTS) {
      const expired = transition('Running', e, false, true);
      if (e === 'start') assert.deepEqual(expired, { to: 'Running' });
      else if (e === 'hold') assert.deepEqual(expired, { to: 'OnHold' });
      else assert.deepEqual(expired, transition('Running', e, false), `${e} ignores the lease`);
    }
    assert.ok('refused' in transition('Running', 'start', false, false));
    assert.ok('refused' in transition('Running', 'hold', false, false));
    for (const state of ITEM_STATES.filter((s) => s !== 'Running'))
      assert.deepEqual(transition(state, 'start', false, true), transition(state, 'start', false, false));
  });

  it('keeps every sequence of events within the lifecycle: an item runs under one attempt at a time, and a done item stays done', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 40 }), (steps) => {
        let model: Model = { state: 'Pending' };
        for (const s of steps) {
          const before = model;
          model = apply(model, s);
          if (FINAL_STATES.has(before.state)) assert.deepEqual(model, before, 'a done item stays done');
          if (before.state === 'Running' && model.state === 'Running' && s.event === 'start')
            assert.equal(
              model.attempt,
              before.attempt,
              'a second start of a Running item is the same attempt',
            );
          if (model.state === 'Running')
            assert.ok(model.attempt || s.event === 'manualComplete' || before.attempt);
        }
      }),
      { numRuns: 500 },
    );
  });

  it("reaches every state but Pending's start only through the table, and every target state is reachable", () => {
    const reached = new Set<ItemState>(['Pending']);
    for (let round = 0; round < ITEM_STATES.length; round++)
      for (const state of [...reached])
        for (const e of ITEM_EVENTS)
          for (const holds of [true, false]) {
            const result = transition(state, e, holds);
            if ('to' in result) reached.add(result.to);
          }
    assert.deepEqual([...reached].sort(), [...ITEM_STATES].sort(), 'every state is reachable from Pending');
    for (const rule of Object.values(LIFECYCLE)) assert.ok(!rule.from.some((s) => FINAL_STATES.has(s)));
  });

  it("hands a procedure back Pending when its step's callback answers, only from the attempt it waits under", () => {
    assert.deepEqual(transition('Running', 'resume', true), { to: 'Pending' });
    assert.deepEqual(transition('Running', 'resume', false), {
      refused: 'the item runs under another attempt, which alone moves it on',
    });
    for (const state of ITEM_STATES.filter((s) => s !== 'Running'))
      assert.ok('refused' in transition(state, 'resume', true), `${state} --resume-->`);
    // Pending, so that the next claim — one conditional write — decides which delivery runs it on.
    assert.deepEqual(transition('Pending', 'start', false), { to: 'Running' });
  });

  it('says why an operator cannot act, naming the states it can act in', () => {
    assert.deepEqual(transition('Running', 'operatorRetry', false), {
      refused: 'the item is Running; only an item FatallyFailed, Failed can be retried',
    });
    assert.deepEqual(transition('Pending', 'complete', false), {
      refused: 'the item is Pending; only an item Running (under this attempt) can complete',
    });
    assert.deepEqual(transition('Running', 'complete', false), {
      refused: 'the item runs under another attempt, which alone moves it on',
    });
  });
});

describe('onArrival: what a message means for the item it is about', () => {
  const NOW = new Date('2025-03-01T10:00:00.000Z');
  const ORDER_STATES: readonly OrderState[] = [
    'acknowledged',
    'inProgress',
    'held',
    'completed',
    'failed',
    'assessingCancellation',
    'pendingCancellation',
    'cancelled',
  ];
  const KINDS = new Set(['replay', 'holdOrder', 'notYet', 'awaitCallback', 'orderFailed', 'ignore', 'run']);
  const arrival = fc.record({
    state: fc.constantFrom(...ITEM_STATES),
    attemptId: fc.option(attempt, { nil: undefined }),
    dispatched: fc.boolean(),
    awaiting: fc.boolean(),
    retryInMs: fc.option(fc.integer({ min: -60_000, max: 60_000 }), { nil: undefined }),
    dependsOn: fc.subarray(['p-1', 'p-2']),
    done: fc.subarray(['p-1', 'p-2']),
    orderState: fc.constantFrom(...ORDER_STATES),
    delivery: attempt,
    compensation: fc.boolean(),
  });
  type Arrived = typeof arrival extends fc.Arbitrary<infer T> ? T : never;
  const itemOf = (a: Arrived): ItemRecord => ({
    orderId: 'o-1',
    key: 'dsl.activate.1',
    planId: 'dsl',
    planItemId: 'activate',
    type: 'callout',
    dependsOn: a.dependsOn,
    state: a.state,
    ...(a.attemptId ? { attemptId: a.attemptId } : {}),
    ...(a.dispatched ? { taskTokens: ['token-1'] } : {}),
    ...(a.compensation ? { compensates: 'dsl.reserve.1' } : {}),
    ...(a.awaiting ? { awaiting: { since: NOW.toISOString(), deadline: '2025-03-02T10:00:00.000Z' } } : {}),
    ...(a.retryInMs !== undefined
      ? { nextAttemptAt: new Date(NOW.getTime() + a.retryInMs).toISOString() }
      : {}),
    createdAt: NOW.toISOString(),
    updatedAt: NOW.toISOString(),
  });
  const decide = (a: Arrived) => onArrival(itemOf(a), { state: a.orderState, done: a.done }, a.delivery, NOW);

  it('has a defined answer for every item in every state, whatever its order and the message', () => {
    fc.assert(fc.property(arrival, (a) => KINDS.has(decide(a).kind)));
  });

  it('replays a done item and never runs it again: no message leaves a final state', () => {
    fc.assert(
      fc.property(arrival, (a) => {
        fc.pre(a.state === 'Completed' || a.state === 'Skipped');
        assert.deepEqual(decide(a), { kind: 'replay' });
      }),
    );
    fc.assert(
      fc.property(arrival, (a) => {
        fc.pre(FINAL_STATES.has(a.state) || a.state === 'Compensating');
        assert.equal(decide(a).kind, a.state === 'Skipped' ? 'replay' : 'ignore');
      }),
    );
  });

  it("starts nothing of a plan while its order's cancellation is assessed or carried out: only compensations", () => {
    fc.assert(
      fc.property(arrival, (a) => {
        fc.pre(!a.compensation);
        const decided = decide(a);
        if (a.orderState === 'assessingCancellation') assert.notEqual(decided.kind, 'run');
        if (a.orderState === 'pendingCancellation' || a.orderState === 'cancelled')
          assert.ok(['replay', 'holdOrder', 'ignore'].includes(decided.kind), decided.kind);
      }),
    );
    // A Pending item of an order being assessed looks again soon: the cancellation may be refused.
    const pending: Arrived = {
      state: 'Pending',
      attemptId: undefined,
      dispatched: true,
      awaiting: false,
      retryInMs: undefined,
      dependsOn: [],
      done: [],
      orderState: 'assessingCancellation',
      delivery: 'a-1',
      compensation: false,
    };
    assert.deepEqual(decide(pending), { kind: 'notYet', dueAt: '2025-03-01T10:00:02.000Z' });
    assert.deepEqual(
      decide({ ...pending, compensation: true, dispatched: false, orderState: 'pendingCancellation' }),
      {
        kind: 'run',
      },
    );
  });

  it('never runs an item Running under another attempt: an attempt never runs twice', () => {
    fc.assert(
      fc.property(arrival, (a) => {
        fc.pre(a.state === 'Running' && a.attemptId !== a.delivery);
        assert.notEqual(decide(a).kind, 'run');
      }),
    );
  });

  it('runs an item only when its plan dispatched it, its prerequisites are done and its start is allowed', () => {
    fc.assert(
      fc.property(arrival, (a) => {
        fc.pre(decide(a).kind === 'run');
        assert.ok(a.dispatched || a.compensation, 'a plan dispatched it, or a cancellation started it');
        assert.ok(a.dependsOn.every((key) => a.done.includes(key)));
        assert.notEqual(a.orderState, 'failed');
        // One Running that waits for its callback is finished by it, not run; a polled wait held On Hold
        // is run by its release, which polls on (poll-status.ts).
        assert.ok(!(a.awaiting && a.state === 'Running'), 'a Running item waiting for its answer is not run');
        assert.ok('to' in transition(a.state, 'start', a.attemptId === a.delivery), a.state);
        if (a.state === 'Failed' && a.retryInMs !== undefined)
          assert.ok(a.retryInMs <= 0, 'its retry is due');
      }),
    );
  });

  it('takes over a released polled wait whose worker died before it waited again, once its lease ran out', () => {
    const released: ItemRecord = {
      orderId: 'o-1',
      key: 'dsl.activate.1',
      planId: 'dsl',
      planItemId: 'activate',
      type: 'callout',
      dependsOn: [],
      state: 'Running',
      attemptId: 'release-1',
      taskTokens: ['token-1'],
      awaiting: {
        since: NOW.toISOString(),
        deadline: '2025-03-02T10:00:00.000Z',
        poll: { path: '/jobs/J-1' },
      },
      createdAt: NOW.toISOString(),
      updatedAt: NOW.toISOString(),
    };
    const order = { state: 'inProgress' as const, done: [] };
    const lease = (ms: number) => ({ ...released, leaseUntil: new Date(NOW.getTime() + ms).toISOString() });

    assert.deepEqual(onArrival(lease(-1), order, 'sweep-1', NOW), { kind: 'run' });
    assert.deepEqual(onArrival(lease(10_000), order, 'release-1', NOW), {
      kind: 'awaitCallback',
      deadline: '2025-03-02T10:00:00.000Z',
    });
    assert.deepEqual(onArrival(released, order, 'release-1', NOW), {
      kind: 'awaitCallback',
      deadline: '2025-03-02T10:00:00.000Z',
    });
  });

  it('holds the order of an item in fallout, and sends a retry on until it is due', () => {
    fc.assert(
      fc.property(arrival, (a) => {
        const decided = decide(a);
        if (a.state === 'FatallyFailed') assert.deepEqual(decided, { kind: 'holdOrder' });
        // Unless its order failed, or is cancelled (of which only compensations go on).
        const goesOn =
          a.orderState !== 'failed' &&
          (a.compensation || (a.orderState !== 'pendingCancellation' && a.orderState !== 'cancelled'));
        if (a.state === 'Failed' && a.retryInMs !== undefined && a.retryInMs > 0 && goesOn)
          assert.equal(decided.kind, 'notYet');
      }),
    );
  });
});
