import type { DeviceSignal, SignalKind } from '../../hardware/device-signal.ts';
import { EVENT_TYPES, type EventTypeName } from '../../protocols/event-codes.ts';
import type { AlarmEvent } from '../../protocols/messages.ts';
import {
  type AreaConfig,
  type DeviceConfig,
  type DeviceType,
  type GatewayConfig,
  INTRUSION_TYPES,
  type OutputRule,
  supervisionSeconds,
  type ZoneKind,
} from '../config.ts';
import { DEFAULT_OUTPUT_RULES, type Sounding, soundingsFor } from './output-rules.ts';
import {
  adjacencyFrom,
  findVerification,
  pruneRemembered,
  type RememberedAlarm,
  type VerificationRules,
} from './verification.ts';

/**
 * The premises' intrusion and fire panel, pure: step(state, input, now) -> (state, event drafts).
 *
 * Every timer is a deadline kept in the state (exit and entry delays, supervision silence, the
 * mains delay, the periodic test, walk-test expiry, sounder stretches). `step` first runs every
 * deadline due by `now`, in time order, then applies the input; `nextDeadline` tells the I/O shell
 * when to call again with a `tick`. A fake clock therefore drives every timer in the tests.
 */
export type ArmedMode = 'away' | 'home' | 'night';
export type ArmingMode = 'disarmed' | ArmedMode;

export interface AreaState {
  readonly mode: ArmingMode;
  readonly phase: 'disarmed' | 'exit' | 'armed' | 'entry';
  /** End of the running exit or entry delay. */
  readonly deadline: number | null;
  readonly armedBy: string | null;
  /** The delay zone whose opening started the entry delay, and when. */
  readonly entry: { readonly deviceId: string; readonly at: number } | null;
  /** The exit error that a correct arming soon after resolves. */
  readonly exitError: { readonly eventId: string; readonly at: number } | null;
}

export interface PanelState {
  readonly startedAt: number;
  readonly areas: Readonly<Record<number, AreaState>>;
  readonly openZones: Readonly<Record<string, true>>;
  /** Bypassed device ids, with whether arming bypassed them automatically (force arm). */
  readonly bypassed: Readonly<Record<string, 'manual' | 'forced'>>;
  /** Open conditions (`deviceId:eventType`) with the id of the event that opened them. */
  readonly active: Readonly<Record<string, string>>;
  readonly remembered: readonly RememberedAlarm[];
  readonly verified: readonly string[];
  readonly lastSeen: Readonly<Record<string, number>>;
  /** Mains lost but not yet reported: device id -> report time. */
  readonly mainsPending: Readonly<Record<string, number>>;
  readonly nextTestAt: number;
  readonly soundings: readonly Sounding[];
  readonly walkTest: { readonly until: number; readonly triggered: Readonly<Record<string, number>> } | null;
  readonly keypad: { readonly failures: readonly number[]; readonly lockedUntil: number | null };
}

export type PanelInput =
  | { readonly type: 'tick' }
  | { readonly type: 'signal'; readonly signal: DeviceSignal }
  | {
      readonly type: 'arm';
      readonly area: number;
      readonly mode: ArmedMode;
      readonly user: string;
      readonly force: boolean;
    }
  | { readonly type: 'disarm'; readonly area: number; readonly user: string; readonly duress: boolean }
  | { readonly type: 'bypass'; readonly deviceId: string; readonly bypassed: boolean; readonly user: string }
  | { readonly type: 'code-failure'; readonly source: string }
  | { readonly type: 'walk-test'; readonly on: boolean; readonly user: string };

export type EventDraft = Pick<
  AlarmEvent,
  'id' | 'eventType' | 'qualifier' | 'zone' | 'area' | 'relatesTo' | 'text' | 'verification'
> & { readonly deviceId: string | null; readonly occurredAt: number };

/** Something a person on site should see that is not an event for the central. */
export interface Notice {
  readonly kind: 'chime' | 'walk-test-trigger' | 'not-ready';
  readonly deviceId?: string;
  readonly area?: number;
  readonly detail?: string;
}

