import test from 'ava';
import pg from 'pg';
import { openAlarmQueue } from '../central/alarms.ts';
import { login, operatorForSession } from '../central/auth/operator-auth.ts';
import { migrate } from '../central/db/migrate.ts';
import { siteLock, storeEvent } from '../central/ingest/event-store.ts';
import { AlarmFeed } from '../central/live/alarm-feed.ts';
import { ALARM_CHANNEL } from '../central/live/announce.ts';
import { silentLogger } from '../lib/logger.ts';
import { Metrics } from '../lib/metrics.ts';
import { eventually, OPERATOR, startTestCentral, type TestCentral } from './helpers/central.ts';
import { sampleEvent } from './helpers/events.ts';

let env: TestCentral;
test.before(async () => {
  env = await startTestCentral();
  await env.addGateway('site-a', 'gw-a');
  await env.addGateway('site-b', 'gw-b');
});
test.after.always(async () => {
  await env?.stop();
});

test.serial('migrations are applied once; a second run applies nothing', async (t) => {
  t.deepEqual(await migrate(env.central.pool, silentLogger), []);
});

test.serial(
  'an event is stored once; a redelivery is a duplicate; its id from another gateway is refused',
  async (t) => {
    const event = sampleEvent();
    const first = await storeEvent(env.central.pool, event, 'mqtt');
    t.is(first.kind, 'stored');
    t.like(first.kind === 'stored' ? first.alarm : null, {
      eventId: event.id,
      class: 'security',
      status: 'open',
    });
    t.deepEqual(await storeEvent(env.central.pool, event, 'mqtt'), { kind: 'duplicate' });
    const stolen = await storeEvent(
      env.central.pool,
      { ...event, siteId: 'site-b', gatewayId: 'gw-b' },
      'mqtt',
    );
    t.is(stolen.kind, 'rejected');
    const { rows } = await env.central.pool.query('SELECT count(*)::int AS n FROM events WHERE id = $1', [
      event.id,
    ]);
    t.is(rows[0].n, 1);
    const alarms = await env.central.pool.query('SELECT count(*)::int AS n FROM alarms WHERE event_id = $1', [
      event.id,
    ]);
    t.is(alarms.rows[0].n, 1);
  },
);

test.serial('a restore marks its alarm restored; a log-only event opens no alarm', async (t) => {
  const alarm = sampleEvent({
    eventType: 'smoke',
    code: { cid: '111', sia: 'FA' },
    class: 'safety',
    priority: 2,
  });
  await storeEvent(env.central.pool, alarm, 'mqtt');
  const restore = sampleEvent({
    eventType: 'smoke',
    qualifier: 'restore',
    code: { cid: '111', sia: 'FH' },
    class: 'safety',
    priority: 2,
    relatesTo: alarm.id,
    occurredAt: '2026-11-21T10:05:00.000Z',
  });
  const result = await storeEvent(env.central.pool, restore, 'mqtt');
  t.like(result.kind === 'stored' ? result.alarm : null, {
    eventId: alarm.id,
    restoredAt: '2026-11-21T10:05:00.000Z',
  });
  const test602 = sampleEvent({
    eventType: 'periodic-test',
    code: { cid: '602', sia: 'RP' },
    class: 'technical',
    priority: 3,
  });
  t.deepEqual(await storeEvent(env.central.pool, test602, 'mqtt'), {
    kind: 'stored',
    alarm: null,
    incident: null,
  });
});

test.serial(
  'the queue orders by class, then severity within the class, then age; another site is another incident',
  async (t) => {
    await env.central.pool.query('UPDATE alarms SET status = $1', ['closed']);
    const technical = sampleEvent({
      eventType: 'water',
      code: { cid: '113', sia: 'WA' },
      class: 'technical',
      priority: 3,
    });
    const safety = sampleEvent({
      eventType: 'medical',
      code: { cid: '100', sia: 'MA' },
      class: 'safety',
      priority: 2,
    });
    const burglary = sampleEvent({ siteId: 'site-b' });
    const panic = sampleEvent({ siteId: 'site-c', eventType: 'panic', code: { cid: '120', sia: 'PA' } });
    const burglary2 = sampleEvent({ siteId: 'site-d' });
    await env.addGateway('site-b', 'gw-b');
    await env.addGateway('site-c', 'gw-c');
    await env.addGateway('site-d', 'gw-d');
    for (const event of [technical, safety, burglary, panic, burglary2])
      await storeEvent(env.central.pool, event, 'mqtt');
    const queue = (await openAlarmQueue(env.central.pool)).alarms;
    t.deepEqual(
      queue.map((a) => a.eventId),
      [panic.id, burglary.id, burglary2.id, safety.id, technical.id],
      'a panic above an older burglary; security, safety, technical',
    );
  },
);

