import pg from 'pg';
import type { Logger } from '../../lib/logger.ts';
import type { AlarmView } from '../alarms.ts';
import { ALARM_CHANNEL } from '../ingest/event-store.ts';

export type AlarmListener = (alarm: AlarmView) => void;

/**
 * The operator feed: LISTENs on PostgreSQL for alarms committed by any central node and fans them
 * out to the connected consoles. Reconnects by itself if the database connection drops.
 */
export class AlarmFeed {
  readonly #url: string;
  readonly #logger: Logger;
  readonly #listeners = new Set<AlarmListener>();
  #client: pg.Client | null = null;
  #stopped = false;
  #retry: NodeJS.Timeout | null = null;

  constructor(databaseUrl: string, logger: Logger) {
    this.#url = databaseUrl;
    this.#logger = logger;
  }

  async start(): Promise<void> {
    this.#stopped = false;
    await this.#connect();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#retry) clearTimeout(this.#retry);
    this.#listeners.clear();
    await this.#client?.end().catch(() => undefined);
    this.#client = null;
  }

  subscribe(listener: AlarmListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  get subscribers(): number {
    return this.#listeners.size;
  }

  async #connect(): Promise<void> {
    const client = new pg.Client({ connectionString: this.#url });
    client.on('notification', (message) => {
      if (message.channel !== ALARM_CHANNEL || !message.payload) return;
      let alarm: AlarmView;
      try {
        alarm = JSON.parse(message.payload) as AlarmView;
      } catch {
        this.#logger.error('alarm feed: unreadable notification');
        return;
      }
      for (const listener of this.#listeners) listener(alarm);
    });
    client.on('error', (error) => {
      this.#logger.error({ err: error.message }, 'alarm feed connection lost; reconnecting');
      this.#client = null;
      this.#scheduleReconnect();
    });
    await client.connect();
    await client.query(`LISTEN ${ALARM_CHANNEL}`);
    this.#client = client;
  }

  #scheduleReconnect(): void {
    if (this.#stopped || this.#retry) return;
    this.#retry = setTimeout(() => {
      this.#retry = null;
      this.#connect().catch((error: Error) => {
        this.#logger.error({ err: error.message }, 'alarm feed reconnect failed');
        this.#scheduleReconnect();
      });
    }, 1000);
  }
}
