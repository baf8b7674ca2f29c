import { randomBytes, randomInt } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import { Central } from '../central/central.ts';
import { changePin, createContact } from '../central/contacts.ts';
import { notifyFromEnv } from '../central/notify/from-env.ts';
import { upsertOperator, upsertSite } from '../central/records.ts';
import { createInstaller } from '../central/site-settings.ts';
import { httpTlsFromEnv, tlsFromEnv } from '../central/tls/material.ts';
import { hashCode } from '../gateway/auth/user-codes.ts';
import { type GatewayConfig, parseGatewayConfig } from '../gateway/config.ts';
import { openConfigStore } from '../gateway/config-store.ts';
import { type RunningGateway, runGateway } from '../gateway/main.ts';
import { SimulatedCamera } from '../hardware/camera/simulated-camera.ts';
import { type Env, trustedProxies } from '../lib/env.ts';
import type { Logger } from '../lib/logger.ts';
import { Metrics } from '../lib/metrics.ts';

export const DEMO_SITE = { id: 'demo-home', name: 'Demo home', address: 'Kerkstraat 1, 1017 GA Amsterdam' };
export const DEMO_GATEWAY = 'gw-1';
export const DEMO_OPERATOR = 'operator';

export interface DemoCodes {
  readonly user: string;
  readonly duress: string;
  readonly installer: string;
}

/** The demo premises: one house, one area, every kind of detector, all simulated. */
export async function demoGatewayConfig(
  central: { mqttUrl: string; caCert: string | null; secret: string; grantKey: string },
  httpPort: number,
  codes: DemoCodes,
  cameraSnapshotUrl: string,
): Promise<GatewayConfig> {
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
    ['gateway-psu', 'Gateway power supply', 'power-supply'],
    ['resident-fob', 'Resident key fob', 'keyfob'],
  ] as const;
  return parseGatewayConfig({
    siteId: DEMO_SITE.id,
    gatewayId: DEMO_GATEWAY,
    central: {
      mqttUrl: central.mqttUrl,
      secret: central.secret,
      grantKey: central.grantKey,
      ...(central.caCert ? { caCert: central.caCert } : {}),
    },
    heartbeatSeconds: 30,
    http: { host: '127.0.0.1', port: httpPort },
    areas: [{ id: 1, name: 'House', exitDelaySeconds: 15, entryDelaySeconds: 15 }],
    devices: devices.map(([id, name, type], index) => ({
      id,
      name,
      bus: 'simulated',
      type,
      zone: index + 1,
      area: 1,
      ...(id === 'front-door' ? { zoneKind: 'delay', chime: true } : {}),
    })),
    // A simulated IP camera: operators may take snapshots during an alarm event's 15 minutes.
    cameras: [
      {
        id: 'garden-cam',
        name: 'Garden camera',
        area: 1,
        snapshotUrl: cameraSnapshotUrl,
        streamUrl: cameraSnapshotUrl.replace('/snapshot', '/stream'),
      },
    ],
    outputs: [
      { id: 'siren', name: 'Outdoor siren', kind: 'siren', bus: 'simulated', areas: [1] },
      { id: 'strobe', name: 'Outdoor strobe', kind: 'strobe', bus: 'simulated', areas: [1] },
    ],
    users: [
      {
        id: 'resident',
        name: 'Resident',
        role: 'master',
        codeHash: await hashCode(codes.user),
        duressCodeHash: await hashCode(codes.duress),
        areas: [1],
      },
      {
        id: 'installer',
        name: 'Installer',
        role: 'installer',
        codeHash: await hashCode(codes.installer),
        areas: [1],
      },
    ],
    // Short, so that a demo visitor sees a mains failure reported.
    supervision: { mainsDelaySeconds: 60, periodicTestHours: 24 },
  });
}

