import { performance } from 'node:perf_hooks';
import type { MqttClient } from 'mqtt';
import { DEFAULT_LIMITS } from '../central/limits.ts';
import { centralEvent } from '../central/supervision/central-event.ts';
import { encode } from '../protocols/messages.ts';
import { topicFor } from '../protocols/topics.ts';
import { PROTOCOL_VERSION } from '../protocols/version.ts';
import { connectAsGateway, loginCookie, startTestCentral } from '../test/helpers/central.ts';
import { SseClient } from '../test/helpers/sse.ts';
import { percentile } from './stats.ts';

/**
 * Alarms first: the latency of an alarm from the gateway's publish to the operator feed, with the
 * central idle and then while `gateways` connected gateways send heartbeats at `perSecond` in all
 * (100,000 gateways at one a 90 s are ~1,100/s), in the same run.
 */
export async function measureAlarmsUnderHeartbeats(gateways: number, perSecond: number, alarms: number) {
  const env = await startTestCentral({
    limits: { ...DEFAULT_LIMITS, mqtt: { ...DEFAULT_LIMITS.mqtt, maxPerSource: gateways + 100 } },
  });
  const connect = (siteId: string, gatewayId: string) => connectAsGateway(env, siteId, gatewayId);
  const fleet: { client: MqttClient; siteId: string; gatewayId: string; seq: number }[] = [];
  for (let i = 0; i < gateways; i++) {
    const siteId = `load-${i}`;
    const gatewayId = `gw-load-${i}`;
    fleet.push({ client: await connect(siteId, gatewayId), siteId, gatewayId, seq: 0 });
  }
  const probe = await connect('probe', 'gw-probe');
  const feed = await SseClient.open(
    `${env.central.httpUrl}/api/alarms/stream`,
    await loginCookie(env.central.httpUrl),
  );
  await feed.next((m) => m.event === 'snapshot');

  let seq = 0;
  const alarmTimes = async () => {
    const samples: number[] = [];
    for (let i = 0; i < alarms; i++) {
      // Each on its own detector at the probe site: a new incident, or one more event in it.
      const event = {
        ...centralEvent(
          'burglary',
          'event',
          { siteId: 'probe', gatewayId: 'gw-probe' },
          Date.now(),
          null,
          `probe ${i}`,
          {
            id: `pir-${i}`,
            name: `Probe ${i}`,
          },
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
  // The load: heartbeats spread evenly, in ticks of 10 ms.
  let sent = 0;
  let next = 0;
  const loadStarted = performance.now();
  const load = setInterval(() => {
    const due = Math.floor(((performance.now() - loadStarted) / 1000) * perSecond) - sent;
    for (let k = 0; k < due; k++) {
      const g = fleet[next++ % fleet.length]!;
      g.client.publish(
        topicFor(g.siteId, g.gatewayId, 'heartbeat'),
        encode({
          v: PROTOCOL_VERSION,
          type: 'heartbeat',
          siteId: g.siteId,
          gatewayId: g.gatewayId,
          path: 'primary',
          seq: ++g.seq,
          sentAt: new Date().toISOString(),
          outboxDepth: 0,
          firmware: 'bench',
        }),
        { qos: 1 },
      );
      sent++;
    }
  }, 10);
  // Let the load settle in (a second of heartbeats) before measuring under it.
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const loaded = await alarmTimes();
  const seconds = (performance.now() - loadStarted) / 1000;
  clearInterval(load);
  await feed.close();
  await probe.endAsync();
  for (const g of fleet) await g.client.endAsync();
  await env.stop();
  return {
    gateways,
    heartbeatsPerSecond: Math.round(sent / seconds),
    idleP99: percentile(idle, 99),
    loadedP50: percentile(loaded, 50),
    loadedP99: percentile(loaded, 99),
  };
}
