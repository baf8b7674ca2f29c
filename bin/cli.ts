import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ROLES, type Role } from '../central/auth/operator-auth.ts';
import { Central } from '../central/central.ts';
import { upsertDc09Account } from '../central/dc09/accounts.ts';
import { notifyFromEnv } from '../central/notify/from-env.ts';
import { parseLines, simulate } from '../central/procedures/simulate.ts';
import { upsertOperator, upsertSite } from '../central/records.ts';
import { createInstaller, InstallerSchema } from '../central/site-settings.ts';
import { externalBrokerFromEnv, httpTlsFromEnv, tlsFromEnv } from '../central/tls/material.ts';
import { hashCode } from '../gateway/auth/user-codes.ts';
import { loadGatewayConfig, runGateway } from '../gateway/main.ts';
import { readEnv } from '../lib/env.ts';
import { errorMessage } from '../lib/errors.ts';
import { createLogger, type Logger } from '../lib/logger.ts';
import { Metrics } from '../lib/metrics.ts';
import { DEMO_OPERATOR, startDemo } from './demo.ts';

const USAGE = `vigil — open alarm monitoring

  vigil demo                          central (embedded PostgreSQL + broker) and a simulated gateway
  vigil central                       run the alarm receiving centre
  vigil central add-site ID --name NAME [--address A] [--kind residential|business] [--category DP2]
  vigil central add-gateway SITE_ID GATEWAY_ID     issue a gateway's MQTT secret (printed once)
  vigil central add-dc09-account ACCOUNT --site SITE [--prefix 0] [--gateway GW] [--supervision 90]
                                      SIA DC-09 account; AES key from VIGIL_DC09_KEY (--key-format hex|ascii)
  vigil central simulate --site SITE.json --events EVENTS.jsonl   replay a scenario; actions as JSON lines
  vigil central add-operator USERNAME --name NAME [--role operator|supervisor|customer|installer]
                                      [--site SITE (customers)] [--installer ID (installers)]
                                      password read from VIGIL_OPERATOR_PASSWORD
  vigil central add-installer COMPANY --name NAME [--email E] [--phone P]   an installer company
  vigil gateway --config FILE [--data DIR]         run a gateway
  vigil gateway hash-code             hash VIGIL_CODE for a user's codeHash / duressCodeHash
  vigil panel status | arm [--mode away|home|night] [--force] | disarm   [--area N] [--url URL]
  vigil installer walk-test start|stop | commissioning | remove-device ID | camera-check ID
  vigil installer pair [--seconds 120] [--allow 0x00158d0001a2b3c4,…]   open Zigbee joining
  vigil installer add-device ID --name N --type T --zone Z [--area A] [--bus B] [--zone-kind K]
                                      [--supervision SECONDS] [--address ADDR]
      panel and installer commands read the code from VIGIL_CODE (kept out of the process list)
  vigil sim devices [--url URL]       list a running gateway's simulated devices
  vigil sim trigger DEVICE [--kind alarm|restore|tamper|battery-low|…] [--url URL]

Environment: VIGIL_DATA_DIR, DATABASE_URL, VIGIL_HTTP_HOST, VIGIL_HTTP_PORT, VIGIL_MQTT_HOST,
VIGIL_MQTT_PORT, VIGIL_GATEWAY_HTTP_PORT, VIGIL_LOG_LEVEL (see README).`;

