import { useState } from 'preact/hooks';
import { type Api, ApiError } from '../api';
import { ErrorNote, Section } from '../components';
import { usePoll } from '../poll';
import { href, replaceRoute } from '../router';
import { matchesText, policyText, scopeText } from '../text';

interface RetryRule {
  id: string;
  description?: string;
  scope: { kind: 'all' } | { kind: 'system'; systemId: string } | { kind: 'interface'; interfaceId: string };
  matches: {
    timeouts: boolean;
    connectionErrors: boolean;
    failedAnswers: boolean;
    statuses: (number | string)[];
  };
  policy: Record<string, unknown> & { type: string };
  honourRetryAfter: boolean;
  updatedAt?: string;
  updatedBy?: { name: string };
}

const POLICY_FIELDS: Record<string, { name: string; label: string; list?: boolean }[]> = {
  none: [],
  fixed: [
    { name: 'count', label: 'Retries' },
    { name: 'intervalSeconds', label: 'Interval (s)' },
  ],
  staggered: [{ name: 'intervalsSeconds', label: 'Intervals (s, comma-separated)', list: true }],
  exponential: [
    { name: 'count', label: 'Retries' },
    { name: 'firstIntervalSeconds', label: 'First interval (s)' },
    { name: 'factor', label: 'Factor' },
    { name: 'capSeconds', label: 'Longest interval (s)' },
    { name: 'jitter', label: 'Jitter (0–1)' },
  ],
  forever: [{ name: 'intervalSeconds', label: 'Interval (s)' }],
};

/** The connection retry rules: list, create, edit and delete, with the API's checks shown by field. */
export function RetryRulesPage({ api, ruleId, creating }: { api: Api; ruleId?: string; creating?: boolean }) {
  const rules = usePoll(
    async () => (await api.get<{ rules: RetryRule[]; defaultRule: RetryRule }>('/admin/retry-rules')).body,
    [api],
  );
  const [error, setError] = useState<unknown>(undefined);
  const editing = creating ? undefined : rules.data?.rules.find((r) => r.id === ruleId);
  return (
    <>
      <Section
        title="Retry rules"
        actions={
          <a class="button primary" href={href({ page: 'retry-rules', creating: true })}>
            New rule
          </a>
        }
      >
        <ErrorNote error={rules.error ?? error} />
        <table class="list">
          <thead>
            <tr>
              <th>Rule</th>
              <th>Applies to</th>
              <th>Retries</th>
              <th>On</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {(rules.data?.rules ?? []).map((rule) => (
              <tr key={rule.id} data-rule={rule.id}>
                <td>
                  <a href={href({ page: 'retry-rules', ruleId: rule.id })} class="mono">
                    {rule.id}
                  </a>
                  {rule.description ? <div class="muted">{rule.description}</div> : null}
                </td>
                <td>{scopeText(rule.scope)}</td>
                <td>{policyText(rule.policy)}</td>
                <td>{matchesText(rule.matches)}</td>
                <td>
                  <button
                    type="button"
                    class="danger"
                    onClick={async () => {
                      if (!confirm(`Delete retry rule ${rule.id}?`)) return;
                      try {
                        await api.delete(`/admin/retry-rules/${encodeURIComponent(rule.id)}`);
                        await rules.refresh();
                      } catch (caught) {
                        setError(caught);
                      }
                    }}
                  >
                    Delete
                  </button>
                </td>
              </tr>
            ))}
            {rules.data ? (
              <tr class="muted">
                <td>default</td>
                <td>{scopeText(rules.data.defaultRule.scope)}</td>
                <td>{policyText(rules.data.defaultRule.policy)}</td>
                <td>{matchesText(rules.data.defaultRule.matches)}</td>
                <td>built in</td>
              </tr>
            ) : null}
          </tbody>
        </table>
      </Section>
      {creating || editing ? (
        <RuleForm
          key={creating ? 'new' : ruleId}
          api={api}
          rule={editing}
          taken={new Set((rules.data?.rules ?? []).map((r) => r.id))}
          onSaved={async () => {
            await rules.refresh();
            replaceRoute({ page: 'retry-rules' });
          }}
        />
      ) : null}
    </>
  );
}

