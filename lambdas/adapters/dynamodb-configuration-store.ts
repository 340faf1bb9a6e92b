import { randomUUID } from 'node:crypto';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { AvailabilityChange } from '../domain/availability';
import type { FulfilmentSystem, InterfaceStatus, SystemInterface, SystemState } from '../domain/catalog';
import type { Problem } from '../domain/errors';
import {
  type ConfigurationChange,
  type ConfigurationRules,
  type ConfigurationSubject,
  DEPLOY_ACTOR,
  DEPLOY_REASON,
  type Overrides,
  seedMerge,
  withValueAt,
} from '../domain/runtime-configuration';
import type {
  ChangeGuard,
  ChangeRequest,
  ConfigurationStore,
  HistoryEntry,
  InterfaceRecord,
  MaintenanceWindow,
  Reconfiguration,
  SeedResult,
  SystemRecord,
} from '../ports/configuration-store';
import { batchGet } from '../shared/batch-get';
import { queryKind } from '../shared/configuration-table';

const systemKey = (id: string) => ({ pk: `SYSTEM#${id}`, sk: 'SYSTEM' });
const interfaceKey = (id: string) => ({ pk: `INTERFACE#${id}`, sk: 'INTERFACE' });
const historySk = (change: Pick<HistoryEntry, 'at' | 'id'>) => `HISTORY#${change.at}#${change.id}`;
const SYSTEMS_KIND = 'SYSTEMS';
const interfacesKind = (systemId: string) => `INTERFACES#${systemId}`;
/** How often a seed merges again on a record an operator changed meanwhile before it gives up. */
const SEED_ATTEMPTS = 5;

/** A record's revision; 0 for one seeded before revisions were kept. */
const revisionOf = (record: Record<string, unknown> | undefined): number => Number(record?.revision ?? 0);

/** The condition that the record is still at the revision read (`:expected`, or none yet). */
const revisionCondition = (record: Record<string, unknown>): string =>
  record.revision === undefined
    ? 'attribute_exists(pk) AND attribute_not_exists(revision)'
    : 'revision = :expected';

/**
 * Systems and interfaces, one record each. The definition is kept whole in `definition`: the catalog's,
 * with the fields operators changed at runtime (their `overrides`, each with the catalog's value it
 * replaced), counted by `revision`. A seed writes it again as seedMerge decides; the runtime state
 * (`state`, `status`) sits beside it and a seed only sets it when there is none yet, so a redeploy never
 * brings a system an operator took Down back Up.
 */
