import { Fragment } from 'preact';
import { useMemo, useState } from 'preact/hooks';
import { type Action, actionsFor } from '../actions';
import { type Api, ApiError, CANCELLATIONS, ORDERS } from '../api';
import { ErrorNote, Json, ReasonDialog, type ReasonRequest, Section, StateBadge, When } from '../components';
import { layoutPlan } from '../graph-layout';
import { usePoll } from '../poll';
import { href, replaceRoute } from '../router';
import { CANCELLABLE_STATES, itemStyle } from '../states';
import { characteristicsText, type OfferingSummary } from '../text';

export interface ItemView {
  id: string;
  key: string;
  planId: string;
  planItemId: string;
  type: string;
  state: string;
  interfaceId?: string;
  lineId?: string;
  /** A compensation: the key of the item it undoes. */
  compensates?: string;
  lateAnswer?: 'acted' | 'notActed';
  /** The order's revision that made the item (absent: as submitted); and the item it runs again. */
  revision?: number;
  supersedes?: string;
  frozenUntil?: string;
  dependsOn: string[];
  history: { at: string; state: string; reason: string; by?: { name: string } }[];
  request?: unknown;
  response?: unknown;
  asyncResponse?: unknown;
  attempts?: {
    number: number;
    at: string;
    status?: number;
    error?: string;
    decision: { kind: string; at?: string };
  }[];
  retries?: number;
  nextAttemptAt?: string;
  hold?: { systemId: string; interfaceId?: string; since: string; reason: string };
  awaiting?: { since: string; deadline: string };
  procedure?: {
    next: number;
    trace: { step: string; type: string; skipped?: boolean; input?: unknown; output?: unknown; ms: number }[];
  };
  attributes?: Record<string, unknown>;
  error?: string;
  startedAt?: string;
  completedAt?: string;
}

interface ItemGraph {
  orderId: string;
  state: string;
  revision?: number;
  items: ItemView[];
  dependencies: { from: string; to: string }[];
}

interface OrderLine {
  id: string;
  action: string;
  [field: string]: unknown;
  state?: string;
  productOffering?: { id?: string; entityId?: string };
  product?: { productCharacteristic?: { name: string; value: unknown }[] };
}

/** A TMF622 CancelProductOrder, as the console shows it. */
interface Cancellation {
  id: string;
  state: string;
  creationDate: string;
  cancellationReason?: string;
  effectiveCancellationDate?: string;
  errorMessage?: { message: string };
}

interface ProductOrder {
  id: string;
  state: string;
  externalId?: { id: string }[];
  creationDate: string;
  completionDate?: string;
  productOrderItem?: OrderLine[];
  fulfilmentAttributes?: Record<string, unknown>;
}

/** Offerings change only with a deploy: read them now and then, not at every poll of the order. */
const OFFERINGS_POLL_MS = 5 * 60_000;

