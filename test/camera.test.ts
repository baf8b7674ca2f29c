import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import test from 'ava';
import { hashCode } from '../gateway/auth/user-codes.ts';
import { parseGatewayConfig } from '../gateway/config.ts';
import { runGateway } from '../gateway/main.ts';
import { CameraBus } from '../hardware/camera/camera-bus.ts';
import { digestAuthorization, parseChallenge } from '../hardware/camera/http-auth.ts';
import { fetchSnapshot } from '../hardware/camera/snapshot.ts';
import type { DeviceSignal } from '../hardware/device-signal.ts';
import { ManualClock } from '../lib/clock.ts';
import { silentLogger } from '../lib/logger.ts';
import { Metrics } from '../lib/metrics.ts';
import { tempDir } from './helpers/central.ts';

const JPEG = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 4, 0xff, 0xd9]);

/** A fake IP camera: /digest.jpg needs Digest auth (MD5, qop=auth), /basic.jpg Basic auth. */
async function fakeCamera(username: string, password: string) {
  const realm = 'IP Camera';
  const nonce = 'b2c5f1a7e0';
  const md5 = (text: string) => createHash('md5').update(text).digest('hex');
  const server = http.createServer((request, response) => {
    const auth = request.headers.authorization ?? '';
    const ok = () => response.writeHead(200, { 'content-type': 'image/jpeg' }).end(JPEG);
    if (request.url === '/basic.jpg') {
      if (auth === `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`) return ok();
      return response.writeHead(401, { 'www-authenticate': `Basic realm="${realm}"` }).end();
    }
    if (request.url === '/digest.jpg' && auth.startsWith('Digest ')) {
      const f = parseChallenge(auth);
      const ha1 = md5(`${username}:${realm}:${password}`);
      const ha2 = md5(`GET:${f.uri}`);
      if (f.response === md5(`${ha1}:${nonce}:${f.nc}:${f.cnonce}:${f.qop}:${ha2}`)) return ok();
    }
    if (request.url === '/page')
      return response.writeHead(200, { 'content-type': 'text/html' }).end('<html>');
    response
      .writeHead(401, {
        'www-authenticate': `Digest realm="${realm}", nonce="${nonce}", qop="auth", algorithm=MD5`,
      })
      .end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close() };
}

test('digest authorization matches the RFC 2617 example', (t) => {
  const header = digestAuthorization(
    {
      realm: 'testrealm@host.com',
      nonce: 'dcd98b7102dd2f0e8b11d0f600bfb0c093',
      qop: 'auth,auth-int',
      opaque: '5ccc069c403ebaf9f0171e9517f40e41',
    },
    { username: 'Mufasa', password: 'Circle Of Life' },
    'GET',
    '/dir/index.html',
    '0a4f113b',
  );
  t.regex(header, /response="6629fae49393a05397450978507c4ef1"/);
});

test('snapshots with Digest and Basic auth; wrong credentials and non-images are refused with a reason', async (t) => {
  const camera = await fakeCamera('admin', 's3cret');
  t.teardown(() => camera.close());
  const credentials = { username: 'admin', password: 's3cret' };
  const digest = await fetchSnapshot({ snapshotUrl: `${camera.url}/digest.jpg`, credentials });
  t.deepEqual(digest.body, JPEG);
  t.is(digest.contentType, 'image/jpeg');
  t.deepEqual((await fetchSnapshot({ snapshotUrl: `${camera.url}/basic.jpg`, credentials })).body, JPEG);
  await t.throwsAsync(
    fetchSnapshot({
      snapshotUrl: `${camera.url}/digest.jpg`,
      credentials: { ...credentials, password: 'x' },
    }),
    {
      message: /HTTP 401 \(check the camera credentials\)/,
    },
  );
  await t.throwsAsync(fetchSnapshot({ snapshotUrl: `${camera.url}/page`, credentials }), {
    message: /not an image/,
  });
});

test('camera notifications: the token is checked, the alarm restores itself', (t) => {
  const clock = new ManualClock();
  const metrics = new Metrics();
  const bus = new CameraBus(
    [{ cameraId: 'garden', deviceId: 'garden-cam', eventToken: 'a'.repeat(24), restoreAfterMs: 30_000 }],
    clock,
    silentLogger,
    metrics,
  );
  const signals: DeviceSignal[] = [];
  bus.onSignal((s) => signals.push(s));
  void bus.start();
  t.false(bus.notify('garden', 'wrong-token', 'start'));
  t.false(bus.notify('nope', 'a'.repeat(24), 'start'));
  t.is(metrics.get('camera_events_refused_total'), 2);
  t.true(bus.notify('garden', 'a'.repeat(24), 'start'));
  clock.advance(20_000);
  t.true(bus.notify('garden', 'a'.repeat(24), 'start'), 'a repeat extends the alarm');
  clock.advance(29_999);
  t.deepEqual(
    signals.map((s) => s.kind),
    ['alarm', 'alarm'],
  );
  clock.advance(1);
  t.deepEqual(
    signals.map((s) => s.kind),
    ['alarm', 'alarm', 'restore'],
  );
  bus.notify('garden', 'a'.repeat(24), 'start');
  bus.notify('garden', 'a'.repeat(24), 'stop');
  t.is(signals.at(-1)?.kind, 'restore');
});

test('a camera notification over the local API raises a camera alarm; installers can check the snapshot', async (t) => {
  const camera = await fakeCamera('admin', 's3cret');
  t.teardown(() => camera.close());
  const token = 't'.repeat(32);
  const running = await runGateway({
    config: parseGatewayConfig({
      siteId: 'yard',
      gatewayId: 'gw-cam',
      central: { mqttUrl: 'mqtt://127.0.0.1:9', secret: 'x'.repeat(32) },
      http: { host: '127.0.0.1', port: 0 },
      areas: [{ id: 1, name: 'Yard' }],
      cameras: [
        {
          id: 'gate',
          name: 'Gate camera',
          area: 1,
          eventToken: token,
          snapshotUrl: `${camera.url}/digest.jpg`,
          username: 'admin',
          password: 's3cret',
        },
      ],
      devices: [
        {
          id: 'gate-cam',
          name: 'Gate camera',
          bus: 'camera',
          address: 'gate',
          type: 'camera',
          zone: 1,
          area: 1,
        },
      ],
      users: [{ id: 'ian', name: 'Ian', role: 'installer', codeHash: await hashCode('864200'), areas: [1] }],
    }),
    dataDir: tempDir('gw-cam'),
    logger: silentLogger,
    metrics: new Metrics(),
    initialMode: 'away',
  });
  t.teardown(() => running.stop());
  const api = running.localApiUrl;
  t.is((await fetch(`${api}/api/cameras/gate/events?token=wrong`)).status, 403);
  const posted = await fetch(`${api}/api/cameras/gate/events`, {
    method: 'POST',
    headers: { 'x-vigil-token': token, 'content-type': 'application/xml' },
    body: '<EventNotificationAlert><eventType>VMD</eventType></EventNotificationAlert>',
  });
  t.is(posted.status, 202);
  t.like(running.gateway.outbox.pending()[0], { eventType: 'camera-alarm', device: { id: 'gate-cam' } });

  const check = await fetch(`${api}/api/installer/cameras/gate/check`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ code: '864200' }),
  });
  t.is(check.status, 200);
  t.like(await check.json(), { ok: true, contentType: 'image/jpeg', bytes: JPEG.length });
});

test('a camera device needs a configured camera with a token', (t) => {
  const base = {
    siteId: 's',
    gatewayId: 'g',
    central: { mqttUrl: 'mqtt://x', secret: 'x'.repeat(32) },
    areas: [{ id: 1, name: 'A' }],
  };
  const device = { id: 'cam', name: 'Cam', bus: 'camera', address: 'gate', type: 'camera', zone: 1, area: 1 };
  t.throws(() => parseGatewayConfig({ ...base, devices: [device] }), {
    message: /must name a configured camera/,
  });
  t.throws(
    () =>
      parseGatewayConfig({ ...base, cameras: [{ id: 'gate', name: 'Gate', area: 1 }], devices: [device] }),
    {
      message: /has no eventToken/,
    },
  );
});
