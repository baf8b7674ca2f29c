// herdsman keeps process-wide device caches and the adapter factory is global: one controller at a time.
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { parseGatewayConfig } from '../gateway/config.ts';
import { runGateway } from '../gateway/main.ts';
import type { DeviceSignal } from '../hardware/device-signal.ts';
import { ZONE_STATUS, zoneStatusOf, zoneStatusSignals } from '../hardware/zigbee/ias-zone.ts';
import { loadOrCreateNetwork } from '../hardware/zigbee/network-params.ts';
import { ZigbeeBus } from '../hardware/zigbee/zigbee-bus.ts';
import { systemClock } from '../lib/clock.ts';
import { silentLogger } from '../lib/logger.ts';
import { Metrics } from '../lib/metrics.ts';
import { eventually, tempDir } from './helpers/central.ts';
import { FakeZigbeeAdapter, installFakeAdapter, seedDatabase } from './helpers/zigbee-fake-adapter.ts';

const PIR = { ieeeAddr: '0x00158d0001a2b3c4', nwkAddr: 0x1234, model: 'motion' };
const STRANGER = { ieeeAddr: '0x00158d00ffffffff', nwkAddr: 0x4321, model: 'unregistered' };
const HERDSMAN_DEFAULT_KEY = [1, 3, 5, 7, 9, 11, 13, 15, 0, 2, 4, 6, 8, 10, 12, 13];

test.serial('the network key and PAN are random, kept private, and stable across restarts', (t) => {
  const dir = tempDir('zb-net');
  const first = loadOrCreateNetwork(dir, 20);
  t.true(first.created);
  t.notDeepEqual(first.params.networkKey, HERDSMAN_DEFAULT_KEY);
  t.is(first.params.channel, 20);
  t.is(statSync(path.join(dir, 'network.json')).mode & 0o777, 0o600);
  const again = loadOrCreateNetwork(dir, 11);
  t.false(again.created);
  t.deepEqual(again.params, first.params);
  t.notDeepEqual(loadOrCreateNetwork(tempDir('zb-net2'), 20).params.networkKey, first.params.networkKey);
});

test.serial('zone status bits map to signal changes', (t) => {
  t.deepEqual(zoneStatusSignals(undefined, 0), []);
  t.deepEqual(zoneStatusSignals(undefined, ZONE_STATUS.alarm1 | ZONE_STATUS.battery), [
    'alarm',
    'battery-low',
  ]);
  t.deepEqual(zoneStatusSignals(ZONE_STATUS.alarm1 | ZONE_STATUS.battery, ZONE_STATUS.battery), ['restore']);
  t.deepEqual(zoneStatusSignals(0, ZONE_STATUS.tamper | ZONE_STATUS.trouble | ZONE_STATUS.ac), [
    'tamper',
    'trouble',
    'mains-lost',
  ]);
  t.deepEqual(zoneStatusSignals(0, ZONE_STATUS.alarm2), ['alarm'], 'the emergency button of a pendant');
  t.deepEqual(
    zoneStatusSignals(
      ZONE_STATUS.supervisionReports,
      ZONE_STATUS.supervisionReports | ZONE_STATUS.restoreReports,
    ),
    [],
  );
  t.is(zoneStatusOf('commandStatusChangeNotification', { zonestatus: 9 }), 9);
  t.is(zoneStatusOf('attributeReport', { zoneStatus: 4 }), 4);
  t.is(zoneStatusOf('attributeReport', { zoneStatus: 'x' }), null);
  t.is(zoneStatusOf('commandEnrollReq', { zonetype: 13 }), null);
});

