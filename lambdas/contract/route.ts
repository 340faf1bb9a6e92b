import { z } from 'zod';
import type { Role } from '../domain/roles';
import { ID_PATTERN } from '../shared/ids';

/**
 * The API's contract, route by route: what each route takes (path parameters, query, headers, body) and
 * what it answers (each status with its body and headers), as zod schemas. The handlers validate their
 * requests with these same schemas, and `openApiDocument` (document.ts) turns them into the OpenAPI 3.1
 * document that `npm run openapi` writes and the stack publishes; the end-to-end tests check every
 * request and answer of the local runtime against that document.
 */

/** Named schemas: each becomes `#/components/schemas/<id>` in the document, referred to wherever used. */
export const contractSchemas = z.registry<{ id: string; description?: string }>();

/** Each name given, and the schema it names: a name given twice would silently lose one of them. */
const names = new Map<string, z.ZodType>();

/** The schema, registered under `id` (its name in the document's components); throws when the name is taken. */
export function named<T extends z.ZodType>(id: string, schema: T, description?: string): T {
  const before = names.get(id);
  if (before !== undefined && before !== schema) throw new Error(`two schemas are named ${id}`);
  names.set(id, schema);
  contractSchemas.add(schema, { id, ...(description ? { description } : {}) });
  return schema;
}

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** A header an answer carries: documented, and checked by the end-to-end tests where `required`. */
export interface HeaderContract {
  description: string;
  schema: z.ZodType;
  required?: boolean;
}

export interface AnswerContract {
  description: string;
  /** The body's schema; none for an answer without a body (204). */
  schema?: z.ZodType;
  headers?: Record<string, HeaderContract>;
  /** An example body, shown in the document (checked against `schema` by the unit tests). */
  example?: unknown;
}

/**
 * Error answers a route may give besides its own, each with the TMF630 error body (errors.ts). 401 and
 * 429 are API Gateway's own on the routes it guards and throttles, and are added to every route (401 but
 * to the callbacks, which no token guards: a callback route lists it when its proof is checked).
 */
export type ErrorStatus = 400 | 401 | 403 | 404 | 409 | 412 | 413 | 428;

/**
 * Who may call: the roles of a Cognito token (any one of them), or a fulfilment system calling back,
 * authorized by the proof its callback URL carries (and a Standard Webhooks signature where its
 * interface asks for one), or nobody in particular (a public document).
 */
export type Access = { roles: readonly Role[] } | 'callback';

export interface RouteContract {
  method: HttpMethod;
  /** The route's path as API Gateway declares it, `{name}` for a path parameter. */
  path: string;
  operationId: string;
  /** The group the route is listed under (the document's tags). */
  tag: string;
  summary: string;
  description?: string;
  access: Access;
  /** The path parameters, one property each (every `{name}` of the path). */
  params?: z.ZodObject;
  /**
   * The query parameters the route takes, any other refused with 400 naming it; on a route that declares
   * none, every parameter is refused so (shared/query.ts), but for the callbacks, whose URL is the
   * system's to call as it was given.
   */
  query?: z.ZodObject;
  /** Request headers the route reads (Idempotency-Key, If-Match), lower-case names. */
  headers?: Record<string, HeaderContract>;
  body?: {
    schema: z.ZodType;
    description?: string;
    /** The media types taken (default application/json). */
    contentTypes?: readonly string[];
    example?: unknown;
    /** False when the body may be left out (default true). */
    required?: boolean;
    /** Media types read with a schema of their own (a text body: XML, form fields), by type. */
    otherContent?: Record<string, { schema: z.ZodType; example?: unknown }>;
  };
  /** The answers of a request that was carried out (2xx), by status; none on a route that only refuses. */
  answers: Partial<Record<number, AnswerContract>>;
  /** The error statuses the route itself may answer, each with the TMF630 error body. */
  errors: readonly ErrorStatus[];
}

/** A route's contract, as written: checked once, when the document is built (document.ts). */
export const route = (contract: RouteContract): RouteContract => contract;

/** The `{name}` path parameter every identifier takes: what `pathId` accepts (shared/ids.ts). */
export const pathIdParam = (description: string) => z.string().regex(ID_PATTERN).describe(description);

/** `ETag` on a record that changes only under `If-Match`. */
export const ETAG_HEADER: HeaderContract = {
  description: "The record's revision; send it back in If-Match to change the record",
  schema: z.string().regex(/^(W\/)?"[^"]*"$/),
  required: true,
};

/** `If-Match` on a change that must be conditional: 428 without it, 412 when it is not the current ETag. */
export const IF_MATCH_HEADER: HeaderContract = {
  description: 'The ETag the change was made against; 428 when it is missing, 412 when it is stale',
  schema: z.string().min(1),
  required: true,
};

/** `X-Result-Count` of a list: how many entries the answer holds. */
export const RESULT_COUNT_HEADER: HeaderContract = {
  description: 'How many entries this page holds',
  schema: z.string().regex(/^\d+$/),
  required: true,
};

/** The headers of a list's page: how many it holds, and the link to the next one while there is one. */
export const PAGING_HEADERS: Record<string, HeaderContract> = {
  'x-result-count': RESULT_COUNT_HEADER,
  link: {
    description:
      'The next page, as `<path?…&after=…>; rel="next"`; absent on the last page. Follow it as it is: the cursor is opaque',
    schema: z.string().regex(/^<[^>]+>; rel="next"$/),
  },
};

/** `Location` of a resource just created. */
export const LOCATION_HEADER: HeaderContract = {
  description: 'The path of the resource created',
  schema: z.string().min(1),
  required: true,
};

/**
 * A notification Switchboard sends to a registered listener (OpenAPI's `webhooks`): the body it POSTs
 * and the headers that come with it.
 */
export interface WebhookContract {
  /** The event type, its name among the document's webhooks. */
  name: string;
  summary: string;
  description?: string;
  schema: z.ZodType;
  headers?: Record<string, HeaderContract>;
  example?: unknown;
}
