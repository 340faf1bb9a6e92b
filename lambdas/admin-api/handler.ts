import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { DynamoDbConfigurationStore } from '../adapters/dynamodb-configuration-store';
import { DynamoDbListenerStore } from '../adapters/dynamodb-listener-store';
import { DynamoDbOrderStore } from '../adapters/dynamodb-order-store';
import { DynamoDbOrderWatch } from '../adapters/dynamodb-order-watch';
import { DynamoDbRetryRuleStore } from '../adapters/dynamodb-retry-rule-store';
import { EventBridgeAvailabilityEvents } from '../adapters/eventbridge-availability-events';
import { EventBridgeMaintenanceScheduler } from '../adapters/eventbridge-maintenance-scheduler';
import { SqsDeadLetters } from '../adapters/sqs-dead-letters';
import { SqsWorkQueue } from '../adapters/sqs-work-queue';
import { adminRoutes } from '../contract/admin';
import {
  adminPageQuery,
  cancelledMaintenanceWindow,
  changedSystem,
  changedSystemInterface,
  deadLetterQueueList,
  deletedRetryRule,
  falloutPage,
  heldItemPage,
  jeopardyList,
  listenerList,
  listenerView,
  maintenanceWindow,
  maintenanceWindowList,
  offeringList,
  redriveRequestSchema,
  redriveResult,
  releaseRequestSchema,
  releaseResults,
  releaseStarted,
  retryRule,
  retryRuleList,
  systemDetail as systemDetailView,
  systemInterfaceView,
  systemList,
} from '../contract/admin-schemas';
import type { AuthProfile } from '../domain/auth-profile';
import { interfaceStatusRequestSchema, systemStateRequestSchema } from '../domain/availability';
import { type Catalog, isAsynchronousInterface } from '../domain/catalog';
import { ConflictError, NotFoundError, ValidationError } from '../domain/errors';
import { type ListenerRecord, toListenerView } from '../domain/listener';
import { toOfferingViews } from '../domain/offering-view';
import { DEFAULT_RETRY_RULE } from '../domain/retry-rules';
import { actorOf } from '../domain/roles';
import { asksForConfiguration } from '../domain/runtime-configuration';
import { changeView, toInterfaceView, toSystemDetailView, toSystemView } from '../domain/system-view';
import type { InterfaceRecord, MaintenanceWindow, SystemRecord } from '../ports/configuration-store';
import type { DeadLetters } from '../ports/dead-letters';
import type { ListenerStore } from '../ports/listener-store';
import type { OrderStore } from '../ports/order-store';
import type { OrderWatch } from '../ports/order-watch';
import type { Telemetry } from '../ports/telemetry';
import type { WorkQueue } from '../ports/work-queue';
import { dynamoDocuments, eventBridge, scheduler, sqs } from '../shared/aws-clients';
import { bundledCatalog } from '../shared/bundled-catalog';
import { callerOf, requireRole } from '../shared/caller';
import { jsonRecordEnv, requiredEnv } from '../shared/env';
import { etagOf, parseIfMatch } from '../shared/etag';
import { lambdaHandler } from '../shared/handler';
import { answer, errorResponse, parseJsonBody, parseWith } from '../shared/http';
import { pathId } from '../shared/ids';
import { logger } from '../shared/logger';
import { telemetry } from '../shared/observability';
import { refuseUndeclaredQuery } from '../shared/query';
import { changeInterfaceStatus, changeSystemState } from '../use-cases/change-availability';
import { checkIfMatch, reconfigureInterface, reconfigureSystem } from '../use-cases/change-configuration';
import { parseItemId } from '../use-cases/complete-manual-task';
import {
  cancelMaintenanceWindow,
  type MaintenanceDeps,
  planMaintenanceWindow,
} from '../use-cases/maintenance-windows';
import { releaseChosenItems } from '../use-cases/release-held-items';
import { putRetryRule, type RetryRuleDeps } from '../use-cases/retry-rules';

export interface AdminApiDeps extends MaintenanceDeps, RetryRuleDeps {
  catalog: Catalog;
  deadLetters: DeadLetters;
  /** The hub's listeners: operators see how their deliveries go, and resume a paused one. */
  listeners: ListenerStore;
  /** The orders with a due date: operators see the ones in jeopardy. */
  watch: Pick<OrderWatch, 'inJeopardy'>;
  store: OrderStore;
  queue: WorkQueue;
  /** Counts the held items an operator releases by hand. */
  telemetry: Telemetry;
}

