import { z } from 'zod';
import { slug } from '../../statemachines/plan-definition';

/** An HTTP header name (RFC 9110 token). */
const headerName = z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, 'must be an HTTP header name');

/**
 * How Switchboard proves who it is to a system. The profile says how; the credentials themselves live in
 * a secret (AWS Secrets Manager, or the local runtime's git-ignored secrets file), never in the catalog.
 */
export const authProfileSchema = z.discriminatedUnion('type', [
  z.object({ id: slug, type: z.literal('none') }).strict(),
  z
    .object({
      id: slug,
      type: z.literal('api-key'),
      /** The header that carries the key. */
      header: headerName.default('x-api-key'),
    })
    .strict(),
  z.object({ id: slug, type: z.literal('basic') }).strict(),
  z.object({ id: slug, type: z.literal('bearer') }).strict(),
  z
    .object({
      id: slug,
      type: z.literal('oauth2-client-credentials'),
      /** An absolute URL, or a path resolved against the base URL of the system being called. */
      tokenUrl: z.union([
        z.url({ protocol: /^https?$/ }),
        z.string().regex(/^\/\S*$/, 'must be a URL or a path'),
      ]),
      scope: z.string().min(1).optional(),
    })
    .strict(),
]);

export type AuthProfile = z.infer<typeof authProfileSchema>;
export type AuthType = AuthProfile['type'];

/** What the secret of each profile type holds (a JSON object). */
export const credentialSchemas = {
  'api-key': z.object({ apiKey: z.string().min(1) }),
  basic: z.object({ username: z.string().min(1), password: z.string() }),
  bearer: z.object({ token: z.string().min(1) }),
  'oauth2-client-credentials': z.object({ clientId: z.string().min(1), clientSecret: z.string().min(1) }),
} as const;

export type Credentials<T extends Exclude<AuthType, 'none'>> = z.infer<(typeof credentialSchemas)[T]>;

/** Profiles whose credentials come from a secret. */
export const needsSecret = (profile: AuthProfile): profile is Exclude<AuthProfile, { type: 'none' }> =>
  profile.type !== 'none';
