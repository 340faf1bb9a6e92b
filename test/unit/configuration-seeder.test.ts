import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { handleSeedEvent, type SeederDeps } from '../../lambdas/configuration-seeder/handler';
import type { Catalog } from '../../lambdas/domain/catalog';
import { dslCatalog } from './fixtures/catalogs';
import { InMemoryConfigurationStore } from './fixtures/configuration';
import { capturedLogs } from './fixtures/logs';

const NOW = '2025-03-01T10:00:00.000Z';
const RESPONSE_URL =
  'https://cloudformation-custom-resource-response-euwest1.s3.eu-west-1.amazonaws.com/arn%3Aaws/abc?X-Amz-Signature=f00';
const STACK_ID = 'arn:aws:cloudformation:eu-west-1:123456789012:stack/Switchboard-Stateless/5b1c2a90';

/** A CloudFormation custom resource event, as CloudFormation invokes a Lambda service token with it. */
function cfnEvent(requestType: 'Create' | 'Update' | 'Delete', extra: Record<string, unknown> = {}) {
  return {
    RequestType: requestType,
    ServiceToken: 'arn:aws:lambda:eu-west-1:123456789012:function:ConfigurationSeeder',
    ResponseURL: RESPONSE_URL,
    StackId: STACK_ID,
    RequestId: 'req-7f3e',
    LogicalResourceId: 'SeedConfiguration',
    ResourceType: 'Custom::SwitchboardConfiguration',
    ResourceProperties: { ServiceToken: 'arn:aws:lambda:…', catalogHash: 'abc123' },
    ...(requestType === 'Create' ? {} : { PhysicalResourceId: 'switchboard-configuration' }),
    ...extra,
  };
}

/** Seeder dependencies around an in-memory store; `responses` keeps every PUT to CloudFormation. */
function setup(catalog: Catalog = dslCatalog(), config = new InMemoryConfigurationStore()) {
  const responses: { url: string; body: Record<string, unknown> }[] = [];
  const deps: SeederDeps = {
    config,
    catalog,
    now: () => new Date(NOW),
    respond: async (url, body) => {
      responses.push({ url, body: JSON.parse(body) });
    },
  };
  return { deps, config, responses };
}

/** Keeps the seeder's logs out of the test report and returns what it logged as errors. */
function quietLogs(t: TestContext): () => string[] {
  return capturedLogs(t, 'ERROR');
}

