import { z } from 'zod';
import { ORDER_STATES } from '../domain/orchestration';
import { TMF622_BASE_PATH } from '../domain/order-view';
import { ITEM_ACTIONS, productOrderCreateSchema, SERVER_SET_FIELDS } from '../domain/product-order';
import { schemaLocationOf } from '../domain/schema-location';
import { pagingQuery } from '../order-api/cursor';
import { LOCATION_HEADER, named, PAGING_HEADERS, pathIdParam, type RouteContract, route } from './route';

/** TMF622 productOrder: submit, list, read, amend. */

export const PRODUCT_ORDER_STATES = [
  'acknowledged',
  'rejected',
  'pending',
  'held',
  'inProgress',
  'cancelled',
  'completed',
  'failed',
  'partial',
  'assessingCancellation',
  'pendingCancellation',
  'draft',
  'inProgress.accepted',
] as const;

/** An Idempotency-Key: printable, without spaces, at most 200 characters. */
export const idempotencyKeySchema = z.string().regex(/^[\x21-\x7e]{1,200}$/);

/** What `fields` takes: attribute names, dotted into objects and lists, separated by commas (TMF630). */
const fieldsParam = z
  .string()
  .max(2000)
  .optional()
  .describe(
    'TMF630 attribute selection: the attributes to answer, separated by commas, dotted into objects and lists (productOrderItem.state); id, href and @type are always answered',
  );

/**
 * TMF622 list query: filtering by state and by external id (a TMF630 attribute filter,
 * `externalId.id=…`), attribute selection, and paging (cursor.ts: pagingQuery). Any other parameter is
 * refused.
 */
export const productOrderListQuery = z
  .object({
    state: z.enum(PRODUCT_ORDER_STATES).optional().describe('Only orders in this state'),
    'externalId.id': z
      .string()
      .min(1)
      .max(200)
      .optional()
      .describe('Only the order order capture knows by this external id'),
    fields: fieldsParam,
    ...pagingQuery,
  })
  .strict();

/** GET of one order takes only the attribute selection. */
export const productOrderReadQuery = z.object({ fields: fieldsParam }).strict();

const idParams = z.object({ id: pathIdParam('The order’s id, as answered when it was created') });

const productOrderItemView = named(
  'ProductOrderItem',
  z.looseObject({
    '@type': z.literal('ProductOrderItem'),
    id: z.string(),
    action: z.enum(ITEM_ACTIONS),
    state: z
      .enum(ORDER_STATES)
      .optional()
      .describe('From the states of the items that fulfil the line; answered when the order is read alone'),
  }),
  'A line of the order as it was submitted (every part typed), with its state',
);

const errorMessageView = named(
  'ProductOrderErrorMessage',
  z.looseObject({
    '@type': z.literal('ProductOrderErrorMessage'),
    code: z.enum(['timeout', 'fallout']),
    reason: z.string(),
    message: z.string(),
    status: z.literal('fallout'),
    timestamp: z.string(),
    productOrderItem: z
      .array(
        z.looseObject({
          '@type': z.literal('ProductOrderItemRef'),
          productOrderItemId: z.string(),
          productOrderId: z.string(),
          ProductOrderHref: z.string(),
        }),
      )
      .optional(),
  }),
  'An item of the order that waits in fallout for an operator',
);

export const jeopardyAlertView = named(
  'ProductOrderJeopardyAlert',
  z.looseObject({
    '@type': z.literal('ProductOrderJeopardyAlert'),
    id: z.string(),
    alertDate: z.string(),
    name: z.enum(['dueDate', 'overrun']),
    jeopardyType: z.literal('Hazard'),
    exception: z.string(),
    message: z.string(),
  }),
  'The order’s jeopardy: it will miss its due date, or an item overran its expected duration',
);

export const productOrderView = named(
  'ProductOrder',
  z.looseObject({
    '@type': z.literal('ProductOrder'),
    id: z.string(),
    href: z.string(),
    state: z.enum(ORDER_STATES),
    creationDate: z.string(),
    completionDate: z.string().optional(),
    expectedCompletionDate: z.string().optional(),
    externalId: z
      .array(z.looseObject({ '@type': z.literal('ExternalIdentifier'), id: z.string() }))
      .optional(),
    productOrderItem: z.array(productOrderItemView),
    productOrderErrorMessage: z.array(errorMessageView).optional(),
    productOrderJeopardyAlert: z.array(jeopardyAlertView).optional(),
    '@schemaLocation': z
      .string()
      .optional()
      .describe(
        `Where the order's extensions are defined: \`${schemaLocationOf('ProductOrder')}\` (this schema) on an order that carries \`fulfilmentAttributes\`, else the client's own, as sent`,
      ),
    fulfilmentAttributes: z
      .record(z.string(), z.unknown())
      .optional()
      .describe(
        'Switchboard extension: what fulfilment wrote (the reserved port, …), by attribute name; answered when the order is read alone',
      ),
  }),
  'A TMF622 ProductOrder as Switchboard answers it: the order as submitted, every part typed, with its state',
);

/** A page of whole orders (the list without `fields`): the type the order API answers it as. */
export const productOrderPage = z.array(productOrderView);

/**
 * An order answered with `fields`: the attributes asked for, always its id, href and @type; each
 * attribute answered is as in a whole ProductOrder.
 */
