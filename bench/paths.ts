import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { upsertDc09Account } from '../central/dc09/accounts.ts';
import { parseGatewayConfig } from '../gateway/config.ts';
import { runGateway } from '../gateway/main.ts';
import { silentLogger } from '../lib/logger.ts';
import { Metrics } from '../lib/metrics.ts';
import { buildFrame, FrameSplitter, keyBytes } from '../protocols/dc09/frame.ts';
import { eventually, startTestCentral, tempDir } from '../test/helpers/central.ts';
import { TcpProxy } from '../test/helpers/tcp-proxy.ts';

const KEY = '00112233445566778899AABBCCDDEEFF';

/** Sequential request/response over one TCP connection: `frames` of `make(i)`, answered one by one. */
async function roundTrips(port: number, count: number, make: (i: number) => string): Promise<number> {
  const socket = net.connect({ port, host: '127.0.0.1', noDelay: true });
  await new Promise((resolve) => socket.once('connect', resolve));
  const splitter = new FrameSplitter();
  let waiting: (() => void) | null = null;
  socket.on('data', (chunk: Buffer) => {
    for (const _ of splitter.push(chunk).frames) waiting?.();
  });
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    await new Promise<void>((resolve) => {
      waiting = resolve;
      socket.write(make(i), 'latin1');
    });
  }
  const perSecond = count / ((performance.now() - start) / 1000);
  socket.destroy();
  return perSecond;
}

/** An echo server answering each CR-terminated frame at once: the floor for the round trips. */
async function echoServer(): Promise<{ port: number; close: () => void }> {
  const server = net.createServer({ noDelay: true }, (socket) => {
    const splitter = new FrameSplitter();
    socket.on('data', (chunk: Buffer) => {
      for (const frame of splitter.push(chunk).frames) socket.write(`${frame}\r`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as net.AddressInfo).port, close: () => server.close() };
}

export async function measurePaths(frames: number): Promise<{
  echoPerSecond: number;
  nullPerSecond: number;
  eventPerSecond: number;
  failoverMs: number;
  failbackMs: number;
}> {
  const env = await startTestCentral();
  try {
    const secret = await env.addGateway('bench-fo', 'gw-bench');
    await upsertDc09Account(
      env.central.pool,
      { account: 'BE11', prefix: '0', siteId: 'bench-fo', gatewayId: 'gw-bench', key: KEY, keyFormat: 'hex' },
      'bench',
    );
    await upsertDc09Account(env.central.pool, { account: 'BE12', prefix: '0', siteId: 'bench-fo' }, 'bench');
    await env.central.dc09.reloadAccounts();
    const key = keyBytes(KEY, 'hex');
    const port = env.central.dc09.port;

    const echo = await echoServer();
    const nullFrame = (i: number) =>
      buildFrame({
        id: 'NULL',
        seq: (i % 9999) + 1,
        prefix: '0',
        account: 'BE11',
        data: '',
        key,
        timestamp: Date.now(),
      });
    const echoPerSecond = await roundTrips(echo.port, frames, nullFrame);
    echo.close();
    const nullPerSecond = await roundTrips(port, frames, nullFrame);
    const eventPerSecond = await roundTrips(port, frames, (i) =>
      buildFrame({
        id: 'SIA-DCS',
        seq: (i % 9999) + 1,
        prefix: '0',
        account: 'BE12',
        data: `#BE12|Nri1/BA${String(i % 999).padStart(3, '0')}`,
        timestamp: Date.now() + i,
      }),
    );

    // Failover: cut the primary's network; time until an event raised after the cut is stored.
    const broker = new URL(env.central.mqttUrl);
    const proxy = new TcpProxy({ host: broker.hostname, port: Number(broker.port) });
    await proxy.start();
    const running = await runGateway({
      config: parseGatewayConfig({
        siteId: 'bench-fo',
        gatewayId: 'gw-bench',
        central: { mqttUrl: `mqtt://127.0.0.1:${proxy.port}`, secret },
        backup: { dc09: { host: '127.0.0.1', port, account: 'BE11', key: KEY, keyFormat: 'hex' } },
        http: { host: '127.0.0.1', port: 0 },
        areas: [{ id: 1, name: 'Bench' }],
        devices: [{ id: 'panic', name: 'Panic', bus: 'simulated', type: 'panic', zone: 1, area: 1 }],
      }),
      dataDir: tempDir('bench-fo'),
      logger: silentLogger,
      metrics: new Metrics(),
    });
    const { gateway } = running;
    await eventually(() => gateway.paths.primary && gateway.paths.backup, 'both paths');
    const cutAt = performance.now();
    await proxy.cut();
    gateway.simulatedBus.inject('panic', 'alarm');
    await gateway.settled();
    await eventually(() => gateway.outbox.depth === 0, 'delivery over the backup path', 20_000);
    const failoverMs = performance.now() - cutAt;
    const restoreAt = performance.now();
    await proxy.restore();
    await eventually(() => gateway.paths.primary, 'the primary back', 20_000);
    const failbackMs = performance.now() - restoreAt;
    await running.stop();
    await proxy.cut();
    return { echoPerSecond, nullPerSecond, eventPerSecond, failoverMs, failbackMs };
  } finally {
    await env.stop();
  }
}
