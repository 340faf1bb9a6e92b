import { randomBytes, randomUUID } from 'node:crypto';
import { z } from 'zod';
import { ValidationError } from './errors';
import { ORDER_EVENT_TYPES, type OrderEvent } from './order-events';
import { TMF622_BASE_PATH } from './order-view';
import type { Actor } from './roles';
import { schemaLocationOf } from './schema-location';

/**
 * A listener: where order capture wants TMF622 events delivered (TMF622's hub, TMF630's event
 * subscription). Each has a secret of its own, which signs every delivery (Standard Webhooks); it is
 * answered once, when the listener is registered.
 */
export interface ListenerRecord {
  id: string;
  callback: string;
  /** The TMF630 filter as registered; `filter` is what it means. */
  query?: string;
  filter: EventFilter;
  /** `whsec_` and base64 of 32 random bytes. */
  secret: string;
  /** Who registered it; it receives the events of the orders its owner may read (roles.ts). */
  owner: Actor;
  /** The owner reads every order (a reader or an operator), not only the ones it submitted. */
  readsAll: boolean;
  createdAt: string;
  /** `paused` after it kept failing (MAX_FAILURES_BEFORE_PAUSE); deliveries wait until it is resumed. */
  state: 'active' | 'paused';
  /** Deliveries that failed in a row since the last one it took. */
  failures?: number;
  /** When the first of those failures was. */
  firstFailureAt?: string;
  lastFailure?: { at: string; reason: string };
  lastSuccessAt?: string;
  pausedAt?: string;
}

/**
 * A filter: every term must hold. A term names a field of the event by its dotted path and the values
 * it may have (any of them).
 */
export type EventFilter = { path: string; values: string[] }[];

/** After this many failed deliveries in a row, and at least PAUSE_AFTER_MS after the first, a listener is paused. */
export const MAX_FAILURES_BEFORE_PAUSE = 20;
export const PAUSE_AFTER_MS = 60 * 60 * 1000;

/**
 * Whether a listener has failed long enough to be paused: MAX_FAILURES_BEFORE_PAUSE deliveries in a row,
 * the first of them PAUSE_AFTER_MS ago or more. A listener down for a minute while many events come is
 * not paused; one down for an hour is.
 */
export function keepsFailing(
  listener: Pick<ListenerRecord, 'failures' | 'firstFailureAt'>,
  now: Date,
): boolean {
  const since = listener.firstFailureAt === undefined ? Number.NaN : Date.parse(listener.firstFailureAt);
  return (listener.failures ?? 0) >= MAX_FAILURES_BEFORE_PAUSE && now.getTime() - since >= PAUSE_AFTER_MS;
}

const MAX_TERMS = 10;
const MAX_VALUE = 200;
const PATH = /^[A-Za-z@][A-Za-z0-9@_]*(\.[A-Za-z@][A-Za-z0-9@_]*){0,5}$/;
const EVENT_TYPES: ReadonlySet<string> = new Set(ORDER_EVENT_TYPES);
/** TMF630's comparison operators, written as a last path segment (`state.ne=…`): not supported. */
const OPERATORS: ReadonlySet<string> = new Set(['gt', 'gte', 'lt', 'lte', 'ne', 'regex', 'eq']);

/**
 * TMF630's notification filter as `query`: `eventType=ProductOrderStateChangeEvent&event.productOrder.state=completed,failed`.
 * Terms are joined by `&`, each a dotted path into the event, `=`, and comma-separated values (URL-encoded
 * as in a query string). Only equality is supported; anything else is refused, naming the term.
 */
export function parseEventFilter(query: string): EventFilter {
  const terms = query.split('&').filter((term) => term.length > 0);
  if (terms.length > MAX_TERMS)
    throw filterError(`has ${terms.length} terms; at most ${MAX_TERMS} are accepted`);
  return terms.map((term) => {
    const at = term.indexOf('=');
    if (at <= 0) throw filterError(`term "${term}" must be <field>=<value>[,<value>…]`);
    const path = decode(term.slice(0, at), term);
    if (!PATH.test(path)) throw filterError(`term "${term}": "${path}" is not a field path (dotted names)`);
    const last = path.split('.').at(-1) ?? '';
    if (OPERATORS.has(last))
      throw filterError(`term "${term}": only equality is supported, not the operator ${last}`);
    const values = term
      .slice(at + 1)
      .split(',')
      .map((value) => decode(value, term));
    if (values.some((value) => value.length === 0 || value.length > MAX_VALUE))
      throw filterError(`term "${term}": each value must be 1 to ${MAX_VALUE} characters`);
    if (path === 'eventType') {
      const unknown = values.filter((value) => !EVENT_TYPES.has(value));
      if (unknown.length > 0)
        throw filterError(
          `eventType ${unknown.join(', ')} is not one Switchboard sends (${ORDER_EVENT_TYPES.join(', ')})`,
        );
    }
    return { path, values };
  });
}

