import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { LocalDeployment } from '../../local/cloud-assembly';
import {
  type CustomResourceEvent,
  CustomResourceFailedError,
  deployCustomResources,
} from '../../local/custom-resources';

const STACK = 'Orchestration';
const PROVIDER_ARN = `arn:aws:lambda:us-east-1:000000000000:function:${STACK}-SeedFunction`;

const provider = {
  Type: 'AWS::Lambda::Function',
  Properties: { Handler: 'index.handler', Runtime: 'nodejs22.x', Timeout: 1 },
};

const seedConfiguration = (properties: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  Type: 'Custom::SwitchboardConfiguration',
  Properties: { ServiceToken: { 'Fn::GetAtt': ['SeedFunction', 'Arn'] }, ...properties },
  ...extra,
});

/** The response a provider PUTs; the ids it must echo are filled in from the request. */
type Answer = { Status: 'SUCCESS' | 'FAILED'; PhysicalResourceId?: string; Reason?: string; Data?: object };

/**
 * A stand-in for the LambdaHost whose function PUTs its answer to the ResponseURL with fetch, as a
 * cfn-response helper would; or, to test the failures, stays silent or throws.
 */
function fakeProvider(answer: (event: CustomResourceEvent) => Answer | 'silence' | Error = succeed) {
  const events: CustomResourceEvent[] = [];
  return {
    events,
    async invoke(functionArn: string, event: unknown) {
      assert.equal(functionArn, PROVIDER_ARN);
      const request = event as CustomResourceEvent;
      events.push(request);
      const reply = answer(request);
      if (reply instanceof Error) throw reply;
      if (reply === 'silence') return null;
      const response = await fetch(request.ResponseURL, {
        method: 'PUT',
        body: JSON.stringify({
          StackId: request.StackId,
          RequestId: request.RequestId,
          LogicalResourceId: request.LogicalResourceId,
          ...reply,
        }),
      });
      assert.equal(response.status, 200);
      return null;
    },
  };
}

function succeed(event: CustomResourceEvent): Answer {
  return {
    Status: 'SUCCESS',
    PhysicalResourceId: event.PhysicalResourceId ?? `${event.LogicalResourceId}-configuration`,
  };
}

