import test from 'ava';
import { changePin, checkCode, createContact } from '../central/contacts.ts';
import { upsertSite } from '../central/records.ts';
import { startTestCentral, type TestCentral } from './helpers/central.ts';

let env: TestCentral;
test.before(async () => {
  env = await startTestCentral();
  await upsertSite(env.central.pool, { id: 'site-c', name: 'Jansen' }, 'test');
  await upsertSite(env.central.pool, { id: 'site-d', name: 'De Vries' }, 'test');
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

test.serial('a PIN change checks the current PIN under the same lockout', async (t) => {
  const pool = env.central.pool;
  const c = await createContact(
    pool,
    { siteId: 'site-d', name: 'Piet', role: 'keyholder', order: 3 },
    'test',
  );
  await changePin(pool, 'site-d', c.idCode, c.defaultPin, '5173', 'customer:piet');
  const results: string[] = [];
  for (let i = 0; i < 12; i++) {
    const wrong = String(1000 + i);
    results.push(
      await changePin(pool, 'site-d', c.idCode, wrong, '9462', 'customer:piet').then(
        () => 'changed',
        (error: { reason?: string }) => error.reason ?? 'error',
      ),
    );
  }
  t.deepEqual(results.slice(0, 3), ['invalid', 'invalid', 'locked']);
  t.true(
    results.slice(3).every((r) => r === 'locked'),
    results.join(','),
  );
  await t.throwsAsync(changePin(pool, 'site-d', c.idCode, '5173', '9462', 'customer:piet'), {
    message: 'ID code or PIN not accepted',
  });
  t.is(await checkCode(pool, 'site-d', c.idCode, '5173', 'customer:piet'), 'locked', 'one lockout for both');
});

test.serial(
  'failures lock their source out, not the person; many sources lock the target; unknown codes alike',
  async (t) => {
    const pool = env.central.pool;
    const c = await createContact(pool, { siteId: 'site-d', name: 'Saskia', role: 'authorised' }, 'test');
    await changePin(pool, 'site-d', c.idCode, c.defaultPin, '2468', 'test');
    for (let i = 0; i < 3; i++) await checkCode(pool, 'site-d', c.idCode, '1357', 'app', 'ip:203.0.113.9');
    t.is(await checkCode(pool, 'site-d', c.idCode, '2468', 'app', 'ip:203.0.113.9'), 'locked');
    t.is(
      await checkCode(pool, 'site-d', c.idCode, '2468', 'phone'),
      'valid',
      'the real person is not locked out',
    );

    // A guess spread over addresses: 4 × 3 failures lock the contact for everyone.
    for (let i = 0; i < 12; i++)
      await checkCode(pool, 'site-d', c.idCode, '1357', 'app', `ip:198.51.100.${i % 6}`);
    t.is(await checkCode(pool, 'site-d', c.idCode, '2468', 'phone'), 'locked');
    const { rows } = await pool.query<{ locked: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM secret_lockouts WHERE target = $1 AND source = '*' AND locked_until > now()) AS locked`,
      [`contact:site-d/${c.idCode}`],
    );
    t.true(rows[0]?.locked);

    // One address trying many codes is locked out of all of them.
    const unknown = ['111111', '222222', '333333', '444444'];
    const answers: string[] = [];
    for (const code of unknown)
      for (let i = 0; i < 3; i++)
        answers.push(await checkCode(pool, 'site-d', code, '9999', 'app', 'ip:192.0.2.7'));
    t.deepEqual(
      answers.slice(0, 3),
      ['invalid', 'invalid', 'locked'],
      'an unknown code locks like a real one',
    );
    t.is(answers.at(-1), 'locked');
    t.is(
      await checkCode(pool, 'site-d', '555555', '9999', 'app', 'ip:192.0.2.7'),
      'locked',
      'the address is out',
    );
  },
);
