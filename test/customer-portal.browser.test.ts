import test from 'ava';
import type { Browser } from 'playwright-core';
import { changePin, createContact } from '../central/contacts.ts';
import { upsertOperator } from '../central/records.ts';
import type { RunningGateway } from '../gateway/main.ts';
import { launchBrowser } from './helpers/browser.ts';
import {
  apiClient,
  eventually,
  loginCookie,
  OPERATOR,
  startTestCentral,
  startTestGateway,
  type TestCentral,
} from './helpers/central.ts';

let env: TestCentral;
let gw: RunningGateway;
let browser: Browser;
let anna: { idCode: string };

test.before(async () => {
  env = await startTestCentral();
  gw = await startTestGateway(
    env,
    'site-anna',
    'gw-anna',
    [{ id: 'hall', name: 'Hall motion', type: 'motion' }],
    'away',
  );
  const pool = env.central.pool;
  const created = await createContact(
    pool,
    { siteId: 'site-anna', name: 'Anna', role: 'authorised' },
    'test',
  );
  await changePin(pool, 'site-anna', created.idCode, created.defaultPin, '2468', 'test');
  anna = created;
  await upsertOperator(
    pool,
    {
      username: 'anna',
      displayName: 'Anna de Vries',
      password: 'anna password 1',
      role: 'customer',
      siteId: 'site-anna',
    },
    'test',
  );
  await env.addGateway('site-other', 'gw-other');
  browser = await launchBrowser();
});

test.after.always(async () => {
  await browser?.close();
  await gw?.stop();
  await env?.stop();
});

const alarmOf = async (siteId: string) =>
  eventually(async () => {
    const { rows } = await env.central.pool.query<{
      id: string;
      status: string;
      close_reason: string | null;
    }>(`SELECT id::text, status, close_reason FROM alarms WHERE site_id = $1 ORDER BY id DESC LIMIT 1`, [
      siteId,
    ]);
    return rows[0];
  }, `an alarm at ${siteId}`);

test.serial(
  'a customer cancels a false alarm with ID code + PIN, puts the site in test and reads a report',
  async (t) => {
    const page = await browser.newPage();
    await page.goto(`${env.central.httpUrl}/portal`);
    await page.getByLabel('Username').fill('anna');
    await page.getByLabel('Password').fill('anna password 1');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByText('No open alarms.').waitFor();

    gw.gateway.simulatedBus!.inject('hall', 'alarm');
    const alarm = await alarmOf('site-anna');
    await page.reload();
    const cancel = page.getByRole('form', { name: `Cancel alarm ${alarm.id}` });
    await cancel.waitFor();

    await page.getByLabel('ID code', { exact: true }).fill(anna.idCode);
    await page.getByLabel('PIN', { exact: true }).fill('1111');
    await cancel.getByRole('button', { name: /Cancel this alarm/ }).click();
    await cancel.getByRole('alert').filter({ hasText: 'ID code or PIN not accepted' }).waitFor();
    t.is((await alarmOf('site-anna')).status, 'open');

    await page.getByLabel('PIN', { exact: true }).fill('2468');
    await cancel.getByRole('button', { name: /Cancel this alarm/ }).click();
    await cancel.getByRole('status').filter({ hasText: 'Cancelled' }).waitFor();
    const closed = await eventually(async () => {
      const a = await alarmOf('site-anna');
      return a.status === 'closed' ? a : null;
    }, 'the alarm to close');
    t.regex(
      String(closed.close_reason),
      /^cancelled by Anna \(ID code \d\d····\) with a valid code$/,
      'who cancelled, never the whole code',
    );
    await page.getByText('No open alarms.').waitFor();

    const testMode = page.getByRole('form', { name: 'Request test mode' });
    await testMode.getByLabel('Duration').selectOption({ label: '4 hours' });
    await testMode.getByRole('button', { name: 'Put in test' }).click();
    await testMode
      .getByRole('status')
      .filter({ hasText: /In test until/ })
      .waitFor();
    await page.locator('#in-test').waitFor();
    const { rows } = await env.central.pool.query(`SELECT test_mode_until FROM sites WHERE id = 'site-anna'`);
    t.true(Math.abs(rows[0].test_mode_until.getTime() - (Date.now() + 4 * 3_600_000)) < 60_000);

    const add = page.getByRole('form', { name: 'Add a keyholder' });
    await add.getByLabel('Keyholder name').fill('Kees');
    await add.getByLabel('Keyholder mobile').fill('+31 6 1234 5678');
    await add.getByRole('button', { name: 'Add keyholder' }).click();
    await add
      .getByRole('status')
      .filter({ hasText: /ID code \d{6} and first PIN \d{6}/ })
      .waitFor();
    await page
      .getByRole('table', { name: 'Contacts' })
      .getByRole('cell', { name: 'Kees', exact: true })
      .waitFor();

    await page.getByRole('form', { name: 'Report period' }).getByLabel('Period').selectOption('day');
    await page.getByRole('button', { name: 'Show report' }).click();
    await page.getByText('1 alarm(s) in the last day').waitFor();
    // Drawn by Chart.js: its own record of what it plots, one alarm in one hour, stacked by outcome.
    const chart = page.locator('canvas[aria-label="Alarms per hour"]');
    await chart.waitFor();
    const plotted = await chart.evaluate((canvas) => {
      const g = globalThis as unknown as {
        Chart: { getChart(c: unknown): { data: { datasets: { data: number[] }[] }; options: object } };
      };
      const drawn = g.Chart.getChart(canvas);
      return drawn.data.datasets.map((d) => d.data.reduce((a, b) => a + b, 0));
    });
    t.is(
      plotted.reduce((a, b) => a + b, 0),
      1,
    );
  },
);

