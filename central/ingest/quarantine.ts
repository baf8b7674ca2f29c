import type pg from 'pg';
import type { Clock } from '../../lib/clock.ts';
import type { Logger } from '../../lib/logger.ts';
import type { Metrics } from '../../lib/metrics.ts';
import { Throttle } from '../../lib/throttle.ts';
import { toStorableText } from '../../protocols/messages.ts';
import { centralEvent, storeCentralEvent } from '../supervision/central-event.ts';
import type { AfterStore } from './event-store.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** One incident per gateway for a burst of unreadable messages; the rest are counted into the table. */
const RAISE_INTERVAL_MS = 15 * 60_000;

export interface RejectedMessage {
  readonly siteId: string;
  readonly gatewayId: string;
  readonly channel: string;
  readonly payload: Buffer;
  readonly reason: string;
  readonly detail: string;
}

export interface QuarantineOptions {
  readonly pool: pg.Pool;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly afterStore?: AfterStore | undefined;
}

/** The id a message gives itself, if one can be read at all (what the gateway waits to have acked). */
export function claimedEventId(payload: Buffer): string | null {
  try {
    const id = (JSON.parse(payload.toString('utf8')) as { id?: unknown }).id;
    return typeof id === 'string' && UUID.test(id) ? id.toLowerCase() : null;
  } catch {
    return null;
  }
}

/**
 * Messages of an authenticated gateway that cannot be read or stored. Each is kept as received
 * (`rejected_messages`, raw bytes) so nothing is lost, and an operator is told with a
 * `message-rejected` incident of the site; the caller then acks the message so the gateway's
 * queue moves on (a poison message never holds up the fire alarm behind it).
 */
export class Quarantine {
  readonly #raised = new Throttle(RAISE_INTERVAL_MS);
  readonly o: QuarantineOptions;

  constructor(options: QuarantineOptions) {
    this.o = options;
    options.metrics.describe(
      'ingest_quarantined_total',
      'Uplink messages kept as rejected and acked, by reason',
    );
  }

  /** Keep the message; returns the event id to ack, or null when none could be read. */
  async keep(message: RejectedMessage): Promise<string | null> {
    const eventId = claimedEventId(message.payload);
    const { pool, metrics, logger } = this.o;
    await pool.query(
      `INSERT INTO rejected_messages (site_id, gateway_id, channel, event_id, reason, detail, payload)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [
        message.siteId,
        message.gatewayId,
        message.channel,
        eventId,
        message.reason,
        toStorableText(message.detail).slice(0, 500),
        message.payload,
      ],
    );
    metrics.increment('ingest_quarantined_total', { reason: message.reason });
    logger.warn(
      { gatewayId: message.gatewayId, eventId, reason: message.reason, detail: message.detail },
      'message kept as rejected; an operator is told',
    );
    await this.#raise(message);
    return eventId;
  }

  async #raise(message: RejectedMessage): Promise<void> {
    const now = this.o.clock.now();
    if (!this.#raised.allow(message.gatewayId, now)) return;
    const event = centralEvent(
      'message-rejected',
      'event',
      message,
      now,
      null,
      toStorableText(
        `A message from gateway ${message.gatewayId} could not be read (${message.reason}: ${message.detail})`,
      ).slice(0, 256),
      { id: `${message.gatewayId}_messages`, name: 'Messages from the premises' },
    );
    await storeCentralEvent(this.o.pool, event, this.o.afterStore);
  }
}
