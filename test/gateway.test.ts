import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { hashCode } from '../gateway/auth/user-codes.ts';
import { parseGatewayConfig } from '../gateway/config.ts';
import { openConfigStore } from '../gateway/config-store.ts';
import { Gateway } from '../gateway/gateway.ts';
import { SimulatedOutputs } from '../hardware/outputs.ts';
import { ManualClock } from '../lib/clock.ts';
import { silentLogger } from '../lib/logger.ts';
import { Metrics } from '../lib/metrics.ts';
import { tempDir } from './helpers/central.ts';

const CODES = { ann: '2468', annDuress: '2469', ian: '975310' };

async function configFile(dir: string) {
  const config = {
    siteId: 'site-gw',
    gatewayId: 'gw-1',
    // Nothing listens here: these tests are about the premises, the uplink just keeps retrying.
    central: { mqttUrl: 'mqtt://127.0.0.1:9', secret: 'x'.repeat(32) },
    areas: [{ id: 1, name: 'House', exitDelaySeconds: 30, entryDelaySeconds: 20 }],
    devices: [
      {
        id: 'door',
        name: 'Front door',
        bus: 'simulated',
        type: 'contact',
        zoneKind: 'delay',
        zone: 1,
        area: 1,
      },
      { id: 'hall', name: 'Hall PIR', bus: 'simulated', type: 'motion', zone: 2, area: 1 },
    ],
    outputs: [{ id: 'siren', name: 'Siren', kind: 'siren', bus: 'simulated', areas: [1] }],
    users: [
      {
        id: 'ann',
        name: 'Ann',
        role: 'master',
        codeHash: await hashCode(CODES.ann),
        duressCodeHash: await hashCode(CODES.annDuress),
        areas: [1],
      },
      {
        id: 'ian',
        name: 'Ian (installer)',
        role: 'installer',
        codeHash: await hashCode(CODES.ian),
        areas: [1],
      },
    ],
  };
  const file = path.join(dir, 'config.json');
  writeFileSync(file, JSON.stringify(config));
  return file;
}

async function startGateway(t: ExecutionContext) {
  const dir = tempDir('gw-shell');
  const file = await configFile(dir);
  const store = await openConfigStore(file);
  const clock = new ManualClock(Date.UTC(2026, 10, 21, 22, 0, 0));
  const outputs = new SimulatedOutputs();
  const metrics = new Metrics();
  const gateway = new Gateway({
    config: store.read(),
    configStore: store,
    dataDir: dir,
    clock,
    logger: silentLogger,
    metrics,
    outputs,
  });
  await gateway.start();
  t.teardown(() => gateway.stop());
  const advance = async (ms: number) => {
    clock.advance(ms);
    await gateway.settled();
  };
  const sent = () =>
    gateway.outbox.pending().map((e) => (e.qualifier === 'restore' ? `${e.eventType}:restore` : e.eventType));
  return { gateway, clock, outputs, metrics, advance, sent, file, dir };
}

const keypad = (code: string) => ({ code, source: 'test keypad' });

test('arming and disarming need a valid code; the events are durable in the outbox', async (t) => {
  const { gateway, advance, sent } = await startGateway(t);
  t.like(await gateway.arm(1, 'away', keypad('0000')), { ok: false, status: 401 });
  t.deepEqual(await gateway.arm(1, 'away', keypad(CODES.ann)), { ok: true });
  await advance(30_000);
  t.deepEqual(sent(), ['opening-closing:restore']);
  t.is(gateway.panel.areas[1]!.phase, 'armed');
  t.deepEqual(await gateway.disarm(1, keypad(CODES.ann)), { ok: true });
  t.deepEqual(sent(), ['opening-closing:restore', 'opening-closing']);
  t.regex(gateway.outbox.pending()[1]!.text, /disarmed by Ann/);
  await gateway.stop();
});

test('the duress code disarms and silently sends a duress event', async (t) => {
  const { gateway, advance, sent, outputs } = await startGateway(t);
  await gateway.arm(1, 'away', keypad(CODES.ann));
  await advance(30_000);
  t.deepEqual(await gateway.disarm(1, keypad(CODES.annDuress)), { ok: true });
  t.deepEqual(sent(), ['opening-closing:restore', 'duress', 'opening-closing']);
  t.is(gateway.panel.areas[1]!.phase, 'disarmed');
  t.deepEqual(outputs.history, []);
  await gateway.stop();
});

test('five wrong codes lock the keypad, send one wrong-code alarm, and refuse even the right code', async (t) => {
  const { gateway, advance, sent, metrics } = await startGateway(t);
  for (let i = 0; i < 5; i++) t.like(await gateway.disarm(1, keypad('1111')), { ok: false, status: 401 });
  t.deepEqual(sent(), ['wrong-code']);
  t.like(await gateway.disarm(1, keypad(CODES.ann)), { ok: false, status: 423 });
  t.is(metrics.get('gateway_code_refused_total', { reason: 'wrong' }), 5);
  await advance(90_000);
  t.deepEqual(await gateway.arm(1, 'away', keypad(CODES.ann)), { ok: true });
  await gateway.stop();
});

