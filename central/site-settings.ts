import type pg from 'pg';
import { z } from 'zod';
import { PhoneSchema } from './contacts.ts';
import { OverridesSchema } from './procedures/definitions.ts';
import { audit } from './records.ts';
import { describeSchedule, WeeklyScheduleSchema } from './supervision/schedule.ts';

/** SPEC §7: by phone a site goes "in test" for at most 24 h; longer only on a written request. */
export const TEST_MODE_LIMITS_MINUTES = { phone: 24 * 60, written: 90 * 24 * 60 } as const;

export const InstallerSchema = z.strictObject({
  company: z.string().trim().min(1).max(200),
  name: z.string().trim().min(1).max(200),
  email: z.email().max(254).optional(),
  phone: PhoneSchema.optional(),
});

const HHMM = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'a time of day as HH:MM');

/** What a supervisor may change on a site record; each key maps to a column or the profile document. */
export const SiteSettingsSchema = z
  .strictObject({
    kind: z.enum(['residential', 'business']),
    formula: z.enum(['APP', 'MIX', 'FULL']),
    activatedAt: z.iso.datetime({ offset: true }).nullable(),
    testPeriodDays: z.number().int().min(0).max(60),
    certifiedFirePanel: z.boolean(),
    mainsDelayMinutes: z.number().int().min(0).max(240),
    premisesPhone: PhoneSchema.nullable(),
    counterPhone: PhoneSchema.nullable(),
    includedHandlings: z.number().int().min(0).max(1000).nullable(),
    region: z.string().trim().min(1).max(64).nullable(),
    installerId: z.number().int().positive().nullable(),
    testIntervalMinutes: z.number().int().min(5).max(10_080),
    testGraceMinutes: z.number().int().min(0).max(1440),
    schedule: WeeklyScheduleSchema.nullable(),
    overrides: OverridesSchema,
    workingHours: z.strictObject({
      days: z.array(z.number().int().min(1).max(7)).max(7),
      from: HHMM,
      to: HHMM,
    }),
    actWindow: z.strictObject({ from: HHMM, to: HHMM }),
    /** Zones whose detectors are next to each other: two of them verify a burglary (SPEC §4). */
    adjacentZones: z
      .array(z.tuple([z.number().int().min(0).max(999), z.number().int().min(0).max(999)]))
      .max(500),
  })
  .partial()
  .refine((settings) => Object.keys(settings).length > 0, 'nothing to change');
export type SiteSettings = z.infer<typeof SiteSettingsSchema>;

export async function createInstaller(
  pool: pg.Pool,
  installer: z.infer<typeof InstallerSchema>,
  actor: string,
): Promise<string> {
  const { rows } = await pool.query<{ id: string }>(
    'INSERT INTO installers (company, name, email, phone) VALUES ($1, $2, $3, $4) RETURNING id::text',
    [installer.company, installer.name, installer.email ?? null, installer.phone ?? null],
  );
  await audit(pool, actor, 'installer.create', rows[0]!.id, installer);
  return rows[0]!.id;
}

type ProfileKey = 'overrides' | 'workingHours' | 'actWindow' | 'adjacentZones';
const PROFILE_KEYS: ReadonlySet<string> = new Set<ProfileKey>([
  'overrides',
  'workingHours',
  'actWindow',
  'adjacentZones',
]);
const COLUMNS: Record<Exclude<keyof SiteSettings, ProfileKey>, string> = {
  kind: 'kind',
  formula: 'formula',
  activatedAt: 'activated_at',
  testPeriodDays: 'test_period_days',
  certifiedFirePanel: 'certified_fire_panel',
  mainsDelayMinutes: 'mains_delay_minutes',
  premisesPhone: 'premises_phone',
  counterPhone: 'counter_phone',
  includedHandlings: 'included_handlings',
  region: 'region',
  installerId: 'installer_id',
  testIntervalMinutes: 'test_interval_minutes',
  testGraceMinutes: 'test_grace_minutes',
  schedule: 'schedule',
};

/** Change a site's record; a new schedule is judged from now on, not retroactively. */
export async function updateSiteSettings(
  pool: pg.Pool,
  siteId: string,
  settings: SiteSettings,
  actor: string,
  request: { readonly requestedBy?: string } = {},
): Promise<boolean> {
  const assignments: string[] = [];
  const values: unknown[] = [siteId];
  const profile: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(settings)) {
    if (PROFILE_KEYS.has(key)) {
      profile[key] = value;
      continue;
    }
    values.push(key === 'schedule' && value !== null ? JSON.stringify(value) : value);
    assignments.push(`${COLUMNS[key as keyof typeof COLUMNS]} = $${values.length}`);
  }
  if (Object.keys(profile).length > 0) {
    values.push(JSON.stringify(profile));
    assignments.push(`profile = profile || $${values.length}::jsonb`);
  }
  if ('schedule' in settings) assignments.push('schedule_checked_until = now()');
  const { rowCount } = await pool.query(`UPDATE sites SET ${assignments.join(', ')} WHERE id = $1`, values);
  if (rowCount !== 1) return false;
  await audit(pool, actor, 'site.settings', siteId, {
    ...request,
    ...settings,
    ...(settings.schedule ? { schedule: describeSchedule(settings.schedule) } : {}),
  });
  return true;
}

/** Put a site in test until `until` (null: end test mode now). */
export async function setTestMode(
  pool: pg.Pool,
  siteId: string,
  until: Date | null,
  actor: string,
  detail: Record<string, unknown>,
): Promise<boolean> {
  const { rowCount } = await pool.query('UPDATE sites SET test_mode_until = $2 WHERE id = $1', [
    siteId,
    until,
  ]);
  if (rowCount !== 1) return false;
  await audit(pool, actor, until ? 'site.test-mode.start' : 'site.test-mode.end', siteId, {
    ...detail,
    until: until?.toISOString() ?? null,
  });
  return true;
}

/** Record a regional outage's start or end; returns the sites of the region. */
export async function recordRegionalOutage(
  pool: pg.Pool,
  region: string,
  active: boolean,
  actor: string,
): Promise<{ changed: boolean; siteIds: string[] }> {
  const { rowCount } = active
    ? await pool.query(
        'INSERT INTO regional_outages (region, started_by) VALUES ($1, $2) ON CONFLICT (region) DO NOTHING',
        [region, actor],
      )
    : await pool.query('DELETE FROM regional_outages WHERE region = $1', [region]);
  const { rows } = await pool.query<{ id: string }>('SELECT id FROM sites WHERE region = $1 ORDER BY id', [
    region,
  ]);
  const siteIds = rows.map((r) => r.id);
  if (rowCount === 1)
    await audit(pool, actor, active ? 'regional-outage.start' : 'regional-outage.end', region, {
      sites: siteIds.length,
    });
  return { changed: rowCount === 1, siteIds };
}
