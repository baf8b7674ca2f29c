import mqtt from 'mqtt';
import { rabbitmqInstalled } from '../central/broker/rabbitmq-node.ts';
import { topicFor } from '../protocols/topics.ts';
import { logEventsAcked } from './ingest-throughput.ts';
import { startRabbitBench } from './rabbit-bench.ts';

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
      // As a gateway takes its acks (gateway/transport/mqtt-uplink.ts): QoS 0.
      await client.subscribeAsync(topicFor(siteId, gatewayId, 'ack'), { qos: 0 });
      return { client, siteId, gatewayId };
    }),
  );
  const perSecond = await logEventsAcked(gateways, perPublisher, round * perPublisher + 1);
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
