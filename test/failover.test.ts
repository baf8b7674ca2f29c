import test from 'ava';
import { upsertDc09Account } from '../central/dc09/accounts.ts';
import { parseGatewayConfig } from '../gateway/config.ts';
import { runGateway } from '../gateway/main.ts';
import { silentLogger } from '../lib/logger.ts';
import { Metrics } from '../lib/metrics.ts';
import { eventually, startTestCentral, tempDir } from './helpers/central.ts';
import { TcpProxy } from './helpers/tcp-proxy.ts';

const KEY = '5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A';

test('the primary path fails mid-burst: the DC-09 backup takes over, then the primary comes back; every event once, in order', async (t) => {
  const env = await startTestCentral();
  t.teardown(() => env.stop());
  const secret = await env.addGateway('site-fo', 'gw-fo');
  await upsertDc09Account(
    env.central.pool,
    { account: 'F0F0', prefix: '0', siteId: 'site-fo', gatewayId: 'gw-fo', key: KEY, keyFormat: 'hex' },
    'test',
  );
  await env.central.dc09.reloadAccounts();
  const broker = new URL(env.central.mqttUrl);
  const proxy = new TcpProxy({ host: broker.hostname, port: Number(broker.port) });
  await proxy.start();
  t.teardown(() => proxy.cut());

  const running = await runGateway({
    config: parseGatewayConfig({
      siteId: 'site-fo',
      gatewayId: 'gw-fo',
      central: { mqttUrl: `mqtt://127.0.0.1:${proxy.port}`, secret },
      ackTimeoutSeconds: 2,
      backup: {
        dc09: {
          host: '127.0.0.1',
          port: env.central.dc09.port,
          account: 'F0F0',
          key: KEY,
          keyFormat: 'hex',
          nullIntervalSeconds: 10,
        },
      },
      http: { host: '127.0.0.1', port: 0 },
      areas: [{ id: 1, name: 'Office' }],
      devices: [{ id: 'smoke', name: 'Office smoke', bus: 'simulated', type: 'smoke', zone: 1, area: 1 }],
    }),
    dataDir: tempDir('gw-fo'),
    logger: silentLogger,
    metrics: new Metrics(),
  });
  t.teardown(() => running.stop());
  const { gateway } = running;
  await eventually(() => gateway.paths.primary && gateway.paths.backup, 'both paths up');

  const bus = gateway.simulatedBus;
  for (let i = 0; i < 60; i++) {
    bus.inject('smoke', i % 2 === 0 ? 'alarm' : 'restore');
    if (i === 30) await proxy.cut();
    await new Promise((resolve) => setImmediate(resolve));
  }
  await gateway.settled();
  await eventually(() => !gateway.paths.primary, 'the primary seen down');
  await eventually(() => gateway.outbox.depth === 0, 'the backup path to deliver the rest', 20_000);
  const viaBackup = await env.central.pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM events WHERE gateway_id = 'gw-fo' AND via = 'dc09'`,
  );
  t.true(viaBackup.rows[0]!.n > 0, 'some events came by the backup path');

  await proxy.restore();
  // Reconnect attempts back off to at most 10 s while the broker is away.
  await eventually(() => gateway.paths.primary, 'the primary back', 30_000);
  for (let i = 0; i < 10; i++) bus.inject('smoke', i % 2 === 0 ? 'alarm' : 'restore');
  await gateway.settled();
  await eventually(() => gateway.outbox.depth === 0, 'the primary to deliver the last ones');

  const { rows } = await env.central.pool.query<{ seq: string; via: string }>(
    `SELECT seq, via FROM events WHERE gateway_id = 'gw-fo' ORDER BY received_at, seq`,
  );
  const seqs = rows.map((r) => Number(r.seq));
  t.is(rows.length, 70);
  t.deepEqual(
    seqs,
    seqs.map((_, i) => i),
    'each event exactly once, stored in sequence order',
  );
  t.deepEqual(
    rows.slice(-10).map((r) => r.via),
    Array(10).fill('mqtt'),
    'after failback the primary carries the events',
  );
});
