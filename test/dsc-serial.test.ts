import test from 'ava';
import { SerialPort } from 'serialport';
import { parseGatewayConfig } from '../gateway/config.ts';
import { runGateway } from '../gateway/main.ts';
import type { DeviceSignal } from '../hardware/device-signal.ts';
import { encodeFrame } from '../hardware/serial/dsc-it100.ts';
import { DscIt100Bus } from '../hardware/serial/dsc-it100-bus.ts';
import { systemClock } from '../lib/clock.ts';
import { silentLogger } from '../lib/logger.ts';
import { Metrics } from '../lib/metrics.ts';
import { eventually, tempDir } from './helpers/central.ts';
import { ptyPair } from './helpers/pty.ts';

/** The far end of the line, playing the DSC panel. */
async function openPanel(path: string) {
  const port = new SerialPort({ path, baudRate: 9600, autoOpen: false });
  await new Promise<void>((resolve, reject) => port.open((error) => (error ? reject(error) : resolve())));
  let received = '';
  port.on('data', (chunk: Buffer) => {
    received += chunk.toString('latin1');
  });
  return {
    port,
    received: () => received,
    send: (raw: string) => new Promise<void>((resolve) => port.write(raw, () => port.drain(() => resolve()))),
    close: () => new Promise<void>((resolve) => (port.isOpen ? port.close(() => resolve()) : resolve())),
  };
}

test('a DSC panel on a real serial line: resync, zone signals, troubles, bad input, unplug and reconnect', async (t) => {
  const dir = tempDir('pty');
  let pty = await ptyPair(dir);
  t.teardown(() => pty.stop());
  const metrics = new Metrics();
  // Real timers (reconnects), but a "now" that moves only when the test says: the resync window is
  // judged on this clock, so a slow machine cannot push the status dump out of it.
  let now = Date.now();
  const clock = { ...systemClock, now: () => now };
  const bus = new DscIt100Bus({
    path: pty.a,
    baudRate: 9600,
    devices: new Map([
      ['zone:1', 'front-door'],
      ['zone:2', 'hall-pir'],
      ['panel', 'dsc-panel'],
      ['key:fire', 'fire-key'],
    ]),
    clock,
    logger: silentLogger,
    metrics,
    resyncMs: 300,
    pollMs: 60_000,
  });
  const signals: DeviceSignal[] = [];
  bus.onSignal((s) => signals.push(s));
  let panel = await openPanel(pty.b);
  await bus.start();
  t.teardown(() => bus.stop());

  await eventually(() => panel.received().includes('00191\r\n'), 'the status request after connecting');
  await panel.send(encodeFrame('609', '001'));
  await eventually(() => signals.length === 1, 'the resync zone state');
  t.like(signals[0], { deviceId: 'front-door', kind: 'alarm', detail: { resync: true, address: 'zone:1' } });

  now += 350;
  // Chunked, as a UART delivers it, then a tamper, a trouble, a keypad fire key.
  await panel.send('610');
  await panel.send('00128\r\n');
  await panel.send(`${encodeFrame('603', '1002')}${encodeFrame('802')}${encodeFrame('621')}`);
  await eventually(() => signals.length === 5, 'four more signals');
  t.deepEqual(
    signals.slice(1).map((s) => [s.deviceId, s.kind, s.detail?.resync]),
    [
      ['front-door', 'restore', false],
      ['hall-pir', 'tamper', false],
      ['dsc-panel', 'mains-lost', false],
      ['fire-key', 'alarm', false],
    ],
  );

  // Garbage, a bad checksum, an unconfigured zone, an unknown command: counted, no signal.
  await panel.send(`\u0001\u0002garbage\r\n60900131\r\n${encodeFrame('609', '009')}${encodeFrame('777')}`);
  await eventually(
    () => metrics.get('dsc_unknown_commands_total', { command: '777' }) === 1,
    'the unknown command',
  );
  t.is(metrics.get('dsc_rejected_total', { reason: 'not-ascii' }), 1);
  t.is(metrics.get('dsc_rejected_total', { reason: 'bad-checksum' }), 1);
  t.is(metrics.get('dsc_rejected_total', { reason: 'unknown-device' }), 1);
  t.is(signals.length, 5);

  // Unplug: socat goes away, the bus reports a link trouble and keeps trying.
  await panel.close();
  await pty.stop();
  await eventually(() => signals.some((s) => s.kind === 'trouble'), 'the link trouble');
  t.like(signals.at(-1), { deviceId: 'dsc-panel', kind: 'trouble' });

  pty = await ptyPair(dir);
  panel = await openPanel(pty.b);
  await eventually(
    () => panel.received().includes('00191\r\n'),
    'a status request after reconnecting',
    15_000,
  );
  await panel.send(encodeFrame('500', '001'));
  await eventually(() => signals.at(-1)?.kind === 'trouble-restore', 'the link restored');
  await panel.send(encodeFrame('609', '002'));
  await eventually(() => signals.at(-1)?.deviceId === 'hall-pir', 'the resync after reconnect');
  t.like(signals.at(-1), { kind: 'alarm', detail: { resync: true } });
  await panel.close();
});

