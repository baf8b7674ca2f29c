import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import test from 'ava';
import { buildFrame, FrameSplitter, parseFrame } from '../protocols/dc09/frame.ts';
import { tempDir } from './helpers/central.ts';
import { startMosquitto } from './helpers/mosquitto.ts';
import { VIGIL, vigil } from './helpers/vigil-cli.ts';

test('an unknown command exits 1 and says which', async (t) => {
  const result = await vigil(['frobnicate']);
  t.is(result.code, 1);
  t.regex(result.stderr, /unknown command "frobnicate"/);
  const central = await vigil(['central', 'frobnicate']);
  t.is(central.code, 1);
  t.regex(central.stderr, /unknown central command "frobnicate"/);
  t.is((await vigil(['help'])).code, 0);
});

test('bad admin input exits 1 naming the field, before any database is touched', async (t) => {
  const data = tempDir('cli-bad');
  const env = { VIGIL_DATA_DIR: data };
  const missing = await vigil(['central', 'add-site'], env);
  t.is(missing.code, 1);
  t.regex(missing.stderr, /^vigil: id: /m);
  t.regex(missing.stderr, /usage: vigil central add-site/);
  const kind = await vigil(['central', 'add-site', 'x', '--name', 'X', '--kind', 'castle'], env);
  t.is(kind.code, 1);
  t.regex(kind.stderr, /kind: /);
  const flag = await vigil(['central', 'add-site', 'x', '--name', 'X', '--colour', 'red'], env);
  t.is(flag.code, 1);
  t.regex(flag.stderr, /--colour/);
  const password = await vigil(['central', 'add-operator', 'bob', '--name', 'Bob'], env);
  t.is(password.code, 1);
  t.regex(password.stderr, /password: .*VIGIL_OPERATOR_PASSWORD/);
  t.false(existsSync(path.join(data, 'central', 'postgres')), 'no database was created for refused input');
});

test('a request to an unreachable gateway exits 1 naming the URL', async (t) => {
  const port = await closedPort();
  const url = `http://127.0.0.1:${port}`;
  const result = await vigil(['sim', 'trigger', 'hall-pir', '--url', url]);
  t.is(result.code, 1);
  t.true(result.stderr.includes(`cannot reach the gateway at ${url}/api/sim/devices/hall-pir/signals`));
  t.regex(result.stderr, /ECONNREFUSED/);
  const panel = await vigil(['panel', 'status', '--url', url]);
  t.is(panel.code, 1);
  t.true(panel.stderr.includes(url));
});

test('a refused simulator file exits 1 with the reason', async (t) => {
  const dir = tempDir('cli-sim');
  const site = path.join(dir, 'site.json');
  const events = path.join(dir, 'events.jsonl');
  writeFileSync(site, readFileSync(path.resolve(import.meta.dirname, '../docs/examples/site.json')));
  writeFileSync(events, '{"at": "not a time", "event": 7}\n');
  const result = await vigil(['central', 'simulate', '--site', site, '--events', events]);
  t.is(result.code, 1);
  t.regex(result.stderr, /^vigil: /m);
  const refusedOutcome = path.join(dir, 'refused.jsonl');
  writeFileSync(
    refusedOutcome,
    [
      '{"at":"2026-11-21T02:00:00Z","type":"event","eventType":"burglary","ref":"A"}',
      '{"at":"2026-11-21T02:00:10Z","type":"outcome","alarm":"A","outcome":"close-real"}',
    ].join('\n'),
  );
  const refused = await vigil(['central', 'simulate', '--site', site, '--events', refusedOutcome]);
  t.is(refused.code, 1, 'an outcome the engine refuses fails the run');
  t.regex(refused.stderr, /1 input\(s\) refused: .*close-real: a real alarm needs the dispatch record/);
  t.regex(refused.stdout, /"action":"refused"/);
  const missing = await vigil([
    'central',
    'simulate',
    '--site',
    path.join(dir, 'nope.json'),
    '--events',
    events,
  ]);
  t.is(missing.code, 1);
  t.regex(missing.stderr, /nope\.json/);
});

