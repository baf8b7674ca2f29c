import { spawn } from 'node:child_process';
import path from 'node:path';
import test from 'ava';
import { freePort, listening } from '../central/db/embedded.ts';
import { apiClient, eventually, loginCookie, tempDir } from './helpers/central.ts';

interface Ready {
  workers: Array<{ name: string; httpUrl: string; pid: number }>;
  operator: { username: string; password: string };
  brokers: Array<{ nodename: string; mqttUrl: string }>;
  database: { url: string; nodes: number[] };
  gateway: string;
}

test('`vigil cluster` starts 3 brokers, PostgreSQL with a standby and 2 workers; the demo gateway and both consoles work; a worker killed, the other goes on; Ctrl-C stops it all', async (t) => {
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
  t.teardown(() => {
    if (command.exitCode === null) command.kill('SIGKILL');
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
  t.is(ready.database.nodes.length, 2);

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
});
