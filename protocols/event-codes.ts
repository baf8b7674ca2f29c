/**
 * The event catalogue: one row per kind of event the gateway can raise, with its Contact ID
 * code, its SIA DC-03 codes (event / restore), its class and its priority.
 * Codes follow SIA DC-05 (Contact ID) and the CID -> SIA mapping in docs/protocol.md.
 */
export const EVENT_CLASSES = ['security', 'safety', 'technical', 'schedule'] as const;
export type EventClass = (typeof EVENT_CLASSES)[number];

/** Operators handle security before safety before technical before schedule (SPEC §3). */
export const CLASS_PRIORITY: Record<EventClass, number> = {
  security: 1,
  safety: 2,
  technical: 3,
  schedule: 4,
};

export interface EventType {
  readonly cid: string;
  readonly sia: { readonly event: string; readonly restore: string };
  readonly class: EventClass;
  /**
   * `alarm` opens an alarm at the central; `log` is stored for history and supervision only;
   * `verification` updates the alarm named by `relatesTo` (SPEC §4).
   */
  readonly handling: 'alarm' | 'log' | 'verification';
  readonly title: string;
}

export const EVENT_TYPES = {
  burglary: {
    cid: '130',
    sia: { event: 'BA', restore: 'BH' },
    class: 'security',
    handling: 'alarm',
    title: 'Burglary',
  },
  'burglary-perimeter': {
    cid: '131',
    sia: { event: 'BA', restore: 'BH' },
    class: 'security',
    handling: 'alarm',
    title: 'Perimeter burglary',
  },
  'burglary-interior': {
    cid: '132',
    sia: { event: 'BA', restore: 'BH' },
    class: 'security',
    handling: 'alarm',
    title: 'Interior burglary',
  },
  'camera-alarm': {
    cid: '130',
    sia: { event: 'BA', restore: 'BH' },
    class: 'security',
    handling: 'alarm',
    title: 'Camera alarm output',
  },
  'alarm-verified': {
    cid: '139',
    sia: { event: 'BV', restore: 'BV' },
    class: 'security',
    handling: 'verification',
    title: 'Alarm verified',
  },
  tamper: {
    cid: '137',
    sia: { event: 'TA', restore: 'TR' },
    class: 'security',
    handling: 'alarm',
    title: 'Tamper',
  },
  'sensor-tamper': {
    cid: '144',
    sia: { event: 'TA', restore: 'TR' },
    class: 'security',
    handling: 'alarm',
    title: 'Sensor tamper',
  },
  panic: {
    cid: '120',
    sia: { event: 'PA', restore: 'PH' },
    class: 'security',
    handling: 'alarm',
    title: 'Panic',
  },
  duress: {
    cid: '121',
    sia: { event: 'HA', restore: 'HH' },
    class: 'security',
    handling: 'alarm',
    title: 'Duress',
  },
  holdup: {
    cid: '122',
    sia: { event: 'HA', restore: 'HH' },
    class: 'security',
    handling: 'alarm',
    title: 'Hold-up (silent)',
  },
  'exit-error': {
    cid: '374',
    sia: { event: 'EA', restore: 'BH' },
    class: 'security',
    handling: 'alarm',
    title: 'Exit error',
  },
  'failed-arming': {
    cid: '454',
    sia: { event: 'CI', restore: 'CI' },
    class: 'schedule',
    handling: 'alarm',
    title: 'Failed to arm',
  },
  'wrong-code': {
    cid: '461',
    sia: { event: 'JA', restore: 'JA' },
    class: 'security',
    handling: 'alarm',
    title: 'Repeated wrong code entry',
  },
  'zone-bypass': {
    cid: '570',
    sia: { event: 'BB', restore: 'BU' },
    class: 'schedule',
    handling: 'log',
    title: 'Zone bypassed / unbypassed',
  },
  'walk-test': {
    cid: '607',
    sia: { event: 'TS', restore: 'TE' },
    class: 'technical',
    handling: 'log',
    title: 'Walk test started / ended',
  },
  fire: {
    cid: '110',
    sia: { event: 'FA', restore: 'FH' },
    class: 'safety',
    handling: 'alarm',
    title: 'Fire',
  },
  smoke: {
    cid: '111',
    sia: { event: 'FA', restore: 'FH' },
    class: 'safety',
    handling: 'alarm',
    title: 'Smoke',
  },
  heat: {
    cid: '114',
    sia: { event: 'KA', restore: 'KH' },
    class: 'safety',
    handling: 'alarm',
    title: 'Heat',
  },
  gas: {
    cid: '151',
    sia: { event: 'GA', restore: 'GH' },
    class: 'safety',
    handling: 'alarm',
    title: 'Gas / CO',
  },
  medical: {
    cid: '100',
    sia: { event: 'MA', restore: 'MH' },
    class: 'safety',
    handling: 'alarm',
    title: 'Medical',
  },
  /** A monitored appliance reports a fault (a freezer, a cooling system): SPEC §3 external technical alarm. */
  'external-technical': {
    cid: '150',
    sia: { event: 'UA', restore: 'UR' },
    class: 'technical',
    handling: 'alarm',
    title: 'External technical alarm',
  },
  /**
   * The central could not read or store a message from a gateway (raised by the central; the raw
   * message is kept): it may have been any alarm, so an operator looks at once. CID 354, failure
   * to communicate an event.
   */
  'message-rejected': {
    cid: '354',
    sia: { event: 'YC', restore: 'YK' },
    class: 'technical',
    handling: 'alarm',
    title: 'Message from the premises not readable',
  },
  water: {
    cid: '113',
    sia: { event: 'WA', restore: 'WH' },
    class: 'technical',
    handling: 'alarm',
    title: 'Water leak',
  },
  'mains-loss': {
    cid: '301',
    sia: { event: 'AT', restore: 'AR' },
    class: 'technical',
    handling: 'alarm',
    title: 'Mains power loss',
  },
  'system-battery-low': {
    cid: '302',
    sia: { event: 'YT', restore: 'YR' },
    class: 'technical',
    handling: 'alarm',
    title: 'System battery low',
  },
  'device-battery-low': {
    cid: '384',
    sia: { event: 'XT', restore: 'XR' },
    class: 'technical',
    handling: 'alarm',
    title: 'Transmitter battery low',
  },
  'device-supervision-loss': {
    cid: '381',
    sia: { event: 'YC', restore: 'YK' },
    class: 'technical',
    handling: 'alarm',
    title: 'Device stopped checking in',
  },
  'sensor-trouble': {
    cid: '380',
    sia: { event: 'YX', restore: 'YZ' },
    class: 'technical',
    handling: 'alarm',
    title: 'Sensor trouble',
  },
  /** The gateway itself is in trouble (its journal cannot be written, or lost data): CID 300. */
  'system-trouble': {
    cid: '300',
    sia: { event: 'YX', restore: 'YZ' },
    class: 'technical',
    handling: 'alarm',
    title: 'System trouble (gateway or panel)',
  },
  'communication-trouble': {
    cid: '350',
    sia: { event: 'YC', restore: 'YK' },
    class: 'technical',
    handling: 'alarm',
    title: 'Communication trouble',
  },
  'periodic-test-trouble': {
    cid: '608',
    sia: { event: 'TX', restore: 'TX' },
    class: 'technical',
    handling: 'log',
    title: 'Periodic test report, trouble present',
  },
  /** The panel or gateway started (power up, watchdog reset): logged, it explains what follows. */
  'system-reset': {
    cid: '305',
    sia: { event: 'RR', restore: 'RR' },
    class: 'technical',
    handling: 'log',
    title: 'System reset / power up',
  },
  /** Local programming began / ended (an installer at the panel). */
  programming: {
    cid: '627',
    sia: { event: 'LB', restore: 'LX' },
    class: 'technical',
    handling: 'log',
    title: 'Local programming',
  },
  'periodic-test': {
    cid: '602',
    sia: { event: 'RP', restore: 'RP' },
    class: 'technical',
    handling: 'log',
    title: 'Periodic test report',
  },
  'test-missing': {
    cid: '000',
    sia: { event: 'YS', restore: 'YS' },
    class: 'technical',
    handling: 'alarm',
    title: 'Periodic test report missing',
  },
  'not-yet-armed': {
    cid: '452',
    sia: { event: 'CT', restore: 'CL' },
    class: 'schedule',
    handling: 'alarm',
    title: 'Not armed in time (schedule)',
  },
  'disarm-outside-schedule': {
    cid: '451',
    sia: { event: 'OK', restore: 'CL' },
    class: 'schedule',
    handling: 'alarm',
    title: 'Disarmed outside the schedule',
  },
  'fire-trouble': {
    cid: '373',
    sia: { event: 'FT', restore: 'FJ' },
    class: 'technical',
    handling: 'alarm',
    title: 'Fire panel fault',
  },
  'undefined-alarm': {
    cid: '000',
    sia: { event: 'UX', restore: 'UX' },
    class: 'technical',
    handling: 'log',
    title: 'Undefined alarm code (third-party panel)',
  },
  'path-failure': {
    cid: '350',
    sia: { event: 'YC', restore: 'YK' },
    class: 'technical',
    handling: 'alarm',
    title: 'Transmission path failure',
  },
  'all-paths-failure': {
    cid: '354',
    sia: { event: 'YC', restore: 'YK' },
    class: 'technical',
    handling: 'alarm',
    title: 'All transmission paths failed',
  },
  'opening-closing': {
    cid: '401',
    sia: { event: 'OP', restore: 'CL' },
    class: 'schedule',
    handling: 'log',
    title: 'Disarm / arm by user',
  },
} as const satisfies Record<string, EventType>;

export type EventTypeName = keyof typeof EVENT_TYPES;
export const EVENT_TYPE_NAMES = Object.keys(EVENT_TYPES) as [EventTypeName, ...EventTypeName[]];

export function eventType(name: EventTypeName): EventType {
  return EVENT_TYPES[name];
}
