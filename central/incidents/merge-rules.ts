import { z } from 'zod';
import { EVENT_TYPE_NAMES, type EventTypeName } from '../../protocols/event-codes.ts';

/**
 * Which events join a site's open incident instead of opening one of their own (one row, one
 * procedure, one counted handling, one follow-up). Events of one group join the site's open
 * incident of that group while its last event is at most `withinMinutes` old: the detectors,
 * tampers and hold-up buttons of one break-in are one incident; so are the detectors of one fire.
 * Any other type joins only an open incident of its own type (a battery low reported again), and
 * those in `never` always stand alone (an undefined code is told to the installer by itself).
 * Data, validated on load; docs/procedures.md shows the defaults.
 */
const EventType = z.enum(EVENT_TYPE_NAMES);
const Minutes = z
  .number()
  .int()
  .min(1)
  .max(7 * 24 * 60);

export const MergeRulesSchema = z
  .strictObject({
    groups: z.array(
      z.strictObject({ name: z.string().min(1), types: z.array(EventType).min(2), withinMinutes: Minutes }),
    ),
    sameType: z.strictObject({ withinMinutes: Minutes }),
    never: z.array(EventType),
  })
  .refine((rules) => {
    const all = rules.groups.flatMap((g) => g.types);
    return new Set(all).size === all.length;
  }, 'an event type may be in one group only');
export type MergeRules = z.infer<typeof MergeRulesSchema>;

export const DEFAULT_MERGE_RULES: MergeRules = MergeRulesSchema.parse({
  groups: [
    {
      name: 'intrusion',
      types: [
        'burglary',
        'burglary-perimeter',
        'burglary-interior',
        'camera-alarm',
        'tamper',
        'sensor-tamper',
        'wrong-code',
        'panic',
        'holdup',
        'duress',
      ],
      withinMinutes: 60,
    },
    { name: 'fire', types: ['fire', 'smoke', 'heat'], withinMinutes: 60 },
  ],
  sameType: { withinMinutes: 24 * 60 },
  never: ['undefined-alarm'],
});

/** What the merge decision knows of an event: its type, and the device or zone it came from. */
export interface MergeSubject {
  readonly eventType: EventTypeName;
  readonly deviceId: string | null;
  readonly zone: number;
}

/**
 * The merge key of an event: events with the same key join one open incident. A group's types
 * share the group's key; any other type shares a key only with the same type from the same device
 * (or zone) — the backup path failing is not the primary failing again. Null: it never merges.
 */
export function mergeKey(
  rules: MergeRules,
  subject: MergeSubject,
): { key: string; withinMinutes: number } | null {
  if (rules.never.includes(subject.eventType)) return null;
  const group = rules.groups.find((g) => g.types.includes(subject.eventType));
  if (group) return { key: `group:${group.name}`, withinMinutes: group.withinMinutes };
  const source = subject.deviceId ?? `zone ${subject.zone}`;
  return { key: `${subject.eventType}:${source}`, withinMinutes: rules.sameType.withinMinutes };
}

/** An open incident of a site, as the merge decision sees it: its first event and its last one's time. */
export interface OpenIncident {
  readonly id: string;
  readonly lead: MergeSubject;
  readonly lastEventAt: number;
}

/**
 * The incident an alarm-opening event joins, or null for a new one: the oldest open incident with
 * the same merge key whose last event is recent enough, so a site has one row per incident.
 * The central (in the storing transaction) and the scenario runner both decide with this.
 */
export function joinTarget(
  rules: MergeRules,
  open: readonly OpenIncident[],
  subject: MergeSubject,
  occurredAt: number,
): string | null {
  const mine = mergeKey(rules, subject);
  if (!mine) return null;
  const candidate = open.find(
    (i) =>
      mergeKey(rules, i.lead)?.key === mine.key && occurredAt - i.lastEventAt <= mine.withinMinutes * 60_000,
  );
  return candidate?.id ?? null;
}
