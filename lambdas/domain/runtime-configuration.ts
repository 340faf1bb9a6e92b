import type { z } from 'zod';
import { reasonSchema } from './availability';
import { callbackUrlLifetimeSeconds } from './callback-keys';
import {
  asynchronousWaits,
  type Catalog,
  type FulfilmentSystem,
  isAsynchronousInterface,
  type SystemInterface,
  slowestCalloutSeconds,
  systemInterfaceSchema,
  systemSchema,
} from './catalog';
import type { Problem } from './errors';
import type { Actor } from './roles';

/**
 * Configuration operators change at runtime, without a deploy: a system's address, limits and circuit
 * breaker, an interface's timeouts and accepted statuses. The rest of a definition (its method, path,
 * adapter, mappings, auth profile) stays in the catalog.
 *
 * Each record keeps, for every field an operator changed (an **override**), the catalog's value as last
 * seeded. A redeploy keeps the operator's value while the catalog's value is the one it was then; once
 * the catalog changes that field, the catalog's new value wins and the override is dropped, with a
 * history entry saying so (seedMerge). Pure functions: the use case loads, decides here, and writes.
 */

export type ConfigurationSubject = 'system' | 'interface';

/**
 * The fields an operator may change, as dotted paths: each is overridden, and kept or dropped at a
 * redeploy, on its own (a system's two limits apart; a circuit breaker and a list of statuses whole).
 */
export const RUNTIME_FIELDS = {
  system: ['baseUrl', 'limits.maxConcurrentCallouts', 'limits.maxCalloutsPerSecond', 'circuitBreaker'],
  interface: ['timeoutSeconds', 'acceptedStatuses', 'asyncTimeoutSeconds'],
} as const satisfies Record<ConfigurationSubject, readonly string[]>;

/** An operator's value on a field: the catalog's value when it was set (null: the catalog had none), who and when. */
export interface FieldOverride {
  catalogValue: unknown;
  at: string;
  by: Actor;
}

/** A record's overrides by field path. */
export type Overrides = Record<string, FieldOverride>;

/** One field of a change: from what to what (null: not set), and why when a deploy decided it. */
export interface FieldChange {
  field: string;
  from: unknown;
  to: unknown;
  note?: string;
}

/** A change of a system's or an interface's configuration, kept in its history beside its state changes. */
export interface ConfigurationChange {
  /** Unique; history is keyed by it, so writing a change twice keeps it once. */
  id: string;
  kind: 'configuration';
  at: string;
  by: Actor;
  reason: string;
  /** An operator's PATCH, or a deploy that seeded a changed catalog. */
  cause: 'operator' | 'deploy';
  /** The revision of the record this change made. */
  revision: number;
  changes: FieldChange[];
}

/** Switchboard's deploy, when a seed changes a record's configuration. */
export const DEPLOY_ACTOR: Actor = { id: 'switchboard:deploy', name: 'deploy' };
export const DEPLOY_REASON = 'a deploy seeded the catalog';

const SCHEMAS = { system: systemSchema, interface: systemInterfaceSchema } as const;

/** The catalog's fields of a record (its definition), whatever else the record carries beside them. */
export function definitionOf<T extends FulfilmentSystem | SystemInterface>(
  subject: ConfigurationSubject,
  record: T,
): T {
  const fields = new Set(Object.keys(SCHEMAS[subject].shape));
  return Object.fromEntries(Object.entries(record).filter(([name]) => fields.has(name))) as T;
}

/** The value at a dotted path; undefined where there is none. */
export function valueAt(value: unknown, path: string): unknown {
  let current = value;
  for (const name of path.split('.')) {
    if (current === null || typeof current !== 'object' || Array.isArray(current)) return undefined;
    current = (current as Record<string, unknown>)[name];
  }
  return current;
}