/** Stop cleanly on Ctrl-C or SIGTERM; a second signal exits at once. */
function stopOnSignal(logger: Logger, stop: () => Promise<void>): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(130);
    stopping = true;
    logger.info({ signal }, 'stopping');
    stop().then(
      () => process.exit(0),
      (error) => {
        logger.error({ err: error }, 'unclean stop');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
}

async function demo(): Promise<void> {
  const logger = createLogger('vigil', process.env.VIGIL_LOG_LEVEL ?? 'warn');
  const env = readEnv();
  const running = await startDemo(env, logger);
  stopOnSignal(logger, () => running.stop());
  const port = env.VIGIL_GATEWAY_HTTP_PORT;
  process.stdout.write(`
Vigil demo is running.

  Operator console:   ${running.central.httpUrl}/console
      user ${DEMO_OPERATOR}   password ${running.operatorPassword}
  Customer portal:    ${running.central.httpUrl}/portal      user resident   password ${running.portalPassword}
  Installer portal:   ${running.central.httpUrl}/installer   user installer  password ${running.portalPassword}
  Simulated devices:  ${running.gateway.localApiUrl}/demo
      resident code ${running.codes.user} (duress ${running.codes.duress})   installer code ${running.codes.installer}
      contacts: ${running.keyholders.map((k) => `${k.name} ID ${k.idCode} PIN ${k.pin}`).join('; ')}
      the house starts armed away; the front door has a 15 s entry delay
  Trigger from a shell:
      npm run vigil -- sim trigger hall-pir${port === 8081 ? '' : ` --url ${running.gateway.localApiUrl}`}
      npm run vigil -- sim devices${port === 8081 ? '' : ` --url ${running.gateway.localApiUrl}`}

Press Ctrl-C to stop.
`);
}

async function central(args: string[]): Promise<void> {
  if (args[0] === 'simulate') {
    const { values } = parseArgs({
      args: args.slice(1),
      options: { site: { type: 'string' }, events: { type: 'string' } },
    });
    if (!values.site || !values.events)
      throw new Error('usage: vigil central simulate --site SITE.json --events EVENTS.jsonl');
    const site = JSON.parse(readFileSync(values.site, 'utf8'));
    for (const action of simulate(site, parseLines(readFileSync(values.events, 'utf8')))) {
      process.stdout.write(`${JSON.stringify(action)}\n`);
    }
    return;
  }
  const env = readEnv();
  const logger = createLogger('central');
  const [sub, ...rest] = args;
  const instance = new Central({
    mqttTls: sub ? null : await tlsFromEnv(env, path.resolve(env.VIGIL_DATA_DIR, 'central')),
    externalBroker: externalBrokerFromEnv(env),
    dataDir: path.resolve(env.VIGIL_DATA_DIR, 'central'),
    databaseUrl: env.DATABASE_URL,
    httpHost: env.VIGIL_HTTP_HOST,
    httpPort: env.VIGIL_HTTP_PORT,
    mqttHost: env.VIGIL_MQTT_HOST,
    mqttPort: sub ? 0 : env.VIGIL_MQTT_PORT,
    notify: notifyFromEnv(env),
    httpTls: sub ? null : await httpTlsFromEnv(env, path.resolve(env.VIGIL_DATA_DIR, 'central')),
    behindTlsProxy: env.VIGIL_BEHIND_TLS_PROXY === 'on',
    dc09Host: env.VIGIL_DC09_HOST,
    dc09Port: sub ? 0 : env.VIGIL_DC09_PORT,
    logger: sub ? createLogger('central', 'warn') : logger,
    metrics: new Metrics(),
  });
  await instance.start();
  if (!sub) {
    stopOnSignal(logger, () => instance.stop());
    return;
  }
  try {
    await adminCommand(instance, sub, rest);
  } finally {
    await instance.stop();
  }
}

async function adminCommand(instance: Central, sub: string, args: string[]): Promise<void> {
  const actor = `cli:${process.env.USER ?? 'unknown'}`;
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      name: { type: 'string' },
      address: { type: 'string' },
      kind: { type: 'string' },
      role: { type: 'string' },
      site: { type: 'string' },
      prefix: { type: 'string' },
      gateway: { type: 'string' },
      supervision: { type: 'string' },
      'key-format': { type: 'string' },
      category: { type: 'string' },
      installer: { type: 'string' },
      email: { type: 'string' },
      phone: { type: 'string' },
    },
  });
  if (sub === 'add-site') {
    const [id] = positionals;
    if (!id || !values.name) throw new Error('usage: vigil central add-site ID --name NAME');
    const kind = values.kind ?? 'residential';
    if (kind !== 'residential' && kind !== 'business')
      throw new Error('--kind must be residential or business');
    await upsertSite(
      instance.pool,
      {
        id,
        name: values.name,
        address: values.address ?? '',
        kind,
        ...(values.category ? { atsCategory: values.category } : {}),
      },
      actor,
    );
    process.stdout.write(`site ${id} saved\n`);
  } else if (sub === 'add-gateway') {
    const [siteId, gatewayId] = positionals;
    if (!siteId || !gatewayId) throw new Error('usage: vigil central add-gateway SITE_ID GATEWAY_ID');
    const secret = await instance.issueGatewaySecret(siteId, gatewayId, actor);
    process.stdout.write(
      `gateway ${gatewayId} of site ${siteId}\nsecret (shown once): ${secret}\n` +
        `camera grant key (central.grantKey): ${instance.grantKey}\n`,
    );
  } else if (sub === 'add-dc09-account') {
    const [account] = positionals;
    if (!account || !values.site)
      throw new Error('usage: vigil central add-dc09-account ACCOUNT --site SITE');
    const format = values['key-format'] ?? 'hex';
    if (format !== 'hex' && format !== 'ascii') throw new Error('--key-format must be hex or ascii');
    const saved = await upsertDc09Account(
      instance.pool,
      {
        account,
        prefix: values.prefix ?? '0',
        siteId: values.site,
        gatewayId: values.gateway,
        key: process.env.VIGIL_DC09_KEY,
        keyFormat: format,
        supervisionSeconds: values.supervision ? Number(values.supervision) : undefined,
      },
      actor,
    );
    process.stdout.write(
      `DC-09 account ${saved.prefix}/${saved.account} of site ${saved.siteId} (gateway ${saved.gatewayId}, ${saved.path} path, ${saved.key ? 'AES' : 'unencrypted'})\n`,
    );
  } else if (sub === 'add-operator') {
    const [username] = positionals;
    const password = process.env.VIGIL_OPERATOR_PASSWORD;
    const role = values.role ?? 'operator';
    if (!username || !values.name || !password) {
      throw new Error('usage: VIGIL_OPERATOR_PASSWORD=… vigil central add-operator USERNAME --name NAME');
    }
    if (!(ROLES as readonly string[]).includes(role))
      throw new Error(`--role must be one of ${ROLES.join(', ')}`);
    await upsertOperator(
      instance.pool,
      {
        username,
        displayName: values.name,
        password,
        role: role as Role,
        ...(values.site ? { siteId: values.site } : {}),
        ...(values.installer ? { installerId: values.installer } : {}),
      },
      actor,
    );
    process.stdout.write(`${role} ${username} saved\n`);
  } else if (sub === 'add-installer') {
    const [company] = positionals;
    if (!company || !values.name) throw new Error('usage: vigil central add-installer COMPANY --name NAME');
    const id = await createInstaller(
      instance.pool,
      InstallerSchema.parse({
        company,
        name: values.name,
        ...(values.email ? { email: values.email } : {}),
        ...(values.phone ? { phone: values.phone } : {}),
      }),
      actor,
    );
    process.stdout.write(`installer company ${company}: id ${id} (for --installer)\n`);
  } else {
    throw new Error(`unknown central command "${sub}"\n\n${USAGE}`);
  }
}

