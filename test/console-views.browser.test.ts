import test from 'ava';
import type { Browser, Page } from 'playwright-core';
import { changePin, createContact } from '../central/contacts.ts';
import { storeEvent } from '../central/ingest/event-store.ts';
import { upsertOperator } from '../central/records.ts';
import { centralEvent } from '../central/supervision/central-event.ts';
import type { RunningGateway } from '../gateway/main.ts';
import { launchBrowser, logIn } from './helpers/browser.ts';
import {
  apiClient,
  eventually,
  loginCookie,
  OPERATOR,
  startTestCentral,
  startTestGateway,
  type TestCentral,
} from './helpers/central.ts';
import { DESK, screenshot } from './helpers/screenshots.ts';
import { TcpProxy } from './helpers/tcp-proxy.ts';

let env: TestCentral;
let gw: RunningGateway;
let browser: Browser;
let proxy: TcpProxy;
let consoleUrl: string;
let kees: { idCode: string };

const SUPERVISOR = { username: 'sue', password: 'sue password 12' };

test.before(async () => {
  env = await startTestCentral();
  gw = await startTestGateway(
    env,
    'site-views',
    'gw-views',
    [
      { id: 'door', name: 'Front door', type: 'contact' },
      { id: 'smoke', name: 'Hall smoke', type: 'smoke' },
    ],
    'away',
  );
  const pool = env.central.pool;
  await pool.query(
    `UPDATE sites SET name = 'Bakkerij Jansen', address = 'Dorpsstraat 4, Hoorn', premises_phone = '+31229123456' WHERE id = 'site-views'`,
  );
  kees = await createContact(
    pool,
    { siteId: 'site-views', name: 'Kees Jansen', role: 'authorised', order: 1, phone: '+31611112222' },
    'test',
  );
  await changePin(
    pool,
    'site-views',
    kees.idCode,
    (kees as unknown as { defaultPin: string }).defaultPin,
    '8642',
    'test',
  );
  await upsertOperator(pool, { ...SUPERVISOR, displayName: 'Sue', role: 'supervisor' }, 'test');
  // The browser reaches the central through a proxy the test can cut: a network failure.
  const url = new URL(env.central.httpUrl);
  proxy = new TcpProxy({ host: url.hostname, port: Number(url.port) });
  consoleUrl = `http://127.0.0.1:${await proxy.start()}/console`;
  browser = await launchBrowser();
});

test.after.always(async () => {
  await browser?.close();
  await proxy?.cut();
  await gw?.stop();
  await env?.stop();
});

/** Counts the tones the page plays, through the real Web Audio API. */
const COUNT_TONES = () => {
  const page = globalThis as unknown as {
    tones: number;
    AudioContext: { prototype: { createOscillator(): unknown } };
  };
  page.tones = 0;
  const original = page.AudioContext.prototype.createOscillator;
  page.AudioContext.prototype.createOscillator = function (this: unknown) {
    page.tones++;
    return original.call(this);
  };
};
const tones = (page: Page) => page.evaluate(() => (globalThis as unknown as { tones: number }).tones);

async function login(username: string, password: string, options: { clock?: boolean } = {}): Promise<Page> {
  const page = await browser.newPage({ viewport: DESK });
  await page.addInitScript(COUNT_TONES);
  if (options.clock) await page.clock.install();
  await page.goto(consoleUrl);
  await logIn(page, username, password);
  await page.locator('#conn', { hasText: 'live' }).waitFor();
  return page;
}

