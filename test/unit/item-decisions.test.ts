import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { callbackNonce } from '../../lambdas/domain/callback';
import {
  type Answer,
  type CallbackAnswer,
  type Decision,
  decide,
  eventOf,
  evolve,
  type ItemFacts,
  type LifecycleEvent,
  type Write,
} from '../../lambdas/domain/item-decisions';
import { FINAL_STATES, leaseExpired, transition } from '../../lambdas/domain/item-lifecycle';
import { ITEM_STATES, type ItemRecord, isDone, type OrderState } from '../../lambdas/domain/orchestration';
import type { Actor } from '../../lambdas/domain/roles';

const NOW = new Date('2025-03-01T10:00:00.000Z');
const AT = NOW.toISOString();
const later = (ms: number) => new Date(NOW.getTime() + ms).toISOString();
const OPERATOR: Actor = { id: 'op-1', name: 'Olga' };
const ATTEMPTS = ['a-1', 'a-2', 'a-3'] as const;
const TARGET = { systemId: 'inventory', interfaceId: 'reserve-port' };
const OPERATOR_WRITES: ReadonlySet<Write['kind']> = new Set([
  'manualComplete',
  'operatorRetry',
  'operatorSkip',
  'operatorFail',
  'operatorAbort',
]);

const attempt = fc.constantFrom(...ATTEMPTS);
const nonce = attempt.map(callbackNonce);

const itemArb: fc.Arbitrary<ItemRecord> = fc
  .record({
    state: fc.constantFrom(...ITEM_STATES),
    type: fc.constantFrom('callout', 'autoTask', 'manualTask', 'milestone') as fc.Arbitrary<
      ItemRecord['type']
    >,
    attemptId: fc.option(attempt, { nil: undefined }),
    dispatched: fc.boolean(),
    awaiting: fc.constantFrom('no', 'callback', 'poll'),
    learnt: fc.boolean(),
    retryInMs: fc.option(fc.integer({ min: -60_000, max: 60_000 }), { nil: undefined }),
    finishedBy: fc.option(fc.constantFrom('cb-1', 'cb-2', `deadline:${callbackNonce('a-1')}`), {
      nil: undefined,
    }),
    retries: fc.nat(4),
    attemptCount: fc.nat(4),
    leaseInMs: fc.option(fc.integer({ min: -60_000, max: 60_000 }), { nil: undefined }),
    dependsOn: fc.subarray(['p-1', 'p-2']),
    // An auto task's procedure, standing at one of its three steps (the second waits for callbacks).
    procedureAt: fc.option(fc.integer({ min: 0, max: 2 }), { nil: undefined }),
  })
  .map((a) => ({
    orderId: 'o-1',
    key: 'dsl.reserve-port.1',
    planId: 'dsl',
    planItemId: 'reserve-port',
    type: a.type,
    interfaceId: 'reserve-port',
    dependsOn: a.dependsOn,
    state: a.state,
    version: 3,
    retries: a.retries,
    attemptCount: a.attemptCount,
    ...(a.attemptId ? { attemptId: a.attemptId } : {}),
    ...(a.dispatched ? { taskTokens: ['token-1'] } : {}),
    ...(a.awaiting !== 'no'
      ? {
          awaiting: {
            since: AT,
            deadline: later(60_000),
            ...(a.awaiting === 'poll' ? { poll: { path: '/jobs/J-1' } } : {}),
          },
        }
      : {}),
    ...(a.learnt ? { interimAttributes: { portDate: '2026-12-09', serviceId: 'interim' } } : {}),
    ...(a.retryInMs !== undefined ? { nextAttemptAt: later(a.retryInMs) } : {}),
    ...(a.finishedBy ? { finishedBy: a.finishedBy } : {}),
    ...(a.leaseInMs !== undefined ? { leaseUntil: later(a.leaseInMs) } : {}),
    ...(a.procedureAt !== undefined ? { procedure: { next: a.procedureAt, steps: {}, vars: {} } } : {}),
    createdAt: AT,
    updatedAt: AT,
  }));

const factsArb: fc.Arbitrary<ItemFacts> = fc.record({
  item: itemArb,
  order: fc.record({
    state: fc.constantFrom<OrderState>('acknowledged', 'inProgress', 'held', 'completed', 'failed'),
    done: fc.subarray(['p-1', 'p-2']),
    holds: fc.subarray(['dsl.reserve-port.1']),
  }),
  planned: fc.option(fc.record({ condition: fc.constant('$exists(port)') }), { nil: undefined }),
  now: fc.constant(NOW),
});

const answerArb: fc.Arbitrary<Answer> = fc.oneof(
  fc.constant({ attributes: { port: 'p-7' } }),
  fc.constant({ error: 'HTTP 503', failure: { kind: 'status' as const, status: 503 } }),
  fc.constant({ error: 'HTTP 400', failure: { kind: 'status' as const, status: 400 } }),
  fc.constant({ awaitingUntil: later(3_600_000) }),
  fc.constant({ awaitingUntil: later(3_600_000), poll: { path: '/jobs/J-1', delaySeconds: 5 } }),
);

const callbackAnswerArb: fc.Arbitrary<CallbackAnswer> = fc.oneof(
  fc.constant({ status: 'inProgress' as const, note: 'working', body: {} }),
  fc.constant({ status: 'inProgress' as const, body: {}, attributes: { portDate: '2026-12-09' } }),
  fc.constant({
    status: 'failed' as const,
    body: null,
    error: 'status poll of /jobs/J-1: connection refused',
    failure: { kind: 'connection' as const },
  }),
  fc.constant({ status: 'completed' as const, body: {} }),
  fc.constant({ status: 'completed' as const, body: {}, attributes: { serviceId: 's-1' } }),
  fc.constant({ status: 'failed' as const, body: {}, error: 'rejected' }),
  fc.constant({ status: 'unusable' as const, body: {}, error: 'mapping failed' }),
);

const retryable = { target: TARGET, rules: [] };

