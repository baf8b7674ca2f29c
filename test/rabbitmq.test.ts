import { randomBytes } from 'node:crypto';
import amqp from 'amqplib';
import test from 'ava';
import mqtt, { type MqttClient } from 'mqtt';
import { UPLINK_QUEUE } from '../central/broker/amqp-uplink.ts';
import { newCookie, type RabbitNode, startRabbitNode } from '../central/broker/rabbitmq-node.ts';
import type { ExternalBroker } from '../central/central.ts';
import { upsertSite } from '../central/records.ts';
import { encode } from '../protocols/messages.ts';
import { gatewayClientId, topicFor } from '../protocols/topics.ts';
import {
  eventually,
  startTestCentral,
  startTestGateway,
  type TestCentral,
  tempDir,
} from './helpers/central.ts';
import { startCentralWorker } from './helpers/central-worker.ts';
import { sampleEvent } from './helpers/events.ts';
import { vigil } from './helpers/vigil-cli.ts';

const admin = { username: 'vigil-admin', password: randomBytes(12).toString('hex') };
let node: RabbitNode;
let env: TestCentral;
let externalBroker: ExternalBroker;

test.before(async (t) => {
  // An Erlang VM starting on a busy machine can take longer than ava's idle timeout.
  t.timeout(180_000);
  node = await startRabbitNode({
    dir: tempDir('rabbitmq'),
    name: `vigil-test-${randomBytes(3).toString('hex')}`,
    cookie: newCookie(),
    admin,
  });
  externalBroker = {
    kind: 'rabbitmq',
    url: node.mqttUrl,
    amqpUrls: [node.amqpAddress],
    apiUrl: node.apiUrl,
    centralUsername: 'vigil-central',
    centralPassword: 'central-password-for-tests',
    adminUsername: admin.username,
    adminPassword: admin.password,
  };
  env = await startTestCentral({ externalBroker });
});
test.after.always(async () => {
  await env?.stop();
  await node?.stop();
});

/** Resolves true when the broker ends the connection (RabbitMQ closes on a refused operation). */
function closedSoon(client: MqttClient): Promise<boolean> {
  return new Promise((resolve) => {
    if (!client.connected) resolve(true);
    client.once('close', () => resolve(true));
    setTimeout(() => resolve(false), 5000);
  });
}

test.serial(
  'RabbitMQ: a gateway over its MQTT plugin, the uplink consumed from a quorum queue, the ack back; foreign topics refused',
  async (t) => {
    const gw = await startTestGateway(env, 'site-r', 'gw-r', [{ id: 'panic', name: 'Panic', type: 'panic' }]);
    t.teardown(() => gw.stop());
    gw.gateway.simulatedBus.inject('panic', 'alarm');
    await gw.gateway.settled();
    await eventually(() => gw.gateway.outbox.depth === 0, 'the alarm through RabbitMQ, stored and acked');
    const stored = await env.central.pool.query(
      `SELECT count(*)::int AS n FROM events WHERE gateway_id = 'gw-r' AND event_type = 'panic'`,
    );
    t.is(stored.rows[0].n, 1);
    const queue = await node.managementGet<{ type: string }>(`/queues/%2F/${UPLINK_QUEUE}`);
    t.is(queue.type, 'quorum', 'the uplink is a replicated queue');

    const secret = await env.addGateway('site-x', 'gw-x');
    const refused = await mqtt
      .connectAsync(node.mqttUrl, { username: 'gw-x', password: 'wrong', reconnectPeriod: 0 })
      .then(
        (c) => c.endAsync().then(() => 'connected'),
        (error: Error) => error.message,
      );
    t.regex(refused, /not authori[sz]ed|bad user/i, 'a wrong secret is refused');
    const asX = () =>
      mqtt.connectAsync(node.mqttUrl, {
        username: 'gw-x',
        password: secret,
        clientId: gatewayClientId('gw-x'),
        reconnectPeriod: 0,
      });
    const reader = await asX();
    const readerClosed = closedSoon(reader);
    reader.subscribe(topicFor('site-r', 'gw-r', 'ack'), { qos: 1 });
    t.true(await readerClosed, 'subscribing to another gateway\u2019s acks ends the connection');
    const forger = await asX();
    const forgerClosed = closedSoon(forger);
    forger.publish(
      topicFor('site-r', 'gw-r', 'event'),
      encode(sampleEvent({ siteId: 'site-r', gatewayId: 'gw-r' })),
      { qos: 1 },
    );
    t.true(await forgerClosed, 'publishing as another gateway ends the connection');
    const own = await asX();
    t.teardown(() => own.endAsync(true));
    await own.publishAsync(
      topicFor('site-x', 'gw-x', 'event'),
      encode(sampleEvent({ siteId: 'site-x', gatewayId: 'gw-x' })),
      { qos: 1 },
    );
    await eventually(async () => {
      const { rows } = await env.central.pool.query(
        `SELECT gateway_id, count(*)::int AS n FROM events WHERE site_id IN ('site-r', 'site-x') GROUP BY 1 ORDER BY 1`,
      );
      return rows.length === 2 && rows[1].n === 1 ? rows : undefined;
    }, 'its own event stored, the forged one not');
  },
);

