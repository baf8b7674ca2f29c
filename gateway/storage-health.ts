import type { Clock } from '../lib/clock.ts';
import { newId } from '../lib/ids.ts';
import type { Logger } from '../lib/logger.ts';
import { Throttle } from '../lib/throttle.ts';
import type { AlarmEvent } from '../protocols/messages.ts';
import type { EventDraft } from './domain/panel.ts';
import type { JournalOutbox, OutboxHealth } from './outbox/journal-outbox.ts';

const UNVERIFIED: EventDraft['verification'] = { verified: false, rule: null, supportingEventIds: [] };
const BACKUP_TROUBLE_INTERVAL_MS = 15 * 60_000;

/**
 * What the gateway does when its backup receiver will not take an event (the event waits in the
 * outbox for the primary): tell the central with a `communication-trouble` — over whichever path
 * works — at most once in a while, and never about its own report.
 */
export function backupRefusals(
  clock: Clock,
  record: (draft: EventDraft) => Promise<void>,
): (event: AlarmEvent, reply: 'nak' | 'duh') => void {
  const raised = new Throttle(BACKUP_TROUBLE_INTERVAL_MS);
  return (event, reply) => {
    const now = clock.now();
    if (event.eventType === 'communication-trouble' || !raised.allow('backup', now)) return;
    void record({
      id: newId(),
      eventType: 'communication-trouble',
      qualifier: 'event',
      deviceId: null,
      zone: 0,
      area: 0,
      relatesTo: null,
      text: `Backup receiver refused a ${event.eventType} event (${reply.toUpperCase()}); it waits for the primary path`,
      verification: UNVERIFIED,
      occurredAt: now,
    }).catch(() => undefined);
  };
}

/**
 * Tells the central (over whichever path is up) when the gateway cannot keep what it sends: a
 * `system-trouble` event when the outbox journal cannot be written (events held in memory) and
 * its restore when it can again, and one for journal data found lost at start. The events go
 * through the outbox like any other; held in memory, they are sent all the same.
 */
export class StorageHealth {
  readonly #outbox: JournalOutbox;
  readonly #record: (draft: EventDraft) => Promise<void>;
  readonly #clock: Clock;
  readonly #logger: Logger;
  #troubleId: string | null = null;
  #listening = false;

  constructor(options: {
    outbox: JournalOutbox;
    record: (draft: EventDraft) => Promise<void>;
    clock: Clock;
    logger: Logger;
  }) {
    this.#outbox = options.outbox;
    this.#record = options.record;
    this.#clock = options.clock;
    this.#logger = options.logger;
  }

  async start(): Promise<void> {
    const { lost } = this.#outbox.health;
    if (lost) await this.#raise('event', `Gateway journal data lost: ${lost.reason}`, null);
    if (!this.#listening) {
      this.#listening = true;
      this.#outbox.onHealthChange((health) => void this.#onChange(health));
    }
  }

  /** What a person on site is told (status page, local API). */
  describe(): string | null {
    const { failing } = this.#outbox.health;
    if (!failing) return null;
    return `storage failing (${failing.reason}): ${failing.heldInMemory} event(s) held in memory only, sent to the central; free the card or replace it`;
  }

  async #onChange(health: OutboxHealth): Promise<void> {
    if (health.failing && !this.#troubleId) {
      this.#troubleId = newId();
      await this.#raise(
        'event',
        `Gateway storage failing (${health.failing.reason}); events held in memory`,
        null,
        this.#troubleId,
      );
    } else if (!health.failing && this.#troubleId) {
      const relatesTo = this.#troubleId;
      this.#troubleId = null;
      await this.#raise('restore', 'Gateway storage writable again', relatesTo);
    }
  }

  async #raise(qualifier: 'event' | 'restore', text: string, relatesTo: string | null, id = newId()) {
    this.#logger.warn({ qualifier, text }, 'gateway trouble');
    await this.#record({
      id,
      eventType: 'system-trouble',
      qualifier,
      deviceId: null,
      zone: 0,
      area: 0,
      relatesTo,
      text,
      verification: UNVERIFIED,
      occurredAt: this.#clock.now(),
    }).catch((error: unknown) => this.#logger.error({ err: error }, 'could not record the gateway trouble'));
  }
}
