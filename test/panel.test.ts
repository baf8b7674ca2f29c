import test from 'ava';
import { type DeviceType, type GatewayConfig, parseGatewayConfig } from '../gateway/config.ts';
import { desiredOutputs } from '../gateway/domain/output-rules.ts';
import {
  type ArmingMode,
  type EventDraft,
  initialPanel,
  keypadLocked,
  nextDeadline,
  type PanelInput,
  type PanelState,
  panelContext,
  step,
} from '../gateway/domain/panel.ts';
import type { SignalKind } from '../hardware/device-signal.ts';

const T0 = Date.UTC(2026, 10, 21, 2, 0, 0);
const S = 1000;
const MIN = 60 * S;

type DeviceSpec = { id: string; type: DeviceType } & Record<string, unknown>;

function configWith(
  devices: DeviceSpec[],
  extra: Partial<Record<keyof GatewayConfig, unknown>> = {},
): GatewayConfig {
  return parseGatewayConfig({
    siteId: 'site',
    gatewayId: 'gw',
    central: { mqttUrl: 'mqtt://localhost', secret: 'x'.repeat(32) },
    areas: [
      { id: 1, name: 'House', exitDelaySeconds: 30, entryDelaySeconds: 30 },
      { id: 2, name: 'Garage', exitDelaySeconds: 0, entryDelaySeconds: 0 },
    ],
    devices: devices.map((d, i) => ({ name: d.id, bus: 'simulated', zone: i + 1, area: 1, ...d })),
    outputs: [
      { id: 'siren-1', name: 'Siren', kind: 'siren', bus: 'simulated', areas: [1] },
      { id: 'strobe-1', name: 'Strobe', kind: 'strobe', bus: 'simulated', areas: [1, 2] },
    ],
    ...extra,
  });
}

/** Drives the pure panel with a fake clock and records everything it emits. */
class Harness {
  readonly ctx;
  state: PanelState;
  now = T0;
  readonly events: EventDraft[] = [];
  readonly notices: string[] = [];
  lastError: string | undefined;
  #n = 0;

  readonly config: GatewayConfig;

  constructor(config: GatewayConfig, modes: Record<number, ArmingMode> = {}) {
    this.config = config;
    this.ctx = panelContext(config, () => `00000000-0000-7000-8000-${String(++this.#n).padStart(12, '0')}`);
    this.state = initialPanel(this.ctx, this.now, modes);
  }

  input(input: PanelInput): this {
    const outcome = step(this.state, input, this.now, this.ctx);
    this.state = outcome.state;
    this.events.push(...outcome.drafts);
    this.notices.push(...outcome.notices.map((n) => `${n.kind}:${n.deviceId ?? n.area ?? ''}`));
    this.lastError = outcome.error;
    return this;
  }

  signal(deviceId: string, kind: SignalKind, detail?: Record<string, unknown>): this {
    return this.input({
      type: 'signal',
      signal: { deviceId, kind, at: this.now, ...(detail ? { detail } : {}) },
    });
  }

  arm(area: number, mode: 'away' | 'home' | 'night' = 'away', force = false): this {
    return this.input({ type: 'arm', area, mode, user: 'ann', force });
  }

  disarm(area: number, duress = false): this {
    return this.input({ type: 'disarm', area, user: 'ann', duress });
  }

  /** Let time pass, running every deadline on the way, as the gateway's timer does. */
  advance(ms: number): this {
    const target = this.now + ms;
    for (;;) {
      const due = nextDeadline(this.state, this.ctx, this.now);
      if (due > target) break;
      this.now = Math.max(this.now, due);
      this.input({ type: 'tick' });
    }
    this.now = target;
    return this.input({ type: 'tick' });
  }

  /** Event types with qualifier, as `type` or `type:restore`. */
  get log(): string[] {
    return this.events.map((e) => (e.qualifier === 'restore' ? `${e.eventType}:restore` : e.eventType));
  }

  take(): string[] {
    const log = this.log;
    this.events.length = 0;
    return log;
  }

  outputs(): Record<string, boolean> {
    return desiredOutputs(this.config.outputs, this.state.soundings, this.now);
  }
}

// --- Which zones count in which arming mode -------------------------------------------------