test.serial(
  'a new incident sounds until claimed, per class, and each operator can mute a class',
  async (t) => {
    const alice = await login(OPERATOR.username, OPERATOR.password, { clock: true });
    t.is(await tones(alice), 0, 'silent with nothing waiting');
    gw.gateway.simulatedBus!.inject('door', 'alarm');
    await alice.locator('#alarms tr.alarm.security').waitFor();
    // At once, and again every 3 s (three beeps a round for security) while nobody claims it.
    const first = await eventually(async () => tones(alice), 'the first alert');
    t.is(first, 3);
    await alice.clock.runFor(3_000);
    t.is(await tones(alice), 6);
    await alice.clock.runFor(3_000);
    t.is(await tones(alice), 9);

    // Alice mutes security on her console: silence, and it stays so after a reload (kept per operator).
    await alice.getByRole('button', { name: /^Sound/ }).click();
    await alice.getByLabel('Sound for Security').uncheck();
    await alice.getByRole('button', { name: /^Sound: 3 of 4/ }).waitFor();
    await alice.clock.runFor(9_000);
    t.is(await tones(alice), 9);
    // Sound again: at once (once the page's effects ran, on its faked clock too), then every 3 s.
    await alice.getByLabel('Sound for Security').check();
    await alice.clock.runFor(50);
    t.is(await tones(alice), 12);
    await alice.clock.runFor(3_000);
    t.is(await tones(alice), 15);

    // Claimed: the alert stops for everyone.
    await alice.locator('#alarms tr.alarm.security').click();
    await alice.getByRole('button', { name: 'Claim' }).click();
    await alice.locator('.badge.claimed', { hasText: 'Claimed by you' }).waitFor();
    const after = await tones(alice);
    await alice.clock.runFor(9_000);
    t.is(await tones(alice), after);
    await alice.getByLabel('Close reason').selectOption({ label: 'False alarm' });
    await alice.getByRole('button', { name: 'Close alarm' }).click();
    await alice.getByText(/Nothing more to do on this incident/).waitFor();
    t.false(await alice.locator('#proposal').isVisible(), 'a closed incident has no next step');
    await alice.close();
  },
);

test.serial(
  'waiting incidents are apart from active ones, with their reason and when they wake',
  async (t) => {
    const alice = await login(OPERATOR.username, OPERATOR.password);
    const source = { siteId: 'site-views', gatewayId: 'gw-views' };
    // As the central's own ingest does: stored, then handed to the procedure engine (a mains wait).
    const event = {
      ...centralEvent('mains-loss', 'event', source, Date.now(), null, 'mains lost'),
      seq: 9001,
    };
    const stored = await storeEvent(env.central.pool, event, 'central');
    await env.central.procedures.onEventStored(
      event,
      stored.kind === 'stored' ? (stored.incident?.id ?? null) : null,
    );
    const waiting = alice.getByRole('table', { name: 'Waiting incidents' });
    const row = waiting.locator('tr.alarm', { hasText: 'Mains power loss' });
    await row.waitFor();
    t.regex((await row.textContent()) ?? '', /waiting for a restore[\s\S]*today \d\d:\d\d/i);
    t.is(
      await alice
        .getByRole('table', { name: 'Open alarms' })
        .locator('tr.alarm', { hasText: 'Mains power loss' })
        .count(),
      0,
    );
    // Waiting incidents do not count as waiting for an operator.
    await eventually(async () => (await alice.title()) === 'Vigil — operator console', 'no count on the tab');
    await screenshot(alice, 'console-queue');
    await alice.close();
  },
);

test.serial('losing the central is loud, and the reconnect reloads the truth', async (t) => {
  const alice = await login(OPERATOR.username, OPERATOR.password);
  await proxy.cut();
  const banner = alice.locator('#connection-lost');
  await banner.waitFor();
  t.regex((await banner.textContent()) ?? '', /Connection to the central lost at .*not live/);
  await alice.locator('#work.stale').waitFor();
  await alice.locator('.age.stale').first().waitFor();
  t.is(await alice.locator('#conn').textContent(), 'connection lost');
  // Meanwhile a fire alarm is committed; the page cannot know.
  gw.gateway.simulatedBus!.inject('smoke', 'alarm');
  await eventually(
    async () =>
      (await env.central.pool.query(`SELECT 1 FROM alarms WHERE class = 'safety' AND status <> 'closed'`))
        .rowCount,
    'the fire alarm stored',
  );
  await screenshot(alice, 'console-connection-lost');
  await proxy.restore();
  await alice.locator('#conn', { hasText: 'live' }).waitFor({ timeout: 20_000 });
  t.true(await banner.isHidden());
  await alice.locator('#alarms tr.alarm.safety', { hasText: 'Smoke' }).waitFor();
  t.is(await alice.locator('#work.stale').count(), 0);
  await alice.close();
});

