import { type AttributeValue, DynamoDBClient, paginateScan } from '@aws-sdk/client-dynamodb';
import type { LocalRuntime } from '../../local/runtime';

/**
 * The size of an item as DynamoDB counts it against its 400 KB limit: every attribute's name and value
 * in UTF-8, numbers by their digits, and a few bytes of overhead per list or map and per element.
 */
export function dynamoItemBytes(item: Record<string, AttributeValue>): number {
  return Object.entries(item).reduce(
    (sum, [name, value]) => sum + Buffer.byteLength(name) + valueBytes(value),
    0,
  );
}

function valueBytes(value: AttributeValue): number {
  if (value.S !== undefined) return Buffer.byteLength(value.S);
  if (value.N !== undefined) return Math.ceil(value.N.replace(/^-|\.|e.*$/gi, '').length / 2) + 1;
  if (value.B !== undefined) return value.B.byteLength;
  if (value.BOOL !== undefined || value.NULL !== undefined) return 1;
  if (value.SS) return value.SS.reduce((sum, s) => sum + Buffer.byteLength(s), 0);
  if (value.NS) return value.NS.reduce((sum, n) => sum + n.length, 0);
  if (value.BS) return value.BS.reduce((sum, b) => sum + b.byteLength, 0);
  if (value.L) return 3 + value.L.reduce((sum, v) => sum + 1 + valueBytes(v), 0);
  if (value.M)
    return (
      3 + Object.entries(value.M).reduce((sum, [k, v]) => sum + 1 + Buffer.byteLength(k) + valueBytes(v), 0)
    );
  return 0;
}

/** The largest record of every DynamoDB table of the runtime: its table, its key and its size. */
export async function largestRecords(
  runtime: LocalRuntime,
): Promise<{ table: string; pk: string; sk: string; bytes: number }[]> {
  const dynamo = new DynamoDBClient({
    region: runtime.region,
    endpoint: runtime.endpoints.dynamodb,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  try {
    const largest = [];
    for (const table of runtime.deployment.ofType('AWS::DynamoDB::Table')) {
      let top = { table: table.logicalId, pk: '', sk: '', bytes: 0 };
      for await (const page of paginateScan({ client: dynamo }, { TableName: table.physicalName })) {
        for (const item of page.Items ?? []) {
          const bytes = dynamoItemBytes(item);
          if (bytes > top.bytes)
            top = { table: table.logicalId, pk: item.pk?.S ?? '', sk: item.sk?.S ?? '', bytes };
        }
      }
      largest.push(top);
    }
    return largest;
  } finally {
    dynamo.destroy();
  }
}