const meaning: Array<[DeviceType, ArmingMode, string | null]> = [
  ['motion', 'disarmed', null],
  ['motion', 'home', null],
  ['motion', 'night', null],
  ['motion', 'away', 'burglary-interior'],
  ['contact', 'disarmed', null],
  ['contact', 'home', 'burglary-perimeter'],
  ['contact', 'night', 'burglary-perimeter'],
  ['glassbreak', 'away', 'burglary-perimeter'],
  ['camera', 'away', 'camera-alarm'],
  ['camera', 'home', null],
  ['smoke', 'disarmed', 'smoke'],
  ['heat', 'away', 'heat'],
  ['gas', 'disarmed', 'gas'],
  ['panic', 'disarmed', 'panic'],
  ['holdup', 'home', 'holdup'],
  ['medical', 'disarmed', 'medical'],
  ['tamper', 'disarmed', 'tamper'],
  ['water', 'away', 'water'],
];
for (const [type, mode, expected] of meaning) {
  test(`${type} alarm while ${mode} -> ${expected ?? 'no event'}`, (t) => {
    const h = new Harness(configWith([{ id: 'dev', type, area: 2 }]), { 2: mode });
    h.signal('dev', 'alarm');
    t.deepEqual(h.log, expected ? [expected] : []);
  });
}

test('a restore names the alarm it restores, and a chattering detector raises one alarm', (t) => {
  const h = new Harness(configWith([{ id: 'smoke', type: 'smoke' }]));
  h.signal('smoke', 'alarm').signal('smoke', 'alarm').signal('smoke', 'restore').signal('smoke', 'restore');
  t.deepEqual(h.log, ['smoke', 'smoke:restore']);
  t.is(h.events[1]!.relatesTo, h.events[0]!.id);
});

// --- Exit and entry delays ------------------------------------------------------------------

const house = () =>
  configWith([
    { id: 'door', type: 'contact', zoneKind: 'delay' },
    { id: 'hall', type: 'motion' },
    { id: 'window', type: 'contact' },
    { id: 'smoke', type: 'smoke' },
    { id: 'lounge', type: 'motion', zone: 9, chime: true },
  ]);

test('exit delay: the way out is ignored, an instant zone is not, the closing is reported at the end', (t) => {
  const h = new Harness(house());
  h.arm(1);
  t.deepEqual(h.take(), []);
  h.advance(5 * S)
    .signal('hall', 'alarm')
    .signal('door', 'alarm')
    .advance(2 * S)
    .signal('door', 'restore')
    .signal('hall', 'restore');
  t.deepEqual(h.take(), [], 'delay and follower zones are ignored during exit');
  h.advance(23 * S);
  t.deepEqual(h.take(), ['opening-closing:restore']);
  t.is(h.state.areas[1]!.phase, 'armed');

  const h2 = new Harness(house());
  h2.arm(1)
    .advance(3 * S)
    .signal('window', 'alarm');
  t.deepEqual(h2.take(), ['burglary-perimeter'], 'an instant zone alarms even during exit');
});

test('entry delay: the door starts it, the hall follows, disarming in time prevents the alarm', (t) => {
  const h = new Harness(house(), { 1: 'away' });
  h.signal('door', 'alarm')
    .advance(2 * S)
    .signal('hall', 'alarm');
  t.deepEqual(h.take(), []);
  h.advance(20 * S).disarm(1);
  t.deepEqual(h.take(), ['opening-closing']);
  h.advance(MIN);
  t.deepEqual(h.take(), [], 'no alarm after a timely disarm');
});

test('entry delay expiry raises the alarm with the time the door opened, and sounds the siren', (t) => {
  const h = new Harness(house(), { 1: 'away' });
  const openedAt = h.now;
  h.signal('door', 'alarm').advance(29 * S);
  t.deepEqual(h.take(), []);
  t.false(h.outputs()['siren-1']);
  h.advance(1 * S);
  t.deepEqual(h.log, ['burglary-perimeter']);
  t.is(h.events[0]!.occurredAt, openedAt);
  t.deepEqual(h.outputs(), { 'siren-1': true, 'strobe-1': true });
  h.advance(179 * S);
  t.true(h.outputs()['siren-1']);
  h.advance(1 * S);
  t.false(h.outputs()['siren-1'], 'the siren stops after its duration');
});