export interface Outcome {
  readonly state: PanelState;
  readonly drafts: readonly EventDraft[];
  readonly notices: readonly Notice[];
  /** Why the input was not carried out (the drafts may still report it, e.g. a failed arming). */
  readonly error?: string;
}

/** The parts of the gateway config the panel needs, indexed once. */
export interface PanelContext {
  readonly devices: ReadonlyMap<string, DeviceConfig>;
  readonly areas: ReadonlyMap<number, AreaConfig>;
  readonly outputRules: readonly OutputRule[];
  readonly verification: VerificationRules;
  readonly mainsDelayMs: number;
  readonly periodicTestMs: number;
  readonly walkTestMs: number;
  readonly keypad: { readonly maxFailures: number; readonly lockoutMs: number };
  readonly newId: () => string;
}

export function panelContext(config: GatewayConfig, newId: () => string): PanelContext {
  return {
    devices: new Map(config.devices.map((d) => [d.id, d])),
    areas: new Map(config.areas.map((a) => [a.id, a])),
    outputRules: config.outputRules ?? DEFAULT_OUTPUT_RULES,
    verification: {
      windowMs: config.verification.windowSeconds * 1000,
      adjacent: adjacencyFrom(config.verification.adjacentZones),
    },
    mainsDelayMs: config.supervision.mainsDelaySeconds * 1000,
    periodicTestMs: config.supervision.periodicTestHours * 3_600_000,
    walkTestMs: config.walkTestMinutes * 60_000,
    keypad: { maxFailures: config.keypad.maxFailures, lockoutMs: config.keypad.lockoutSeconds * 1000 },
    newId,
  };
}

/** A correct arming this soon after an exit error resolves it (SPEC §5 "follows immediately"). */
const EXIT_ERROR_RESOLVE_MS = 10 * 60_000;
/** Wrong codes further apart than this do not add up to a lockout. */
const KEYPAD_FAILURE_WINDOW_MS = 10 * 60_000;

/** What an alarm of each device type means, and in which armed modes an intrusion type counts. */
const ALARM_MEANING: Record<
  DeviceType,
  { eventType: EventTypeName; countsIn: readonly ArmedMode[] | 'always' }
> = {
  motion: { eventType: 'burglary-interior', countsIn: ['away'] },
  contact: { eventType: 'burglary-perimeter', countsIn: ['away', 'home', 'night'] },
  glassbreak: { eventType: 'burglary-perimeter', countsIn: ['away', 'home', 'night'] },
  camera: { eventType: 'camera-alarm', countsIn: ['away', 'night'] },
  smoke: { eventType: 'smoke', countsIn: 'always' },
  heat: { eventType: 'heat', countsIn: 'always' },
  gas: { eventType: 'gas', countsIn: 'always' },
  water: { eventType: 'water', countsIn: 'always' },
  panic: { eventType: 'panic', countsIn: 'always' },
  holdup: { eventType: 'holdup', countsIn: 'always' },
  medical: { eventType: 'medical', countsIn: 'always' },
  tamper: { eventType: 'tamper', countsIn: 'always' },
  'power-supply': { eventType: 'mains-loss', countsIn: 'always' },
  // A key fob's panic button.
  keyfob: { eventType: 'panic', countsIn: 'always' },
};

/** Key fob buttons arm and disarm the fob's area; whoever holds a paired fob is its user. */
const FOB_BUTTONS: Partial<Record<SignalKind, ArmedMode | 'disarmed'>> = {
  'arm-away': 'away',
  'arm-home': 'home',
  'arm-night': 'night',
  disarm: 'disarmed',
};

const DEFAULT_ZONE_KIND: Partial<Record<DeviceType, ZoneKind>> = {
  contact: 'instant',
  glassbreak: 'instant',
  motion: 'follower',
  camera: 'follower',
};

