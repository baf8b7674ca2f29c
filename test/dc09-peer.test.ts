import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import test from 'ava';
import { freePort } from '../central/db/embedded.ts';
import { Dc09Receiver } from '../central/dc09/receiver.ts';
import { parseGatewayConfig } from '../gateway/config.ts';
import { runGateway } from '../gateway/main.ts';
import { type Clock, systemClock } from '../lib/clock.ts';
import { silentLogger } from '../lib/logger.ts';
import { Metrics } from '../lib/metrics.ts';
import { eventually, startTestCentral, tempDir } from './helpers/central.ts';

/**
 * The gateway's backup path against pysiaalarm, the SIA DC-09 receiver behind Home Assistant's
 * SIA integration (test/peers/pysiaalarm): written independently of our codec.
 */
interface Received {
  type: string;
  account: string;
  code: string | null;
  ri: string | null;
  message: string | null;
  encrypted: boolean;
  content: string | null;
  receiver: string;
}

async function startPeer(account: string, key: string | null, transport: 'tcp' | 'udp' = 'tcp') {
  const port = await freePort();
  const child: ChildProcess = spawn(
    '/usr/bin/python3',
    [path.join(import.meta.dirname, 'peers/pysia-receiver.py'), String(port), account, key ?? '', transport],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const received: Received[] = [];
  let listening = false;
  let errors = '';
  let buffer = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    const lines = buffer.split('\n');
    buffer = lines.pop()!;
    for (const line of lines) {
      if (line === 'listening') listening = true;
      else if (line.startsWith('{')) received.push(JSON.parse(line) as Received);
    }
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    errors += chunk.toString();
  });
  await eventually(() => listening || child.exitCode !== null, 'pysiaalarm to listen');
  if (!listening) throw new Error(`pysiaalarm did not start: ${errors}`);
  return { port, received, errors: () => errors, stop: () => child.kill('SIGKILL') };
}

/**
 * What the peer reported of a frame of this type: pysiaalarm acks a frame before its callback
 * prints it, so the gateway may see the ack before the line reaches this process.
 */
function reported(peer: { received: Received[] }, type: Received['type']): Promise<Received> {
  return eventually(() => peer.received.find((r) => r.type === type), `pysiaalarm to report a ${type} frame`);
}

function gatewayConfig(port: number, dc09: Record<string, unknown>) {
  return parseGatewayConfig({
    siteId: 'site-peer',
    gatewayId: 'gw-peer',
    // No primary: everything goes over the backup path.
    central: { mqttUrl: 'mqtt://127.0.0.1:1', secret: 'x'.repeat(32) },
    backup: { dc09: { host: '127.0.0.1', port, receiver: '1', ...dc09 } },
    http: { host: '127.0.0.1', port: 0 },
    areas: [{ id: 2, name: 'Keuken' }],
    devices: [{ id: 'panic', name: 'Paniekknop Küche', bus: 'simulated', type: 'panic', zone: 7, area: 2 }],
  });
}

function startGateway(port: number, dc09: Record<string, unknown>) {
  return runGateway({
    config: gatewayConfig(port, dc09),
    dataDir: tempDir('gw-peer'),
    logger: silentLogger,
    metrics: new Metrics(),
  });
}

for (const [name, key] of [
  ['plain', null],
  ['AES-128', 'ABCDEF0123456789'],
  ['AES-192', 'ABCDEF0123456789abcdefgh'],
  ['AES-256', 'ABCDEF0123456789abcdefghijklmnop'],
] as const) {
  test.serial(
    `backup path to pysiaalarm, ${name}: standard SIA-DCS in ASCII, acknowledged, the outbox drains`,
    async (t) => {
      const peer = await startPeer('5A11', key);
      t.teardown(() => peer.stop());
      const running = await startGateway(peer.port, {
        account: '5A11',
        format: 'sia-dcs',
        ...(key ? { key, keyFormat: 'ascii' } : {}),
      });
      t.teardown(() => running.stop());
      running.gateway.simulatedBus.inject('panic', 'alarm');
      await running.gateway.settled();
      t.true(running.gateway.outbox.depth > 0, 'the alarm is in the outbox');
      await eventually(
        () => running.gateway.outbox.depth === 0,
        'pysiaalarm to acknowledge the alarm',
        20_000,
      ).catch((error: Error) => t.fail(`${error.message}: ${peer.errors()}`));
      const alarm = await reported(peer, 'SIA-DCS');
      t.like(alarm, { account: '5A11', code: 'PA', ri: '2', encrypted: key !== null, receiver: 'R1' });
      t.regex(alarm?.message ?? '', /Kuche/, 'the device name in ASCII');
      t.false((alarm?.content ?? '').includes('[U'), 'no Vigil extension block to a third-party receiver');
    },
  );
}