describe('local custom resources', () => {
  let root: string;
  let assemblyDir: string;
  let dataDir: string;
  let logged: string[];

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'switchboard-custom-resources-'));
    assemblyDir = join(root, 'cdk.out');
    dataDir = join(root, 'data');
    mkdirSync(assemblyDir);
    mkdirSync(dataDir);
    logged = [];
  });

  afterEach(() => rmSync(root, { recursive: true, force: true }));

  /** Synthesizes a one-stack assembly and deploys it, as a start of the local runtime does. */
  function deploy(resources: Record<string, unknown>, functions: ReturnType<typeof fakeProvider>) {
    writeFileSync(
      join(assemblyDir, 'manifest.json'),
      JSON.stringify({
        artifacts: {
          [STACK]: {
            type: 'aws:cloudformation:stack',
            properties: { templateFile: `${STACK}.template.json` },
          },
        },
      }),
    );
    writeFileSync(join(assemblyDir, `${STACK}.template.json`), JSON.stringify({ Resources: resources }));
    const deployment = new LocalDeployment(assemblyDir, {
      region: 'us-east-1',
      accountId: '000000000000',
      queueUrl: (name) => name,
      apiEndpoint: () => 'http://127.0.0.1',
    });
    const outcomes = deployCustomResources(deployment, {
      dataDir,
      functions,
      log: (line) => logged.push(line),
      responseGraceMs: 100,
    });
    return { deployment, outcomes };
  }

  const recorded = () => JSON.parse(readFileSync(join(dataDir, 'custom-resources.json'), 'utf8'));

  it('sends Create on the first start, with the properties as CloudFormation sends them', async () => {
    const functions = fakeProvider();

    const { deployment, outcomes } = deploy(
      { SeedFunction: provider, SeedConfiguration: seedConfiguration({ catalogHash: 'a1b2', version: 3 }) },
      functions,
    );

    assert.deepEqual(
      (await outcomes).map((o) => o.action),
      ['created'],
    );
    const [event] = functions.events;
    assert.ok(event);
    assert.equal(event.RequestType, 'Create');
    assert.equal(event.ResourceType, 'Custom::SwitchboardConfiguration');
    assert.equal(event.LogicalResourceId, 'SeedConfiguration');
    assert.deepEqual(event.ResourceProperties, {
      ServiceToken: PROVIDER_ARN,
      catalogHash: 'a1b2',
      version: '3',
    });
    assert.equal(event.PhysicalResourceId, undefined);
    assert.equal(event.OldResourceProperties, undefined);
    assert.match(
      event.StackId,
      /^arn:aws:cloudformation:us-east-1:000000000000:stack\/Orchestration\/[0-9a-f-]{36}$/,
    );
    assert.match(event.ResponseURL, /^http:\/\/127\.0\.0\.1:\d+\//);
    assert.equal(deployment.resolve({ Ref: 'SeedConfiguration' }, STACK), 'SeedConfiguration-configuration');
    assert.deepEqual(recorded()[STACK].resources.SeedConfiguration.properties, event.ResourceProperties);
    assert.equal(logged.length, 1);
    assert.match(logged[0] ?? '', /Orchestration\/SeedConfiguration .*CREATE_COMPLETE/);
  });

  it('calls nothing on a later start when the properties are unchanged', async () => {
    const resources = {
      SeedFunction: provider,
      SeedConfiguration: seedConfiguration({ catalogHash: 'a1b2' }),
    };
    await deploy(resources, fakeProvider()).outcomes;
    const functions = fakeProvider();

    const { deployment, outcomes } = deploy(resources, functions);

    assert.deepEqual(
      (await outcomes).map((o) => o.action),
      ['unchanged'],
    );
    assert.equal(functions.events.length, 0);
    assert.equal(
      deployment.resolve({ Ref: 'SeedConfiguration' }, STACK),
      'SeedConfiguration-configuration',
      'Ref still gives the physical id',
    );
  });

  it('sends Update with the old properties and physical id when the properties change', async () => {
    const first = fakeProvider();
    await deploy(
      { SeedFunction: provider, SeedConfiguration: seedConfiguration({ catalogHash: 'a1b2' }) },
      first,
    ).outcomes;
    const functions = fakeProvider();

    const { outcomes } = deploy(
      { SeedFunction: provider, SeedConfiguration: seedConfiguration({ catalogHash: 'c3d4' }) },
      functions,
    );

    assert.deepEqual(
      (await outcomes).map((o) => o.action),
      ['updated'],
    );
    const [event] = functions.events;
    assert.ok(event);
    assert.equal(event.RequestType, 'Update');
    assert.equal(event.PhysicalResourceId, 'SeedConfiguration-configuration');
    assert.deepEqual(event.ResourceProperties, { ServiceToken: PROVIDER_ARN, catalogHash: 'c3d4' });
    assert.deepEqual(event.OldResourceProperties, { ServiceToken: PROVIDER_ARN, catalogHash: 'a1b2' });
    assert.equal(event.StackId, first.events[0]?.StackId, 'the stack keeps its id');
    assert.equal(recorded()[STACK].resources.SeedConfiguration.properties.catalogHash, 'c3d4');
  });

  it('sends Delete for a resource that is no longer in the assembly', async () => {
    await deploy(
      {
        SeedFunction: provider,
        SeedConfiguration: seedConfiguration({ catalogHash: 'a1b2' }),
        LegacyConfiguration: seedConfiguration({ legacy: 'yes' }),
      },
      fakeProvider(),
    ).outcomes;
    const functions = fakeProvider();

    const { outcomes } = deploy(
      { SeedFunction: provider, SeedConfiguration: seedConfiguration({ catalogHash: 'a1b2' }) },
      functions,
    );

    assert.deepEqual(
      (await outcomes).map((o) => [o.logicalId, o.action]),
      [
        ['SeedConfiguration', 'unchanged'],
        ['LegacyConfiguration', 'deleted'],
      ],
    );
    const [event] = functions.events;
    assert.ok(event);
    assert.equal(event.RequestType, 'Delete');
    assert.equal(event.LogicalResourceId, 'LegacyConfiguration');
    assert.equal(event.PhysicalResourceId, 'LegacyConfiguration-configuration');
    assert.deepEqual(event.ResourceProperties, { ServiceToken: PROVIDER_ARN, legacy: 'yes' });
    assert.deepEqual(Object.keys(recorded()[STACK].resources), ['SeedConfiguration']);
  });

  it('deletes the old resource after an Update that replaced it with a new physical id', async () => {
    await deploy(
      { SeedFunction: provider, SeedConfiguration: seedConfiguration({ catalogHash: 'a1b2' }) },
      fakeProvider(),
    ).outcomes;
    const functions = fakeProvider((event) =>
      event.RequestType === 'Update'
        ? { Status: 'SUCCESS', PhysicalResourceId: 'SeedConfiguration-replacement' }
        : succeed(event),
    );

    await deploy(
      { SeedFunction: provider, SeedConfiguration: seedConfiguration({ catalogHash: 'c3d4' }) },
      functions,
    ).outcomes;

    assert.deepEqual(
      functions.events.map((e) => [e.RequestType, e.PhysicalResourceId, e.ResourceProperties.catalogHash]),
      [
        ['Update', 'SeedConfiguration-configuration', 'c3d4'],
        ['Delete', 'SeedConfiguration-configuration', 'a1b2'],
      ],
    );
    assert.equal(
      recorded()[STACK].resources.SeedConfiguration.physicalResourceId,
      'SeedConfiguration-replacement',
    );
  });

  it('deploys after DependsOn and after the custom resources a property refers to', async () => {
    const functions = fakeProvider((event) => ({
      ...succeed(event),
      Data: event.LogicalResourceId === 'Catalog' ? { Version: '7' } : undefined,
    }));

    await deploy(
      {
        SeedFunction: provider,
        Routing: seedConfiguration({ catalogVersion: { 'Fn::GetAtt': ['Catalog', 'Version'] } }),
        Catalog: seedConfiguration({ catalogHash: 'a1b2' }, { DependsOn: 'Tenants' }),
        Tenants: seedConfiguration({ tenants: 'demo' }),
      },
      functions,
    ).outcomes;

    assert.deepEqual(
      functions.events.map((e) => e.LogicalResourceId),
      ['Tenants', 'Catalog', 'Routing'],
    );
    assert.equal(functions.events[2]?.ResourceProperties.catalogVersion, '7');
  });

  it('fails naming the resource and the reason when the provider answers FAILED, and retries next start', async () => {
    const resources = {
      SeedFunction: provider,
      SeedConfiguration: seedConfiguration({ catalogHash: 'a1b2' }),
    };

    await assert.rejects(
      deploy(
        resources,
        fakeProvider(() => ({ Status: 'FAILED', Reason: 'catalog table is not empty' })),
      ).outcomes,
      (error: Error) =>
        error instanceof CustomResourceFailedError &&
        error.message.includes('SeedConfiguration') &&
        error.message.includes('CREATE_FAILED') &&
        error.message.includes('catalog table is not empty'),
    );
    const functions = fakeProvider();
    await deploy(resources, functions).outcomes;

    assert.deepEqual(
      functions.events.map((e) => e.RequestType),
      ['Create'],
    );
  });

  it('fails naming the resource when the function returns without a response', async () => {
    await assert.rejects(
      deploy(
        { SeedFunction: provider, SeedConfiguration: seedConfiguration({ catalogHash: 'a1b2' }) },
        fakeProvider(() => 'silence'),
      ).outcomes,
      /SeedConfiguration .*CREATE_FAILED: no response from the provider function/,
    );
  });

  it('fails naming the resource when the function neither returns nor responds within its timeout', async () => {
    const started = Date.now();

    await assert.rejects(
      deploy(
        { SeedFunction: provider, SeedConfiguration: seedConfiguration({ catalogHash: 'a1b2' }) },
        { events: [], invoke: () => new Promise(() => {}) },
      ).outcomes,
      /SeedConfiguration .*no response/,
    );
    assert.ok(Date.now() - started >= 1000, 'it waited for the function’s timeout');
  });

  it('fails naming the resource and the error when the invocation fails', async () => {
    await assert.rejects(
      deploy(
        { SeedFunction: provider, SeedConfiguration: seedConfiguration({ catalogHash: 'a1b2' }) },
        fakeProvider(() => new Error('Runtime.ImportModuleError: cannot find module')),
      ).outcomes,
      /SeedConfiguration .*failed: Runtime\.ImportModuleError/,
    );
  });

  it('fails a response over the 4096 bytes CloudFormation reads, as it does', async () => {
    await assert.rejects(
      deploy(
        { SeedFunction: provider, SeedConfiguration: seedConfiguration({ catalogHash: 'a1b2' }) },
        fakeProvider((event) => ({ ...succeed(event), Data: { plan: 'x'.repeat(5000) } })),
      ).outcomes,
      /SeedConfiguration .*Response object is too long/,
    );
  });
});