export class DynamoDbConfigurationStore implements ConfigurationStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async seed(
    systems: FulfilmentSystem[],
    interfaces: SystemInterface[],
    at: string,
    rules?: ConfigurationRules,
  ): Promise<SeedResult> {
    const overrides: SeedResult['overrides'] = { kept: [], dropped: [] };
    for (const system of systems) {
      const { kept, dropped } = await this.seedOne('system', system, at, rules?.system, {
        key: systemKey(system.id),
        kind: SYSTEMS_KIND,
        initial: { field: 'state', value: 'Up' },
      });
      overrides.kept.push(...kept.map((field) => `system ${system.id} ${field}`));
      overrides.dropped.push(...dropped.map((field) => `system ${system.id} ${field}`));
    }
    for (const iface of interfaces) {
      const { kept, dropped } = await this.seedOne('interface', iface, at, rules?.interface, {
        key: interfaceKey(iface.id),
        kind: interfacesKind(iface.system),
        initial: { field: 'status', value: iface.status },
      });
      overrides.kept.push(...kept.map((field) => `interface ${iface.id} ${field}`));
      overrides.dropped.push(...dropped.map((field) => `interface ${iface.id} ${field}`));
    }
    // What the catalog no longer has goes: its interfaces first, so none is ever left without its system.
    const removed: string[] = [];
    const keepSystems = new Set(systems.map((s) => s.id));
    const keepInterfaces = new Set(interfaces.map((i) => i.id));
    const existing = await this.listSystems();
    for (const system of existing) {
      for (const iface of await this.interfacesOf(system.id)) {
        // One that moved to another system was re-seeded above under its new system.
        if (keepInterfaces.has(iface.id)) continue;
        await this.db.send(new DeleteCommand({ TableName: this.tableName, Key: interfaceKey(iface.id) }));
        removed.push(`interface ${iface.id}`);
      }
    }
    for (const system of existing) {
      if (keepSystems.has(system.id)) continue;
      await this.db.send(new DeleteCommand({ TableName: this.tableName, Key: systemKey(system.id) }));
      removed.push(`system ${system.id}`);
    }
    return { systems: systems.length, interfaces: interfaces.length, removed, overrides };
  }

  /**
   * Seeds one record: reads it, merges the catalog's definition with what operators changed (seedMerge),
   * and writes the result in one write conditional on the revision it read, so an operator's change made
   * meanwhile is never lost: the merge is made again on what it wrote. The runtime state (`state`,
   * `status`) is set only when there is none yet. A change of the configuration is kept in the history.
   */
  private async seedOne<T extends FulfilmentSystem | SystemInterface>(
    subject: ConfigurationSubject,
    definition: T,
    at: string,
    rule: ((definition: T) => Problem[]) | undefined,
    record: { key: { pk: string; sk: string }; kind: string; initial: { field: string; value: string } },
  ): Promise<{ kept: string[]; dropped: string[] }> {
    for (let attempt = 1; ; attempt++) {
      const current = (
        await this.db.send(
          new GetCommand({ TableName: this.tableName, Key: record.key, ConsistentRead: true }),
        )
      ).Item;
      const merged = seedMerge(
        subject,
        definition,
        current
          ? {
              definition: current.definition as T,
              overrides: (current.overrides as Overrides | undefined) ?? {},
            }
          : undefined,
        rule,
      );
      const revision = revisionOf(current);
      // A record seeded before revisions were kept gets its first one now.
      const next = !current ? 1 : merged.changed || current.revision === undefined ? revision + 1 : revision;
      const change: ConfigurationChange | undefined =
        current && merged.changes.length > 0
          ? {
              id: randomUUID(),
              kind: 'configuration',
              at,
              by: DEPLOY_ACTOR,
              reason: DEPLOY_REASON,
              cause: 'deploy',
              revision: next,
              changes: merged.changes,
            }
          : undefined;
      try {
        await this.db.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: record.key,
            UpdateExpression: [
              'SET #definition = :definition, overrides = :overrides, revision = :revision',
              '#initial = if_not_exists(#initial, :initial), seededAt = :at',
              'updatedAt = if_not_exists(updatedAt, :at), listKind = :kind, listSort = :id',
              ...(change ? ['lastConfigChange = :change'] : []),
            ].join(', '),
            ConditionExpression: current ? revisionCondition(current) : 'attribute_not_exists(pk)',
            ExpressionAttributeNames: { '#initial': record.initial.field, '#definition': 'definition' },
            ExpressionAttributeValues: {
              ':definition': merged.definition,
              ':overrides': merged.overrides,
              ':revision': next,
              ':initial': record.initial.value,
              ':at': at,
              ':kind': record.kind,
              ':id': definition.id,
              ...(current?.revision !== undefined ? { ':expected': revision } : {}),
              ...(change ? { ':change': change } : {}),
            },
          }),
        );
      } catch (error) {
        // An operator changed it since the read (or it came into being): merge again on what is there.
        if (isConditionFailure(error) && attempt < SEED_ATTEMPTS) continue;
        throw error;
      }
      // The change before it is written again, as availability changes do: no history is lost to a
      // writer that died between its two writes.
      const previous = current?.lastConfigChange as ConfigurationChange | undefined;
      if (change)
        for (const kept of [previous, change]) if (kept) await this.keepHistory(record.key.pk, kept);
      return { kept: merged.kept, dropped: merged.dropped };
    }
  }

  async listSystems(): Promise<SystemRecord[]> {
    return (await this.queryKind(SYSTEMS_KIND)).map(toSystem);
  }

  async getSystem(systemId: string): Promise<SystemRecord | undefined> {
    const result = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: systemKey(systemId), ConsistentRead: true }),
    );
    return result.Item ? toSystem(result.Item) : undefined;
  }

  async interfacesOf(systemId: string): Promise<InterfaceRecord[]> {
    return (await this.queryKind(interfacesKind(systemId))).map(toInterface);
  }

  async getInterface(interfaceId: string): Promise<InterfaceRecord | undefined> {
    const result = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: interfaceKey(interfaceId), ConsistentRead: true }),
    );
    return result.Item ? toInterface(result.Item) : undefined;
  }

  async calloutTarget(
    interfaceId: string,
    systemId?: string,
  ): Promise<{ system: SystemRecord; iface: InterfaceRecord } | undefined> {
    if (systemId === undefined) {
      const iface = await this.getInterface(interfaceId);
      if (!iface) return undefined;
      const system = await this.getSystem(iface.system);
      return system ? { system, iface } : undefined;
    }
    // Both records in one round trip, strongly consistent: every callout reads them.
    const records = await batchGet(this.db, this.tableName, [systemKey(systemId), interfaceKey(interfaceId)]);
    const ifaceRecord = records.find((r) => r.pk === interfaceKey(interfaceId).pk);
    if (!ifaceRecord) return undefined;
    const iface = toInterface(ifaceRecord);
    // An interface the catalog moved to another system since: its own system, read on its own.
    const systemRecord = records.find((r) => r.pk === systemKey(iface.system).pk);
    const system = systemRecord ? toSystem(systemRecord) : await this.getSystem(iface.system);
    return system ? { system, iface } : undefined;
  }

  async setSystemState(
    systemId: string,
    state: SystemState,
    change: ChangeRequest,
    guard?: ChangeGuard,
  ): Promise<{ system: SystemRecord; changed: boolean } | undefined> {
    const changed = await this.change(systemKey(systemId), 'state', state, change, guard);
    const system = await this.getSystem(systemId);
    return system ? { system, changed } : undefined;
  }

  async setInterfaceStatus(
    interfaceId: string,
    status: InterfaceStatus,
    change: ChangeRequest,
  ): Promise<{ iface: InterfaceRecord; changed: boolean } | undefined> {
    const changed = await this.change(interfaceKey(interfaceId), 'status', status, change);
    const iface = await this.getInterface(interfaceId);
    return iface ? { iface, changed } : undefined;
  }

  async reconfigureSystem(
    systemId: string,
    expected: number,
    reconfiguration: Reconfiguration,
  ): Promise<SystemRecord | 'stale'> {
    const record = await this.reconfigure(systemKey(systemId), expected, reconfiguration);
    return record === 'stale' ? record : toSystem(record);
  }

  async reconfigureInterface(
    interfaceId: string,
    expected: number,
    reconfiguration: Reconfiguration,
  ): Promise<InterfaceRecord | 'stale'> {
    const record = await this.reconfigure(interfaceKey(interfaceId), expected, reconfiguration);
    return record === 'stale' ? record : toInterface(record);
  }

  /**
   * One write, conditional on the revision: each changed field of the definition (by its path inside
   * it, so nothing else of the definition is written), the overrides, the new revision and the change
   * itself (`lastConfigChange`); the history record follows, and the change before it is written again.
   * Answers the record as written.
   */
  private async reconfigure(
    key: { pk: string; sk: string },
    expected: number,
    { values, overrides, change }: Reconfiguration,
  ): Promise<Record<string, unknown> | 'stale'> {
    const names: Record<string, string> = { '#definition': 'definition' };
    const attributeValues: Record<string, unknown> = {
      ':overrides': overrides,
      ':revision': change.revision,
      ':at': change.at,
      ':change': change,
    };
    const sets = [
      'overrides = :overrides',
      'revision = :revision',
      'updatedAt = :at',
      'lastConfigChange = :change',
    ];
    const removes: string[] = [];
    Object.entries(values).forEach(([path, value], i) => {
      const segments = path.split('.').map((segment, j) => {
        names[`#p${i}_${j}`] = segment;
        return `#p${i}_${j}`;
      });
      const target = ['#definition', ...segments].join('.');
      if (value === null || value === undefined) removes.push(target);
      else {
        sets.push(`${target} = :v${i}`);
        attributeValues[`:v${i}`] = value;
      }
    });
    if (expected > 0) attributeValues[':expected'] = expected;
    let old: Record<string, unknown> | undefined;
    try {
      const result = await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: key,
          UpdateExpression: `SET ${sets.join(', ')}${removes.length > 0 ? ` REMOVE ${removes.join(', ')}` : ''}`,
          ConditionExpression:
            expected > 0 ? 'revision = :expected' : 'attribute_exists(pk) AND attribute_not_exists(revision)',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: attributeValues,
          ReturnValues: 'ALL_OLD',
        }),
      );
      old = result.Attributes;
    } catch (error) {
      if (isConditionFailure(error)) return 'stale';
      throw error;
    }
    const previous = old?.lastConfigChange as ConfigurationChange | undefined;
    for (const kept of previous ? [previous, change] : [change]) await this.keepHistory(key.pk, kept);
    let definition = old?.definition as Record<string, unknown>;
    for (const [path, value] of Object.entries(values)) definition = withValueAt(definition, path, value);
    return {
      ...old,
      definition,
      overrides,
      revision: change.revision,
      updatedAt: change.at,
      lastConfigChange: change,
    };
  }

  /**
   * One conditional write changes the state and keeps the change on the record (`lastChange`); the
   * history record follows. Each change also writes its predecessor's history record again (the same
   * key, so the same record), so a writer that died between the two writes loses no history.
   */
  private async change(
    key: { pk: string; sk: string },
    field: 'state' | 'status',
    to: SystemState | InterfaceStatus,
    request: ChangeRequest,
    guard?: ChangeGuard,
  ): Promise<boolean> {
    const conditions = ['attribute_exists(pk)', guard?.takeOver ? '#field = :to' : '#field <> :to'];
    const values: Record<string, unknown> = { ':to': to, ':at': request.at };
    if (guard) {
      conditions.push('lastChange.#cause = :cause');
      values[':cause'] = guard.cause;
      if (guard.windowId !== undefined) {
        conditions.push('lastChange.windowId = :window');
        values[':window'] = guard.windowId;
      }
    }
    const current = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }),
    );
    if (!current.Item) return false;
    const from = current.Item[field] as SystemState | InterfaceStatus;
    const previousId = (current.Item.lastChange as AvailabilityChange | undefined)?.id;
    const change: AvailabilityChange = {
      id: randomUUID(),
      at: request.at,
      by: request.by,
      reason: request.reason,
      cause: request.cause,
      ...(request.windowId !== undefined ? { windowId: request.windowId } : {}),
      from,
      to,
      ...(previousId ? { follows: previousId } : {}),
    };
    values[':change'] = change;
    values[':from'] = from;
    conditions.push('#field = :from');
    // Against a change made since this read (a take-over must take over what it read).
    if (previousId !== undefined) {
      values[':previous'] = previousId;
      conditions.push('lastChange.id = :previous');
    } else conditions.push('attribute_not_exists(lastChange)');
    let previous: AvailabilityChange | undefined;
    try {
      const result = await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: key,
          UpdateExpression: 'SET #field = :to, lastChange = :change, updatedAt = :at',
          ConditionExpression: conditions.join(' AND '),
          ExpressionAttributeNames: { '#field': field, ...(guard ? { '#cause': 'cause' } : {}) },
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_OLD',
        }),
      );
      previous = result.Attributes?.lastChange as AvailabilityChange | undefined;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
    for (const kept of previous ? [previous, change] : [change]) await this.keepHistory(key.pk, kept);
    return true;
  }

  /**
   * Writes a change's history record (again: writing the same change twice keeps one record). An update
   * rather than a put, so that the functions that change states need update rights only.
   */
  private async keepHistory(pk: string, change: HistoryEntry): Promise<void> {
    const fields = Object.entries(change);
    await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk, sk: historySk(change) },
        UpdateExpression: `SET ${fields.map((_, i) => `#f${i} = :v${i}`).join(', ')}`,
        ExpressionAttributeNames: Object.fromEntries(fields.map(([name], i) => [`#f${i}`, name])),
        ExpressionAttributeValues: Object.fromEntries(fields.map(([, value], i) => [`:v${i}`, value])),
      }),
    );
  }

  async history(subject: 'system' | 'interface', id: string, limit: number): Promise<HistoryEntry[]> {
    const key = subject === 'system' ? systemKey(id) : interfaceKey(id);
    const page = await this.db.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :history)',
        ExpressionAttributeValues: { ':pk': key.pk, ':history': 'HISTORY#' },
        ScanIndexForward: false,
        Limit: limit,
        ConsistentRead: true,
      }),
    );
    const changes = (page.Items ?? []).map(({ pk: _pk, sk: _sk, ...change }) => change as HistoryEntry);
    // The latest changes are on the record itself, in case their history records are not written yet.
    const record = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }),
    );
    const latest = [record.Item?.lastChange, record.Item?.lastConfigChange] as (HistoryEntry | undefined)[];
    const missing = latest.filter(
      (last): last is HistoryEntry => !!last && !changes.some((c) => c.id === last.id),
    );
    if (missing.length === 0) return changes.slice(0, limit);
    return [...missing, ...changes].sort((a, b) => historySk(b).localeCompare(historySk(a))).slice(0, limit);
  }

  async recordConnectionFailure(systemId: string): Promise<number> {
    const result = await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: systemKey(systemId),
        UpdateExpression: 'ADD consecutiveFailures :one',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':one': 1 },
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    return Number(result.Attributes?.consecutiveFailures ?? 0);
  }

  async resetConnectionFailures(systemId: string): Promise<void> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: systemKey(systemId),
          UpdateExpression: 'SET consecutiveFailures = :zero',
          ConditionExpression: 'consecutiveFailures > :zero',
          ExpressionAttributeValues: { ':zero': 0 },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }

  /**
   * A system's windows live in one map on its record, so the overlap check and the write are one
   * conditional write: the window is added only if the map is still the one the check read
   * (`windowsVersion`), and two operators cannot add overlapping windows.
   */
  async addMaintenanceWindow(
    window: MaintenanceWindow,
  ): Promise<{ added: true } | { added: false; overlaps: MaintenanceWindow }> {
    const key = systemKey(window.systemId);
    for (;;) {
      const record = await this.systemRecord(window.systemId);
      if (!record) throw new Error(`no system "${window.systemId}" to add a maintenance window to`);
      const version = Number(record.windowsVersion ?? 0);
      const overlaps = windowsOf(record).find(
        // Touching counts: a window ending at the instant the next starts would bring the system Up
        // under the next one, should its end run after the next one's start.
        (w) => w.endedAt === undefined && w.start <= window.end && window.start <= w.end,
      );
      if (overlaps) return { added: false, overlaps };
      try {
        await this.db.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: key,
            UpdateExpression: record.windows
              ? 'SET windows.#id = :window, windowsVersion = :next'
              : 'SET windows = :windows, windowsVersion = :next',
            ConditionExpression: record.windows
              ? 'windowsVersion = :version'
              : 'attribute_exists(pk) AND attribute_not_exists(windows)',
            ...(record.windows ? { ExpressionAttributeNames: { '#id': window.id } } : {}),
            ExpressionAttributeValues: {
              ':next': version + 1,
              ...(record.windows
                ? { ':window': window, ':version': version }
                : { ':windows': { [window.id]: window } }),
            },
          }),
        );
        return { added: true };
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
        // Another window came meanwhile: check again.
      }
    }
  }

  async maintenanceWindows(systemId: string): Promise<MaintenanceWindow[]> {
    const record = await this.systemRecord(systemId);
    return record ? windowsOf(record).sort((a, b) => a.start.localeCompare(b.start)) : [];
  }

  async getMaintenanceWindow(systemId: string, windowId: string): Promise<MaintenanceWindow | undefined> {
    const record = await this.systemRecord(systemId);
    return record ? windowsOf(record).find((w) => w.id === windowId) : undefined;
  }

  async removeMaintenanceWindow(systemId: string, windowId: string): Promise<MaintenanceWindow | undefined> {
    try {
      const result = await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: systemKey(systemId),
          UpdateExpression: 'REMOVE windows.#id ADD windowsVersion :one',
          ConditionExpression: 'attribute_exists(windows.#id)',
          ExpressionAttributeNames: { '#id': windowId },
          ExpressionAttributeValues: { ':one': 1 },
          ReturnValues: 'ALL_OLD',
        }),
      );
      return (result.Attributes?.windows as Record<string, MaintenanceWindow> | undefined)?.[windowId];
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
  }

  async markMaintenanceWindow(
    systemId: string,
    windowId: string,
    phase: 'startedAt' | 'endedAt',
    at: string,
  ): Promise<boolean> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: systemKey(systemId),
          UpdateExpression: 'SET windows.#id.#phase = :at ADD windowsVersion :one',
          ConditionExpression: 'attribute_exists(windows.#id) AND attribute_not_exists(windows.#id.#phase)',
          ExpressionAttributeNames: { '#id': windowId, '#phase': phase },
          ExpressionAttributeValues: { ':at': at, ':one': 1 },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  private async systemRecord(systemId: string): Promise<Record<string, unknown> | undefined> {
    const result = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: systemKey(systemId), ConsistentRead: true }),
    );
    return result.Item;
  }

  private queryKind(kind: string): Promise<Record<string, unknown>[]> {
    return queryKind(this.db, this.tableName, kind);
  }
}

