import { DeleteCommand, type DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';

/** The most requests one write of many records has in flight at once. */
const IN_FLIGHT = 25;

/**
 * Puts records into one table, each with its own PutItem, up to 25 at once (the SDK retries one that is
 * throttled). Not BatchWriteItem: a grant of it is a grant of deletes too, and the functions that append
 * records must not be able to delete any (docs/security.md). It costs DynamoDB the same write units.
 * Unconditional: for records whose key says what they are, so writing one twice keeps it once.
 */
export function putEach(
  db: DynamoDBDocumentClient,
  tableName: string,
  records: Record<string, unknown>[],
): Promise<void> {
  return inBatches(records, (Item) => db.send(new PutCommand({ TableName: tableName, Item })));
}

/** Deletes the records with these keys, as putEach writes them. */
export function deleteEach(
  db: DynamoDBDocumentClient,
  tableName: string,
  keys: Record<string, unknown>[],
): Promise<void> {
  return inBatches(keys, (Key) => db.send(new DeleteCommand({ TableName: tableName, Key })));
}

/**
 * Sends them all, IN_FLIGHT at a time; on a failure, only once every request of its batch has ended, so
 * that a caller cleaning up after the failure meets no write still on its way.
 */
async function inBatches<T>(all: T[], send: (one: T) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < all.length; i += IN_FLIGHT) {
    const results = await Promise.allSettled(all.slice(i, i + IN_FLIGHT).map(send));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }
}