describe('handleSeedEvent', () => {
  it('seeds on Create and answers SUCCESS with the counts to the ResponseURL', async (t) => {
    // Prepare
    quietLogs(t);
    const { deps, config, responses } = setup();

    // Act
    await handleSeedEvent(deps, cfnEvent('Create'));

    // Assess
    assert.deepEqual([...config.systems.keys()].sort(), ['activation', 'inventory']);
    assert.deepEqual([...config.interfaces.keys()].sort(), ['activate-line', 'port-status', 'reserve-port']);
    assert.equal(config.systems.get('inventory')?.seededAt, NOW);
    assert.deepEqual(responses, [
      {
        url: RESPONSE_URL,
        body: {
          Status: 'SUCCESS',
          Reason: 'seeded 2 systems and 3 interfaces',
          PhysicalResourceId: 'switchboard-configuration',
          StackId: STACK_ID,
          RequestId: 'req-7f3e',
          LogicalResourceId: 'SeedConfiguration',
          Data: { Systems: 2, Interfaces: 3 },
        },
      },
    ]);
  });

  it('seeds again on Update, keeping the physical id and what operators changed', async (t) => {
    // Prepare: seeded before; an operator took the inventory down; the new catalog drops activation.
    quietLogs(t);
    const first = dslCatalog();
    const config = InMemoryConfigurationStore.seededFrom(first, '2025-02-01T00:00:00.000Z');
    const inventory = config.systems.get('inventory');
    assert.ok(inventory);
    inventory.state = 'Down';
    const next = dslCatalog();
    delete next.systems.activation;
    delete next.interfaces['activate-line'];
    const { deps, responses } = setup(next, config);

    // Act
    await handleSeedEvent(
      deps,
      cfnEvent('Update', {
        PhysicalResourceId: 'seeded-earlier',
        OldResourceProperties: { catalogHash: 'old' },
      }),
    );

    // Assess
    assert.deepEqual([...config.systems.keys()], ['inventory']);
    assert.equal(config.systems.get('inventory')?.state, 'Down');
    assert.equal(config.systems.get('inventory')?.seededAt, NOW);
    assert.equal(responses.length, 1);
    assert.deepEqual(responses[0]?.body, {
      Status: 'SUCCESS',
      Reason: 'seeded 1 systems and 2 interfaces',
      PhysicalResourceId: 'seeded-earlier',
      StackId: STACK_ID,
      RequestId: 'req-7f3e',
      LogicalResourceId: 'SeedConfiguration',
      Data: { Systems: 1, Interfaces: 2 },
    });
  });

  it("keeps operators' runtime changes the catalog left alone, replaces those it changed, and warns of those", async (t) => {
    // Prepare: an operator raised both interfaces' timeouts; the new catalog changes reserve-port's only.
    const warnings = capturedLogs(t, 'WARN');
    const config = InMemoryConfigurationStore.seededFrom(dslCatalog(), '2025-02-01T00:00:00.000Z');
    const olga = { id: 'u-op', name: 'olga' };
    for (const [id, from] of [
      ['reserve-port', 10],
      ['port-status', 5],
    ] as const) {
      const written = await config.reconfigureInterface(id, 1, {
        values: { timeoutSeconds: 25 },
        overrides: { timeoutSeconds: { catalogValue: from, at: '2025-02-02T00:00:00.000Z', by: olga } },
        change: {
          id: `change-${id}`,
          kind: 'configuration',
          at: '2025-02-02T00:00:00.000Z',
          by: olga,
          reason: 'slow after the upgrade',
          cause: 'operator',
          revision: 2,
          changes: [{ field: 'timeoutSeconds', from, to: 25 }],
        },
      });
      assert.notEqual(written, 'stale');
    }
    const next = dslCatalog();
    const reserve = next.interfaces['reserve-port'];
    assert.ok(reserve);
    reserve.timeoutSeconds = 12;
    const { deps, responses } = setup(next, config);

    // Act
    await handleSeedEvent(deps, cfnEvent('Update'));

    // Assess
    assert.equal(responses[0]?.body.Status, 'SUCCESS');
    assert.equal(config.interfaces.get('port-status')?.timeoutSeconds, 25, "the operator's value stays");
    assert.equal(config.interfaces.get('reserve-port')?.timeoutSeconds, 12, "the catalog's new value wins");
    const [warning] = warnings().map((line) => JSON.parse(line));
    assert.equal(warning?.message, "operators' runtime changes replaced by the catalog's new values");
    assert.deepEqual(warning?.dropped, ['interface reserve-port timeoutSeconds']);
  });

  for (const requestType of ['Create', 'Update'] as const) {
    it(`answers FAILED with the reason when seeding fails on ${requestType}`, async (t) => {
      // Prepare
      const errors = quietLogs(t);
      const { deps, config, responses } = setup();
      t.mock.method(config, 'seed', async () => {
        throw new Error('AccessDeniedException: not authorized to perform dynamodb:UpdateItem');
      });

      // Act
      await handleSeedEvent(deps, cfnEvent(requestType));

      // Assess
      assert.deepEqual(responses, [
        {
          url: RESPONSE_URL,
          body: {
            Status: 'FAILED',
            Reason:
              'seeding the configuration failed: AccessDeniedException: not authorized to perform dynamodb:UpdateItem',
            PhysicalResourceId: 'switchboard-configuration',
            StackId: STACK_ID,
            RequestId: 'req-7f3e',
            LogicalResourceId: 'SeedConfiguration',
          },
        },
      ]);
      assert.ok(errors().some((line) => line.includes('seeding failed')));
    });
  }

  it('keeps a FAILED reason within 1000 characters', async (t) => {
    quietLogs(t);
    const { deps, config, responses } = setup();
    t.mock.method(config, 'seed', async () => {
      throw new Error('x'.repeat(5000));
    });

    await handleSeedEvent(deps, cfnEvent('Create'));

    const reason = String(responses[0]?.body.Reason);
    assert.equal(responses[0]?.body.Status, 'FAILED');
    assert.equal(reason.length, 1000);
    assert.ok(reason.startsWith('seeding the configuration failed: xxx'));
  });

  it('answers SUCCESS on Delete without touching the table', async (t) => {
    // Prepare
    quietLogs(t);
    const { deps, config, responses } = setup();
    const seed = t.mock.method(config, 'seed', async () => {
      throw new Error('must not be called');
    });

    // Act
    await handleSeedEvent(deps, cfnEvent('Delete'));

    // Assess
    assert.equal(seed.mock.callCount(), 0);
    assert.deepEqual(responses, [
      {
        url: RESPONSE_URL,
        body: {
          Status: 'SUCCESS',
          Reason: 'the configuration table is retained',
          PhysicalResourceId: 'switchboard-configuration',
          StackId: STACK_ID,
          RequestId: 'req-7f3e',
          LogicalResourceId: 'SeedConfiguration',
        },
      },
    ]);
  });

  const malformed: [string, unknown][] = [
    ['nothing', undefined],
    ['null', null],
    ['a string', 'Create'],
    ['an empty object', {}],
    ['an unknown request type', cfnEvent('Create', { RequestType: 'Replace' })],
    ['no ResponseURL', cfnEvent('Create', { ResponseURL: undefined })],
    ['a ResponseURL that is not a URL', cfnEvent('Create', { ResponseURL: 'not a url' })],
    ['no StackId', cfnEvent('Create', { StackId: undefined })],
    ['a numeric RequestId', cfnEvent('Create', { RequestId: 42 })],
  ];
  for (const [what, event] of malformed) {
    it(`neither seeds nor answers nor throws for an event with ${what}`, async (t) => {
      // Prepare
      const errors = quietLogs(t);
      const { deps, config, responses } = setup();
      const seed = t.mock.method(config, 'seed');

      // Act
      await handleSeedEvent(deps, event);

      // Assess
      assert.deepEqual(responses, []);
      assert.equal(seed.mock.callCount(), 0);
      assert.ok(errors().some((line) => line.includes('not a CloudFormation custom resource event')));
    });
  }
});
