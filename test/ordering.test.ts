import test from 'ava';
import { encode } from '../protocols/messages.ts';
import { topicFor } from '../protocols/topics.ts';
import { connectAsGateway, eventually, startTestCentral } from './helpers/central.ts';
import { sampleEvent } from './helpers/events.ts';

test('events apply in sequence whatever order they arrive in: a restore that overtook its alarm closes the handling', async (t) => {
  const env = await startTestCentral();
  t.teardown(() => env.stop());
  const pool = env.central.pool;
  const gw = await connectAsGateway(env, 'site-order', 'gw-order');
  t.teardown(() => gw.endAsync(true));
  await env.central.procedures.reloadSite('site-order');
  const base = { siteId: 'site-order', gatewayId: 'gw-order', device: { id: 'pir', name: 'PIR' } };
  const loss = sampleEvent({
    ...base,
    seq: 1,
    eventType: 'device-supervision-loss',
    code: { cid: '381', sia: 'UT' },
    class: 'technical',
    priority: 3,
    occurredAt: new Date().toISOString(),
  });
  const restore = sampleEvent({
    ...base,
    seq: 2,
    eventType: 'device-supervision-loss',
    qualifier: 'restore',
    code: { cid: '381', sia: 'UJ' },
    class: 'technical',
    priority: 3,
    relatesTo: loss.id,
    occurredAt: new Date(Date.now() + 30_000).toISOString(),
  });
  // What MQTT.js does on reconnect: its in-flight message (the restore) goes out ahead of the resend.
  await gw.publishAsync(topicFor('site-order', 'gw-order', 'event'), encode(restore), { qos: 1 });
  await eventually(() => env.metrics.get('ingest_events_stored_total') === 1, 'the restore stored');
  await gw.publishAsync(topicFor('site-order', 'gw-order', 'event'), encode(loss), { qos: 1 });
  const closed = await eventually(async () => {
    const { rows } = await pool.query<{ status: string; close_reason: string | null; restored: boolean }>(
      `SELECT status, close_reason, restored_at IS NOT NULL AS restored FROM alarms a
        WHERE event_id = $1 AND status = 'closed'`,
      [loss.id],
    );
    return rows[0];
  }, 'the handling closed by the earlier restore');
  t.like(closed, { status: 'closed', restored: true });
  t.regex(closed.close_reason ?? '', /restored/);
});
