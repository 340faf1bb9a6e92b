import type { ClientTls, HttpClient, HttpRequest } from '../ports/http-client';
import type { SecretStore } from '../ports/secret-store';
import { type AuthProfile, credentialSchemas } from './auth-profile';
import { CalloutError } from './errors';

/** A token is used until this long before it expires, so a call never leaves with one about to lapse. */
const EXPIRY_MARGIN_MS = 30_000;
/** A token endpoint that gives no `expires_in` gets its tokens reused this long (and refetched on a 401). */
const DEFAULT_TOKEN_LIFETIME_MS = 300_000;
const TOKEN_TIMEOUT_MS = 10_000;

export interface Credentialed {
  headers: Record<string, string>;
  /** Mutual TLS: what the request's handshake presents and trusts (an `mtls` profile). */
  tls?: ClientTls;
  /** Everything secret in the headers and the TLS material, for the caller to scrub from what it keeps. */
  secrets: string[];
}

/**
 * The request as it goes on the wire: with the profile's credential headers, and under mutual TLS its
 * client certificate. Only the wire sees these; what is stored is the request without them.
 */
export function withCredentials(request: HttpRequest, credentialed: Credentialed): HttpRequest {
  return {
    ...request,
    headers: { ...request.headers, ...credentialed.headers },
    ...(credentialed.tls ? { tls: credentialed.tls } : {}),
  };
}

/**
 * Replaces every occurrence of a secret in a text with `***`, also as it appears escaped inside JSON
 * (a quote or backslash escaped, a slash written `\/`), since systems echo credentials in JSON bodies.
 */
export function scrubSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  const forms = new Set<string>();
  for (const secret of secrets) {
    // Short values would mangle ordinary text and are no secret worth the name.
    if (secret.length < 4) continue;
    const escaped = JSON.stringify(secret).slice(1, -1);
    for (const form of [secret, escaped, escaped.replaceAll('/', '\\/')]) forms.add(form);
  }
  // Longest first, so a secret's escaped form is not half-replaced through a shorter one inside it.
  for (const form of [...forms].sort((x, y) => y.length - x.length)) out = out.split(form).join('***');
  return out;
}

/**
 * Like scrubSecrets, for a JSON value: every string (keys included) is scrubbed, and a number that is a
 * secret (a PIN) becomes `***`. A value with nothing to scrub comes back as it was.
 */
export function scrubJson<T>(value: T, secrets: readonly string[]): T {
  if (value === undefined || secrets.length === 0) return value;
  const text = JSON.stringify(value);
  if (scrubSecrets(text, secrets) === text) return value;
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return scrubSecrets(v, secrets);
    if (typeof v === 'number') return scrubSecrets(String(v), secrets) === String(v) ? v : '***';
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === 'object') {
      return Object.fromEntries(
        Object.entries(v).map(([k, inner]) => [scrubSecrets(k, secrets), walk(inner)]),
      );
    }
    return v;
  };
  return walk(value) as T;
}

interface CachedToken {
  value: string;
  expiresAt: number;
}

/**
 * Turns a system's auth profile into the headers (or, for mutual TLS, the client certificate) that prove
 * who Switchboard is. OAuth2 tokens are kept per profile until shortly before they expire and fetched once
 * however many callouts need one at that moment. Credentials only ever go into headers and the TLS
 * handshake: every error text is scrubbed of them, and callers store requests without them.
 */
export class Authenticator {
  private readonly tokens = new Map<string, Promise<CachedToken>>();

  constructor(
    private readonly secrets: SecretStore,
    private readonly http: HttpClient,
    private readonly now: () => Date,
  ) {}

  /**
   * The headers a callout to a system with this profile carries (and its TLS material under mutual TLS),
   * and the secret strings in them, which the caller scrubs from anything it keeps (a system may echo a
   * credential in an error body).
   */
  async headers(profile: AuthProfile | undefined, systemBaseUrl: string): Promise<Credentialed> {
    if (!profile || profile.type === 'none') return { headers: {}, secrets: [] };
    switch (profile.type) {
      case 'api-key': {
        const { apiKey } = await this.credentials(profile, 'api-key');
        return { headers: { [profile.header.toLowerCase()]: apiKey }, secrets: [apiKey] };
      }
      case 'basic': {
        const { username, password } = await this.credentials(profile, 'basic');
        const encoded = Buffer.from(`${username}:${password}`).toString('base64');
        return { headers: { authorization: `Basic ${encoded}` }, secrets: [encoded, password] };
      }
      case 'bearer': {
        const { token } = await this.credentials(profile, 'bearer');
        return { headers: { authorization: `Bearer ${token}` }, secrets: [token] };
      }
      case 'oauth2-client-credentials': {
        const token = await this.token(profile, systemBaseUrl);
        return { headers: { authorization: `Bearer ${token.value}` }, secrets: [token.value] };
      }
      case 'mtls': {
        const { certificate, privateKey, caBundle, passphrase } = await this.credentials(profile, 'mtls');
        return {
          headers: {},
          tls: {
            profileId: profile.id,
            certificate,
            privateKey,
            ...(passphrase !== undefined ? { passphrase } : {}),
            ...(caBundle !== undefined ? { caBundle } : {}),
          },
          // The key and its passphrase must never be seen; the certificate is public, and scrubbed too, so
          // that an answer echoing it keeps none of the profile's material.
          secrets: [privateKey, certificate, ...(passphrase !== undefined ? [passphrase] : [])],
        };
      }
    }
  }

