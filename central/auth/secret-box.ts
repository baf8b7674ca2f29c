import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type pg from 'pg';

/**
 * Secrets the central must read back (DC-09 AES keys) are stored encrypted: AES-256-GCM under a
 * master key that never enters the database — `VIGIL_MASTER_KEY` (64 hex digits; the same on every
 * central node), else `<data dir>/master.key` (created 0600 on first start). A database dump or
 * backup alone does not give the keys away.
 */
const PREFIX = 'v1:';

export class SecretBox {
  readonly #key: Buffer;

  constructor(key: Buffer) {
    if (key.length !== 32) throw new Error('the master key is 32 bytes (64 hex digits)');
    this.#key = key;
  }

  /** From VIGIL_MASTER_KEY, or the data dir's master.key (made on first use). */
  static open(dataDir: string, fromEnv = process.env.VIGIL_MASTER_KEY): SecretBox {
    if (fromEnv) {
      if (!/^[0-9A-Fa-f]{64}$/.test(fromEnv)) throw new Error('VIGIL_MASTER_KEY: 64 hex digits');
      return new SecretBox(Buffer.from(fromEnv, 'hex'));
    }
    const file = path.join(dataDir, 'master.key');
    if (!fs.existsSync(file)) {
      fs.mkdirSync(dataDir, { recursive: true });
      fs.writeFileSync(file, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
    }
    const text = fs.readFileSync(file, 'utf8').trim();
    if (!/^[0-9A-Fa-f]{64}$/.test(text)) throw new Error(`${file}: not a master key (64 hex digits)`);
    return new SecretBox(Buffer.from(text, 'hex'));
  }

  seal(clear: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    const data = Buffer.concat([cipher.update(clear, 'utf8'), cipher.final()]);
    return PREFIX + Buffer.concat([iv, cipher.getAuthTag(), data]).toString('base64');
  }

  open(sealed: string): string {
    if (!sealed.startsWith(PREFIX)) throw new Error('not a sealed secret');
    const raw = Buffer.from(sealed.slice(PREFIX.length), 'base64');
    const decipher = createDecipheriv('aes-256-gcm', this.#key, raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(12, 28));
    try {
      return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
    } catch {
      throw new Error(
        'a stored secret does not open with this master key (VIGIL_MASTER_KEY or master.key changed?)',
      );
    }
  }

  static isSealed(value: string): boolean {
    return value.startsWith(PREFIX);
  }
}

/** The box of the central a pool belongs to (set where the pool is made). */
const boxes = new WeakMap<pg.Pool, SecretBox>();

export function attachSecretBox(pool: pg.Pool, box: SecretBox): void {
  boxes.set(pool, box);
}

export function secretBoxOf(pool: pg.Pool): SecretBox {
  const box = boxes.get(pool);
  if (!box) throw new Error('no master key for this database (SecretBox not attached)');
  return box;
}
