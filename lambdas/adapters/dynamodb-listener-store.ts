import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { ListenerRecord } from '../domain/listener';
import type { ListenerStore } from '../ports/listener-store';
import { queryKind } from '../shared/configuration-table';

const listenerKey = (id: string) => ({ pk: `LISTENER#${id}`, sk: 'LISTENER' });
const LISTENERS_KIND = 'LISTENERS';

/**
 * Listeners in the configuration table (`LISTENER#<id>` / `LISTENER`), listed through its
 * `configurationByKind` index (`LISTENERS`), which projects every attribute: the delivery function
 * reads them all from one query.
 */
export class DynamoDbListenerStore implements ListenerStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async create(listener: ListenerRecord): Promise<void> {
    await this.db.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { ...listenerKey(listener.id), ...listener, listKind: LISTENERS_KIND, listSort: listener.id },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  }

  async get(id: string): Promise<ListenerRecord | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: listenerKey(id), ConsistentRead: true }),
    );
    return Item ? toListener(Item) : undefined;
  }

  async list(options: { ownerId?: string } = {}): Promise<ListenerRecord[]> {
    const all = (await queryKind(this.db, this.tableName, LISTENERS_KIND)).map(toListener);
    return options.ownerId === undefined ? all : all.filter((l) => l.owner.id === options.ownerId);
  }

  async remove(id: string): Promise<boolean> {
    const { Attributes } = await this.db.send(
      new DeleteCommand({ TableName: this.tableName, Key: listenerKey(id), ReturnValues: 'ALL_OLD' }),
    );
    return Attributes !== undefined;
  }

  async recordSuccess(id: string, at: string): Promise<void> {
    await this.update(id, 'SET lastSuccessAt = :at REMOVE failures, firstFailureAt', { ':at': at });
  }

  async recordFailure(
    id: string,
    failure: { at: string; reason: string },
    pauseIf: (listener: ListenerRecord) => boolean,
  ): Promise<ListenerRecord | undefined> {
    const after = await this.update(
      id,
      'SET failures = if_not_exists(failures, :zero) + :one, lastFailure = :failure, firstFailureAt = if_not_exists(firstFailureAt, :at)',
      { ':zero': 0, ':one': 1, ':failure': failure, ':at': failure.at },
    );
    if (!after || after.state === 'paused' || !pauseIf(after)) return after;
    // Paused once: two failures deciding at once write the same.
    return this.update(
      id,
      'SET #state = :paused, pausedAt = :at',
      { ':paused': 'paused', ':at': failure.at },
      {
        '#state': 'state',
      },
    );
  }

  async resume(id: string): Promise<boolean> {
    return (
      (await this.update(
        id,
        'SET #state = :active REMOVE failures, firstFailureAt, pausedAt',
        { ':active': 'active' },
        {
          '#state': 'state',
        },
      )) !== undefined
    );
  }

  /** One conditional update of an existing listener; undefined when there is none. */
  private async update(
    id: string,
    expression: string,
    values: Record<string, unknown>,
    names?: Record<string, string>,
  ): Promise<ListenerRecord | undefined> {
    try {
      const { Attributes } = await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: listenerKey(id),
          UpdateExpression: expression,
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: values,
          ...(names ? { ExpressionAttributeNames: names } : {}),
          ReturnValues: 'ALL_NEW',
        }),
      );
      return Attributes ? toListener(Attributes) : undefined;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined;
      throw error;
    }
  }
}

function toListener(record: Record<string, unknown>): ListenerRecord {
  const { pk: _pk, sk: _sk, listKind: _kind, listSort: _sort, ...listener } = record;
  return listener as unknown as ListenerRecord;
}