/** The step a callback or a deadline is about, as the correlator finds it (none for a callout). */
const stepArb = fc.option(
  fc.record({
    procedure: fc.constant('p'),
    id: fc.constantFrom('a', 'b', 'c'),
    index: fc.integer({ min: 0, max: 2 }),
  }),
  { nil: undefined },
);

/** An event as the use cases make it: `step` present only when there is one (exactOptionalPropertyTypes). */
function withoutUndefinedStep<E extends { step?: unknown }>(event: E): E {
  const { step, ...rest } = event;
  return (step === undefined ? rest : event) as E;
}

const eventArb: fc.Arbitrary<LifecycleEvent> = fc.oneof(
  fc.record({ kind: fc.constant('arrived' as const), deliveryId: attempt }),
  fc.record({
    kind: fc.constant('conditionEvaluated' as const),
    deliveryId: attempt,
    applies: fc.oneof(fc.boolean(), fc.constant('condition yielded 3')),
  }),
  fc.record({
    kind: fc.constant('admitted' as const),
    deliveryId: attempt,
    gate: fc.oneof(
      fc.constant({ kind: 'go' as const }),
      fc.constant({ kind: 'waiting' as const }),
      fc.constant({ kind: 'later' as const, delaySeconds: 5 }),
      fc.constant({ kind: 'unconfigured' as const, error: 'no system' }),
    ),
  }),
  fc.record({
    kind: fc.constant('held' as const),
    deliveryId: attempt,
    hold: fc.constant({ systemId: 'inventory', interfaceId: 'reserve-port', reason: 'system is Down' }),
  }),
  fc.record({
    kind: fc.constant('unrunnable' as const),
    deliveryId: attempt,
    reason: fc.constant('r'),
    error: fc.constant('e'),
  }),
  fc.record({
    kind: fc.constant('answered' as const),
    deliveryId: attempt,
    outcome: answerArb,
    target: fc.constant(TARGET),
    rules: fc.constant([]),
  }),
  fc
    .record({
      kind: fc.constant('callback' as const),
      callbackId: fc.constantFrom('cb-1', 'cb-2', 'cb-3'),
      nonce,
      answer: callbackAnswerArb,
      step: stepArb,
      ...Object.fromEntries(Object.entries(retryable).map(([k, v]) => [k, fc.constant(v)])),
    })
    .map(withoutUndefinedStep) as fc.Arbitrary<LifecycleEvent>,
  fc
    .record({
      kind: fc.constant('deadline' as const),
      nonce,
      dueAt: fc.constantFrom(later(-1_000), later(60_000)),
      step: stepArb,
      target: fc.constant(TARGET),
      rules: fc.constant([]),
    })
    .map(withoutUndefinedStep),
  fc.oneof(
    fc.constant<LifecycleEvent>({ kind: 'operator', action: 'retry', by: OPERATOR, reason: 'fixed' }),
    fc.constant<LifecycleEvent>({ kind: 'operator', action: 'skip', by: OPERATOR, note: 'not needed' }),
    fc.constant<LifecycleEvent>({
      kind: 'operator',
      action: 'skip',
      by: OPERATOR,
      note: 'not needed',
      pastPointOfNoReturn: 'it is a point of no return',
    }),
    fc.constant<LifecycleEvent>({ kind: 'operator', action: 'fail', by: OPERATOR, reason: 'gone' }),
    fc.constant<LifecycleEvent>({
      kind: 'operator',
      action: 'abort',
      by: OPERATOR,
      reason: 'hangs',
      ...retryable,
    }),
    fc.constant<LifecycleEvent>({
      kind: 'operator',
      action: 'complete',
      by: OPERATOR,
      attributes: { ok: true },
    }),
  ),
);

/** True when the lifecycle table allows the write for the item as the decision saw it, at `now`. */
function allowed(item: ItemRecord, write: Write, now: Date = NOW): boolean {
  const event = eventOf(write);
  if (!event) return true; // an interim update moves nothing
  const holds =
    !OPERATOR_WRITES.has(write.kind) && 'attemptId' in write && write.attemptId === item.attemptId;
  return 'to' in transition(item.state, event, holds, leaseExpired(item, now));
}

