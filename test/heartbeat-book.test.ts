import test from 'ava';
import type pg from 'pg';
import { HeartbeatBook } from '../central/ingest/heartbeat-book.ts';
import { silentLogger } from '../lib/logger.ts';
import { Metrics } from '../lib/metrics.ts';
import { startTestCentral, type TestCentral } from './helpers/central.ts';

let env: TestCentral;
test.before(async () => {
  env = await startTestCentral();
  for (const i of [1, 2, 3]) await env.addGateway(`site-hb${i}`, `gw-hb${i}`);
});
test.after.always(() => env?.stop());

test.serial(
  'heartbeats are kept in memory and written in one batch; a failed batch is written with the next',
  async (t) => {
    const pool = env.central.pool;
    let failNext = false;
    let statements = 0;
    // The database as the book sees it: one write refused, as a failover would.
    const flaky = {
      query: (text: string, values: unknown[]) => {
        statements++;
        if (failNext) {
          failNext = false;
          return Promise.reject(new Error('connection terminated'));
        }
        return pool.query(text, values);
      },
    } as unknown as pg.Pool;
    const metrics = new Metrics();
    const book = new HeartbeatBook({ pool: flaky, logger: silentLogger, metrics });
    // A gateway's first heartbeat says something new: written at once.
    for (const i of [1, 2, 3]) book.heartbeat(`site-hb${i}`, `gw-hb${i}`, { seq: 0 });
    await book.flush();
    const first = await pool.query(
      `SELECT count(*)::int AS n FROM gateways WHERE id LIKE 'gw-hb%' AND (last_heartbeat->>'seq')::int = 0`,
    );
    t.is(first.rows[0].n, 3);
    // Repeats wait for the batch.
    statements = 0;
    for (const i of [1, 2, 3]) book.heartbeat(`site-hb${i}`, `gw-hb${i}`, { seq: i });
    book.heartbeat('site-hb1', 'gw-hb1', { seq: 4 });
    book.heard('gw-hb2', 'backup');
    book.heard('gw-unknown', 'backup');
    t.is(statements, 0, 'nothing written until the batch');

    failNext = true;
    await book.flush();
    const before = await pool.query(
      `SELECT count(*)::int AS n FROM gateways WHERE id LIKE 'gw-hb%' AND (last_heartbeat->>'seq')::int > 0`,
    );
    t.is(before.rows[0].n, 0, 'nothing written by the failed batch');
    t.is(metrics.get('heartbeat_batch_errors_total'), 1);

    statements = 0;
    await book.flush();
    t.is(statements, 2, 'one statement for the gateways, one for the paths');
    const { rows } = await pool.query<{ id: string; online: boolean; seq: number }>(
      `SELECT id, online, (last_heartbeat->>'seq')::int AS seq FROM gateways WHERE id LIKE 'gw-hb%' ORDER BY id`,
    );
    t.deepEqual(rows, [
      { id: 'gw-hb1', online: true, seq: 4 },
      { id: 'gw-hb2', online: true, seq: 2 },
      { id: 'gw-hb3', online: true, seq: 3 },
    ]);
    const { rows: paths } = await pool.query(
      `SELECT gateway_id, path FROM path_status WHERE gateway_id LIKE 'gw-hb%' OR gateway_id = 'gw-unknown' ORDER BY 1, 2`,
    );
    t.deepEqual(
      paths.map((p) => `${p.gateway_id}/${p.path}`),
      ['gw-hb1/primary', 'gw-hb2/backup', 'gw-hb2/primary', 'gw-hb3/primary'],
      'a path of a gateway the central does not know is not written (and does not fail the batch)',
    );
    statements = 0;
    await book.flush();
    t.is(statements, 0, 'nothing new, nothing written');
  },
);

test.serial(
  'a gateway that went offline after its last heartbeat stays offline when the batch is written',
  async (t) => {
    const pool = env.central.pool;
    const book = new HeartbeatBook({ pool, logger: silentLogger, metrics: new Metrics() });
    book.heartbeat('site-hb3', 'gw-hb3', { seq: 9 });
    // Its last will, handled at once by the ingest, before the batch goes out.
    await pool.query(
      `UPDATE gateways SET online = false, last_seen_at = now() + interval '1 second' WHERE id = 'gw-hb3'`,
    );
    await book.flush();
    const { rows } = await pool.query(
      `SELECT online, (last_heartbeat->>'seq')::int AS seq FROM gateways WHERE id = 'gw-hb3'`,
    );
    t.deepEqual(rows[0], { online: false, seq: 9 });
  },
);
