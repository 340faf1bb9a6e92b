/**
 * The roles Switchboard knows, and how a token proves one. A submitter submits orders and reads its
 * own; a reader reads every order (a reporting or service-desk client); an operator runs everything.
 */
export type Role = 'submitter' | 'reader' | 'operator';

/** Cognito groups that give people a role. */
export const GROUPS: Record<Role, string> = {
  submitter: 'submitters',
  reader: 'order-readers',
  operator: 'operators',
};

/** OAuth scopes (resource server `switchboard`) that give machine clients a role. */
export const SCOPES = {
  resourceServer: 'switchboard',
  submit: 'submit',
  readOrders: 'read-orders',
  operate: 'operate',
} as const;
const SCOPE_ROLES: Record<string, Role> = {
  [`${SCOPES.resourceServer}/${SCOPES.submit}`]: 'submitter',
  [`${SCOPES.resourceServer}/${SCOPES.readOrders}`]: 'reader',
  [`${SCOPES.resourceServer}/${SCOPES.operate}`]: 'operator',
};

/** Who made a request, as the API's authorizer proved it. Recorded with everything the caller changes. */
export interface Caller {
  /** The token's subject (a user's or a client's id). */
  id: string;
  /** A readable name: the user name, or the client id of a machine client. */
  name: string;
  roles: ReadonlySet<Role>;
}

/** What an audit record keeps of a caller. */
export interface Actor {
  id: string;
  name: string;
}

export const actorOf = (caller: Caller): Actor => ({ id: caller.id, name: caller.name });

/** True when the caller reads every order: operators and readers. A submitter reads only its own. */
export const readsAllOrders = (caller: Caller): boolean =>
  caller.roles.has('operator') || caller.roles.has('reader');

/**
 * True when the caller may read the order: every order for operators and readers, else only an order
 * it submitted. Another's order is answered as if it did not exist (404), so its id tells nothing.
 */
export const maySeeOrder = (caller: Caller, order: { submittedBy?: Actor }): boolean =>
  readsAllOrders(caller) || order.submittedBy?.id === caller.id;

/**
 * Reads the roles from JWT claims. HTTP APIs pass array claims as a string such as `[operators submitters]`;
 * lists may also arrive as real arrays. Scopes come space-separated in `scope`.
 */
export function rolesFromClaims(claims: Record<string, unknown>): Set<Role> {
  const roles = new Set<Role>();
  for (const group of listClaim(claims['cognito:groups'])) {
    for (const [role, name] of Object.entries(GROUPS) as [Role, string][])
      if (group === name) roles.add(role);
  }
  for (const scope of listClaim(claims.scope)) {
    const role = SCOPE_ROLES[scope];
    if (role) roles.add(role);
  }
  return roles;
}

function listClaim(value: unknown): string[] {
  if (Array.isArray(value)) return value.map(String);
  if (typeof value !== 'string') return [];
  return value
    .replace(/^\[|\]$/g, '')
    .split(/[\s,]+/)
    .filter(Boolean);
}
