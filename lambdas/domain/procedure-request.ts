import { systemUrl } from './callout';
import type { SystemInterface } from './catalog';
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
