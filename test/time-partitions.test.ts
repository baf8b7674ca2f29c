import test from 'ava';
import pg from 'pg';
import { alarmById, viewOf } from '../central/alarms.ts';
import { type EmbeddedDatabase, startEmbeddedPostgres } from '../central/db/embedded.ts';
import { migrate } from '../central/db/migrate.ts';
import { endPool } from '../central/db/pool.ts';
import {
  MONTHLY_TABLES,
  PARTITION_CHECK_INTERVAL_MS,
  TimePartitions,
} from '../central/db/time-partitions.ts';
import { releaseAwaitingEvents } from '../central/ingest/awaiting-events.ts';
import { storeEvent } from '../central/ingest/event-store.ts';
import { LogEventBatch } from '../central/ingest/log-batch.ts';
import { createLogger } from '../lib/logger.ts';
import { Metrics } from '../lib/metrics.ts';
import { tempDir } from './helpers/central.ts';
import { sampleEvent } from './helpers/events.ts';

const logger = createLogger('test-partitions', process.env.VIGIL_LOG_LEVEL ?? 'silent');
let database: EmbeddedDatabase;
let pool: pg.Pool;

const OLD_SCHEMA = '023_procedure_partitions.sql';
const TWO_MONTHS_AGO = "now() - interval '62 days'";
/** An alarm not yet received, whose restore was (a resend overtook it). */
const AHEAD_OF = '00000000-0000-4000-8000-00000000000a';

test.before(async () => {
  database = await startEmbeddedPostgres(tempDir('partitions'), logger);
  pool = new pg.Pool({ connectionString: database.url, max: 4 });
  // The schema as the release before partitioning left it, with what an ARC would have in it.
  await migrate(pool, logger, OLD_SCHEMA);
  await pool.query(`
    INSERT INTO sites (id, name) VALUES ('site-p', 'Partitioned');
    INSERT INTO gateways (id, site_id, secret_sha256) VALUES ('gw-p', 'site-p', 'x');
    INSERT INTO events (id, site_id, gateway_id, seq, event_type, qualifier, cid, sia, class, priority, zone, area,
                        verified, verification, occurred_at, recorded_at, received_at, via, payload)
    VALUES ('00000000-0000-4000-8000-000000000001', 'site-p', 'gw-p', 1, 'burglary-interior', 'event', '132', 'BA',
            'security', 1, 2, 1, false, '{}', ${TWO_MONTHS_AGO}, ${TWO_MONTHS_AGO}, ${TWO_MONTHS_AGO}, 'mqtt', '{}'),
           ('00000000-0000-4000-8000-000000000002', 'site-p', 'gw-p', 2, 'zone-bypass', 'event', '570', 'UB',
            'technical', 4, 2, 1, false, '{}', now(), now(), now(), 'mqtt', '{}');
    INSERT INTO alarms (event_id, site_id, class, priority, opened_at)
    VALUES ('00000000-0000-4000-8000-000000000001', 'site-p', 'security', 1, ${TWO_MONTHS_AGO});
    UPDATE events SET alarm_id = (SELECT id FROM alarms) WHERE seq = 1;
    INSERT INTO alarm_actions (alarm_id, at, actor, action, target, reason)
    SELECT id, ${TWO_MONTHS_AGO}, 'engine', 'call', 'keyholder', 'step 1' FROM alarms;
    INSERT INTO procedure_inputs (site_id, alarm_id, at, kind, payload)
    SELECT 'site-p', id, ${TWO_MONTHS_AGO}, 'event', '{}' FROM alarms;
    INSERT INTO events (id, site_id, gateway_id, seq, event_type, qualifier, cid, sia, class, priority, zone, area,
                        verified, verification, relates_to, occurred_at, recorded_at, via, payload)
    VALUES ('00000000-0000-4000-8000-000000000003', 'site-p', 'gw-p', 11, 'burglary-interior', 'restore', '132', 'BA',
            'security', 1, 2, 1, false, '{}', '${AHEAD_OF}', now(), now(), 'mqtt',
            '{"id": "00000000-0000-4000-8000-000000000003", "seq": 11, "eventType": "burglary-interior",
              "qualifier": "restore", "relatesTo": "${AHEAD_OF}", "occurredAt": "2026-11-21T10:05:00.000Z"}');
    INSERT INTO camera_grants (id, alarm_id, site_id, gateway_id, event_id, operator, cameras, not_before, not_after)
    SELECT gen_random_uuid(), id, 'site-p', 'gw-p', event_id, 'alice', '{cam-1}', now(), now() + interval '15 minutes'
      FROM alarms;`);
  await migrate(pool, logger);
});
test.after.always(async () => {
  // Until its connections have hung up: a database stopped sooner cuts an idle one off (an error).
  if (pool) await endPool(pool);
  await database?.stop();
});

