import { z } from 'zod';
import { CANCELLATION_STATES, cancelProductOrderCreateSchema } from '../domain/cancel-product-order';
import { TMF622_BASE_PATH } from '../domain/order-view';
import { schemaLocationOf } from '../domain/schema-location';
import { pagingQuery } from '../order-api/cursor';
import { LOCATION_HEADER, named, PAGING_HEADERS, pathIdParam, type RouteContract, route } from './route';

/** TMF622 cancelProductOrder: ask for an order's cancellation, list and read cancellations. */

export const cancellationTags = [
  {
    name: 'cancelProductOrder',
    description: 'TMF622 cancellations of orders in flight: ask for one, follow how far it is',
  },
];

/**
 * The cancellations' list query: by state and by the order cancelled, and paging (cursor.ts:
 * pagingQuery). Any other parameter is refused.
 */
export const cancelProductOrderListQuery = z
  .object({
    state: z.enum(CANCELLATION_STATES).optional().describe('Only cancellations in this state'),
    'productOrder.id': z.string().min(1).max(200).optional().describe('Only the cancellations of this order'),
    ...pagingQuery,
  })
  .strict();

export const productOrderRef = named(
  'ProductOrderRef',
  z
    .object({
      '@type': z.literal('ProductOrderRef'),
      id: z.string(),
      href: z.string(),
    })
    .strict(),
  'A reference to a ProductOrder: its id and where to read it',
);

const cancellationErrorMessage = named(
  'CancelProductOrderErrorMessage',
  z
    .object({
      '@type': z.literal('ProductOrderErrorMessage'),
      code: z.literal('cancellationRefused'),
      reason: z.string(),
      message: z
        .string()
        .describe('Why: the item past its point of no return that had started, or what failed'),
      status: z.literal('terminatedWithError'),
      timestamp: z.string().describe('When the cancellation ended'),
    })
    .strict(),
  'Why a cancellation ended terminatedWithError, shaped as TMF622’s ProductOrderErrorMessage',
);

/** What every cancellation answers; one that ended with an error says why in an extension of the type. */
const cancellationFields = {
  id: z.string(),
  href: z.string(),
  productOrder: productOrderRef,
  state: z.enum(CANCELLATION_STATES),
  creationDate: z.string(),
  requestedCancellationDate: z.string().optional(),
  cancellationReason: z.string().optional(),
  effectiveCancellationDate: z.string().optional().describe('When the order became cancelled (state done)'),
};

export const cancelProductOrderView = named(
  'CancelProductOrder',
  z.union([
    z.object({ '@type': z.literal('CancelProductOrder'), ...cancellationFields }).strict(),
    z
      .object({
        '@type': z.literal('SwitchboardCancelProductOrder'),
        '@baseType': z.literal('CancelProductOrder'),
        '@schemaLocation': z
          .literal(schemaLocationOf('CancelProductOrder'))
          .describe('Where the extension, `errorMessage`, is defined: this schema (TMF630)'),
        ...cancellationFields,
        errorMessage: cancellationErrorMessage,
      })
      .strict(),
  ]),
  'A TMF622 CancelProductOrder: the order it cancels and how far it is (acknowledged → inProgress → done, or terminatedWithError). One that ended with an error is a SwitchboardCancelProductOrder, CancelProductOrder extended with `errorMessage` (CancelProductOrder has no field for why). Attributes a client sent beyond those Switchboard reads are not kept.',
);

const idParams = z.object({ id: pathIdParam('The cancellation’s id, as answered when it was asked for') });

const EXAMPLE_REQUEST = {
  '@type': 'CancelProductOrder',
  productOrder: { '@type': 'ProductOrderRef', id: 'ord-01JF8Z7K3V9Q' },
  cancellationReason: 'The customer moved house before the line was installed',
  requestedCancellationDate: '2026-12-08T09:00:00Z',
};

