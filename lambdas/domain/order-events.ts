import { createHash } from 'node:crypto';
import { type CancellationRecord, toCancelProductOrderView } from './cancel-product-order';
import { jeopardyChanged } from './jeopardy';
import type { ItemRecord, Jeopardy, OrderRecord } from './orchestration';
import { jeopardyAlertOf, TMF622_BASE_PATH, toProductOrder } from './order-view';
import { schemaLocationOf } from './schema-location';

/**
 * The TMF622 events Switchboard tells order capture about, and what in an order's records makes each.
 *
 * Events are derived from the changes the orders table records (its stream), never sent beside a write:
 * a change that is written is announced, and one that is not is not, whatever crashes in between.
 *
 * | event | when |
 * | --- | --- |
 * | ProductOrderCreateEvent | an order is accepted (its record is created) |
 * | ProductOrderStateChangeEvent | an order's state changes |
 * | ProductOrderJeopardyAlertEvent | an order's jeopardy is raised, changes its reasons, or is cleared |
 * | ProductOrderMilestoneEvent | a plan's `milestone` item completes |
 * | ProductOrderInformationRequiredEvent | a `manualTask` item starts waiting for a person |
 * | CancelProductOrderCreateEvent | a cancellation is accepted |
 * | CancelProductOrderStateChangeEvent | a cancellation's state changes |
 */
export const ORDER_EVENT_TYPES = [
  'ProductOrderCreateEvent',
  'ProductOrderStateChangeEvent',
  'ProductOrderJeopardyAlertEvent',
  'ProductOrderMilestoneEvent',
  'ProductOrderInformationRequiredEvent',
  'CancelProductOrderCreateEvent',
  'CancelProductOrderStateChangeEvent',
] as const;
export type OrderEventType = (typeof ORDER_EVENT_TYPES)[number];

/** The EventBridge source of every order event on the bus. */
export const ORDER_EVENT_SOURCE = 'switchboard.productOrdering';

/** One change of one record of the orders table, as its stream has it (images already unmarshalled). */
export interface RecordChange {
  kind: 'INSERT' | 'MODIFY' | 'REMOVE';
  /** The record's keys: which record it is (an order's, one of its items', a cancellation's). */
  pk: string;
  sk: string;
  old?: Record<string, unknown>;
  new?: Record<string, unknown>;
  /**
   * Where the change stands among the changes of its partition (one order and its items, or one
   * cancellation): DynamoDB Streams' sequence number, which grows with each change of a partition.
   */
  sequence: string;
  /** When the change was made. */
  at: string;
}

/** What a change announces, before the order it is about is read to shape its body. */
export type Announcement =
  | { type: 'ProductOrderCreateEvent' | 'ProductOrderStateChangeEvent'; orderId: string; order: OrderState }
  | { type: 'ProductOrderJeopardyAlertEvent'; orderId: string; order: OrderState; cleared?: Jeopardy }
  | { type: 'ProductOrderMilestoneEvent'; orderId: string; order?: undefined; milestone: MilestoneReached }
  | {
      type: 'ProductOrderInformationRequiredEvent';
      orderId: string;
      order?: undefined;
      task: { key: string; planItemId: string; lineId?: string };
    }
  | {
      type: 'CancelProductOrderCreateEvent' | 'CancelProductOrderStateChangeEvent';
      orderId: string;
      order?: undefined;
      cancellation: CancellationRecord;
    };

/** The order record's fields an announcement carries as they were when it changed (the rest is read). */
export type OrderState = Pick<OrderRecord, 'state' | 'updatedAt'> &
  Partial<Pick<OrderRecord, 'completedAt' | 'jeopardy' | 'expectedCompletionDate'>>;

export interface MilestoneReached {
  key: string;
  planItemId: string;
  lineId?: string;
  at: string;
}

/**
 * The order whose timing a change may move, if it has a due date (jeopardy.ts): its creation, its state
 * changing, one of its items changing state or starting. A change of its jeopardy alone moves nothing
 * (it is the assessment's own write).
 */
export function watchedOrderOf(change: RecordChange): string | undefined {
  const next = change.new;
  if (!next || change.kind === 'REMOVE' || !change.pk.startsWith('ORDER#')) return undefined;
  const previous = change.old;
  if (change.sk === 'ORDER')
    return next.dueDate !== undefined && (change.kind === 'INSERT' || previous?.state !== next.state)
      ? String(next.id)
      : undefined;
  if (change.sk.startsWith('ITEM#') && next.watched === true)
    return change.kind === 'INSERT' ||
      previous?.state !== next.state ||
      previous?.startedAt !== next.startedAt
      ? String(next.orderId)
      : undefined;
  return undefined;
}

