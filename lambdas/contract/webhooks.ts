import { z } from 'zod';
import type { OrderEventType } from '../domain/order-events';
import { TMF622_BASE_PATH } from '../domain/order-view';
import { schemaLocationOf } from '../domain/schema-location';
import { cancelProductOrderView, productOrderRef } from './cancellations';
import { jeopardyAlertView, productOrderView } from './orders';
import { type HeaderContract, named, type WebhookContract } from './route';

/**
 * The TMF622 events Switchboard delivers to the listeners registered on its hub (domain/order-events.ts
 * shapes them, use-cases/deliver-events.ts posts them): TMF622 v5's Event, its payload in `event`, with
 * Switchboard's `sequence`, each signed as Standard Webhooks has it with the listener's secret.
 */

/** The Standard Webhooks headers of every delivery (domain/webhook-signature.ts). */
const DELIVERY_HEADERS: Record<string, HeaderContract> = {
  'webhook-id': {
    description: 'The event’s eventId: the same on every attempt, so a repeat can be told',
    schema: z.string().regex(/^[A-Za-z0-9_-]{32}$/),
    required: true,
  },
  'webhook-timestamp': {
    description: 'When this attempt was signed, in epoch seconds',
    schema: z.string().regex(/^\d+$/),
    required: true,
  },
  'webhook-signature': {
    description:
      '`v1,` and the base64 HMAC-SHA256 of `<webhook-id>.<webhook-timestamp>.<body>` under the listener’s secret (the base64 after `whsec_`); any Standard Webhooks library verifies it',
    schema: z.string().regex(/^v1,[A-Za-z0-9+/]{43}=$/),
    required: true,
  },
};

/** TMF622's Event as Switchboard sends it, its payload `event`; with the order's priority where it has one. */
function eventEnvelope<T extends OrderEventType, P extends z.ZodType>(
  type: T,
  payload: P,
  options: { priority: boolean },
) {
  return z
    .object({
      '@type': z.literal(type),
      '@baseType': z.literal('Event').describe('TMF622’s Event'),
      '@schemaLocation': z
        .literal(schemaLocationOf(type))
        .describe('Where the event’s extension, `sequence`, is defined: this schema (TMF630)'),
      eventId: z
        .string()
        .regex(/^[A-Za-z0-9_-]{32}$/)
        .describe('Derived from the change it announces: the same change announced twice is the same event'),
      eventType: z.literal(type),
      eventTime: z.string(),
      timeOccurred: z.string().describe('When the change was made'),
      domain: z.literal('productOrderingManagement'),
      title: z.string(),
      correlationId: z.string().describe('The order’s id'),
      sequence: z
        .string()
        .regex(/^\d{40}$/)
        .describe(
          'Switchboard extension: grows with each change of the order (a cancellation’s with its own): sort one order’s events by it, as text, and ignore one older than the newest applied',
        ),
      ...(options.priority ? { priority: z.string().optional().describe('The order’s priority') } : {}),
      event: payload,
    })
    .strict();
}

const productOrderPayload = (name: string) =>
  named(
    name,
    z.object({ productOrder: productOrderView }).strict(),
    'The ProductOrder as it stood when the change was made (without its lines’ states or fulfilment attributes: read the order for those)',
  );

const productOrderItemRef = named(
  'ProductOrderItemRef',
  z
    .object({
      '@type': z.literal('ProductOrderItemRef'),
      productOrderItemId: z.string(),
      productOrderId: z.string(),
      ProductOrderHref: z.string().describe('Spelled as TMF622 v5 spells it'),
    })
    .strict(),
  'A line of an order',
);

const milestone = named(
  'ProductOrderMilestone',
  z
    .object({
      '@type': z.literal('ProductOrderMilestone'),
      id: z.string().describe('The milestone item’s key'),
      name: z.string().describe('The plan item’s id'),
      status: z.literal('Completed'),
      milestoneDate: z.string(),
      productOrderItem: z.array(productOrderItemRef).length(1).optional().describe('Its line, if it has one'),
    })
    .strict(),
  'A milestone of the order’s plan, reached',
);