describe('decide: every decision about an item, as one pure function', () => {
  it('answers every event on every state: a write, effects, a step, or why nothing is done', () => {
    fc.assert(
      fc.property(factsArb, eventArb, (facts, event) => {
        const d: Decision = decide(facts, event);
        const answered =
          d.refusal !== undefined ||
          d.write !== undefined ||
          d.next !== undefined ||
          d.follows !== undefined ||
          d.ignored !== undefined ||
          d.because !== undefined ||
          d.effects.length > 0;
        assert.ok(answered, `${facts.item.state} --${event.kind}--> no answer`);
        if (d.refusal !== undefined) {
          assert.equal(d.write, undefined, 'a refusal writes nothing');
          assert.deepEqual(d.effects, [], 'a refusal sets nothing going');
        }
      }),
      { numRuns: 3_000 },
    );
  });

  it('never writes a transition the lifecycle table refuses for the item it read', () => {
    fc.assert(
      fc.property(factsArb, eventArb, (facts, event) => {
        const { write } = decide(facts, event);
        if (write) assert.ok(allowed(facts.item, write), `${facts.item.state} --${write.kind}-->`);
      }),
      { numRuns: 3_000 },
    );
  });

  it('never moves an item out of Completed or Skipped', () => {
    fc.assert(
      fc.property(factsArb, eventArb, (facts, event) => {
        fc.pre(FINAL_STATES.has(facts.item.state));
        const { write } = decide(facts, event);
        // An interim update overtaken by its attempt's final answer is still logged; it moves nothing.
        if (write) assert.equal(eventOf(write), undefined, `${facts.item.state} --${write.kind}-->`);
      }),
      { numRuns: 2_000 },
    );
  });

  it('runs an item only right after claiming it for the message that runs it', () => {
    fc.assert(
      fc.property(factsArb, eventArb, (facts, event) => {
        const d = decide(facts, event);
        if (d.next !== 'perform') return;
        assert.equal(d.write?.kind, 'claim');
        assert.ok(
          'deliveryId' in event && d.write?.kind === 'claim' && d.write.attemptId === event.deliveryId,
        );
      }),
      { numRuns: 3_000 },
    );
  });

  it('calls a system at most once per claim and never with another attempt in flight, whatever the messages, callbacks, deadlines and operators do', () => {
    // A message: a fresh delivery, or a redelivery of one seen before; what its steps find out is drawn.
    const happening = fc.oneof(
      {
        weight: 4,
        arbitrary: fc.record({
          kind: fc.constant('message' as const),
          redelivery: fc.boolean(),
          // Mostly true: a false condition skips the item for good.
          condition: fc.constantFrom(true, true, true, true, true, true, true, false),
          gate: fc.constantFrom('go', 'go', 'waiting', 'held'),
          answer: answerArb,
          // Its worker dies during the callout: the item stays Running under a lease nobody renews.
          crashes: fc.constantFrom(false, false, false, true),
        }),
      },
      {
        weight: 2,
        arbitrary: fc.record({
          kind: fc.constant('callback' as const),
          answer: callbackAnswerArb,
          id: fc.constantFrom('cb-1', 'cb-2'),
        }),
      },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('deadline' as const), due: fc.boolean() }) },
      {
        weight: 1,
        arbitrary: fc.record({
          kind: fc.constant('operator' as const),
          action: fc.constantFrom('retry', 'retry', 'skip', 'fail', 'complete', 'abort'),
        }),
      },
    );
    // How many sequences ran the item more than once (retries, operator retries): the property is about them.
    let rerun = 0;
    fc.assert(
      fc.property(
        fc.constantFrom('callout', 'autoTask', 'manualTask'),
        fc.array(happening, { minLength: 8, maxLength: 40 }),
        (type, happenings) => {
          let item: ItemRecord = {
            orderId: 'o-1',
            key: 'dsl.reserve-port.1',
            planId: 'dsl',
            planItemId: 'reserve-port',
            type: type as ItemRecord['type'],
            interfaceId: 'reserve-port',
            dependsOn: [],
            state: 'Pending',
            taskTokens: ['token-1'],
            createdAt: AT,
            updatedAt: AT,
          };
          const order = { state: 'inProgress' as OrderState, done: [] as string[] };
          const deliveries: string[] = [];
          const performed = new Set<string>();
          let inFlight: string | undefined;
          const run = (
            first: LifecycleEvent,
            found: (step: string, current: ItemRecord) => LifecycleEvent | undefined,
          ) => {
            let event: LifecycleEvent | undefined = first;
            for (let turns = 0; event && turns < 10; turns++) {
              const before: ItemRecord = item;
              const now = new Date(clock);
              const d = decide({ item, order, planned: { condition: 'x' }, now }, event);
              if (d.refusal !== undefined) return;
              if (d.write) {
                assert.ok(allowed(item, d.write, now), `${item.state} --${d.write.kind}-->`);
                item = evolve(item, d.write, now.toISOString());
              }
              if (FINAL_STATES.has(before.state))
                assert.equal(item.state, before.state, 'a done item stays done');
              if (inFlight && !(item.state === 'Running' && item.attemptId === inFlight))
                inFlight = undefined;
              if (d.write?.kind === 'await') inFlight = d.write.attemptId;
              event = d.follows ?? (d.next ? found(d.next, item) : undefined);
            }
          };
          let clock = NOW.getTime();
          for (const h of happenings) {
            // Time passes between happenings: a retry comes due, a wait runs out.
            clock += 100_000;
            if (h.kind === 'message') {
              const deliveryId =
                h.redelivery && deliveries.length > 0
                  ? (deliveries.at(-1) as string)
                  : `m-${deliveries.length}`;
              deliveries.push(deliveryId);
              run({ kind: 'arrived', deliveryId }, (step, current) => {
                if (step === 'evaluateCondition')
                  return { kind: 'conditionEvaluated', deliveryId, applies: h.condition };
                if (step === 'admit')
                  return h.gate === 'held'
                    ? { kind: 'held', deliveryId, hold: { systemId: 'inventory', reason: 'Down' } }
                    : { kind: 'admitted', deliveryId, gate: { kind: h.gate as 'go' | 'waiting' } };
                if (step === 'perform') {
                  const claim = `${deliveryId}@${current.version}`;
                  assert.ok(!performed.has(claim), `claim ${claim} ran twice`);
                  assert.equal(inFlight, undefined, `${deliveryId} ran while ${inFlight} was in flight`);
                  performed.add(claim);
                  if (performed.size === 2) rerun++;
                  if (h.crashes) return undefined;
                  return {
                    kind: 'answered',
                    deliveryId,
                    outcome: h.answer,
                    ...(type === 'callout' ? retryable : {}),
                  };
                }
                return undefined;
              });
            } else if (h.kind === 'callback' || h.kind === 'deadline') {
              const waiting = item.attemptId ?? 'none';
              if (h.kind === 'callback')
                run(
                  {
                    kind: 'callback',
                    callbackId: h.id,
                    nonce: callbackNonce(waiting),
                    answer: h.answer,
                    ...retryable,
                  },
                  (step) =>
                    step === 'mapAnswer'
                      ? {
                          kind: 'callback',
                          callbackId: h.id,
                          nonce: callbackNonce(waiting),
                          answer: { status: 'completed', body: {}, attributes: {} },
                          ...retryable,
                        }
                      : undefined,
                );
              else
                run(
                  {
                    kind: 'deadline',
                    nonce: callbackNonce(waiting),
                    dueAt: new Date(clock + (h.due ? -1 : 60_000)).toISOString(),
                    ...retryable,
                  },
                  () => undefined,
                );
            } else {
              const action =
                h.action === 'complete'
                  ? { action: 'complete' as const, by: OPERATOR, attributes: {} }
                  : h.action === 'abort'
                    ? { action: 'abort' as const, by: OPERATOR, reason: 'hangs', ...retryable }
                    : h.action === 'skip'
                      ? { action: 'skip' as const, by: OPERATOR, note: 'n' }
                      : { action: h.action as 'retry' | 'fail', by: OPERATOR, reason: 'r' };
              run({ kind: 'operator', ...action }, () => undefined);
            }
          }
        },
      ),
      { numRuns: 1_000 },
    );
    assert.ok(rerun > 100, `only ${rerun} of 1,000 sequences ran the item more than once`);
  });

  it('follows a claim that cannot run with its fallout, and refuses an operator in the words of the table', () => {
    const facts: ItemFacts = {
      item: {
        orderId: 'o-1',
        key: 'dsl.reserve-port.1',
        planId: 'dsl',
        planItemId: 'reserve-port',
        type: 'callout',
        dependsOn: [],
        state: 'Pending',
        taskTokens: ['token-1'],
        createdAt: AT,
        updatedAt: AT,
      },
      order: { state: 'inProgress', done: [] },
      now: NOW,
    };
    const d = decide(facts, {
      kind: 'admitted',
      deliveryId: 'm-1',
      gate: { kind: 'unconfigured', error: 'no system' },
    });
    assert.equal(d.write?.kind, 'claim');
    assert.deepEqual(d.follows, { kind: 'answered', deliveryId: 'm-1', outcome: { error: 'no system' } });
    const claimed = evolve(facts.item, d.write as Write, AT);
    const failed = decide({ ...facts, item: claimed }, d.follows as LifecycleEvent);
    assert.equal(failed.write?.kind, 'fail');
    assert.deepEqual(failed.effects, [{ kind: 'holdOrder', error: 'no system' }]);

    const retry = decide(facts, { kind: 'operator', action: 'retry', by: OPERATOR, reason: 'r' });
    assert.equal(
      retry.refusal,
      'item "o-1.dsl.reserve-port.1" is Pending; only an item in fallout or waiting for a retry can be retried',
    );
  });

  it('goes on with the callback URL of the attempt it takes over, and a callback on that URL applies', () => {
    // Prepare: an asynchronous callout accepted under delivery a-1, whose worker died; a-2 takes it over.
    const item: ItemRecord = {
      orderId: 'o-1',
      key: 'dsl.activate-line.1',
      planId: 'dsl',
      planItemId: 'activate-line',
      type: 'callout',
      interfaceId: 'activate-line',
      dependsOn: [],
      state: 'Running',
      attemptId: 'a-1',
      callbackNonce: callbackNonce('a-1'),
      leaseUntil: later(-1000),
      taskTokens: ['token-1'],
      createdAt: AT,
      updatedAt: AT,
    };
    const order = { state: 'inProgress' as OrderState, done: [] };
    const arrived = decide(
      { item, order, now: NOW },
      { kind: 'admitted', deliveryId: 'a-2', gate: { kind: 'go' } },
    );
    assert.equal(arrived.write?.kind, 'claim');
    const takenOver = evolve(item, arrived.write as Write, AT);

    // Assess: the system, which replays its acceptance to the same Idempotency-Key, calls back a-1's URL.
    assert.equal(takenOver.attemptId, 'a-2');
    assert.equal(takenOver.callbackNonce, callbackNonce('a-1'));
    const answer = decide(
      { item: { ...takenOver, awaiting: { since: AT, deadline: later(60_000) } }, order, now: NOW },
      {
        kind: 'callback',
        callbackId: 'cb-1',
        nonce: callbackNonce('a-1'),
        answer: { status: 'completed', body: {}, attributes: { serviceId: 'S-1' } },
      },
    );
    assert.equal(answer.write?.kind, 'callback');
    assert.equal(answer.ignored, undefined);

    // A later attempt of the same request (a retry after a timeout, a release) sends the same URL; one
    // after the system refused the request (renewed: no nonce kept) has a URL of its own.
    const again = decide(
      { item: { ...item, state: 'Failed', leaseUntil: undefined }, order, now: NOW },
      { kind: 'admitted', deliveryId: 'a-3', gate: { kind: 'go' } },
    );
    assert.equal(again.write?.kind === 'claim' && again.write.nonce, callbackNonce('a-1'));
    const { callbackNonce: _renewed, ...refused } = item;
    const fresh = decide(
      { item: { ...refused, state: 'Failed', leaseUntil: undefined, requestGeneration: 1 }, order, now: NOW },
      { kind: 'admitted', deliveryId: 'a-3', gate: { kind: 'go' } },
    );
    assert.equal(fresh.write?.kind === 'claim' && fresh.write.nonce, callbackNonce('a-3'));
  });
});

