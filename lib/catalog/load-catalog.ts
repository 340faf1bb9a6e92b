import { readdirSync, readFileSync } from 'node:fs';
import { basename, extname, join, relative } from 'node:path';
import jsonata from 'jsonata';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { type AuthProfile, authProfileSchema } from '../../lambdas/domain/auth-profile';
import {
  asynchronousWaits,
  BUILT_IN_ADAPTERS,
  type Catalog,
  type FulfilmentSystem,
  isAsynchronousInterface,
  type SystemInterface,
  systemInterfaceSchema,
  systemSchema,
} from '../../lambdas/domain/catalog';
import { type Offering, offeringSchema } from '../../lambdas/domain/offering';
import { type Procedure, procedureSchema, stepExpressions } from '../../lambdas/domain/procedure';
import { asyncOnlyProblems } from '../../lambdas/domain/runtime-configuration';
import {
  type PlanDefinition,
  type PlanItem,
  planDefinitionSchema,
  slug,
} from '../../statemachines/plan-definition';
import { checkPlanGraph } from '../../statemachines/plan-graph';
import { readAdapterModule } from './adapter-modules';
import { characteristicReads } from './characteristic-reads';

/** One thing wrong in the catalog, with where it is. */
export interface CatalogProblem {
  file: string;
  /** A dotted path to the field, or the item it concerns. */
  where?: string;
  message: string;
}

export class CatalogError extends Error {
  constructor(readonly problems: CatalogProblem[]) {
    super(
      `The catalog has ${problems.length} problem${problems.length === 1 ? '' : 's'}:\n${problems
        .map((p) => `  ${p.file}${p.where ? ` (${p.where})` : ''}: ${p.message}`)
        .join('\n')}`,
    );
    this.name = 'CatalogError';
  }
}

export interface LoadCatalogOptions {
  /** Replaces systems' base URLs, e.g. to point the demo catalog at real systems or at test servers. */
  systemBaseUrls?: Record<string, string>;
}

const DATA_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

/**
 * Reads and validates a catalog folder: systems/, interfaces/, auth-profiles/, offerings/, plans/ (YAML or
 * JSON, one entry a file), mappings/ (one JSONata expression a file, named by the file) and adapters/ (custom
 * integration adapters, one TypeScript module a file, named by the file). Throws a CatalogError that lists
 * every problem with its file and field.
 */
