import type { SecretStore } from '../ports/secret-store';

/** The secret entry holding the key that signs callback URLs: `{ "key": "<random>" }`. */
export const CALLBACK_SIGNING_KEY = 'callback-signing-key';

/** The signing key from the secret store (which keeps it for a few minutes). */
export async function callbackSigningKey(secrets: SecretStore): Promise<string> {
  const value = await secrets.credentials(CALLBACK_SIGNING_KEY);
  if (typeof value.key !== 'string' || value.key.length < 32) {
    throw new Error(`the secret "${CALLBACK_SIGNING_KEY}" must hold {"key": "<at least 32 characters>"}`);
  }
  return value.key;
}
