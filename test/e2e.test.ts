import test from 'ava';
import mqtt from 'mqtt';
import { isPermanentStoreError } from '../central/ingest/event-store.ts';
import type { RunningGateway } from '../gateway/main.ts';
import { encode } from '../protocols/messages.ts';
import { gatewayClientId, topicFor } from '../protocols/topics.ts';
import {
  connectAsGateway,
  eventually,
  loginCookie,
  startTestCentral,
  startTestGateway,
  type TestCentral,
} from './helpers/central.ts';
import { sampleEvent } from './helpers/events.ts';
import { SseClient } from './helpers/sse.ts';

let env: TestCentral;
let gw: RunningGateway;
let cookie: string;

test.before(async () => {
  env = await startTestCentral();
  gw = await startTestGateway(
    env,
    'site-e2e',
    'gw-e2e',
    [
      { id: 'door', name: 'Shop door', type: 'contact' },
      { id: 'smoke', name: 'Stockroom smoke', type: 'smoke' },
    ],
    'away',
  );
  cookie = await loginCookie(env.central.httpUrl);
});

test.after.always(async () => {
  await gw?.stop();
  await env?.stop();
});

const count = async (sql: string, params: unknown[]) =>
  (await env.central.pool.query<{ n: number }>(sql, params)).rows[0]!.n;

test.serial(
  'an alarm from a simulated detector reaches the operator feed, is stored once, and its ack empties the outbox',
  async (t) => {
    const feed = await SseClient.open(`${env.central.httpUrl}/api/alarms/stream`, cookie);
    await feed.next((m) => m.event === 'snapshot');

    const response = await fetch(`${gw.localApiUrl}/api/sim/devices/door/signals`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ kind: 'alarm' }),
    });
    t.is(response.status, 202);

    const message = await feed.next(
      (m) => m.event === 'alarm' && (m.data as { siteId: string }).siteId === 'site-e2e',
    );
    const alarm = message.data as Record<string, unknown>;
    t.like(alarm, {
      siteId: 'site-e2e',
      eventType: 'burglary-perimeter',
      class: 'security',
      priority: 1,
      cid: '131',
      sia: 'BA',
      zone: 1,
      area: 1,
      deviceName: 'Shop door',
      status: 'open',
      verified: false,
    });
    await eventually(() => gw.gateway.outbox.depth === 0, 'the central ack to empty the outbox');
    t.is(await count('SELECT count(*)::int AS n FROM events WHERE id = $1', [alarm.eventId]), 1);
    t.is(await count('SELECT count(*)::int AS n FROM alarms WHERE event_id = $1', [alarm.eventId]), 1);

    const queue = (await (
      await fetch(`${env.central.httpUrl}/api/alarms`, { headers: { cookie } })
    ).json()) as {
      alarms: { eventId: string }[];
    };
    t.true(queue.alarms.some((a) => a.eventId === alarm.eventId));
    await feed.close();
  },
);

test.serial('a duplicate delivery is stored and shown once, and acked both times', async (t) => {
  const client = await connectAsGateway(env, 'site-dup', 'gw-dup');
  const acks: string[] = [];
  client.on('message', (_topic, payload) =>
    acks.push(...(JSON.parse(payload.toString()).eventIds as string[])),
  );
  await client.subscribeAsync(topicFor('site-dup', 'gw-dup', 'ack'), { qos: 1 });
  const feed = await SseClient.open(`${env.central.httpUrl}/api/alarms/stream`, cookie);
  await feed.next((m) => m.event === 'snapshot');

  const event = sampleEvent({ siteId: 'site-dup', gatewayId: 'gw-dup' });
  await client.publishAsync(topicFor('site-dup', 'gw-dup', 'event'), encode(event), { qos: 1 });
  await client.publishAsync(topicFor('site-dup', 'gw-dup', 'event'), encode(event), { qos: 1 });
  await eventually(() => acks.length === 2, 'two acks');
  t.deepEqual(acks, [event.id, event.id]);
  t.is(await count('SELECT count(*)::int AS n FROM events WHERE id = $1', [event.id]), 1);
  await env.central.ingest.idle();
  const shown = feed.messages.filter(
    (m) => m.event === 'alarm' && (m.data as { eventId: string }).eventId === event.id,
  );
  // The feed also carries updates of the alarm (its next step); it is one alarm, shown once.
  t.is(new Set(shown.map((m) => (m.data as { alarmId: string }).alarmId)).size, 1);
  t.is(await count('SELECT count(*)::int AS n FROM alarms WHERE event_id = $1', [event.id]), 1);
  t.is(env.metrics.get('ingest_events_duplicate_total'), 1);
  await feed.close();
  await client.endAsync();
});

