import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type AuthProfile, authProfileSchema, credentialSchemas } from '../../lambdas/domain/auth-profile';
import { Authenticator } from '../../lambdas/domain/authenticator';
import { CalloutError } from '../../lambdas/domain/errors';
import { StaticSecretStore } from './fixtures/configuration';
import { ScriptedHttpClient } from './fixtures/fake-ports';
import { encryptedKey, pemBodyLines, testPki } from './fixtures/pki';

const MTLS: AuthProfile = authProfileSchema.parse({ id: 'provisioning-mtls', type: 'mtls' });
const PASSPHRASE = 'correct horse battery staple';

/** A valid secret of the profile: the test CA's client certificate, its key and the CA. */
function secret(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const { client, ca } = testPki();
  return {
    certificate: client.certificate,
    privateKey: client.privateKey,
    caBundle: ca.certificate,
    ...overrides,
  };
}

/** Everything in a text that would be key material or a secret value. */
function assertQuotesNothing(text: string): void {
  const { client, renewed, rogueClient } = testPki();
  for (const pem of [client.privateKey, renewed.privateKey, rogueClient.privateKey, client.certificate]) {
    for (const line of pemBodyLines(pem)) assert.ok(!text.includes(line), `"${text}" quotes key material`);
  }
  // The messages name the PEM header they expect, but never hold a whole block.
  assert.doesNotMatch(text, /-----END|battery staple|not-a-certificate-at-all/);
}

describe('the mtls auth profile', () => {
  it('is an id and a type: what it presents is in its secret, never in the catalog', () => {
    assert.deepEqual(authProfileSchema.parse({ id: 'provisioning-mtls', type: 'mtls' }), MTLS);

    const withKey = authProfileSchema.safeParse({ id: 'p', type: 'mtls', privateKey: 'do-not-put-me-here' });

    assert.equal(withKey.success, false);
    assert.match(JSON.stringify(withKey.error?.issues), /privateKey/);
    assert.doesNotMatch(JSON.stringify(withKey.error?.issues), /do-not-put-me-here/);
  });
});

describe('the secret of an mtls profile', () => {
  const schema = credentialSchemas.mtls;

  it('takes a certificate and its key, with or without a CA bundle', () => {
    const { client } = testPki();
    assert.ok(schema.safeParse(secret()).success);
    assert.ok(schema.safeParse({ certificate: client.certificate, privateKey: client.privateKey }).success);
  });

  it('takes a chain (the client certificate first) and an encrypted key with its passphrase', () => {
    const { client, ca } = testPki();

    const parsed = schema.safeParse(
      secret({
        certificate: `${client.certificate}${ca.certificate}`,
        privateKey: encryptedKey(client.privateKey, PASSPHRASE),
        passphrase: PASSPHRASE,
      }),
    );

    assert.ok(parsed.success, JSON.stringify(parsed.error?.issues));
  });

  const cases: [string, () => Record<string, unknown>, string, RegExp][] = [
    [
      'a certificate that is no PEM',
      () => secret({ certificate: 'not-a-certificate-at-all' }),
      'certificate',
      /^must be PEM: one or more "-----BEGIN CERTIFICATE-----" blocks, the client certificate first$/,
    ],
    [
      'a PEM certificate block that holds no certificate',
      () =>
        secret({ certificate: '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n' }),
      'certificate',
      /^certificate 1 of 1 is no X\.509 certificate$/,
    ],
    [
      'a key that is no PEM private key (a certificate)',
      () => secret({ privateKey: testPki().ca.certificate }),
      'privateKey',
      /^must be a PEM private key/,
    ],
    [
      'a PEM private key block that holds no key',
      () => secret({ privateKey: '-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n' }),
      'privateKey',
      /^is no private key Node can read$/,
    ],
    [
      "another certificate's key",
      () => secret({ privateKey: testPki().renewed.privateKey }),
      'privateKey',
      /^does not belong to the certificate \(the first in "certificate"\)$/,
    ],
    [
      'an encrypted key without its passphrase',
      () => secret({ privateKey: encryptedKey(testPki().client.privateKey, PASSPHRASE) }),
      'privateKey',
      /^is encrypted, and the secret has no passphrase$/,
    ],
    [
      'an encrypted key with the wrong passphrase',
      () =>
        secret({
          privateKey: encryptedKey(testPki().client.privateKey, PASSPHRASE),
          passphrase: 'battery staple',
        }),
      'privateKey',
      /^cannot be decrypted with the passphrase$/,
    ],
    [
      'a CA bundle that is no PEM',
      () => secret({ caBundle: 'not-a-certificate-at-all' }),
      'caBundle',
      /^must be PEM: one or more "-----BEGIN CERTIFICATE-----" blocks, the CAs that sign the system’s certificate$/,
    ],
  ];
  for (const [name, given, field, message] of cases) {
    it(`refuses ${name}, at ${field}, saying what is wrong and quoting nothing`, () => {
      const parsed = schema.safeParse(given());

      assert.equal(parsed.success, false);
      const issues = parsed.error?.issues ?? [];
      assert.deepEqual(
        issues.map((i) => i.path.join('.')),
        [field],
        JSON.stringify(issues),
      );
      assert.match(issues[0]?.message ?? '', message);
      assertQuotesNothing(JSON.stringify(issues));
    });
  }

  it('names every missing field', () => {
    const parsed = schema.safeParse({});

    assert.deepEqual(parsed.error?.issues.map((i) => i.path.join('.')).sort(), ['certificate', 'privateKey']);
  });
});

