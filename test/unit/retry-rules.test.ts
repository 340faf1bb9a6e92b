import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type CalloutFailure,
  DEFAULT_RETRY_RULE,
  decideRetry,
  type FailureTarget,
  type RetryDecision,
  type RetryRule,
  renewsRequest,
  retryAfterSeconds,
  retryRuleBodySchema,
  ruleFor,
} from '../../lambdas/domain/retry-rules';

const FIRST_FAILURE = new Date('2025-03-01T12:00:00.000Z');
const TIMEOUT: CalloutFailure = { kind: 'timeout' };
const CONNECTION: CalloutFailure = { kind: 'connection' };
const UNUSABLE: CalloutFailure = { kind: 'unusable' };
const status = (code: number, retryAfter?: number): CalloutFailure =>
  retryAfter === undefined
    ? { kind: 'status', status: code }
    : { kind: 'status', status: code, retryAfterSeconds: retryAfter };

/** A rule as an operator would PUT it, parsed by the same schema, so defaults are applied as in production. */
function rule(id: string, body: Record<string, unknown>): RetryRule {
  return {
    id,
    ...retryRuleBodySchema.parse({
      scope: { kind: 'all' },
      matches: { timeouts: true },
      policy: { type: 'fixed', count: 3, intervalSeconds: 60 },
      ...body,
    }),
  };
}

interface Schedule {
  /** Each retry's time, in seconds after the first failure. */
  retriesAt: number[];
  /** The decision that ended the schedule (fallout), or the last retry when `limit` was reached. */
  last: RetryDecision;
}

/**
 * Decides again after every failure, as a worker does: the clock moves to each retry's `at`, the retry
 * fails the same way, and the count goes up, until fallout (or `limit` retries, for endless policies).
 */
function schedule(
  retryRule: RetryRule | undefined,
  failure: CalloutFailure,
  options: { random?: () => number; limit?: number } = {},
): Schedule {
  const limit = options.limit ?? 100;
  const retriesAt: number[] = [];
  let now = FIRST_FAILURE;
  for (let retriesSoFar = 0; ; retriesSoFar++) {
    const decision = decideRetry(retryRule, failure, retriesSoFar, now, options.random ?? (() => 0.5));
    if (decision.kind === 'fallout') return { retriesAt, last: decision };
    assert.equal(decision.retry, retriesSoFar + 1);
    assert.equal(decision.ruleId, retryRule?.id);
    retriesAt.push((decision.at.getTime() - FIRST_FAILURE.getTime()) / 1000);
    if (retriesAt.length === limit) return { retriesAt, last: decision };
    now = decision.at;
  }
}

const at = (secondsAfterFirstFailure: number) =>
  new Date(FIRST_FAILURE.getTime() + secondsAfterFirstFailure * 1000);

