import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import * as x509 from '@peculiar/x509';

export interface TlsMaterial {
  readonly key: string;
  readonly cert: string;
  /** The CA that signed `cert`: what gateways are given to trust. */
  readonly ca: string;
}

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

async function keyPem(key: webcrypto.CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

/** Where `ensureTlsMaterial` keeps the CA, the server certificate and its key (PEM) in `dir`. */
export function tlsFiles(dir: string): { ca: string; cert: string; key: string } {
  return {
    ca: path.join(dir, 'ca.pem'),
    cert: path.join(dir, 'server.pem'),
    key: path.join(dir, 'server.key'),
  };
}

/**
 * A private CA and a server certificate for the broker, made once and kept in `dir` (keys 0600).
 * For the single-machine default and the demo; production installs give their own certificate
 * (VIGIL_MQTT_TLS_CERT / _KEY / _CA). The CA key stays here so the central can re-issue.
 */
export async function ensureTlsMaterial(dir: string, hostnames: readonly string[]): Promise<TlsMaterial> {
  const files = tlsFiles(dir);
  if (existsSync(files.ca) && existsSync(files.cert) && existsSync(files.key)) {
    return {
      ca: readFileSync(files.ca, 'utf8'),
      cert: readFileSync(files.cert, 'utf8'),
      key: readFileSync(files.key, 'utf8'),
    };
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
  const now = Date.now();
  const notBefore = new Date(now - 60_000);
  const caKeys = (await webcrypto.subtle.generateKey(ALGORITHM, true, [
    'sign',
    'verify',
  ])) as webcrypto.CryptoKeyPair;
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: webcrypto
      .getRandomValues(new Uint8Array(8))
      .reduce((s, b) => s + b.toString(16).padStart(2, '0'), '01'),
    name: 'CN=Vigil central CA',
    notBefore,
    notAfter: new Date(now + 10 * 365 * 86_400_000),
    keys: caKeys,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    ],
  });
  const server = await issue(ca, caKeys.privateKey, 'CN=Vigil central', hostnames, [
    x509.ExtendedKeyUsage.serverAuth,
  ]);
  const material = { ca: ca.toString('pem'), ...server };
  writeFileSync(path.join(dir, 'ca.key'), await keyPem(caKeys.privateKey), { mode: 0o600 });
  writeFileSync(files.key, material.key, { mode: 0o600 });
  writeFileSync(files.cert, material.cert);
  writeFileSync(files.ca, material.ca);
  return material;
}

/**
 * A certificate from the CA `ensureTlsMaterial` keeps in `dir`, for a peer that is server and
 * client at once (cluster nodes proving themselves to each other), naming localhost, 127.0.0.1 and
 * `hostnames`.
 */
export async function issuePeerCertificate(
  dir: string,
  subject: string,
  hostnames: readonly string[],
): Promise<{ cert: string; key: string }> {
  x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
  const ca = new x509.X509Certificate(readFileSync(tlsFiles(dir).ca, 'utf8'));
  const caKey = await webcrypto.subtle.importKey(
    'pkcs8',
    x509.PemConverter.decodeFirst(readFileSync(path.join(dir, 'ca.key'), 'utf8')),
    ALGORITHM,
    false,
    ['sign'],
  );
  return issue(ca, caKey, subject, hostnames, [
    x509.ExtendedKeyUsage.serverAuth,
    x509.ExtendedKeyUsage.clientAuth,
  ]);
}

async function issue(
  ca: x509.X509Certificate,
  caKey: webcrypto.CryptoKey,
  subject: string,
  hostnames: readonly string[],
  usages: readonly string[],
): Promise<{ cert: string; key: string }> {
  const keys = (await webcrypto.subtle.generateKey(ALGORITHM, true, [
    'sign',
    'verify',
  ])) as webcrypto.CryptoKeyPair;
  const names = [...new Set(['localhost', '127.0.0.1', ...hostnames])];
  const now = Date.now();
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: webcrypto
      .getRandomValues(new Uint8Array(8))
      .reduce((s, b) => s + b.toString(16).padStart(2, '0'), '02'),
    subject,
    issuer: ca.subject,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 2 * 365 * 86_400_000),
    publicKey: keys.publicKey,
    signingKey: caKey,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([...usages]),
      new x509.SubjectAlternativeNameExtension(
        names.map((n) => ({ type: isIP(n) ? 'ip' : 'dns', value: n })),
      ),
    ],
  });
  return { cert: certificate.toString('pem'), key: await keyPem(keys.privateKey) };
}
