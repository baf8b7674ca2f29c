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

/** Groups past the listed ones: one per event type (it joins only its own kind). */
const SAME_TYPE_BASE = 100;

/** The merge group of an event type (its number), or null when it never merges. */
export function mergeGroup(
  rules: MergeRules,
  eventType: EventTypeName,
): { group: number; withinMinutes: number } | null {
  if (rules.never.includes(eventType)) return null;
  const index = rules.groups.findIndex((g) => g.types.includes(eventType));
  if (index !== -1) return { group: index, withinMinutes: rules.groups[index]!.withinMinutes };
  return {
    group: SAME_TYPE_BASE + EVENT_TYPE_NAMES.indexOf(eventType),
    withinMinutes: rules.sameType.withinMinutes,
  };
}

/** An open incident of a site, as the merge decision sees it. */
export interface OpenIncident {
  readonly id: string;
  readonly group: number | null;
  readonly lastEventAt: number;
}

/**
 * The incident an alarm-opening event joins, or null for a new one: the open incident of its
 * merge group whose last event is recent enough (the oldest such, so a site has one row).
 * The central (in the storing transaction) and the scenario runner both decide with this.
 */
export function joinTarget(
  rules: MergeRules,
  open: readonly OpenIncident[],
  eventType: EventTypeName,
  occurredAt: number,
): string | null {
  const group = mergeGroup(rules, eventType);
  if (!group) return null;
  const candidates = open.filter(
    (i) => i.group === group.group && occurredAt - i.lastEventAt <= group.withinMinutes * 60_000,
  );
  return candidates[0]?.id ?? null;
}
