import test from 'ava';
import type { Browser, Page } from 'playwright-core';
import { changePin, createContact } from '../central/contacts.ts';
import { upsertOperator } from '../central/records.ts';
import { hashCode } from '../gateway/auth/user-codes.ts';
import type { RunningGateway } from '../gateway/main.ts';
import { SimulatedCamera } from '../hardware/camera/simulated-camera.ts';
import { enterOnKeypad, launchBrowser, logIn } from './helpers/browser.ts';
import {
  apiClient,
  eventually,
  loginCookie,
  OPERATOR,
  startTestCentral,
  startTestGateway,
  type TestCentral,
} from './helpers/central.ts';
import { PHONE, screenshot } from './helpers/screenshots.ts';

let env: TestCentral;
let gw: RunningGateway;
let browser: Browser;
const camera = new SimulatedCamera();

test.before(async () => {
  env = await startTestCentral();
  const snapshotUrl = await camera.start();
  gw = await startTestGateway(
    env,
    'site-jo',
    'gw-jo',
    [
      { id: 'front', name: 'Front door', type: 'contact' },
      { id: 'leak', name: 'Kitchen leak', type: 'water' },
      { id: 'smoke', name: 'Hall smoke', type: 'smoke' },
    ],
    'disarmed',
    {
      users: [{ id: 'jo', name: 'Jo', role: 'master', codeHash: await hashCode('1357'), areas: [1] }],
      cameras: [{ id: 'porch', name: 'Porch', area: 1, snapshotUrl }],
    },
  );
  const pool = env.central.pool;
  const jo = await createContact(pool, { siteId: 'site-jo', name: 'Jo', role: 'authorised' }, 'test');
  await changePin(pool, 'site-jo', jo.idCode, jo.defaultPin, '2468', 'test');
  await upsertOperator(
    pool,
    {
      username: 'jo',
      displayName: 'Jo Smit',
      password: 'jo password 12',
      role: 'customer',
      siteId: 'site-jo',
    },
    'test',
  );
  browser = await launchBrowser();
});

test.after.always(async () => {
  await browser?.close();
  await gw?.stop();
  await env?.stop();
  await camera.stop();
});

async function portal(): Promise<Page> {
  const page = await browser.newPage({ viewport: PHONE, isMobile: true, hasTouch: true });
  await page.goto(`${env.central.httpUrl}/portal`);
  await logIn(page, 'jo', 'jo password 12');
  return page;
}

test.serial(
  'the arming state is known from the gateway’s first report; arming and disarming go through the gateway with the keypad code',
  async (t) => {
    const { rows } = await env.central.pool.query(
      `SELECT count(*)::int AS n FROM events WHERE site_id = 'site-jo' AND event_type = 'opening-closing'`,
    );
    t.is(rows[0].n, 0, 'no arm or disarm event yet');
    const page = await portal();
    const area = page.getByLabel('Area Premises');
    await area.getByRole('status').filter({ hasText: 'Disarmed' }).waitFor();

    // A wrong code: the gateway refuses it (and counts it for its keypad lockout).
    await area.getByRole('button', { name: 'Arm away' }).click();
    await enterOnKeypad(page, '9999');
    await page.getByRole('alert').filter({ hasText: 'Wrong code.' }).waitFor();
    t.is(gw.gateway.panel.areas[1]?.mode, 'disarmed');

    await area.getByRole('button', { name: 'Arm away' }).click();
    await enterOnKeypad(page, '1357');
    await page
      .getByRole('status')
      .filter({ hasText: /Arming away/ })
      .waitFor();
    await area
      .getByRole('status')
      .filter({ hasText: /Arming \(armed away\) in \d\d:\d\d/ })
      .waitFor();
    t.is(gw.gateway.panel.areas[1]?.phase, 'exit');
    await screenshot(page, 'portal-arming');
    await area.getByRole('button', { name: 'Disarm' }).click();
    await enterOnKeypad(page, '1357');
    await area.getByRole('status').filter({ hasText: 'Disarmed' }).waitFor();
    t.is(gw.gateway.panel.areas[1]?.mode, 'disarmed');
    const { rows: trail } = await env.central.pool.query(
      `SELECT action, detail FROM audit_log WHERE action LIKE 'arming.%' ORDER BY id`,
    );
    t.deepEqual(
      trail.map((r) => `${r.action} ${r.detail.result}`),
      ['arming.arm wrong code', 'arming.arm done', 'arming.disarm done'],
    );
    t.false(JSON.stringify(trail).includes('1357'), 'the code is never kept at the central');
    await page.close();
  },
);

test.serial(
  'a technical message is not offered for cancelling; the camera access log shows the pictures the ARC took',
  async (t) => {
    gw.gateway.simulatedBus!.inject('leak', 'alarm');
    gw.gateway.simulatedBus!.inject('smoke', 'alarm');
    const page = await portal();
    // A fire alarm can be cancelled (a false alarm), a leak cannot: it closes with its cause.
    await page
      .locator('li.open-alarm', { hasText: 'Smoke' })
      .getByRole('button', { name: /Cancel this alarm/ })
      .waitFor();
    const leak = page.locator('li.open-alarm', { hasText: 'Water leak' });
    await leak.waitFor();
    t.is(await leak.getByRole('button', { name: /Cancel this alarm/ }).count(), 0);
    await leak.getByText('Closes by itself when the cause is put right.').waitFor();

    // An operator opens the cameras during that alarm and takes a picture.
    const operator = apiClient(
      env.central.httpUrl,
      await loginCookie(env.central.httpUrl, OPERATOR.username, OPERATOR.password),
    );
    const { rows } = await env.central.pool.query<{ id: string }>(
      `SELECT id::text FROM alarms WHERE site_id = 'site-jo' AND class = 'safety' AND status <> 'closed' LIMIT 1`,
    );
    const alarmId = rows[0]!.id;
    t.is((await operator('POST', `/api/alarms/${alarmId}/claim`)).status, 200);
    const access = await operator('POST', `/api/alarms/${alarmId}/camera-access`);
    t.is(access.status, 200, JSON.stringify(access.body));
    const shot = await operator('POST', `/api/alarms/${alarmId}/snapshots`, { cameraId: 'porch' });
    t.is(shot.status, 201, JSON.stringify(shot.body));

    await page.reload();
    const log = page.getByRole('list', { name: 'Camera access log' });
    await log.getByText(/Alice.*looked at porch/).waitFor();
    const picture = log.locator('img[alt^="porch at"]');
    await picture.waitFor();
    await eventually(
      async () =>
        (await picture.evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth)) === 320,
      'the picture shown',
    );
    await screenshot(page, 'portal');
    await page.close();
  },
);
