import { z } from 'zod';
import { BUILT_IN_ADAPTERS, type Catalog, type FulfilmentSystem, type SystemInterface } from './catalog';
import { CalloutError, MappingError } from './errors';
import {
  type CalloutCall,
  type CustomAdapter,
  integrationAdapter,
  type WireRequest,
  type WireResponse,
} from './integration-adapters';
import { evaluateAttributeMapping, evaluateMapping } from './mapping';
import type { CalloutRequestRecord, ItemRecord, OrderContext, OrderRecord } from './orchestration';
import { expandPath } from './path-template';

/**
 * What mappings and conditions see: the order, the item's line (for an order-scoped item, the first line
 * its plan fulfils), every line the plan fulfils, the line's characteristics and prices, the order's
 * context, and what earlier items of the same line wrote (so two DSL lines each see their own port).
 */
export interface MappingInput {
  order: Record<string, unknown>;
  line: Record<string, unknown>;
  lines: Record<string, unknown>[];
  characteristics: Record<string, unknown>;
  prices: unknown[];
  /** The order context: every attribute any item of the order wrote (the last write of a name wins). */
  attributes: OrderContext;
  /** The attributes written by the done items of this item's line, oldest first (empty when order-scoped). */
  lineAttributes: OrderContext;
  /** Asynchronous callouts: where the system sends its answer (also sent as the `callback-url` header). */
  callback?: { url: string };
}

export function mappingInput(
  order: OrderRecord,
  item: ItemRecord,
  context: OrderContext,
  items: Iterable<ItemRecord> = [],
): MappingInput {
  const all = (order.submitted.productOrderItem as Record<string, unknown>[] | undefined) ?? [];
  const runLineIds = order.planRuns.find((run) => run.planId === item.planId)?.lineIds ?? [];
  const lines = all.filter((l) => runLineIds.includes(String(l.id)));
  const line = all.find((l) => l.id === (item.lineId ?? runLineIds[0])) ?? {};
  const product =
    (line.product as { productCharacteristic?: { name: string; value: unknown }[] } | undefined) ?? {};
  const characteristics = Object.fromEntries(
    (product.productCharacteristic ?? []).map((c) => [c.name, c.value]),
  );
  return {
    order: { ...order.submitted, id: order.id },
    line,
    lines,
    characteristics,
    prices: (line.itemPrice as unknown[] | undefined) ?? [],
    attributes: context,
    lineAttributes: lineAttributesOf(item, items),
  };
}

/**
 * What the items of the item's line wrote, oldest first (a later one's value wins): those that completed,
 * whether or not a cancellation undoes them since. A compensation sees the item it undoes last, its own
 * attributes first among all — a frozen one's too, from its late answer.
 */
function lineAttributesOf(item: ItemRecord, items: Iterable<ItemRecord>): OrderContext {
  const all = [...items];
  const undone =
    item.compensates === undefined ? undefined : all.find((other) => other.key === item.compensates);
  const written =
    item.lineId === undefined
      ? []
      : all
          .filter((other) => other.lineId === item.lineId && other.key !== item.key && other.outputAttributes)
          .filter((other) => WROTE.has(other.state) && other !== undone)
          .sort((a, b) => (a.completedAt ?? '').localeCompare(b.completedAt ?? ''));
  return Object.assign({}, ...written.map((other) => other.outputAttributes), undone?.outputAttributes);
}

/** States of an item whose attributes were written: it completed (and may be undone since). */
const WROTE: ReadonlySet<ItemRecord['state']> = new Set(['Completed', 'Compensating', 'Compensated']);

export interface PreparedCallout {
  url: string;
  method: string;
  /** Every header but the credentials, which the Authenticator adds at send time and nothing stores. */
  headers: Record<string, string>;
  /** The request mapping's result. */
  mapped: unknown;
  /** What goes on the wire, as the interface's adapter encoded it. */
  body?: string;
  timeoutMs: number;
}

/** The interface and system a callout goes to, as they are now. */
export interface CalloutTarget {
  /** With its run of connection failures, which the circuit breaker counts. */
  system: FulfilmentSystem & { consecutiveFailures?: number };
  iface: SystemInterface;
}

