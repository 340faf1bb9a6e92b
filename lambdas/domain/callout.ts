import { BUILT_IN_ADAPTERS, type Catalog, type FulfilmentSystem, type SystemInterface } from './catalog';
import { CalloutError, MappingError } from './errors';
import { integrationAdapter, type WireRequest, type WireResponse } from './integration-adapters';
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
  const call = { interfaceId: iface.id, method: iface.method };
  const adapter = integrationAdapter(iface.adapter);
  let wire: WireRequest;
  try {
    wire = adapter.encodeRequest(mapped, call);
  } catch (error) {
    throw new CalloutError(
      `adapter "${iface.adapter}" could not encode the request: ${(error as Error).message}`,
    );
  }
  const path = await expandPath(iface.path, input, iface.id);
  return {
    url: systemUrl(system.baseUrl, path),
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
 * Reads a system's answer: a 2xx is decoded by the interface's adapter and its response mapping yields
 * the attributes it writes to the order context. Anything else is a CalloutError that says what was wrong.
 */
export async function interpretAnswer(
  catalog: Catalog,
  iface: SystemInterface,
  answer: WireResponse,
  input: MappingInput,
): Promise<{ body: unknown; attributes: Record<string, unknown> }> {
  const { status } = answer;
  if (status >= 300 && status < 400)
    throw new CalloutError(`answered ${status}, a redirect, which callouts do not follow`, status);
  if (status < 200 || status >= 300)
    throw new CalloutError(`answered ${status}${describeBody(answer.body)}`, status);
  let body: unknown;
  try {
    body = integrationAdapter(iface.adapter).decodeResponse(answer, {
      interfaceId: iface.id,
      method: iface.method,
    });
  } catch (error) {
    if (error instanceof CalloutError) throw error;
    throw new CalloutError(
      `adapter "${iface.adapter}" rejected the answer: ${(error as Error).message}`,
      status,
    );
  }
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
