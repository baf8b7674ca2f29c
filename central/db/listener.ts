import type pg from 'pg';
import { errorMessage } from '../../lib/errors.ts';
import type { Logger } from '../../lib/logger.ts';

/**
 * A PostgreSQL connection LISTENing on some channels, handing each notification to `onMessage`.
 * Reconnects by itself (every second) when the connection drops; `onConnected` runs after each
 * (re)connection, for catching up on what was notified while it was away.
 */
export class PgListener {
  readonly #connect: () => pg.Client;
  readonly #channels: readonly string[];
  readonly #logger: Logger;
  readonly #onMessage: (channel: string, payload: string) => void;
  readonly #onConnected: () => void;
  #client: pg.Client | null = null;
  #stopped = true;
  #retry: NodeJS.Timeout | null = null;

  constructor(options: {
    connect: () => pg.Client;
    channels: readonly string[];
    logger: Logger;
    onMessage: (channel: string, payload: string) => void;
    onConnected?: () => void;
  }) {
    this.#connect = options.connect;
    this.#channels = options.channels;
    this.#logger = options.logger;
    this.#onMessage = options.onMessage;
    this.#onConnected = options.onConnected ?? (() => undefined);
  }

  async start(): Promise<void> {
    this.#stopped = false;
    await this.#listen();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#retry) clearTimeout(this.#retry);
    this.#retry = null;
    const client = this.#client;
    this.#client = null;
    await client?.end().catch(() => undefined);
  }

  async #listen(): Promise<void> {
    const client = this.#connect();
    client.on('notification', (message) => {
      if (message.payload !== undefined) this.#onMessage(message.channel, message.payload);
    });
    client.on('error', (error) => {
      if (this.#client !== client) return;
      this.#logger.error(
        { err: error.message, channels: this.#channels },
        'listen connection lost; reconnecting',
      );
      this.#client = null;
      this.#scheduleReconnect();
    });
    try {
      await client.connect();
      for (const channel of this.#channels) await client.query(`LISTEN ${channel}`);
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
    if (this.#stopped) {
      await client.end().catch(() => undefined);
      return;
    }
    this.#client = client;
    this.#onConnected();
  }

  #scheduleReconnect(): void {
    if (this.#stopped || this.#retry) return;
    this.#retry = setTimeout(() => {
      this.#retry = null;
      this.#listen().catch((error: unknown) => {
        this.#logger.error({ err: errorMessage(error), channels: this.#channels }, 'listen reconnect failed');
        this.#scheduleReconnect();
      });
    }, 1000);
  }
}
