/**
 * `npm run rotate-callback-keys -- [--revoke] [--data-dir .local] [--catalog catalog]`: rotates the local
 * runtime's callback signing keys, as the deployed stack's rotation does every 30 days. Without
 * `--revoke`, no callback URL already given to a system stops working; with it (a key leaked), every
 * one does. On AWS: `aws secretsmanager rotate-secret --secret-id <CallbackSigningKey ARN>`.
 */
import { parseArgs } from 'node:util';
import { keyGraceSeconds } from '../lambdas/domain/callback-keys';
import { CatalogError, loadCatalog } from '../lib/catalog/load-catalog';
import { rotateLocalCallbackKeys } from '../local/callback-keys';

try {
  const { values } = parseArgs({
    options: {
      revoke: { type: 'boolean', default: false },
      'data-dir': { type: 'string', default: '.local' },
      catalog: { type: 'string', default: 'catalog' },
    },
  });
  const graceSeconds = keyGraceSeconds(loadCatalog(values.catalog ?? 'catalog'));
  const now = new Date();
  const { ring, added, file, changed } = rotateLocalCallbackKeys(values['data-dir'] ?? '.local', {
    now,
    graceSeconds,
    ...(values.revoke ? { revoke: true } : {}),
  });
  if (!changed) {
    console.log(
      `${file}: ${added.id}, rotated in already, signs from ${added.activeFrom}; nothing changed (rotate again after that)`,
    );
    process.exit(0);
  }
  console.log(`${file}: the callback signing keys are now ${ring.keys.map((k) => k.id).join(', ')}`);
  console.log(
    values.revoke
      ? `${added.id} signs from now on; every other key is gone, and so is every callback URL they signed.`
      : `${added.id} signs from ${added.activeFrom}; the key it replaces is accepted ${graceSeconds} s longer.`,
  );
} catch (error) {
  console.error(error instanceof CatalogError ? error.message : (error as Error).message);
  process.exitCode = 2;
}
