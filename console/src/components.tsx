import type { ComponentChildren, JSX } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from './api';
import { href } from './routes';
import { itemStyle, orderStyle } from './states';

export function StateBadge({
  state,
  kind = 'item',
}: {
  state: string;
  kind?: 'item' | 'order' | 'system' | 'listener';
}) {
  const style =
    kind === 'order'
      ? orderStyle(state)
      : kind === 'system' || kind === 'listener'
        ? { colour: ['Up', 'Online', 'active'].includes(state) ? '#25753a' : '#b02525', label: state }
        : itemStyle(state);
  return (
    <span class="badge" style={{ background: style.colour }} data-state={state}>
      {style.label}
    </span>
  );
}

/** A moment as the operator's clock shows it, with how long ago on hover. */
export function When({ at }: { at: string | undefined }) {
  if (!at) return <span class="muted">—</span>;
  const date = new Date(at);
  return (
    <time dateTime={at} title={at}>
      {date.toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'medium' })}
    </time>
  );
}

export function Json({ value }: { value: unknown }) {
  if (value === undefined) return <span class="muted">—</span>;
  return <pre class="json">{typeof value === 'string' ? value : JSON.stringify(value, null, 2)}</pre>;
}

export function ErrorNote({ error }: { error: unknown }) {
  if (!error) return null;
  const message = error instanceof Error ? error.message : String(error);
  return (
    <p class="error" role="alert">
      {error instanceof ApiError ? `${error.status}: ` : ''}
      {message}
    </p>
  );
}

export function Section({
  title,
  children,
  actions,
  focusOnOpen = false,
}: {
  title: string;
  children: ComponentChildren;
  actions?: ComponentChildren;
  /** Takes focus to its heading when it appears (a panel the operator just opened). */
  focusOnOpen?: boolean;
}) {
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    if (focusOnOpen) heading.current?.focus();
  }, [focusOnOpen]);
  return (
    <section class="panel">
      <header class="panel-head">
        {/* Focusable from script only: where a new page or a newly opened panel puts the operator. */}
        <h2 ref={heading} tabIndex={-1}>
          {title}
        </h2>
        {actions ? <div class="panel-actions">{actions}</div> : null}
      </header>
      {children}
    </section>
  );
}

export interface ReasonRequest {
  title: string;
  /** What the text is called in the request body (`reason`, or `note` for a skip). */
  label?: string;
  /** What the operator reads above the text box (default: Reason, kept with your name). */
  fieldText?: string;
  /** The text may be left empty. */
  optional?: boolean;
  /** What the text box holds when it opens (a line's characteristics to change). */
  initial?: string;
  confirm: string;
  /** Extra form content (a checkbox), shown above the reason. */
  extra?: ComponentChildren;
  /** Does the action; a thrown ApiError is shown in the dialog, next to the reason when it names it. */
  run: (reason: string) => Promise<void>;
}

/**
 * Asks for the reason an operator action needs, runs it and shows what the API said. A modal dialog:
 * focus moves into it, Escape closes it, and focus goes back where it was.
 */
export function ReasonDialog({ request, onClose }: { request: ReasonRequest; onClose: () => void }) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [reason, setReason] = useState(request.initial ?? '');
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    const element = dialog.current;
    if (element && !element.open) element.showModal();
  }, []);
  const field = request.label ?? 'reason';
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await request.run(reason);
      // Closed the dialog's own way, so focus goes back to what opened it; its close event ends it.
      dialog.current?.close();
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  };
  const fieldProblem = error instanceof ApiError ? error.problemAt(field) : undefined;
  return (
    <dialog ref={dialog} class="dialog" onClose={onClose} aria-labelledby="dialog-title">
      <form onSubmit={submit}>
        <h2 id="dialog-title">{request.title}</h2>
        {request.extra}
        <label>
          {request.fieldText ?? (
            <>
              {field === 'note' ? 'Note' : 'Reason'} <span class="muted">(kept with your name)</span>
            </>
          )}
          <textarea
            name={field}
            value={reason}
            onInput={(e) => setReason((e.target as HTMLTextAreaElement).value)}
            required={!request.optional}
            rows={request.initial ? 8 : 3}
            aria-invalid={fieldProblem ? 'true' : undefined}
            aria-describedby={fieldProblem ? 'reason-problem' : undefined}
          />
        </label>
        {fieldProblem ? (
          <p class="field-error" id="reason-problem">
            {fieldProblem}
          </p>
        ) : (
          <ErrorNote error={error} />
        )}
        <div class="dialog-actions">
          <button type="button" onClick={() => dialog.current?.close()}>
            Cancel
          </button>
          <button type="submit" class="primary" disabled={busy}>
            {request.confirm}
          </button>
        </div>
      </form>
    </dialog>
  );
}

/** A table's checkbox column: the rows an operator picked, kept across refreshes by id. */
export function useSelection(ids: string[]) {
  const [selected, setSelected] = useState<Set<string>>(new Set());
  // Rows that left the list (released, retried) leave the selection too, for good: one that comes back
  // later (in fallout again) comes back unticked.
  const present = new Set(ids);
  const kept = [...selected].filter((id) => present.has(id));
  useEffect(() => {
    if (kept.length !== selected.size) setSelected(new Set(kept));
  });
  const toggle = (id: string) => {
    const next = new Set(kept);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setSelected(next);
  };
  const all = ids.length > 0 && kept.length === ids.length;
  const toggleAll = () => setSelected(all ? new Set() : new Set(ids));
  return { selected: new Set(kept), toggle, toggleAll, all, clear: () => setSelected(new Set()) };
}

export type Selection = ReturnType<typeof useSelection>;

/**
 * Orchestration items an operator can pick for a bulk action (held items, fallout): a checkbox column
 * with "select all", the item with its order, and the page's own columns.
 */
export function ItemTable<T extends { id: string; orderId: string; itemKey: string }>({
  label,
  items,
  selection,
  columns,
  rowAttributes,
}: {
  label: string;
  items: T[];
  selection: Selection;
  columns: { title: string; cell: (item: T) => ComponentChildren; class?: string }[];
  rowAttributes: (item: T) => JSX.HTMLAttributes<HTMLTableRowElement> & Record<`data-${string}`, string>;
}) {
  return (
    <table class="list" aria-label={label}>
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
          {columns.map((column) => (
            <th key={column.title}>{column.title}</th>
          ))}
        </tr>
      </thead>
      <tbody>
        {items.map((item) => (
          <tr key={item.id} {...rowAttributes(item)}>
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
            {columns.map((column) => (
              <td key={column.title} class={column.class}>
                {column.cell(item)}
              </td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** What a bulk action did to each item: `result` is the API's word for it, where it gave one. */
export function Results({
  label,
  results,
}: {
  label: string;
  results: { itemId: string; text: string; ok: boolean; result?: string }[];
}) {
  if (results.length === 0) return null;
  return (
    <ul class="results" role="status" aria-label={label}>
      {results.map((r) => (
        <li key={r.itemId} class={r.ok ? 'ok' : 'error'} data-result-for={r.itemId} data-result={r.result}>
          <span class="mono">{r.itemId}</span>: {r.text}
        </li>
      ))}
    </ul>
  );
}
