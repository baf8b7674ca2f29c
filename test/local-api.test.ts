import test from 'ava';
import { hashCode } from '../gateway/auth/user-codes.ts';
import { parseGatewayConfig } from '../gateway/config.ts';
import { type RunningGateway, runGateway } from '../gateway/main.ts';
import { silentLogger } from '../lib/logger.ts';
import { Metrics } from '../lib/metrics.ts';
import { tempDir } from './helpers/central.ts';

let gw: RunningGateway;
const metrics = new Metrics();

test.before(async () => {
  gw = await runGateway({
    config: parseGatewayConfig({
      siteId: 'flat',
      gatewayId: 'gw-api',
      central: { mqttUrl: 'mqtt://127.0.0.1:9', secret: 'x'.repeat(32) },
      http: { host: '127.0.0.1', port: 0 },
      areas: [{ id: 1, name: 'Flat', exitDelaySeconds: 0 }],
      devices: [{ id: 'door', name: 'Door', bus: 'simulated', type: 'contact', zone: 1, area: 1 }],
      users: [
        {
          id: 'ann',
          name: 'Ann',
          role: 'user',
          codeHash: await hashCode('1357'),
          duressCodeHash: await hashCode('1358'),
          areas: [1],
        },
        { id: 'ian', name: 'Ian', role: 'installer', codeHash: await hashCode('864200'), areas: [1] },
      ],
    }),
    dataDir: tempDir('gw-api'),
    logger: silentLogger,
    metrics,
    httpPort: 0,
  });
});
test.after.always(() => gw?.stop());

const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
  const response = await fetch(`${gw.localApiUrl}${path}`, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
};

test.serial('bad requests are refused with a reason and counted, and change nothing', async (t) => {
  for (const [body, reason] of [
    [{ mode: 'away' }, /code/],
    [{ mode: 'away', code: '12ab' }, /code/],
    [{ mode: 'sideways', code: '1357' }, /mode/],
    ['{not json', /JSON/i],
  ] as const) {
    const { status, body: answer } = await call('POST', '/api/areas/1/arm', body);
    t.is(status, 400);
    t.regex(String(answer.error), reason);
  }
  t.is((await call('POST', '/api/areas/77/arm', { mode: 'away', code: '1357' })).status, 403, 'not her area');
  t.true(metrics.total('local_api_refused_total') >= 5);
  t.is(gw.gateway.panel.areas[1]!.phase, 'disarmed');
});

test.serial('arming and disarming with codes over HTTP', async (t) => {
  t.is((await call('POST', '/api/areas/1/arm', { mode: 'away', code: '9999' })).status, 401);
  const armed = await call('POST', '/api/areas/1/arm', { mode: 'away', code: '1357' });
  t.is(armed.status, 200);
  t.like((armed.body.status as { areas: unknown[] }).areas[0], { id: 1, mode: 'away', phase: 'armed' });
  t.is((await call('POST', '/api/areas/1/disarm', { code: '1357' })).status, 200);
  // The premises' own feed, newest first, behind a user's code; a bad limit is a 400 with the reason.
  const feed = await call('GET', '/api/events?limit=2', undefined, { 'x-vigil-code': '1357' });
  t.is(feed.status, 200);
  t.deepEqual(
    (feed.body.events as { eventType: string; qualifier: string }[]).map(
      (e) => `${e.eventType}:${e.qualifier}`,
    ),
    ['opening-closing:event', 'opening-closing:restore'],
  );
  t.deepEqual(await call('GET', '/api/events?limit=many', undefined, { 'x-vigil-code': '1357' }), {
    status: 400,
    body: { error: 'limit: a number of events from 1 to 300' },
  });
});

test.serial('a duress disarm looks like any disarm on the premises: nothing local reveals it', async (t) => {
  t.is((await call('POST', '/api/areas/1/arm', { mode: 'away', code: '1357' })).status, 200);
  const before = gw.gateway.outbox.pending().length;
  const disarmed = await call('POST', '/api/areas/1/disarm', { code: '1358' });
  t.is(disarmed.status, 200);
  t.true(
    gw.gateway.outbox
      .pending()
      .slice(before)
      .some((e) => e.eventType === 'duress'),
    'the central is told',
  );
  for (const path of ['/api/status', '/api/notices']) {
    const { body } = await call('GET', path);
    t.notRegex(JSON.stringify(body), /duress/i, `${path} says nothing of it`);
  }
  t.notRegex(JSON.stringify(disarmed.body), /duress/i);
});

test.serial('installer endpoints need an installer code and validate devices', async (t) => {
  const device = { name: 'Hall PIR', bus: 'simulated', type: 'motion', zone: 2, area: 1 };
  t.is((await call('PUT', '/api/installer/devices/hall', { code: '1357', device })).status, 403);
  const bad = await call('PUT', '/api/installer/devices/hall', {
    code: '864200',
    device: { ...device, type: 'laser' },
  });
  t.is(bad.status, 400);
  t.regex(String(bad.body.error), /device\.type/);
  t.is((await call('PUT', '/api/installer/devices/hall', { code: '864200', device })).status, 200);
  t.true(gw.gateway.config.devices.some((d) => d.id === 'hall'));

  t.is((await call('POST', '/api/installer/walk-test', { code: '864200', on: true })).status, 200);
  t.is((await call('POST', '/api/sim/devices/hall/signals', { kind: 'alarm' })).status, 202);
  t.is((await call('POST', '/api/sim/devices/nope/signals', { kind: 'alarm' })).status, 404);
  t.is((await call('POST', '/api/installer/walk-test', { code: '864200', on: false })).status, 200);

  t.is(
    (await call('GET', '/api/installer/commissioning', undefined, { 'x-vigil-code': '1357' })).status,
    403,
  );
  const report = await call('GET', '/api/installer/commissioning', undefined, { 'x-vigil-code': '864200' });
  t.is(report.status, 200);
  const devices = report.body.devices as Array<{ id: string; walkTested: boolean }>;
  t.deepEqual(
    devices.map((d) => [d.id, d.walkTested]),
    [
      ['door', false],
      ['hall', true],
    ],
  );
  t.is(
    (await call('DELETE', '/api/installer/devices/hall', undefined, { 'x-vigil-code': '864200' })).status,
    200,
  );
  t.false(gw.gateway.config.devices.some((d) => d.id === 'hall'));
});