/** One order: its plan as a graph, items coloured by state, and the chosen item's panel. */
export function OrderPage({ api, orderId, selected }: { api: Api; orderId: string; selected?: string }) {
  const data = usePoll(async () => {
    const [graph, order, cancellations] = await Promise.all([
      api.get<ItemGraph>(`/orchestration/orders/${encodeURIComponent(orderId)}/items`),
      api.get<ProductOrder>(`${ORDERS}/${encodeURIComponent(orderId)}`),
      api.get<Cancellation[]>(`${CANCELLATIONS}?productOrder.id=${encodeURIComponent(orderId)}&limit=1`),
    ]);
    return { graph: graph.body, order: order.body, cancellation: cancellations.body[0] };
  }, [api, orderId]);
  const [asking, setAsking] = useState<ReasonRequest | undefined>(undefined);
  const askAmend = (line: OrderLine, lines: OrderLine[]) => {
    const current = Object.fromEntries(
      (line.product?.productCharacteristic ?? []).map((c) => [c.name, c.value]),
    );
    setAsking({
      title: `Change line ${line.id} of order ${orderId}`,
      label: 'productOrderItem',
      fieldText: 'The line’s characteristics, as JSON (name: value)',
      initial: JSON.stringify(current, null, 2),
      confirm: 'Amend the order',
      run: async (text) => {
        const wanted = characteristicsFrom(text);
        // A merge patch replaces the lines whole: every line as it is, this one with its new characteristics.
        const productOrderItem = lines.map(({ state: _state, ...other }) =>
          other.id === line.id
            ? {
                ...other,
                product: {
                  ...(other.product ?? {}),
                  productCharacteristic: Object.entries(wanted).map(([name, value]) => ({ name, value })),
                },
              }
            : other,
        );
        await api.patch(`${ORDERS}/${encodeURIComponent(orderId)}`, { productOrderItem });
        await data.refresh();
      },
    });
  };
  const askCancel = () =>
    setAsking({
      title: `Cancel order ${orderId}`,
      label: 'cancellationReason',
      fieldText: 'Why the order is cancelled (kept with the cancellation)',
      optional: true,
      confirm: 'Cancel the order',
      run: async (reason) => {
        await api.post(CANCELLATIONS, {
          productOrder: { id: orderId },
          ...(reason.trim() ? { cancellationReason: reason.trim() } : {}),
        });
        await data.refresh();
      },
    });
  const offerings = usePoll(
    async () => (await api.get<OfferingSummary[]>('/admin/offerings')).body,
    [api],
    OFFERINGS_POLL_MS,
  );
  const graph = data.data?.graph;
  const order = data.data?.order;
  const cancellation = data.data?.cancellation;
  const item = graph?.items.find((i) => i.key === selected);
  const select = (key: string | undefined) => replaceRoute({ page: 'order', orderId, item: key });
  return (
    <>
      <Section
        title={`Order ${orderId}`}
        actions={
          order ? (
            <>
              <StateBadge state={order.state} kind="order" />
              {CANCELLABLE_STATES.includes(order.state) ? (
                <button type="button" onClick={askCancel}>
                  Cancel order
                </button>
              ) : null}
            </>
          ) : null
        }
      >
        <ErrorNote error={data.error} />
        {order ? (
          <dl class="facts">
            <dt>External id</dt>
            <dd>{(order.externalId ?? []).map((e) => e.id).join(', ') || '—'}</dd>
            <dt>Submitted</dt>
            <dd>
              <When at={order.creationDate} />
            </dd>
            <dt>Completed</dt>
            <dd>
              <When at={order.completionDate} />
            </dd>
            {graph?.revision && graph.revision > 1 ? (
              <>
                <dt>Revision</dt>
                <dd>{graph.revision} (amended)</dd>
              </>
            ) : null}
          </dl>
        ) : null}
        {cancellation ? <CancellationNote cancellation={cancellation} /> : null}
        {order?.productOrderItem?.length ? (
          <OrderLines
            lines={order.productOrderItem}
            offerings={offerings.data ?? []}
            {...(CANCELLABLE_STATES.includes(order.state)
              ? { onChange: (line: OrderLine) => askAmend(line, order.productOrderItem ?? []) }
              : {})}
          />
        ) : null}
        {graph ? <PlanGraph graph={graph} selected={selected} onSelect={select} /> : null}
        {order?.fulfilmentAttributes && Object.keys(order.fulfilmentAttributes).length > 0 ? (
          <details>
            <summary>Fulfilment attributes</summary>
            <Json value={order.fulfilmentAttributes} />
          </details>
        ) : null}
      </Section>
      {asking ? <ReasonDialog request={asking} onClose={() => setAsking(undefined)} /> : null}
      {item ? (
        <ItemPanel
          key={item.key}
          api={api}
          item={item}
          onChanged={data.refresh}
          onClose={() => select(undefined)}
        />
      ) : null}
    </>
  );
}

