import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import {
  cancelProductOrderList,
  cancelProductOrderListQuery,
  cancelProductOrderView,
} from '../contract/cancellations';
import {
  type CancellationRecord,
  cancelProductOrderCreateSchema,
  toCancelProductOrderView,
} from '../domain/cancel-product-order';
import { NotFoundError } from '../domain/errors';
import { TMF622_BASE_PATH } from '../domain/order-view';
import { type Caller, readsAllOrders } from '../domain/roles';
import { requireRole } from '../shared/caller';
import { answer, parseJsonBody, parseWith } from '../shared/http';
import { pathId } from '../shared/ids';
import { type RequestCancellationDeps, requestCancellation } from '../use-cases/cancel-order';
import { decodeCursor, encodeCursor } from './cursor';

/**
 * TMF622 cancelProductOrder: POST asks for an order's cancellation (its submitter, or an operator);
 * GET lists cancellations and GET /{id} reads one — a submitter those of its own orders, readers and
 * operators all. The cancellation is carried out by the worker (use-cases/cancel-order.ts); its state
 * says how far it is.
 */

const mayRead = (caller: Caller, record: CancellationRecord) =>
  readsAllOrders(caller) || record.orderSubmittedBy === caller.id;

/** Answers a cancelProductOrder route; undefined for any other route. */
export async function handleCancellationRoute(
  deps: RequestCancellationDeps,
  event: APIGatewayProxyEventV2,
  caller: Caller,
): Promise<APIGatewayProxyStructuredResultV2 | undefined> {
  const base = `${TMF622_BASE_PATH}/cancelProductOrder`;
  switch (event.routeKey) {
    case `POST ${base}`: {
      requireRole(caller, 'submitter', 'operator');
      const body = parseWith(cancelProductOrderCreateSchema, parseJsonBody(event));
      const record = await requestCancellation(deps, body, caller);
      const view = toCancelProductOrderView(record, TMF622_BASE_PATH);
      return answer(cancelProductOrderView, 201, view, { location: view.href });
    }
    case `GET ${base}`: {
      requireRole(caller, 'submitter', 'reader', 'operator');
      const query = parseWith(cancelProductOrderListQuery, event.queryStringParameters ?? {});
      const orderId = query['productOrder.id'];
      const page = await deps.cancellations.list({
        limit: query.limit,
        ...(query.state ? { state: query.state } : {}),
        ...(orderId ? { orderId } : {}),
        ...(readsAllOrders(caller) ? {} : { orderSubmittedBy: caller.id }),
        ...(query.after !== undefined ? { after: decodeCursor(query.after) } : {}),
      });
      const views = page.cancellations.map((record) => toCancelProductOrderView(record, TMF622_BASE_PATH));
      const headers: Record<string, string> = { 'x-result-count': String(views.length) };
      if (page.next !== undefined) {
        const next = new URLSearchParams({
          ...(query.state ? { state: query.state } : {}),
          ...(orderId ? { 'productOrder.id': orderId } : {}),
          limit: String(query.limit),
          after: encodeCursor(page.next),
        });
        headers.link = `<${base}?${next}>; rel="next"`;
      }
      return answer(cancelProductOrderList, 200, views, headers);
    }
    case `GET ${base}/{id}`: {
      requireRole(caller, 'submitter', 'reader', 'operator');
      const id = pathId(event.pathParameters?.id, 'id');
      const record = await deps.cancellations.get(id);
      // Another submitter's is answered as one that does not exist: its id tells nothing.
      if (!record || !mayRead(caller, record))
        throw new NotFoundError(`no cancelProductOrder with id "${id}"`);
      return answer(cancelProductOrderView, 200, toCancelProductOrderView(record, TMF622_BASE_PATH));
    }
    default:
      return undefined;
  }
}
