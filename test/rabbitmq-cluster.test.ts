import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import test from 'ava';
import { newCookie, type RabbitNode, startRabbitCluster } from '../central/broker/rabbitmq-node.ts';
import type { RunningGateway } from '../gateway/main.ts';
import { eventually, startTestCentral, startTestGateway, tempDir } from './helpers/central.ts';

test('a node of a 3-node RabbitMQ cluster killed (-9) mid-burst: gateways and the worker move to the others, every alarm stored once', async (t) => {
  // Three Erlang VMs start and form a cluster: on a busy two-core machine beside the other suites
  // that alone can pass ava's 60 s idle timeout.
  t.timeout(300_000);
  const admin = { username: 'vigil-admin', password: randomBytes(12).toString('hex') };
  const nodes = await startRabbitCluster({
    dirOf: (i) => tempDir(`rabbitmq-${i + 1}`),
    names: [1, 2, 3].map((i) => `vigil-c${i}-${randomBytes(2).toString('hex')}`),
    cookie: newCookie(),
    admin,
  });
  t.teardown(() => Promise.all(nodes.map((n) => n.stop())).then(() => undefined));
  const [first, ...others] = nodes as [RabbitNode, ...RabbitNode[]];
  const env = await startTestCentral({
    externalBroker: {
      kind: 'rabbitmq',
      url: first.mqttUrl,
      amqpUrls: nodes.map((n) => `amqp://127.0.0.1:${n.ports.amqp}`),
      apiUrl: others[0]!.apiUrl,
      centralUsername: 'vigil-central',
      centralPassword: 'central-password-for-tests',
      adminUsername: admin.username,
      adminPassword: admin.password,
    },
  });
  t.teardown(() => env.stop());

  const GATEWAYS = 8;
  const gateways: RunningGateway[] = [];
  for (let g = 0; g < GATEWAYS; g++) {
    const gw = await startTestGateway(
      env,
      `site-c${g}`,
      `gw-c${g}`,
      [{ id: 'panic', name: 'Panic', type: 'panic' }],
      undefined,
      // Every gateway starts on the first node and knows the others.
      { central: { mqttUrl: first.mqttUrl, mqttUrls: others.map((n) => n.mqttUrl) }, ackTimeoutSeconds: 3 },
    );
    t.teardown(() => gw.stop());
    gateways.push(gw);
  }
  const stored = async () =>
    (
      await env.central.pool.query<{ n: number; distinct: number }>(
        `SELECT count(*)::int AS n, count(DISTINCT id)::int AS distinct FROM events
          WHERE site_id LIKE 'site-c%' AND event_type = 'panic'`,
      )
    ).rows[0]!;
  const ROUNDS = 20;
  let killedAt = 0;
  for (let round = 0; round < ROUNDS; round++) {
    for (const gw of gateways) gw.gateway.simulatedBus.inject('panic', round % 2 === 0 ? 'alarm' : 'restore');
    if (round === ROUNDS / 2) {
      first.kill();
      killedAt = performance.now();
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  for (const gw of gateways) await gw.gateway.settled();
  await eventually(
    () => gateways.every((gw) => gw.gateway.uplinkConnected && gw.gateway.outbox.depth === 0) || undefined,
    'every gateway on another node, its outbox empty',
    90_000,
  );
  const takeoverMs = performance.now() - killedAt;
  const counts = await stored();
  t.deepEqual(counts, { n: GATEWAYS * ROUNDS, distinct: GATEWAYS * ROUNDS }, 'every alarm and restore once');
  t.true(takeoverMs < 30_000, `all delivered ${Math.round(takeoverMs)} ms after the node died`);
  t.true(env.central.ingest.connected, 'the worker consumes from a surviving node');
  t.log(`takeover: ${Math.round(takeoverMs)} ms`);
});
