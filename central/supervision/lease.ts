import type pg from 'pg';
import { errorMessage } from '../../lib/errors.ts';
import type { Logger } from '../../lib/logger.ts';
import type { Metrics } from '../../lib/metrics.ts';

/** The advisory lock key of the time-driven supervision ("vigil" + a number). */
const SUPERVISION_LOCK = 0x76_69_67_01;

/**
 * Which central node runs the time-driven supervision (paths, schedules, test reports, media purge,
 * sequence holes): the one holding a PostgreSQL session advisory lock on a connection of its own.
 * Two nodes would otherwise raise every failure twice and send its SMS twice. When the holder dies,
 * its connection closes and the lock is free: another node takes it at its next pass (10 s).
 */
export class SupervisionLease {
  readonly #connect: () => pg.Client;
  readonly #logger: Logger;
  readonly #metrics: Metrics;
  #client: pg.Client | null = null;
  #held = false;

  constructor(connect: () => pg.Client, logger: Logger, metrics: Metrics) {
    this.#connect = connect;
    this.#logger = logger;
    this.#metrics = metrics;
  }

  /** Whether this node may run the pass now (taking the lease if it is free). */
  async hold(): Promise<boolean> {
    try {
      if (!this.#client) {
        const client = this.#connect();
        client.on('error', (error) => this.#lost(error));
        client.on('end', () => this.#lost(new Error('connection ended')));
        await client.connect();
        this.#client = client;
      }
      if (this.#held) return true;
      const { rows } = await this.#client.query<{ got: boolean }>('SELECT pg_try_advisory_lock($1) AS got', [
        SUPERVISION_LOCK,
      ]);
      this.#held = rows[0]?.got === true;
      if (this.#held) {
        this.#metrics.increment('supervision_lease_taken_total');
        this.#logger.info('this node runs the time-driven supervision');
      }
      return this.#held;
    } catch (error) {
      this.#lost(error);
      return false;
    }
  }

  get held(): boolean {
    return this.#held;
  }

  async release(): Promise<void> {
    const client = this.#client;
    this.#client = null;
    this.#held = false;
    await client?.end().catch(() => undefined);
  }

  #lost(error: unknown): void {
    if (this.#held) this.#logger.warn({ err: errorMessage(error) }, 'supervision lease lost');
    this.#held = false;
    this.#client = null;
  }
}
