import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Central } from '../../central/central.ts';
import { issueGatewaySecret, upsertOperator, upsertSite } from '../../central/records.ts';
import { createLogger } from '../../lib/logger.ts';
import { Metrics } from '../../lib/metrics.ts';

export const OPERATOR = { username: 'alice', password: 'correct horse battery' };

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `vigil-${prefix}-`));
}

export interface TestCentral {
  central: Central;
  metrics: Metrics;
  /** Issue credentials for a gateway of a (new) site. */
  addGateway(siteId: string, gatewayId: string): Promise<string>;
  stop(): Promise<void>;
}

/** A real central (embedded PostgreSQL, aedes, HTTP) on free loopback ports, data in a temp dir. */
export async function startTestCentral(): Promise<TestCentral> {
  const dir = tempDir('central');
  const metrics = new Metrics();
  const central = new Central({
    dataDir: dir,
    databaseUrl: process.env.VIGIL_TEST_DATABASE_URL,
    httpHost: '127.0.0.1',
    httpPort: 0,
    mqttHost: '127.0.0.1',
    mqttPort: 0,
    logger: createLogger('test-central', process.env.VIGIL_LOG_LEVEL ?? 'silent'),
    metrics,
  });
  await central.start();
  await upsertOperator(
    central.pool,
    { username: OPERATOR.username, displayName: 'Alice', password: OPERATOR.password, role: 'operator' },
    'test',
  );
  return {
    central,
    metrics,
    async addGateway(siteId, gatewayId) {
      await upsertSite(central.pool, { id: siteId, name: `Site ${siteId}`, address: 'Teststraat 1' }, 'test');
      return issueGatewaySecret(central.pool, siteId, gatewayId, 'test');
    },
    async stop() {
      await central.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Log in over HTTP and return the session cookie. */
export async function loginCookie(
  httpUrl: string,
  username = OPERATOR.username,
  password = OPERATOR.password,
) {
  const response = await fetch(`${httpUrl}/api/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  if (!response.ok) throw new Error(`login failed: ${response.status}`);
  const cookie = response.headers.get('set-cookie');
  if (!cookie) throw new Error('no session cookie');
  return cookie.split(';')[0]!;
}

/** Poll until `check` returns a truthy value or the time runs out. */
export async function eventually<T>(
  check: () => T | Promise<T>,
  what: string,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
