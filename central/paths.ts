import type pg from 'pg';

export type PathName = 'primary' | 'backup';

/** Supervision works in seconds; writing "heard" more than once a second per path is wasted I/O. */
const WRITE_EVERY_MS = 1000;
const lastWritten = new Map<string, number>();

/** Note that a gateway's path was heard (any message on it counts, EN 50136 style). */
export async function recordPathHeard(
  db: Pick<pg.Pool, 'query'>,
  gatewayId: string,
  path: PathName,
): Promise<void> {
  const key = `${gatewayId}/${path}`;
  const now = Date.now();
  if (now - (lastWritten.get(key) ?? 0) < WRITE_EVERY_MS) return;
  lastWritten.set(key, now);
  await db.query(
    `INSERT INTO path_status (gateway_id, path, last_heard_at) VALUES ($1, $2, now())
     ON CONFLICT (gateway_id, path) DO UPDATE SET last_heard_at = now()`,
    [gatewayId, path],
  );
}
