import { parseGatewayConfig } from '../../gateway/config.ts';
import { runGateway } from '../../gateway/main.ts';
import { silentLogger } from '../../lib/logger.ts';
import { Metrics } from '../../lib/metrics.ts';

/**
 * Child process for the crash test: a gateway that raises alarms as fast as it can and prints the
 * id of every event once it is durable, until it is killed.
 * argv: config JSON, data dir.
 */
const running = await runGateway({
  config: parseGatewayConfig(JSON.parse(process.argv[2]!)),
  dataDir: process.argv[3]!,
  logger: silentLogger,
  metrics: new Metrics(),
  httpPort: 0,
});
const { gateway } = running;
let seen = 0;
for (;;) {
  gateway.simulatedBus.inject('smoke', 'alarm');
  gateway.simulatedBus.inject('smoke', 'restore');
  await gateway.settled();
  const pending = gateway.outbox.pending();
  const fresh = pending.filter((e) => e.seq >= seen);
  for (const event of fresh) process.stdout.write(`${event.seq} ${event.id}\n`);
  if (fresh.length > 0) seen = fresh.at(-1)!.seq + 1;
}
