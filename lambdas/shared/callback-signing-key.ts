import { type CallbackKeyRing, parseKeyRing } from '../domain/callback-keys';
import { systemCallbackSecretName } from '../domain/catalog';
import { systemCallbackKeys } from '../domain/webhook-signature';
import type { SecretStore } from '../ports/secret-store';

/** The secret entry holding the ring of keys that sign callback URLs (domain/callback-keys.ts). */
export const CALLBACK_SIGNING_KEY = 'callback-signing-key';

/** The key ring from the secret store (which keeps it for a few minutes); throws naming what is wrong. */
export async function callbackKeyRing(secrets: SecretStore): Promise<CallbackKeyRing> {
  return parseKeyRing(await secrets.credentials(CALLBACK_SIGNING_KEY));
}

/** The keys a system may sign its callbacks with, from its callback secret. */
export async function systemCallbackKeysOf(secrets: SecretStore, systemId: string): Promise<Buffer[]> {
  const name = systemCallbackSecretName(systemId);
  try {
    return systemCallbackKeys(await secrets.credentials(name));
  } catch (error) {
    throw new Error(`the secret "${name}": ${(error as Error).message}`);
  }
}
