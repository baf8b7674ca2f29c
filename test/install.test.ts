import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { NotifySocket } from './helpers/notify-socket.ts';

/**
 * deploy/install.sh in a clean Debian (debootstrap, chroot) with Node 24 and npm as a Raspberry
 * Pi would have them: user and groups, units that `systemd-analyze verify` accepts, udev rules,
 * the gateway running as its user and telling systemd it is ready, and an upgrade that keeps the
 * outbox and the configuration. Needs root (debootstrap, chroot).
 */
const ROOT_NEEDED = process.getuid?.() !== 0;
const REPO = path.resolve(import.meta.dirname, '..');
const BASE = '/var/cache/vigil-test/debian-bookworm';

function debianMirror(): string {
  try {
    const sources = fs.readFileSync('/etc/apt/sources.list.d/debian.sources', 'utf8');
    return /^URIs:\s*(\S+)/m.exec(sources)?.[1] ?? 'http://deb.debian.org/debian';
  } catch {
    return 'http://deb.debian.org/debian';
  }
}

/** A minimal Debian with systemd and udev, made once per machine and copied for each run. */
function debianBase(): string {
  if (fs.existsSync(path.join(BASE, '.complete'))) return BASE;
  fs.rmSync(BASE, { recursive: true, force: true });
  fs.mkdirSync(path.dirname(BASE), { recursive: true });
  execFileSync(
    'debootstrap',
    ['--variant=minbase', '--include=systemd,udev,ca-certificates', 'bookworm', BASE, debianMirror()],
    { stdio: ['ignore', 'ignore', 'inherit'], timeout: 600_000 },
  );
  fs.writeFileSync(path.join(BASE, '.complete'), '');
  return BASE;
}