test('a follower zone alarms at once when no entry delay runs', (t) => {
  const h = new Harness(house(), { 1: 'away' });
  h.signal('hall', 'alarm');
  t.deepEqual(h.log, ['burglary-interior']);
});

test('disarming silences the sounders of that area', (t) => {
  const h = new Harness(house(), { 1: 'away' });
  h.signal('window', 'alarm');
  t.true(h.outputs()['siren-1']);
  h.disarm(1);
  t.deepEqual(h.outputs(), { 'siren-1': false, 'strobe-1': false });
});

// --- Exit error, failed arming, bypass --------------------------------------------------------

test('exit error: reported at the end of the exit delay, alarm after the entry delay, resolved by a correct arming', (t) => {
  const h = new Harness(house());
  h.arm(1)
    .advance(5 * S)
    .signal('door', 'alarm')
    .advance(25 * S);
  t.deepEqual(h.take(), ['exit-error']);
  const exitError = h.state.areas[1]!.exitError!.eventId;
  h.advance(30 * S);
  t.deepEqual(h.take(), ['burglary-perimeter'], 'nobody disarmed: the alarm follows');

  const h2 = new Harness(house());
  h2.arm(1)
    .advance(2 * S)
    .signal('door', 'alarm')
    .advance(28 * S);
  const error2 = h2.events[0]!.id;
  h2.advance(10 * S)
    .disarm(1)
    .signal('door', 'restore')
    .arm(1)
    .advance(30 * S);
  t.deepEqual(h2.log, ['exit-error', 'opening-closing', 'opening-closing:restore']);
  t.is(h2.events[2]!.relatesTo, error2, 'the correct arming names the exit error it resolves');
  t.truthy(exitError);
});

test('arming with an open zone fails and is reported; force arming bypasses it and reports that', (t) => {
  const h = new Harness(house());
  h.signal('window', 'alarm').arm(1);
  t.regex(h.lastError ?? '', /not ready: open window \(zone 3\)/);
  t.deepEqual(h.take(), ['failed-arming']);
  t.is(h.state.areas[1]!.phase, 'disarmed');
  t.true(h.notices.includes('not-ready:1'));

  h.arm(1, 'away', true);
  t.is(h.lastError, undefined);
  t.deepEqual(h.take(), ['zone-bypass']);
  h.advance(30 * S);
  t.deepEqual(h.take(), ['opening-closing:restore']);
  h.signal('window', 'restore').signal('window', 'alarm');
  t.deepEqual(h.take(), [], 'a bypassed zone does not alarm');
  h.disarm(1);
  t.deepEqual(h.take(), ['zone-bypass:restore', 'opening-closing'], 'bypasses end at disarm');
});

test('a zone that may not be bypassed blocks even a forced arming', (t) => {
  const h = new Harness(configWith([{ id: 'vault', type: 'contact', bypassable: false }]));
  h.signal('vault', 'alarm').arm(1, 'away', true);
  t.deepEqual(h.take(), ['failed-arming']);
  h.input({ type: 'bypass', deviceId: 'vault', bypassed: true, user: 'ann' });
  t.regex(h.lastError ?? '', /cannot be bypassed/);
});

test('manual bypass only while disarmed', (t) => {
  const h = new Harness(house(), { 1: 'away' });
  h.input({ type: 'bypass', deviceId: 'window', bypassed: true, user: 'ann' });
  t.regex(h.lastError ?? '', /disarm area 1/);
  h.disarm(1).input({ type: 'bypass', deviceId: 'window', bypassed: true, user: 'ann' });
  t.deepEqual(h.take(), ['opening-closing', 'zone-bypass']);
});

// --- Chime, 24-hour zones, duress -------------------------------------------------------------

test('a chime zone chimes while disarmed and sends nothing', (t) => {
  const h = new Harness(house());
  h.signal('lounge', 'alarm');
  t.deepEqual(h.log, []);
  t.deepEqual(h.notices, ['chime:lounge']);
});

test('a duress code disarms visibly and reports duress silently', (t) => {
  const h = new Harness(house(), { 1: 'away' });
  h.disarm(1, true);
  t.deepEqual(h.log, ['duress', 'opening-closing']);
  t.is(h.state.areas[1]!.phase, 'disarmed');
  t.deepEqual(h.outputs(), { 'siren-1': false, 'strobe-1': false }, 'no sounder for duress');
});