describe('retry schedules, decided repeatedly against an injected clock', () => {
  it('none: fallout at once, naming the rule and the failure', () => {
    const none = rule('no-retry', { policy: { type: 'none' } });

    assert.deepEqual(schedule(none, TIMEOUT), {
      retriesAt: [],
      last: { kind: 'fallout', ruleId: 'no-retry', reason: 'retry rule "no-retry" does not retry a timeout' },
    });
    assert.deepEqual(schedule(none, status(503)).last, {
      kind: 'fallout',
      ruleId: 'no-retry',
      reason: 'retry rule "no-retry" does not retry HTTP 503',
    });
  });

  it('fixed: count retries at the interval, then fallout saying how many were made', () => {
    const fixed = rule('fixed-60', { policy: { type: 'fixed', count: 3, intervalSeconds: 60 } });

    assert.deepEqual(schedule(fixed, TIMEOUT), {
      retriesAt: [60, 120, 180],
      last: {
        kind: 'fallout',
        ruleId: 'fixed-60',
        reason: 'retries exhausted under retry rule "fixed-60" (3 made)',
      },
    });
  });

  it('staggered: one retry per listed interval, in order', () => {
    const staggered = rule('staggered', {
      policy: { type: 'staggered', intervalsSeconds: [10, 3600, 86400] },
    });

    assert.deepEqual(schedule(staggered, CONNECTION), {
      retriesAt: [10, 3610, 90010],
      last: {
        kind: 'fallout',
        ruleId: 'staggered',
        reason: 'retries exhausted under retry rule "staggered" (3 made)',
      },
    });
  });

  describe('exponential', () => {
    const exponential = (jitter: number) =>
      rule('backoff', {
        policy: {
          type: 'exponential',
          firstIntervalSeconds: 10,
          factor: 2,
          capSeconds: 60,
          jitter,
          count: 5,
        },
      });
    const exhausted: RetryDecision = {
      kind: 'fallout',
      ruleId: 'backoff',
      reason: 'retries exhausted under retry rule "backoff" (5 made)',
    };

    it('grows by the factor up to the cap: 10, 20, 40, 60, 60', () => {
      assert.deepEqual(schedule(exponential(0), TIMEOUT), {
        retriesAt: [10, 30, 70, 130, 190],
        last: exhausted,
      });
    });

    it('with jitter 0.5 and a draw of 1, each interval is halved: 5, 10, 20, 30, 30', () => {
      assert.deepEqual(schedule(exponential(0.5), TIMEOUT, { random: () => 1 }), {
        retriesAt: [5, 15, 35, 65, 95],
        last: exhausted,
      });
    });

    it('with jitter 0.5 and a draw of 0, the intervals are exact', () => {
      assert.deepEqual(schedule(exponential(0.5), TIMEOUT, { random: () => 0 }), {
        retriesAt: [10, 30, 70, 130, 190],
        last: exhausted,
      });
    });

    it('rounds a jittered interval to whole seconds, and never below 1 s', () => {
      const odd = rule('odd', {
        policy: {
          type: 'exponential',
          firstIntervalSeconds: 3,
          factor: 1,
          capSeconds: 3,
          jitter: 0.5,
          count: 1,
        },
      });
      const full = rule('full', {
        policy: {
          type: 'exponential',
          firstIntervalSeconds: 1,
          factor: 1,
          capSeconds: 1,
          jitter: 1,
          count: 2,
        },
      });

      // 3 s shortened by half is 1.5 s, rounded to 2; 1 s shortened entirely is 0 s, raised to 1.
      assert.deepEqual(schedule(odd, TIMEOUT, { random: () => 1 }).retriesAt, [2]);
      assert.deepEqual(schedule(full, TIMEOUT, { random: () => 1 }).retriesAt, [1, 2]);
    });
  });

  it('forever: still retrying at the interval after 1000 retries', () => {
    const forever = rule('forever', { policy: { type: 'forever', intervalSeconds: 300 } });

    const { retriesAt, last } = schedule(forever, TIMEOUT, { limit: 1001 });

    assert.equal(retriesAt.length, 1001);
    assert.deepEqual(retriesAt.slice(0, 3).concat(retriesAt.slice(-2)), [
      300,
      600,
      900,
      1000 * 300,
      1001 * 300,
    ]);
    assert.ok(retriesAt.every((seconds, i) => seconds === (i + 1) * 300));
    assert.deepEqual(last, { kind: 'retry', at: at(1001 * 300), ruleId: 'forever', retry: 1001 });
  });

  it('the default rule: 10 s, 30 s, 90 s, then fallout', () => {
    assert.deepEqual(schedule(DEFAULT_RETRY_RULE, status(503)), {
      retriesAt: [10, 40, 130],
      last: {
        kind: 'fallout',
        ruleId: 'default',
        reason: 'retries exhausted under retry rule "default" (3 made)',
      },
    });
  });

  it('the default rule ignores the random draw: it has no jitter', () => {
    assert.deepEqual(schedule(DEFAULT_RETRY_RULE, TIMEOUT, { random: () => 1 }).retriesAt, [10, 40, 130]);
  });
});

