import type pg from 'pg';
import { audit } from './records.ts';

/** The longest service window one grant opens. */
export const INSTALLER_ACCESS_MAX_HOURS = 24;

export interface ServicedSite {
  readonly status: 'submitted' | 'registered' | 'active';
  readonly installer_access_until: Date | null;
}

/**
 * Whether the site's installer may change what a live site does (start a walk test, re-issue the
 * gateway's secret): always while commissioning, on a live site only in a granted window.
 */
export function installerMayService(site: ServicedSite, now: number): boolean {
  if (site.status !== 'active') return true;
  return site.installer_access_until !== null && site.installer_access_until.getTime() > now;
}

/** Open a service window for the site's installer; `by` is the person who consented. */
export async function grantInstallerAccess(
  pool: pg.Pool,
  siteId: string,
  hours: number,
  by: string,
  detail: Record<string, unknown> = {},
): Promise<Date | null> {
  const { rows } = await pool.query<{ until: Date }>(
    `UPDATE sites SET installer_access_until = now() + make_interval(hours => $2), installer_access_by = $3
      WHERE id = $1 RETURNING installer_access_until AS until`,
    [siteId, hours, by],
  );
  if (!rows[0]) return null;
  await audit(pool, by, 'installer-access.grant', siteId, { hours, until: rows[0].until, ...detail });
  return rows[0].until;
}