  /**
   * After a 401: forgets the profile's cached token. True when a fresh credential may help (OAuth2),
   * so the caller fetches one and tries once more; a static key that was refused is refused again.
   */
  renew(profile: AuthProfile | undefined, systemBaseUrl: string): boolean {
    if (profile?.type !== 'oauth2-client-credentials') return false;
    this.tokens.delete(tokenCacheKey(profile, systemBaseUrl));
    return true;
  }

  private async credentials<T extends keyof typeof credentialSchemas>(
    profile: AuthProfile,
    type: T,
  ): Promise<ReturnType<(typeof credentialSchemas)[T]['parse']>> {
    let raw: Record<string, unknown>;
    try {
      raw = await this.secrets.credentials(profile.id);
    } catch (error) {
      throw new CalloutError(
        `credentials of auth profile "${profile.id}" are unavailable: ${(error as Error).message}`,
      );
    }
    const parsed = credentialSchemas[type].safeParse(raw);
    if (!parsed.success) {
      // Field names, and what is wrong where the schema says so in its own words: never the values.
      const fields = parsed.error.issues
        .map((i) => {
          const field = i.path.join('.') || '(the secret)';
          return i.code === 'custom' ? `${field} (${i.message})` : field;
        })
        .join(', ');
      throw new CalloutError(
        `the secret of auth profile "${profile.id}" (${type}) is missing or has invalid fields: ${fields}`,
      );
    }
    return parsed.data as ReturnType<(typeof credentialSchemas)[T]['parse']>;
  }

  private async token(
    profile: Extract<AuthProfile, { type: 'oauth2-client-credentials' }>,
    systemBaseUrl: string,
  ): Promise<CachedToken> {
    // A token path resolves per system, so one profile shared by two systems holds a token for each.
    const key = tokenCacheKey(profile, systemBaseUrl);
    const cached = this.tokens.get(key);
    if (cached) {
      const token = await cached.catch(() => undefined);
      if (token && token.expiresAt - EXPIRY_MARGIN_MS > this.now().getTime()) return token;
      if (this.tokens.get(key) === cached) this.tokens.delete(key);
    }
    let pending = this.tokens.get(key);
    if (!pending) {
      pending = this.fetchToken(profile, systemBaseUrl);
      this.tokens.set(key, pending);
      // A failed fetch is not kept: the next callout tries again.
      pending.catch(() => {
        if (this.tokens.get(key) === pending) this.tokens.delete(key);
      });
    }
    return pending;
  }

  private async fetchToken(
    profile: Extract<AuthProfile, { type: 'oauth2-client-credentials' }>,
    systemBaseUrl: string,
  ): Promise<CachedToken> {
    const { clientId, clientSecret } = await this.credentials(profile, 'oauth2-client-credentials');
    const url = tokenUrlOf(profile, systemBaseUrl);
    const form = new URLSearchParams({ grant_type: 'client_credentials' });
    if (profile.scope) form.set('scope', profile.scope);
    const clientAuth = Buffer.from(
      `${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`,
    ).toString('base64');
    const scrub = (text: string) =>
      scrubSecrets(text, [clientAuth, clientSecret, encodeURIComponent(clientSecret), clientId]);
    const fail = (why: string) =>
      new CalloutError(`OAuth2 token for auth profile "${profile.id}" from ${url}: ${scrub(why)}`);
    const requestedAt = this.now().getTime();
    let answer: Awaited<ReturnType<HttpClient['send']>>;
    try {
      answer = await this.http.send({
        method: 'POST',
        url,
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
          authorization: `Basic ${clientAuth}`,
        },
        body: form.toString(),
        timeoutMs: TOKEN_TIMEOUT_MS,
      });
    } catch (error) {
      throw fail((error as Error).message);
    }
    let body: { access_token?: unknown; expires_in?: unknown; error?: unknown } | undefined;
    try {
      body = JSON.parse(answer.body) as typeof body;
    } catch {
      body = undefined;
    }
    if (answer.status < 200 || answer.status >= 300) {
      throw fail(`answered ${answer.status}${typeof body?.error === 'string' ? ` (${body.error})` : ''}`);
    }
    if (typeof body?.access_token !== 'string' || body.access_token === '') {
      throw fail('the answer has no access_token');
    }
    const lifetimeMs =
      typeof body.expires_in === 'number' && body.expires_in > 0
        ? body.expires_in * 1000
        : DEFAULT_TOKEN_LIFETIME_MS;
    return { value: body.access_token, expiresAt: requestedAt + lifetimeMs };
  }
}

type OAuth2Profile = Extract<AuthProfile, { type: 'oauth2-client-credentials' }>;

function tokenUrlOf(profile: OAuth2Profile, systemBaseUrl: string): string {
  if (!profile.tokenUrl.startsWith('/')) return profile.tokenUrl;
  return new URL(profile.tokenUrl.slice(1), systemBaseUrl.endsWith('/') ? systemBaseUrl : `${systemBaseUrl}/`)
    .href;
}

const tokenCacheKey = (profile: OAuth2Profile, systemBaseUrl: string) =>
  `${profile.id} ${tokenUrlOf(profile, systemBaseUrl)}`;