test('admin commands without a running central work on its database and exit 0', async (t) => {
  const env = { VIGIL_DATA_DIR: tempDir('cli-offline') };
  const site = await vigil(['central', 'add-site', 'shop-1', '--name', 'Shop 1', '--kind', 'business'], env);
  t.is(site.code, 0, site.stderr);
  t.regex(site.stdout, /site shop-1 saved/);
  const gateway = await vigil(['central', 'add-gateway', 'shop-1', 'gw-1'], env);
  t.is(gateway.code, 0, gateway.stderr);
  t.regex(gateway.stdout, /secret \(shown once\): \S{20,}/);
  const refused = await vigil(['central', 'add-gateway', 'shop-2', 'gw-1'], env);
  t.is(refused.code, 1);
  t.regex(refused.stderr, /belongs to another site/);
});

test.serial(
  'admin commands beside a running central go through it; a new DC-09 account is answered at once',
  async (t) => {
    const data = tempDir('cli-running');
    const env = {
      VIGIL_DATA_DIR: data,
      VIGIL_HTTP_PORT: '0',
      VIGIL_MQTT_PORT: '0',
      VIGIL_DC09_PORT: '0',
      VIGIL_MQTT_TLS: 'off',
      VIGIL_LOG_LEVEL: 'info',
    };
    const { child, started } = startCentral(env);
    t.teardown(() => stopProcess(child));
    const { dc09, http } = await started;
    t.is((await fetch(`${http}/healthz`)).status, 200);
    const ready = await fetch(`${http}/readyz`);
    t.is(ready.status, 200);
    t.like(await ready.json(), { status: 'ready', checks: { database: 'ok', broker: 'ok', dc09: 'ok' } });

    const frame = buildFrame({
      id: 'SIA-DCS',
      seq: 1,
      prefix: '0',
      account: '4321',
      data: '#4321|Nri1/BA001',
    });
    t.not(await dc09Reply(dc09, frame), 'ACK', 'an unknown account is not acknowledged');

    const site = await vigil(['central', 'add-site', 'shop-9', '--name', 'Shop 9'], env);
    t.is(site.code, 0, site.stderr);
    const account = await vigil(['central', 'add-dc09-account', '4321', '--site', 'shop-9'], env);
    t.is(account.code, 0, account.stderr);
    t.regex(account.stdout, /DC-09 account 0\/4321 of site shop-9/);
    t.is(
      await dc09Reply(
        dc09,
        buildFrame({ id: 'SIA-DCS', seq: 2, prefix: '0', account: '4321', data: '#4321|Nri1/BA001' }),
      ),
      'ACK',
    );

    const bad = await vigil(['central', 'add-dc09-account', '4321', '--site', 'no-such-site'], env);
    t.is(bad.code, 1, 'the running central refuses a site that does not exist');
    t.regex(bad.stderr, /^vigil: /m);
    t.true(child.exitCode === null, 'the central still runs');
  },
);

