import { z } from 'zod';
import type { Actor } from './roles';
import { schemaLocationOf } from './schema-location';

/**
 * TMF622 v5's CancelProductOrder: a request to cancel an order in flight, a task with a state of its
 * own (TaskStateType). Checked as ProductOrder_FVO is (product-order.ts): strictly where Switchboard reads
 * a field, extensible elsewhere, with the same leniencies — `@type` may be left out, and the order may be
 * named by `id` (the spec's examples) or `entityId` (its schema).
 *
 * What a cancellation does to the order's items is decided in cancellation.ts.
 */

/** TMF622 TaskStateType, as a CancelProductOrder moves: acknowledged → inProgress → done | terminatedWithError. */
export const CANCELLATION_STATES = [
  'acknowledged',
  'rejected',
  'inProgress',
  'cancelled',
  'done',
  'terminatedWithError',
] as const;
export type CancellationState = (typeof CANCELLATION_STATES)[number];

/** The longest cancellation reason kept: it is shown to operators and sent back, not stored unbounded. */
export const MAX_CANCELLATION_REASON = 1000;

const productOrderRef = z
  .looseObject({
    '@type': z.enum(['ProductOrderRef']).optional(),
    '@referredType': z.string().optional(),
    id: z.string().min(1).max(200).optional(),
    entityId: z.string().min(1).max(200).optional(),
    href: z.string().optional(),
    entityHref: z.string().optional(),
    name: z.string().optional(),
  })
  .superRefine((ref, ctx) => {
    if (ref.id === undefined && ref.entityId === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['id'],
        message: 'the order to cancel is named by id (or entityId)',
      });
    if (ref.id !== undefined && ref.entityId !== undefined && ref.id !== ref.entityId)
      ctx.addIssue({ code: 'custom', path: ['entityId'], message: 'differs from id' });
  });

/** The body of `POST /cancelProductOrder` (CancelProductOrder_FVO). */
export const cancelProductOrderCreateSchema = z
  .looseObject({
    '@type': z.enum(['CancelProductOrder']).optional(),
    '@baseType': z.string().optional(),
    '@schemaLocation': z.string().optional(),
    productOrder: productOrderRef,
    requestedCancellationDate: z.iso.datetime({ offset: true }).optional(),
    cancellationReason: z.string().max(MAX_CANCELLATION_REASON).optional(),
  })
  .superRefine((body, ctx) => {
    // Server-set fields: a client that sends them expects them to be taken, and they would not be.
    for (const field of ['id', 'href', 'state', 'creationDate', 'effectiveCancellationDate'] as const) {
      if (body[field] !== undefined)
        ctx.addIssue({ code: 'custom', path: [field], message: 'is set by the server; leave it out' });
    }
  });
export type CancelProductOrderCreate = z.infer<typeof cancelProductOrderCreateSchema>;

/** The order a cancellation names, however the client named it. */
export const cancelledOrderIdOf = (body: CancelProductOrderCreate): string =>
  body.productOrder.id ?? body.productOrder.entityId ?? '';

/** A cancellation as Switchboard keeps it. */
export interface CancellationRecord {
  id: string;
  orderId: string;
  state: CancellationState;
  creationDate: string;
  requestedCancellationDate?: string;
  cancellationReason?: string;
  /** When the order became `cancelled` (state done). */
  effectiveCancellationDate?: string;
  /** Why it ended terminatedWithError: the item past its point of no return, or what failed. */
  errorMessage?: string;
  /** When it ended (done or terminatedWithError). */
  endedAt?: string;
  requestedBy?: Actor;
  /** Who submitted the order it cancels (an actor id): that submitter may read it, as the order. */
  orderSubmittedBy?: string;
}

/**
 * The TMF622 CancelProductOrder body of a cancellation. Why one ended `terminatedWithError` is in
 * `errorMessage`, shaped as ProductOrder's ErrorMessage: CancelProductOrder has no field for it, so the
 * body says its type extends the spec's (`@baseType`), as TMF630 has extensions do.
 */
export function toCancelProductOrderView(record: CancellationRecord, apiBase: string) {
  const view = {
    id: record.id,
    href: `${apiBase}/cancelProductOrder/${record.id}`,
    productOrder: {
      '@type': 'ProductOrderRef' as const,
      id: record.orderId,
      href: `${apiBase}/productOrder/${record.orderId}`,
    },
    state: record.state,
    creationDate: record.creationDate,
    ...(record.requestedCancellationDate === undefined
      ? {}
      : { requestedCancellationDate: record.requestedCancellationDate }),
    ...(record.cancellationReason === undefined ? {} : { cancellationReason: record.cancellationReason }),
    ...(record.effectiveCancellationDate === undefined
      ? {}
      : { effectiveCancellationDate: record.effectiveCancellationDate }),
  };
  if (record.errorMessage === undefined) return { '@type': 'CancelProductOrder' as const, ...view };
  return {
    '@type': 'SwitchboardCancelProductOrder' as const,
    '@baseType': 'CancelProductOrder' as const,
    '@schemaLocation': schemaLocationOf('CancelProductOrder'),
    ...view,
    errorMessage: {
      '@type': 'ProductOrderErrorMessage' as const,
      code: 'cancellationRefused' as const,
      reason: 'The order cannot be cancelled' as const,
      message: record.errorMessage,
      status: 'terminatedWithError' as const,
      timestamp: record.endedAt ?? record.creationDate,
    },
  };
}