describe('Retry-After', () => {
  const fixed = (honourRetryAfter?: boolean) =>
    rule('fixed-60', {
      matches: { statuses: [429, 503] },
      policy: { type: 'fixed', count: 3, intervalSeconds: 60 },
      ...(honourRetryAfter === undefined ? {} : { honourRetryAfter }),
    });

  it('waits a Retry-After longer than the policy interval', () => {
    assert.deepEqual(decideRetry(fixed(), status(429, 600), 0, FIRST_FAILURE), {
      kind: 'retry',
      at: at(600),
      ruleId: 'fixed-60',
      retry: 1,
    });
    assert.deepEqual(decideRetry(fixed(), status(503, 61), 2, FIRST_FAILURE), {
      kind: 'retry',
      at: at(61),
      ruleId: 'fixed-60',
      retry: 3,
    });
  });

  it('waits the policy interval when the Retry-After is shorter', () => {
    assert.deepEqual(decideRetry(fixed(), status(503, 30), 0, FIRST_FAILURE), {
      kind: 'retry',
      at: at(60),
      ruleId: 'fixed-60',
      retry: 1,
    });
  });

  it('waits the policy interval when the rule does not honour Retry-After', () => {
    assert.deepEqual(decideRetry(fixed(false), status(429, 600), 0, FIRST_FAILURE), {
      kind: 'retry',
      at: at(60),
      ruleId: 'fixed-60',
      retry: 1,
    });
  });

  it('stretches every wait of a schedule without using up more retries', () => {
    assert.deepEqual(schedule(fixed(), status(429, 600)), {
      retriesAt: [600, 1200, 1800],
      last: {
        kind: 'fallout',
        ruleId: 'fixed-60',
        reason: 'retries exhausted under retry rule "fixed-60" (3 made)',
      },
    });
  });

  describe('retryAfterSeconds()', () => {
    it('reads delay seconds', () => {
      assert.equal(retryAfterSeconds('120', FIRST_FAILURE), 120);
      assert.equal(retryAfterSeconds(' 120 ', FIRST_FAILURE), 120);
      assert.equal(retryAfterSeconds('0', FIRST_FAILURE), 0);
    });

    it('reads an HTTP date as the seconds from now, rounded up', () => {
      assert.equal(retryAfterSeconds('Sat, 01 Mar 2025 12:02:00 GMT', FIRST_FAILURE), 120);
      assert.equal(
        retryAfterSeconds('Sat, 01 Mar 2025 12:02:00 GMT', new Date('2025-03-01T12:00:00.500Z')),
        120,
      );
      assert.equal(
        retryAfterSeconds('Sat, 01 Mar 2025 12:02:00 GMT', new Date('2025-03-01T12:00:01.000Z')),
        119,
      );
    });

    it('reads a date in the past as 0', () => {
      assert.equal(retryAfterSeconds('Sat, 01 Mar 2025 11:00:00 GMT', FIRST_FAILURE), 0);
    });

    it('reads garbage, an empty header or no header as undefined', () => {
      assert.equal(retryAfterSeconds('soon', FIRST_FAILURE), undefined);
      assert.equal(retryAfterSeconds('2 minutes', FIRST_FAILURE), undefined);
      assert.equal(retryAfterSeconds('', FIRST_FAILURE), undefined);
      assert.equal(retryAfterSeconds(undefined, FIRST_FAILURE), undefined);
    });
  });
});

