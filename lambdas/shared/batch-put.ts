import { BatchWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/** How often a batch write sends again the records DynamoDB left unprocessed before it gives up. */
const MAX_ROUNDS = 8;

/**
 * Puts records into one table in as few round trips as BatchWriteItem allows (25 each). Records DynamoDB
 * leaves unprocessed under throttling are sent again after a growing pause; after 8 rounds the write
 * fails. Unconditional: for records whose key says what they are, so writing one twice keeps it once.
 */
export function batchPut(
  db: DynamoDBDocumentClient,
  tableName: string,
  records: Record<string, unknown>[],
): Promise<void> {
  return batchWrite(
    db,
    tableName,
    records.map((record) => ({ PutRequest: { Item: record } })),
  );
}

/** Deletes the records with these keys, as batchPut writes: 25 at a time, the unprocessed ones again. */
export function batchDelete(
  db: DynamoDBDocumentClient,
  tableName: string,
  keys: Record<string, unknown>[],
): Promise<void> {
  return batchWrite(
    db,
    tableName,
    keys.map((key) => ({ DeleteRequest: { Key: key } })),
  );
}

type WriteRequest =
  | { PutRequest: { Item: Record<string, unknown> } }
  | { DeleteRequest: { Key: Record<string, unknown> } };

async function batchWrite(db: DynamoDBDocumentClient, tableName: string, all: WriteRequest[]): Promise<void> {
  for (let i = 0; i < all.length; i += 25) {
    let requests = all.slice(i, i + 25);
    for (let round = 0; requests.length > 0; round++) {
      if (round === MAX_ROUNDS)
        throw new Error(`${requests.length} records of ${tableName} still unwritten after ${round} tries`);
      if (round > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(1000, 25 * 2 ** round)));
      const result = await db.send(new BatchWriteCommand({ RequestItems: { [tableName]: requests } }));
      requests = (result.UnprocessedItems?.[tableName] ?? []) as WriteRequest[];
    }
  }
}
