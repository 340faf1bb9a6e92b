import { type DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';

/**
 * The configuration table: systems (`SYSTEM#<id>` / `SYSTEM`), system interfaces (`INTERFACE#<id>` /
 * `INTERFACE`), their history (`HISTORY#<at>#<id>`), the systems' limit state (`SYSTEM#<id>` / `SLOT#<n>`
 * and `RATE`) and the retry rules (`RETRY_RULE#<id>` / `RETRY_RULE`). The index lists systems
 * (`listKind = SYSTEMS`), one system's interfaces (`INTERFACES#<systemId>`) and the rules (`RETRY_RULES`).
 */
export const CONFIGURATION_BY_KIND = 'configurationByKind';

/** Every record of one kind (`listKind`), through the listing index, page after page. */
export async function queryKind(
  db: DynamoDBDocumentClient,
  tableName: string,
  kind: string,
): Promise<Record<string, unknown>[]> {
  const records: Record<string, unknown>[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await db.send(
      new QueryCommand({
        TableName: tableName,
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
