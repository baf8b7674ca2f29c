import type pg from 'pg';

/**
 * Events wait in `awaiting_events` for the event they name, which takes them when it is stored if
 * it is an alarm (event-store.ts). One that names a log event waits for nothing: once the named
 * event has been stored `settledMs` (the alarm path would have taken them at once), they are let
 * go. Returns how many.
 */
export async function releaseAwaitingEvents(pool: pg.Pool, settledMs = 10 * 60_000): Promise<number> {
  const { rowCount } = await pool.query(
    `DELETE FROM awaiting_events w USING event_ids r
      WHERE r.id = w.relates_to AND r.received_at < now() - make_interval(secs => $1::float8 / 1000)`,
    [settledMs],
  );
  return rowCount ?? 0;
}
