import test from 'ava';
import { login } from '../central/auth/operator-auth.ts';
import { upsertOperator } from '../central/records.ts';
import {
  apiClient,
  loginCookie,
  sessionHeaders,
  startTestCentral,
  type TestCentral,
} from './helpers/central.ts';

let env: TestCentral;
test.before(async () => {
  env = await startTestCentral({ rateLimits: { perMinute: 120, secretChecksPerMinute: 5 } });
  await env.addGateway('site-auth', 'gw-auth');
  await upsertOperator(
    env.central.pool,
    {
      username: 'carla',
      displayName: 'Carla',
      password: 'customer pass 1',
      role: 'customer',
      siteId: 'site-auth',
    },
    'test',
  );
});
test.after.always(() => env?.stop());

test.serial('a state-changing request with a session needs its CSRF token', async (t) => {
  const url = env.central.httpUrl;
  const cookie = await loginCookie(url);
  const without = await fetch(`${url}/api/session`, { method: 'DELETE', headers: { cookie } });
  t.is(without.status, 403);
  t.deepEqual(await without.json(), { error: 'missing or wrong CSRF token' });
  const forged = await fetch(`${url}/api/session`, {
    method: 'DELETE',
    headers: { cookie, 'x-csrf-token': 'x'.repeat(43) },
  });
  t.is(forged.status, 403);
  t.true(env.metrics.get('http_csrf_refused_total') >= 2);
  const me = (await (await fetch(`${url}/api/me`, { headers: { cookie } })).json()) as { csrfToken: string };
  t.is(me.csrfToken, sessionHeaders(cookie)['x-csrf-token'] ?? 'missing');
  const logout = await fetch(`${url}/api/session`, { method: 'DELETE', headers: sessionHeaders(cookie) });
  t.is(logout.status, 200);
  t.is((await fetch(`${url}/api/me`, { headers: { cookie } })).status, 401, 'the session is gone');
});

test.serial('each role sees only what it may', async (t) => {
  const url = env.central.httpUrl;
  const customer = apiClient(url, await loginCookie(url, 'carla', 'customer pass 1'));
  t.like((await customer('GET', '/api/me')).body, { operator: { role: 'customer', siteId: 'site-auth' } });
  t.deepEqual(await customer('GET', '/api/alarms'), { status: 403, body: { error: 'operators only' } });
  t.is((await customer('GET', '/api/sites/site-auth')).status, 403);
  t.is((await customer('GET', '/api/audit')).status, 403);
  const operator = apiClient(url, await loginCookie(url));
  t.is((await operator('GET', '/api/alarms')).status, 200);
  t.deepEqual(await operator('GET', '/api/audit'), { status: 403, body: { error: 'supervisors only' } });
  await t.throwsAsync(
    upsertOperator(
      env.central.pool,
      { username: 'x', displayName: 'X', password: 'long enough 1', role: 'customer' },
      'test',
    ),
    { message: /exactly one site/ },
  );
});

test.serial('logins and other secret checks are rate-limited per address', async (t) => {
  const url = env.central.httpUrl;
  const attempt = () =>
    fetch(`${url}/api/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'nobody', password: 'guess' }),
    });
  const statuses: number[] = [];
  for (let i = 0; i < 7; i++) statuses.push((await attempt()).status);
  t.true(statuses.includes(429), statuses.join(','));
  t.true(env.metrics.get('http_rate_limited_total', { route: '/api/session' }) >= 1);
  // The limit is per route: reading the queue still works.
  t.is((await fetch(`${url}/api/health`)).status, 200);
});

test.serial(
  'a login lockout looks the same for unknown and real usernames, and locks out the source first',
  async (t) => {
    const pool = env.central.pool;
    const policy = { maxFailures: 5, lockoutMinutes: 15, sessionHours: 1 };
    const tries = async (username: string, from: string) => {
      const reasons: string[] = [];
      for (let i = 0; i < 6; i++) {
        const result = await login(pool, username, 'wrong password', from, policy);
        reasons.push(result.ok ? 'ok' : result.reason);
      }
      return reasons;
    };
    const real = await tries('carla', '203.0.113.1');
    const unknown = await tries('nobody-here', '203.0.113.2');
    t.deepEqual(real, ['invalid', 'invalid', 'invalid', 'invalid', 'locked', 'locked']);
    t.deepEqual(unknown, real, 'the answers do not tell which username exists');
    t.like(await login(pool, 'carla', 'customer pass 1', '203.0.113.1', policy), {
      ok: false,
      reason: 'locked',
    });
    t.like(
      await login(pool, 'carla', 'customer pass 1', '198.51.100.1', policy),
      { ok: true },
      'from elsewhere',
    );
  },
);