/** The demo gateway, its configuration written to its data directory (as an installer leaves it). */
export async function runDemoGateway(
  config: GatewayConfig,
  gatewayDir: string,
  logger: Logger,
): Promise<RunningGateway> {
  mkdirSync(gatewayDir, { recursive: true });
  const configFile = path.join(gatewayDir, 'config.json');
  writeFileSync(configFile, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  return runGateway({
    config,
    configStore: await openConfigStore(configFile),
    dataDir: gatewayDir,
    logger: logger.child({ process: 'gateway' }),
    metrics: new Metrics(),
    initialMode: 'away',
  });
}

/** Demo secrets are generated on the first start and kept in the data directory (mode 0600). */
function demoSecret(dataDir: string, name: string, make: () => string): string {
  const file = path.join(dataDir, `${name}.secret`);
  if (!existsSync(file)) writeFileSync(file, make(), { mode: 0o600 });
  return readFileSync(file, 'utf8').trim();
}

function randomDigits(count: number): string {
  return Array.from({ length: count }, () => randomInt(10)).join('');
}

export function demoCodes(dataDir: string): DemoCodes {
  const user = demoSecret(dataDir, 'demo-user-code', () => randomDigits(4));
  // The duress code is the user code with the last digit one higher, a common panel convention.
  const duress = `${user.slice(0, -1)}${(Number(user.at(-1)) + 1) % 10}`;
  return { user, duress, installer: demoSecret(dataDir, 'demo-installer-code', () => randomDigits(6)) };
}

export interface RunningDemo {
  readonly central: Central;
  readonly gateway: RunningGateway;
  readonly operatorPassword: string;
  /** Of the demo customer (`resident`) and installer (`installer`) accounts. */
  readonly portalPassword: string;
  readonly codes: DemoCodes;
  readonly keyholders: ReadonlyArray<{ name: string; idCode: string; pin: string }>;
  stop(): Promise<void>;
}

export async function startDemo(env: Env, logger: Logger): Promise<RunningDemo> {
  const dataDir = path.resolve(env.VIGIL_DATA_DIR);
  mkdirSync(dataDir, { recursive: true });
  const mqttTls = await tlsFromEnv(env, path.join(dataDir, 'central'));
  const camera = new SimulatedCamera();
  const central = new Central({
    mqttTls,
    dataDir: path.join(dataDir, 'central'),
    databaseUrl: env.DATABASE_URL,
    httpHost: env.VIGIL_HTTP_HOST,
    httpPort: env.VIGIL_HTTP_PORT,
    mqttHost: env.VIGIL_MQTT_HOST,
    mqttPort: env.VIGIL_MQTT_PORT,
    notify: notifyFromEnv(env),
    httpTls: await httpTlsFromEnv(env, path.join(dataDir, 'central')),
    trustedProxies: trustedProxies(env),
    metricsToken: env.VIGIL_METRICS_TOKEN,
    publicMqttUrl: env.VIGIL_PUBLIC_MQTT_URL,
    dc09Host: env.VIGIL_DC09_HOST,
    dc09Port: env.VIGIL_DC09_PORT,
    dc09Receiver: env.VIGIL_DC09_RECEIVER,
    dc09PlainOutsideWindow: env.VIGIL_DC09_PLAIN_OUTSIDE_WINDOW,
    logger: logger.child({ process: 'central' }),
    metrics: new Metrics(),
  });
  await central.start();
  try {
    const operatorPassword = demoSecret(dataDir, 'demo-operator', () => randomBytes(9).toString('base64url'));
    const codes = demoCodes(dataDir);
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
    const keyholders = await demoContacts(central.pool, dataDir);
    await central.procedures.reloadSite(DEMO_SITE.id);
    // The customer and installer portals, with their own accounts.
    const portalPassword = demoSecret(dataDir, 'demo-portal', () => randomBytes(9).toString('base64url'));
    const { rows: companies } = await central.pool.query<{ id: string }>(
      `SELECT id::text FROM installers WHERE company = 'Demo Alarmtechniek' ORDER BY id LIMIT 1`,
    );
    const companyId =
      companies[0]?.id ??
      (await createInstaller(
        central.pool,
        { company: 'Demo Alarmtechniek', name: 'Demo installer' },
        'demo',
      ));
    await central.pool.query('UPDATE sites SET installer_id = $2 WHERE id = $1', [DEMO_SITE.id, companyId]);
    await upsertOperator(
      central.pool,
      {
        username: 'resident',
        displayName: 'Anna de Vries',
        password: portalPassword,
        role: 'customer',
        siteId: DEMO_SITE.id,
      },
      'demo',
    );
    await upsertOperator(
      central.pool,
      {
        username: 'installer',
        displayName: 'Demo installer',
        password: portalPassword,
        role: 'installer',
        installerId: companyId,
      },
      'demo',
    );
    // A fresh secret every start: the demo plays the commissioning step each time.
    const secret = await central.issueGatewaySecret(DEMO_SITE.id, DEMO_GATEWAY, 'demo');
    const cameraUrl = await camera.start();
    const config = await demoGatewayConfig(
      { mqttUrl: central.mqttUrl, caCert: central.mqttCa, secret, grantKey: central.grantKey },
      env.VIGIL_GATEWAY_HTTP_PORT,
      codes,
      cameraUrl,
    );
    const gateway = await runDemoGateway(config, path.join(dataDir, 'gateway'), logger);
    return {
      central,
      gateway,
      operatorPassword,
      portalPassword,
      codes,
      keyholders,
      async stop() {
        await gateway.stop();
        await camera.stop();
        await central.stop();
      },
    };
  } catch (error) {
    await camera.stop();
    await central.stop();
    throw error;
  }
}

/**
 * The demo site's premises phone and two keyholders, made on the first start. Their default PINs
 * are changed at once (as a real contact must before first use) and kept for the printout.
 */
export async function demoContacts(pool: pg.Pool, dataDir: string) {
  const file = path.join(dataDir, 'demo-keyholders.json');
  if (existsSync(file))
    return JSON.parse(readFileSync(file, 'utf8')) as Array<{ name: string; idCode: string; pin: string }>;
  await pool.query(
    `UPDATE sites SET premises_phone = '+31201234567', activated_at = now() - interval '30 days' WHERE id = $1`,
    [DEMO_SITE.id],
  );
  const keyholders = [];
  for (const [role, order, name, phone] of [
    ['authorised', 1, 'Anna de Vries', '+31633333333'],
    ['keyholder', 1, 'Kees de Vries', '+31611111111'],
    ['keyholder', 2, 'Karin Bakker', '+31622222222'],
  ] as const) {
    const contact = await createContact(
      pool,
      { siteId: DEMO_SITE.id, name, role, order, phone, mobile: phone },
      'demo',
    );
    const pin = randomDigits(4);
    await changePin(pool, DEMO_SITE.id, contact.idCode, contact.defaultPin, pin, 'demo');
    keyholders.push({ name, idCode: contact.idCode, pin });
  }
  writeFileSync(file, JSON.stringify(keyholders), { mode: 0o600 });
  return keyholders;
}
