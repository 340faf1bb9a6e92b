import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { writeFileDurably } from './durable-file';

/**
 * The local stand-in for Cognito: a git-ignored file in the data folder that gives each caller a bearer
 * token and the JWT claims a Cognito token for it would carry (its roles come from those claims, as on
 * AWS; `role` is a label). Add callers to the file as you need them. The local API Gateway accepts
 * these tokens where the template puts a JWT authorizer, and passes the claims to the Lambda in the
 * request context exactly where API Gateway puts them.
 */
const identitySchema = z.object({
  role: z.string().min(1),
  token: z.string().min(16),
  claims: z.record(z.string(), z.unknown()).refine((c) => typeof c.sub === 'string', 'claims need a sub'),
});
const fileSchema = z.object({ identities: z.array(identitySchema).min(1) });

export type LocalIdentity = z.infer<typeof identitySchema>;

const newToken = () => randomBytes(24).toString('base64url');

function defaults(): LocalIdentity[] {
  return [
    // A machine client (client credentials), as order capture would be on AWS.
    {
      role: 'submitter',
      token: newToken(),
      claims: { sub: 'local-order-capture', client_id: 'local-order-capture', scope: 'switchboard/submit' },
    },
    // A second order-capture client: it reads and lists only the orders it submitted, as the first does.
    {
      role: 'submitter',
      token: newToken(),
      claims: { sub: 'local-web-shop', client_id: 'local-web-shop', scope: 'switchboard/submit' },
    },
    // A client that reads every order and submits none (a service desk, a report).
    {
      role: 'reader',
      token: newToken(),
      claims: {
        sub: 'local-service-desk',
        client_id: 'local-service-desk',
        scope: 'switchboard/read-orders',
      },
    },
    // A person in the operators group.
    {
      role: 'operator',
      token: newToken(),
      claims: { sub: 'local-operator', username: 'operator', 'cognito:groups': '[operators]' },
    },
  ];
}

export function loadLocalIdentities(dataDir: string): LocalIdentity[] {
  const file = join(dataDir, 'identities.json');
  if (!existsSync(file)) {
    const identities = defaults();
    writeFileDurably(file, `${JSON.stringify({ identities }, null, 2)}\n`, 0o600);
    return identities;
  }
  const parsed = fileSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
  if (!parsed.success) {
    throw new Error(
      `${file}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')} (delete it to get the defaults)`,
    );
  }
  return parsed.data.identities;
}
