import type pg from 'pg';
import { EVENT_TYPES, type EventTypeName } from '../protocols/event-codes.ts';

/** What the operator console shows for one alarm. */
export interface AlarmView {
  alarmId: string;
  eventId: string;
  siteId: string;
  siteName: string;
  siteAddress: string;
  class: string;
  priority: number;
  /** The queue's order: class, then severity within it (docs/procedures.md); lower first. */
  rank: number;
  status: 'open' | 'claimed' | 'closed';
  eventType: string;
  title: string;
  cid: string;
  sia: string;
  zone: number;
  area: number;
  deviceName: string | null;
  text: string;
  verified: boolean;
  verificationRule: string | null;
  closeReason: string | null;
  /** How far it escalated unattended: attention, urgent, supervisor. */
  escalation: string | null;
  /** A duress alarm: never shown to the premises. */
  silent: boolean;
  /** Events in the incident (the one that opened it and every one that joined). */
  events: number;
  occurredAt: string;
  openedAt: string;
  restoredAt: string | null;
  /** The operator handling it (never two at once), or null. */
  claimedBy: { username: string; displayName: string } | null;
  /** Since when the claimer holds it. */
  claimedAt: string | null;
}

/** The operators' view of incidents, as rows of `source` (the alarms table, or a statement's RETURNING *). */
export function viewOf(source: string): string {
  return `
  SELECT a.id::text AS alarm_id, a.event_id, s.id AS site_id, s.name AS site_name, s.address AS site_address,
         a.class, a.priority, a.rank, a.status, a.lead_event_type AS event_type, a.escalation, a.silent,
         a.event_count, a.lead_cid AS cid, a.lead_sia AS sia, a.lead_zone AS zone, a.lead_area AS area,
         a.lead_device_name AS device_name, a.lead_text AS text, a.verified,
         a.verification->>'rule' AS verification_rule, a.lead_occurred_at AS occurred_at, a.opened_at, a.restored_at, a.close_reason,
         a.claimed_at, o.username AS claimed_by_username, o.display_name AS claimed_by_name
    FROM ${source} a JOIN sites s ON s.id = a.site_id
    LEFT JOIN operators o ON o.id = a.claimed_by`;
}
const VIEW_SQL = viewOf('alarms');

export interface AlarmRow {
  alarm_id: string;
  event_id: string;
  site_id: string;
  site_name: string;
  site_address: string;
  class: string;
  priority: number;
  rank: number;
  escalation: string | null;
  silent: boolean;
  event_count: number;
  status: AlarmView['status'];
  event_type: string;
  cid: string;
  sia: string;
  zone: number;
  area: number;
  device_name: string | null;
  text: string;
  verified: boolean;
  verification_rule: string | null;
  occurred_at: Date;
  opened_at: Date;
  restored_at: Date | null;
  close_reason: string | null;
  claimed_at: Date | null;
  claimed_by_username: string | null;
  claimed_by_name: string | null;
}

export function toView(row: AlarmRow): AlarmView {
  return {
    alarmId: row.alarm_id,
    eventId: row.event_id,
    siteId: row.site_id,
    siteName: row.site_name,
    siteAddress: row.site_address,
    class: row.class,
    priority: row.priority,
    rank: row.rank,
    status: row.status,
    eventType: row.event_type,
    title: EVENT_TYPES[row.event_type as EventTypeName]?.title ?? row.event_type,
    cid: row.cid,
    sia: row.sia,
    zone: row.zone,
    area: row.area,
    deviceName: row.device_name,
    text: row.text,
    verified: row.verified,
    verificationRule: row.verification_rule,
    occurredAt: row.occurred_at.toISOString(),
    openedAt: row.opened_at.toISOString(),
    restoredAt: row.restored_at?.toISOString() ?? null,
    closeReason: row.close_reason,
    escalation: row.escalation,
    silent: row.silent,
    events: row.event_count,
    claimedBy: row.claimed_by_username
      ? { username: row.claimed_by_username, displayName: row.claimed_by_name ?? row.claimed_by_username }
      : null,
    claimedAt: row.claimed_at?.toISOString() ?? null,
  };
}

/** The operator queue: open incidents by rank (class, then severity), then oldest first. */
/** How many open alarms one page of the queue holds (the console's first page, the feed's snapshot). */
export const QUEUE_PAGE = 1000;

export interface QueuePage {
  /** Highest priority first: rank, then age. */
  readonly alarms: AlarmView[];
  /** All open alarms. */
  readonly total: number;
  /** Open alarms after this page (lower in priority, or as high and younger). */
  readonly beyond: number;
}

/**
 * One page of the open queue in the operators' order. Ordered and cut by priority, so the page
 * never hides an alarm that outranks one on it; `after` (an alarm id) continues after that alarm.
 */
export async function openAlarmQueue(
  db: Pick<pg.Pool, 'query'>,
  options: { limit?: number; after?: string } = {},
): Promise<QueuePage> {
  const limit = options.limit ?? QUEUE_PAGE;
  const after = options.after ?? null;
  const [{ rows }, { rows: counts }] = await Promise.all([
    db.query<AlarmRow>(
      `${VIEW_SQL} WHERE a.status <> 'closed'
         AND ($2::bigint IS NULL OR (a.rank, a.opened_at, a.id) >
              (SELECT rank, opened_at, id FROM alarms WHERE id = $2::bigint))
       ORDER BY a.rank, a.opened_at, a.id LIMIT $1`,
      [limit, after],
    ),
    db.query<{ total: number; before: number }>(
      `SELECT count(*)::int AS total,
              count(*) FILTER (WHERE $1::bigint IS NOT NULL AND (a.rank, a.opened_at, a.id) <=
                (SELECT rank, opened_at, id FROM alarms WHERE id = $1::bigint))::int AS before
         FROM alarms a WHERE a.status <> 'closed'`,
      [after],
    ),
  ]);
  const total = counts[0]?.total ?? 0;
  const before = counts[0]?.before ?? 0;
  return { alarms: rows.map(toView), total, beyond: Math.max(0, total - before - rows.length) };
}

/** Prepared once per connection: it is read after every change to an incident, for the feed. */
const ALARM_BY_ID = { name: 'alarm-by-id', text: `${VIEW_SQL} WHERE a.id = $1` };

export async function alarmById(db: Pick<pg.Pool, 'query'>, alarmId: string): Promise<AlarmView | null> {
  const { rows } = await db.query<AlarmRow>({ ...ALARM_BY_ID, values: [alarmId] });
  return rows[0] ? toView(rows[0]) : null;
}