/** The most history entries a system or interface view shows. */
const HISTORY_SHOWN = 50;

/** Routes submitters may use too: what an order must hold is theirs to know. Every other is operators'. */
const FOR_SUBMITTERS_TOO = new Set(['GET /admin/offerings']);

/**
 * The admin API, for operators: systems and system interfaces as they are now, with their history and
 * their ETag; taking them Down/Offline and back (PUT /admin/systems/{systemId}/state, PATCH
 * /admin/system-interfaces/{interfaceId} with a status); changing their runtime configuration (PATCH
 * /admin/systems/{systemId}, PATCH /admin/system-interfaces/{interfaceId} with configuration fields,
 * both JSON merge patches under If-Match); their held items and releasing them; maintenance windows; and
 * what waits in the dead-letter queues (GET /admin/dead-letters); and the catalog's offerings with the
 * characteristics each takes (GET /admin/offerings, for submitters too).
 */
export async function handleAdminApi(
  deps: AdminApiDeps,
  event: APIGatewayProxyEventV2,
): Promise<APIGatewayProxyStructuredResultV2> {
  try {
    const caller = FOR_SUBMITTERS_TOO.has(event.routeKey)
      ? requireRole(callerOf(event), 'operator', 'submitter')
      : requireRole(callerOf(event), 'operator');
    refuseUndeclaredQuery(event, adminRoutes);
    const by = actorOf(caller);
    const profileOf = (id: string | undefined) => (id ? deps.catalog.authProfiles[id] : undefined);
    const systemId = () => pathId(event.pathParameters?.systemId, 'systemId');
    const interfaceId = () => pathId(event.pathParameters?.interfaceId, 'interfaceId');
    switch (event.routeKey) {
      case 'GET /admin/systems': {
        const systems = await deps.config.listSystems();
        return answer(
          systemList,
          200,
          systems.map((s) => toSystemView(s, profileOf(s.authProfile))),
          { 'x-total-count': String(systems.length), 'x-result-count': String(systems.length) },
        );
      }
      case 'GET /admin/systems/{systemId}': {
        const id = systemId();
        const system = await deps.config.getSystem(id);
        if (!system) throw new NotFoundError(`no system with id "${id}"`);
        return answer(
          systemDetailView,
          200,
          await systemDetail(deps, system, profileOf(system.authProfile)),
          {
            etag: etagOf(system.revision),
          },
        );
      }
      case 'PATCH /admin/systems/{systemId}': {
        const id = systemId();
        const body = parseMergePatch(event);
        const result = await reconfigureSystem(deps, id, body, { by, ifMatch: ifMatchOf(event) });
        return answer(
          changedSystem,
          200,
          {
            changed: result.changed,
            ...(await systemDetail(deps, result.system, profileOf(result.system.authProfile))),
          },
          { etag: etagOf(result.system.revision) },
        );
      }
      case 'PUT /admin/systems/{systemId}/state': {
        const id = systemId();
        const body = parseWith(systemStateRequestSchema, parseJsonBody(event));
        const result = await changeSystemState(deps, id, body.state, {
          by,
          reason: body.reason,
          cause: 'operator',
          ...(body.releaseHeld === undefined ? {} : { releaseHeld: body.releaseHeld }),
        });
        if (!result) throw new NotFoundError(`no system with id "${id}"`);
        return answer(changedSystem, 200, {
          changed: result.changed,
          ...(await systemDetail(deps, result.system, profileOf(result.system.authProfile))),
        });
      }
      case 'GET /admin/system-interfaces/{interfaceId}': {
        const id = interfaceId();
        const iface = await deps.config.getInterface(id);
        if (!iface) throw new NotFoundError(`no system interface with id "${id}"`);
        return answer(systemInterfaceView, 200, await interfaceDetail(deps, iface), {
          etag: etagOf(iface.revision),
        });
      }
      case 'PATCH /admin/system-interfaces/{interfaceId}': {
        const id = interfaceId();
        const raw = parseMergePatch(event);
        const ifMatch = ifMatchOf(event);
        if (asksForConfiguration(raw)) {
          const result = await reconfigureInterface(deps, id, raw, { by, ifMatch });
          return answer(
            changedSystemInterface,
            200,
            { changed: result.changed, ...(await interfaceDetail(deps, result.iface)) },
            { etag: etagOf(result.iface.revision) },
          );
        }
        // A status change, as it always was: If-Match is checked when it is sent, not required.
        const body = parseWith(interfaceStatusRequestSchema, raw);
        if (ifMatch) {
          const current = await deps.config.getInterface(id);
          if (!current) throw new NotFoundError(`no system interface with id "${id}"`);
          checkIfMatch(ifMatch, current, `system interface "${id}"`);
        }
        const result = await changeInterfaceStatus(deps, id, body.status, {
          by,
          reason: body.reason,
          cause: 'operator',
          ...(body.releaseHeld === undefined ? {} : { releaseHeld: body.releaseHeld }),
        });
        if (!result) throw new NotFoundError(`no system interface with id "${id}"`);
        return answer(
          changedSystemInterface,
          200,
          { changed: result.changed, ...(await interfaceDetail(deps, result.iface)) },
          { etag: etagOf(result.iface.revision) },
        );
      }
      case 'GET /admin/systems/{systemId}/on-hold-items': {
        const id = systemId();
        if (!(await deps.config.getSystem(id))) throw new NotFoundError(`no system with id "${id}"`);
        return await heldPage(deps, event, { systemId: id });
      }
      case 'GET /admin/system-interfaces/{interfaceId}/on-hold-items': {
        const id = interfaceId();
        const iface = await deps.config.getInterface(id);
        if (!iface) throw new NotFoundError(`no system interface with id "${id}"`);
        return await heldPage(deps, event, { systemId: iface.system, interfaceId: id });
      }
      case 'POST /admin/systems/{systemId}/release': {
        const id = systemId();
        const body = parseWith(releaseRequestSchema, event.body ? parseJsonBody(event) : {});
        const system = await deps.config.getSystem(id);
        if (!system) throw new NotFoundError(`no system with id "${id}"`);
        if (system.state === 'Down') {
          throw new ConflictError(
            `system "${id}" is Down; held items are released only while it is available`,
          );
        }
        const request = {
          systemId: id,
          releaseId: randomUUID(),
          reason: `released by ${by.name} (${by.id})${body.reason ? `: ${body.reason}` : ''}`,
        };
        if (!body.itemIds) {
          await deps.events.requestRelease(request);
          return answer(releaseStarted, 202, {
            releaseId: request.releaseId,
            systemId: id,
            status: 'started',
          });
        }
        const parsed = body.itemIds.map((itemId, i) => {
          try {
            return parseItemId(itemId);
          } catch {
            throw new ValidationError([{ field: `itemIds.${i}`, message: 'is not an item id' }]);
          }
        });
        // The same id twice is one item.
        const chosen = parsed.filter(
          (item, i) => parsed.findIndex((o) => o.orderId === item.orderId && o.key === item.key) === i,
        );
        const results = await releaseChosenItems(deps, request, chosen);
        return answer(releaseResults, 200, {
          releaseId: request.releaseId,
          systemId: id,
          results: results.map((r) => ({ itemId: `${r.orderId}.${r.key}`, result: r.result })),
        });
      }
      case 'GET /admin/systems/{systemId}/maintenance-windows': {
        const id = systemId();
        if (!(await deps.config.getSystem(id))) throw new NotFoundError(`no system with id "${id}"`);
        const windows = await deps.config.maintenanceWindows(id);
        return answer(maintenanceWindowList, 200, windows.map(windowView), {
          'x-result-count': String(windows.length),
        });
      }
      case 'POST /admin/systems/{systemId}/maintenance-windows': {
        const window = await planMaintenanceWindow(deps, systemId(), parseJsonBody(event), by);
        return answer(maintenanceWindow, 201, windowView(window), { location: windowView(window).href });
      }
      case 'DELETE /admin/systems/{systemId}/maintenance-windows/{windowId}': {
        const windowId = pathId(event.pathParameters?.windowId, 'windowId');
        const window = await cancelMaintenanceWindow(deps, systemId(), windowId);
        return answer(cancelledMaintenanceWindow, 200, { ...windowView(window), cancelled: true });
      }
      case 'GET /admin/fallout': {
        // Items in fallout across orders, oldest first: what waits for an operator's retry, skip or fail.
        const query = parseWith(adminPageQuery, event.queryStringParameters ?? {});
        const page = await deps.store.listFallout({
          limit: query.limit,
          ...(query.after ? { after: query.after } : {}),
        });
        const items = page.items.map((item) => ({
          id: `${item.orderId}.${item.key}`,
          orderId: item.orderId,
          itemKey: item.key,
          since: item.since,
          ...(item.error ? { error: item.error } : {}),
          actions: ['retry', 'skip', 'fail'].map((action) => ({
            action,
            href: `/orchestration/items/${item.orderId}.${item.key}/${action}`,
          })),
        }));
        return answer(
          falloutPage,
          200,
          { items, ...(page.next ? { next: page.next } : {}) },
          {
            'x-result-count': String(items.length),
          },
        );
      }
      case 'GET /admin/retry-rules': {
        const rules = await deps.rules.list();
        return answer(
          retryRuleList,
          200,
          { rules, defaultRule: DEFAULT_RETRY_RULE },
          { 'x-result-count': String(rules.length) },
        );
      }
      case 'GET /admin/retry-rules/{ruleId}': {
        const id = pathId(event.pathParameters?.ruleId, 'ruleId');
        const rule = await deps.rules.get(id);
        if (!rule) throw new NotFoundError(`no retry rule with id "${id}"`);
        return answer(retryRule, 200, rule);
      }
      case 'PUT /admin/retry-rules/{ruleId}': {
        const id = pathId(event.pathParameters?.ruleId, 'ruleId');
        const { created, rule } = await putRetryRule(deps, id, parseJsonBody(event), by);
        return answer(
          retryRule,
          created ? 201 : 200,
          rule,
          created ? { location: `/admin/retry-rules/${id}` } : {},
        );
      }
      case 'DELETE /admin/retry-rules/{ruleId}': {
        const id = pathId(event.pathParameters?.ruleId, 'ruleId');
        const removed = await deps.rules.remove(id);
        if (!removed) throw new NotFoundError(`no retry rule with id "${id}"`);
        return answer(deletedRetryRule, 200, { ...removed, deleted: true });
      }
      case 'GET /admin/offerings': {
        // From the bundled catalog: offerings are configuration, changed by a deploy, not at runtime.
        const offerings = toOfferingViews(deps.catalog);
        return answer(offeringList, 200, offerings, {
          'x-total-count': String(offerings.length),
          'x-result-count': String(offerings.length),
        });
      }
      case 'GET /admin/dead-letters': {
        // Messages no consumer could process (a work item, a callback, an event delivery): each waits
        // here for an operator.
        return answer(deadLetterQueueList, 200, await deps.deadLetters.counts());
      }
      case 'POST /admin/dead-letters/{queue}/redrive': {
        const queue = pathId(event.pathParameters?.queue, 'queue');
        if (!deps.deadLetters.redrivable.includes(queue))
          throw new NotFoundError(
            `dead letters of "${queue}" are not sent back by hand (these are: ${deps.deadLetters.redrivable.join(', ') || 'none'})`,
          );
        const { max } = parseWith(redriveRequestSchema, event.body ? parseJsonBody(event) : {});
        return answer(redriveResult, 200, { queue, moved: await deps.deadLetters.redrive(queue, max) });
      }
      case 'GET /admin/jeopardy': {
        // The orders expected to miss their due date, or with an item that overruns: longest first.
        const orders = await deps.watch.inJeopardy();
        return answer(
          jeopardyList,
          200,
          orders.map((order) => ({ ...order, href: `/orchestration/orders/${order.id}/items` })),
          { 'x-result-count': String(orders.length) },
        );
      }
      case 'GET /admin/listeners': {
        const listeners = await deps.listeners.list();
        return answer(listenerList, 200, listeners.map(toListenerView), {
          'x-result-count': String(listeners.length),
        });
      }
      case 'POST /admin/listeners/{listenerId}/resume': {
        const listenerId = pathId(event.pathParameters?.listenerId, 'listenerId');
        if (!(await deps.listeners.resume(listenerId)))
          throw new NotFoundError(`no listener with id "${listenerId}"`);
        logger.info('listener resumed', { listenerId, by: by.id });
        return answer(
          listenerView,
          200,
          toListenerView((await deps.listeners.get(listenerId)) as ListenerRecord),
        );
      }
      default:
        throw new NotFoundError(`no route ${event.routeKey}`);
    }
  } catch (error) {
    return errorResponse(error);
  }
}