describe('decide: systems that answer in their own words, or are polled', () => {
  const order = { state: 'inProgress' as OrderState, done: [] };
  const waiting: ItemRecord = {
    orderId: 'o-1',
    key: 'voice.provision-line.1',
    planId: 'voice',
    planItemId: 'provision-line',
    type: 'callout',
    interfaceId: 'telephony-create-job',
    dependsOn: [],
    state: 'Running',
    attemptId: 'a-1',
    callbackNonce: callbackNonce('a-1'),
    taskTokens: ['token-1'],
    version: 4,
    createdAt: AT,
    updatedAt: AT,
  };

  it('waits on a polled acceptance with its status path, sending its deadline and its first poll', () => {
    const decision = decide(
      { item: { ...waiting, leaseUntil: later(20_000) }, order, now: NOW },
      {
        kind: 'answered',
        deliveryId: 'a-1',
        outcome: { awaitingUntil: later(3_600_000), poll: { path: '/jobs/J-1', delaySeconds: 5 } },
        target: TARGET,
      },
    );
    assert.equal(decision.write?.kind, 'await');
    assert.deepEqual(decision.write?.kind === 'await' && decision.write.awaiting, {
      since: AT,
      deadline: later(3_600_000),
      poll: { path: '/jobs/J-1' },
    });
    assert.deepEqual(decision.effects, [
      { kind: 'sendDeadline', nonce: callbackNonce('a-1'), dueAt: later(3_600_000) },
      { kind: 'sendPoll', nonce: callbackNonce('a-1'), attemptId: 'a-1', delaySeconds: 5, count: 0 },
    ]);
  });

  it('goes on with a resumed wait from when it began, not from the poll that resumed it', () => {
    const decision = decide(
      { item: { ...waiting, leaseUntil: later(20_000) }, order, now: NOW },
      {
        kind: 'answered',
        deliveryId: 'a-1',
        outcome: {
          awaitingUntil: later(3_600_000),
          awaitingSince: later(-600_000),
          poll: { path: '/jobs/J-1', delaySeconds: 1 },
        },
        target: TARGET,
      },
    );
    assert.equal(decision.write?.kind === 'await' && decision.write.awaiting.since, later(-600_000));
  });

  it('polls again when the message of a polled wait comes again (its first poll may be lost)', () => {
    const item = {
      ...waiting,
      awaiting: { since: AT, deadline: later(60_000), poll: { path: '/jobs/J-1' } },
    };
    const decision = decide({ item, order, now: NOW }, { kind: 'arrived', deliveryId: 'a-1' });
    assert.deepEqual(decision.effects, [
      { kind: 'sendDeadline', nonce: callbackNonce('a-1'), dueAt: later(60_000) },
      { kind: 'sendPoll', nonce: callbackNonce('a-1'), attemptId: 'a-1', delaySeconds: 0, count: 0 },
    ]);
  });

  it('runs a polled wait held On Hold when it is released: it polls on rather than waits', () => {
    const { attemptId: _gone, ...held } = waiting;
    const item: ItemRecord = {
      ...held,
      state: 'OnHold',
      hold: { systemId: 'telephony', interfaceId: 'telephony-create-job', since: AT, reason: 'Down' },
      awaiting: { since: AT, deadline: later(60_000), poll: { path: '/jobs/J-1' } },
    };
    const decision = decide({ item, order, now: NOW }, { kind: 'arrived', deliveryId: 'a-2' });
    assert.equal(decision.next, 'admit');
  });

  it('keeps what an interim update learnt, and writes it with the final answer, which wins where both say', () => {
    const interim = decide(
      { item: waiting, order, now: NOW },
      {
        kind: 'callback',
        callbackId: 'cb-1',
        nonce: callbackNonce('a-1'),
        answer: {
          status: 'inProgress',
          body: { state: 'SCHEDULED' },
          attributes: { portDate: '2026-12-09' },
        },
      },
    );
    assert.deepEqual(interim.write?.kind === 'callback' && interim.write.change, {
      kind: 'interim',
      body: { state: 'SCHEDULED' },
      afterVersion: 4,
      attributes: { portDate: '2026-12-09' },
    });

    const learnt = { ...waiting, interimAttributes: { portDate: '2026-12-09', portRef: 'interim' } };
    const final = decide(
      { item: learnt, order, now: NOW },
      {
        kind: 'callback',
        callbackId: 'cb-2',
        nonce: callbackNonce('a-1'),
        answer: { status: 'completed', body: {}, attributes: { portRef: 'PRT-1' } },
      },
    );
    const attributes = { portDate: '2026-12-09', portRef: 'PRT-1' };
    assert.deepEqual(final.write?.kind === 'callback' && final.write.change, {
      kind: 'completed',
      attributes,
      body: {},
    });
    assert.deepEqual(final.effects, [{ kind: 'finish', state: 'Completed', attributes }]);
  });

  it('forgets what an interim update learnt when the system refuses the request and a new one is made', () => {
    const item = { ...waiting, interimAttributes: { portDate: '2026-12-09' }, requestGeneration: 0 };
    const write: Write = {
      kind: 'fail',
      attemptId: 'a-1',
      error: 'refused',
      outcome: {},
      newRequest: true,
    };
    assert.equal(evolve(item, write, AT).interimAttributes, undefined);
  });

  it('puts a poll that got no answer to the retry rules as what it was, not as a reported failure', () => {
    const failed = (failure?: { kind: 'connection' }) =>
      decide(
        { item: { ...waiting, awaiting: { since: AT, deadline: later(60_000) } }, order, now: NOW },
        {
          kind: 'callback',
          callbackId: 'poll-1',
          nonce: callbackNonce('a-1'),
          answer: { status: 'failed', body: null, error: 'no answer', ...(failure ? { failure } : {}) },
          target: TARGET,
          rules: [],
        },
      );
    const change = (decision: Decision) =>
      decision.write?.kind === 'callback' && decision.write.change.kind === 'failed'
        ? decision.write.change
        : undefined;
    // A connection error is retried under the default rule; a reported failure matches none of it.
    assert.equal(change(failed({ kind: 'connection' }))?.retry?.ruleId, 'default');
    assert.equal(change(failed())?.retry, undefined);
    assert.match(change(failed())?.error ?? '', /no retry rule matches a final answer reporting failure/);
  });
});