const partitionOf = async (table: string, where: string) =>
  (
    await pool.query<{ p: string }>(`SELECT tableoid::regclass::text AS p FROM ${table} WHERE ${where}`)
  ).rows.map((r) => r.p);

const monthName = (table: string, monthsFromNow: number) => {
  const d = new Date();
  const m = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + monthsFromNow, 1));
  return `${table}_y${m.getUTCFullYear()}m${String(m.getUTCMonth() + 1).padStart(2, '0')}`;
};

test.serial(
  'rows stored before partitioning are in the partition of their month, nothing lost',
  async (t) => {
    t.deepEqual(await partitionOf('events', 'seq = 1'), [monthName('events', -2)]);
    t.deepEqual(await partitionOf('events', 'seq = 2'), [monthName('events', 0)]);
    t.deepEqual(await partitionOf('alarm_actions', 'true'), [monthName('alarm_actions', -2)]);
    t.deepEqual(await partitionOf('procedure_inputs', 'true'), [monthName('procedure_inputs', -2)]);
    const { rows } = await pool.query(
      `SELECT (SELECT count(*)::int FROM event_ids) AS ids, (SELECT count(*)::int FROM camera_grants) AS grants,
            (SELECT a.event_received_at = e.received_at FROM alarms a JOIN events e ON e.id = a.event_id) AS linked`,
    );
    t.deepEqual(rows[0], { ids: 3, grants: 1, linked: true });
    // The incident still reads as before, and the inputs' ids go on from where they were.
    const alarm = await alarmById(pool, (await pool.query('SELECT id::text FROM alarms')).rows[0].id);
    t.is(alarm?.eventType, 'burglary-interior');
    const next = await pool.query(
      "INSERT INTO procedure_inputs (site_id, at, kind, payload) VALUES ('site-p', now(), 'tick', '{}') RETURNING id::int",
    );
    t.is(next.rows[0].id, 2);
  },
);

test.serial('from every month ahead to the one two months away, a partition is ready', async (t) => {
  for (const table of MONTHLY_TABLES)
    for (const month of [0, 1, 2])
      t.truthy((await pool.query('SELECT to_regclass($1) AS r', [monthName(table, month)])).rows[0].r);
});

test.serial(
  'an event id is stored once across partitions; reused by another gateway it is refused',
  async (t) => {
    await pool.query("INSERT INTO gateways (id, site_id, secret_sha256) VALUES ('gw-q', 'site-p', 'x')");
    const alarm = sampleEvent({ siteId: 'site-p', gatewayId: 'gw-p', seq: 3 });
    t.is((await storeEvent(pool, alarm, 'mqtt')).kind, 'stored');
    t.deepEqual(await storeEvent(pool, alarm, 'mqtt'), { kind: 'duplicate' });
    t.deepEqual(await storeEvent(pool, { ...alarm, gatewayId: 'gw-q' }, 'mqtt'), {
      kind: 'rejected',
      reason: 'event id already used by another gateway',
    });
    // The id of the event stored two months ago, sent again: its month is long past this one.
    const old = sampleEvent({
      id: '00000000-0000-4000-8000-000000000001',
      siteId: 'site-p',
      gatewayId: 'gw-p',
    });
    t.deepEqual(await storeEvent(pool, old, 'mqtt'), { kind: 'duplicate' });
    const log = {
      ...sampleEvent({ siteId: 'site-p', gatewayId: 'gw-p', seq: 4 }),
      eventType: 'zone-bypass' as const,
    };
    const batch = new LogEventBatch({ pool, metrics: new Metrics(), lingerMs: 5 });
    const results = await Promise.all([
      batch.store(log, 'mqtt'),
      batch.store(log, 'mqtt'),
      batch.store(old, 'mqtt'),
    ]);
    t.deepEqual(
      results.map((r) => r.kind),
      ['stored', 'stored', 'duplicate'],
      'the same event twice in one batch is one row; an old id is a duplicate',
    );
    const { rows } = await pool.query('SELECT count(*)::int AS n FROM events WHERE id = ANY($1)', [
      [alarm.id, log.id, old.id],
    ]);
    t.is(rows[0].n, 3);
  },
);