export function loadCatalog(dir: string, options: LoadCatalogOptions = {}): Catalog {
  const problems: CatalogProblem[] = [];
  const display = (file: string) => relative(process.cwd(), file) || file;

  /** Ids of entries whose own file is invalid (already reported): references to them are not "unknown". */
  const invalidIds = new Set<string>();
  const readEntries = <S extends z.ZodType>(
    folder: string,
    schema: S,
    /** Says where an issue is, from the entry as read and the issue's path. */
    whereOf: (raw: unknown, path: PropertyKey[]) => string | undefined = (_raw, path) =>
      path.map(String).join('.') || undefined,
  ) => {
    const entries: { file: string; value: z.infer<S> }[] = [];
    for (const file of listFiles(join(dir, folder), DATA_EXTENSIONS)) {
      let raw: unknown;
      try {
        const text = readFileSync(file, 'utf8');
        raw = extname(file) === '.json' ? JSON.parse(text) : parseYaml(text);
      } catch (error) {
        problems.push({ file: display(file), message: `cannot be parsed: ${(error as Error).message}` });
        continue;
      }
      const result = schema.safeParse(raw);
      if (!result.success) {
        const id = (raw as { id?: unknown } | null)?.id;
        if (typeof id === 'string') invalidIds.add(`${folder}/${id}`);
        for (const issue of result.error.issues) {
          problems.push({ file: display(file), where: whereOf(raw, issue.path), message: issue.message });
        }
        continue;
      }
      entries.push({ file: display(file), value: result.data });
    }
    return entries;
  };

  const indexById = <T extends { id: string }>(kind: string, entries: { file: string; value: T }[]) => {
    const byId: Record<string, T> = {};
    const fileOf: Record<string, string> = {};
    for (const { file, value } of entries) {
      const seen = fileOf[value.id];
      if (seen)
        problems.push({ file, where: 'id', message: `${kind} "${value.id}" is also defined in ${seen}` });
      byId[value.id] = value;
      fileOf[value.id] = file;
    }
    return { byId, fileOf };
  };

  const systems = indexById<FulfilmentSystem>('system', readEntries('systems', systemSchema));
  const interfaces = indexById<SystemInterface>(
    'system interface',
    readEntries('interfaces', systemInterfaceSchema),
  );
  const plans = indexById<PlanDefinition>('plan', readEntries('plans', planDefinitionSchema));
  const authProfiles = indexById<AuthProfile>(
    'auth profile',
    readEntries('auth-profiles', authProfileSchema),
  );
  const procedures = indexById<Procedure>(
    'procedure',
    readEntries('procedures', procedureSchema, listEntryWhere('steps', 'step', 'id')),
  );
  const offerings = indexById<Offering>(
    'offering',
    readEntries('offerings', offeringSchema, listEntryWhere('characteristics', 'characteristic', 'name')),
  );
  const customAdapters = listFiles(join(dir, 'adapters'), new Set(['.ts'])).map((file) =>
    basename(file, '.ts'),
  );
  /** The custom adapters whose module says they are asynchronous (adapter-modules.ts). */
  const asynchronousAdapters: string[] = [];
  for (const name of customAdapters) {
    const file = join(dir, 'adapters', `${name}.ts`);
    const valid = slug.safeParse(name);
    if (!valid.success || (BUILT_IN_ADAPTERS as readonly string[]).includes(name)) {
      problems.push({
        file: display(file),
        message: valid.success
          ? `"${name}" is a built-in adapter's name`
          : `the file name is the adapter's name, and it ${valid.error.issues[0]?.message ?? 'is not valid'}`,
      });
      continue;
    }
    const module = readAdapterModule(file);
    if ('problems' in module)
      for (const message of module.problems) problems.push({ file: display(file), message });
    else if (module.asynchronous) asynchronousAdapters.push(name);
  }
  const asynchronous = (iface: SystemInterface) => isAsynchronousInterface({ asynchronousAdapters }, iface);

  const mappings: Record<string, string> = {};
  const mappingFiles: Record<string, string> = {};
  const invalidMappings = new Set<string>();
  for (const file of listFiles(join(dir, 'mappings'), new Set(['.jsonata']))) {
    const name = basename(file, '.jsonata');
    const expression = readFileSync(file, 'utf8');
    try {
      jsonata(expression);
      mappings[name] = expression;
      mappingFiles[name] = display(file);
    } catch (error) {
      invalidMappings.add(name);
      problems.push({
        file: display(file),
        message: `is not a valid JSONata expression: ${(error as Error).message}`,
      });
    }
  }

  for (const [id, url] of Object.entries(options.systemBaseUrls ?? {})) {
    const system = systems.byId[id];
    const valid = systemSchema.shape.baseUrl.safeParse(url);
    if (system && valid.success) system.baseUrl = valid.data;
    else if (system)
      problems.push({
        file: '(context switchboard:systemBaseUrls)',
        where: id,
        message: `"${url}" is not an http(s) URL`,
      });
    else
      problems.push({
        file: '(context switchboard:systemBaseUrls)',
        where: id,
        message: `unknown system "${id}"`,
      });
  }

  for (const [id, system] of Object.entries(systems.byId)) {
    if (
      system.authProfile !== undefined &&
      !authProfiles.byId[system.authProfile] &&
      !invalidIds.has(`auth-profiles/${system.authProfile}`)
    ) {
      problems.push({
        file: systems.fileOf[id] ?? id,
        where: 'authProfile',
        message: `unknown auth profile "${system.authProfile}" (expected auth-profiles/${system.authProfile}.yaml)`,
      });
    }
    // A client certificate is presented in a TLS handshake, which plain http never has.
    const profile = system.authProfile !== undefined ? authProfiles.byId[system.authProfile] : undefined;
    if (profile?.type === 'mtls' && new URL(system.baseUrl).protocol !== 'https:') {
      problems.push({
        file: systems.fileOf[id] ?? id,
        where: 'baseUrl',
        message: `auth profile "${profile.id}" is mutual TLS, which needs an https base URL (not "${system.baseUrl}")`,
      });
    }
  }

  for (const [id, iface] of Object.entries(interfaces.byId)) {
    const file = interfaces.fileOf[id] ?? id;
    if (!systems.byId[iface.system] && !invalidIds.has(`systems/${iface.system}`)) {
      problems.push({ file, where: 'system', message: `unknown system "${iface.system}"` });
    }
    if (
      !(BUILT_IN_ADAPTERS as readonly string[]).includes(iface.adapter) &&
      !customAdapters.includes(iface.adapter)
    ) {
      problems.push({
        file,
        where: 'adapter',
        message: `unknown adapter "${iface.adapter}": built in are ${BUILT_IN_ADAPTERS.join(', ')}; a custom one is adapters/${iface.adapter}.ts`,
      });
    }
    if (iface.callbackAuth && !asynchronous(iface)) {
      problems.push({
        file,
        where: 'callbackAuth',
        message: `only an asynchronous interface takes callbacks (async-rest, or a custom adapter whose module says asynchronous: true); this one's adapter is "${iface.adapter}"`,
      });
    }
    // The same rule the admin API holds an operator's runtime change to.
    for (const problem of asyncOnlyProblems(iface, { asynchronousAdapters }))
      problems.push({ file, where: problem.field, message: problem.message });
    const named = [
      ...(['requestMapping', 'responseMapping', 'asyncResponseMapping', 'callbackMapping'] as const).map(
        (field) => ({ where: field as string, name: iface[field] }),
      ),
      { where: 'polling.statusMapping', name: iface.polling?.statusMapping },
    ];
    for (const { where, name } of named) {
      if (name !== undefined && !(name in mappings) && !invalidMappings.has(name)) {
        problems.push({
          file,
          where,
          message: `unknown mapping "${name}" (expected mappings/${name}.jsonata)`,
        });
      }
    }
  }

  for (const [id, procedure] of Object.entries(procedures.byId)) {
    problems.push(
      ...checkProcedure(procedure, interfaces.byId, systems.byId, invalidIds).map((p) => ({
        file: procedures.fileOf[id] ?? id,
        ...p,
      })),
    );
  }

  const offeringOwners = new Map<string, string>();
  for (const [id, plan] of Object.entries(plans.byId)) {
    const file = plans.fileOf[id] ?? id;
    for (const problem of checkPlanGraph(plan)) {
      problems.push({ file, where: itemWhere(problem.item, problem.field), message: problem.message });
    }
    for (const item of plan.items) {
      // The plan's wait for the item must outlast the callouts' own deadlines, or the plan gives up first:
      // an asynchronous callout's, or those of a procedure's asynchronous steps, one after the other.
      const planWait = item.timeoutSeconds ?? plan.timeoutSeconds;
      const waits = asynchronousWaits(item, interfaces.byId, procedures.byId, asynchronous);
      const calloutWait = waits.reduce((sum, wait) => sum + wait.seconds, 0);
      if (waits.length > 0 && calloutWait >= planWait) {
        const which = item.procedure
          ? `procedure's asynchronous step${waits.length > 1 ? 's' : ''} ${waits.map((wait) => wait.what).join(' and ')}`
          : `asynchronous interface ${waits.map((wait) => wait.what).join('')}`;
        problems.push({
          file,
          where: itemWhere(
            item.id,
            item.timeoutSeconds !== undefined ? 'timeoutSeconds' : item.procedure ? 'procedure' : 'interface',
          ),
          message: `the plan waits at most ${planWait} s for this item, but its ${which} may take ${calloutWait} s (timeoutSeconds + asyncTimeoutSeconds); raise the plan's or the item's timeoutSeconds`,
        });
      }
      if (item.interface !== undefined && !interfaces.byId[item.interface]) {
        problems.push({
          file,
          where: itemWhere(item.id, 'interface'),
          message: `unknown system interface "${item.interface}"`,
        });
      }
      if (item.procedure !== undefined) {
        const procedure = procedures.byId[item.procedure];
        if (!procedure && !invalidIds.has(`procedures/${item.procedure}`)) {
          problems.push({
            file,
            where: itemWhere(item.id, 'procedure'),
            message: `unknown procedure "${item.procedure}" (expected procedures/${item.procedure}.yaml)`,
          });
        }
        if (procedure && procedure.inputs.length > 0 && item.input === undefined) {
          problems.push({
            file,
            where: itemWhere(item.id, 'input'),
            message: `procedure "${procedure.id}" takes ${procedure.inputs.join(', ')}: give the item an input mapping`,
          });
        }
      }
      problems.push(
        ...compensationProblems(item, interfaces.byId, procedures.byId, invalidIds).map((p) => ({
          file,
          ...p,
        })),
      );
      for (const field of ['condition', 'setAttributes', 'input', 'output'] as const) {
        const expression = item[field];
        if (expression === undefined) continue;
        try {
          jsonata(expression);
        } catch (error) {
          problems.push({
            file,
            where: itemWhere(item.id, field),
            message: `is not a valid JSONata expression: ${(error as Error).message}`,
          });
        }
      }
    }
    plan.fulfils.forEach(({ offering }, i) => {
      if (!offerings.byId[offering] && !invalidIds.has(`offerings/${offering}`))
        problems.push({
          file,
          where: `fulfils.${i}.offering`,
          message: `offering "${offering}" is not declared (expected offerings/${offering}.yaml, with id: ${offering})`,
        });
    });
    for (const { offering, actions } of plan.fulfils) {
      for (const action of actions) {
        const key = `${offering}/${action}`;
        const owner = offeringOwners.get(key);
        if (owner) {
          problems.push({
            file,
            where: 'fulfils',
            message: `offering "${offering}" (${action}) is already fulfilled by plan "${owner}"`,
          });
        }
        offeringOwners.set(key, id);
      }
    }
  }

  const fulfilled = new Set(Object.values(plans.byId).flatMap((plan) => plan.fulfils.map((f) => f.offering)));
  for (const [id, offering] of Object.entries(offerings.byId)) {
    if (!fulfilled.has(id) && Object.keys(plans.byId).length > 0)
      problems.push({
        file: offerings.fileOf[id] ?? id,
        where: 'id',
        message: `no plan fulfils offering "${offering.id}": every order for it would be refused`,
      });
  }
  problems.push(...checkCharacteristicReads(plans, offerings, interfaces.byId, mappings, mappingFiles));

  if (Object.keys(plans.byId).length === 0 && problems.length === 0) {
    problems.push({ file: display(join(dir, 'plans')), message: 'holds no plan definition' });
  }
  if (problems.length > 0) throw new CatalogError(problems);
  return {
    systems: systems.byId,
    interfaces: interfaces.byId,
    mappings,
    plans: plans.byId,
    procedures: procedures.byId,
    authProfiles: authProfiles.byId,
    customAdapters,
    asynchronousAdapters,
    offerings: offerings.byId,
  };
}