/** The characteristics an operator typed, as a JSON object of name: value; an Error says what is wrong. */
function characteristicsFrom(text: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new Error(`the characteristics are not JSON: ${(error as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new Error('the characteristics are a JSON object of name: value');
  return parsed as Record<string, unknown>;
}

/** The order's latest cancellation: how far it is, and why it was refused when it was. */
function CancellationNote({ cancellation }: { cancellation: Cancellation }) {
  const refused = cancellation.state === 'terminatedWithError';
  return (
    <div class={refused ? 'note error' : 'note'} role="status">
      <strong>Cancellation {cancellation.state}</strong>
      {' — asked '}
      <When at={cancellation.creationDate} />
      {cancellation.cancellationReason ? `: ${cancellation.cancellationReason}` : ''}
      {refused && cancellation.errorMessage ? <p>Refused: {cancellation.errorMessage.message}</p> : null}
      {cancellation.effectiveCancellationDate ? (
        <p>
          Cancelled <When at={cancellation.effectiveCancellationDate} />
        </p>
      ) : null}
    </div>
  );
}

/** The order's lines: each one's offering by name, and its characteristics as the offering names them. */
function OrderLines({
  lines,
  offerings,
  onChange,
}: {
  lines: OrderLine[];
  offerings: OfferingSummary[];
  /** Offered while the order may be amended: changes the line's characteristics. */
  onChange?: (line: OrderLine) => void;
}) {
  return (
    <table class="list compact">
      <caption>Lines</caption>
      <thead>
        <tr>
          <th>Line</th>
          <th>Offering</th>
          <th>Action</th>
          <th>State</th>
          <th>Characteristics</th>
          {onChange ? <th>Change</th> : null}
        </tr>
      </thead>
      <tbody>
        {lines.map((line) => {
          const offeringId = line.productOffering?.id ?? line.productOffering?.entityId ?? '';
          const offering = offerings.find((o) => o.id === offeringId);
          const characteristics = characteristicsText(line.product?.productCharacteristic ?? [], offering);
          return (
            <tr key={line.id}>
              <td class="mono">{line.id}</td>
              <td>{offering?.name ?? (offeringId || '—')}</td>
              <td>{line.action}</td>
              <td>{line.state ?? '—'}</td>
              <td>
                {characteristics.length > 0 ? (
                  <dl class="facts compact">
                    {characteristics.map((c) => (
                      <Fragment key={c.name}>
                        <dt>{c.name}</dt>
                        <dd>{c.text}</dd>
                      </Fragment>
                    ))}
                  </dl>
                ) : (
                  '—'
                )}
              </td>
              {onChange ? (
                <td>
                  <button type="button" onClick={() => onChange(line)} aria-label={`Change line ${line.id}`}>
                    Change
                  </button>
                </td>
              ) : null}
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

/**
 * The plan drawn left to right: each item a node coloured by its state (with the state written in it),
 * each dependency an arrow. Nodes are buttons: Tab reaches them, Enter or Space opens the item.
 */
function PlanGraph({
  graph,
  selected,
  onSelect,
}: {
  graph: ItemGraph;
  selected: string | undefined;
  onSelect: (key: string) => void;
}) {
  const shape = JSON.stringify([graph.items.map((i) => i.key), graph.dependencies]);
  const layout = useMemo(
    () =>
      layoutPlan(
        graph.items.map((i) => ({
          key: i.key,
          // A compensation reads as what it does: it undoes the item beside it.
          label: i.compensates
            ? `undo ${i.planItemId}`
            : i.supersedes
              ? `${i.planItemId} (r${i.revision})`
              : i.planItemId,
          sublabel: i.lineId ? `line ${i.lineId}` : undefined,
        })),
        graph.dependencies,
      ),
    [shape],
  );
  const stateOf = new Map(graph.items.map((i) => [i.key, i.state]));
  const labelOf = new Map(layout.nodes.map((n) => [n.key, n.label]));
  const after = (key: string) =>
    graph.dependencies.filter((d) => d.to === key).map((d) => labelOf.get(d.from) ?? d.from);
  // Tab goes through the plan as it reads: left to right, then top to bottom.
  const inReadingOrder = [...layout.nodes].sort((a, b) => a.x - b.x || a.y - b.y);
  return (
    <figure class="graph-scroll" aria-label="The order's plan: items and their dependencies">
      <svg
        class="plan-graph"
        width={layout.width}
        height={layout.height}
        viewBox={`0 0 ${layout.width} ${layout.height}`}
      >
        <title>Plan of order {graph.orderId}</title>
        <defs>
          <marker
            id="arrow"
            viewBox="0 0 10 10"
            refX="9"
            refY="5"
            markerWidth="7"
            markerHeight="7"
            orient="auto"
          >
            <path d="M0,0 L10,5 L0,10 z" fill="#6c757d" />
          </marker>
        </defs>
        {layout.edges.map((edge) => (
          <polyline
            key={`${edge.from}->${edge.to}`}
            class="edge"
            points={edge.points.map((p) => `${p.x},${p.y}`).join(' ')}
            marker-end="url(#arrow)"
          />
        ))}
        {inReadingOrder.map((node) => {
          const state = stateOf.get(node.key) ?? 'Pending';
          const style = itemStyle(state);
          const open = () => onSelect(node.key);
          return (
            // biome-ignore lint/a11y/useSemanticElements: an SVG group cannot be a <button>; role and keys make it one
            <g
              key={node.key}
              class={`node${selected === node.key ? ' selected' : ''}`}
              transform={`translate(${node.x},${node.y})`}
              role="button"
              tabindex={0}
              aria-label={`${node.label}${node.sublabel ? ` (${node.sublabel})` : ''}: ${style.label}${
                after(node.key).length ? `; after ${after(node.key).join(', ')}` : ''
              }`}
              aria-pressed={selected === node.key}
              data-item={node.key}
              data-state={state}
              onClick={open}
              onKeyDown={(e) => {
                if (e.key === 'Enter' || e.key === ' ') {
                  e.preventDefault();
                  open();
                }
              }}
            >
              <rect width={node.width} height={node.height} rx="8" fill={style.colour} />
              <text x="10" y="21" class="node-label">
                {node.label.length > 24 ? `${node.label.slice(0, 23)}…` : node.label}
              </text>
              <text x="10" y="41" class="node-state">
                {style.label}
                {node.sublabel ? ` · ${node.sublabel}` : ''}
              </text>
            </g>
          );
        })}
      </svg>
    </figure>
  );
}

const ACTION_TEXT: Record<
  Action,
  { button: string; title: string; field: 'reason' | 'note' | 'attributes' }
> = {
  retry: { button: 'Retry', title: 'Retry this item now', field: 'reason' },
  skip: { button: 'Skip', title: 'Skip this item: it counts as done', field: 'note' },
  fail: { button: 'Fail the order', title: 'Fail the whole order', field: 'reason' },
  complete: { button: 'Complete task', title: 'Complete this manual task', field: 'attributes' },
  abort: {
    button: 'Abort',
    title: 'Abort this running attempt: the retry rules decide, as for a callout that got no answer',
    field: 'reason',
  },
};

/** A manual task's attributes for the order: a JSON object, or nothing. */
function attributesFrom(text: string): Record<string, unknown> {
  if (!text.trim()) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ApiError(400, 'the attributes are not JSON', [{ field: 'attributes', message: 'is not JSON' }]);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new ApiError(400, 'the attributes must be a JSON object', [
      { field: 'attributes', message: 'must be a JSON object, such as {"installedBy": "Sam"}' },
    ]);
  return parsed as Record<string, unknown>;
}

function ItemPanel({
  api,
  item,
  onChanged,
  onClose,
}: {
  api: Api;
  item: ItemView;
  onChanged: () => Promise<void>;
  onClose: () => void;
}) {
  const [asking, setAsking] = useState<ReasonRequest | undefined>(undefined);
  const [done, setDone] = useState<string | undefined>(undefined);
  const ask = (action: Action) => {
    const text = ACTION_TEXT[action];
    setAsking({
      title: text.title,
      label: text.field,
      confirm: text.button,
      ...(action === 'complete'
        ? { fieldText: 'Attributes for the order, as a JSON object (optional)', optional: true }
        : {}),
      run: async (reason) => {
        const body = action === 'complete' ? attributesFrom(reason) : { [text.field]: reason };
        await api.post(`/orchestration/items/${encodeURIComponent(item.id)}/${action}`, body);
        setDone(`${text.button}: done`);
        await onChanged();
      },
    });
  };
  return (
    <Section
      focusOnOpen
      title={`Item ${item.planItemId}`}
      actions={
        <>
          <StateBadge state={item.state} />
          <button type="button" onClick={onClose} aria-label="Close the item panel">
            Close
          </button>
        </>
      }
    >
      <div class="item-actions">
        {actionsFor(item).map((action) => (
          <button
            type="button"
            key={action}
            class={action === 'fail' || action === 'abort' ? 'danger' : 'primary'}
            onClick={() => ask(action)}
          >
            {ACTION_TEXT[action].button}
          </button>
        ))}
        {done ? (
          <span class="ok" role="status">
            {done}
          </span>
        ) : null}
      </div>
      <dl class="facts">
        <dt>Key</dt>
        <dd class="mono">{item.key}</dd>
        <dt>Type</dt>
        <dd>{item.type}</dd>
        {item.interfaceId ? (
          <>
            <dt>Interface</dt>
            <dd>{item.interfaceId}</dd>
          </>
        ) : null}
        {item.hold && item.state === 'OnHold' ? (
          <>
            <dt>On hold</dt>
            <dd>
              since <When at={item.hold.since} />: {item.hold.reason}{' '}
              <a href={href({ page: 'system', systemId: item.hold.systemId, tab: 'on-hold' })}>
                {item.hold.systemId}'s on-hold items
              </a>
            </dd>
          </>
        ) : null}
        {item.nextAttemptAt && item.state === 'Failed' ? (
          <>
            <dt>Next attempt</dt>
            <dd>
              <When at={item.nextAttemptAt} /> (retry {item.retries ?? 0})
            </dd>
          </>
        ) : null}
        {item.awaiting && item.state === 'Running' ? (
          <>
            <dt>Awaiting callback</dt>
            <dd>
              until <When at={item.awaiting.deadline} />
            </dd>
          </>
        ) : null}
        {item.error ? (
          <>
            <dt>Error</dt>
            <dd class="error">{item.error}</dd>
          </>
        ) : null}
      </dl>
      {item.attempts && item.attempts.length > 0 ? (
        <>
          <h3>Attempts</h3>
          <table class="list compact">
            <thead>
              <tr>
                <th>#</th>
                <th>At</th>
                <th>Answer</th>
                <th>Decision</th>
              </tr>
            </thead>
            <tbody>
              {item.attempts.map((a) => (
                <tr key={a.number}>
                  <td>{a.number}</td>
                  <td>
                    <When at={a.at} />
                  </td>
                  <td>{a.status ?? a.error ?? '—'}</td>
                  <td>
                    {a.decision.kind}
                    {a.decision.at ? (
                      <>
                        {' '}
                        at <When at={a.decision.at} />
                      </>
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      ) : null}
      {item.procedure ? (
        <>
          <h3>Procedure steps</h3>
          <ol class="steps">
            {item.procedure.trace.map((step) => (
              <li key={step.step}>
                <strong>{step.step}</strong> ({step.type}) {step.skipped ? 'skipped' : `${step.ms} ms`}
                {step.output !== undefined ? (
                  <details>
                    <summary>output</summary>
                    <Json value={step.output} />
                  </details>
                ) : null}
              </li>
            ))}
          </ol>
        </>
      ) : null}
      <div class="two-columns">
        <div>
          <h3>Request</h3>
          <Json value={item.request} />
        </div>
        <div>
          <h3>Response</h3>
          <Json value={item.asyncResponse ?? item.response} />
        </div>
      </div>
      <h3>History</h3>
      <ol class="history">
        {[...item.history].reverse().map((entry, n) => (
          <li key={`${entry.at}-${n}`}>
            <When at={entry.at} /> <StateBadge state={entry.state} /> {entry.reason}
            {entry.by ? <span class="muted"> — {entry.by.name}</span> : null}
          </li>
        ))}
      </ol>
      {asking ? <ReasonDialog request={asking} onClose={() => setAsking(undefined)} /> : null}
    </Section>
  );
}
