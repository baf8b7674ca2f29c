import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { parseGatewayConfig } from '../gateway/config.ts';
import type { DeviceSignal } from '../hardware/device-signal.ts';
import { GpioBus, GpioOutputs } from '../hardware/gpio/gpio-bus.ts';
import { ChardevLines, gpiomonArgs, parseGpiomonLine, selectGpioLines } from '../hardware/gpio/lines.ts';
import { sysfsNumber } from '../hardware/gpio/sysfs-numbering.ts';
import { classify, GpioZoneLogic, type ZoneWiring } from '../hardware/gpio/zone-logic.ts';
import { ManualClock, systemClock } from '../lib/clock.ts';
import { silentLogger } from '../lib/logger.ts';
import { Metrics } from '../lib/metrics.ts';
import { eventually, tempDir } from './helpers/central.ts';
import { gpioStubs } from './helpers/gpio-stubs.ts';

const NC_UP: ZoneWiring = { contact: 'NC', pull: 'up', debounceMs: 50, hasTamperLoop: true };

test('classification: NC/NO, pull-up/down, a tamper loop, and a cut cable', (t) => {
  const cases: Array<[Partial<ZoneWiring>, 0 | 1, 0 | 1 | null, string]> = [
    [{}, 0, 0, 'normal'],
    [{}, 1, 0, 'alarm'],
    [{}, 0, 1, 'tamper'],
    [{}, 1, 1, 'tamper'],
    [{ contact: 'NO' }, 1, 0, 'normal'],
    [{ contact: 'NO' }, 0, 0, 'alarm'],
    [{ pull: 'down' }, 1, 1, 'normal'],
    [{ pull: 'down' }, 0, 1, 'alarm'],
    [{ hasTamperLoop: false }, 1, null, 'alarm'],
  ];
  for (const [wiring, alarm, tamper, expected] of cases) {
    t.is(
      classify(alarm, tamper, { ...NC_UP, ...wiring }) as string,
      expected,
      JSON.stringify({ wiring, alarm, tamper }),
    );
  }
});

test('debounce: a bounce shorter than the debounce time is ignored; a stable change is one signal', (t) => {
  const clock = new ManualClock();
  const signals: string[] = [];
  const zone = new GpioZoneLogic(NC_UP, clock, (kind, detail) =>
    signals.push(`${kind}${detail.resync ? ' (resync)' : ''}`),
  );
  zone.initial(0, 0);
  t.deepEqual(signals, []);
  zone.level('alarm', 1);
  clock.advance(30);
  zone.level('alarm', 0);
  clock.advance(100);
  t.deepEqual(signals, [], 'a 30 ms bounce');
  zone.level('alarm', 1);
  clock.advance(49);
  t.deepEqual(signals, []);
  clock.advance(1);
  t.deepEqual(signals, ['alarm']);
  zone.level('tamper', 1);
  clock.advance(50);
  zone.level('alarm', 0);
  zone.level('tamper', 0);
  clock.advance(50);
  t.deepEqual(
    signals,
    ['alarm', 'restore', 'tamper', 'tamper-restore'],
    'open loop + tamper = tamper; both closed = normal',
  );
});

test('a zone already open at start is a resync, not news', (t) => {
  const signals: string[] = [];
  const zone = new GpioZoneLogic(NC_UP, new ManualClock(), (kind, detail) =>
    signals.push(`${kind}:${detail.resync}`),
  );
  zone.initial(1, 0);
  t.deepEqual(signals, ['alarm:true']);
});

function fakeSysfs(root: string, chips: Array<[string, string, number, number]>) {
  for (const [name, label, base, ngpio] of chips) {
    mkdirSync(path.join(root, name), { recursive: true });
    writeFileSync(path.join(root, name, 'label'), `${label}\n`);
    writeFileSync(path.join(root, name, 'base'), `${base}\n`);
    writeFileSync(path.join(root, name, 'ngpio'), `${ngpio}\n`);
  }
  return root;
}