test.serial(
  'alarms of one site while its incident is open join it: one row, every event in its timeline',
  async (t) => {
    const pool = env.central.pool;
    await pool.query('UPDATE alarms SET status = $1', ['closed']);
    const hall = sampleEvent({ zone: 2 });
    const landing = sampleEvent({ zone: 3, device: { id: 'landing-pir', name: 'Landing PIR' } });
    const panic = sampleEvent({ eventType: 'panic', code: { cid: '120', sia: 'PA' }, zone: 9 });
    const first = await storeEvent(pool, hall, 'mqtt');
    const second = await storeEvent(pool, landing, 'mqtt');
    const third = await storeEvent(pool, panic, 'mqtt');
    t.like(first, { kind: 'stored', incident: { joined: false } });
    t.like(second, { kind: 'stored', incident: { joined: true } });
    const id = first.kind === 'stored' ? first.incident!.id : '';
    t.is(second.kind === 'stored' ? second.incident!.id : '', id);
    t.is(third.kind === 'stored' ? third.incident!.id : '', id);
    const queue = (await openAlarmQueue(pool)).alarms;
    t.is(queue.length, 1, 'one row in the queue');
    t.like(queue[0], { alarmId: id, events: 3 });
    t.true(
      queue[0]!.rank < (await pool.query('SELECT rank FROM alarms WHERE id = $1', [id])).rows[0].rank + 1,
    );
    const { rows } = await pool.query(
      'SELECT id FROM events WHERE alarm_id = $1 ORDER BY occurred_at, received_at',
      [id],
    );
    t.deepEqual(
      rows.map((r) => r.id),
      [hall.id, landing.id, panic.id],
    );
    const fire = sampleEvent({
      eventType: 'smoke',
      code: { cid: '111', sia: 'FA' },
      class: 'safety',
      priority: 2,
    });
    const other = await storeEvent(pool, fire, 'mqtt');
    t.not(
      other.kind === 'stored' ? other.incident!.id : id,
      id,
      'a fire is an incident of its own (another merge group)',
    );
  },
);

test.serial(
  'a restore or verification stored before its alarm is applied when the alarm arrives',
  async (t) => {
    const pool = env.central.pool;
    await pool.query('UPDATE alarms SET status = $1', ['closed']);
    const alarm = sampleEvent({ seq: 10 });
    const restore = sampleEvent({
      seq: 12,
      qualifier: 'restore',
      code: { cid: '132', sia: 'BH' },
      relatesTo: alarm.id,
      occurredAt: '2026-11-21T10:02:00.000Z',
    });
    const verified = sampleEvent({
      seq: 11,
      eventType: 'alarm-verified',
      code: { cid: '139', sia: 'BV' },
      relatesTo: alarm.id,
      verification: { verified: true, rule: 'dual-zone', supportingEventIds: [] },
    });
    // The order a reconnect's resend can produce: the later events first.
    t.like(await storeEvent(pool, restore, 'mqtt'), { kind: 'stored', incident: null });
    t.like(await storeEvent(pool, verified, 'mqtt'), { kind: 'stored', incident: null });
    const result = await storeEvent(pool, alarm, 'mqtt');
    if (result.kind !== 'stored') return t.fail(result.kind);
    t.like(result.alarm, { eventId: alarm.id, restoredAt: '2026-11-21T10:02:00.000Z', verified: true });
    t.deepEqual(
      result.lateArrivals?.map((e) => e.id),
      [verified.id, restore.id],
      'told on, in sequence order',
    );
    const { rows } = await pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM events WHERE alarm_id = $1',
      [result.incident?.id],
    );
    t.is(rows[0]?.n, 3, 'all three belong to the incident');
  },
);

