import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { parseGatewayConfig } from '../gateway/config.ts';
import { runGateway } from '../gateway/main.ts';
import { silentLogger } from '../lib/logger.ts';
import { Metrics } from '../lib/metrics.ts';
import { eventually, startTestCentral, tempDir } from './helpers/central.ts';

test('a gateway killed mid-burst delivers every event exactly once after its restart', async (t) => {
  const env = await startTestCentral();
  t.teardown(() => env.stop());
  const secret = await env.addGateway('site-crash', 'gw-crash');
  const config = {
    siteId: 'site-crash',
    gatewayId: 'gw-crash',
    central: { mqttUrl: env.central.mqttUrl, secret },
    ackTimeoutSeconds: 2,
    http: { host: '127.0.0.1', port: 0 },
    areas: [{ id: 1, name: 'Lab' }],
    devices: [{ id: 'smoke', name: 'Lab smoke', bus: 'simulated', type: 'smoke', zone: 1, area: 1 }],
  };
  const dataDir = tempDir('gw-crash');
  const child = spawn(
    process.execPath,
    [fileURLToPath(new URL('./helpers/crash-gateway.ts', import.meta.url)), JSON.stringify(config), dataDir],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const durable = new Map<number, string>();
  let buffer = '';
  await new Promise<void>((resolve) => {
    child.stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const lines = buffer.split('\n');
      buffer = lines.pop()!;
      for (const line of lines) {
        const [seq, id] = line.split(' ');
        durable.set(Number(seq), id!);
      }
      if (durable.size >= 300 && !child.killed) {
        child.kill('SIGKILL');
        resolve();
      }
    });
  });
  await new Promise((resolve) => child.once('exit', resolve));
  const storedBeforeRestart = (
    await env.central.pool.query(`SELECT count(*)::int AS n FROM events WHERE gateway_id = 'gw-crash'`)
  ).rows[0].n;

  const restarted = await runGateway({
    config: parseGatewayConfig(config),
    dataDir,
    logger: silentLogger,
    metrics: new Metrics(),
    httpPort: 0,
  });
  t.teardown(() => restarted.stop());
  await eventually(
    () => restarted.gateway.outbox.depth === 0,
    'the restarted gateway to drain its outbox',
    30_000,
  );
  await env.central.ingest.idle();

  const { rows } = await env.central.pool.query<{ id: string; seq: string }>(
    `SELECT id, seq FROM events WHERE gateway_id = 'gw-crash' ORDER BY received_at, seq`,
  );
  // Sent by priority after the restart (an alarm ahead of a backlog of restores): every sequence
  // number once, none missing, whatever order they were stored in.
  const seqs = rows.map((r) => Number(r.seq)).sort((a, b) => a - b);
  t.true(storedBeforeRestart < rows.length, 'some events were still in the outbox at the kill');
  t.deepEqual(
    seqs,
    seqs.map((_, i) => i),
    'every sequence number once, none missing',
  );
  const stored = new Map(rows.map((r) => [Number(r.seq), r.id]));
  for (const [seq, id] of durable) t.is(stored.get(seq), id, `event ${seq} reported durable is stored`);
  // Every alarm event is in exactly one incident (the site's detectors join its open incident).
  const alarmEvents = rows.filter((_, i) => i % 2 === 0).length;
  const inIncidents = await env.central.pool.query(
    `SELECT count(*)::int AS n, count(DISTINCT alarm_id)::int AS incidents FROM events
      WHERE gateway_id = 'gw-crash' AND qualifier = 'event' AND alarm_id IS NOT NULL`,
  );
  t.is(inIncidents.rows[0].n, alarmEvents, 'every alarm event in an incident, none twice');
  t.true(inIncidents.rows[0].incidents >= 1);
});
