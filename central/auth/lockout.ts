import type pg from 'pg';

/** How many failures lock, for how long: data, so an ARC can tune it per kind of secret. */
export interface LockoutPolicy {
  readonly maxFailures: number;
  readonly lockoutMinutes: number;
}

/**
 * The one lockout every secret check goes through (operator passwords, ID code + PIN on the phone,
 * in the portal, for push subscriptions, for a PIN change). Failures are counted three ways:
 * - per source and target: `maxFailures` lock that source out of that target only, so whoever
 *   guesses cannot lock the real person out;
 * - per target from any source, and per source across targets: `WIDE_FACTOR` × `maxFailures` lock
 *   the target (a guess spread over many addresses) or the source (one address trying many targets).
 * Failures older than the lockout period are forgotten. Targets that do not exist are counted the
 * same way, so the answer never tells whether one does.
 */
export const WIDE_FACTOR = 4;
const ANY = '*';

type Queryable = Pick<pg.PoolClient, 'query'>;

export interface SecretAttempt {
  /** What the secret opens, e.g. `account:alice` or `contact:site-1/123456`. */
  readonly target: string;
  /** Who is trying: the client address, or the operator at the phone. */
  readonly source: string;
}

function keys({ target, source }: SecretAttempt): Array<[string, string, number]> {
  return [
    [target, source, 1],
    [target, ANY, WIDE_FACTOR],
    [ANY, source, WIDE_FACTOR],
  ];
}

/** `locked`: this failure locked it; `refused`: it was locked, the secret was not looked at. */
export type SecretCheck = 'ok' | 'invalid' | 'locked' | 'refused';

/**
 * Check a secret under the lockout. Runs inside the caller's transaction: attempts on one target
 * are serialized, so parallel guesses cannot slip past the count. A locked attempt is refused
 * without looking at the secret.
 */
export async function checkSecret(
  db: Queryable,
  attempt: SecretAttempt,
  policy: LockoutPolicy,
  verify: () => Promise<boolean>,
): Promise<SecretCheck> {
  await db.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 42))', [attempt.target]);
  if (await isLockedOut(db, attempt)) return 'refused';
  if (await verify()) {
    await db.query('DELETE FROM secret_lockouts WHERE target = $1 AND source = $2', [
      attempt.target,
      attempt.source,
    ]);
    return 'ok';
  }
  return (await recordFailure(db, attempt, policy)) ? 'locked' : 'invalid';
}

async function isLockedOut(db: Queryable, attempt: SecretAttempt): Promise<boolean> {
  const { rows } = await db.query(
    `SELECT 1 FROM secret_lockouts
      WHERE locked_until > now() AND ((target = $1 AND source IN ($2, $3)) OR (target = $3 AND source = $2))
      LIMIT 1`,
    [attempt.target, attempt.source, ANY],
  );
  return rows.length > 0;
}

async function recordFailure(db: Queryable, attempt: SecretAttempt, policy: LockoutPolicy): Promise<boolean> {
  let locked = false;
  for (const [target, source, factor] of keys(attempt)) {
    const { rows } = await db.query<{ locked: boolean }>(
      `INSERT INTO secret_lockouts AS l (target, source, failures) VALUES ($1, $2, 1)
       ON CONFLICT (target, source) DO UPDATE SET
         failures = CASE WHEN l.updated_at < now() - make_interval(mins => $4) THEN 1 ELSE l.failures + 1 END,
         updated_at = now()
       RETURNING failures >= $3 AS locked`,
      [target, source, policy.maxFailures * factor, policy.lockoutMinutes],
    );
    if (rows[0]?.locked) {
      locked = true;
      await db.query(
        `UPDATE secret_lockouts SET failures = 0, locked_until = now() + make_interval(mins => $3)
          WHERE target = $1 AND source = $2`,
        [target, source, policy.lockoutMinutes],
      );
    }
  }
  return locked;
}

/** An administrator's reset (new password, unlock): every lock on the target is lifted. */
export async function clearTarget(db: Queryable, target: string): Promise<void> {
  await db.query('DELETE FROM secret_lockouts WHERE target = $1', [target]);
}

export const accountTarget = (username: string) => `account:${username}`;
export const contactTarget = (siteId: string, idCode: string) => `contact:${siteId}/${idCode}`;