/** Supervision signals: the condition they open or close. Battery of the gateway's own PSU is the system battery. */
const CONDITIONS: Partial<Record<SignalKind, { eventType: EventTypeName; opens: boolean }>> = {
  tamper: { eventType: 'sensor-tamper', opens: true },
  'tamper-restore': { eventType: 'sensor-tamper', opens: false },
  'battery-low': { eventType: 'device-battery-low', opens: true },
  'battery-ok': { eventType: 'device-battery-low', opens: false },
  trouble: { eventType: 'sensor-trouble', opens: true },
  'trouble-restore': { eventType: 'sensor-trouble', opens: false },
};

const UNVERIFIED: EventDraft['verification'] = { verified: false, rule: null, supportingEventIds: [] };

export function zoneKind(device: DeviceConfig): ZoneKind | null {
  if (!INTRUSION_TYPES.includes(device.type)) return null;
  return device.zoneKind ?? DEFAULT_ZONE_KIND[device.type] ?? 'instant';
}

function countsIn(device: DeviceConfig, mode: ArmingMode): boolean {
  const meaning = ALARM_MEANING[device.type].countsIn;
  return meaning === 'always' || (mode !== 'disarmed' && meaning.includes(mode));
}

const DISARMED: AreaState = {
  mode: 'disarmed',
  phase: 'disarmed',
  deadline: null,
  armedBy: null,
  entry: null,
  exitError: null,
};

export function initialPanel(
  ctx: PanelContext,
  now: number,
  modes: Readonly<Record<number, ArmingMode>> = {},
): PanelState {
  const areas: Record<number, AreaState> = {};
  for (const id of ctx.areas.keys()) {
    const mode = modes[id] ?? 'disarmed';
    areas[id] = mode === 'disarmed' ? DISARMED : { ...DISARMED, mode, phase: 'armed', armedBy: 'restart' };
  }
  return {
    startedAt: now,
    areas,
    openZones: {},
    bypassed: {},
    active: {},
    remembered: [],
    verified: [],
    lastSeen: {},
    mainsPending: {},
    nextTestAt: now + ctx.periodicTestMs,
    soundings: [],
    walkTest: null,
    keypad: { failures: [], lockedUntil: null },
  };
}

/** A mutable working copy for one step: the state plus what the step produced. */
class Step {
  state: PanelState;
  readonly ctx: PanelContext;
  now: number;
  readonly drafts: EventDraft[] = [];
  readonly notices: Notice[] = [];
  error: string | undefined;

  constructor(state: PanelState, ctx: PanelContext, now: number) {
    this.state = state;
    this.ctx = ctx;
    this.now = now;
  }

  set(patch: Partial<PanelState>): void {
    this.state = { ...this.state, ...patch };
  }

  setArea(id: number, patch: Partial<AreaState>): void {
    const area = this.state.areas[id] ?? DISARMED;
    this.set({ areas: { ...this.state.areas, [id]: { ...area, ...patch } } });
  }

  emit(
    eventType: EventTypeName,
    qualifier: 'event' | 'restore',
    where: { deviceId: string | null; zone: number; area: number },
    text: string,
    relatesTo: string | null = null,
    verification: EventDraft['verification'] = UNVERIFIED,
    occurredAt = this.now,
  ): EventDraft {
    const draft: EventDraft = {
      id: this.ctx.newId(),
      eventType,
      qualifier,
      ...where,
      relatesTo,
      text,
      verification,
      occurredAt,
    };
    this.drafts.push(draft);
    return draft;
  }

  outcome(): Outcome {
    return {
      state: this.state,
      drafts: this.drafts,
      notices: this.notices,
      ...(this.error ? { error: this.error } : {}),
    };
  }
}

