import { writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { loginCookie, startTestCentral, startTestGateway } from '../test/helpers/central.ts';
import { SseClient } from '../test/helpers/sse.ts';
import { measureRawHop } from './raw-hop.ts';
import { type BenchRow, percentile, round } from './stats.ts';

/**
 * `npm run bench`: end-to-end alarm latency (simulated detector -> outbox -> MQTT -> PostgreSQL
 * commit -> NOTIFY -> operator SSE feed) against the raw aedes QoS-1 hop measured in the same run.
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
    await feed.next((m) => m.event === 'alarm' && feed.messages.indexOf(m) >= seen);
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

const hop = await measureRawHop(HOPS);
const e2e = await measureEndToEnd(ALARMS);
const hopP50 = percentile(hop, 50);
const hopP99 = percentile(hop, 99);
const e2eP50 = percentile(e2e, 50);
const e2eP99 = percentile(e2e, 99);
const rows: BenchRow[] = [
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
  const ratio = row.ratio === undefined ? '' : `   ${row.ratio}x the raw hop (${row.baseline} ms)`;
  process.stdout.write(`${row.name.padEnd(56)} ${String(row.value).padStart(8)} ${row.unit}${ratio}\n`);
}
process.stdout.write(`target: e2e p99 <= 10x raw hop p99 -> ${e2eP99 <= 10 * hopP99 ? 'met' : 'NOT met'}\n`);