/**
 * Says where an issue in a list of an entry is by the element's own name: `steps.2.body` of a procedure
 * is `step "notify".body`, `characteristics.0.default` of an offering `characteristic "bandwidth".default`.
 */
function listEntryWhere(list: string, noun: string, key: string) {
  return (raw: unknown, path: PropertyKey[]): string | undefined => {
    const [head, index, ...rest] = path;
    if (head === list && typeof index === 'number') {
      const id = (raw as Record<string, Record<string, unknown>[] | undefined> | null)?.[list]?.[index]?.[
        key
      ];
      const element = typeof id === 'string' ? `${noun} "${id}"` : `${noun} ${index + 1}`;
      return rest.length > 0 ? `${element}.${rest.map(String).join('.')}` : element;
    }
    return path.map(String).join('.') || undefined;
  };
}

/**
 * Every characteristic a plan's expressions read by name (its items' conditions, auto tasks' mappings,
 * and its callouts' interface mappings) must be declared by every offering the plan fulfils: a typo, or a
 * characteristic an order never carries, fails the synth instead of an order. Each problem names the
 * file the expression is in (the plan, or the mapping) and the characteristic.
 */
function checkCharacteristicReads(
  plans: { byId: Record<string, PlanDefinition>; fileOf: Record<string, string> },
  offerings: { byId: Record<string, Offering>; fileOf: Record<string, string> },
  interfaces: Record<string, SystemInterface>,
  mappings: Record<string, string>,
  mappingFiles: Record<string, string>,
): CatalogProblem[] {
  const problems: CatalogProblem[] = [];
  const reported = new Set<string>();
  const readsOf = new Map<string, string[]>();
  const reads = (expression: string) => {
    let names = readsOf.get(expression);
    if (!names) {
      try {
        names = characteristicReads(expression);
      } catch {
        names = []; // not valid JSONata: reported where it is
      }
      readsOf.set(expression, names);
    }
    return names;
  };
  for (const [planId, plan] of Object.entries(plans.byId)) {
    const planFile = plans.fileOf[planId] ?? planId;
    /** Each expression the plan runs, where it is written, and (for a mapping) who runs it. */
    const sources: { file: string; where: string | undefined; expression: string; by: string }[] = [];
    for (const item of plan.items) {
      for (const field of ['condition', 'setAttributes', 'input', 'output'] as const) {
        const expression = item[field];
        if (expression !== undefined)
          sources.push({ file: planFile, where: itemWhere(item.id, field), expression, by: '' });
      }
      const iface = item.interface !== undefined ? interfaces[item.interface] : undefined;
      for (const field of ['requestMapping', 'responseMapping', 'asyncResponseMapping'] as const) {
        const name = iface?.[field];
        const expression = name !== undefined ? mappings[name] : undefined;
        if (name !== undefined && expression !== undefined)
          sources.push({
            file: mappingFiles[name] ?? name,
            where: undefined,
            expression,
            by: `as plan "${planId}" runs it for item "${item.id}" (interface "${iface?.id}"), it `,
          });
      }
    }
    for (const { offering: offeringId } of plan.fulfils) {
      const offering = offerings.byId[offeringId];
      if (!offering) continue;
      const declared = new Set(offering.characteristics.map((c) => c.name));
      for (const source of sources) {
        for (const name of reads(source.expression)) {
          const key = `${source.file}\n${source.where}\n${offeringId}\n${name}`;
          if (declared.has(name) || reported.has(key)) continue;
          reported.add(key);
          problems.push({
            file: source.file,
            ...(source.where ? { where: source.where } : {}),
            message: `${source.by}reads characteristic "${name}", which offering "${offeringId}" (${offerings.fileOf[offeringId]}) does not declare`,
          });
        }
      }
    }
  }
  return problems;
}

