import { useState } from 'preact/hooks';
import { type Api, ApiError, query } from '../api';
import { ErrorNote, ReasonDialog, type ReasonRequest, Section, useSelection, When } from '../components';
import { usePoll } from '../poll';
import { href } from '../router';
import type { ItemView } from './order';

interface FalloutItem {
  id: string;
  orderId: string;
  itemKey: string;
  since: string;
  error?: string;
}

interface Outcome {
  itemId: string;
  ok: boolean;
  text: string;
}

/**
 * Items in fallout across orders, oldest first. An operator retries or skips some or all of them; each
 * gets its own result, and a retried item's system is read again first, so "retried" is not reported
 * for an item that went straight back On Hold behind a system that is Down.
 */
export function FalloutPage({ api }: { api: Api }) {
  const fallout = usePoll(
    async () =>
      (await api.get<{ items: FalloutItem[] }>(`/admin/fallout${query({ limit: 200 })}`)).body.items,
    [api],
  );
  const items = fallout.data ?? [];
  const selection = useSelection(items.map((i) => i.id));
  const [asking, setAsking] = useState<ReasonRequest | undefined>(undefined);
  const [outcomes, setOutcomes] = useState<Outcome[]>([]);
  const act = (action: 'retry' | 'skip') => {
    const chosen = items.filter((i) => selection.selected.has(i.id));
    setAsking({
      title: `${action === 'retry' ? 'Retry' : 'Skip'} ${chosen.length} item${chosen.length === 1 ? '' : 's'}`,
      label: action === 'retry' ? 'reason' : 'note',
      confirm: action === 'retry' ? 'Retry' : 'Skip',
      run: async (text) => {
        const results: Outcome[] = [];
        for (const item of chosen) results.push(await actOn(api, item, action, text));
        setOutcomes(results);
        selection.clear();
        await fallout.refresh();
      },
    });
  };
  return (
    <Section
      title="Fallout"
      actions={
        <>
          <button
            type="button"
            class="primary"
            disabled={selection.selected.size === 0}
            onClick={() => act('retry')}
          >
            Retry selected ({selection.selected.size})
          </button>
          <button type="button" disabled={selection.selected.size === 0} onClick={() => act('skip')}>
            Skip selected
          </button>
        </>
      }
    >
      <ErrorNote error={fallout.error} />
      {outcomes.length > 0 ? (
        <ul class="results" role="status" aria-label="Results">
          {outcomes.map((o) => (
            <li key={o.itemId} class={o.ok ? 'ok' : 'error'} data-result-for={o.itemId}>
              <span class="mono">{o.itemId}</span>: {o.text}
            </li>
          ))}
        </ul>
      ) : null}
      <table class="list" aria-label="Items in fallout">
        <thead>
          <tr>
            <th>
              <input
                type="checkbox"
                aria-label="Select all"
                checked={selection.all}
                onChange={selection.toggleAll}
              />
            </th>
            <th>Item</th>
            <th>Since</th>
            <th>Error</th>
          </tr>
        </thead>
        <tbody>
          {items.map((item) => (
            <tr key={item.id} data-fallout={item.id}>
              <td>
                <input
                  type="checkbox"
                  aria-label={`Select ${item.id}`}
                  checked={selection.selected.has(item.id)}
                  onChange={() => selection.toggle(item.id)}
                />
              </td>
              <td>
                <a href={href({ page: 'order', orderId: item.orderId, item: item.itemKey })} class="mono">
                  {item.itemKey}
                </a>
                <div class="muted mono">{item.orderId}</div>
              </td>
              <td>
                <When at={item.since} />
              </td>
              <td class="error-text">{item.error ?? ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {fallout.data && items.length === 0 ? <p class="muted">Nothing in fallout.</p> : null}
      {asking ? <ReasonDialog request={asking} onClose={() => setAsking(undefined)} /> : null}
    </Section>
  );
}

async function actOn(api: Api, item: FalloutItem, action: 'retry' | 'skip', text: string): Promise<Outcome> {
  try {
    await api.post(`/orchestration/items/${encodeURIComponent(item.id)}/${action}`, {
      [action === 'retry' ? 'reason' : 'note']: text,
    });
  } catch (error) {
    return { itemId: item.id, ok: false, text: error instanceof ApiError ? error.message : String(error) };
  }
  if (action === 'skip') return { itemId: item.id, ok: true, text: 'skipped: it counts as done' };
  return { itemId: item.id, ...(await afterRetry(api, item)) };
}

/** Where a retried item is now, with its system's state read again. */
async function afterRetry(api: Api, item: FalloutItem): Promise<{ ok: boolean; text: string }> {
  try {
    const graph = await api.get<{ items: ItemView[] }>(
      `/orchestration/orders/${encodeURIComponent(item.orderId)}/items`,
    );
    const now = graph.body.items.find((i) => i.key === item.itemKey);
    if (!now?.interfaceId) return { ok: true, text: `retried: ${now?.state ?? 'unknown'}` };
    const iface = await api.get<{ status: string; system: { id: string } }>(
      `/admin/system-interfaces/${encodeURIComponent(now.interfaceId)}`,
    );
    const system = await api.get<{ name: string; state: string }>(
      `/admin/systems/${encodeURIComponent(iface.body.system.id)}`,
    );
    if (system.body.state === 'Down')
      return {
        ok: false,
        text: `retried, but ${system.body.name} is Down: it waits On Hold until the system is Up`,
      };
    if (iface.body.status === 'Offline')
      return { ok: false, text: `retried, but interface ${now.interfaceId} is Offline: it waits On Hold` };
    if (now.state === 'FatallyFailed')
      return { ok: false, text: `retried and failed again: ${now.error ?? ''}` };
    return { ok: true, text: `retried: ${now.state}` };
  } catch (error) {
    return { ok: false, text: `retried; its state could not be read again: ${String(error)}` };
  }
}
