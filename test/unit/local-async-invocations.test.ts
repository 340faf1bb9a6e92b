import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { LocalAsyncInvocations } from '../../local/async-invocations';
import type { DeployedResource, LocalDeployment } from '../../local/cloud-assembly';
import { type LambdaHost, LambdaInvocationError } from '../../local/lambda-host';

const FUNCTION = 'arn:aws:lambda:us-east-1:000000000000:function:release-held-items';
const QUEUE = 'arn:aws:sqs:us-east-1:000000000000:undelivered';
const QUEUE_URL = 'http://127.0.0.1:1/000000000000/undelivered';

/** A deployment with one function's event invoke configuration (retries, on-failure queue) and that queue. */
function deployment(config?: { retries?: number; onFailure?: string }): LocalDeployment {
  const resources: DeployedResource[] = [
    ...(config
      ? [
          {
            type: 'AWS::Lambda::EventInvokeConfig',
            stackName: 'S',
            properties: {
              FunctionName: 'release-held-items',
              ...(config.retries === undefined ? {} : { MaximumRetryAttempts: config.retries }),
              ...(config.onFailure
                ? { DestinationConfig: { OnFailure: { Destination: config.onFailure } } }
                : {}),
            },
          } as unknown as DeployedResource,
        ]
      : []),
    { type: 'AWS::SQS::Queue', physicalName: 'undelivered', properties: {} } as unknown as DeployedResource,
  ];
  return {
    ofType: (type: string) => resources.filter((r) => r.type === type),
    resolve: (value: unknown) => value,
    attributes: () => ({ QueueUrl: QUEUE_URL }),
  } as unknown as LocalDeployment;
}

/** A function that fails its first `failures` invocations, and an SQS client that keeps what is sent. */
function setup(failures: number, config?: { retries?: number; onFailure?: string }) {
  const invoked: unknown[] = [];
  const sent: SendMessageCommand['input'][] = [];
  const lambdas = {
    hosts: (arn: string) => arn === FUNCTION,
    invoke: async (_arn: string, payload: unknown) => {
      invoked.push(payload);
      if (invoked.length <= failures)
        throw new LambdaInvocationError('release-held-items', 'Error', `failure ${invoked.length}`);
      return null;
    },
  } as unknown as LambdaHost;
  const sqs = {
    send: async (command: SendMessageCommand) => void sent.push(command.input),
  } as unknown as SQSClient;
  const lines: string[] = [];
  const invocations = new LocalAsyncInvocations(
    deployment(config),
    lambdas,
    sqs,
    (l) => lines.push(l),
    [5, 5],
  );
  return { invocations, invoked, sent, lines };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 60));

describe('local asynchronous invocations, as Lambda makes them for rules and schedules', () => {
  it('returns before the function runs, and retries a failure as often as the function says', async () => {
    const { invocations, invoked, sent } = setup(1, { retries: 1, onFailure: QUEUE });
    await invocations.invoke(FUNCTION, { releaseId: 'r-1' });
    await settle();
    assert.equal(invoked.length, 2, 'the first failure was retried and succeeded');
    assert.deepEqual(sent, []);
  });

  it('sends an invocation whose retries ran out to its on-failure queue, in the record Lambda sends', async () => {
    const { invocations, invoked, sent } = setup(10, { retries: 2, onFailure: QUEUE });
    await invocations.invoke(FUNCTION, { releaseId: 'r-2' });
    await settle();
    assert.equal(invoked.length, 3, 'the first attempt and two retries');
    assert.equal(sent.length, 1);
    assert.equal(sent[0]?.QueueUrl, QUEUE_URL);
    const record = JSON.parse(sent[0]?.MessageBody ?? '{}');
    assert.equal(record.requestContext.condition, 'RetriesExhausted');
    assert.equal(record.requestContext.approximateInvokeCount, 3);
    assert.deepEqual(record.requestPayload, { releaseId: 'r-2' });
    assert.equal(record.responseContext.functionError, 'Unhandled');
    assert.match(record.responsePayload.errorMessage, /failure 3/);
  });

  it("retries twice by Lambda's defaults and keeps nothing without a destination", async () => {
    const { invocations, invoked, sent } = setup(10);
    await invocations.invoke(FUNCTION, {});
    await settle();
    assert.equal(invoked.length, 3);
    assert.deepEqual(sent, []);
  });

  it('drops the retries still waiting when the runtime stops, so nothing holds its process open', async () => {
    const invoked: unknown[] = [];
    const lines: string[] = [];
    const slow = new LocalAsyncInvocations(
      deployment({ retries: 2, onFailure: QUEUE }),
      {
        hosts: () => true,
        invoke: async () => {
          invoked.push('x');
          throw new Error('down');
        },
      } as unknown as LambdaHost,
      { send: async () => assert.fail('nothing is sent after a stop') } as unknown as SQSClient,
      (l) => lines.push(l),
      [3_600_000],
    );
    await slow.invoke(FUNCTION, {});
    await settle();
    const started = Date.now();
    slow.stop();
    await settle();
    assert.equal(invoked.length, 1, 'the retry an hour away was dropped');
    assert.ok(Date.now() - started < 1_000);
  });

  it('refuses at once an invocation that cannot be made, for its caller to dead-letter', async () => {
    const { invocations } = setup(0);
    await assert.rejects(invocations.invoke(`${FUNCTION}-gone`, {}), /no local function/);
  });
});
