import { z } from 'zod';
import { SecretsManagerRotatingSecret } from '../adapters/secrets-manager-rotating-secret';
import { secretsManager } from '../shared/aws-clients';
import { requiredEnv } from '../shared/env';
import { lambdaHandler } from '../shared/handler';
import { type RotationDeps, rotateCallbackKeys } from '../use-cases/rotate-callback-keys';

/** What Secrets Manager invokes a rotation function with. */
const rotationEventSchema = z.object({
  Step: z.enum(['createSecret', 'setSecret', 'testSecret', 'finishSecret']),
  SecretId: z.string().min(1),
  ClientRequestToken: z.string().min(1),
});

/**
 * Rotates the callback signing key when Secrets Manager says so (every 30 days, or `aws secretsmanager
 * rotate-secret`): a new key joins the ring, signs ten minutes later, and the one it replaces is still
 * accepted for the grace period (domain/callback-keys.ts).
 */
export async function handleRotation(
  deps: (secretId: string) => RotationDeps,
  event: unknown,
): Promise<void> {
  const { Step, SecretId, ClientRequestToken } = rotationEventSchema.parse(event);
  if (SecretId !== requiredEnv('CALLBACK_SIGNING_SECRET_ARN')) {
    throw new Error(`this function rotates the callback signing key only, not ${SecretId}`);
  }
  await rotateCallbackKeys(deps(SecretId), Step, ClientRequestToken);
}

export const handler = lambdaHandler((event: unknown) =>
  handleRotation(
    (secretId) => ({
      secret: new SecretsManagerRotatingSecret(secretsManager, secretId),
      graceSeconds: Number(requiredEnv('CALLBACK_KEY_GRACE_SECONDS')),
      now: () => new Date(),
    }),
    event,
  ),
);
