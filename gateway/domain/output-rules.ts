import type { EventTypeName } from '../../protocols/event-codes.ts';
import type { OutputConfig, OutputRule } from '../config.ts';

/**
 * Local sounders, as data: which event types sound the siren and the strobe, after what delay and
 * for how long. Hold-up, duress and medical calls are silent: the attacker must not know.
 * A site overrides the whole table with `outputRules` in its config.
 */
export const DEFAULT_OUTPUT_RULES: readonly OutputRule[] = [
  {
    eventTypes: ['holdup', 'duress', 'medical'],
    siren: false,
    strobe: false,
    delaySeconds: 0,
    durationSeconds: 180,
    armedOnly: false,
  },
  {
    eventTypes: ['fire', 'smoke', 'heat', 'gas'],
    siren: true,
    strobe: true,
    delaySeconds: 0,
    durationSeconds: 900,
    armedOnly: false,
  },
  {
    eventTypes: ['burglary', 'burglary-perimeter', 'burglary-interior', 'camera-alarm', 'panic'],
    siren: true,
    strobe: true,
    delaySeconds: 0,
    durationSeconds: 180,
    armedOnly: false,
  },
  // A tamper while disarmed is most often the installer or a loose cover: no outdoor siren at 3 a.m.
  {
    eventTypes: ['tamper', 'sensor-tamper'],
    siren: true,
    strobe: true,
    delaySeconds: 0,
    durationSeconds: 180,
    armedOnly: true,
  },
];

/** One stretch of time during which outputs of a kind sound for an area. */
export interface Sounding {
  readonly kind: 'siren' | 'strobe';
  readonly area: number;
  readonly from: number;
  readonly until: number;
  readonly eventId: string;
}

export function soundingsFor(
  rules: readonly OutputRule[],
  eventType: EventTypeName,
  area: number,
  armed: boolean,
  at: number,
  eventId: string,
): Sounding[] {
  const rule = rules.find((r) => r.eventTypes.includes(eventType));
  if (!rule || (rule.armedOnly && !armed)) return [];
  const from = at + rule.delaySeconds * 1000;
  const until = from + rule.durationSeconds * 1000;
  const kinds = (['siren', 'strobe'] as const).filter((kind) => rule[kind]);
  return kinds.map((kind) => ({ kind, area, from, until, eventId }));
}

/** What every output should be doing now. An area-0 sounding (panel-wide) drives every output. */
export function desiredOutputs(
  outputs: readonly OutputConfig[],
  soundings: readonly Sounding[],
  now: number,
): Record<string, boolean> {
  const result: Record<string, boolean> = {};
  for (const output of outputs) {
    result[output.id] = soundings.some(
      (s) =>
        s.kind === output.kind &&
        s.from <= now &&
        now < s.until &&
        (s.area === 0 || output.areas.includes(s.area)),
    );
  }
  return result;
}
