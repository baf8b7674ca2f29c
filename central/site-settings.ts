import type pg from 'pg';
import { z } from 'zod';
import { audit } from './records.ts';
import { describeSchedule, WeeklyScheduleSchema } from './supervision/schedule.ts';

/** SPEC §7: by phone a site goes "in test" for at most 24 h; longer only on a written request. */
export const TEST_MODE_LIMITS_MINUTES = { phone: 24 * 60, written: 90 * 24 * 60 } as const;

export const InstallerSchema = z.strictObject({
  company: z.string().trim().min(1).max(200),
  name: z.string().trim().min(1).max(200),
  email: z.email().max(254).optional(),
  phone: z
    .string()
    .regex(/^\+?[0-9 ]{6,20}$/, 'a phone number in international format')
    .optional(),
});

export const SiteSettingsSchema = z
  .strictObject({
    region: z.string().trim().min(1).max(64).nullable(),
    installerId: z.number().int().positive().nullable(),
    testIntervalMinutes: z.number().int().min(5).max(10_080),
    testGraceMinutes: z.number().int().min(0).max(1440),
    schedule: WeeklyScheduleSchema.nullable(),
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

const COLUMNS: Record<keyof SiteSettings, string> = {
  region: 'region',
  installerId: 'installer_id',
  testIntervalMinutes: 'test_interval_minutes',
  testGraceMinutes: 'test_grace_minutes',
  schedule: 'schedule',
};

/** Change a site's supervision settings; a new schedule is judged from now on, not retroactively. */
export async function updateSiteSettings(
  pool: pg.Pool,
  siteId: string,
  settings: SiteSettings,
  actor: string,
): Promise<boolean> {
  const entries = Object.entries(settings) as [keyof SiteSettings, unknown][];
  const assignments = entries.map(([key], i) => `${COLUMNS[key]} = $${i + 2}`);
  if ('schedule' in settings) assignments.push('schedule_checked_until = now()');
  const values = entries.map(([key, value]) =>
    key === 'schedule' && value !== null ? JSON.stringify(value) : value,
  );
  const { rowCount } = await pool.query(`UPDATE sites SET ${assignments.join(', ')} WHERE id = $1`, [
    siteId,
    ...values,
  ]);
  if (rowCount !== 1) return false;
  await audit(pool, actor, 'site.settings', siteId, {
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
