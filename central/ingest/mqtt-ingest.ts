import type pg from 'pg';
import { type Clock, systemClock } from '../../lib/clock.ts';
import { errorMessage } from '../../lib/errors.ts';
import type { Logger } from '../../lib/logger.ts';
import type { Metrics } from '../../lib/metrics.ts';
import {
  type AlarmEvent,
  type Command,
  decode,
  encode,
  type GatewayStatus,
  GatewayStatusSchema,
  HeartbeatSchema,
  type Media,
  MediaSchema,
} from '../../protocols/messages.ts';
import { type ParsedTopic, parseTopic, topicFor } from '../../protocols/topics.ts';
import { PROTOCOL_VERSION } from '../../protocols/version.ts';
import type { LocalFeed } from '../live/announce.ts';
import { type AfterStore, isPermanentStoreError, type StoreResult, storeEvent } from './event-store.ts';
import type { HeartbeatBook } from './heartbeat-book.ts';
import { isPlainLog, type LogEventBatch } from './log-batch.ts';
import { readGatewayEvent } from './normalize.ts';
import { Quarantine } from './quarantine.ts';
import type { SequenceWatch } from './sequence-watch.ts';
import type { Uplink } from './uplink.ts';

/** Events acked in one message at most while a gateway's queue is not empty. */
const ACK_BATCH = 16;

export interface IngestOptions {
  /** Where uplink messages come from and acks and commands go (a broker, or a shared queue). */
  readonly uplink: Uplink;
  readonly pool: pg.Pool;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly afterStore?: AfterStore;
  /** This node's operator feed, told of an alarm as soon as it is committed. */
  readonly feed?: LocalFeed;
  readonly clock?: Clock;
  /** Where unreadable messages are kept (shared with the DC-09 receiver). */
  readonly quarantine?: Quarantine;
  /** Watches each gateway's sequence numbers (shared with the DC-09 receiver). */
  readonly sequences?: SequenceWatch;
  /** A camera answer from a gateway (its topic already checked against the gateway's site). */
  readonly onMedia?: (gateway: { siteId: string; gatewayId: string }, media: Media) => void;
  /** Group commit for plain log events; without, every event is committed on its own. */
  readonly logBatch?: Pick<LogEventBatch, 'store'>;
  /** The pool for what is not an alarm (gateways' statuses); the alarms' pool when not given. */
  readonly bulkPool?: pg.Pool;
  /** Where heartbeats and paths heard go (in memory, written in batches). */
  readonly heartbeats: Pick<HeartbeatBook, 'heartbeat' | 'heard' | 'forget'>;
  /** A gateway's status came in (its answer to a command rides on it). */
  readonly onStatus?: (gateway: { siteId: string; gatewayId: string }, status: GatewayStatus) => void;
}

/** What became of one message. */
interface Outcome {
  /** A log event handed to the group commit: the gateway's next message is read before it commits. */
  committed?: Promise<void>;
  /** Its ack to the gateway tried (published, or refused: logged and counted), once it is in a batch. */
  acked?: Promise<void>;
  failed?: unknown;
}

interface AcksDue {
  readonly ids: string[];
  /**
   * Resolves once the batch's ack message was tried: confirmed by the broker or queue, or refused.
   * A refused ack is made good by the gateway's resend, acked then as a duplicate; failing the
   * stored message for it would have a shared queue hand it back again and again while the
   * gateway's session cannot take acks.
   */
  readonly tried: Promise<void>;
  readonly done: () => void;
}

function newAcksDue(): AcksDue {
  let done: () => void = () => undefined;
  const tried = new Promise<void>((resolve) => {
    done = resolve;
  });
  return { ids: [], tried, done };
}

/**
 * The central's ingest of what gateways send over MQTT: validates every uplink message, commits
 * events to PostgreSQL and only then acks them to the gateway. Messages of one gateway are handled
 * in arrival order.
 */