/** A path of a system, under its base URL's own path (`/health` of `https://host/api` is `/api/health`). */
export function systemUrl(baseUrl: string, path: string): string {
  return new URL(path.replace(/^\//, ''), baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`).href;
}

/**
 * The key the item's attempts send, so that a system that honours it never acts twice for one request.
 * Every attempt of one request sends the same key (a retry after a timeout, a takeover, a release); a
 * new request (after the system refused it: domain/retry-rules.ts, renewsRequest)
 * sends a new one, which the system will not answer from what it remembers of the old.
 */
export const idempotencyKey = (item: Pick<ItemRecord, 'orderId' | 'key' | 'requestGeneration'>): string =>
  item.requestGeneration
    ? `${item.orderId}.${item.key}.r${item.requestGeneration}`
    : `${item.orderId}.${item.key}`;

/** Builds the request a callout item sends: the request mapping, then the interface's adapter. */
export async function prepareCallout(
  catalog: Catalog,
  target: CalloutTarget,
  item: ItemRecord,
  input: MappingInput,
): Promise<PreparedCallout> {
  const { system, iface } = target;
  const mapping = iface.requestMapping;
  // Without a mapping a request carries the order, its line and its attributes — but a GET or a
  // DELETE carries no body at all: what it acts on is in its path.
  const bodiless = iface.method === 'GET' || iface.method === 'DELETE';
  const mapped =
    mapping !== undefined
      ? await evaluateMapping(mapping, mappingExpression(catalog, mapping), input)
      : bodiless
        ? undefined
        : { order: input.order, line: input.line, attributes: input.attributes };
  // The adapter sees the path the interface names (filled in), which it may replace with its own.
  const path = await expandPath(iface.path, input, iface.id);
  const call: CalloutCall = { interfaceId: iface.id, method: iface.method, path };
  const adapter = integrationAdapter(iface.adapter);
  let wire: WireRequest;
  try {
    wire = adapter.encodeRequest(mapped, call);
  } catch (error) {
    throw new CalloutError(
      `adapter "${iface.adapter}" could not encode the request: ${(error as Error).message}`,
    );
  }
  return {
    url: wireUrl(system.baseUrl, path, wire, iface.adapter),
    method: iface.method,
    headers: {
      accept: 'application/json',
      ...lowerCaseKeys(wire.headers),
      'idempotency-key': idempotencyKey(item),
    },
    mapped,
    ...(wire.body !== undefined ? { body: wire.body } : {}),
    timeoutMs: iface.timeoutSeconds * 1000,
  };
}

/** What the item keeps of the request: the mapped body, and the encoded one when an adapter changed its form. */
export function requestRecord(
  prepared: PreparedCallout,
  adapter: string,
  sentAt: string,
): CalloutRequestRecord {
  return {
    method: prepared.method,
    url: prepared.url,
    headers: prepared.headers,
    ...(prepared.mapped !== undefined ? { body: prepared.mapped } : {}),
    ...(!(BUILT_IN_ADAPTERS as readonly string[]).includes(adapter) && prepared.body !== undefined
      ? { encodedBody: prepared.body.slice(0, MAX_STORED_TEXT) }
      : {}),
    sentAt,
  };
}

const MAX_STORED_TEXT = 8 * 1024;

/**
 * A custom adapter's own path (WireRequest.path) or query, checked: an adapter says where under its
 * system's base URL a request goes, never to which host. A CalloutError names what is wrong.
 */
export function wireUrl(
  baseUrl: string,
  path: string,
  wire: Pick<WireRequest, 'path' | 'query'>,
  adapter: string,
): string {
  if (wire.path === undefined && wire.query === undefined) return systemUrl(baseUrl, path);
  const refuse = (what: string) => new CalloutError(`adapter "${adapter}" gave ${what}`);
  let own = path;
  if (wire.path !== undefined) {
    const problem = pathProblem(wire.path);
    if (problem)
      throw refuse(`the request path ${JSON.stringify(String(wire.path).slice(0, 200))}, which ${problem}`);
    own = wire.path;
  }
  // Resolved as a relative path ("./…"), so that a ":" in its first segment is no scheme.
  const url = new URL(`./${own.replace(/^\//, '')}`, new URL(systemUrl(baseUrl, '/')));
  if (wire.query !== undefined) {
    if (wire.query === null || typeof wire.query !== 'object' || Array.isArray(wire.query))
      throw refuse('a query that is not an object of parameters');
    for (const [name, value] of Object.entries(wire.query)) {
      if (name === '' || typeof value !== 'string')
        throw refuse(`query parameter ${JSON.stringify(name)}, which must have a name and a string value`);
      url.searchParams.set(name, value);
    }
  }
  // Belt and braces: whatever the checks above missed, the request stays under the system's base URL.
  const base = new URL(systemUrl(baseUrl, '/'));
  if (url.origin !== base.origin || !url.pathname.startsWith(base.pathname))
    throw refuse(`a request path that leads out of the system's base URL (${url.href})`);
  return url.href;
}

/** Why a path an adapter gave is not one, or undefined when it is. */
function pathProblem(path: unknown): string | undefined {
  if (typeof path !== 'string') return 'is not a string';
  if (!path.startsWith('/')) return 'does not start with "/"';
  if (path.startsWith('//'))
    return 'names a host ("//…"): an adapter gives a path under its system\'s base URL';
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses
  if (/[\\#\s\u0000-\u001f\u007f]/.test(path))
    return 'holds a backslash, a "#", whitespace or a control character';
  const [pathOnly = ''] = path.split('?');
  const dots = pathOnly
    .split('/')
    .map((segment) => segment.toLowerCase().replaceAll('%2e', '.'))
    .some((segment) => segment === '.' || segment === '..');
  if (dots) return 'holds a "." or ".." segment';
  return undefined;
}

/** What an answer comes to, as its interface's adapter reads it. */
export type AnswerReading =
  /** The call is done; `body` is what the response mapping reads. */
  | { kind: 'success'; body: unknown }
  /** The system took the request and answers on the callback (an asynchronous interface only). */
  | { kind: 'accepted' }
  /**
   * It failed. `retryable`: a failed status (`status`) the retry rules decide on; otherwise an answer no
   * retry mends (the retry rules' `unusable`), which goes to fallout at once.
   */
  | { kind: 'failure'; error: string; retryable: boolean; status: number };

/** A custom adapter's verdict on an answer (integration-adapters.ts: AnswerVerdict), checked. */
const answerVerdictSchema = z.discriminatedUnion(
  'outcome',
  [
    z.object({ outcome: z.literal('success'), body: z.unknown().optional() }).strict(),
    z.object({ outcome: z.literal('accepted') }).strict(),
    z
      .object({
        outcome: z.literal('failure'),
        reason: z.string().min(1, 'must say why'),
        retryable: z.boolean(),
        status: z.number().int().min(100).max(599).optional(),
      })
      .strict(),
  ],
  { error: 'must be "success", "accepted" or "failure"' },
);

/**
 * Reads a system's answer with its interface's adapter. Without a `classifyResponse`: a redirect or a
 * status outside 2xx is a failed status (which the retry rules may retry), an accepted status of an
 * asynchronous interface is accepted, and any other 2xx is decoded (an answer the adapter cannot decode
 * is a failure no retry mends). With one, the adapter says what the answer is, whatever its status.
 */
export function readAnswer(
  iface: Pick<SystemInterface, 'id' | 'method' | 'adapter' | 'acceptedStatuses'>,
  answer: WireResponse,
  asynchronous: boolean,
): AnswerReading {
  const { status } = answer;
  const accepted = iface.acceptedStatuses ?? [202];
  const call: CalloutCall = {
    interfaceId: iface.id,
    method: iface.method,
    ...(asynchronous ? { acceptedStatuses: accepted } : {}),
  };
  const adapter = integrationAdapter(iface.adapter);
  if (adapter.classifyResponse) return classified(iface.adapter, adapter, answer, call, asynchronous);
  if (status >= 300 && status < 400)
    return failed(`answered ${status}, a redirect, which callouts do not follow`, true, status);
  if (status < 200 || status >= 300)
    return failed(`answered ${status}${describeBody(answer.body)}`, true, status);
  if (asynchronous && accepted.includes(status)) return { kind: 'accepted' };
  return decoded(iface.adapter, adapter, answer, call);
}

const failed = (error: string, retryable: boolean, status: number): AnswerReading => ({
  kind: 'failure',
  error,
  retryable,
  status,
});

function decoded(
  name: string,
  adapter: CustomAdapter,
  answer: WireResponse,
  call: CalloutCall,
): AnswerReading {
  try {
    return { kind: 'success', body: adapter.decodeResponse(answer, call) };
  } catch (error) {
    if (error instanceof CalloutError) return failed(error.message, false, error.status ?? answer.status);
    return failed(`adapter "${name}" rejected the answer: ${(error as Error).message}`, false, answer.status);
  }
}

function classified(
  name: string,
  adapter: CustomAdapter,
  answer: WireResponse,
  call: CalloutCall,
  asynchronous: boolean,
): AnswerReading {
  const { status } = answer;
  let verdict: unknown;
  try {
    verdict = adapter.classifyResponse?.(answer, call);
  } catch (error) {
    return failed(
      `adapter "${name}" could not classify the answer ${status}: ${(error as Error).message}`,
      false,
      status,
    );
  }
  const parsed = answerVerdictSchema.safeParse(verdict);
  if (!parsed.success) {
    const issues = parsed.error.issues
      .map((issue) => `${issue.path.map(String).join('.') || 'the verdict'}: ${issue.message}`)
      .join('; ');
    return failed(
      `adapter "${name}" classified the answer ${status} as nothing it can be (${issues})`,
      false,
      status,
    );
  }
  const reading = parsed.data;
  switch (reading.outcome) {
    case 'success':
      return reading.body !== undefined
        ? { kind: 'success', body: reading.body }
        : decoded(name, adapter, answer, call);
    case 'accepted':
      if (!asynchronous)
        return failed(
          `adapter "${name}" classified the answer ${status} as accepted, but it is not asynchronous (asynchronous: true): nothing waits for a callback`,
          false,
          status,
        );
      return { kind: 'accepted' };
    case 'failure':
      return failed(
        `answered ${status}, which adapter "${name}" reads as a failure: ${reading.reason}`,
        reading.retryable,
        reading.status ?? status,
      );
  }
}

/**
 * Reads a system's answer: a success is decoded by the interface's adapter and its response mapping
 * yields the attributes it writes to the order context. Anything else is a CalloutError that says what
 * was wrong (`reading`: the answer as readAnswer read it, for an interface that may accept).
 */
export async function interpretAnswer(
  catalog: Catalog,
  iface: SystemInterface,
  answer: WireResponse,
  input: MappingInput,
  reading: AnswerReading = readAnswer(iface, answer, false),
): Promise<{ body: unknown; attributes: Record<string, unknown> }> {
  const { status } = answer;
  if (reading.kind === 'failure') throw new CalloutError(reading.error, reading.status);
  if (reading.kind === 'accepted')
    throw new CalloutError(`answered ${status}, accepted, where the answer itself was expected`, status);
  const { body } = reading;
  const mapping = iface.responseMapping;
  const attributes =
    mapping !== undefined
      ? await evaluateAttributeMapping(mapping, mappingExpression(catalog, mapping), {
          ...input,
          response: body,
          status,
        })
      : {};
  return { body, attributes };
}

/** A mapping's expression by name; a MappingError when the catalog has none by that name. */
export function mappingExpression(catalog: Catalog, name: string): string {
  const expression = catalog.mappings[name];
  if (expression === undefined) throw new MappingError(name, 'is not in the catalog');
  return expression;
}

function lowerCaseKeys(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
}

function describeBody(text: string): string {
  const trimmed = text.trim();
  if (trimmed === '') return '';
  return `: ${trimmed.slice(0, 300)}`;
}