test.serial('a verification update marks its alarm verified once', async (t) => {
  const pool = env.central.pool;
  await pool.query('UPDATE alarms SET status = $1', ['closed']);
  const first = sampleEvent();
  await storeEvent(pool, first, 'mqtt');
  const update = sampleEvent({
    eventType: 'alarm-verified',
    code: { cid: '139', sia: 'BV' },
    relatesTo: first.id,
    verification: { verified: true, rule: 'dual-zone', supportingEventIds: [sampleEvent().id] },
  });
  const result = await storeEvent(pool, update, 'mqtt');
  t.like(result.kind === 'stored' ? result.alarm : null, {
    eventId: first.id,
    verified: true,
    verificationRule: 'dual-zone',
  });
  const again = sampleEvent({
    ...update,
    id: sampleEvent().id,
    verification: { ...update.verification, rule: 'camera' },
  });
  t.like(
    await storeEvent(pool, again, 'mqtt'),
    { kind: 'stored', alarm: null },
    'already verified: no change',
  );
  const { rows } = await pool.query('SELECT count(*)::int AS n FROM alarms WHERE event_id = $1', [update.id]);
  t.is(rows[0].n, 0, 'a verification opens no alarm of its own');
});

test.serial(
  "a correct arming joins its exit error's incident; closing it is the engine's decision, by area",
  async (t) => {
    const pool = env.central.pool;
    await pool.query('UPDATE alarms SET status = $1', ['closed']);
    const exitError = sampleEvent({
      eventType: 'exit-error',
      code: { cid: '374', sia: 'EA' },
      class: 'schedule',
      priority: 4,
    });
    const stored = await storeEvent(pool, exitError, 'mqtt');
    const closing = sampleEvent({
      eventType: 'opening-closing',
      qualifier: 'restore',
      code: { cid: '401', sia: 'CL' },
      class: 'schedule',
      priority: 4,
      device: null,
      relatesTo: exitError.id,
    });
    const resolved = await storeEvent(pool, closing, 'mqtt');
    t.like(resolved, {
      kind: 'stored',
      incident: { id: stored.kind === 'stored' ? stored.incident!.id : '' },
    });
    const { rows } = await pool.query<{ status: string }>('SELECT status FROM alarms WHERE id = $1', [
      stored.kind === 'stored' ? stored.incident!.id : '',
    ]);
    t.is(rows[0]!.status, 'open', 'the store closes nothing by itself');
  },
);

test.serial(
  'login: wrong passwords lock the account after five tries, every attempt is audited',
  async (t) => {
    const pool = env.central.pool;
    const ok = await login(pool, OPERATOR.username, OPERATOR.password, '127.0.0.1');
    t.true(ok.ok);
    if (ok.ok) t.like(await operatorForSession(pool, ok.token), { username: OPERATOR.username });
    t.is(await operatorForSession(pool, 'forged-token'), null);

    for (let i = 1; i <= 4; i++)
      t.deepEqual(await login(pool, OPERATOR.username, 'guess', '10.0.0.9'), {
        ok: false,
        reason: 'invalid',
      });
    t.deepEqual(await login(pool, OPERATOR.username, 'guess', '10.0.0.9'), { ok: false, reason: 'locked' });
    t.deepEqual(await login(pool, OPERATOR.username, OPERATOR.password, '10.0.0.9'), {
      ok: false,
      reason: 'locked',
    });
    t.deepEqual(await login(pool, 'mallory', 'x', '10.0.0.9'), { ok: false, reason: 'invalid' });

    const { rows } = await pool.query<{ action: string; n: number }>(
      `SELECT action, count(*)::int AS n FROM audit_log WHERE action LIKE 'login.%' GROUP BY action ORDER BY action`,
    );
    t.deepEqual(rows, [
      { action: 'login.failed', n: 6 },
      { action: 'login.ok', n: 1 },
      { action: 'login.refused', n: 1 },
    ]);
    await pool.query('DELETE FROM secret_lockouts');
  },
);

