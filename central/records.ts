import type pg from 'pg';
import { IdentifierSchema } from '../protocols/messages.ts';
import { accountTarget, clearTarget } from './auth/lockout.ts';
import { hashPassword, newSecret, sha256 } from './auth/secrets.ts';
import { category } from './supervision/categories.ts';

/** Provisioning of sites, gateways and operators; every change leaves an audit row. */
export interface SiteInput {
  id: string;
  name: string;
  address?: string;
  timeZone?: string;
  kind?: 'residential' | 'business';
  /** EN 50136-1 category (DP2 default): how long each path may be silent. */
  atsCategory?: string;
}

export async function upsertSite(pool: pg.Pool, site: SiteInput, actor: string): Promise<void> {
  IdentifierSchema.parse(site.id);
  const atsCategory = site.atsCategory ?? 'DP2';
  category(atsCategory);
  await pool.query(
    `INSERT INTO sites (id, name, address, time_zone, kind, ats_category) VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, address = EXCLUDED.address,
       time_zone = EXCLUDED.time_zone, kind = EXCLUDED.kind, ats_category = EXCLUDED.ats_category`,
    [
      site.id,
      site.name,
      site.address ?? '',
      site.timeZone ?? 'Europe/Amsterdam',
      site.kind ?? 'residential',
      atsCategory,
    ],
  );
  await audit(pool, actor, 'site.upsert', site.id, { name: site.name });
}

/** Issue (or re-issue) a gateway's MQTT secret. Returned once; only its hash is stored. */
export async function issueGatewaySecret(
  pool: pg.Pool,
  siteId: string,
  gatewayId: string,
  actor: string,
): Promise<string> {
  IdentifierSchema.parse(gatewayId);
  const secret = newSecret();
  const { rowCount } = await pool.query(
    `INSERT INTO gateways (id, site_id, secret_sha256) VALUES ($1, $2, $3)
     ON CONFLICT (id) DO UPDATE SET secret_sha256 = EXCLUDED.secret_sha256 WHERE gateways.site_id = EXCLUDED.site_id`,
    [gatewayId, siteId, sha256(secret)],
  );
  if (rowCount !== 1) throw new Error(`gateway "${gatewayId}" belongs to another site`);
  await audit(pool, actor, 'gateway.issue-secret', gatewayId, { siteId });
  return secret;
}

/** An account of any role; customers are scoped to a site, installers to their company. */
export interface AccountInput {
  username: string;
  displayName: string;
  password: string;
  role: 'operator' | 'supervisor' | 'installer' | 'customer';
  siteId?: string;
  installerId?: string;
}

export async function upsertOperator(pool: pg.Pool, account: AccountInput, actor: string): Promise<void> {
  if (account.password.length < 10) throw new Error('passwords need at least 10 characters');
  if ((account.role === 'customer') !== (account.siteId !== undefined))
    throw new Error('a customer account belongs to exactly one site');
  if ((account.role === 'installer') !== (account.installerId !== undefined))
    throw new Error('an installer account belongs to an installer company');
  await pool.query(
    `INSERT INTO operators (username, display_name, password_hash, role, site_id, installer_id)
     VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (username) DO UPDATE SET display_name = EXCLUDED.display_name,
       password_hash = EXCLUDED.password_hash, role = EXCLUDED.role, site_id = EXCLUDED.site_id,
       installer_id = EXCLUDED.installer_id`,
    [
      account.username,
      account.displayName,
      await hashPassword(account.password),
      account.role,
      account.siteId ?? null,
      account.installerId ?? null,
    ],
  );
  // A new password from an administrator lifts every lock on the account.
  await clearTarget(pool, accountTarget(account.username));
  await audit(pool, actor, 'account.upsert', account.username, {
    role: account.role,
    ...(account.siteId ? { siteId: account.siteId } : {}),
    ...(account.installerId ? { installerId: account.installerId } : {}),
  });
}

export async function audit(
  db: Pick<pg.Pool, 'query'>,
  actor: string,
  action: string,
  subject: string | null,
  detail: Record<string, unknown> = {},
): Promise<void> {
  await db.query('INSERT INTO audit_log (actor, action, subject, detail) VALUES ($1, $2, $3, $4)', [
    actor,
    action,
    subject,
    JSON.stringify(detail),
  ]);
}
