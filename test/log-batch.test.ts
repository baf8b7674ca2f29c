import test from 'ava';
import { storeEvent } from '../central/ingest/event-store.ts';
import { LogEventBatch } from '../central/ingest/log-batch.ts';
import { centralEvent } from '../central/supervision/central-event.ts';
import { Metrics } from '../lib/metrics.ts';
import { encode } from '../protocols/messages.ts';
import { topicFor } from '../protocols/topics.ts';
import { connectAsGateway, eventually, startTestCentral, type TestCentral } from './helpers/central.ts';
import { sampleEvent } from './helpers/events.ts';

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

test.serial('a batched event\u2019s row holds what a single store writes', async (t) => {
  const batch = new LogEventBatch({ pool: env.central.pool, metrics: new Metrics(), lingerMs: 1 });
  const batched = {
    ...bypass(1, 10),
    device: { id: 'pir-1', name: 'Hall \u00e9 "PIR"' },
    zone: 4,
    area: 2,
    text: 'bypassed by \u2019installer\u2019',
  };
  const single = { ...batched, id: crypto.randomUUID() };
  // Stored as the gateway wrote it: keys in another order, spaced out, numbers as 10.0 and 4e0.
  const asWritten = { ...batched, id: crypto.randomUUID() };
  const entries = Object.entries(asWritten).reverse();
  const text = `{ ${entries.map(([k, v]) => `"${k}" : ${JSON.stringify(v)}`).join(',\n ')} }`
    .replace('"seq" : 10', '"seq" : 10.0')
    .replace('"zone" : 4', '"zone" : 4e0');
  t.like(await batch.store(batched, 'mqtt'), { kind: 'stored' });
  t.like(await batch.store(asWritten, 'mqtt', text), { kind: 'stored' });
  t.like(await storeEvent(env.central.pool, single, 'mqtt'), { kind: 'stored' });
  const { rows } = await env.central.pool.query(
    `SELECT to_jsonb(e) - 'id' - 'received_at' - 'payload' AS columns, payload - 'id' AS payload
       FROM events e WHERE id = ANY($1) ORDER BY id = $2`,
    [[batched.id, asWritten.id, single.id], single.id],
  );
  t.is(rows.length, 3);
  t.deepEqual(rows[0].columns, rows[2].columns);
  t.deepEqual(rows[1].columns, rows[2].columns);
  t.deepEqual(rows[0].payload, rows[2].payload);
  t.deepEqual({ ...rows[1].payload, seq: 10, zone: 4 }, rows[2].payload, 'the payload as written');
});

test.serial(
  'one gateway\u2019s backlog of log events fills batches; an alarm behind it is stored after them; no false sequence trouble',
  async (t) => {
    const siteId = 'site-lb-pipe';
    const gatewayId = 'gw-lb-pipe';
    const client = await connectAsGateway(env, siteId, gatewayId);
    t.teardown(() => client.endAsync());
    await client.subscribeAsync(topicFor(siteId, gatewayId, 'ack'), { qos: 1 });
    const acked = new Set<string>();
    client.on('message', (_topic, payload) => {
      for (const id of (JSON.parse(payload.toString()) as { eventIds: string[] }).eventIds) acked.add(id);
    });
    const batchesBefore = env.metrics.get('ingest_log_batches_total');
    const logs = Array.from({ length: 200 }, (_, i) => ({
      ...centralEvent('zone-bypass', 'event', { siteId, gatewayId }, Date.now(), null, `bypass ${i}`),
      seq: i + 1,
    }));
    const alarm = sampleEvent({ siteId, gatewayId, seq: 201 });
    await Promise.all(
      [...logs, alarm].map((e) =>
        client.publishAsync(topicFor(siteId, gatewayId, 'event'), encode(e), { qos: 1 }),
      ),
    );
    await eventually(async () => acked.size === 201 || undefined, 'all 201 acked');
    const batches = env.metrics.get('ingest_log_batches_total') - batchesBefore;
    t.true(batches < 200 / 4, `${batches} statements for 200 log events of one gateway`);
    const { rows } = await env.central.pool.query(
      `SELECT count(*)::int AS logs, max(received_at) < (SELECT received_at FROM events WHERE id = $2) AS before
         FROM events WHERE gateway_id = $1 AND event_type = 'zone-bypass'`,
      [gatewayId, alarm.id],
    );
    t.deepEqual(rows[0], { logs: 200, before: true });
    t.is(env.metrics.get('ingest_sequence_troubles_total', { kind: 'reused' }), 0);
  },
);