const EXAMPLE_CANCELLATION = {
  id: '5b0c7a64-4f1e-4d55-9a43-0e7fd3f1c2a9',
  href: `${TMF622_BASE_PATH}/cancelProductOrder/5b0c7a64-4f1e-4d55-9a43-0e7fd3f1c2a9`,
  '@type': 'CancelProductOrder',
  productOrder: {
    '@type': 'ProductOrderRef',
    id: 'ord-01JF8Z7K3V9Q',
    href: `${TMF622_BASE_PATH}/productOrder/ord-01JF8Z7K3V9Q`,
  },
  state: 'acknowledged',
  creationDate: '2026-12-07T10:15:00.000Z',
  requestedCancellationDate: '2026-12-08T09:00:00Z',
  cancellationReason: 'The customer moved house before the line was installed',
};

const EXAMPLE_REFUSED = {
  ...EXAMPLE_CANCELLATION,
  '@type': 'SwitchboardCancelProductOrder',
  '@baseType': 'CancelProductOrder',
  '@schemaLocation': schemaLocationOf('CancelProductOrder'),
  errorMessage: {
    '@type': 'ProductOrderErrorMessage',
    code: 'cancellationRefused',
    reason: 'The order cannot be cancelled',
    message:
      'item dsl-broadband.activate-line.1 is a point of no return and has completed: the order can no longer be cancelled',
    status: 'terminatedWithError',
    timestamp: '2026-12-07T10:15:02.000Z',
  },
  state: 'terminatedWithError',
};

export const cancelProductOrderList = named('CancelProductOrderList', z.array(cancelProductOrderView));

export const cancellationRoutes: RouteContract[] = [
  route({
    method: 'POST',
    path: `${TMF622_BASE_PATH}/cancelProductOrder`,
    operationId: 'createCancelProductOrder',
    tag: 'cancelProductOrder',
    summary: 'Ask for an order’s cancellation',
    description:
      'The order must be one the caller may read (a submitter’s own; another’s is refused as one that does not exist, 400 naming productOrder.id) and under way (acknowledged, inProgress or held); 409 when it is not, or a cancellation of it is under way. The order becomes assessingCancellation at once; the worker then cancels it, or refuses (terminatedWithError) when a point of no return has started. Fields the server sets (id, href, state, creationDate, effectiveCancellationDate) are refused.',
    access: { roles: ['submitter', 'operator'] },
    body: {
      schema: named(
        'CancelProductOrder_FVO',
        cancelProductOrderCreateSchema,
        'TMF622 CancelProductOrder_FVO, as Switchboard reads it: the order named by id (or entityId), an optional reason and requested date; other attributes are taken and not kept',
      ),
      description: 'TMF622 CancelProductOrder_FVO',
      example: EXAMPLE_REQUEST,
    },
    answers: {
      201: {
        description: 'The cancellation, acknowledged; the order is assessingCancellation',
        schema: cancelProductOrderView,
        headers: { location: LOCATION_HEADER },
        example: EXAMPLE_CANCELLATION,
      },
    },
    errors: [400, 403, 409, 413],
  }),
  route({
    method: 'GET',
    path: `${TMF622_BASE_PATH}/cancelProductOrder`,
    operationId: 'listCancelProductOrder',
    tag: 'cancelProductOrder',
    summary: 'List cancellations, newest first',
    description: 'A submitter lists the cancellations of the orders it submitted; readers and operators all.',
    access: { roles: ['submitter', 'reader', 'operator'] },
    query: cancelProductOrderListQuery,
    answers: {
      200: {
        description: 'One page of cancellations',
        schema: cancelProductOrderList,
        headers: PAGING_HEADERS,
        example: [EXAMPLE_REFUSED],
      },
    },
    errors: [400, 403],
  }),
  route({
    method: 'GET',
    path: `${TMF622_BASE_PATH}/cancelProductOrder/{id}`,
    operationId: 'retrieveCancelProductOrder',
    tag: 'cancelProductOrder',
    summary: 'Read a cancellation: how far it is, and why it ended with an error if it did',
    description:
      'A submitter reads only the cancellations of its own orders: another’s is answered 404, as one that does not exist.',
    access: { roles: ['submitter', 'reader', 'operator'] },
    params: idParams,
    answers: {
      200: { description: 'The cancellation', schema: cancelProductOrderView, example: EXAMPLE_CANCELLATION },
    },
    errors: [400, 403, 404],
  }),
];
