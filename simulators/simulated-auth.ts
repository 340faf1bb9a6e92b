import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/**
 * How a simulated system makes its callers prove who they are, mirroring the auth profiles Switchboard
 * supports: an API key in a header, HTTP basic, a static bearer token, or OAuth 2.0 client credentials
 * (RFC 6749 §4.4) with the system acting as its own authorization server.
 */
export type SimulatedAuth =
  | { type: 'api-key'; header: string; apiKey: string }
  | { type: 'basic'; username: string; password: string }
  | { type: 'bearer'; token: string }
  | {
      type: 'oauth2';
      clientId: string;
      clientSecret: string;
      /** Lifetime of an access token (default one hour); fractions allowed so tests can watch one expire. */
      tokenTtlSeconds?: number;
      /** The scopes the client may be granted, space-separated (RFC 6749 §3.3); also the default grant. */
      scope?: string;
    };

export const TOKEN_PATH = '/oauth2/token';

/** What the gate answers instead of the route: a refusal, or the token endpoint's answer. */
export interface GateAnswer {
  status: number;
  body: unknown;
  headers: Record<string, string>;
}

export interface TokenRequest {
  method: string;
  headers: IncomingHttpHeaders;
  text: string;
}

export interface Gate {
  /** The refusal to send, or undefined when the request carries good credentials. */
  refuse(headers: IncomingHttpHeaders): GateAnswer | undefined;
  /** The token endpoint, present only for oauth2 systems. */
  tokenEndpoint?: (request: TokenRequest) => GateAnswer;
  /** Forgets every issued token, so a caller holding one in its cache meets a 401. */
  revokeTokens(): void;
}

const DEFAULT_TOKEN_TTL_SECONDS = 3600;

export function createGate(auth: SimulatedAuth | undefined, realm: string): Gate {
  if (!auth) return { refuse: () => undefined, revokeTokens: () => {} };
  switch (auth.type) {
    case 'api-key':
      return apiKeyGate(auth, realm);
    case 'basic':
      return basicGate(auth, realm);
    case 'bearer':
      return bearerGate(
        (token) => sameSecret(token, auth.token),
        realm,
        () => {},
      );
    case 'oauth2':
      return oauth2Gate(auth, realm);
  }
}

function apiKeyGate(auth: { header: string; apiKey: string }, realm: string): Gate {
  const header = auth.header.toLowerCase();
  const challenge = `ApiKey realm="${realm}", header="${header}"`;
  return {
    refuse(headers) {
      const presented = headers[header];
      if (typeof presented !== 'string' || presented === '')
        return unauthorized(challenge, 'credentials missing');
      return sameSecret(presented, auth.apiKey) ? undefined : unauthorized(challenge, 'credentials wrong');
    },
    revokeTokens: () => {},
  };
}

function basicGate(auth: { username: string; password: string }, realm: string): Gate {
  const challenge = `Basic realm="${realm}", charset="UTF-8"`;
  return {
    refuse(headers) {
      const pair = basicPair(headers.authorization, (s) => s);
      if (!pair) return unauthorized(challenge, 'credentials missing');
      // Both compared, always, so a wrong username takes as long as a wrong password.
      const userMatches = sameSecret(pair.user, auth.username);
      const passwordMatches = sameSecret(pair.password, auth.password);
      return userMatches && passwordMatches ? undefined : unauthorized(challenge, 'credentials wrong');
    },
    revokeTokens: () => {},
  };
}

function bearerGate(accepts: (token: string) => boolean, realm: string, revokeTokens: () => void): Gate {
  return {
    refuse(headers) {
      const token = credentialsOf(headers.authorization, 'bearer');
      // RFC 6750 §3.1: no error code when the request carried no token at all.
      if (!token) return unauthorized(`Bearer realm="${realm}"`, 'credentials missing');
      if (accepts(token)) return undefined;
      return unauthorized(
        `Bearer realm="${realm}", error="invalid_token"`,
        'token wrong, expired or revoked',
      );
    },
    revokeTokens,
  };
}

