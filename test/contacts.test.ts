import test from 'ava';
import { changePin, checkCode, createContact } from '../central/contacts.ts';
import { upsertSite } from '../central/records.ts';
import { startTestCentral, type TestCentral } from './helpers/central.ts';

let env: TestCentral;
test.before(async () => {
  env = await startTestCentral();
  await upsertSite(env.central.pool, { id: 'site-c', name: 'Jansen' }, 'test');
});
test.after.always(() => env?.stop());

test.serial(
  'a contact gets a unique 6-digit ID code and a default PIN that must be changed before use',
  async (t) => {
    const pool = env.central.pool;
    const a = await createContact(
      pool,
      { siteId: 'site-c', name: 'Kees', role: 'keyholder', order: 1, phone: '+316' },
      'test',
    );
    const b = await createContact(pool, { siteId: 'site-c', name: 'Anna', role: 'authorised' }, 'test');
    t.regex(a.idCode, /^\d{6}$/);
    t.not(a.idCode, b.idCode);
    const { rows } = await pool.query(`SELECT pin_hash FROM contacts WHERE id = $1`, [a.id]);
    t.false(rows[0].pin_hash.includes(a.defaultPin), 'only a slow hash is stored');
    t.regex(rows[0].pin_hash, /^scrypt\$/);

    t.is(await checkCode(pool, 'site-c', a.idCode, a.defaultPin, 'operator:alice'), 'must-change-pin');
    await t.throwsAsync(changePin(pool, 'site-c', a.idCode, a.defaultPin, '1111', 'phone'), {
      message: /not all the same/,
    });
    await changePin(pool, 'site-c', a.idCode, a.defaultPin, '4826', 'phone');
    t.is(await checkCode(pool, 'site-c', a.idCode, '4826', 'operator:alice'), 'valid');
    t.is(
      await checkCode(pool, 'other-site', a.idCode, '4826', 'operator:alice'),
      'invalid',
      'codes belong to their site',
    );
  },
);

test.serial('wrong PINs lock the contact; every attempt is audited without the full ID code', async (t) => {
  const pool = env.central.pool;
  const c = await createContact(
    pool,
    { siteId: 'site-c', name: 'Karin', role: 'keyholder', order: 2 },
    'test',
  );
  await changePin(pool, 'site-c', c.idCode, c.defaultPin, '7351', 'phone');
  t.is(await checkCode(pool, 'site-c', c.idCode, '0000', 'operator:bob'), 'invalid');
  t.is(await checkCode(pool, 'site-c', c.idCode, '0001', 'operator:bob'), 'invalid');
  t.is(await checkCode(pool, 'site-c', c.idCode, '0002', 'operator:bob'), 'locked');
  t.is(
    await checkCode(pool, 'site-c', c.idCode, '7351', 'operator:bob'),
    'locked',
    'even the right PIN while locked',
  );
  t.is(
    await checkCode(pool, 'site-c', '999999', '7351', 'operator:bob'),
    'invalid',
    'an unknown code says nothing more',
  );
  const { rows } = await pool.query<{ action: string; subject: string }>(
    `SELECT action, subject FROM audit_log WHERE actor = 'operator:bob' ORDER BY id`,
  );
  t.deepEqual(
    rows.map((r) => r.action),
    [
      'code-check.invalid',
      'code-check.invalid',
      'code-check.locked',
      'code-check.locked',
      'code-check.invalid',
    ],
  );
  t.false(
    rows.some((r) => r.subject.includes(c.idCode)),
    'the audit trail does not spell out ID codes',
  );
});
