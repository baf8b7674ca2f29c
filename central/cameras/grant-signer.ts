import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { rawGrantKey } from '../../protocols/camera-grant.ts';

export interface GrantSigner {
  readonly privateKey: KeyObject;
  /** What gateways are configured with (`central.grantKey`): base64url of the raw Ed25519 public key. */
  readonly publicKey: string;
}

/** The central's camera-grant key (Ed25519), made on first start and kept private to its data dir. */
export async function loadOrCreateGrantSigner(dir: string): Promise<GrantSigner> {
  const file = path.join(dir, 'grant-ed25519.pem');
  let pem: string;
  try {
    pem = await fs.readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    const { privateKey } = generateKeyPairSync('ed25519');
    pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    await fs.writeFile(file, pem, { mode: 0o600, flag: 'wx' });
  }
  const privateKey = createPrivateKey(pem);
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error(`${file}: not an Ed25519 key`);
  return { privateKey, publicKey: rawGrantKey(createPublicKey(privateKey)) };
}
