import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { ForbiddenError, UnauthorizedError } from '../../lambdas/domain/errors';
import { rolesFromClaims } from '../../lambdas/domain/roles';
import { callerOf, requireRole } from '../../lambdas/shared/caller';

const eventWith = (claims?: Record<string, unknown>) =>
  ({
    requestContext: claims ? { authorizer: { jwt: { claims, scopes: null } } } : {},
  }) as unknown as APIGatewayProxyEventV2;

describe('rolesFromClaims', () => {
  it('reads Cognito groups as HTTP APIs pass them, as a bracketed string', () => {
    assert.deepEqual([...rolesFromClaims({ 'cognito:groups': '[operators submitters]' })].sort(), [
      'operator',
      'submitter',
    ]);
  });

  it('reads groups given as an array', () => {
    assert.deepEqual([...rolesFromClaims({ 'cognito:groups': ['operators'] })], ['operator']);
  });

  it('reads OAuth scopes of machine clients', () => {
    assert.deepEqual([...rolesFromClaims({ scope: 'switchboard/submit other/scope' })], ['submitter']);
    assert.deepEqual([...rolesFromClaims({ scope: 'switchboard/operate' })], ['operator']);
  });

  it('gives no role for unknown groups and scopes', () => {
    assert.equal(rolesFromClaims({ 'cognito:groups': '[admins]', scope: 'switchboard/everything' }).size, 0);
  });
});

describe('callerOf', () => {
  it('names a person by user name and a machine client by client id', () => {
    const person = callerOf(eventWith({ sub: 'u-1', username: 'ada', 'cognito:groups': '[operators]' }));
    assert.deepEqual({ id: person.id, name: person.name }, { id: 'u-1', name: 'ada' });
    const machine = callerOf(
      eventWith({ sub: 'c-1', client_id: 'order-capture', scope: 'switchboard/submit' }),
    );
    assert.deepEqual({ id: machine.id, name: machine.name }, { id: 'c-1', name: 'order-capture' });
  });

  it('refuses a request that passed no authorizer', () => {
    assert.throws(() => callerOf(eventWith()), UnauthorizedError);
    assert.throws(() => callerOf(eventWith({ username: 'no-subject' })), UnauthorizedError);
  });
});

describe('requireRole', () => {
  it('lets a caller with one of the roles through and refuses the rest', () => {
    const operator = callerOf(eventWith({ sub: 'u-1', 'cognito:groups': '[operators]' }));
    assert.equal(requireRole(operator, 'submitter', 'operator'), operator);
    assert.throws(() => requireRole(operator, 'submitter'), ForbiddenError);
  });
});
