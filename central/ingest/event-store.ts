import { createHash } from 'node:crypto';
import pg from 'pg';
import { EVENT_TYPES, type EventTypeName } from '../../protocols/event-codes.ts';
import type { AlarmEvent } from '../../protocols/messages.ts';
import { type AlarmView, alarmById } from '../alarms.ts';
import { DEFAULT_MERGE_RULES, joinTarget, type MergeRules } from '../incidents/merge-rules.ts';
import { rankOf, VERIFIED_RANK } from '../incidents/ranking.ts';
import { PROCEDURE_FOR } from '../procedures/definitions.ts';

export const ALARM_CHANNEL = 'vigil_alarms';

/**
 * Errors the database gives for the content itself (data exceptions, constraint and syntax
 * errors: SQLSTATE classes 22, 23, 42) — unlike a lost connection, they come back on every resend.
 */
export function isPermanentStoreError(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && /^(22|23|42)/.test(code);
}

export type StoreResult =
  | {
      kind: 'stored';
      alarm: AlarmView | null;
      /** The incident the event opened or joined (null: it belongs to none by itself). */
      incident: { id: string; joined: boolean } | null;
      /**
       * Events stored before this one that name it (its restore or verification, delivered first):
       * now applied to its incident, and to be told to whoever follows the incident.
       */
      lateArrivals?: AlarmEvent[];
    }
  | { kind: 'duplicate' }
  | { kind: 'rejected'; reason: string };

/**
 * Commit one event, exactly once. In the same transaction: open an incident when the event type
 * calls for one — or join the site's open incident, per the merge rules — mark it restored or
 * verified, and NOTIFY the operator feed, so the feed sees an incident only after it is durable
 * and only once, on every central node.
 */
