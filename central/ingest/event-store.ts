import { createHash } from 'node:crypto';
import pg from 'pg';
import { EVENT_TYPES, type EventTypeName } from '../../protocols/event-codes.ts';
import type { AlarmEvent } from '../../protocols/messages.ts';
import { type AlarmRow, type AlarmView, alarmById, toView, viewOf } from '../alarms.ts';
import { DEFAULT_MERGE_RULES, joinTarget, type MergeRules } from '../incidents/merge-rules.ts';
import { rankOf, VERIFIED_RANK } from '../incidents/ranking.ts';
import { ALARM_CHANNEL, announce, encodeNotice, type LocalFeed } from '../live/announce.ts';
import { PROCEDURE_FOR } from '../procedures/definitions.ts';

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

export interface StoreOptions {
  readonly rules?: MergeRules;
  /** How it came in (the DC-09 frame …), kept in the payload beside the event. */
  readonly evidence?: object | undefined;
  /** This node's operator feed, told at once; without it the consoles hear through NOTIFY only. */
  readonly feed?: LocalFeed | undefined;
}

/**
 * Commit one event, exactly once, with what it does to the incidents: open one when the event type
 * calls for one — or join the site's open incident, per the merge rules — or mark one restored or
 * verified. Then tell the operator feed, so the feed sees an incident only after it is durable,
 * and only once, on every central node.
 */
