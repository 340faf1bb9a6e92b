/**
 * Signing in. The console's config.json says how:
 * - `token` (the local runtime): the operator's bearer token from `.local/identities.json`, pasted in
 *   or handed over in the URL's fragment (`/console/#token=…`, which `npm start` prints);
 * - `cognito` (AWS): Cognito's hosted sign-in with the authorization code flow and PKCE; the access
 *   token goes to the API, the refresh token renews it.
 * Tokens live in sessionStorage: they end with the tab.
 */

export type SignInConfig =
  | { kind: 'token' }
  | { kind: 'cognito'; domain: string; clientId: string; redirectUri: string };

interface Stored {
  accessToken: string;
  refreshToken?: string;
  /** Epoch ms after which the access token is renewed first. */
  expiresAt?: number;
}

const KEY = 'switchboard.console.session';
const VERIFIER = 'switchboard.console.pkce';

export class Session {
  private stored: Stored | undefined;
  private readonly listeners = new Set<() => void>();
  /** The renewal under way: calls that need a token meanwhile wait for it rather than renew again. */
  private renewing: Promise<void> | undefined;

  constructor(
    readonly config: SignInConfig,
    private readonly storage: Storage = sessionStorage,
  ) {
    const raw = storage.getItem(KEY);
    this.stored = raw ? (JSON.parse(raw) as Stored) : undefined;
  }

  get signedIn(): boolean {
    return this.stored !== undefined;
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Signs in with a bearer token (the local runtime's identities). */
  useToken(token: string): void {
    this.save({ accessToken: token.trim() });
  }

  /**
   * Forgets the tokens here. With Cognito it also revokes the refresh token and ends the hosted UI's
   * session, so the next person at the desk is asked to sign in rather than let straight back in.
   */
  signOut(): void {
    const refreshToken = this.stored?.refreshToken;
    this.save(undefined);
    if (this.config.kind !== 'cognito') return;
    const { domain, clientId, redirectUri } = this.config;
    const revoked = refreshToken
      ? fetch(new URL('/oauth2/revoke', domain), {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ token: refreshToken, client_id: clientId }),
        }).catch(() => undefined)
      : Promise.resolve(undefined);
    void revoked.then(() => {
      const logout = new URL('/logout', domain);
      logout.search = new URLSearchParams({ client_id: clientId, logout_uri: redirectUri }).toString();
      location.assign(logout.toString());
    });
  }

  /** Forgets the tokens here only: the API refused them (expired or revoked), so sign in again. */
  expired(): void {
    this.save(undefined);
  }

  async token(): Promise<string | undefined> {
    const stored = this.stored;
    if (!stored) return undefined;
    if (this.config.kind === 'cognito' && stored.expiresAt && Date.now() > stored.expiresAt - 60_000) {
      const { refreshToken } = stored;
      if (!refreshToken) {
        this.expired();
        return undefined;
      }
      this.renewing ??= this.exchange(
        { grant_type: 'refresh_token', refresh_token: refreshToken },
        refreshToken,
      ).finally(() => {
        this.renewing = undefined;
      });
      await this.renewing;
    }
    return this.stored?.accessToken;
  }

  /** Sends the browser to Cognito's sign-in page, with a fresh PKCE verifier kept for the way back. */
  async startCognitoSignIn(): Promise<void> {
    if (this.config.kind !== 'cognito') return;
    const verifier = randomString(64);
    this.storage.setItem(VERIFIER, verifier);
    const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
    const url = new URL('/oauth2/authorize', this.config.domain);
    url.search = new URLSearchParams({
      response_type: 'code',
      client_id: this.config.clientId,
      redirect_uri: this.config.redirectUri,
      scope: 'openid email profile',
      code_challenge_method: 'S256',
      code_challenge: base64Url(new Uint8Array(digest)),
    }).toString();
    location.assign(url.toString());
  }

  /**
   * Finishes a sign-in the page came back with: a `token` in the fragment (local) or a Cognito `code` in
   * the query. Removes either from the address bar so it is not bookmarked or shared.
   */
  async completeSignIn(): Promise<void> {
    const handed = location.hash.startsWith('#token=')
      ? decodeURIComponent(location.hash.slice('#token='.length))
      : undefined;
    if (handed && this.config.kind === 'token') {
      this.useToken(handed);
      history.replaceState(null, '', `${location.pathname}#/orders`);
      return;
    }
    const code = new URLSearchParams(location.search).get('code');
    const verifier = this.storage.getItem(VERIFIER);
    if (code && verifier && this.config.kind === 'cognito') {
      this.storage.removeItem(VERIFIER);
      history.replaceState(null, '', `${location.pathname}#/orders`);
      await this.exchange({
        grant_type: 'authorization_code',
        code,
        redirect_uri: this.config.redirectUri,
        code_verifier: verifier,
      });
    }
  }

  private async exchange(grant: Record<string, string>, keepRefresh?: string): Promise<void> {
    if (this.config.kind !== 'cognito') return;
    const response = await fetch(new URL('/oauth2/token', this.config.domain), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ ...grant, client_id: this.config.clientId }),
    });
    if (!response.ok) {
      this.expired();
      return;
    }
    const tokens = (await response.json()) as {
      access_token: string;
      refresh_token?: string;
      expires_in: number;
    };
    const refreshToken = tokens.refresh_token ?? keepRefresh;
    this.save({
      accessToken: tokens.access_token,
      ...(refreshToken ? { refreshToken } : {}),
      expiresAt: Date.now() + tokens.expires_in * 1000,
    });
  }

  private save(stored: Stored | undefined): void {
    this.stored = stored;
    if (stored) this.storage.setItem(KEY, JSON.stringify(stored));
    else this.storage.removeItem(KEY);
    for (const listener of this.listeners) listener();
  }
}

function randomString(length: number): string {
  return base64Url(crypto.getRandomValues(new Uint8Array(length))).slice(0, length);
}

function base64Url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');
}
