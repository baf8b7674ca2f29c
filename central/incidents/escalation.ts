import { readFileSync } from 'node:fs';
import { z } from 'zod';

/**
 * How an incident that nobody handles escalates (issue: timers never fabricate an outcome; they
 * escalate instead). From the moment an incident needs an operator until someone claims it or
 * records anything, it climbs these levels at these ages, per class. `attention` colours the row
 * and re-alerts, `urgent` colours it red and re-alerts, `supervisor` alerts the supervisors.
 * Data, validated on load; docs/procedures.md shows the table.
 */
export const ESCALATION_LEVELS = ['attention', 'urgent', 'supervisor'] as const;
export type EscalationLevel = (typeof ESCALATION_LEVELS)[number];

const Ages = z
  .strictObject({
    attention: z.number().int().min(1),
    urgent: z.number().int().min(1),
    supervisor: z.number().int().min(1),
  })
  .refine(
    (a) => a.attention < a.urgent && a.urgent < a.supervisor,
    'ages must rise: attention < urgent < supervisor',
  );

export const EscalationTableSchema = z.strictObject({
  security: Ages,
  safety: Ages,
  technical: Ages,
  schedule: Ages,
});
export type EscalationTable = z.infer<typeof EscalationTableSchema>;

/** Seconds since the incident needed an operator. */
export const DEFAULT_ESCALATION: EscalationTable = EscalationTableSchema.parse({
  security: { attention: 30, urgent: 90, supervisor: 180 },
  safety: { attention: 45, urgent: 120, supervisor: 240 },
  technical: { attention: 300, urgent: 900, supervisor: 1800 },
  schedule: { attention: 600, urgent: 1800, supervisor: 3600 },
});

/** An escalation table from a JSON file (`VIGIL_ESCALATION_FILE`); an error names the file and each bad field. */
export function readEscalationFile(file: string): EscalationTable {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`escalation table ${file}: ${error instanceof Error ? error.message : String(error)}`);
  }
  const parsed = EscalationTableSchema.safeParse(json);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((i) => `  - ${i.path.join('.') || '(top)'}: ${i.message}`);
  throw new Error(`escalation table ${file} is invalid:\n${problems.join('\n')}`);
}

/** The next level an incident reaches and when, or null when it is at the top. */
export function nextEscalation(
  table: EscalationTable,
  eventClass: keyof EscalationTable,
  since: number,
  reached: EscalationLevel | null,
): { level: EscalationLevel; at: number } | null {
  const ages = table[eventClass];
  const index = reached ? ESCALATION_LEVELS.indexOf(reached) + 1 : 0;
  const level = ESCALATION_LEVELS[index];
  return level ? { level, at: since + ages[level] * 1000 } : null;
}
