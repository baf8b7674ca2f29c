import net from 'node:net';
import { Aedes } from 'aedes';
import test from 'ava';
import mqtt from 'mqtt';
import { hashCode } from '../gateway/auth/user-codes.ts';
import { parseGatewayConfig } from '../gateway/config.ts';
import { runGateway } from '../gateway/main.ts';
import { silentLogger } from '../lib/logger.ts';
import { Metrics } from '../lib/metrics.ts';
import { eventually, tempDir } from './helpers/central.ts';

test('Home Assistant discovers the panel and its sensors, and arms with a code', async (t) => {
  const broker = await Aedes.createBroker();
  const server = net.createServer(broker.handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `mqtt://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  t.teardown(() => new Promise<void>((resolve) => broker.close(() => server.close(() => resolve()))));

  const ha = await mqtt.connectAsync(url, { clientId: 'home-assistant' });
  t.teardown(() => ha.endAsync());
  const retained = new Map<string, string>();
  ha.on('message', (topic, payload) => retained.set(topic, payload.toString()));
  await ha.subscribeAsync(['homeassistant/#', 'vigil-local/#']);

  const metrics = new Metrics();
  const running = await runGateway({
    config: parseGatewayConfig({
      siteId: 'home',
      gatewayId: 'gw-ha',
      central: { mqttUrl: 'mqtt://127.0.0.1:9', secret: 'x'.repeat(32) },
      http: { host: '127.0.0.1', port: 0 },
      areas: [{ id: 1, name: 'House', exitDelaySeconds: 0 }],
      devices: [
        { id: 'front-door', name: 'Front door', bus: 'simulated', type: 'contact', zone: 1, area: 1 },
      ],
      users: [{ id: 'ann', name: 'Ann', role: 'master', codeHash: await hashCode('4321'), areas: [1] }],
      homeAssistant: { mqttUrl: url },
    }),
    dataDir: tempDir('gw-ha'),
    logger: silentLogger,
    metrics,
    httpPort: 0,
  });
  t.teardown(() => running.stop());

  const panelConfig = await eventually(
    () => retained.get('homeassistant/alarm_control_panel/vigil_home_gw_ha_area1/config'),
    'the alarm panel discovery',
  );
  t.like(JSON.parse(panelConfig), {
    name: 'House',
    code: 'REMOTE_CODE',
    code_arm_required: true,
    command_topic: 'vigil-local/home/gw-ha/area/1/set',
    state_topic: 'vigil-local/home/gw-ha/area/1/state',
  });
  const sensor = JSON.parse(
    retained.get('homeassistant/binary_sensor/vigil_home_gw_ha_front_door/config') ?? '{}',
  );
  t.is(sensor.device_class, 'door');
  await eventually(() => retained.get('vigil-local/home/gw-ha/availability') === 'online', 'availability');
  await eventually(
    () => retained.get('vigil-local/home/gw-ha/area/1/state') === 'disarmed',
    'the disarmed state',
  );

  await ha.publishAsync(
    'vigil-local/home/gw-ha/area/1/set',
    JSON.stringify({ action: 'ARM_AWAY', code: '0000' }),
  );
  await eventually(
    () => metrics.get('home_assistant_refused_total', { reason: '401' }) === 1,
    'the wrong code refused',
  );
  await ha.publishAsync('vigil-local/home/gw-ha/area/1/set', 'garbage');
  await eventually(
    () => metrics.get('home_assistant_refused_total', { reason: 'malformed' }) === 1,
    'garbage refused',
  );

  await ha.publishAsync(
    'vigil-local/home/gw-ha/area/1/set',
    JSON.stringify({ action: 'ARM_AWAY', code: '4321' }),
  );
  await eventually(() => retained.get('vigil-local/home/gw-ha/area/1/state') === 'armed_away', 'armed away');
  running.gateway.simulatedBus.inject('front-door', 'alarm');
  await eventually(() => retained.get('vigil-local/home/gw-ha/area/1/state') === 'triggered', 'triggered');
  t.is(retained.get('vigil-local/home/gw-ha/device/front-door/state'), 'ON');
});
