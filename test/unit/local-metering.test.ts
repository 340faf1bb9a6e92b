import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer, request } from 'node:http';
import { after, describe, it, type TestContext } from 'node:test';
import {
  BatchWriteItemCommand,
  ConditionalCheckFailedException,
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
} from '@aws-sdk/client-dynamodb';
import { ServiceMeter } from '../../local/metering';
import { createActiveTable, inProcessDynalite } from './fixtures/dynalite';
import { listenOnLoopback } from './fixtures/loopback';

const region = 'us-east-1';

interface Received {
  method: string;
  url: string;
  target: string;
  body: string;
}

interface Canned {
  status?: number;
  body: unknown;
  /** Sent as is instead of the JSON of `body`. */
  raw?: string;
  delayMs?: number;
}

/**
 * An AWS-like upstream: records what reaches it and answers the canned JSON for the request's
 * X-Amz-Target (`METHOD /path` without one), or `{}`.
 */
async function fakeUpstream(t: TestContext, answers: Record<string, Canned | Canned[]> = {}) {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const target = String(req.headers['x-amz-target'] ?? '');
      received.push({
        method: req.method ?? '',
        url: req.url ?? '',
        target,
        body: Buffer.concat(chunks).toString('utf8'),
      });
      const scripted = answers[target || `${req.method} ${req.url}`];
      const answer = (Array.isArray(scripted) ? scripted.shift() : scripted) ?? { body: {} };
      const text = answer.raw ?? JSON.stringify(answer.body);
      setTimeout(() => {
        res.writeHead(answer.status ?? 200, {
          'content-type': 'application/x-amz-json-1.0',
          'content-length': Buffer.byteLength(text),
          'x-upstream': 'fake',
        });
        res.end(text);
      }, answer.delayMs ?? 0);
    });
  });
  const endpoint = await listenOnLoopback(t, server);
  return { endpoint, received };
}

/** A meter stopped when the test ends. */
function meterFor(t: TestContext): ServiceMeter {
  const meter = new ServiceMeter();
  t.after(() => meter.stop());
  return meter;
}

/** Sends an AWS JSON-protocol request for `target` (`Service.Operation`) through `url`. */
async function awsJson(url: string, target: string, input: unknown = {}) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'x-amz-target': target, 'content-type': 'application/x-amz-json-1.0' },
    body: JSON.stringify(input),
  });
  return { status: response.status, headers: response.headers, body: await response.text() };
}

const dynamo = (operation: string) => `DynamoDB_20120810.${operation}`;

