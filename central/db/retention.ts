import type pg from 'pg';
import { errorMessage } from '../../lib/errors.ts';
import type { Logger } from '../../lib/logger.ts';
import type { Metrics } from '../../lib/metrics.ts';
import { inTransaction } from './pool.ts';
import { MONTHLY_TABLES } from './time-partitions.ts';

/** The shortest retention the central accepts: a year of evidence, whatever a contract says. */
export const MIN_RETENTION_MONTHS = 12;

/** How often the retention is applied; once a day is plenty for a policy counted in months. */
export const RETENTION_CHECK_INTERVAL_MS = 24 * 60 * 60_000;

/** Incidents removed per transaction: short transactions, nothing held up behind them. */
const BATCH = 500;
/** Pages (8 kB) of a month that must stay read per transaction to remove its log events: ~8 MB. */
const PAGES_PER_BATCH = 1000;

/**
 * Every table holding rows of an incident, in the order they are removed (what refers to another
 * goes first). A migration that adds a foreign key to `alarms` must add its table here: a test
 * compares this list with the database's foreign keys.
 */
export const INCIDENT_TABLES = [
  'event_media',
  'follow_ups',
  'camera_grants',
  'alarm_actions',
  'procedure_inputs',
  'events',
] as const;

/** Which column a monthly table is partitioned by. */
const PARTITION_KEY: Record<(typeof MONTHLY_TABLES)[number], string> = {
  events: 'received_at',
  procedure_inputs: 'stored_at',
  alarm_actions: 'stored_at',
};

/**
 * Given `e`, the ids of events removed: their ids leave the register (which keeps each id stored
 * once) and the events that waited for them go too. In the statement that removes them: the
 * foreign keys are checked at its end.
 */
const FORGET_EVENTS = `w AS (DELETE FROM awaiting_events WHERE event_id IN (SELECT id FROM e) OR relates_to IN (SELECT id FROM e)),
  r AS (DELETE FROM event_ids WHERE id IN (SELECT id FROM e))`;

export interface RetentionReport {
  /** Everything before this (the first of a month, UTC) that no kept incident needs is gone. */
  readonly before: Date;
  readonly incidents: number;
  readonly logRows: number;
  readonly partitionsDropped: readonly string[];
}

/**
 * The retention policy: an incident closed more than `months` ago is removed with everything of it
 * (events, procedure inputs, trail, camera grants, pictures, follow-up), unless a picture of it is
 * held for the police; so are events that belong to no incident and inputs of no incident from
 * before then. A month of the partitioned tables that then holds nothing of a kept incident is
 * dropped whole (its files go back to the system at once); one that does keeps the rows of its
 * kept incidents and loses the rest row by row. Open incidents are never removed.
 *
 * The trail is append-only (triggers refuse UPDATE and DELETE); this job alone lifts that, for its
 * own transactions, with `vigil.retention_purge`. Each run that removes something writes one
 * audit_log row with what and up to when. Off unless configured (`VIGIL_RETENTION_MONTHS`): how
 * long an ARC keeps its evidence is set by its contracts and national rules.
 */
export class Retention {
  readonly #pool: pg.Pool;
  readonly #logger: Logger;
  readonly #metrics: Metrics;
  readonly #months: number;
  #checkedAt = Number.NEGATIVE_INFINITY;

  readonly #pagesPerBatch: number;

  constructor(
    pool: pg.Pool,
    logger: Logger,
    metrics: Metrics,
    months: number,
    /** For tests: how many pages of a month that stays one transaction reads. */
    pagesPerBatch = PAGES_PER_BATCH,
  ) {
    if (!Number.isInteger(months) || months < MIN_RETENTION_MONTHS)
      throw new Error(`retention: at least ${MIN_RETENTION_MONTHS} whole months (got ${months})`);
    this.#pool = pool;
    this.#logger = logger;
    this.#metrics = metrics;
    this.#months = months;
    this.#pagesPerBatch = pagesPerBatch;
  }

