import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { RabbitProvisioner } from '../central/broker/rabbitmq.ts';
import { newCookie, type RabbitNode, startRabbitCluster } from '../central/broker/rabbitmq-node.ts';
import { loadOrCreateGrantSigner } from '../central/cameras/grant-signer.ts';
import { spawnCentralWorker, stopCentralWorker } from '../central/cluster/worker-process.ts';
import { freePort, portFree } from '../central/db/embedded.ts';
import { type FailoverCluster, startPgAutoFailover } from '../central/db/pg-auto-failover.ts';
import { endPool } from '../central/db/pool.ts';
import { DatabaseTarget } from '../central/db/target.ts';
import { loadOrCreateVapidKeys } from '../central/notify/web-push.ts';
import { issueGatewaySecret, upsertOperator, upsertSite } from '../central/records.ts';
import { ensureTlsMaterial, tlsFiles } from '../central/tls/certificates.ts';
import type { RunningGateway } from '../gateway/main.ts';
import { SimulatedCamera } from '../hardware/camera/simulated-camera.ts';
import type { Logger } from '../lib/logger.ts';
import { Metrics } from '../lib/metrics.ts';
import {
  DEMO_GATEWAY,
  DEMO_OPERATOR,
  DEMO_SITE,
  demoCodes,
  demoContacts,
  demoGatewayConfig,
  runDemoGateway,
} from './demo.ts';

const CENTRAL_USER = 'vigil-central';
const ADMIN_USER = 'vigil-admin';

export interface LocalClusterOptions {
  /** Everything of the cluster lives here; emptied at start (a trial cluster starts fresh). */
  readonly dir: string;
  readonly workers: number;
  /** The first worker's console port; the next ones take the following ports (not the gateway's). */
  readonly httpPort: number;
  /** The demo gateway's local API and panel. */
  readonly gatewayHttpPort: number;
  readonly logger: Logger;
  /** Aborted (Ctrl-C while starting): what has started is stopped and the start fails. */
  readonly signal?: AbortSignal;
}

export interface ClusterWorker {
  readonly name: string;
  readonly httpUrl: string;
  readonly process: ChildProcess;
}

export interface LocalCluster {
  readonly workers: readonly ClusterWorker[];
  readonly brokers: readonly RabbitNode[];
  /** The CA the brokers' and the database servers' certificates are signed by (gateways and workers trust it). */
  readonly caFile: string;
  readonly database: FailoverCluster;
  readonly gateway: RunningGateway;
  readonly operator: { readonly username: string; readonly password: string };
  readonly codes: ReturnType<typeof demoCodes>;
  stop(): Promise<void>;
}

/**
 * The central as a cluster on one machine, from Debian's packages: three RabbitMQ nodes holding the
 * gateways' MQTT connections (quorum queues), PostgreSQL as a primary and a synchronous standby
 * with pg_auto_failover's monitor, and `workers` central workers (`vigil central` processes) sharing
 * the uplink queue, the procedure partitions and the console. The demo site and its simulated
 * gateway run against it, listing every broker node. For trying the cluster and its faults out
 * (docs/cluster.md); loopback only, no TLS between the parts.
 */
