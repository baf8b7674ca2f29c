import test from 'ava';
import mqtt from 'mqtt';
import { encode } from '../protocols/messages.ts';
import { gatewayClientId, topicFor } from '../protocols/topics.ts';
import { eventually, startTestCentral, startTestGateway, tempDir } from './helpers/central.ts';
import { sampleEvent } from './helpers/events.ts';
import { startMosquitto } from './helpers/mosquitto.ts';

test('external broker: a real mosquitto, gateways provisioned by the central, ACLs enforced by mosquitto', async (t) => {
  const mosquitto = await startMosquitto(tempDir('mosquitto'));
  t.teardown(() => mosquitto.stop());
  const externalBroker = {
    url: mosquitto.url,
    centralUsername: 'vigil-central',
    centralPassword: 'central-password-for-tests',
    adminUsername: mosquitto.admin.username,
    adminPassword: mosquitto.admin.password,
  };
  // Every start provisions again what an earlier start left on the broker (it failed from the second on).
  await (await startTestCentral({ externalBroker })).stop();
  const env = await startTestCentral({ externalBroker });
  t.teardown(() => env.stop());
  t.is(env.central.mqttUrl, mosquitto.url);

  const gw = await startTestGateway(env, 'site-m', 'gw-m', [{ id: 'panic', name: 'Panic', type: 'panic' }]);
  t.teardown(() => gw.stop());
  gw.gateway.simulatedBus.inject('panic', 'alarm');
  await gw.gateway.settled();
  await eventually(() => gw.gateway.outbox.depth === 0, 'the alarm through mosquitto, stored and acked');
  await eventually(() => env.metrics.get('ingest_events_stored_total') === 1, 'the central to count it');

  // Another gateway, provisioned too, tries to speak for gw-m and to read its acks.
  const secret = await env.addGateway('site-x', 'gw-x');
  t.true(
    (await mqtt.connectAsync(mosquitto.url, { username: 'gw-x', password: 'wrong', reconnectPeriod: 0 }).then(
      (c) => c.endAsync().then(() => true),
      () => false,
    )) === false,
    'a wrong secret is refused by mosquitto',
  );
  const intruder = await mqtt.connectAsync(mosquitto.url, {
    username: 'gw-x',
    password: secret,
    clientId: gatewayClientId('gw-x'),
    reconnectPeriod: 0,
  });
  t.teardown(() => intruder.endAsync(true));
  // With its own valid secret but gw-m's client id it would take gw-m off the air (session takeover)
  // and, with a persistent session, receive what is queued for gw-m: mosquitto refuses the CONNECT.
  const hijack = await mqtt
    .connectAsync(mosquitto.url, {
      username: 'gw-x',
      password: secret,
      clientId: gatewayClientId('gw-m'),
      clean: false,
      reconnectPeriod: 0,
    })
    .then(
      (c) => c.endAsync().then(() => 'connected'),
      (error: Error) => error.message,
    );
  t.regex(hijack, /not authori[sz]ed|bad user/i);
  t.true(gw.gateway.uplinkConnected, 'gw-m stays connected');
  const refused = await intruder.subscribeAsync(topicFor('site-m', 'gw-m', 'ack'), { qos: 1 }).then(
    (granted) => granted[0]?.qos,
    (error: { packet?: { granted?: number[] } }) => error.packet?.granted?.[0],
  );
  t.is(refused, 128, 'subscribing to another gateway is refused');
  await intruder.publishAsync(
    topicFor('site-m', 'gw-m', 'event'),
    encode(sampleEvent({ siteId: 'site-m', gatewayId: 'gw-m' })),
    { qos: 1 },
  );
  await intruder.publishAsync(
    topicFor('site-x', 'gw-x', 'event'),
    encode(sampleEvent({ siteId: 'site-x', gatewayId: 'gw-x' })),
    { qos: 1 },
  );
  await eventually(() => env.metrics.get('ingest_events_stored_total') === 2, 'its own event');
  await new Promise((resolve) => setTimeout(resolve, 300));
  t.is(
    env.metrics.get('ingest_events_stored_total'),
    2,
    'the event published as gw-m never reached the central',
  );
});
