import { existsSync } from 'node:fs';
import { type CallbackKey, type CallbackKeyRing, keyIdAt } from '../lambdas/domain/callback-keys';
import { CALLBACK_SIGNING_KEY } from '../lambdas/shared/callback-signing-key';
import { nextKeyRing } from '../lambdas/use-cases/rotate-callback-keys';
import { writeFileDurably } from './durable-file';
import { readSecretValues, secretsFile } from './secrets-manager';

/**
 * Rotates the local runtime's callback signing keys in the data folder's secrets.json, the way the
 * deployed rotation function does in Secrets Manager (the running runtime reads the file on every
 * request, so nothing restarts). Throws naming the file when it has no key to rotate.
 */
export function rotateLocalCallbackKeys(
  dataDir: string,
  rotation: { now: Date; graceSeconds: number; revoke?: boolean },
): { ring: CallbackKeyRing; added: CallbackKey; file: string; changed: boolean } {
  const file = secretsFile(dataDir);
  if (!existsSync(file)) {
    throw new Error(`${file} does not exist: start the local runtime once (npm start) to make its keys`);
  }
  const values = readSecretValues(file);
  const current = values[CALLBACK_SIGNING_KEY];
  if (!current) throw new Error(`${file} has no "${CALLBACK_SIGNING_KEY}" entry to rotate`);
  let next: ReturnType<typeof nextKeyRing>;
  try {
    next = nextKeyRing(current, rotation);
  } catch (error) {
    throw new Error(`${file}, "${CALLBACK_SIGNING_KEY}": ${(error as Error).message}`);
  }
  // A rotation that still waits to take effect is left as it is (rotateKeyRing).
  const changed = next.added.id === keyIdAt(rotation.now);
  if (changed) {
    const ring = next.ring as unknown as Record<string, unknown>;
    writeFileDurably(
      file,
      `${JSON.stringify({ ...values, [CALLBACK_SIGNING_KEY]: ring }, null, 2)}\n`,
      0o600,
    );
  }
  return { ...next, file, changed };
}