/** A number where the operator typed one, otherwise what they typed, for the API to name. */
function numberOrText(text: string): number | string {
  const trimmed = text.trim();
  return trimmed !== '' && Number.isFinite(Number(trimmed)) ? Number(trimmed) : trimmed;
}

function RuleForm({
  api,
  rule,
  taken,
  onSaved,
}: {
  api: Api;
  rule: RetryRule | undefined;
  /** The ids of the rules there are: a new rule may not take one (PUT would replace that rule). */
  taken: Set<string>;
  onSaved: () => Promise<void>;
}) {
  const [form, setForm] = useState(() => ({
    id: rule?.id ?? '',
    description: rule?.description ?? '',
    scopeKind: rule?.scope.kind ?? 'all',
    scopeId:
      rule?.scope.kind === 'system'
        ? rule.scope.systemId
        : rule?.scope.kind === 'interface'
          ? rule.scope.interfaceId
          : '',
    timeouts: rule?.matches.timeouts ?? false,
    connectionErrors: rule?.matches.connectionErrors ?? false,
    failedAnswers: rule?.matches.failedAnswers ?? false,
    statuses: (rule?.matches.statuses ?? []).join(', '),
    policyType: rule?.policy.type ?? 'fixed',
    policy: Object.fromEntries(
      Object.entries(rule?.policy ?? {})
        .filter(([k]) => k !== 'type')
        .map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : String(v)]),
    ) as Record<string, string>,
    honourRetryAfter: rule?.honourRetryAfter ?? true,
  }));
  const [error, setError] = useState<unknown>(undefined);
  const [saving, setSaving] = useState(false);
  const set = (patch: Partial<typeof form>) => setForm({ ...form, ...patch });
  const problems = (prefix: string) =>
    error instanceof ApiError
      ? error.problems
          .filter((p) => p.field === prefix || p.field.startsWith(`${prefix}.`))
          .map((p) => p.message)
      : [];
  const Problems = ({ at }: { at: string }) => {
    const found = problems(at);
    return found.length ? (
      <span class="field-error" data-problem-for={at}>
        {found.join('; ')}
      </span>
    ) : null;
  };
  const save = async (event: Event) => {
    event.preventDefault();
    setError(undefined);
    setSaving(true);
    const policy: Record<string, unknown> = { type: form.policyType };
    for (const field of POLICY_FIELDS[form.policyType] ?? []) {
      const text = form.policy[field.name] ?? '';
      if (text.trim() === '') continue;
      policy[field.name] = field.list ? text.split(',').map(numberOrText) : numberOrText(text);
    }
    const body = {
      ...(form.description ? { description: form.description } : {}),
      scope:
        form.scopeKind === 'all'
          ? { kind: 'all' }
          : form.scopeKind === 'system'
            ? { kind: 'system', systemId: form.scopeId }
            : { kind: 'interface', interfaceId: form.scopeId },
      matches: {
        timeouts: form.timeouts,
        connectionErrors: form.connectionErrors,
        failedAnswers: form.failedAnswers,
        statuses: form.statuses
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
          .map(numberOrText),
      },
      policy,
      honourRetryAfter: form.honourRetryAfter,
    };
    try {
      if (!form.id.trim())
        throw new ApiError(400, 'the rule needs an id', [{ field: 'ruleId', message: 'is required' }]);
      if (!rule && taken.has(form.id.trim()))
        throw new ApiError(409, 'a rule with this id exists', [
          {
            field: 'ruleId',
            message: 'is the id of a rule there is already: edit that rule, or choose another id',
          },
        ]);
      await api.put(`/admin/retry-rules/${encodeURIComponent(form.id.trim())}`, body);
      await onSaved();
    } catch (caught) {
      setError(caught);
    } finally {
      setSaving(false);
    }
  };
  const unplaced =
    error instanceof ApiError
      ? error.problems.filter(
          (p) => !/^(ruleId|description|scope|matches|policy|honourRetryAfter)/.test(p.field),
        )
      : [];
  return (
    <Section title={rule ? `Edit rule ${rule.id}` : 'New retry rule'}>
      <form class="form" onSubmit={save} aria-label="Retry rule">
        <label>
          Id
          <input
            name="ruleId"
            value={form.id}
            disabled={Boolean(rule)}
            onInput={(e) => set({ id: (e.target as HTMLInputElement).value })}
          />
          <Problems at="ruleId" />
        </label>
        <label>
          Description
          <input
            name="description"
            value={form.description}
            onInput={(e) => set({ description: (e.target as HTMLInputElement).value })}
          />
          <Problems at="description" />
        </label>
        <fieldset>
          <legend>Applies to</legend>
          <select
            name="scopeKind"
            value={form.scopeKind}
            onChange={(e) =>
              set({ scopeKind: (e.target as HTMLSelectElement).value as typeof form.scopeKind })
            }
          >
            <option value="all">every callout</option>
            <option value="system">one system</option>
            <option value="interface">one interface</option>
          </select>
          {form.scopeKind !== 'all' ? (
            <input
              name="scopeId"
              aria-label={form.scopeKind === 'system' ? 'System id' : 'Interface id'}
              placeholder={form.scopeKind === 'system' ? 'system id' : 'interface id'}
              value={form.scopeId}
              onInput={(e) => set({ scopeId: (e.target as HTMLInputElement).value })}
            />
          ) : null}
          <Problems at="scope" />
        </fieldset>
        <fieldset>
          <legend>Retries on</legend>
          {(['timeouts', 'connectionErrors', 'failedAnswers'] as const).map((name) => (
            <label class="inline" key={name}>
              <input
                type="checkbox"
                name={name}
                checked={form[name]}
                onChange={(e) => set({ [name]: (e.target as HTMLInputElement).checked })}
              />{' '}
              {name === 'timeouts'
                ? 'timeouts'
                : name === 'connectionErrors'
                  ? 'connection errors'
                  : 'failed final answers'}
            </label>
          ))}
          <label>
            Statuses <span class="muted">(codes and ranges: 429, 500-504, 5xx)</span>
            <input
              name="statuses"
              value={form.statuses}
              onInput={(e) => set({ statuses: (e.target as HTMLInputElement).value })}
            />
          </label>
          <Problems at="matches" />
        </fieldset>
        <fieldset>
          <legend>Policy</legend>
          <select
            name="policyType"
            value={form.policyType}
            onChange={(e) => set({ policyType: (e.target as HTMLSelectElement).value })}
          >
            {Object.keys(POLICY_FIELDS).map((type) => (
              <option key={type} value={type}>
                {type}
              </option>
            ))}
          </select>
          {(POLICY_FIELDS[form.policyType] ?? []).map((field) => (
            <label key={field.name}>
              {field.label}
              <input
                name={field.name}
                value={form.policy[field.name] ?? ''}
                onInput={(e) =>
                  set({ policy: { ...form.policy, [field.name]: (e.target as HTMLInputElement).value } })
                }
              />
              <Problems at={`policy.${field.name}`} />
            </label>
          ))}
          {problems('policy').length &&
          !(POLICY_FIELDS[form.policyType] ?? []).some((f) => problems(`policy.${f.name}`).length) ? (
            <Problems at="policy" />
          ) : null}
        </fieldset>
        <label class="inline">
          <input
            type="checkbox"
            name="honourRetryAfter"
            checked={form.honourRetryAfter}
            onChange={(e) => set({ honourRetryAfter: (e.target as HTMLInputElement).checked })}
          />{' '}
          Wait at least as long as a Retry-After answer says
        </label>
        {unplaced.length || (error && !(error instanceof ApiError && error.problems.length)) ? (
          <ErrorNote error={error} />
        ) : null}
        <div class="dialog-actions">
          <a class="button" href={href({ page: 'retry-rules' })}>
            Cancel
          </a>
          <button type="submit" class="primary" disabled={saving}>
            Save rule
          </button>
        </div>
      </form>
    </Section>
  );
}
