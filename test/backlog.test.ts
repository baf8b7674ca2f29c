import test from 'ava';
import { drainBacklog } from './helpers/backlog.ts';
import { startTestCentral } from './helpers/central.ts';

test('a backlog drains with flow control: each event published about once, a new alarm stored within a second', async (t) => {
  const env = await startTestCentral();
  t.teardown(() => env.stop());
  const result = await drainBacklog(env, 'site-backlog', 2000);
  t.log(result);
  // Before flow control every unacked event went out again each ack timeout: republishes grew
  // with the square of the backlog.
  t.true(result.republished <= result.events * 0.05, `${result.republished} republished`);
  t.true(result.newAlarmMs < 1000, `new alarm after ${Math.round(result.newAlarmMs)} ms`);
  const { rows } = await env.central.pool.query<{ n: number; distinct: number }>(
    `SELECT count(*)::int AS n, count(DISTINCT seq)::int AS distinct FROM events WHERE gateway_id = 'site-backlog-gw'`,
  );
  t.deepEqual(
    { ...rows[0] },
    { n: result.events + 1, distinct: result.events + 1 },
    'backlog, panic, once each',
  );
});
