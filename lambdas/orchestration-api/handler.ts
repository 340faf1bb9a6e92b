import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { DynamoDbOrderStore } from '../adapters/dynamodb-order-store';
import { NotFoundError } from '../domain/errors';
import { toItemGraph } from '../domain/item-view';
import type { OrderStore } from '../ports/order-store';
import { dynamoDocuments } from '../shared/aws-clients';
import { callerOf, requireRole } from '../shared/caller';
import { requiredEnv } from '../shared/env';
import { errorResponse, json } from '../shared/http';
import { pathId } from '../shared/ids';

export interface OrchestrationApiDeps {
  store: OrderStore;
}

/** The orchestration view, for operators: GET /orchestration/orders/{orderId}/items returns the order's plan as a graph. */
export async function handleOrchestrationApi(
  deps: OrchestrationApiDeps,
  event: APIGatewayProxyEventV2,
): Promise<APIGatewayProxyStructuredResultV2> {
  try {
    requireRole(callerOf(event), 'operator');
    if (event.routeKey === 'GET /orchestration/orders/{orderId}/items') {
      const orderId = pathId(event.pathParameters?.orderId, 'orderId');
      const aggregate = await deps.store.getAggregate(orderId);
      if (!aggregate) throw new NotFoundError(`no order with id "${orderId}"`);
      return json(200, toItemGraph(aggregate));
    }
    throw new NotFoundError(`no route ${event.routeKey}`);
  } catch (error) {
    return errorResponse(error);
  }
}

let deps: OrchestrationApiDeps | undefined;
/** Built on the first invocation, then kept for the life of the execution environment. */
function productionDeps(): OrchestrationApiDeps {
  deps ??= {
    store: new DynamoDbOrderStore(dynamoDocuments, requiredEnv('ORDERS_TABLE')),
  };
  return deps;
}

export const handler = (event: APIGatewayProxyEventV2) => handleOrchestrationApi(productionDeps(), event);
