import { DeleteCommand, type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { RetryRule } from '../domain/retry-rules';
import type { Actor } from '../domain/roles';
import type { RetryRuleRecord, RetryRuleStore } from '../ports/retry-rule-store';
import { queryKind } from '../shared/configuration-table';

const ruleKey = (id: string) => ({ pk: `RETRY_RULE#${id}`, sk: 'RETRY_RULE' });
const RULES_KIND = 'RETRY_RULES';

/** Retry rules in the configuration table, one record each, listed through its `configurationByKind` index. */
export class DynamoDbRetryRuleStore implements RetryRuleStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async list(): Promise<RetryRuleRecord[]> {
    const ids = (await queryKind(this.db, this.tableName, RULES_KIND)).map((item) => String(item.listSort));
    // The index is eventually consistent; each rule is read from the table itself.
    const rules = await Promise.all(ids.map((id) => this.get(id)));
    return rules.filter((rule): rule is RetryRuleRecord => rule !== undefined);
  }

  async get(ruleId: string): Promise<RetryRuleRecord | undefined> {
    const result = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: ruleKey(ruleId), ConsistentRead: true }),
    );
    return result.Item ? toRule(result.Item) : undefined;
  }

  /** One write: the rule replaced whole, its first `createdAt` kept (two writers cannot both create it). */
  async put(rule: RetryRule, by: Actor, at: string): Promise<{ created: boolean; rule: RetryRuleRecord }> {
    const result = await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: ruleKey(rule.id),
        UpdateExpression:
          'SET #rule = :rule, createdAt = if_not_exists(createdAt, :at), listKind = :kind, listSort = :id',
        ExpressionAttributeNames: { '#rule': 'rule' },
        ExpressionAttributeValues: {
          ':rule': { ...rule, updatedAt: at, updatedBy: by },
          ':at': at,
          ':kind': RULES_KIND,
          ':id': rule.id,
        },
        ReturnValues: 'ALL_NEW',
      }),
    );
    const record = toRule(result.Attributes ?? {});
    return { created: record.createdAt === at && record.updatedAt === at, rule: record };
  }

  async remove(ruleId: string): Promise<RetryRuleRecord | undefined> {
    const result = await this.db.send(
      new DeleteCommand({ TableName: this.tableName, Key: ruleKey(ruleId), ReturnValues: 'ALL_OLD' }),
    );
    return result.Attributes ? toRule(result.Attributes) : undefined;
  }
}

function toRule(record: Record<string, unknown>): RetryRuleRecord {
  return { ...(record.rule as Omit<RetryRuleRecord, 'createdAt'>), createdAt: String(record.createdAt) };
}