test.serial('the trail stays append-only in every partition', async (t) => {
  for (const table of ['alarm_actions', 'procedure_inputs']) {
    for (const target of [table, monthName(table, -2), `${table}_default`])
      await t.throwsAsync(pool.query(`TRUNCATE ${target}`), { message: /append-only/ }, `TRUNCATE ${target}`);
    for (const target of [table, monthName(table, -2)])
      await t.throwsAsync(
        pool.query(`DELETE FROM ${target}`),
        { message: /append-only/ },
        `DELETE ${target}`,
      );
    await t.throwsAsync(pool.query(`UPDATE ${monthName(table, -2)} SET at = now()`), {
      message: /append-only/,
    });
  }
  t.is((await pool.query('SELECT count(*)::int AS n FROM alarm_actions')).rows[0].n, 1);
});

test.serial(
  'an incident is shown without reading events; its first event is read from its own month',
  async (t) => {
    const alarmId = (await pool.query('SELECT id::text FROM alarms ORDER BY id LIMIT 1')).rows[0].id;
    const explain = async (sql: string) =>
      (await pool.query(`EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) ${sql}`, [alarmId])).rows.map(
        (r) => r['QUERY PLAN'] as string,
      );
    const view = await explain(`${viewOf('alarms')} WHERE a.id = $1`);
    t.false(
      view.some((line) => /events/.test(line)),
      view.join('\n'),
    );
    const plan = await explain(
      `SELECT e.payload FROM alarms a JOIN events e ON e.id = a.event_id AND e.received_at = a.event_received_at
      WHERE a.id = $1`,
    );
    const scanned = plan.filter((line) => / on events_/.test(line) && !/never executed/.test(line));
    t.is(scanned.length, 1, plan.join('\n'));
    t.regex(scanned[0]!, new RegExp(monthName('events', -2)));
  },
);

test.serial(
  'a restore stored before partitioning, ahead of its alarm, is applied when the alarm comes',
  async (t) => {
    const alarm = sampleEvent({ id: AHEAD_OF, siteId: 'site-p', gatewayId: 'gw-p', seq: 10 });
    const stored = await storeEvent(pool, alarm, 'mqtt');
    t.is(stored.kind, 'stored');
    t.deepEqual(stored.kind === 'stored' ? stored.lateArrivals?.map((e) => e.id) : [], [
      '00000000-0000-4000-8000-000000000003',
    ]);
    const { rows } = await pool.query(
      "SELECT alarm_id::text FROM events WHERE id = '00000000-0000-4000-8000-000000000003'",
    );
    t.deepEqual(
      rows,
      [{ alarm_id: stored.kind === 'stored' ? stored.incident?.id : 'none' }],
      'in the incident',
    );
    t.is((await pool.query('SELECT count(*)::int AS n FROM awaiting_events')).rows[0].n, 0);
  },
);