export async function startLocalCluster(options: LocalClusterOptions): Promise<LocalCluster> {
  const { logger } = options;
  const dir = path.resolve(options.dir);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true, mode: 0o711 });
  const stops: Array<() => Promise<void>> = [];
  // Checked between the parts: a Ctrl-C while starting stops what already runs.
  const step = () => options.signal?.throwIfAborted();
  const stopAll = async () => {
    for (const stop of stops.reverse())
      await stop().catch((error: Error) => logger.warn({ err: error.message }, 'stop failed'));
  };
  try {
    // PostgreSQL, AMQP and MQTT take TLS only, with a CA of this cluster's own.
    const tlsDir = path.join(dir, 'tls');
    const tls = await ensureTlsMaterial(tlsDir, []);
    const caFile = tlsFiles(tlsDir).ca;
    logger.info('starting PostgreSQL: monitor, primary, synchronous standby');
    const database = await startPgAutoFailover({ dir: path.join(dir, 'postgres'), nodes: 2, tls, logger });
    stops.push(() => database.stop());
    step();

    logger.info('starting RabbitMQ: three nodes');
    const admin = { username: ADMIN_USER, password: randomBytes(12).toString('hex') };
    const suffix = randomBytes(3).toString('hex');
    const brokers = await startRabbitCluster({
      tlsDir,
      dirOf: (i) => path.join(dir, 'rabbitmq', `node${i + 1}`),
      names: [1, 2, 3].map((i) => `vigil-${suffix}-${i}`),
      cookie: newCookie(),
      admin,
    });
    stops.push(async () => {
      for (const broker of brokers) await broker.stop();
    });
    step();
    const centralPassword = randomBytes(12).toString('hex');
    const provisioner = new RabbitProvisioner({ apiUrl: brokers[0]!.apiUrl, ...admin, ca: tls.ca, logger });
    await provisioner.ensureCentral(CENTRAL_USER, centralPassword);

    // What every worker must share: the master key (sealed secrets), the camera grant key (the
    // gateways trust it) and the Web Push keys (browsers subscribed to them).
    const masterKey = randomBytes(32).toString('hex');
    const workerDir = (i: number) => path.join(dir, `worker${i + 1}`);
    // The workers' consoles on the ports from `httpPort` up, leaving out the gateway's and any
    // another program holds (printed as they are).
    const httpPorts: number[] = [];
    for (let port = options.httpPort; httpPorts.length < options.workers && port < 65_536; port++)
      if (port !== options.gatewayHttpPort && (await portFree(port))) httpPorts.push(port);
    if (httpPorts.length < options.workers) throw new Error(`no free ports from ${options.httpPort} up`);
    const shared = path.join(workerDir(0), 'central');
    const signer = await loadOrCreateGrantSigner(path.join(shared, 'grants'));
    await loadOrCreateVapidKeys(path.join(shared, 'push'));
    for (let i = 1; i < options.workers; i++)
      cpSync(shared, path.join(workerDir(i), 'central'), { recursive: true });

    const workerEnv = async (i: number): Promise<NodeJS.ProcessEnv> => ({
      DATABASE_URL: database.url,
      VIGIL_DATA_DIR: workerDir(i),
      VIGIL_MASTER_KEY: masterKey,
      VIGIL_HTTP_HOST: '127.0.0.1',
      VIGIL_HTTP_PORT: String(httpPorts[i]),
      VIGIL_HTTP_TLS: 'off',
      // No broker of their own; the cluster's brokers are trusted through its CA.
      VIGIL_MQTT_TLS: 'off',
      VIGIL_MQTT_TLS_CA: caFile,
      VIGIL_DC09_PORT: String(await freePort()),
      VIGIL_MQTT_URL: brokers[0]!.mqttUrl,
      VIGIL_PUBLIC_MQTT_URLS: brokers
        .slice(1)
        .map((b) => b.mqttUrl)
        .join(','),
      VIGIL_BROKER_KIND: 'rabbitmq',
      VIGIL_AMQP_URLS: brokers.map((b) => b.amqpAddress).join(','),
      VIGIL_RABBITMQ_API_URL: brokers[0]!.apiUrl,
      VIGIL_MQTT_CENTRAL_USER: CENTRAL_USER,
      VIGIL_MQTT_CENTRAL_PASSWORD: centralPassword,
      VIGIL_MQTT_ADMIN_USER: admin.username,
      VIGIL_MQTT_ADMIN_PASSWORD: admin.password,
      VIGIL_LOG_LEVEL: process.env.VIGIL_LOG_LEVEL ?? 'info',
    });
    const workers: ClusterWorker[] = [];
    stops.push(async () => {
      await Promise.all(workers.map((w) => stopCentralWorker(w.process)));
    });
    // The first worker migrates the database; the others start beside it.
    for (let i = 0; i < options.workers; i++) {
      logger.info({ worker: i + 1 }, 'starting a central worker');
      const process = await spawnCentralWorker(await workerEnv(i));
      workers.push({ name: `worker${i + 1}`, httpUrl: `http://127.0.0.1:${httpPorts[i]}`, process });
      step();
    }

    const pool = new DatabaseTarget(database.url, logger, new Metrics()).pool({ max: 2 });
    const operator = { username: DEMO_OPERATOR, password: randomBytes(9).toString('base64url') };
    let secret: string;
    const seedDir = path.join(dir, 'demo');
    mkdirSync(seedDir, { recursive: true });
    try {
      await upsertSite(pool, DEMO_SITE, 'cluster');
      await upsertOperator(
        pool,
        { ...operator, displayName: 'Demo supervisor', role: 'supervisor' },
        'cluster',
      );
      await demoContacts(pool, seedDir);
      secret = await issueGatewaySecret(pool, DEMO_SITE.id, DEMO_GATEWAY, 'cluster');
      await provisioner.provisionGateway(DEMO_SITE.id, DEMO_GATEWAY, secret);
    } finally {
      await endPool(pool);
    }

    const camera = new SimulatedCamera();
    const cameraUrl = await camera.start();
    stops.push(() => camera.stop());
    const codes = demoCodes(seedDir);
    const demo = await demoGatewayConfig(
      { mqttUrl: brokers[0]!.mqttUrl, caCert: tls.ca, secret, grantKey: signer.publicKey },
      options.gatewayHttpPort,
      codes,
      cameraUrl,
    );
    const config = {
      ...demo,
      central: { ...demo.central, mqttUrls: brokers.slice(1).map((b) => b.mqttUrl) },
    };
    const gateway = await runDemoGateway(config, path.join(dir, 'gateway'), logger);
    stops.push(() => gateway.stop());
    return {
      workers,
      brokers,
      caFile,
      database,
      gateway,
      operator,
      codes,
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
