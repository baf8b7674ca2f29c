import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import tls from 'node:tls';
import test from 'ava';
import mqtt from 'mqtt';
import { newCookie, type RabbitNode, startRabbitCluster } from '../central/broker/rabbitmq-node.ts';
import { freePort, listening } from '../central/db/embedded.ts';
import { databaseHosts } from '../central/db/target.ts';
import { ensureTlsMaterial, issuePeerCertificate } from '../central/tls/certificates.ts';
import {
  apiClient,
  eventually,
  loginCookie,
  startPanicGateways,
  startTestCentral,
  tempDir,
} from './helpers/central.ts';

// Each test here runs a RabbitMQ cluster of three nodes: one at a time (two clusters at once are more
// than two cores take within the tests' timeouts).
test.serial(
  'a node of a 3-node RabbitMQ cluster (TLS only) killed (-9) mid-burst: gateways and the worker move to the others, every alarm stored once',
  async (t) => {
    // Three Erlang VMs start and form a cluster: on a busy two-core machine beside the other suites
    // that alone can pass ava's 60 s idle timeout.
    t.timeout(300_000);
    const admin = { username: 'vigil-admin', password: randomBytes(12).toString('hex') };
    // Gateways and the worker reach the nodes over TLS only.
    const tlsDir = tempDir('rabbitmq-tls');
    const { ca } = await ensureTlsMaterial(tlsDir, []);
    const nodes = await startRabbitCluster({
      tlsDir,
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
        amqpUrls: nodes.map((n) => n.amqpAddress),
        ca,
        apiUrl: others[0]!.apiUrl,
        centralUsername: 'vigil-central',
        centralPassword: 'central-password-for-tests',
        adminUsername: admin.username,
        adminPassword: admin.password,
      },
    });
    t.teardown(() => env.stop());

    // What an installer's gateway-credentials answer carries (central.ts: installer routes).
    t.is(env.central.mqttCa, ca, "gateways are told to trust the brokers' CA, not the central's own");
    const plain = await mqtt
      .connectAsync(first.mqttUrl.replace('mqtts:', 'mqtt:'), { reconnectPeriod: 0, connectTimeout: 10_000 })
      .then(
        (c) => c.endAsync().then(() => 'connected'),
        (error: Error) => error.message,
      );
    t.not(plain, 'connected', 'a node takes no MQTT in plain TCP');
    t.true(first.apiUrl.startsWith('https://localhost:'), 'the management API over TLS');
    const plainApi = await fetch(`${first.apiUrl.replace('https:', 'http:')}/overview`).then(
      (r) => `answered ${r.status}`,
      (error: Error) => error.message,
    );
    t.notRegex(plainApi, /answered/, 'the management API answers no plain HTTP');
    // The nodes speak to each other (and rabbitmqctl to them) over TLS, each side with a certificate
    // of the cluster's CA: the cookie alone gets no one in. TLS 1.3 refuses a missing client
    // certificate once the client has sent data; with one, the Erlang handshake (which this probe
    // does not speak) hangs up instead.
    const distribution = (cert?: { cert: string; key: string }) =>
      new Promise<string>((resolve) => {
        const socket = tls.connect({ host: 'localhost', port: first.ports.dist, ca, ...cert });
        socket.once('secureConnect', () => socket.write('probe'));
        socket.once('error', (error) => resolve(error.message));
        socket.once('close', () => resolve('TLS accepted, then hung up'));
      });
    t.regex(await distribution(), /certificate required/, 'the distribution wants a client certificate');
    t.is(
      await distribution(await issuePeerCertificate(tlsDir, 'CN=peer', [])),
      'TLS accepted, then hung up',
      'the distribution port takes TLS from a peer with a certificate of the CA',
    );
    const GATEWAYS = 8;
    // Every gateway starts on the first node and knows the others.
    const gateways = await startPanicGateways(t, env, 'c', GATEWAYS, {
      central: { mqttUrl: first.mqttUrl, mqttUrls: others.map((n) => n.mqttUrl), caCert: ca },
      ackTimeoutSeconds: 3,
    });
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
      for (const gw of gateways)
        gw.gateway.simulatedBus.inject('panic', round % 2 === 0 ? 'alarm' : 'restore');
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
      150_000,
    ).catch(async (error: Error) => {
      // Which gateways were left, and where: what a failure on a busy machine needs to be read.
      const states = gateways.map(
        (gw, i) => `gw-c${i}: connected ${gw.gateway.uplinkConnected}, outbox ${gw.gateway.outbox.depth}`,
      );
      const stuck = gateways.flatMap((gw, i) => (gw.gateway.outbox.depth > 0 ? [`gw-c${i}`] : []));
      const queues = await others[0]!
        .managementGet<Array<Record<string, unknown>>>('/queues')
        .then((list) =>
          list
            .filter((q) => stuck.some((name) => String(q.name).includes(`gw-${name}q`)))
            .map((q) => ({
              name: q.name,
              type: q.type,
              node: q.node,
              leader: q.leader,
              members: q.members,
              online: q.online,
              messages: q.messages,
              consumers: q.consumers,
              state: q.state,
            })),
        )
        .catch((e: Error) => e.message);
      // … and what routes to them (the acks come through amq.topic).
      const bindings = await Promise.all(
        (Array.isArray(queues) ? queues : []).map((q) =>
          others[0]!
            .managementGet<Array<{ source: string; routing_key: string }>>(
              `/queues/%2F/${encodeURIComponent(String(q.name))}/bindings`,
            )
            .then((list) => ({ queue: q.name, routes: list.map((b) => `${b.source}:${b.routing_key}`) }))
            .catch((e: Error) => ({ queue: q.name, routes: e.message })),
        ),
      );
      // What each gateway published, resent and had acked (its local API's counters).
      const counters = await Promise.all(
        gateways.map(async (gw, i) => {
          const text = await (await fetch(`${gw.localApiUrl}/metrics`)).text();
          const lines = text.split('\n').filter((l) => /^uplink_(events|ack_timeouts)/.test(l));
          return `gw-c${i}: ${lines.join(', ')}`;
        }),
      );
      throw new Error(
        `${error.message}; ${states.join('; ')}; ${counters.join('; ')}; central: acks refused ${env.metrics.total('ingest_ack_publish_failures_total')}; stored ${JSON.stringify(await stored())}; the session queues of those left ${JSON.stringify(queues)}; their bindings ${JSON.stringify(bindings)}`,
      );
    });
    const takeoverMs = performance.now() - killedAt;
    const counts = await stored();
    t.deepEqual(
      counts,
      { n: GATEWAYS * ROUNDS, distinct: GATEWAYS * ROUNDS },
      'every alarm and restore once',
    );
    t.true(takeoverMs < 30_000, `all delivered ${Math.round(takeoverMs)} ms after the node died`);
    t.true(env.central.ingest.connected, 'the worker consumes from a surviving node');
    t.log(`takeover: ${Math.round(takeoverMs)} ms`);
  },
);

