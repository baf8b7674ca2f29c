import { performance } from 'node:perf_hooks';
import { DEFAULT_LIMITS } from '../central/limits.ts';
import { startTestCentral } from '../test/helpers/central.ts';
import { alarmLatencies, settledRss, startFleet } from './fleet.ts';

/**
 * A fleet of gateways over TLS, as issue #15 measures it: `gateways` connections to one central
 * (embedded broker, MQTT over TLS), their clients in a process of their own. Measured: how long
 * until every one is online and heard; the alarm → operator feed p99 idle and under `perSecond`
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
    const rssBefore = settledRss();
    const fleet = await startFleet(env, { size: gateways, urls: [env.central.mqttUrl], ca: env.ca });
    const rssOnline = settledRss();
    const latencies = await alarmLatencies(env, fleet, {
      mqttUrl: env.central.mqttUrl,
      ca: env.ca,
      alarms,
      perSecond,
    });

    // Heard since the restart began: the first of them may come back while the central starts.
    const back = new Date();
    const stopped = performance.now();
    await env.restart();
    const restarted = performance.now();
    await fleet.online(back, 'every gateway heard again after the restart', 600_000);
    const heardAgain = performance.now();
    await fleet.end();
    return {
      gateways,
      provisionS: fleet.provisionS,
      onlineS: fleet.onlineS,
      /** The central's process (embedded broker, TLS, ingest), per connected gateway. */
      rssPerGatewayKiB: (rssOnline - rssBefore) / gateways / 1024,
      rssMiB: [rssBefore / 2 ** 20, rssOnline / 2 ** 20] as const,
      ...latencies,
      /** The central's stop and start. */
      restartS: (restarted - stopped) / 1000,
      /** From the restart command until every gateway was heard again. */
      heardAgainS: (heardAgain - stopped) / 1000,
    };
  } finally {
    await env.stop();
  }
}
