import type pg from 'pg';
import { errorMessage } from '../../lib/errors.ts';
import type { Logger } from '../../lib/logger.ts';
import type { Metrics } from '../../lib/metrics.ts';
import { inTransaction } from './pool.ts';

/** The tables partitioned by month (migration 024), each with a DEFAULT partition `<table>_default`. */
export const MONTHLY_TABLES = ['events', 'procedure_inputs', 'alarm_actions'] as const;

/** How often the partitions ahead are checked; they are made two months ahead, so a miss is harmless. */
export const PARTITION_CHECK_INTERVAL_MS = 60 * 60_000;

/**
 * Creating a partition locks its parent (and, for events, the alarms that reference it) against
 * writes; waiting behind a long report, the request would hold up every insert queued after it — an
 * alarm among them. So it waits briefly, and gives up to try again at the next check (the partitions
 * are made two months ahead: hundreds of checks before one is needed).
 */
const LOCK_TIMEOUT = '200ms';

/**
 * Keeps each monthly table's partitions from this month to two months ahead (the database's clock,
 * which chooses a row's partition), and says when rows have gone to a DEFAULT partition (no
 * partition for their month: one could not be created in time). A table that fails is logged and
 * counted and does not stop the others.
 */
export class TimePartitions {
  readonly #pool: pg.Pool;
  readonly #logger: Logger;
  readonly #metrics: Metrics;
  #checkedAt = Number.NEGATIVE_INFINITY;

  constructor(pool: pg.Pool, logger: Logger, metrics: Metrics) {
    this.#pool = pool;
    this.#logger = logger;
    this.#metrics = metrics;
  }

  /** Check now when the last check is older than PARTITION_CHECK_INTERVAL_MS (`now`: the caller's clock). */
  async maintain(now: number): Promise<void> {
    if (now - this.#checkedAt < PARTITION_CHECK_INTERVAL_MS) return;
    this.#checkedAt = now;
    for (const table of MONTHLY_TABLES) {
      try {
        await this.#ensureAhead(table);
        await this.#reportDefaultRows(table);
      } catch (error) {
        this.#metrics.increment('db_partition_maintenance_failures_total', { table });
        this.#logger.error({ table, err: errorMessage(error) }, 'time partitions not maintained; will retry');
        this.#checkedAt = Number.NEGATIVE_INFINITY;
      }
    }
  }

  async #ensureAhead(table: string): Promise<void> {
    const rows = await inTransaction(this.#pool, async (client) => {
      await client.query(`SET LOCAL lock_timeout = '${LOCK_TIMEOUT}'`);
      const result = await client.query<{ created: string | null }>(
        'SELECT create_month_partition($1::regclass, m) AS created FROM months_to_partition(now()) AS m',
        [table],
      );
      return result.rows;
    });
    for (const { created } of rows) {
      if (!created) continue;
      this.#metrics.increment('db_partitions_created_total', { table });
      this.#logger.info({ table, partition: created }, 'time partition created');
    }
  }

  async #reportDefaultRows(table: string): Promise<void> {
    // Capped: the point is that there are any, not to count a large table every hour.
    const { rows } = await this.#pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM (SELECT 1 FROM ${table}_default LIMIT 10000) AS d`,
    );
    const n = rows[0]?.n ?? 0;
    if (n === 0) return;
    this.#metrics.increment('db_partition_default_rows_found_total', { table });
    this.#logger.error(
      { table, rows: n >= 10_000 ? '10000+' : n },
      `rows in ${table}_default: no partition for their month; a partition for it cannot be created until they are moved`,
    );
  }
}
