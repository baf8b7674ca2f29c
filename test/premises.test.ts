import test from 'ava';
import type { DeviceType } from '../gateway/config.ts';
import { parseGatewayConfig } from '../gateway/config.ts';
import {
  type ArmingMode,
  type DomainContext,
  handleSignal,
  initialPremises,
  setArming,
} from '../gateway/domain/premises.ts';
import type { DeviceSignal, SignalKind } from '../hardware/device-signal.ts';

function context(types: DeviceType[]): DomainContext {
  let n = 0;
  const devices = new Map(
    types.map((type, i) => [
      `dev-${type}`,
      { id: `dev-${type}`, name: `${type} detector`, bus: 'simulated' as const, type, zone: i + 1, area: 1 },
    ]),
  );
  return { devices, newId: () => `00000000-0000-7000-8000-${String(++n).padStart(12, '0')}` };
}

const signal = (deviceId: string, kind: SignalKind, at = 1000): DeviceSignal => ({ deviceId, kind, at });

const table: Array<[DeviceType, ArmingMode, string | null]> = [
  ['motion', 'disarmed', null],
  ['motion', 'home', null],
  ['motion', 'away', 'burglary-interior'],
  ['contact', 'disarmed', null],
  ['contact', 'home', 'burglary-perimeter'],
  ['contact', 'night', 'burglary-perimeter'],
  ['camera', 'away', 'burglary-verifier'],
  ['camera', 'disarmed', null],
  ['smoke', 'disarmed', 'smoke'],
  ['panic', 'disarmed', 'panic'],
  ['holdup', 'home', 'holdup'],
  ['medical', 'disarmed', 'medical'],
  ['tamper', 'disarmed', 'tamper'],
  ['water', 'away', 'water'],
];
for (const [type, mode, expected] of table) {
  test(`${type} alarm while ${mode} -> ${expected ?? 'no event'}`, (t) => {
    const ctx = context([type]);
    const state = initialPremises([1], mode);
    const { drafts } = handleSignal(state, signal(`dev-${type}`, 'alarm'), ctx);
    t.deepEqual(
      drafts.map((d) => d.eventType),
      expected ? [expected] : [],
    );
  });
}

test('a restore closes the alarm it relates to, once', (t) => {
  const ctx = context(['smoke']);
  const first = handleSignal(initialPremises([1]), signal('dev-smoke', 'alarm', 1000), ctx);
  const again = handleSignal(first.state, signal('dev-smoke', 'alarm', 1500), ctx);
  t.is(again.drafts.length, 0, 'a second alarm of an active condition is not a new event');
  const restored = handleSignal(again.state, signal('dev-smoke', 'restore', 2000), ctx);
  t.is(restored.drafts.length, 1);
  t.like(restored.drafts[0], {
    qualifier: 'restore',
    eventType: 'smoke',
    relatesTo: first.drafts[0]!.id,
    occurredAt: 2000,
  });
  t.is(handleSignal(restored.state, signal('dev-smoke', 'restore', 2500), ctx).drafts.length, 0);
});

test('a restore of an alarm that was ignored (disarmed) is not an event', (t) => {
  const ctx = context(['motion']);
  const state = initialPremises([1], 'disarmed');
  const triggered = handleSignal(state, signal('dev-motion', 'alarm'), ctx);
  t.is(handleSignal(triggered.state, signal('dev-motion', 'restore'), ctx).drafts.length, 0);
});

test('device supervision signals become technical events with restores', (t) => {
  const ctx = context(['motion']);
  let state = initialPremises([1]);
  const kinds: SignalKind[] = [
    'battery-low',
    'trouble',
    'tamper',
    'battery-ok',
    'trouble-restore',
    'tamper-restore',
  ];
  const produced: string[] = [];
  for (const kind of kinds) {
    const outcome = handleSignal(state, signal('dev-motion', kind), ctx);
    state = outcome.state;
    produced.push(...outcome.drafts.map((d) => `${d.eventType}:${d.qualifier}`));
  }
  t.deepEqual(produced, [
    'device-battery-low:event',
    'sensor-trouble:event',
    'sensor-tamper:event',
    'device-battery-low:restore',
    'sensor-trouble:restore',
    'sensor-tamper:restore',
  ]);
});

test('a check-in is bookkeeping, not an event', (t) => {
  const ctx = context(['motion']);
  t.is(handleSignal(initialPremises([1]), signal('dev-motion', 'check-in'), ctx).drafts.length, 0);
});

test('a signal from an unknown device is rejected with a reason and changes nothing', (t) => {
  const ctx = context(['motion']);
  const state = initialPremises([1], 'away');
  const outcome = handleSignal(state, signal('ghost', 'alarm'), ctx);
  t.is(outcome.state, state);
  t.deepEqual(outcome.drafts, []);
  t.regex(outcome.rejected ?? '', /unknown device "ghost"/);
});

test('arming and disarming are reported as closing and opening', (t) => {
  const ctx = context(['motion']);
  const armed = setArming(initialPremises([1]), 1, 'away', 'alice', 5000, ctx);
  t.is(armed.state.areas[1], 'away');
  t.like(armed.drafts[0], { eventType: 'opening-closing', qualifier: 'restore', area: 1 });
  const disarmed = setArming(armed.state, 1, 'disarmed', 'alice', 6000, ctx);
  t.like(disarmed.drafts[0], { eventType: 'opening-closing', qualifier: 'event' });
  t.is(setArming(disarmed.state, 1, 'disarmed', 'alice', 7000, ctx).drafts.length, 0);
  t.regex(setArming(disarmed.state, 7, 'away', 'alice', 7000, ctx).rejected ?? '', /unknown area 7/);
});

test('gateway config errors name the field and the device', (t) => {
  const config = {
    siteId: 'site-a',
    gatewayId: 'gw-a',
    central: { mqttUrl: 'mqtt://localhost:1883', secret: 'x'.repeat(32) },
    areas: [{ id: 1, name: 'House' }],
    devices: [
      { id: 'pir-1', name: 'PIR', bus: 'simulated', type: 'motion', zone: 1, area: 1 },
      { id: 'pir-2', name: 'PIR', bus: 'simulated', type: 'laser', zone: 2, area: 1 },
      { id: 'pir-3', name: 'PIR', bus: 'simulated', type: 'motion', zone: 3, area: 4 },
    ],
  };
  const badType = t.throws(() => parseGatewayConfig(config));
  t.regex(badType.message, /devices\.1\.type \(device pir-2\)/);
  const badArea = t.throws(() =>
    parseGatewayConfig({ ...config, devices: [config.devices[0], config.devices[2]] }),
  );
  t.regex(
    badArea.message,
    /devices\.1\.area \(device pir-3\): device "pir-3" is in area 4, which is not configured/,
  );
  t.notThrows(() => parseGatewayConfig({ ...config, devices: [config.devices[0]] }));
});
