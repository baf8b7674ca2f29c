import test from 'ava';
import { eventually, startTestCentral, startTestGateway } from './helpers/central.ts';
import { smallDisk } from './helpers/small-disk.ts';

test('a full card: no signal is lost, none is answered as durable, and the central is told', async (t) => {
  const env = await startTestCentral();
  t.teardown(() => env.stop());
  const disk = smallDisk(512);
  t.teardown(() => disk.unmount());
  const gw = await startTestGateway(
    env,
    'site-disk',
    'gw-disk',
    [{ id: 'door', name: 'Front door', type: 'contact' }],
    'away',
    {},
    disk.dir,
  );
  t.teardown(() => gw.stop());
  const pool = env.central.pool;
  const stored = async () =>
    (
      await pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM events WHERE site_id = 'site-disk' AND event_type <> 'system-trouble'`,
      )
    ).rows[0]!.n;

  disk.fill();
  const statuses: number[] = [];
  for (let i = 0; i < 30; i++) {
    const response = await fetch(`${gw.localApiUrl}/api/sim/devices/door/signals`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ kind: i % 2 === 0 ? 'alarm' : 'restore' }),
    });
    statuses.push(response.status);
    await response.body?.cancel();
  }
  t.true(statuses.includes(507), `held in memory is said: ${statuses.join(',')}`);
  t.false(statuses.slice(statuses.indexOf(507)).includes(202), 'no 202 while the card is full');
  const status = (await (await fetch(`${gw.localApiUrl}/api/status`)).json()) as { storage: string };
  t.regex(status.storage, /storage failing \(ENOSPC\)/);

  // Every event the gateway made of them, each sequence number once, is at the central.
  await gw.gateway.settled();
  await eventually(() => gw.gateway.outbox.depth === 0, 'the held events sent and acked', 20_000);
  const { rows: seqs } = await pool.query<{ n: number; distinct: number }>(
    `SELECT count(*)::int AS n, count(DISTINCT seq)::int AS distinct FROM events WHERE gateway_id = 'gw-disk'`,
  );
  t.deepEqual({ ...seqs[0] }, { n: gw.gateway.outbox.nextSeq, distinct: gw.gateway.outbox.nextSeq });
  t.true((await stored()) >= 30, 'one event per signal at least');
  const trouble = await eventually(async () => {
    const { rows } = await pool.query<{ qualifier: string; text: string }>(
      `SELECT qualifier, text FROM events WHERE site_id = 'site-disk' AND event_type = 'system-trouble' ORDER BY seq`,
    );
    return rows.length > 0 ? rows : null;
  }, 'the gateway trouble at the central');
  t.like(trouble[0], { qualifier: 'event' });
  t.regex(trouble[0]!.text, /storage failing/);

  disk.free();
  t.true(await gw.gateway.outbox.retryHeld());
  await eventually(async () => {
    const { rows } = await pool.query(
      `SELECT 1 FROM events WHERE site_id = 'site-disk' AND event_type = 'system-trouble' AND qualifier = 'restore'`,
    );
    return rows.length === 1;
  }, 'the trouble restored');
  t.is(gw.gateway.storageTrouble, null);
});
