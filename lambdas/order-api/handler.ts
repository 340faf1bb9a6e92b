import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { z } from 'zod';
import { DynamoDbOrderStore } from '../adapters/dynamodb-order-store';
import { StepFunctionsPlanRunner } from '../adapters/step-functions';
import { NotFoundError, PayloadTooLargeError, ValidationError } from '../domain/errors';
import type { OrderState } from '../domain/orchestration';
import { TMF622_BASE_PATH, toProductOrder } from '../domain/order-view';
import { MAX_ORDER_BYTES, productOrderCreateSchema, SERVER_SET_FIELDS } from '../domain/product-order';
import { actorOf } from '../domain/roles';
import type { OrderStore } from '../ports/order-store';
import { dynamoDocuments, stepFunctions } from '../shared/aws-clients';
import { bundledCatalog } from '../shared/bundled-catalog';
import { callerOf, requireRole } from '../shared/caller';
import { jsonRecordEnv, requiredEnv } from '../shared/env';
import { errorResponse, json, parseJsonBody, parseWith } from '../shared/http';
import { pathId } from '../shared/ids';
import { type SubmitOrderDeps, submitOrder } from '../use-cases/submit-order';

export interface OrderApiDeps extends SubmitOrderDeps {
  store: OrderStore;
}

const PRODUCT_ORDER_STATES = [
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

/**
 * TMF622 list query: paging by offset and limit, filtering by state and by external id (a TMF630
 * attribute filter, `externalId.id=…`); any other parameter is refused.
 */
const listQuerySchema = z
  .object({
    state: z.enum(PRODUCT_ORDER_STATES).optional(),
    'externalId.id': z.string().min(1).max(200).optional(),
    offset: z.coerce.number().int().min(0).max(100_000).default(0),
    limit: z.coerce.number().int().min(1).max(100).default(20),
  })
  .strict();

/** TMF622 productOrder: POST (submitters) creates an order and starts its plans; GET /{id} (submitters, operators) reads it. */
export async function handleOrderApi(
  deps: OrderApiDeps,
  event: APIGatewayProxyEventV2,
): Promise<APIGatewayProxyStructuredResultV2> {
  try {
    const route = event.routeKey;
    const caller = callerOf(event);
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
      return json(201, resource, { location: resource.href });
    }
    if (route === `GET ${TMF622_BASE_PATH}/productOrder`) {
      requireRole(caller, 'submitter', 'operator');
      const query = parseWith(listQuerySchema, event.queryStringParameters ?? {});
      const { offset, limit, state } = query;
      const externalId = query['externalId.id'];
      const page = await deps.store.listOrders({
        offset,
        limit,
        ...(state ? { state: state as OrderState } : {}),
        ...(externalId ? { externalId } : {}),
      });
      return json(
        200,
        page.orders.map((order) => toProductOrder(order)),
        { 'x-total-count': String(page.total), 'x-result-count': String(page.orders.length) },
      );
    }
    if (route === `GET ${TMF622_BASE_PATH}/productOrder/{id}`) {
      requireRole(caller, 'submitter', 'operator');
      const id = pathId(event.pathParameters?.id, 'id');
      const aggregate = await deps.store.getAggregate(id);
      if (!aggregate) throw new NotFoundError(`no productOrder with id "${id}"`);
      return json(200, toProductOrder(aggregate.order, aggregate.items.values(), aggregate.context));
    }
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
  };
  return deps;
}

export const handler = (event: APIGatewayProxyEventV2) => handleOrderApi(productionDeps(), event);

/** The optional Idempotency-Key header: printable, at most 200 characters. */
function idempotencyKeyOf(event: APIGatewayProxyEventV2): string | undefined {
  const key = event.headers?.['idempotency-key'];
  if (key === undefined) return undefined;
  if (!/^[\x21-\x7e]{1,200}$/.test(key)) {
    throw new ValidationError([
      { field: 'Idempotency-Key', message: 'must be 1 to 200 printable characters without spaces' },
    ]);
  }
  return key;
}
