import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Aedes } from 'aedes';
import { rabbitmqInstalled } from '../central/broker/rabbitmq-node.ts';
import { loginCookie, startTestCentral, startTestGateway } from '../test/helpers/central.ts';
import { SseClient } from '../test/helpers/sse.ts';
import { measureBacklog } from './backlog.ts';
import { measureCentralMemory } from './central-memory.ts';
import { measureClusterFleet } from './cluster-fleet.ts';
import { measureConsole } from './console.ts';
import { measureGatewayCommandRss } from './gateway-idle.ts';
import { measureIngestThroughput } from './ingest-throughput.ts';
import { measureOutbox } from './outbox.ts';
import { measurePaths } from './paths.ts';
import { measureProcedures, measureSnapshotStore, measureTakeover } from './procedures.ts';
import { measureRawHop } from './raw-hop.ts';
import { measureRetainedSubscribe } from './retained.ts';
import { measureSignalProcessing } from './signals.ts';
import { type BenchRow, percentile, round } from './stats.ts';
import { measureTlsFleet } from './tls-fleet.ts';
import { measureWorkerScaling } from './workers.ts';

/**
 * `npm run bench`: end-to-end alarm latency (simulated detector -> outbox -> MQTT -> PostgreSQL
 * commit -> operator SSE feed) against the raw aedes QoS-1 hop measured in the same run. The
 * process runs with the central's V8 flags (CENTRAL_NODE_FLAGS, in `npm run bench`), the in-process
 * baselines with it.
 */
const ALARMS = Number(process.env.VIGIL_BENCH_ALARMS ?? 2000);
const HOPS = Number(process.env.VIGIL_BENCH_HOPS ?? 2000);

async function measureEndToEnd(alarms: number): Promise<number[]> {
  const env = await startTestCentral();
  const gw = await startTestGateway(env, 'bench-site', 'bench-gw', [
    { id: 'panic', name: 'Panic button', type: 'panic' },
  ]);
  const feed = await SseClient.open(
    `${env.central.httpUrl}/api/alarms/stream`,
    await loginCookie(env.central.httpUrl),
  );
  await feed.next((m) => m.event === 'snapshot');
  const bus = gw.gateway.simulatedBus!;
  const samples: number[] = [];
  for (let i = 0; i < alarms; i++) {
    const seen = feed.messages.length;
    const start = performance.now();
    bus.inject('panic', 'alarm');
    // This press's own update: each press joins the same incident, counted in `events`.
    await feed.next((m) => m.event === 'alarm' && (m.data as { events?: number }).events === i + 1);
    samples.push(performance.now() - start);
    // Restore so the next press is a new alarm; its restore also goes through the whole path.
    bus.inject('panic', 'restore');
    await feed.next((m) => m.event === 'alarm' && feed.messages.indexOf(m) > seen);
    feed.messages.length = 0;
  }
  await feed.close();
  await gw.stop();
  await env.stop();
  return samples;
}

