import type pg from 'pg';

export type PathName = 'primary' | 'backup';

/** Note that a gateway's path was heard (any message on it counts, EN 50136 style). */
export async function recordPathHeard(
  db: Pick<pg.Pool, 'query'>,
  gatewayId: string,
  path: PathName,
): Promise<void> {
  await db.query(
    `INSERT INTO path_status (gateway_id, path, last_heard_at) VALUES ($1, $2, now())
     ON CONFLICT (gateway_id, path) DO UPDATE SET last_heard_at = now()`,
    [gatewayId, path],
  );
}
