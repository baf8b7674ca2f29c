import type pg from 'pg';
import { EVENT_TYPES } from '../../protocols/event-codes.ts';
import type { AlarmEvent } from '../../protocols/messages.ts';
import { type AlarmView, alarmById } from '../alarms.ts';
import { PROCEDURE_FOR } from '../procedures/definitions.ts';

export const ALARM_CHANNEL = 'vigil_alarms';

export type StoreResult =
  | { kind: 'stored'; alarm: AlarmView | null }
  | { kind: 'duplicate' }
  | { kind: 'rejected'; reason: string };

/**
 * Commit one event, exactly once. In the same transaction: open an alarm when the event type
 * calls for one, mark the alarm restored on a restore, and NOTIFY the operator feed, so the
 * feed sees an alarm only after it is durable and only once, on every central node.
 */
export async function storeEvent(
  pool: pg.Pool,
  event: AlarmEvent,
  via: 'mqtt' | 'dc09' | 'central',
): Promise<StoreResult> {
  if (opensAlarm(event)) return storeNewAlarm(pool, event, via);
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const inserted = await client.query(`${INSERT_EVENT} RETURNING id`, eventParams(event, via));
    if (inserted.rowCount === 0) {
      await client.query('ROLLBACK');
      return notStored(pool, event);
    }

    const alarmId = await applyToAlarms(client, event);
    const alarm = alarmId ? await alarmById(client, alarmId) : null;
    if (alarm) await client.query('SELECT pg_notify($1, $2)', [ALARM_CHANNEL, JSON.stringify(alarm)]);
    await client.query('COMMIT');
    return { kind: 'stored', alarm };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

const INSERT_EVENT = `INSERT INTO events (id, site_id, gateway_id, seq, event_type, qualifier, cid, sia, class, priority,
     device_id, device_name, zone, area, verified, verification, relates_to, text, occurred_at, recorded_at, via, payload)
   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22)
   ON CONFLICT (id) DO NOTHING`;

function eventParams(event: AlarmEvent, via: string): unknown[] {
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
    JSON.stringify(event),
  ];
}

/** An event id seen before: the same gateway resending it, or another gateway reusing it. */
async function notStored(pool: pg.Pool, event: AlarmEvent): Promise<StoreResult> {
  const { rows } = await pool.query<{ gateway_id: string }>('SELECT gateway_id FROM events WHERE id = $1', [
    event.id,
  ]);
  return rows[0]?.gateway_id === event.gatewayId
    ? { kind: 'duplicate' }
    : { kind: 'rejected', reason: 'event id already used by another gateway' };
}

/** Alarm types, and log types that still have a procedure (an undefined code: tell the installer). */
function opensAlarm(event: AlarmEvent): boolean {
  const handling = EVENT_TYPES[event.eventType].handling;
  return (
    event.qualifier === 'event' && (handling === 'alarm' || PROCEDURE_FOR[event.eventType] !== undefined)
  );
}

/**
 * The alarm path, in one statement (one round trip, one commit): store the event, open its alarm
 * and NOTIFY the feed with the alarm as the console shows it. The statement is atomic, and the
 * NOTIFY is delivered only when it commits.
 */
async function storeNewAlarm(pool: pg.Pool, event: AlarmEvent, via: string): Promise<StoreResult> {
  const params = eventParams(event, via);
  const { rows } = await pool.query<{ view: (Omit<AlarmView, 'openedAt'> & { openedAt: string }) | null }>(
    `WITH e AS (${INSERT_EVENT} RETURNING id),
          a AS (INSERT INTO alarms (event_id, site_id, class, priority, verified, verification)
                SELECT id, $2, $9, $10, $15, $16 FROM e RETURNING id, opened_at),
          v AS (SELECT json_build_object(
                  'alarmId', a.id::text, 'eventId', $1::uuid, 'siteId', s.id, 'siteName', s.name,
                  'siteAddress', s.address, 'class', $9::text, 'priority', $10::smallint, 'status', 'open',
                  'eventType', $5::text, 'title', $23::text, 'cid', $7::text, 'sia', $8::text, 'zone', $13::int,
                  'area', $14::int, 'deviceName', $12::text, 'text', $18::text, 'verified', $15::boolean,
                  'verificationRule', $24::text, 'closeReason', NULL,
                  'occurredAt', to_char($19::timestamptz AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
                  'openedAt', to_char(a.opened_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
                  'restoredAt', NULL, 'claimedBy', NULL) AS view
                FROM a JOIN sites s ON s.id = $2)
     SELECT view, pg_notify($25, view::text) FROM v`,
    [...params, EVENT_TYPES[event.eventType].title, event.verification.rule, ALARM_CHANNEL],
  );
  const view = rows[0]?.view;
  if (!view) return notStored(pool, event);
  return { kind: 'stored', alarm: view };
}

/** What an event that opens no alarm does to an earlier one; returns the id of the alarm it changed. */
async function applyToAlarms(client: pg.PoolClient, event: AlarmEvent): Promise<string | null> {
  const handling = EVENT_TYPES[event.eventType].handling;
  if (!event.relatesTo) return null;
  if (handling === 'verification') {
    const { rows } = await client.query<{ id: string }>(
      `UPDATE alarms SET verified = true, verification = $3, verified_at = $4
        WHERE event_id = $1 AND site_id = $2 AND NOT verified RETURNING id::text`,
      [event.relatesTo, event.siteId, JSON.stringify(event.verification), event.occurredAt],
    );
    return rows[0]?.id ?? null;
  }
  if (event.eventType === 'opening-closing' && event.qualifier === 'restore') {
    // A correct arming that names an exit error resolves it (SPEC §5: no action if a correct arming follows).
    const { rows } = await client.query<{ id: string }>(
      `UPDATE alarms a SET status = 'closed', closed_at = $3, close_reason = 'resolved: correct arming followed'
         FROM events e
        WHERE a.event_id = $1 AND a.site_id = $2 AND e.id = a.event_id AND e.event_type = 'exit-error'
          AND a.status <> 'closed'
       RETURNING a.id::text`,
      [event.relatesTo, event.siteId, event.occurredAt],
    );
    return rows[0]?.id ?? null;
  }
  if (event.qualifier === 'restore') {
    const { rows } = await client.query<{ id: string }>(
      `UPDATE alarms SET restored_at = $3 WHERE event_id = $1 AND site_id = $2 AND restored_at IS NULL
       RETURNING id::text`,
      [event.relatesTo, event.siteId, event.occurredAt],
    );
    return rows[0]?.id ?? null;
  }
  return null;
}

/** Called after an event is committed: the procedure engine's input. */
export type AfterStore = (event: AlarmEvent, result: StoreResult) => Promise<void>;
