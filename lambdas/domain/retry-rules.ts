import { z } from 'zod';
import { slug } from '../../statemachines/plan-definition';

/**
 * Connection retry rules: what happens after a callout fails is the operator's policy, kept in DynamoDB
 * and changed at runtime. A rule has a scope (all systems, one system, one interface), what failures it
 * matches, and a policy that says when the next attempt is, or that there is none (fallout).
 */

/** A failed callout, as the retry rules see it. */
export type CalloutFailure =
  | { kind: 'timeout' }
  | { kind: 'connection' }
  /** The system answered with a status a callout does not accept; `retryAfterSeconds` from Retry-After. */
  | { kind: 'status'; status: number; retryAfterSeconds?: number }
  /** An asynchronous callout's final answer on its callback said it failed. */
  | { kind: 'failedAnswer' }
  /** An answer that cannot be used (not JSON, a mapping that failed): retrying sends the same again. */
  | { kind: 'unusable' };

/**
 * 4xx statuses that say "not now" rather than "no", or leave it unknown whether the system acted: a
 * timeout (408), a request with the same key still being worked on (409), too early (425), too many
 * requests (429).
 */
const UNDECIDED_REFUSALS: ReadonlySet<number> = new Set([408, 409, 425, 429]);

/**
 * True when the system refused the attempt itself: a 4xx other than the undecided ones above, or a
 * `failed` answer on the callback. It did not do what was asked, and a system that honours
 * Idempotency-Key answers that key with the same refusal for good; so the next attempt is a new request,
 * with a new key and callback URL. After anything else the system may have acted — no answer, a reset
 * connection, an undecided status, any 5xx (an error midway, or a gateway in front of the system), an
 * answer that could not be read, a deadline that passed — and the next attempt repeats the request under
 * the same key, so it cannot act twice. Never acting twice comes first: a system that keeps its 5xx
 * answers by key leaves such an item to the retry rules and, in the end, to an operator.
 */
export function renewsRequest(failure: CalloutFailure): boolean {
  if (failure.kind === 'failedAnswer') return true;
  if (failure.kind !== 'status') return false;
  const { status } = failure;
  return status >= 400 && status < 500 && !UNDECIDED_REFUSALS.has(status);
}

/** The longest any wait between attempts may be: a year. */
const MAX_WAIT_SECONDS = 365 * 24 * 3600;
const seconds = z.number().int().min(1).max(MAX_WAIT_SECONDS);
const RANGE = /^([1-5]xx|[1-5]\d\d-[1-5]\d\d)$/;

/** A status code (`503`), or a range (`"500-599"`, `"5xx"`). */
const statusMatch = z.union([
  z.number().int().min(100).max(599),
  z
    .string()
    .regex(RANGE, 'is not a status range such as "500-599" or "5xx"')
    .refine((range) => {
      // Only a well-formed range can run backwards (a malformed one has its own message above).
      if (!RANGE.test(range)) return true;
      const [from, to] = statusRange(range);
      return from <= to;
    }, 'is a range whose start is after its end'),
]);

export const retryPolicySchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('none') }).strict(),
  z
    .object({ type: z.literal('fixed'), count: z.number().int().min(1).max(1000), intervalSeconds: seconds })
    .strict(),
  z
    .object({
      type: z.literal('staggered'),
      /** One interval per retry, in order: `[10, 3600, 86400]` retries after 10 s, an hour, a day. */
      intervalsSeconds: z.array(seconds).min(1).max(100),
    })
    .strict(),
  z
    .object({
      type: z.literal('exponential'),
      firstIntervalSeconds: seconds,
      factor: z.number().min(1).max(100),
      capSeconds: seconds,
      /** 0 to 1: each interval is shortened by up to this share, at random (0 = exact). */
      jitter: z.number().min(0).max(1).default(0),
      count: z.number().int().min(1).max(1000),
    })
    .strict(),
  /** Retries at the interval until an operator skips the item or fails the order. */
  z.object({ type: z.literal('forever'), intervalSeconds: seconds }).strict(),
]);
export type RetryPolicy = z.infer<typeof retryPolicySchema>;

