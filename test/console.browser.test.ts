import test from 'ava';
import type { Browser } from 'playwright-core';
import type { RunningGateway } from '../gateway/main.ts';
import { launchBrowser } from './helpers/browser.ts';
import { OPERATOR, startTestCentral, startTestGateway, type TestCentral } from './helpers/central.ts';

let env: TestCentral;
let gw: RunningGateway;
let browser: Browser;

test.before(async () => {
  env = await startTestCentral();
  gw = await startTestGateway(
    env,
    'site-web',
    'gw-web',
    [
      { id: 'pir', name: 'Office motion', type: 'motion' },
      { id: 'smoke', name: 'Office smoke', type: 'smoke' },
    ],
    'away',
  );
  browser = await launchBrowser();
});

test.after.always(async () => {
  await browser?.close();
  await gw?.stop();
  await env?.stop();
});

test('an operator logs in and sees alarms arrive live, security above safety', async (t) => {
  const page = await browser.newPage();
  await page.goto(`${env.central.httpUrl}/console`);

  await page.getByLabel('Username').fill(OPERATOR.username);
  await page.getByLabel('Password').fill('wrong password');
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('alert').filter({ hasText: 'wrong username or password' }).waitFor();

  await page.getByLabel('Password').fill(OPERATOR.password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.locator('#conn', { hasText: 'live' }).waitFor();
  await page.getByText('No open alarms.').waitFor();

  const bus = gw.gateway.simulatedBus!;
  bus.inject('smoke', 'alarm');
  await page.locator('tr.alarm.safety').waitFor();
  bus.inject('pir', 'alarm');
  await page.locator('tr.alarm.security').waitFor();

  const rows = page.locator('#alarms tr');
  t.is(await rows.count(), 2);
  // One line each: what, where in words (the codes on hover), nobody on it yet.
  t.regex(
    (await rows.nth(0).textContent()) ?? '',
    /Interior burglary[\s\S]*Site site-web[\s\S]*Office motion · zone 1[\s\S]*unclaimed/,
  );
  t.is(await rows.nth(0).locator('td.where').getAttribute('title'), 'CID 132 · SIA BA');
  t.regex((await rows.nth(1).textContent()) ?? '', /Smoke[\s\S]*Office smoke · zone 2/);
  t.is(await rows.nth(1).locator('td.where').getAttribute('title'), 'CID 111 · SIA FA');
  t.true(await page.getByText('No open alarms.').isHidden());

  await page.getByRole('button', { name: 'Log out' }).click();
  await page.getByRole('button', { name: 'Log in' }).waitFor();
  t.is((await page.request.get(`${env.central.httpUrl}/api/alarms`)).status(), 401);
});
