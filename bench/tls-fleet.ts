import { fork } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import { DEFAULT_LIMITS } from '../central/limits.ts';
import { centralEvent } from '../central/supervision/central-event.ts';
import { encode } from '../protocols/messages.ts';
import { gatewayClientId, topicFor } from '../protocols/topics.ts';
import { loginCookie, startTestCentral, type TestCentral } from '../test/helpers/central.ts';
import { SseClient } from '../test/helpers/sse.ts';
import type { FleetCommand, FleetData, FleetStatus } from './fleet-worker.ts';
import { percentile } from './stats.ts';

const PREFIX = 'fleet';

/**
 * A fleet of gateways over TLS, as issue #15 measures it: `gateways` connections to one central
 * (embedded broker, MQTT over TLS), their clients in a thread of their own. Measured: how long until
 * every one is online and heard; the alarm → operator feed p99 idle and under `perSecond`
 * heartbeats; and after a restart of the central, how long until every gateway is heard again
 * (each comes back by the gateway's own jittered back-off).
 */
export async function measureTlsFleet(gateways: number, perSecond: number, alarms: number) {
  const env = await startTestCentral({
    tls: true,
    limits: {
      ...DEFAULT_LIMITS,
      mqtt: {
        ...DEFAULT_LIMITS.mqtt,
        maxConnections: Math.max(DEFAULT_LIMITS.mqtt.maxConnections, gateways + 100),
        maxPerSource: gateways + 100,
      },
    },
  });
  try {
    const provisionStarted = performance.now();
    const fleet = await provision(env, gateways);
    const provisionS = (performance.now() - provisionStarted) / 1000;

    const rssBefore = settledRss();
    const rampStarted = performance.now();
    const since = new Date();
    const worker = fork(fileURLToPath(new URL('./fleet-worker.ts', import.meta.url)), [], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    let status: FleetStatus = {
      type: 'status',
      connected: 0,
      connects: 0,
      heartbeats: 0,
      load: { sent: 0, seconds: 0, loading: false },
    };
    worker.on('message', (s: FleetStatus) => {
      status = s;
    });
    const command = (c: FleetCommand) => worker.send(c);
    command({
      type: 'start',
      data: { url: env.central.mqttUrl, ca: env.ca, gateways: fleet, rampConcurrency: 64 },
    });
    await until(
      async () => status.connected === gateways && (await heardSince(env, since)) === gateways,
      'the fleet online and heard',
    );
    const onlineS = (performance.now() - rampStarted) / 1000;
    const rssOnline = settledRss();

    const probe = await mqtt.connectAsync(env.central.mqttUrl, {
      username: 'gw-probe',
      password: await env.addGateway('probe', 'gw-probe'),
      clientId: gatewayClientId('gw-probe'),
      ca: env.ca ?? undefined,
      reconnectPeriod: 0,
    });
    const feed = await SseClient.open(
      `${env.central.httpUrl}/api/alarms/stream`,
      await loginCookie(env.central.httpUrl),
    );
    await feed.next((m) => m.event === 'snapshot');
    let seq = 0;
    const alarmTimes = async () => {
      const samples: number[] = [];
      for (let i = 0; i < alarms; i++) {
        const event = {
          ...centralEvent(
            'burglary',
            'event',
            { siteId: 'probe', gatewayId: 'gw-probe' },
            Date.now(),
            null,
            `probe ${i}`,
            { id: `pir-${seq}`, name: `Probe ${seq}` },
          ),
          seq: ++seq,
        };
        feed.messages.length = 0;
        const started = performance.now();
        await probe.publishAsync(topicFor('probe', 'gw-probe', 'event'), encode(event), { qos: 1 });
        await feed.next((m) => m.event === 'alarm');
        samples.push(performance.now() - started);
      }
      return samples;
    };
    const idle = await alarmTimes();
    command({ type: 'load', perSecond });
    // A second of heartbeats before measuring under them.
    await until(() => status.load.loading && status.load.seconds >= 1, 'the load under way');
    const loaded = await alarmTimes();
    command({ type: 'unload' });
    await until(() => !status.load.loading, 'the load ended');
    const heartbeatsPerSecond = status.load.sent / status.load.seconds;
    await feed.close();
    await probe.endAsync(true);

    // Heard since the restart began: the first of them may come back while the central starts.
    const back = new Date();
    const stopped = performance.now();
    await env.restart();
    const restarted = performance.now();
    await until(
      async () => (await heardSince(env, back)) === gateways,
      'every gateway heard again after the restart',
      600_000,
    );
    const heardAgain = performance.now();
    await until(() => status.connected === gateways, 'the fleet to report every gateway connected');
    const connects = status.connects;

    command({ type: 'end' });
    await exited;
    return {
      gateways,
      provisionS,
      onlineS,
      /** The central's process (embedded broker, TLS, ingest), per connected gateway. */
      rssPerGatewayKiB: (rssOnline - rssBefore) / gateways / 1024,
      rssMiB: [rssBefore / 2 ** 20, rssOnline / 2 ** 20] as const,
      idleP99: percentile(idle, 99),
      loadedP99: percentile(loaded, 99),
      heartbeatsPerSecond: Math.round(heartbeatsPerSecond),
      /** The central's stop and start. */
      restartS: (restarted - stopped) / 1000,
      /** From the restart command until every gateway was heard again. */
      heardAgainS: (heardAgain - stopped) / 1000,
      /** From the central ready again until then. */
      heardAfterReadyS: Math.max(0, heardAgain - restarted) / 1000,
      /** Connections made in all (each gateway's first and after the restart; more: some retried). */
      connects,
    };
  } finally {
    await env.stop();
  }
}

/** RSS after a full collection when the bench runs with --expose-gc. */
function settledRss(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().rss;
}

/** Sites and gateways with their secrets, a few at a time as an installer's tool would. */
async function provision(env: TestCentral, count: number) {
  const fleet: FleetData['gateways'][number][] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < count) {
        const i = next++;
        const siteId = `${PREFIX}-${i}`;
        const gatewayId = `gw-${PREFIX}-${i}`;
        fleet.push({ siteId, gatewayId, secret: await env.addGateway(siteId, gatewayId) });
      }
    }),
  );
  return fleet;
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

async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 900_000) {
  const deadline = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`bench: timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
