import type { Api } from '../api';
import { ErrorNote, Section, StateBadge, When } from '../components';
import { usePoll } from '../poll';
import { href } from '../routes';

interface JeopardyView {
  id: string;
  state: string;
  dueDate: string;
  expectedCompletionDate?: string;
  jeopardy?: { since: string; reasons: string[] };
  submittedBy?: { id: string; name: string };
}

/**
 * The orders expected to miss their due date, or with an item that overruns its expected duration,
 * longest in jeopardy first; each leads to its order, where the late item is.
 */
export function JeopardyPage({ api }: { api: Api }) {
  const orders = usePoll(async () => (await api.get<JeopardyView[]>('/admin/jeopardy')).body, [api]);
  const all = orders.data ?? [];
  return (
    <Section title="Orders in jeopardy">
      <ErrorNote error={orders.error} />
      <table class="list" aria-label="Orders in jeopardy">
        <thead>
          <tr>
            <th>Order</th>
            <th>State</th>
            <th>Due</th>
            <th>Expected</th>
            <th>In jeopardy since</th>
            <th>Why</th>
          </tr>
        </thead>
        <tbody>
          {all.map((order) => (
            <tr key={order.id} data-jeopardy={order.id}>
              <td>
                <a href={href({ page: 'order', orderId: order.id })}>{order.id}</a>
                {order.submittedBy ? <span class="muted"> {order.submittedBy.name}</span> : null}
              </td>
              <td>
                <StateBadge state={order.state} kind="order" />
              </td>
              <td>
                <When at={order.dueDate} />
              </td>
              <td>
                <When at={order.expectedCompletionDate} />
              </td>
              <td>
                <When at={order.jeopardy?.since} />
              </td>
              <td class="error-text">{order.jeopardy?.reasons.join('; ')}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {orders.data && all.length === 0 ? <p class="muted">No order is in jeopardy.</p> : null}
    </Section>
  );
}
