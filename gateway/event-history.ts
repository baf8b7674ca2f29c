import path from 'node:path';
import { Low } from 'lowdb';
import { JSONFile } from 'lowdb/node';
import type { Clock, TimerHandle } from '../lib/clock.ts';
import { errorMessage } from '../lib/errors.ts';
import { openJsonFile } from '../lib/json-file.ts';
import type { Logger } from '../lib/logger.ts';
import type { AlarmEvent } from '../protocols/messages.ts';

/** What the homeowner's panel lists of an event: what, where, when, by whom. */
export interface HistoryEntry {
  readonly id: string;
  readonly at: string;
  readonly eventType: string;
  readonly qualifier: string;
  readonly zone: number;
  readonly area: number;
  readonly deviceName: string | null;
  readonly text: string;
}

const KEEP = 300;
const WRITE_DELAY_MS = 2_000;

/**
 * The premises' own event feed: the latest events the gateway raised, kept on the card (one small
 * JSON file, written at most every 2 s) so the panel shows last night's events after a restart and
 * without the central. A failed write is logged and retried with the next event; it never holds up
 * an event (the outbox is what must not lose them).
 */
export class EventHistory {
  readonly #file: Low<{ events: HistoryEntry[] }>;
  readonly #logger: Logger;
  readonly #clock: Clock;
  #timer: TimerHandle | null = null;
  #writing: Promise<void> = Promise.resolve();

  private constructor(file: Low<{ events: HistoryEntry[] }>, logger: Logger, clock: Clock) {
    this.#file = file;
    this.#logger = logger;
    this.#clock = clock;
  }

  static async open(dataDir: string, logger: Logger, clock: Clock): Promise<EventHistory> {
    const file = path.join(dataDir, 'history.json');
    const db = await openJsonFile<{ events: HistoryEntry[] }>(file, { events: [] }).catch(
      (error: unknown) => {
        // A feed cut off by a power loss is started again; the events themselves are in the outbox.
        logger.warn({ err: errorMessage(error) }, 'event history unreadable; starting a new one');
        return new Low<{ events: HistoryEntry[] }>(new JSONFile(file), { events: [] });
      },
    );
    if (!Array.isArray(db.data?.events)) db.data = { events: [] };
    return new EventHistory(db, logger, clock);
  }

  add(event: AlarmEvent): void {
    const events = this.#file.data.events;
    events.push({
      id: event.id,
      at: event.occurredAt,
      eventType: event.eventType,
      qualifier: event.qualifier,
      zone: event.zone,
      area: event.area,
      deviceName: event.device?.name ?? null,
      text: event.text,
    });
    if (events.length > KEEP) events.splice(0, events.length - KEEP);
    this.#timer ??= this.#clock.setTimeout(() => {
      this.#timer = null;
      this.#writing = this.#file.write().catch((error: unknown) => {
        this.#logger.warn(
          { err: errorMessage(error) },
          'event history not written; retried with the next event',
        );
      });
    }, WRITE_DELAY_MS);
  }

  /** Newest first. */
  latest(limit: number): readonly HistoryEntry[] {
    return this.#file.data.events.slice(-limit).reverse();
  }

  async stop(): Promise<void> {
    if (this.#timer) {
      this.#clock.clearTimeout(this.#timer);
      this.#timer = null;
      this.#writing = this.#file.write().catch(() => undefined);
    }
    await this.#writing;
  }
}