export class MqttIngest {
  readonly #o: IngestOptions;
  #started = false;
  readonly #perGateway = new Map<string, Promise<void>>();
  /**
   * Per gateway, the completion of its plain log events handed to the group commit: its next
   * message is read meanwhile (so one gateway's backlog fills a batch), and these complete in order.
   */
  readonly #logsCommitting = new Map<string, Promise<void>>();
  /** Which site each gateway belongs to, from the database (cached; gateways do not move). */
  readonly #siteOf = new Map<string, string | null>();
  readonly #quarantined: Quarantine;
  /** Committed events per gateway whose ack is not sent yet. */
  readonly #acksDue = new Map<string, AcksDue>();

  constructor(options: IngestOptions) {
    this.#o = options;
    const { metrics } = options;
    this.#quarantined =
      options.quarantine ?? new Quarantine({ ...options, clock: options.clock ?? systemClock });
    metrics.describe(
      'ingest_derived_total',
      'Events whose class, priority or codes the central derived otherwise',
    );
    metrics.describe('ingest_rejected_total', 'Uplink messages refused, by reason');
    metrics.describe('ingest_events_stored_total', 'Events committed to PostgreSQL');
    metrics.describe('ingest_events_duplicate_total', 'Events received again and acked without storing');
    metrics.describe(
      'ingest_ack_publish_failures_total',
      'Ack messages the broker or queue did not take (the gateway resends; acked then)',
    );
  }

  async start(): Promise<void> {
    await this.#o.uplink.start((topic, payload) => this.#route(topic, payload));
    this.#started = true;
  }

  /** Connected to the broker or queue now (both reconnect by themselves when not). */
  get connected(): boolean {
    return this.#o.uplink.connected;
  }

  async stop(): Promise<void> {
    await this.idle();
    if (this.#started) await this.#o.uplink.stop();
    this.#started = false;
  }

  /** Resolves once every message received so far has been handled. */
  async idle(): Promise<void> {
    while (this.#perGateway.size > 0 || this.#logsCommitting.size > 0)
      await Promise.allSettled([...this.#perGateway.values(), ...this.#logsCommitting.values()]);
    await Promise.allSettled([...this.#acksDue.keys()].map((key) => this.#flushAcks(key)));
  }

  /**
   * Resolves once the message is done with: stored (committed) or refused and kept, and its ack to
   * the gateway published; rejects when it failed (logged, counted; the gateway or the queue sends
   * it again). A shared queue acks the message only then.
   */
  #route(topic: string, payload: Buffer): Promise<void> {
    const parsed = parseTopic(topic);
    if (!parsed) {
      this.#reject('bad-topic', topic, 'topic outside the layout');
      return Promise.resolve();
    }
    const key = `${parsed.siteId}/${parsed.gatewayId}`;
    const outcome: Outcome = {};
    return this.#inLane(this.#perGateway, key, () =>
      this.#handle(parsed, payload, outcome).catch((error) => this.#failed(topic, error, outcome)),
    )
      .then(() => outcome.committed)
      .then(() => {
        if (outcome.failed !== undefined) throw outcome.failed;
        return outcome.acked;
      });
  }

  /**
   * Runs `step` (which does not reject) after the gateway's previous one in `lane`; the lane's entry
   * goes with its last step, and the gateway's acks are sent once neither lane holds anything.
   */
  #inLane(lane: Map<string, Promise<void>>, key: string, step: () => Promise<void>): Promise<void> {
    const next = (lane.get(key) ?? Promise.resolve()).then(step);
    lane.set(key, next);
    void next.then(() => {
      if (lane.get(key) !== next) return;
      lane.delete(key);
      this.#settled(key);
    });
    return next;
  }

  #failed(topic: string, error: unknown, outcome: Outcome): void {
    outcome.failed = error;
    this.#o.metrics.increment('ingest_errors_total');
    this.#o.logger.error({ topic, err: errorMessage(error) }, 'ingest failed; the gateway will resend');
  }

  /** Nothing more of this gateway waiting here: what it committed is acked now. */
  #settled(key: string): void {
    if (this.#perGateway.has(key) || this.#logsCommitting.has(key)) return;
    void this.#flushAcks(key);
  }

  /** Resolves when the gateway's next message may be read (a log event may still be committing). */
  async #handle(topic: ParsedTopic, payload: Buffer, outcome: Outcome): Promise<void> {
    if (!(await this.#belongs(topic))) {
      this.#reject('unknown-gateway', `${topic.siteId}/${topic.gatewayId}`, 'no such gateway at that site');
      return;
    }
    if (topic.channel === 'event') await this.#handleEvent(topic, payload, outcome);
    else if (topic.channel === 'heartbeat') await this.#handleHeartbeat(topic, payload);
    else if (topic.channel === 'status') await this.#handleStatus(topic, payload);
    else if (topic.channel === 'media') this.#handleMedia(topic, payload);
    else this.#reject('unexpected-channel', topic.channel, 'not an uplink channel');
  }

  async #handleEvent(topic: ParsedTopic, payload: Buffer, outcome: Outcome): Promise<void> {
    const read = readGatewayEvent(payload, topic, 'topic-mismatch', this.#o);
    if (!read.ok) return this.#quarantine(topic, payload, read.reason, read.detail, outcome);
    const { event } = read;
    const key = `${topic.siteId}/${topic.gatewayId}`;
    await this.#o.sequences?.prepare(event.gatewayId);
    if (this.#o.logBatch && isPlainLog(event)) {
      const storing = this.#o.logBatch.store(event, 'mqtt', read.asReceived);
      outcome.committed = this.#inLane(this.#logsCommitting, key, () =>
        this.#stored(topic, payload, event, () => storing, outcome).catch((error) =>
          this.#failed(`${key}/event`, error, outcome),
        ),
      );
      return;
    }
    // What changes state is stored after this gateway's earlier events.
    await this.#logsCommitting.get(key);
    await this.#stored(
      topic,
      payload,
      event,
      () => storeEvent(this.#o.pool, event, 'mqtt', { feed: this.#o.feed }),
      outcome,
    );
  }

