import pg from 'pg';
import type { Logger } from '../../lib/logger.ts';
import type { Metrics } from '../../lib/metrics.ts';

/** SQLSTATEs after which the same statement may succeed on a new connection (to a new primary). */
const TRANSIENT_STATES = new Set(['57P01', '57P02', '57P03', '25006', '40001', '40P01']);
const TRANSIENT_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH']);

/**
 * Whether an error is the database going away or changing hands (a failover, a restart, a
 * connection cut) rather than something wrong with the statement: worth retrying.
 */
export function isTransient(error: unknown): boolean {
  const e = error as { code?: unknown; message?: unknown };
  if (
    typeof e?.code === 'string' &&
    (TRANSIENT_STATES.has(e.code) || TRANSIENT_CODES.has(e.code) || e.code.startsWith('08'))
  )
    return true;
  const message = typeof e?.message === 'string' ? e.message : '';
  return /Connection terminated|no primary among|timeout expired|connection timeout/i.test(message);
}

/** One server of a (possibly multi-host) database URL. */
export interface DatabaseHost {
  readonly host: string;
  readonly port: number;
  /** The URL naming this server alone (what node-postgres connects with). */
  readonly url: string;
}

/** How long a probe of one server may take before the next is tried. */
const PROBE_TIMEOUT_MS = 2000;
/** With no primary found (a failover under way), the servers are asked again after this long. */
const SEARCH_BACKOFF_MS = 500;

/**
 * The servers of a database URL. A libpq-style multi-host URL (what `pg_autoctl show uri` prints,
 * `postgres://user@h1:5432,h2:5432/vigil?target_session_attrs=read-write`) gives one per host;
 * node-postgres connects to one host only, so the central finds the primary itself.
 */