export function step(state: PanelState, input: PanelInput, now: number, ctx: PanelContext): Outcome {
  const s = new Step(state, ctx, now);
  runDeadlines(s, now);
  s.now = now;
  switch (input.type) {
    case 'tick':
      break;
    case 'signal':
      onSignal(s, input.signal);
      break;
    case 'arm':
      arm(s, input.area, input.mode, input.user, input.force);
      break;
    case 'disarm':
      disarm(s, input.area, input.user, input.duress);
      break;
    case 'bypass':
      bypass(s, input.deviceId, input.bypassed, input.user);
      break;
    case 'code-failure':
      codeFailure(s, input.source);
      break;
    case 'walk-test':
      walkTest(s, input.on, input.user);
      break;
  }
  s.set({ soundings: s.state.soundings.filter((x) => x.until > now) });
  return s.outcome();
}

// ---------------------------------------------------------------------------------------------
// Deadlines

interface Due {
  readonly at: number;
  readonly run: (s: Step) => void;
}

function dueList(state: PanelState, ctx: PanelContext): Due[] {
  const due: Due[] = [];
  for (const [id, area] of Object.entries(state.areas)) {
    if (area.deadline === null) continue;
    const areaId = Number(id);
    due.push({
      at: area.deadline,
      run: (s) => (area.phase === 'exit' ? finishExit(s, areaId) : entryExpired(s, areaId)),
    });
  }
  for (const device of ctx.devices.values()) {
    const timeout = supervisionSeconds(device);
    if (timeout === null || state.active[`${device.id}:device-supervision-loss`]) continue;
    const at = (state.lastSeen[device.id] ?? state.startedAt) + timeout * 1000;
    due.push({ at, run: (s) => supervisionLost(s, device) });
  }
  for (const [deviceId, at] of Object.entries(state.mainsPending)) {
    due.push({ at, run: (s) => mainsReport(s, deviceId) });
  }
  due.push({ at: state.nextTestAt, run: periodicTest });
  if (state.walkTest) due.push({ at: state.walkTest.until, run: (s) => endWalkTest(s, 'expired') });
  return due;
}

/** The earliest moment after `now` when `step` has work to do without input (deadlines, sounder changes). */
export function nextDeadline(state: PanelState, ctx: PanelContext, now: number): number {
  const times = dueList(state, ctx).map((d) => d.at);
  for (const s of state.soundings) times.push(s.from, s.until);
  return Math.min(...times.filter((t) => t > now));
}

function runDeadlines(s: Step, now: number): void {
  for (let guard = 0; guard < 10_000; guard++) {
    const next = dueList(s.state, s.ctx)
      .filter((d) => d.at <= now)
      .sort((a, b) => a.at - b.at)[0];
    if (!next) return;
    s.now = next.at;
    next.run(s);
  }
  throw new Error('panel deadlines did not settle');
}

// ---------------------------------------------------------------------------------------------
// Signals

