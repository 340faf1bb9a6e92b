import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { RouteContract } from '../contract/route';
import { ValidationError } from '../domain/errors';

/**
 * Refuses, naming each, the query parameters of a request to a route whose contract declares no query:
 * a parameter that would be silently ignored (`fields` on a route that selects nothing, a misspelt
 * filter) is a client's mistake, told as every other. Routes with a query parse it with their schema.
 */
export function refuseUndeclaredQuery(event: APIGatewayProxyEventV2, routes: readonly RouteContract[]): void {
  const route = routes.find((r) => `${r.method} ${r.path}` === event.routeKey);
  if (route?.query) return;
  const names = Object.keys(event.queryStringParameters ?? {});
  if (names.length > 0)
    throw new ValidationError(
      names.map((field) => ({ field, message: 'is not a query parameter of this route' })),
    );
}