const jeopardyAlertNotice = named(
  'ProductOrderJeopardyAlertNotice',
  jeopardyAlertView.extend({
    jeopardyType: z
      .enum(['Hazard', 'Normal'])
      .describe('Hazard: raised, or its reasons changed; Normal: cleared (alertDate is when, message why)'),
  }),
  'The jeopardy alert a ProductOrderJeopardyAlertEvent carries: raised, changed or cleared',
);

const informationRequired = named(
  'InformationRequiredPatch',
  z
    .object({
      op: z.literal('add'),
      path: z
        .string()
        .describe(
          '`/orchestration/items/<itemId>/complete`: where an operator completes the manual task (POST)',
        ),
      value: z.object({ planItemId: z.string(), lineId: z.string().optional() }).strict(),
    })
    .strict(),
  'TMF622’s JsonPatch of what is required: a manual task waits for a person',
);

const PAYLOADS = {
  ProductOrderCreateEvent: productOrderPayload('ProductOrderCreateEventPayload'),
  ProductOrderStateChangeEvent: productOrderPayload('ProductOrderStateChangeEventPayload'),
  ProductOrderJeopardyAlertEvent: named(
    'ProductOrderJeopardyAlertPayload',
    z
      .object({
        productOrder: productOrderView.extend({
          productOrderJeopardyAlert: z.array(jeopardyAlertNotice).length(1),
        }),
      })
      .strict(),
    'The ProductOrder with the one alert: raised, changed or cleared',
  ),
  ProductOrderMilestoneEvent: named(
    'ProductOrderMilestonePayload',
    z
      .object({
        productOrder: productOrderView.extend({ productOrderMilestone: z.array(milestone).length(1) }),
      })
      .strict(),
    'The ProductOrder with the milestone it reached',
  ),
  ProductOrderInformationRequiredEvent: named(
    'ProductOrderInformationRequiredEventPayload',
    z.object({ productOrder: productOrderRef, informationRequired }).strict(),
    'The order, and the manual task that waits for a person',
  ),
  CancelProductOrderCreateEvent: named(
    'CancelProductOrderCreateEventPayload',
    z.object({ cancelProductOrder: cancelProductOrderView }).strict(),
    'The CancelProductOrder as it was accepted',
  ),
  CancelProductOrderStateChangeEvent: named(
    'CancelProductOrderStateChangeEventPayload',
    z.object({ cancelProductOrder: cancelProductOrderView }).strict(),
    'The CancelProductOrder in its new state',
  ),
} satisfies Record<OrderEventType, z.ZodType>;

const SUMMARIES: Record<OrderEventType, string> = {
  ProductOrderCreateEvent: 'An order was accepted',
  ProductOrderStateChangeEvent: 'An order’s state changed',
  ProductOrderJeopardyAlertEvent: 'An order went into jeopardy, its reasons changed, or it came out',
  ProductOrderMilestoneEvent: 'A milestone of an order’s plan was reached',
  ProductOrderInformationRequiredEvent: 'A manual task of an order waits for a person',
  CancelProductOrderCreateEvent: 'A cancellation was asked for',
  CancelProductOrderStateChangeEvent: 'A cancellation’s state changed',
};

const ORDER = 'ord-01JF8Z7K3V9Q';
const ORDER_HREF = `${TMF622_BASE_PATH}/productOrder/${ORDER}`;
const EXAMPLE_ORDER = {
  '@type': 'ProductOrder',
  externalId: [{ '@type': 'ExternalIdentifier', id: 'crm-2026-0042', owner: 'crm' }],
  requestedCompletionDate: '2026-12-20T17:00:00Z',
  priority: '2',
  productOrderItem: [
    {
      '@type': 'ProductOrderItem',
      id: '1',
      action: 'add',
      productOffering: { '@type': 'ProductOfferingRef', id: 'dsl-broadband' },
    },
  ],
  id: ORDER,
  href: ORDER_HREF,
  state: 'completed',
  creationDate: '2026-12-07T09:30:00.000Z',
  completionDate: '2026-12-09T14:05:12.000Z',
};
const { completionDate: _notYet, ...inProgress } = EXAMPLE_ORDER;
const EXAMPLE_ORDER_IN_PROGRESS = { ...inProgress, state: 'inProgress' };
const envelope = (type: OrderEventType, title: string, sequence: string) => ({
  '@type': type,
  '@baseType': 'Event',
  '@schemaLocation': schemaLocationOf(type),
  eventId: 'pV3xq0n4cY8kQ2sJ9bT1wZ7uE5rL6mHa',
  eventType: type,
  eventTime: '2026-12-09T14:05:12.000Z',
  timeOccurred: '2026-12-09T14:05:12.000Z',
  domain: 'productOrderingManagement',
  title,
  correlationId: ORDER,
  sequence: sequence.padStart(40, '0'),
});

