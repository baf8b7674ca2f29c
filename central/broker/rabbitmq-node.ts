import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { httpRequest } from '../../lib/http-request.ts';
import { freePort, listening } from '../db/embedded.ts';
import { issuePeerCertificate, tlsFiles } from '../tls/certificates.ts';
import { basicAuthorization } from './rabbitmq.ts';

const run = promisify(execFile);

/** Debian's rabbitmq-server package (3.10: MQTT 3.1.1 plugin, quorum queues). */
const RABBITMQ_BIN = process.env.VIGIL_RABBITMQ_BIN ?? '/usr/lib/rabbitmq/bin';

export interface RabbitNodeOptions {
  /** The node's own directory (data, logs, config, Erlang cookie). */
  readonly dir: string;
  /** Short name; the node is `<name>@localhost`. */
  readonly name: string;
  /** Shared by every node of one cluster (Erlang distribution). */
  readonly cookie: string;
  /** The other nodes' names: the node forms or joins that cluster at first boot. */
  readonly peers?: readonly string[];
  /** The management API's administrator, created at first boot. */
  readonly admin: { readonly username: string; readonly password: string };
  readonly ports?: { amqp?: number; mqtt?: number; api?: number; dist?: number };
  /**
   * AMQP and MQTT over TLS only, with the CA, certificate (naming localhost) and key that
   * `ensureTlsMaterial` keeps in this directory; the clients trust that CA. The Erlang distribution
   * (the nodes among themselves, and rabbitmqctl) then runs over TLS too, each side showing a
   * certificate of that CA.
   */
  readonly tlsDir?: string;
}

export interface RabbitNode {
  readonly nodename: string;
  readonly amqpUrl: (username: string, password: string) => string;
  /** The AMQP address without credentials (amqp[s]://host:port), as a worker is given it. */
  readonly amqpAddress: string;
  readonly mqttUrl: string;
  readonly apiUrl: string;
  /** A GET on the management API as the administrator (`/queues`, …), its JSON answer. */
  managementGet<T>(apiPath: string): Promise<T>;
  readonly ports: { amqp: number; mqtt: number; api: number; dist: number };
  /** Orderly stop. */
  stop(): Promise<void>;
  /** The node dies at once (SIGKILL), as in a crash. */
  kill(): void;
  /** The cluster members this node sees running. */
  runningNodes(): Promise<string[]>;
}

export function rabbitmqInstalled(): boolean {
  return existsSync(path.join(RABBITMQ_BIN, 'rabbitmq-server'));
}

/**
 * A RabbitMQ node from Debian's package, in a directory of its own, on loopback ports: the MQTT and
 * management plugins on, guest off, the administrator given, MQTT sessions in quorum queues. Several
 * with the same cookie and peers form a cluster. For the demo cluster and the tests; a production
 * cluster is configured by its operator (docs/cluster.md).
 */