/** A copy with the value at a dotted path set, or removed for undefined and null. */
export function withValueAt<T>(value: T, path: string, field: unknown): T {
  const [name = '', ...rest] = path.split('.');
  const base = { ...(value as Record<string, unknown>) };
  if (rest.length > 0) base[name] = withValueAt(base[name] ?? {}, rest.join('.'), field);
  else if (field === undefined || field === null) delete base[name];
  else base[name] = structuredClone(field);
  return base as T;
}

/** JSON equality, whatever the order of object keys; a missing value equals null. */
export function sameJson(a: unknown, b: unknown): boolean {
  return canonical(a) === canonical(b);
}

function canonical(value: unknown): string {
  if (value === undefined || value === null) return 'null';
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

const show = (value: unknown): string =>
  value === undefined || value === null ? 'none' : JSON.stringify(value);

/** The top-level body fields an operator may send for each subject. */
const runtimeTopLevel = (subject: ConfigurationSubject): Set<string> =>
  new Set(RUNTIME_FIELDS[subject].map((path) => path.split('.')[0] ?? path));

/** Names that are no field of a definition but are the catalog's all the same: how it is shown, what uses it. */
const CATALOG_ONLY: Record<ConfigurationSubject, string[]> = {
  system: ['interfaces', 'plans'],
  interface: ['mappings', 'plans'],
};

/** Fields of an interface's PATCH body that change its status, not its configuration. */
const STATUS_FIELDS = ['status', 'releaseHeld'];

/**
 * True when an interface's PATCH body asks for a configuration change: it names a field of an
 * interface's definition other than its status (or its `mappings` or `plans`, the catalog's). Any other
 * body is a status change, read (and refused) as it always was.
 */
export function asksForConfiguration(body: unknown): boolean {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return false;
  const fields = new Set(Object.keys(systemInterfaceSchema.shape));
  return Object.keys(body).some(
    (name) => (fields.has(name) || CATALOG_ONLY.interface.includes(name)) && name !== 'status',
  );
}

/**
 * An operator's PATCH body read into its reason and its JSON merge patch of runtime fields; every field
 * that cannot be changed here is named: those the catalog keeps (change them there and deploy), the
 * state or status (changed by their own requests), and unknown ones.
 */
export function readChangeBody(
  subject: ConfigurationSubject,
  body: unknown,
): { reason: string; patch: Record<string, unknown> } | { problems: Problem[] } {
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    return {
      problems: [{ field: '', message: 'is a JSON merge patch: a JSON object of the fields to change' }],
    };
  const problems: Problem[] = [];
  const runtime = runtimeTopLevel(subject);
  const catalogFields = new Set(Object.keys(SCHEMAS[subject].shape));
  const folder = subject === 'system' ? 'systems' : 'interfaces';
  const patch: Record<string, unknown> = {};
  let reason: string | undefined;
  for (const [name, value] of Object.entries(body)) {
    if (name === 'reason') {
      const parsed = reasonSchema.safeParse(value);
      if (parsed.success) reason = parsed.data;
      else problems.push({ field: 'reason', message: parsed.error.issues[0]?.message ?? 'is not valid' });
    } else if (runtime.has(name)) patch[name] = value;
    else if (subject === 'interface' && STATUS_FIELDS.includes(name))
      problems.push({
        field: name,
        message: 'changes in a request of its own (status, reason and releaseHeld), not with configuration',
      });
    else if (subject === 'system' && name === 'state')
      problems.push({ field: name, message: 'changes with PUT /admin/systems/{systemId}/state' });
    else if (catalogFields.has(name) || CATALOG_ONLY[subject].includes(name))
      problems.push({
        field: name,
        message: `stays in the catalog: change it in its file under ${folder}/ and deploy`,
      });
    else problems.push({ field: name, message: 'is not a known field' });
  }
  if (reason === undefined && !problems.some((p) => p.field === 'reason'))
    problems.push({ field: 'reason', message: 'is required: say why' });
  if (Object.keys(patch).length === 0 && problems.length === 0)
    problems.push({
      field: '',
      message: `changes nothing: send one of ${[...runtime].join(', ')}`,
    });
  return problems.length > 0 || reason === undefined ? { problems } : { reason, patch };
}

/**
 * What the catalog checks of an interface beyond its schema, and that only an asynchronous interface
 * waits for a callback: accepted statuses and a callback timeout on another mean nothing.
 */
export function asyncOnlyProblems(
  iface: Pick<SystemInterface, 'adapter'> & Partial<SystemInterface>,
  catalog: Pick<Catalog, 'asynchronousAdapters'>,
): Problem[] {
  if (isAsynchronousInterface(catalog, iface)) return [];
  return (['acceptedStatuses', 'asyncTimeoutSeconds'] as const)
    .filter((field) => iface[field] !== undefined)
    .map((field) => ({
      field,
      message: `only an asynchronous interface (async-rest, or a custom adapter whose module says asynchronous: true) waits for a callback; this one's adapter is "${iface.adapter}"`,
    }));
}

/**
 * The rules an interface's runtime configuration must keep under the deployed catalog, each named by its
 * field, beyond its schema:
 * - accepted statuses and a callback timeout only on an asynchronous interface;
 * - a timeout no longer than the catalog's slowest interface's: the callout worker's time limit and its
 *   takeovers were sized for that at deploy;
 * - an asynchronous callout's whole wait (timeoutSeconds + asyncTimeoutSeconds) shorter than every plan
 *   waits for an item that calls it (the catalog's own rule), and its callback URL's life no longer than
 *   the longest the callback keys' grace was deployed for.
 */
export function interfaceRuleProblems(
  iface: SystemInterface,
  catalog: Pick<Catalog, 'interfaces' | 'plans' | 'procedures' | 'asynchronousAdapters'>,
): Problem[] {
  const problems = asyncOnlyProblems(iface, catalog);
  const slowest = slowestCalloutSeconds(catalog);
  if (iface.timeoutSeconds > slowest)
    problems.push({
      field: 'timeoutSeconds',
      message: `is at most ${slowest} at runtime: the callout worker's time limit is set at deploy for the catalog's slowest interface (${slowest} s); a longer one needs a catalog change and a deploy`,
    });
  if (!isAsynchronousInterface(catalog, iface)) return problems;
  const longestUrl = Math.max(
    0,
    ...Object.values(catalog.interfaces)
      .filter((i) => isAsynchronousInterface(catalog, i))
      .map(callbackUrlLifetimeSeconds),
  );
  if (callbackUrlLifetimeSeconds(iface) > longestUrl)
    problems.push({
      field: 'asyncTimeoutSeconds',
      message: `makes a callback URL live ${callbackUrlLifetimeSeconds(iface)} s, longer than the callback keys' grace was deployed for (${longestUrl} s, the catalog's longest wait for a callback); a longer wait needs a catalog change and a deploy`,
    });
  // Every plan's wait for an item that waits on it — a callout to it, or a procedure whose asynchronous
  // steps call it (one after the other) — must outlast the waits with this change, as at synth.
  const changed = { ...catalog.interfaces, [iface.id]: iface };
  const asynchronous = (i: SystemInterface) => isAsynchronousInterface(catalog, i);
  for (const plan of Object.values(catalog.plans)) {
    for (const item of plan.items) {
      const waits = asynchronousWaits(item, changed, catalog.procedures, asynchronous);
      if (!waits.some((wait) => wait.what.includes(`"${iface.id}"`))) continue;
      const planWait = item.timeoutSeconds ?? plan.timeoutSeconds;
      const calloutWait = waits.reduce((sum, wait) => sum + wait.seconds, 0);
      if (calloutWait >= planWait)
        problems.push({
          field: 'asyncTimeoutSeconds',
          message: `plan "${plan.id}" waits at most ${planWait} s for item "${item.id}", but ${item.procedure ? `its procedure's asynchronous steps (this interface's among them) may take` : `this interface's callout may take`} ${calloutWait} s (timeoutSeconds + asyncTimeoutSeconds)`,
        });
    }
  }
  return problems;
}