const EXAMPLES: Partial<Record<OrderEventType, unknown>> = {
  ProductOrderStateChangeEvent: {
    ...envelope('ProductOrderStateChangeEvent', `productOrder ${ORDER} is completed`, '4200000000000000117'),
    priority: '2',
    event: { productOrder: EXAMPLE_ORDER },
  },
  ProductOrderMilestoneEvent: {
    ...envelope(
      'ProductOrderMilestoneEvent',
      `productOrder ${ORDER} reached line-ready`,
      '4200000000000000098',
    ),
    priority: '2',
    event: {
      productOrder: {
        ...EXAMPLE_ORDER_IN_PROGRESS,
        productOrderMilestone: [
          {
            '@type': 'ProductOrderMilestone',
            id: 'dsl-broadband.line-ready.1',
            name: 'line-ready',
            status: 'Completed',
            milestoneDate: '2026-12-09T11:40:03.000Z',
            productOrderItem: [
              {
                '@type': 'ProductOrderItemRef',
                productOrderItemId: '1',
                productOrderId: ORDER,
                ProductOrderHref: ORDER_HREF,
              },
            ],
          },
        ],
      },
    },
  },
  ProductOrderInformationRequiredEvent: {
    ...envelope(
      'ProductOrderInformationRequiredEvent',
      `productOrder ${ORDER} waits for technician-visit for line 1`,
      '4200000000000000064',
    ),
    priority: '2',
    event: {
      productOrder: { '@type': 'ProductOrderRef', id: ORDER, href: ORDER_HREF },
      informationRequired: {
        op: 'add',
        path: `/orchestration/items/${ORDER}.tv-bundle.technician-visit.1/complete`,
        value: { planItemId: 'technician-visit', lineId: '1' },
      },
    },
  },
  CancelProductOrderStateChangeEvent: {
    ...envelope(
      'CancelProductOrderStateChangeEvent',
      'cancelProductOrder 5b0c7a64-4f1e-4d55-9a43-0e7fd3f1c2a9 is done',
      '5100000000000000003',
    ),
    event: {
      cancelProductOrder: {
        id: '5b0c7a64-4f1e-4d55-9a43-0e7fd3f1c2a9',
        href: `${TMF622_BASE_PATH}/cancelProductOrder/5b0c7a64-4f1e-4d55-9a43-0e7fd3f1c2a9`,
        '@type': 'CancelProductOrder',
        productOrder: { '@type': 'ProductOrderRef', id: ORDER, href: ORDER_HREF },
        state: 'done',
        creationDate: '2026-12-07T10:15:00.000Z',
        cancellationReason: 'The customer moved house before the line was installed',
        effectiveCancellationDate: '2026-12-07T10:16:41.000Z',
      },
    },
  },
};

/** Every event a listener may receive, each a webhook of the document. */
export const orderWebhooks: WebhookContract[] = (Object.keys(PAYLOADS) as OrderEventType[]).map((type) => ({
  name: type,
  summary: SUMMARIES[type],
  description:
    'POSTed as JSON to each listener whose registrant may read the order and whose filter the event passes. Answer 2xx within 10 s: anything else is tried again after 10 s, 30 s, 90 s, … up to every 4 hours, 16 tries in all. Events may come more than once (tell a repeat by webhook-id) and out of order (sort by sequence).',
  schema: named(
    type,
    eventEnvelope(type, PAYLOADS[type], { priority: !type.startsWith('Cancel') }),
    `TMF622’s ${type}, as Switchboard sends it`,
  ),
  headers: DELIVERY_HEADERS,
  ...(EXAMPLES[type] !== undefined ? { example: EXAMPLES[type] } : {}),
}));
