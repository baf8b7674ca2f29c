import { EVENT_TYPES, type EventTypeName } from '../../protocols/event-codes.ts';

/**
 * The operators' order (SPEC §3): class first — security › safety › technical › schedule — then
 * severity within the class, then age (the queue's tie-break). A lower rank comes first. The
 * table is data; docs/procedures.md shows it. Types not listed rank last in their class.
 */
export const CLASS_ORDER = ['security', 'safety', 'technical', 'schedule'] as const;

export const SEVERITY: Readonly<Record<(typeof CLASS_ORDER)[number], readonly string[]>> = {
  security: [
    'duress',
    'holdup',
    'panic',
    'burglary (verified)',
    'burglary',
    'burglary-perimeter',
    'burglary-interior',
    'camera-alarm',
    'tamper',
    'sensor-tamper',
    'wrong-code',
  ],
  safety: ['fire', 'smoke', 'heat', 'gas', 'medical'],
  technical: [
    'message-rejected',
    'system-trouble',
    'all-paths-failure',
    'path-failure',
    'communication-trouble',
    'mains-loss',
    'system-battery-low',
    'fire-trouble',
    'device-supervision-loss',
    'device-battery-low',
    'test-missing',
    'external-technical',
    'water',
    'sensor-trouble',
    'periodic-test-trouble',
    'undefined-alarm',
  ],
  schedule: ['exit-error', 'failed-arming', 'not-yet-armed', 'disarm-outside-schedule'],
};

/** The detectors of a break-in (a verified one outranks the rest). */
export const BURGLARY_TYPES: ReadonlySet<string> = new Set([
  'burglary',
  'burglary-perimeter',
  'burglary-interior',
  'camera-alarm',
]);

/** The class an event type is handled in (SPEC §3), from the event catalogue. */
export function handlingClass(eventType: EventTypeName): (typeof CLASS_ORDER)[number] {
  return EVENT_TYPES[eventType].class;
}

/** The rank of one event: class × 100 + its place in the class (a verified burglary above others). */
export function rankOf(eventType: EventTypeName, verified: boolean): number {
  const cls = handlingClass(eventType);
  const list = SEVERITY[cls];
  const key = verified && BURGLARY_TYPES.has(eventType) ? 'burglary (verified)' : eventType;
  const place = list.indexOf(key);
  return CLASS_ORDER.indexOf(cls) * 100 + (place === -1 ? list.length : place);
}

/** The rank an incident takes at least once it is verified: that of a verified burglary. */
export const VERIFIED_RANK = rankOf('burglary', true);