function decode(part: string, term: string): string {
  try {
    return decodeURIComponent(part.replace(/\+/g, ' '));
  } catch {
    throw filterError(`term "${term}" is not URL-encoded properly`);
  }
}

const filterError = (message: string) => new ValidationError([{ field: 'query', message }]);

/** Whether an event passes a filter: for each term, the field's value (as text) is one of its values. */
export function matchesFilter(filter: EventFilter, event: OrderEvent): boolean {
  return filter.every(({ path, values }) => {
    let value: unknown = event;
    for (const name of path.split('.')) {
      value =
        value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[name] : undefined;
    }
    return (
      (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') &&
      values.includes(String(value))
    );
  });
}

/** Whether a listener receives an event of an order submitted by `submittedBy`. */
export function mayReceive(
  listener: Pick<ListenerRecord, 'owner' | 'readsAll'>,
  submittedBy: string | undefined,
): boolean {
  return listener.readsAll || (submittedBy !== undefined && submittedBy === listener.owner.id);
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/** TMF622's Hub_FVO: the callback, and optionally the filter. */
export const hubCreateSchema = z
  .object({
    '@type': z.literal('Hub').optional(),
    '@baseType': z.string().max(100).optional(),
    '@schemaLocation': z.string().max(2000).optional(),
    callback: z
      .string()
      .max(2000)
      .superRefine((value, ctx) => {
        const problem = callbackProblem(value);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      })
      .describe(
        'Where events are POSTed: an absolute https URL (http only to localhost), without credentials or a fragment, not a link-local address',
      ),
    query: z
      .string()
      .max(4000)
      .optional()
      .describe(
        'TMF630 notification filter: terms joined by &, each <dotted field of the event>=<value>[,<value>…]; every term must match. At most 10 terms, equality only (eventType=ProductOrderStateChangeEvent&event.productOrder.state=completed,failed)',
      ),
  })
  .strict();

/**
 * Why a callback URL is refused, if it is: it must be https (http only to this machine, for local
 * listeners), carry no credentials and no fragment, and not point at a link-local address (the cloud's
 * instance metadata lives there).
 */
function callbackProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'must be an absolute URL';
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK.has(url.hostname)))
    return 'must be https (http only to localhost)';
  if (url.username || url.password) return 'must not carry credentials';
  if (url.hash) return 'must not have a fragment';
  if (/^169\.254\./.test(url.hostname) || url.hostname.startsWith('[fe80:'))
    return 'must not be a link-local address';
  return undefined;
}

/** A new listener, its id and secret drawn here. */
export function newListener(
  body: z.infer<typeof hubCreateSchema>,
  owner: Actor,
  readsAll: boolean,
  at: string,
): ListenerRecord {
  return {
    id: randomUUID(),
    callback: body.callback,
    ...(body.query === undefined ? {} : { query: body.query }),
    filter: body.query === undefined ? [] : parseEventFilter(body.query),
    secret: `whsec_${randomBytes(32).toString('base64')}`,
    owner,
    readsAll,
    createdAt: at,
    state: 'active',
  };
}

/** TMF622's Hub for a listener, without its secret. */
export function toHub(listener: ListenerRecord) {
  return {
    '@type': 'Hub' as const,
    id: listener.id,
    href: `${TMF622_BASE_PATH}/hub/${listener.id}`,
    callback: listener.callback,
    ...(listener.query === undefined ? {} : { query: listener.query }),
  };
}

/**
 * The Hub as its registration answers it, the one time its secret is answered. The secret extends TMF's
 * Hub, so the answer names the schema that defines it.
 */
export function toRegisteredHub(listener: ListenerRecord) {
  return {
    ...toHub(listener),
    '@schemaLocation': schemaLocationOf('RegisteredHub'),
    secret: listener.secret,
  };
}

/** A listener as operators see it: where it delivers, whose it is, and how its deliveries go. */
export function toListenerView(listener: ListenerRecord) {
  const { secret: _secret, filter: _filter, ...rest } = listener;
  return rest;
}

/**
 * How long a failed delivery waits before its next attempt, after its n-th: 10 s, tripled each time up
 * to 4 hours (10 s, 30 s, 90 s, 4.5 min, 13.5 min, 40 min, 2 h, then every 4 h). Together with
 * DELIVERY_ATTEMPTS, a listener that is down is tried for more than a day before its events go to the
 * dead-letter queue.
 */
export function deliveryDelaySeconds(attempt: number): number {
  return Math.min(4 * 3600, 10 * 3 ** (Math.max(1, attempt) - 1));
}

/** Attempts of one delivery before it goes to the dead-letter queue (the queue's maxReceiveCount). */
export const DELIVERY_ATTEMPTS = 16;

/** Sum of the waits between DELIVERY_ATTEMPTS attempts: how long a delivery is tried for. */
export function deliveryRetrySeconds(): number {
  let total = 0;
  for (let attempt = 1; attempt < DELIVERY_ATTEMPTS; attempt++) total += deliveryDelaySeconds(attempt);
  return total;
}