/** The `If-Match` header, read (API Gateway passes headers in lower case). */
const ifMatchOf = (event: APIGatewayProxyEventV2) => parseIfMatch(event.headers?.['if-match']);

/** A JSON merge patch body (`application/merge-patch+json` or `application/json`); JSON Patch is refused by name. */
function parseMergePatch(event: APIGatewayProxyEventV2): unknown {
  const contentType = event.headers?.['content-type'] ?? '';
  if (/^application\/json-patch\+json\b/i.test(contentType))
    throw new ValidationError([
      {
        field: 'content-type',
        message: 'JSON Patch is not taken: send a JSON merge patch (application/merge-patch+json)',
      },
    ]);
  return parseJsonBody(event);
}

async function systemDetail(deps: AdminApiDeps, system: SystemRecord, profile: AuthProfile | undefined) {
  const [interfaces, history, windows] = await Promise.all([
    deps.config.interfacesOf(system.id),
    deps.config.history('system', system.id, HISTORY_SHOWN),
    deps.config.maintenanceWindows(system.id),
  ]);
  return {
    ...toSystemDetailView(system, interfaces, profile),
    history: history.map(changeView),
    maintenanceWindows: windows.map(windowView),
    onHoldItems: { href: `/admin/systems/${system.id}/on-hold-items` },
  };
}

