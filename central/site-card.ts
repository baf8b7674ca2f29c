import type pg from 'pg';
import type { ProcedureService } from './procedures/service.ts';

/** What an operator needs to know about a site while handling its alarm. */
export async function siteCard(pool: pg.Pool, procedures: ProcedureService, siteId: string) {
  const [{ rows: sites }, { rows: contacts }, { rows: devices }, { rows: history }, status, openAlarms] =
    await Promise.all([
      pool.query(
        `SELECT s.id, s.name, s.address, s.time_zone AS "timeZone", s.kind, s.formula,
              s.premises_phone AS "premisesPhone", s.test_mode_until AS "testModeUntil",
              s.activated_at AS "activatedAt", s.test_period_days AS "testPeriodDays", s.schedule
         FROM sites s WHERE s.id = $1`,
        [siteId],
      ),
      pool.query(
        `SELECT name, role, call_order AS "order", phone, mobile FROM contacts
        WHERE site_id = $1 ORDER BY role DESC, call_order, id`,
        [siteId],
      ),
      pool.query(
        `SELECT d->>'id' AS id, d->>'name' AS name, d->>'type' AS type, (d->>'zone')::int AS zone,
              (d->>'area')::int AS area, g.id AS "gatewayId", g.online
         FROM gateways g, jsonb_array_elements(coalesce(g.devices, '[]')) d
        WHERE g.site_id = $1 ORDER BY (d->>'zone')::int`,
        [siteId],
      ),
      pool.query(
        `SELECT e.occurred_at AS "occurredAt", e.event_type AS "eventType", e.qualifier, e.zone, e.text
         FROM events e WHERE e.site_id = $1 ORDER BY e.received_at DESC LIMIT 20`,
        [siteId],
      ),
      procedures.siteStatus(siteId),
      pool.query(
        `SELECT a.id::text AS "alarmId", a.lead_event_type AS "eventType", a.status
           FROM alarms a
          WHERE a.site_id = $1 AND a.status <> 'closed' ORDER BY a.rank, a.opened_at`,
        [siteId],
      ),
    ]);
  return { ...sites[0], contacts, devices, history, status, openAlarms: openAlarms.rows };
}
