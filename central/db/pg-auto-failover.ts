import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { errorMessage } from '../../lib/errors.ts';
import type { Logger } from '../../lib/logger.ts';
import { freePort } from './embedded.ts';

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
  /** Every node, libpq style: `postgres://…@h1:p1,h2:p2/vigil?target_session_attrs=read-write`. */
  readonly url: string;
  readonly monitorUrl: string;
  readonly nodes: readonly FailoverNode[];
  /** The nodes' states as the monitor assigned them (name → state). */
  states(): Promise<Record<string, string>>;
  stop(): Promise<void>;
}

export function pgAutoFailoverInstalled(): boolean {
  return existsSync(PG_AUTOCTL) && existsSync(path.join(PG_BIN, 'postgres'));
}

/**
 * PostgreSQL with a synchronous standby and automatic failover on one machine, from Debian's
 * `pg-auto-failover-cli` and `postgresql-15-auto-failover`: a monitor and `nodes` data nodes (the
 * first the primary, the others synchronous standbys: a commit returns once a standby has it), each
 * run by its `pg_autoctl` keeper in a process group of its own, on loopback ports. Trust
 * authentication on loopback only: for tests and a one-machine trial (docs/cluster.md says what
 * production sets instead). As root, everything runs as the `postgres` user.
 */
export async function startPgAutoFailover(options: {
  dir: string;
  nodes?: number;
  timings?: FailoverTimings;
  logger: Logger;
}): Promise<FailoverCluster> {
  if (!pgAutoFailoverInstalled())
    throw new Error(
      'pg_auto_failover is not installed: apt-get install postgresql-15-auto-failover pg-auto-failover-cli',
    );
  const owner = process.getuid?.() === 0 ? postgresUser() : null;
  const dir = path.resolve(options.dir);
  // pg_autoctl keeps each node's configuration and state under $XDG_CONFIG_HOME and
  // $XDG_DATA_HOME by the data directory's path: kept inside `dir`, so a new cluster in the same
  // place never picks up an old one's (its monitor's port, its node ids).
  const home = path.join(dir, 'home');
  mkdirSync(home, { recursive: true, mode: 0o700 });
  if (owner) execFileSync('chown', ['-R', `${owner.uid}:${owner.gid}`, dir]);
  const env = autoctlEnv(home);
  const keepers: ChildProcess[] = [];
  const run = (args: string[]) => execFileSync(PG_AUTOCTL, args, { env, stdio: 'pipe', ...(owner ?? {}) });
  const keep = (pgdata: string) => {
    const keeper = spawn(PG_AUTOCTL, ['run', '--pgdata', pgdata], {
      env,
      stdio: 'ignore',
      detached: true,
      ...(owner ?? {}),
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
    run([
      'create',
      'monitor',
      '--pgdata',
      monitorData,
      '--pgport',
      String(monitorPort),
      '--hostname',
      '127.0.0.1',
      '--auth',
      'trust',
      '--no-ssl',
    ]);
    keep(monitorData);
    const monitorUrl = `postgres://autoctl_node@127.0.0.1:${monitorPort}/pg_auto_failover`;
    await waitFor(() => canQuery(monitorUrl), 'the pg_auto_failover monitor', 60_000);
    await tune(
      `postgres://postgres@127.0.0.1:${monitorPort}/pg_auto_failover`,
      options.timings ?? LOCAL_TIMINGS,
    );
    const nodes: FailoverNode[] = [];
    for (let i = 1; i <= (options.nodes ?? 2); i++) {
      const name = `node${i}`;
      const port = await freePort();
      const pgdata = path.join(dir, name);
      // The first node initialises the database; each next one is a base backup of the primary.
      run([
        'create',
        'postgres',
        '--pgdata',
        pgdata,
        '--pgport',
        String(port),
        '--hostname',
        '127.0.0.1',
        '--name',
        name,
        '--dbname',
        'vigil',
        '--auth',
        'trust',
        '--no-ssl',
        '--monitor',
        monitorUrl,
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
    }
    await waitFor(
      async () => (await monitorStates(monitorUrl)).node1 === 'primary',
      'node1 primary with a synchronous standby',
      60_000,
    );
    const hosts = nodes.map((n) => `127.0.0.1:${n.port}`).join(',');
    options.logger.info({ monitorPort, nodes: nodes.map((n) => n.port) }, 'pg_auto_failover cluster started');
    return {
      url: `postgres://postgres@${hosts}/vigil?target_session_attrs=read-write`,
      monitorUrl,
      nodes,
      states: () => monitorStates(monitorUrl),
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

async function tune(url: string, timings: FailoverTimings): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const settings: Record<string, number> = {
      health_check_period: timings.healthCheckPeriod,
      health_check_timeout: Math.min(timings.healthCheckPeriod, 5000),
      health_check_max_retries: 1,
      health_check_retry_delay: Math.max(100, Math.floor(timings.healthCheckPeriod / 2)),
      node_considered_unhealthy_timeout: timings.unhealthyAfter,
      primary_demote_timeout: timings.demoteTimeout,
    };
    for (const [name, value] of Object.entries(settings))
      await client.query(`ALTER SYSTEM SET pgautofailover.${name} = ${Math.round(value)}`);
    await client.query('SELECT pg_reload_conf()');
  } finally {
    await client.end();
  }
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
