import { fork } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import { centralEvent } from '../central/supervision/central-event.ts';
import { encode } from '../protocols/messages.ts';
import { gatewayClientId, topicFor } from '../protocols/topics.ts';
import { loginCookie, type TestCentral } from '../test/helpers/central.ts';
import { SseClient } from '../test/helpers/sse.ts';
import type { FleetCommand, FleetData, FleetStatus } from './fleet-worker.ts';
import { percentile } from './stats.ts';

const PREFIX = 'fleet';

/** A fleet of gateways' connections in a process of their own (bench/fleet-worker.ts). */
export interface Fleet {
  /** The fleet's last report (every 250 ms). */
  status(): FleetStatus;
  send(command: FleetCommand): void;
  /** Resolves when every gateway is connected and the central has heard each since `at`. */
  online(at: Date, what: string, timeoutMs?: number): Promise<void>;
  end(): Promise<void>;
}

/** Sites and gateways with their secrets (8 at a time, as an installer's tool would), then their fleet. */
export async function startFleet(
  env: TestCentral,
  options: { size: number; urls: readonly string[]; ca: string | null },
): Promise<Fleet & { provisionS: number; onlineS: number }> {
  const provisionStarted = performance.now();
  const gateways: FleetData['gateways'][number][] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < options.size) {
        const i = next++;
        const siteId = `${PREFIX}-${i}`;
        const gatewayId = `gw-${PREFIX}-${i}`;
        gateways.push({
          siteId,
          gatewayId,
          secret: await provisioned(() => env.addGateway(siteId, gatewayId)),
        });
      }
    }),
  );
  const provisionS = (performance.now() - provisionStarted) / 1000;

  const started = performance.now();
  const since = new Date();
  const child = fork(fileURLToPath(new URL('./fleet-worker.ts', import.meta.url)), [], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let last: FleetStatus = {
    type: 'status',
    connected: 0,
    load: { sent: 0, seconds: 0, loading: false },
  };
  child.on('message', (s: FleetStatus) => {
    last = s;
  });
  const send = (c: FleetCommand) => child.send(c);
  send({ type: 'start', data: { urls: options.urls, ca: options.ca, gateways, rampConcurrency: 64 } });
  const fleet: Fleet = {
    status: () => last,
    send,
    async online(at, what, timeoutMs) {
      await until(
        async () => last.connected === options.size && (await heardSince(env, at)) === options.size,
        what,
        timeoutMs,
      );
    },
    async end() {
      send({ type: 'end' });
      await exited;
    },
  };
  await fleet.online(since, 'the fleet online and heard');
  return { ...fleet, provisionS, onlineS: (performance.now() - started) / 1000 };
}

/**
 * Alarm → operator feed latencies: a probe gateway publishes burglaries (each on its own detector)
 * and the time to the alarm on the console's live feed is taken, idle and then under `perSecond`
 * heartbeats from the fleet.
 */
export async function alarmLatencies(
  env: TestCentral,
  fleet: Fleet,
  options: { mqttUrl: string; ca: string | null; alarms: number; perSecond: number },
) {
  const probe = await mqtt.connectAsync(options.mqttUrl, {
    username: 'gw-probe',
    password: await env.addGateway('probe', 'gw-probe'),
    clientId: gatewayClientId('gw-probe'),
    ...(options.ca ? { ca: options.ca } : {}),
    reconnectPeriod: 0,
  });
  const feed = await SseClient.open(
    `${env.central.httpUrl}/api/alarms/stream`,
    await loginCookie(env.central.httpUrl),
  );
  await feed.next((m) => m.event === 'snapshot');
  let seq = 0;
  const sample = async () => {
    const samples: number[] = [];
    for (let i = 0; i < options.alarms; i++) {
      const event = {
        ...centralEvent(
          'burglary',
          'event',
          { siteId: 'probe', gatewayId: 'gw-probe' },
          Date.now(),
          null,
          `probe ${seq}`,
          { id: `pir-${seq}`, name: `Probe ${seq}` },
        ),
        seq: ++seq,
      };
      feed.messages.length = 0;
      const started = performance.now();
      await probe.publishAsync(topicFor('probe', 'gw-probe', 'event'), encode(event), { qos: 1 });
      // This alarm's own update: the probe's burglaries join one incident, counted in `events`
      // (any other message may be the engine announcing an earlier one).
      await feed.next((m) => m.event === 'alarm' && (m.data as { events?: number }).events === seq);
      samples.push(performance.now() - started);
    }
    return samples;
  };
  try {
    const idle = await sample();
    fleet.send({ type: 'load', perSecond: options.perSecond });
    // A second of heartbeats before measuring under them.
    await until(() => fleet.status().load.loading && fleet.status().load.seconds >= 1, 'the load under way');
    const loaded = await sample();
    fleet.send({ type: 'unload' });
    await until(() => !fleet.status().load.loading, 'the load ended');
    const { sent, seconds } = fleet.status().load;
    return {
      idleP99: percentile(idle, 99),
      loadedP99: percentile(loaded, 99),
      heartbeatsPerSecond: Math.round(sent / seconds),
    };
  } finally {
    await feed.close();
    await probe.endAsync(true);
  }
}

/** A broker's management API may not answer in time while it takes thousands of users: tried 3 times. */
async function provisioned(add: () => Promise<string>): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await add();
    } catch (error) {
      if (attempt === 3) throw error;
    }
  }
}

/** How many of the fleet's gateways the central has heard on their primary path since `at`. */
async function heardSince(env: TestCentral, at: Date): Promise<number> {
  const { rows } = await env.central.pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM path_status
      WHERE path = 'primary' AND last_heard_at >= $1 AND gateway_id LIKE $2`,
    [at, `gw-${PREFIX}-%`],
  );
  return rows[0]!.n;
}

export async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 900_000) {
  const deadline = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`bench: timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** RSS after a full collection when the bench runs with --expose-gc. */
export function settledRss(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().rss;
}
