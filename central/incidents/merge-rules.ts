import { z } from 'zod';
import type { EventTypeName } from '../../protocols/event-codes.ts';
import { CLASS_ORDER, handlingClass } from './ranking.ts';

/**
 * Which events join a site's open incident instead of opening one of their own (one row, one
 * procedure, one counted handling, one follow-up). An event joins the open incident of its site
 * whose class is in the same group, if that incident's last event is at most `withinMinutes` old.
 * Data, validated on load.
 */
export const MergeRulesSchema = z.strictObject({
  groups: z
    .array(
      z.strictObject({
        classes: z.array(z.enum(CLASS_ORDER)).min(1),
        withinMinutes: z
          .number()
          .int()
          .min(1)
          .max(7 * 24 * 60),
      }),
    )
    .refine(
      (groups) => new Set(groups.flatMap((g) => g.classes)).size === groups.flatMap((g) => g.classes).length,
      {
        message: 'a class may be in one group only',
      },
    ),
});
export type MergeRules = z.infer<typeof MergeRulesSchema>;

export const DEFAULT_MERGE_RULES: MergeRules = MergeRulesSchema.parse({
  groups: [
    // A burglary, a tamper and a hold-up at one site are one incident; so are its fire alarms.
    { classes: ['security'], withinMinutes: 60 },
    { classes: ['safety'], withinMinutes: 60 },
    { classes: ['technical'], withinMinutes: 24 * 60 },
    { classes: ['schedule'], withinMinutes: 60 },
  ],
});

/** The merge group of an event type (its index), or null when it never merges. */
export function mergeGroup(
  rules: MergeRules,
  eventType: EventTypeName,
): { group: number; withinMinutes: number } | null {
  const cls = handlingClass(eventType);
  const index = rules.groups.findIndex((g) => g.classes.includes(cls));
  return index === -1 ? null : { group: index, withinMinutes: rules.groups[index]!.withinMinutes };
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
