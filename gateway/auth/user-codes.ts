import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import type { UserConfig } from '../config.ts';

/**
 * Keypad and app codes, stored as scrypt hashes. A 4–8 digit code has little entropy whatever the
 * hash: the real defence is the keypad lockout. The cost is therefore set for a Raspberry Pi to
 * check every user's code within a second, not for the central's password strength.
 */
const COST = { N: 2 ** 12, r: 8, p: 1 } as const;
const KEY_LENGTH = 32;
export const CODE_PATTERN = /^[0-9]{4,8}$/;

function derive(code: string, salt: Buffer, cost: { N: number; r: number; p: number }): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(code, salt, KEY_LENGTH, cost, (error, key) => (error ? reject(error) : resolve(key))),
  );
}

export async function hashCode(code: string): Promise<string> {
  if (!CODE_PATTERN.test(code)) throw new Error('a code is 4 to 8 digits');
  const salt = randomBytes(16);
  const key = await derive(code, salt, COST);
  return ['scrypt', COST.N, COST.r, COST.p, salt.toString('base64url'), key.toString('base64url')].join('$');
}

export async function codeMatches(code: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64url');
  const key = await derive(code, Buffer.from(salt, 'base64url'), {
    N: Number(n),
    r: Number(r),
    p: Number(p),
  });
  return key.length === expected.length && timingSafeEqual(key, expected);
}

export interface Identified {
  readonly user: UserConfig;
  /** The code entered was the user's duress code: act normally, and silently report duress. */
  readonly duress: boolean;
}

/** Which user, if any, a code belongs to. Every hash is checked, so timing does not tell which matched. */
export async function identify(users: readonly UserConfig[], code: string): Promise<Identified | null> {
  if (!CODE_PATTERN.test(code)) return null;
  let found: Identified | null = null;
  for (const user of users) {
    const [normal, duress] = await Promise.all([
      codeMatches(code, user.codeHash),
      user.duressCodeHash ? codeMatches(code, user.duressCodeHash) : Promise.resolve(false),
    ]);
    if (!found && (normal || duress)) found = { user, duress: !normal && duress };
  }
  return found;
}
