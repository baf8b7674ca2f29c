import test from 'ava';
import type { Browser, Page } from 'playwright-core';
import { hashCode } from '../gateway/auth/user-codes.ts';
import { createJsonServer } from '../gateway/http/json-server.ts';
import type { RunningGateway } from '../gateway/main.ts';
import { isLocalNetwork } from '../lib/addresses.ts';
import { silentLogger } from '../lib/logger.ts';
import { Metrics } from '../lib/metrics.ts';
import { enterOnKeypad, launchBrowser } from './helpers/browser.ts';
import { startTestCentral, startTestGateway, type TestCentral } from './helpers/central.ts';
import { PHONE, screenshot } from './helpers/screenshots.ts';

let env: TestCentral;
let gw: RunningGateway;
let browser: Browser;

test.before(async () => {
  env = await startTestCentral();
  gw = await startTestGateway(
    env,
    'site-panel',
    'gw-panel',
    [
      { id: 'front', name: 'Front door', type: 'contact' },
      { id: 'hall', name: 'Hall motion', type: 'motion' },
    ],
    'disarmed',
    {
      users: [{ id: 'eva', name: 'Eva', role: 'master', codeHash: await hashCode('2468'), areas: [1] }],
    },
  );
  browser = await launchBrowser();
});

test.after.always(async () => {
  await browser?.close();
  await gw?.stop();
  await env?.stop();
});

async function openPanel(): Promise<Page> {
  const page = await browser.newPage({ viewport: PHONE, hasTouch: true, isMobile: true });
  await page.goto(`${gw.localApiUrl}/`);
  await page.getByRole('region', { name: 'Area Premises' }).waitFor();
  return page;
}

test.serial(
  'the homeowner arms and disarms with a code, with the exit countdown, zones, bypass and chime',
  async (t) => {
    const page = await openPanel();
    const area = page.getByRole('region', { name: 'Area Premises' });
    await area.getByRole('status').filter({ hasText: 'Disarmed' }).waitFor();
    await page.getByText('alarm centre connected').waitFor();
    await page.getByRole('region', { name: 'Troubles' }).getByText('No trouble').waitFor();

    // A wrong code is refused in words; the right one starts the exit delay, counted down on screen.
    await area.getByRole('button', { name: 'Arm away' }).click();
    await enterOnKeypad(page, '1111');
    await page.getByRole('alert').filter({ hasText: 'Wrong code.' }).waitFor();
    await area.getByRole('button', { name: 'Arm away' }).click();
    await enterOnKeypad(page, '2468');
    await area
      .getByRole('status')
      .filter({ hasText: /Leave now: armed away in \d\d:\d\d/ })
      .waitFor();
    await screenshot(page, 'panel-exit-delay');
    await area.getByRole('button', { name: 'Disarm' }).click();
    await enterOnKeypad(page, '2468');
    await area.getByRole('status').filter({ hasText: 'Disarmed' }).waitFor();

    // The door open: listed as open, and in the zones; bypassed with the code.
    gw.gateway.simulatedBus!.inject('front', 'alarm');
    const zones = page.getByRole('region', { name: 'Zones' });
    await zones.locator('li.open', { hasText: 'Front door' }).waitFor();
    await page.getByText('Open now: Front door').waitFor();
    await zones.getByRole('button', { name: 'Bypass Front door' }).click();
    await enterOnKeypad(page, '2468');
    await zones.getByRole('button', { name: 'Unbypass Front door' }).waitFor();
    await zones.getByRole('button', { name: 'Chime Hall motion' }).click();
    await enterOnKeypad(page, '2468');
    await zones.locator('button[aria-pressed="true"]', { hasText: 'Chime' }).waitFor();
    t.true(gw.gateway.config.devices.find((d) => d.id === 'hall')!.chime, 'kept in the gateway config');

    // The event feed behind the code, in words.
    const events = page.getByRole('region', { name: 'Events' });
    await events.getByRole('button', { name: 'Show events' }).click();
    await enterOnKeypad(page, '2468');
    const feed = events.getByRole('list', { name: 'Events' });
    // Newest first; the arming was cut short in its exit delay, so it is a disarm and no arm.
    await feed.getByText('Zone bypassed').waitFor();
    t.regex(
      (await feed.textContent()) ?? '',
      /Zone bypassed · Front door[\s\S]*bypassed by Eva[\s\S]*Disarmed[\s\S]*disarmed by Eva/,
    );
    await screenshot(page, 'panel');
    await page.close();
  },
);

test.serial('the panel works with the alarm centre unreachable, and says so', async (t) => {
  await env.stop();
  const page = await openPanel();
  await page.getByText('alarm centre not reachable: the panel still works').waitFor();
  await page.getByRole('region', { name: 'Troubles' }).getByText('Link to the alarm centre').waitFor();
  const area = page.getByRole('region', { name: 'Area Premises' });
  await area.getByRole('button', { name: 'Arm home' }).click();
  await enterOnKeypad(page, '2468');
  await area
    .getByRole('status')
    .filter({ hasText: /armed home/i })
    .waitFor();
  t.is(gw.gateway.panel.areas[1]?.mode, 'home');
  await area.getByRole('button', { name: 'Disarm' }).click();
  await enterOnKeypad(page, '2468');
  await area.getByRole('status').filter({ hasText: 'Disarmed' }).waitFor();
  await page.close();
});

test('the panel and the local API answer the premises network only', async (t) => {
  for (const address of [
    '127.0.0.1',
    '::1',
    '192.168.1.20',
    '10.0.0.7',
    '172.20.1.1',
    '::ffff:192.168.0.5',
    'fe80::1',
    'fd12:3456::1',
    '169.254.1.1',
  ])
    t.true(isLocalNetwork(address), address);
  for (const address of ['8.8.8.8', '172.32.0.1', '::ffff:81.2.69.160', '2001:db8::1', '100.128.0.1'])
    t.false(isLocalNetwork(address), address);
  // A server that answers nobody (as the gateway's would a forwarded Internet client): 403 with the reason.
  const metrics = new Metrics();
  const server = createJsonServer({
    logger: silentLogger,
    metrics,
    refusals: 'refused_total',
    bodyLimit: 1024,
    allowClient: () => false,
  });
  server.route('GET', '/api/status', () => ({ json: { ok: true } }));
  const url = await server.listen('127.0.0.1', 0);
  const response = await fetch(`${url}/api/status`);
  t.is(response.status, 403);
  t.deepEqual(await response.json(), { error: 'answered on the premises network only' });
  t.regex(metrics.render(), /refused_total\{status="403"\} 1/);
  await server.close();
});
