import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { DynamoDbCancellationStore } from '../adapters/dynamodb-cancellation-store';
import { DynamoDbListenerStore } from '../adapters/dynamodb-listener-store';
import { DynamoDbOrderStore } from '../adapters/dynamodb-order-store';
import { listPosition } from '../adapters/order-records';
import { SqsWorkQueue } from '../adapters/sqs-work-queue';
import { StepFunctionsPlanRunner } from '../adapters/step-functions';
import { cancellationRoutes } from '../contract/cancellations';
import { hubRoutes } from '../contract/hub';
import {
  idempotencyKeySchema,
  orderRoutes,
  productOrderListQuery,
  productOrderPage,
  productOrderReadQuery,
  productOrderView,
} from '../contract/orders';
import { NotFoundError, PayloadTooLargeError, ValidationError } from '../domain/errors';
import { parseFields, selectFields } from '../domain/field-selection';
import type { OrderRecord, OrderState } from '../domain/orchestration';
import { TMF622_BASE_PATH, toProductOrder } from '../domain/order-view';
import { MAX_ORDER_BYTES, productOrderCreateSchema, SERVER_SET_FIELDS } from '../domain/product-order';
import { actorOf, maySeeOrder, readsAllOrders } from '../domain/roles';
import type { OrderStore } from '../ports/order-store';
import { dynamoDocuments, sqs, stepFunctions } from '../shared/aws-clients';
import { bundledCatalog } from '../shared/bundled-catalog';
import { callerOf, requireRole } from '../shared/caller';
import { jsonRecordEnv, requiredEnv } from '../shared/env';
import { lambdaHandler } from '../shared/handler';
import { answer, errorResponse, json, parseJsonBody, parseWith } from '../shared/http';
import { pathId } from '../shared/ids';
import { telemetry } from '../shared/observability';
import { refuseUndeclaredQuery } from '../shared/query';
import { amendOrder } from '../use-cases/amend-order';
import type { RequestCancellationDeps } from '../use-cases/cancel-order';
import { type SubmitOrderDeps, submitOrder } from '../use-cases/submit-order';
import { handleCancellationRoute } from './cancellations';
import { decodeCursor, encodeCursor } from './cursor';
import { type HubDeps, handleHubRoute } from './hub';

export { decodeCursor, encodeCursor };

/** The routes this function answers, as the API's contract declares them. */
const ORDER_API_ROUTES = [...orderRoutes, ...cancellationRoutes, ...hubRoutes];

export interface OrderApiDeps extends SubmitOrderDeps, RequestCancellationDeps, HubDeps {
  store: OrderStore;
}

/**
 * The most one page's JSON may weigh: orders stop before it is passed and the rest follow on the next
 * page, so an answer stays well under Lambda's 6 MB response limit (docs/api.md#limits).
 */
export const MAX_LIST_BYTES = 5 * 1024 * 1024;

/**
 * TMF622 productOrder: POST (submitters) creates an order and starts its plans; GET lists and GET /{id}
 * reads them — a submitter its own, readers and operators every order. And cancelProductOrder
 * (cancellations.ts).
 */
