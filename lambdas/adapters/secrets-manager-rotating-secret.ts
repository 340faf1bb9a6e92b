import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceNotFoundException,
  type SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import type { RotatingSecret } from '../ports/rotating-secret';

/** A secret being rotated, in AWS Secrets Manager. Values are JSON; they are never logged. */
export class SecretsManagerRotatingSecret implements RotatingSecret {
  constructor(
    private readonly client: SecretsManagerClient,
    private readonly secretId: string,
  ) {}

  async versions(): Promise<Record<string, string[]>> {
    const described = await this.client.send(new DescribeSecretCommand({ SecretId: this.secretId }));
    return described.VersionIdsToStages ?? {};
  }

  async current(): Promise<unknown> {
    const value = await this.client.send(
      new GetSecretValueCommand({ SecretId: this.secretId, VersionStage: 'AWSCURRENT' }),
    );
    return parse(value.SecretString);
  }

  async pending(versionId: string): Promise<unknown | undefined> {
    try {
      const value = await this.client.send(
        new GetSecretValueCommand({
          SecretId: this.secretId,
          VersionId: versionId,
          VersionStage: 'AWSPENDING',
        }),
      );
      return parse(value.SecretString);
    } catch (error) {
      if (error instanceof ResourceNotFoundException) return undefined;
      throw error;
    }
  }

  async putPending(versionId: string, value: unknown): Promise<void> {
    await this.client.send(
      new PutSecretValueCommand({
        SecretId: this.secretId,
        ClientRequestToken: versionId,
        SecretString: JSON.stringify(value),
        VersionStages: ['AWSPENDING'],
      }),
    );
  }

  async makeCurrent(to: string, from: string | undefined): Promise<void> {
    await this.client.send(
      new UpdateSecretVersionStageCommand({
        SecretId: this.secretId,
        VersionStage: 'AWSCURRENT',
        MoveToVersionId: to,
        ...(from ? { RemoveFromVersionId: from } : {}),
      }),
    );
  }
}

function parse(text: string | undefined): unknown {
  try {
    return JSON.parse(text ?? '');
  } catch {
    // Say what is wrong, never what it is.
    throw new Error('the secret is not JSON');
  }
}