function onSignal(s: Step, signal: DeviceSignal): void {
  const device = s.ctx.devices.get(signal.deviceId);
  if (!device) {
    s.error = `unknown device "${signal.deviceId}"`;
    return;
  }
  s.set({ lastSeen: { ...s.state.lastSeen, [device.id]: s.now } });
  const lost = s.state.active[`${device.id}:device-supervision-loss`];
  if (lost) closeCondition(s, device, 'device-supervision-loss', signal.at);

  if (s.state.walkTest && (signal.kind === 'alarm' || signal.kind === 'tamper')) {
    // The first trigger of each device goes to the central too: the installer portal's live view and
    // the central's commissioning report. Logged there, never an alarm.
    if (s.state.walkTest.triggered[device.id] === undefined) {
      s.emit(
        'walk-test',
        'event',
        { deviceId: device.id, zone: device.zone, area: device.area },
        `walk test: ${device.name} (${signal.kind})`,
      );
    }
    const triggered = { ...s.state.walkTest.triggered, [device.id]: s.now };
    s.set({ walkTest: { ...s.state.walkTest, triggered } });
    s.notices.push({
      kind: 'walk-test-trigger',
      deviceId: device.id,
      area: device.area,
      detail: signal.kind,
    });
    trackZone(s, device, signal.kind);
    return;
  }
  // A state report after a reconnect (resync) brings the zone state up to date; it is not a new
  // violation. A device that was briefly unavailable never raises a burglary alarm by coming back.
  if (signal.detail?.resync === true) {
    trackZone(s, device, signal.kind);
    return;
  }

  switch (signal.kind) {
    case 'alarm':
      trackZone(s, device, 'alarm');
      zoneViolated(s, device, signal.at);
      return;
    case 'restore':
      trackZone(s, device, 'restore');
      closeCondition(s, device, ALARM_MEANING[device.type].eventType, signal.at);
      return;
    case 'mains-lost':
      mainsLost(s, device, signal.at);
      return;
    case 'mains-restored':
      mainsRestored(s, device, signal.at);
      return;
    case 'check-in':
      return;
  }
  const button = FOB_BUTTONS[signal.kind];
  if (button) {
    if (device.type !== 'keyfob') {
      s.error = `${device.name} is not a key fob`;
      return;
    }
    const user = `key fob ${device.name}`;
    if (button === 'disarmed') disarm(s, device.area, user, false);
    else arm(s, device.area, button, user, false);
    return;
  }
  const condition = CONDITIONS[signal.kind];
  if (!condition) return;
  const eventType =
    device.type === 'power-supply' && condition.eventType === 'device-battery-low'
      ? 'system-battery-low'
      : condition.eventType;
  if (condition.opens) openCondition(s, device, eventType, signal.at);
  else closeCondition(s, device, eventType, signal.at);
}

function trackZone(s: Step, device: DeviceConfig, kind: SignalKind): void {
  if (kind !== 'alarm' && kind !== 'restore') return;
  const { [device.id]: _was, ...others } = s.state.openZones;
  s.set({ openZones: kind === 'alarm' ? { ...others, [device.id]: true } : others });
}

function zoneViolated(s: Step, device: DeviceConfig, at: number): void {
  const area = s.state.areas[device.area] ?? DISARMED;
  const kind = zoneKind(device);
  if (kind === null) {
    openCondition(s, device, ALARM_MEANING[device.type].eventType, at);
    return;
  }
  if (area.phase === 'disarmed') {
    if (device.chime) s.notices.push({ kind: 'chime', deviceId: device.id, area: device.area });
    return;
  }
  if (s.state.bypassed[device.id] || !countsIn(device, area.mode)) return;
  if (area.phase === 'exit' && kind !== 'instant') return;
  if (area.phase === 'entry' && kind !== 'instant') return;
  if (area.phase === 'armed' && kind === 'delay') {
    const entryMs = (s.ctx.areas.get(device.area)?.entryDelaySeconds ?? 0) * 1000;
    if (entryMs > 0) {
      s.setArea(device.area, {
        phase: 'entry',
        deadline: s.now + entryMs,
        entry: { deviceId: device.id, at },
      });
      return;
    }
  }
  openCondition(s, device, ALARM_MEANING[device.type].eventType, at);
}

function entryExpired(s: Step, areaId: number): void {
  const area = s.state.areas[areaId]!;
  s.setArea(areaId, { phase: 'armed', deadline: null, entry: null });
  const device = area.entry ? s.ctx.devices.get(area.entry.deviceId) : undefined;
  if (device) openCondition(s, device, ALARM_MEANING[device.type].eventType, area.entry!.at);
}

function isArmed(s: Step, areaId: number): boolean {
  const phase = s.state.areas[areaId]?.phase;
  return phase === 'armed' || phase === 'entry';
}

/** Raise an event for a condition unless it is already open; sound, remember and verify it. */
function openCondition(s: Step, device: DeviceConfig, eventType: EventTypeName, at: number): void {
  const key = `${device.id}:${eventType}`;
  if (s.state.active[key]) return;
  const draft = s.emit(
    eventType,
    'event',
    { deviceId: device.id, zone: device.zone, area: device.area },
    device.name,
    null,
    UNVERIFIED,
    at,
  );
  s.set({ active: { ...s.state.active, [key]: draft.id } });
  sound(s, eventType, device.area, draft.id);
  verify(s, draft, device);
}