test('sysfs numbering follows the SoC chip base (kernel 6.6+: BCM 17 is 529 on a Pi 4, 588 on a Pi 5)', (t) => {
  const pi4 = fakeSysfs(tempDir('sysfs4'), [
    ['gpiochip512', 'pinctrl-bcm2711', 512, 58],
    ['gpiochip570', 'raspberrypi-exp-gpio', 570, 8],
  ]);
  t.is(sysfsNumber(17, pi4), 529);
  const pi5 = fakeSysfs(tempDir('sysfs5'), [['gpiochip571', 'pinctrl-rp1', 571, 54]]);
  t.is(sysfsNumber(17, pi5), 588);
  const old = fakeSysfs(tempDir('sysfs-old'), [['gpiochip0', 'pinctrl-bcm2835', 0, 54]]);
  t.is(sysfsNumber(17, old), 17);
  t.throws(() => sysfsNumber(60, pi4), { message: /GPIO 60: pinctrl-bcm2711 has only 58 lines/ });
  t.throws(() => sysfsNumber(17, tempDir('empty')), { message: /GPIO 17: .* has no GPIO chips/ });
  const other = fakeSysfs(tempDir('sysfs-x'), [['gpiochip0', 'some-expander', 0, 16]]);
  t.throws(() => sysfsNumber(4, other), {
    message: /GPIO 4: no Raspberry Pi GPIO controller among gpiochip0 \(some-expander\)/,
  });
});

test('gpiomon lines and arguments, libgpiod v1 and v2', (t) => {
  t.deepEqual(parseGpiomonLine('17 rising'), { pin: 17, level: 1 });
  t.deepEqual(parseGpiomonLine('17 falling'), { pin: 17, level: 0 });
  t.deepEqual(parseGpiomonLine('4 1'), { pin: 4, level: 1 });
  t.deepEqual(parseGpiomonLine('4 0'), { pin: 4, level: 0 });
  t.is(parseGpiomonLine('garbage'), null);
  t.is(parseGpiomonLine('17 sideways'), null);
  t.deepEqual(gpiomonArgs(2, 'gpiochip0', [17, 27], 'up'), [
    '-c',
    'gpiochip0',
    '-e',
    'both',
    '-b',
    'pull-up',
    '-F',
    '%o %E',
    '17',
    '27',
  ]);
  t.deepEqual(gpiomonArgs(1, 'gpiochip0', [17], 'down'), [
    '-B',
    'pull-down',
    '-b',
    '-F',
    '%o %e',
    'gpiochip0',
    '17',
  ]);
});

for (const version of ['2.1.3', '1.6.3'] as const) {
  test(`GPIO zones through libgpiod ${version} tools: edges, tamper loop, backend death and restart`, async (t) => {
    const stubs = gpioStubs(tempDir(`gpio-${version}`), version);
    const signals: DeviceSignal[] = [];
    const bus = new GpioBus({
      zones: [
        {
          deviceId: 'back-door',
          pin: 17,
          tamperPin: 27,
          wiring: { contact: 'NC', pull: 'up', debounceMs: 20 },
        },
      ],
      open: async () => new ChardevLines({ chip: 'gpiochip0', toolsDir: stubs.dir }),
      clock: systemClock,
      logger: silentLogger,
      metrics: new Metrics(),
      restartMs: 100,
    });
    bus.onSignal((s) => signals.push(s));
    await bus.start();
    t.teardown(() => bus.stop());
    t.regex(
      stubs.read('gpioget.args'),
      version.startsWith('2') ? /-c gpiochip0 --numeric -b pull-up 17 27/ : /-B pull-up gpiochip0 17 27/,
    );
    await eventually(() => stubs.read('gpiomon.args'), 'gpiomon to start');
    const kinds = () => signals.map((s) => s.kind);

    const rising = version.startsWith('2') ? 'rising' : '1';
    const falling = version.startsWith('2') ? 'falling' : '0';
    stubs.edge(`17 ${rising}`);
    await eventually(() => kinds().includes('alarm'), 'the alarm');
    stubs.edge(`17 ${falling}`);
    await eventually(() => kinds().includes('restore'), 'the restore');
    stubs.edge(`27 ${rising}`);
    await eventually(() => kinds().includes('tamper'), 'the tamper');
    t.deepEqual(kinds(), ['alarm', 'restore', 'tamper']);
    t.like(signals[0], { deviceId: 'back-door', detail: { bus: 'gpio', pins: [17, 27] } });

    stubs.setInitial('0 0');
    stubs.edge('EXIT');
    await eventually(() => kinds().includes('trouble'), 'the trouble');
    await eventually(() => kinds().includes('trouble-restore'), 'the restart');
    t.true(kinds().includes('tamper-restore'), 'the resync after the restart saw the tamper loop closed');
  });
}