export function databaseHosts(url: string): DatabaseHost[] {
  const match = /^(postgres(?:ql)?:\/\/)([^@/]*@)?([^/?#]*)(.*)$/.exec(url);
  if (!match) throw new Error('DATABASE_URL: not a postgres:// URL');
  const [, scheme, auth = '', hostList = '', rest = ''] = match;
  const [pathPart = '', query = ''] = rest.split('?', 2) as [string, string?];
  // Ours to act on, not a server parameter.
  const params = query
    .split('&')
    .filter((p) => p !== '' && !p.startsWith('target_session_attrs='))
    .join('&');
  const hosts = hostList.split(',').filter((h) => h !== '');
  if (hosts.length === 0) return [{ host: 'localhost', port: 5432, url }];
  return hosts.map((hostPort) => {
    const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(hostPort);
    const [host, port] = bracketed
      ? [bracketed[1]!, bracketed[2]]
      : (hostPort.split(':', 2) as [string, string | undefined]);
    const portNumber = Number(port ?? 5432);
    if (!Number.isInteger(portNumber) || portNumber < 1 || portNumber > 65_535)
      throw new Error(`DATABASE_URL: bad port in "${hostPort}"`);
    return {
      host,
      port: portNumber,
      url: `${scheme}${auth}${hostPort}${pathPart}${params ? `?${params}` : ''}`,
    };
  });
}

/**
 * Where the central's connections go: the one server of a plain URL, or — given several — the
 * primary among them, found by asking each (`pg_is_in_recovery()`, `transaction_read_only`, as
 * libpq's `target_session_attrs=read-write` does). Found again when a connection to it fails, so
 * after a failover new connections reach the promoted standby; the pools drop the broken ones.
 */
export class DatabaseTarget {
  readonly #hosts: DatabaseHost[];
  readonly #logger: Logger;
  readonly #metrics: Metrics;
  #primary: DatabaseHost | null = null;
  #finding: Promise<DatabaseHost> | null = null;
  /** After a search found no primary, connections fail at once with its reason until this time. */
  #failed: { until: number; error: Error } | null = null;

  constructor(url: string, logger: Logger, metrics: Metrics) {
    this.#hosts = databaseHosts(url);
    this.#logger = logger;
    this.#metrics = metrics;
    if (this.#hosts.length === 1) this.#primary = this.#hosts[0]!;
  }

  /** The URL of the first server (for a single server, the URL as given). */
  get url(): string {
    return this.#hosts[0]!.url;
  }

  get multiHost(): boolean {
    return this.#hosts.length > 1;
  }

  /** A pool whose connections go to the primary. */
  pool(options: Omit<pg.PoolConfig, 'connectionString' | 'Client'> = {}): pg.Pool {
    if (!this.multiHost) return new pg.Pool({ ...options, connectionString: this.url });
    return new pg.Pool({ ...options, connectionString: this.url, Client: this.#clientClass() });
  }

  /** A client of its own (LISTEN, leases) connecting to the primary. */
  client(options: Omit<pg.ClientConfig, 'connectionString'> = {}): pg.Client {
    if (!this.multiHost) return new pg.Client({ ...options, connectionString: this.url });
    const PrimaryClient = this.#clientClass();
    return new PrimaryClient({ ...options, connectionString: this.url });
  }

  /** The current primary, asking the servers when it is not known. */
  primary(): Promise<DatabaseHost> {
    if (this.#primary) return Promise.resolve(this.#primary);
    if (this.#failed && Date.now() < this.#failed.until) return Promise.reject(this.#failed.error);
    this.#finding ??= this.#find()
      .catch((error: Error) => {
        this.#failed = { until: Date.now() + SEARCH_BACKOFF_MS, error };
        throw error;
      })
      .finally(() => {
        this.#finding = null;
      });
    return this.#finding;
  }

  /** A connection to the primary failed: ask again next time. */
  lost(host: DatabaseHost): void {
    if (!this.multiHost || this.#primary !== host) return;
    this.#primary = null;
    this.#metrics.increment('database_primary_lost_total');
    this.#logger.warn(
      { host: `${host.host}:${host.port}` },
      'database primary unreachable; looking for the primary',
    );
  }

  async #find(): Promise<DatabaseHost> {
    const problems: string[] = [];
    for (const host of this.#hosts) {
      const client = new pg.Client({ connectionString: host.url, connectionTimeoutMillis: PROBE_TIMEOUT_MS });
      client.on('error', () => undefined);
      try {
        await client.connect();
        const { rows } = await client.query<{ standby: boolean; read_only: string }>(
          `SELECT pg_is_in_recovery() AS standby, current_setting('transaction_read_only') AS read_only`,
        );
        if (rows[0]?.standby === false && rows[0].read_only === 'off') {
          this.#primary = host;
          this.#metrics.increment('database_primary_found_total');
          this.#logger.info({ host: `${host.host}:${host.port}` }, 'database primary found');
          return host;
        }
        problems.push(`${host.host}:${host.port} is ${rows[0]?.standby ? 'a standby' : 'read-only'}`);
      } catch (error) {
        problems.push(`${host.host}:${host.port}: ${(error as Error).message}`);
      } finally {
        await client.end().catch(() => undefined);
      }
    }
    throw new Error(`no primary among the database servers (${problems.join('; ')})`);
  }

  /** A node-postgres Client that connects to whichever server is the primary when it connects. */
  #clientClass(): typeof pg.Client {
    const target = this;
    return class PrimaryClient extends pg.Client {
      #host: DatabaseHost | null = null;

      constructor(config?: string | pg.ClientConfig) {
        super(config);
        this.on('error', () => {
          if (this.#host) target.lost(this.#host);
        });
      }

      // biome-ignore lint/suspicious/noExplicitAny: node-postgres' callback and promise overloads
      override connect(callback?: (...args: any[]) => void): any {
        const connecting = target.primary().then(
          (host) =>
            new Promise<void>((resolve, reject) => {
              this.#host = host;
              const self = this as unknown as { host: string; port: number };
              self.host = host.host;
              self.port = host.port;
              super.connect((error?: Error) => {
                if (error) {
                  target.lost(host);
                  reject(error);
                } else resolve();
              });
            }),
        );
        if (!callback) return connecting.then(() => this);
        connecting.then(
          () => callback(null, this),
          (error: Error) => callback(error),
        );
        return undefined;
      }
    } as unknown as typeof pg.Client;
  }
}