function run(root: string, command: string, options: { user?: string } = {}): string {
  const args = options.user
    ? ['--userspec', options.user, root, 'sh', '-c', command]
    : [root, 'sh', '-c', command];
  const result = spawnSync('chroot', args, {
    encoding: 'utf8',
    // prefer-offline: the packages npm cached on this machine, without asking the registry again.
    env: {
      PATH: '/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      HOME: '/root',
      LANG: 'C.UTF-8',
      npm_config_prefer_offline: 'true',
    },
    timeout: 600_000,
  });
  if (result.status !== 0)
    throw new Error(`chroot ${command} exited ${result.status}:\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

/** The working tree as a fresh clone would have it (tracked and new files, nothing ignored). */
function copySource(to: string): void {
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: REPO,
  })
    .toString()
    .split('\0')
    .filter((f) => f && fs.existsSync(path.join(REPO, f)));
  fs.mkdirSync(to, { recursive: true });
  const tar = spawnSync('sh', ['-c', `tar -C "${REPO}" --null -T - -cf - | tar -C "${to}" -xf -`], {
    input: files.join('\0'),
  });
  if (tar.status !== 0) throw new Error(`copying the source failed: ${tar.stderr}`);
}

const hostNode = path.join(REPO, 'node_modules/.bin/node');
const nodeHeaders = path.join(
  REPO,
  'node_modules/node/node_modules',
  `node-${process.platform}-${process.arch}`,
  'include/node',
);
const hostNpm = (() => {
  const npm = spawnSync('sh', ['-c', 'readlink -f "$(command -v npm)"'], { encoding: 'utf8' }).stdout.trim();
  return path.resolve(path.dirname(npm), '..'); // …/lib/node_modules/npm
})();

test.serial(
  'install.sh puts a gateway into service in a clean Debian and upgrades it keeping outbox and config',
  async (t) => {
    if (ROOT_NEEDED) {
      t.fail('this test needs root (debootstrap, chroot); run npm test as root');
      return;
    }
    t.timeout(900_000);
    const base = debianBase();
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-chroot-'));
    const mounts: string[] = [];
    t.teardown(() => {
      for (const m of mounts.reverse()) spawnSync('umount', ['-l', m]);
      if (mounts.every((m) => !fs.readFileSync('/proc/mounts', 'utf8').includes(` ${m} `)))
        fs.rmSync(root, { recursive: true, force: true });
    });
    execFileSync('cp', ['-a', `${base}/.`, root]);
    const mount = (type: string[], target: string) => {
      fs.mkdirSync(path.join(root, target), { recursive: true });
      execFileSync('mount', [...type, path.join(root, target)]);
      mounts.push(path.join(root, target));
    };
    mount(['-t', 'proc', 'proc'], 'proc');
    mount(['--bind', '/dev'], 'dev');
    mount(['--bind', '/sys'], 'sys');
    // npm's download cache, so the two installs fetch each package once per machine.
    fs.mkdirSync(path.join(os.homedir(), '.npm/_cacache'), { recursive: true });
    mount(['--bind', path.join(os.homedir(), '.npm/_cacache')], 'root/.npm/_cacache');
    fs.copyFileSync('/etc/resolv.conf', path.join(root, 'etc/resolv.conf'));
    // Node.js 24 and npm as the Pi would have them installed; no compiler (install.sh brings one).
    // (the nodejs.org tarball's layout under /usr/local: bin/node, include/node, lib/node_modules/npm)
    fs.copyFileSync(fs.realpathSync(hostNode), path.join(root, 'usr/local/bin/node'));
    execFileSync('cp', ['-a', nodeHeaders, path.join(root, 'usr/local/include/')]);
    fs.chmodSync(path.join(root, 'usr/local/bin/node'), 0o755);
    execFileSync('cp', ['-a', hostNpm, path.join(root, 'usr/local/lib/npm')]);
    fs.symlinkSync('../lib/npm/bin/npm-cli.js', path.join(root, 'usr/local/bin/npm'));
    copySource(path.join(root, 'src/vigil'));

    const first = run(root, '/src/vigil/deploy/install.sh gateway');
    t.regex(first, /installed \/opt\/vigil\/releases\/0\.1\.0-/);
    t.regex(first, /next: put the gateway's configuration in \/etc\/vigil\/gateway.json/);
    t.regex(run(root, 'id vigil'), /groups=.*\bgpio\b/);
    t.regex(run(root, 'id vigil'), /\bdialout\b/);
    t.regex(run(root, 'getent passwd vigil'), /:\/var\/lib\/vigil:\/usr\/sbin\/nologin$/m);
    t.true(fs.existsSync(path.join(root, 'etc/udev/rules.d/99-vigil.rules')));
    t.true(fs.existsSync(path.join(root, 'etc/systemd/journald.conf.d/vigil.conf')));
    t.true(
      fs
        .lstatSync(path.join(root, 'etc/systemd/system/multi-user.target.wants/vigil-gateway.service'))
        .isSymbolicLink(),
      'the unit is enabled',
    );
    t.regex(run(root, '/opt/vigil/node --version'), /^v24\./);
    t.false(
      fs.existsSync(path.join(root, 'opt/vigil/current/node_modules/typescript')),
      'no dev dependencies',
    );
    const verify = spawnSync(
      'chroot',
      [root, 'systemd-analyze', 'verify', '--man=no', '/etc/systemd/system/vigil-gateway.service'],
      { encoding: 'utf8' },
    );
    t.is(verify.status, 0, verify.stderr);
    t.is(verify.stderr.trim(), '', 'systemd-analyze has no complaint about the unit');

    // Configured as an installer would, then run as the service would (user vigil, NOTIFY_SOCKET).
    const config = {
      siteId: 'pi-site',
      gatewayId: 'gw-pi',
      central: { mqttUrl: 'mqtt://127.0.0.1:9', secret: 'x'.repeat(32) },
      http: { host: '127.0.0.1', port: 0 },
      areas: [{ id: 1, name: 'House' }],
      devices: [{ id: 'door', name: 'Door', bus: 'simulated', type: 'contact', zone: 1, area: 1 }],
    };
    fs.writeFileSync(path.join(root, 'etc/vigil/gateway.json'), `${JSON.stringify(config, null, 2)}\n`);
    run(root, 'chown vigil:vigil /etc/vigil/gateway.json');
    const notify = await NotifySocket.open(path.join(root, 'run/vigil-notify.sock'));
    t.teardown(() => notify.close());
    const gateway = spawn(
      'chroot',
      [
        '--userspec',
        'vigil:vigil',
        root,
        'env',
        'NOTIFY_SOCKET=/run/vigil-notify.sock',
        'WATCHDOG_USEC=2000000',
        '/opt/vigil/node',
        '--max-semi-space-size=1',
        '/opt/vigil/current/dist/bin/vigil.mjs',
        'gateway',
        '--config',
        '/etc/vigil/gateway.json',
        '--data',
        '/var/lib/vigil',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    gateway.stdout.on('data', (c) => {
      output += c;
    });
    gateway.stderr.on('data', (c) => {
      output += c;
    });
    await notify.waitFor(
      (m) => m.includes('READY=1'),
      60_000,
      () => output,
    );
    await notify.waitFor(
      (m) => m.includes('WATCHDOG=1'),
      10_000,
      () => output,
    );
    const api = /"localApi":"(http:\/\/[^"]+)"/.exec(output)?.[1];
    t.truthy(api, output);
    const signal = await fetch(`${api}/api/sim/devices/door/signals`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ kind: 'alarm' }),
    });
    t.is(signal.status, 202);
    gateway.kill('SIGTERM');
    await new Promise((resolve) => gateway.once('exit', resolve));
    await notify.waitFor(
      (m) => m.includes('STOPPING=1'),
      10_000,
      () => output,
    );
    t.is(gateway.exitCode, 0, output);
    const outboxDir = path.join(root, 'var/lib/vigil/outbox');
    const outboxBefore = fs.readdirSync(outboxDir).map((f) => [f, fs.readFileSync(path.join(outboxDir, f))]);
    t.true(outboxBefore.length > 0, 'the unsent alarm is in the outbox');
    const configBefore = fs.readFileSync(path.join(root, 'etc/vigil/gateway.json'), 'utf8');
    const releaseBefore = fs.readlinkSync(path.join(root, 'opt/vigil/current'));

    // The upgrade: a new release, the same outbox and configuration.
    const second = run(root, '/src/vigil/deploy/install.sh gateway');
    t.notRegex(second, /next: put the gateway's configuration/);
    const releaseAfter = fs.readlinkSync(path.join(root, 'opt/vigil/current'));
    t.not(releaseAfter, releaseBefore);
    t.true(fs.existsSync(path.join(root, releaseBefore)), 'the previous release stays for a rollback');
    t.is(fs.readFileSync(path.join(root, 'etc/vigil/gateway.json'), 'utf8'), configBefore);
    for (const [file, bytes] of outboxBefore)
      t.deepEqual(fs.readFileSync(path.join(outboxDir, file as string)), bytes, `outbox ${file} unchanged`);
    run(root, '/src/vigil/deploy/install.sh rollback gateway');
    t.is(fs.readlinkSync(path.join(root, 'opt/vigil/current')), releaseBefore);
  },
);

test.serial('the central unit, backup timer and gateway unit pass systemd-analyze verify', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-units-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  // The files the units name, where install.sh puts them, in a root of their own.
  for (const file of ['opt/vigil/node', 'opt/vigil/current/deploy/backup.sh']) {
    fs.mkdirSync(path.join(dir, path.dirname(file)), { recursive: true });
    fs.writeFileSync(path.join(dir, file), '#!/bin/sh\n', { mode: 0o755 });
  }
  fs.mkdirSync(path.join(dir, 'etc/systemd/system'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'usr/lib/systemd'), { recursive: true });
  // The targets and services the units depend on, from this machine's systemd.
  execFileSync('cp', ['-a', '/usr/lib/systemd/system', path.join(dir, 'usr/lib/systemd/')]);
  for (const unit of fs.readdirSync(path.join(REPO, 'deploy/systemd')))
    fs.copyFileSync(path.join(REPO, 'deploy/systemd', unit), path.join(dir, 'etc/systemd/system', unit));
  const result = spawnSync(
    'systemd-analyze',
    [
      '--root',
      dir,
      'verify',
      '--man=no',
      ...fs.readdirSync(path.join(dir, 'etc/systemd/system')).map((u) => `/etc/systemd/system/${u}`),
    ],
    { encoding: 'utf8' },
  );
  t.is(result.status, 0, result.stderr);
  t.is(result.stderr.trim(), '', result.stderr);
});
