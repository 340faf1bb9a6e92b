import { CalloutError } from './errors';

/**
 * Integration adapters: how a callout's mapped request goes on the wire and how a system's answer comes
 * back as the JSON value its response mapping reads. Mapping (what to say) and adapting (how to say it)
 * stay apart, so a legacy XML system needs an adapter, never a different mapping language.
 */

/** The request as it leaves Switchboard: a body and the headers that describe it. */
export interface WireRequest {
  headers: Record<string, string>;
  body?: string;
  /**
   * A custom adapter's own path, with its query if it has one (`/orders/O-1/jobs?kind=install`), under the
   * system's base URL: it replaces the interface's path (expanded, in `CalloutCall.path`). Only a path: it
   * starts with one `/`, names no scheme or host and holds no `.` or `..` segment.
   */
  path?: string;
  /** Query parameters added to the URL (replacing any of the same name), each value percent-encoded. */
  query?: Record<string, string>;
}

/** A system's answer, as received. */
export interface WireResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface CalloutCall {
  /** The system interface being called. */
  interfaceId: string;
  method: string;
  /** The interface's path with its placeholders filled in (and its query), under the system's base URL. */
  path?: string;
  /** Asynchronous adapters: the statuses the interface says mean "accepted" (`acceptedStatuses`, default 202). */
  acceptedStatuses?: readonly number[];
}

/**
 * What an answer means, as a custom adapter's `classifyResponse` reads it:
 *
 * - `success`: the call is done; `body` is what the response mapping reads (absent: `decodeResponse`
 *   decodes the answer);
 * - `accepted`: the system took the request and answers later on the callback (asynchronous adapters
 *   only);
 * - `failure`: it failed, for `reason`. `retryable`: the retry rules decide as for a failed status —
 *   `status` if given (a `200` carrying `<busy/>` retried as the `503` it means), else the answer's own;
 *   not retryable: the attempt goes to fallout at once, as an answer that cannot be used.
 */
export type AnswerVerdict =
  | { outcome: 'success'; body?: unknown }
  | { outcome: 'accepted' }
  | { outcome: 'failure'; reason: string; retryable: boolean; status?: number };

/**
 * What a custom adapter implements: a TypeScript module in the catalog's `adapters/` folder whose default
 * export is this object; the file name is the adapter's name. The functions are pure; Switchboard does
 * the HTTP, the authentication, the limits and the idempotency key for every adapter alike.
 */
export interface CustomAdapter {
  /**
   * The system answers later, on the callback (as `async-rest`): each request carries a callback URL, and
   * an accepted answer leaves the item waiting for it. Read at synth (the catalog's checks) and by the
   * worker.
   */
  asynchronous?: true;
  /** Encodes the request mapping's result for the wire, with its content-type; and, if it must, its path. */
  encodeRequest(request: unknown, call: CalloutCall): WireRequest;
  /**
   * Decodes a 2xx answer into JSON for the response mapping. Throw an Error whose message says what was
   * wrong to fail the item (a legacy system that answers 200 with an error document, say).
   */
  decodeResponse(response: WireResponse, call: CalloutCall): unknown;
  /**
   * Says what any answer means — whatever its status, headers and body — when a status alone does not:
   * a legacy system's 200 with `<error>`, its 500 that means "already done". Without it a 2xx is a
   * success (an asynchronous adapter's accepted statuses: accepted), anything else a failed status.
   */
  classifyResponse?(response: WireResponse, call: CalloutCall): AnswerVerdict;
}

/** What a custom adapter module's default export must be: checked at synth, and where an adapter is defined. */
export function adapterShapeProblems(adapter: unknown): { field: string; message: string }[] {
  if (adapter === null || typeof adapter !== 'object')
    return [{ field: 'default', message: 'the default export must be the adapter object' }];
  const problems: { field: string; message: string }[] = [];
  const fields = adapter as Record<string, unknown>;
  for (const name of ['encodeRequest', 'decodeResponse'])
    if (typeof fields[name] !== 'function') problems.push({ field: name, message: 'must be a function' });
  if (fields.classifyResponse !== undefined && typeof fields.classifyResponse !== 'function')
    problems.push({ field: 'classifyResponse', message: 'must be a function, or absent' });
  if (fields.asynchronous !== undefined && fields.asynchronous !== true)
    problems.push({ field: 'asynchronous', message: 'must be true, or absent' });
  return problems;
}

/**
 * Sync REST: JSON out, JSON back, and a 2xx completes the item. (Async REST, which waits for a callback,
 * is another adapter with the same two functions and a different completion.)
 */
export const syncRest: CustomAdapter = {
  encodeRequest(request, call): WireRequest {
    if (call.method === 'GET' || call.method === 'DELETE') return { headers: {} };
    return { headers: { 'content-type': 'application/json' }, body: JSON.stringify(request) };
  },
  decodeResponse(response, call) {
    if (response.body.trim() === '') {
      // A DELETE may say no more than its status (a 204, or a 200 with nothing): that is its answer.
      if (call.method === 'DELETE') return null;
      throw new CalloutError(
        `answered ${response.status} with an empty body where JSON was expected`,
        response.status,
      );
    }
    try {
      return JSON.parse(response.body);
    } catch {
      throw new CalloutError(
        `answered ${response.status} with a body that is not JSON: ${JSON.stringify(response.body.slice(0, 120))}`,
        response.status,
      );
    }
  },
};

/**
 * Async REST: JSON out like sync REST; an accepted answer (202 unless the interface says otherwise)
 * leaves the item waiting for the system's callback, any other 2xx completes it at once.
 */
export const asyncRest: CustomAdapter = syncRest;

const customAdapters = new Map<string, CustomAdapter>();

/**
 * True for adapters whose final answer arrives later, on the callback: async-rest, and a custom adapter
 * registered here that says it is `asynchronous`. (Where no adapter code is bundled, the catalog says
 * it: catalog.ts, isAsynchronousInterface.)
 */
export const isAsyncAdapter = (name: string): boolean =>
  name === 'async-rest' || customAdapters.get(name)?.asynchronous === true;

/**
 * Registers a custom adapter under the name interfaces give as `adapter:`. The CDK app bundles a small
 * registration module for each file of the catalog's adapters folder into the worker (see
 * lib/constructs/custom-adapters.ts); tests register adapters directly.
 */
export function defineCustomAdapter(name: string, adapter: CustomAdapter): CustomAdapter {
  if (name === 'sync-rest' || name === 'async-rest') {
    throw new Error(`"${name}" is built in; give the custom adapter another name`);
  }
  const problems = adapterShapeProblems(adapter);
  if (problems.length > 0)
    throw new Error(
      `custom adapter "${name}" is not an adapter: ${problems.map((p) => `${p.field}: ${p.message}`).join('; ')}`,
    );
  customAdapters.set(name, adapter);
  return adapter;
}

/** The adapter an interface names, or a CalloutError saying it is not in this bundle. */
export function integrationAdapter(name: string): CustomAdapter {
  if (name === 'sync-rest') return syncRest;
  if (name === 'async-rest') return asyncRest;
  const adapter = customAdapters.get(name);
  if (!adapter) {
    throw new CalloutError(
      `integration adapter "${name}" is not in this bundle (expected catalog/adapters/${name}.ts with the adapter as its default export)`,
    );
  }
  return adapter;
}

/** Names of the custom adapters registered in this process. */
export const registeredCustomAdapters = (): string[] => [...customAdapters.keys()].sort();
