import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { errorMessage } from '../../lib/errors.ts';
import type { Logger } from '../../lib/logger.ts';
import type { Metrics } from '../../lib/metrics.ts';
import { PgListener } from '../db/listener.ts';
import { ALARM_CHANNEL, type AlarmNotice, decodeNotice, type LocalFeed } from './announce.ts';

export type AlarmListener = (alarm: AlarmNotice) => void;

/**
 * The operator feed: fans alarms out to the connected consoles — told directly by this node's
 * ingest and engine right after their commit, and by LISTEN on PostgreSQL for what other central
 * nodes committed. Reconnects by itself if the database connection drops.
 */
export class AlarmFeed implements LocalFeed {
  /** This node, in the NOTIFYs it sends, so that it skips its own when they come back. */
  readonly origin = randomUUID();
  readonly #logger: Logger;
  readonly #metrics: Metrics;
  readonly #listeners = new Set<AlarmListener>();
  readonly #listener: PgListener;

  constructor(connect: () => pg.Client, logger: Logger, metrics: Metrics) {
    this.#logger = logger;
    this.#metrics = metrics;
    this.#listener = new PgListener({
      connect,
      channels: [ALARM_CHANNEL],
      logger,
      onMessage: (_channel, payload) => this.#heard(payload),
    });
  }

  start(): Promise<void> {
    return this.#listener.start();
  }

  async stop(): Promise<void> {
    this.#listeners.clear();
    await this.#listener.stop();
  }

  subscribe(listener: AlarmListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  get subscribers(): number {
    return this.#listeners.size;
  }

  /** An alarm committed on this node: to its consoles now, not after a round trip through the database. */
  deliver(alarm: AlarmNotice): void {
    for (const listener of this.#listeners) listener(alarm);
  }

  #heard(payload: string): void {
    let notice: ReturnType<typeof decodeNotice>;
    try {
      notice = decodeNotice(payload);
    } catch (error) {
      this.#metrics.increment('feed_notifications_unreadable_total');
      this.#logger.error(
        { err: errorMessage(error), payload: payload.slice(0, 200) },
        'alarm feed: unreadable notification, not shown',
      );
      return;
    }
    if (notice.origin !== this.origin) this.deliver(notice.alarm);
  }
}