export async function startRabbitNode(options: RabbitNodeOptions): Promise<RabbitNode> {
  if (!rabbitmqInstalled())
    throw new Error(`RabbitMQ is not installed (${RABBITMQ_BIN}): apt-get install rabbitmq-server`);
  const ports = {
    amqp: options.ports?.amqp ?? (await freePort()),
    mqtt: options.ports?.mqtt ?? (await freePort()),
    api: options.ports?.api ?? (await freePort()),
    dist: options.ports?.dist ?? (await freePort()),
  };
  const nodename = `${options.name}@localhost`;
  const tls = options.tlsDir ? tlsFiles(options.tlsDir) : null;
  mkdirSync(options.dir, { recursive: true });
  writeFileSync(path.join(options.dir, '.erlang.cookie'), options.cookie, { mode: 0o400, flag: 'w' });
  const config = path.join(options.dir, 'rabbitmq.conf');
  writeFileSync(
    config,
    [
      ...(tls
        ? [
            'listeners.tcp = none',
            `listeners.ssl.default = 127.0.0.1:${ports.amqp}`,
            'mqtt.listeners.tcp = none',
            `mqtt.listeners.ssl.default = 127.0.0.1:${ports.mqtt}`,
            `ssl_options.cacertfile = ${tls.ca}`,
            `ssl_options.certfile = ${tls.cert}`,
            `ssl_options.keyfile = ${tls.key}`,
            // Clients prove who they are with their password, not a certificate.
            'ssl_options.verify = verify_none',
            'ssl_options.fail_if_no_peer_cert = false',
            'ssl_options.versions.1 = tlsv1.3',
            'ssl_options.versions.2 = tlsv1.2',
            // The management API (the administrator's password) over TLS as well.
            'management.ssl.ip = 127.0.0.1',
            `management.ssl.port = ${ports.api}`,
            `management.ssl.cacertfile = ${tls.ca}`,
            `management.ssl.certfile = ${tls.cert}`,
            `management.ssl.keyfile = ${tls.key}`,
            'management.ssl.versions.1 = tlsv1.3',
            'management.ssl.versions.2 = tlsv1.2',
          ]
        : [
            `listeners.tcp.default = 127.0.0.1:${ports.amqp}`,
            `mqtt.listeners.tcp.default = 127.0.0.1:${ports.mqtt}`,
            'management.tcp.ip = 127.0.0.1',
            `management.tcp.port = ${ports.api}`,
          ]),
      'mqtt.allow_anonymous = false',
      'mqtt.durable_queue_type = quorum',
      'mqtt.tcp_listen_options.nodelay = true',
      `default_user = ${options.admin.username}`,
      `default_pass = ${options.admin.password}`,
      'default_user_tags.administrator = true',
      'default_permissions.configure = .*',
      'default_permissions.read = .*',
      'default_permissions.write = .*',
      // A node cut off from the majority stops serving rather than diverge.
      'cluster_partition_handling = pause_minority',
      ...(options.peers?.length
        ? [
            'cluster_formation.peer_discovery_backend = classic_config',
            ...[nodename, ...options.peers.map((p) => `${p}@localhost`)].map(
              (n, i) => `cluster_formation.classic_config.nodes.${i + 1} = ${n}`,
            ),
          ]
        : []),
      'log.console = false',
      'log.file.level = warning',
      '',
    ].join('\n'),
  );
  writeFileSync(path.join(options.dir, 'enabled_plugins'), '[rabbitmq_mqtt,rabbitmq_management].\n');
  const distArgs = tls ? await distributionOverTls(options.dir, options.tlsDir!, nodename) : null;
  const env = {
    ...process.env,
    ...(distArgs ? { RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: distArgs, RABBITMQ_CTL_ERL_ARGS: distArgs } : {}),
    HOME: options.dir,
    RABBITMQ_NODENAME: nodename,
    RABBITMQ_CONFIG_FILE: config,
    RABBITMQ_ENABLED_PLUGINS_FILE: path.join(options.dir, 'enabled_plugins'),
    RABBITMQ_MNESIA_BASE: path.join(options.dir, 'mnesia'),
    RABBITMQ_LOG_BASE: path.join(options.dir, 'log'),
    RABBITMQ_PID_FILE: path.join(options.dir, 'rabbitmq.pid'),
    RABBITMQ_DIST_PORT: String(ports.dist),
    // A node that fails to start leaves its crash dump with its own files, not where it was started.
    ERL_CRASH_DUMP: path.join(options.dir, 'erl_crash.dump'),
  };
  const child: ChildProcess = spawn(path.join(RABBITMQ_BIN, 'rabbitmq-server'), [], {
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const ctl = (...args: string[]) =>
    run(path.join(RABBITMQ_BIN, 'rabbitmqctl'), ['-n', nodename, ...args], { env, timeout: 120_000 });
  try {
    // await_startup needs the node up to ask it: wait for its distribution port first.
    const deadline = Date.now() + 120_000;
    while (!(await listening(ports.dist))) {
      if (child.exitCode !== null) throw new Error(`exited with ${child.exitCode}`);
      if (Date.now() > deadline) throw new Error('not up within 120 s');
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    await ctl('await_startup', '--timeout', '120');
  } catch (error) {
    child.kill('SIGKILL');
    throw new Error(`RabbitMQ node ${nodename} did not start: ${(error as Error).message} ${stderr}`);
  }
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  const killTree = () => {
    // The start script runs the Erlang VM as its child: the whole group goes.
    if (child.pid) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }
  };
  // The certificate names localhost, not the loopback address.
  const host = tls ? 'localhost' : '127.0.0.1';
  const apiCa = tls ? readFileSync(tls.ca, 'utf8') : undefined;
  const amqpBase = tls ? 'amqps:' : 'amqp:';
  return {
    nodename,
    ports,
    amqpUrl: (username, password) =>
      `${amqpBase}//${encodeURIComponent(username)}:${encodeURIComponent(password)}@${host}:${ports.amqp}`,
    amqpAddress: `${amqpBase}//${host}:${ports.amqp}`,
    mqttUrl: `${tls ? 'mqtts' : 'mqtt'}://${host}:${ports.mqtt}`,
    apiUrl: `${tls ? 'https' : 'http'}://${host}:${ports.api}/api`,
    async managementGet<T>(apiPath: string): Promise<T> {
      const response = await httpRequest(`${tls ? 'https' : 'http'}://${host}:${ports.api}/api${apiPath}`, {
        headers: { authorization: basicAuthorization(options.admin.username, options.admin.password) },
        ca: apiCa,
        timeoutMs: 15_000,
      });
      if (!response.ok) throw new Error(`management API ${apiPath}: ${response.status}`);
      return JSON.parse(response.text) as T;
    },
    async stop() {
      await ctl('stop').catch(() => killTree());
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 10_000))]);
      killTree();
    },
    kill: killTree,
    async runningNodes() {
      const { stdout } = await ctl('cluster_status', '--formatter', 'json');
      return (JSON.parse(stdout) as { running_nodes: string[] }).running_nodes;
    },
  };
}