/**
 * What one change announces: nothing, or one event. Record keys are those of the orders table
 * (adapters/order-records.ts): `ORDER#<id>` with `ORDER` for the order, `ITEM#<key>` for an item;
 * `CANCEL#<id>` with `CANCEL` for a cancellation.
 */
export function announcementOf(change: RecordChange): Announcement | undefined {
  const next = change.new;
  if (!next || change.kind === 'REMOVE') return undefined;
  const previous = change.old;
  if (change.pk.startsWith('ORDER#') && change.sk === 'ORDER') {
    const orderId = String(next.id);
    const jeopardy = next.jeopardy as Jeopardy | undefined;
    const order: OrderState = {
      state: next.state as OrderRecord['state'],
      updatedAt: String(next.updatedAt),
      ...(typeof next.completedAt === 'string' ? { completedAt: next.completedAt } : {}),
      ...(jeopardy ? { jeopardy } : {}),
      ...(typeof next.expectedCompletionDate === 'string'
        ? { expectedCompletionDate: next.expectedCompletionDate }
        : {}),
    };
    if (change.kind === 'INSERT') return { type: 'ProductOrderCreateEvent', orderId, order };
    if (previous && previous.state !== next.state)
      return { type: 'ProductOrderStateChangeEvent', orderId, order };
    const before = previous?.jeopardy as Jeopardy | undefined;
    if (previous && jeopardyChanged(before, jeopardy))
      return {
        type: 'ProductOrderJeopardyAlertEvent',
        orderId,
        order,
        ...(jeopardy ? {} : before ? { cleared: before } : {}),
      };
    return undefined;
  }
  if (change.pk.startsWith('ORDER#') && change.sk.startsWith('ITEM#')) {
    const item = next as unknown as ItemRecord;
    const before = previous as unknown as ItemRecord | undefined;
    const line = item.lineId === undefined ? {} : { lineId: item.lineId };
    if (item.type === 'milestone' && item.state === 'Completed' && before?.state !== 'Completed')
      return {
        type: 'ProductOrderMilestoneEvent',
        orderId: item.orderId,
        milestone: {
          key: item.key,
          planItemId: item.planItemId,
          ...line,
          at: item.completedAt ?? change.at,
        },
      };
    if (item.type === 'manualTask' && item.state === 'Running' && before?.state !== 'Running')
      return {
        type: 'ProductOrderInformationRequiredEvent',
        orderId: item.orderId,
        task: { key: item.key, planItemId: item.planItemId, ...line },
      };
    return undefined;
  }
  if (change.pk.startsWith('CANCEL#') && change.sk === 'CANCEL') {
    const cancellation = next as unknown as CancellationRecord;
    if (change.kind === 'INSERT')
      return { type: 'CancelProductOrderCreateEvent', orderId: cancellation.orderId, cancellation };
    if (previous && previous.state !== next.state)
      return { type: 'CancelProductOrderStateChangeEvent', orderId: cancellation.orderId, cancellation };
  }
  return undefined;
}

/**
 * An event as a listener receives it: TMF622 v5's Event, its payload in `event` (the ProductOrder, or
 * the CancelProductOrder, as it stood when the change was made). Besides TMF's fields it carries
 * `sequence`, by which a listener orders one order's events (docs/api.md#events); `@schemaLocation`
 * names the schema that defines that extension, as TMF630 asks (the event's own in the API's document).
 */
export interface OrderEvent {
  '@type': OrderEventType;
  '@baseType': 'Event';
  '@schemaLocation': string;
  eventId: string;
  eventType: OrderEventType;
  eventTime: string;
  timeOccurred: string;
  domain: 'productOrderingManagement';
  title: string;
  correlationId: string;
  /** 40 digits: one order's events sort by it as text (a cancellation's, by its own). */
  sequence: string;
  priority?: string;
  event: Record<string, unknown>;
}

/**
 * The event a change announces, shaped. `order` is the order as accepted and now (its state is taken
 * from the change: the event says what the order was when it was made). The event id is derived from
 * the change, so the same change announced twice (a stream batch retried) is the same event, which a
 * listener recognises by its id.
 */
