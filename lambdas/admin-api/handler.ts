import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { DynamoDbConfigurationStore } from '../adapters/dynamodb-configuration-store';
import { SqsDeadLetters } from '../adapters/sqs-dead-letters';
import type { Catalog } from '../domain/catalog';
import { NotFoundError } from '../domain/errors';
import { toInterfaceView, toSystemView } from '../domain/system-view';
import type { ConfigurationStore } from '../ports/configuration-store';
import type { DeadLetters } from '../ports/dead-letters';
import { dynamoDocuments, sqs } from '../shared/aws-clients';
import { bundledCatalog } from '../shared/bundled-catalog';
import { callerOf, requireRole } from '../shared/caller';
import { jsonRecordEnv, requiredEnv } from '../shared/env';
import { errorResponse, json } from '../shared/http';
import { pathId } from '../shared/ids';

export interface AdminApiDeps {
  config: ConfigurationStore;
  catalog: Catalog;
  deadLetters: DeadLetters;
}

/**
 * The admin API, for operators: systems and system interfaces as they are now (GET /admin/systems,
 * /admin/systems/{systemId}, /admin/system-interfaces/{interfaceId}) and what waits in the dead-letter
 * queues (GET /admin/dead-letters).
 */
export async function handleAdminApi(
  deps: AdminApiDeps,
  event: APIGatewayProxyEventV2,
): Promise<APIGatewayProxyStructuredResultV2> {
  try {
    requireRole(callerOf(event), 'operator');
    const profileOf = (id: string | undefined) => (id ? deps.catalog.authProfiles[id] : undefined);
    switch (event.routeKey) {
      case 'GET /admin/systems': {
        const systems = await deps.config.listSystems();
        return json(
          200,
          systems.map((s) => toSystemView(s, undefined, profileOf(s.authProfile))),
          { 'x-total-count': String(systems.length), 'x-result-count': String(systems.length) },
        );
      }
      case 'GET /admin/systems/{systemId}': {
        const id = pathId(event.pathParameters?.systemId, 'systemId');
        const system = await deps.config.getSystem(id);
        if (!system) throw new NotFoundError(`no system with id "${id}"`);
        const interfaces = await deps.config.interfacesOf(id);
        return json(200, toSystemView(system, interfaces, profileOf(system.authProfile)));
      }
      case 'GET /admin/system-interfaces/{interfaceId}': {
        const id = pathId(event.pathParameters?.interfaceId, 'interfaceId');
        const iface = await deps.config.getInterface(id);
        if (!iface) throw new NotFoundError(`no system interface with id "${id}"`);
        return json(200, toInterfaceView(iface));
      }
      case 'GET /admin/dead-letters': {
        // Messages no consumer could process (a work item, a callback): each waits here for an operator.
        return json(200, await deps.deadLetters.counts());
      }
      default:
        throw new NotFoundError(`no route ${event.routeKey}`);
    }
  } catch (error) {
    return errorResponse(error);
  }
}

let deps: AdminApiDeps | undefined;
/** Built on the first invocation, then kept for the life of the execution environment. */
function productionDeps(): AdminApiDeps {
  deps ??= {
    config: new DynamoDbConfigurationStore(dynamoDocuments, requiredEnv('CONFIGURATION_TABLE')),
    catalog: bundledCatalog(),
    deadLetters: new SqsDeadLetters(sqs, jsonRecordEnv('DEAD_LETTER_QUEUES')),
  };
  return deps;
}

export const handler = (event: APIGatewayProxyEventV2) => handleAdminApi(productionDeps(), event);
