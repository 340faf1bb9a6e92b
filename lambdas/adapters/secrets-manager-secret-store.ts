import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SecretStore } from '../ports/secret-store';

/** Secrets are read again after this long, so a rotated credential is picked up without a deploy. */
const CACHE_MS = 5 * 60_000;

/**
 * Auth profiles' credentials from AWS Secrets Manager: one secret per profile, its ARN given by the
 * deployment (`profileId → secret ARN`). Kept in memory for a few minutes; never logged.
 */
export class SecretsManagerSecretStore implements SecretStore {
  private readonly cache = new Map<string, { value: Promise<Record<string, unknown>>; readAt: number }>();

  constructor(
    private readonly client: SecretsManagerClient,
    private readonly secretArns: Record<string, string>,
    private readonly now: () => number = Date.now,
  ) {}

  credentials(profileId: string): Promise<Record<string, unknown>> {
    const cached = this.cache.get(profileId);
    if (cached && this.now() - cached.readAt < CACHE_MS) return cached.value;
    const value = this.read(profileId);
    this.cache.set(profileId, { value, readAt: this.now() });
    value.catch(() => this.cache.delete(profileId));
    return value;
  }

  private async read(profileId: string): Promise<Record<string, unknown>> {
    const arn = this.secretArns[profileId];
    if (!arn) throw new Error(`no secret is deployed for auth profile "${profileId}"`);
    let text: string | undefined;
    try {
      text = (await this.client.send(new GetSecretValueCommand({ SecretId: arn }))).SecretString;
    } catch (error) {
      throw new Error(`reading its secret failed (${(error as Error).name}): ${(error as Error).message}`);
    }
    let value: unknown;
    try {
      value = JSON.parse(text ?? '');
    } catch {
      // The text may be the secret itself: say what is wrong, never what it is.
      throw new Error('its secret is not a JSON object');
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw new Error('its secret is not a JSON object');
    }
    return value as Record<string, unknown>;
  }
}