function closeCondition(s: Step, device: DeviceConfig, eventType: EventTypeName, at: number): void {
  const key = `${device.id}:${eventType}`;
  const openedBy = s.state.active[key];
  if (!openedBy) return;
  const { [key]: _closed, ...active } = s.state.active;
  s.set({ active });
  s.emit(
    eventType,
    'restore',
    { deviceId: device.id, zone: device.zone, area: device.area },
    device.name,
    openedBy,
    UNVERIFIED,
    at,
  );
}

function sound(s: Step, eventType: EventTypeName, area: number, eventId: string): void {
  const armed =
    area === 0 ? Object.keys(s.state.areas).some((id) => isArmed(s, Number(id))) : isArmed(s, area);
  const added = soundingsFor(s.ctx.outputRules, eventType, area, armed, s.now, eventId);
  if (added.length > 0) s.set({ soundings: [...s.state.soundings, ...added] });
}

/** How an event counts for verification: by what it reports, not by which device reported it. */
function rememberedKind(eventType: EventTypeName): RememberedAlarm['kind'] | null {
  if (eventType === 'tamper' || eventType === 'sensor-tamper') return 'tamper';
  if (eventType === 'camera-alarm') return 'camera';
  if (eventType.startsWith('burglary')) return 'intrusion';
  const type = EVENT_TYPES[eventType];
  return type.handling === 'alarm' && (type.class === 'security' || type.class === 'safety')
    ? 'priority'
    : null;
}

function verify(s: Step, draft: EventDraft, device: DeviceConfig): void {
  const kind = rememberedKind(draft.eventType);
  if (!kind) return;
  const windowMs = s.ctx.verification.windowMs;
  const incoming: RememberedAlarm = {
    eventId: draft.id,
    deviceId: device.id,
    zone: device.zone,
    area: device.area,
    at: s.now,
    kind,
  };
  const remembered = pruneRemembered(s.state.remembered, s.now, windowMs);
  const finding = findVerification(remembered, incoming, new Set(s.state.verified), s.ctx.verification);
  s.set({ remembered: [...remembered, incoming] });
  if (!finding) return;
  const { target, supporting, rule } = finding;
  s.set({ verified: [...s.state.verified, target.eventId] });
  s.emit(
    'alarm-verified',
    'event',
    { deviceId: target.deviceId, zone: target.zone, area: target.area },
    `verified (${rule})`,
    target.eventId,
    { verified: true, rule, supportingEventIds: supporting.map((a) => a.eventId) },
  );
}

// ---------------------------------------------------------------------------------------------
// Arming

function faultedZones(s: Step, areaId: number, mode: ArmingMode): DeviceConfig[] {
  return [...s.ctx.devices.values()].filter(
    (d) =>
      d.area === areaId &&
      zoneKind(d) !== null &&
      countsIn(d, mode) &&
      s.state.openZones[d.id] &&
      !s.state.bypassed[d.id],
  );
}

function arm(s: Step, areaId: number, mode: ArmedMode, user: string, force: boolean): void {
  const area = s.state.areas[areaId];
  if (!area) {
    s.error = `unknown area ${areaId}`;
    return;
  }
  if (s.state.walkTest) {
    s.error = 'a walk test is running';
    return;
  }
  if (area.phase !== 'disarmed') {
    if (area.mode !== mode) s.error = `area ${areaId} is already armed ${area.mode}; disarm first`;
    return;
  }
  const faulted = faultedZones(s, areaId, mode);
  const blocking = faulted.filter((d) => !force || !d.bypassable);
  if (blocking.length > 0) {
    const names = blocking.map((d) => `${d.name} (zone ${d.zone})`).join(', ');
    s.error = `not ready: open ${names}`;
    s.notices.push({ kind: 'not-ready', area: areaId, detail: names });
    const first = blocking[0]!;
    s.emit(
      'failed-arming',
      'event',
      { deviceId: first.id, zone: first.zone, area: areaId },
      `arming ${mode} by ${user} failed: open ${names}`,
    );
    return;
  }
  for (const device of faulted) {
    s.set({ bypassed: { ...s.state.bypassed, [device.id]: 'forced' } });
    s.emit(
      'zone-bypass',
      'event',
      { deviceId: device.id, zone: device.zone, area: areaId },
      `${device.name} bypassed by force arming (${user})`,
    );
  }
  const exitMs = (s.ctx.areas.get(areaId)?.exitDelaySeconds ?? 0) * 1000;
  s.setArea(areaId, { mode, phase: 'exit', deadline: s.now + exitMs, armedBy: user, entry: null });
  if (exitMs === 0) finishExit(s, areaId);
}

