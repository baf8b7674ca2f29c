import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import mqtt, { type MqttClient } from 'mqtt';
import { rabbitmqInstalled } from '../central/broker/rabbitmq-node.ts';
import { centralEvent } from '../central/supervision/central-event.ts';
import { encode } from '../protocols/messages.ts';
import { topicFor } from '../protocols/topics.ts';
import { PROTOCOL_VERSION } from '../protocols/version.ts';
import { eventually } from '../test/helpers/central.ts';
import { startRabbitBench } from './rabbit-bench.ts';

function rssKiB(child: ChildProcess): number {
  const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
}

/** Each gateway as the central sees it: online status, a heartbeat, one log event. */
async function bringOnline(
  url: string,
  password: string,
  from: number,
  count: number,
): Promise<MqttClient[]> {
  const clients: MqttClient[] = [];
  for (let i = from; i < from + count; i++) {
    const siteId = `mem-${i}`;
    const gatewayId = `gw-mem-${i}`;
    const client = await mqtt.connectAsync(url, { username: 'bench-gateways', password, reconnectPeriod: 0 });
    client.publish(
      topicFor(siteId, gatewayId, 'status'),
      encode({ v: PROTOCOL_VERSION, type: 'status', state: 'online', at: new Date().toISOString() }),
      { qos: 1 },
    );
    client.publish(
      topicFor(siteId, gatewayId, 'heartbeat'),
      encode({
        v: PROTOCOL_VERSION,
        type: 'heartbeat',
        siteId,
        gatewayId,
        path: 'primary',
        seq: 0,
        sentAt: new Date().toISOString(),
        outboxDepth: 0,
        firmware: 'bench',
      }),
      { qos: 1 },
    );
    client.publish(
      topicFor(siteId, gatewayId, 'event'),
      encode({
        ...centralEvent('zone-bypass', 'event', { siteId, gatewayId }, Date.now(), null, 'bench'),
        seq: 1,
      }),
      { qos: 1 },
    );
    clients.push(client);
  }
  return clients;
}

/**
 * The central's memory per connected gateway with the broker outside (a RabbitMQ node holds the
 * connections): RSS of a `vigil central` worker process before and after `gateways` gateways came
 * online (status, heartbeat, one event each), divided by their number.
 */
export async function measureCentralMemory(gateways: number) {
  if (!rabbitmqInstalled()) return null;
  const bench = await startRabbitBench(gateways + 20);
  const clients: MqttClient[] = [];
  try {
    const worker = await bench.startWorker();
    const stored = async () =>
      (
        await bench.pool.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM events WHERE site_id LIKE 'mem-%'`,
        )
      ).rows[0]!.n;
    // Warm: the worker's code paths run once before the baseline.
    clients.push(...(await bringOnline(bench.node.mqttUrl, bench.gatewaysPassword, gateways, 20)));
    await eventually(async () => (await stored()) === 20 || undefined, 'the warm-up events', 60_000);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const before = rssKiB(worker);
    clients.push(...(await bringOnline(bench.node.mqttUrl, bench.gatewaysPassword, 0, gateways)));
    await eventually(
      async () => (await stored()) === gateways + 20 || undefined,
      'every gateway\u2019s event',
      300_000,
    );
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const after = rssKiB(worker);
    return {
      gateways,
      beforeMiB: before / 1024,
      afterMiB: after / 1024,
      perGatewayKiB: (after - before) / gateways,
    };
  } finally {
    for (const client of clients) client.end(true);
    await bench.stop();
  }
}