async function startBus(t: import('ava').ExecutionContext) {
  const dir = tempDir('zb-bus');
  seedDatabase(dir, [PIR, STRANGER]);
  const fake = new FakeZigbeeAdapter();
  installFakeAdapter(fake);
  const metrics = new Metrics();
  const bus = new ZigbeeBus({
    dataDir: dir,
    adapter: 'zstack',
    path: '/dev/null',
    channel: 15,
    devices: new Map([[PIR.ieeeAddr, 'hall-pir']]),
    clock: systemClock,
    logger: silentLogger,
    metrics,
    restartMs: 100,
  });
  const signals: DeviceSignal[] = [];
  bus.onSignal((s) => signals.push(s));
  await bus.start();
  t.teardown(() => bus.stop());
  const kinds = () => signals.filter((s) => s.kind !== 'check-in').map((s) => s.kind);
  return { bus, fake, metrics, signals, kinds, dir };
}

test.serial(
  'IAS zone reports through the real herdsman controller become signals; enroll requests are answered',
  async (t) => {
    const { fake, signals, kinds, metrics } = await startBus(t);
    fake.receive(PIR.nwkAddr, 'ssIasZone', 'statusChangeNotification', {
      zonestatus: 0x0009,
      extendedstatus: 0,
      zoneID: 23,
      delay: 0,
    });
    await eventually(() => kinds().length === 2, 'alarm and battery');
    t.deepEqual(kinds(), ['alarm', 'battery-low']);
    t.like(
      signals.find((s) => s.kind === 'alarm'),
      { deviceId: 'hall-pir', detail: { bus: 'zigbee', ieeeAddr: PIR.ieeeAddr, zoneStatus: 9 } },
    );
    t.true(
      signals.some((s) => s.kind === 'check-in'),
      'a message is also a check-in',
    );

    fake.receive(PIR.nwkAddr, 'ssIasZone', 'report', [{ attrId: 2, dataType: 0x19, attrData: 0x0004 }], true);
    await eventually(() => kinds().length === 5, 'restore, battery ok, tamper');
    t.deepEqual(kinds().slice(2), ['restore', 'tamper', 'battery-ok']);

    fake.receive(PIR.nwkAddr, 'ssIasZone', 'enrollReq', { zonetype: 13, manucode: 0 });
    await eventually(() => fake.zcl.length > 0, 'the enroll response');
    t.regex(fake.zcl[0]!, /0x00158d0001a2b3c4 ssIasZone\.enrollRsp \{"enrollrspcode":0,"zoneid":23\}/);

    fake.receive(STRANGER.nwkAddr, 'ssIasZone', 'statusChangeNotification', {
      zonestatus: 1,
      extendedstatus: 0,
      zoneID: 1,
      delay: 0,
    });
    await eventually(
      () => metrics.get('zigbee_unknown_device_total') === 1,
      'the unregistered device counted',
    );
    fake.receive(PIR.nwkAddr, 'genBasic', 'report', [{ attrId: 0, dataType: 0x20, attrData: 3 }], true);
    await eventually(
      () => metrics.get('zigbee_ignored_messages_total', { cluster: 'genBasic' }) === 1,
      'a non-IAS cluster',
    );
    t.is(kinds().length, 5, 'nothing invented');
  },
);

test.serial(
  'joining is refused outside an installer window and for addresses not on its allow-list',
  async (t) => {
    const { bus, fake, metrics } = await startBus(t);
    fake.emit('deviceJoined', { networkAddress: 0x7777, ieeeAddr: '0x00158d0000000777' });
    await eventually(() => metrics.get('zigbee_joins_refused_total') === 1, 'the refusal');
    await eventually(() => fake.zdo.length === 1, 'the leave request');
    t.deepEqual(fake.zdo, [0x0034], 'herdsman asked the refused device to leave');

    await bus.permitJoin(600, ['0x00158d0000000888']);
    t.deepEqual(fake.permitJoins, [254], 'permit join is capped at 254 s');
    t.truthy(bus.permitJoinUntil);
    fake.emit('deviceJoined', { networkAddress: 0x7778, ieeeAddr: '0x00158d0000000999' });
    await eventually(() => metrics.get('zigbee_joins_refused_total') === 2, 'the second refusal');
    fake.emit('deviceJoined', { networkAddress: 0x7779, ieeeAddr: '0x00158d0000000888' });
    await eventually(() => metrics.get('zigbee_joins_total') === 1, 'the allowed device joins');
    await bus.permitJoin(0);
    t.is(bus.permitJoinUntil, null);
  },
);

