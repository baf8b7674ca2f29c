import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { RabbitProvisioner } from '../central/broker/rabbitmq.ts';
import { newCookie, startRabbitNode } from '../central/broker/rabbitmq-node.ts';
import { startEmbeddedPostgres } from '../central/db/embedded.ts';
import { migrate } from '../central/db/migrate.ts';
import { endPool } from '../central/db/pool.ts';
import { silentLogger } from '../lib/logger.ts';
import { tempDir } from '../test/helpers/central.ts';
import { startCentralWorker } from '../test/helpers/central-worker.ts';

const CENTRAL = { username: 'vigil-central', password: 'central-password-for-bench' };

/** A RabbitMQ node, a PostgreSQL with `sites` sites and gateways, and `vigil central` workers on them. */
export async function startRabbitBench(sites: number) {
  const admin = { username: 'vigil-admin', password: randomBytes(12).toString('hex') };
  const node = await startRabbitNode({
    dir: tempDir('bench-rabbitmq'),
    name: `vigil-bench-${randomBytes(3).toString('hex')}`,
    cookie: newCookie(),
    admin,
  });
  const db = await startEmbeddedPostgres(tempDir('bench-cluster-db'), silentLogger);
  const pool = new pg.Pool({ connectionString: db.url, max: 4 });
  const workers: ChildProcess[] = [];
  await migrate(pool, silentLogger);
  await pool.query(
    `INSERT INTO sites (id, name, address, time_zone, kind, ats_category)
     SELECT 'mem-' || i, 'Bench ' || i, '', 'Europe/Amsterdam', 'residential', 'DP2' FROM generate_series(0, $1 - 1) AS i`,
    [sites],
  );
  await pool.query(
    `INSERT INTO gateways (id, site_id, secret_sha256)
     SELECT 'gw-mem-' || i, 'mem-' || i, repeat('0', 64) FROM generate_series(0, $1 - 1) AS i`,
    [sites],
  );
  // One broker user for all the gateways: this measures the central, not the per-gateway ACLs.
  const provisioner = new RabbitProvisioner({ apiUrl: node.apiUrl, ...admin, logger: silentLogger });
  await provisioner.ensureCentral(CENTRAL.username, CENTRAL.password);
  const gatewaysPassword = randomBytes(12).toString('hex');
  await provisioner.putUser('bench-gateways', gatewaysPassword, {
    configure: '^mqtt-subscription-.*',
    write: '^(amq\\.topic|mqtt-subscription-.*)$',
    read: '^(amq\\.topic|mqtt-subscription-.*)$',
    topicWrite: '^vigil\\.v1\\..*',
    topicRead: '^vigil\\.v1\\..*',
  });
  return {
    node,
    pool,
    gatewaysPassword,
    /** A worker process (`vigil central`), once it consumes the uplink queue. */
    async startWorker(): Promise<ChildProcess> {
      const { process: worker } = await startCentralWorker({
        databaseUrl: db.url,
        rabbitmq: {
          mqttUrl: node.mqttUrl,
          amqpUrls: [node.amqpAddress],
          central: CENTRAL,
        },
      });
      workers.push(worker);
      return worker;
    },
    async stop() {
      for (const worker of workers) worker.kill('SIGKILL');
      // Until its connections have hung up: a database stopped sooner cuts an idle one off (an error).
      await endPool(pool);
      await db.stop();
      await node.stop();
    },
  };
}