/**
 * What synth checks of a procedure beyond its shape: step ids unique, every expression valid JSONata,
 * every system and interface known (of any adapter: an asynchronous step waits for its callback), and
 * every declared output set by some set step.
 */
function checkProcedure(
  procedure: Procedure,
  interfaces: Record<string, SystemInterface>,
  systems: Record<string, FulfilmentSystem>,
  invalidIds: Set<string>,
): Omit<CatalogProblem, 'file'>[] {
  const problems: Omit<CatalogProblem, 'file'>[] = [];
  const seen = new Set<string>();
  const set = new Set<string>();
  for (const step of procedure.steps) {
    const where = (field?: string) => `step "${step.id}"${field ? `.${field}` : ''}`;
    if (seen.has(step.id)) problems.push({ where: where('id'), message: `step "${step.id}" appears twice` });
    seen.add(step.id);
    for (const { field, expression } of stepExpressions(step)) {
      try {
        jsonata(expression);
      } catch (error) {
        problems.push({
          where: where(field),
          message: `is not a valid JSONata expression: ${(error as Error).message}`,
        });
      }
    }
    if (step.type === 'set') for (const key of Object.keys(step.values)) set.add(key);
    if (step.type !== 'http') continue;
    if (step.interface !== undefined) {
      const iface = interfaces[step.interface];
      if (!iface && !invalidIds.has(`interfaces/${step.interface}`))
        problems.push({ where: where('interface'), message: `unknown system interface "${step.interface}"` });
    }
    if (step.system !== undefined && !systems[step.system] && !invalidIds.has(`systems/${step.system}`))
      problems.push({ where: where('system'), message: `unknown system "${step.system}"` });
  }
  procedure.outputs.forEach((output, i) => {
    if (!set.has(output))
      problems.push({
        where: `outputs.${i}`,
        message: `output "${output}" is never produced: no set step sets it`,
      });
  });
  return problems;
}