test('an entry without disarming sounds the siren for its duration, driven by the clock', async (t) => {
  const { gateway, advance, sent, outputs } = await startGateway(t);
  await gateway.arm(1, 'away', keypad(CODES.ann));
  await advance(30_000);
  gateway.simulatedBus.inject('door', 'alarm');
  await gateway.settled();
  await advance(19_000);
  t.deepEqual(outputs.history, []);
  await advance(1_000);
  t.deepEqual(sent(), ['opening-closing:restore', 'burglary-perimeter']);
  t.deepEqual(outputs.history, [{ outputId: 'siren', on: true }]);
  await advance(180_000);
  t.deepEqual(outputs.history, [
    { outputId: 'siren', on: true },
    { outputId: 'siren', on: false },
  ]);
  await gateway.stop();
});

test('a user without the installer role cannot run a walk test or change devices', async (t) => {
  const { gateway } = await startGateway(t);
  t.like(await gateway.walkTest(true, keypad(CODES.ann)), { ok: false, status: 403 });
  t.like(
    await gateway.saveDevice(
      {
        id: 'x',
        name: 'X',
        bus: 'simulated',
        type: 'smoke',
        zone: 5,
        area: 1,
        chime: false,
        bypassable: true,
        supervisionSeconds: null,
      },
      keypad(CODES.ann),
    ),
    { ok: false, status: 403 },
  );
  await gateway.stop();
});

test('installer: a device added is saved to the config file, live at once, walk-tested, and in the commissioning report', async (t) => {
  const { gateway, sent, file } = await startGateway(t);
  const smoke = {
    id: 'kitchen-smoke',
    name: 'Kitchen smoke',
    bus: 'simulated' as const,
    type: 'smoke' as const,
    zone: 3,
    area: 1,
    chime: false,
    bypassable: true,
    supervisionSeconds: 3600,
  };
  t.deepEqual(await gateway.saveDevice(smoke, keypad(CODES.ian)), { ok: true });
  const saved = JSON.parse(readFileSync(file, 'utf8'));
  t.true(saved.devices.some((d: { id: string }) => d.id === 'kitchen-smoke'));
  const clash = await gateway.saveDevice({ ...smoke, id: 'clash', zone: 1 }, keypad(CODES.ian));
  t.like(clash, { ok: false, status: 400 });
  t.regex(
    clash.ok ? '' : clash.error,
    /devices\.3\.zone \(device clash\): device "clash" uses zone 1, already used by "door"/,
  );

  let report = gateway.commissioning();
  t.false(report.ready);
  t.true(report.warnings.some((w) => /not walk-tested: door, hall, kitchen-smoke/.test(w)));

  t.deepEqual(await gateway.walkTest(true, keypad(CODES.ian)), { ok: true });
  for (const id of ['door', 'hall', 'kitchen-smoke']) gateway.simulatedBus.inject(id, 'alarm');
  await gateway.settled();
  t.deepEqual(await gateway.walkTest(false, keypad(CODES.ian)), { ok: true });
  t.deepEqual(
    sent(),
    ['walk-test', 'walk-test', 'walk-test', 'walk-test', 'walk-test:restore'],
    'start, one log per device triggered, end: nothing was forwarded as an alarm',
  );
  report = gateway.commissioning();
  t.true(report.devices.every((d) => d.walkTested));
  t.false(report.warnings.some((w) => /walk-tested/.test(w)));
  t.deepEqual(
    gateway.recentNotices().map((n) => `${n.kind}:${n.deviceId}`),
    ['walk-test-trigger:door', 'walk-test-trigger:hall', 'walk-test-trigger:kitchen-smoke'],
  );

  t.deepEqual(await gateway.removeDevice('kitchen-smoke', keypad(CODES.ian)), { ok: true });
  t.throws(() => gateway.simulatedBus.inject('kitchen-smoke', 'alarm'), {
    message: /unknown simulated device/,
  });
  await gateway.stop();
});

test('arming state survives a restart', async (t) => {
  const first = await startGateway(t);
  await first.gateway.arm(1, 'home', keypad(CODES.ann));
  await first.advance(30_000);
  await first.gateway.stop();
  const store = await openConfigStore(first.file);
  const again = new Gateway({
    config: store.read(),
    configStore: store,
    dataDir: first.dir,
    clock: new ManualClock(),
    logger: silentLogger,
    metrics: new Metrics(),
  });
  await again.start();
  t.teardown(() => again.stop());
  t.like(again.panel.areas[1], { mode: 'home', phase: 'armed' });
  t.is(again.outbox.depth, 1, 'the unacked closing is still in the outbox');
  await again.stop();
});

test('config errors name the device and the field', (t) => {
  const error = t.throws(() =>
    parseGatewayConfig({
      siteId: 's',
      gatewayId: 'g',
      central: { mqttUrl: 'mqtt://x', secret: 'x'.repeat(32) },
      areas: [{ id: 1, name: 'A' }],
      devices: [{ id: 'pir', name: 'PIR', bus: 'simulated', type: 'laser', zone: 1, area: 1 }],
    }),
  );
  t.regex(error.message, /devices\.0\.type \(device pir\)/);
});