async function gateway(args: string[]): Promise<void> {
  if (args[0] === 'hash-code') {
    const code = process.env.VIGIL_CODE;
    if (!code) throw new Error('usage: VIGIL_CODE=1234 vigil gateway hash-code');
    process.stdout.write(`${await hashCode(code)}\n`);
    return;
  }
  const { values } = parseArgs({ args, options: { config: { type: 'string' }, data: { type: 'string' } } });
  if (!values.config) throw new Error('usage: vigil gateway --config FILE [--data DIR]');
  const logger = createLogger('gateway');
  const config = await loadGatewayConfig(values.config);
  const running = await runGateway({
    config,
    dataDir: values.data ?? path.dirname(path.resolve(values.config)),
    logger,
    metrics: new Metrics(),
  });
  stopOnSignal(logger, () => running.stop());
}

/** Talk to a running gateway's local API; print its answer, or fail with its reason. */
async function localApi(
  url: string,
  method: string,
  path: string,
  body?: unknown,
  code?: string,
): Promise<unknown> {
  const response = await fetch(`${url.replace(/\/$/, '')}${path}`, {
    method,
    headers: {
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(code ? { 'x-vigil-code': code } : {}),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const answer = (await response.json()) as { error?: string; message?: string };
  if (!response.ok) throw new Error(answer.error ?? answer.message ?? `gateway answered ${response.status}`);
  return answer;
}

function requireCode(): string {
  const code = process.env.VIGIL_CODE;
  if (!code) throw new Error('set VIGIL_CODE to your code');
  return code;
}

const GATEWAY_URL_OPTION = {
  type: 'string',
  default: `http://127.0.0.1:${process.env.VIGIL_GATEWAY_HTTP_PORT ?? 8081}`,
} as const;

async function panel(args: string[]): Promise<void> {
  const [sub, ...rest] = args;
  const { values } = parseArgs({
    args: rest,
    options: {
      url: GATEWAY_URL_OPTION,
      area: { type: 'string', default: '1' },
      mode: { type: 'string', default: 'away' },
      force: { type: 'boolean', default: false },
    },
  });
  const area = Number(values.area);
  let answer: unknown;
  if (sub === 'status') answer = await localApi(values.url, 'GET', '/api/status');
  else if (sub === 'arm') {
    answer = await localApi(values.url, 'POST', `/api/areas/${area}/arm`, {
      mode: values.mode,
      code: requireCode(),
      force: values.force,
    });
  } else if (sub === 'disarm') {
    answer = await localApi(values.url, 'POST', `/api/areas/${area}/disarm`, { code: requireCode() });
  } else throw new Error(`unknown panel command "${sub ?? ''}"\n\n${USAGE}`);
  const status = (answer as { status?: unknown }).status ?? answer;
  const areas = (status as { areas: Array<{ id: number; name: string; mode: string; phase: string }> }).areas;
  for (const a of areas)
    process.stdout.write(
      `area ${a.id} ${a.name}: ${a.phase}${a.phase === 'disarmed' ? '' : ` (${a.mode})`}\n`,
    );
}

async function installer(args: string[]): Promise<void> {
  const [sub, ...rest] = args;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      url: GATEWAY_URL_OPTION,
      name: { type: 'string' },
      type: { type: 'string' },
      zone: { type: 'string' },
      area: { type: 'string', default: '1' },
      bus: { type: 'string', default: 'simulated' },
      'zone-kind': { type: 'string' },
      supervision: { type: 'string' },
      address: { type: 'string' },
      seconds: { type: 'string' },
      allow: { type: 'string' },
    },
  });
  const code = requireCode();
  if (sub === 'walk-test') {
    const on = positionals[0] === 'start' ? true : positionals[0] === 'stop' ? false : undefined;
    if (on === undefined) throw new Error('usage: vigil installer walk-test start|stop');
    await localApi(values.url, 'POST', '/api/installer/walk-test', { code, on });
    process.stdout.write(`walk test ${on ? 'started: trigger every device, then stop it' : 'stopped'}\n`);
  } else if (sub === 'commissioning') {
    process.stdout.write(
      `${JSON.stringify(await localApi(values.url, 'GET', '/api/installer/commissioning', undefined, code), null, 2)}\n`,
    );
  } else if (sub === 'add-device') {
    const [id] = positionals;
    if (!id || !values.name || !values.type || !values.zone) {
      throw new Error('usage: vigil installer add-device ID --name N --type T --zone Z [--area A]');
    }
    const device = {
      name: values.name,
      type: values.type,
      bus: values.bus,
      zone: Number(values.zone),
      area: Number(values.area),
      ...(values['zone-kind'] ? { zoneKind: values['zone-kind'] } : {}),
      ...(values.supervision ? { supervisionSeconds: Number(values.supervision) } : {}),
      ...(values.address ? { address: values.address } : {}),
    };
    await localApi(values.url, 'PUT', `/api/installer/devices/${encodeURIComponent(id)}`, { code, device });
    process.stdout.write(`device ${id} saved\n`);
  } else if (sub === 'pair') {
    const seconds = Number(values.seconds ?? 120);
    const allow = values.allow ? values.allow.split(',').map((a) => a.trim().toLowerCase()) : [];
    await localApi(values.url, 'POST', '/api/installer/zigbee/permit-join', { code, seconds, allow });
    process.stdout.write(
      `Zigbee joining open for ${Math.min(seconds, 254)} s${allow.length ? ` for ${allow.join(', ')}` : ''}\n`,
    );
  } else if (sub === 'camera-check') {
    const [id] = positionals;
    if (!id) throw new Error('usage: vigil installer camera-check CAMERA_ID');
    const result = (await localApi(
      values.url,
      'POST',
      `/api/installer/cameras/${encodeURIComponent(id)}/check`,
      { code },
    )) as {
      contentType: string;
      bytes: number;
      ms: number;
    };
    process.stdout.write(
      `camera ${id}: snapshot ok (${result.contentType}, ${result.bytes} bytes, ${result.ms} ms)\n`,
    );
  } else if (sub === 'remove-device') {
    const [id] = positionals;
    if (!id) throw new Error('usage: vigil installer remove-device ID');
    await localApi(values.url, 'DELETE', `/api/installer/devices/${encodeURIComponent(id)}`, undefined, code);
    process.stdout.write(`device ${id} removed\n`);
  } else throw new Error(`unknown installer command "${sub ?? ''}"\n\n${USAGE}`);
}

