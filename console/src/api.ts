/**
 * The console's one way to the API: same origin (the distribution forwards the API's paths), the
 * signed-in operator's bearer token, JSON both ways. An answer outside 2xx becomes an ApiError that
 * keeps the API's message and its problems by field, so forms can show each next to its field.
 */

export interface Problem {
  field: string;
  message: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly problems: Problem[] = [],
  ) {
    super(message);
    this.name = 'ApiError';
  }

  /** The message for one field, when the API named it. */
  problemAt(field: string): string | undefined {
    return this.problems.find((p) => p.field === field)?.message;
  }
}

export interface ApiAnswer<T> {
  body: T;
  headers: Headers;
}

/** Where tokens come from; `signedOut` is called when the API refuses the token (401). */
export interface TokenSource {
  token(): Promise<string | undefined>;
  signedOut(): void;
}

export function apiClient(tokens: TokenSource, fetchImpl: typeof fetch = (...a) => fetch(...a)) {
  async function call<T>(method: string, path: string, body?: unknown): Promise<ApiAnswer<T>> {
    const token = await tokens.token();
    const response = await fetchImpl(path, {
      method,
      headers: {
        accept: 'application/json',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    if (!response.ok) {
      if (response.status === 401) tokens.signedOut();
      const error = (parsed ?? {}) as { message?: unknown; problems?: unknown };
      const problems = Array.isArray(error.problems) ? (error.problems as Problem[]) : [];
      const message =
        typeof error.message === 'string' ? error.message : `${method} ${path} answered ${response.status}`;
      throw new ApiError(response.status, message, problems);
    }
    return { body: parsed as T, headers: response.headers };
  }
  return {
    get: <T>(path: string) => call<T>('GET', path),
    post: <T>(path: string, body?: unknown) => call<T>('POST', path, body),
    put: <T>(path: string, body: unknown) => call<T>('PUT', path, body),
    patch: <T>(path: string, body: unknown) => call<T>('PATCH', path, body),
    delete: <T>(path: string) => call<T>('DELETE', path),
  };
}

export type Api = ReturnType<typeof apiClient>;

/** The TMF622 order API's base path. */
export const ORDERS = '/tmf-api/productOrderingManagement/v5/productOrder';
export const CANCELLATIONS = '/tmf-api/productOrderingManagement/v5/cancelProductOrder';

/** A query string from the defined values only. */
export function query(params: Record<string, string | number | undefined>): string {
  const defined = Object.entries(params).filter(([, v]) => v !== undefined && v !== '');
  const pairs = defined.map(([k, v]): [string, string] => [k, String(v)]);
  return pairs.length === 0 ? '' : `?${new URLSearchParams(pairs)}`;
}

/** The cursor of the next page, from a listing's `Link: <…?after=…>; rel="next"`; none on the last page. */
export function nextCursor(link: string | null): string | undefined {
  const target = link ? /<([^>]+)>;\s*rel="next"/.exec(link)?.[1] : undefined;
  return target
    ? (new URL(target, 'https://switchboard.invalid').searchParams.get('after') ?? undefined)
    : undefined;
}
