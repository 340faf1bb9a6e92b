import { systemUrl, wireUrl } from './callout';
import { BUILT_IN_ADAPTERS, type SystemInterface } from './catalog';
import { CalloutError } from './errors';
import { integrationAdapter, type WireRequest } from './integration-adapters';
import type { HttpStep, Procedure } from './procedure';

/**
 * How a procedure's HTTP step reaches its system: the interface it goes through and the request it
 * sends. Apart from the step language (procedure.ts), which needs neither systems nor callouts, so the
 * catalog can hold procedures without the two depending on each other.
 */

/**
 * The interface a step to a system's method and path stands for (one naming an interface uses that
 * interface's): always Online, synchronous REST, named `<procedure>.<step>`.
 */
export function pathInterface(procedure: Pick<Procedure, 'id'>, step: HttpStep): SystemInterface {
  return {
    id: `${procedure.id}.${step.id}`,
    system: step.system ?? '',
    method: step.method ?? 'POST',
    path: step.path ?? '/',
    adapter: 'sync-rest',
    status: 'Online',
    timeoutSeconds: step.timeoutSeconds ?? 30,
  };
}

/**
 * What an HTTP step sends, before credentials: its interface's method and path under the system's base
 * URL, JSON in and out, the idempotency key, and the interface's timeout. The worker and the preview
 * both send this.
 */
export function stepRequest(
  baseUrl: string,
  iface: Pick<SystemInterface, 'method' | 'path' | 'timeoutSeconds'>,
  body: unknown,
  idempotencyKey: string,
) {
  return {
    method: iface.method,
    url: systemUrl(baseUrl, iface.path),
    headers: {
      accept: 'application/json',
      'idempotency-key': idempotencyKey,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    } as Record<string, string>,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    timeoutMs: iface.timeoutSeconds * 1000,
  };
}

/**
 * What an HTTP step sends through its interface's adapter: JSON for the built-in ones (stepRequest), or
 * the step's body encoded by a custom adapter — its content, its headers, and its own path if it gives one
 * — with the idempotency key; `encoded` is what went on the wire, when an adapter changed its form. A
 * CalloutError names the adapter when it cannot encode the body, or gives a path that is no path.
 */
export function encodedStepRequest(
  baseUrl: string,
  iface: Pick<SystemInterface, 'id' | 'method' | 'path' | 'timeoutSeconds' | 'adapter'>,
  body: unknown,
  idempotencyKey: string,
): { request: ReturnType<typeof stepRequest>; encoded?: string } {
  if ((BUILT_IN_ADAPTERS as readonly string[]).includes(iface.adapter))
    return { request: stepRequest(baseUrl, iface, body, idempotencyKey) };
  let wire: WireRequest;
  try {
    wire = integrationAdapter(iface.adapter).encodeRequest(body, {
      interfaceId: iface.id,
      method: iface.method,
      path: iface.path,
    });
  } catch (error) {
    if (error instanceof CalloutError) throw error;
    throw new CalloutError(
      `adapter "${iface.adapter}" could not encode the request: ${(error as Error).message}`,
    );
  }
  const headers: Record<string, string> = { accept: 'application/json' };
  for (const [name, value] of Object.entries(wire.headers)) headers[name.toLowerCase()] = value;
  headers['idempotency-key'] = idempotencyKey;
  return {
    request: {
      method: iface.method,
      url: wireUrl(baseUrl, iface.path, wire, iface.adapter),
      headers,
      ...(wire.body !== undefined ? { body: wire.body } : {}),
      timeoutMs: iface.timeoutSeconds * 1000,
    },
    ...(wire.body !== undefined ? { encoded: wire.body } : {}),
  };
}