describe('decide: a procedure that waits at an asynchronous step', () => {
  /** open-ticket: 0 lookup (sync), 1 book (asynchronous), 2 confirm (sync). */
  const BOOK = { procedure: 'open-ticket', id: 'book', index: 1 };
  const waitingAtBook = (extra: Partial<ItemRecord> = {}): ItemRecord => ({
    orderId: 'o-1',
    key: 'ticket.open.1',
    planId: 'ticket',
    planItemId: 'open',
    type: 'autoTask',
    dependsOn: [],
    state: 'Running',
    attemptId: 'a-1',
    callbackNonce: 'n-book',
    taskTokens: ['token-1'],
    attemptCount: 1,
    version: 4,
    procedure: { next: 1, steps: { lookup: { account: 'ACC-1' } }, vars: {} },
    awaiting: { since: later(-60_000), deadline: later(3_600_000), step: 'book' },
    createdAt: AT,
    updatedAt: AT,
    ...extra,
  });
  const order = { state: 'inProgress' as OrderState, done: [] as string[] };
  const completed = (output?: unknown): LifecycleEvent => ({
    kind: 'callback',
    callbackId: 'cb-1',
    nonce: 'n-book',
    answer: {
      status: 'completed',
      body: { status: 'completed', slot: 'S-1' },
      attributes: {},
      ...(output !== undefined ? { output } : {}),
    },
    step: BOOK,
    target: TARGET,
    rules: [],
  });

  it("keeps the step's answer as its output and hands the item back Pending, to be claimed again", () => {
    // Act
    const d = decide({ item: waitingAtBook(), order, now: NOW }, completed());

    // Assess
    assert.equal(d.write?.kind, 'callback');
    const change = d.write?.kind === 'callback' ? d.write.change : undefined;
    assert.equal(change?.kind, 'stepCompleted');
    assert.ok(change?.kind === 'stepCompleted');
    assert.deepEqual(change.step, BOOK);
    assert.deepEqual(change.output, { status: 'completed', slot: 'S-1' }, 'without a mapping, the body');
    assert.deepEqual(change.trace, {
      step: 'book',
      type: 'http',
      output: { status: 'completed', slot: 'S-1' },
      startedAt: later(-60_000),
      ms: 60_000,
    });
    assert.deepEqual(d.effects, [{ kind: 'sendStart' }], 'a start with no attempt: whoever claims it first');
    assert.equal(eventOf(d.write as Write), 'resume');
    const after = evolve(waitingAtBook(), d.write as Write, AT);
    assert.equal(after.state, 'Pending');
    assert.deepEqual(after.procedure, {
      next: 2,
      steps: { lookup: { account: 'ACC-1' }, book: { status: 'completed', slot: 'S-1' } },
      vars: {},
    });
    assert.equal(after.attemptId, undefined);
    assert.equal(after.awaiting, undefined);
    assert.equal(after.callbackNonce, undefined, 'no answer on the URL applies any more');
    assert.equal(after.finishedBy, 'cb-1');
  });

  it("takes the async-response mapping's result as the output when there is one, and asks for it first", () => {
    const mapped = decide({ item: waitingAtBook(), order, now: NOW }, completed({ slotId: 'S-1' }));
    assert.ok(mapped.write?.kind === 'callback' && mapped.write.change.kind === 'stepCompleted');
    assert.deepEqual(mapped.write.change.output, { slotId: 'S-1' });

    const unmapped = decide(
      { item: waitingAtBook(), order, now: NOW },
      {
        ...(completed() as Extract<LifecycleEvent, { kind: 'callback' }>),
        answer: { status: 'completed', body: {} },
      },
    );
    assert.equal(unmapped.next, 'mapAnswer');
  });

  it('claims the handed-back item for any delivery, saying where its procedure goes on, and runs it', () => {
    // Prepare
    const resumed = evolve(
      waitingAtBook(),
      decide({ item: waitingAtBook(), order, now: NOW }, completed()).write as Write,
      AT,
    );

    // Act
    const d = decide({ item: resumed, order, now: NOW }, { kind: 'arrived', deliveryId: 'm-9' });

    // Assess
    assert.equal(d.write?.kind, 'claim');
    assert.ok(d.write?.kind === 'claim');
    assert.equal(d.write.reason, 'started again; its procedure goes on at step 3');
    assert.equal(d.write.attemptId, 'm-9');
    assert.equal(d.next, 'perform');
  });

  it('sends the start again on a redelivered answer that handed it back, and changes nothing else', () => {
    const resumed = evolve(
      waitingAtBook(),
      decide({ item: waitingAtBook(), order, now: NOW }, completed()).write as Write,
      AT,
    );

    const again = decide({ item: resumed, order, now: NOW }, completed());

    assert.equal(again.ignored, 'duplicate');
    assert.equal(again.write, undefined);
    assert.deepEqual(again.effects, [{ kind: 'sendStart' }]);
  });

  it('applies no answer to a step the procedure does not stand at, nor one that names no step', () => {
    const elsewhere = decide(
      { item: waitingAtBook(), order, now: NOW },
      {
        ...(completed() as Extract<LifecycleEvent, { kind: 'callback' }>),
        step: { ...BOOK, id: 'confirm', index: 2 },
      },
    );
    const { step: _step, ...noStep } = completed() as Extract<LifecycleEvent, { kind: 'callback' }>;
    const nowhere = decide({ item: waitingAtBook(), order, now: NOW }, noStep);

    for (const d of [elsewhere, nowhere]) {
      assert.equal(d.ignored, 'not-waiting');
      assert.equal(d.write, undefined);
    }
  });

  it('fails the step with an answer too large to keep, naming the procedure and the step: no retry mends it', () => {
    const d = decide({ item: waitingAtBook(), order, now: NOW }, completed({ blob: 'x'.repeat(40_000) }));

    assert.ok(d.write?.kind === 'callback' && d.write.change.kind === 'failed');
    assert.match(
      d.write.change.error,
      /^procedure "open-ticket" step "book": its answer gives 400\d\d bytes, more than a step may keep \(32768\)/,
    );
    assert.equal(d.write.change.retry, undefined);
    assert.equal(evolve(waitingAtBook(), d.write, AT).state, 'FatallyFailed');
  });

  it('leaves a failed answer or the deadline of a step to the retry rules, naming the procedure and the step; the retry stands at the step', () => {
    const rule = {
      id: 'again',
      scope: { kind: 'all' as const },
      matches: { timeouts: true, connectionErrors: false, failedAnswers: true, statuses: [] },
      policy: { type: 'fixed' as const, count: 3, intervalSeconds: 10 },
      honourRetryAfter: true,
    };
    const failed = decide(
      { item: waitingAtBook(), order, now: NOW },
      {
        kind: 'callback',
        callbackId: 'cb-2',
        nonce: 'n-book',
        answer: { status: 'failed', body: {}, error: 'the system reported failure: NO_SLOT' },
        step: BOOK,
        target: TARGET,
        rules: [rule],
      },
    );
    const late = decide(
      { item: waitingAtBook(), order, now: new Date(Date.parse(later(3_600_000)) + 1) },
      {
        kind: 'deadline',
        nonce: 'n-book',
        dueAt: later(3_600_000),
        step: BOOK,
        target: TARGET,
        rules: [rule],
      },
    );

    assert.ok(failed.write?.kind === 'callback' && failed.write.change.kind === 'failed');
    assert.equal(
      failed.write.change.error,
      'procedure "open-ticket" step "book": the system reported failure: NO_SLOT',
    );
    assert.equal(failed.write.change.newRequest, true, 'refused: the retry is a new request of the step');
    assert.ok(late.write?.kind === 'callback' && late.write.change.kind === 'failed');
    assert.match(
      late.write.change.error,
      /^procedure "open-ticket" step "book": no final answer on the callback within 3660 s/,
    );
    for (const d of [failed, late]) {
      const after = evolve(waitingAtBook(), d.write as Write, AT);
      assert.equal(after.state, 'Failed');
      assert.equal(after.procedure?.next, 1, 'the retry sends the step again');
      assert.deepEqual(d.effects, [
        { kind: 'sendRetry', at: (d.write as { change: { retry: { at: string } } }).change.retry.at },
      ]);
    }
  });

  it('says which step waits when the system accepts it', () => {
    const claimed: ItemRecord = { ...waitingAtBook(), awaiting: undefined, leaseUntil: later(20_000) };
    const d = decide(
      { item: claimed, order, now: NOW },
      {
        kind: 'answered',
        deliveryId: 'a-1',
        outcome: { awaitingUntil: later(3_600_000), awaitingStep: 'book' },
        target: TARGET,
        rules: [],
      },
    );
    assert.ok(d.write?.kind === 'await');
    assert.deepEqual(d.write.awaiting, { since: AT, deadline: later(3_600_000), step: 'book' });
    assert.deepEqual(d.effects, [{ kind: 'sendDeadline', nonce: 'n-book', dueAt: later(3_600_000) }]);
  });
});

