import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { Authenticator } from '../../lambdas/domain/authenticator';
import type { Catalog } from '../../lambdas/domain/catalog';
import { decompose } from '../../lambdas/domain/decompose';
import type { AttemptRecord, ItemDetail } from '../../lambdas/domain/orchestration';
import { productOrderCreateSchema } from '../../lambdas/domain/product-order';
import { type RetryRule, retryRuleBodySchema } from '../../lambdas/domain/retry-rules';
import type { Actor } from '../../lambdas/domain/roles';
import type { HttpResponse } from '../../lambdas/ports/http-client';
import type { StartItemMessage } from '../../lambdas/ports/work-queue';
import { runItem } from '../../lambdas/use-cases/run-item';
import type { RunItemDeps } from '../../lambdas/use-cases/run-item-deps';
import { planDefinitionSchema } from '../../statemachines/plan-definition';
import { dslCatalog, dslOrderBody, INVENTORY_URL, LINE_CHARACTERISTICS, offering } from './fixtures/catalogs';
import {
  InMemoryCalloutLimits,
  InMemoryConfigurationStore,
  InMemoryRetryRuleStore,
  StaticSecretStore,
} from './fixtures/configuration';
import {
  jsonAnswer,
  RecordingAvailabilityEvents,
  RecordingPlanTasks,
  RecordingTelemetry,
  RecordingWorkQueue,
  ScriptedHttpClient,
  testCallbacks,
} from './fixtures/fake-ports';
import { InMemoryOrderStore } from './fixtures/in-memory-order-store';
import { capturedLogs } from './fixtures/logs';
import { RULE_WRITER } from './fixtures/retry-rules';

const OPERATOR: Actor = { id: 'op-1', name: 'Olga Operator' };
const ORDER = 'o-1';
/** The single callout of the order: inventory's reserve-port. */
const KEY = 'port-only.reserve-port.1';
const T0 = Date.parse('2025-03-01T10:00:00.000Z');
/** The time `seconds` after T0, as the item records it. */
const at = (seconds: number) => new Date(T0 + seconds * 1000).toISOString();

const UNAVAILABLE: HttpResponse = {
  status: 503,
  headers: { 'content-type': 'application/json' },
  body: '{"error":"unavailable"}',
};
const E503 = 'answered 503: {"error":"unavailable"}';
const RESERVED = jsonAnswer(201, { portId: 'P-7' });

/**
 * An order of one line whose plan is one callout to the inventory, and the worker's dependencies around
 * in-memory fakes: the inventory gives the scripted answers in turn, and the clock stands still until
 * the test moves it.
 */
async function setup(t: TestContext, answers: HttpResponse[]) {
  capturedLogs(t);
  const catalog: Catalog = dslCatalog();
  catalog.plans['port-only'] = planDefinitionSchema.parse({
    id: 'port-only',
    fulfils: [{ offering: 'port-only' }],
    items: [{ id: 'reserve-port', type: 'callout', interface: 'reserve-port' }],
  });
  catalog.offerings['port-only'] = offering('port-only', LINE_CHARACTERISTICS);
  const [line] = dslOrderBody().productOrderItem as Record<string, unknown>[];
  const submitted = productOrderCreateSchema.parse({
    ...dslOrderBody(),
    productOrderItem: [{ ...line, productOffering: { id: 'port-only' } }],
  });
  const store = new InMemoryOrderStore();
  const { order, items } = decompose(catalog, ORDER, submitted, '2025-03-01T09:00:00.000Z');
  await store.createOrder(order, items);
  const clock = {
    ms: T0,
    /** Moves the clock to `seconds` after T0. */
    to(seconds: number) {
      assert.ok(T0 + seconds * 1000 >= this.ms, 'the clock only moves forward');
      this.ms = T0 + seconds * 1000;
    },
  };
  const now = () => new Date(clock.ms);
  const script = [...answers];
  const http = new ScriptedHttpClient(() => {
    const answer = script.shift();
    if (!answer) throw new Error('unscripted request');
    return answer;
  });
  const queue = new RecordingWorkQueue();
  const tasks = new RecordingPlanTasks();
  const config = InMemoryConfigurationStore.seededFrom(catalog);
  const rules = new InMemoryRetryRuleStore();
  const deps: RunItemDeps = {
    store,
    tasks,
    queue,
    http,
    catalog,
    config,
    limits: new InMemoryCalloutLimits(),
    auth: new Authenticator(new StaticSecretStore({}), http, now),
    now,
    telemetry: new RecordingTelemetry(),
    callbacks: testCallbacks,
    events: new RecordingAvailabilityEvents(),
    rules,
    sleep: async (ms) => {
      clock.ms += ms;
    },
  };
  /** Runs the `index`-th message the worker queued, as SQS would deliver it. */
  const deliver = async (index: number) => {
    const message = queue.sent[index];
    assert.ok(message, `message ${index} was queued`);
    await runItem(deps, message, `message-${index}`);
  };
  /** The first attempt: the plan dispatches the item. */
  const dispatch = () => runItem(deps, { orderId: ORDER, itemKey: KEY, taskToken: 'token-1' }, 'dispatch-1');
  const item = () => store.item(ORDER, KEY);
  return { deps, store, http, queue, tasks, config, rules, clock, deliver, dispatch, item };
}