describe('ServiceMeter', () => {
  it('forwards a request unchanged and passes the answer back, counting it by service and operation', async (t) => {
    // Prepare
    const upstream = await fakeUpstream(t, {
      'AWSStepFunctions.StartExecution': { body: { executionArn: 'arn:x', startDate: 1 } },
    });
    const meter = meterFor(t);
    const proxy = await meter.proxy('stepfunctions', upstream.endpoint);
    const input = { stateMachineArn: 'arn:sm', input: '{"orderId":"o-1"}' };

    // Act
    const first = await awsJson(proxy, 'AWSStepFunctions.StartExecution', input);
    await awsJson(proxy, 'AWSStepFunctions.StartExecution', input);
    await awsJson(proxy, 'AWSStepFunctions.DescribeExecution', { executionArn: 'arn:x' });

    // Assess
    assert.match(proxy, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.notEqual(proxy, upstream.endpoint);
    assert.equal(first.status, 200);
    assert.deepEqual(JSON.parse(first.body), { executionArn: 'arn:x', startDate: 1 });
    assert.equal(first.headers.get('x-upstream'), 'fake', 'the upstream’s headers come back');
    assert.equal(upstream.received.length, 3);
    assert.equal(upstream.received[0]?.body, JSON.stringify(input), 'not a DynamoDB body: unchanged');
    assert.equal(upstream.received[0]?.target, 'AWSStepFunctions.StartExecution');
    assert.deepEqual(meter.reading().requests, {
      'stepfunctions DescribeExecution': 1,
      'stepfunctions StartExecution': 2,
    });
    assert.deepEqual(meter.reading().dynamoDb, { readUnits: 0, writeUnits: 0 });
  });

  it('names a request without X-Amz-Target by its method and path, every segment elided', async (t) => {
    // Prepare
    const upstream = await fakeUpstream(t);
    const meter = meterFor(t);
    const proxy = await meter.proxy('lambda', upstream.endpoint);

    // Act
    await fetch(`${proxy}/2015-03-31/functions/switchboard-run-item/invocations?Qualifier=1`, {
      method: 'POST',
      body: '{"orderId":"o-1"}',
    });
    await fetch(`${proxy}/2015-03-31/functions/switchboard-callback/invocations`, {
      method: 'POST',
      body: '{}',
    });
    await fetch(`${proxy}/health`);

    // Assess
    assert.deepEqual(meter.reading().requests, {
      'lambda GET /…': 1,
      'lambda POST /…/…/…/…': 2,
    });
    assert.equal(
      upstream.received[0]?.url,
      '/2015-03-31/functions/switchboard-run-item/invocations?Qualifier=1',
      'the path and query reach the upstream as sent',
    );
    assert.equal(upstream.received[0]?.body, '{"orderId":"o-1"}');
    assert.equal(upstream.received[2]?.method, 'GET');
  });

  it('asks DynamoDB for the consumed capacity unless the request already says what it wants', async (t) => {
    // Prepare
    const upstream = await fakeUpstream(t);
    const meter = meterFor(t);
    const proxy = await meter.proxy('dynamodb', upstream.endpoint);
    const key = { pk: { S: 'ORDER#o-1' } };

    // Act
    await awsJson(proxy, dynamo('GetItem'), { TableName: 'orders', Key: key });
    await awsJson(proxy, dynamo('PutItem'), {
      TableName: 'orders',
      Item: key,
      ReturnConsumedCapacity: 'INDEXES',
    });
    await awsJson(proxy, dynamo('DescribeTable'), { TableName: 'orders' });

    // Assess
    const [get, put, describeTable] = upstream.received.map((r) => JSON.parse(r.body));
    assert.deepEqual(get, { TableName: 'orders', Key: key, ReturnConsumedCapacity: 'TOTAL' });
    assert.equal(put.ReturnConsumedCapacity, 'INDEXES', 'what the caller asked for is kept');
    assert.deepEqual(describeTable, { TableName: 'orders' }, 'an operation without capacity: unchanged');
  });

  it('sends the rewritten DynamoDB body with a Content-Length that matches it', async (t) => {
    // Prepare
    const upstream = await fakeUpstream(t);
    const meter = meterFor(t);
    const proxy = await meter.proxy('dynamodb', upstream.endpoint);
    const item = { pk: { S: 'ORDER#ö-1' }, note: { S: 'naïve ünïcode' } };

    // Act
    const answer = await awsJson(proxy, dynamo('PutItem'), { TableName: 'orders', Item: item });

    // Assess
    assert.equal(answer.status, 200);
    assert.deepEqual(JSON.parse(upstream.received[0]?.body ?? ''), {
      TableName: 'orders',
      Item: item,
      ReturnConsumedCapacity: 'TOTAL',
    });
  });

  it('sums single-item and query capacity into read and write units by operation', async (t) => {
    // Prepare
    const capacity = (units: number) => ({
      body: { ConsumedCapacity: { TableName: 'orders', CapacityUnits: units } },
    });
    const upstream = await fakeUpstream(t, {
      [dynamo('GetItem')]: capacity(0.5),
      [dynamo('Query')]: capacity(1.5),
      [dynamo('Scan')]: capacity(4),
      [dynamo('PutItem')]: capacity(1),
      [dynamo('UpdateItem')]: capacity(2),
      [dynamo('DeleteItem')]: capacity(3),
    });
    const meter = meterFor(t);
    const proxy = await meter.proxy('dynamodb', upstream.endpoint);

    // Act
    for (const operation of ['GetItem', 'Query', 'Scan', 'PutItem', 'UpdateItem', 'DeleteItem']) {
      await awsJson(proxy, dynamo(operation), { TableName: 'orders' });
    }

    // Assess
    assert.deepEqual(meter.reading().dynamoDb, { readUnits: 0.5 + 1.5 + 4, writeUnits: 1 + 2 + 3 });
    assert.deepEqual(meter.reading().requests, {
      'dynamodb DeleteItem': 1,
      'dynamodb GetItem': 1,
      'dynamodb PutItem': 1,
      'dynamodb Query': 1,
      'dynamodb Scan': 1,
      'dynamodb UpdateItem': 1,
    });
  });

  it('counts batch and transaction capacity by its read and write units, else by CapacityUnits', async (t) => {
    // Prepare
    const upstream = await fakeUpstream(t, {
      [dynamo('TransactWriteItems')]: {
        body: {
          ConsumedCapacity: [
            { TableName: 'orders', CapacityUnits: 4, WriteCapacityUnits: 4 },
            { TableName: 'holds', CapacityUnits: 2, ReadCapacityUnits: 0.5, WriteCapacityUnits: 1.5 },
          ],
        },
      },
      [dynamo('TransactGetItems')]: {
        body: { ConsumedCapacity: [{ TableName: 'orders', CapacityUnits: 2, ReadCapacityUnits: 2 }] },
      },
      [dynamo('BatchGetItem')]: {
        body: { Responses: {}, ConsumedCapacity: [{ TableName: 'orders', CapacityUnits: 1.5 }] },
      },
      [dynamo('BatchWriteItem')]: {
        body: {
          UnprocessedItems: {},
          ConsumedCapacity: [
            { TableName: 'orders', CapacityUnits: 3 },
            { TableName: 'holds', CapacityUnits: 1 },
          ],
        },
      },
    });
    const meter = meterFor(t);
    const proxy = await meter.proxy('dynamodb', upstream.endpoint);

    // Act
    await awsJson(proxy, dynamo('TransactWriteItems'), { TransactItems: [] });
    await awsJson(proxy, dynamo('TransactGetItems'), { TransactItems: [] });
    await awsJson(proxy, dynamo('BatchGetItem'), { RequestItems: {} });
    await awsJson(proxy, dynamo('BatchWriteItem'), { RequestItems: {} });

    // Assess: transactions are not counted twice (CapacityUnits beside the split is the same units).
    assert.deepEqual(meter.reading().dynamoDb, {
      readUnits: 0.5 + 2 + 1.5,
      writeUnits: 4 + 1.5 + 3 + 1,
    });
  });

  it('counts a write refused by its condition as an HTTP 400 and one write unit', async (t) => {
    // Prepare
    const refused = {
      status: 400,
      body: {
        __type: 'com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException',
        message: 'The conditional request failed',
      },
    };
    const upstream = await fakeUpstream(t, {
      [dynamo('PutItem')]: refused,
      [dynamo('UpdateItem')]: refused,
      [dynamo('GetItem')]: {
        status: 400,
        body: { __type: 'com.amazon.coral.validate#ValidationException', message: 'bad key' },
      },
    });
    const meter = meterFor(t);
    const proxy = await meter.proxy('dynamodb', upstream.endpoint);

    // Act
    const put = await awsJson(proxy, dynamo('PutItem'), { TableName: 'orders' });
    await awsJson(proxy, dynamo('UpdateItem'), { TableName: 'orders' });
    await awsJson(proxy, dynamo('GetItem'), { TableName: 'orders' });

    // Assess
    assert.equal(put.status, 400);
    assert.match(put.body, /ConditionalCheckFailedException/, 'the refusal reaches the caller');
    assert.deepEqual(meter.reading().requests, {
      'dynamodb GetItem (HTTP 400)': 1,
      'dynamodb PutItem (HTTP 400)': 1,
      'dynamodb UpdateItem (HTTP 400)': 1,
    });
    assert.deepEqual(meter.reading().dynamoDb, { readUnits: 0, writeUnits: 2 });
  });

  it('counts SQS receives that returned no messages apart from those that returned some', async (t) => {
    // Prepare
    const receive = 'AmazonSQS.ReceiveMessage';
    const upstream = await fakeUpstream(t, {
      [receive]: [
        { body: {} },
        { body: { Messages: [] } },
        { body: { Messages: [{ MessageId: 'm-1', Body: '{}', ReceiptHandle: 'r-1' }] } },
        { status: 400, body: { __type: 'AWS.SimpleQueueService.NonExistentQueue' } },
      ],
    });
    const meter = meterFor(t);
    const proxy = await meter.proxy('sqs', upstream.endpoint);

    // Act
    for (let i = 0; i < 4; i++) await awsJson(proxy, receive, { QueueUrl: `${proxy}/000000000000/work` });
    await awsJson(proxy, 'AmazonSQS.SendMessage', { QueueUrl: 'q', MessageBody: '{}' });

    // Assess
    assert.deepEqual(meter.reading().requests, {
      'sqs ReceiveMessage': 1,
      'sqs ReceiveMessage (empty)': 2,
      'sqs ReceiveMessage (HTTP 400)': 1,
      'sqs SendMessage': 1,
    });
    assert.equal(
      JSON.parse(upstream.received[0]?.body ?? '').ReturnConsumedCapacity,
      undefined,
      'only DynamoDB requests are rewritten',
    );
  });

  it('forwards a chunked request body whole, with its length instead of the chunked encoding', async (t) => {
    // Prepare
    const upstream = await fakeUpstream(t);
    const meter = meterFor(t);
    const proxy = await meter.proxy('sqs', upstream.endpoint);
    const body = JSON.stringify({ QueueUrl: 'q', MessageBody: 'x'.repeat(70_000) });

    // Act
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(proxy, {
        method: 'POST',
        headers: { 'x-amz-target': 'AmazonSQS.SendMessage', 'transfer-encoding': 'chunked' },
      });
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.write(body.slice(0, 30_000));
      req.end(body.slice(30_000));
    });

    // Assess
    assert.equal(status, 200);
    assert.equal(upstream.received[0]?.body, body);
    assert.deepEqual(meter.reading().requests, { 'sqs SendMessage': 1 });
  });

  it('passes on an answer it cannot read, and counts it as unreadable', async (t) => {
    // Prepare
    const upstream = await fakeUpstream(t, { [dynamo('GetItem')]: { body: null, raw: '<html>oops</html>' } });
    const meter = meterFor(t);
    const proxy = await meter.proxy('dynamodb', upstream.endpoint);

    // Act
    const answer = await awsJson(proxy, dynamo('GetItem'), { TableName: 't', Key: {} });

    // Assess
    assert.equal(answer.status, 200);
    assert.equal(answer.body, '<html>oops</html>');
    assert.deepEqual(meter.reading().requests, { 'dynamodb GetItem (unreadable: SyntaxError)': 1 });
  });

  it('adds up, by service, the time the upstream took to answer', async (t) => {
    // Prepare
    const upstream = await fakeUpstream(t, {
      [dynamo('GetItem')]: { body: {}, delayMs: 40 },
      'AmazonSQS.SendMessage': { body: {}, delayMs: 40 },
    });
    const meter = meterFor(t);
    const dynamoProxy = await meter.proxy('dynamodb', upstream.endpoint);
    const sqsProxy = await meter.proxy('sqs', upstream.endpoint);

    // Act
    await awsJson(dynamoProxy, dynamo('GetItem'), { TableName: 'orders' });
    await awsJson(dynamoProxy, dynamo('GetItem'), { TableName: 'orders' });
    await awsJson(sqsProxy, 'AmazonSQS.SendMessage', {});

    // Assess
    const { milliseconds } = meter.reading();
    assert.deepEqual(Object.keys(milliseconds).sort(), ['dynamodb', 'sqs']);
    assert.ok((milliseconds.dynamodb ?? 0) >= 75, `two 40 ms answers took ${milliseconds.dynamodb} ms`);
    assert.ok((milliseconds.sqs ?? 0) >= 35, `one 40 ms answer took ${milliseconds.sqs} ms`);
    assert.ok((milliseconds.sqs ?? 0) < (milliseconds.dynamodb ?? 0));
    assert.ok(Number.isInteger(milliseconds.dynamodb), 'readings are whole milliseconds');
  });

  it('reads the endpoint of a function at each request, so it can follow a restarted upstream', async (t) => {
    // Prepare
    const first = await fakeUpstream(t);
    const second = await fakeUpstream(t);
    const meter = meterFor(t);
    let current = first.endpoint;
    const proxy = await meter.proxy('eventbridge', () => current);

    // Act
    await awsJson(proxy, 'AWSEvents.PutEvents', { Entries: [] });
    current = second.endpoint;
    await awsJson(proxy, 'AWSEvents.PutEvents', { Entries: [] });

    // Assess
    assert.equal(first.received.length, 1);
    assert.equal(second.received.length, 1);
    assert.deepEqual(meter.reading().requests, { 'eventbridge PutEvents': 2 });
  });

  it('answers 502 without counting when the upstream cannot be reached', async (t) => {
    // Prepare: an upstream that was there and is gone.
    const meter = meterFor(t);
    const gone = createServer();
    const endpoint = await new Promise<string>((resolve) =>
      gone.listen(0, '127.0.0.1', () => {
        const address = gone.address();
        resolve(`http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`);
      }),
    );
    await new Promise((resolve) => gone.close(resolve));
    const proxy = await meter.proxy('secretsmanager', endpoint);

    // Act
    const answer = await awsJson(proxy, 'secretsmanager.GetSecretValue', { SecretId: 's' });

    // Assess
    assert.equal(answer.status, 502);
    assert.equal(JSON.parse(answer.body).__type, 'ProxyError');
    assert.deepEqual(meter.reading().requests, {});
  });

  it('forgets what it counted on reset and keeps counting after it', async (t) => {
    // Prepare
    const upstream = await fakeUpstream(t, {
      [dynamo('PutItem')]: { body: { ConsumedCapacity: { TableName: 'orders', CapacityUnits: 1 } } },
    });
    const meter = meterFor(t);
    const proxy = await meter.proxy('dynamodb', upstream.endpoint);
    await awsJson(proxy, dynamo('PutItem'), { TableName: 'orders' });
    await awsJson(proxy, dynamo('PutItem'), { TableName: 'orders' });

    // Act
    meter.reset();
    const afterReset = meter.reading();
    await awsJson(proxy, dynamo('PutItem'), { TableName: 'orders' });

    // Assess
    assert.deepEqual(afterReset, {
      requests: {},
      dynamoDb: { readUnits: 0, writeUnits: 0 },
      milliseconds: {},
    });
    assert.deepEqual(meter.reading().requests, { 'dynamodb PutItem': 1 });
    assert.deepEqual(meter.reading().dynamoDb, { readUnits: 0, writeUnits: 1 });
  });

  it('closes every proxy it started on stop', async (t) => {
    // Prepare
    const upstream = await fakeUpstream(t);
    const meter = new ServiceMeter();
    const sqsProxy = await meter.proxy('sqs', upstream.endpoint);
    const dynamoProxy = await meter.proxy('dynamodb', upstream.endpoint);
    await awsJson(sqsProxy, 'AmazonSQS.SendMessage', {});

    // Act
    await meter.stop();

    // Assess
    await assert.rejects(awsJson(sqsProxy, 'AmazonSQS.SendMessage', {}));
    await assert.rejects(awsJson(dynamoProxy, dynamo('GetItem'), {}));
    assert.equal(upstream.received.length, 1);
  });
});

