import type { ItemRecord, Jeopardy, OrderContext, OrderRecord } from './orchestration';
import type { ITEM_ACTIONS } from './product-order';
import { schemaLocationOf } from './schema-location';

export const TMF622_BASE_PATH = '/tmf-api/productOrderingManagement/v5';

type LineState =
  | 'acknowledged'
  | 'inProgress'
  | 'held'
  | 'completed'
  | 'failed'
  | 'assessingCancellation'
  | 'pendingCancellation'
  | 'cancelled';

/** Order states a line takes as they are (TMF622 has the same for lines). */
const ORDER_WIDE: ReadonlySet<string> = new Set([
  'failed',
  'assessingCancellation',
  'pendingCancellation',
  'cancelled',
]);

/**
 * A line's TMF state, from the states of the orchestration items that fulfil it — the latest run of
 * each (an amendment's run again stands for what it redoes; compensations are not the line's work) —
 * or its order's, when the order failed or is being cancelled.
 */
function lineState(order: Pick<OrderRecord, 'state'>, all: ItemRecord[]): LineState | undefined {
  if (all.length === 0) return undefined;
  if (ORDER_WIDE.has(order.state)) return order.state as LineState;
  const superseded = new Set(all.flatMap((i) => (i.supersedes ? [i.supersedes] : [])));
  const items = all.filter((i) => i.compensates === undefined && !superseded.has(i.key));
  if (items.some((i) => i.state === 'FatallyFailed' || i.state === 'OnHold')) return 'held';
  if (items.every((i) => i.state === 'Completed' || i.state === 'Skipped')) return 'completed';
  if (items.some((i) => i.state !== 'Pending')) return 'inProgress';
  return 'acknowledged';
}

/**
 * The TMF622 ProductOrder resource for an order. The attributes fulfilment wrote (the reserved port, …)
 * are returned in `fulfilmentAttributes`, a Switchboard extension of the resource.
 */
export function toProductOrder(order: OrderRecord, items?: Iterable<ItemRecord>, context?: OrderContext) {
  // A line's items: its own line-scoped ones and the order-scoped ones of the plan run that covers it.
  const byLine = new Map<string, ItemRecord[]>();
  const add = (lineId: string, item: ItemRecord) => byLine.set(lineId, [...(byLine.get(lineId) ?? []), item]);
  for (const item of items ?? []) {
    if (item.lineId !== undefined) add(item.lineId, item);
    else
      for (const lineId of order.planRuns.find((r) => r.planId === item.planId)?.lineIds ?? [])
        add(lineId, item);
  }
  const submitted = withTypes(order.submitted);
  // The lines as accepted: each was read by productOrderCreateSchema before it was kept.
  const lines = (submitted.productOrderItem as SubmittedLine[] | undefined) ?? [];
  return {
    ...submitted,
    '@type': 'ProductOrder' as const,
    id: order.id,
    href: `${TMF622_BASE_PATH}/productOrder/${order.id}`,
    state: order.state,
    creationDate: order.createdAt,
    ...(order.completedAt ? { completionDate: order.completedAt } : {}),
    productOrderItem: lines.map((line) => {
      const state = items ? lineState(order, byLine.get(String(line.id)) ?? []) : undefined;
      return { ...line, '@type': 'ProductOrderItem' as const, ...(state ? { state } : {}) };
    }),
    ...errorMessagesOf(order.id, items),
    ...(order.expectedCompletionDate ? { expectedCompletionDate: order.expectedCompletionDate } : {}),
    ...(order.jeopardy ? { productOrderJeopardyAlert: [jeopardyAlertOf(order.id, order.jeopardy)] } : {}),
    // An extension of the resource, so the answer names the schema that defines it (TMF630).
    ...(context
      ? { fulfilmentAttributes: context, '@schemaLocation': schemaLocationOf('ProductOrder') }
      : {}),
  };
}

/**
 * What holds the order in fallout, as TMF622's ProductOrderErrorMessage: each item that waits there for
 * an operator, with its reason — a timeout (its plan run's or its callback's) is `code: timeout` —, when,
 * and its line.
 */
function errorMessagesOf(orderId: string, items: Iterable<ItemRecord> | undefined) {
  const fallout = [...(items ?? [])].filter((item) => item.state === 'FatallyFailed');
  if (fallout.length === 0) return {};
  return {
    productOrderErrorMessage: fallout.map((item) => ({
      '@type': 'ProductOrderErrorMessage' as const,
      code: /timed out|timeout|deadline/i.test(item.error ?? '')
        ? ('timeout' as const)
        : ('fallout' as const),
      reason: `${item.key} waits in fallout for an operator`,
      message: item.error ?? 'in fallout',
      status: 'fallout' as const,
      timestamp: item.updatedAt,
      ...(item.lineId === undefined
        ? {}
        : {
            productOrderItem: [
              {
                '@type': 'ProductOrderItemRef' as const,
                productOrderItemId: item.lineId,
                productOrderId: orderId,
                ProductOrderHref: `${TMF622_BASE_PATH}/productOrder/${orderId}`,
              },
            ],
          }),
    })),
  };
}