test('hold-up and medical are silent; fire sounds whether armed or not; tamper sounds only when armed', (t) => {
  for (const [type, mode, sounds] of [
    ['holdup', 'away', false],
    ['medical', 'disarmed', false],
    ['smoke', 'disarmed', true],
    ['tamper', 'disarmed', false],
    ['tamper', 'away', true],
  ] as const) {
    const h = new Harness(configWith([{ id: 'd', type }]), { 1: mode });
    h.signal('d', 'alarm');
    t.is(h.outputs()['siren-1'], sounds, `${type} while ${mode}`);
  }
});

// --- Verification -------------------------------------------------------------------------------

const verificationSite = (extra = {}) =>
  configWith(
    [
      { id: 'pir-a', type: 'motion', zone: 1 },
      { id: 'pir-b', type: 'motion', zone: 2 },
      { id: 'pir-far', type: 'motion', zone: 7 },
      { id: 'cam', type: 'camera', zone: 8 },
      { id: 'tamper', type: 'tamper', zone: 20 },
      { id: 'pir-other', type: 'motion', zone: 3, area: 2 },
    ],
    { verification: { windowSeconds: 600, ...extra } },
  );

test('dual-zone: a second detector in a consecutive zone verifies the first alarm, which was sent at once', (t) => {
  const h = new Harness(verificationSite(), { 1: 'away', 2: 'away' });
  h.signal('pir-a', 'alarm');
  t.deepEqual(h.log, ['burglary-interior'], 'the first alarm is not held back');
  const first = h.events[0]!;
  h.advance(2 * MIN).signal('pir-b', 'alarm');
  t.deepEqual(h.log, ['burglary-interior', 'burglary-interior', 'alarm-verified']);
  const update = h.events[2]!;
  t.is(update.relatesTo, first.id);
  t.deepEqual(update.verification, {
    verified: true,
    rule: 'dual-zone',
    supportingEventIds: [h.events[1]!.id],
  });
});

const notVerified: Array<[string, (h: Harness) => void]> = [
  [
    'the same detector twice',
    (h) => h.signal('pir-a', 'alarm').signal('pir-a', 'restore').advance(MIN).signal('pir-a', 'alarm'),
  ],
  [
    'zones that are not consecutive',
    (h) => h.signal('pir-a', 'alarm').advance(MIN).signal('pir-far', 'alarm'),
  ],
  [
    'alarms further apart than the window',
    (h) =>
      h
        .signal('pir-a', 'alarm')
        .advance(11 * MIN)
        .signal('pir-b', 'alarm'),
  ],
  [
    'detectors in different areas',
    (h) => h.signal('pir-b', 'alarm').advance(MIN).signal('pir-other', 'alarm'),
  ],
];
for (const [name, run] of notVerified) {
  test(`no verification for ${name}`, (t) => {
    const h = new Harness(verificationSite(), { 1: 'away', 2: 'away' });
    run(h);
    t.false(h.log.includes('alarm-verified'));
  });
}

test('configured adjacency replaces "one apart"', (t) => {
  const h = new Harness(verificationSite({ adjacentZones: [[1, 7]] }), { 1: 'away' });
  h.signal('pir-a', 'alarm').advance(MIN).signal('pir-far', 'alarm');
  t.like(h.events.at(-1), {
    eventType: 'alarm-verified',
    verification: { verified: true, rule: 'dual-zone' },
  });
  const h2 = new Harness(verificationSite({ adjacentZones: [[1, 7]] }), { 1: 'away' });
  h2.signal('pir-a', 'alarm').advance(MIN).signal('pir-b', 'alarm');
  t.false(h2.log.includes('alarm-verified'));
});

test('a camera alarm in the same area verifies an intrusion alarm, in either order', (t) => {
  const h = new Harness(verificationSite(), { 1: 'away' });
  h.signal('cam', 'alarm').advance(MIN).signal('pir-far', 'alarm');
  t.like(h.events.at(-1), {
    eventType: 'alarm-verified',
    relatesTo: h.events[0]!.id,
    verification: { rule: 'camera' },
  });
});