/**
 * The Erlang VM's flags for a distribution over TLS (inet_tls_dist): a certificate of the cluster's
 * CA for this node, shown as server and as client, and the peer's checked against the CA; a peer
 * (a node, rabbitmqctl) without one is refused even with the cookie.
 */
async function distributionOverTls(dir: string, tlsDir: string, nodename: string): Promise<string> {
  const { cert, key } = await issuePeerCertificate(tlsDir, `CN=${nodename}`, []);
  const files = {
    ca: tlsFiles(tlsDir).ca,
    cert: path.join(dir, 'dist.pem'),
    key: path.join(dir, 'dist.key'),
  };
  writeFileSync(files.cert, cert);
  writeFileSync(files.key, key, { mode: 0o600 });
  const common = [
    `{cacertfile, ${erlangString(files.ca)}}`,
    `{certfile, ${erlangString(files.cert)}}`,
    `{keyfile, ${erlangString(files.key)}}`,
    '{verify, verify_peer}',
    "{versions, ['tlsv1.3', 'tlsv1.2']}",
  ];
  const optfile = path.join(dir, 'inter_node_tls.config');
  writeFileSync(
    optfile,
    `[{server, [${[...common, '{fail_if_no_peer_cert, true}'].join(', ')}]},\n {client, [${common.join(', ')}]}].\n`,
  );
  if (/\s/.test(optfile))
    throw new Error(`RabbitMQ: ${optfile}: the Erlang flags cannot hold a path with spaces`);
  return `-proto_dist inet_tls -ssl_dist_optfile ${optfile}`;
}

function erlangString(text: string): string {
  return `"${text.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

export interface RabbitClusterOptions {
  /** One directory per node, by its index. */
  readonly dirOf: (index: number) => string;
  readonly names: readonly string[];
  readonly cookie: string;
  readonly admin: RabbitNodeOptions['admin'];
  /** Every node over TLS only (see `RabbitNodeOptions.tlsDir`). */
  readonly tlsDir?: string;
}

/**
 * A cluster of fresh nodes. The first boots alone and the others then join it: booted together,
 * classic peer discovery only staggers them by a random delay, and on a busy machine two of them can
 * each form a cluster of their own (rabbitmq-server#3075) — an Erlang cluster that is not one
 * RabbitMQ cluster. Checked before it is handed out.
 */
export async function startRabbitCluster(options: RabbitClusterOptions): Promise<RabbitNode[]> {
  const nodeOptions = (name: string, index: number): RabbitNodeOptions => ({
    dir: options.dirOf(index),
    name,
    cookie: options.cookie,
    admin: options.admin,
    peers: options.names.filter((other) => other !== name),
    ...(options.tlsDir ? { tlsDir: options.tlsDir } : {}),
  });
  const [firstName, ...restNames] = options.names;
  if (!firstName) throw new Error('a cluster needs at least one node');
  const nodes = [await startRabbitNode(nodeOptions(firstName, 0))];
  try {
    const rest = await Promise.allSettled(
      restNames.map((name, i) => startRabbitNode(nodeOptions(name, i + 1))),
    );
    for (const result of rest) if (result.status === 'fulfilled') nodes.push(result.value);
    for (const result of rest) if (result.status === 'rejected') throw result.reason;
    const running = await nodes[0]!.runningNodes();
    const missing = nodes.filter((node) => !running.includes(node.nodename));
    if (missing.length > 0)
      throw new Error(`RabbitMQ nodes ${missing.map((n) => n.nodename).join(', ')} did not join the cluster`);
  } catch (error) {
    await Promise.all(nodes.map((node) => node.stop()));
    throw error;
  }
  return nodes;
}

/** A cookie for a new cluster. */
export function newCookie(): string {
  return randomBytes(20).toString('hex').toUpperCase();
}