test.serial(
  'the supervisor board shows who holds what, for how long, and takes over with a reason',
  async (t) => {
    const alice = await login(OPERATOR.username, OPERATOR.password);
    const row = alice.locator('#alarms tr.alarm.safety');
    await row.click();
    await alice.getByRole('button', { name: 'Claim' }).click();
    await alice.locator('.badge.claimed', { hasText: 'Claimed by you' }).waitFor();
    await screenshot(alice, 'console-incident');

    const sue = await login(SUPERVISOR.username, SUPERVISOR.password);
    await sue.getByRole('button', { name: 'Board' }).click();
    const operators = sue.getByRole('table', { name: 'Operators online' });
    await operators.locator('tr', { hasText: 'Alice' }).filter({ hasText: 'online since' }).waitFor();
    const held = sue.getByRole('table', { name: 'Held incidents' }).locator('tr', { hasText: 'Smoke' });
    await held.waitFor();
    t.regex((await held.textContent()) ?? '', /Smoke[\s\S]*Bakkerij Jansen[\s\S]*Alice[\s\S]*\d\d:\d\d/);
    await screenshot(sue, 'console-board');
    // A take-over without a reason is refused by the form; with one, Alice is told.
    await held.getByLabel('Reason for taking over').fill('Alice is needed on the phone line');
    await held.getByRole('button', { name: 'Take over' }).click();
    await alice
      .getByRole('alert')
      .filter({ hasText: 'Sue took over "Smoke" at Bakkerij Jansen: Alice is needed on the phone line' })
      .waitFor();
    await sue.getByRole('table', { name: 'Held incidents' }).locator('tr', { hasText: 'Sue' }).waitFor();
    const supervisor = apiClient(
      env.central.httpUrl,
      await loginCookie(env.central.httpUrl, SUPERVISOR.username, SUPERVISOR.password),
    );
    const alarmId = await row.getAttribute('data-alarm-id');
    t.deepEqual(
      (await supervisor('POST', `/api/alarms/${alarmId}/claim`, { takeOver: true })).status,
      400,
      'a take-over says why',
    );
    await alice.close();
    await sue.close();
  },
);

test.serial(
  'sites are managed without an alarm: search by phone or contact, contacts changed on an authorised code, test mode',
  async (t) => {
    const sue = await login(SUPERVISOR.username, SUPERVISOR.password);
    // By a contact's phone number (as a caller would be found), never by the ID code.
    await sue.keyboard.press('/');
    await sue.keyboard.type('06 1111 2222');
    const results = sue.getByRole('listbox', { name: 'Search results' });
    await results.getByText('matched: contact Kees Jansen').waitFor();
    await sue.locator('#search').fill(kees.idCode);
    await results.getByText('No site matches.').waitFor();
    await sue.locator('#search').fill('Dorpsstraat');
    await results.getByRole('link', { name: 'Bakkerij Jansen (site-views)' }).click();

    const site = sue.getByRole('article', { name: 'Site site-views' });
    await site.getByText('Premises: +31229123456').waitFor();
    // Kees asks on the phone to change his mobile number: his code is checked and the change recorded.
    await site.getByRole('button', { name: 'Change Kees Jansen' }).click();
    const form = site.getByRole('form', { name: 'Change contact Kees Jansen' });
    await form.getByLabel('Mobile').fill('+31699990000');
    await form.getByLabel("Caller's ID code").fill(kees.idCode);
    await form.getByLabel("Caller's PIN").fill('1111');
    await form.getByRole('button', { name: 'Save contact' }).click();
    await site.getByRole('alert').filter({ hasText: 'Code not accepted' }).waitFor();
    await form.getByLabel("Caller's PIN").fill('8642');
    await form.getByRole('button', { name: 'Save contact' }).click();

    await site.getByText('+31699990000').waitFor();
    const { rows } = await env.central.pool.query(
      `SELECT actor, detail FROM audit_log WHERE action = 'contact.update' ORDER BY id DESC LIMIT 1`,
    );
    t.is(rows[0].actor, 'operator:sue');
    t.is(rows[0].detail.authority, 'phone');
    t.deepEqual(rows[0].detail.fields, ['mobile']);

    // Test mode on a written request; the site is listed among those in test, then ended.
    const testForm = site.getByRole('form', { name: 'Start test mode' });
    await testForm.getByLabel('Authority').selectOption('written');
    await testForm.getByLabel('Request reference').fill('letter 2026-118');
    await testForm.getByRole('button', { name: 'Start test mode' }).click();
    await site.getByText(/In test until/).waitFor();
    await sue.getByRole('button', { name: 'In test' }).click();
    await sue.getByRole('table', { name: 'Sites' }).getByText('Bakkerij Jansen').waitFor();
    await screenshot(sue, 'console-sites');
    // The arming schedule as a week: open Monday 08:00–18:00, judged from now on.
    const schedule = site.getByRole('form', { name: 'Arming schedule' });
    await schedule.getByLabel('Mon open from').fill('08:00');
    await schedule.getByLabel('Mon open until').fill('18:00');
    await schedule.getByLabel('Requested by').fill('Kees Jansen by phone, code checked');
    await schedule.getByRole('button', { name: 'Save schedule' }).click();
    await schedule.getByRole('status').filter({ hasText: 'Schedule saved' }).waitFor();
    const { rows: saved } = await env.central.pool.query(
      `SELECT schedule FROM sites WHERE id = 'site-views'`,
    );
    t.deepEqual(saved[0].schedule, {
      marginMinutes: 15,
      open: { '1': { from: '08:00', to: '18:00' } },
      nightCheck: null,
    });
    await site.getByRole('button', { name: 'End test mode now' }).click();
    await sue
      .getByRole('table', { name: 'Sites' })
      .getByText('Bakkerij Jansen')
      .waitFor({ state: 'detached' });

    // The audit view: filtered by actor and subject, details in words.
    await sue.getByRole('button', { name: 'Audit' }).click();
    const filters = sue.getByRole('form', { name: 'Audit filters' });
    await filters.getByLabel('Who').fill('sue');
    await filters.getByLabel('Subject').fill('site-views');
    await filters.getByRole('button', { name: 'Show' }).click();
    const audit = sue.getByRole('table', { name: 'Audit trail' });
    await audit.locator('tr', { hasText: 'changed a contact' }).filter({ hasText: 'authority' }).waitFor();
    t.regex((await audit.textContent()) ?? '', /put the site in test[\s\S]*reference\s*letter 2026-118/);
    t.false(((await audit.textContent()) ?? '').includes('{"'), 'no raw JSON');
    t.is(await audit.locator('tr', { hasText: 'alice' }).count(), 0, 'only Sue');
    await screenshot(sue, 'console-audit');
    await sue.close();
  },
);