function finishExit(s: Step, areaId: number): void {
  const area = s.state.areas[areaId]!;
  const faulted = faultedZones(s, areaId, area.mode);
  const first = faulted[0];
  if (first) {
    // Armed with a zone still open: report the exit error now, warn locally through the entry
    // delay, and sound the alarm if nobody disarms in time.
    const draft = s.emit(
      'exit-error',
      'event',
      { deviceId: first.id, zone: first.zone, area: areaId },
      `${first.name} open at end of exit delay`,
    );
    const entryMs = (s.ctx.areas.get(areaId)?.entryDelaySeconds ?? 0) * 1000;
    s.setArea(areaId, {
      phase: 'entry',
      deadline: s.now + entryMs,
      entry: { deviceId: first.id, at: s.now },
      exitError: { eventId: draft.id, at: s.now },
    });
    return;
  }
  const resolves =
    area.exitError && s.now - area.exitError.at <= EXIT_ERROR_RESOLVE_MS ? area.exitError.eventId : null;
  s.setArea(areaId, { phase: 'armed', deadline: null, exitError: null });
  s.emit(
    'opening-closing',
    'restore',
    { deviceId: null, zone: 0, area: areaId },
    `armed ${area.mode} by ${area.armedBy}`,
    resolves,
  );
}

function disarm(s: Step, areaId: number, user: string, duress: boolean): void {
  const area = s.state.areas[areaId];
  if (!area) {
    s.error = `unknown area ${areaId}`;
    return;
  }
  if (duress) s.emit('duress', 'event', { deviceId: null, zone: 0, area: areaId }, `duress code of ${user}`);
  if (area.phase === 'disarmed') return;
  s.setArea(areaId, { mode: 'disarmed', phase: 'disarmed', deadline: null, armedBy: null, entry: null });
  s.set({ soundings: s.state.soundings.filter((x) => x.area !== areaId) });
  for (const [deviceId] of Object.entries(s.state.bypassed)) {
    const device = s.ctx.devices.get(deviceId);
    if (device?.area !== areaId) continue;
    const { [deviceId]: _gone, ...rest } = s.state.bypassed;
    s.set({ bypassed: rest });
    s.emit(
      'zone-bypass',
      'restore',
      { deviceId, zone: device.zone, area: areaId },
      `${device.name} unbypassed at disarm`,
    );
  }
  s.emit('opening-closing', 'event', { deviceId: null, zone: 0, area: areaId }, `disarmed by ${user}`);
}

function bypass(s: Step, deviceId: string, on: boolean, user: string): void {
  const device = s.ctx.devices.get(deviceId);
  if (!device) {
    s.error = `unknown device "${deviceId}"`;
    return;
  }
  if (zoneKind(device) === null || !device.bypassable) {
    s.error = `${device.name} cannot be bypassed`;
    return;
  }
  if (s.state.areas[device.area]?.phase !== 'disarmed') {
    s.error = `disarm area ${device.area} before changing bypasses`;
    return;
  }
  if (Boolean(s.state.bypassed[deviceId]) === on) return;
  const { [deviceId]: _was, ...rest } = s.state.bypassed;
  s.set({ bypassed: on ? { ...rest, [deviceId]: 'manual' } : rest });
  s.emit(
    'zone-bypass',
    on ? 'event' : 'restore',
    { deviceId, zone: device.zone, area: device.area },
    `${device.name} ${on ? 'bypassed' : 'unbypassed'} by ${user}`,
  );
}