test.serial('after a real alarm the customer sees the follow-up and answers it', async (t) => {
  gw.gateway.simulatedBus!.inject('hall', 'restore');
  await env.central.pool.query(`UPDATE sites SET test_mode_until = NULL WHERE id = 'site-anna'`);
  await env.central.procedures.reloadSite('site-anna');
  gw.gateway.simulatedBus!.inject('hall', 'alarm');
  const alarm = await eventually(async () => {
    const a = await alarmOf('site-anna');
    return a.status !== 'closed' ? a : null;
  }, 'a second alarm');
  const operator = apiClient(
    env.central.httpUrl,
    await loginCookie(env.central.httpUrl, OPERATOR.username, OPERATOR.password),
  );
  await operator('POST', `/api/alarms/${alarm.id}/claim`);
  const early = await operator('POST', `/api/alarms/${alarm.id}/outcome`, { outcome: 'close-real' });
  t.is(early.status, 409, 'a real alarm needs the dispatch record first');
  t.regex(early.body.error, /dispatch record/);
  const notDispatched = {
    outcome: 'not-dispatched',
    service: 'police',
    reason: 'Anna on site: a broken window, no intruder',
  };
  t.is((await operator('POST', `/api/alarms/${alarm.id}/outcome`, notDispatched)).status, 200);
  t.is((await operator('POST', `/api/alarms/${alarm.id}/outcome`, { outcome: 'close-real' })).status, 200);
  const followUp = await eventually(
    async () => (await operator('GET', '/api/follow-ups')).body.followUps[0],
    'a follow-up',
  );
  t.is(followUp.alarmId, alarm.id);

  const page = await browser.newPage();
  await page.goto(`${env.central.httpUrl}/portal`);
  await page.getByLabel('Username').fill('anna');
  await page.getByLabel('Password').fill('anna password 1');
  await page.getByRole('button', { name: 'Log in' }).click();
  const form = page.getByRole('form', { name: `Reply to follow-up ${followUp.id}` });
  await form.getByText(/we will contact you by/).waitFor();
  await form.getByLabel('Follow-up reply').fill('The back window was forced; police came.');
  await form.getByRole('button', { name: 'Send' }).click();
  await form.getByRole('status').filter({ hasText: 'Sent.' }).waitFor();
  t.is(
    (await operator('GET', '/api/follow-ups')).body.followUps[0].reply,
    'The back window was forced; police came.',
  );
  t.deepEqual(
    await operator('POST', `/api/follow-ups/${followUp.id}/done`, { text: 'Called Anna; glazier booked' }),
    {
      status: 200,
      body: { done: true },
    },
  );
});

