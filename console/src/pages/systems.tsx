import { Fragment } from 'preact';
import { useState } from 'preact/hooks';
import { type Api, ApiError, query } from '../api';
import {
  ErrorNote,
  ItemTable,
  ReasonDialog,
  type ReasonRequest,
  Results,
  Section,
  StateBadge,
  useSelection,
  When,
} from '../components';
import { usePoll } from '../poll';
import { href } from '../router';
import { fieldChangeText, limitsText, valueText } from '../text';

/** A change of a state or a status. */
interface StateChange {
  at: string;
  by: { id: string; name: string };
  reason: string;
  cause: string;
  from: string;
  to: string;
}

/** A change of configuration: by an operator, or by a deploy (which says why it dropped an override). */
interface ConfigurationChange {
  kind: 'configuration';
  at: string;
  by: { id: string; name: string };
  reason: string;
  cause: string;
  revision: number;
  changes: { field: string; from: unknown; to: unknown; note?: string }[];
}

type Change = StateChange | ConfigurationChange;

/** A field an operator changed at runtime: the catalog's value it replaces, who and when. */
interface Override {
  catalogValue: unknown;
  at: string;
  by: { id: string; name: string };
}
type Overrides = Record<string, Override>;

interface SystemSummary {
  id: string;
  name: string;
  baseUrl: string;
  state: 'Up' | 'Down';
  stateChange?: StateChange;
  limits: { maxConcurrentCallouts?: number; maxCalloutsPerSecond?: number };
  authProfile?: { id: string; type: string };
  revision: number;
  overrides: Overrides;
}

interface SystemDetail extends SystemSummary {
  circuitBreaker?: {
    failureThreshold: number;
    healthPath: string;
    probeIntervalSeconds: number;
    consecutiveFailures?: number;
  };
  interfaces: {
    id: string;
    method: string;
    path: string;
    adapter: string;
    status: 'Online' | 'Offline';
    statusChange?: StateChange;
  }[];
  history: Change[];
  maintenanceWindows: {
    id: string;
    start: string;
    end: string;
    reason: string;
    createdBy?: { name: string };
    startedAt?: string;
    endedAt?: string;
  }[];
}

interface HeldItem {
  id: string;
  orderId: string;
  itemKey: string;
  interfaceId?: string;
  since: string;
  reason: string;
  releasing?: { releaseId: string; since: string };
}

