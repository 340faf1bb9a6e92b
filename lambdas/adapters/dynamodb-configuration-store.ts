import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { FulfilmentSystem, SystemInterface } from '../domain/catalog';
import type {
  ConfigurationStore,
  InterfaceRecord,
  SeedResult,
  SystemRecord,
} from '../ports/configuration-store';
import { CONFIGURATION_BY_KIND } from '../shared/configuration-table';

const systemKey = (id: string) => ({ pk: `SYSTEM#${id}`, sk: 'SYSTEM' });
const interfaceKey = (id: string) => ({ pk: `INTERFACE#${id}`, sk: 'INTERFACE' });
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
  ): Promise<{ system: SystemRecord; iface: InterfaceRecord } | undefined> {
    const iface = await this.getInterface(interfaceId);
    if (!iface) return undefined;
    const system = await this.getSystem(iface.system);
    return system ? { system, iface } : undefined;
  }

  private async queryKind(kind: string): Promise<Record<string, unknown>[]> {
    const records: Record<string, unknown>[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.db.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: CONFIGURATION_BY_KIND,
          KeyConditionExpression: 'listKind = :kind',
          ExpressionAttributeValues: { ':kind': kind },
          ExclusiveStartKey: startKey,
        }),
      );
      records.push(...(page.Items ?? []));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return records;
  }
}

function toSystem(record: Record<string, unknown>): SystemRecord {
  return {
    ...(record.definition as FulfilmentSystem),
    state: record.state as SystemRecord['state'],
    seededAt: String(record.seededAt),
    updatedAt: String(record.updatedAt),
  };
}

function toInterface(record: Record<string, unknown>): InterfaceRecord {
  return {
    ...(record.definition as SystemInterface),
    status: record.status as InterfaceRecord['status'],
    seededAt: String(record.seededAt),
    updatedAt: String(record.updatedAt),
  };
}