/** What synth checks of an item's compensation beyond its shape: that what it runs exists and parses. */
function compensationProblems(
  item: PlanItem,
  interfaces: Record<string, SystemInterface>,
  procedures: Record<string, Procedure>,
  invalidIds: Set<string>,
): { where: string | undefined; message: string }[] {
  const { compensation } = item;
  if (compensation === undefined) return [];
  const where = (field: string) => itemWhere(item.id, `compensation.${field}`);
  const problems: { where: string | undefined; message: string }[] = [];
  if (compensation.interface !== undefined && !interfaces[compensation.interface])
    problems.push({
      where: where('interface'),
      message: `unknown system interface "${compensation.interface}"`,
    });
  if (compensation.procedure !== undefined) {
    const procedure = procedures[compensation.procedure];
    if (!procedure && !invalidIds.has(`procedures/${compensation.procedure}`))
      problems.push({
        where: where('procedure'),
        message: `unknown procedure "${compensation.procedure}" (expected procedures/${compensation.procedure}.yaml)`,
      });
    if (procedure && procedure.inputs.length > 0 && compensation.input === undefined)
      problems.push({
        where: where('input'),
        message: `procedure "${procedure.id}" takes ${procedure.inputs.join(', ')}: give the compensation an input mapping`,
      });
  }
  if (compensation.input !== undefined) {
    try {
      jsonata(compensation.input);
    } catch (error) {
      problems.push({
        where: where('input'),
        message: `is not a valid JSONata expression: ${(error as Error).message}`,
      });
    }
  }
  return problems;
}

function itemWhere(item: string | undefined, field: string | undefined): string | undefined {
  if (item === undefined) return field;
  return `item "${item}"${field ? `.${field}` : ''}`;
}

function listFiles(dir: string, extensions: Set<string>): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .filter((name) => extensions.has(extname(name)))
    .sort()
    .map((name) => join(dir, name));
}