test.serial('malformed and mismatched messages are refused, counted, and never become alarms', async (t) => {
  const client = await connectAsGateway(env, 'site-bad', 'gw-bad');
  const topic = topicFor('site-bad', 'gw-bad', 'event');
  await client.publishAsync(topic, Buffer.from('not json'), { qos: 1 });
  await client.publishAsync(topic, Buffer.from(JSON.stringify({ v: 1, type: 'event' })), { qos: 1 });
  await client.publishAsync(topic, encode(sampleEvent({ siteId: 'site-e2e', gatewayId: 'gw-e2e' })), {
    qos: 1,
  });
  await client.publishAsync(topicFor('site-bad', 'gw-bad', 'heartbeat'), Buffer.from('{}'), { qos: 1 });
  await eventually(() => env.metrics.total('ingest_rejected_total') >= 4, 'four rejections');
  t.is(env.metrics.get('ingest_rejected_total', { reason: 'invalid-event' }), 2);
  t.is(env.metrics.get('ingest_rejected_total', { reason: 'topic-mismatch' }), 1);
  t.is(env.metrics.get('ingest_rejected_total', { reason: 'invalid-heartbeat' }), 1);
  t.is(
    await count(
      `SELECT count(*)::int AS n FROM events WHERE site_id = 'site-bad' AND event_type <> 'message-rejected'`,
      [],
    ),
    0,
    'none of them is stored as an event',
  );
  t.is(await count(`SELECT count(*)::int AS n FROM rejected_messages WHERE site_id = 'site-bad'`, []), 3);
  await client.endAsync();
});

test.serial(
  'a poison message is kept as rejected and acked: the fire alarm behind it is not held up',
  async (t) => {
    const client = await connectAsGateway(env, 'site-poison', 'gw-poison');
    const acks: string[] = [];
    client.on('message', (_topic, payload) =>
      acks.push(...(JSON.parse(payload.toString()) as { eventIds: string[] }).eventIds),
    );
    await client.subscribeAsync(topicFor('site-poison', 'gw-poison', 'ack'), { qos: 1 });
    const topic = topicFor('site-poison', 'gw-poison', 'event');
    const at = { siteId: 'site-poison', gatewayId: 'gw-poison' };
    const nul = sampleEvent({ ...at, seq: 1, device: { id: 'pir', name: 'Hall\u0000PIR' } });
    const surrogate = sampleEvent({ ...at, seq: 2, text: 'broken \ud800 text' });
    const fire = sampleEvent({
      ...at,
      seq: 3,
      eventType: 'fire',
      code: { cid: '110', sia: 'FA' },
      class: 'safety',
      priority: 2,
    });
    for (const message of [nul, surrogate, fire])
      await client.publishAsync(topic, encode(message), { qos: 1 });
    await eventually(() => acks.length === 3, 'all three acked');
    t.deepEqual(acks, [nul.id, surrogate.id, fire.id]);
    t.is(
      await count(`SELECT count(*)::int AS n FROM events WHERE id = $1`, [fire.id]),
      1,
      'the fire alarm stored',
    );
    const { rows } = await env.central.pool.query<{ event_id: string; reason: string; payload: Buffer }>(
      `SELECT event_id::text, reason, payload FROM rejected_messages WHERE site_id = 'site-poison' ORDER BY id`,
    );
    t.deepEqual(
      rows.map((r) => [r.event_id, r.reason]),
      [
        [nul.id, 'invalid-event'],
        [surrogate.id, 'invalid-event'],
      ],
    );
    t.deepEqual(rows[0]?.payload, encode(nul), 'kept byte for byte');
    t.is(
      await count(
        `SELECT count(*)::int AS n FROM alarms a JOIN events e ON e.id = a.event_id AND e.received_at = a.event_received_at
        WHERE a.site_id = 'site-poison' AND e.event_type = 'message-rejected'`,
        [],
      ),
      1,
      'an operator is told, once for the burst',
    );
    await client.endAsync();
  },
);

test.serial(
  "the central derives an event's class, priority and codes from its type, not from the gateway",
  async (t) => {
    const client = await connectAsGateway(env, 'site-claims', 'gw-claims');
    const panic = sampleEvent({
      siteId: 'site-claims',
      gatewayId: 'gw-claims',
      eventType: 'panic',
      code: { cid: '110', sia: 'FA' },
      class: 'technical',
      priority: 9,
    });
    await client.publishAsync(topicFor('site-claims', 'gw-claims', 'event'), encode(panic), { qos: 1 });
    const { rows } = await eventually(async () => {
      const result = await env.central.pool.query<{
        class: string;
        priority: number;
        cid: string;
        sia: string;
      }>('SELECT class, priority, cid, sia FROM events WHERE id = $1', [panic.id]);
      return result.rows.length > 0 ? result : null;
    }, 'the panic stored');
    t.deepEqual({ ...rows[0] }, { class: 'security', priority: 1, cid: '120', sia: 'PA' });
    t.true(env.metrics.get('ingest_derived_total') >= 1);
    await client.endAsync();
  },
);