test.serial('backup path to pysiaalarm as Contact ID (ADM-CID)', async (t) => {
  const peer = await startPeer('5A11', null);
  t.teardown(() => peer.stop());
  const running = await startGateway(peer.port, { account: '5A11', format: 'adm-cid' });
  t.teardown(() => running.stop());
  running.gateway.simulatedBus.inject('panic', 'alarm');
  await running.gateway.settled();
  await eventually(() => running.gateway.outbox.depth === 0, 'pysiaalarm to acknowledge the alarm', 20_000);
  const alarm = await reported(peer, 'ADM-CID');
  t.like(alarm, { account: '5A11', code: 'PA' });
  t.regex(alarm?.content ?? '', /#5A11\|1120 02 007/);
});

test.serial(
  'a gateway whose clock is wrong by 5 minutes: pysiaalarm NAKs with its time, the next frame is taken',
  async (t) => {
    const peer = await startPeer('5A11', 'ABCDEF0123456789');
    t.teardown(() => peer.stop());
    const metrics = new Metrics();
    const skewed: Clock = { ...systemClock, now: () => Date.now() + 5 * 60_000 };
    const running = await runGateway({
      config: gatewayConfig(peer.port, {
        account: '5A11',
        format: 'sia-dcs',
        key: 'ABCDEF0123456789',
        keyFormat: 'ascii',
      }),
      dataDir: tempDir('gw-peer'),
      logger: silentLogger,
      metrics,
      clock: skewed,
    });
    t.teardown(() => running.stop());
    running.gateway.simulatedBus.inject('panic', 'alarm');
    await running.gateway.settled();
    await eventually(
      () => running.gateway.outbox.depth === 0,
      'the alarm taken after the clock correction',
      20_000,
    );
    t.true(metrics.get('dc09_uplink_clock_corrections_total') >= 1, 'its time taken from the NAK');
    t.like(await reported(peer, 'SIA-DCS'), { code: 'PA' });
  },
);

test.serial(
  'a receiver that refuses an event does not stall the path: it gives up on it, tells, goes on',
  async (t) => {
    // A receiver that answers DUH to everything for another receiver number.
    const env = await startTestCentral();
    t.teardown(() => env.stop());
    const receiver = new Dc09Receiver({
      host: '127.0.0.1',
      port: 0,
      pool: env.central.pool,
      logger: silentLogger,
      metrics: new Metrics(),
      receiverNumber: '9',
    });
    await receiver.start();
    t.teardown(() => receiver.stop());
    const metrics = new Metrics();
    const running = await runGateway({
      config: gatewayConfig(receiver.port, { account: '5A11', format: 'sia-dcs', maxRefusals: 2 }),
      dataDir: tempDir('gw-peer'),
      logger: silentLogger,
      metrics,
    });
    t.teardown(() => running.stop());
    running.gateway.simulatedBus.inject('panic', 'alarm');
    await running.gateway.settled();
    await eventually(
      () => metrics.total('dc09_uplink_given_up_total') >= 2,
      'the path to give up on the alarm and on the trouble it raised',
      60_000,
    );
    const pending = running.gateway.outbox.pending().map((e) => e.eventType);
    t.deepEqual(pending, ['panic', 'communication-trouble'], 'both wait for the primary, nothing is dropped');
    t.true(metrics.get('dc09_uplink_refused_total', { reply: 'duh' }) >= 4);
  },
);

test.serial('backup path to pysiaalarm over UDP, AES-128', async (t) => {
  const peer = await startPeer('5A11', 'ABCDEF0123456789', 'udp');
  t.teardown(() => peer.stop());
  const running = await startGateway(peer.port, {
    account: '5A11',
    format: 'sia-dcs',
    transport: 'udp',
    key: 'ABCDEF0123456789',
    keyFormat: 'ascii',
  });
  t.teardown(() => running.stop());
  running.gateway.simulatedBus.inject('panic', 'alarm');
  await running.gateway.settled();
  await eventually(() => running.gateway.outbox.depth === 0, 'pysiaalarm to acknowledge over UDP', 20_000);
  t.like(await reported(peer, 'SIA-DCS'), { account: '5A11', code: 'PA', encrypted: true });
});
