import path from 'node:path';
import { parseArgs } from 'node:util';
import { hashCode } from '../../gateway/auth/user-codes.ts';
import { loadGatewayConfig, runGateway } from '../../gateway/main.ts';
import { createLogger } from '../../lib/logger.ts';
import { Metrics } from '../../lib/metrics.ts';
import { SystemdNotifier } from '../../lib/systemd.ts';
import { stopOnSignal } from '../signals.ts';

export async function gateway(args: string[]): Promise<void> {
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
  logger.info(
    { localApi: running.localApiUrl, site: config.siteId, gateway: config.gatewayId },
    'gateway started',
  );
  const systemd = new SystemdNotifier(logger);
  await systemd.ready(`site ${config.siteId}, gateway ${config.gatewayId}`);
  stopOnSignal(logger, async () => {
    await systemd.stopping();
    await running.stop();
  });
}
