import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { appendFileSync, chownSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { errorMessage } from '../../lib/errors.ts';
import type { Logger } from '../../lib/logger.ts';
import { ensureTlsMaterial, type TlsMaterial } from '../tls/certificates.ts';
import { freePort } from './embedded.ts';
import {
  CENTRAL_ROLE,
  keeperPgpass,
  MONITOR_ROLE,
  monitorHba,
  newClusterPasswords,
  nodeHba,
  ownerIdent,
  REPLICATION_ROLE,
  SUPERUSER,
  setPasswordSql,
} from './pg-cluster-access.ts';

/** Debian's PostgreSQL 15 (`postgresql-15`), which `postgresql-15-auto-failover` extends. */
const PG_BIN = '/usr/lib/postgresql/15/bin';
const PG_AUTOCTL = '/usr/bin/pg_autoctl';

/**
 * How fast the monitor acts on a lost primary, in ms. pg_auto_failover's defaults (a node unhealthy
 * after 20 s, the old primary given 30 s to demote itself) suit machines that are far apart; on one
 * machine, and for the tests, a few seconds each.
 */
export interface FailoverTimings {
  readonly healthCheckPeriod: number;
  readonly unhealthyAfter: number;
  readonly demoteTimeout: number;
}

export const LOCAL_TIMINGS: FailoverTimings = {
  healthCheckPeriod: 1000,
  unhealthyAfter: 3000,
  demoteTimeout: 3000,
};

export interface FailoverNode {
  readonly name: string;
  readonly port: number;
  /** Kills the node as a machine loss would: its keeper and its PostgreSQL, SIGKILL. */
  kill(): void;
  readonly running: boolean;
}

export interface FailoverCluster {
  /**
   * Every node, libpq style, as the central's role over TLS:
   * `postgres://vigil:…@h1:p1,h2:p2/vigil?target_session_attrs=read-write&sslmode=verify-full&sslrootcert=…`.
   */
  readonly url: string;
  /** The monitor, as `autoctl_node` over TLS. */
  readonly monitorUrl: string;
  /** The CA the servers' certificates are signed by (the URLs' `sslrootcert`). */
  readonly caFile: string;
  readonly nodes: readonly FailoverNode[];
  /** The nodes' states as the monitor assigned them (name → state). */
  states(): Promise<Record<string, string>>;
  /** Runs SQL on a node as the superuser, over its Unix socket (psql's unaligned output). */
  superuserSql(port: number, sql: string, dbname?: string): string;
  stop(): Promise<void>;
}

export function pgAutoFailoverInstalled(): boolean {
  return existsSync(PG_AUTOCTL) && existsSync(path.join(PG_BIN, 'postgres'));
}

const HOST = '127.0.0.1';
const DBNAME = 'vigil';
/** A Unix socket's path is at most 107 bytes; the server adds `/.s.PGSQL.<port>`. */
const MAX_SOCKET_DIR = 107 - '/.s.PGSQL.65535'.length;

/**
 * PostgreSQL with a synchronous standby and automatic failover on one machine, from Debian's
 * `pg-auto-failover-cli` and `postgresql-15-auto-failover`: a monitor and `nodes` data nodes (the
 * first the primary, the others synchronous standbys: a commit returns once a standby has it), each
 * run by its `pg_autoctl` keeper in a process group of its own, listening on loopback only.
 *
 * Every TCP connection is TLS, verified against `tls.ca` (`verify-full`: the certificate must name
 * 127.0.0.1), and logs in with a SCRAM password made for this cluster (pg-cluster-access.ts): the
 * central as `vigil`, owner of its database and nothing more; the keepers with their passwords in a
 * .pgpass only they read. The superuser has no password: only the Unix socket, in a directory of
 * the owner's, as the owner. As root, everything runs as the `postgres` user.
 */
export async function startPgAutoFailover(options: {
  dir: string;
  nodes?: number;
  timings?: FailoverTimings;
  /** The servers' certificate; without it the cluster makes a CA of its own in `dir`. */
  tls?: TlsMaterial;
  logger: Logger;
}): Promise<FailoverCluster> {
  if (!pgAutoFailoverInstalled())
    throw new Error(
      'pg_auto_failover is not installed: apt-get install postgresql-15-auto-failover pg-auto-failover-cli',
    );
  const owner = process.getuid?.() === 0 ? postgresUser() : null;
  const systemUser = owner ? 'postgres' : userInfo().username;
  const dir = path.resolve(options.dir);
  const sockets = path.join(dir, 'sockets');
  if (Buffer.byteLength(sockets) > MAX_SOCKET_DIR || /['\\\s]/.test(sockets))
    throw new Error(
      `pg_auto_failover: ${sockets} cannot hold the servers' Unix sockets (at most ${MAX_SOCKET_DIR} bytes, no quotes or spaces): choose a shorter directory`,
    );
  // pg_autoctl keeps each node's configuration and state under $XDG_CONFIG_HOME and
  // $XDG_DATA_HOME by the data directory's path: kept inside `dir`, so a new cluster in the same
  // place never picks up an old one's (its monitor's port, its node ids).
  const home = path.join(dir, 'home');
  const tlsDir = path.join(dir, 'tls');
  mkdirSync(dir, { recursive: true });
  for (const own of [home, sockets, tlsDir]) mkdirSync(own, { recursive: true, mode: 0o700 });
  const material = options.tls ?? (await ensureTlsMaterial(path.join(dir, 'ca'), []));
  const tls = {
    ca: path.join(tlsDir, 'ca.pem'),
    cert: path.join(tlsDir, 'server.pem'),
    key: path.join(tlsDir, 'server.key'),
  };
  writeFileSync(tls.ca, material.ca, { mode: 0o644 });
  writeFileSync(tls.cert, material.cert, { mode: 0o644 });
  writeFileSync(tls.key, material.key, { mode: 0o600 });
  if (owner) {
    execFileSync('chown', [`${owner.uid}:${owner.gid}`, dir]);
    execFileSync('chown', ['-R', `${owner.uid}:${owner.gid}`, home, sockets, tlsDir]);
  }
  const writeOwned = (file: string, text: string) => {
    writeFileSync(file, text, { mode: 0o600 });
    if (owner) chownSync(file, owner.uid, owner.gid);
  };
  const passwords = newClusterPasswords();
  const env = {
    ...autoctlEnv(home),
    PGHOST: sockets,
    PGUSER: SUPERUSER,
    PGPASSFILE: path.join(home, 'pgpass'),
  };
  const asOwner = { env, stdio: 'pipe' as const, ...(owner ?? {}) };
  const keepers: ChildProcess[] = [];
  const run = (args: string[]) => execFileSync(PG_AUTOCTL, args, asOwner);
  const superuserSql = (port: number, sql: string, dbname = DBNAME) =>
    execFileSync(
      path.join(PG_BIN, 'psql'),
      ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-p', String(port), '-d', dbname, '-f', '-'],
      { ...asOwner, input: sql, encoding: 'utf8' },
    );
  /** initdb with no password and nothing trusted, then this cluster's access rules. */
  const initdb = (pgdata: string, hba: string, roles: readonly string[]) => {
    execFileSync(
      path.join(PG_BIN, 'initdb'),
      ['-D', pgdata, '-U', SUPERUSER, '--auth-local=peer', '--auth-host=reject', '-E', 'UTF8'],
      asOwner,
    );
    appendFileSync(path.join(pgdata, 'postgresql.conf'), `\nunix_socket_directories = '${sockets}'\n`);
    writeOwned(path.join(pgdata, 'pg_hba.conf'), hba);
    writeOwned(path.join(pgdata, 'pg_ident.conf'), ownerIdent(systemUser, roles));
  };
  const tlsArgs = [
    '--skip-pg-hba',
    '--ssl-ca-file',
    tls.ca,
    '--server-cert',
    tls.cert,
    '--server-key',
    tls.key,
    '--ssl-mode',
    'verify-full',
  ];
  const sslParams = `sslmode=verify-full&sslrootcert=${encodeURIComponent(tls.ca)}`;
  const keep = (pgdata: string) => {
    const keeper = spawn(PG_AUTOCTL, ['run', '--pgdata', pgdata], {
      ...asOwner,
      stdio: 'ignore',
      detached: true,
    });
    keepers.push(keeper);
    return keeper;
  };
  const stopAll = async () => {
    await Promise.all(keepers.map((keeper) => stopGroup(keeper)));
  };
  try {
    const monitorPort = await freePort();
    const monitorData = path.join(dir, 'monitor');
    initdb(monitorData, monitorHba(HOST), [SUPERUSER, MONITOR_ROLE]);
    run([
      'create',
      'monitor',
      '--pgdata',
      monitorData,
      '--pgport',
      String(monitorPort),
      '--hostname',
      HOST,
      ...tlsArgs,
    ]);
    run(['config', 'set', '--pgdata', monitorData, 'postgresql.listen_addresses', HOST]);
    writeOwned(env.PGPASSFILE, keeperPgpass(HOST, monitorPort, passwords));
    keep(monitorData);
    await waitFor(
      async () => canRun(() => superuserSql(monitorPort, 'SELECT 1', 'pg_auto_failover')),
      'the pg_auto_failover monitor',
      60_000,
    );
    superuserSql(
      monitorPort,
      [
        setPasswordSql(MONITOR_ROLE, passwords.monitor),
        ...tuning(options.timings ?? LOCAL_TIMINGS),
        'SELECT pg_reload_conf();',
      ].join('\n'),
      'pg_auto_failover',
    );
    const monitorAt = `${HOST}:${monitorPort}/pg_auto_failover?${sslParams}`;
    const monitorUrl = `postgres://${MONITOR_ROLE}:${passwords.monitor}@${monitorAt}`;
    await waitFor(() => canQuery(monitorUrl), 'the monitor over TLS', 30_000);
    const nodes: FailoverNode[] = [];
    for (let i = 1; i <= (options.nodes ?? 2); i++) {
      const name = `node${i}`;
      const port = await freePort();
      const pgdata = path.join(dir, name);
      // The first node is initialised here; each next one is a base backup of the primary (its
      // access rules and socket directory with it).
      if (i === 1) initdb(pgdata, nodeHba(HOST, DBNAME), [SUPERUSER]);
      run([
        'create',
        'postgres',
        '--pgdata',
        pgdata,
        '--pgport',
        String(port),
        '--hostname',
        HOST,
        '--listen',
        HOST,
        '--name',
        name,
        '--dbname',
        DBNAME,
        ...tlsArgs,
        '--monitor',
        `postgres://${MONITOR_ROLE}@${monitorAt}`,
      ]);
      const keeper = keep(pgdata);
      nodes.push({
        name,
        port,
        kill: () => killGroup(keeper, 'SIGKILL'),
        get running() {
          return keeper.exitCode === null && keeper.signalCode === null;
        },
      });
      await waitFor(
        async () => (await monitorStates(monitorUrl))[name] === (i === 1 ? 'single' : 'secondary'),
        `${name} ${i === 1 ? 'running' : 'replicating'}`,
        120_000,
      );
      // pg_autoctl made the replication role without a password; a standby's base backup needs it.
      if (i === 1) {
        await waitFor(
          async () => canRun(() => superuserSql(port, 'SELECT 1')),
          `${name} accepting connections`,
          60_000,
        );
        superuserSql(
          port,
          [
            setPasswordSql(REPLICATION_ROLE, passwords.replication),
            setPasswordSql(CENTRAL_ROLE, passwords.central, true),
            `ALTER DATABASE ${DBNAME} OWNER TO ${CENTRAL_ROLE};`,
          ].join('\n'),
        );
      }
    }
    await waitFor(
      async () => (await monitorStates(monitorUrl)).node1 === 'primary',
      'node1 primary with a synchronous standby',
      60_000,
    );
    const hosts = nodes.map((n) => `${HOST}:${n.port}`).join(',');
    options.logger.info({ monitorPort, nodes: nodes.map((n) => n.port) }, 'pg_auto_failover cluster started');
    return {
      url: `postgres://${CENTRAL_ROLE}:${passwords.central}@${hosts}/${DBNAME}?target_session_attrs=read-write&${sslParams}`,
      monitorUrl,
      caFile: tls.ca,
      nodes,
      states: () => monitorStates(monitorUrl),
      superuserSql,
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

function autoctlEnv(home: string): NodeJS.ProcessEnv {
  return {
    PATH: `${PG_BIN}:/usr/bin:/bin`,
    PG_CONFIG: path.join(PG_BIN, 'pg_config'),
    LANG: 'C.UTF-8',
    LC_ALL: 'C.UTF-8',
    HOME: home,
    XDG_CONFIG_HOME: path.join(home, 'config'),
    XDG_DATA_HOME: path.join(home, 'data'),
    XDG_RUNTIME_DIR: path.join(home, 'run'),
  };
}

function postgresUser(): { uid: number; gid: number } {
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g') };
}

/** The monitor's settings for `timings`, as ALTER SYSTEM statements. */
function tuning(timings: FailoverTimings): string[] {
  const settings: Record<string, number> = {
    health_check_period: timings.healthCheckPeriod,
    health_check_timeout: Math.min(timings.healthCheckPeriod, 5000),
    health_check_max_retries: 1,
    health_check_retry_delay: Math.max(100, Math.floor(timings.healthCheckPeriod / 2)),
    node_considered_unhealthy_timeout: timings.unhealthyAfter,
    primary_demote_timeout: timings.demoteTimeout,
  };
  return Object.entries(settings).map(
    ([name, value]) => `ALTER SYSTEM SET pgautofailover.${name} = ${Math.round(value)};`,
  );
}

async function monitorStates(monitorUrl: string): Promise<Record<string, string>> {
  const client = new pg.Client({ connectionString: monitorUrl, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    const { rows } = await client.query<{ nodename: string; goalstate: string; reportedstate: string }>(
      'SELECT nodename, goalstate::text, reportedstate::text FROM pgautofailover.node',
    );
    // A state counts once the node reports it has reached what the monitor assigned.
    return Object.fromEntries(
      rows.map((r) => [r.nodename, r.goalstate === r.reportedstate ? r.goalstate : `→${r.goalstate}`]),
    );
  } catch {
    return {};
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function canQuery(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

function canRun(action: () => unknown): boolean {
  try {
    action();
    return true;
  } catch {
    return false;
  }
}

async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`pg_auto_failover: timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function killGroup(keeper: ChildProcess, signal: NodeJS.Signals): void {
  if (keeper.pid === undefined) return;
  try {
    process.kill(-keeper.pid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw new Error(errorMessage(error));
  }
}

/** A keeper stops its PostgreSQL on SIGTERM; what is left after 20 s is killed. */
async function stopGroup(keeper: ChildProcess): Promise<void> {
  if (keeper.pid === undefined) return;
  const exited = new Promise<void>((resolve) => {
    if (keeper.exitCode !== null || keeper.signalCode !== null) resolve();
    else keeper.once('exit', () => resolve());
  });
  killGroup(keeper, 'SIGTERM');
  const timer = setTimeout(() => killGroup(keeper, 'SIGKILL'), 20_000);
  await exited;
  clearTimeout(timer);
  // The keeper's PostgreSQL shares its process group: anything of it still running goes too.
  killGroup(keeper, 'SIGKILL');
}