/** The real gateway command, with the production V8 flags and without --lite-mode, in one run. */
async function measureIdleRss() {
  const broker = await Aedes.createBroker();
  const server = net.createServer(broker.handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `mqtt://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  // The production form: compiled JavaScript (no type stripping), the real `vigil gateway` command.
  execFileSync(process.execPath, [fileURLToPath(new URL('../scripts/build.mjs', import.meta.url))], {
    stdio: 'ignore',
  });
  try {
    return {
      production: await measureGatewayCommandRss(url),
      fullJit: await measureGatewayCommandRss(url, ['--max-semi-space-size=1']),
    };
  } finally {
    await new Promise<void>((resolve) => broker.close(() => server.close(() => resolve())));
  }
}

const hop = await measureRawHop(HOPS);
const e2e = await measureEndToEnd(ALARMS);
const hopP50 = percentile(hop, 50);
const hopP99 = percentile(hop, 99);
const e2eP50 = percentile(e2e, 50);
const e2eP99 = percentile(e2e, 99);
const processing = measureSignalProcessing(Number(process.env.VIGIL_BENCH_SIGNALS ?? 100_000));
const paths = await measurePaths(Number(process.env.VIGIL_BENCH_FRAMES ?? 2000));
const procedures = measureProcedures(Number(process.env.VIGIL_BENCH_PROCEDURES ?? 20_000), 10_000);
// A partition of 100,000 sites split 32 ways, and a week of its inputs.
const takeover = measureTakeover(3125, Number(process.env.VIGIL_BENCH_TAKEOVER_INPUTS ?? 20_000));
const snapshotStore = await measureSnapshotStore(takeover.json);
const outbox = await measureOutbox(Number(process.env.VIGIL_BENCH_APPENDS ?? 2000));
const idle = await measureIdleRss();
// 10,000 gateways over TLS (issue #15): online, alarms under heartbeats, a restart of the central.
const underLoad = await measureTlsFleet(
  Number(process.env.VIGIL_BENCH_LOAD_GATEWAYS ?? 10_000),
  Number(process.env.VIGIL_BENCH_LOAD_HEARTBEATS ?? 1100),
  Number(process.env.VIGIL_BENCH_LOAD_ALARMS ?? 200),
);
const ingest = await measureIngestThroughput(
  Number(process.env.VIGIL_BENCH_INGEST_GATEWAYS ?? 50),
  Number(process.env.VIGIL_BENCH_INGEST_EVENTS ?? 1000),
);
const scaling = await measureWorkerScaling(
  Number(process.env.VIGIL_BENCH_SCALING_GATEWAYS ?? 50),
  Number(process.env.VIGIL_BENCH_SCALING_EVENTS ?? 400),
);
// The fleet against a 3-node RabbitMQ cluster over TLS, when asked for (VIGIL_BENCH_CLUSTER_FLEET=10000:
// ~10 minutes here, the machine saturated by three Erlang VMs taking TLS connections).
const clusterFleetSize = Number(process.env.VIGIL_BENCH_CLUSTER_FLEET ?? 0);
const clusterFleet =
  rabbitmqInstalled() && clusterFleetSize > 0
    ? await measureClusterFleet(clusterFleetSize, 1100, Number(process.env.VIGIL_BENCH_LOAD_ALARMS ?? 200))
    : null;
const memory = await measureCentralMemory(Number(process.env.VIGIL_BENCH_MEMORY_GATEWAYS ?? 2000));
const retained = await measureRetainedSubscribe(Number(process.env.VIGIL_BENCH_RETAINED ?? 10_000), 200);
const consoleView = await measureConsole(
  Number(process.env.VIGIL_BENCH_CONSOLE_ALARMS ?? 1000),
  Number(process.env.VIGIL_BENCH_CONSOLE_ARRIVALS ?? 20),
);
const backlog = await measureBacklog(
  Number(process.env.VIGIL_BENCH_BACKLOG_BASELINE ?? 1000),
  Number(process.env.VIGIL_BENCH_BACKLOG ?? 10_000),
);
const perEvent = (r: { drainMs: number; events: number }) => r.drainMs / r.events;
const rows: BenchRow[] = [
  {
    name: `backlog drain of ${backlog.measured.events} events after an outage`,
    value: round(backlog.measured.drainMs / 1000, 1),
    unit: 's',
  },
  {
    name: 'backlog drain: time per event (linear: ratio ~1)',
    value: round(perEvent(backlog.measured), 2),
    unit: 'ms',
    baseline: round(perEvent(backlog.baseline), 2),
    ratio: round(perEvent(backlog.measured) / perEvent(backlog.baseline), 2),
  },
  {
    name: 'backlog drain: events published again',
    value: backlog.measured.republished,
    unit: 'events',
  },
  {
    name: 'backlog drain: new alarm pressed halfway -> stored',
    value: Math.round(backlog.measured.newAlarmMs),
    unit: 'ms',
  },
  {
    name: 'procedure engine: alarms handled',
    value: Math.round(procedures.alarmsPerSecond),
    unit: 'alarms/s',
  },
  ...(
    [
      ['holding 20,000 alarms handled elsewhere (closed)', procedures.logWithClosed],
      ['3,000 alarms open elsewhere', procedures.logWithOpen],
    ] as const
  ).map(([what, perSecond]) => ({
    name: `procedure engine: log events at a site, ${what}`,
    value: Math.round(perSecond),
    unit: 'events/s',
    baseline: Math.round(procedures.logWithNone),
    ratio: round(perSecond / procedures.logWithNone, 2),
  })),
  {
    name: 'procedure engine: memory per open alarm (10,000 open)',
    value: Math.round(procedures.bytesPerOpen),
    unit: 'bytes',
  },
  {
    name: 'procedure engine: timer sweep over 10,000 open alarms',
    value: round(procedures.sweepMs, 2),
    unit: 'ms',
  },
  {
    name: 'procedure partition takeover: replaying its inputs (baseline)',
    value: round(takeover.replayMs, 1),
    unit: 'ms',
  },
  {
    name: 'procedure partition takeover: restoring its snapshot instead',
    value: round(takeover.restoreMs, 1),
    unit: 'ms',
  },
  {
    name: 'procedure partition snapshot size',
    value: Math.round(takeover.snapshotBytes / 1024),
    unit: 'KiB',
  },
  {
    name: 'procedure partition snapshot: encoded on the event loop',
    value: round(takeover.encodeMs, 1),
    unit: 'ms',
  },
  {
    name: 'procedure snapshot written as jsonb (the way before; baseline)',
    value: round(snapshotStore.jsonbWriteMs, 1),
    unit: 'ms',
  },
  {
    name: 'procedure snapshot written gzip-compressed (bytea)',
    value: round(snapshotStore.gzipWriteMs, 1),
    unit: 'ms',
    baseline: round(snapshotStore.jsonbWriteMs, 1),
    ratio: round(snapshotStore.gzipWriteMs / snapshotStore.jsonbWriteMs, 3),
  },
  {
    name: 'procedure snapshot read as jsonb (the way before; baseline)',
    value: round(snapshotStore.jsonbReadMs, 1),
    unit: 'ms',
  },
  {
    name: 'procedure snapshot read gzip-compressed',
    value: round(snapshotStore.gzipReadMs, 1),
    unit: 'ms',
    baseline: round(snapshotStore.jsonbReadMs, 1),
    ratio: round(snapshotStore.gzipReadMs / snapshotStore.jsonbReadMs, 3),
  },
  {
    name: 'procedure snapshot compressed size',
    value: Math.round(snapshotStore.compressedBytes / 1024),
    unit: 'KiB',
  },
  {
    name: 'TCP round trip floor (DC-09 frame echo)',
    value: Math.round(paths.echoPerSecond),
    unit: 'frames/s',
  },
  {
    name: 'DC-09 receiver, encrypted NULL frames',
    value: Math.round(paths.nullPerSecond),
    unit: 'frames/s',
    baseline: Math.round(paths.echoPerSecond),
    ratio: round(paths.nullPerSecond / paths.echoPerSecond, 3),
  },
  {
    name: 'DC-09 receiver, SIA-DCS alarms stored',
    value: Math.round(paths.eventPerSecond),
    unit: 'frames/s',
    baseline: Math.round(paths.echoPerSecond),
    ratio: round(paths.eventPerSecond / paths.echoPerSecond, 3),
  },
  {
    name: 'failover: primary cut -> alarm stored via DC-09',
    value: Math.round(paths.failoverMs),
    unit: 'ms',
  },
  { name: 'failback: primary back -> MQTT reconnected', value: Math.round(paths.failbackMs), unit: 'ms' },
  { name: 'GPIO edge -> normalized signal (processing)', value: round(processing.gpioUs, 2), unit: 'us' },
  {
    name: 'IT-100 frame -> normalized signal (processing)',
    value: round(processing.serialUs, 2),
    unit: 'us',
  },
  { name: 'raw write+fdatasync per record', value: Math.round(outbox.rawSync), unit: 'records/s' },
  {
    name: 'outbox durable appends, one at a time',
    value: Math.round(outbox.sequential),
    unit: 'appends/s',
    baseline: Math.round(outbox.rawSync),
    ratio: round(outbox.sequential / outbox.rawSync, 2),
  },
  {
    name: 'outbox durable appends, bursts of 100 (group commit)',
    value: Math.round(outbox.burst),
    unit: 'appends/s',
    baseline: Math.round(outbox.rawSync),
    ratio: round(outbox.burst / outbox.rawSync, 2),
  },
  {
    name: 'gateway idle RSS, real command (--lite-mode), 100 simulated devices',
    value: round(idle.production.rss / 2 ** 20, 1),
    unit: 'MiB',
  },
  {
    name: 'gateway idle RSS, real command without --lite-mode (same run)',
    value: round(idle.fullJit.rss / 2 ** 20, 1),
    unit: 'MiB',
  },
  {
    name: 'gateway signals through the local API (--lite-mode)',
    value: round(idle.production.checkInsPerSecond, 0),
    unit: 'signals/s',
  },
  {
    name: 'gateway signals through the local API without --lite-mode (same run)',
    value: round(idle.fullJit.checkInsPerSecond, 0),
    unit: 'signals/s',
  },
  {
    name: `raw aedes QoS1 throughput, ${ingest.publishers} publishers (window 64)`,
    value: Math.round(ingest.raw),
    unit: 'messages/s',
  },
  {
    name: `durable ingest, ${ingest.publishers} gateways: events committed and acked`,
    value: Math.round(ingest.durable),
    unit: 'events/s',
    baseline: Math.round(ingest.raw),
    ratio: round(ingest.durable / ingest.raw, 3),
  },
  {
    name: `TLS fleet: ${underLoad.gateways} gateways connecting (64 handshakes at a time) -> all online and heard`,
    value: round(underLoad.onlineS, 1),
    unit: 's',
  },
  {
    name: `central RSS per gateway connected over TLS, embedded broker (${Math.round(underLoad.rssMiB[0])} -> ${Math.round(underLoad.rssMiB[1])} MiB)`,
    value: round(underLoad.rssPerGatewayKiB, 1),
    unit: 'KiB',
  },
  {
    name: `alarm publish -> operator feed, idle (${underLoad.gateways} gateways connected over TLS) p99`,
    value: round(underLoad.idleP99, 1),
    unit: 'ms',
    baseline: round(hopP99),
    ratio: round(underLoad.idleP99 / hopP99, 1),
  },
  {
    name: `alarm publish -> operator feed under ${underLoad.heartbeatsPerSecond} heartbeats/s over ${underLoad.gateways} TLS connections p99`,
    value: round(underLoad.loadedP99, 1),
    unit: 'ms',
    baseline: round(hopP99),
    ratio: round(underLoad.loadedP99 / hopP99, 1),
  },
  {
    name: `central restart (stop + start ${round(underLoad.restartS, 1)} s) -> all ${underLoad.gateways} gateways heard again (their own back-off)`,
    value: round(underLoad.heardAgainS, 1),
    unit: 's',
  },
  ...(scaling
    ? [
        {
          name: `cluster: durable ingest through RabbitMQ, ${scaling.publishers} gateways, 1 worker`,
          value: Math.round(scaling.one),
          unit: 'events/s',
        },
        {
          name: `cluster: the same with 2 worker processes (same machine: broker, PostgreSQL, workers share 2 cores)`,
          value: Math.round(scaling.two),
          unit: 'events/s',
          baseline: Math.round(scaling.one),
          ratio: round(scaling.two / scaling.one, 2),
        },
      ]
    : []),
  ...(clusterFleet
    ? [
        {
          name: `cluster fleet: ${clusterFleet.gateways} gateways over TLS to 3 RabbitMQ nodes -> all online and heard`,
          value: round(clusterFleet.onlineS, 1),
          unit: 's',
        },
        {
          name: `cluster fleet: the 3 brokers' RSS per connected gateway (${Math.round(clusterFleet.brokerMiB[0])} -> ${Math.round(clusterFleet.brokerMiB[1])} MiB)`,
          value: round(clusterFleet.brokerKiBPerConnection, 1),
          unit: 'KiB',
        },
        {
          name: `cluster fleet: alarm publish -> operator feed, idle p99`,
          value: round(clusterFleet.idleP99, 1),
          unit: 'ms',
          baseline: round(hopP99),
          ratio: round(clusterFleet.idleP99 / hopP99, 1),
        },
        {
          name: `cluster fleet: the same under ${clusterFleet.heartbeatsPerSecond} heartbeats/s p99`,
          value: round(clusterFleet.loadedP99, 1),
          unit: 'ms',
          baseline: round(hopP99),
          ratio: round(clusterFleet.loadedP99 / hopP99, 1),
        },
        {
          name: `cluster fleet: a broker node killed (-9) -> all ${clusterFleet.gateways} gateways heard again`,
          value: round(clusterFleet.heardAgainS, 1),
          unit: 's',
        },
      ]
    : []),
  ...(memory
    ? [
        {
          name: `central worker RSS per connected gateway, broker outside (RabbitMQ), ${memory.gateways} gateways (${round(memory.beforeMiB, 1)} -> ${round(memory.afterMiB, 1)} MiB)`,
          value: round(memory.perGatewayKiB, 2),
          unit: 'KiB',
        },
      ]
    : []),
  {
    name: `broker: a gateway's SUBSCRIBE with ${retained.retained} retained statuses, aedes' scan (baseline) p50`,
    value: round(retained.scanMs, 2),
    unit: 'ms',
  },
  {
    name: `broker: the same SUBSCRIBE with the exact-topic index p50`,
    value: round(retained.exactMs, 2),
    unit: 'ms',
    baseline: round(retained.scanMs, 2),
    ratio: round(retained.exactMs / Math.max(0.001, retained.scanMs), 3),
  },
  {
    name: `console: GET /api/alarms with ${consoleView.alarms} open`,
    value: Math.round(consoleView.apiMs),
    unit: 'ms',
  },
  {
    name: `console: login -> ${consoleView.alarms} alarms on screen`,
    value: Math.round(consoleView.renderMs),
    unit: 'ms',
    baseline: Math.round(consoleView.apiMs),
    ratio: round(consoleView.renderMs / Math.max(1, consoleView.apiMs), 1),
  },
  {
    name: `console: new alarm commit -> row on screen (${consoleView.alarms} open) p50`,
    value: Math.round(consoleView.shownP50),
    unit: 'ms',
  },
  {
    name: `console: one live update in the page, redraw + layout (${consoleView.alarms} open) p50`,
    value: round(consoleView.updateP50, 1),
    unit: 'ms',
  },
  { name: 'raw aedes QoS1 hop p50', value: round(hopP50), unit: 'ms' },
  { name: 'raw aedes QoS1 hop p99', value: round(hopP99), unit: 'ms' },
  {
    name: 'alarm e2e (detector -> stored -> operator feed) p50',
    value: round(e2eP50),
    unit: 'ms',
    baseline: round(hopP50),
    ratio: round(e2eP50 / hopP50, 2),
  },
  {
    name: 'alarm e2e (detector -> stored -> operator feed) p99',
    value: round(e2eP99),
    unit: 'ms',
    baseline: round(hopP99),
    ratio: round(e2eP99 / hopP99, 2),
  },
];
writeFileSync(new URL('./results.json', import.meta.url), `${JSON.stringify(rows, null, 2)}\n`);
process.stdout.write(`samples: ${hop.length} raw hops, ${e2e.length} alarms\n`);
for (const row of rows) {
  const ratio = row.ratio === undefined ? '' : `   ${row.ratio}x the baseline (${row.baseline} ${row.unit})`;
  process.stdout.write(`${row.name.padEnd(56)} ${String(row.value).padStart(8)} ${row.unit}${ratio}\n`);
}
process.stdout.write(
  `target: backlog drain linear, new alarm within 1 s -> ${perEvent(backlog.measured) <= 1.5 * perEvent(backlog.baseline) && backlog.measured.newAlarmMs < 1000 ? 'met' : 'NOT met'}\n`,
);
process.stdout.write(`target: e2e p99 <= 10x raw hop p99 -> ${e2eP99 <= 10 * hopP99 ? 'met' : 'NOT met'}\n`);
process.stdout.write(
  `target: gateway idle RSS <= 80 MiB (real command) -> ${idle.production.rss <= 80 * 2 ** 20 ? 'met' : 'NOT met'} (uplink ${idle.production.uplink ? 'connected' : 'not connected'})\n`,
);
process.stdout.write(
  `target: bus input -> signal < 1 ms -> ${Math.max(processing.gpioUs, processing.serialUs) < 1000 ? 'met' : 'NOT met'}\n`,
);
process.stdout.write(
  `target: failover within 2 s of the primary down -> ${paths.failoverMs <= 2000 ? 'met' : 'NOT met'}\n`,
);
