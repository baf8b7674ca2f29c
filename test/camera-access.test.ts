import test from 'ava';
import { upsertOperator } from '../central/records.ts';
import { centralEvent } from '../central/supervision/central-event.ts';
import { hashCode } from '../gateway/auth/user-codes.ts';
import type { RunningGateway } from '../gateway/main.ts';
import { MjpegParser } from '../hardware/camera/mjpeg.ts';
import { SimulatedCamera } from '../hardware/camera/simulated-camera.ts';
import { encode } from '../protocols/messages.ts';
import { topicFor } from '../protocols/topics.ts';
import {
  apiClient,
  connectAsGateway,
  eventually,
  loginCookie,
  startTestCentral,
  startTestGateway,
  type TestCentral,
} from './helpers/central.ts';

let env: TestCentral;
let gw: RunningGateway;
const camera = new SimulatedCamera();
let operator: ReturnType<typeof apiClient>;
let supervisor: ReturnType<typeof apiClient>;
let cookie: string;

test.before(async () => {
  env = await startTestCentral({ supervisionIntervalMs: 3_600_000 });
  const snapshotUrl = await camera.start();
  gw = await startTestGateway(
    env,
    'site-cam',
    'gw-cam',
    [{ id: 'door', name: 'Back door', type: 'contact' }],
    'away',
    {
      users: [{ id: 'ann', name: 'Ann', role: 'master', codeHash: await hashCode('2468'), areas: [1] }],
      cameras: [
        {
          id: 'garden',
          name: 'Garden',
          area: 1,
          snapshotUrl,
          streamUrl: snapshotUrl.replace('/snapshot', '/stream'),
        },
        { id: 'porch', name: 'Porch (no snapshot URL)', area: 1 },
      ],
    },
  );
  await upsertOperator(
    env.central.pool,
    { username: 'sam', displayName: 'Sam', password: 'supervisor secret 1', role: 'supervisor' },
    'test',
  );
  const url = env.central.httpUrl;
  cookie = await loginCookie(url);
  operator = apiClient(url, cookie);
  supervisor = apiClient(url, await loginCookie(url, 'sam', 'supervisor secret 1'));
});
test.after.always(async () => {
  await gw?.stop();
  await env?.stop();
  await camera.stop();
});

async function auditActions(siteId: string) {
  const { rows } = await env.central.pool.query<{ action: string; actor: string }>(
    `SELECT action, actor FROM audit_log WHERE subject = $1 AND action LIKE 'camera.%' ORDER BY id`,
    [siteId],
  );
  return rows.map((r) => `${r.action} by ${r.actor}`);
}