async function sim(args: string[]): Promise<void> {
  const [sub, ...rest] = args;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      url: { type: 'string', default: `http://127.0.0.1:${readEnv().VIGIL_GATEWAY_HTTP_PORT}` },
      kind: { type: 'string', default: 'alarm' },
    },
  });
  const base = values.url.replace(/\/$/, '');
  if (sub === 'devices') {
    const response = await fetch(`${base}/api/sim/devices`);
    if (!response.ok) throw new Error(`gateway answered ${response.status}`);
    for (const d of (await response.json()) as { id: string; name: string; type: string; zone: number }[]) {
      process.stdout.write(
        `${d.id.padEnd(18)} zone ${String(d.zone).padEnd(4)} ${d.type.padEnd(11)} ${d.name}\n`,
      );
    }
    return;
  }
  if (sub === 'trigger') {
    const [device] = positionals;
    if (!device) throw new Error('usage: vigil sim trigger DEVICE [--kind KIND]');
    const response = await fetch(`${base}/api/sim/devices/${encodeURIComponent(device)}/signals`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ kind: values.kind }),
    });
    const body = (await response.json()) as { error?: string; message?: string; outboxDepth?: number };
    if (!response.ok) throw new Error(body.error ?? body.message ?? `gateway answered ${response.status}`);
    process.stdout.write(`${device}: ${values.kind} sent (outbox depth ${body.outboxDepth})\n`);
    return;
  }
  throw new Error(`unknown sim command "${sub ?? ''}"\n\n${USAGE}`);
}

export async function main(argv: string[]): Promise<void> {
  const [command, ...args] = argv;
  try {
    if (command === 'demo') await demo();
    else if (command === 'central') await central(args);
    else if (command === 'gateway') await gateway(args);
    else if (command === 'sim') await sim(args);
    else if (command === 'panel') await panel(args);
    else if (command === 'installer') await installer(args);
    else if (!command || command === 'help' || command === '--help') process.stdout.write(`${USAGE}\n`);
    else throw new Error(`unknown command "${command}"\n\n${USAGE}`);
  } catch (error) {
    process.stderr.write(`vigil: ${errorMessage(error)}\n`);
    process.exitCode = 1;
  }
}
