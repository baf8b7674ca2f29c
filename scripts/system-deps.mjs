// The Debian packages the test suites drive as real peers: Chromium (browser tests), socat (serial
// lines over a pseudo-terminal pair), mosquitto and rabbitmq-server (the external-broker modes), systemd-analyze (the unit
// files), postgresql-15-auto-failover and pg-auto-failover-cli (PostgreSQL with a synchronous
// standby and failover), debootstrap (the install script in a clean Debian), python3 (a stand-in for systemd's
// notification socket, and pysiaalarm — an independent SIA DC-09 receiver — with its pycryptodome
// and pytz). `npm test` runs this first. As root with apt-get it installs what is
// missing; otherwise it stops at once with one message naming the packages and the command.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** package → a file it installs, so a check needs no dpkg (and works where the tool came from elsewhere). */
const NEEDED = [
  { pkg: 'chromium', has: () => existsSync(process.env.VIGIL_CHROMIUM ?? '/usr/bin/chromium') },
  { pkg: 'socat', has: () => onPath('socat') },
  { pkg: 'mosquitto', has: () => onPath('mosquitto') },
  { pkg: 'mosquitto-clients', has: () => onPath('mosquitto_ctrl') },
  { pkg: 'rabbitmq-server', has: () => existsSync('/usr/lib/rabbitmq/bin/rabbitmq-server') },
  {
    pkg: 'postgresql-15-auto-failover',
    has: () => existsSync('/usr/lib/postgresql/15/lib/pgautofailover.so'),
  },
  { pkg: 'pg-auto-failover-cli', has: () => existsSync('/usr/bin/pg_autoctl') },
  { pkg: 'systemd', has: () => onPath('systemd-analyze') },
  { pkg: 'debootstrap', has: () => onPath('debootstrap') },
  { pkg: 'python3', has: () => existsSync('/usr/bin/python3') },
  { pkg: 'python3-pycryptodome', has: () => pythonHas('Cryptodome.Cipher.AES') },
  { pkg: 'python3-tz', has: () => pythonHas('pytz') },
  { pkg: 'ca-certificates', has: () => existsSync('/etc/ssl/certs/ca-certificates.crt') },
];

/** Debian's own python3 (the tests run it by path), with a module importable. */
function pythonHas(module) {
  return spawnSync('/usr/bin/python3', ['-c', `import ${module}`], { stdio: 'ignore' }).status === 0;
}

function onPath(command) {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

const missing = NEEDED.filter((n) => !n.has()).map((n) => n.pkg);
if (missing.length === 0) process.exit(0);

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const command = `apt-get update && apt-get install -y ${missing.join(' ')}`;
if (!isRoot || !onPath('apt-get') || process.env.VIGIL_NO_APT === '1') {
  console.error(
    `[vigil] the tests need these Debian packages: ${missing.join(', ')}.\n` +
      `        Install them with:  sudo sh -c '${command}'\n` +
      '        (run as root, `npm test` installs them itself)',
  );
  process.exit(1);
}

console.log(`[vigil] installing the Debian packages the tests need: ${missing.join(' ')}`);
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
try {
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', '-qq', ...missing], { stdio: 'inherit', env });
} catch (error) {
  console.error(`[vigil] apt-get failed (${error.message}); install by hand: ${command}`);
  process.exit(1);
}
const still = NEEDED.filter((n) => !n.has()).map((n) => n.pkg);
if (still.length > 0) {
  console.error(`[vigil] still missing after apt-get: ${still.join(', ')}`);
  process.exit(1);
}