/** An order's jeopardy (jeopardy.ts) as TMF622's ProductOrderJeopardyAlert; its id names the jeopardy. */
export function jeopardyAlertOf(orderId: string, jeopardy: Jeopardy) {
  return {
    '@type': 'ProductOrderJeopardyAlert' as const,
    id: `${orderId}:${jeopardy.since}`,
    alertDate: jeopardy.since,
    name: jeopardy.kinds.includes('late') ? ('dueDate' as const) : ('overrun' as const),
    jeopardyType: 'Hazard' as const,
    exception: jeopardy.kinds.join(' '),
    message: jeopardy.reasons.join('; '),
  };
}

type Json = Record<string, unknown>;

/** A line of an order as it was accepted (product-order.ts), with whatever else the client sent. */
type SubmittedLine = Json & { id: string; action: (typeof ITEM_ACTIONS)[number] };

/**
 * The order as accepted, answered in TMF622's shapes: the parts whose `@type` a client may leave out
 * (docs/api.md: each has one value, assumed) carry it in the answer, and a reference named by
 * `entityId` alone carries its `id` too, as the resource's schema requires. What the client sent
 * explicitly is kept as sent.
 */
function withTypes(submitted: Json): Json {
  return {
    ...submitted,
    ...mapList(submitted, 'externalId', (e) => typed(e, 'ExternalIdentifier')),
    ...mapList(submitted, 'productOrderItem', (line) => ({
      ...typed(line, 'ProductOrderItem'),
      ...(isObject(line.productOffering)
        ? { productOffering: reference(line.productOffering, 'ProductOfferingRef') }
        : {}),
      ...(isObject(line.product) ? { product: productOf(line.product) } : {}),
      ...mapList(line, 'itemPrice', orderPriceOf),
      ...mapList(line, 'itemTotalPrice', orderPriceOf),
      ...mapList(line, 'note', (n) => typed(n, 'Note')),
    })),
    ...mapList(submitted, 'orderTotalPrice', orderPriceOf),
    ...mapList(submitted, 'note', (n) => typed(n, 'Note')),
  };
}

const isObject = (value: unknown): value is Json =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

const typed = (part: Json, type: string): Json => ({ '@type': type, ...part });

/** `{ [field]: list mapped }` when `owner[field]` is a list (of objects), else nothing. */
function mapList(owner: Json, field: string, map: (part: Json) => Json): Json {
  const list = owner[field];
  if (!Array.isArray(list)) return {};
  return { [field]: list.map((part) => (isObject(part) ? map(part) : part)) };
}

function reference(ref: Json, type: string): Json {
  return {
    ...typed(ref, type),
    ...(ref.id === undefined && ref.entityId !== undefined ? { id: ref.entityId } : {}),
  };
}

function productOf(product: Json): Json {
  const type =
    Array.isArray(product.productCharacteristic) || product.id === undefined ? 'Product' : 'ProductRef';
  return {
    ...typed(product, type),
    ...mapList(product, 'productCharacteristic', (c) => typed(c, characteristicType(c.value))),
  };
}

function orderPriceOf(orderPrice: Json): Json {
  return {
    ...typed(orderPrice, 'OrderPrice'),
    ...(isObject(orderPrice.price) ? { price: typed(orderPrice.price, 'Price') } : {}),
    ...mapList(orderPrice, 'priceAlteration', (a) => ({
      ...typed(a, 'PriceAlteration'),
      ...(isObject(a.price) ? { price: typed(a.price, 'Price') } : {}),
    })),
  };
}

/** The Characteristic subtype that names a value's JSON type. */
export function characteristicType(value: unknown): string {
  if (typeof value === 'string') return 'StringCharacteristic';
  if (typeof value === 'boolean') return 'BooleanCharacteristic';
  if (typeof value === 'number')
    return Number.isInteger(value) ? 'IntegerCharacteristic' : 'NumberCharacteristic';
  if (Array.isArray(value)) {
    if (value.every((v) => typeof v === 'string')) return 'StringArrayCharacteristic';
    if (value.every((v) => typeof v === 'boolean')) return 'BooleanArrayCharacteristic';
    if (value.every((v) => Number.isInteger(v))) return 'IntegerArrayCharacteristic';
    if (value.every((v) => typeof v === 'number')) return 'NumberArrayCharacteristic';
    return 'ObjectArrayCharacteristic';
  }
  return isObject(value) ? 'ObjectCharacteristic' : 'Characteristic';
}