function toSystem(record: Record<string, unknown>): SystemRecord {
  return {
    ...(record.definition as FulfilmentSystem),
    state: record.state as SystemRecord['state'],
    ...(record.lastChange ? { stateChange: record.lastChange as AvailabilityChange } : {}),
    ...(typeof record.consecutiveFailures === 'number'
      ? { consecutiveFailures: record.consecutiveFailures }
      : {}),
    revision: revisionOf(record),
    overrides: (record.overrides as Overrides | undefined) ?? {},
    seededAt: String(record.seededAt),
    updatedAt: String(record.updatedAt),
  };
}

function toInterface(record: Record<string, unknown>): InterfaceRecord {
  return {
    ...(record.definition as SystemInterface),
    status: record.status as InterfaceRecord['status'],
    ...(record.lastChange ? { statusChange: record.lastChange as AvailabilityChange } : {}),
    revision: revisionOf(record),
    overrides: (record.overrides as Overrides | undefined) ?? {},
    seededAt: String(record.seededAt),
    updatedAt: String(record.updatedAt),
  };
}

function windowsOf(record: Record<string, unknown>): MaintenanceWindow[] {
  return Object.values((record.windows as Record<string, MaintenanceWindow> | undefined) ?? {});
}

function isConditionFailure(error: unknown): boolean {
  return (
    error instanceof ConditionalCheckFailedException ||
    (error as Error).name === 'ConditionalCheckFailedException'
  );
}