test.serial('a customer sees and changes only their own site', async (t) => {
  const url = env.central.httpUrl;
  const customer = apiClient(url, await loginCookie(url, 'anna', 'anna password 1'));
  const { rows } = await env.central.pool.query<{ id: string }>(
    `SELECT id::text FROM alarms WHERE site_id = 'site-anna' LIMIT 1`,
  );
  const own = rows[0]!.id;
  t.is((await customer('GET', '/api/customer/overview')).body.site.id, 'site-anna');
  // Someone else's alarm is simply not there.
  await env.central.pool.query(
    `WITH r AS (INSERT INTO event_ids (id, gateway_id) VALUES ('01a1ffff-0000-7000-8000-000000000001', 'gw-other')
                RETURNING id, received_at)
     INSERT INTO events (id, site_id, gateway_id, seq, event_type, qualifier, cid, sia, class, priority, zone, area, verified,
                         verification, occurred_at, recorded_at, via, payload, received_at)
     SELECT id, 'site-other', 'gw-other', 1, 'burglary', 'event', '130', 'BA',
             'security', 1, 1, 1, false, '{}', now(), now(), 'central', '{}', received_at FROM r`,
  );
  const { rows: other } = await env.central.pool.query<{ id: string }>(
    `INSERT INTO alarms (event_id, event_received_at, site_id, class, priority, lead_event_type, lead_cid, lead_sia,
                         lead_zone, lead_area, lead_text, lead_occurred_at)
     SELECT id, received_at, site_id, class, priority, event_type, cid, sia, zone, area, text, occurred_at
       FROM events WHERE id = '01a1ffff-0000-7000-8000-000000000001'
     RETURNING id::text`,
  );
  const foreign = await customer('POST', `/api/customer/alarms/${other[0]!.id}/cancel`, {
    idCode: anna.idCode,
    pin: '2468',
  });
  t.deepEqual(foreign, { status: 404, body: { error: 'no such alarm' } });
  t.is(
    (await customer('POST', `/api/customer/alarms/${own}/cancel`, { idCode: anna.idCode, pin: '2468' }))
      .status,
    409,
  );
  const keyholders = (await customer('GET', '/api/customer/contacts')).body.contacts;
  const kees = keyholders.find((c: { name: string }) => c.name === 'Kees');
  t.is(
    (await customer('DELETE', `/api/customer/contacts/${kees.id}`, { idCode: kees.id, pin: '2468' })).status,
    400,
  );
  const anon = keyholders.find((c: { name: string }) => c.name === 'Anna');
  t.deepEqual(
    await customer('DELETE', `/api/customer/contacts/${anon.id}`, { idCode: anna.idCode, pin: '2468' }),
    {
      status: 409,
      body: { error: 'no such contact, or the last authorised person' },
    },
  );
  t.deepEqual(
    await customer('DELETE', `/api/customer/contacts/${kees.id}`, { idCode: anna.idCode, pin: '2468' }),
    {
      status: 200,
      body: { removed: true },
    },
  );
  t.is(
    (await customer('PUT', '/api/customer/test-mode', { idCode: anna.idCode, pin: '2468', minutes: 1441 }))
      .status,
    400,
  );
  // The site lets its installer service it for a while (walk test, new gateway credentials).
  t.is(
    (await customer('POST', '/api/customer/installer-access', { idCode: anna.idCode, pin: '1111', hours: 4 }))
      .status,
    403,
  );
  const window = await customer('POST', '/api/customer/installer-access', {
    idCode: anna.idCode,
    pin: '2468',
    hours: 4,
  });
  t.is(window.status, 200);
  const until = Date.parse(window.body.installerAccessUntil);
  t.true(Math.abs(until - (Date.now() + 4 * 3600_000)) < 60_000);
  // Test mode can end early, with an authorised person's code.
  t.is(
    (await customer('PUT', '/api/customer/test-mode', { idCode: anna.idCode, pin: '2468', minutes: 60 }))
      .status,
    200,
  );
  t.deepEqual(await customer('DELETE', '/api/customer/test-mode', { idCode: anna.idCode, pin: '2468' }), {
    status: 200,
    body: { testModeUntil: null },
  });
  const { rows: test } = await env.central.pool.query<{ test_mode_until: Date | null }>(
    `SELECT test_mode_until FROM sites WHERE id = 'site-anna'`,
  );
  t.is(test[0]?.test_mode_until, null);
});