test.serial('a restore of a log event stored after it stops waiting for it', async (t) => {
  const log = sampleEvent({ siteId: 'site-p', gatewayId: 'gw-p', seq: 20, eventType: 'zone-bypass' });
  const restore = sampleEvent({
    siteId: 'site-p',
    gatewayId: 'gw-p',
    seq: 21,
    eventType: 'zone-bypass',
    qualifier: 'restore',
    relatesTo: log.id,
  });
  const unnamed = sampleEvent({
    ...restore,
    id: crypto.randomUUID(),
    seq: 22,
    relatesTo: crypto.randomUUID(),
  });
  t.is((await storeEvent(pool, restore, 'mqtt')).kind, 'stored');
  t.is((await storeEvent(pool, unnamed, 'mqtt')).kind, 'stored');
  const waiting = async () =>
    (
      await pool.query<{ id: string }>('SELECT event_id AS id FROM awaiting_events ORDER BY event_id')
    ).rows.map((r) => r.id);
  t.deepEqual(await waiting(), [restore.id, unnamed.id].sort());
  t.is((await storeEvent(pool, log, 'mqtt')).kind, 'stored');
  t.is(await releaseAwaitingEvents(pool), 0, 'not before it has been stored a while');
  t.is(await releaseAwaitingEvents(pool, 0), 1);
  t.deepEqual(await waiting(), [unnamed.id], 'what names an event not stored yet still waits');
});

test.serial('partitions missing ahead are made again; rows without one are kept and reported', async (t) => {
  const metrics = new Metrics();
  const partitions = new TimePartitions(pool, logger, metrics);
  for (const table of MONTHLY_TABLES) {
    await pool.query(`ALTER TABLE ${table} DETACH PARTITION ${monthName(table, 2)}`);
    await pool.query(`DROP TABLE ${monthName(table, 2)}`);
  }
  const start = Date.now();
  await partitions.maintain(start);
  for (const table of MONTHLY_TABLES) {
    t.is(metrics.get('db_partitions_created_total', { table }), 1, table);
    t.truthy((await pool.query('SELECT to_regclass($1) AS r', [monthName(table, 2)])).rows[0].r);
  }
  // A row from far ahead of every partition goes to the default partition, not away.
  await pool.query(
    "INSERT INTO procedure_inputs (site_id, at, kind, payload, stored_at) VALUES ('site-p', now(), 'tick', '{}', '2100-01-01')",
  );
  await partitions.maintain(start + PARTITION_CHECK_INTERVAL_MS - 1);
  t.is(
    metrics.get('db_partition_default_rows_found_total', { table: 'procedure_inputs' }),
    0,
    'not checked yet',
  );
  await partitions.maintain(start + PARTITION_CHECK_INTERVAL_MS);
  t.is(metrics.get('db_partition_default_rows_found_total', { table: 'procedure_inputs' }), 1);
  t.is(metrics.get('db_partition_default_rows_found_total', { table: 'events' }), 0);
  t.is(metrics.total('db_partitions_created_total'), 3, 'nothing made twice');
  t.deepEqual(await partitionOf('procedure_inputs', "stored_at = '2100-01-01'"), [
    'procedure_inputs_default',
  ]);
});

test.serial(
  'behind a long query on a table, making its partition gives up at once and is tried again',
  async (t) => {
    const metrics = new Metrics();
    const partitions = new TimePartitions(pool, logger, metrics);
    await pool.query(`ALTER TABLE events DETACH PARTITION ${monthName('events', 2)}`);
    await pool.query(`DROP TABLE ${monthName('events', 2)}`);
    const report = await pool.connect();
    try {
      // A report reading events in a transaction still open: its lock conflicts with making a partition.
      await report.query('BEGIN');
      await report.query('SELECT count(*) FROM events');
      const started = Date.now();
      await partitions.maintain(started);
      t.true(Date.now() - started < 5000, 'did not wait behind the report');
      t.is(metrics.get('db_partition_maintenance_failures_total', { table: 'events' }), 1);
      t.is(
        metrics.get('db_partition_maintenance_failures_total', { table: 'alarm_actions' }),
        0,
        'the others made',
      );
      // Nothing was left waiting in the lock queue: an alarm is stored meanwhile.
      t.is(
        (await storeEvent(pool, sampleEvent({ siteId: 'site-p', gatewayId: 'gw-p', seq: 30 }), 'mqtt')).kind,
        'stored',
      );
    } finally {
      await report.query('COMMIT');
      report.release();
    }
    await partitions.maintain(Date.now());
    t.is(metrics.get('db_partitions_created_total', { table: 'events' }), 1, 'made at the next check');
  },
);
