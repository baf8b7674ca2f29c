import test from 'ava';
import pg from 'pg';
import { startPgAutoFailover } from '../central/db/pg-auto-failover.ts';
import { databaseHosts } from '../central/db/target.ts';
import { PARTITIONS } from '../central/procedures/partitions.ts';
import { createLogger } from '../lib/logger.ts';
import {
  apiClient,
  eventually,
  loginCookie,
  startPanicGateways,
  startTestCentral,
  tempDir,
} from './helpers/central.ts';

test('a multi-host DATABASE_URL is split into one URL per server, without target_session_attrs', (t) => {
  t.deepEqual(
    databaseHosts(
      'postgres://vigil:s%40cret@db1:5432,db2:5433,[::1]/vigil?target_session_attrs=read-write&sslmode=require',
    ),
    [
      { host: 'db1', port: 5432, url: 'postgres://vigil:s%40cret@db1:5432/vigil?sslmode=require' },
      { host: 'db2', port: 5433, url: 'postgres://vigil:s%40cret@db2:5433/vigil?sslmode=require' },
      { host: '::1', port: 5432, url: 'postgres://vigil:s%40cret@[::1]/vigil?sslmode=require' },
    ],
  );
  t.deepEqual(databaseHosts('postgres://u@h/db').length, 1);
  t.throws(() => databaseHosts('postgres://u@h:99999/db'), { message: /bad port/ });
  t.throws(() => databaseHosts('mysql://h/db'), { message: /not a postgres/ });
});

test('PostgreSQL primary killed (-9) mid-burst: the synchronous standby is promoted, the central goes on there; every alarm stored once, none lost', async (t) => {
  // A monitor and two PostgreSQL servers to set up, then a failover: past ava's idle limit.
  t.timeout(300_000);
  const logger = createLogger('test-pg', process.env.VIGIL_LOG_LEVEL ?? 'silent');
  const cluster = await startPgAutoFailover({ dir: tempDir('pg-failover'), logger });
  t.teardown(() => cluster.stop());
  const [first, second] = cluster.nodes;
  // An acked commit is on two machines: the primary waits for its standby.
  const primary = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${first!.port}/vigil` });
  await primary.connect();
  const { rows: replication } = await primary.query<{ sync_state: string }>(
    'SELECT sync_state FROM pg_stat_replication',
  );
  await primary.end();
  t.true(
    replication.length === 1 && ['sync', 'quorum'].includes(replication[0]!.sync_state),
    `a synchronous standby (${JSON.stringify(replication)})`,
  );

  const env = await startTestCentral({ databaseUrl: cluster.url });
  t.teardown(() => env.stop());
  const GATEWAYS = 6;
  const ALARMS = 10;
  const gateways = await startPanicGateways(t, env, 'pf', GATEWAYS, { ackTimeoutSeconds: 2 });
  const stored = async () => {
    try {
      return (
        await env.central.pool.query<{ n: number; distinct: number }>(
          `SELECT count(*)::int AS n, count(DISTINCT id)::int AS distinct FROM events WHERE site_id LIKE 'site-pf%'`,
        )
      ).rows[0]!;
    } catch {
      return null; // the database is changing hands
    }
  };
  const total = GATEWAYS * ALARMS * 2;
  const burst = (async () => {
    for (let i = 0; i < ALARMS; i++) {
      for (const gw of gateways) {
        gw.gateway.simulatedBus!.inject('panic', 'alarm');
        gw.gateway.simulatedBus!.inject('panic', 'restore');
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
  await eventually(async () => ((await stored())?.n ?? 0) >= total / 4, 'the burst under way', 60_000);
  first!.kill();
  const killedAt = Date.now();
  await burst;
  await eventually(
    async () => ['primary', 'wait_primary'].includes((await cluster.states())[second!.name] ?? ''),
    'the standby promoted',
    90_000,
  );
  const promoted = Date.now() - killedAt;
  await eventually(
    async () => ((await stored())?.n ?? 0) >= total && gateways.every((gw) => gw.gateway.outbox.depth === 0),
    'every alarm stored and acked',
    120_000,
  );
  const recovered = Date.now() - killedAt;
  t.log(`standby promoted ${promoted} ms after the kill; every gateway's outbox empty after ${recovered} ms`);
  t.true(recovered < 60_000, 'the central resumed within a minute');
  t.deepEqual(await stored(), { n: total, distinct: total }, 'every event stored once');
  t.is(env.metrics.get('database_primary_lost_total') > 0, true, 'the central noticed the primary go');

  // The procedures' partitions were held on the old primary's connections: taken again on the new one.
  await eventually(
    () => env.central.procedures.ownedPartitions.length === PARTITIONS,
    'the procedure partitions taken again',
    30_000,
  );
  // Counted at the operator: each site's panics in one incident, shown once, with its next step.
  const api = apiClient(env.central.httpUrl, await loginCookie(env.central.httpUrl));
  const shown = await eventually(async () => {
    const { body } = await api('GET', '/api/alarms');
    const ours = (body.alarms as Array<{ siteId: string; proposal: unknown }>).filter((a) =>
      a.siteId.startsWith('site-pf'),
    );
    return ours.length === GATEWAYS && ours.every((a) => a.proposal) ? ours : null;
  }, "every site's incident with its next step");
  t.is(new Set(shown.map((a) => a.siteId)).size, GATEWAYS, 'no incident shown twice');
});
