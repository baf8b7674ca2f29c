import type pg from 'pg';
import type { Logger } from '../../lib/logger.ts';
import type { Metrics } from '../../lib/metrics.ts';
import type { AlarmEvent } from '../../protocols/messages.ts';
import type { AfterStore } from '../ingest/event-store.ts';
import { ATS_CATEGORIES, graceMs, shortestAllowedMs } from './categories.ts';
import { centralEvent, storeCentralEvent } from './central-event.ts';

interface PathRow {
  gateway_id: string;
  site_id: string;
  ats_category: string;
  path: 'primary' | 'backup';
  last_heard_at: Date;
  failed: boolean;
  failure_event_id: string | null;
  all_failure_event_id: string | null;
  /** The DC-09 account's own interval for this path, when it has one. */
  account_seconds: number | null;
}

/**
 * Path supervision (EN 50136-1, SPEC §5 "connection loss"): every path of every gateway is tracked
 * on its own from its first contact. A path silent longer than its category allows is failed; a
 * gateway whose every supervised path failed has lost all paths. Each failure and restore is an
 * event (CID 350 path failure / 354 all paths), so the connection-loss procedure acts on it; the
 * restore names the failure it ends. Idempotent: run it as often as wanted.
 */
export async function superviseOnce(
  pool: pg.Pool,
  now: number,
  logger: Logger,
  metrics: Metrics,
  afterStore?: AfterStore,
): Promise<number> {
  const store = (event: AlarmEvent) => storeCentralEvent(pool, event, afterStore);
  // Only gateways with a path silent longer than the shortest limit there is, or failed: in normal
  // operation a handful, read through the indexes, however many gateways there are.
  const { rows: intervals } = await pool.query<{ seconds: number }>(
    'SELECT DISTINCT supervision_seconds AS seconds FROM dc09_accounts WHERE supervision_seconds IS NOT NULL',
  );
  const earliest = new Date(now - shortestAllowedMs(intervals.map((r) => r.seconds)));
  const { rows } = await pool.query<PathRow>(
    `WITH candidates AS (
       SELECT gateway_id FROM path_status WHERE last_heard_at < $1
       UNION SELECT gateway_id FROM path_status WHERE failed)
     SELECT p.gateway_id, g.site_id, s.ats_category, p.path, p.last_heard_at, p.failed, p.failure_event_id,
            a.failure_event_id AS all_failure_event_id,
            (SELECT min(d.supervision_seconds) FROM dc09_accounts d
              WHERE d.gateway_id = p.gateway_id AND d.path = p.path) AS account_seconds
       FROM candidates c
       JOIN path_status p ON p.gateway_id = c.gateway_id
       JOIN gateways g ON g.id = p.gateway_id
       JOIN sites s ON s.id = g.site_id
       LEFT JOIN all_paths_status a ON a.gateway_id = p.gateway_id
      ORDER BY p.gateway_id, p.path`,
    [earliest],
  );
  metrics.increment('path_supervision_rows_total', {}, rows.length);
  let changes = 0;
  const byGateway = Map.groupBy(rows, (r) => r.gateway_id);
  for (const [gatewayId, paths] of byGateway) {
    const category = ATS_CATEGORIES[paths[0]!.ats_category] ?? ATS_CATEGORIES.DP2!;
    // A DC-09 account's own supervision interval wins over the category's for its path.
    const allowedFor = (p: PathRow) =>
      p.account_seconds !== null
        ? p.account_seconds * 1000
        : p.path === 'primary'
          ? category.primaryMs
          : category.backupMs;
    const supervised = paths.filter((p) => allowedFor(p) !== null);
    const failedNow = new Map<string, boolean>();
    for (const path of supervised) {
      const allowed = allowedFor(path)!;
      const silent = now - path.last_heard_at.getTime() > allowed + graceMs(allowed);
      failedNow.set(path.path, silent);
      if (silent === path.failed) continue;
      changes++;
      // A single supervised path is all the paths there are: its loss is reported once, as such.
      if (supervised.length === 1) {
        await setPathFailed(pool, gatewayId, path.path, silent, null);
        continue;
      }
      if (silent) {
        const event = failureEvent(
          'path-failure',
          path,
          now,
          `${path.path} path silent for over ${Math.round(allowed / 1000)} s`,
        );
        await store(event);
        await setPathFailed(pool, gatewayId, path.path, true, event.id);
      } else {
        await store(
          restoreEvent('path-failure', path, now, path.failure_event_id, `${path.path} path restored`),
        );
        await setPathFailed(pool, gatewayId, path.path, false, null);
      }
      metrics.increment('path_supervision_changes_total', { path: path.path, failed: String(silent) });
      logger.warn({ gatewayId, path: path.path, failed: silent }, 'transmission path state changed');
    }
    if (supervised.length === 0) continue;
    const allFailed = supervised.every((p) => failedNow.get(p.path));
    const first = supervised[0]!;
    if (allFailed && !first.all_failure_event_id) {
      const event = failureEvent(
        'all-paths-failure',
        first,
        now,
        `all ${supervised.length} transmission path(s) silent`,
      );
      await store(event);
      await pool.query('INSERT INTO all_paths_status (gateway_id, failure_event_id) VALUES ($1, $2)', [
        gatewayId,
        event.id,
      ]);
      metrics.increment('path_supervision_changes_total', { path: 'all', failed: 'true' });
      logger.error({ gatewayId }, 'all transmission paths failed');
      changes++;
    } else if (!allFailed && first.all_failure_event_id) {
      await store(
        restoreEvent(
          'all-paths-failure',
          first,
          now,
          first.all_failure_event_id,
          'a transmission path is back',
        ),
      );
      await pool.query('DELETE FROM all_paths_status WHERE gateway_id = $1', [gatewayId]);
      metrics.increment('path_supervision_changes_total', { path: 'all', failed: 'false' });
      changes++;
    }
  }
  return changes;
}

async function setPathFailed(
  pool: pg.Pool,
  gatewayId: string,
  path: string,
  failed: boolean,
  eventId: string | null,
) {
  await pool.query(
    'UPDATE path_status SET failed = $3, failure_event_id = $4 WHERE gateway_id = $1 AND path = $2',
    [gatewayId, path, failed, eventId],
  );
}

function failureEvent(
  type: 'path-failure' | 'all-paths-failure',
  path: PathRow,
  now: number,
  text: string,
): AlarmEvent {
  return centralEvent(type, 'event', source(path), now, null, text, pathDevice(type, path));
}

function restoreEvent(
  type: 'path-failure' | 'all-paths-failure',
  path: PathRow,
  now: number,
  relatesTo: string | null,
  text: string,
): AlarmEvent {
  return centralEvent(type, 'restore', source(path), now, relatesTo, text, pathDevice(type, path));
}

/** A failure of one path is about that path of that gateway; all paths are about the gateway. */
function pathDevice(type: 'path-failure' | 'all-paths-failure', path: PathRow) {
  return type === 'path-failure'
    ? { id: `${path.gateway_id}_${path.path}`, name: `${path.path} path of ${path.gateway_id}` }
    : { id: path.gateway_id, name: `gateway ${path.gateway_id}` };
}

function source(path: PathRow) {
  return { siteId: path.site_id, gatewayId: path.gateway_id };
}
