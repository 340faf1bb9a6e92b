import { generateKeyPairSync, randomBytes } from 'node:crypto';
import forge from 'node-forge';

/**
 * A tiny certificate authority for the demo's system behind mutual TLS, made fresh where it is needed
 * (the first `npm start`, each test) so that no private key is ever committed. node-forge builds and
 * signs the X.509 certificates (Node's crypto reads certificates but cannot make them); the RSA keys come
 * from Node's own generator.
 */

/** A certificate and its private key, both PEM. */
export interface IssuedCertificate {
  certificate: string;
  privateKey: string;
}

/** Long enough that a developer's `.local/` never sees its demo certificates expire. */
const DEFAULT_VALID_DAYS = 3650;
/** Certificates start an hour in the past, so a clock a little behind still accepts them. */
const CLOCK_SKEW_MS = 3_600_000;

/** A self-signed CA certificate that may sign end-entity certificates (no intermediates). */
export function createCertificateAuthority(
  commonName: string,
  validDays = DEFAULT_VALID_DAYS,
): IssuedCertificate {
  const keys = rsaKeys();
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  setValidity(cert, validDays);
  const subject = [{ name: 'commonName', value: commonName }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(keys.privateKey, forge.md.sha256.create());
  return { certificate: forge.pki.certificateToPem(cert), privateKey: keys.pem };
}

export interface LeafOptions {
  commonName: string;
  /** `server`: a TLS server's certificate, for `hosts`; `client`: one a client presents (mutual TLS). */
  usage: 'server' | 'client';
  /** Host names and IP addresses the server certificate is valid for (its subjectAltName). */
  hosts?: string[];
  validDays?: number;
}

/** An end-entity certificate signed by `ca`. */
export function issueCertificate(ca: IssuedCertificate, options: LeafOptions): IssuedCertificate {
  const caCert = forge.pki.certificateFromPem(ca.certificate);
  const caKey = forge.pki.privateKeyFromPem(ca.privateKey);
  const keys = rsaKeys();
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  setValidity(cert, options.validDays ?? DEFAULT_VALID_DAYS);
  cert.setSubject([{ name: 'commonName', value: options.commonName }]);
  cert.setIssuer(caCert.subject.attributes);
  const hosts = options.hosts ?? [];
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    options.usage === 'server'
      ? { name: 'extKeyUsage', serverAuth: true }
      : { name: 'extKeyUsage', clientAuth: true },
    ...(hosts.length > 0
      ? [
          {
            name: 'subjectAltName',
            // 7: an IP address, 2: a DNS name (RFC 5280 GeneralName).
            altNames: hosts.map((host) =>
              /^[\d.]+$|:/.test(host) ? { type: 7, ip: host } : { type: 2, value: host },
            ),
          },
        ]
      : []),
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes() },
  ]);
  cert.sign(caKey, forge.md.sha256.create());
  return { certificate: forge.pki.certificateToPem(cert), privateKey: keys.pem };
}

function rsaKeys(): {
  publicKey: forge.pki.rsa.PublicKey;
  privateKey: forge.pki.rsa.PrivateKey;
  pem: string;
} {
  const { privateKey: pem } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  const privateKey = forge.pki.privateKeyFromPem(pem);
  return { publicKey: forge.pki.rsa.setPublicKey(privateKey.n, privateKey.e), privateKey, pem };
}

function setValidity(cert: forge.pki.Certificate, validDays: number): void {
  // 16 random bytes with the top bit clear: a positive serial (RFC 5280 §4.1.2.2).
  const serial = randomBytes(16);
  serial[0] = (serial[0] ?? 0) & 0x7f;
  cert.serialNumber = serial.toString('hex');
  const now = Date.now();
  cert.validity.notBefore = new Date(now - CLOCK_SKEW_MS);
  cert.validity.notAfter = new Date(now + validDays * 86_400_000);
}