async function interfaceDetail(deps: AdminApiDeps, iface: InterfaceRecord) {
  return {
    ...toInterfaceView(iface, isAsynchronousInterface(deps.catalog, iface)),
    history: (await deps.config.history('interface', iface.id, HISTORY_SHOWN)).map(changeView),
    onHoldItems: { href: `/admin/system-interfaces/${iface.id}/on-hold-items` },
  };
}

/** A page of held items, oldest first; `next` is the cursor for the page after. */
async function heldPage(
  deps: AdminApiDeps,
  event: APIGatewayProxyEventV2,
  scope: { systemId: string; interfaceId?: string },
) {
  const query = parseWith(adminPageQuery, event.queryStringParameters ?? {});
  const page = await deps.store.listHeldItems({
    ...scope,
    limit: query.limit,
    ...(query.after ? { after: query.after } : {}),
  });
  const items = page.items.map((held) => ({
    id: `${held.orderId}.${held.key}`,
    orderId: held.orderId,
    itemKey: held.key,
    systemId: held.hold.systemId,
    interfaceId: held.hold.interfaceId,
    since: held.hold.since,
    reason: held.hold.reason,
    ...(held.release ? { releasing: { releaseId: held.release.id, since: held.release.at } } : {}),
    href: `/orchestration/orders/${held.orderId}/items`,
  }));
  return answer(
    heldItemPage,
    200,
    { items, ...(page.next ? { next: page.next } : {}) },
    {
      'x-result-count': String(items.length),
    },
  );
}

