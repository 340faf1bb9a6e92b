import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { CalloutLimits, SlotLease } from '../ports/callout-limits';

const systemPk = (systemId: string) => `SYSTEM#${systemId}`;

/**
 * Limits shared by every worker, kept beside the systems in the configuration table.
 *
 * Concurrency: a system has `max` slot records; a callout holds one (a conditional write) until it
 * gives it back or its lease runs out, so at most `max` callouts are ever in flight to it.
 *
 * Rate: one record holds the earliest time the next callout may start. Each callout takes that time and
 * moves it on by 1/perSecond of a second with one atomic update, so starts are evenly spaced and no one
 * second ever sees more than the rate — across all workers, whatever their number.
 */
export class DynamoDbCalloutLimits implements CalloutLimits {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async acquireSlot(
    systemId: string,
    max: number,
    holder: string,
    now: Date,
    expiresAt: Date,
  ): Promise<SlotLease | undefined> {
    // Start at a random slot so concurrent workers rarely contend for the same record.
    const first = Math.floor(Math.random() * max);
    for (let i = 0; i < max; i++) {
      const slot = (first + i) % max;
      const taken = await this.update({
        Key: { pk: systemPk(systemId), sk: `SLOT#${slot}` },
        UpdateExpression: 'SET holder = :holder, expiresAt = :expires',
        ConditionExpression: 'attribute_not_exists(holder) OR expiresAt < :now OR holder = :holder',
        ExpressionAttributeValues: {
          ':holder': holder,
          ':expires': expiresAt.getTime(),
          ':now': now.getTime(),
        },
      });
      if (taken) return { systemId, slot, holder };
    }
    return undefined;
  }

  async releaseSlot(lease: SlotLease): Promise<void> {
    await this.update({
      Key: { pk: systemPk(lease.systemId), sk: `SLOT#${lease.slot}` },
      UpdateExpression: 'REMOVE holder, expiresAt',
      ConditionExpression: 'holder = :holder',
      ExpressionAttributeValues: { ':holder': lease.holder },
    });
  }

  async peekNextStart(systemId: string): Promise<Date | undefined> {
    const current = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: systemPk(systemId), sk: 'RATE' } }),
    );
    const next = current.Item?.nextStart;
    return typeof next === 'number' ? new Date(next) : undefined;
  }

  async reserveStart(
    systemId: string,
    perSecond: number,
    now: Date,
    maxWaitMs: number,
  ): Promise<{ startAt: Date } | { askAgainAt: Date }> {
    const interval = Math.ceil(1000 / perSecond);
    const key = { pk: systemPk(systemId), sk: 'RATE' };
    const at = now.getTime();
    for (let round = 0; round < 5; round++) {
      // Idle system: the callout starts now and the next one no sooner than one interval later.
      if (
        await this.update({
          Key: key,
          UpdateExpression: 'SET nextStart = :next',
          ConditionExpression: 'attribute_not_exists(nextStart) OR nextStart <= :now',
          ExpressionAttributeValues: { ':next': at + interval, ':now': at },
        })
      ) {
        return { startAt: now };
      }
      // Busy system: take the next free start time in one atomic step, unless it is too far away.
      const result = await this.db
        .send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: key,
            UpdateExpression: 'SET nextStart = nextStart + :interval',
            ConditionExpression: 'nextStart > :now AND nextStart <= :latest',
            ExpressionAttributeValues: { ':interval': interval, ':now': at, ':latest': at + maxWaitMs },
            ReturnValues: 'UPDATED_NEW',
          }),
        )
        .catch((error: unknown) => {
          if (error instanceof ConditionalCheckFailedException) return undefined;
          throw error;
        });
      const next = result?.Attributes?.nextStart;
      if (typeof next === 'number') return { startAt: new Date(next - interval) };
      const current = await this.db.send(
        new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }),
      );
      const nextStart = current.Item?.nextStart;
      if (typeof nextStart === 'number' && nextStart > at + maxWaitMs) {
        return { askAgainAt: new Date(nextStart - maxWaitMs) };
      }
      // Otherwise the reserved time passed between the updates: the system is idle again.
    }
    return { askAgainAt: new Date(at + interval) };
  }

  private async update(input: Omit<ConstructorParameters<typeof UpdateCommand>[0], 'TableName'>) {
    try {
      await this.db.send(new UpdateCommand({ TableName: this.tableName, ...input }));
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }
}
