import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { resolve } from 'node:path';
import { z } from 'zod';
import { AwsServiceError, closeServer, startAwsJsonServer } from './aws-json-server';
import type { LocalDeployment } from './cloud-assembly';
import { writeFileDurably } from './durable-file';
import { freePort } from './free-port';
import { jsonProblem } from './json-problem';

/**
 * The tag the CDK app puts on each secret: its value names the secret's entry in secrets.json (an auth
 * profile's id, `callback-signing-key`, or `callbacks:<systemId>`).
 */
export const SECRET_TAG = 'switchboard:secret';

/** Secret values by auth profile id, each a JSON object that GetSecretValue returns as the SecretString. */
export type LocalSecretValues = Record<string, Record<string, unknown>>;

/** The git-ignored file in the data folder that holds the local secret values. */
export const secretsFile = (dataDir: string) => resolve(dataDir, 'secrets.json');

const secretValuesSchema = z.record(z.string(), z.record(z.string(), z.unknown()));

interface LocalSecret {
  arn: string;
  name: string;
  /** The secret's entry in secrets.json: its auth profile id, or its name when it has no profile tag. */
  entry: string;
}

interface SecretVersion {
  secretString: string;
  versionId: string;
  /** Epoch seconds, as the JSON protocol carries timestamps. */
  createdDate: number;
}

/**
 * A Secrets Manager endpoint on loopback answering GetSecretValue for the template's secrets, with the
 * values a developer keeps in the data folder's secrets.json. The file is read on every request, so an
 * edit takes effect without a restart, the way PutSecretValue does; an edited value is a new version.
 */
export class LocalSecretsManager {
  private server?: Server;
  private readonly secrets: LocalSecret[] = [];
  private readonly versions = new Map<string, SecretVersion>();
  private readonly file: string;
  endpoint = '';

  constructor(deployment: LocalDeployment, dataDir: string) {
    this.file = secretsFile(dataDir);
    for (const resource of deployment.ofType('AWS::SecretsManager::Secret')) {
      const { Tags } = deployment.resolve(resource.properties, resource.stackName) as {
        Tags?: { Key: string; Value: string }[];
      };
      const profileId = Tags?.find((tag) => tag.Key === SECRET_TAG)?.Value;
      this.secrets.push({
        arn: String(deployment.attributes(resource).Ref),
        name: resource.physicalName,
        entry: profileId ?? resource.physicalName,
      });
    }
  }

  /** The entries of secrets.json the template's secrets read. */
  get entries(): string[] {
    return this.secrets.map((s) => s.entry);
  }

  async start(): Promise<void> {
    this.server = await startAwsJsonServer(await freePort(), (operation, input) => {
      if (operation !== 'GetSecretValue') {
        throw new AwsServiceError(
          'UnknownOperationException',
          `the local Secrets Manager does not implement ${operation}`,
        );
      }
      return this.getSecretValue(input);
    });
    const address = this.server.address();
    this.endpoint = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  }

  async stop(): Promise<void> {
    if (this.server) await closeServer(this.server);
  }

  private getSecretValue(input: Record<string, unknown>) {
    const secretId = typeof input.SecretId === 'string' ? input.SecretId : '';
    if (!secretId) throw new AwsServiceError('InvalidParameterException', 'SecretId is required');
    const secret = this.find(secretId);
    if (!secret) {
      throw new AwsServiceError(
        'ResourceNotFoundException',
        `Secrets Manager can't find the specified secret. (The local runtime has the cloud assembly's secrets: ${
          this.secrets.map((s) => s.name).join(', ') || 'none'
        }.)`,
      );
    }
    const stage = typeof input.VersionStage === 'string' ? input.VersionStage : 'AWSCURRENT';
    if (stage !== 'AWSCURRENT') {
      throw new AwsServiceError(
        'ResourceNotFoundException',
        `Secrets Manager can't find the specified secret value for staging label: ${stage}`,
      );
    }
    const version = this.currentVersion(secret);
    if (typeof input.VersionId === 'string' && input.VersionId !== version.versionId) {
      throw new AwsServiceError(
        'ResourceNotFoundException',
        `Secrets Manager can't find the specified secret value for VersionId: ${input.VersionId}`,
      );
    }
    return {
      ARN: secret.arn,
      Name: secret.name,
      VersionId: version.versionId,
      SecretString: version.secretString,
      VersionStages: ['AWSCURRENT'],
      CreatedDate: version.createdDate,
    };
  }

  /** Secrets Manager takes a secret's name, its ARN, or its ARN without the random suffix. */
  private find(secretId: string): LocalSecret | undefined {
    return this.secrets.find(
      (s) => secretId === s.arn || secretId === s.name || secretId === s.arn.replace(/-[A-Za-z0-9]{6}$/, ''),
    );
  }

  private currentVersion(secret: LocalSecret): SecretVersion {
    let values: LocalSecretValues;
    try {
      values = readSecretValues(this.file);
    } catch (error) {
      // A server-side fault, so that callers retry: the developer fixes the file and the retry succeeds.
      throw new AwsServiceError('InternalServiceError', (error as Error).message, 500);
    }
    const value = Object.hasOwn(values, secret.entry) ? values[secret.entry] : undefined;
    if (!value) {
      throw new AwsServiceError(
        'ResourceNotFoundException',
        `Secrets Manager can't find the specified secret value for staging label: AWSCURRENT. ` +
          `The local runtime reads the value of ${secret.name} from ${this.file}: add an entry ` +
          `"${secret.entry}": { … } to it (it is read again on every request).`,
      );
    }
    const secretString = JSON.stringify(value);
    const known = this.versions.get(secret.arn);
    if (known?.secretString === secretString) return known;
    const version = { secretString, versionId: randomUUID(), createdDate: Math.floor(Date.now() / 1000) };
    this.versions.set(secret.arn, version);
    return version;
  }
}

/**
 * Gives the listed auth profiles their local credentials: creates the data folder's secrets.json (readable
 * by its owner only) when there is none, else adds the profiles it lacks and leaves every existing entry
 * as the developer wrote it. Returns the profile ids it added.
 */
export function writeDefaultSecrets(dataDir: string, values: LocalSecretValues): string[] {
  const file = secretsFile(dataDir);
  const exists = existsSync(file);
  const current = exists ? readSecretValues(file) : {};
  const added = Object.keys(values).filter((profileId) => !Object.hasOwn(current, profileId));
  if (exists && added.length === 0) return [];
  const merged = {
    ...current,
    ...Object.fromEntries(added.map((profileId) => [profileId, values[profileId]])),
  };
  mkdirSync(dataDir, { recursive: true });
  writeFileDurably(file, `${JSON.stringify(merged, null, 2)}\n`, 0o600);
  return added;
}

/** The file's values; an absent file has none. Errors name the file and the problem, never a value. */
export function readSecretValues(file: string): LocalSecretValues {
  if (!existsSync(file)) return {};
  const text = readFileSync(file, 'utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new Error(`${file} is not valid JSON: ${jsonProblem(text, error)}`);
  }
  const checked = secretValuesSchema.safeParse(parsed);
  if (!checked.success) {
    const problems = checked.error.issues.map((issue) =>
      issue.path.length > 0 ? `"${String(issue.path[0])}" must be a JSON object` : 'must be a JSON object',
    );
    throw new Error(
      `${file}: ${[...new Set(problems)].join('; ')} (it maps auth profile ids to their credentials)`,
    );
  }
  return checked.data;
}