/**
 * The rules of a system's runtime configuration beyond its schema, as at synth: a system under a mutual
 * TLS profile is reached over https only (its client certificate means nothing over http).
 */
export function systemRuleProblems(
  system: FulfilmentSystem,
  catalog: Pick<Catalog, 'authProfiles'>,
): Problem[] {
  const profile = system.authProfile ? catalog.authProfiles[system.authProfile] : undefined;
  if (profile?.type === 'mtls' && new URL(system.baseUrl).protocol !== 'https:')
    return [
      {
        field: 'baseUrl',
        message: `auth profile "${profile.id}" is mutual TLS, which needs an https base URL (not "${system.baseUrl}")`,
      },
    ];
  return [];
}

/** Checks a whole definition as the catalog does: its schema, then the runtime rules. */
export interface ConfigurationRules {
  system(system: FulfilmentSystem): Problem[];
  interface(iface: SystemInterface): Problem[];
}

/** The rules under this catalog, for a seed's merge and an operator's change alike. */
export function configurationRules(
  catalog: Pick<Catalog, 'interfaces' | 'plans' | 'procedures' | 'asynchronousAdapters' | 'authProfiles'>,
): ConfigurationRules {
  const schemaProblems = (schema: z.ZodType, value: unknown): Problem[] => {
    const parsed = schema.safeParse(value);
    return parsed.success
      ? []
      : parsed.error.issues.map((issue) => ({
          field: issue.path.map(String).join('.'),
          message: issue.message,
        }));
  };
  return {
    system: (system) => [...schemaProblems(systemSchema, system), ...systemRuleProblems(system, catalog)],
    interface: (iface) => {
      const problems = schemaProblems(systemInterfaceSchema, iface);
      return problems.length > 0 ? problems : interfaceRuleProblems(iface, catalog);
    },
  };
}