export function SystemsPage({ api }: { api: Api }) {
  const systems = usePoll(async () => (await api.get<SystemSummary[]>('/admin/systems')).body, [api]);
  return (
    <Section title="Systems">
      <ErrorNote error={systems.error} />
      <table class="list">
        <thead>
          <tr>
            <th>System</th>
            <th>State</th>
            <th>Since</th>
            <th>Why</th>
            <th>Limits</th>
            <th>Auth</th>
          </tr>
        </thead>
        <tbody>
          {(systems.data ?? []).map((system) => (
            <tr key={system.id} data-system={system.id}>
              <td>
                <a href={href({ page: 'system', systemId: system.id })}>{system.name}</a>{' '}
                <span class="muted mono">{system.id}</span>
              </td>
              <td>
                <StateBadge state={system.state} kind="system" />
              </td>
              <td>
                <When at={system.stateChange?.at} />
              </td>
              <td>{system.stateChange?.reason ?? ''}</td>
              <td>{limitsText(system.limits)}</td>
              <td>{system.authProfile?.type ?? 'none'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </Section>
  );
}

/**
 * An interface as GET /admin/system-interfaces/{id} shows it: the fields named here, and any other the
 * catalog has (shown as they come).
 */
interface InterfaceView {
  id: string;
  system: { id: string };
  status: 'Online' | 'Offline';
  statusChange?: StateChange;
  revision: number;
  overrides: Overrides;
  history: Change[];
  seededAt: string;
  updatedAt: string;
  [field: string]: unknown;
}

/**
 * One system: its state, configuration and interfaces with their toggles, limits, windows, history and
 * held items; and, when one is chosen, an interface with every field it has and its history.
 */
export function SystemPage({
  api,
  systemId,
  tab = 'overview',
  interfaceId,
}: {
  api: Api;
  systemId: string;
  tab?: string;
  interfaceId?: string | undefined;
}) {
  const system = usePoll(
    async () => (await api.get<SystemDetail>(`/admin/systems/${encodeURIComponent(systemId)}`)).body,
    [api, systemId],
  );
  const [asking, setAsking] = useState<ReasonRequest | undefined>(undefined);
  const [result, setResult] = useState<string | undefined>(undefined);
  const data = system.data;

  const toggleSystem = () => {
    if (!data) return;
    const to = data.state === 'Up' ? 'Down' : 'Up';
    let releaseHeld = true;
    setAsking({
      title: to === 'Down' ? `Take ${data.name} Down` : `Bring ${data.name} Up`,
      confirm: to === 'Down' ? 'Take Down' : 'Bring Up',
      extra:
        to === 'Up' ? (
          <label class="inline">
            <input
              type="checkbox"
              name="releaseHeld"
              defaultChecked
              onChange={(e) => {
                releaseHeld = (e.target as HTMLInputElement).checked;
              }}
            />{' '}
            Release its held items now (untick to release them yourself, a few at a time)
          </label>
        ) : null,
      run: async (reason) => {
        const answer = await api.put<SystemDetail & { changed: boolean }>(
          `/admin/systems/${encodeURIComponent(systemId)}/state`,
          { state: to, reason, ...(to === 'Up' && !releaseHeld ? { releaseHeld: false } : {}) },
        );
        setResult(
          `${answer.body.name} is ${answer.body.state}${answer.body.changed ? '' : ' (it was already)'}${to === 'Up' ? (releaseHeld ? '; its held items are being released' : '; its held items wait for your release') : ''}`,
        );
        await system.refresh();
      },
    });
  };

  const toggleInterface = (iface: SystemDetail['interfaces'][number]) => {
    const to = iface.status === 'Online' ? 'Offline' : 'Online';
    setAsking({
      title: `Take interface ${iface.id} ${to}`,
      confirm: to === 'Offline' ? 'Take Offline' : 'Bring Online',
      run: async (reason) => {
        const answer = await api.patch<{ id: string; status: string; changed: boolean }>(
          `/admin/system-interfaces/${encodeURIComponent(iface.id)}`,
          { status: to, reason },
        );
        setResult(
          `${answer.body.id} is ${answer.body.status}${answer.body.changed ? '' : ' (it was already)'}`,
        );
        await system.refresh();
      },
    });
  };

  const tabs = [
    ['overview', 'Overview'],
    ['on-hold', 'On hold'],
    ['history', 'History'],
  ] as const;
  return (
    <>
      <Section
        title={data ? `${data.name}` : systemId}
        actions={
          data ? (
            <>
              <StateBadge state={data.state} kind="system" />
              <button type="button" class={data.state === 'Up' ? 'danger' : 'primary'} onClick={toggleSystem}>
                {data.state === 'Up' ? 'Take Down' : 'Bring Up'}
              </button>
            </>
          ) : null
        }
      >
        <ErrorNote error={system.error} />
        {result ? (
          <p class="ok" role="status">
            {result}
          </p>
        ) : null}
        {data?.stateChange ? (
          <p>
            {data.state} since <When at={data.stateChange.at} /> — {data.stateChange.reason}{' '}
            <span class="muted">
              ({data.stateChange.by.name}, {data.stateChange.cause})
            </span>
          </p>
        ) : null}
        <nav class="tabs" aria-label={`${data?.name ?? systemId}: views`}>
          {tabs.map(([id, label]) => (
            <a
              key={id}
              aria-current={tab === id ? 'page' : undefined}
              class={tab === id ? 'tab active' : 'tab'}
              href={href({ page: 'system', systemId, tab: id })}
            >
              {label}
            </a>
          ))}
        </nav>
        {data && tab === 'overview' ? (
          <Overview system={data} onToggle={toggleInterface} api={api} refresh={system.refresh} />
        ) : null}
        {data && tab === 'history' ? <History changes={data.history} /> : null}
      </Section>
      {interfaceId ? (
        <InterfaceDetail
          key={interfaceId}
          api={api}
          systemId={systemId}
          interfaceId={interfaceId}
          tab={tab}
        />
      ) : null}
      {data && tab === 'on-hold' ? <OnHold api={api} system={data} /> : null}
      {asking ? <ReasonDialog request={asking} onClose={() => setAsking(undefined)} /> : null}
    </>
  );
}

function Overview({
  system,
  onToggle,
  api,
  refresh,
}: {
  system: SystemDetail;
  onToggle: (iface: SystemDetail['interfaces'][number]) => void;
  api: Api;
  refresh: () => Promise<void>;
}) {
  return (
    <>
      <dl class="facts" aria-label={`${system.name}: configuration`}>
        <dt>Base URL</dt>
        <dd class="mono" data-field="baseUrl">
          {system.baseUrl}
          <OverrideNotes overrides={system.overrides} fields={['baseUrl']} />
        </dd>
        <dt>Limits</dt>
        <dd data-field="limits">
          {limitsText(system.limits)}
          <OverrideNotes
            overrides={system.overrides}
            fields={['limits.maxConcurrentCallouts', 'limits.maxCalloutsPerSecond']}
          />
        </dd>
        <dt>Auth</dt>
        <dd>{system.authProfile ? `${system.authProfile.id} (${system.authProfile.type})` : 'none'}</dd>
        <dt>Circuit breaker</dt>
        <dd data-field="circuitBreaker">
          {system.circuitBreaker ? (
            <>
              Down after {system.circuitBreaker.failureThreshold} failures in a row (now{' '}
              {system.circuitBreaker.consecutiveFailures ?? 0}); probes{' '}
              <span class="mono">{system.circuitBreaker.healthPath}</span> every{' '}
              {system.circuitBreaker.probeIntervalSeconds} s
            </>
          ) : (
            'none'
          )}
          <OverrideNotes overrides={system.overrides} fields={['circuitBreaker']} />
        </dd>
        <dt>Configuration</dt>
        <dd data-field="revision">
          revision {system.revision}
          {Object.keys(system.overrides).length > 0
            ? `; changed at runtime: ${Object.keys(system.overrides).join(', ')}`
            : '; as the catalog has it'}
        </dd>
      </dl>
      <h3>Interfaces</h3>
      <table class="list">
        <thead>
          <tr>
            <th>Interface</th>
            <th>Call</th>
            <th>Adapter</th>
            <th>Status</th>
            <th>Why</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {system.interfaces.map((iface) => (
            <tr key={iface.id} data-interface={iface.id}>
              <td class="mono">
                <a href={href({ page: 'system', systemId: system.id, interfaceId: iface.id })}>{iface.id}</a>
              </td>
              <td class="mono">
                {iface.method} {iface.path}
              </td>
              <td>{iface.adapter}</td>
              <td>
                <StateBadge state={iface.status} kind="system" />
              </td>
              <td>{iface.statusChange?.reason ?? ''}</td>
              <td>
                <button type="button" onClick={() => onToggle(iface)}>
                  {iface.status === 'Online' ? 'Take Offline' : 'Bring Online'}
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <MaintenanceWindows system={system} api={api} refresh={refresh} />
    </>
  );
}

/** Changes newest first: of a state or a status (from → to), or of configuration (each field from → to). */
function History({ changes, label = 'History' }: { changes: Change[]; label?: string }) {
  if (changes.length === 0) return <p class="muted">No changes yet.</p>;
  return (
    <table class="list" aria-label={label}>
      <thead>
        <tr>
          <th>When</th>
          <th>Change</th>
          <th>Why</th>
          <th>Who</th>
        </tr>
      </thead>
      <tbody>
        {changes.map((change, i) => (
          <tr key={`${change.at}-${i}`} data-change={'kind' in change ? change.kind : 'availability'}>
            <td>
              <When at={change.at} />
            </td>
            <td>
              {'kind' in change ? (
                <ul class="changes">
                  {change.changes.map((c) => (
                    <li key={c.field} data-changed-field={c.field}>
                      <span class="mono">{fieldChangeText(c)}</span>
                      {c.note ? <span class="muted"> — {c.note}</span> : null}
                    </li>
                  ))}
                </ul>
              ) : (
                `${change.from} → ${change.to}`
              )}
            </td>
            <td>{change.reason}</td>
            <td>
              {change.by.name} <span class="muted">({change.cause})</span>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Says which of these fields an operator changed at runtime, and what the catalog has instead. */
function OverrideNotes({ overrides, fields }: { overrides: Overrides; fields: string[] }) {
  const notes = fields.flatMap((field) => {
    const override = overrides[field];
    return override ? [[field, override] as const] : [];
  });
  if (notes.length === 0) return null;
  return (
    <>
      {notes.map(([field, override]) => (
        <span key={field} class="override" data-override={field}>
          {field} changed at runtime by {override.by.name}, <When at={override.at} />; the catalog has{' '}
          <span class="mono">{valueText(override.catalogValue)}</span>
        </span>
      ))}
    </>
  );
}

/** What an interface shows elsewhere on its panel, or not as a field of its configuration. */
const NOT_FIELDS = new Set([
  'id',
  'system',
  'status',
  'statusChange',
  'revision',
  'overrides',
  'history',
  'seededAt',
  'updatedAt',
  'href',
  'onHoldItems',
]);

/** The fields an operator looks for first, in this order; any other follows, by name. */
const FIELD_ORDER = [
  'method',
  'path',
  'adapter',
  'timeoutSeconds',
  'acceptedStatuses',
  'asyncTimeoutSeconds',
  'callbackAuth',
  'mappings',
];
const fieldRank = (name: string) => {
  const rank = FIELD_ORDER.indexOf(name);
  return rank === -1 ? FIELD_ORDER.length : rank;
};

/**
 * One interface, every field of it as the API shows it — the ones this console knows and any the
 * catalog gains later, each read generically (an object of plain values as a list, anything deeper as
 * JSON) — with what operators changed at runtime, and its history.
 */
function InterfaceDetail({
  api,
  systemId,
  interfaceId,
  tab,
}: {
  api: Api;
  systemId: string;
  interfaceId: string;
  tab: string;
}) {
  const iface = usePoll(
    async () =>
      (await api.get<InterfaceView>(`/admin/system-interfaces/${encodeURIComponent(interfaceId)}`)).body,
    [api, interfaceId],
  );
  const data = iface.data;
  const fields = data
    ? Object.entries(data)
        .filter(([name]) => !NOT_FIELDS.has(name))
        .sort(([a], [b]) => fieldRank(a) - fieldRank(b) || a.localeCompare(b))
    : [];
  return (
    <Section
      title={`Interface ${interfaceId}`}
      focusOnOpen
      actions={
        <a class="button" href={href({ page: 'system', systemId, ...(tab === 'overview' ? {} : { tab }) })}>
          Close
        </a>
      }
    >
      <ErrorNote error={iface.error} />
      {data ? (
        <>
          <p>
            <StateBadge state={data.status} kind="system" />{' '}
            {data.statusChange ? (
              <>
                since <When at={data.statusChange.at} /> — {data.statusChange.reason}
              </>
            ) : null}
          </p>
          <dl class="facts" aria-label={`Interface ${interfaceId}: every field`}>
            {fields.map(([name, value]) => (
              <Fragment key={name}>
                <dt class="mono">{name}</dt>
                <dd data-field={name}>
                  <FieldValue value={value} />
                  <OverrideNotes overrides={data.overrides} fields={[name]} />
                </dd>
              </Fragment>
            ))}
            <dt>Configuration</dt>
            <dd data-field="revision">
              revision {data.revision}; seeded <When at={data.seededAt} />
              {Object.keys(data.overrides).length > 0
                ? `; changed at runtime: ${Object.keys(data.overrides).join(', ')}`
                : '; as the catalog has it'}
            </dd>
          </dl>
          <h3>History of {interfaceId}</h3>
          <History changes={data.history} label={`History of ${interfaceId}`} />
        </>
      ) : null}
    </Section>
  );
}

/** A field's value: plain values as text, an object of plain values as a list of its entries. */
function FieldValue({ value }: { value: unknown }) {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 0) return <span class="muted">none</span>;
    if (entries.every(([, v]) => v === null || typeof v !== 'object'))
      return (
        <ul class="plain">
          {entries.map(([name, v]) => (
            <li key={name}>
              {name}: <span class="mono">{valueText(v)}</span>
            </li>
          ))}
        </ul>
      );
  }
  return <span class="mono">{valueText(value)}</span>;
}

function MaintenanceWindows({
  system,
  api,
  refresh,
}: {
  system: SystemDetail;
  api: Api;
  refresh: () => Promise<void>;
}) {
  const [form, setForm] = useState({ start: '', end: '', reason: '' });
  const [error, setError] = useState<unknown>(undefined);
  const base = `/admin/systems/${encodeURIComponent(system.id)}/maintenance-windows`;
  const plan = async (event: Event) => {
    event.preventDefault();
    setError(undefined);
    try {
      await api.post(base, {
        start: new Date(form.start).toISOString(),
        end: new Date(form.end).toISOString(),
        reason: form.reason,
      });
      setForm({ start: '', end: '', reason: '' });
      await refresh();
    } catch (caught) {
      setError(caught);
    }
  };
  const problem = (field: string) => (error instanceof ApiError ? error.problemAt(field) : undefined);
  const input = (field: 'start' | 'end' | 'reason', type: string, label: string) => (
    <label>
      {label}
      <input
        type={type}
        name={field}
        value={form[field]}
        required
        aria-invalid={problem(field) ? 'true' : undefined}
        onInput={(e) => setForm({ ...form, [field]: (e.target as HTMLInputElement).value })}
      />
      {problem(field) ? <span class="field-error">{problem(field)}</span> : null}
    </label>
  );
  return (
    <>
      <h3>Maintenance windows</h3>
      {system.maintenanceWindows.length === 0 ? <p class="muted">None planned.</p> : null}
      <ul class="windows">
        {system.maintenanceWindows.map((w) => (
          <li key={w.id}>
            <When at={w.start} /> – <When at={w.end} />: {w.reason}
            {w.endedAt ? ' (ended)' : w.startedAt ? ' (under way)' : ''}{' '}
            {!w.endedAt ? (
              <button
                type="button"
                onClick={async () => {
                  const under = w.startedAt
                    ? ' It is under way: it ends now, and the system comes back Up.'
                    : '';
                  if (!confirm(`Cancel the window "${w.reason}"?${under}`)) return;
                  try {
                    await api.delete(`${base}/${encodeURIComponent(w.id)}`);
                    await refresh();
                  } catch (caught) {
                    setError(caught);
                  }
                }}
              >
                Cancel window
              </button>
            ) : null}
          </li>
        ))}
      </ul>
      <form class="toolbar" onSubmit={plan} aria-label="Plan a maintenance window">
        {input('start', 'datetime-local', 'Start')}
        {input('end', 'datetime-local', 'End')}
        {input('reason', 'text', 'Reason')}
        <button type="submit">Plan window</button>
      </form>
      {error instanceof ApiError && error.problems.length === 0 ? <ErrorNote error={error} /> : null}
      {error && !(error instanceof ApiError) ? <ErrorNote error={error} /> : null}
    </>
  );
}

/**
 * The system's held items, oldest first, optionally of one interface: since when and why. The operator
 * picks some or all and releases them; only while the system is Up (the API refuses otherwise).
 */
function OnHold({ api, system }: { api: Api; system: SystemDetail }) {
  const [interfaceId, setInterfaceId] = useState('');
  const held = usePoll(async () => {
    const path = interfaceId
      ? `/admin/system-interfaces/${encodeURIComponent(interfaceId)}/on-hold-items`
      : `/admin/systems/${encodeURIComponent(system.id)}/on-hold-items`;
    return (await api.get<{ items: HeldItem[]; next?: string }>(`${path}${query({ limit: 200 })}`)).body;
  }, [api, system.id, interfaceId]);
  const items = held.data?.items ?? [];
  const selection = useSelection(items.map((i) => i.id));
  const [results, setResults] = useState<{ itemId: string; result: string }[] | string | undefined>(
    undefined,
  );
  const [error, setError] = useState<unknown>(undefined);
  const available = system.state === 'Up';
  const path = `/admin/systems/${encodeURIComponent(system.id)}/release`;
  /** Releases these items, 100 a request (the API's most), with a result for each. */
  const releaseItems = async (ids: string[]) => {
    const all: { itemId: string; result: string }[] = [];
    for (let i = 0; i < ids.length; i += 100) {
      const answer = await api.post<{ results: { itemId: string; result: string }[] }>(path, {
        itemIds: ids.slice(i, i + 100),
      });
      all.push(...answer.body.results);
      setResults([...all]);
    }
  };
  const release = async (what: 'selected' | 'all') => {
    setError(undefined);
    setResults(undefined);
    try {
      if (what === 'selected') await releaseItems([...selection.selected]);
      else if (interfaceId) await releaseItems(items.map((i) => i.id));
      else {
        // The whole system: the release function works through every held item, however many.
        const answer = await api.post<{ releaseId: string }>(path, {});
        setResults(`release ${answer.body.releaseId} started: every held item goes back to work`);
      }
      selection.clear();
      await held.refresh();
    } catch (caught) {
      setError(caught);
    }
  };
  return (
    <Section
      title={`On hold at ${system.name}`}
      actions={
        <>
          <button
            type="button"
            class="primary"
            disabled={!available || selection.selected.size === 0}
            onClick={() => release('selected')}
          >
            Release selected ({selection.selected.size})
          </button>
          <button type="button" disabled={!available || items.length === 0} onClick={() => release('all')}>
            {interfaceId ? `Release all of ${interfaceId}` : 'Release all'}
          </button>
        </>
      }
    >
      {!available ? (
        <p class="note">
          {system.name} is Down: held items can be released once it is Up (bring it Up above, and untick the
          release to let them go yourself).
        </p>
      ) : null}
      <label>
        Interface{' '}
        <select value={interfaceId} onChange={(e) => setInterfaceId((e.target as HTMLSelectElement).value)}>
          <option value="">all of {system.name}</option>
          {system.interfaces.map((i) => (
            <option key={i.id} value={i.id}>
              {i.id}
            </option>
          ))}
        </select>
      </label>
      <ErrorNote error={held.error ?? error} />
      {typeof results === 'string' ? (
        <p class="ok" role="status">
          {results}
        </p>
      ) : (
        <Results
          label="Release results"
          results={(results ?? []).map((r) => ({ ...r, text: r.result, ok: r.result === 'released' }))}
        />
      )}
      <ItemTable
        label="Held items"
        items={items}
        selection={selection}
        rowAttributes={(item) => ({ 'data-held': item.id, 'data-order': item.orderId })}
        columns={[
          { title: 'Interface', cell: (item) => item.interfaceId ?? '—', class: 'mono' },
          { title: 'Since', cell: (item) => <When at={item.since} /> },
          {
            title: 'Why',
            cell: (item) => (
              <>
                {item.reason}
                {item.releasing ? <span class="muted"> (being released)</span> : null}
              </>
            ),
          },
        ]}
      />
      {held.data && items.length === 0 ? <p class="muted">Nothing is held here.</p> : null}
      {held.data?.next ? <p class="muted">Showing the oldest 200.</p> : null}
    </Section>
  );
}