test.serial(
  'an ack the broker refuses is counted and the stored event is done with: never handed back by the queue again and again',
  async (t) => {
    t.timeout(120_000);
    // A queue that takes nothing (max length 0, reject-publish) bound to the gateway's ack routing
    // key has RabbitMQ nack every ack to that gateway, as a session queue that lost its way in a
    // cluster did (docs/cluster.md); the gateway's own subscription still gets it.
    const connection = await amqp.connect(node.amqpUrl(admin.username, admin.password));
    t.teardown(() => connection.close().catch(() => undefined));
    const channel = await connection.createChannel();
    await channel.assertQueue('vigil-test-ack-blocker', {
      arguments: { 'x-max-length': 0, 'x-overflow': 'reject-publish' },
    });
    await channel.bindQueue('vigil-test-ack-blocker', 'amq.topic', 'vigil.v1.site-n.gw-n.ack');
    const gw = await startTestGateway(env, 'site-n', 'gw-n', [{ id: 'panic', name: 'Panic', type: 'panic' }]);
    t.teardown(() => gw.stop());
    const failuresBefore = env.metrics.total('ingest_ack_publish_failures_total');
    const redeliveredBefore = env.metrics.total('amqp_uplink_redelivered_total');
    gw.gateway.simulatedBus.inject('panic', 'alarm');
    await gw.gateway.settled();
    await eventually(
      () =>
        (gw.gateway.outbox.depth === 0 &&
          env.metrics.total('ingest_ack_publish_failures_total') > failuresBefore) ||
        undefined,
      'the ack refused (nacked) by the broker, and delivered to the gateway all the same',
    );
    // Had the refused ack failed the message, the queue would hold it for ever: handed back to the
    // worker, stored as a duplicate, its ack refused again, and so on.
    await eventually(
      async () => {
        const queue = await node.managementGet<{ messages?: number }>(`/queues/%2F/${UPLINK_QUEUE}`);
        return queue.messages === 0 || undefined;
      },
      'the uplink queue empty (its statistics are refreshed every 5 s)',
      60_000,
    );
    t.is(env.metrics.total('amqp_uplink_redelivered_total'), redeliveredBefore, 'nothing handed back');
    const stored = await env.central.pool.query(
      `SELECT count(*)::int AS n FROM events WHERE gateway_id = 'gw-n' AND event_type = 'panic'`,
    );
    t.is(stored.rows[0].n, 1, 'stored once');
  },
);

