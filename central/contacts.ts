import { randomInt } from 'node:crypto';
import type pg from 'pg';
import { z } from 'zod';
import { checkSecret, contactTarget } from './auth/lockout.ts';
import { hashPassword, verifyPassword } from './auth/secrets.ts';
import { inTransaction } from './db/pool.ts';
import { audit } from './records.ts';

/**
 * Contacts and their codes (SPEC §2). Each contact gets a personal 6-digit ID code from the
 * central and a PIN, stored only as a slow hash; the first PIN is a default that must be changed
 * before use. Checking ID code + PIN locks the contact after repeated failures; every attempt,
 * right or wrong, is written to the audit trail.
 */
export interface ContactInput {
  siteId: string;
  name: string;
  role: 'authorised' | 'keyholder';
  order?: number;
  phone?: string;
  mobile?: string;
  email?: string;
}

export const PhoneSchema = z.string().regex(/^\+?[0-9 ]{6,20}$/, 'a phone number in international format');

/** A new contact as entered at the central (the site comes from the route). */
export const NewContactSchema = z.strictObject({
  name: z.string().trim().min(1).max(200),
  role: z.enum(['authorised', 'keyholder']),
  order: z.number().int().min(1).max(10).optional(),
  phone: PhoneSchema.optional(),
  mobile: PhoneSchema.optional(),
  email: z.email().max(254).optional(),
});

export const PIN_POLICY = { maxFailures: 3, lockoutMinutes: 30 } as const;
/** How many contacts a contract includes (SPEC §6). */
export const CONTACT_LIMITS = { residential: 3, business: 5 } as const;
const PIN_PATTERN = /^\d{4,8}$/;

/** Create a contact with a fresh ID code and a default PIN (returned once, to be sent by letter). */
export async function createContact(
  pool: pg.Pool,
  input: ContactInput,
  actor: string,
): Promise<{ id: string; idCode: string; defaultPin: string }> {
  const { rows: sites } = await pool.query<{ kind: keyof typeof CONTACT_LIMITS; contacts: number }>(
    'SELECT kind, (SELECT count(*)::int FROM contacts WHERE site_id = s.id) AS contacts FROM sites s WHERE id = $1',
    [input.siteId],
  );
  const site = sites[0];
  if (!site) throw new Error(`no site "${input.siteId}"`);
  if (site.contacts >= CONTACT_LIMITS[site.kind])
    throw new Error(`a ${site.kind} contract includes at most ${CONTACT_LIMITS[site.kind]} contacts`);
  const defaultPin = String(randomInt(0, 1_000_000)).padStart(6, '0');
  const pinHash = await hashPassword(defaultPin);
  for (let attempt = 0; attempt < 20; attempt++) {
    const idCode = String(randomInt(100_000, 1_000_000));
    const { rows } = await pool.query<{ id: string }>(
      `INSERT INTO contacts (site_id, name, role, call_order, phone, mobile, email, id_code, pin_hash)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id_code) DO NOTHING RETURNING id::text`,
      [
        input.siteId,
        input.name,
        input.role,
        input.order ?? 1,
        input.phone ?? null,
        input.mobile ?? null,
        input.email ?? null,
        idCode,
        pinHash,
      ],
    );
    if (rows[0]) {
      await audit(pool, actor, 'contact.create', `${input.siteId}/${rows[0].id}`, {
        role: input.role,
        name: input.name,
      });
      return { id: rows[0].id, idCode, defaultPin };
    }
  }
  throw new Error('could not find a free ID code');
}

export type CodeCheck = 'valid' | 'invalid' | 'locked' | 'must-change-pin';

const masked = (siteId: string, idCode: string) => `${siteId}/${idCode.replace(/\d(?=\d{2})/g, '*')}`;

/** ID code + PIN under the shared lockout (auth/lockout.ts), in the caller's transaction. */
async function verifyCode(
  client: pg.PoolClient,
  siteId: string,
  idCode: string,
  pin: string,
  source: string,
): Promise<{ check: 'ok' | 'invalid' | 'locked'; contact: { id: string; pin_must_change: boolean } | null }> {
  const { rows } = await client.query<{ id: string; pin_hash: string; pin_must_change: boolean }>(
    'SELECT id::text, pin_hash, pin_must_change FROM contacts WHERE site_id = $1 AND id_code = $2',
    [siteId, idCode],
  );
  const contact = rows[0] ?? null;
  const check = await checkSecret(
    client,
    { target: contactTarget(siteId, idCode), source },
    PIN_POLICY,
    async () => (contact && PIN_PATTERN.test(pin) ? verifyPassword(pin, contact.pin_hash) : false),
  );
  return { check: check === 'refused' ? 'locked' : check, contact };
}

/**
 * Check an ID code + PIN given on the phone for a site. A default PIN that was never changed is
 * refused. The answer never says whether the ID code exists (SPEC §2: no information given).
 * `source` is who is trying (the operator at the phone, the portal account, the app's address):
 * failures lock that source out first (auth/lockout.ts).
 */
