import { performance } from 'node:perf_hooks';
import { storeEvent } from '../central/ingest/event-store.ts';
import { centralEvent } from '../central/supervision/central-event.ts';
import { launchBrowser } from '../test/helpers/browser.ts';
import { loginCookie, OPERATOR, startTestCentral } from '../test/helpers/central.ts';
import { percentile } from './stats.ts';

/**
 * The operator console with 1,000 open alarms, in headless Chromium: how long until the whole
 * queue is on screen, and how long a new alarm takes from its commit to its row. The baseline is
 * fetching the same queue as JSON from the API in the same run.
 */
export async function measureConsole(open: number, arrivals: number) {
  const env = await startTestCentral();
  const pool = env.central.pool;
  await env.addGateway('bench-console', 'gw-bench-console');
  const source = { siteId: 'bench-console', gatewayId: 'gw-bench-console' };
  const base = Date.now() - 3_600_000;
  for (let i = 0; i < open; i++) {
    // One leak sensor each: a sensor's repeated alarms would join its own open incident.
    const sensor = { id: `leak-${i}`, name: `Leak sensor ${i}` };
    const event = {
      ...centralEvent('water', 'event', source, base + i, null, `leak ${i}`, sensor),
      seq: i + 1,
    };
    await storeEvent(pool, event, 'central');
  }
  const cookie = await loginCookie(env.central.httpUrl);
  const fetchStarted = performance.now();
  const queue = (await (
    await fetch(`${env.central.httpUrl}/api/alarms`, { headers: { cookie } })
  ).json()) as {
    alarms: unknown[];
  };
  const apiMs = performance.now() - fetchStarted;

  const browser = await launchBrowser();
  const page = await browser.newPage();
  // In the page: what each live update costs it — from the feed's message to the page laid out
  // again (the UI library's redraw, style and layout), apart from the central's and the network's part.
  await page.addInitScript(() => {
    const g = globalThis as unknown as {
      updateCosts: number[];
      document: { body: { offsetHeight: number } };
      EventSource: { prototype: { addEventListener(type: string, listener: (e: unknown) => void): void } };
    };
    g.updateCosts = [];
    const add = g.EventSource.prototype.addEventListener;
    g.EventSource.prototype.addEventListener = function (this: unknown, type, listener) {
      if (type !== 'alarm') return add.call(this, type, listener);
      return add.call(this, type, (e) => {
        const started = performance.now();
        listener(e);
        // After the UI library's redraw (queued as a microtask by the listener), not behind other tasks.
        queueMicrotask(() => {
          void g.document.body.offsetHeight;
          g.updateCosts.push(performance.now() - started);
        });
      });
    };
  });
  await page.goto(`${env.central.httpUrl}/console`);
  await page.getByLabel('Username').fill(OPERATOR.username);
  await page.getByLabel('Password').fill(OPERATOR.password);
  const started = performance.now();
  await page.getByRole('button', { name: 'Log in' }).click();
  await page
    .locator('#alarms tr')
    .nth(open - 1)
    .waitFor();
  const renderMs = performance.now() - started;

  // Each new alarm: the page notes when its row appears; compared with the commit time.
  await page.evaluate(() => {
    // In the page (no DOM types in this project's TypeScript): note when each event's row appears.
    const page = globalThis as unknown as {
      seen: Record<string, number>;
      MutationObserver: new (
        callback: (mutations: Array<{ addedNodes: ArrayLike<{ dataset?: { eventId?: string } }> }>) => void,
      ) => { observe(target: unknown, options: object): void };
      document: { querySelector(selector: string): unknown };
    };
    page.seen = {};
    new page.MutationObserver((mutations) => {
      for (const mutation of mutations)
        for (const node of Array.from(mutation.addedNodes)) {
          const id = node.dataset?.eventId;
          if (id && !(id in page.seen)) page.seen[id] = Date.now();
        }
    }).observe(page.document.querySelector('#alarms'), { childList: true });
  });
  const shown: number[] = [];
  for (let i = 0; i < arrivals; i++) {
    // Each at a site of its own: a second burglary at one site would join its open incident.
    const site = `bench-arrival-${i}`;
    await env.addGateway(site, `gw-${site}`);
    const event = {
      ...centralEvent(
        'burglary',
        'event',
        { siteId: site, gatewayId: `gw-${site}` },
        Date.now(),
        null,
        `intruder ${i}`,
      ),
      seq: 1,
    };
    await storeEvent(pool, event, 'central');
    const committed = Date.now();
    let at: number | undefined;
    while (at === undefined) {
      at = await page.evaluate(
        (id) => (globalThis as unknown as { seen: Record<string, number> }).seen[id],
        event.id,
      );
      if (at === undefined) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    shown.push(at - committed);
  }
  const updateCosts = await page.evaluate(
    () => (globalThis as unknown as { updateCosts: number[] }).updateCosts,
  );
  await browser.close();
  await env.stop();
  return {
    updateP50: percentile(updateCosts, 50),
    alarms: queue.alarms.length,
    apiMs,
    renderMs,
    shownP50: percentile(shown, 50),
    shownMax: Math.max(...shown),
  };
}