interface Ready {
  workers: Array<{ name: string; httpUrl: string; pid: number }>;
  operator: { username: string; password: string };
  brokers: Array<{ nodename: string; mqttUrl: string }>;
  database: { url: string; nodes: number[] };
  gateway: string;
}

test.serial(
  '`vigil cluster` starts 3 brokers, PostgreSQL with a standby and 2 workers; the demo gateway and both consoles work; a worker killed, the other goes on; Ctrl-C stops it all',
  async (t) => {
    // Three Erlang VMs, a PostgreSQL monitor and two servers, two workers: minutes on a busy machine.
    t.timeout(600_000);
    const httpPort = await freePort();
    const gatewayPort = await freePort();
    const command = spawn(
      process.execPath,
      [path.resolve('bin/vigil.mjs'), 'cluster', '--dir', tempDir('cluster')],
      {
        env: {
          ...process.env,
          VIGIL_HTTP_PORT: String(httpPort),
          VIGIL_GATEWAY_HTTP_PORT: String(gatewayPort),
          VIGIL_LOG_LEVEL: 'warn',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    command.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    command.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => command.once('exit', (code) => resolve(code)));
    // A test that fails stops the cluster as Ctrl-C does: killed outright, the command would leave
    // its brokers and database servers (process groups of their own) running.
    t.teardown(async () => {
      if (command.exitCode !== null) return;
      command.kill('SIGINT');
      const timer = setTimeout(() => command.kill('SIGKILL'), 120_000);
      await exited;
      clearTimeout(timer);
    });
    const ready = await eventually(
      () => {
        if (command.exitCode !== null) throw new Error(`vigil cluster exited: ${output.slice(-3000)}`);
        const line = /cluster ready (\{.*\})\n/.exec(output)?.[1];
        return line ? (JSON.parse(line) as Ready) : null;
      },
      'the cluster to start',
      480_000,
    );
    t.is(ready.workers.length, 2);
    t.is(ready.brokers.length, 3);
    t.true(
      ready.brokers.every((b) => b.mqttUrl.startsWith('mqtts://localhost:')),
      'the brokers take MQTT over TLS',
    );
    t.is(ready.database.nodes.length, 2);
    const database = new URL(databaseHosts(ready.database.url)[0]!.url);
    t.is(database.username, 'vigil', 'the workers log in to PostgreSQL as the central, not the superuser');
    t.is(database.searchParams.get('sslmode'), 'verify-full', 'over TLS, the server certificate checked');

    // The demo gateway's panic button, through RabbitMQ, shown alike on both workers' consoles.
    const trigger = (device: string) =>
      fetch(`${ready.gateway}/api/sim/devices/${device}/signals`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ kind: 'alarm' }),
      });
    t.true((await trigger('bedroom-panic')).ok);
    const [first, second] = ready.workers;
    const consoles = await Promise.all(
      ready.workers.map(async (w) =>
        apiClient(w.httpUrl, await loginCookie(w.httpUrl, ready.operator.username, ready.operator.password)),
      ),
    );
    for (const api of consoles) {
      const alarm = await eventually(async () => {
        const { body } = await api('GET', '/api/alarms');
        return (body.alarms as Array<{ eventType: string; proposal: unknown }>).find(
          (a) => a.eventType === 'panic' && a.proposal,
        );
      }, 'the panic with its next step on each console');
      t.truthy(alarm);
    }

    // Worker 1 dies (-9): worker 2 takes its share of the procedures and still serves the console.
    process.kill(first!.pid, 'SIGKILL');
    await eventually(async () => !(await listening(Number(new URL(first!.httpUrl).port))), 'worker 1 gone');
    t.true((await trigger('kitchen-smoke')).ok);
    const fire = await eventually(
      async () => {
        const { status, body } = await consoles[1]!('GET', '/api/alarms');
        if (status !== 200) {
          t.log(`worker 2 answered ${status}: ${JSON.stringify(body)}`);
          return null;
        }
        return (body.alarms as Array<{ eventType: string; proposal: unknown }>).find(
          (a) => a.eventType === 'smoke' && a.proposal,
        );
      },
      'the fire alarm with its next step on worker 2',
      60_000,
    );
    t.truthy(fire);

    // Ctrl-C: everything stops, nothing is left listening.
    command.kill('SIGINT');
    t.is(await exited, 0, output.slice(-2000));
    for (const port of [...ready.database.nodes, Number(new URL(second!.httpUrl).port), gatewayPort])
      t.false(await listening(port), `port ${port} closed`);
    for (const broker of ready.brokers)
      t.false(await listening(Number(new URL(broker.mqttUrl).port)), `${broker.nodename} stopped`);
  },
);
