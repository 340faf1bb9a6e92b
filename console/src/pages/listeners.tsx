import { useState } from 'preact/hooks';
import { type Api, ApiError } from '../api';
import { ErrorNote, Section, StateBadge, When } from '../components';
import { usePoll } from '../poll';

interface ListenerView {
  id: string;
  callback: string;
  query?: string;
  owner: { id: string; name: string };
  readsAll: boolean;
  state: 'active' | 'paused';
  failures?: number;
  lastFailure?: { at: string; reason: string };
  lastSuccessAt?: string;
  pausedAt?: string;
}

/**
 * The hub's listeners, as order capture registered them, and how their deliveries go: a listener that
 * keeps failing is paused and its deliveries wait in the dead-letter queue. An operator resumes it once
 * it is well, then sends the waiting deliveries back.
 */
export function ListenersPage({ api }: { api: Api }) {
  const listeners = usePoll(async () => (await api.get<ListenerView[]>('/admin/listeners')).body, [api]);
  const waiting = usePoll(
    async () =>
      (await api.get<{ queue: string; messages: number }[]>('/admin/dead-letters')).body.find(
        (q) => q.queue === 'deliveries',
      )?.messages ?? 0,
    [api],
  );
  const [note, setNote] = useState<{ ok: boolean; text: string } | undefined>(undefined);
  const run = async (work: () => Promise<string>) => {
    try {
      setNote({ ok: true, text: await work() });
    } catch (error) {
      setNote({ ok: false, text: error instanceof ApiError ? error.message : String(error) });
    }
    await Promise.all([listeners.refresh(), waiting.refresh()]);
  };
  const resume = (listener: ListenerView) =>
    run(async () => {
      await api.post(`/admin/listeners/${encodeURIComponent(listener.id)}/resume`);
      return `${listener.callback} resumed`;
    });
  const redrive = () =>
    run(async () => {
      const answer = await api.post<{ moved: number }>('/admin/dead-letters/deliveries/redrive', {});
      return `${answer.body.moved} deliveries sent back`;
    });
  const all = listeners.data ?? [];
  return (
    <Section
      title="Listeners"
      actions={
        <button type="button" disabled={!waiting.data} onClick={() => void redrive()}>
          Send back waiting deliveries ({waiting.data ?? 0})
        </button>
      }
    >
      <ErrorNote error={listeners.error ?? waiting.error} />
      {note ? (
        <p class={note.ok ? 'ok' : 'error'} role="status">
          {note.text}
        </p>
      ) : null}
      <table class="list" aria-label="Listeners">
        <thead>
          <tr>
            <th>Callback</th>
            <th>Registered by</th>
            <th>Filter</th>
            <th>State</th>
            <th>Failures in a row</th>
            <th>Last failure</th>
            <th>Last delivered after a failure</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {all.map((listener) => (
            <tr key={listener.id} data-listener={listener.id}>
              <td>{listener.callback}</td>
              <td>
                {listener.owner.name}
                {listener.readsAll ? <span class="muted"> (every order)</span> : null}
              </td>
              <td>{listener.query ?? <span class="muted">every event</span>}</td>
              <td>
                <StateBadge state={listener.state} kind="listener" />
                {listener.pausedAt ? (
                  <>
                    {' '}
                    since <When at={listener.pausedAt} />
                  </>
                ) : null}
              </td>
              <td>{listener.failures ?? 0}</td>
              <td>
                {listener.lastFailure ? (
                  <>
                    <When at={listener.lastFailure.at} />{' '}
                    <span class="error-text">{listener.lastFailure.reason}</span>
                  </>
                ) : (
                  <span class="muted">—</span>
                )}
              </td>
              <td>
                <When at={listener.lastSuccessAt} />
              </td>
              <td>
                {listener.state === 'paused' ? (
                  <button type="button" class="primary" onClick={() => void resume(listener)}>
                    Resume
                  </button>
                ) : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {listeners.data && all.length === 0 ? <p class="muted">No listener is registered.</p> : null}
    </Section>
  );
}
