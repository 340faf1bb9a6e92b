import type { Catalog } from './catalog';
import { CalloutError } from './errors';
import { evaluateAttributeMapping, evaluateMapping } from './mapping';
import type { CalloutRequestRecord, ItemRecord, OrderContext, OrderRecord } from './orchestration';

/**
 * What mappings and conditions see: the order, the item's line (for an order-scoped item, the first line
 * its plan fulfils), every line the plan fulfils, the line's characteristics and prices, and the context.
 */
export interface MappingInput {
  order: Record<string, unknown>;
  line: Record<string, unknown>;
  lines: Record<string, unknown>[];
  characteristics: Record<string, unknown>;
  prices: unknown[];
  attributes: OrderContext;
}

export function mappingInput(order: OrderRecord, item: ItemRecord, context: OrderContext): MappingInput {
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
  };
}

export interface PreparedCallout {
  url: string;
  method: string;
  headers: Record<string, string>;
  body?: unknown;
  timeoutMs: number;
}

/**
 * Builds the request a callout item sends. The idempotency key is the same for every attempt of the same
 * item, so a system that honours it never acts twice for one item.
 */
export async function prepareCallout(
  catalog: Catalog,
  item: ItemRecord,
  input: MappingInput,
): Promise<PreparedCallout> {
  const iface = item.interfaceId ? catalog.interfaces[item.interfaceId] : undefined;
  if (!iface) throw new CalloutError(`system interface "${item.interfaceId}" is not in the catalog`);
  const system = catalog.systems[iface.system];
  if (!system) throw new CalloutError(`system "${iface.system}" is not in the catalog`);
  const mapping = iface.requestMapping;
  const body =
    mapping !== undefined
      ? await evaluateMapping(mapping, catalog.mappings[mapping] ?? '', input)
      : { order: input.order, line: input.line, attributes: input.attributes };
  const sendsBody = iface.method !== 'GET' && iface.method !== 'DELETE';
  return {
    url: new URL(
      iface.path.replace(/^\//, ''),
      system.baseUrl.endsWith('/') ? system.baseUrl : `${system.baseUrl}/`,
    ).href,
    method: iface.method,
    headers: {
      accept: 'application/json',
      ...(sendsBody ? { 'content-type': 'application/json' } : {}),
      'idempotency-key': `${item.orderId}.${item.key}`,
    },
    body: sendsBody ? body : undefined,
    timeoutMs: iface.timeoutSeconds * 1000,
  };
}

export function requestRecord(prepared: PreparedCallout, sentAt: string): CalloutRequestRecord {
  return {
    method: prepared.method,
    url: prepared.url,
    headers: prepared.headers,
    body: prepared.body,
    sentAt,
  };
}

/**
 * Reads a system's answer: a 2xx with a JSON body completes the item and its response mapping yields
 * the attributes it writes to the order context. Anything else is a CalloutError that says what was wrong.
 */
export async function interpretAnswer(
  catalog: Catalog,
  item: ItemRecord,
  status: number,
  bodyText: string,
  input: MappingInput,
): Promise<{ body: unknown; attributes: Record<string, unknown> }> {
  const body = parseBody(status, bodyText);
  if (status >= 300 && status < 400)
    throw new CalloutError(`answered ${status}, a redirect, which callouts do not follow`, status);
  if (status < 200 || status >= 300)
    throw new CalloutError(`answered ${status}${describeBody(body)}`, status);
  if (body === undefined)
    throw new CalloutError(`answered ${status} with an empty body where JSON was expected`, status);
  const mapping = item.interfaceId ? catalog.interfaces[item.interfaceId]?.responseMapping : undefined;
  const attributes =
    mapping !== undefined
      ? await evaluateAttributeMapping(mapping, catalog.mappings[mapping] ?? '', {
          ...input,
          response: body,
          status,
        })
      : {};
  return { body, attributes };
}

function parseBody(status: number, text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    if (status >= 200 && status < 300) {
      throw new CalloutError(
        `answered ${status} with a body that is not JSON: ${JSON.stringify(text.slice(0, 120))}`,
        status,
      );
    }
    return text.slice(0, 500);
  }
}

function describeBody(body: unknown): string {
  if (body === undefined) return '';
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return `: ${text.slice(0, 300)}`;
}