export async function checkCode(
  pool: pg.Pool,
  siteId: string,
  idCode: string,
  pin: string,
  by: string,
  source: string = by,
): Promise<CodeCheck> {
  return inTransaction(pool, async (client) => {
    const { check, contact } = await verifyCode(client, siteId, idCode, pin, source);
    const result: CodeCheck = check !== 'ok' ? check : contact?.pin_must_change ? 'must-change-pin' : 'valid';
    await audit(client, by, `code-check.${result}`, masked(siteId, idCode), {
      contact: contact?.id ?? null,
      ...(source !== by ? { from: source } : {}),
    });
    return result;
  });
}

/** Change a PIN: needs the current one (checked under the same lockout); the new one may not be a row of repeats. */
export async function changePin(
  pool: pg.Pool,
  siteId: string,
  idCode: string,
  currentPin: string,
  newPin: string,
  by: string,
  source: string = by,
): Promise<void> {
  if (!PIN_PATTERN.test(newPin) || /^(\d)\1+$/.test(newPin) || newPin === currentPin) {
    throw new Error('a new PIN is 4 to 8 digits, not all the same, and differs from the current one');
  }
  const refused = await inTransaction(pool, async (client) => {
    const { check, contact } = await verifyCode(client, siteId, idCode, currentPin, source);
    if (check !== 'ok' || !contact) {
      await audit(client, by, 'pin-change.refused', masked(siteId, idCode), { reason: check });
      return check;
    }
    await client.query('UPDATE contacts SET pin_hash = $2, pin_must_change = false WHERE id = $1', [
      contact.id,
      await hashPassword(newPin),
    ]);
    await audit(client, by, 'pin-change.ok', `${siteId}/${contact.id}`);
    return null;
  });
  if (refused) throw Object.assign(new Error('ID code or PIN not accepted'), { reason: refused });
}

/** An ID code + PIN checked as `checkCode` does; when valid, whose they are. */
export async function checkContact(
  pool: pg.Pool,
  siteId: string,
  idCode: string,
  pin: string,
  by: string,
  source: string = by,
): Promise<{ ok: true; contactId: string; role: ContactInput['role'] } | { ok: false; reason: CodeCheck }> {
  const result = await checkCode(pool, siteId, idCode, pin, by, source);
  if (result !== 'valid') return { ok: false, reason: result };
  const { rows } = await pool.query<{ id: string; role: ContactInput['role'] }>(
    'SELECT id::text, role FROM contacts WHERE site_id = $1 AND id_code = $2',
    [siteId, idCode],
  );
  return { ok: true, contactId: rows[0]!.id, role: rows[0]!.role };
}

/** An ID code + PIN of one of the site's authorised persons (who may change the site's records). */
export async function checkAuthorised(
  pool: pg.Pool,
  siteId: string,
  idCode: string,
  pin: string,
  by: string,
): Promise<{ ok: true; contactId: string } | { ok: false; reason: CodeCheck | 'not-authorised' }> {
  const result = await checkContact(pool, siteId, idCode, pin, by);
  if (!result.ok) return result;
  return result.role === 'authorised'
    ? { ok: true, contactId: result.contactId }
    : { ok: false, reason: 'not-authorised' };
}

export const ContactChangesSchema = z
  .strictObject({
    name: z.string().trim().min(1).max(200),
    order: z.number().int().min(1).max(10),
    phone: PhoneSchema.nullable(),
    mobile: PhoneSchema.nullable(),
    email: z.email().max(254).nullable(),
  })
  .partial()
  .refine((changes) => Object.keys(changes).length > 0, 'nothing to change');

const CONTACT_COLUMNS = {
  name: 'name',
  order: 'call_order',
  phone: 'phone',
  mobile: 'mobile',
  email: 'email',
} as const;

export async function updateContact(
  pool: pg.Pool,
  siteId: string,
  contactId: string,
  changes: z.infer<typeof ContactChangesSchema>,
  by: string,
  authority: Record<string, unknown> = {},
): Promise<boolean> {
  const entries = Object.entries(changes) as [keyof typeof CONTACT_COLUMNS, unknown][];
  const { rowCount } = await pool.query(
    `UPDATE contacts SET ${entries.map(([key], i) => `${CONTACT_COLUMNS[key]} = $${i + 3}`).join(', ')}
      WHERE site_id = $1 AND id = $2`,
    [siteId, contactId, ...entries.map(([, value]) => value)],
  );
  if (rowCount !== 1) return false;
  await audit(pool, by, 'contact.update', `${siteId}/${contactId}`, {
    fields: entries.map(([key]) => key),
    ...authority,
  });
  return true;
}

/** Remove a contact; the last authorised person of a site stays (someone must be able to cancel). */
export async function removeContact(
  pool: pg.Pool,
  siteId: string,
  contactId: string,
  by: string,
  authority: Record<string, unknown> = {},
): Promise<boolean> {
  const { rowCount } = await pool.query(
    `DELETE FROM contacts c WHERE c.site_id = $1 AND c.id = $2
        AND (c.role <> 'authorised'
             OR (SELECT count(*) FROM contacts o WHERE o.site_id = $1 AND o.role = 'authorised') > 1)`,
    [siteId, contactId],
  );
  if (rowCount !== 1) return false;
  await audit(pool, by, 'contact.remove', `${siteId}/${contactId}`, authority);
  return true;
}
