import { createHash, randomUUID } from 'node:crypto';
import type pg from 'pg';
import { errorMessage } from '../../lib/errors.ts';
import type { Logger } from '../../lib/logger.ts';
import type { Metrics } from '../../lib/metrics.ts';

/**
 * Sites are split into this many partitions; each is owned by one worker at a time. Every worker
 * must use the same number and the same procedure configuration: a worker that sees another among
 * the members takes nothing (a new owner replays the old one's inputs, and an engine configured
 * otherwise would reach other decisions from them).
 */
export const PARTITIONS = 32;

/** Advisory lock keys ("vig" + a number): one lock per partition, one shared lock per live worker. */
const PARTITION_LOCK = 0x76_69_67_02;
const MEMBER_LOCK = 0x76_69_67_03;

/** How often a worker checks the members and takes or gives back partitions. */
export const REBALANCE_MS = 2000;

/** A site's partition: the first 28 bits of the MD5 of its id, so SQL computes the same one. */
export function partitionOf(siteId: string, count = PARTITIONS): number {
  return Number.parseInt(createHash('md5').update(siteId).digest('hex').slice(0, 7), 16) % count;
}

/** The same as `partitionOf` in SQL, for a column or parameter holding the site id. */
export function partitionSql(siteIdSql: string, countSql = String(PARTITIONS)): string {
  return `((('x' || substr(md5(${siteIdSql}), 1, 7))::bit(28)::int) % ${countSql})`;
}

/** What proves a partition is still this worker's: the token its lease wrote when it took it. */
export interface PartitionFence {
  readonly partition: number;
  /** The lease's token (new for every lease connection). */
  readonly holder: string;
}

/**
 * Whether the partition is still held by this lease, asked on the connection that is about to
 * commit a step (inside its transaction). The row is read FOR SHARE: a worker taking the partition
 * over waits for this step to commit before it loads the partition, and a step that starts after
 * it took over commits nothing.
 */
export async function holdsPartition(
  db: Pick<pg.ClientBase, 'query'>,
  fence: PartitionFence,
): Promise<boolean> {
  const { rowCount } = await db.query({
    name: 'partition-fence',
    text: 'SELECT 1 FROM procedure_partition_holders WHERE partition = $1 AND holder = $2 FOR SHARE',
    values: [fence.partition, fence.holder],
  });
  return rowCount === 1;
}

/** How long taking a partition waits for its old holder's step in flight before trying later. */
const TAKE_OVER_LOCK_TIMEOUT_MS = 5000;

/**
 * Names `holder` as the partition's holder (its advisory lock already taken), waiting for a step
 * the old holder has in flight (it reads the row FOR SHARE). False when that step has not committed
 * within `lockTimeoutMs`.
 */
export async function claimPartition(
  client: Pick<pg.ClientBase, 'query'>,
  partition: number,
  holder: string,
  lockTimeoutMs = TAKE_OVER_LOCK_TIMEOUT_MS,
): Promise<boolean> {
  try {
    await client.query('BEGIN');
    await client.query(`SET LOCAL lock_timeout = ${Math.round(lockTimeoutMs)}`);
    await client.query(
      `INSERT INTO procedure_partition_holders (partition, holder) VALUES ($1, $2)
       ON CONFLICT (partition) DO UPDATE SET holder = EXCLUDED.holder, taken_at = now()`,
      [partition, holder],
    );
    await client.query('COMMIT');
    return true;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    if ((error as { code?: string }).code === '55P03') return false;
    throw error;
  }
}

export interface PartitionOwner {
  /** Partitions just taken: their engines are built before any of their inputs is applied. */
  acquired(partitions: readonly number[]): Promise<void>;
  /** A partition given back: its queued work is finished first. */
  released(partition: number): Promise<void>;
  /** The lease connection is gone: these partitions are no longer ours, stop at once. */
  lost(partitions: readonly number[]): void;
}

interface LockCounts {
  members: number;
  mismatched: number;
  held: number[];
}

/**
 * Which partitions of the procedure engine this worker owns: PostgreSQL session advisory locks on a
 * connection of its own. Every worker holds a shared member lock; each takes a fair share,
 * ceil(partitions / members), of the free partitions and gives back what it holds beyond its
 * share, so a worker that starts gets work within two passes and one that dies (its connection
 * closes, PostgreSQL frees its locks) leaves its partitions to the others at their next pass.
 */
export class PartitionLeases {
  readonly #connect: () => pg.Client;
  readonly #logger: Logger;
  readonly #metrics: Metrics;
  readonly #owner: PartitionOwner;
  readonly #count: number;
  /** The member lock's second key: the partition count and configuration, as one number. */
  readonly #memberKey: number;
  readonly #mine = new Set<number>();
  #client: pg.Client | null = null;
  /** This lease connection's fencing token. */
  #holder: string | null = null;
  #timer: NodeJS.Timeout | null = null;
  #pass: Promise<void> = Promise.resolve();
  #stopped = true;