describe('ruleFor', () => {
  const TARGET: FailureTarget = { systemId: 'inventory', interfaceId: 'inventory-reserve' };
  const all = rule('all-5xx', { scope: { kind: 'all' }, matches: { timeouts: true, statuses: ['5xx'] } });
  const system = rule('inventory-5xx', {
    scope: { kind: 'system', systemId: 'inventory' },
    matches: { timeouts: true, statuses: ['5xx'] },
  });
  const iface = rule('reserve-5xx', {
    scope: { kind: 'interface', interfaceId: 'inventory-reserve' },
    matches: { timeouts: true, statuses: ['5xx'] },
  });

  it('prefers an interface rule to a system rule to a rule for all, whatever their order', () => {
    assert.equal(ruleFor([all, system, iface], TARGET, status(503)), iface);
    assert.equal(ruleFor([iface, system, all], TARGET, status(503)), iface);
    assert.equal(ruleFor([all, system], TARGET, status(503)), system);
    assert.equal(ruleFor([system, all], TARGET, status(503)), system);
    assert.equal(ruleFor([all], TARGET, status(503)), all);
  });

  it('passes over rules scoped to another system or interface', () => {
    const other: FailureTarget = { systemId: 'billing', interfaceId: 'billing-invoice' };

    assert.equal(ruleFor([iface, system, all], other, status(503)), all);
    assert.equal(ruleFor([iface, system], other, status(503)), DEFAULT_RETRY_RULE);
    assert.equal(ruleFor([iface, system], other, status(400)), undefined);
  });

  it('passes over a more specific rule that does not match the failure for a less specific one that does', () => {
    const ifaceTimeouts = rule('reserve-timeouts', {
      scope: { kind: 'interface', interfaceId: 'inventory-reserve' },
      matches: { timeouts: true },
    });
    const systemConflict = rule('inventory-409', {
      scope: { kind: 'system', systemId: 'inventory' },
      matches: { statuses: [409] },
    });

    assert.equal(ruleFor([ifaceTimeouts, system, all], TARGET, status(503)), system);
    assert.equal(ruleFor([ifaceTimeouts, all], TARGET, status(503)), all);
    assert.equal(ruleFor([ifaceTimeouts], TARGET, status(503)), DEFAULT_RETRY_RULE);
    assert.equal(ruleFor([ifaceTimeouts, systemConflict], TARGET, status(409)), systemConflict);
    assert.equal(ruleFor([ifaceTimeouts, systemConflict], TARGET, TIMEOUT), ifaceTimeouts);
  });

  it('between equally specific matching rules takes the first by id', () => {
    const b = rule('b-rule', {
      scope: { kind: 'system', systemId: 'inventory' },
      matches: { statuses: [503] },
    });
    const a = rule('a-rule', {
      scope: { kind: 'system', systemId: 'inventory' },
      matches: { statuses: ['5xx'] },
    });

    assert.equal(ruleFor([b, a], TARGET, status(503)), a);
    assert.equal(ruleFor([a, b], TARGET, status(503)), a);
    assert.equal(ruleFor([b, a], TARGET, status(502)), a);
  });

  it('matches a status against a class range, an explicit range and an exact code, boundaries included', () => {
    const statusRule = (statuses: unknown[]) => rule('statuses', { matches: { statuses } });
    const matching = (statuses: unknown[], codes: number[]) =>
      codes.filter((code) => ruleFor([statusRule(statuses)], TARGET, status(code))?.id === 'statuses');

    assert.deepEqual(matching(['5xx'], [499, 500, 503, 599, 600]), [500, 503, 599]);
    assert.deepEqual(matching(['4xx'], [399, 400, 499, 500]), [400, 499]);
    assert.deepEqual(matching(['500-504'], [499, 500, 502, 504, 505]), [500, 502, 504]);
    assert.deepEqual(matching(['429-429'], [428, 429, 430]), [429]);
    assert.deepEqual(matching([503], [502, 503, 504]), [503]);
    assert.deepEqual(matching([409, '502-503'], [408, 409, 410, 501, 502, 503, 504]), [409, 502, 503]);
  });

  it('matches timeouts and connection errors only when the rule names them', () => {
    const timeoutsOnly = rule('timeouts', { matches: { timeouts: true } });
    const connectionsOnly = rule('connections', { matches: { connectionErrors: true } });

    assert.equal(ruleFor([timeoutsOnly, connectionsOnly], TARGET, TIMEOUT), timeoutsOnly);
    assert.equal(ruleFor([timeoutsOnly, connectionsOnly], TARGET, CONNECTION), connectionsOnly);
  });

  it('matches a final answer reporting failure only by a rule naming failedAnswers, never by the default', () => {
    const failedAnswer: CalloutFailure = { kind: 'failedAnswer' };
    const answers = rule('answers', { matches: { failedAnswers: true } });
    const timeoutsOnly = rule('timeouts', { matches: { timeouts: true } });

    assert.equal(ruleFor([timeoutsOnly, answers], TARGET, failedAnswer), answers);
    assert.equal(ruleFor([answers], TARGET, TIMEOUT), DEFAULT_RETRY_RULE);
    assert.equal(ruleFor([timeoutsOnly], TARGET, failedAnswer), undefined);
    assert.deepEqual(decideRetry(undefined, failedAnswer, 0, FIRST_FAILURE), {
      kind: 'fallout',
      reason: 'no retry rule matches a final answer reporting failure',
    });
  });

  it('matches no rule, and not the default, for an answer that cannot be used: fallout', () => {
    const everything = rule('everything', {
      scope: { kind: 'interface', interfaceId: 'inventory-reserve' },
      matches: { timeouts: true, connectionErrors: true, statuses: ['1xx', '2xx', '3xx', '4xx', '5xx'] },
      policy: { type: 'forever', intervalSeconds: 60 },
    });

    const found = ruleFor([everything], TARGET, UNUSABLE);

    assert.equal(found, undefined);
    assert.deepEqual(decideRetry(found, UNUSABLE, 0, FIRST_FAILURE), {
      kind: 'fallout',
      reason: 'no retry rule matches an answer that cannot be used',
    });
  });

  it('without rules, gives timeouts, connection errors, 408, 429 and 5xx the default rule', () => {
    for (const failure of [
      TIMEOUT,
      CONNECTION,
      status(408),
      status(429),
      status(500),
      status(503),
      status(599),
    ]) {
      assert.equal(ruleFor([], TARGET, failure), DEFAULT_RETRY_RULE, JSON.stringify(failure));
    }
  });

  it('without rules, gives 400, 404 and 409 no rule, so they go to fallout', () => {
    for (const code of [400, 404, 409]) {
      const found = ruleFor([], TARGET, status(code));

      assert.equal(found, undefined, `HTTP ${code}`);
      assert.deepEqual(decideRetry(found, status(code), 0, FIRST_FAILURE), {
        kind: 'fallout',
        reason: `no retry rule matches HTTP ${code}`,
      });
    }
  });
});

