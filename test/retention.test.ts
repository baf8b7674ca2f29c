import { randomUUID } from 'node:crypto';
import test from 'ava';
import { inTransaction } from '../central/db/pool.ts';
import { INCIDENT_TABLES, Retention } from '../central/db/retention.ts';
import { storeEvent } from '../central/ingest/event-store.ts';
import { readEnv } from '../lib/env.ts';
import { silentLogger } from '../lib/logger.ts';
import { Metrics } from '../lib/metrics.ts';
import { eventually, startPanicGateways, startTestCentral } from './helpers/central.ts';
import { sampleEvent } from './helpers/events.ts';

/** A month's rows count as old when the retention is applied as if `months` later. */
const inMonths = (months: number) => new Date(Date.now() + months * 31 * 86_400_000);

test('every table that refers to an incident is one the retention removes its rows from', async (t) => {
  const env = await startTestCentral();
  t.teardown(() => env.stop());
  // Whatever has a foreign key to alarms, or an alarm_id column without one.
  const { rows } = await env.central.pool.query<{ table: string }>(
    `SELECT conrelid::regclass::text AS table FROM pg_constraint
      WHERE contype = 'f' AND confrelid = 'alarms'::regclass AND conrelid <> 'alarms'::regclass
     UNION
     SELECT c.table_name FROM information_schema.columns c
      JOIN pg_class k ON k.relname = c.table_name AND NOT k.relispartition
      WHERE c.table_schema = 'public' AND c.column_name = 'alarm_id'
     ORDER BY 1`,
  );
  t.deepEqual(
    rows.map((r) => r.table).filter((name) => !/_(y[0-9]{4}m[0-9]{2}|default)$/.test(name)),
    [...INCIDENT_TABLES].sort(),
  );
  t.throws(() => new Retention(env.central.pool, silentLogger, new Metrics(), 6), {
    message: /at least 12 whole months/,
  });
});

test('VIGIL_RETENTION_MONTHS: whole months, 12 at least; the central applies it in its supervision pass', async (t) => {
  t.is(readEnv({}).VIGIL_RETENTION_MONTHS, undefined, 'unset: nothing is ever removed');
  t.is(readEnv({ VIGIL_RETENTION_MONTHS: '24' }).VIGIL_RETENTION_MONTHS, 24);
  t.throws(() => readEnv({ VIGIL_RETENTION_MONTHS: '6' }), {
    message: /VIGIL_RETENTION_MONTHS: at least 12 months/,
  });
  t.throws(() => readEnv({ VIGIL_RETENTION_MONTHS: '12.5' }), {
    message: /VIGIL_RETENTION_MONTHS: whole months/,
  });
  const env = await startTestCentral({ retentionMonths: 12, supervisionIntervalMs: 200 });
  t.teardown(() => env.stop());
  await eventually(() => env.metrics.get('retention_runs_total') === 1, 'the retention applied once');
  t.is(env.metrics.get('retention_failures_total'), 0);
  t.is(env.metrics.get('supervision_errors_total', { part: 'applyRetention' }), 0);
});