test.serial(
  'two workers share the uplink queue; one killed (-9) mid-burst: every alarm stored once, none lost',
  async (t) => {
    t.timeout(180_000);
    const url = (env.central.pool as unknown as { options: { connectionString: string } }).options
      .connectionString;
    const { process: worker } = await startCentralWorker({
      databaseUrl: url,
      rabbitmq: {
        mqttUrl: externalBroker.url,
        amqpUrls: externalBroker.amqpUrls ?? [],
        central: { username: externalBroker.centralUsername, password: externalBroker.centralPassword },
      },
    });
    t.teardown(() => worker.kill('SIGKILL'));

    const GATEWAYS = 40;
    const ALARMS = 25;
    const gateways: Array<{ client: MqttClient; siteId: string; gatewayId: string; acked: Set<string> }> = [];
    for (let g = 0; g < GATEWAYS; g++) {
      const siteId = `site-k${g}`;
      const gatewayId = `gw-k${g}`;
      const secret = await env.addGateway(siteId, gatewayId);
      const client = await mqtt.connectAsync(node.mqttUrl, {
        username: gatewayId,
        password: secret,
        clientId: gatewayClientId(gatewayId),
        clean: false,
        reconnectPeriod: 0,
      });
      t.teardown(() => client.endAsync(true));
      const acked = new Set<string>();
      client.on('message', (_topic, payload) => {
        for (const id of (JSON.parse(payload.toString()) as { eventIds: string[] }).eventIds) acked.add(id);
      });
      await client.subscribeAsync(topicFor(siteId, gatewayId, 'ack'), { qos: 1 });
      gateways.push({ client, siteId, gatewayId, acked });
    }
    const sent = gateways.flatMap((g) =>
      Array.from({ length: ALARMS }, (_, i) =>
        sampleEvent({ siteId: g.siteId, gatewayId: g.gatewayId, seq: i, zone: i + 1, device: null }),
      ),
    );
    const publishing = Promise.all(
      sent.map((event) =>
        gateways
          .find((g) => g.gatewayId === event.gatewayId)!
          .client.publishAsync(topicFor(event.siteId, event.gatewayId, 'event'), encode(event), { qos: 1 }),
      ),
    );
    const storedNow = async () =>
      (
        await env.central.pool.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM events WHERE site_id LIKE 'site-k%'`,
        )
      ).rows[0]!.n;
    await eventually(async () => (await storedNow()) >= sent.length / 5 || undefined, 'the burst under way');
    worker.kill('SIGKILL');
    const killedAt = await storedNow();
    await publishing;
    await eventually(
      async () => (await storedNow()) === sent.length || undefined,
      'every alarm stored',
      60_000,
    );
    t.true(killedAt < sent.length, `killed mid-burst (${killedAt} of ${sent.length} stored by then)`);
    await eventually(
      () => gateways.every((g) => g.acked.size === ALARMS) || undefined,
      'every alarm acked to its gateway',
      60_000,
    );
    const { rows } = await env.central.pool.query<{ events: number; distinct: number; incidents: number }>(
      `SELECT count(*)::int AS events, count(DISTINCT id)::int AS distinct,
            (SELECT count(*)::int FROM alarms WHERE site_id LIKE 'site-k%') AS incidents
       FROM events WHERE site_id LIKE 'site-k%'`,
    );
    t.deepEqual(rows[0], { events: sent.length, distinct: sent.length, incidents: GATEWAYS });
    t.true(
      env.metrics.get('amqp_uplink_redelivered_total') > 0,
      'the dead worker\u2019s unacked messages came to the survivor',
    );
  },
);

test.serial(
  '`vigil central add-gateway` with no central running provisions the gateway on RabbitMQ too',
  async (t) => {
    const url = (env.central.pool as unknown as { options: { connectionString: string } }).options
      .connectionString;
    await upsertSite(env.central.pool, { id: 'site-offline', name: 'Offline', address: '' }, 'test');
    const result = await vigil(['central', 'add-gateway', 'site-offline', 'gw-offline'], {
      VIGIL_DATA_DIR: tempDir('offline-admin'),
      DATABASE_URL: url,
      VIGIL_MQTT_URL: externalBroker.url,
      VIGIL_BROKER_KIND: 'rabbitmq',
      VIGIL_AMQP_URLS: (externalBroker.amqpUrls ?? []).join(','),
      VIGIL_RABBITMQ_API_URL: externalBroker.apiUrl!,
      VIGIL_MQTT_ADMIN_USER: admin.username,
      VIGIL_MQTT_ADMIN_PASSWORD: admin.password,
      VIGIL_MQTT_CENTRAL_PASSWORD: externalBroker.centralPassword,
    });
    t.is(result.code, 0, result.stderr);
    const secret = /secret \(shown once\): (\S+)/.exec(result.stdout)?.[1];
    t.truthy(secret, result.stdout);
    // The broker knows it: the gateway logs in with the secret just issued.
    const client = await mqtt.connectAsync(node.mqttUrl, {
      username: 'gw-offline',
      password: secret!,
      clientId: gatewayClientId('gw-offline'),
      reconnectPeriod: 0,
    });
    t.true(client.connected);
    await client.endAsync();
  },
);