describe('ServiceMeter in front of dynalite', () => {
  const dynalite = inProcessDynalite(region);
  let meter: ServiceMeter;
  let metered: DynamoDBClient;
  let table: string;

  after(async () => {
    metered?.destroy();
    await meter?.stop();
  });

  // dynalite does return ConsumedCapacity when asked (CapacityUnits only, as DynamoDB does for single-table
  // operations: 1 KB write units, 4 KB read units halved for eventually consistent reads), so the units
  // below are dynalite's own arithmetic. It does not implement TransactGetItems or TransactWriteItems.
  it('meters a real DynamoDB API: capacity it was not asked for by the client, and a refused write', async () => {
    // Prepare
    const endpoint = await dynalite.raw.config.endpoint?.();
    assert.ok(endpoint, 'the fixture’s client has an endpoint');
    table = await createActiveTable(dynalite.raw, {
      TableName: `meter-${randomUUID()}`,
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
    });
    meter = new ServiceMeter();
    const proxy = await meter.proxy('dynamodb', `http://${endpoint.hostname}:${endpoint.port}`);
    metered = new DynamoDBClient({
      endpoint: proxy,
      region,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      maxAttempts: 1,
    });
    const item = { pk: { S: 'ORDER#o-1' }, note: { S: 'x'.repeat(1500) } };

    // Act
    const put = await metered.send(new PutItemCommand({ TableName: table, Item: item }));
    const eventual = await metered.send(new GetItemCommand({ TableName: table, Key: { pk: item.pk } }));
    await metered.send(new GetItemCommand({ TableName: table, Key: { pk: item.pk }, ConsistentRead: true }));
    await metered.send(
      new QueryCommand({
        TableName: table,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': item.pk },
      }),
    );
    const refusal = await metered
      .send(
        new PutItemCommand({ TableName: table, Item: item, ConditionExpression: 'attribute_not_exists(pk)' }),
      )
      .catch((error: unknown) => error);
    await metered.send(
      new BatchWriteItemCommand({
        RequestItems: { [table]: [{ PutRequest: { Item: { pk: { S: 'ORDER#o-2' } } } }] },
      }),
    );
    await metered.send(new DeleteItemCommand({ TableName: table, Key: { pk: item.pk } }));

    // Assess
    assert.deepEqual(put.ConsumedCapacity, { TableName: table, CapacityUnits: 2 }, 'injected by the meter');
    assert.equal(eventual.Item?.note?.S, item.note.S, 'answers still reach the client intact');
    assert.ok(refusal instanceof ConditionalCheckFailedException, `refused, not ${String(refusal)}`);
    assert.deepEqual(meter.reading().requests, {
      'dynamodb BatchWriteItem': 1,
      'dynamodb DeleteItem': 1,
      'dynamodb GetItem': 2,
      'dynamodb PutItem': 1,
      'dynamodb PutItem (HTTP 400)': 1,
      'dynamodb Query': 1,
    });
    assert.deepEqual(meter.reading().dynamoDb, {
      // GetItem 0.5 (eventually consistent) + GetItem 1 (consistent) + Query 0.5
      readUnits: 2,
      // PutItem of ~1.5 KB 2 + refused PutItem 1 + BatchWriteItem of a tiny item 1 + DeleteItem of ~1.5 KB 2
      writeUnits: 6,
    });
  });
});
