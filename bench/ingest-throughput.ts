import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { Aedes } from 'aedes';
import mqtt, { type MqttClient } from 'mqtt';
import { DEFAULT_LIMITS } from '../central/limits.ts';
import { centralEvent } from '../central/supervision/central-event.ts';
import { encode } from '../protocols/messages.ts';
import { topicFor } from '../protocols/topics.ts';
import { connectAsGateway, startTestCentral } from '../test/helpers/central.ts';

const WINDOW = 64;

/** Publish `count` messages from one client, at most WINDOW unacknowledged (as a gateway's uplink). */
async function pump(
  client: MqttClient,
  count: number,
  message: (i: number) => { topic: string; payload: Buffer },
) {
  let inFlight = 0;
  let sent = 0;
  await new Promise<void>((resolve, reject) => {
    const more = () => {
      while (inFlight < WINDOW && sent < count) {
        const { topic, payload } = message(sent++);
        inFlight++;
        client.publish(topic, payload, { qos: 1 }, (error) => {
          if (error) return reject(error);
          inFlight--;
          if (sent === count && inFlight === 0) resolve();
          else more();
        });
      }
    };
    more();
  });
}

/** Events before each measured pass, so that both sides are measured warm (code optimised, caches full). */
const WARM_UP = 100;

/** The floor: QoS-1 publishes through a bare aedes from `publishers` clients, to one subscriber. */
async function rawThroughput(publishers: number, perPublisher: number): Promise<number> {
  const broker = await Aedes.createBroker();
  const server = net.createServer(broker.handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `mqtt://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  const subscriber = await mqtt.connectAsync(url);
  await subscriber.subscribeAsync('raw/+/event', { qos: 1 });
  let received = 0;
  let expected = 0;
  let reached = Promise.withResolvers<void>();
  subscriber.on('message', () => ++received === expected && reached.resolve());
  const clients = await Promise.all(Array.from({ length: publishers }, () => mqtt.connectAsync(url)));
  // About the size of a gateway's encoded event (445 bytes for a bypass).
  const payload = Buffer.alloc(450, 'x');
  const pass = async (count: number) => {
    expected += publishers * count;
    reached = Promise.withResolvers<void>();
    await Promise.all(clients.map((c, p) => pump(c, count, () => ({ topic: `raw/${p}/event`, payload }))));
    await reached.promise;
  };
  await pass(WARM_UP);
  const started = performance.now();
  await pass(perPublisher);
  const perSecond = (publishers * perPublisher) / ((performance.now() - started) / 1000);
  for (const c of [...clients, subscriber]) await c.endAsync();
  await new Promise((resolve) => server.close(resolve));
  await new Promise((resolve) => broker.close(resolve as () => void));
  return perSecond;
}

/**
 * Log events (a zone bypassed: stored and acked like every event, without opening an incident)
 * from each gateway, `perGateway` of them numbered from `firstSeq`, at most WINDOW in flight each;
 * resolves with the events acked per second. The events are encoded before the clock starts: a
 * gateway's work, not the central's, done here on the same CPU (the raw floor's payload is one
 * buffer too).
 */
export async function logEventsAcked(
  gateways: readonly { client: MqttClient; siteId: string; gatewayId: string }[],
  perGateway: number,
  firstSeq: number,
): Promise<number> {
  const total = gateways.length * perGateway;
  let acked = 0;
  const all = Promise.withResolvers<void>();
  const onAck = (_topic: string, payload: Buffer) => {
    acked += (JSON.parse(payload.toString()) as { eventIds: string[] }).eventIds.length;
    if (acked >= total) all.resolve();
  };
  for (const g of gateways) g.client.on('message', onAck);
  const at = Date.now();
  const messages = gateways.map((g) => {
    const topic = topicFor(g.siteId, g.gatewayId, 'event');
    return Array.from({ length: perGateway }, (_, i) => ({
      topic,
      payload: encode({
        ...centralEvent('zone-bypass', 'event', g, at + i, null, `bypass ${i}`),
        seq: firstSeq + i,
      }),
    }));
  });
  const started = performance.now();
  await Promise.all(gateways.map((g, n) => pump(g.client, perGateway, (i) => messages[n]![i]!)));
  await all.promise;
  const perSecond = total / ((performance.now() - started) / 1000);
  for (const g of gateways) g.client.removeListener('message', onAck);
  return perSecond;
}

/** Events committed to PostgreSQL and acknowledged, from `publishers` gateways through the central. */
async function durableThroughput(publishers: number, perPublisher: number): Promise<number> {
  const env = await startTestCentral({
    limits: { ...DEFAULT_LIMITS, mqtt: { ...DEFAULT_LIMITS.mqtt, maxPerSource: publishers + 10 } },
  });
  const gateways: { client: MqttClient; siteId: string; gatewayId: string }[] = [];
  for (let p = 0; p < publishers; p++) {
    const siteId = `tp-${p}`;
    const gatewayId = `gw-tp-${p}`;
    const client = await connectAsGateway(env, siteId, gatewayId);
    // As a gateway takes its acks (gateway/transport/mqtt-uplink.ts): QoS 0.
    await client.subscribeAsync(topicFor(siteId, gatewayId, 'ack'), { qos: 0 });
    gateways.push({ client, siteId, gatewayId });
  }
  await logEventsAcked(gateways, WARM_UP, 1);
  const perSecond = await logEventsAcked(gateways, perPublisher, WARM_UP + 1);
  for (const g of gateways) await g.client.endAsync();
  await env.stop();
  return perSecond;
}

/**
 * Durable ingest (stored and acked) against raw aedes QoS 1, in the same run: each the better of two
 * alternating rounds, each round measured after a warm-up pass on the same broker or central.
 */
export async function measureIngestThroughput(publishers: number, perPublisher: number) {
  let raw = 0;
  let durable = 0;
  for (let round = 0; round < 2; round++) {
    raw = Math.max(raw, await rawThroughput(publishers, perPublisher));
    durable = Math.max(durable, await durableThroughput(publishers, perPublisher));
  }
  return { publishers, perPublisher, raw, durable };
}
