import test from 'ava';
import { storeEvent } from '../central/ingest/event-store.ts';
import { apiClient, loginCookie, startTestCentral } from './helpers/central.ts';
import { sampleEvent } from './helpers/events.ts';
import { SseClient } from './helpers/sse.ts';

test('the queue never hides the highest priority: paged by priority, with how many are beyond the page', async (t) => {
  const env = await startTestCentral();
  t.teardown(() => env.stop());
  const pool = env.central.pool;
  await env.addGateway('site-q', 'gw-q');
  const template = sampleEvent({ siteId: 'site-q', gatewayId: 'gw-q' });
  await storeEvent(pool, template, 'mqtt');
  // 1,200 more open burglary incidents, older than what comes next (made in bulk).
  await pool.query(
    `WITH r AS (
       INSERT INTO event_ids (id, gateway_id) SELECT gen_random_uuid(), 'gw-q' FROM generate_series(1, 1200)
       RETURNING id, received_at),
     e AS (
       INSERT INTO events (id, site_id, gateway_id, seq, event_type, qualifier, cid, sia, class, priority, device_id,
                           device_name, zone, area, verified, verification, text, occurred_at, recorded_at, via, payload,
                           received_at)
       SELECT r.id, site_id, gateway_id, seq + row_number() OVER (), event_type, qualifier, cid, sia, class, priority,
              device_id, device_name, zone, area, verified, verification, text, occurred_at, recorded_at, via, payload,
              r.received_at
         FROM events, r WHERE events.id = $1 RETURNING *)
     INSERT INTO alarms (event_id, event_received_at, site_id, class, priority, rank, opened_at, lead_event_type,
                         lead_cid, lead_sia, lead_zone, lead_area, lead_device_id, lead_device_name, lead_text,
                         lead_occurred_at)
     SELECT id, received_at, site_id, class, priority, (SELECT rank FROM alarms WHERE event_id = $1),
            now() - interval '1 hour', event_type, cid, sia, zone, area, device_id, device_name, text, occurred_at
       FROM e`,
    [template.id],
  );
  const holdup = sampleEvent({
    siteId: 'site-q',
    gatewayId: 'gw-q',
    eventType: 'holdup',
    code: { cid: '122', sia: 'HA' },
    zone: 77,
    occurredAt: new Date().toISOString(),
  });
  // A hold-up at another site, the newest of all: it must be on the first page.
  await env.addGateway('site-h', 'gw-h');
  await storeEvent(pool, { ...holdup, siteId: 'site-h', gatewayId: 'gw-h' }, 'mqtt');

  const api = apiClient(env.central.httpUrl, await loginCookie(env.central.httpUrl));
  const first = await api('GET', '/api/alarms');
  const page = first.body as {
    alarms: Array<{ alarmId: string; eventType: string }>;
    total: number;
    beyond: number;
    next: string | null;
  };
  t.is(page.total, 1202);
  t.is(page.alarms.length, 1000);
  t.is(page.beyond, 202, 'says how many are beyond the page');
  t.is(page.alarms[0]?.eventType, 'holdup', 'the newest hold-up heads the queue');
  const second = (await api('GET', `/api/alarms?after=${page.next}`)).body as typeof page;
  t.is(second.alarms.length, 202);
  t.is(second.beyond, 0);
  t.is(second.next, null);
  const ids = new Set([...page.alarms, ...second.alarms].map((a) => a.alarmId));
  t.is(ids.size, 1202, 'every open alarm once across the pages');
  t.is((await api('GET', '/api/alarms?limit=0')).status, 400);

  const feed = await SseClient.open(
    `${env.central.httpUrl}/api/alarms/stream`,
    await loginCookie(env.central.httpUrl),
  );
  t.teardown(() => feed.close());
  const queue = await feed.next((m) => m.event === 'queue');
  t.deepEqual(queue.data, { total: 1202, shown: 1000, beyond: 202 });
});