test('a tamper together with another priority alarm is verified', (t) => {
  const h = new Harness(verificationSite(), { 1: 'away' });
  h.signal('tamper', 'alarm').advance(MIN).signal('pir-far', 'alarm');
  t.like(h.events.at(-1), {
    eventType: 'alarm-verified',
    relatesTo: h.events[0]!.id,
    verification: { rule: 'tamper-plus-alarm' },
  });
});

test('an alarm is verified once', (t) => {
  const h = new Harness(verificationSite(), { 1: 'away' });
  h.signal('pir-a', 'alarm').signal('pir-b', 'alarm').signal('cam', 'alarm');
  t.is(h.log.filter((e) => e === 'alarm-verified').length, 2, 'pir-a by pir-b, then pir-b by the camera');
  t.deepEqual(
    h.events.filter((e) => e.eventType === 'alarm-verified').map((e) => e.relatesTo),
    [h.events[0]!.id, h.events[1]!.id],
  );
});

// --- Supervision ------------------------------------------------------------------------------

test('a silent device is reported lost after its supervision time, restored when heard; no burglary from coming back', (t) => {
  const h = new Harness(configWith([{ id: 'pir', type: 'motion', supervisionSeconds: 3600 }]), { 1: 'away' });
  h.advance(59 * MIN)
    .signal('pir', 'check-in')
    .advance(59 * MIN);
  t.deepEqual(h.take(), [], 'check-ins keep it supervised');
  h.advance(2 * MIN);
  t.deepEqual(h.take(), ['device-supervision-loss']);
  t.is(h.events.length, 0);
  h.advance(3 * 3600 * S);
  t.deepEqual(h.take(), [], 'lost is reported once');
  h.signal('pir', 'alarm', { resync: true });
  t.deepEqual(h.take(), ['device-supervision-loss:restore'], 'a state report on reconnect is no intrusion');
  t.true(h.state.openZones.pir, 'but the zone state is up to date');
});

test('radio devices are supervised by default (70 min), wired ones not, unless configured', (t) => {
  const h = new Harness(
    configWith(
      [
        { id: 'zb-pir', type: 'motion', bus: 'zigbee', address: '0x00158d0000000001' },
        { id: 'wired-pir', type: 'motion', bus: 'gpio', gpio: { pin: 5 } },
        {
          id: 'zb-quiet',
          type: 'contact',
          bus: 'zigbee',
          address: '0x00158d0000000002',
          supervisionSeconds: null,
        },
      ],
      { zigbee: { adapter: 'zstack', path: '/dev/ttyACM0' } },
    ),
  );
  h.advance(70 * MIN - 1);
  t.deepEqual(h.take(), []);
  h.advance(1);
  t.deepEqual(h.log, ['device-supervision-loss']);
  t.is(h.events[0]!.deviceId, 'zb-pir');
});

test('mains loss is reported only after the configured delay; a quick restore reports nothing', (t) => {
  const config = configWith([{ id: 'psu', type: 'power-supply' }], {
    supervision: { mainsDelaySeconds: 900 },
  });
  const h = new Harness(config);
  h.signal('psu', 'mains-lost')
    .advance(14 * MIN)
    .signal('psu', 'mains-restored')
    .advance(30 * MIN);
  t.deepEqual(h.take(), []);
  h.signal('psu', 'mains-lost').advance(15 * MIN);
  t.deepEqual(h.log, ['mains-loss']);
  t.is(h.events[0]!.occurredAt, h.now, 'reported at the end of the delay');
  h.advance(MIN).signal('psu', 'mains-restored');
  t.deepEqual(h.take(), ['mains-loss', 'mains-loss:restore']);
  h.signal('psu', 'battery-low').signal('psu', 'battery-ok');
  t.deepEqual(
    h.take(),
    ['system-battery-low', 'system-battery-low:restore'],
    'the gateway PSU battery is the system battery',
  );
});

test('device troubles, tamper and low battery open and close conditions', (t) => {
  const h = new Harness(configWith([{ id: 'pir', type: 'motion' }]));
  for (const kind of [
    'battery-low',
    'trouble',
    'tamper',
    'battery-ok',
    'trouble-restore',
    'tamper-restore',
  ] as const) {
    h.signal('pir', kind);
  }
  t.deepEqual(h.log, [
    'device-battery-low',
    'sensor-trouble',
    'sensor-tamper',
    'device-battery-low:restore',
    'sensor-trouble:restore',
    'sensor-tamper:restore',
  ]);
});

