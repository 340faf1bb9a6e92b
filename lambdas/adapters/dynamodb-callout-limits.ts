import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { CalloutLimits, HandedSlot, SlotLease, SlotWaiter } from '../ports/callout-limits';

const systemPk = (systemId: string) => `SYSTEM#${systemId}`;
const slotKey = (systemId: string, slot: number) => ({ pk: systemPk(systemId), sk: `SLOT#${slot}` });
/**
 * The waiting list sorts by priority (0 first; none is 4), then oldest first; order and item make a place
 * unique.
 */
const waitKey = (systemId: string, w: SlotWaiter) => ({
  pk: systemPk(systemId),
  sk: `WAIT#${w.priority ?? 4}#${w.since}#${w.orderId}#${w.itemKey}`,
});
/** Who holds a slot a release kept for an item, until that item's callout takes it. */
const handedTo = (item: string) => `for:${item}`;
/** How many of the oldest waiters a release looks at, should other releases take the first ones. */
const WAITERS_LOOKED_AT = 5;

/**
 * Limits shared by every worker, kept beside the systems in the configuration table.
 *
 * Concurrency: a system has `max` slot records; a callout holds one (a conditional write) until it
 * gives it back or its lease runs out, so at most `max` callouts are ever in flight to it.
 *
 * A callout that finds every slot taken goes on the system's waiting list (records sorted by when it began
 * to wait) and costs nothing while it waits: a callout that gives its slot back hands it to the oldest
 * waiter, keeping the slot for it, and wakes it.
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
    handed?: HandedSlot,
    inheritFrom?: string,
  ): Promise<SlotLease | undefined> {
    const take = (slot: number, handedTo?: string) =>
      this.update({
        Key: slotKey(systemId, slot),
        UpdateExpression: 'SET holder = :holder, expiresAt = :expires',
        ConditionExpression: `attribute_not_exists(holder) OR expiresAt < :now OR holder = :holder${handedTo ? ' OR holder = :handed' : ''}`,
        ExpressionAttributeValues: {
          ':holder': holder,
          ':expires': expiresAt.getTime(),
          ':now': now.getTime(),
          ...(handedTo ? { ':handed': handedTo } : {}),
        },
      });
    // The slot a release kept for this item first: it is this callout's turn.
    if (handed && handed.slot < max && (await take(handed.slot, handedTo(handed.item))))
      return { systemId, slot: handed.slot, holder };
    // Then the slot the attempt it takes over held (rare: a worker died), so that no slot stays held
    // for a callout that goes on under another holder.
    for (let slot = 0; inheritFrom && slot < max; slot++) {
      const inherited = await this.update({
        Key: slotKey(systemId, slot),
        UpdateExpression: 'SET holder = :holder, expiresAt = :expires',
        ConditionExpression: 'holder = :inherited',
        ExpressionAttributeValues: {
          ':holder': holder,
          ':expires': expiresAt.getTime(),
          ':inherited': inheritFrom,
        },
      });
      if (inherited) return { systemId, slot, holder };
    }
    // Start at a random slot so concurrent workers rarely contend for the same record.
    const first = Math.floor(Math.random() * max);
    for (let i = 0; i < max; i++) {
      const slot = (first + i) % max;
      if (await take(slot)) return { systemId, slot, holder };
    }
    return undefined;
  }

  async releaseSlot(
    lease: SlotLease,
    now: Date,
    handOffUntil: Date,
  ): Promise<{ waiter: SlotWaiter; slot: number } | undefined> {
    // Freed before the list is read: a callout that joins the list meanwhile finds the slot free when
    // it asks once more, or is on the list for this read. No waiter is left with a free slot.
    const freed = await this.update({
      Key: slotKey(lease.systemId, lease.slot),
      UpdateExpression: 'REMOVE holder, expiresAt',
      ConditionExpression: 'holder = :holder',
      ExpressionAttributeValues: { ':holder': lease.holder },
    });
    // A lease that ran out and was taken over is not this worker's to hand on.
    if (!freed) return undefined;
    const waiting = await this.db.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :wait)',
        ExpressionAttributeValues: { ':pk': systemPk(lease.systemId), ':wait': 'WAIT#' },
        Limit: WAITERS_LOOKED_AT,
      }),
    );
    for (const record of waiting.Items ?? []) {
      const waiter = toWaiter(record);
      // Taken off the list first, so two releases never keep a slot each for the same waiter.
      // By the record's own key: one an earlier version wrote (`WAIT#<since>#…`) goes the same way.
      if (!(await this.deleteIfThere({ pk: String(record.pk), sk: String(record.sk) }))) continue;
      const kept = await this.update({
        Key: slotKey(lease.systemId, lease.slot),
        UpdateExpression: 'SET holder = :handed, expiresAt = :until',
        ConditionExpression: 'attribute_not_exists(holder) OR expiresAt < :now',
        ExpressionAttributeValues: {
          ':handed': handedTo(`${waiter.orderId}.${waiter.itemKey}`),
          ':until': handOffUntil.getTime(),
          ':now': now.getTime(),
        },
      });
      if (kept) return { waiter, slot: lease.slot };
      // A callout that was not waiting took the slot meanwhile: the waiter keeps its place.
      await this.waitForSlot(lease.systemId, waiter);
      return undefined;
    }
    return undefined;
  }

  async waitForSlot(systemId: string, waiter: SlotWaiter): Promise<void> {
    // Its key is its place: asking again keeps the place it has.
    await this.db.send(
      new PutCommand({ TableName: this.tableName, Item: { ...waitKey(systemId, waiter), ...waiter } }),
    );
  }

  async stopWaiting(systemId: string, waiter: SlotWaiter): Promise<void> {
    await this.db.send(new DeleteCommand({ TableName: this.tableName, Key: waitKey(systemId, waiter) }));
  }

  private async deleteIfThere(key: Record<string, string>): Promise<boolean> {
    try {
      await this.db.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: key,
          ConditionExpression: 'attribute_exists(sk)',
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
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

function toWaiter(record: Record<string, unknown>): SlotWaiter {
  return {
    orderId: String(record.orderId),
    itemKey: String(record.itemKey),
    since: String(record.since),
    ...(typeof record.priority === 'number' ? { priority: record.priority } : {}),
    ...(typeof record.attemptId === 'string' ? { attemptId: record.attemptId } : {}),
  };
}
