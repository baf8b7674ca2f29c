import type pg from 'pg';
import type { Logger } from '../../lib/logger.ts';
import type { AlarmView } from '../alarms.ts';
import { PgListener } from '../db/listener.ts';
import { ALARM_CHANNEL } from '../ingest/event-store.ts';

export type AlarmListener = (alarm: AlarmView) => void;

/**
 * The operator feed: LISTENs on PostgreSQL for alarms committed by any central node and fans them
 * out to the connected consoles. Reconnects by itself if the database connection drops.
 */
export class AlarmFeed {
  readonly #logger: Logger;
  readonly #listeners = new Set<AlarmListener>();
  readonly #listener: PgListener;

  constructor(connect: () => pg.Client, logger: Logger) {
    this.#logger = logger;
    this.#listener = new PgListener({
      connect,
      channels: [ALARM_CHANNEL],
      logger,
      onMessage: (_channel, payload) => this.#deliver(payload),
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

  #deliver(payload: string): void {
    let alarm: AlarmView;
    try {
      alarm = JSON.parse(payload) as AlarmView;
    } catch {
      this.#logger.error('alarm feed: unreadable notification');
      return;
    }
    for (const listener of this.#listeners) listener(alarm);
  }
}