describe('retryRuleBodySchema', () => {
  const body = (overrides: Record<string, unknown>) => ({
    scope: { kind: 'all' },
    matches: { timeouts: true },
    policy: { type: 'fixed', count: 3, intervalSeconds: 60 },
    ...overrides,
  });
  /** The issues of a rejected body, as path and message. */
  const issues = (input: unknown) => {
    const result = retryRuleBodySchema.safeParse(input);
    assert.equal(result.success, false, 'expected the body to be rejected');
    return result.error?.issues.map(({ path, message }) => ({ path, message }));
  };

  describe('accepts', () => {
    it('each policy type, filling in the defaults', () => {
      const defaults = { timeouts: true, connectionErrors: false, failedAnswers: false, statuses: [] };
      const policies = [
        { type: 'none' },
        { type: 'fixed', count: 3, intervalSeconds: 60 },
        { type: 'staggered', intervalsSeconds: [10, 3600, 86400] },
        { type: 'forever', intervalSeconds: 300 },
      ];

      for (const policy of policies) {
        assert.deepEqual(retryRuleBodySchema.parse(body({ policy })), {
          scope: { kind: 'all' },
          matches: defaults,
          policy,
          honourRetryAfter: true,
        });
      }
    });

    it('an exponential policy, with jitter 0 by default', () => {
      const policy = { type: 'exponential', firstIntervalSeconds: 10, factor: 2, capSeconds: 60, count: 5 };

      assert.deepEqual(retryRuleBodySchema.parse(body({ policy })).policy, { ...policy, jitter: 0 });
      assert.deepEqual(retryRuleBodySchema.parse(body({ policy: { ...policy, jitter: 0.25 } })).policy, {
        ...policy,
        jitter: 0.25,
      });
    });

    it('every scope, statuses as codes and ranges, and honourRetryAfter false', () => {
      const full = {
        description: 'inventory reservations are slow to recover',
        scope: { kind: 'interface', interfaceId: 'inventory-reserve' },
        matches: {
          timeouts: false,
          connectionErrors: true,
          failedAnswers: false,
          statuses: [429, '5xx', '500-504'],
        },
        policy: { type: 'fixed', count: 1, intervalSeconds: 1 },
        honourRetryAfter: false,
      };

      assert.deepEqual(retryRuleBodySchema.parse(full), full);
      assert.deepEqual(
        retryRuleBodySchema.parse(body({ scope: { kind: 'system', systemId: 'inventory' } })).scope,
        {
          kind: 'system',
          systemId: 'inventory',
        },
      );
      assert.deepEqual(retryRuleBodySchema.parse(body({ matches: { failedAnswers: true } })).matches, {
        timeouts: false,
        connectionErrors: false,
        failedAnswers: true,
        statuses: [],
      });
      assert.deepEqual(retryRuleBodySchema.parse(body({ matches: { statuses: ['5xx'] } })).matches, {
        timeouts: false,
        connectionErrors: false,
        failedAnswers: false,
        statuses: ['5xx'],
      });
    });
  });

  describe('rejects, naming the path', () => {
    it('an unknown policy type', () => {
      assert.deepEqual(issues(body({ policy: { type: 'sometimes' } })), [
        {
          path: ['policy', 'type'],
          message:
            "Invalid discriminator value. Expected 'none' | 'fixed' | 'staggered' | 'exponential' | 'forever'",
        },
      ]);
    });

    it('a fixed policy with count 0', () => {
      assert.deepEqual(issues(body({ policy: { type: 'fixed', count: 0, intervalSeconds: 60 } })), [
        { path: ['policy', 'count'], message: 'Too small: expected number to be >=1' },
      ]);
    });

    it('a staggered policy with no intervals', () => {
      assert.deepEqual(issues(body({ policy: { type: 'staggered', intervalsSeconds: [] } })), [
        { path: ['policy', 'intervalsSeconds'], message: 'Too small: expected array to have >=1 items' },
      ]);
    });

    it('an exponential policy with factor 0.5', () => {
      const policy = { type: 'exponential', firstIntervalSeconds: 10, factor: 0.5, capSeconds: 60, count: 5 };

      assert.deepEqual(issues(body({ policy })), [
        { path: ['policy', 'factor'], message: 'Too small: expected number to be >=1' },
      ]);
    });

    it('a status range beyond 5xx', () => {
      assert.deepEqual(issues(body({ matches: { statuses: ['600-700'] } })), [
        { path: ['matches', 'statuses', 0], message: 'is not a status range such as "500-599" or "5xx"' },
      ]);
    });

    it('a status range whose start is after its end', () => {
      assert.deepEqual(issues(body({ matches: { statuses: [503, '599-500'] } })), [
        { path: ['matches', 'statuses', 1], message: 'is a range whose start is after its end' },
      ]);
    });

    it('a status that is not a range', () => {
      const found = issues(body({ matches: { statuses: ['abc'] } }));

      // Only the first issue is asserted: the range refinement also runs on a non-range and adds a false
      // "start is after its end" (reported, not fixed here).
      assert.deepEqual(found?.[0], {
        path: ['matches', 'statuses', 0],
        message: 'is not a status range such as "500-599" or "5xx"',
      });
    });

    it('a status code beyond 599', () => {
      assert.deepEqual(issues(body({ matches: { statuses: [600] } })), [
        { path: ['matches', 'statuses', 0], message: 'Too big: expected number to be <=599' },
      ]);
    });

    it('matches that match nothing', () => {
      const nothing = [
        {
          path: ['matches'],
          message: 'matches nothing: name timeouts, connectionErrors, failedAnswers or statuses',
        },
      ];

      assert.deepEqual(issues(body({ matches: {} })), nothing);
      assert.deepEqual(
        issues(
          body({ matches: { timeouts: false, connectionErrors: false, failedAnswers: false, statuses: [] } }),
        ),
        nothing,
      );
    });

    it('an unknown field at the top level', () => {
      assert.deepEqual(issues(body({ priority: 1 })), [
        { path: [], message: 'Unrecognized key: "priority"' },
      ]);
    });

    it('an unknown field inside the policy', () => {
      assert.deepEqual(
        issues(body({ policy: { type: 'fixed', count: 3, intervalSeconds: 60, jitter: 0 } })),
        [{ path: ['policy'], message: 'Unrecognized key: "jitter"' }],
      );
    });

    it('an unknown scope kind', () => {
      assert.deepEqual(issues(body({ scope: { kind: 'planet' } })), [
        {
          path: ['scope', 'kind'],
          message: "Invalid discriminator value. Expected 'all' | 'system' | 'interface'",
        },
      ]);
    });

    it('a system scope without a systemId', () => {
      assert.deepEqual(issues(body({ scope: { kind: 'system' } })), [
        { path: ['scope', 'systemId'], message: 'Invalid input: expected string, received undefined' },
      ]);
    });
  });
});

describe('renewsRequest', () => {
  it('makes the next attempt a new request only after the system refused it: a 4xx that says no, or a failed answer', () => {
    const status = (s: number): CalloutFailure => ({ kind: 'status', status: s });
    const renewing = [400, 401, 403, 404, 410, 422, 499].map(status);
    const repeating = [408, 409, 425, 429, 500, 501, 502, 503, 504, 599].map(status);

    for (const failure of [...renewing, { kind: 'failedAnswer' } as const])
      assert.equal(renewsRequest(failure), true, JSON.stringify(failure));
    // It may have acted, or it said "not now": the same key again, so it cannot act twice.
    for (const failure of [
      ...repeating,
      { kind: 'timeout' } as const,
      { kind: 'connection' } as const,
      { kind: 'unusable' } as const,
    ])
      assert.equal(renewsRequest(failure), false, JSON.stringify(failure));
  });
});
