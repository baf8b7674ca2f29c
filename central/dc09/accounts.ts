import type pg from 'pg';
import { keyBytes, keyFormatOf } from '../../protocols/dc09/frame.ts';
import { IdentifierSchema } from '../../protocols/messages.ts';
import { SecretBox, secretBoxOf } from '../auth/secret-box.ts';
import { audit, issueGatewaySecret } from '../records.ts';

export interface Dc09Account {
  readonly prefix: string;
  readonly account: string;
  readonly siteId: string;
  readonly gatewayId: string;
  readonly key: Buffer | null;
  readonly supervisionSeconds: number;
  readonly path: 'primary' | 'backup';
}

export interface Dc09AccountInput {
  prefix: string;
  account: string;
  siteId: string;
  /** A Vigil gateway whose backup path this is; absent for a third-party panel (one is created). */
  gatewayId?: string | undefined;
  key?: string | undefined;
  keyFormat?: 'hex' | 'ascii' | undefined;
  supervisionSeconds?: number | undefined;
}

export async function upsertDc09Account(
  pool: pg.Pool,
  input: Dc09AccountInput,
  actor: string,
): Promise<Dc09Account> {
  const account = input.account.toUpperCase();
  const prefix = input.prefix.toUpperCase();
  if (!/^[0-9A-F]{3,16}$/.test(account)) throw new Error('account: 3 to 16 hex digits');
  if (!/^[0-9A-F]{1,6}$/.test(prefix)) throw new Error('prefix: 1 to 6 hex digits');
  const keyFormat = input.key ? keyFormatOf(input.key, input.keyFormat) : null;
  const key = input.key && keyFormat ? keyBytes(input.key, keyFormat) : null;
  let gatewayId = input.gatewayId;
  if (!gatewayId) {
    // A third-party panel is a gateway of its own for the event store; it never speaks MQTT.
    gatewayId = IdentifierSchema.parse(`panel-${prefix}-${account}`.toLowerCase());
    await issueGatewaySecret(pool, input.siteId, gatewayId, actor);
  }
  const supervisionSeconds = input.supervisionSeconds ?? 90;
  const path = input.gatewayId ? 'backup' : 'primary';
  await pool.query(
    `INSERT INTO dc09_accounts (prefix, account, site_id, gateway_id, aes_key, key_format, supervision_seconds, path)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
     ON CONFLICT (prefix, account) DO UPDATE SET site_id = EXCLUDED.site_id, gateway_id = EXCLUDED.gateway_id,
       aes_key = EXCLUDED.aes_key, key_format = EXCLUDED.key_format, supervision_seconds = EXCLUDED.supervision_seconds,
       path = EXCLUDED.path`,
    [
      prefix,
      account,
      input.siteId,
      gatewayId,
      // Never in clear at rest: sealed under the central's master key.
      input.key ? secretBoxOf(pool).seal(input.key) : null,
      key ? keyFormat : null,
      supervisionSeconds,
      path,
    ],
  );
  // Supervised from the moment it is set up: an account that never reports fails its path too.
  await pool.query(
    'INSERT INTO path_status (gateway_id, path) VALUES ($1, $2) ON CONFLICT (gateway_id, path) DO NOTHING',
    [gatewayId, path],
  );
  await audit(pool, actor, 'dc09-account.upsert', `${prefix}/${account}`, {
    siteId: input.siteId,
    gatewayId,
    encrypted: key !== null,
  });
  return { prefix, account, siteId: input.siteId, gatewayId, key, supervisionSeconds, path };
}

export async function loadDc09Accounts(pool: pg.Pool): Promise<Map<string, Dc09Account>> {
  const box = secretBoxOf(pool);
  const { rows } = await pool.query<{
    prefix: string;
    account: string;
    site_id: string;
    gateway_id: string;
    aes_key: string | null;
    key_format: 'hex' | 'ascii' | null;
    supervision_seconds: number;
    path: 'primary' | 'backup';
  }>(
    'SELECT prefix, account, site_id, gateway_id, aes_key, key_format, supervision_seconds, path FROM dc09_accounts',
  );
  // Keys stored in clear before they were sealed: seal them now.
  for (const r of rows) {
    if (!r.aes_key || SecretBox.isSealed(r.aes_key)) continue;
    const sealed = box.seal(r.aes_key);
    await pool.query('UPDATE dc09_accounts SET aes_key = $3 WHERE prefix = $1 AND account = $2', [
      r.prefix,
      r.account,
      sealed,
    ]);
    r.aes_key = sealed;
  }
  return new Map(
    rows.map((r) => [
      accountKey(r.prefix, r.account),
      {
        prefix: r.prefix,
        account: r.account,
        siteId: r.site_id,
        gatewayId: r.gateway_id,
        key: r.aes_key && r.key_format ? keyBytes(box.open(r.aes_key), r.key_format) : null,
        supervisionSeconds: r.supervision_seconds,
        path: r.path,
      },
    ]),
  );
}

/** Line prefixes are numbers written in hex: `L000`, `L0` and `L00` are the same line. */
export function accountKey(prefix: string, account: string): string {
  const line = Number.parseInt(prefix, 16);
  return `${Number.isNaN(line) ? prefix.toUpperCase() : line.toString(16).toUpperCase()}/${account.toUpperCase()}`;
}
