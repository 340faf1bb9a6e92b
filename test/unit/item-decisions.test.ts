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
import { ITEM_STATES, type ItemRecord, type OrderState } from '../../lambdas/domain/orchestration';
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
  fc.record({
    kind: fc.constant('callback' as const),
    callbackId: fc.constantFrom('cb-1', 'cb-2', 'cb-3'),
    nonce,
    answer: callbackAnswerArb,
    ...Object.fromEntries(Object.entries(retryable).map(([k, v]) => [k, fc.constant(v)])),
  }) as fc.Arbitrary<LifecycleEvent>,
  fc.record({
    kind: fc.constant('deadline' as const),
    nonce,
    dueAt: fc.constantFrom(later(-1_000), later(60_000)),
    target: fc.constant(TARGET),
    rules: fc.constant([]),
  }),
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
