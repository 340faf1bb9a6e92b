import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { startLocalRuntime } from '../../local/runtime';
import { writeDefaultSecrets } from '../../local/secrets-manager';

const STACK = 'Integrations';

/**
 * A provider function as the Lambda code would write one: it reads its auth profile's secret with the
 * SDK's default client (so only AWS_ENDPOINT_URL_SECRETS_MANAGER can point it at the local endpoint) and
 * PUTs the custom resource response with fetch.
 */
const providerBundle = (sdkPath: string) => `
const { GetSecretValueCommand, SecretsManagerClient } = require(${JSON.stringify(sdkPath)});
const secrets = new SecretsManagerClient({ maxAttempts: 1 });
exports.handler = async (event, context) => {
  let outcome;
  try {
    const secret = await secrets.send(new GetSecretValueCommand({ SecretId: process.env.CREDENTIALS_SECRET }));
    const { apiKey } = JSON.parse(secret.SecretString);
    outcome = {
      Status: 'SUCCESS',
      PhysicalResourceId: 'configuration-' + event.ResourceProperties.catalogHash,
      Data: { apiKeyLength: String(apiKey.length) },
    };
  } catch (error) {
    outcome = { Status: 'FAILED', Reason: error.name + ': ' + error.message, PhysicalResourceId: context.logStreamName };
  }
  await fetch(event.ResponseURL, {
    method: 'PUT',
    body: JSON.stringify({
      ...outcome,
      StackId: event.StackId,
      RequestId: event.RequestId,
      LogicalResourceId: event.LogicalResourceId,
    }),
  });
};
`;

function writeAssembly(assemblyDir: string): void {
  mkdirSync(join(assemblyDir, 'asset.seed'), { recursive: true });
  const sdkPath = createRequire(import.meta.url).resolve('@aws-sdk/client-secrets-manager');
  writeFileSync(join(assemblyDir, 'asset.seed', 'index.js'), providerBundle(sdkPath));
  writeFileSync(
    join(assemblyDir, 'manifest.json'),
    JSON.stringify({
      artifacts: {
        [STACK]: { type: 'aws:cloudformation:stack', properties: { templateFile: `${STACK}.template.json` } },
      },
    }),
  );
  writeFileSync(
    join(assemblyDir, `${STACK}.template.json`),
    JSON.stringify({
      Resources: {
        InventoryApiCredentials: {
          Type: 'AWS::SecretsManager::Secret',
          Properties: { Tags: [{ Key: 'switchboard:secret', Value: 'inventory-api' }] },
        },
        SeedFunction: {
          Type: 'AWS::Lambda::Function',
          Metadata: { 'aws:asset:path': 'asset.seed' },
          Properties: {
            Handler: 'index.handler',
            Runtime: 'nodejs22.x',
            Timeout: 10,
            Environment: { Variables: { CREDENTIALS_SECRET: { Ref: 'InventoryApiCredentials' } } },
          },
        },
        SeedConfiguration: {
          Type: 'Custom::SwitchboardConfiguration',
          Properties: { ServiceToken: { 'Fn::GetAtt': ['SeedFunction', 'Arn'] }, catalogHash: 'a1b2' },
        },
      },
    }),
  );
}

describe('the local runtime at startup', () => {
  let root: string;
  let assemblyDir: string;
  let dataDir: string;
  let logged: string[];

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'switchboard-runtime-startup-'));
    assemblyDir = join(root, 'cdk.out');
    dataDir = join(root, 'data');
    writeAssembly(assemblyDir);
    logged = [];
  });

  afterEach(() => rmSync(root, { recursive: true, force: true }));

  const start = () =>
    startLocalRuntime({
      assemblyDir,
      dataDir,
      port: 0,
      dynamoDb: 'dynalite',
      log: (line) => logged.push(line),
    });

  it('deploys the custom resources with Lambdas that reach the local Secrets Manager', async () => {
    writeDefaultSecrets(dataDir, { 'inventory-api': { apiKey: 'local-key' } });

    const runtime = await start();
    try {
      assert.equal(
        runtime.deployment.resolve({ 'Fn::GetAtt': ['SeedConfiguration', 'apiKeyLength'] }, STACK),
        String('local-key'.length),
      );
      assert.equal(runtime.deployment.resolve({ Ref: 'SeedConfiguration' }, STACK), 'configuration-a1b2');
      assert.match(runtime.endpoints.secretsmanager, /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.ok(logged.some((line) => /Integrations\/SeedConfiguration .*CREATE_COMPLETE/.test(line)));
      assert.ok(!logged.some((line) => line.includes('local-key')), 'no secret value in the log');
    } finally {
      await runtime.stop();
    }
  });

  it('does not start when a custom resource fails, and says which and why', async () => {
    await assert.rejects(
      start(),
      (error: Error) =>
        error.message.includes('SeedConfiguration') &&
        error.message.includes('ResourceNotFoundException') &&
        error.message.includes('"inventory-api"'),
    );
  });
});