describe('decide: a procedure with an asynchronous step, under any messages, callbacks, deadlines and operators', () => {
  /** lookup (sync), book (asynchronous: answers on a callback), confirm (sync), as the worker runs them. */
  const STEPS = ['lookup', 'book', 'confirm'] as const;
  const BOOK = { procedure: 'p', id: 'book', index: 1 };

  it('never sends a step again once it succeeded, runs on from the step after the callback, and one claim at a time', () => {
    const happening = fc.oneof(
      {
        weight: 5,
        arbitrary: fc.record({
          kind: fc.constant('message' as const),
          // A fresh delivery, or any earlier one again (a redelivery, however stale).
          redelivery: fc.option(fc.nat(20), { nil: undefined }),
          // What the system makes of the asynchronous step: accepted (most often), refused for now, or the
          // worker dies once it is sent (before or after the request), or its callback beats the acceptance.
          book: fc.constantFrom(
            'accepted',
            'accepted',
            'accepted',
            'busy',
            'crashBefore',
            'crashAfter',
            'callbackFirst',
          ),
        }),
      },
      {
        weight: 4,
        arbitrary: fc.record({
          kind: fc.constant('callback' as const),
          answer: fc.constantFrom('completed', 'completed', 'failed', 'inProgress'),
          id: fc.constantFrom('cb-1', 'cb-2', 'cb-3'),
          // The URL of the latest request of the step, or of an earlier one.
          url: fc.constantFrom('latest', 'latest', 'latest', 'earlier'),
        }),
      },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('deadline' as const), due: fc.boolean() }) },
      {
        weight: 1,
        arbitrary: fc.record({
          kind: fc.constant('operator' as const),
          action: fc.constantFrom('retry', 'retry', 'skip', 'abort'),
        }),
      },
    );
    const rules = [
      {
        id: 'again',
        scope: { kind: 'all' as const },
        matches: { timeouts: true, connectionErrors: true, failedAnswers: true, statuses: [503] },
        policy: { type: 'forever' as const, intervalSeconds: 10 },
        honourRetryAfter: true,
      },
    ];
    const target = { target: TARGET, rules };
    let resumedThenCompleted = 0;
    fc.assert(
      fc.property(fc.array(happening, { minLength: 10, maxLength: 50 }), (happenings) => {
        let item: ItemRecord = {
          orderId: 'o-1',
          key: 'p.run.1',
          planId: 'p',
          planItemId: 'run',
          type: 'autoTask',
          dependsOn: [],
          state: 'Pending',
          taskTokens: ['token-1'],
          createdAt: AT,
          updatedAt: AT,
        };
        const order = { state: 'inProgress' as OrderState, done: [] as string[] };
        const succeeded = new Set<string>();
        const sent = { lookup: 0, book: 0, confirm: 0 };
        /** The nonces of the URLs the book step's requests carried, oldest first. */
        const urls: string[] = [];
        const deliveries: string[] = [];
        const performed = new Set<string>();
        let resumed = false;
        let clock = NOW.getTime();

        const decideAndApply = (
          event: LifecycleEvent,
          found: (step: string) => LifecycleEvent | undefined,
        ) => {
          let next: LifecycleEvent | undefined = event;
          for (let turns = 0; next && turns < 10; turns++) {
            const now = new Date(clock);
            const d = decide({ item, order, planned: {}, now }, next);
            if (d.refusal !== undefined) return;
            if (d.write) {
              assert.ok(allowed(item, d.write, now), `${item.state} --${d.write.kind}-->`);
              if (d.write.kind === 'callback' && d.write.change.kind === 'stepCompleted') {
                assert.ok(!succeeded.has('book'), 'the step completed once');
                succeeded.add('book');
                resumed = true;
              }
              item = evolve(item, d.write, now.toISOString());
            }
            next = d.follows ?? (d.next ? found(d.next) : undefined);
          }
        };
        /** The progress kept for the attempt that runs the item (saveProcedureProgress): false when it lost it. */
        const keep = (deliveryId: string, progress: ItemRecord['procedure'], nonce?: string) => {
          if (item.state !== 'Running' || item.attemptId !== deliveryId) return false;
          const { callbackNonce: _old, ...rest } = item;
          item = { ...rest, procedure: progress, ...(nonce ? { callbackNonce: nonce } : {}) };
          return true;
        };
        const send = (step: (typeof STEPS)[number]) => {
          assert.ok(!succeeded.has(step), `step ${step} sent again after it succeeded`);
          sent[step] += 1;
        };
        /** What each callback said, by id: a kept one is taken as it was. */
        const keptAnswers = new Map<string, string>();
        const callbackOf = (h: { answer: string; id: string; url: string }): LifecycleEvent | undefined => {
          const nonce = h.url === 'latest' ? urls.at(-1) : urls.at(-2);
          if (!nonce) return undefined;
          keptAnswers.set(`${nonce}:${h.id}`, h.answer);
          return callbackWith(nonce, `${nonce}:${h.id}`, h.answer);
        };
        const callbackWith = (nonce: string, callbackId: string, said: string): LifecycleEvent => {
          const h = { answer: said };
          const answer: CallbackAnswer =
            h.answer === 'completed'
              ? { status: 'completed', body: { slot: 'S-1' } }
              : h.answer === 'failed'
                ? { status: 'failed', body: {}, error: 'no slot' }
                : { status: 'inProgress', body: {} };
          // The correlator names the step the item's progress stands at, when it is the asynchronous one.
          const step = item.procedure?.next === 1 ? { step: BOOK } : {};
          return { kind: 'callback', callbackId, nonce, answer, ...step, ...target };
        };
        const applyCallback = (event: LifecycleEvent | undefined) => {
          if (event?.kind !== 'callback') return;
          decideAndApply(event, (step) =>
            step === 'mapAnswer' && event.answer.status === 'completed'
              ? { ...event, answer: { ...event.answer, attributes: {} } }
              : undefined,
          );
        };

        const run = (h: { kind: 'message'; redelivery: number | undefined; book: string }) => {
          const deliveryId =
            h.redelivery !== undefined && deliveries.length > 0
              ? (deliveries[h.redelivery % deliveries.length] as string)
              : `m-${deliveries.length}`;
          deliveries.push(deliveryId);
          let takeKept: LifecycleEvent | undefined;
          decideAndApply({ kind: 'arrived', deliveryId }, (step) => {
            if (step !== 'perform') return undefined;
            const claim = `${deliveryId}@${item.version}`;
            assert.ok(!performed.has(claim), `claim ${claim} ran twice`);
            assert.ok(!item.awaiting, 'an item waiting for its callback is not run');
            performed.add(claim);
            // The answer kept for this request while no attempt waited is taken instead (run-item.ts).
            const kept = item.keptAnswer;
            if (kept && kept.nonce === item.callbackNonce) {
              takeKept = callbackWith(
                kept.nonce,
                kept.callbackId,
                keptAnswers.get(kept.callbackId) ?? 'completed',
              );
              return undefined;
            }
            let at = item.procedure?.next ?? 0;
            if (at === 0) {
              send('lookup');
              if (!keep(deliveryId, { next: 1, steps: { lookup: { account: 'A-1' } }, vars: {} }))
                return undefined;
              succeeded.add('lookup');
              at = 1;
            }
            if (at === 1) {
              const nonce = callbackNonce(`${item.requestGeneration ?? 0}.book`);
              if (!keep(deliveryId, { ...(item.procedure ?? { steps: {}, vars: {} }), next: 1 }, nonce))
                return undefined;
              if (h.book === 'crashBefore') return undefined;
              send('book');
              if (urls.at(-1) !== nonce) urls.push(nonce);
              if (h.book === 'crashAfter') return undefined;
              if (h.book === 'callbackFirst')
                applyCallback(callbackOf({ answer: 'completed', id: 'first', url: 'latest' }));
              const outcome: Answer =
                h.book === 'busy'
                  ? { error: 'HTTP 503', failure: { kind: 'status', status: 503 } }
                  : { awaitingUntil: new Date(clock + 3_600_000).toISOString(), awaitingStep: 'book' };
              return { kind: 'answered', deliveryId, outcome, ...target };
            }
            assert.equal(at, 2);
            assert.ok(item.procedure?.steps.book, "the last step runs with the asynchronous step's output");
            send('confirm');
            succeeded.add('confirm');
            return { kind: 'answered', deliveryId, outcome: { attributes: { done: true } }, ...target };
          });
          applyCallback(takeKept);
        };
        for (const h of happenings) {
          clock += 100_000;
          if (h.kind === 'message') {
            run(h);
          } else if (h.kind === 'callback') {
            applyCallback(callbackOf(h));
          } else if (h.kind === 'deadline') {
            const nonce = item.callbackNonce;
            if (!nonce || !item.awaiting) continue;
            const dueAt = h.due ? item.awaiting.deadline : new Date(clock + 60_000).toISOString();
            if (h.due) clock = Math.max(clock, Date.parse(item.awaiting.deadline));
            decideAndApply(
              {
                kind: 'deadline',
                nonce,
                dueAt,
                ...(item.procedure?.next === 1 ? { step: BOOK } : {}),
                ...target,
              },
              () => undefined,
            );
          } else {
            const action =
              h.action === 'abort'
                ? { action: 'abort' as const, by: OPERATOR, reason: 'hangs', ...target }
                : h.action === 'skip'
                  ? { action: 'skip' as const, by: OPERATOR, note: 'n' }
                  : { action: 'retry' as const, by: OPERATOR, reason: 'r' };
            decideAndApply({ kind: 'operator', ...action }, () => undefined);
          }
        }
        // And nothing is left stuck: with its system answering from now on, the item gets done.
        for (let round = 0; round < 8 && !isDone(item); round++) {
          clock += 100_000;
          if (item.state === 'FatallyFailed')
            decideAndApply({ kind: 'operator', action: 'retry', by: OPERATOR, reason: 'r' }, () => undefined);
          run({ kind: 'message', redelivery: undefined, book: 'accepted' });
          applyCallback(callbackOf({ answer: 'completed', id: `final-${round}`, url: 'latest' }));
        }
        assert.ok(isDone(item), `left ${item.state}: ${JSON.stringify(item)}`);
        assert.ok(sent.lookup <= 1, `lookup sent ${sent.lookup} times`);
        assert.ok(sent.confirm <= 1, `confirm sent ${sent.confirm} times`);
        if (item.state === 'Completed' && resumed) resumedThenCompleted++;
        if (item.state === 'Completed' && item.completedBy === undefined && sent.confirm === 1)
          assert.ok(succeeded.has('book'), 'completed only after its asynchronous step answered');
      }),
      { numRuns: 1_000 },
    );
    assert.ok(resumedThenCompleted > 50, `only ${resumedThenCompleted} runs resumed and completed`);
  });
});
