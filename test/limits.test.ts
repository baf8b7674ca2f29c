import net from 'node:net';
import test from 'ava';
import mqtt from 'mqtt';
import { DEFAULT_LIMITS } from '../central/limits.ts';
import { buildFrame } from '../protocols/dc09/frame.ts';
import { MAX_MEDIA_BYTES } from '../protocols/messages.ts';
import { gatewayClientId, topicFor } from '../protocols/topics.ts';
import { eventually, startTestCentral, type TestCentral } from './helpers/central.ts';

let env: TestCentral;
test.before(async () => {
  env = await startTestCentral({
    limits: {
      mqtt: {
        maxPacketBytes: 64 * 1024,
        maxConnectBytes: 4096,
        connectTimeoutMs: 500,
        maxConnections: 1000,
        maxPerSource: 5,
        maxHandshakes: 128,
      },
      dc09: { frameTimeoutMs: 400, idleTimeoutMs: 800, maxConnections: 1000, maxPerSource: 3 },
      http: { requestTimeoutMs: 600, headersTimeoutMs: 400, maxConnections: 1000 },
    },
  });
});
test.after.always(() => env?.stop());

const refused = (listener: string, reason: string) =>
  env.metrics.get('listener_refused_total', { listener, reason });

/** A raw TCP client, and how long the server kept it open (from the connect). */
function openSocket(port: number): Promise<{ socket: net.Socket; closed: Promise<number> }> {
  const started = Date.now();
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  // Read what the server answers, or its end (and so the close) would never be seen.
  socket.resume();
  const closed = new Promise<number>((done) => socket.once('close', () => done(Date.now() - started)));
  // A socket refused at once may close before it ever reports being connected.
  return new Promise((resolve) => {
    socket.once('connect', () => resolve({ socket, closed }));
    socket.once('close', () => resolve({ socket, closed }));
  });
}

const mqttPort = () => Number(new URL(env.central.mqttUrl).port);

test.serial(
  'MQTT: a CONNECT announcing 200 MB is cut off at its header, before anything is buffered',
  async (t) => {
    const { socket, closed } = await openSocket(mqttPort());
    // CONNECT, remaining length 200,000,000 (varint), then a trickle of the "payload".
    socket.write(Buffer.from([0x10, 0x80, 0x84, 0xaf, 0x5f]));
    socket.write(Buffer.alloc(1024));
    const open = await closed;
    t.true(open < 400, `closed after ${open} ms`);
    t.is(refused('mqtt', 'packet-too-large'), 1);
  },
);

test.serial(
  'MQTT: an authenticated gateway cannot publish past the packet limit; its next connection works',
  async (t) => {
    const secret = await env.addGateway('site-big', 'gw-big');
    const options = {
      username: 'gw-big',
      password: secret,
      clientId: gatewayClientId('gw-big'),
      reconnectPeriod: 0,
    };
    const client = await mqtt.connectAsync(env.central.mqttUrl, options);
    const dropped = new Promise<void>((resolve) => client.once('close', () => resolve()));
    client.publish(topicFor('site-big', 'gw-big', 'media'), Buffer.alloc(200 * 1024, 0x61), { qos: 1 });
    await dropped;
    t.is(refused('mqtt', 'packet-too-large'), 2);
    const again = await mqtt.connectAsync(env.central.mqttUrl, options);
    t.true(again.connected);
    await again.endAsync();
    client.end(true);
  },
);

test.serial(
  'MQTT: a connection that never completes its CONNECT is closed at the connect timeout',
  async (t) => {
    const { closed } = await openSocket(mqttPort());
    const open = await closed;
    t.true(open >= 450 && open < 3000, `closed after ${open} ms`);
  },
);

test.serial('MQTT: connections per source are capped', async (t) => {
  const sockets = await Promise.all(Array.from({ length: 5 }, () => openSocket(mqttPort())));
  const sixth = await openSocket(mqttPort());
  const open = await sixth.closed;
  t.true(open < 400, 'the sixth from one address is closed at once');
  t.true(refused('mqtt', 'too-many-from-source') >= 1);
  for (const { socket } of sockets) socket.destroy();
});

