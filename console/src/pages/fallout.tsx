import { useState } from 'preact/hooks';
import { type Api, ApiError, query } from '../api';
import {
  ErrorNote,
  ItemTable,
  ReasonDialog,
  type ReasonRequest,
  Results,
  Section,
  useSelection,
  When,
} from '../components';
import { usePoll } from '../poll';
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
      <Results label="Results" results={outcomes} />
      <ItemTable
        label="Items in fallout"
        items={items}
        selection={selection}
        rowAttributes={(item) => ({ 'data-fallout': item.id })}
        columns={[
          { title: 'Since', cell: (item) => <When at={item.since} /> },
          { title: 'Error', cell: (item) => item.error ?? '', class: 'error-text' },
        ]}
      />
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
