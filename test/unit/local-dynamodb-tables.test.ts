import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { LocalDeployment } from '../../local/cloud-assembly';
import { createTables, hasJava, type LocalDynamoDb, startDynamoDb } from '../../local/dynamodb';

const REGION = 'eu-west-1';
const TABLE = 'orders';
const javaHere = hasJava();

const KEYS = {
  KeySchema: [
    { AttributeName: 'pk', KeyType: 'HASH' as const },
    { AttributeName: 'sk', KeyType: 'RANGE' as const },
  ],
};

/** A deployment holding the one table as the template declares it (only what createTables reads). */
function deploymentWith(indexNames: string[]): LocalDeployment {
  const table = {
    physicalName: TABLE,
    stackName: 'Stateful',
    properties: {
      ...KEYS,
      AttributeDefinitions: ['pk', 'sk', ...indexNames.map((n) => `${n}Key`)].map((name) => ({
        AttributeName: name,
        AttributeType: 'S',
      })),
      GlobalSecondaryIndexes: indexNames.map((name) => ({
        IndexName: name,
        KeySchema: [
          { AttributeName: `${name}Key`, KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'KEYS_ONLY' },
      })),
    },
  };
  return {
    ofType: (type: string) => (type === 'AWS::DynamoDB::Table' ? [table] : []),
    resolve: (value: unknown) => value,
  } as unknown as LocalDeployment;
}

// DynamoDB Local, the engine of a runtime on a machine with Java (dynalite cannot add an index to a table:
// the runtime then says so, naming the table and the index).
describe('the local runtime’s tables', { skip: !javaHere && 'no Java on this machine' }, () => {
  let db: LocalDynamoDb | undefined;
  let client: DynamoDBClient | undefined;
  before(async () => {
    db = await startDynamoDb('', REGION, 'memory');
    client = new DynamoDBClient({
      endpoint: db.endpoint,
      region: REGION,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
  });
  after(async () => {
    client?.destroy();
    await db?.stop();
  });

  it('gives a table kept from an earlier version the indexes the template added since, keeping what it holds', async () => {
    // Prepare: a data folder's orders table without indexes, holding a record.
    assert.ok(db && client);
    await client.send(
      new CreateTableCommand({
        TableName: TABLE,
        ...KEYS,
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
        ],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    await client.send(
      new PutItemCommand({ TableName: TABLE, Item: { pk: { S: 'ORDER#o-1' }, sk: { S: 'ORDER' } } }),
    );

    // Act: the template now declares two indexes; the runtime starts twice.
    await createTables(deploymentWith(['byLease', 'byState']), db.endpoint, REGION);
    await createTables(deploymentWith(['byLease', 'byState']), db.endpoint, REGION);

    // Assess
    const { Table } = await client.send(new DescribeTableCommand({ TableName: TABLE }));
    assert.deepEqual((Table?.GlobalSecondaryIndexes ?? []).map((i) => i.IndexName).sort(), [
      'byLease',
      'byState',
    ]);
    assert.equal(Table?.ItemCount, 1);
  });
});
