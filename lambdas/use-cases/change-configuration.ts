import { randomUUID } from 'node:crypto';
import type { z } from 'zod';
import { mergePatch } from '../domain/amendment';
import {
  type Catalog,
  type FulfilmentSystem,
  type SystemInterface,
  systemInterfaceSchema,
  systemSchema,
} from '../domain/catalog';
import {
  NotFoundError,
  PreconditionFailedError,
  PreconditionRequiredError,
  type Problem,
  ValidationError,
} from '../domain/errors';
import type { Actor } from '../domain/roles';
import {
  type ConfigurationChange,
  type ConfigurationSubject,
  definitionOf,
  interfaceRuleProblems,
  operatorChange,
  readChangeBody,
  systemRuleProblems,
  valueAt,
} from '../domain/runtime-configuration';
import type {
  ConfigurationStore,
  InterfaceRecord,
  Reconfiguration,
  SystemRecord,
} from '../ports/configuration-store';
import { etagOf, type IfMatch, ifMatchHolds } from '../shared/etag';
import { problemsFrom } from '../shared/http';
import { logger } from '../shared/logger';

export interface ConfigurationDeps {
  config: ConfigurationStore;
  /** The deployed catalog: its rules bound what may change at runtime (its slowest timeout, its plans' waits). */
  catalog: Catalog;
  now: () => Date;
}

/** Who asks, and the `If-Match` they sent (undefined: none). */
export interface ChangeAsk {
  by: Actor;
  ifMatch: IfMatch | undefined;
}

/**
 * An operator changes a system's runtime configuration (`baseUrl`, `limits`, `circuitBreaker`) with a
 * JSON merge patch. Steps:
 * 1. read the system (404 when there is none);
 * 2. read the body: a reason, and only fields changed at runtime (400 naming each other field);
 * 3. require `If-Match` (428) naming the system's current revision (412);
 * 4. apply the patch to the system as it is and check the result as the catalog is checked: its schema,
 *    and the rules of the deployed catalog (400 naming each problem's field);
 * 5. decide the fields it changes and the overrides after it (domain/runtime-configuration.ts);
 * 6. write it in one write conditional on the revision (412 when another change came first), its history
 *    entry beside it.
 * A patch that changes no value writes nothing and answers `changed: false`.
 */
export function reconfigureSystem(
  deps: ConfigurationDeps,
  systemId: string,
  body: unknown,
  ask: ChangeAsk,
): Promise<{ system: SystemRecord; changed: boolean }> {
  return reconfigure(deps, 'system', systemId, body, ask, {
    read: (id) => deps.config.getSystem(id),
    check: (value) => checked(systemSchema, value, (s) => systemRuleProblems(s, deps.catalog)),
    write: (id, expected, next) => deps.config.reconfigureSystem(id, expected, next),
  }).then(({ record, changed }) => ({ system: record, changed }));
}

/** An operator changes an interface's runtime configuration (`timeoutSeconds`, `acceptedStatuses`, `asyncTimeoutSeconds`), as reconfigureSystem does. */
export function reconfigureInterface(
  deps: ConfigurationDeps,
  interfaceId: string,
  body: unknown,
  ask: ChangeAsk,
): Promise<{ iface: InterfaceRecord; changed: boolean }> {
  return reconfigure(deps, 'interface', interfaceId, body, ask, {
    read: (id) => deps.config.getInterface(id),
    check: (value) => checked(systemInterfaceSchema, value, (i) => interfaceRuleProblems(i, deps.catalog)),
    write: (id, expected, next) => deps.config.reconfigureInterface(id, expected, next),
  }).then(({ record, changed }) => ({ iface: record, changed }));
}

/**
 * Checks `If-Match` against a record's revision without changing its configuration (an interface's
 * status change): 412 when it names another revision; nothing to check without the header.
 */
export function checkIfMatch(ifMatch: IfMatch | undefined, record: { revision: number }, what: string): void {
  if (ifMatch && !ifMatchHolds(ifMatch, record.revision)) throw stale(what, record.revision);
}

interface Access<T extends SystemRecord | InterfaceRecord> {
  read(id: string): Promise<T | undefined>;
  check(value: unknown): { value: FulfilmentSystem | SystemInterface } | { problems: ValidationError };
  write(id: string, expected: number, next: Reconfiguration): Promise<T | 'stale'>;
}

async function reconfigure<T extends SystemRecord | InterfaceRecord>(
  deps: ConfigurationDeps,
  subject: ConfigurationSubject,
  id: string,
  body: unknown,
  ask: ChangeAsk,
  access: Access<T>,
): Promise<{ record: T; changed: boolean }> {
  const what = subject === 'system' ? `system "${id}"` : `system interface "${id}"`;
  const record = await access.read(id);
  if (!record) throw new NotFoundError(`no ${what}`);
  const read = readChangeBody(subject, body);
  if ('problems' in read) throw new ValidationError(read.problems);
  if (!ask.ifMatch)
    throw new PreconditionRequiredError(
      `a change of ${what}'s configuration needs If-Match with the ETag its GET answered (now ${etagOf(record.revision)}), so that it changes what you read`,
    );
  checkIfMatch(ask.ifMatch, record, what);
  const before = definitionOf(subject, record as FulfilmentSystem | SystemInterface);
  const after = access.check(mergePatch(before, read.patch));
  if ('problems' in after) throw after.problems;
  const at = deps.now().toISOString();
  const { changes, overrides } = operatorChange(subject, before, after.value, record.overrides, {
    at,
    by: ask.by,
  });
  if (changes.length === 0) return { record, changed: false };
  const change: ConfigurationChange = {
    id: randomUUID(),
    kind: 'configuration',
    at,
    by: ask.by,
    reason: read.reason,
    cause: 'operator',
    revision: record.revision + 1,
    changes,
  };
  const values = Object.fromEntries(changes.map((c) => [c.field, valueAt(after.value, c.field) ?? null]));
  const written = await access.write(id, record.revision, { values, overrides, change });
  // Another change came between the read and the write: this one was made against what is gone.
  if (written === 'stale') throw stale(what, undefined);
  logger.info(`${subject} configuration changed`, {
    [subject === 'system' ? 'system' : 'interface']: id,
    revision: change.revision,
    fields: changes.map((c) => c.field),
    by: ask.by.id,
  });
  return { record: written, changed: true };
}

/** The value the schema reads (defaults filled in), or every problem by field: the schema's, then the rules'. */
function checked<S extends FulfilmentSystem | SystemInterface>(
  schema: z.ZodType<S>,
  value: unknown,
  rules: (value: S) => Problem[],
): { value: S } | { problems: ValidationError } {
  const parsed = schema.safeParse(value);
  if (!parsed.success) return { problems: new ValidationError(problemsFrom(parsed.error.issues)) };
  const problems = rules(parsed.data);
  return problems.length > 0 ? { problems: new ValidationError(problems) } : { value: parsed.data };
}

function stale(what: string, revision: number | undefined): PreconditionFailedError {
  return new PreconditionFailedError(
    `${what} has changed since you read it${revision === undefined ? '' : ` (it is at ${etagOf(revision)})`}: nothing was written; GET it again, check what changed, and send your change with its new ETag`,
  );
}
