import { randomBytes } from 'node:crypto';
import {
  type CallbackKey,
  type CallbackKeyRing,
  keyIdAt,
  parseKeyRing,
  rotateKeyRing,
} from '../domain/callback-keys';
import type { RotatingSecret } from '../ports/rotating-secret';
import { logger } from '../shared/logger';

/** 64 random bytes, base64url: a callback signing key. */
export const newKeyMaterial = (): string => randomBytes(64).toString('base64url');

/**
 * The signing key's secret value after one rotation (see rotateKeyRing): what the rotation function puts
 * as the pending version, and what the local command writes to the data folder's secrets file.
 */
export function nextKeyRing(
  value: unknown,
  rotation: { now: Date; graceSeconds: number; revoke?: boolean },
  keyMaterial: () => string = newKeyMaterial,
): { ring: CallbackKeyRing; added: CallbackKey } {
  return rotateKeyRing(parseKeyRing(value), {
    ...rotation,
    id: keyIdAt(rotation.now),
    key: keyMaterial(),
  });
}

export interface RotationDeps {
  secret: RotatingSecret;
  /** How long a retired key stays accepted: the catalog's longest callback URL life (keyGraceSeconds). */
  graceSeconds: number;
  now: () => Date;
}

export type RotationStep = 'createSecret' | 'setSecret' | 'testSecret' | 'finishSecret';

/**
 * One step of Secrets Manager's rotation of the callback signing key (the version being made is
 * `versionId`, Secrets Manager's ClientRequestToken). Each step may run more than once:
 *
 * - createSecret: puts the ring with a new key as the pending version, unless it is there already;
 * - setSecret: nothing — the keys are Switchboard's own, no other system holds them;
 * - testSecret: the pending version must read as a key ring;
 * - finishSecret: makes the pending version current.
 */
export async function rotateCallbackKeys(
  deps: RotationDeps,
  step: RotationStep,
  versionId: string,
): Promise<void> {
  const versions = await deps.secret.versions();
  const stages = versions[versionId];
  if (!stages) throw new Error(`version ${versionId} of the secret is not being rotated`);
  if (stages.includes('AWSCURRENT')) {
    logger.info('callback key rotation: the version is already current', { step, versionId });
    return;
  }
  if (!stages.includes('AWSPENDING')) {
    throw new Error(`version ${versionId} of the secret is not pending rotation`);
  }
  switch (step) {
    case 'createSecret': {
      if ((await deps.secret.pending(versionId)) !== undefined) return;
      const { ring, added } = nextKeyRing(await deps.secret.current(), {
        now: deps.now(),
        graceSeconds: deps.graceSeconds,
      });
      await deps.secret.putPending(versionId, ring);
      logger.info('callback key rotation: a new key is pending', {
        versionId,
        keyId: added.id,
        activeFrom: added.activeFrom,
        keys: ring.keys.map((k) => k.id),
      });
      return;
    }
    case 'setSecret':
      return;
    case 'testSecret': {
      const pending = await deps.secret.pending(versionId);
      if (pending === undefined) throw new Error(`version ${versionId} has no pending value to test`);
      parseKeyRing(pending);
      return;
    }
    case 'finishSecret': {
      const current = Object.entries(versions).find(([, s]) => s.includes('AWSCURRENT'))?.[0];
      await deps.secret.makeCurrent(versionId, current);
      logger.info('callback key rotation: finished', { versionId, replaced: current });
      return;
    }
  }
}