test.serial(
  'an operator sees the cameras of an alarm for 15 minutes from its start; every step is logged',
  async (t) => {
    await fetch(`${gw.localApiUrl}/api/sim/devices/door/signals`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ kind: 'alarm' }),
    });
    const alarm = await eventually(async () => {
      const { body } = await operator('GET', '/api/alarms');
      return body.alarms.find((a: { siteId: string }) => a.siteId === 'site-cam');
    }, 'the burglary alarm');

    t.is((await operator('POST', `/api/alarms/${alarm.alarmId}/camera-access`)).status, 409, 'claim first');
    t.is((await operator('POST', `/api/alarms/${alarm.alarmId}/claim`)).status, 200);
    const access = await operator('POST', `/api/alarms/${alarm.alarmId}/camera-access`);
    t.is(access.status, 200, JSON.stringify(access.body));
    t.deepEqual(
      access.body.cameras.map((c: { id: string; snapshot: boolean }) => [c.id, c.snapshot]),
      [
        ['garden', true],
        ['porch', false],
      ],
    );
    t.is(Date.parse(access.body.notAfter) - Date.parse(access.body.notBefore), 15 * 60_000);
    t.is(access.body.notBefore, new Date(alarm.occurredAt).toISOString(), 'the window starts at the event');
    t.is(
      (await operator('POST', `/api/alarms/${alarm.alarmId}/camera-access`)).body.grantId,
      access.body.grantId,
    );

    const shot = await operator('POST', `/api/alarms/${alarm.alarmId}/snapshots`, { cameraId: 'garden' });
    t.is(shot.status, 201, JSON.stringify(shot.body));
    t.is(camera.served, 1);
    const picture = await fetch(`${env.central.httpUrl}/api/media/${shot.body.mediaId}`, {
      headers: { cookie },
    });
    t.is(picture.status, 200);
    t.is(picture.headers.get('content-type'), 'image/png');
    t.is(picture.headers.get('x-content-type-options'), 'nosniff');
    t.is(picture.headers.get('content-security-policy'), "default-src 'none'");
    t.is(
      Buffer.from(await picture.arrayBuffer())
        .subarray(1, 4)
        .toString(),
      'PNG',
    );

    const porch = await operator('POST', `/api/alarms/${alarm.alarmId}/snapshots`, { cameraId: 'porch' });
    t.deepEqual(porch, { status: 502, body: { error: 'the gateway answered: refused: no-snapshot-camera' } });
    t.is(
      (await operator('POST', `/api/alarms/${alarm.alarmId}/snapshots`, { cameraId: 'attic' })).status,
      404,
    );
    t.is(
      (await apiClient(env.central.httpUrl, '')('POST', `/api/alarms/${alarm.alarmId}/camera-access`)).status,
      401,
    );

    const media = (await operator('GET', `/api/alarms/${alarm.alarmId}/media`)).body.media;
    t.is(media.length, 1);
    t.true(
      Math.abs(Date.parse(media[0].expiresAt) - (Date.now() + 60 * 86_400_000)) < 60_000,
      'kept 60 days',
    );

    t.deepEqual(await auditActions('site-cam'), [
      'camera.grant by operator:alice',
      'camera.snapshot by operator:alice',
      'camera.view by operator:alice',
      'camera.refused by operator:alice',
    ]);
    t.deepEqual(
      gw.gateway.cameraAccessLog.map((e) => [e.cameraId, e.granted, e.operator]),
      [
        ['porch', false, 'operator:alice'],
        ['garden', true, 'operator:alice'],
      ],
      'the gateway keeps its own log, newest first',
    );
    // The homeowner reads the same log on the gateway with the master code.
    const local = (code: string) =>
      fetch(`${gw.localApiUrl}/api/camera-access`, { headers: { 'x-vigil-code': code } });
    t.is((await local('0000')).status, 401);
    const seen = (await (await local('2468')).json()) as {
      accesses: Array<{ cameraId: string; granted: boolean }>;
    };
    t.deepEqual(
      seen.accesses.map((a) => [a.cameraId, a.granted]),
      [
        ['porch', false],
        ['garden', true],
      ],
    );
  },
);

test.serial(
  'live view: the camera’s own stream is relayed as MJPEG, frames kept once a second',
  async (t) => {
    const { rows } = await env.central.pool.query<{ alarm_id: string }>(
      `SELECT alarm_id::text FROM event_media WHERE site_id = 'site-cam' LIMIT 1`,
    );
    const alarmId = rows[0]!.alarm_id;
    const before = (await operator('GET', `/api/alarms/${alarmId}/media`)).body.media.length;
    const access = await operator('POST', `/api/alarms/${alarmId}/camera-access`);
    t.like(access.body.cameras[0], { id: 'garden', live: true });
    t.is((await operator('GET', `/api/alarms/${alarmId}/cameras/porch/live`)).status, 404, 'no stream there');

    const viewer = new AbortController();
    const response = await fetch(
      `${env.central.httpUrl}/api/alarms/${alarmId}/cameras/garden/live?seconds=60`,
      {
        headers: { cookie },
        signal: viewer.signal,
      },
    );
    t.is(response.headers.get('content-type'), 'multipart/x-mixed-replace; boundary=vigil-live-frame');
    const parser = new MjpegParser('vigil-live-frame');
    const frames = [];
    for await (const chunk of response.body!) {
      frames.push(...parser.push(Buffer.from(chunk)));
      if (frames.length >= 3) break;
    }
    viewer.abort();
    await eventually(
      () => camera.openStreams === 0,
      'the gateway to close the camera stream when the viewer leaves',
      5000,
    );
    t.true(frames.every((f) => f.contentType === 'image/png' && f.body.subarray(1, 4).toString() === 'PNG'));
    t.is(camera.streams, 1);
    const kept = await eventually(async () => {
      const media = (await operator('GET', `/api/alarms/${alarmId}/media`)).body.media;
      return media.length > before ? media : null;
    }, 'a kept frame');
    t.true(kept.length - before <= 3, 'at most one frame a second is kept');
    t.true((await auditActions('site-cam')).includes('camera.live by operator:alice'));
    t.true(gw.gateway.cameraAccessLog.some((e) => e.cameraId === 'garden' && /live view/.test(e.reason)));
  },
);

