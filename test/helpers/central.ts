import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { csrfTokenFor } from '../../central/auth/operator-auth.ts';
import { Central, type CentralOptions, type ExternalBroker } from '../../central/central.ts';
import { upsertOperator, upsertSite } from '../../central/records.ts';
import { ensureTlsMaterial } from '../../central/tls/certificates.ts';
import { type DeviceConfig, parseGatewayConfig } from '../../gateway/config.ts';
import type { ArmingMode } from '../../gateway/domain/panel.ts';
import { type RunningGateway, runGateway } from '../../gateway/main.ts';
import { createLogger } from '../../lib/logger.ts';
import { Metrics } from '../../lib/metrics.ts';
import { gatewayClientId } from '../../protocols/topics.ts';

export const OPERATOR = { username: 'alice', password: 'correct horse battery' };

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `vigil-${prefix}-`));
}

export interface TestCentral {
  central: Central;
  /** The private CA of the test central's TLS (MQTT or HTTPS), when one is used. */
  ca: string | null;
  metrics: Metrics;
  /** Issue credentials for a gateway of a (new) site. */
  addGateway(siteId: string, gatewayId: string): Promise<string>;
  /** Stop the central and start it again on its data and ports (its connections dropped meanwhile). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** A real central (embedded PostgreSQL, aedes, HTTP) on free loopback ports, data in a temp dir. */
export async function startTestCentral(
  options: {
    tls?: boolean;
    externalBroker?: ExternalBroker;
    notify?: CentralOptions['notify'];
    supervisionIntervalMs?: number;
    retentionMonths?: number;
    rateLimits?: CentralOptions['rateLimits'];
    httpTls?: boolean;
    escalation?: CentralOptions['escalation'];
    trustedProxies?: string[];
    limits?: CentralOptions['limits'];
    metricsToken?: string;
    publicMqttUrl?: string;
    publicMqttUrls?: string[];
    /** A PostgreSQL of the test's own (by default the embedded one, or VIGIL_TEST_DATABASE_URL). */
    databaseUrl?: string;
  } = {},
): Promise<TestCentral> {
  const dir = tempDir('central');
  const mqttTls = options.tls || options.httpTls ? await ensureTlsMaterial(path.join(dir, 'tls'), []) : null;
  const metrics = new Metrics();
  const build = (mqttPort: number, httpPort: number) =>
    new Central({
      mqttTls: options.tls ? mqttTls : null,
      externalBroker: options.externalBroker,
      notify: options.notify,
      ...(options.supervisionIntervalMs ? { supervisionIntervalMs: options.supervisionIntervalMs } : {}),
      ...(options.rateLimits ? { rateLimits: options.rateLimits } : {}),
      ...(options.escalation ? { escalation: options.escalation } : {}),
      retentionMonths: options.retentionMonths,
      ...(options.trustedProxies ? { trustedProxies: options.trustedProxies } : {}),
      ...(options.limits ? { limits: options.limits } : {}),
      ...(options.metricsToken ? { metricsToken: options.metricsToken } : {}),
      ...(options.publicMqttUrl ? { publicMqttUrl: options.publicMqttUrl } : {}),
      ...(options.publicMqttUrls ? { publicMqttUrls: options.publicMqttUrls } : {}),
      ...(options.httpTls && mqttTls ? { httpTls: { key: mqttTls.key, cert: mqttTls.cert } } : {}),
      dataDir: dir,
      databaseUrl: options.databaseUrl ?? process.env.VIGIL_TEST_DATABASE_URL,
      httpHost: '127.0.0.1',
      httpPort,
      mqttHost: '127.0.0.1',
      mqttPort,
      dc09Host: '127.0.0.1',
      dc09Port: 0,
      logger: createLogger('test-central', process.env.VIGIL_LOG_LEVEL ?? 'silent'),
      metrics,
    });
  const central = build(0, 0);
  await central.start();
  await upsertOperator(
    central.pool,
    { username: OPERATOR.username, displayName: 'Alice', password: OPERATOR.password, role: 'operator' },
    'test',
  );
  const env: TestCentral = {
    central,
    ca: mqttTls?.ca ?? null,
    metrics,
    async restart() {
      const ports = [env.central.mqttUrl, env.central.httpUrl].map((url) => Number(new URL(url).port));
      await env.central.stop();
      const next = build(ports[0]!, ports[1]!);
      await next.start();
      env.central = next;
    },
    async addGateway(siteId, gatewayId) {
      await upsertSite(
        env.central.pool,
        { id: siteId, name: `Site ${siteId}`, address: 'Teststraat 1' },
        'test',
      );
      return env.central.issueGatewaySecret(siteId, gatewayId, 'test');
    },
    async stop() {
      await env.central.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  return env;
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

export interface ApiResponse {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: test assertions read arbitrary JSON
  body: Record<string, any>;
}

/** The headers a page sends with a session: the cookie and its CSRF token. */
export function sessionHeaders(cookie: string): Record<string, string> {
  const token = /vigil_session=([^;]+)/.exec(cookie)?.[1];
  return token ? { cookie, 'x-csrf-token': csrfTokenFor(token) } : {};
}

/** JSON over HTTP with a session cookie, as the console does. */
export function apiClient(httpUrl: string, cookie: string) {
  return async (method: string, path: string, body?: unknown): Promise<ApiResponse> => {
    const response = await fetch(`${httpUrl}${path}`, {
      method,
      headers: {
        ...sessionHeaders(cookie),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: response.status, body: (await response.json()) as ApiResponse['body'] };
  };
}

/** Poll until `check` returns a truthy value or the time runs out. */
export async function eventually<T>(
  check: () => T | Promise<T>,
  what: string,
  timeoutMs = 10_000,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A real gateway with simulated devices, connected to a test central. */
export async function startTestGateway(
  env: TestCentral,
  siteId: string,
  gatewayId: string,
  devices: Array<Pick<DeviceConfig, 'id' | 'name' | 'type'>>,
  initialMode?: ArmingMode,
  extra: Record<string, unknown> = {},
  dataDir: string = tempDir('gateway'),
): Promise<RunningGateway> {
  const secret = await env.addGateway(siteId, gatewayId);
  const config = parseGatewayConfig({
    ...extra,
    siteId,
    gatewayId,
    central: {
      mqttUrl: env.central.mqttUrl,
      secret,
      grantKey: env.central.grantKey,
      ...(extra.central as object | undefined),
    },
    http: { host: '127.0.0.1', port: 0 },
    areas: [{ id: 1, name: 'Premises' }],
    devices: devices.map((d, index) => ({ ...d, bus: 'simulated', zone: index + 1, area: 1 })),
  });
  const gateway = await runGateway({
    config,
    dataDir,
    logger: createLogger('test-gateway', process.env.VIGIL_LOG_LEVEL ?? 'silent'),
    metrics: new Metrics(),
    ...(initialMode ? { initialMode } : {}),
  });
  await eventually(() => gateway.gateway.uplinkConnected, 'the gateway to connect');
  return gateway;
}

/**
 * `count` real gateways with a panic button, at sites `site-<tag><n>` (gateway `gw-<tag><n>`),
 * each stopped when the test ends.
 */
export async function startPanicGateways(
  t: { teardown(fn: () => unknown): void },
  env: TestCentral,
  tag: string,
  count: number,
  extra: Record<string, unknown> = {},
): Promise<RunningGateway[]> {
  const gateways: RunningGateway[] = [];
  for (let g = 0; g < count; g++) {
    const gw = await startTestGateway(
      env,
      `site-${tag}${g}`,
      `gw-${tag}${g}`,
      [{ id: 'panic', name: 'Panic', type: 'panic' }],
      undefined,
      extra,
    );
    t.teardown(() => gw.stop());
    gateways.push(gw);
  }
  return gateways;
}

/** A raw MQTT client holding a freshly issued gateway credential (to play a misbehaving gateway). */
export async function connectAsGateway(
  env: TestCentral,
  siteId: string,
  gatewayId: string,
): Promise<MqttClient> {
  const secret = await env.addGateway(siteId, gatewayId);
  return mqtt.connectAsync(env.central.mqttUrl, {
    username: gatewayId,
    password: secret,
    clientId: gatewayClientId(gatewayId),
    reconnectPeriod: 0,
  });
}
