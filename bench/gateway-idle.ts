import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseGatewayConfig } from '../gateway/config.ts';
import { runGateway } from '../gateway/main.ts';
import { silentLogger } from '../lib/logger.ts';
import { Metrics } from '../lib/metrics.ts';

/** Child process: a gateway with 100 simulated devices connected to the broker in argv[2]; prints its idle RSS. */
const TYPES = ['motion', 'contact', 'smoke', 'glassbreak', 'water'] as const;
const running = await runGateway({
  config: parseGatewayConfig({
    siteId: 'bench',
    gatewayId: 'idle',
    central: { mqttUrl: process.argv[2], secret: 'x'.repeat(32) },
    http: { host: '127.0.0.1', port: 0 },
    areas: [{ id: 1, name: 'Building' }],
    devices: Array.from({ length: 100 }, (_, i) => ({
      id: `dev-${i}`,
      name: `Device ${i}`,
      bus: 'simulated',
      type: TYPES[i % TYPES.length],
      zone: i + 1,
      area: 1,
      supervisionSeconds: 3600,
    })),
  }),
  dataDir: fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-bench-idle-')),
  logger: silentLogger,
  metrics: new Metrics(),
});
// Some traffic first, as a gateway in service has seen: every device triggers and restores.
for (const id of running.gateway.simulatedBus.deviceIds) {
  running.gateway.simulatedBus.inject(id, 'check-in');
}
await running.gateway.settled();
await new Promise((resolve) => setTimeout(resolve, 3000));
globalThis.gc?.();
await new Promise((resolve) => setTimeout(resolve, 500));
process.stdout.write(
  `${JSON.stringify({ rss: process.memoryUsage().rss, uplink: running.gateway.uplinkConnected })}\n`,
);
await running.stop();
