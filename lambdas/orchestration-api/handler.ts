import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { DynamoDbOrderStore } from '../adapters/dynamodb-order-store';
import { DynamoDbRetryRuleStore } from '../adapters/dynamodb-retry-rule-store';
import { SqsWorkQueue } from '../adapters/sqs-work-queue';
import { StepFunctionsPlanRunner, StepFunctionsPlanTasks } from '../adapters/step-functions';
import { itemGraph, itemView, manualTaskAttributes, orchestrationRoutes } from '../contract/orchestration';
import { NotFoundError, ValidationError } from '../domain/errors';
import { toItemGraph, toItemView } from '../domain/item-view';
import { actorOf } from '../domain/roles';
import type { OrderStore } from '../ports/order-store';
import { dynamoDocuments, sqs, stepFunctions } from '../shared/aws-clients';
import { bundledCatalog } from '../shared/bundled-catalog';
import { callerOf, requireRole } from '../shared/caller';
import { jsonRecordEnv, requiredEnv } from '../shared/env';
import { lambdaHandler } from '../shared/handler';
import { answer, errorResponse, parseJsonBody, problemsFrom } from '../shared/http';
import { pathId } from '../shared/ids';
import { telemetry } from '../shared/observability';
import { refuseUndeclaredQuery } from '../shared/query';
import { type CompleteManualTaskDeps, completeManualTask } from '../use-cases/complete-manual-task';
import {
  abortByOperator,
  failByOperator,
  type OperatorActionDeps,
  retryByOperator,
  skipByOperator,
} from '../use-cases/operator-actions';

export interface OrchestrationApiDeps extends CompleteManualTaskDeps, OperatorActionDeps {
  store: OrderStore;
}

/** The operator actions on an item, by route. */
const ACTIONS = {
  'POST /orchestration/items/{itemId}/retry': retryByOperator,
  'POST /orchestration/items/{itemId}/skip': skipByOperator,
  'POST /orchestration/items/{itemId}/fail': failByOperator,
  'POST /orchestration/items/{itemId}/abort': abortByOperator,
} as const;

/**
 * The orchestration view and actions, for operators: GET /orchestration/orders/{orderId}/items returns
 * the order's plan as a graph; POST /orchestration/items/{itemId}/complete completes a manual task with
 * an optional JSON object of attributes; /retry, /skip and /fail act on an item in fallout, recording
 * who and why.
 */
export async function handleOrchestrationApi(
  deps: OrchestrationApiDeps,
  event: APIGatewayProxyEventV2,
): Promise<APIGatewayProxyStructuredResultV2> {
  try {
    const caller = requireRole(callerOf(event), 'operator');
    refuseUndeclaredQuery(event, orchestrationRoutes);
    if (event.routeKey === 'POST /orchestration/items/{itemId}/complete') {
      const itemId = pathId(event.pathParameters?.itemId, 'itemId');
      const body = event.body === undefined || event.body === '' ? {} : parseJsonBody(event);
      const attributes = manualTaskAttributes.safeParse(body);
      if (!attributes.success) {
        throw new ValidationError(
          problemsFrom(attributes.error.issues).map((p) => ({
            ...p,
            field: p.field ? `attributes.${p.field}` : 'body',
          })),
        );
      }
      const item = await completeManualTask(deps, itemId, attributes.data, actorOf(caller));
      return answer(itemView, 200, toItemView(item));
    }
    if (event.routeKey in ACTIONS) {
      const itemId = pathId(event.pathParameters?.itemId, 'itemId');
      const action = ACTIONS[event.routeKey as keyof typeof ACTIONS];
      const item = await action(deps, itemId, parseJsonBody(event), actorOf(caller));
      return answer(itemView, 200, toItemView(item));
    }
    if (event.routeKey === 'GET /orchestration/orders/{orderId}/items') {
      const orderId = pathId(event.pathParameters?.orderId, 'orderId');
      const detail = await deps.store.getOrderDetail(orderId);
      if (!detail) throw new NotFoundError(`no order with id "${orderId}"`);
      return answer(itemGraph, 200, toItemGraph(detail));
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
    queue: new SqsWorkQueue(sqs, requiredEnv('WORK_QUEUE_URL')),
    tasks: new StepFunctionsPlanTasks(stepFunctions),
    plans: new StepFunctionsPlanRunner(stepFunctions, jsonRecordEnv('PLAN_STATE_MACHINES')),
    catalog: bundledCatalog(),
    rules: new DynamoDbRetryRuleStore(dynamoDocuments, requiredEnv('CONFIGURATION_TABLE')),
    now: () => new Date(),
    telemetry,
  };
  return deps;
}

export const handler = lambdaHandler(
  (event: APIGatewayProxyEventV2) => handleOrchestrationApi(productionDeps(), event),
  { correlationIdPath: 'requestContext.requestId' },
);
