import https from 'node:https';
import test from 'ava';
import { OPERATOR, startTestCentral, type TestCentral } from './helpers/central.ts';

let env: TestCentral;
test.before(async () => {
  env = await startTestCentral({ httpTls: true });
});
test.after.always(() => env?.stop());

function request(path: string, body?: unknown) {
  const url = new URL(path, env.central.httpUrl);
  return new Promise<{
    status: number;
    headers: Record<string, string | string[] | undefined>;
    body: string;
  }>((resolve, reject) => {
    const req = https.request(
      url,
      {
        method: body ? 'POST' : 'GET',
        ca: env.ca ?? undefined,
        headers: body ? { 'content-type': 'application/json' } : {},
      },
      (res) => {
        let text = '';
        res.on('data', (chunk) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body ? JSON.stringify(body) : undefined);
  });
}

test('the web application speaks HTTPS: Secure session cookie, HSTS', async (t) => {
  t.true(env.central.httpUrl.startsWith('https://localhost:'));
  const login = await request('/api/session', { username: OPERATOR.username, password: OPERATOR.password });
  t.is(login.status, 200);
  const cookie = String(login.headers['set-cookie']);
  t.regex(cookie, /vigil_session=[^;]+;.*HttpOnly/);
  t.regex(cookie, /Secure/);
  t.regex(cookie, /SameSite=Strict/);
  t.is(login.headers['strict-transport-security'], 'max-age=31536000');
  t.is((await request('/console')).status, 200);
  await t.throwsAsync(fetch(`${env.central.httpUrl.replace('https:', 'http:')}/api/health`));
});