function windowView(window: MaintenanceWindow) {
  return { ...window, href: `/admin/systems/${window.systemId}/maintenance-windows/${window.id}` };
}

let deps: AdminApiDeps | undefined;
/** Built on the first invocation, then kept for the life of the execution environment. */
function productionDeps(): AdminApiDeps {
  deps ??= {
    config: new DynamoDbConfigurationStore(dynamoDocuments, requiredEnv('CONFIGURATION_TABLE')),
    catalog: bundledCatalog(),
    deadLetters: new SqsDeadLetters(sqs, jsonRecordEnv('DEAD_LETTER_QUEUES'), jsonRecordEnv('REDRIVE_TO')),
    listeners: new DynamoDbListenerStore(dynamoDocuments, requiredEnv('CONFIGURATION_TABLE')),
    watch: new DynamoDbOrderWatch(dynamoDocuments, requiredEnv('ORDERS_TABLE')),
    store: new DynamoDbOrderStore(dynamoDocuments, requiredEnv('ORDERS_TABLE')),
    queue: new SqsWorkQueue(sqs, requiredEnv('WORK_QUEUE_URL')),
    rules: new DynamoDbRetryRuleStore(dynamoDocuments, requiredEnv('CONFIGURATION_TABLE')),
    events: new EventBridgeAvailabilityEvents(eventBridge, requiredEnv('EVENT_BUS_NAME')),
    scheduler: new EventBridgeMaintenanceScheduler(scheduler, {
      functionArn: requiredEnv('MAINTENANCE_FUNCTION_ARN'),
      roleArn: requiredEnv('MAINTENANCE_SCHEDULER_ROLE_ARN'),
      groupName: requiredEnv('MAINTENANCE_SCHEDULE_GROUP'),
      deadLetterQueueArn: requiredEnv('MAINTENANCE_DEAD_LETTER_QUEUE_ARN'),
    }),
    now: () => new Date(),
    telemetry,
  };
  return deps;
}

export const handler = lambdaHandler(
  (event: APIGatewayProxyEventV2) => handleAdminApi(productionDeps(), event),
  { correlationIdPath: 'requestContext.requestId' },
);