test.serial(
  'retention: incidents closed past the age go with their events, inputs, trail and grants; open and police-held ones stay; months left empty are dropped',
  async (t) => {
    const env = await startTestCentral();
    t.teardown(() => env.stop());
    const pool = env.central.pool;
    const gateways = await startPanicGateways(t, env, 'ret', 3);
    for (const gw of gateways) gw.gateway.simulatedBus!.inject('panic', 'alarm');
    type Incident = { id: string; site_id: string; event_id: string };
    const incidents = await eventually(async () => {
      const { rows } = await pool.query<Incident>(
        `SELECT a.id::text, a.site_id, a.event_id::text FROM alarms a
          WHERE a.site_id LIKE 'site-ret%' AND a.proposal IS NOT NULL
            AND EXISTS (SELECT 1 FROM alarm_actions x WHERE x.alarm_id = a.id)
            AND EXISTS (SELECT 1 FROM procedure_inputs i WHERE i.alarm_id = a.id)
          ORDER BY a.site_id`,
      );
      return rows.length === 3 ? rows : null;
    }, 'three incidents with their first step recorded');
    const [expired, held, open] = incidents as [Incident, Incident, Incident];
    // The first one and the second are closed; a picture of the second is held for the police.
    await pool.query(`UPDATE alarms SET status = 'closed', closed_at = now() WHERE id = ANY($1::bigint[])`, [
      [expired.id, held.id],
    ]);
    const grant = randomUUID();
    await pool.query(
      `INSERT INTO camera_grants (id, alarm_id, site_id, gateway_id, event_id, operator, cameras, not_before, not_after)
       SELECT $1, a.id, a.site_id, e.gateway_id, a.event_id, 'alice', '{cam1}', now(), now() + interval '15 minutes'
         FROM alarms a JOIN events e ON e.id = a.event_id WHERE a.id = $2`,
      [grant, held.id],
    );
    await pool.query(
      `INSERT INTO event_media (alarm_id, site_id, camera_id, grant_id, requested_by, taken_at, content_type, bytes, held_at, held_by, hold_reason)
       VALUES ($1, $2, 'cam1', $3, 'alice', now(), 'image/jpeg', '\\xffd8'::bytea, now(), 'supervisor:bob', 'police request 2026/118')`,
      [held.id, held.site_id, grant],
    );
    // An event of no incident (a log event).
    const storeLogEvent = async (site: number) => {
      const event = sampleEvent({
        siteId: `site-ret${site}`,
        gatewayId: `gw-ret${site}`,
        eventType: 'zone-bypass',
        priority: 5,
      });
      t.is((await storeEvent(pool, event, 'mqtt')).kind, 'stored');
      return event;
    };
    const log = await storeLogEvent(0);
    // Enough of them to fill several pages: a month that stays loses them a few pages at a time.
    const logs = [log];
    for (let i = 0; i < 60; i++) logs.push(await storeLogEvent(i % 3));

    const count = async (sql: string, values: unknown[] = []) =>
      (await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM (${sql}) AS q`, values)).rows[0]!.n;
    const rowsOf = async (alarmId: string) => ({
      alarm: await count('SELECT 1 FROM alarms WHERE id = $1', [alarmId]),
      events: await count('SELECT 1 FROM events WHERE alarm_id = $1', [alarmId]),
      inputs: await count('SELECT 1 FROM procedure_inputs WHERE alarm_id = $1', [alarmId]),
      trail: await count('SELECT 1 FROM alarm_actions WHERE alarm_id = $1', [alarmId]),
    });
    const pages = await count(
      `SELECT generate_series(1, (pg_relation_size('events_' || to_char(now(), '"y"YYYY"m"MM')) / 8192)::int)`,
    );
    t.true(pages > 2, `the month's events fill ${pages} pages: more than one batch`);
    const heldBefore = await rowsOf(held.id);
    const openBefore = await rowsOf(open.id);
    t.true(heldBefore.events > 0 && heldBefore.inputs > 0 && heldBefore.trail > 0);

    // Applied now, nothing is old enough.
    const metrics = new Metrics();
    const retention = new Retention(pool, silentLogger, metrics, 12, 2);
    t.like(await retention.apply(new Date()), { incidents: 0, logRows: 0, partitionsDropped: [] });
    t.is((await rowsOf(expired.id)).alarm, 1);

    // Sixteen months on: the closed incident is past the age, and so are this month and the two
    // made ahead of it.
    const report = await retention.apply(inMonths(16));
    t.is(report.incidents, 1, 'the expired incident, and only it');
    t.true(report.logRows >= logs.length, 'the log events');
    t.is(
      await count('SELECT 1 FROM events WHERE id = ANY($1::uuid[])', [logs.map((e) => e.id)]),
      0,
      'every log event, across the pages of the month',
    );
    t.deepEqual(await rowsOf(expired.id), { alarm: 0, events: 0, inputs: 0, trail: 0 });
    t.is(
      await count('SELECT 1 FROM event_ids WHERE id = $1', [expired.event_id]),
      0,
      'its id left the register',
    );
    t.is(await count('SELECT 1 FROM events WHERE id = $1', [log.id]), 0);
    // (The engine may have written more of them since: nothing of them is gone.)
    const kept = (after: typeof heldBefore, before: typeof heldBefore) =>
      after.alarm === 1 &&
      after.events >= before.events &&
      after.inputs >= before.inputs &&
      after.trail >= before.trail;
    t.true(kept(await rowsOf(held.id), heldBefore), 'held for the police: kept whole');
    t.true(kept(await rowsOf(open.id), openBefore), 'open: kept whole');
    t.is(await count('SELECT 1 FROM camera_grants WHERE id = $1', [grant]), 1);
    // This month keeps the kept incidents' rows; the months ahead held nothing and are dropped.
    t.is(report.partitionsDropped.length, 6, `months dropped: ${report.partitionsDropped.join(', ')}`);
    const month = (await pool.query<{ m: string }>(`SELECT to_char(now(), '"y"YYYY"m"MM') AS m`)).rows[0]!.m;
    t.false(report.partitionsDropped.includes(`events_${month}`), "this month's events hold kept incidents");
    const { rows: audit } = await pool.query<{ detail: { incidents: number } }>(
      `SELECT detail FROM audit_log WHERE action = 'retention.applied'`,
    );
    t.is(audit.length, 1, 'one audit row for the run that removed something');
    t.is(audit[0]!.detail.incidents, 1);
    t.is(metrics.get('retention_incidents_removed_total'), 1);

    // Outside the retention job, the trail is still append-only.
    await t.throwsAsync(pool.query('DELETE FROM alarm_actions WHERE alarm_id = $1', [held.id]), {
      message: /append-only/,
    });
    await t.throwsAsync(pool.query('DELETE FROM camera_grants WHERE id = $1', [grant]), {
      message: /append-only/,
    });

    // Not even the retention's own switch opens the audit log.
    await t.throwsAsync(
      inTransaction(pool, async (client) => {
        await client.query(`SET LOCAL vigil.retention_purge = 'on'`);
        await client.query(`DELETE FROM audit_log WHERE action = 'retention.applied'`);
      }),
      { message: /audit_log is append-only/ },
    );

    // The hold lifted and the last incident closed: the month holds nothing any more and goes whole,
    // a log event stored since with it.
    await pool.query(`UPDATE event_media SET held_at = NULL WHERE alarm_id = $1`, [held.id]);
    await pool.query(`UPDATE alarms SET status = 'closed', closed_at = now() WHERE id = $1`, [open.id]);
    const later = await storeLogEvent(1);
    const second = await retention.apply(inMonths(16));
    t.is(second.incidents, 2);
    t.true(
      second.partitionsDropped.includes(`events_${month}`),
      `dropped: ${second.partitionsDropped.join(', ')}`,
    );
    t.is(
      await count('SELECT 1 FROM event_ids WHERE id = $1', [later.id]),
      0,
      "the dropped month's ids left the register",
    );
    t.is(await count(`SELECT 1 FROM alarms WHERE site_id LIKE 'site-ret%'`), 0);
  },
);
