import type pg from 'pg';
import type { AlarmView } from '../alarms.ts';

export const ALARM_CHANNEL = 'vigil_alarms';

/** What a console is sent about an alarm: its view, and what just happened to it. */
export type AlarmNotice = AlarmView & {
  /** The procedure's next step, proposed to the operator. */
  readonly proposal?: unknown;
  readonly lastAction?: unknown;
  /** A supervisor took the alarm over from the operator who had it. */
  readonly takenOver?: { readonly from: string; readonly by: string; readonly reason: string };
};

/**
 * This node's operator feed, told directly: the node that committed a change hands it to its own
 * consoles at once, and NOTIFYs the other nodes with its origin, which its own feed then skips.
 */
export interface LocalFeed {
  readonly origin: string;
  deliver(alarm: AlarmNotice): void;
}

/**
 * Tell every console of every node about an alarm's new state, after the commit that made it: a
 * NOTIFY inside the storing transaction takes PostgreSQL's one notification lock at commit and so
 * serialises every storing transaction of the database (measured: 30 clients, 8.4–9.2k plain
 * inserts/s against 2.6k with the NOTIFY inside). A crash between the commit and the NOTIFY leaves
 * the other nodes unannounced: the engine announces the alarm when it takes it up, and a console's
 * reconnect loads the queue from the database.
 */
export async function announce(
  db: Pick<pg.Pool, 'query'>,
  alarm: AlarmNotice,
  local?: LocalFeed,
): Promise<void> {
  local?.deliver(alarm);
  await db.query('SELECT pg_notify($1, $2)', [ALARM_CHANNEL, encodeNotice(alarm, local?.origin)]);
}

/** The NOTIFY payload: the view as JSON, after the origin node's id and a newline when it has one. */
export function encodeNotice(alarm: AlarmNotice, origin?: string): string {
  const json = JSON.stringify(alarm);
  return origin ? `${origin}\n${json}` : json;
}

export function decodeNotice(payload: string): { origin: string | null; alarm: AlarmNotice } {
  const newline = payload.startsWith('{') ? -1 : payload.indexOf('\n');
  return {
    origin: newline < 0 ? null : payload.slice(0, newline),
    alarm: JSON.parse(newline < 0 ? payload : payload.slice(newline + 1)) as AlarmNotice,
  };
}