// ---------------------------------------------------------------------------------------------
// Keypad, walk test, supervision

export function keypadLocked(state: PanelState, now: number): boolean {
  return state.keypad.lockedUntil !== null && now < state.keypad.lockedUntil;
}

function codeFailure(s: Step, source: string): void {
  const failures = [...s.state.keypad.failures.filter((t) => s.now - t <= KEYPAD_FAILURE_WINDOW_MS), s.now];
  if (failures.length < s.ctx.keypad.maxFailures) {
    s.set({ keypad: { ...s.state.keypad, failures } });
    return;
  }
  s.set({ keypad: { failures: [], lockedUntil: s.now + s.ctx.keypad.lockoutMs } });
  s.emit(
    'wrong-code',
    'event',
    { deviceId: null, zone: 0, area: 0 },
    `${failures.length} wrong codes at ${source}`,
  );
}

function walkTest(s: Step, on: boolean, user: string): void {
  if (!on) {
    if (s.state.walkTest) endWalkTest(s, `ended by ${user}`);
    return;
  }
  if (s.state.walkTest) return;
  if (Object.values(s.state.areas).some((a) => a.phase !== 'disarmed')) {
    s.error = 'disarm every area before a walk test';
    return;
  }
  s.set({ walkTest: { until: s.now + s.ctx.walkTestMs, triggered: {} } });
  s.emit('walk-test', 'event', { deviceId: null, zone: 0, area: 0 }, `walk test started by ${user}`);
}

function endWalkTest(s: Step, why: string): void {
  const tested = Object.keys(s.state.walkTest?.triggered ?? {}).length;
  s.set({ walkTest: null });
  s.emit(
    'walk-test',
    'restore',
    { deviceId: null, zone: 0, area: 0 },
    `walk test ${why}: ${tested} of ${s.ctx.devices.size} devices triggered`,
  );
}

function supervisionLost(s: Step, device: DeviceConfig): void {
  openCondition(s, device, 'device-supervision-loss', s.now);
}

function mainsLost(s: Step, device: DeviceConfig, at: number): void {
  if (s.state.active[`${device.id}:mains-loss`] || s.state.mainsPending[device.id] !== undefined) return;
  if (s.ctx.mainsDelayMs === 0) {
    openCondition(s, device, 'mains-loss', at);
    return;
  }
  s.set({ mainsPending: { ...s.state.mainsPending, [device.id]: s.now + s.ctx.mainsDelayMs } });
}

function mainsRestored(s: Step, device: DeviceConfig, at: number): void {
  if (s.state.mainsPending[device.id] !== undefined) {
    const { [device.id]: _cancelled, ...rest } = s.state.mainsPending;
    s.set({ mainsPending: rest });
    return;
  }
  closeCondition(s, device, 'mains-loss', at);
}

function mainsReport(s: Step, deviceId: string): void {
  const { [deviceId]: _reported, ...rest } = s.state.mainsPending;
  s.set({ mainsPending: rest });
  const device = s.ctx.devices.get(deviceId);
  if (device) openCondition(s, device, 'mains-loss', s.now);
}

function periodicTest(s: Step): void {
  const troubles = Object.keys(s.state.active).filter((key) => {
    const eventType = key.slice(key.indexOf(':') + 1) as EventTypeName;
    return EVENT_TYPES[eventType]?.class === 'technical';
  });
  s.set({ nextTestAt: s.state.nextTestAt + s.ctx.periodicTestMs });
  s.emit(
    troubles.length > 0 ? 'periodic-test-trouble' : 'periodic-test',
    'event',
    { deviceId: null, zone: 0, area: 0 },
    troubles.length > 0 ? `${troubles.length} trouble(s) present` : 'periodic test',
  );
}
