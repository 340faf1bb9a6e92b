import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  GetSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
  SecretsManagerServiceException,
} from '@aws-sdk/client-secrets-manager';
import { LocalDeployment } from '../../local/cloud-assembly';
import { LocalSecretsManager, secretsFile, writeDefaultSecrets } from '../../local/secrets-manager';

const region = 'us-east-1';
const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };

/** A cloud assembly with one secret per auth profile, tagged as the CDK app tags them. */
function writeAssembly(dir: string): void {
  const secret = (profileId: string) => ({
    Type: 'AWS::SecretsManager::Secret',
    Properties: {
      Description: `credentials of auth profile ${profileId}`,
      Tags: [
        { Key: 'switchboard:secret', Value: profileId },
        { Key: 'owner', Value: 'switchboard' },
      ],
    },
  });
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'manifest.json'),
    JSON.stringify({
      artifacts: {
        Integrations: {
          type: 'aws:cloudformation:stack',
          properties: { templateFile: 'Integrations.template.json' },
        },
      },
    }),
  );
  writeFileSync(
    join(dir, 'Integrations.template.json'),
    JSON.stringify({
      Resources: {
        InventoryApiCredentials: secret('inventory-api'),
        BillingCredentials: secret('billing'),
      },
    }),
  );
}

describe('the local Secrets Manager', () => {
  const root = mkdtempSync(join(tmpdir(), 'switchboard-secrets-'));
  const dataDir = join(root, 'data');
  const assemblyDir = join(root, 'cdk.out');
  writeAssembly(assemblyDir);
  const deployment = new LocalDeployment(assemblyDir, {
    region,
    accountId: '000000000000',
    queueUrl: (name) => name,
    apiEndpoint: () => 'http://127.0.0.1',
  });
  const secretArn = (logicalId: string) => String(deployment.resolve({ Ref: logicalId }, 'Integrations'));
  const secretsManager = new LocalSecretsManager(deployment, dataDir);
  let client: SecretsManagerClient;

  before(async () => {
    mkdirSync(dataDir, { recursive: true });
    await secretsManager.start();
    client = new SecretsManagerClient({
      endpoint: secretsManager.endpoint,
      region,
      credentials,
      maxAttempts: 1,
    });
  });

  after(async () => {
    client.destroy();
    await secretsManager.stop();
    rmSync(root, { recursive: true, force: true });
  });

  const writeSecrets = (values: unknown) => writeFileSync(secretsFile(dataDir), JSON.stringify(values));
  const getSecret = (secretId: string) => client.send(new GetSecretValueCommand({ SecretId: secretId }));

  async function rejection(promise: Promise<unknown>): Promise<SecretsManagerServiceException> {
    try {
      await promise;
    } catch (error) {
      assert.ok(error instanceof SecretsManagerServiceException, `a service error, not ${String(error)}`);
      return error;
    }
    assert.fail('the request succeeded');
  }

  it('gives a secret an ARN shaped like Secrets Manager’s, which Ref resolves to', () => {
    assert.match(
      secretArn('InventoryApiCredentials'),
      /^arn:aws:secretsmanager:us-east-1:000000000000:secret:Integrations-InventoryApiCredentials-[A-Za-z0-9]{6}$/,
    );
    assert.equal(
      deployment.resolve({ 'Fn::GetAtt': ['InventoryApiCredentials', 'Id'] }, 'Integrations'),
      secretArn('InventoryApiCredentials'),
    );
  });

  it('answers GetSecretValue by ARN with the profile’s value from secrets.json', async () => {
    const credentials = { apiKey: 'inventory-key-1' };
    writeSecrets({ 'inventory-api': credentials });

    const secret = await getSecret(secretArn('InventoryApiCredentials'));

    assert.deepEqual(JSON.parse(secret.SecretString ?? ''), credentials);
    assert.equal(secret.ARN, secretArn('InventoryApiCredentials'));
    assert.equal(secret.Name, 'Integrations-InventoryApiCredentials');
    assert.deepEqual(secret.VersionStages, ['AWSCURRENT']);
    assert.ok(secret.VersionId);
    assert.ok(secret.CreatedDate instanceof Date);
  });

  it('finds a secret by its name and by its ARN without the random suffix', async () => {
    writeSecrets({ 'inventory-api': { apiKey: 'inventory-key-1' } });
    const arn = secretArn('InventoryApiCredentials');

    const byName = await getSecret('Integrations-InventoryApiCredentials');
    const byPartialArn = await getSecret(arn.slice(0, -7));

    assert.equal(byName.ARN, arn);
    assert.equal(byPartialArn.ARN, arn);
  });

  it('sees an edit of secrets.json without a restart, as a new version', async () => {
    writeSecrets({ 'inventory-api': { apiKey: 'inventory-key-1' } });
    const before = await getSecret(secretArn('InventoryApiCredentials'));

    writeSecrets({ 'inventory-api': { apiKey: 'inventory-key-2' } });
    const edited = await getSecret(secretArn('InventoryApiCredentials'));
    const again = await getSecret(secretArn('InventoryApiCredentials'));

    assert.deepEqual(JSON.parse(edited.SecretString ?? ''), { apiKey: 'inventory-key-2' });
    assert.notEqual(edited.VersionId, before.VersionId);
    assert.equal(again.VersionId, edited.VersionId, 'an unchanged value keeps its version');
  });

  it('answers ResourceNotFoundException naming the profile and the file for a profile the file lacks', async () => {
    writeSecrets({ 'inventory-api': { apiKey: 'inventory-key-1' } });

    const error = await rejection(getSecret(secretArn('BillingCredentials')));

    assert.ok(error instanceof ResourceNotFoundException);
    assert.equal(error.$metadata.httpStatusCode, 400);
    assert.match(error.message, /"billing"/);
    assert.ok(error.message.includes(secretsFile(dataDir)), error.message);
    assert.ok(!error.message.includes('inventory-key-1'), 'no secret value in the message');
  });

  it('answers ResourceNotFoundException for a secret the assembly does not have', async () => {
    const error = await rejection(
      getSecret('arn:aws:secretsmanager:us-east-1:000000000000:secret:nope-AbCdEf'),
    );

    assert.ok(error instanceof ResourceNotFoundException);
  });

  it('names the file and the place of a JSON problem, without quoting the file', async () => {
    writeFileSync(secretsFile(dataDir), '{\n  "inventory-api": { "apiKey": hunter2 }\n}\n');

    const error = await rejection(getSecret(secretArn('InventoryApiCredentials')));

    assert.ok(error.message.includes(secretsFile(dataDir)), error.message);
    assert.match(error.message, /line 2 column 32/);
    assert.ok(!error.message.includes('hunter2'), error.message);
  });

  it('says which profile’s entry is not a JSON object', async () => {
    writeSecrets({ 'inventory-api': 'not-an-object-value' });

    const error = await rejection(getSecret(secretArn('InventoryApiCredentials')));

    assert.match(error.message, /"inventory-api" must be a JSON object/);
    assert.ok(!error.message.includes('not-an-object-value'), error.message);
  });

  it('is what an SDK client reaches through AWS_ENDPOINT_URL_SECRETS_MANAGER', async () => {
    writeSecrets({ 'inventory-api': { apiKey: 'inventory-key-1' } });
    const saved = process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER;
    process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER = secretsManager.endpoint;
    const lambdaLikeClient = new SecretsManagerClient({ region, credentials });
    try {
      const secret = await lambdaLikeClient.send(
        new GetSecretValueCommand({ SecretId: secretArn('InventoryApiCredentials') }),
      );

      assert.deepEqual(JSON.parse(secret.SecretString ?? ''), { apiKey: 'inventory-key-1' });
    } finally {
      lambdaLikeClient.destroy();
      if (saved === undefined) delete process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER;
      else process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER = saved;
    }
  });
});

