import test from 'ava';
import { LogEventBatch } from '../central/ingest/log-batch.ts';
import { centralEvent } from '../central/supervision/central-event.ts';
import { Metrics } from '../lib/metrics.ts';
import { startTestCentral, type TestCentral } from './helpers/central.ts';

let env: TestCentral;
test.before(async () => {
  env = await startTestCentral();
  for (const i of [1, 2, 3]) await env.addGateway(`site-lb${i}`, `gw-lb${i}`);
});
test.after.always(() => env?.stop());

const bypass = (i: number, seq: number) => ({
  ...centralEvent(
    'zone-bypass',
    'event',
    { siteId: `site-lb${i}`, gatewayId: `gw-lb${i}` },
    Date.now(),
    null,
    'bypass',
  ),
  seq,
});

test.serial(
  'plain log events of many gateways go in one commit; each is answered after it, duplicates as such',
  async (t) => {
    const metrics = new Metrics();
    const batch = new LogEventBatch({ pool: env.central.pool, metrics, lingerMs: 20 });
    const events = [bypass(1, 1), bypass(2, 1), bypass(3, 1)];
    const results = await Promise.all(events.map((e) => batch.store(e, 'mqtt')));
    t.deepEqual(
      results.map((r) => r.kind),
      ['stored', 'stored', 'stored'],
    );
    t.is(metrics.get('ingest_log_batches_total'), 1, 'one statement for the three');
    const { rows } = await env.central.pool.query(
      `SELECT count(*)::int AS n FROM events WHERE id = ANY($1)`,
      [events.map((e) => e.id)],
    );
    t.is(rows[0].n, 3);
    // Sent again (the ack was lost), and the same id from another gateway.
    const again = await Promise.all([
      batch.store(events[0]!, 'mqtt'),
      batch.store({ ...events[1]!, siteId: 'site-lb3', gatewayId: 'gw-lb3' }, 'mqtt'),
    ]);
    t.deepEqual(again, [
      { kind: 'duplicate' },
      { kind: 'rejected', reason: 'event id already used by another gateway' },
    ]);
  },
);

test.serial('a batch the database refuses is stored event by event: only the bad one fails', async (t) => {
  const metrics = new Metrics();
  const batch = new LogEventBatch({ pool: env.central.pool, metrics, lingerMs: 20 });
  const good = bypass(1, 2);
  const bad = { ...bypass(2, 2), zone: 2 ** 40 };
  const [ok, refused] = await Promise.allSettled([batch.store(good, 'mqtt'), batch.store(bad, 'mqtt')]);
  t.like(ok, { status: 'fulfilled', value: { kind: 'stored' } });
  t.is(refused.status, 'rejected');
  t.regex(String((refused as PromiseRejectedResult).reason), /out of range/);
  t.is(metrics.get('ingest_log_batch_fallbacks_total'), 1);
});
