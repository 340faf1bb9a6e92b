import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
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
  z
    .object({
      id: slug,
      /**
       * Mutual TLS: Switchboard proves who it is with a client certificate in the TLS handshake, and sends
       * no credential header. The system's base URL must be https. The secret holds the certificate, its
       * private key and, where the system's own certificate comes from a private CA, that CA (`caBundle`).
       */
      type: z.literal('mtls'),
    })
    .strict(),
]);

export type AuthProfile = z.infer<typeof authProfileSchema>;
export type AuthType = AuthProfile['type'];

/** A PEM private key: PKCS #8 (plain or encrypted), PKCS #1 RSA or SEC 1 EC, with nothing else. */
const PEM_PRIVATE_KEY =
  /^\s*-----BEGIN ((?:ENCRYPTED |RSA |EC )?PRIVATE KEY)-----\r?\n[\s\S]+?\r?\n-----END \1-----\s*$/;

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----\r?\n[\s\S]+?-----END CERTIFICATE-----/g;

/** The PEM certificate blocks of a text, in order (the text between them, as openssl prints it, is left). */
export function pemCertificates(text: string): string[] {
  return text.match(PEM_CERTIFICATE) ?? [];
}

/** One or more PEM certificates, each of which must parse; the issues never quote the text. */
function certificateChain(order: string) {
  return z.string().superRefine((text, ctx) => {
    const blocks = pemCertificates(text);
    if (blocks.length === 0) {
      ctx.addIssue({
        code: 'custom',
        message: `must be PEM: one or more "-----BEGIN CERTIFICATE-----" blocks, ${order}`,
      });
      return;
    }
    blocks.forEach((block, i) => {
      if (!parsedCertificate(block)) {
        ctx.addIssue({
          code: 'custom',
          message: `certificate ${i + 1} of ${blocks.length} is no X.509 certificate`,
        });
      }
    });
  });
}

/** The certificate of a PEM block, or undefined when there is none (its field's check says so). */
function parsedCertificate(block: string | undefined): X509Certificate | undefined {
  if (block === undefined) return undefined;
  try {
    return new X509Certificate(block);
  } catch {
    return undefined;
  }
}

/**
 * The secret of an `mtls` profile. Everything is checked before a handshake is tried, so that a secret
 * that cannot work fails its callout saying what is wrong (never quoting it) rather than as a connection
 * error the retry rules would retry.
 */
const mtlsSecretSchema = z
  .object({
    /** PEM: the client certificate, then any intermediates that chain it to the CA the system trusts. */
    certificate: certificateChain('the client certificate first'),
    /** PEM: the certificate's private key (PKCS #8, or the RSA or EC forms), encrypted or not. */
    privateKey: z.string().superRefine((text, ctx) => {
      if (!PEM_PRIVATE_KEY.test(text)) {
        ctx.addIssue({
          code: 'custom',
          message: 'must be a PEM private key ("-----BEGIN PRIVATE KEY-----", or the RSA or EC form)',
        });
      }
    }),
    /** PEM: the CAs that may sign the system's server certificate, trusted instead of the public roots. */
    caBundle: certificateChain('the CAs that sign the system’s certificate').optional(),
    /** The private key's passphrase, when it is encrypted. */
    passphrase: z.string().min(1).optional(),
  })
  .superRefine((secret, ctx) => {
    // What the fields' own checks refused is reported once, by them.
    if (!PEM_PRIVATE_KEY.test(secret.privateKey)) return;
    let key: KeyObject;
    try {
      key = createPrivateKey({
        key: secret.privateKey,
        format: 'pem',
        ...(secret.passphrase !== undefined ? { passphrase: secret.passphrase } : {}),
      });
    } catch {
      // Node's message is not passed on: say what is wrong, never anything of the key.
      const encrypted = /ENCRYPTED/.test(secret.privateKey);
      ctx.addIssue({
        code: 'custom',
        path: ['privateKey'],
        message: !encrypted
          ? 'is no private key Node can read'
          : secret.passphrase === undefined
            ? 'is encrypted, and the secret has no passphrase'
            : 'cannot be decrypted with the passphrase',
      });
      return;
    }
    const certificate = parsedCertificate(pemCertificates(secret.certificate)[0]);
    if (certificate && !certificate.checkPrivateKey(key)) {
      ctx.addIssue({
        code: 'custom',
        path: ['privateKey'],
        message: 'does not belong to the certificate (the first in "certificate")',
      });
    }
  });

/** What the secret of each profile type holds (a JSON object). */
export const credentialSchemas = {
  'api-key': z.object({ apiKey: z.string().min(1) }),
  basic: z.object({ username: z.string().min(1), password: z.string() }),
  bearer: z.object({ token: z.string().min(1) }),
  'oauth2-client-credentials': z.object({ clientId: z.string().min(1), clientSecret: z.string().min(1) }),
  mtls: mtlsSecretSchema,
} as const;

export type Credentials<T extends Exclude<AuthType, 'none'>> = z.infer<(typeof credentialSchemas)[T]>;

/** Profiles whose credentials come from a secret. */
export const needsSecret = (profile: AuthProfile): profile is Exclude<AuthProfile, { type: 'none' }> =>
  profile.type !== 'none';