test.serial(
  'a registered device leaving is a trouble; a lost coordinator is a trouble until it is back',
  async (t) => {
    const { fake, kinds } = await startBus(t);
    fake.emit('disconnected');
    await eventually(() => kinds().includes('trouble'), 'the coordinator trouble');
    await eventually(() => kinds().includes('trouble-restore'), 'the coordinator restarted');
    t.deepEqual(kinds(), ['trouble', 'trouble-restore']);
    fake.emit('deviceLeave', { networkAddress: PIR.nwkAddr, ieeeAddr: PIR.ieeeAddr });
    await eventually(() => kinds().length === 3, 'the leave');
    t.deepEqual(kinds(), ['trouble', 'trouble-restore', 'trouble']);
  },
);

test.serial('a gateway armed away with a Zigbee PIR: its report is a burglary', async (t) => {
  const dataDir = tempDir('gw-zb');
  seedDatabase(path.join(dataDir, 'zigbee'), [PIR]);
  const fake = new FakeZigbeeAdapter();
  installFakeAdapter(fake);
  const running = await runGateway({
    config: parseGatewayConfig({
      siteId: 'home',
      gatewayId: 'gw-zb',
      central: { mqttUrl: 'mqtt://127.0.0.1:9', secret: 'x'.repeat(32) },
      http: { host: '127.0.0.1', port: 0 },
      zigbee: { adapter: 'zstack', path: '/dev/null' },
      areas: [{ id: 1, name: 'Home' }],
      devices: [
        {
          id: 'hall-pir',
          name: 'Hall PIR',
          bus: 'zigbee',
          address: PIR.ieeeAddr,
          type: 'motion',
          zone: 1,
          area: 1,
        },
      ],
    }),
    dataDir,
    logger: silentLogger,
    metrics: new Metrics(),
    initialMode: 'away',
  });
  t.teardown(() => running.stop());
  t.true(
    JSON.parse(readFileSync(path.join(dataDir, 'zigbee', 'network.json'), 'utf8')).networkKey.length === 16,
  );
  fake.receive(PIR.nwkAddr, 'ssIasZone', 'statusChangeNotification', {
    zonestatus: 1,
    extendedstatus: 0,
    zoneID: 23,
    delay: 0,
  });
  await eventually(() => running.gateway.outbox.pending().length === 1, 'the burglary, durable');
  t.like(running.gateway.outbox.pending()[0], { eventType: 'burglary-interior', device: { id: 'hall-pir' } });
});

test.serial('zigbee devices need a coordinator and an IEEE address', (t) => {
  const base = {
    siteId: 's',
    gatewayId: 'g',
    central: { mqttUrl: 'mqtt://x', secret: 'x'.repeat(32) },
    areas: [{ id: 1, name: 'A' }],
  };
  const pir = {
    id: 'pir',
    name: 'PIR',
    bus: 'zigbee',
    type: 'motion',
    zone: 1,
    area: 1,
    address: PIR.ieeeAddr,
  };
  t.throws(() => parseGatewayConfig({ ...base, devices: [pir] }), { message: /no "zigbee" coordinator/ });
  const zigbee = { adapter: 'ember', path: '/dev/ttyACM0' };
  t.throws(() => parseGatewayConfig({ ...base, zigbee, devices: [{ ...pir, address: '00:15:8d' }] }), {
    message: /needs its IEEE address/,
  });
  t.notThrows(() => parseGatewayConfig({ ...base, zigbee, devices: [pir] }));
});