test.serial(
  'the central comes back after kill -9: embedded PostgreSQL left running, mosquitto provisioned, a data dir that did not exist',
  async (t) => {
    const mosquitto = await startMosquitto(tempDir('cli-mosquitto'));
    t.teardown(() => mosquitto.stop());
    const env = {
      VIGIL_DATA_DIR: path.join(tempDir('cli-crash'), 'not', 'there', 'yet'),
      VIGIL_HTTP_PORT: '0',
      VIGIL_DC09_PORT: '0',
      VIGIL_MQTT_URL: mosquitto.url,
      VIGIL_MQTT_CENTRAL_PASSWORD: 'central-password-for-tests',
      VIGIL_MQTT_ADMIN_USER: mosquitto.admin.username,
      VIGIL_MQTT_ADMIN_PASSWORD: mosquitto.admin.password,
      VIGIL_LOG_LEVEL: 'info',
    };
    for (let round = 1; round <= 3; round++) {
      const { child, started } = startCentral(env);
      const { http } = await started.catch(
        (error: Error) => t.fail(`start ${round}: ${error.message}`) as never,
      );
      t.is((await fetch(`${http}/readyz`)).status, 200, `start ${round} is ready`);
      if (round < 3) {
        // Only the central: its PostgreSQL (own process group) keeps running, holding the cluster.
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGKILL');
        await exited;
      } else {
        const code = new Promise<number | null>((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        t.is(await code, 0, 'an orderly stop exits 0');
      }
    }
  },
);

test.serial('a central that cannot start exits non-zero with the reason', async (t) => {
  const data = tempDir('cli-nostart');
  const busy = net.createServer();
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', () => resolve()));
  t.teardown(() => busy.close());
  const port = (busy.address() as net.AddressInfo).port;
  const result = await vigil(['central'], {
    VIGIL_DATA_DIR: data,
    VIGIL_HTTP_PORT: String(port),
    VIGIL_MQTT_PORT: '0',
    VIGIL_DC09_PORT: '0',
    VIGIL_MQTT_TLS: 'off',
  });
  t.is(result.code, 1);
  t.regex(result.stderr, /EADDRINUSE/);
});

function startCentral(env: Record<string, string>): {
  child: ChildProcess;
  started: Promise<{ dc09: number; http: string }>;
} {
  const child = spawn(process.execPath, [VIGIL, 'central'], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const started = new Promise<{ dc09: number; http: string }>((resolve, reject) => {
    child.stdout!.on('data', (chunk) => {
      output += chunk;
      for (const line of output.split('\n')) {
        if (!line.includes('"central started"')) continue;
        const { dc09, http } = JSON.parse(line);
        resolve({ dc09, http });
      }
    });
    child.stderr!.on('data', (chunk) => {
      output += chunk;
    });
    child.once('exit', (code) => reject(new Error(`central exited ${code}: ${output}`)));
  });
  return { child, started };
}

function killGroup(child: ChildProcess): void {
  try {
    process.kill(-child.pid!, 'SIGKILL');
  } catch {
    // already gone
  }
}

function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

/** The receiver's answer to one frame: ACK, NAK, DUH, or null when it does not answer. */
function dc09Reply(port: number, frame: string): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const splitter = new FrameSplitter();
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(null);
    }, 5_000);
    socket.on('error', reject);
    socket.on('data', (chunk: Buffer) => {
      for (const reply of splitter.push(chunk).frames) {
        clearTimeout(timer);
        socket.destroy();
        const parsed = parseFrame(reply, () => null);
        resolve(parsed.ok ? parsed.message.id : `unparsable: ${parsed.reason}`);
      }
    });
    socket.write(frame, 'latin1');
  });
}

function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

test.serial(
  'the demo stops quietly on Ctrl-C, and starts again after a kill -9 left its database running',
  async (t) => {
    const data = tempDir('cli-demo');
    const env = {
      ...process.env,
      VIGIL_DATA_DIR: data,
      VIGIL_HTTP_PORT: '0',
      VIGIL_MQTT_PORT: '0',
      VIGIL_DC09_PORT: '0',
      VIGIL_GATEWAY_HTTP_PORT: '0',
      VIGIL_LOG_LEVEL: 'warn',
    };
    const postmaster = path.join(data, 'central/postgres/postmaster.pid');
    const startDemo = () => {
      // Its own process group, as a terminal runs it: Ctrl-C goes to the whole group.
      const child = spawn(process.execPath, [VIGIL, 'demo'], {
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      });
      let output = '';
      child.stdout.on('data', (c) => {
        output += c;
      });
      child.stderr.on('data', (c) => {
        output += c;
      });
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      const ready = new Promise<void>((resolve, reject) => {
        const timer = setInterval(() => {
          if (output.includes('Press Ctrl-C to stop.')) {
            clearInterval(timer);
            resolve();
          }
        }, 50);
        void exited.then((code) => {
          clearInterval(timer);
          reject(new Error(`demo exited ${code}: ${output}`));
        });
      });
      return { child, ready, exited, output: () => output };
    };

    const first = startDemo();
    t.teardown(() => killGroup(first.child));
    await first.ready;
    t.regex(first.output(), /the house is armed away now/);
    const before = first.output().length;
    process.kill(-first.child.pid!, 'SIGINT');
    t.is(await first.exited, 0);
    t.is(first.output().slice(before).trim(), '', 'nothing is printed while stopping');
    t.false(existsSync(postmaster), 'PostgreSQL stopped');

    const second = startDemo();
    t.teardown(() => killGroup(second.child));
    await second.ready;
    const orphan = Number(readFileSync(postmaster, 'utf8').split('\n')[0]);
    second.child.kill('SIGKILL'); // the process only: its PostgreSQL (own group) lives on
    await second.exited;
    t.notThrows(() => process.kill(orphan, 0), 'the killed demo left PostgreSQL running');

    const third = startDemo();
    t.teardown(() => killGroup(third.child));
    await third.ready;
    t.throws(() => process.kill(orphan, 0), undefined, 'the orphaned server was stopped');
    process.kill(-third.child.pid!, 'SIGINT');
    t.is(await third.exited, 0);
  },
);
