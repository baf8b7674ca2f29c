import test from 'ava';
import pg from 'pg';
import { SupervisionLease } from '../central/supervision/lease.ts';
import { silentLogger } from '../lib/logger.ts';
import { Metrics } from '../lib/metrics.ts';
import { eventually, startTestCentral, type TestCentral } from './helpers/central.ts';

let env: TestCentral;
test.before(async () => {
  env = await startTestCentral();
});
test.after.always(() => env?.stop());

test('one node runs the supervision; when its connection dies, another takes over at its next pass', async (t) => {
  const pool = env.central.pool;
  const url = (pool as unknown as { options: { connectionString: string } }).options.connectionString;
  const connect = () => new pg.Client({ connectionString: url });
  const other = new SupervisionLease(connect, silentLogger, new Metrics());
  const third = new SupervisionLease(connect, silentLogger, new Metrics());
  t.teardown(async () => {
    await other.release();
    await third.release();
  });
  await env.central.superviseOnce(Date.now());
  t.false(await other.hold(), 'the central holds it');

  // The central's node dies as kill -9 would leave it: its session is gone, and its lock with it.
  const { rows } = await pool.query<{ pid: number }>(
    `SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objid = $1 AND granted`,
    [0x76_69_67_01],
  );
  t.is(rows.length, 1);
  await pool.query('SELECT pg_terminate_backend($1)', [rows[0]!.pid]);
  await eventually(() => other.hold(), 'the lease free for another node');
  t.true(await other.hold(), 'kept by its new holder');
  t.false(await third.hold(), 'never two at once');
  // The old holder's next pass finds it taken and skips the pass.
  await env.central.superviseOnce(Date.now());
  t.is(env.metrics.get('supervision_passes_skipped_total'), 1);
  await other.release();
  await eventually(() => third.hold(), 'taken by the next node when its holder stops');
});