export async function handleOrderApi(
  deps: OrderApiDeps,
  event: APIGatewayProxyEventV2,
): Promise<APIGatewayProxyStructuredResultV2> {
  try {
    const route = event.routeKey;
    const caller = callerOf(event);
    refuseUndeclaredQuery(event, ORDER_API_ROUTES);
    if (route === `POST ${TMF622_BASE_PATH}/productOrder`) {
      requireRole(caller, 'submitter');
      const body = parseJsonBody(event);
      if (body !== null && typeof body === 'object' && !Array.isArray(body)) {
        const sent = SERVER_SET_FIELDS.filter((field) => field in body);
        if (sent.length > 0) {
          throw new ValidationError(
            sent.map((field) => ({ field, message: 'is set by the server and must not be sent' })),
          );
        }
      }
      // The fields first, so a value too big for its field is named; then the order as a whole.
      const submitted = parseWith(productOrderCreateSchema, body);
      const size = Buffer.byteLength(JSON.stringify(submitted));
      if (size > MAX_ORDER_BYTES) {
        throw new PayloadTooLargeError(
          `the order is ${size} bytes as JSON; at most ${MAX_ORDER_BYTES} are accepted (docs/api.md#limits)`,
        );
      }
      const order = await submitOrder(deps, submitted, actorOf(caller), idempotencyKeyOf(event));
      const resource = toProductOrder(order);
      return answer(productOrderView, 201, resource, { location: resource.href });
    }
    if (route === `GET ${TMF622_BASE_PATH}/productOrder`) {
      requireRole(caller, 'submitter', 'reader', 'operator');
      const query = parseWith(productOrderListQuery, event.queryStringParameters ?? {});
      const { limit, state } = query;
      const fields = parseFields(query.fields);
      const externalId = query['externalId.id'];
      const after = query.after === undefined ? undefined : decodeCursor(query.after);
      const page = await deps.store.listOrders({
        limit,
        ...(state ? { state: state as OrderState } : {}),
        ...(externalId ? { externalId } : {}),
        // A submitter lists what it submitted; readers and operators list every order.
        ...(readsAllOrders(caller) ? {} : { submittedBy: caller.id }),
        ...(after !== undefined ? { after } : {}),
      });
      const { views, next } = withinSize(page.orders, page.next);
      const headers: Record<string, string> = { 'x-result-count': String(views.length) };
      if (next !== undefined) {
        const nextQuery = new URLSearchParams({
          ...(state ? { state } : {}),
          ...(externalId ? { 'externalId.id': externalId } : {}),
          ...(query.fields !== undefined ? { fields: query.fields } : {}),
          limit: String(limit),
          after: encodeCursor(next),
        });
        headers.link = `<${TMF622_BASE_PATH}/productOrder?${nextQuery}>; rel="next"`;
      }
      return fields
        ? json(
            200,
            views.map((view) => selectFields(view, fields)),
            headers,
          )
        : answer(productOrderPage, 200, views, headers);
    }
    if (route === `GET ${TMF622_BASE_PATH}/productOrder/{id}`) {
      requireRole(caller, 'submitter', 'reader', 'operator');
      const id = pathId(event.pathParameters?.id, 'id');
      const fields = parseFields(parseWith(productOrderReadQuery, event.queryStringParameters ?? {}).fields);
      const aggregate = await deps.store.getAggregate(id);
      // Another submitter's order is answered as one that does not exist: its id tells nothing.
      if (!aggregate || !maySeeOrder(caller, aggregate.order)) {
        throw new NotFoundError(`no productOrder with id "${id}"`);
      }
      const view = toProductOrder(aggregate.order, aggregate.items.values(), aggregate.context);
      return fields ? json(200, selectFields(view, fields)) : answer(productOrderView, 200, view);
    }
    if (route === `PATCH ${TMF622_BASE_PATH}/productOrder/{id}`) {
      requireRole(caller, 'submitter', 'operator');
      const id = pathId(event.pathParameters?.id, 'id');
      const contentType = event.headers?.['content-type'] ?? '';
      // TMF630: a JSON merge patch (or plain JSON, read the same way); JSON Patch is not taken.
      if (/^application\/json-patch\+json\b/i.test(contentType))
        throw new ValidationError([
          {
            field: 'content-type',
            message: 'JSON Patch is not taken: send a JSON merge patch (application/merge-patch+json)',
          },
        ]);
      const { aggregate } = await amendOrder(deps, id, parseJsonBody(event), caller);
      return answer(
        productOrderView,
        200,
        toProductOrder(aggregate.order, aggregate.items.values(), aggregate.context),
      );
    }
    const cancellation = await handleCancellationRoute(deps, event, caller);
    if (cancellation) return cancellation;
    const hub = await handleHubRoute(deps, event, caller);
    if (hub) return hub;
    throw new NotFoundError(`no route ${route}`);
  } catch (error) {
    return errorResponse(error);
  }
}

let deps: OrderApiDeps | undefined;
/** Built on the first invocation, then kept for the life of the execution environment. */
function productionDeps(): OrderApiDeps {
  deps ??= {
    store: new DynamoDbOrderStore(dynamoDocuments, requiredEnv('ORDERS_TABLE')),
    plans: new StepFunctionsPlanRunner(stepFunctions, jsonRecordEnv('PLAN_STATE_MACHINES')),
    catalog: bundledCatalog(),
    now: () => new Date(),
    telemetry,
    cancellations: new DynamoDbCancellationStore(dynamoDocuments, requiredEnv('ORDERS_TABLE')),
    queue: new SqsWorkQueue(sqs, requiredEnv('WORK_QUEUE_URL')),
    listeners: new DynamoDbListenerStore(dynamoDocuments, requiredEnv('CONFIGURATION_TABLE')),
  };
  return deps;
}

export const handler = lambdaHandler(
  (event: APIGatewayProxyEventV2) => handleOrderApi(productionDeps(), event),
  { correlationIdPath: 'requestContext.requestId' },
);

/** The optional Idempotency-Key header: printable, at most 200 characters. */
function idempotencyKeyOf(event: APIGatewayProxyEventV2): string | undefined {
  const key = event.headers?.['idempotency-key'];
  if (key === undefined) return undefined;
  if (!idempotencyKeySchema.safeParse(key).success) {
    throw new ValidationError([
      { field: 'Idempotency-Key', message: 'must be 1 to 200 printable characters without spaces' },
    ]);
  }
  return key;
}

/**
 * The page's orders as the API shows them, as many as fit MAX_LIST_BYTES; when some did not, `next` is
 * the position after the last that did.
 */
function withinSize(orders: OrderRecord[], next: string | undefined) {
  const views: ReturnType<typeof toProductOrder>[] = [];
  let bytes = 2;
  for (const order of orders) {
    const view = toProductOrder(order);
    bytes += Buffer.byteLength(JSON.stringify(view)) + 1;
    if (bytes > MAX_LIST_BYTES && views.length > 0) {
      return { views, next: listPosition(orders[views.length - 1] as OrderRecord) };
    }
    views.push(view);
  }
  return { views, next };
}