function oauth2Gate(auth: Extract<SimulatedAuth, { type: 'oauth2' }>, realm: string): Gate {
  const expiryByToken = new Map<string, number>();
  const ttlSeconds = auth.tokenTtlSeconds ?? DEFAULT_TOKEN_TTL_SECONDS;
  const grantable = new Set(scopesOf(auth.scope));
  const clientChallenge = `Basic realm="${realm}", charset="UTF-8"`;

  const accepts = (token: string) => {
    const expiresAt = expiryByToken.get(token);
    if (expiresAt === undefined) return false;
    if (Date.now() < expiresAt) return true;
    expiryByToken.delete(token);
    return false;
  };

  const tokenEndpoint = ({ method, headers, text }: TokenRequest): GateAnswer => {
    if (method !== 'POST') {
      return { status: 405, body: { error: 'invalid_request' }, headers: { allow: 'POST', ...NO_STORE } };
    }
    if (mediaTypeOf(headers['content-type']) !== 'application/x-www-form-urlencoded') {
      return tokenError(400, 'invalid_request', 'the body must be application/x-www-form-urlencoded');
    }
    const form = new URLSearchParams(text);
    const names = [...form.keys()];
    const repeated = names.find((name, i) => names.indexOf(name) !== i);
    // RFC 6749 §3.2: request parameters must not be included more than once.
    if (repeated) return tokenError(400, 'invalid_request', `${repeated} is given more than once`);

    const fromHeader = basicPair(headers.authorization, formDecode);
    const inBody = form.has('client_id') || form.has('client_secret');
    // RFC 6749 §2.3: a client must not use more than one authentication method in a request.
    if (fromHeader && inBody) {
      return tokenError(
        400,
        'invalid_request',
        'the client authenticated both in the header and in the body',
      );
    }
    const client = fromHeader
      ? { id: fromHeader.user, secret: fromHeader.password }
      : { id: form.get('client_id') ?? '', secret: form.get('client_secret') ?? '' };
    const idMatches = sameSecret(client.id, auth.clientId);
    const secretMatches = sameSecret(client.secret, auth.clientSecret);
    if (!idMatches || !secretMatches) {
      return {
        status: 401,
        body: { error: 'invalid_client', error_description: 'client authentication failed' },
        headers: { 'www-authenticate': clientChallenge, ...NO_STORE },
      };
    }

    const grantType = form.get('grant_type');
    if (!grantType) return tokenError(400, 'invalid_request', 'grant_type is required');
    if (grantType !== 'client_credentials') {
      return tokenError(400, 'unsupported_grant_type', `grant_type ${grantType} is not supported`);
    }
    const requested = scopesOf(form.get('scope') ?? undefined);
    const refused = grantable.size > 0 ? requested.filter((scope) => !grantable.has(scope)) : [];
    if (refused.length > 0) {
      return tokenError(400, 'invalid_scope', `scope ${refused.join(' ')} is not granted`);
    }
    const granted = requested.length > 0 ? requested : [...grantable];

    const token = randomBytes(32).toString('base64url');
    expiryByToken.set(token, Date.now() + ttlSeconds * 1000);
    return {
      status: 200,
      body: {
        access_token: token,
        token_type: 'Bearer',
        expires_in: ttlSeconds,
        ...(granted.length > 0 ? { scope: granted.join(' ') } : {}),
      },
      headers: NO_STORE,
    };
  };

  return { ...bearerGate(accepts, realm, () => expiryByToken.clear()), tokenEndpoint };
}

/** RFC 6749 §5.1: token answers must not be cached by anything between client and server. */
const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' };

function tokenError(status: number, error: string, description: string): GateAnswer {
  return { status, body: { error, error_description: description }, headers: NO_STORE };
}

function unauthorized(challenge: string, message: string): GateAnswer {
  return {
    status: 401,
    body: { error: 'unauthorized', message },
    headers: { 'www-authenticate': challenge },
  };
}

function credentialsOf(authorization: string | undefined, scheme: string): string | undefined {
  const match = /^(\S+)\s+(\S.*)$/.exec(authorization?.trim() ?? '');
  return match && match[1]?.toLowerCase() === scheme ? match[2] : undefined;
}

function basicPair(
  authorization: string | undefined,
  decode: (part: string) => string,
): { user: string; password: string } | undefined {
  const encoded = credentialsOf(authorization, 'basic');
  if (!encoded) return undefined;
  const pair = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = pair.indexOf(':');
  if (colon < 0) return { user: decode(pair), password: '' };
  return { user: decode(pair.slice(0, colon)), password: decode(pair.slice(colon + 1)) };
}

/** RFC 6749 §2.3.1 form-encodes the client id and secret before they go into the basic header. */
function formDecode(part: string): string {
  try {
    return decodeURIComponent(part.replaceAll('+', ' '));
  } catch {
    return part;
  }
}

function scopesOf(scope: string | undefined): string[] {
  return (scope ?? '').split(' ').filter((s) => s !== '');
}

/** The media type of a content-type header, lower-cased and without parameters. */
export function mediaTypeOf(contentType: string | undefined): string | undefined {
  return contentType?.split(';')[0]?.trim().toLowerCase() || undefined;
}

/** Compares secrets in constant time; hashing first evens out their lengths. */
function sameSecret(presented: string, expected: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(presented), digest(expected));
}
