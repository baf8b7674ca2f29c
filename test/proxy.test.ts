import test from 'ava';
import { upsertOperator } from '../central/records.ts';
import { createInstaller } from '../central/site-settings.ts';
import { parseGatewayConfig } from '../gateway/config.ts';
import { readEnv, trustedProxies } from '../lib/env.ts';
import { apiClient, loginCookie, startTestCentral } from './helpers/central.ts';

test('behind a proxy only its hop of X-Forwarded-For is believed: a client cannot pick its own address', async (t) => {
  const env = await startTestCentral({
    trustedProxies: ['127.0.0.1'],
    rateLimits: { perMinute: 120, secretChecksPerMinute: 3 },
  });
  t.teardown(() => env.stop());
  const url = env.central.httpUrl;
  // What the proxy sends: whatever the client claimed, then the address it really came from.
  const login = (claimed: string, real: string) =>
    fetch(`${url}/api/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': `${claimed}, ${real}` },
      body: JSON.stringify({ username: 'alice', password: 'wrong password' }),
    });
  const statuses: number[] = [];
  for (let i = 0; i < 5; i++) statuses.push((await login(`10.9.9.${i}`, '203.0.113.50')).status);
  t.deepEqual(statuses.slice(3), [429, 429], 'a new claimed address each time does not reset the limit');
  t.is((await login('10.9.9.9', '198.51.100.20')).status, 401, 'another real client is not limited');
  const { rows } = await env.central.pool.query<{ from: string }>(
    `SELECT DISTINCT detail->>'from' AS "from" FROM audit_log WHERE action = 'login.failed' ORDER BY 1`,
  );
  t.deepEqual(
    rows.map((r) => r.from),
    ['198.51.100.20', '203.0.113.50'],
    'the audit trail has the real addresses, never the claimed ones',
  );
});

test('trusted proxies are configuration, validated with the variable named', (t) => {
  t.deepEqual(trustedProxies(readEnv({})), []);
  t.deepEqual(trustedProxies(readEnv({ VIGIL_BEHIND_TLS_PROXY: 'on' })), ['loopback']);
  t.deepEqual(trustedProxies(readEnv({ VIGIL_TRUSTED_PROXIES: '10.0.0.2, 192.168.0.0/16' })), [
    '10.0.0.2',
    '192.168.0.0/16',
  ]);
  t.throws(() => readEnv({ VIGIL_TRUSTED_PROXIES: 'proxy.example' }), { message: /VIGIL_TRUSTED_PROXIES/ });
});

test('/metrics: the scrape token, a supervisor, or the machine itself; never an outside address', async (t) => {
  const env = await startTestCentral({ trustedProxies: ['127.0.0.1'] });
  t.teardown(() => env.stop());
  const url = `${env.central.httpUrl}/metrics`;
  t.is((await fetch(url)).status, 200, 'from the machine itself');
  t.is((await fetch(url, { headers: { 'x-forwarded-for': '203.0.113.7' } })).status, 401, 'from outside');
  const withToken = await startTestCentral({ metricsToken: 'scrape-token-0123456789' });
  t.teardown(() => withToken.stop());
  const scrape = (authorization?: string) =>
    fetch(`${withToken.central.httpUrl}/metrics`, authorization ? { headers: { authorization } } : {});
  t.is((await scrape('Bearer scrape-token-0123456789')).status, 200);
  t.is((await scrape('Bearer wrong-token-0123456789')).status, 401);
  t.is((await scrape()).status, 401, 'with a token configured, loopback alone is not enough');
  const operator = await loginCookie(withToken.central.httpUrl);
  t.is((await fetch(`${withToken.central.httpUrl}/metrics`, { headers: { cookie: operator } })).status, 401);
  await upsertOperator(
    withToken.central.pool,
    { username: 'sup', displayName: 'Sup', password: 'supervisor pass 1', role: 'supervisor' },
    'test',
  );
  const supervisor = await loginCookie(withToken.central.httpUrl, 'sup', 'supervisor pass 1');
  const answer = await fetch(`${withToken.central.httpUrl}/metrics`, { headers: { cookie: supervisor } });
  t.is(answer.status, 200);
  t.regex(await answer.text(), /http_unauthorized_total/);
});

test("installers are given the broker URLs the premises reach (a cluster's nodes), not the central's own", async (t) => {
  const env = await startTestCentral({
    publicMqttUrl: 'mqtts://alarms.example.net:8883',
    publicMqttUrls: ['mqtts://mq2.example.net:8883', 'mqtts://mq3.example.net:8883'],
  });
  t.teardown(() => env.stop());
  const pool = env.central.pool;
  const company = await createInstaller(pool, { company: 'Beveiliging BV', name: 'Ina' }, 'test');
  await upsertOperator(
    pool,
    {
      username: 'ina',
      displayName: 'Ina',
      password: 'installer pass 9',
      role: 'installer',
      installerId: company,
    },
    'test',
  );
  await upsertOperator(
    pool,
    { username: 'sup2', displayName: 'Sup', password: 'supervisor pass 2', role: 'supervisor' },
    'test',
  );
  const url = env.central.httpUrl;
  const ina = apiClient(url, await loginCookie(url, 'ina', 'installer pass 9'));
  const submitted = await ina('POST', '/api/installer/sites', {
    id: 'shop-3',
    name: 'Shop',
    address: 'Markt 3',
    kind: 'business',
    gatewayId: 'gw-shop-3',
    devices: [{ id: 'door', name: 'Door', type: 'contact', zone: 1, area: 1 }],
    contacts: [{ name: 'Owner', role: 'authorised' }],
  });
  t.is(submitted.status, 201);
  const supervisor = apiClient(url, await loginCookie(url, 'sup2', 'supervisor pass 2'));
  t.is((await supervisor('POST', '/api/sites/shop-3/register')).status, 200);
  const credentials = await ina('POST', '/api/installer/sites/shop-3/gateway-credentials');
  t.like(credentials, { status: 200, body: { central: { mqttUrl: 'mqtts://alarms.example.net:8883' } } });
  const central = (credentials.body as { central: Record<string, unknown> }).central;
  t.deepEqual(central.mqttUrls, ['mqtts://mq2.example.net:8883', 'mqtts://mq3.example.net:8883']);
  // What the installer is handed is a valid gateway `central` block as it stands.
  t.notThrows(() =>
    parseGatewayConfig({
      siteId: 'shop-3',
      gatewayId: 'gw-shop-3',
      central,
      areas: [{ id: 1, name: 'Shop' }],
      devices: [],
    }),
  );
});