export function orderEventOf(
  announcement: Announcement,
  change: Pick<RecordChange, 'sequence' | 'at' | 'pk' | 'sk'>,
  order: OrderRecord | undefined,
): OrderEvent | undefined {
  const common = {
    '@baseType': 'Event' as const,
    eventId: createHash('sha256')
      .update(`${change.pk}|${change.sk}|${change.sequence}|${announcement.type}`)
      .digest('base64url')
      .slice(0, 32),
    eventType: announcement.type,
    '@type': announcement.type,
    '@schemaLocation': schemaLocationOf(announcement.type),
    eventTime: change.at,
    timeOccurred: change.at,
    domain: 'productOrderingManagement' as const,
    correlationId: announcement.orderId,
    sequence: change.sequence.padStart(40, '0'),
  };
  const priority =
    typeof order?.submitted.priority === 'string' ? { priority: order.submitted.priority } : {};
  switch (announcement.type) {
    case 'ProductOrderCreateEvent':
    case 'ProductOrderStateChangeEvent': {
      if (!order) return undefined;
      const productOrder = toProductOrder({ ...order, ...announcement.order });
      return {
        ...common,
        ...priority,
        title:
          announcement.type === 'ProductOrderCreateEvent'
            ? `productOrder ${order.id} created`
            : `productOrder ${order.id} is ${announcement.order.state}`,
        event: { productOrder },
      };
    }
    case 'ProductOrderJeopardyAlertEvent': {
      if (!order) return undefined;
      const jeopardy = announcement.order.jeopardy ?? announcement.cleared;
      if (!jeopardy) return undefined;
      const raised = announcement.order.jeopardy !== undefined;
      const productOrder = toProductOrder({ ...order, ...announcement.order });
      return {
        ...common,
        ...priority,
        title: raised
          ? `productOrder ${order.id} in jeopardy: ${jeopardy.reasons.join('; ')}`
          : `productOrder ${order.id} out of jeopardy`,
        event: {
          productOrder: {
            ...productOrder,
            productOrderJeopardyAlert: [
              {
                ...jeopardyAlertOf(order.id, jeopardy),
                ...(raised
                  ? {}
                  : {
                      alertDate: change.at,
                      jeopardyType: 'Normal',
                      message: ENDED_STATES.has(announcement.order.state)
                        ? `cleared: the order ended ${announcement.order.state}`
                        : `cleared: expected to complete by its due date ${jeopardy.dueDate}`,
                    }),
              },
            ],
          },
        },
      };
    }
    case 'ProductOrderMilestoneEvent': {
      if (!order) return undefined;
      const { milestone } = announcement;
      const productOrder = toProductOrder(order);
      return {
        ...common,
        ...priority,
        title: `productOrder ${order.id} reached ${milestone.planItemId}`,
        event: {
          productOrder: {
            ...productOrder,
            productOrderMilestone: [
              {
                '@type': 'ProductOrderMilestone',
                id: milestone.key,
                name: milestone.planItemId,
                status: 'Completed',
                milestoneDate: milestone.at,
                ...(milestone.lineId === undefined
                  ? {}
                  : { productOrderItem: [lineRef(order.id, milestone.lineId)] }),
              },
            ],
          },
        },
      };
    }
    case 'ProductOrderInformationRequiredEvent': {
      const { task } = announcement;
      const at = task.lineId === undefined ? '' : ` for line ${task.lineId}`;
      return {
        ...common,
        ...priority,
        title: `productOrder ${announcement.orderId} waits for ${task.planItemId}${at}`,
        event: {
          productOrder: {
            '@type': 'ProductOrderRef',
            id: announcement.orderId,
            href: `${TMF622_BASE_PATH}/productOrder/${announcement.orderId}`,
          },
          // What a person is to supply: the task's completion, through the orchestration API, which
          // names the item by its id (the order's id and its key).
          informationRequired: {
            op: 'add',
            path: `/orchestration/items/${announcement.orderId}.${task.key}/complete`,
            value: {
              planItemId: task.planItemId,
              ...(task.lineId === undefined ? {} : { lineId: task.lineId }),
            },
          },
        },
      };
    }
    case 'CancelProductOrderCreateEvent':
    case 'CancelProductOrderStateChangeEvent': {
      const { cancellation } = announcement;
      return {
        ...common,
        title:
          announcement.type === 'CancelProductOrderCreateEvent'
            ? `cancelProductOrder ${cancellation.id} created`
            : `cancelProductOrder ${cancellation.id} is ${cancellation.state}`,
        event: { cancelProductOrder: toCancelProductOrderView(cancellation, TMF622_BASE_PATH) },
      };
    }
  }
}

/** An order in one of these is not expected to complete any more: its jeopardy ends with it. */
const ENDED_STATES: ReadonlySet<string> = new Set(['completed', 'failed', 'cancelled']);

function lineRef(orderId: string, lineId: string) {
  return {
    '@type': 'ProductOrderItemRef',
    productOrderItemId: lineId,
    productOrderId: orderId,
    // Spelled as the TMF622 v5 document spells it.
    ProductOrderHref: `${TMF622_BASE_PATH}/productOrder/${orderId}`,
  };
}