test.serial('a store error caused by the content is told apart from a lost database', async (t) => {
  const error = await t.throwsAsync(env.central.pool.query('SELECT $1::jsonb', ['{"a":"\\u0000"}']));
  t.true(isPermanentStoreError(error), String((error as { code?: string }).code));
  t.false(isPermanentStoreError(Object.assign(new Error('terminating connection'), { code: '57P01' })));
  t.false(isPermanentStoreError(new Error('connect ECONNREFUSED')));
});

test.serial('the broker refuses bad credentials, foreign topics and foreign subscriptions', async (t) => {
  const client = await connectAsGateway(env, 'site-acl', 'gw-acl');
  await t.throwsAsync(
    mqtt.connectAsync(env.central.mqttUrl, {
      username: 'gw-acl',
      password: 'wrong',
      clientId: 'x',
      reconnectPeriod: 0,
    }),
    { message: /Bad username or password|Not authorized/i },
  );
  t.true(env.metrics.get('broker_refused_total', { what: 'connect' }) >= 1);

  const refused = await t.throwsAsync<Error & { packet?: { granted?: number[] } }>(
    client.subscribeAsync(topicFor('site-e2e', 'gw-e2e', 'ack'), { qos: 1 }),
  );
  t.deepEqual(refused.packet?.granted, [128], 'subscribing to another gateway is refused');
  t.true(env.metrics.get('broker_refused_total', { what: 'subscribe' }) >= 1);
  const before = await count('SELECT count(*)::int AS n FROM events', []);
  // The broker drops a client that publishes outside its topics, so this publish never completes.
  void client
    .publishAsync(
      topicFor('site-e2e', 'gw-e2e', 'event'),
      encode(sampleEvent({ siteId: 'site-e2e', gatewayId: 'gw-e2e' })),
      {
        qos: 1,
      },
    )
    .catch(() => undefined);
  await eventually(
    () => env.metrics.get('broker_refused_total', { what: 'publish' }) >= 1,
    'the publish refusal',
  );
  t.is(await count('SELECT count(*)::int AS n FROM events', []), before);
  await client.endAsync(true);
});

test.serial(
  'a client id is bound to its gateway: valid credentials of one gateway cannot take over another',
  async (t) => {
    const victim = await connectAsGateway(env, 'site-victim', 'gw-victim');
    const secret = await env.addGateway('site-attacker', 'gw-attacker');
    let victimDropped = false;
    victim.on('close', () => {
      victimDropped = true;
    });
    const before = env.metrics.get('broker_refused_total', { what: 'connect' });
    const attempt = (clientId: string, username = 'gw-attacker', password = secret) =>
      mqtt
        .connectAsync(env.central.mqttUrl, { username, password, clientId, clean: false, reconnectPeriod: 0 })
        .then(
          (c) => c.endAsync().then(() => 'connected'),
          (error: Error) => error.message,
        );
    t.regex(await attempt(gatewayClientId('gw-victim')), /bad username or password/i);
    t.regex(await attempt('gw-site-victim-gw-victim'), /bad username or password/i, 'nor any other id');
    t.regex(await attempt('central-ingest-0000'), /bad username or password/i, "nor the central's");
    t.is(await attempt(gatewayClientId('gw-attacker')), 'connected', 'its own id works');
    t.is(env.metrics.get('broker_refused_total', { what: 'connect' }), before + 3);
    t.false(victimDropped, 'the victim was never disconnected');
    t.true(victim.connected);
    await victim.endAsync(true);
  },
);

test.serial('the operator API needs a session and validates its input', async (t) => {
  const url = env.central.httpUrl;
  t.is((await fetch(`${url}/api/alarms`)).status, 401);
  t.is((await fetch(`${url}/api/alarms/stream`)).status, 401);
  t.is((await fetch(`${url}/api/alarms`, { headers: { cookie: 'vigil_session=forged' } })).status, 401);
  const bad = await fetch(`${url}/api/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'alice' }),
  });
  t.is(bad.status, 400);
  const wrong = await fetch(`${url}/api/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'alice', password: 'nope' }),
  });
  t.is(wrong.status, 401);
  t.is((await fetch(`${url}/api/health`)).status, 200);
});
