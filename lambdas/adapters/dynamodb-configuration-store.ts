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
import type {
  ChangeGuard,
  ChangeRequest,
  ConfigurationStore,
  InterfaceRecord,
  MaintenanceWindow,
  SeedResult,
  SystemRecord,
} from '../ports/configuration-store';
import { batchGet } from '../shared/batch-get';
import { queryKind } from '../shared/configuration-table';

const systemKey = (id: string) => ({ pk: `SYSTEM#${id}`, sk: 'SYSTEM' });
const interfaceKey = (id: string) => ({ pk: `INTERFACE#${id}`, sk: 'INTERFACE' });
const historySk = (change: Pick<AvailabilityChange, 'at' | 'id'>) => `HISTORY#${change.at}#${change.id}`;
const SYSTEMS_KIND = 'SYSTEMS';
const interfacesKind = (systemId: string) => `INTERFACES#${systemId}`;

/**
 * Systems and interfaces, one record each. The catalog's definition is kept whole in `definition` and
 * replaced at every seed; the runtime state (`state`, `status`) sits beside it and a seed only sets it
 * when there is none yet, so a redeploy never brings a system an operator took Down back Up.
 */
export class DynamoDbConfigurationStore implements ConfigurationStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async seed(systems: FulfilmentSystem[], interfaces: SystemInterface[], at: string): Promise<SeedResult> {
    for (const system of systems) {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: systemKey(system.id),
          UpdateExpression:
            'SET #definition = :definition, #state = if_not_exists(#state, :up), seededAt = :at, updatedAt = if_not_exists(updatedAt, :at), listKind = :kind, listSort = :id',
          ExpressionAttributeNames: { '#state': 'state', '#definition': 'definition' },
          ExpressionAttributeValues: {
            ':definition': system,
            ':up': 'Up',
            ':at': at,
            ':kind': SYSTEMS_KIND,
            ':id': system.id,
          },
        }),
      );
    }
    for (const iface of interfaces) {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: interfaceKey(iface.id),
          UpdateExpression:
            'SET #definition = :definition, #status = if_not_exists(#status, :initial), seededAt = :at, updatedAt = if_not_exists(updatedAt, :at), listKind = :kind, listSort = :id',
          ExpressionAttributeNames: { '#status': 'status', '#definition': 'definition' },
          ExpressionAttributeValues: {
            ':definition': iface,
            ':initial': iface.status,
            ':at': at,
            ':kind': interfacesKind(iface.system),
            ':id': iface.id,
          },
        }),
      );
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
    return { systems: systems.length, interfaces: interfaces.length, removed };
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
  private async keepHistory(pk: string, change: AvailabilityChange): Promise<void> {
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

  async history(subject: 'system' | 'interface', id: string, limit: number): Promise<AvailabilityChange[]> {
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
    const changes = (page.Items ?? []).map(({ pk: _pk, sk: _sk, ...change }) => change as AvailabilityChange);
    // The latest change is on the record itself, in case its history record is not written yet.
    const record = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }),
    );
    const last = record.Item?.lastChange as AvailabilityChange | undefined;
    if (last && !changes.some((c) => c.id === last.id)) changes.unshift(last);
    return changes.slice(0, limit);
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
    seededAt: String(record.seededAt),
    updatedAt: String(record.updatedAt),
  };
}

function toInterface(record: Record<string, unknown>): InterfaceRecord {
  return {
    ...(record.definition as SystemInterface),
    status: record.status as InterfaceRecord['status'],
    ...(record.lastChange ? { statusChange: record.lastChange as AvailabilityChange } : {}),
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
