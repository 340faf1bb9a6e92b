import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { ForbiddenError, UnauthorizedError } from '../domain/errors';
import { type Caller, type Role, rolesFromClaims } from '../domain/roles';

/**
 * The caller of an API request, from the claims the API's JWT authorizer put in the request context —
 * on AWS (Cognito) and locally (the local runtime's identity file) alike. A request without claims did
 * not pass an authorizer: that is refused, never treated as anonymous.
 */
export function callerOf(event: APIGatewayProxyEventV2): Caller {
  const context = event.requestContext as APIGatewayProxyEventV2['requestContext'] & {
    authorizer?: { jwt?: { claims?: Record<string, unknown> } };
  };
  const claims = context.authorizer?.jwt?.claims;
  const id = claims?.sub;
  if (!claims || typeof id !== 'string' || id === '')
    throw new UnauthorizedError('the request carries no verified identity');
  const name = [claims.username, claims['cognito:username'], claims.client_id].find(
    (v) => typeof v === 'string',
  );
  return { id, name: (name as string | undefined) ?? id, roles: rolesFromClaims(claims) };
}

/** Refuses (403) a caller that has none of the roles. */
export function requireRole(caller: Caller, ...allowed: Role[]): Caller {
  if (!allowed.some((role) => caller.roles.has(role))) {
    throw new ForbiddenError(`this needs the ${allowed.join(' or ')} role`);
  }
  return caller;
}