test('without GPIO the error names the pins and why', async (t) => {
  const error = await t.throwsAsync(
    selectGpioLines(
      { backend: 'auto', chip: 'gpiochip0', devDir: tempDir('nodev'), sysfsRoot: '/nonexistent' },
      [17, 27],
    ),
  );
  t.regex(error.message, /GPIO 17, 27: GPIO is not accessible here — no character device/);
  const forced = await t.throwsAsync(
    selectGpioLines({ backend: 'chardev', chip: 'gpiochip0', devDir: tempDir('nodev2') }, [4]),
  );
  t.regex(forced.message, /GPIO 4: no GPIO character device/);
});

test('the character device is chosen when it and the tools exist', async (t) => {
  const dev = tempDir('dev');
  writeFileSync(path.join(dev, 'gpiochip0'), '');
  const stubs = gpioStubs(tempDir('gpio-select'), '2.1.3');
  const lines = await selectGpioLines(
    { backend: 'auto', chip: 'gpiochip0', devDir: dev, toolsDir: stubs.dir },
    [17],
  );
  t.is(lines.name, 'chardev');
});

test('a siren on GPIO: gpioset holds the level, active-low inverted', async (t) => {
  const stubs = gpioStubs(tempDir('gpio-out'), '2.1.3');
  const lines = new ChardevLines({ chip: 'gpiochip0', toolsDir: stubs.dir });
  const outputs = new GpioOutputs(
    new Map([
      ['siren', { pin: 18, activeLow: false }],
      ['relay', { pin: 23, activeLow: true }],
    ]),
    async () => lines,
  );
  t.teardown(() => outputs.close());
  const log = () => stubs.read('gpioset.log').trim().split('\n');
  await outputs.set('siren', true);
  await eventually(() => log().includes('-c gpiochip0 18=1'), 'the siren on');
  await outputs.set('relay', true);
  await eventually(() => log().includes('-c gpiochip0 23=0'), 'the active-low relay on');
  await outputs.set('siren', false);
  await eventually(() => log().includes('-c gpiochip0 18=0'), 'the siren off');
  t.deepEqual(log(), ['-c gpiochip0 18=1', '-c gpiochip0 23=0', '-c gpiochip0 18=0']);
  await t.throwsAsync(outputs.set('nope', true), { message: /not on GPIO/ });
});

test('gpio devices need wiring, and a pin once', (t) => {
  const base = {
    siteId: 's',
    gatewayId: 'g',
    central: { mqttUrl: 'mqtt://x', secret: 'x'.repeat(32) },
    areas: [{ id: 1, name: 'A' }],
  };
  const door = { id: 'door', name: 'Door', bus: 'gpio', type: 'contact', zone: 1, area: 1 };
  t.throws(() => parseGatewayConfig({ ...base, devices: [door] }), { message: /has no "gpio" wiring/ });
  t.throws(
    () =>
      parseGatewayConfig({
        ...base,
        devices: [
          { ...door, gpio: { pin: 17, tamperPin: 27 } },
          { ...door, id: 'win', zone: 2, gpio: { pin: 27 } },
        ],
      }),
    { message: /uses GPIO 27, already used by "door"/ },
  );
  const config = parseGatewayConfig({ ...base, devices: [{ ...door, gpio: { pin: 17 } }] });
  t.like(config.devices[0]!.gpio, { pin: 17, contact: 'NC', pull: 'up', debounceMs: 50 });
});
