import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import pg from 'pg';
import { type FailoverCluster, startPgAutoFailover } from '../central/db/pg-auto-failover.ts';
import { databaseHosts } from '../central/db/target.ts';
import { PARTITIONS } from '../central/procedures/partitions.ts';
import { ensureTlsMaterial, tlsFiles } from '../central/tls/certificates.ts';
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
  const replication = cluster.superuserSql(first!.port, 'SELECT sync_state FROM pg_stat_replication').trim();
  t.true(['sync', 'quorum'].includes(replication), `one synchronous standby (${replication})`);
  await accessIsLocked(t, cluster);

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

/**
 * Nothing of the cluster is open on the network: no connection without TLS, none as the superuser,
 * none with a wrong password or to a server whose certificate another CA signed; the central's role
 * is no superuser, and no password reached the servers' statement logs.
 */
async function accessIsLocked(t: ExecutionContext, cluster: FailoverCluster): Promise<void> {
  const url = new URL(databaseHosts(cluster.url)[0]!.url);
  url.searchParams.delete('target_session_attrs');
  const refusal = async (change: (u: URL) => void) => {
    const attempt = new URL(url);
    change(attempt);
    const client = new pg.Client({ connectionString: attempt.toString(), connectionTimeoutMillis: 5000 });
    try {
      await client.connect();
      await client.end();
      return 'connected';
    } catch (error) {
      return (error as Error).message;
    }
  };
  t.regex(
    await refusal((u) => u.searchParams.set('sslmode', 'disable')),
    /no pg_hba.conf entry.*no encryption/,
  );
  t.regex(
    await refusal((u) => {
      u.username = 'postgres';
      u.password = '';
    }),
    /no pg_hba.conf entry for host "127.0.0.1", user "postgres"/,
  );
  t.regex(await refusal((u) => (u.password = 'guessed')), /password authentication failed for user "vigil"/);
  const dataDir = path.dirname(path.dirname(cluster.caFile));
  const otherCa = path.join(dataDir, 'other-ca');
  await ensureTlsMaterial(otherCa, []);
  t.regex(
    await refusal((u) => u.searchParams.set('sslrootcert', tlsFiles(otherCa).ca)),
    /certificate|self.signed/i,
    'a server whose certificate another CA signed is refused',
  );
  const monitor = new URL(cluster.monitorUrl);
  monitor.password = '';
  const client = new pg.Client({ connectionString: monitor.toString(), connectionTimeoutMillis: 5000 });
  t.regex(
    await client.connect().then(
      () => 'connected',
      (error: Error) => error.message,
    ),
    /password|SASL/i,
    'the monitor wants a password',
  );
  await client.end().catch(() => undefined);

  const central = new pg.Client({ connectionString: url.toString() });
  await central.connect();
  const { rows } = await central.query<{ rolsuper: boolean; ssl: boolean }>(
    'SELECT rolsuper, (SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()) AS ssl FROM pg_roles WHERE rolname = current_user',
  );
  await central.end();
  t.deepEqual(rows, [{ rolsuper: false, ssl: true }], 'the central is no superuser, over TLS');

  // The monitor logs every DDL statement (pg_auto_failover's log_statement = ddl), ALTER ROLE too.
  const secrets = [url.password, new URL(cluster.monitorUrl).password];
  const logDir = path.join(dataDir, 'monitor', 'log');
  const log = readdirSync(logDir)
    .map((f) => readFileSync(path.join(logDir, f), 'utf8'))
    .join('');
  t.true(log.includes('ALTER ROLE autoctl_node PASSWORD'), 'the monitor logged the password change');
  t.false(
    secrets.some((secret) => log.includes(secret)),
    "no password in the monitor's log",
  );
}