/**
 * An operator's change of `before` into `after` (both whole definitions): the runtime fields it changes,
 * and the overrides after it. A field set back to the catalog's value is no longer an override.
 */
export function operatorChange(
  subject: ConfigurationSubject,
  before: object,
  after: object,
  overrides: Overrides,
  stamp: { at: string; by: Actor },
): { changes: FieldChange[]; overrides: Overrides } {
  const next: Overrides = { ...overrides };
  const changes: FieldChange[] = [];
  for (const field of RUNTIME_FIELDS[subject]) {
    const from = valueAt(before, field) ?? null;
    const to = valueAt(after, field) ?? null;
    if (sameJson(from, to)) continue;
    const catalogValue = field in overrides ? overrides[field]?.catalogValue : from;
    if (sameJson(to, catalogValue)) {
      delete next[field];
      changes.push({ field, from, to, note: "the catalog's value again: no longer an override" });
    } else {
      next[field] = { catalogValue: catalogValue ?? null, at: stamp.at, by: stamp.by };
      changes.push({ field, from, to });
    }
  }
  return { changes, overrides: next };
}

/** What a seed makes of one record. */
export interface SeedOutcome<T> {
  definition: T;
  overrides: Overrides;
  /** Every field of the definition the seed changes, from what to what, with why for an override dropped. */
  changes: FieldChange[];
  /** The overrides kept, and those dropped (the catalog changed their field, or their value broke a rule). */
  kept: string[];
  dropped: string[];
  /** The record's definition or overrides change. */
  changed: boolean;
}

/**
 * A seed of the catalog's definition onto a record (absent: a new one), field by field:
 * - a field no operator changed takes the catalog's value;
 * - a field an operator changed keeps the operator's value while the catalog's value is the one it was
 *   when the operator changed it;
 * - once the catalog's value is another, the catalog's new value wins and the override is dropped (when
 *   the catalog's new value is the operator's, the override simply ends);
 * - a kept value that breaks a rule under the new catalog (`problemsOf`) is dropped too, those a
 *   problem names first, then all of them: the catalog as deployed keeps every rule.
 */