describe('Authenticator: mutual TLS', () => {
  it('hands the HTTP client the certificate, key and CA, sends no credential header, and lists the key to scrub', async () => {
    // Prepare
    const http = new ScriptedHttpClient(() => assert.fail('no request: mutual TLS fetches nothing'));
    const auth = new Authenticator(new StaticSecretStore({ [MTLS.id]: secret() }), http, () => new Date());
    const { client, ca } = testPki();

    // Act
    const credentialed = await auth.headers(MTLS, 'https://provisioning.test');

    // Assess
    assert.deepEqual(credentialed.headers, {});
    assert.deepEqual(credentialed.tls, {
      profileId: MTLS.id,
      certificate: client.certificate,
      privateKey: client.privateKey,
      caBundle: ca.certificate,
    });
    assert.ok(credentialed.secrets.includes(client.privateKey));
    assert.ok(credentialed.secrets.includes(client.certificate));
    assert.equal(http.requests.length, 0);
  });

  it('passes an encrypted key on with its passphrase, and lists the passphrase to scrub', async () => {
    const key = encryptedKey(testPki().client.privateKey, PASSPHRASE);
    const auth = new Authenticator(
      new StaticSecretStore({ [MTLS.id]: secret({ privateKey: key, passphrase: PASSPHRASE }) }),
      new ScriptedHttpClient(() => assert.fail('no request')),
      () => new Date(),
    );

    const credentialed = await auth.headers(MTLS, 'https://provisioning.test');

    assert.equal(credentialed.tls?.privateKey, key);
    assert.equal(credentialed.tls?.passphrase, PASSPHRASE);
    assert.ok(credentialed.secrets.includes(PASSPHRASE) && credentialed.secrets.includes(key));
  });

  it('fails with a CalloutError naming the profile, the field and what is wrong, never the material', async () => {
    const auth = new Authenticator(
      new StaticSecretStore({ [MTLS.id]: secret({ privateKey: testPki().renewed.privateKey }) }),
      new ScriptedHttpClient(() => assert.fail('no request')),
      () => new Date(),
    );

    const error = await auth.headers(MTLS, 'https://provisioning.test').catch((e: unknown) => e);

    assert.ok(error instanceof CalloutError);
    assert.equal(
      error.message,
      'the secret of auth profile "provisioning-mtls" (mtls) is missing or has invalid fields: privateKey (does not belong to the certificate (the first in "certificate"))',
    );
    assert.equal(error.unreachable, false, 'a retry sends the same secret: no connection failure');
    assertQuotesNothing(error.message);
  });

  it('renews nothing after a 401: a certificate refused is refused again', () => {
    const auth = new Authenticator(
      new StaticSecretStore({}),
      new ScriptedHttpClient(() => assert.fail()),
      () => new Date(),
    );

    assert.equal(auth.renew(MTLS, 'https://provisioning.test'), false);
  });
});