  constructor(options: {
    connect: () => pg.Client;
    logger: Logger;
    metrics: Metrics;
    owner: PartitionOwner;
    count?: number;
    /** What every worker's engine must agree on (the escalation table), as text. */
    configuration?: string;
  }) {
    this.#connect = options.connect;
    this.#logger = options.logger;
    this.#metrics = options.metrics;
    this.#owner = options.owner;
    this.#count = options.count ?? PARTITIONS;
    this.#memberKey = Number.parseInt(
      createHash('md5')
        .update(`${this.#count}\n${options.configuration ?? ''}`)
        .digest('hex')
        .slice(0, 7),
      16,
    );
  }

  get count(): number {
    return this.#count;
  }

  owns(partition: number): boolean {
    return this.#mine.has(partition);
  }

  /**
   * A runner found its partition's lock gone at a commit: it is not ours any more. Forgotten (and
   * unlocked, should the lease still hold it), so that a later pass takes it afresh.
   */
  forget(partition: number): void {
    if (!this.#mine.delete(partition)) return;
    this.#logger.warn({ partition }, 'procedure partition found not held at a commit; forgotten');
    this.#client
      ?.query('SELECT pg_advisory_unlock($1, $2)', [PARTITION_LOCK, partition])
      .catch(() => undefined);
  }

  /** The fence of a partition this worker holds, or null. */
  fenceOf(partition: number): PartitionFence | null {
    return this.#mine.has(partition) && this.#holder !== null ? { partition, holder: this.#holder } : null;
  }

  get owned(): readonly number[] {
    return [...this.#mine].sort((a, b) => a - b);
  }

  /** Joins the members and takes this worker's share before returning (all of them when alone). */
  async start(): Promise<void> {
    this.#stopped = false;
    await this.rebalance();
    this.#timer = setInterval(() => void this.rebalance(), REBALANCE_MS);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await this.#pass;
    for (const partition of this.owned) await this.#giveBack(partition);
    const client = this.#client;
    this.#client = null;
    await client?.end().catch(() => undefined);
  }

  /** One pass: join if not yet a member, then take or give back partitions to hold a fair share. */
  rebalance(): Promise<void> {
    this.#pass = this.#pass.then(() => this.#rebalance()).catch((error) => this.#drop(error));
    return this.#pass;
  }

  async #rebalance(): Promise<void> {
    if (this.#stopped) return;
    const client = this.#client ?? (await this.#join());
    const counts = await this.#counts(client);
    if (counts.mismatched > 0) {
      this.#metrics.increment('procedure_partition_mismatch_total');
      this.#logger.error(
        { workers: counts.mismatched, partitions: this.#count },
        'another worker runs the procedures with another configuration (partitions or escalation table): taking none until it stops',
      );
      return;
    }
    const share = Math.ceil(this.#count / Math.max(1, counts.members));
    for (const partition of this.owned.slice(share).reverse()) await this.#giveBack(partition);
    if (this.#mine.size >= share) return;
    const taken: number[] = [];
    const held = new Set(counts.held);
    for (let partition = 0; partition < this.#count && this.#mine.size < share; partition++) {
      if (held.has(partition)) continue;
      const { rows } = await client.query<{ got: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS got', [
        PARTITION_LOCK,
        partition,
      ]);
      if (!rows[0]?.got) continue;
      if (!(await this.#claim(client, partition))) continue;
      this.#mine.add(partition);
      taken.push(partition);
    }
    if (taken.length === 0) return;
    this.#metrics.increment('procedure_partitions_taken_total', {}, taken.length);
    this.#logger.info({ partitions: taken, members: counts.members }, 'procedure partitions taken');
    await this.#owner.acquired(taken);
  }

  async #join(): Promise<pg.Client> {
    const client = this.#connect();
    const lost = (error: unknown) => {
      if (this.#client === client) this.#drop(error);
    };
    client.on('error', lost);
    client.on('end', () => lost(new Error('connection ended')));
    try {
      await client.connect();
      await client.query('SELECT pg_advisory_lock_shared($1, $2)', [MEMBER_LOCK, this.#memberKey]);
      this.#holder = randomUUID();
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
    this.#client = client;
    return client;
  }

  /**
   * Writes this lease's token as the partition's holder, once its lock is ours. When the old
   * holder's step in flight takes too long, the lock is given back and the partition tried again at
   * a later pass.
   */
  async #claim(client: pg.Client, partition: number): Promise<boolean> {
    if (await claimPartition(client, partition, this.#holder!)) return true;
    this.#metrics.increment('procedure_partition_claims_deferred_total');
    this.#logger.warn(
      { partition },
      'procedure partition: its old holder has a step in flight; trying later',
    );
    await client.query('SELECT pg_advisory_unlock($1, $2)', [PARTITION_LOCK, partition]);
    return false;
  }

  async #counts(client: pg.Client): Promise<LockCounts> {
    const { rows } = await client.query<{ members: number; mismatched: number; held: number[] }>(
      `SELECT count(*) FILTER (WHERE classid = $1::oid AND objid = $3::oid)::int AS members,
              count(*) FILTER (WHERE classid = $1::oid AND objid <> $3::oid)::int AS mismatched,
              coalesce(array_agg(objid::int) FILTER (WHERE classid = $2::oid), '{}') AS held
         FROM pg_locks
        WHERE locktype = 'advisory' AND objsubid = 2 AND granted AND classid IN ($1::oid, $2::oid)
          AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
      [MEMBER_LOCK, PARTITION_LOCK, this.#memberKey],
    );
    return rows[0] ?? { members: 1, mismatched: 0, held: [] };
  }

  async #giveBack(partition: number): Promise<void> {
    this.#mine.delete(partition);
    try {
      await this.#owner.released(partition);
    } finally {
      await this.#client?.query('SELECT pg_advisory_unlock($1, $2)', [PARTITION_LOCK, partition]);
    }
    this.#logger.info({ partition }, 'procedure partition given back');
  }

  #drop(error: unknown): void {
    const partitions = this.owned;
    this.#mine.clear();
    const client = this.#client;
    this.#client = null;
    client?.end().catch(() => undefined);
    if (partitions.length > 0) {
      this.#metrics.increment('procedure_partitions_lost_total', {}, partitions.length);
      this.#logger.warn({ err: errorMessage(error), partitions }, 'procedure partition lease lost');
      this.#owner.lost(partitions);
    } else if (!this.#stopped) {
      this.#logger.warn({ err: errorMessage(error) }, 'procedure partition lease: database unreachable');
    }
  }
}