export async function storeEvent(
  pool: pg.Pool,
  event: AlarmEvent,
  via: 'mqtt' | 'dc09' | 'central',
  options: StoreOptions = {},
): Promise<StoreResult> {
  if (opensAlarm(event)) return storeAlarmEvent(pool, event, via, options);
  const { evidence, feed } = options;
  // Most of the traffic (test reports, arming, troubles that name nothing): nothing else to change,
  // so one statement, committed by itself, instead of a four-statement transaction.
  if (!event.relatesTo) {
    const inserted = await pool.query({ ...INSERT_LOG_EVENT, values: eventParams(event, via, evidence) });
    return inserted.rowCount === 0 ? notStored(pool, event) : { kind: 'stored', alarm: null, incident: null };
  }
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const inserted = await client.query({
      ...INSERT_NAMING_EVENT,
      values: eventParams(event, via, evidence),
    });
    if (inserted.rowCount === 0) {
      await client.query('ROLLBACK');
      return notStored(client, event);
    }

    const alarmId = await applyToAlarms(client, event);
    const alarm = alarmId ? await alarmById(client, alarmId) : null;
    await client.query('COMMIT');
    // On this connection: asking the pool for another while holding one deadlocks a busy pool.
    if (alarm) await announce(client, alarm, feed);
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

/**
 * The CTE `registered`: the event's id ($1, from gateway $3) entered in the register of every stored
 * event id — one row, with the time that puts the event in its partition, or none when the id was
 * stored before (events are partitioned by month, so their own primary key cannot say so).
 */
const REGISTER_EVENT = `registered AS (
  INSERT INTO event_ids (id, gateway_id) VALUES ($1, $3) ON CONFLICT (id) DO NOTHING RETURNING received_at)`;

/**
 * Insert an event (parameters $1–$22 from eventParams) pointing at the incident `alarmId` (SQL),
 * when the CTE REGISTER_EVENT registered it.
 */
function insertEvent(alarmId: string): string {
  return `INSERT INTO events (${EVENT_COLUMNS}, received_at)
   SELECT $1::uuid, $2::text, $3::text, $4::bigint, $5::text, $6::text, $7::text, $8::text, $9::text,
          $10::smallint, $11::text, $12::text, $13::int, $14::int, $15::boolean, $16::jsonb, $17::uuid, $18::text,
          $19::timestamptz, $20::timestamptz, $21::text, $22::jsonb, ${alarmId}, received_at FROM registered`;
}

/**
 * The incident of the event `id` at `site` (SQL), looked up in the event's own partition. A statement
 * using it is prepared (named): planning a join to a partitioned table costs with every partition
 * (2 ms with 27), a prepared statement plans once and prunes as it runs.
 */
function incidentOfEvent(id: string, site: string): string {
  return `(SELECT e.alarm_id FROM event_ids r JOIN events e ON e.id = r.id AND e.received_at = r.received_at
            WHERE r.id = ${id} AND e.site_id = ${site})`;
}

/** An event that names no earlier one, and opens no incident: it belongs to none. */
const INSERT_LOG_EVENT = {
  name: 'insert-log-event',
  text: `WITH ${REGISTER_EVENT} ${insertEvent('NULL')} RETURNING id`,
};

/**
 * An event that names an earlier one (a restore, a verification) belongs to that one's incident; one
 * that names an event not stored yet waits for it in `awaiting_events` as well. Kept
 * apart from INSERT_LOG_EVENT: with the name a null, PostgreSQL finds a plan made for that value
 * cheaper and makes one every time, planning the lookup through every partition (3 ms with 27).
 */
const INSERT_NAMING_EVENT = {
  name: 'insert-naming-event',
  text: `WITH ${REGISTER_EVENT},
    awaiting AS (INSERT INTO awaiting_events (relates_to, site_id, event_id, payload)
                 SELECT $17::uuid, $2::text, $1::uuid, $22::jsonb FROM registered
                  WHERE NOT EXISTS (SELECT 1 FROM event_ids WHERE id = $17::uuid))
    ${insertEvent(incidentOfEvent('$17::uuid', '$2::text'))} RETURNING id`,
};

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
  const { rows } = await db.query<{ gateway_id: string }>('SELECT gateway_id FROM event_ids WHERE id = $1', [
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
export function siteLock(siteId: string): string {
  return createHash('sha256').update(siteId).digest().readBigInt64BE(0).toString();
}

/**
 * The alarm path. Under the site's lock — a session lock, so that the statement storing the event
 * commits by itself rather than in a transaction that needs a COMMIT round trip of its own — find
 * the site's open incidents; the event joins one (per the merge rules) or opens a new one; this
 * node's feed is told as soon as that statement returns, and the other nodes with the NOTIFY that
 * also gives the lock back. A new incident is two round trips before the operator's console hears.
 */
async function storeAlarmEvent(
  pool: pg.Pool,
  event: AlarmEvent,
  via: string,
  { rules = DEFAULT_MERGE_RULES, evidence, feed }: StoreOptions,
): Promise<StoreResult> {
  const client = await pool.connect();
  const lock = siteLock(event.siteId);
  const prepare = prepareSiteLookups(client);
  try {
    const site = pg.escapeLiteral(event.siteId);
    const results = (await client.query(
      `${prepare}SELECT pg_advisory_lock(${lock});
       EXECUTE vigil_open_incidents(${site}); EXECUTE vigil_late_arrivals(${site}, ${pg.escapeLiteral(event.id)})`,
    )) as unknown as pg.QueryResult[];
    const late = results.at(-1)!.rows.map((r: { payload: AlarmEvent }) => r.payload);
    const open = results.at(-2)!.rows.map((r: OpenRow) => ({
      id: r.id,
      lead: { eventType: r.event_type, deviceId: r.device_id, zone: r.zone },
      lastEventAt: r.last_event_at?.getTime() ?? 0,
    }));
    const occurredAt = Date.parse(event.occurredAt);
    const subject = { eventType: event.eventType, deviceId: event.device?.id ?? null, zone: event.zone };
    const target = joinTarget(rules, open, subject, occurredAt);
    // Events stored ahead of the one they name (a resend can overtake) are applied with it, atomically.
    if (late.length > 0) await client.query('BEGIN');
    const stored = await storeUnderSiteLock(client, event, via, evidence, target);
    if (!stored) {
      if (late.length > 0) await client.query('ROLLBACK');
      const refused = await notStored(client, event);
      await client.query('SELECT pg_advisory_unlock($1)', [lock]);
      client.release();
      return refused;
    }
    const alarmId = stored.alarmId;
    if (late.length > 0) {
      await client.query(
        'UPDATE events SET alarm_id = $1 WHERE relates_to = $2 AND site_id = $3 AND alarm_id IS NULL',
        [alarmId, event.id, event.siteId],
      );
      await client.query('DELETE FROM awaiting_events WHERE relates_to = $1 AND site_id = $2', [
        event.id,
        event.siteId,
      ]);
      for (const earlier of late) await applyToAlarms(client, earlier);
      await client.query('COMMIT');
    }
    const alarm = late.length > 0 ? await alarmById(client, alarmId) : stored.view;
    if (alarm) feed?.deliver(alarm);
    // On this connection: asking the pool for another while holding one deadlocks a busy pool.
    await client.query(
      alarm ? 'SELECT pg_advisory_unlock($1), pg_notify($2, $3)' : 'SELECT pg_advisory_unlock($1)',
      alarm ? [lock, ALARM_CHANNEL, encodeNotice(alarm, feed?.origin)] : [lock],
    );
    client.release();
    return {
      kind: 'stored',
      alarm,
      incident: { id: alarmId, joined: target !== null },
      ...(late.length > 0 ? { lateArrivals: late } : {}),
    };
  } catch (error) {
    // Back to the pool only without the site's lock or an open transaction, and with the lookups
    // prepared for certain (PREPARE is not undone by a rollback, nor done when the query failed
    // before it); else the connection goes.
    const clean =
      prepare === '' &&
      (await client.query('ROLLBACK; SELECT pg_advisory_unlock_all()').then(
        () => true,
        () => false,
      ));
    if (!clean) siteLookupsPrepared.delete(client);
    client.release(!clean);
    throw error;
  }
}

/**
 * Insert the event into its incident — the open one it joins (`target`), or a new one — in one
 * statement; null when the event id was stored before. A new incident's view comes back with it.
 */
async function storeUnderSiteLock(
  client: pg.PoolClient,
  event: AlarmEvent,
  via: string,
  evidence: object | undefined,
  target: string | null,
): Promise<{ alarmId: string; view: AlarmView } | null> {
  const params = eventParams(event, via, evidence);
  const rank = rankOf(event.eventType, event.verification.verified);
  const duress = event.eventType === 'duress';
  if (target) {
    const { rows } = await client.query<AlarmRow>({
      ...JOIN_INCIDENT,
      values: [...params, target, rank, duress],
    });
    return rows[0] ? { alarmId: target, view: toView(rows[0]) } : null;
  }
  const { rows } = await client.query<{ view: AlarmViewJson | null }>({
    ...NEW_INCIDENT,
    values: [...params, EVENT_TYPES[event.eventType].title, event.verification.rule, rank, duress],
  });
  const view = rows[0]?.view;
  return view ? { alarmId: view.alarmId, view: view as unknown as AlarmView } : null;
}

type AlarmViewJson = Omit<AlarmView, 'openedAt'> & { openedAt: string };

/** Connections on which the site lookups are prepared. */
const siteLookupsPrepared = new WeakSet<pg.PoolClient>();

/**
 * The site's open incidents (with the lead event the merge rules compare against) and the events
 * stored ahead of the one being stored that name it: prepared in SQL on each connection's first alarm
 * (`PREPARE`, SQL to put before the lookups), so that the site lock and both lookups still go in one
 * round trip (a protocol-level prepared statement cannot share one) and are not planned every time.
 */
function prepareSiteLookups(client: pg.PoolClient): string {
  if (siteLookupsPrepared.has(client)) return '';
  siteLookupsPrepared.add(client);
  return `PREPARE vigil_open_incidents (text) AS
       SELECT id::text, last_event_at, lead_event_type AS event_type, lead_device_id AS device_id, lead_zone AS zone
         FROM alarms WHERE site_id = $1 AND status <> 'closed' ORDER BY opened_at;
     PREPARE vigil_late_arrivals (text, uuid) AS
       SELECT payload FROM awaiting_events WHERE relates_to = $2 AND site_id = $1 ORDER BY (payload->>'seq')::bigint;
     `;
}

interface OpenRow {
  id: string;
  last_event_at: Date | null;
  event_type: EventTypeName;
  device_id: string | null;
  zone: number;
}

/**
 * The event joins the open incident $23: it counts one more event (unless it names an earlier one)
 * and raises the incident's rank and priority to its own; the incident's view as it now stands
 * comes back from the same statement. Prepared once per connection, as is NEW_INCIDENT: planning
 * these statements was a third of their time.
 */
const JOIN_INCIDENT = {
  name: 'join-incident',
  text: `WITH ${REGISTER_EVENT}, inserted AS (${insertEvent('$23::bigint')} RETURNING id),
              joined AS (UPDATE alarms SET rank = LEAST(rank, $24), priority = LEAST(priority, $10),
                      last_event_at = GREATEST(last_event_at, $19), silent = silent OR $25,
                      event_count = event_count + CASE WHEN $17::uuid IS NULL THEN 1 ELSE 0 END
                     WHERE id = $23 AND EXISTS (SELECT 1 FROM inserted) RETURNING *)
         ${viewOf('joined')}`,
};

/** A new incident: its id first, so the event row can point at it; then the alarm row; then the feed. */
const NEW_INCIDENT = {
  name: 'new-incident',
  text: `WITH ${REGISTER_EVENT}, n AS (SELECT nextval('alarms_id_seq') AS id),
      e AS (${insertEvent('(SELECT id FROM n)')} RETURNING id, received_at),
      a AS (INSERT INTO alarms (id, event_id, event_received_at, site_id, class, priority, verified, verification, rank,
                                last_event_at, silent, lead_event_type, lead_cid, lead_sia, lead_zone, lead_area,
                                lead_device_id, lead_device_name, lead_text, lead_occurred_at)
            SELECT (SELECT id FROM n), id, received_at, $2, $9, $10, $15, $16, $25, $19, $26, $5, $7, $8, $13, $14, $11,
                   $12, $18, $19
              FROM e RETURNING id, opened_at),
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
 SELECT view FROM v`,
};

/** What an event that opens no alarm does to an earlier one; returns the id of the alarm it changed. */
async function applyToAlarms(client: pg.PoolClient, event: AlarmEvent): Promise<string | null> {
  const handling = EVENT_TYPES[event.eventType].handling;
  if (!event.relatesTo) return null;
  if (handling === 'verification') {
    const { rows } = await client.query<{ id: string }>({
      name: 'verify-incident',
      text: `UPDATE alarms SET verified = true, verification = $3, verified_at = $4, rank = LEAST(rank, $5)
        WHERE id = ${incidentOfEvent('$1', '$2')} AND NOT verified RETURNING id::text`,
      values: [
        event.relatesTo,
        event.siteId,
        JSON.stringify(event.verification),
        event.occurredAt,
        VERIFIED_RANK,
      ],
    });
    return rows[0]?.id ?? null;
  }
  if (event.qualifier === 'restore') {
    // The incident of the restored event; it is "restored" when the event that opened it is.
    const { rows } = await client.query<{ id: string }>({
      name: 'restore-incident',
      text: `UPDATE alarms SET restored_at = CASE WHEN event_id = $1 THEN coalesce(restored_at, $3) ELSE restored_at END
        WHERE id = ${incidentOfEvent('$1', '$2')}
       RETURNING id::text`,
      values: [event.relatesTo, event.siteId, event.occurredAt],
    });
    return rows[0]?.id ?? null;
  }
  return null;
}

/** Called after an event is committed: the procedure engine's input. */
export type AfterStore = (event: AlarmEvent, result: StoreResult) => Promise<void>;
