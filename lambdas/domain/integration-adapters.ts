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
}

/**
 * What a custom adapter implements: a TypeScript module in the catalog's `adapters/` folder whose default
 * export is this object; the file name is the adapter's name. Both functions are pure; Switchboard does
 * the HTTP, the authentication, the limits and the idempotency key for every adapter alike.
 */
export interface CustomAdapter {
  /** Encodes the request mapping's result for the wire, with its content-type. */
  encodeRequest(request: unknown, call: CalloutCall): WireRequest;
  /**
   * Decodes a 2xx answer into JSON for the response mapping. Throw an Error whose message says what was
   * wrong to fail the item (a legacy system that answers 200 with an error document, say).
   */
  decodeResponse(response: WireResponse, call: CalloutCall): unknown;
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

/** True for adapters whose final answer arrives later, on the callback. */
export const isAsyncAdapter = (name: string): boolean => name === 'async-rest';

const customAdapters = new Map<string, CustomAdapter>();

/**
 * Registers a custom adapter under the name interfaces give as `adapter:`. The CDK app bundles a small
 * registration module for each file of the catalog's adapters folder into the worker (see
 * lib/constructs/custom-adapters.ts); tests register adapters directly.
 */
export function defineCustomAdapter(name: string, adapter: CustomAdapter): CustomAdapter {
  if (name === 'sync-rest' || name === 'async-rest') {
    throw new Error(`"${name}" is built in; give the custom adapter another name`);
  }
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