export const retryRuleBodySchema = z
  .object({
    description: z.string().max(500).optional(),
    scope: z.discriminatedUnion('kind', [
      z.object({ kind: z.literal('all') }).strict(),
      z.object({ kind: z.literal('system'), systemId: slug }).strict(),
      z.object({ kind: z.literal('interface'), interfaceId: slug }).strict(),
    ]),
    matches: z
      .object({
        timeouts: z.boolean().default(false),
        connectionErrors: z.boolean().default(false),
        /** An asynchronous callout's final answer reporting failure (a deadline without one is a timeout). */
        failedAnswers: z.boolean().default(false),
        statuses: z.array(statusMatch).max(100).default([]),
      })
      .strict()
      .refine((m) => m.timeouts || m.connectionErrors || m.failedAnswers || m.statuses.length > 0, {
        message: 'matches nothing: name timeouts, connectionErrors, failedAnswers or statuses',
      }),
    policy: retryPolicySchema,
    /** A Retry-After answer delays the next attempt to at least that (default true). */
    honourRetryAfter: z.boolean().default(true),
  })
  .strict();

export type RetryRule = z.infer<typeof retryRuleBodySchema> & { id: string };

/** Where a failed callout went: to which system, through which interface. */
export interface FailureTarget {
  systemId: string;
  interfaceId: string;
}

/** The rule that applies when no rule of the operator's matches: three retries, 10 s, 30 s, 90 s. */
export const DEFAULT_RETRY_RULE: RetryRule & { id: 'default' } = {
  id: 'default',
  description:
    'Timeouts, connection errors, 408, 429 and 5xx are retried three times (10 s, 30 s, 90 s); other failures go to fallout.',
  scope: { kind: 'all' },
  matches: { timeouts: true, connectionErrors: true, failedAnswers: false, statuses: [408, 429, '5xx'] },
  policy: { type: 'exponential', firstIntervalSeconds: 10, factor: 3, capSeconds: 90, jitter: 0, count: 3 },
  honourRetryAfter: true,
};

const SPECIFICITY = { interface: 3, system: 2, all: 1 } as const;

/**
 * The rule for a failure: of the rules whose scope covers the target and that match the failure, the
 * most specific (interface, then system, then all); between equally specific ones, the first by id.
 * Without one, the default rule — and a failure it does not match either goes to fallout.
 */
export function ruleFor(
  rules: readonly RetryRule[],
  target: FailureTarget,
  failure: CalloutFailure,
): RetryRule | undefined {
  const candidates = rules
    .filter((rule) => covers(rule, target) && matches(rule, failure))
    .sort((a, b) => SPECIFICITY[b.scope.kind] - SPECIFICITY[a.scope.kind] || a.id.localeCompare(b.id));
  if (candidates[0]) return candidates[0];
  return matches(DEFAULT_RETRY_RULE, failure) ? DEFAULT_RETRY_RULE : undefined;
}

function covers(rule: RetryRule, target: FailureTarget): boolean {
  switch (rule.scope.kind) {
    case 'all':
      return true;
    case 'system':
      return rule.scope.systemId === target.systemId;
    case 'interface':
      return rule.scope.interfaceId === target.interfaceId;
  }
}

function matches(rule: RetryRule, failure: CalloutFailure): boolean {
  switch (failure.kind) {
    case 'timeout':
      return rule.matches.timeouts;
    case 'connection':
      return rule.matches.connectionErrors;
    case 'failedAnswer':
      return rule.matches.failedAnswers;
    case 'status':
      return rule.matches.statuses.some((m) => {
        if (typeof m === 'number') return m === failure.status;
        const [from, to] = statusRange(m);
        return failure.status >= from && failure.status <= to;
      });
    case 'unusable':
      return false;
  }
}