  async #stored(
    topic: ParsedTopic,
    payload: Buffer,
    event: AlarmEvent,
    store: () => Promise<StoreResult>,
    outcome: Outcome,
  ): Promise<void> {
    let result: StoreResult;
    try {
      result = await store();
    } catch (error) {
      // The database refuses this message's content: it would be refused on every resend.
      if (isPermanentStoreError(error))
        return this.#quarantine(topic, payload, 'store-failed', errorMessage(error), outcome);
      throw error;
    }
    this.#o.heartbeats.heard(event.gatewayId, 'primary');
    if (result.kind === 'rejected')
      return this.#quarantine(topic, payload, 'event-refused', result.reason, outcome);
    if (result.kind === 'stored') {
      await this.#o.afterStore?.(event, result);
      await this.#o.sequences?.observe(event, Date.now());
    }
    this.#o.metrics.increment(
      result.kind === 'stored' ? 'ingest_events_stored_total' : 'ingest_events_duplicate_total',
    );
    await this.#ack(event.siteId, event.gatewayId, event.id, outcome);
  }

  /**
   * Acks go out in batches: one message for up to ACK_BATCH committed events, sent when that many
   * are waiting or when the gateway's queue here is empty — a gateway draining a backlog gets a
   * steady stream of acks to refill its window, a single alarm its ack at once.
   */
  async #ack(siteId: string, gatewayId: string, eventId: string, outcome: Outcome): Promise<void> {
    const key = `${siteId}/${gatewayId}`;
    let due = this.#acksDue.get(key);
    if (!due) {
      due = newAcksDue();
      this.#acksDue.set(key, due);
    }
    due.ids.push(eventId);
    outcome.acked = due.tried;
    if (due.ids.length >= ACK_BATCH) await this.#flushAcks(key);
  }

  /** Publishes the gateway's due acks; a failure is logged and counted here, never thrown. */
  async #flushAcks(key: string): Promise<void> {
    const due = this.#acksDue.get(key);
    if (!due || due.ids.length === 0) return;
    this.#acksDue.delete(key);
    const [siteId, gatewayId] = key.split('/') as [string, string];
    this.#o.metrics.increment('ingest_acks_sent_total');
    try {
      await this.#o.uplink.publish(
        topicFor(siteId, gatewayId, 'ack'),
        encode({ v: PROTOCOL_VERSION, type: 'ack', eventIds: due.ids, storedAt: new Date().toISOString() }),
      );
    } catch (error) {
      this.#o.metrics.increment('ingest_ack_publish_failures_total');
      this.#o.logger.warn({ key, err: errorMessage(error) }, 'could not send acks; the gateway will resend');
    } finally {
      due.done();
    }
  }

  /** Refused, but kept and acked: the gateway's queue moves on and an operator is told. */
  async #quarantine(
    topic: ParsedTopic,
    payload: Buffer,
    reason: string,
    detail: string,
    outcome: Outcome,
  ): Promise<void> {
    this.#reject(reason, `${topic.siteId}/${topic.gatewayId}`, detail);
    const eventId = await this.#quarantined.keep({ ...topic, payload, reason, detail });
    if (eventId) await this.#ack(topic.siteId, topic.gatewayId, eventId, outcome);
  }

  async #handleHeartbeat(topic: ParsedTopic, payload: Buffer): Promise<void> {
    const decoded = decode(HeartbeatSchema, payload);
    if (!decoded.ok)
      return this.#reject('invalid-heartbeat', `${topic.siteId}/${topic.gatewayId}`, decoded.reason);
    if (decoded.value.siteId !== topic.siteId || decoded.value.gatewayId !== topic.gatewayId) {
      return this.#reject(
        'topic-mismatch',
        `${topic.siteId}/${topic.gatewayId}`,
        'heartbeat names another gateway',
      );
    }
    this.#o.metrics.increment('ingest_heartbeats_total');
    this.#o.heartbeats.heartbeat(topic.siteId, topic.gatewayId, decoded.value);
  }

  async #handleStatus(topic: ParsedTopic, payload: Buffer): Promise<void> {
    const decoded = decode(GatewayStatusSchema, payload);
    if (!decoded.ok)
      return this.#reject('invalid-status', `${topic.siteId}/${topic.gatewayId}`, decoded.reason);
    const status = decoded.value;
    // Not an alarm: on the lane heartbeats use, so a restart storm of statuses never holds up alarms.
    await (this.#o.bulkPool ?? this.#o.pool).query(
      `UPDATE gateways SET online = $3, last_seen_at = now(), devices = coalesce($4::jsonb, devices),
              arming = coalesce($5::jsonb, arming), arming_at = CASE WHEN $5::jsonb IS NULL THEN arming_at ELSE now() END
        WHERE id = $1 AND site_id = $2`,
      [
        topic.gatewayId,
        topic.siteId,
        status.state === 'online',
        status.devices ? JSON.stringify(status.devices) : null,
        status.areas ? JSON.stringify(status.areas) : null,
      ],
    );
    if (status.state === 'offline') this.#o.heartbeats.forget(topic.gatewayId);
    this.#o.onStatus?.(topic, status);
  }

  #handleMedia(topic: ParsedTopic, payload: Buffer): void {
    const decoded = decode(MediaSchema, payload);
    if (!decoded.ok) {
      this.#reject('invalid-media', `${topic.siteId}/${topic.gatewayId}`, decoded.reason);
      return;
    }
    this.#o.metrics.increment('ingest_media_total', { ok: String(decoded.value.result.ok) });
    this.#o.onMedia?.(topic, decoded.value);
  }

  /** Send a command to one gateway (QoS 1; the gateway answers on its own uplink channels). */
  async sendCommand(siteId: string, gatewayId: string, command: Command): Promise<void> {
    await this.#o.uplink.publish(topicFor(siteId, gatewayId, 'command'), encode(command));
  }

  /** Defence in depth behind the broker's ACL: the topic's gateway must belong to the topic's site. */
  async #belongs(topic: ParsedTopic): Promise<boolean> {
    if (!this.#siteOf.has(topic.gatewayId)) {
      const { rows } = await this.#o.pool.query<{ site_id: string }>(
        'SELECT site_id FROM gateways WHERE id = $1',
        [topic.gatewayId],
      );
      this.#siteOf.set(topic.gatewayId, rows[0]?.site_id ?? null);
    }
    const site = this.#siteOf.get(topic.gatewayId);
    if (site === null) this.#siteOf.delete(topic.gatewayId);
    return site === topic.siteId;
  }

  #reject(reason: string, subject: string, detail: string): void {
    this.#o.metrics.increment('ingest_rejected_total', { reason });
    this.#o.logger.warn({ reason, subject, detail }, 'uplink message rejected');
  }
}
