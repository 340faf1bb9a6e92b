import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { hubList, hubView, registeredHub } from '../contract/hub';
import { ConflictError, NotFoundError } from '../domain/errors';
import {
  hubCreateSchema,
  type ListenerRecord,
  newListener,
  toHub,
  toRegisteredHub,
} from '../domain/listener';
import { TMF622_BASE_PATH } from '../domain/order-view';
import { actorOf, type Caller, readsAllOrders } from '../domain/roles';
import type { ListenerStore } from '../ports/listener-store';
import { requireRole } from '../shared/caller';
import { answer, parseJsonBody, parseWith } from '../shared/http';
import { pathId } from '../shared/ids';

export interface HubDeps {
  listeners: ListenerStore;
  now: () => Date;
}

/** The most listeners one caller may register. */
export const MAX_LISTENERS_PER_OWNER = 20;

/** Who may see and remove a listener: the one who registered it, and operators. */
const mayManage = (caller: Caller, listener: ListenerRecord) =>
  listener.owner.id === caller.id || caller.roles.has('operator');

/**
 * TMF622's hub: POST registers a listener (submitters, readers, operators) and answers its secret, once;
 * GET /{id} reads one and DELETE /{id} removes it — its owner, or an operator; GET lists the caller's own
 * (an operator's, every listener). A listener receives the events of the orders its owner may read.
 */
export async function handleHubRoute(
  deps: HubDeps,
  event: APIGatewayProxyEventV2,
  caller: Caller,
): Promise<APIGatewayProxyStructuredResultV2 | undefined> {
  const base = `${TMF622_BASE_PATH}/hub`;
  switch (event.routeKey) {
    case `POST ${base}`: {
      requireRole(caller, 'submitter', 'reader', 'operator');
      const body = parseWith(hubCreateSchema, parseJsonBody(event));
      // Every event reads every listener: one registrant may not make that read grow without end.
      const own = await deps.listeners.list({ ownerId: caller.id });
      if (own.length >= MAX_LISTENERS_PER_OWNER)
        throw new ConflictError(
          `you have ${own.length} listeners, the most one caller may have; remove one (DELETE /hub/{id}) first`,
        );
      const listener = newListener(body, actorOf(caller), readsAllOrders(caller), deps.now().toISOString());
      await deps.listeners.create(listener);
      const hub = toRegisteredHub(listener);
      return answer(registeredHub, 201, hub, { location: hub.href });
    }
    case `GET ${base}`: {
      requireRole(caller, 'submitter', 'reader', 'operator');
      const all = await deps.listeners.list(caller.roles.has('operator') ? {} : { ownerId: caller.id });
      return answer(
        hubList,
        200,
        all.map((listener) => toHub(listener)),
        { 'x-result-count': String(all.length) },
      );
    }
    case `GET ${base}/{id}`:
    case `DELETE ${base}/{id}`: {
      requireRole(caller, 'submitter', 'reader', 'operator');
      const id = pathId(event.pathParameters?.id, 'id');
      const listener = await deps.listeners.get(id);
      // Another's listener is answered as one that does not exist: its id tells nothing.
      if (!listener || !mayManage(caller, listener)) throw new NotFoundError(`no hub with id "${id}"`);
      if (event.routeKey.startsWith('GET')) return answer(hubView, 200, toHub(listener));
      await deps.listeners.remove(id);
      return { statusCode: 204 };
    }
    default:
      return undefined;
  }
}