test.serial('the audit trail cannot be changed or deleted', async (t) => {
  await t.throwsAsync(env.central.pool.query(`UPDATE audit_log SET actor = 'x'`), { message: /append-only/ });
  await t.throwsAsync(env.central.pool.query('DELETE FROM audit_log'), { message: /append-only/ });
});

test('more alarms at once than the pool has connections: each store keeps to its own connection (no deadlock)', async (t) => {
  const url = (env.central.pool as unknown as { options: { connectionString: string } }).options
    .connectionString;
  const small = new pg.Pool({ connectionString: url, max: 2 });
  t.teardown(() => small.end());
  const events = [];
  for (let i = 0; i < 12; i++) {
    await env.addGateway(`site-busy${i}`, `gw-busy${i}`);
    events.push(sampleEvent({ siteId: `site-busy${i}`, gatewayId: `gw-busy${i}` }));
  }
  // Each holds a connection until its commit; announcing on a second one from the same pool waited forever.
  const results = await Promise.all([...events, ...events].map((e) => storeEvent(small, e, 'mqtt')));
  t.is(results.filter((r) => r.kind === 'stored').length, 12);
  t.is(results.filter((r) => r.kind === 'duplicate').length, 12);
});

/** The test central's database, for connections of a test's own (another node's feed, a lock check). */
const databaseUrl = () =>
  (env.central.pool as unknown as { options: { connectionString: string } }).options.connectionString;

test.serial(
  'the storing node’s feed hears an alarm once, before the store returns; another node’s through NOTIFY',
  async (t) => {
    const connect = () => new pg.Client({ connectionString: databaseUrl() });
    const metrics = new Metrics();
    const here = new AlarmFeed(connect, silentLogger, metrics);
    const there = new AlarmFeed(connect, silentLogger, metrics);
    await here.start();
    await there.start();
    t.teardown(async () => {
      await here.stop();
      await there.stop();
    });
    const heardHere: string[] = [];
    const heardThere: string[] = [];
    here.subscribe((alarm) => heardHere.push(alarm.eventId));
    there.subscribe((alarm) => heardThere.push(alarm.eventId));
    const event = sampleEvent({ siteId: 'site-a', gatewayId: 'gw-a' });
    const stored = await storeEvent(env.central.pool, event, 'mqtt', { feed: here });
    t.is(stored.kind, 'stored');
    t.deepEqual(heardHere, [event.id], 'told directly, not after a round trip through the database');
    await eventually(() => heardThere.includes(event.id), 'the other node hears it');
    // A NOTIFY sent after the store's own reaches both feeds after it: by then its echo was skipped.
    await env.central.pool.query('SELECT pg_notify($1, $2)', [
      ALARM_CHANNEL,
      JSON.stringify({ eventId: 'marker' }),
    ]);
    await eventually(() => heardHere.includes('marker'), 'the marker');
    t.deepEqual(heardHere, [event.id, 'marker']);
    // One nobody can read is counted and dropped; the feed goes on with the next.
    await env.central.pool.query(`SELECT pg_notify($1, 'origin\n{not json'), pg_notify($1, $2)`, [
      ALARM_CHANNEL,
      JSON.stringify({ eventId: 'after' }),
    ]);
    await eventually(
      () => heardHere.includes('after') && heardThere.includes('after'),
      'the notification after it',
    );
    t.is(metrics.get('feed_notifications_unreadable_total'), 2, 'once on each node');
  },
);

test.serial('a store that fails gives the site’s lock back: the site’s next alarm is stored', async (t) => {
  const bad = sampleEvent({ siteId: 'site-a', gatewayId: 'gw-a', occurredAt: 'not a time' });
  await t.throwsAsync(storeEvent(env.central.pool, bad, 'mqtt'));
  const other = new pg.Client({ connectionString: databaseUrl() });
  await other.connect();
  t.teardown(() => other.end());
  const free = await other.query('SELECT pg_try_advisory_xact_lock($1) AS free', [siteLock('site-a')]);
  t.true(free.rows[0].free, 'no connection of the pool holds the site lock');
  const next = sampleEvent({ siteId: 'site-a', gatewayId: 'gw-a' });
  t.is((await storeEvent(env.central.pool, next, 'mqtt')).kind, 'stored');
});
