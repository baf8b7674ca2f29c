import test from 'ava';
import { openAlarmQueue } from '../central/alarms.ts';
import { login, operatorForSession } from '../central/auth/operator-auth.ts';
import { migrate } from '../central/db/migrate.ts';
import { storeEvent } from '../central/ingest/event-store.ts';
import { silentLogger } from '../lib/logger.ts';
import { OPERATOR, startTestCentral, type TestCentral } from './helpers/central.ts';
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
  t.deepEqual(await storeEvent(env.central.pool, test602, 'mqtt'), { kind: 'stored', alarm: null });
});

test.serial('the queue orders by priority, then by age', async (t) => {
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
  const security1 = sampleEvent();
  const security2 = sampleEvent({ eventType: 'panic', code: { cid: '120', sia: 'PA' } });
  for (const event of [technical, safety, security1, security2])
    await storeEvent(env.central.pool, event, 'mqtt');
  const queue = await openAlarmQueue(env.central.pool);
  t.deepEqual(
    queue.map((a) => a.eventId),
    [security1.id, security2.id, safety.id, technical.id],
  );
});

test.serial('a verification update marks its alarm verified once', async (t) => {
  const pool = env.central.pool;
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
  t.deepEqual(
    await storeEvent(pool, again, 'mqtt'),
    { kind: 'stored', alarm: null },
    'already verified: no change',
  );
  const { rows } = await pool.query('SELECT count(*)::int AS n FROM alarms WHERE event_id = $1', [update.id]);
  t.is(rows[0].n, 0, 'a verification opens no alarm of its own');
});

test.serial(
  'a correct arming that names an exit error closes it; one naming anything else closes nothing',
  async (t) => {
    const pool = env.central.pool;
    const exitError = sampleEvent({ eventType: 'exit-error', code: { cid: '374', sia: 'EA' } });
    await storeEvent(pool, exitError, 'mqtt');
    const burglary = sampleEvent();
    await storeEvent(pool, burglary, 'mqtt');
    const closing = (relatesTo: string) =>
      sampleEvent({
        eventType: 'opening-closing',
        qualifier: 'restore',
        code: { cid: '401', sia: 'CL' },
        class: 'schedule',
        priority: 4,
        device: null,
        relatesTo,
      });
    const resolved = await storeEvent(pool, closing(exitError.id), 'mqtt');
    t.like(resolved.kind === 'stored' ? resolved.alarm : null, {
      eventId: exitError.id,
      status: 'closed',
      closeReason: 'resolved: correct arming followed',
    });
    await storeEvent(pool, closing(burglary.id), 'mqtt');
    const { rows } = await pool.query<{ status: string }>('SELECT status FROM alarms WHERE event_id = $1', [
      burglary.id,
    ]);
    t.is(rows[0]!.status, 'open', 'a burglary is always handled (SPEC §5)');
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
    await pool.query('UPDATE operators SET locked_until = NULL');
  },
);

test.serial('the audit trail cannot be changed or deleted', async (t) => {
  await t.throwsAsync(env.central.pool.query(`UPDATE audit_log SET actor = 'x'`), { message: /append-only/ });
  await t.throwsAsync(env.central.pool.query('DELETE FROM audit_log'), { message: /append-only/ });
});