test.serial('a submission is reviewed and rejected with a reason the installer reads', async (t) => {
  const pool = env.central.pool;
  const { rows } = await pool.query<{ id: string }>(
    `INSERT INTO installers (company, name) VALUES ('Veilig BV', 'Ines') RETURNING id::text`,
  );
  await upsertOperator(
    pool,
    {
      username: 'ines',
      displayName: 'Ines',
      password: 'ines password 1',
      role: 'installer',
      installerId: rows[0]!.id,
    },
    'test',
  );
  const installer = apiClient(
    env.central.httpUrl,
    await loginCookie(env.central.httpUrl, 'ines', 'ines password 1'),
  );
  const submission = {
    id: 'site-new',
    name: 'Villa Nieuw',
    address: 'Nieuwe Weg 1',
    timeZone: 'Europe/Amsterdam',
    kind: 'residential',
    gatewayId: 'gw-new',
    devices: [{ id: 'pir1', name: 'Living motion', type: 'motion', zone: 1, area: 1 }],
    contacts: [{ name: 'Nora', role: 'authorised', order: 1, phone: '+31612345678' }],
  };
  const submitted = await installer('POST', '/api/installer/sites', submission);
  t.is(submitted.status, 201, JSON.stringify(submitted.body));

  const sue = await login(SUPERVISOR.username, SUPERVISOR.password);
  await sue.getByRole('button', { name: 'To register' }).click();
  const card = sue.getByRole('article', { name: 'Submission site-new' });
  await card.getByRole('button', { name: /Review 1 devices, 1 contacts/ }).click();
  await card.getByRole('table', { name: 'Devices of site-new' }).getByText('Living motion').waitFor();
  await card.getByLabel('Reason for rejecting').fill('No smoke detector on the plan: add one per floor');
  await card.getByRole('button', { name: 'Reject' }).click();
  await card.waitFor({ state: 'detached' });
  const mine = await installer('GET', '/api/installer/sites');
  const site = mine.body.sites.find((s: { id: string }) => s.id === 'site-new');
  t.is(site.status, 'rejected');
  t.is(site.rejection, 'No smoke detector on the plan: add one per floor');
  // Corrected and submitted again: back in the list.
  const again = await installer('POST', '/api/installer/sites', {
    ...submission,
    devices: [...submission.devices, { id: 'smk1', name: 'Hall smoke', type: 'smoke', zone: 2, area: 1 }],
  });
  t.is(again.status, 201);
  await sue.getByRole('button', { name: 'Board' }).click();
  await sue.getByRole('button', { name: 'To register' }).click();
  await sue
    .getByRole('article', { name: 'Submission site-new' })
    .getByRole('button', { name: /Review 2 devices/ })
    .waitFor();
  await sue.close();
});