test.serial(
  'DC-09: a byte now and then keeps no connection; a frame must end in time; sources are capped',
  async (t) => {
    const port = env.central.dc09.port;
    const drip = await openSocket(port);
    drip.socket.write('\n');
    const timer = setInterval(() => drip.socket.write('0'), 100);
    const dripOpen = await drip.closed;
    clearInterval(timer);
    t.true(dripOpen >= 350 && dripOpen < 2000, `an unfinished frame closed after ${dripOpen} ms`);
    t.is(refused('dc09', 'frame-timeout'), 1);

    const quiet = await openSocket(port);
    // Complete frames keep it: NULL messages of an unknown account (answered NAK) every 300 ms.
    const frame = buildFrame({ id: 'NULL', seq: 1, prefix: '0', account: '9999', data: '' });
    const keep = setInterval(() => quiet.socket.write(frame, 'latin1'), 300);
    await new Promise((resolve) => setTimeout(resolve, 1200));
    t.false(quiet.socket.destroyed, 'complete frames keep the connection open');
    clearInterval(keep);
    const quietOpen = await quiet.closed;
    t.true(quietOpen >= 1200, `idle closed after ${quietOpen} ms`);
    t.true(refused('dc09', 'idle') >= 1);

    const held = await Promise.all(Array.from({ length: 3 }, () => openSocket(port)));
    const fourth = await openSocket(port);
    t.true((await fourth.closed) < 400);
    t.true(refused('dc09', 'too-many-from-source') >= 1);
    for (const { socket } of held) socket.destroy();
  },
);

test.serial('HTTP: a request that drips in is cut off with 408', async (t) => {
  const port = Number(new URL(env.central.httpUrl).port);
  const { socket, closed } = await openSocket(port);
  let answer = '';
  socket.on('data', (chunk: Buffer) => {
    answer += chunk.toString();
  });
  socket.write(
    'POST /api/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{',
  );
  const timer = setInterval(() => socket.writable && socket.write(' '), 100);
  const open = await closed;
  clearInterval(timer);
  t.true(open < 3000, `closed after ${open} ms`);
  t.regex(answer, /^HTTP\/1\.1 408/);
  await eventually(() => refused('http', 'request-timeout') >= 1, 'the refusal counted');
});

test('the default limits let a camera picture through and nothing near a gigabyte', (t) => {
  t.true(
    DEFAULT_LIMITS.mqtt.maxPacketBytes > Math.ceil(MAX_MEDIA_BYTES / 3) * 4 + 1024,
    'a picture in base64',
  );
  t.true(DEFAULT_LIMITS.mqtt.maxPacketBytes < 8 * 1024 * 1024);
  t.true(DEFAULT_LIMITS.mqtt.maxConnectBytes <= 64 * 1024);
});

test('MQTT over TLS: handshakes are taken in turn; stalled ones hold their turn only until their timeout, then every client gets in', async (t) => {
  const tlsEnv = await startTestCentral({
    tls: true,
    limits: {
      ...DEFAULT_LIMITS,
      mqtt: { ...DEFAULT_LIMITS.mqtt, connectTimeoutMs: 1500, maxPerSource: 100, maxHandshakes: 2 },
    },
  });
  t.teardown(() => tlsEnv.stop());
  const port = Number(new URL(tlsEnv.central.mqttUrl).port);
  const gateways = [];
  for (let i = 0; i < 20; i++)
    gateways.push({ id: `gw-hs${i}`, secret: await tlsEnv.addGateway(`site-hs${i}`, `gw-hs${i}`) });
  // Two connections that never send a ClientHello take both turns.
  const stalled = await Promise.all([openSocket(port), openSocket(port)]);
  let firstStalledClosedAt = 0;
  for (const s of stalled) void s.closed.then(() => (firstStalledClosedAt ||= Date.now()));
  // Twenty gateways at once behind them: each waits its turn, none is lost to a timeout.
  const startedAt = Date.now();
  const clients = await Promise.all(
    gateways.map(async (gw) => {
      const client = await mqtt.connectAsync(tlsEnv.central.mqttUrl, {
        username: gw.id,
        password: gw.secret,
        clientId: gatewayClientId(gw.id),
        ca: tlsEnv.ca!,
        reconnectPeriod: 0,
        connectTimeout: 20_000,
      });
      return { client, connectedAt: Date.now() };
    }),
  );
  t.true(startedAt < firstStalledClosedAt, 'the gateways came while the stalled ones held both turns');
  t.true(firstStalledClosedAt > 0, 'the stalled handshakes were ended by their timeout');
  t.true(
    clients.every((c) => c.connectedAt >= firstStalledClosedAt),
    'no gateway got in while both turns were held',
  );
  t.is(tlsEnv.metrics.get('broker_refused_total', { what: 'tls' }), 2, 'only the two stalled ones refused');
  await Promise.all(clients.map((c) => c.client.endAsync()));
});
