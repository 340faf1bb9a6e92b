import { callbackUrl } from '../domain/callback';
import { callbackUrlLifetimeSeconds, issuingKey } from '../domain/callback-keys';
import type { SystemInterface } from '../domain/catalog';
import type { ItemRecord } from '../domain/orchestration';
import type { RunItemDeps } from './run-item-deps';

/**
 * The callback URL a request to an asynchronous interface carries, with the nonce of the request it
 * belongs to: valid on its own until the wait for its answer is over (past that, only while the item
 * still waits on it: receive-callback.ts). `proof` is a credential: it is scrubbed from all that is kept.
 */
export async function issueCallbackUrl(
  deps: Pick<RunItemDeps, 'callbacks' | 'now'>,
  item: Pick<ItemRecord, 'orderId' | 'key'>,
  iface: Pick<SystemInterface, 'timeoutSeconds' | 'asyncTimeoutSeconds'>,
  nonce: string,
): Promise<{ url: string; proof: string }> {
  const now = deps.now();
  return callbackUrl(
    deps.callbacks.baseUrl,
    issuingKey(await deps.callbacks.keys(), now),
    { orderId: item.orderId, itemKey: item.key, nonce },
    new Date(now.getTime() + callbackUrlLifetimeSeconds(iface) * 1000),
  );
}
