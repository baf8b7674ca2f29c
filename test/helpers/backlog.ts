import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseGatewayConfig } from '../../gateway/config.ts';
import { runGateway } from '../../gateway/main.ts';
import { JournalOutbox } from '../../gateway/outbox/journal-outbox.ts';
import { silentLogger } from '../../lib/logger.ts';
import { Metrics } from '../../lib/metrics.ts';
import { eventually, type TestCentral, tempDir } from './central.ts';
import { sampleEvent } from './events.ts';

export interface DrainResult {
  readonly events: number;
  readonly drainMs: number;
  readonly published: number;
  readonly republished: number;
  /** A new alarm pressed halfway through the drain: until the central committed it. */
  readonly newAlarmMs: number;
}

/**
 * A gateway that comes back with `events` unacked burglary events in its outbox (an outage),
 * drains them to the central, and gets a panic pressed when half are stored.
 */
export async function drainBacklog(env: TestCentral, siteId: string, events: number): Promise<DrainResult> {
  const gatewayId = `${siteId}-gw`;
  const secret = await env.addGateway(siteId, gatewayId);
  const dataDir = tempDir('backlog');
  const outbox = JournalOutbox.open({
    dir: path.join(dataDir, 'outbox'),
    logger: silentLogger,
    metrics: new Metrics(),
  });
  const start = Date.parse('2026-11-30T02:00:00Z');
  for (let i = 0; i < events; i++) {
    const at = new Date(start + i * 1000).toISOString();
    void outbox.append((seq) =>
      sampleEvent({ siteId, gatewayId, seq, zone: 1 + (i % 8), occurredAt: at, recordedAt: at }),
    );
  }
  await outbox.append((seq) => sampleEvent({ siteId, gatewayId, seq }));
  await outbox.close();

  const metrics = new Metrics();
  const pool = env.central.pool;
  const storedCount = async () =>
    (
      await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM events WHERE gateway_id = $1', [
        gatewayId,
      ])
    ).rows[0]!.n;
  const began = performance.now();
  const running = await runGateway({
    config: parseGatewayConfig({
      siteId,
      gatewayId,
      central: { mqttUrl: env.central.mqttUrl, secret },
      ackTimeoutSeconds: 2,
      http: { host: '127.0.0.1', port: 0 },
      areas: [{ id: 1, name: 'Premises' }],
      devices: [{ id: 'panic', name: 'Panic', bus: 'simulated', type: 'panic', zone: 99, area: 1 }],
    }),
    dataDir,
    logger: silentLogger,
    metrics,
  });
  try {
    await eventually(async () => (await storedCount()) >= events / 2, 'half the backlog stored', 600_000);
    const pressed = performance.now();
    running.gateway.simulatedBus.inject('panic', 'alarm');
    await eventually(
      async () =>
        (await pool.query(`SELECT 1 FROM events WHERE gateway_id = $1 AND event_type = 'panic'`, [gatewayId]))
          .rows.length > 0,
      'the new alarm stored',
      600_000,
    );
    const newAlarmMs = performance.now() - pressed;
    await eventually(() => running.gateway.outbox.depth === 0, 'the backlog drained', 600_000);
    return {
      events: events + 1,
      drainMs: performance.now() - began,
      published: metrics.get('uplink_events_published_total'),
      republished: metrics.get('uplink_events_republished_total'),
      newAlarmMs,
    };
  } finally {
    await running.stop();
  }
}
