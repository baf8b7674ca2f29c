import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { newCookie, type RabbitNode, startRabbitCluster } from '../central/broker/rabbitmq-node.ts';
import { ensureTlsMaterial } from '../central/tls/certificates.ts';
import { startTestCentral, tempDir } from '../test/helpers/central.ts';
import { alarmLatencies, startFleet } from './fleet.ts';

/**
 * The fleet against the cluster: a 3-node RabbitMQ cluster taking MQTT and AMQP over TLS only, a
 * central worker consuming the uplink queue, `gateways` gateways spread over the nodes (each listing
 * all three). Measured: all online and heard; the brokers' memory per connection; the alarm → feed
 * p99 idle and under `perSecond` heartbeats; and with one node killed (-9), how long until the
 * gateways it held are heard again through the others.
 */
export async function measureClusterFleet(gateways: number, perSecond: number, alarms: number) {
  const admin = { username: 'vigil-admin', password: randomBytes(12).toString('hex') };
  const tlsDir = tempDir('bench-fleet-tls');
  const { ca } = await ensureTlsMaterial(tlsDir, []);
  const dirs: string[] = [];
  const nodes = await startRabbitCluster({
    tlsDir,
    dirOf: (i) => {
      dirs[i] = tempDir(`bench-fleet-rabbitmq-${i + 1}`);
      return dirs[i];
    },
    names: [1, 2, 3].map((i) => `vigil-fleet${i}-${randomBytes(2).toString('hex')}`),
    cookie: newCookie(),
    admin,
  });
  const [first, second, third] = nodes as [RabbitNode, RabbitNode, RabbitNode];
  const env = await startTestCentral({
    externalBroker: {
      kind: 'rabbitmq',
      url: first.mqttUrl,
      amqpUrls: nodes.map((n) => n.amqpAddress),
      ca,
      apiUrl: first.apiUrl,
      centralUsername: 'vigil-central',
      centralPassword: randomBytes(12).toString('hex'),
      adminUsername: admin.username,
      adminPassword: admin.password,
    },
  });
  // The brokers' Erlang VMs, by their directories on the command line (`-home <dir>`).
  const memory = async () => {
    let bytes = 0;
    for (const pid of await readdir('/proc').catch(() => [] as string[])) {
      if (!/^\d+$/.test(pid)) continue;
      const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
      if (!cmdline.includes('beam') || !dirs.some((dir) => cmdline.includes(dir))) continue;
      const rss = /VmRSS:\s+(\d+) kB/.exec(await readFile(`/proc/${pid}/status`, 'utf8').catch(() => ''));
      bytes += Number(rss?.[1] ?? 0) * 1024;
    }
    return bytes;
  };
  try {
    const before = await memory();
    const fleet = await startFleet(env, { size: gateways, urls: nodes.map((n) => n.mqttUrl), ca });
    const online = await memory();
    const latencies = await alarmLatencies(env, fleet, {
      mqttUrl: second.mqttUrl,
      ca,
      alarms,
      perSecond,
    });
    // The third node dies under the heartbeat load: its third of the fleet comes back through the
    // other two; all are supervised again once each has been heard since (the others by the load,
    // a round of the fleet in gateways / perSecond seconds).
    fleet.send({ type: 'load', perSecond });
    const killedAt = new Date();
    const killed = performance.now();
    third.kill();
    await fleet.online(killedAt, 'every gateway heard again after a node died', 600_000);
    const heardAgainS = (performance.now() - killed) / 1000;
    fleet.send({ type: 'unload' });
    await fleet.end();
    return {
      gateways,
      provisionS: fleet.provisionS,
      onlineS: fleet.onlineS,
      /** The three brokers' RSS (Erlang VMs), per connected gateway. */
      brokerKiBPerConnection: (online - before) / gateways / 1024,
      brokerMiB: [before / 2 ** 20, online / 2 ** 20] as const,
      ...latencies,
      heardAgainS,
    };
  } finally {
    await env.stop();
    await Promise.all(nodes.map((n) => n.stop()));
  }
}
