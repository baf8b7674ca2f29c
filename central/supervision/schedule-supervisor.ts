import { DateTime } from 'luxon';
import type pg from 'pg';
import type { Logger } from '../../lib/logger.ts';
import type { Metrics } from '../../lib/metrics.ts';
import type { AlarmEvent } from '../../protocols/messages.ts';
import type { AfterStore } from '../ingest/event-store.ts';
import { centralEvent, storeCentralEvent } from './central-event.ts';
import {
  armingDeadlines,
  describeSchedule,
  disarmAllowed,
  type WeeklySchedule,
  WeeklyScheduleSchema,
} from './schedule.ts';

interface ScheduledSite {
  id: string;
  time_zone: string;
  schedule: unknown;
  checked_until: Date | null;
  gateway_id: string | null;
}

/**
 * Schedule supervision (SPEC §7): at every arming deadline of a site's schedule, a site that is not
 * armed raises "not armed in time". Deadlines are judged once each: the site remembers up to when
 * it was checked, so a central that was down judges what it missed on its next pass (against the
 * arming history), and a new schedule applies from the moment it is set.
 */
export async function superviseSchedules(
  pool: pg.Pool,
  now: number,
  logger: Logger,
  metrics: Metrics,
  afterStore?: AfterStore,
): Promise<number> {
  const { rows } = await pool.query<ScheduledSite>(
    `SELECT s.id, s.time_zone, s.schedule, s.schedule_checked_until AS checked_until,
            (SELECT g.id FROM gateways g WHERE g.site_id = s.id ORDER BY g.created_at, g.id LIMIT 1) AS gateway_id
       FROM sites s WHERE s.schedule IS NOT NULL`,
  );
  let raised = 0;
  for (const site of rows) {
    const schedule = parseStoredSchedule(site, logger, metrics);
    if (!schedule) continue;
    if (site.gateway_id && site.checked_until) {
      for (const deadline of armingDeadlines(schedule, site.time_zone, site.checked_until.getTime(), now)) {
        if (await armedAt(pool, site.id, deadline.at)) continue;
        const source = { siteId: site.id, gatewayId: site.gateway_id };
        await storeCentralEvent(
          pool,
          centralEvent('not-yet-armed', 'event', source, deadline.at, null, deadline.reason),
          afterStore,
        );
        metrics.increment('schedule_violations_total', { kind: 'not-yet-armed' });
        logger.warn({ siteId: site.id, reason: deadline.reason }, 'site not armed in time');
        raised++;
      }
    }
    await pool.query(
      'UPDATE sites SET schedule_checked_until = GREATEST(schedule_checked_until, $2) WHERE id = $1',
      [site.id, new Date(now)],
    );
  }
  return raised;
}

/** Whether checkDisarm has anything to do with the event: an arming or disarming. */
export function isArmingChange(event: AlarmEvent): boolean {
  return event.eventType === 'opening-closing' && event.qualifier === 'event';
}

/** A disarm (opening) outside the site's opening hours raises "disarmed outside the schedule". */

export async function checkDisarm(
  pool: pg.Pool,
  event: AlarmEvent,
  logger: Logger,
  metrics: Metrics,
  afterStore?: AfterStore,
): Promise<void> {
  if (!isArmingChange(event)) return;
  const { rows } = await pool.query<ScheduledSite>(
    `SELECT id, time_zone, schedule, schedule_checked_until AS checked_until, NULL AS gateway_id
       FROM sites WHERE id = $1 AND schedule IS NOT NULL`,
    [event.siteId],
  );
  const site = rows[0];
  const schedule = site && parseStoredSchedule(site, logger, metrics);
  if (!site || !schedule) return;
  const at = Date.parse(event.occurredAt);
  if (disarmAllowed(schedule, site.time_zone, at)) return;
  const local = DateTime.fromMillis(at, { zone: site.time_zone }).toFormat('ccc HH:mm');
  const text = `${event.text || 'disarmed'} at ${local}, outside the schedule (${describeSchedule(schedule)})`;
  await storeCentralEvent(
    pool,
    centralEvent('disarm-outside-schedule', 'event', event, at, null, text),
    afterStore,
  );
  metrics.increment('schedule_violations_total', { kind: 'disarm-outside-schedule' });
  logger.warn({ siteId: site.id, eventId: event.id }, 'disarmed outside the schedule');
}

/** Armed at `at`: every area's last arming change before then was an arming (CID 401 restore). */
async function armedAt(pool: pg.Pool, siteId: string, at: number): Promise<boolean> {
  const { rows } = await pool.query<{ qualifier: string }>(
    `SELECT DISTINCT ON (area) qualifier FROM events
      WHERE site_id = $1 AND event_type = 'opening-closing' AND occurred_at <= $2
      ORDER BY area, occurred_at DESC`,
    [siteId, new Date(at)],
  );
  return rows.length > 0 && rows.every((r) => r.qualifier === 'restore');
}

function parseStoredSchedule(site: ScheduledSite, logger: Logger, metrics: Metrics): WeeklySchedule | null {
  const parsed = WeeklyScheduleSchema.safeParse(site.schedule);
  if (parsed.success) return parsed.data;
  metrics.increment('schedule_invalid_total');
  logger.error(
    { siteId: site.id, reason: parsed.error.message },
    'stored schedule is invalid; not supervised',
  );
  return null;
}
