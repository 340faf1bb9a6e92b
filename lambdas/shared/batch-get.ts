import { BatchGetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/** How often a batch read asks again for the keys DynamoDB left unprocessed before it gives up. */
const MAX_ROUNDS = 8;

/**
 * The records of one table with these keys, read strongly consistent in as few round trips as
 * BatchGetItem allows (100 keys each). Keys DynamoDB leaves unprocessed under throttling are asked for
 * again after a growing pause; after 8 rounds the read fails. Keys with no record are simply absent.
 */
export async function batchGet(
  db: DynamoDBDocumentClient,
  tableName: string,
  keys: Record<string, unknown>[],
): Promise<Record<string, unknown>[]> {
  const found: Record<string, unknown>[] = [];
  for (let i = 0; i < keys.length; i += 100) {
    let wanted = keys.slice(i, i + 100);
    for (let round = 0; wanted.length > 0; round++) {
      if (round === MAX_ROUNDS)
        throw new Error(
          `${wanted.length} records of ${tableName} still unread after ${round} tries (throttled)`,
        );
      if (round > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(1000, 25 * 2 ** round)));
      const result = await db.send(
        new BatchGetCommand({ RequestItems: { [tableName]: { Keys: wanted, ConsistentRead: true } } }),
      );
      found.push(...(result.Responses?.[tableName] ?? []));
      wanted = result.UnprocessedKeys?.[tableName]?.Keys ?? [];
    }
  }
  return found;
}
