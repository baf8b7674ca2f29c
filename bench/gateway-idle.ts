import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const TYPES = ['motion', 'contact', 'smoke', 'glassbreak', 'water'] as const;
const VIGIL = fileURLToPath(new URL('../dist/bin/vigil.mjs', import.meta.url));

/** The V8 flags of the production gateway (deploy/systemd/vigil-gateway.service). */
export const GATEWAY_NODE_FLAGS = ['--max-semi-space-size=1', '--lite-mode'];

/**
 * The gateway command as an installer runs it (`node <flags> dist/bin/vigil.mjs gateway --config …`,
 * see deploy/), with 100 simulated devices connected to the broker at `mqttUrl`: every device
 * checks in once through the local API (timed), then its idle RSS is read from /proc.
 * Needs `npm run build` first.
 */
export async function measureGatewayCommandRss(
  mqttUrl: string,
  nodeFlags: readonly string[] = GATEWAY_NODE_FLAGS,
): Promise<{ rss: number; uplink: boolean; checkInsPerSecond: number }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-bench-idle-'));
  const config = path.join(dir, 'config.json');
  fs.writeFileSync(
    config,
    JSON.stringify({
      siteId: 'bench',
      gatewayId: 'idle',
      central: { mqttUrl, secret: 'x'.repeat(32) },
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
  );
  const child = spawn(process.execPath, [...nodeFlags, VIGIL, 'gateway', '--config', config], {
    env: { ...process.env, VIGIL_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const api = await localApiUrl(child);
    const status = async () => (await (await fetch(`${api}/api/status`)).json()) as { uplink: string };
    const deadline = Date.now() + 20_000;
    while ((await status()).uplink !== 'connected' && Date.now() < deadline) await delay(100);
    const started = performance.now();
    for (let i = 0; i < 100; i++) {
      await fetch(`${api}/api/sim/devices/dev-${i}/signals`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ kind: 'check-in' }),
      });
    }
    const checkInsPerSecond = 100 / ((performance.now() - started) / 1000);
    await delay(3000);
    const rss =
      Number(/VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1]) * 1024;
    return { rss, uplink: (await status()).uplink === 'connected', checkInsPerSecond };
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The gateway logs its local API's address at start. */
function localApiUrl(child: ReturnType<typeof spawn>): Promise<string> {
  return new Promise((resolve, reject) => {
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /"localApi":"(http:\/\/[^"]+)"/.exec(output);
      if (match) resolve(match[1]!);
    });
    child.once('exit', (code) => reject(new Error(`gateway exited ${code}: ${output}`)));
  });
}
