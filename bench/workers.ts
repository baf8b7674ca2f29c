import { performance } from 'node:perf_hooks';
import mqtt from 'mqtt';
import { rabbitmqInstalled } from '../central/broker/rabbitmq-node.ts';
import { centralEvent } from '../central/supervision/central-event.ts';
import { encode } from '../protocols/messages.ts';
import { topicFor } from '../protocols/topics.ts';
import { startRabbitBench } from './central-memory.ts';
import { pump } from './ingest-throughput.ts';

type Bench = Awaited<ReturnType<typeof startRabbitBench>>;

/** Log events from `publishers` gateways through RabbitMQ, stored and acked by the workers running. */
async function throughput(bench: Bench, publishers: number, perPublisher: number, round: number) {
  const gateways = await Promise.all(
    Array.from({ length: publishers }, async (_, p) => {
      const siteId = `mem-${p}`;
      const gatewayId = `gw-mem-${p}`;
      const client = await mqtt.connectAsync(bench.node.mqttUrl, {
        username: 'bench-gateways',
        password: bench.gatewaysPassword,
        clientId: `bench-${round}-${p}`,
        reconnectPeriod: 0,
      });
      await client.subscribeAsync(topicFor(siteId, gatewayId, 'ack'), { qos: 1 });
      return { client, siteId, gatewayId };
    }),
  );
  const total = publishers * perPublisher;
  let acked = 0;
  const all = new Promise<void>((resolve) => {
    for (const g of gateways)
      g.client.on('message', (_topic, payload) => {
        acked += (JSON.parse(payload.toString()) as { eventIds: string[] }).eventIds.length;
        if (acked >= total) resolve();
      });
  });
  const at = Date.now();
  const started = performance.now();
  await Promise.all(
    gateways.map((g) =>
      pump(g.client, perPublisher, (i) => ({
        topic: topicFor(g.siteId, g.gatewayId, 'event'),
        payload: encode({
          ...centralEvent('zone-bypass', 'event', g, at + i, null, `bypass ${i}`),
          seq: round * perPublisher + i + 1,
        }),
      })),
    ),
  );
  await all;
  const perSecond = total / ((performance.now() - started) / 1000);
  for (const g of gateways) await g.client.endAsync();
  return perSecond;
}

/**
 * Durable ingest through a RabbitMQ node with one central worker, then two (each its own
 * process), same publishers: the cluster's scaling on this machine (its cores are shared by the
 * broker, PostgreSQL, the workers and the publishers).
 */
export async function measureWorkerScaling(publishers: number, perPublisher: number) {
  if (!rabbitmqInstalled()) return null;
  const bench = await startRabbitBench(publishers);
  try {
    await bench.startWorker();
    await throughput(bench, publishers, Math.ceil(perPublisher / 4), 0);
    const one = await throughput(bench, publishers, perPublisher, 1);
    await bench.startWorker();
    const two = await throughput(bench, publishers, perPublisher, 2);
    return { publishers, perPublisher, one, two };
  } finally {
    await bench.stop();
  }
}