function statusRange(range: string): [number, number] {
  if (/^[1-5]xx$/.test(range)) {
    const hundred = Number(range[0]) * 100;
    return [hundred, hundred + 99];
  }
  const [from, to] = range.split('-').map(Number);
  return [from ?? 0, to ?? 0];
}

/** What to do after a failed attempt: try again at `at`, or give up. */
export type RetryDecision =
  | { kind: 'retry'; at: Date; ruleId: string; retry: number }
  | { kind: 'fallout'; ruleId?: string; reason: string };

/**
 * Decides after the `retriesSoFar`-th retry failed (0 after the first attempt): the policy's next
 * interval, stretched to a Retry-After the rule honours, or fallout when the policy has no more.
 * `random` (0 to 1) draws the jitter, so the schedule is exact under test.
 */
export function decideRetry(
  rule: RetryRule | undefined,
  failure: CalloutFailure,
  retriesSoFar: number,
  now: Date,
  random: () => number = Math.random,
): RetryDecision {
  if (!rule) return { kind: 'fallout', reason: `no retry rule matches ${describeFailure(failure)}` };
  const interval = intervalFor(rule.policy, retriesSoFar, random);
  if (interval === undefined) {
    return {
      kind: 'fallout',
      ruleId: rule.id,
      reason:
        rule.policy.type === 'none'
          ? `retry rule "${rule.id}" does not retry ${describeFailure(failure)}`
          : `retries exhausted under retry rule "${rule.id}" (${retriesSoFar} made)`,
    };
  }
  // A system's Retry-After is honoured up to the longest wait a rule may have.
  const retryAfter =
    failure.kind === 'status' && rule.honourRetryAfter
      ? Math.min(failure.retryAfterSeconds ?? 0, MAX_WAIT_SECONDS)
      : 0;
  const delayMs = Math.max(interval, retryAfter) * 1000;
  return { kind: 'retry', at: new Date(now.getTime() + delayMs), ruleId: rule.id, retry: retriesSoFar + 1 };
}

/** The wait before retry number `retriesSoFar + 1`, in seconds, or undefined when there is none. */
function intervalFor(policy: RetryPolicy, retriesSoFar: number, random: () => number): number | undefined {
  switch (policy.type) {
    case 'none':
      return undefined;
    case 'fixed':
      return retriesSoFar < policy.count ? policy.intervalSeconds : undefined;
    case 'staggered':
      return policy.intervalsSeconds[retriesSoFar];
    case 'exponential': {
      if (retriesSoFar >= policy.count) return undefined;
      const exact = Math.min(policy.capSeconds, policy.firstIntervalSeconds * policy.factor ** retriesSoFar);
      return Math.max(1, Math.round(exact * (1 - policy.jitter * random())));
    }
    case 'forever':
      return policy.intervalSeconds;
  }
}

export function describeFailure(failure: CalloutFailure): string {
  switch (failure.kind) {
    case 'timeout':
      return 'a timeout';
    case 'connection':
      return 'a connection error';
    case 'failedAnswer':
      return 'a final answer reporting failure';
    case 'status':
      return `HTTP ${failure.status}`;
    case 'unusable':
      return 'an answer that cannot be used';
  }
}

/** Reads a Retry-After header: seconds, or an HTTP date (then the seconds from `now`). */
export function retryAfterSeconds(value: string | undefined, now: Date): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Math.min(Number(trimmed), MAX_WAIT_SECONDS);
  // Otherwise an HTTP date (such as "Wed, 21 Oct 2015 07:28:00 GMT"): it names a day and a month.
  if (!/[A-Za-z]{3}/.test(trimmed)) return undefined;
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.min(MAX_WAIT_SECONDS, Math.max(0, Math.ceil((at - now.getTime()) / 1000)));
}