test('a gateway armed away: the resync after connecting raises nothing, a door opened afterwards is a burglary', async (t) => {
  const dir = tempDir('pty-gw');
  const pty = await ptyPair(dir);
  t.teardown(() => pty.stop());
  const panel = await openPanel(pty.b);
  t.teardown(() => panel.close());
  const config = parseGatewayConfig({
    siteId: 'shop',
    gatewayId: 'gw-dsc',
    central: { mqttUrl: 'mqtt://127.0.0.1:9', secret: 'x'.repeat(32) },
    http: { host: '127.0.0.1', port: 0 },
    serial: { protocol: 'dsc-it100', path: pty.a },
    areas: [{ id: 1, name: 'Shop', exitDelaySeconds: 0, entryDelaySeconds: 0 }],
    devices: [
      {
        id: 'shop-door',
        name: 'Shop door',
        bus: 'serial',
        address: 'zone:1',
        type: 'contact',
        zone: 1,
        area: 1,
      },
      {
        id: 'dsc-panel',
        name: 'DSC panel',
        bus: 'serial',
        address: 'panel',
        type: 'power-supply',
        zone: 99,
        area: 1,
      },
    ],
  });
  const running = await runGateway({
    config,
    dataDir: dir,
    logger: silentLogger,
    metrics: new Metrics(),
    initialMode: 'away',
  });
  t.teardown(() => running.stop());
  await eventually(() => panel.received().includes('00191\r\n'), 'the status request');
  // The status dump says the door is open (it was opened while the link was down): no alarm.
  await panel.send(encodeFrame('609', '001'));
  await eventually(() => running.gateway.panel.openZones['shop-door'], 'the zone state');
  await running.gateway.settled();
  t.is(running.gateway.outbox.depth, 0);
  await panel.send(encodeFrame('610', '001'));
  await new Promise((resolve) => setTimeout(resolve, 3100));
  await panel.send(encodeFrame('609', '001'));
  await eventually(() => running.gateway.outbox.pending().length === 1, 'the burglary, durable');
  t.like(running.gateway.outbox.pending()[0], {
    eventType: 'burglary-perimeter',
    zone: 1,
    device: { id: 'shop-door' },
  });
});

test('serial devices need a link and a valid, unique address', (t) => {
  const base = {
    siteId: 's',
    gatewayId: 'g',
    central: { mqttUrl: 'mqtt://x', secret: 'x'.repeat(32) },
    areas: [{ id: 1, name: 'A' }],
  };
  const device = {
    id: 'door',
    name: 'Door',
    bus: 'serial',
    type: 'contact',
    zone: 1,
    area: 1,
    address: 'zone:1',
  };
  t.throws(() => parseGatewayConfig({ ...base, devices: [device] }), {
    message: /no "serial" link is configured/,
  });
  const serial = { protocol: 'dsc-it100', path: '/dev/ttyUSB0' };
  t.throws(() => parseGatewayConfig({ ...base, serial, devices: [{ ...device, address: 'zone:x' }] }), {
    message: /devices\.0\.address \(device door\): .*needs an IT-100 address/,
  });
  t.throws(
    () => parseGatewayConfig({ ...base, serial, devices: [device, { ...device, id: 'door2', zone: 2 }] }),
    { message: /address zone:1, already used by "door"/ },
  );
  t.notThrows(() => parseGatewayConfig({ ...base, serial, devices: [device] }));
});