export function seedMerge<T extends object>(
  subject: ConfigurationSubject,
  catalogDefinition: T,
  current: { definition: T; overrides: Overrides } | undefined,
  problemsOf?: (definition: T) => Problem[],
): SeedOutcome<T> {
  if (!current)
    return {
      definition: catalogDefinition,
      overrides: {},
      changes: [],
      kept: [],
      dropped: [],
      changed: true,
    };
  const runtime: readonly string[] = RUNTIME_FIELDS[subject];
  let definition = structuredClone(catalogDefinition);
  const overrides: Overrides = {};
  const notes = new Map<string, string>();
  for (const [field, override] of Object.entries(current.overrides)) {
    const catalogNow = valueAt(catalogDefinition, field);
    const operators = valueAt(current.definition, field);
    const who = `${override.by.name} (${override.by.id}) set on ${override.at}`;
    if (!runtime.includes(field))
      notes.set(field, "is no longer changed at runtime: the catalog's value applies");
    else if (sameJson(catalogNow, operators))
      notes.set(field, `the catalog now has the value ${who}: no longer an override`);
    else if (!sameJson(catalogNow, override.catalogValue))
      notes.set(
        field,
        `the catalog changed it from ${show(override.catalogValue)} to ${show(catalogNow)} since the override: its value replaces the one ${who}`,
      );
    else {
      definition = withValueAt(definition, field, operators);
      overrides[field] = override;
    }
  }
  if (problemsOf) {
    for (const pass of ['named', 'all'] as const) {
      const problems = Object.keys(overrides).length > 0 ? problemsOf(definition) : [];
      if (problems.length === 0) break;
      for (const [field, override] of Object.entries(overrides)) {
        const named = problems.find(
          (p) => p.field === field || p.field.startsWith(`${field}.`) || field.startsWith(`${p.field}.`),
        );
        if (pass === 'named' && !named) continue;
        definition = withValueAt(definition, field, valueAt(catalogDefinition, field));
        delete overrides[field];
        notes.set(
          field,
          `the value ${override.by.name} (${override.by.id}) set on ${override.at} breaks the deployed catalog's rules (${(named ?? problems[0])?.message}): the catalog's value applies`,
        );
      }
    }
  }
  const changes = diffFields(subject, current.definition, definition).map((change) => {
    const note = notes.get(change.field);
    return note ? { ...change, note } : change;
  });
  for (const [field, note] of notes) {
    // An override the catalog has caught up with changes no value, but the history says it ended.
    if (!changes.some((c) => c.field === field))
      changes.push({
        field,
        from: valueAt(current.definition, field) ?? null,
        to: valueAt(definition, field) ?? null,
        note,
      });
  }
  return {
    definition,
    overrides,
    changes,
    kept: Object.keys(overrides),
    dropped: [...notes.keys()],
    changed: changes.length > 0 || !sameJson(current.overrides, overrides),
  };
}

/**
 * The fields that differ between two definitions, by path: runtime fields at their own depth (a
 * system's two limits apart), every other field whole. An interface's seeded status is its initial
 * state, not configuration: a seed never applies it to a record that exists, so it is left out.
 */
export function diffFields(subject: ConfigurationSubject, before: object, after: object): FieldChange[] {
  const nested = new Set(
    RUNTIME_FIELDS[subject].filter((path) => path.includes('.')).map((path) => path.split('.')[0] ?? path),
  );
  const paths = new Set<string>();
  for (const name of new Set([...Object.keys(before), ...Object.keys(after)])) {
    if (subject === 'interface' && name === 'status') continue;
    if (!nested.has(name)) {
      paths.add(name);
      continue;
    }
    for (const side of [before, after]) {
      const inner = valueAt(side, name);
      if (inner && typeof inner === 'object')
        for (const key of Object.keys(inner)) paths.add(`${name}.${key}`);
    }
  }
  return [...paths]
    .sort()
    .map((field) => ({ field, from: valueAt(before, field) ?? null, to: valueAt(after, field) ?? null }))
    .filter((change) => !sameJson(change.from, change.to));
}