  /** Applies the policy when the last run is older than a day (`now`: the caller's clock). */
  async maintain(now: number): Promise<RetentionReport | null> {
    if (now - this.#checkedAt < RETENTION_CHECK_INTERVAL_MS) return null;
    this.#checkedAt = now;
    this.#metrics.increment('retention_runs_total');
    try {
      return await this.apply(new Date(now));
    } catch (error) {
      this.#metrics.increment('retention_failures_total');
      this.#logger.error({ err: errorMessage(error) }, 'retention not applied; will retry');
      this.#checkedAt = Number.NEGATIVE_INFINITY;
      return null;
    }
  }

  async apply(now: Date): Promise<RetentionReport> {
    const { rows } = await this.#pool.query<{ before: Date }>(
      `SELECT date_trunc('month', $1::timestamptz AT TIME ZONE 'UTC' - make_interval(months => $2)) AT TIME ZONE 'UTC' AS before`,
      [now, this.#months],
    );
    const before = rows[0]!.before;
    let incidents = 0;
    for (;;) {
      const removed = await this.#removeIncidents(before);
      incidents += removed;
      if (removed < BATCH) break;
    }
    let logRows = 0;
    const partitionsDropped: string[] = [];
    for (const table of MONTHLY_TABLES) {
      for (const partition of await this.#monthsBefore(table, before)) {
        if (await this.#dropIfUnneeded(table, partition)) partitionsDropped.push(partition);
        else logRows += await this.#removeLogRows(partition, table);
      }
      logRows += await this.#removeLogRows(`${table}_default`, table, before);
    }
    const report = { before, incidents, logRows, partitionsDropped };
    if (incidents + logRows + partitionsDropped.length > 0) {
      await this.#pool.query(
        `INSERT INTO audit_log (actor, action, subject, detail) VALUES ('retention', 'retention.applied', $1, $2)`,
        [before.toISOString(), { months: this.#months, incidents, logRows, partitionsDropped }],
      );
      this.#metrics.increment('retention_incidents_removed_total', {}, incidents);
      this.#metrics.increment('retention_rows_removed_total', {}, logRows);
      this.#metrics.increment('retention_partitions_dropped_total', {}, partitionsDropped.length);
      this.#logger.info(
        { before: before.toISOString(), incidents, logRows, partitionsDropped },
        'retention applied',
      );
    }
    return report;
  }

  /** One batch of incidents closed before `before`, with every row of them; how many. */
  async #removeIncidents(before: Date): Promise<number> {
    return inTransaction(this.#pool, async (client) => {
      await client.query(`SET LOCAL vigil.retention_purge = 'on'`);
      const { rows } = await client.query<{ id: string }>(
        `SELECT id::text FROM alarms a
          WHERE status = 'closed' AND closed_at < $1
            AND NOT EXISTS (SELECT 1 FROM event_media m WHERE m.alarm_id = a.id AND m.held_at IS NOT NULL)
          ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED`,
        [before, BATCH],
      );
      const ids = rows.map((r) => r.id);
      if (ids.length === 0) return 0;
      for (const table of INCIDENT_TABLES.filter((t) => t !== 'events'))
        await client.query(`DELETE FROM ${table} WHERE alarm_id = ANY($1::bigint[])`, [ids]);
      // An incident and its events name each other: removed in one statement (the foreign keys
      // are checked at its end), the register of their ids with them.
      await client.query(
        `WITH e AS (DELETE FROM events WHERE alarm_id = ANY($1::bigint[]) RETURNING id),
              a AS (DELETE FROM alarms WHERE id = ANY($1::bigint[])), ${FORGET_EVENTS}
         SELECT count(*) FROM e`,
        [ids],
      );
      return ids.length;
    });
  }

  /** The month partitions of `table` that end on or before `before`, oldest first. */
  async #monthsBefore(table: string, before: Date): Promise<string[]> {
    const { rows } = await this.#pool.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = $1::regclass AND c.relname ~ '_y[0-9]{4}m[0-9]{2}$'
          AND (to_date(substring(c.relname from '_y([0-9]{4})m') || substring(c.relname from 'm([0-9]{2})$'), 'YYYYMM')
               + interval '1 month') <= ($2::timestamptz AT TIME ZONE 'UTC')
        ORDER BY c.relname`,
      [table, before],
    );
    return rows.map((r) => r.name);
  }

  /**
   * Drops a month that holds nothing of a kept incident (the rows of removed ones are gone
   * already), the ids of its events with it. Waits briefly for the lock on the parent, as creating
   * a partition does (time-partitions.ts): false, and tried again the next day, rather than holding
   * up the alarms queued behind it.
   */
  async #dropIfUnneeded(table: string, partition: string): Promise<boolean> {
    try {
      return await inTransaction(this.#pool, async (client) => {
        const { rows } = await client.query<{ kept: boolean }>(
          `SELECT EXISTS (SELECT 1 FROM ${partition} WHERE alarm_id IS NOT NULL) AS kept`,
        );
        if (rows[0]?.kept) return false;
        if (table === 'events')
          await client.query(`WITH e AS (SELECT id FROM ${partition}), ${FORGET_EVENTS} SELECT 1`);
        await client.query(`SET LOCAL lock_timeout = '200ms'`);
        await client.query(`ALTER TABLE ${table} DETACH PARTITION ${partition}`);
        await client.query(`DROP TABLE ${partition}`);
        return true;
      });
    } catch (error) {
      if ((error as { code?: string }).code !== '55P03') throw error;
      this.#metrics.increment('retention_partition_drops_deferred_total', { table });
      this.#logger.warn({ partition }, 'retention: the table is busy; the month is dropped at a later run');
      return false;
    }
  }

  /**
   * Rows of no incident from a month that stays (or the DEFAULT partition's before `before`), a
   * range of pages at a time: each batch reads only its own pages (a TID range scan), so a month of
   * millions of rows costs one pass over it, not one per batch.
   */
  async #removeLogRows(
    partition: string,
    table: (typeof MONTHLY_TABLES)[number],
    before?: Date,
  ): Promise<number> {
    const old = before ? `AND ${PARTITION_KEY[table]} < $3` : '';
    const statement = `WITH e AS (DELETE FROM ${partition}
                                   WHERE ctid >= format('(%s,0)', $1::bigint)::tid AND ctid < format('(%s,0)', $2::bigint)::tid
                                     AND alarm_id IS NULL ${old}
                                   RETURNING id)${table === 'events' ? `, ${FORGET_EVENTS}` : ''}
      SELECT count(*)::int AS n FROM e`;
    const { rows } = await this.#pool.query<{ pages: number }>(
      `SELECT (pg_relation_size($1::regclass) / current_setting('block_size')::int)::int AS pages`,
      [partition],
    );
    let total = 0;
    const step = this.#pagesPerBatch;
    for (let page = 0; page < (rows[0]?.pages ?? 0); page += step) {
      total += await inTransaction(this.#pool, async (client) => {
        await client.query(`SET LOCAL vigil.retention_purge = 'on'`);
        const range = [page, page + step];
        const result = await client.query<{ n: number }>(statement, before ? [...range, before] : range);
        return result.rows[0]?.n ?? 0;
      });
    }
    return total;
  }
}
