import { useState } from 'preact/hooks';
import { type Api, ApiError, nextCursor, ORDERS, query } from '../api';
import { ErrorNote, Section, StateBadge, When } from '../components';
import { usePoll } from '../poll';
import { href, replaceRoute } from '../router';
import { ORDER_STATES } from '../states';

export interface OrderSummary {
  id: string;
  state: string;
  externalId?: { id: string }[];
  creationDate: string;
  completionDate?: string;
  productOrderItem: { id: string; productOffering?: { id?: string; name?: string } }[];
}

const PAGE = 50;

/** Every order newest first, by state, or those found by an id or an external id. */
export function OrdersPage({ api, state, search }: { api: Api; state?: string; search?: string }) {
  const [typed, setTyped] = useState(search ?? '');
  // The cursors of the pages opened so far, newest page first: the API pages by cursor, never by count.
  const [cursors, setCursors] = useState<string[]>([]);
  const after = cursors.at(-1);
  const orders = usePoll(async () => {
    if (search) return findOrders(api, search, state);
    const answer = await api.get<OrderSummary[]>(`${ORDERS}${query({ state, after, limit: PAGE })}`);
    return { orders: answer.body, next: nextCursor(answer.headers.get('link')) };
  }, [api, state, search, after]);
  const submit = (event: Event) => {
    event.preventDefault();
    setCursors([]);
    replaceRoute({ page: 'orders', state, search: typed.trim() || undefined });
  };
  const next = orders.data?.next;
  return (
    <Section title="Orders">
      <form class="toolbar" onSubmit={submit} aria-label="Find orders">
        <label>
          State{' '}
          <select
            value={state ?? ''}
            onChange={(e) => {
              setCursors([]);
              replaceRoute({
                page: 'orders',
                state: (e.target as HTMLSelectElement).value || undefined,
                search,
              });
            }}
          >
            <option value="">all</option>
            {ORDER_STATES.map((s) => (
              <option value={s} key={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label>
          Order id or external id{' '}
          <input
            type="search"
            name="search"
            value={typed}
            onInput={(e) => setTyped((e.target as HTMLInputElement).value)}
            placeholder="e.g. CRM-10042"
          />
        </label>
        <button type="submit">Find</button>
      </form>
      <ErrorNote error={orders.error} />
      <table class="list">
        <thead>
          <tr>
            <th>Order</th>
            <th>External id</th>
            <th>Offerings</th>
            <th>State</th>
            <th>Submitted</th>
            <th>Completed</th>
          </tr>
        </thead>
        <tbody>
          {(orders.data?.orders ?? []).map((order) => (
            <tr key={order.id} data-order={order.id}>
              <td>
                <a href={href({ page: 'order', orderId: order.id })} class="mono">
                  {order.id}
                </a>
              </td>
              <td>{(order.externalId ?? []).map((e) => e.id).join(', ')}</td>
              <td>
                {[...new Set(order.productOrderItem.map((l) => l.productOffering?.id ?? '?'))].join(', ')}
              </td>
              <td>
                <StateBadge state={order.state} kind="order" />
              </td>
              <td>
                <When at={order.creationDate} />
              </td>
              <td>
                <When at={order.completionDate} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {orders.data && orders.data.orders.length === 0 ? (
        <p class="muted">No orders{search ? ` match "${search}"` : ''}.</p>
      ) : null}
      {!search && (next || cursors.length > 0) ? (
        <nav class="pager" aria-label="pages">
          <button
            type="button"
            disabled={cursors.length === 0}
            onClick={() => setCursors(cursors.slice(0, -1))}
          >
            Newer
          </button>
          <span>page {cursors.length + 1}</span>
          <button type="button" disabled={!next} onClick={() => next && setCursors([...cursors, next])}>
            Older
          </button>
        </nav>
      ) : null}
    </Section>
  );
}

/** An order with that id, and the orders submitted with that external id. */
async function findOrders(api: Api, search: string, state: string | undefined) {
  const [byId, byExternal] = await Promise.all([
    api.get<OrderSummary>(`${ORDERS}/${encodeURIComponent(search)}`).then(
      (answer) => [answer.body],
      (error: unknown) => {
        if (error instanceof ApiError && (error.status === 404 || error.status === 400)) return [];
        throw error;
      },
    ),
    api.get<OrderSummary[]>(`${ORDERS}${query({ 'externalId.id': search, state, limit: 100 })}`),
  ]);
  const orders = [...byId.filter((o) => !state || o.state === state), ...byExternal.body];
  return { orders, next: undefined };
}
