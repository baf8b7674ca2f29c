import { createHash } from 'node:crypto';
import type pg from 'pg';
import { inTransaction } from '../db/pool.ts';
import { audit } from '../records.ts';
import { accountTarget, checkSecret, type LockoutPolicy } from './lockout.ts';
import { hashPassword, newSecret, sha256, verifyPassword } from './secrets.ts';

/** Lockout and session policy: data, so an ARC can tune it. */
export interface AuthPolicy extends LockoutPolicy {
  readonly sessionHours: number;
}

export const DEFAULT_AUTH_POLICY: AuthPolicy = { maxFailures: 5, lockoutMinutes: 15, sessionHours: 12 };

export const ROLES = ['operator', 'supervisor', 'installer', 'customer'] as const;
export type Role = (typeof ROLES)[number];

/** A signed-in account (named for the first role there was). Customers see one site, installers their company's. */
export interface Operator {
  id: string;
  username: string;
  displayName: string;
  role: Role;
  siteId: string | null;
  installerId: string | null;
}

interface AccountRow {
  id: string;
  username: string;
  display_name: string;
  role: Role;
  site_id: string | null;
  installer_id: string | null;
}

function toAccount(row: AccountRow): Operator {
  return {
    id: row.id,
    username: row.username,
    displayName: row.display_name,
    role: row.role,
    siteId: row.site_id,
    installerId: row.installer_id,
  };
}

export type LoginResult =
  | { ok: true; token: string; operator: Operator; expiresAt: Date }
  | { ok: false; reason: 'invalid' | 'locked' };

/** A hash to verify against when the user does not exist, so timing does not reveal usernames. */
const DUMMY_HASH = hashPassword('not-a-real-password');

/**
 * Who did something, in the one naming scheme of the trail and the audit log: `operator:<username>`
 * for operators and supervisors, `customer:<username>`, `installer:<username>`; the system's own
 * parts are `system`, `engine`, `central`, `cli:<who>`, `app:<address>`.
 */
export function actorOf(account: { readonly username: string; readonly role: string }): string {
  const kind = account.role === 'supervisor' ? 'operator' : account.role;
  return `${kind}:${account.username}`;
}

export async function login(
  pool: pg.Pool,
  username: string,
  password: string,
  from: string,
  policy: AuthPolicy = DEFAULT_AUTH_POLICY,
): Promise<LoginResult> {
  return inTransaction(pool, async (client) => {
    const { rows } = await client.query<AccountRow & { password_hash: string }>(
      `SELECT id::text, username, display_name, password_hash, role, site_id, installer_id::text
         FROM operators WHERE username = $1`,
      [username],
    );
    const row = rows[0];
    // An unknown username is checked, counted and locked exactly like a real one.
    const check = await checkSecret(
      client,
      { target: accountTarget(username), source: from },
      policy,
      async () =>
        row
          ? verifyPassword(password, row.password_hash)
          : verifyPassword(password, await DUMMY_HASH).then(() => false),
    );
    if (check !== 'ok' || !row) {
      await audit(
        client,
        row ? actorOf(row) : `unknown:${username}`,
        check === 'refused' ? 'login.refused' : 'login.failed',
        username,
        {
          from,
          reason: check === 'refused' ? 'locked' : row ? 'bad password' : 'unknown user',
          ...(check === 'locked' ? { locked: true } : {}),
        },
      );
      return { ok: false, reason: check === 'invalid' ? 'invalid' : 'locked' };
    }
    const token = newSecret();
    const { rows: session } = await client.query<{ expires_at: Date }>(
      `INSERT INTO operator_sessions (token_sha256, operator_id, expires_at)
       VALUES ($1, $2, now() + make_interval(hours => $3)) RETURNING expires_at`,
      [sha256(token), row.id, policy.sessionHours],
    );
    await audit(client, actorOf(row), 'login.ok', username, { from });
    return {
      ok: true,
      token,
      expiresAt: session[0]!.expires_at,
      operator: toAccount(row),
    };
  });
}

export async function operatorForSession(pool: pg.Pool, token: string): Promise<Operator | null> {
  const { rows } = await pool.query<AccountRow>(
    `SELECT o.id::text, o.username, o.display_name, o.role, o.site_id, o.installer_id::text
       FROM operator_sessions s JOIN operators o ON o.id = s.operator_id
      WHERE s.token_sha256 = $1 AND s.expires_at > now()`,
    [sha256(token)],
  );
  return rows[0] ? toAccount(rows[0]) : null;
}

export async function logout(pool: pg.Pool, token: string, operator: Operator): Promise<void> {
  await pool.query('DELETE FROM operator_sessions WHERE token_sha256 = $1', [sha256(token)]);
  await audit(pool, actorOf(operator), 'logout', operator.username);
}

/** The CSRF token of a session: derived from the secret session token, which scripts cannot read. */
export function csrfTokenFor(sessionToken: string): string {
  return createHash('sha256').update(`vigil-csrf:${sessionToken}`).digest('base64url');
}
