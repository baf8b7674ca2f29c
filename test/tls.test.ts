import test from 'ava';
import mqtt from 'mqtt';
import { parseGatewayConfig } from '../gateway/config.ts';
import { runGateway } from '../gateway/main.ts';
import { silentLogger } from '../lib/logger.ts';
import { Metrics } from '../lib/metrics.ts';
import { eventually, startTestCentral, tempDir } from './helpers/central.ts';

test('the MQTT primary over TLS: a gateway trusting the central CA delivers; without it, or in plain TCP, nothing connects', async (t) => {
  const env = await startTestCentral({ tls: true });
  t.teardown(() => env.stop());
  t.regex(env.central.mqttUrl, /^mqtts:\/\/localhost:\d+$/);
  const secret = await env.addGateway('site-tls', 'gw-tls');
  const config = (caCert?: string) =>
    parseGatewayConfig({
      siteId: 'site-tls',
      gatewayId: 'gw-tls',
      central: { mqttUrl: env.central.mqttUrl, secret, ...(caCert ? { caCert } : {}) },
      http: { host: '127.0.0.1', port: 0 },
      areas: [{ id: 1, name: 'Home' }],
      devices: [{ id: 'panic', name: 'Panic button', bus: 'simulated', type: 'panic', zone: 1, area: 1 }],
    });

  const untrusting = await runGateway({
    config: config(),
    dataDir: tempDir('gw-tls-x'),
    logger: silentLogger,
    metrics: new Metrics(),
  });
  await eventually(
    () => env.metrics.get('broker_refused_total', { what: 'tls' }) >= 1,
    'the refused handshake',
  );
  t.false(untrusting.gateway.uplinkConnected, 'a gateway that does not trust the CA does not connect');
  await untrusting.stop();

  const port = new URL(env.central.mqttUrl).port;
  const plain = mqtt.connect(`mqtt://127.0.0.1:${port}`, {
    username: 'gw-tls',
    password: secret,
    reconnectPeriod: 0,
  });
  await new Promise<void>((resolve) => plain.once('close', () => resolve()));
  t.false(plain.connected, 'plain MQTT on the TLS port does not connect');
  plain.end(true);

  const running = await runGateway({
    config: config(env.central.mqttCa!),
    dataDir: tempDir('gw-tls'),
    logger: silentLogger,
    metrics: new Metrics(),
  });
  t.teardown(() => running.stop());
  await eventually(() => running.gateway.uplinkConnected, 'the TLS connection');
  running.gateway.simulatedBus.inject('panic', 'alarm');
  await eventually(
    () => running.gateway.outbox.depth === 0 && env.metrics.get('ingest_events_stored_total') === 1,
    'the alarm stored and acked',
  );
  t.pass();
});
