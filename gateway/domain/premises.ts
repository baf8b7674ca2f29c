import type { DeviceSignal, SignalKind } from '../../hardware/device-signal.ts';
import type { EventTypeName } from '../../protocols/event-codes.ts';
import type { AlarmEvent } from '../../protocols/messages.ts';
import type { DeviceConfig, DeviceType } from '../config.ts';

/**
 * The premises' decision logic, pure: (state, input) -> (state, event drafts).
 * Issue #4 deepens this (entry/exit delays, verification, supervision); the shape stays.
 */
export type ArmingMode = 'disarmed' | 'away' | 'home' | 'night';

export interface PremisesState {
  readonly areas: Readonly<Record<number, ArmingMode>>;
  /** Open conditions by `deviceId:eventType`, holding the id of the event that opened them. */
  readonly active: Readonly<Record<string, string>>;
}

export type EventDraft = Pick<
  AlarmEvent,
  'id' | 'eventType' | 'qualifier' | 'zone' | 'area' | 'relatesTo' | 'text' | 'verification'
> & {
  deviceId: string | null;
  occurredAt: number;
};

export interface DomainContext {
  readonly devices: ReadonlyMap<string, DeviceConfig>;
  readonly newId: () => string;
}

export interface Outcome {
  readonly state: PremisesState;
  readonly drafts: readonly EventDraft[];
  /** A signal the premises cannot place (unknown device…): counted and logged by the caller. */
  readonly rejected?: string;
}

const ALWAYS: readonly ArmingMode[] = ['disarmed', 'away', 'home', 'night'];

/** What an alarm signal of each device type means, and in which arming modes it counts. */
const ALARM_MEANING: Record<DeviceType, { eventType: EventTypeName; activeIn: readonly ArmingMode[] }> = {
  motion: { eventType: 'burglary-interior', activeIn: ['away'] },
  contact: { eventType: 'burglary-perimeter', activeIn: ['away', 'home', 'night'] },
  glassbreak: { eventType: 'burglary-perimeter', activeIn: ['away', 'home', 'night'] },
  camera: { eventType: 'burglary-verifier', activeIn: ['away', 'night'] },
  smoke: { eventType: 'smoke', activeIn: ALWAYS },
  heat: { eventType: 'heat', activeIn: ALWAYS },
  gas: { eventType: 'gas', activeIn: ALWAYS },
  water: { eventType: 'water', activeIn: ALWAYS },
  panic: { eventType: 'panic', activeIn: ALWAYS },
  holdup: { eventType: 'holdup', activeIn: ALWAYS },
  medical: { eventType: 'medical', activeIn: ALWAYS },
  tamper: { eventType: 'tamper', activeIn: ALWAYS },
};

/** Supervision signals: event type raised, and which signal kind restores it. */
const CONDITION_SIGNALS: Partial<
  Record<SignalKind, { eventType: EventTypeName; qualifier: 'event' | 'restore' }>
> = {
  tamper: { eventType: 'sensor-tamper', qualifier: 'event' },
  'tamper-restore': { eventType: 'sensor-tamper', qualifier: 'restore' },
  'battery-low': { eventType: 'device-battery-low', qualifier: 'event' },
  'battery-ok': { eventType: 'device-battery-low', qualifier: 'restore' },
  trouble: { eventType: 'sensor-trouble', qualifier: 'event' },
  'trouble-restore': { eventType: 'sensor-trouble', qualifier: 'restore' },
  'mains-lost': { eventType: 'mains-loss', qualifier: 'event' },
  'mains-restored': { eventType: 'mains-loss', qualifier: 'restore' },
};

const UNVERIFIED: EventDraft['verification'] = { verified: false, rule: null, supportingEventIds: [] };

export function initialPremises(areaIds: readonly number[], mode: ArmingMode = 'disarmed'): PremisesState {
  return { areas: Object.fromEntries(areaIds.map((id) => [id, mode])), active: {} };
}

export function handleSignal(state: PremisesState, signal: DeviceSignal, ctx: DomainContext): Outcome {
  const device = ctx.devices.get(signal.deviceId);
  if (!device) return { state, drafts: [], rejected: `unknown device "${signal.deviceId}"` };
  const mode = state.areas[device.area] ?? 'disarmed';

  if (signal.kind === 'alarm') {
    const meaning = ALARM_MEANING[device.type];
    if (!meaning.activeIn.includes(mode)) return { state, drafts: [] };
    return open(state, device, meaning.eventType, signal, ctx);
  }
  if (signal.kind === 'restore') {
    return close(state, device, ALARM_MEANING[device.type].eventType, signal, ctx);
  }
  const condition = CONDITION_SIGNALS[signal.kind];
  if (!condition) return { state, drafts: [] };
  return condition.qualifier === 'event'
    ? open(state, device, condition.eventType, signal, ctx)
    : close(state, device, condition.eventType, signal, ctx);
}

function open(
  state: PremisesState,
  device: DeviceConfig,
  eventType: EventTypeName,
  signal: DeviceSignal,
  ctx: DomainContext,
): Outcome {
  const key = `${device.id}:${eventType}`;
  if (state.active[key]) return { state, drafts: [] };
  const draft = draftFor(device, eventType, 'event', signal.at, null, ctx);
  return { state: { ...state, active: { ...state.active, [key]: draft.id } }, drafts: [draft] };
}

function close(
  state: PremisesState,
  device: DeviceConfig,
  eventType: EventTypeName,
  signal: DeviceSignal,
  ctx: DomainContext,
): Outcome {
  const key = `${device.id}:${eventType}`;
  const openedBy = state.active[key];
  if (!openedBy) return { state, drafts: [] };
  const { [key]: _closed, ...active } = state.active;
  return {
    state: { ...state, active },
    drafts: [draftFor(device, eventType, 'restore', signal.at, openedBy, ctx)],
  };
}

function draftFor(
  device: DeviceConfig,
  eventType: EventTypeName,
  qualifier: 'event' | 'restore',
  occurredAt: number,
  relatesTo: string | null,
  ctx: DomainContext,
): EventDraft {
  return {
    id: ctx.newId(),
    eventType,
    qualifier,
    deviceId: device.id,
    zone: device.zone,
    area: device.area,
    relatesTo,
    text: device.name,
    verification: UNVERIFIED,
    occurredAt,
  };
}

/** Arming changes are reported as Contact ID 401: opening (disarm) is the event, closing (arm) the restore. */
export function setArming(
  state: PremisesState,
  area: number,
  mode: ArmingMode,
  user: string,
  at: number,
  ctx: DomainContext,
): Outcome {
  const current = state.areas[area];
  if (current === undefined) return { state, drafts: [], rejected: `unknown area ${area}` };
  if (current === mode) return { state, drafts: [] };
  const draft: EventDraft = {
    id: ctx.newId(),
    eventType: 'opening-closing',
    qualifier: mode === 'disarmed' ? 'event' : 'restore',
    deviceId: null,
    zone: 0,
    area,
    relatesTo: null,
    text: mode === 'disarmed' ? `disarmed by ${user}` : `armed ${mode} by ${user}`,
    verification: UNVERIFIED,
    occurredAt: at,
  };
  return { state: { ...state, areas: { ...state.areas, [area]: mode } }, drafts: [draft] };
}
