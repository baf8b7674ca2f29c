import type pg from 'pg';
import type { Logger } from '../../lib/logger.ts';
import type { Metrics } from '../../lib/metrics.ts';
import type { AlarmEvent } from '../../protocols/messages.ts';
import type { AfterStore } from '../ingest/event-store.ts';
import { centralEvent, storeCentralEvent } from './central-event.ts';

const TEST_REPORTS = new Set(['periodic-test', 'periodic-test-trouble']);

interface LateGateway {
  gateway_id: string;
  site_id: string;
  missed: number;
  test_interval_minutes: number;
}

/**
 * Periodic test supervision (SPEC §5, §9): every gateway heard from is expected to send a test
 * report every interval of its site; each interval that passes (plus grace) without one raises one
 * "test report missing" event, so the procedure engine can count consecutive misses. The next test
 * report restores the last of them.
 */
export async function superviseTestReports(
  pool: pg.Pool,
  now: number,
  logger: Logger,
  metrics: Metrics,
  afterStore?: AfterStore,
): Promise<number> {
  const at = new Date(now);
  await pool.query(
    `INSERT INTO test_supervision (gateway_id, since)
       SELECT id, $1 FROM gateways WHERE last_seen_at IS NOT NULL ON CONFLICT (gateway_id) DO NOTHING`,
    [at],
  );
  const { rows } = await pool.query<LateGateway>(
    `SELECT t.gateway_id, g.site_id, t.missed, s.test_interval_minutes
       FROM test_supervision t JOIN gateways g ON g.id = t.gateway_id JOIN sites s ON s.id = g.site_id
      WHERE coalesce(t.last_test_at, t.since)
            + make_interval(mins => s.test_interval_minutes * (t.missed + 1) + s.test_grace_minutes) < $1`,
    [at],
  );
  for (const late of rows) {
    const missed = late.missed + 1;
    const hours = Math.round((late.test_interval_minutes / 60) * 10) / 10;
    const event = centralEvent(
      'test-missing',
      'event',
      { siteId: late.site_id, gatewayId: late.gateway_id },
      now,
      null,
      `${missed} consecutive test report(s) missing (expected every ${hours} h)`,
    );
    // Guarded on `missed`: a test report that arrived meanwhile wins.
    const { rowCount } = await pool.query(
      `UPDATE test_supervision SET missed = $2, failure_event_id = $3 WHERE gateway_id = $1 AND missed = $4`,
      [late.gateway_id, missed, event.id, late.missed],
    );
    if (rowCount !== 1) continue;
    await storeCentralEvent(pool, event, afterStore);
    metrics.increment('test_reports_missing_total');
    logger.warn({ gatewayId: late.gateway_id, missed }, 'periodic test report missing');
  }
  return rows.length;
}

/** Whether onTestReport has anything to do with the event. */
export function isTestReport(event: AlarmEvent): boolean {
  return TEST_REPORTS.has(event.eventType);
}

/** A test report arrived: supervision restarts from it, and a raised miss is restored. */

export async function onTestReport(pool: pg.Pool, event: AlarmEvent, afterStore?: AfterStore): Promise<void> {
  if (!isTestReport(event)) return;
  const { rows } = await pool.query<{ failure_event_id: string | null }>(
    `WITH previous AS (SELECT failure_event_id FROM test_supervision WHERE gateway_id = $1)
     INSERT INTO test_supervision (gateway_id, since, last_test_at) VALUES ($1, $2, $2)
     ON CONFLICT (gateway_id) DO UPDATE
       SET last_test_at = GREATEST(test_supervision.last_test_at, EXCLUDED.last_test_at), missed = 0,
           failure_event_id = NULL
     RETURNING (SELECT failure_event_id FROM previous)`,
    [event.gatewayId, new Date(event.occurredAt)],
  );
  const failureId = rows[0]?.failure_event_id;
  if (!failureId) return;
  await storeCentralEvent(
    pool,
    centralEvent(
      'test-missing',
      'restore',
      event,
      Date.parse(event.occurredAt),
      failureId,
      'test report received again',
    ),
    afterStore,
  );
}