/** The work message that brings the item back. */
const retryMessage: StartItemMessage = { kind: 'start', orderId: ORDER, itemKey: KEY };

/** A rule as an operator PUTs it, parsed as the admin API parses it. */
function rule(id: string, body: Record<string, unknown>): RetryRule {
  return { id, ...retryRuleBodySchema.parse(body) };
}

/**
 * The item's attempts without their requests, after checking that each kept the request it sent (to the
 * reservations endpoint, at the attempt's time).
 */
function attemptsOf(item: ItemDetail): Omit<AttemptRecord, 'request'>[] {
  return (item.attempts ?? []).map(({ request, ...attempt }) => {
    assert.equal(request?.url, `${INVENTORY_URL}/ports/reservations`, `attempt ${attempt.number} request`);
    assert.equal(request?.sentAt, attempt.at, `attempt ${attempt.number} sent at its time`);
    return attempt;
  });
}

const historyOf = (item: ItemDetail) => item.history.map((h) => [h.at, h.state, h.reason]);
const DECOMPOSED = [
  '2025-03-01T09:00:00.000Z',
  'Pending',
  'decomposed by plan "port-only" for line "line-1"',
];

describe('runItem under retry rules, against an injected clock', () => {
  it('retries a 503 under the default rule 10 s, 30 s and 90 s apart: attempts at t0, +10 s, +40 s, +130 s', async (t) => {
    // Prepare
    const { http, queue, tasks, store, clock, deliver, dispatch, item } = await setup(t, [
      UNAVAILABLE,
      UNAVAILABLE,
      UNAVAILABLE,
      RESERVED,
    ]);

    // Act: attempt 1.
    await dispatch();

    // Assess: Failed until its first retry, which a message 10 s away brings.
    let failed = item();
    assert.equal(failed.state, 'Failed');
    assert.equal(failed.nextAttemptAt, at(10));
    assert.equal(failed.retries, 1);
    assert.equal(failed.error, `${E503}; retry 1 at ${at(10)} (retry rule "default")`);
    assert.equal(store.order(ORDER).state, 'inProgress', 'a failing item does not hold its order');
    assert.deepEqual(queue.sent, [retryMessage]);
    assert.deepEqual(queue.delays, [10]);

    // Act: the message arrives 4 s in, early.
    clock.to(4);
    await deliver(0);

    // Assess: it goes back to the queue for the remaining 6 s and changes nothing.
    assert.deepEqual(item(), failed);
    assert.equal(http.requests.length, 1);
    assert.deepEqual(queue.sent, [retryMessage, retryMessage]);
    assert.deepEqual(queue.delays, [10, 6]);

    // Act: attempts 2, 3 and 4, each when its message is due.
    clock.to(10);
    await deliver(1);
    failed = item();
    assert.equal(failed.state, 'Failed');
    assert.equal(failed.nextAttemptAt, at(40));
    clock.to(40);
    await deliver(2);
    assert.equal(item().nextAttemptAt, at(130));
    clock.to(130);
    await deliver(3);

    // Assess
    const done = item();
    assert.equal(done.state, 'Completed');
    assert.equal(done.retries, 3);
    assert.equal(done.nextAttemptAt, undefined);
    assert.deepEqual(done.outputAttributes, { portId: 'P-7' });
    assert.equal(http.requests.length, 4);
    assert.deepEqual(queue.delays, [10, 6, 30, 90]);
    assert.equal(queue.sent.length, 4, 'nothing queued after the completion');
    assert.deepEqual(attemptsOf(done), [
      {
        number: 1,
        at: at(0),
        status: 503,
        durationMs: 0,
        error: E503,
        decision: { kind: 'retry', at: at(10), ruleId: 'default', retry: 1 },
      },
      {
        number: 2,
        at: at(10),
        status: 503,
        durationMs: 0,
        error: E503,
        decision: { kind: 'retry', at: at(40), ruleId: 'default', retry: 2 },
      },
      {
        number: 3,
        at: at(40),
        status: 503,
        durationMs: 0,
        error: E503,
        decision: { kind: 'retry', at: at(130), ruleId: 'default', retry: 3 },
      },
      { number: 4, at: at(130), status: 201, durationMs: 0, decision: { kind: 'completed' } },
    ]);
    assert.deepEqual(historyOf(done), [
      DECOMPOSED,
      [at(0), 'Running', 'prerequisites done; started'],
      [at(0), 'Failed', `${E503}; retry 1 at ${at(10)} (retry rule "default")`],
      [at(10), 'Running', 'retry 1 due; started'],
      [at(10), 'Failed', `${E503}; retry 2 at ${at(40)} (retry rule "default")`],
      [at(40), 'Running', 'retry 2 due; started'],
      [at(40), 'Failed', `${E503}; retry 3 at ${at(130)} (retry rule "default")`],
      [at(130), 'Running', 'retry 3 due; started'],
      [at(130), 'Completed', 'completed'],
    ]);
    assert.equal(store.order(ORDER).state, 'completed');
    assert.deepEqual(tasks.answers, [{ taskToken: 'token-1', output: { itemKey: KEY, state: 'Completed' } }]);
  });

  it('goes to fallout when the default rule’s three retries failed too, and holds the order', async (t) => {
    // Prepare
    const { http, queue, store, clock, deliver, dispatch, item } = await setup(t, [
      UNAVAILABLE,
      UNAVAILABLE,
      UNAVAILABLE,
      UNAVAILABLE,
    ]);
    await dispatch();

    // Act
    for (const [index, seconds] of [10, 40, 130].entries()) {
      clock.to(seconds);
      await deliver(index);
    }

    // Assess
    const out = item();
    const reason = 'retries exhausted under retry rule "default" (3 made)';
    assert.equal(out.state, 'FatallyFailed');
    assert.equal(out.error, `${E503} (${reason})`);
    assert.equal(out.retries, 3);
    assert.deepEqual(attemptsOf(out).at(-1), {
      number: 4,
      at: at(130),
      status: 503,
      durationMs: 0,
      error: E503,
      decision: { kind: 'fallout', reason, ruleId: 'default' },
    });
    assert.equal(http.requests.length, 4);
    assert.equal(queue.sent.length, 3, 'no message after the last retry');
    assert.equal(store.order(ORDER).state, 'held');
    assert.deepEqual(store.order(ORDER).holds, [KEY]);
  });

  it('takes a fixed rule for the interface over a rule for all systems', async (t) => {
    // Prepare: a rule for all systems, one for another interface, and one for reserve-port.
    const { http, queue, store, rules, clock, deliver, dispatch, item } = await setup(t, [
      UNAVAILABLE,
      UNAVAILABLE,
      UNAVAILABLE,
    ]);
    const matches5xx = { statuses: ['5xx'] };
    await rules.put(
      rule('all-5xx', {
        scope: { kind: 'all' },
        matches: matches5xx,
        policy: { type: 'staggered', intervalsSeconds: [3600] },
      }),
      RULE_WRITER,
      at(-3600),
    );
    await rules.put(
      rule('a-port-status', {
        scope: { kind: 'interface', interfaceId: 'port-status' },
        matches: matches5xx,
        policy: { type: 'fixed', count: 5, intervalSeconds: 5 },
      }),
      RULE_WRITER,
      at(-3600),
    );
    await rules.put(
      rule('reserve-port-fixed', {
        scope: { kind: 'interface', interfaceId: 'reserve-port' },
        matches: matches5xx,
        policy: { type: 'fixed', count: 2, intervalSeconds: 20 },
      }),
      RULE_WRITER,
      at(-3600),
    );

    // Act
    await dispatch();
    clock.to(20);
    await deliver(0);
    clock.to(40);
    await deliver(1);

    // Assess: retried twice 20 s apart, then fallout under the same rule.
    const out = item();
    const reason = 'retries exhausted under retry rule "reserve-port-fixed" (2 made)';
    assert.deepEqual(
      attemptsOf(out).map((a) => [a.at, a.decision]),
      [
        [at(0), { kind: 'retry', at: at(20), ruleId: 'reserve-port-fixed', retry: 1 }],
        [at(20), { kind: 'retry', at: at(40), ruleId: 'reserve-port-fixed', retry: 2 }],
        [at(40), { kind: 'fallout', reason, ruleId: 'reserve-port-fixed' }],
      ],
    );
    assert.equal(out.state, 'FatallyFailed');
    assert.equal(out.error, `${E503} (${reason})`);
    assert.deepEqual(queue.delays, [20, 20]);
    assert.equal(http.requests.length, 3);
    assert.equal(store.order(ORDER).state, 'held');
  });

  it('waits the 120 s a 429 asks for with Retry-After, beyond the default rule’s 10 s', async (t) => {
    // Prepare
    const tooMany: HttpResponse = {
      status: 429,
      headers: { 'content-type': 'application/json', 'Retry-After': '120' },
      body: '{"error":"slow down"}',
    };
    const { http, queue, store, clock, deliver, dispatch, item } = await setup(t, [tooMany, RESERVED]);

    // Act
    await dispatch();

    // Assess
    const failed = item();
    assert.equal(failed.state, 'Failed');
    assert.equal(failed.nextAttemptAt, at(120));
    assert.equal(
      failed.error,
      `answered 429: {"error":"slow down"}; retry 1 at ${at(120)} (retry rule "default")`,
    );
    assert.deepEqual(queue.sent, [retryMessage]);
    assert.deepEqual(queue.delays, [120]);

    // Act: the retry, when due.
    clock.to(120);
    await deliver(0);

    // Assess
    const done = item();
    assert.equal(done.state, 'Completed');
    assert.deepEqual(attemptsOf(done), [
      {
        number: 1,
        at: at(0),
        status: 429,
        durationMs: 0,
        error: 'answered 429: {"error":"slow down"}',
        decision: { kind: 'retry', at: at(120), ruleId: 'default', retry: 1 },
      },
      { number: 2, at: at(120), status: 201, durationMs: 0, decision: { kind: 'completed' } },
    ]);
    assert.equal(http.requests.length, 2);
    assert.equal(store.order(ORDER).state, 'completed');
  });

  it('sends a 400 straight to fallout, even with a rule that retries 5xx: FatallyFailed, the order held, listed', async (t) => {
    // Prepare
    const badRequest: HttpResponse = {
      status: 400,
      headers: { 'content-type': 'application/json' },
      body: '{"error":"no such line"}',
    };
    const { http, queue, store, rules, tasks, dispatch, item } = await setup(t, [badRequest]);
    await rules.put(
      rule('all-5xx', {
        scope: { kind: 'all' },
        matches: { statuses: ['5xx'] },
        policy: { type: 'forever', intervalSeconds: 60 },
      }),
      RULE_WRITER,
      at(-3600),
    );

    // Act
    await dispatch();

    // Assess
    const error = 'answered 400: {"error":"no such line"} (no retry rule matches HTTP 400)';
    const out = item();
    assert.equal(out.state, 'FatallyFailed');
    assert.equal(out.error, error);
    assert.equal(out.retries, undefined);
    assert.equal(out.nextAttemptAt, undefined);
    assert.deepEqual(attemptsOf(out), [
      {
        number: 1,
        at: at(0),
        status: 400,
        durationMs: 0,
        error: 'answered 400: {"error":"no such line"}',
        decision: { kind: 'fallout', reason: 'no retry rule matches HTTP 400' },
      },
    ]);
    assert.deepEqual(historyOf(out).at(-1), [at(0), 'FatallyFailed', error]);
    assert.equal(http.requests.length, 1);
    assert.deepEqual(queue.sent, []);
    assert.equal(store.order(ORDER).state, 'held');
    assert.deepEqual(store.order(ORDER).holds, [KEY]);
    assert.deepEqual(tasks.answers, []);
    assert.deepEqual(await store.listFallout({ limit: 10 }), {
      items: [{ orderId: ORDER, key: KEY, error, since: at(0), falloutSort: `${at(0)}#${ORDER}#${KEY}` }],
    });
  });

  it('decides each retry by the rules as they are then: a rule PUT, then removed, between attempts', async (t) => {
    // Prepare: attempt 1 fails under the default rule.
    const { http, queue, rules, clock, deliver, dispatch, item } = await setup(t, [
      UNAVAILABLE,
      UNAVAILABLE,
      UNAVAILABLE,
      RESERVED,
    ]);
    await dispatch();
    assert.equal(item().nextAttemptAt, at(10));

    // Act: an operator PUTs a staggered rule for the inventory; attempt 2 fails under it.
    clock.to(5);
    await rules.put(
      rule('inventory-staggered', {
        scope: { kind: 'system', systemId: 'inventory' },
        matches: { statuses: ['5xx'] },
        policy: { type: 'staggered', intervalsSeconds: [60, 600, 3600] },
      }),
      OPERATOR,
      at(5),
    );
    clock.to(10);
    await deliver(0);

    // Assess: the second retry is the rule's second interval, 600 s.
    assert.equal(item().nextAttemptAt, at(610));
    assert.deepEqual(queue.delays, [10, 600]);

    // Act: the rule is removed; attempt 3 fails under the default rule again, and attempt 4 completes.
    await rules.remove('inventory-staggered');
    clock.to(610);
    await deliver(1);
    clock.to(700);
    await deliver(2);

    // Assess
    const done = item();
    assert.equal(done.state, 'Completed');
    assert.deepEqual(
      attemptsOf(done).map((a) => [a.at, a.decision]),
      [
        [at(0), { kind: 'retry', at: at(10), ruleId: 'default', retry: 1 }],
        [at(10), { kind: 'retry', at: at(610), ruleId: 'inventory-staggered', retry: 2 }],
        [at(610), { kind: 'retry', at: at(700), ruleId: 'default', retry: 3 }],
        [at(700), { kind: 'completed' }],
      ],
    );
    assert.deepEqual(queue.delays, [10, 600, 90]);
    assert.equal(http.requests.length, 4);
  });

  it('puts a retry that comes due while its system is Down On Hold without using an attempt, and runs it as the next once released', async (t) => {
    // Prepare: attempt 1 fails; the inventory goes Down before the retry is due.
    const { deps, http, queue, store, config, clock, deliver, dispatch, item } = await setup(t, [
      UNAVAILABLE,
      RESERVED,
    ]);
    await dispatch();
    clock.to(5);
    await config.setSystemState('inventory', 'Down', {
      by: OPERATOR,
      reason: 'nightly maintenance',
      cause: 'operator',
      at: at(5),
    });

    // Act: the retry comes due.
    clock.to(10);
    await deliver(0);

    // Assess: On Hold, no request, the retry not used.
    const reason = 'system "inventory" is Down: nightly maintenance';
    const held = item();
    assert.equal(held.state, 'OnHold');
    assert.deepEqual(held.hold, {
      systemId: 'inventory',
      interfaceId: 'reserve-port',
      since: at(10),
      reason,
    });
    assert.equal(held.retries, 1);
    assert.equal(held.nextAttemptAt, undefined);
    assert.equal(held.attempts?.length, 1);
    assert.equal(http.requests.length, 1);
    assert.deepEqual(historyOf(held).at(-1), [at(10), 'OnHold', `on hold: ${reason}`]);
    assert.equal(queue.sent.length, 1, 'nothing queued while the system is Down');
    assert.equal(store.order(ORDER).state, 'held');
    assert.deepEqual(store.order(ORDER).holds, [KEY]);

    // Act: the system comes back at 60 s and its release sends the item back to work.
    clock.to(60);
    await config.setSystemState('inventory', 'Up', {
      by: OPERATOR,
      reason: 'back',
      cause: 'operator',
      at: at(60),
    });
    await runItem(deps, { ...retryMessage, releaseId: 'rel-1' }, 'release-1');

    // Assess: the released run is attempt 2, and the retry count is what it was.
    const done = item();
    assert.equal(done.state, 'Completed');
    assert.equal(done.retries, 1);
    assert.deepEqual(
      attemptsOf(done).map((a) => [a.number, a.at, a.decision]),
      [
        [1, at(0), { kind: 'retry', at: at(10), ruleId: 'default', retry: 1 }],
        [2, at(60), { kind: 'completed' }],
      ],
    );
    assert.deepEqual(historyOf(done).slice(1), [
      [at(0), 'Running', 'prerequisites done; started'],
      [at(0), 'Failed', `${E503}; retry 1 at ${at(10)} (retry rule "default")`],
      [at(10), 'OnHold', `on hold: ${reason}`],
      [at(60), 'Running', 'released: system "inventory" is available again; started'],
      [at(60), 'Completed', 'completed'],
    ]);
    assert.equal(http.requests.length, 2);
    assert.equal(store.order(ORDER).state, 'completed');
    assert.equal(store.order(ORDER).holds, undefined);
  });

  it('waits a day in hops of at most 900 s: an early arrival goes back with the rest and changes nothing', async (t) => {
    // Prepare: a rule that retries after a day.
    const { http, queue, rules, clock, deliver, dispatch, item } = await setup(t, [UNAVAILABLE, RESERVED]);
    await rules.put(
      rule('a-day', {
        scope: { kind: 'all' },
        matches: { statuses: ['5xx'] },
        policy: { type: 'staggered', intervalsSeconds: [86_400] },
      }),
      RULE_WRITER,
      at(-3600),
    );

    // Act
    await dispatch();

    // Assess: due in a day; the first hop is SQS's longest delay.
    const failed = item();
    assert.equal(failed.nextAttemptAt, at(86_400));
    assert.deepEqual(queue.delays, [900]);

    // Act: the hops arrive at 900 s and at 86 100 s.
    clock.to(900);
    await deliver(0);
    clock.to(86_100);
    await deliver(1);

    // Assess: each went back for the rest, at most 900 s, and the item is as it was.
    assert.deepEqual(queue.sent, [retryMessage, retryMessage, retryMessage]);
    assert.deepEqual(queue.delays, [900, 900, 300]);
    assert.deepEqual(item(), failed);
    assert.equal(http.requests.length, 1);

    // Act: the last hop arrives when the retry is due.
    clock.to(86_400);
    await deliver(2);

    // Assess
    const done = item();
    assert.equal(done.state, 'Completed');
    assert.deepEqual(
      attemptsOf(done).map((a) => [a.at, a.decision]),
      [
        [at(0), { kind: 'retry', at: at(86_400), ruleId: 'a-day', retry: 1 }],
        [at(86_400), { kind: 'completed' }],
      ],
    );
    assert.equal(http.requests.length, 2);
    assert.equal(queue.sent.length, 3);
  });
});
