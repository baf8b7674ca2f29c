import test from 'ava';
import { upsertDc09Account } from '../central/dc09/accounts.ts';
import { upsertSite } from '../central/records.ts';
import { superviseOnce } from '../central/supervision/path-supervisor.ts';
import { silentLogger } from '../lib/logger.ts';
import { Metrics } from '../lib/metrics.ts';
import { startTestCentral, type TestCentral } from './helpers/central.ts';

let env: TestCentral;
test.before(async () => {
  // The tests run the passes themselves at chosen times: the central's own timer stays out of the way
  // (a pass of its own beside one of theirs raised the same failure twice).
  env = await startTestCentral({ supervisionIntervalMs: 24 * 3_600_000 });
});
test.after.always(() => env?.stop());

const MIN = 60_000;

async function heardAt(gatewayId: string, path: 'primary' | 'backup', at: number) {
  await env.central.pool.query(
    `INSERT INTO path_status (gateway_id, path, last_heard_at) VALUES ($1, $2, $3)
     ON CONFLICT (gateway_id, path) DO UPDATE SET last_heard_at = EXCLUDED.last_heard_at`,
    [gatewayId, path, new Date(at)],
  );
}

async function events(gatewayId: string) {
  const { rows } = await env.central.pool.query<{
    event_type: string;
    qualifier: string;
    relates_to: string | null;
    id: string;
  }>(
    `SELECT id, event_type, qualifier, relates_to FROM events WHERE gateway_id = $1 ORDER BY received_at, id`,
    [gatewayId],
  );
  return rows;
}

const run = (now: number) => superviseOnce(env.central.pool, now, silentLogger, new Metrics());

test.serial(
  'DP4: one path silent is a path failure; both silent is all paths; restores name their failures',
  async (t) => {
    await env.addGateway('site-dp4', 'gw-dp4');
    await env.central.pool.query(`UPDATE sites SET ats_category = 'DP4' WHERE id = 'site-dp4'`);
    const t0 = Date.UTC(2026, 10, 21, 12, 0, 0);
    await heardAt('gw-dp4', 'primary', t0);
    await heardAt('gw-dp4', 'backup', t0);

    // The limit and its grace (10%: 9 s) may pass in silence; a heartbeat at the limit is no failure.
    t.is(await run(t0 + 99_000), 0, 'exactly 90 s + 9 s of silence is still allowed');
    t.is(await run(t0 + 100_000), 1);
    let log = await events('gw-dp4');
    t.deepEqual(
      log.map((e) => `${e.event_type}:${e.qualifier}`),
      ['path-failure:event'],
    );
    t.is(await run(t0 + 105_000), 0, 'reported once');

    t.is(await run(t0 + 5 * 60 * MIN + 61_000), 2, 'the backup path (5 h + 60 s) fails too: all paths');
    log = await events('gw-dp4');
    t.deepEqual(
      log.map((e) => `${e.event_type}:${e.qualifier}`),
      ['path-failure:event', 'path-failure:event', 'all-paths-failure:event'],
    );

    await heardAt('gw-dp4', 'primary', t0 + 5 * 60 * MIN + 62_000);
    t.is(await run(t0 + 5 * 60 * MIN + 63_000), 2, 'primary back: its restore and the all-paths restore');
    log = await events('gw-dp4');
    const restores = log.filter((e) => e.qualifier === 'restore');
    t.deepEqual(restores.map((e) => e.event_type).sort(), ['all-paths-failure', 'path-failure']);
    t.is(
      restores.find((e) => e.event_type === 'path-failure')?.relates_to,
      log[0]!.id,
      'the restore names the primary failure',
    );
    t.is(restores.find((e) => e.event_type === 'all-paths-failure')?.relates_to, log[2]!.id);
    const open = await env.central.pool.query(
      `SELECT count(*)::int AS n FROM alarms a JOIN events e ON e.id = a.event_id AND e.received_at = a.event_received_at WHERE e.gateway_id = 'gw-dp4' AND a.restored_at IS NULL`,
    );
    t.is(open.rows[0].n, 1, 'only the backup path failure is still open');
  },
);

test.serial(
  'a single-path site (SP4 / third-party panel): losing its path is losing all paths',
  async (t) => {
    await env.addGateway('site-sp4', 'gw-sp4');
    await env.central.pool.query(`UPDATE sites SET ats_category = 'SP4' WHERE id = 'site-sp4'`);
    const t0 = Date.UTC(2026, 10, 21, 13, 0, 0);
    await heardAt('gw-sp4', 'primary', t0);
    await run(t0 + 3 * MIN + 19_000);
    t.deepEqual(
      (await events('gw-sp4')).map((e) => `${e.event_type}:${e.qualifier}`),
      ['all-paths-failure:event'],
    );
    await heardAt('gw-sp4', 'primary', t0 + 4 * MIN);
    await run(t0 + 4 * MIN + 1000);
    t.deepEqual(
      (await events('gw-sp4')).map((e) => `${e.event_type}:${e.qualifier}`),
      ['all-paths-failure:event', 'all-paths-failure:restore'],
    );
  },
);

test.serial('a site gets its category at provisioning; unknown categories are refused', async (t) => {
  await upsertSite(env.central.pool, { id: 'site-cat', name: 'Bank', atsCategory: 'DP4' }, 'test');
  const { rows } = await env.central.pool.query(`SELECT ats_category FROM sites WHERE id = 'site-cat'`);
  t.is(rows[0].ats_category, 'DP4');
  await t.throwsAsync(
    upsertSite(env.central.pool, { id: 'site-bad', name: 'X', atsCategory: 'DP9' }, 'test'),
    {
      message: /unknown EN 50136 category "DP9"/,
    },
  );
});

test.serial(
  'a DC-09 account is supervised at its own interval, from the moment it is set up, even if it never reports',
  async (t) => {
    const pool = env.central.pool;
    await upsertSite(pool, { id: 'site-panel', name: 'Panel site' }, 'test');
    await upsertDc09Account(
      pool,
      { account: '7A7A', prefix: '0', siteId: 'site-panel', supervisionSeconds: 600 },
      'test',
    );
    const { rows } = await pool.query<{ created: Date }>(
      `SELECT created_at AS created FROM dc09_accounts WHERE account = '7A7A'`,
    );
    const setUp = rows[0]!.created.getTime();
    await run(setUp + 5 * MIN);
    t.deepEqual(
      await events('panel-0-7a7a'),
      [],
      'within its 10 minutes (and 60 s of grace) nothing is raised',
    );
    await run(setUp + 11 * MIN + 1000);
    const raised = await events('panel-0-7a7a');
    t.deepEqual(
      raised.map((e) => [e.event_type, e.qualifier]),
      [['all-paths-failure', 'event']],
      'never heard since it was set up: its only path is lost',
    );
  },
);
