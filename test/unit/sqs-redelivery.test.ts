import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  ReceiveMessageCommand,
  type ReceiveMessageCommandOutput,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { type FauxqsServer, startFauxqs } from 'fauxqs';
import { SqsRedelivery } from '../../lambdas/adapters/sqs-redelivery';
import { freePort } from '../../local/free-port';

const QUEUE = 'callbacks';
let server: FauxqsServer;
let sqs: SQSClient;
let queueUrl: string;

before(async () => {
  server = await startFauxqs({ port: await freePort(), logger: false, defaultRegion: 'eu-west-1' });
  const endpoint = `http://127.0.0.1:${server.port}`;
  sqs = new SQSClient({
    endpoint,
    region: 'eu-west-1',
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
  });
  server.createQueue(QUEUE, { attributes: { VisibilityTimeout: '180' } });
  queueUrl = `${endpoint}/000000000000/${QUEUE}`;
});
after(async () => {
  sqs.destroy();
  await server.stop();
});

const receive = (waitSeconds: number): Promise<ReceiveMessageCommandOutput> =>
  sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: queueUrl,
      WaitTimeSeconds: waitSeconds,
      MessageSystemAttributeNames: ['ApproximateReceiveCount'],
    }),
  );

describe('SqsRedelivery', () => {
  it('brings a received message back after the seconds given, not after the queue’s visibility timeout', async () => {
    // Prepare: a message received once, so hidden for the queue's 180 s.
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: '{"n":1}' }));
    const [first] = (await receive(1)).Messages ?? [];
    assert.ok(first?.ReceiptHandle);
    assert.deepEqual((await receive(0)).Messages ?? [], [], 'hidden while received');

    // Act
    await new SqsRedelivery(sqs, queueUrl).later([{ receiptHandle: first.ReceiptHandle, seconds: 1 }]);

    // Assess
    const [again] = (await receive(5)).Messages ?? [];
    assert.equal(again?.Body, '{"n":1}');
    assert.equal(again?.Attributes?.ApproximateReceiveCount, '2');
  });

  it('says so when the queue refuses a change', async () => {
    await assert.rejects(
      new SqsRedelivery(sqs, queueUrl).later([{ receiptHandle: 'no-such-receipt', seconds: 1 }]),
      /the queue kept 1 messages' visibility as it was/,
    );
  });
});