export async function storeEvent(
  pool: pg.Pool,
  event: AlarmEvent,
  via: 'mqtt' | 'dc09' | 'central',
  rules: MergeRules = DEFAULT_MERGE_RULES,
  /** How it came in (the DC-09 frame …), kept in the payload beside the event. */
  evidence?: object,
): Promise<StoreResult> {
  if (opensAlarm(event)) return storeAlarmEvent(pool, event, via, rules, evidence);
  // Most of the traffic (test reports, arming, troubles that name nothing): nothing else to change,
  // so one statement, committed by itself, instead of a four-statement transaction.
  if (!event.relatesTo) {
    const inserted = await pool.query(`${INSERT_EVENT} RETURNING id`, eventParams(event, via, evidence));
    return inserted.rowCount === 0 ? notStored(pool, event) : { kind: 'stored', alarm: null, incident: null };
  }
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const inserted = await client.query(`${INSERT_EVENT} RETURNING id`, eventParams(event, via, evidence));
    if (inserted.rowCount === 0) {
      await client.query('ROLLBACK');
      return notStored(client, event);
    }

    const alarmId = await applyToAlarms(client, event);
    const alarm = alarmId ? await alarmById(client, alarmId) : null;
    await client.query('COMMIT');
    // On this connection: asking the pool for another while holding one deadlocks a busy pool.
    if (alarm) await announceStored(client, alarm);
    return { kind: 'stored', alarm, incident: alarmId ? { id: alarmId, joined: true } : null };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

export const EVENT_COLUMNS = `id, site_id, gateway_id, seq, event_type, qualifier, cid, sia, class, priority, device_id,
  device_name, zone, area, verified, verification, relates_to, text, occurred_at, recorded_at, via, payload, alarm_id`;

/** Insert an event (parameters $1–$22 from eventParams) pointing at the incident `alarmId` (SQL). */
function insertEvent(alarmId: string): string {
  return `INSERT INTO events (${EVENT_COLUMNS})
   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, ${alarmId})
   ON CONFLICT (id) DO NOTHING`;
}

// An event that names an earlier one (a restore, a verification) belongs to that one's incident.
const INSERT_EVENT = insertEvent('(SELECT alarm_id FROM events WHERE id = $17 AND site_id = $2)');

export function eventParams(event: AlarmEvent, via: string, evidence?: object): unknown[] {
  return [
    event.id,
    event.siteId,
    event.gatewayId,
    event.seq,
    event.eventType,
    event.qualifier,
    event.code.cid,
    event.code.sia,
    event.class,
    event.priority,
    event.device?.id ?? null,
    event.device?.name ?? null,
    event.zone,
    event.area,
    event.verification.verified,
    JSON.stringify(event.verification),
    event.relatesTo,
    event.text,
    event.occurredAt,
    event.recordedAt,
    via,
    JSON.stringify(evidence ? { ...event, evidence } : event),
  ];
}

/** An event id seen before: the same gateway resending it, or another gateway reusing it. */
export async function notStored(db: pg.Pool | pg.PoolClient, event: AlarmEvent): Promise<StoreResult> {
  const { rows } = await db.query<{ gateway_id: string }>('SELECT gateway_id FROM events WHERE id = $1', [
    event.id,
  ]);
  return rows[0]?.gateway_id === event.gatewayId
    ? { kind: 'duplicate' }
    : { kind: 'rejected', reason: 'event id already used by another gateway' };
}

/** Alarm types, and log types that still have a procedure (an undefined code: tell the installer). */
export function opensAlarm(event: AlarmEvent): boolean {
  const handling = EVENT_TYPES[event.eventType].handling;
  return (
    event.qualifier === 'event' && (handling === 'alarm' || PROCEDURE_FOR[event.eventType] !== undefined)
  );
}

/** A lock number per site: events of one site open or join its incidents one at a time. */
function siteLock(siteId: string): string {
  return createHash('sha256').update(siteId).digest().readBigInt64BE(0).toString();
}

/**
 * The alarm path: under the site's lock, find the site's open incidents; the event joins one (per
 * the merge rules) or opens a new one, and the feed is told — in one transaction, three round
 * trips (lock and look-up, store, commit).
 */
async function storeAlarmEvent(
  pool: pg.Pool,
  event: AlarmEvent,
  via: string,
  rules: MergeRules,
  evidence?: object,
): Promise<StoreResult> {
  const client = await pool.connect();
  try {
    const results = (await client.query(
      `BEGIN; SELECT pg_advisory_xact_lock(${siteLock(event.siteId)});
       SELECT a.id::text, a.last_event_at, e.event_type, e.device_id, e.zone
         FROM alarms a JOIN events e ON e.id = a.event_id
        WHERE a.site_id = ${pg.escapeLiteral(event.siteId)} AND a.status <> 'closed' ORDER BY a.opened_at;
       SELECT payload FROM events WHERE relates_to = ${pg.escapeLiteral(event.id)}
          AND site_id = ${pg.escapeLiteral(event.siteId)} AND alarm_id IS NULL ORDER BY seq`,
    )) as unknown as pg.QueryResult[];
    const late = results[3]!.rows.map((r: { payload: AlarmEvent }) => r.payload);
    const open = results[2]!.rows.map((r: OpenRow) => ({
      id: r.id,
      lead: { eventType: r.event_type, deviceId: r.device_id, zone: r.zone },
      lastEventAt: r.last_event_at?.getTime() ?? 0,
    }));
    const occurredAt = Date.parse(event.occurredAt);
    const subject = { eventType: event.eventType, deviceId: event.device?.id ?? null, zone: event.zone };
    const target = joinTarget(rules, open, subject, occurredAt);
    const rank = rankOf(event.eventType, event.verification.verified);
    const params = eventParams(event, via, evidence);
    const { rows } = target
      ? await client.query<{ view: AlarmViewJson | null }>(
          `WITH e AS (${insertEvent('$23::bigint')} RETURNING id),
                a AS (UPDATE alarms SET rank = LEAST(rank, $24), priority = LEAST(priority, $10),
                        last_event_at = GREATEST(last_event_at, $19), silent = silent OR $25,
                        event_count = event_count + CASE WHEN $17::uuid IS NULL THEN 1 ELSE 0 END
                       WHERE id = $23 AND EXISTS (SELECT 1 FROM e) RETURNING id)
           SELECT json_build_object('alarmId', a.id::text) AS view FROM a`,
          [...params, target, rank, event.eventType === 'duress'],
        )
      : await client.query<{ view: AlarmViewJson | null }>(NEW_INCIDENT, [
          ...params,
          EVENT_TYPES[event.eventType].title,
          event.verification.rule,
          rank,
          event.eventType === 'duress',
        ]);
    if (!rows[0]?.view) {
      await client.query('ROLLBACK');
      return notStored(client, event);
    }
    const alarmId = rows[0].view.alarmId;
    // Delivered ahead of the event they name (a resend can overtake): apply them now.
    if (late.length > 0) {
      await client.query(
        'UPDATE events SET alarm_id = $1 WHERE relates_to = $2 AND site_id = $3 AND alarm_id IS NULL',
        [alarmId, event.id, event.siteId],
      );
      for (const earlier of late) await applyToAlarms(client, earlier);
    }
    const reread = target !== null || late.length > 0;
    const alarm = reread ? await alarmById(client, alarmId) : ({ ...rows[0].view } as unknown as AlarmView);
    await client.query('COMMIT');
    // On this connection: asking the pool for another while holding one deadlocks a busy pool.
    if (alarm) await announceStored(client, alarm);
    return {
      kind: 'stored',
      alarm,
      incident: { id: alarmId, joined: target !== null },
      ...(late.length > 0 ? { lateArrivals: late } : {}),
    };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

type AlarmViewJson = Omit<AlarmView, 'openedAt'> & { openedAt: string };

interface OpenRow {
  id: string;
  last_event_at: Date | null;
  event_type: EventTypeName;
  device_id: string | null;
  zone: number;
}

/** A new incident: its id first, so the event row can point at it; then the alarm row; then the feed. */
const NEW_INCIDENT = `WITH n AS (SELECT nextval('alarms_id_seq') AS id),
      e AS (${insertEvent('(SELECT id FROM n)')} RETURNING id),
      a AS (INSERT INTO alarms (id, event_id, site_id, class, priority, verified, verification, rank, last_event_at, silent)
            SELECT (SELECT id FROM n), id, $2, $9, $10, $15, $16, $25, $19, $26 FROM e RETURNING id, opened_at),
      v AS (SELECT json_build_object(
              'alarmId', a.id::text, 'eventId', $1::uuid, 'siteId', s.id, 'siteName', s.name,
              'siteAddress', s.address, 'class', $9::text, 'priority', $10::smallint, 'rank', $25::smallint,
              'status', 'open', 'eventType', $5::text, 'title', $23::text, 'cid', $7::text, 'sia', $8::text,
              'zone', $13::int, 'area', $14::int, 'deviceName', $12::text, 'text', $18::text, 'verified', $15::boolean,
              'verificationRule', $24::text, 'closeReason', NULL, 'escalation', NULL, 'silent', $26::boolean, 'events', 1,
              'occurredAt', to_char($19::timestamptz AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
              'openedAt', to_char(a.opened_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
              'restoredAt', NULL, 'claimedBy', NULL, 'claimedAt', NULL) AS view
            FROM a JOIN sites s ON s.id = $2)
 SELECT view FROM v`;

/**
 * Tell every console of every node, after the commit: a NOTIFY inside the storing transaction takes
 * PostgreSQL's one notification lock at commit and so serialises every storing transaction of the
 * database (measured: 30 clients, 8.4–9.2k plain inserts/s against 2.6k with the NOTIFY inside).
 * Outside it, only the short NOTIFY statements queue. A crash between the two leaves the alarm stored
 * and unannounced: the engine announces it again when it takes it up, and a console's reconnect
 * loads the queue from the database.
 */
async function announceStored(db: pg.Pool | pg.PoolClient, alarm: AlarmView): Promise<void> {
  await db.query('SELECT pg_notify($1, $2)', [ALARM_CHANNEL, JSON.stringify(alarm)]);
}

/** What an event that opens no alarm does to an earlier one; returns the id of the alarm it changed. */
async function applyToAlarms(client: pg.PoolClient, event: AlarmEvent): Promise<string | null> {
  const handling = EVENT_TYPES[event.eventType].handling;
  if (!event.relatesTo) return null;
  if (handling === 'verification') {
    const { rows } = await client.query<{ id: string }>(
      `UPDATE alarms SET verified = true, verification = $3, verified_at = $4, rank = LEAST(rank, $5)
        WHERE id = (SELECT alarm_id FROM events WHERE id = $1 AND site_id = $2) AND NOT verified RETURNING id::text`,
      [event.relatesTo, event.siteId, JSON.stringify(event.verification), event.occurredAt, VERIFIED_RANK],
    );
    return rows[0]?.id ?? null;
  }
  if (event.qualifier === 'restore') {
    // The incident of the restored event; it is "restored" when the event that opened it is.
    const { rows } = await client.query<{ id: string }>(
      `UPDATE alarms SET restored_at = CASE WHEN event_id = $1 THEN coalesce(restored_at, $3) ELSE restored_at END
        WHERE id = (SELECT alarm_id FROM events WHERE id = $1 AND site_id = $2)
       RETURNING id::text`,
      [event.relatesTo, event.siteId, event.occurredAt],
    );
    return rows[0]?.id ?? null;
  }
  return null;
}

/** Called after an event is committed: the procedure engine's input. */
export type AfterStore = (event: AlarmEvent, result: StoreResult) => Promise<void>;
