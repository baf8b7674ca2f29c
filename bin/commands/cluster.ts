import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { readEnv } from '../../lib/env.ts';
import { createLogger } from '../../lib/logger.ts';
import { stopOnSignal } from '../signals.ts';

/** The Debian packages the local cluster runs, each with a file it installs. */
const PACKAGES = [
  { pkg: 'rabbitmq-server', file: '/usr/lib/rabbitmq/bin/rabbitmq-server' },
  { pkg: 'postgresql-15-auto-failover', file: '/usr/lib/postgresql/15/lib/pgautofailover.so' },
  { pkg: 'pg-auto-failover-cli', file: '/usr/bin/pg_autoctl' },
] as const;

/** Installs what is missing (as root, with apt-get), or says which command would. */
function ensurePackages(): void {
  const missing = PACKAGES.filter((p) => !existsSync(p.file)).map((p) => p.pkg);
  if (missing.length === 0) return;
  const command = `apt-get update && apt-get install -y ${missing.join(' ')}`;
  if (process.getuid?.() !== 0) throw new Error(`the cluster needs Debian packages; run as root: ${command}`);
  process.stdout.write(`Installing ${missing.join(', ')} …\n`);
  const result = spawnSync('sh', ['-c', command], { stdio: 'inherit' });
  if (result.status !== 0) throw new Error(`installing ${missing.join(', ')} failed (${command})`);
}

/** `vigil cluster [--workers 2] [--dir DIR]`: the central as a cluster on this machine. */
export async function cluster(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: { workers: { type: 'string', default: '2' }, dir: { type: 'string' } },
  });
  const workers = Number(values.workers);
  if (!Number.isInteger(workers) || workers < 1 || workers > 5) throw new Error('--workers: 1 to 5');
  const env = readEnv();
  ensurePackages();
  const logger = createLogger('cluster', process.env.VIGIL_LOG_LEVEL ?? 'info');
  const { startLocalCluster } = await import('../cluster.ts');
  // Ctrl-C while it starts (a minute or two): what already runs is stopped, then the command ends.
  const starting = new AbortController();
  const abort = () => starting.abort(new Error('stopped while starting'));
  process.once('SIGINT', abort);
  process.once('SIGTERM', abort);
  const running = await startLocalCluster({
    dir: values.dir ?? path.resolve(env.VIGIL_DATA_DIR, 'cluster'),
    workers,
    httpPort: env.VIGIL_HTTP_PORT,
    gatewayHttpPort: env.VIGIL_GATEWAY_HTTP_PORT,
    logger,
    signal: starting.signal,
  });
  process.removeListener('SIGINT', abort);
  process.removeListener('SIGTERM', abort);
  stopOnSignal(logger, () => running.stop());
  const line = (label: string, value: string) => `  ${label.padEnd(20)}${value}\n`;
  process.stdout.write(
    [
      '\nVigil cluster is running.\n\n',
      ...running.workers.map((w) =>
        line(`Console (${w.name})`, `${w.httpUrl}/console   pid ${w.process.pid}`),
      ),
      line('', `user ${running.operator.username}   password ${running.operator.password}`),
      ...running.brokers.map((b, i) => line(`RabbitMQ node ${i + 1}`, `${b.mqttUrl}   ${b.nodename}`)),
      line('Cluster CA', running.caFile),
      ...running.database.nodes.map((n) => line(`PostgreSQL ${n.name}`, `127.0.0.1:${n.port}`)),
      line('Database URL', running.database.url),
      line('Demo gateway', `${running.gateway.localApiUrl}/demo   resident code ${running.codes.user}`),
      '\n  Try a fault: kill -9 a worker pid above, `vigil cluster` keeps the rest running;\n',
      '  trigger an alarm: npm run vigil -- sim trigger hall-pir\n',
      `\ncluster ready ${JSON.stringify({
        workers: running.workers.map((w) => ({ name: w.name, httpUrl: w.httpUrl, pid: w.process.pid })),
        operator: running.operator,
        brokers: running.brokers.map((b) => ({ nodename: b.nodename, mqttUrl: b.mqttUrl })),
        database: { url: running.database.url, nodes: running.database.nodes.map((n) => n.port) },
        gateway: running.gateway.localApiUrl,
      })}\n`,
      '\nPress Ctrl-C to stop.\n',
    ].join(''),
  );
}