const productOrderSelection = named(
  'ProductOrderSelection',
  productOrderView.partial().extend({
    '@type': z.literal('ProductOrder'),
    id: z.string(),
    href: z.string(),
    productOrderItem: z.array(productOrderItemView.partial()).optional(),
    productOrderErrorMessage: z.array(errorMessageView.partial()).optional(),
    productOrderJeopardyAlert: z.array(jeopardyAlertView.partial()).optional(),
  }),
  'A ProductOrder answered with `fields`: only the attributes named, besides id, href and @type',
);

const productOrderAnswer = named(
  'ProductOrderAnswer',
  z.union([productOrderView, productOrderSelection]),
  'A ProductOrder, whole or as `fields` selected it',
);

const EXAMPLE_ORDER = {
  '@type': 'ProductOrder',
  externalId: [{ '@type': 'ExternalIdentifier', id: 'crm-2026-0042', owner: 'crm' }],
  requestedCompletionDate: '2026-12-20T17:00:00Z',
  productOrderItem: [
    {
      '@type': 'ProductOrderItem',
      id: '1',
      action: 'add',
      productOffering: { '@type': 'ProductOfferingRef', id: 'dsl-broadband' },
      product: {
        '@type': 'Product',
        productCharacteristic: [
          { '@type': 'IntegerCharacteristic', name: 'bandwidth', value: 100 },
          { '@type': 'StringCharacteristic', name: 'serviceAddress', value: '1 Main Street, Springfield' },
        ],
      },
    },
  ],
};

const EXAMPLE_CREATED = {
  ...EXAMPLE_ORDER,
  id: 'ord-01JF8Z7K3V9Q',
  href: `${TMF622_BASE_PATH}/productOrder/ord-01JF8Z7K3V9Q`,
  state: 'acknowledged',
  creationDate: '2026-12-07T09:30:00.000Z',
};

export const orderRoutes: RouteContract[] = [
  route({
    method: 'POST',
    path: `${TMF622_BASE_PATH}/productOrder`,
    operationId: 'createProductOrder',
    tag: 'productOrder',
    summary: 'Submit a product order',
    description: `Checks the order, decomposes each line into its plan’s items and starts the plans. The same Idempotency-Key answers the order it created the first time. Fields the server sets (${SERVER_SET_FIELDS.join(', ')}, and a line’s state) are refused.`,
    access: { roles: ['submitter'] },
    headers: {
      'idempotency-key': {
        description:
          'Makes the submission safe to send again: the same key answers the order it created (1 to 200 printable characters)',
        schema: idempotencyKeySchema,
      },
    },
    body: {
      schema: named(
        'ProductOrder_FVO',
        productOrderCreateSchema,
        'TMF622 ProductOrder_FVO, as Switchboard reads it',
      ),
      description: 'TMF622 ProductOrder_FVO',
      example: EXAMPLE_ORDER,
    },
    answers: {
      201: {
        description: 'The order, acknowledged; its plans have started',
        schema: productOrderView,
        headers: { location: LOCATION_HEADER },
        example: EXAMPLE_CREATED,
      },
    },
    errors: [400, 403, 409, 413],
  }),
  route({
    method: 'GET',
    path: `${TMF622_BASE_PATH}/productOrder`,
    operationId: 'listProductOrder',
    tag: 'productOrder',
    summary: 'List product orders, newest first',
    description: 'A submitter lists the orders it submitted; readers and operators every order.',
    access: { roles: ['submitter', 'reader', 'operator'] },
    query: productOrderListQuery,
    answers: {
      200: {
        description:
          'One page of orders (without line states or fulfilment attributes: read an order for those)',
        schema: named('ProductOrderList', z.array(productOrderAnswer)),
        headers: PAGING_HEADERS,
      },
    },
    errors: [400, 403],
  }),
  route({
    method: 'GET',
    path: `${TMF622_BASE_PATH}/productOrder/{id}`,
    operationId: 'retrieveProductOrder',
    tag: 'productOrder',
    summary: 'Read a product order, with its lines’ states and what fulfilment wrote',
    description:
      'A submitter reads only its own orders: another’s is answered 404, as one that does not exist.',
    access: { roles: ['submitter', 'reader', 'operator'] },
    params: idParams,
    query: productOrderReadQuery,
    answers: { 200: { description: 'The order', schema: productOrderAnswer } },
    errors: [400, 403, 404],
  }),
  route({
    method: 'PATCH',
    path: `${TMF622_BASE_PATH}/productOrder/{id}`,
    operationId: 'patchProductOrder',
    tag: 'productOrder',
    summary: 'Amend an order in flight',
    description:
      'A JSON merge patch of the lines’ characteristics (TMF622 ProductOrder_MVO): what the change touches is frozen, compensated where done and run again; refused with 409 past a point of no return. JSON Patch is not taken.',
    access: { roles: ['submitter', 'operator'] },
    params: idParams,
    body: {
      schema: named(
        'ProductOrder_MVO',
        z.record(z.string(), z.json()),
        'A JSON merge patch (RFC 7386) of the order: the order it makes must still be a valid ProductOrder_FVO, and only what the plans allow to change may change',
      ),
      contentTypes: ['application/merge-patch+json', 'application/json'],
    },
    answers: { 200: { description: 'The amended order', schema: productOrderView } },
    errors: [400, 403, 404, 409, 413],
  }),
];
