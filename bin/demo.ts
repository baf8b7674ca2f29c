import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Central } from '../central/central.ts';
import { issueGatewaySecret, upsertOperator, upsertSite } from '../central/records.ts';
import { type GatewayConfig, parseGatewayConfig } from '../gateway/config.ts';
import { type RunningGateway, runGateway } from '../gateway/main.ts';
import type { Env } from '../lib/env.ts';
import type { Logger } from '../lib/logger.ts';
import { Metrics } from '../lib/metrics.ts';

export const DEMO_SITE = { id: 'demo-home', name: 'Demo home', address: 'Kerkstraat 1, 1017 GA Amsterdam' };
export const DEMO_GATEWAY = 'gw-1';
export const DEMO_OPERATOR = 'operator';

/** The demo premises: one house, one area, every kind of detector, all simulated. */
export function demoGatewayConfig(mqttUrl: string, secret: string, httpPort: number): GatewayConfig {
  const devices = [
    ['front-door', 'Front door contact', 'contact'],
    ['hall-pir', 'Hall motion detector', 'motion'],
    ['living-pir', 'Living room motion detector', 'motion'],
    ['kitchen-smoke', 'Kitchen smoke detector', 'smoke'],
    ['bedroom-panic', 'Bedroom panic button', 'panic'],
    ['medical-pendant', 'Medical pendant', 'medical'],
    ['siren-tamper', 'Outdoor siren tamper switch', 'tamper'],
    ['garden-camera', 'Garden camera alarm output', 'camera'],
    ['basement-water', 'Basement water sensor', 'water'],
  ] as const;
  return parseGatewayConfig({
    siteId: DEMO_SITE.id,
    gatewayId: DEMO_GATEWAY,
    central: { mqttUrl, secret },
    heartbeatSeconds: 30,
    http: { host: '127.0.0.1', port: httpPort },
    areas: [{ id: 1, name: 'House' }],
    devices: devices.map(([id, name, type], index) => ({
      id,
      name,
      bus: 'simulated',
      type,
      zone: index + 1,
      area: 1,
    })),
  });
}

/** The operator password is generated on the first start and kept in the data directory. */
function demoOperatorPassword(dataDir: string): string {
  const file = path.join(dataDir, 'demo-operator.secret');
  if (!existsSync(file)) writeFileSync(file, randomBytes(9).toString('base64url'), { mode: 0o600 });
  return readFileSync(file, 'utf8').trim();
}

export interface RunningDemo {
  readonly central: Central;
  readonly gateway: RunningGateway;
  readonly operatorPassword: string;
  stop(): Promise<void>;
}

export async function startDemo(env: Env, logger: Logger): Promise<RunningDemo> {
  const dataDir = path.resolve(env.VIGIL_DATA_DIR);
  mkdirSync(dataDir, { recursive: true });
  const central = new Central({
    dataDir: path.join(dataDir, 'central'),
    databaseUrl: env.DATABASE_URL,
    httpHost: env.VIGIL_HTTP_HOST,
    httpPort: env.VIGIL_HTTP_PORT,
    mqttHost: env.VIGIL_MQTT_HOST,
    mqttPort: env.VIGIL_MQTT_PORT,
    logger: logger.child({ process: 'central' }),
    metrics: new Metrics(),
  });
  await central.start();
  try {
    const operatorPassword = demoOperatorPassword(dataDir);
    await upsertSite(central.pool, DEMO_SITE, 'demo');
    await upsertOperator(
      central.pool,
      {
        username: DEMO_OPERATOR,
        displayName: 'Demo operator',
        password: operatorPassword,
        role: 'supervisor',
      },
      'demo',
    );
    // A fresh secret every start: the demo plays the commissioning step each time.
    const secret = await issueGatewaySecret(central.pool, DEMO_SITE.id, DEMO_GATEWAY, 'demo');
    const config = demoGatewayConfig(central.mqttUrl, secret, env.VIGIL_GATEWAY_HTTP_PORT);
    const gatewayDir = path.join(dataDir, 'gateway');
    mkdirSync(gatewayDir, { recursive: true });
    writeFileSync(path.join(gatewayDir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`, {
      mode: 0o600,
    });
    const gateway = await runGateway({
      config,
      dataDir: gatewayDir,
      logger: logger.child({ process: 'gateway' }),
      metrics: new Metrics(),
      initialMode: 'away',
    });
    return {
      central,
      gateway,
      operatorPassword,
      async stop() {
        await gateway.stop();
        await central.stop();
      },
    };
  } catch (error) {
    await central.stop();
    throw error;
  }
}