test('a periodic test report every 24 h, marked when a trouble is present', (t) => {
  const h = new Harness(configWith([{ id: 'pir', type: 'motion' }]));
  h.advance(24 * 60 * MIN - 1);
  t.deepEqual(h.take(), []);
  h.advance(1);
  t.deepEqual(h.take(), ['periodic-test']);
  h.signal('pir', 'battery-low').take();
  h.advance(24 * 60 * MIN);
  t.deepEqual(h.take(), ['periodic-test-trouble']);
});

test('an unknown device is rejected with a reason and changes nothing', (t) => {
  const h = new Harness(configWith([{ id: 'pir', type: 'motion' }]), { 1: 'away' });
  const before = h.state;
  h.signal('ghost', 'alarm');
  t.regex(h.lastError ?? '', /unknown device "ghost"/);
  t.deepEqual(h.log, []);
  t.deepEqual(h.state.openZones, before.openZones);
});

test('a key fob arms and disarms its area, and its panic button raises a panic', (t) => {
  const h = new Harness(
    configWith([
      { id: 'fob', type: 'keyfob', name: 'Fob Ann' },
      { id: 'door', type: 'contact' },
    ]),
  );
  h.signal('fob', 'arm-away').advance(30 * S);
  t.deepEqual(h.take(), ['opening-closing:restore']);
  t.regex(h.state.areas[1]!.armedBy ?? '', /key fob Fob Ann/);
  h.signal('fob', 'disarm');
  t.deepEqual(h.take(), ['opening-closing']);
  h.signal('fob', 'alarm');
  t.deepEqual(h.take(), ['panic']);
  h.signal('door', 'arm-away');
  t.regex(h.lastError ?? '', /not a key fob/);
});

// --- Keypad, walk test -------------------------------------------------------------------------

test('five wrong codes lock the keypad and report it once; it unlocks after the lockout', (t) => {
  const h = new Harness(configWith([{ id: 'pir', type: 'motion' }]));
  for (let i = 0; i < 4; i++) h.input({ type: 'code-failure', source: 'keypad' }).advance(10 * S);
  t.false(keypadLocked(h.state, h.now));
  h.input({ type: 'code-failure', source: 'keypad' });
  t.deepEqual(h.log, ['wrong-code']);
  t.true(keypadLocked(h.state, h.now));
  h.advance(90 * S);
  t.false(keypadLocked(h.state, h.now));
});

test('walk test: triggers are shown, nothing is forwarded as an alarm, it ends by itself', (t) => {
  const h = new Harness(house());
  h.input({ type: 'walk-test', on: true, user: 'ian' });
  t.deepEqual(h.take(), ['walk-test']);
  h.signal('smoke', 'alarm').signal('hall', 'alarm').signal('window', 'tamper').signal('hall', 'alarm');
  // Each device's first trigger is logged for the central (never an alarm); repeats are not.
  t.deepEqual(
    h.events.map((e) => `${e.eventType}:${e.deviceId}`),
    ['walk-test:smoke', 'walk-test:hall', 'walk-test:window'],
  );
  h.take();
  t.deepEqual(h.notices, [
    'walk-test-trigger:smoke',
    'walk-test-trigger:hall',
    'walk-test-trigger:window',
    'walk-test-trigger:hall',
  ]);
  h.arm(1);
  t.regex(h.lastError ?? '', /walk test is running/);
  h.advance(30 * MIN);
  t.deepEqual(h.log, ['walk-test:restore']);
  t.regex(h.events[0]!.text, /expired: 3 of 5 devices triggered/);
});

test('a walk test needs every area disarmed', (t) => {
  const h = new Harness(house(), { 1: 'away' });
  h.input({ type: 'walk-test', on: true, user: 'ian' });
  t.regex(h.lastError ?? '', /disarm every area/);
});

test('the next deadline is the earliest timer', (t) => {
  const h = new Harness(house());
  t.is(nextDeadline(h.state, h.ctx, h.now), T0 + 24 * 3600 * S, 'only the periodic test');
  h.arm(1);
  t.is(nextDeadline(h.state, h.ctx, h.now), T0 + 30 * S, 'the exit delay');
});