test.serial('no camera outside an alarm event: too late, or a technical event', async (t) => {
  const raw = await connectAsGateway(env, 'site-old', 'gw-old');
  t.teardown(() => raw.endAsync());
  await env.central.pool.query(
    `UPDATE gateways SET last_heartbeat = '{"cameras":[{"id":"yard","name":"Yard","snapshot":true}]}' WHERE id = 'gw-old'`,
  );
  const publish = async (type: 'burglary' | 'mains-loss', at: number, seq: number) => {
    const event = {
      ...centralEvent(type, 'event', { siteId: 'site-old', gatewayId: 'gw-old' }, at, null, ''),
      seq,
    };
    await raw.publishAsync(topicFor('site-old', 'gw-old', 'event'), encode(event), { qos: 1 });
    return eventually(async () => {
      const { rows } = await env.central.pool.query('SELECT id::text FROM alarms WHERE event_id = $1', [
        event.id,
      ]);
      return rows[0]?.id as string | undefined;
    }, `${type} alarm`);
  };
  const late = await publish('burglary', Date.now() - 16 * 60_000, 1);
  await operator('POST', `/api/alarms/${late}/claim`);
  const refused = await operator('POST', `/api/alarms/${late}/camera-access`);
  t.deepEqual(refused, {
    status: 403,
    body: { error: 'camera access ended: only within 15 minutes of the alarm event start' },
  });
  const mains = await publish('mains-loss', Date.now(), 2);
  await operator('POST', `/api/alarms/${mains}/claim`);
  t.is((await operator('POST', `/api/alarms/${mains}/camera-access`)).status, 403);
  t.deepEqual(await auditActions('site-old'), ['camera.grant-refused by operator:alice']);
  t.is(env.metrics.get('camera_grants_refused_total', { reason: 'outside-window' }), 1);
});

test.serial('pictures are deleted after 60 days unless a supervisor holds them for the police', async (t) => {
  const { rows } = await env.central.pool.query<{ alarm_id: string }>(
    `SELECT alarm_id::text FROM event_media WHERE site_id = 'site-cam' LIMIT 1`,
  );
  const alarmId = rows[0]!.alarm_id;
  const second = await operator('POST', `/api/alarms/${alarmId}/snapshots`, { cameraId: 'garden' });
  t.is(second.status, 201);
  t.is(
    (await operator('PUT', `/api/media/${second.body.mediaId}/hold`, { reason: 'police report 4711' }))
      .status,
    403,
  );
  t.deepEqual(
    await supervisor('PUT', `/api/media/${second.body.mediaId}/hold`, { reason: 'police report 4711' }),
    {
      status: 200,
      body: { held: true },
    },
  );
  await env.central.pool.query(
    `UPDATE event_media SET created_at = now() - interval '61 days' WHERE site_id = 'site-cam'`,
  );
  const { rows: unheld } = await env.central.pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM event_media WHERE site_id = 'site-cam' AND held_at IS NULL`,
  );
  await env.central.superviseOnce(Date.now());
  const left = (await operator('GET', `/api/alarms/${alarmId}/media`)).body.media;
  t.deepEqual(
    left.map((m: { id: string; holdReason: string }) => [m.id, m.holdReason]),
    [[second.body.mediaId, 'police report 4711']],
  );
  t.is(env.metrics.get('event_media_purged_total'), unheld[0]!.n);
  t.true(unheld[0]!.n >= 2);
});