describe('writeDefaultSecrets', () => {
  const fresh = () => mkdtempSync(join(tmpdir(), 'switchboard-default-secrets-'));

  it('creates secrets.json readable by its owner only', () => {
    const dataDir = join(fresh(), 'not-yet-there');

    const added = writeDefaultSecrets(dataDir, { 'inventory-api': { apiKey: 'demo' } });

    assert.deepEqual(added, ['inventory-api']);
    assert.deepEqual(JSON.parse(readFileSync(secretsFile(dataDir), 'utf8')), {
      'inventory-api': { apiKey: 'demo' },
    });
    assert.equal(statSync(secretsFile(dataDir)).mode & 0o777, 0o600);
  });

  it('adds the profiles the file lacks and never overwrites an entry', () => {
    const dataDir = fresh();
    writeFileSync(secretsFile(dataDir), JSON.stringify({ 'inventory-api': { apiKey: 'mine' } }));

    const added = writeDefaultSecrets(dataDir, {
      'inventory-api': { apiKey: 'demo' },
      billing: { username: 'demo', password: 'demo' },
    });

    assert.deepEqual(added, ['billing']);
    assert.deepEqual(JSON.parse(readFileSync(secretsFile(dataDir), 'utf8')), {
      'inventory-api': { apiKey: 'mine' },
      billing: { username: 'demo', password: 'demo' },
    });
  });

  it('leaves a complete file as it is', () => {
    const dataDir = fresh();
    const text = '{ "inventory-api": { "apiKey": "mine" } }';
    writeFileSync(secretsFile(dataDir), text);

    const added = writeDefaultSecrets(dataDir, { 'inventory-api': { apiKey: 'demo' } });

    assert.deepEqual(added, []);
    assert.equal(readFileSync(secretsFile(dataDir), 'utf8'), text);
  });

  it('refuses a malformed file rather than replace it, naming the file', () => {
    const dataDir = fresh();
    const text = '{ "inventory-api": { "apiKey": "mine" }';
    writeFileSync(secretsFile(dataDir), text);

    assert.throws(
      () => writeDefaultSecrets(dataDir, { billing: { token: 'demo' } }),
      (error: Error) => error.message.includes(secretsFile(dataDir)) && !error.message.includes('mine'),
    );
    assert.equal(readFileSync(secretsFile(dataDir), 'utf8'), text);
  });
});
