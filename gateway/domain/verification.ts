import type { AlarmEvent } from '../../protocols/messages.ts';

/**
 * Local alarm verification (SPEC §4), pure. An alarm is verified by a second, independent alarm
 * within the window: two different intrusion detectors in consecutive zones (`dual-zone`), a
 * camera alarm in the same area (`camera`), or a tamper together with another priority alarm
 * (`tamper-plus-alarm`). The first alarm of the pair is the one verified; the update never holds
 * anything back, it follows.
 */
export interface RememberedAlarm {
  readonly eventId: string;
  readonly deviceId: string;
  readonly zone: number;
  readonly area: number;
  readonly at: number;
  readonly kind: 'intrusion' | 'camera' | 'tamper' | 'priority';
}

export interface VerificationRules {
  readonly windowMs: number;
  readonly adjacent: (zoneA: number, zoneB: number) => boolean;
}

export interface VerificationFinding {
  readonly rule: NonNullable<AlarmEvent['verification']['rule']>;
  readonly target: RememberedAlarm;
  readonly supporting: readonly RememberedAlarm[];
}

type Matcher = (earlier: RememberedAlarm, incoming: RememberedAlarm, rules: VerificationRules) => boolean;

const MATCHERS: ReadonlyArray<[VerificationFinding['rule'], Matcher]> = [
  [
    'dual-zone',
    (a, b, rules) =>
      a.kind === 'intrusion' &&
      b.kind === 'intrusion' &&
      a.area === b.area &&
      a.deviceId !== b.deviceId &&
      rules.adjacent(a.zone, b.zone),
  ],
  [
    'camera',
    (a, b) =>
      a.area === b.area &&
      ((a.kind === 'camera' && b.kind === 'intrusion') || (a.kind === 'intrusion' && b.kind === 'camera')),
  ],
  [
    'tamper-plus-alarm',
    (a, b) => (a.kind === 'tamper' && b.kind !== 'tamper') || (a.kind !== 'tamper' && b.kind === 'tamper'),
  ],
];

/** The verification an incoming alarm brings, given what is remembered; null when none. */
export function findVerification(
  remembered: readonly RememberedAlarm[],
  incoming: RememberedAlarm,
  verified: ReadonlySet<string>,
  rules: VerificationRules,
): VerificationFinding | null {
  for (const [rule, matches] of MATCHERS) {
    const earlier = remembered.find(
      (a) =>
        a.eventId !== incoming.eventId &&
        !verified.has(a.eventId) &&
        incoming.at - a.at <= rules.windowMs &&
        matches(a, incoming, rules),
    );
    if (earlier) return { rule, target: earlier, supporting: [incoming] };
  }
  return null;
}

/** Forget alarms older than the window. */
export function pruneRemembered(
  remembered: readonly RememberedAlarm[],
  now: number,
  windowMs: number,
): RememberedAlarm[] {
  return remembered.filter((a) => now - a.at <= windowMs);
}

/** Consecutive zones: the configured pairs (either order), or zone numbers one apart. */
export function adjacencyFrom(pairs: ReadonlyArray<readonly [number, number]> | undefined) {
  if (!pairs) return (a: number, b: number) => Math.abs(a - b) === 1;
  const set = new Set(pairs.flatMap(([a, b]) => [`${a}:${b}`, `${b}:${a}`]));
  return (a: number, b: number) => set.has(`${a}:${b}`);
}
