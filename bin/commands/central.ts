import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import {
  ADMIN_COMMANDS,
  type AdminCommandName,
  isAdminCommand,
  parseAdminInput,
} from '../../central/admin/admin-commands.ts';
import { adminSocketPath, sendAdminCommand } from '../../central/admin/admin-socket.ts';
import { readEnv, trustedProxies } from '../../lib/env.ts';
import { createLogger } from '../../lib/logger.ts';
import { Metrics } from '../../lib/metrics.ts';
import { SystemdNotifier } from '../../lib/systemd.ts';
import { stopOnSignal } from '../signals.ts';
import { USAGE } from '../usage.ts';

export async function central(args: string[]): Promise<void> {
  const [sub, ...rest] = args;
  if (sub === 'simulate') return simulateCommand(rest);
  if (sub === undefined) return runCentral();
  if (!isAdminCommand(sub)) throw new Error(`unknown central command "${sub}"\n\n${USAGE}`);
  return adminCommand(sub, rest);
}

async function runCentral(): Promise<void> {
  const { Central } = await import('../../central/central.ts');
  const { notifyFromEnv } = await import('../../central/notify/from-env.ts');
  const { externalBrokerFromEnv, httpTlsFromEnv, tlsFromEnv } = await import('../../central/tls/material.ts');
  const { readEscalationFile } = await import('../../central/incidents/escalation.ts');
  const env = readEnv();
  const logger = createLogger('central');
  const dataDir = path.resolve(env.VIGIL_DATA_DIR, 'central');
  const instance = new Central({
    mqttTls: await tlsFromEnv(env, dataDir),
    externalBroker: externalBrokerFromEnv(env),
    dataDir,
    databaseUrl: env.DATABASE_URL,
    httpHost: env.VIGIL_HTTP_HOST,
    httpPort: env.VIGIL_HTTP_PORT,
    mqttHost: env.VIGIL_MQTT_HOST,
    mqttPort: env.VIGIL_MQTT_PORT,
    notify: notifyFromEnv(env),
    httpTls: await httpTlsFromEnv(env, dataDir),
    trustedProxies: trustedProxies(env),
    metricsToken: env.VIGIL_METRICS_TOKEN,
    publicMqttUrl: env.VIGIL_PUBLIC_MQTT_URL,
    publicMqttUrls: env.VIGIL_PUBLIC_MQTT_URLS,
    dc09Host: env.VIGIL_DC09_HOST,
    dc09Port: env.VIGIL_DC09_PORT,
    dc09Receiver: env.VIGIL_DC09_RECEIVER,
    dc09PlainOutsideWindow: env.VIGIL_DC09_PLAIN_OUTSIDE_WINDOW,
    ...(env.VIGIL_ESCALATION_FILE ? { escalation: readEscalationFile(env.VIGIL_ESCALATION_FILE) } : {}),
    retentionMonths: env.VIGIL_RETENTION_MONTHS,
    logger,
    metrics: new Metrics(),
  });
  await instance.start();
  const systemd = new SystemdNotifier(logger);
  await systemd.ready(`http ${instance.httpUrl}`);
  stopOnSignal(logger, async () => {
    await systemd.stopping();
    await instance.stop();
  });
}

async function simulateCommand(args: string[]): Promise<void> {
  const { parseLines, simulate } = await import('../../central/procedures/simulate.ts');
  const { values } = parseArgs({ args, options: { site: { type: 'string' }, events: { type: 'string' } } });
  if (!values.site || !values.events)
    throw new Error('usage: vigil central simulate --site SITE.json --events EVENTS.jsonl');
  const site = JSON.parse(readFileSync(values.site, 'utf8'));
  const actions = simulate(site, parseLines(readFileSync(values.events, 'utf8')));
  for (const action of actions) process.stdout.write(`${JSON.stringify(action)}\n`);
  const refused = actions.filter((a) => a.action === 'refused');
  if (refused.length > 0)
    throw new Error(
      `${refused.length} input(s) refused: ${refused.map((a) => `${a.time} ${a.target}: ${a.reason}`).join('; ')}`,
    );
}

/** Where each command's positional arguments go. */
const POSITIONALS: Record<AdminCommandName, readonly string[]> = {
  'add-site': ['id'],
  'add-gateway': ['site', 'gateway'],
  'add-dc09-account': ['account'],
  'add-operator': ['username'],
  'add-installer': ['company'],
};

/** Secrets come from the environment, never the command line (which every user can list). */
const FROM_ENV: Partial<Record<AdminCommandName, Record<string, string>>> = {
  'add-dc09-account': { key: 'VIGIL_DC09_KEY' },
  'add-operator': { password: 'VIGIL_OPERATOR_PASSWORD' },
};

/**
 * A provisioning command: sent to the running central's admin socket (it acts on the change at
 * once), or, when no central runs with this data directory, done on the database directly.
 */
async function adminCommand(name: AdminCommandName, args: string[]): Promise<void> {
  const shape = ADMIN_COMMANDS[name].input.shape as Record<string, unknown>;
  const secrets = FROM_ENV[name] ?? {};
  const options = Object.fromEntries(
    Object.keys(shape)
      .filter((key) => !POSITIONALS[name].includes(key) && !(key in secrets))
      .map((key) => [key, { type: 'string' as const }]),
  );
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args, allowPositionals: true, options, strict: true });
  } catch (error) {
    throw new Error(`${(error as Error).message}\nusage: ${ADMIN_COMMANDS[name].usage}`);
  }
  const input: Record<string, unknown> = { ...parsed.values };
  POSITIONALS[name].forEach((key, i) => {
    if (parsed.positionals[i] !== undefined) input[key] = parsed.positionals[i];
  });
  if (parsed.positionals.length > POSITIONALS[name].length)
    throw new Error(`too many arguments\nusage: ${ADMIN_COMMANDS[name].usage}`);
  for (const [key, variable] of Object.entries(secrets)) {
    if (process.env[variable] !== undefined) input[key] = process.env[variable];
  }
  parseAdminInput(name, input); // refuse bad input before touching any central or database
  const env = readEnv();
  const actor = `${process.env.USER ?? process.env.LOGNAME ?? `uid ${process.getuid?.() ?? '?'}`}`;
  const socket = adminSocketPath(path.resolve(env.VIGIL_DATA_DIR, 'central'));
  const viaCentral = await sendAdminCommand(socket, name, input, actor);
  if (viaCentral !== null) {
    process.stdout.write(`${viaCentral}\n`);
    return;
  }
  const { openOfflineAdmin } = await import('../../central/admin/offline.ts');
  const { runAdminCommand } = await import('../../central/admin/admin-commands.ts');
  const offline = await openOfflineAdmin(env, createLogger('central', 'warn'));
  try {
    process.stdout.write(`${await runAdminCommand(offline.ctx, name, input, `cli:${actor}`)}\n`);
  } finally {
    await offline.close();
  }
}
