import dgram from 'node:dgram';
import net from 'node:net';
import type pg from 'pg';
import type { Clock } from '../../lib/clock.ts';
import { errorMessage } from '../../lib/errors.ts';
import type { Logger } from '../../lib/logger.ts';
import type { Metrics } from '../../lib/metrics.ts';
import { type Dc09Message, FrameSplitter, parseFrame } from '../../protocols/dc09/frame.ts';
import { ackFrame, duhFrame, nakFrame, readVigilXdata, VIGIL_XDATA } from '../../protocols/dc09/payload.ts';
import type { AlarmEvent } from '../../protocols/messages.ts';
import { type AfterStore, isPermanentStoreError, storeEvent } from '../ingest/event-store.ts';
import { HeartbeatBook } from '../ingest/heartbeat-book.ts';
import { readGatewayEvent } from '../ingest/normalize.ts';
import { Quarantine } from '../ingest/quarantine.ts';
import type { SequenceWatch } from '../ingest/sequence-watch.ts';
import { ConnectionGate, DEFAULT_LIMITS, type ListenerLimits } from '../limits.ts';
import type { LocalFeed } from '../live/announce.ts';
import { accountKey, type Dc09Account, loadDc09Accounts } from './accounts.ts';
import { eventsFromDc09, messageKey } from './to-events.ts';

export const DEFAULT_DUPLICATE_WINDOW_MS = 10 * 60_000;

/** How far a frame's own time is from the receiver's, for the operator. */
function lateness(ms: number): string {
  const minutes = Math.round(Math.abs(ms) / 60_000);
  const span = minutes < 120 ? `${Math.max(1, minutes)} min` : `${Math.round(minutes / 60)} h`;
  return ms >= 0 ? `sent ${span} before it arrived` : `dated ${span} ahead of the receiver`;
}

/** The DC-09 frame an event came in, kept with it as evidence. */
export interface Dc09Evidence {
  readonly frame: string;
  readonly receiver: string | null;
  readonly prefix: string;
  readonly account: string;
  readonly sequence: string;
  readonly encrypted: boolean;
  readonly xdata: readonly string[];
}

export interface Dc09ReceiverOptions {
  /** Where the paths heard go (in memory, written in batches); without, a book of its own. */
  readonly heartbeats?: Pick<HeartbeatBook, 'heard'>;
  readonly host: string;
  readonly port: number;
  readonly pool: pg.Pool;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly now?: () => number;
  /** This node's operator feed, told of an alarm as soon as it is committed. */
  readonly feed?: LocalFeed;
  readonly afterStore?: AfterStore;
  /** Where unreadable Vigil events are kept (shared with the MQTT ingest). */
  readonly quarantine?: Quarantine;
  readonly limits?: ListenerLimits['dc09'];
  /**
   * A repeat of a message (account, sequence, content) within this time is a retransmission;
   * after it, a new message (default 10 min: senders retry within a minute or two, and a panel's
   * sequence wraps only after 9,999 messages).
   */
  readonly duplicateWindowMs?: number;
  /**
   * A plain (unencrypted) frame whose timestamp is outside the window: `accept` (default; stored
   * with its age in the text, counted) or `nak` (refused with the receiver's time, as encrypted).
   */
  readonly plainOutsideWindow?: 'accept' | 'nak';
  /** This receiver's number (hex, as in `R…`): frames addressed to another are refused. */
  readonly receiverNumber?: string | undefined;
  /** Watches Vigil gateways' sequence numbers (shared with the MQTT ingest). */
  readonly sequences?: SequenceWatch;
  /** Accepted clock skew of encrypted messages (SIA DC-09: 40 s past, 20 s future). */
  readonly windowPastMs?: number;
  readonly windowFutureMs?: number;
}

type Reply = string | null;

/**
 * The SIA DC-09 receiver (TCP and UDP on one port). Every frame is answered only once its events
 * are committed: ACK (`*ACK` when encrypted); NAK with the receiver's time for a malformed frame,
 * an unknown account, a keyed account sending in clear, a failed decryption or a timestamp outside
 * the window; DUH for a frame understood but not processable; nothing for a CRC error (the sender
 * repeats). Vigil gateways' backup path carries the full protocol event, so it is stored exactly
 * like one that came over MQTT; third-party panels' SIA-DCS and Contact ID become events too.
 */
export class Dc09Receiver {
  readonly #o: Dc09ReceiverOptions;
  #accounts = new Map<string, Dc09Account>();
  #tcp: net.Server | null = null;
  #udp: dgram.Socket | null = null;
  #port = 0;
  readonly #sockets = new Set<net.Socket>();
  readonly #quarantine: Quarantine;
  readonly #gate: ConnectionGate;
  /** Its own book when the central gave it none (a receiver run on its own, in tests). */
  readonly #ownBook: HeartbeatBook | null;
  readonly #heartbeats: Pick<HeartbeatBook, 'heard'>;
  #lastPurge = 0;

  constructor(options: Dc09ReceiverOptions) {
    this.#o = options;
    const { metrics } = options;
    this.#gate = new ConnectionGate('dc09', options.limits ?? DEFAULT_LIMITS.dc09, options.logger, metrics);
    this.#quarantine =
      options.quarantine ?? new Quarantine({ ...options, clock: { now: options.now ?? Date.now } as Clock });
    this.#ownBook = options.heartbeats ? null : new HeartbeatBook(options);
    this.#heartbeats = options.heartbeats ?? this.#ownBook!;
    metrics.describe('dc09_frames_total', 'DC-09 frames received, by reply');
    metrics.describe('dc09_rejected_total', 'DC-09 frames refused, by reason');
  }

  get port(): number {
    return this.#port;
  }

  async reloadAccounts(): Promise<void> {
    this.#accounts = await loadDc09Accounts(this.#o.pool);
  }

  async start(): Promise<void> {
    await this.reloadAccounts();
    this.#ownBook?.start();
    const tcp = net.createServer({ noDelay: true }, (socket) => this.#onConnection(socket));
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen(this.#o.port, this.#o.host, () => resolve());
    });
    this.#tcp = tcp;
    this.#port = (tcp.address() as net.AddressInfo).port;
    const udp = dgram.createSocket('udp4');
    udp.on('message', (datagram, remote) => {
      for (const frame of new FrameSplitter().push(datagram).frames) {
        void this.handle(frame).then((reply) => {
          if (reply) udp.send(Buffer.from(reply, 'latin1'), remote.port, remote.address);
        });
      }
    });
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(this.#port, this.#o.host, () => resolve());
    });
    this.#udp = udp;
    this.#o.logger.info(
      { host: this.#o.host, port: this.#port, accounts: this.#accounts.size },
      'DC-09 receiver listening (TCP+UDP)',
    );
  }

  async stop(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => (this.#tcp ? this.#tcp.close(() => resolve()) : resolve()));
    await new Promise<void>((resolve) => (this.#udp ? this.#udp.close(() => resolve()) : resolve()));
    this.#tcp = null;
    this.#udp = null;
    await this.#ownBook?.stop();
  }

  /**
   * One TCP connection: admitted by the gate; closed when a frame takes longer than the frame
   * timeout from its first byte, or no complete frame came for the idle timeout (a byte now and
   * then does not keep a connection).
   */
  #onConnection(socket: net.Socket): void {
    if (!this.#gate.admit(socket)) return;
    this.#sockets.add(socket);
    const limits = this.#o.limits ?? DEFAULT_LIMITS.dc09;
    const source = socket.remoteAddress;
    const splitter = new FrameSplitter();
    let chain = Promise.resolve();
    let frameTimer: NodeJS.Timeout | null = null;
    const close = (reason: string) => {
      this.#gate.refuse(reason, source);
      socket.destroy();
    };
    let idleTimer = setTimeout(() => close('idle'), limits.idleTimeoutMs);
    socket.on('data', (chunk: Buffer) => {
      const { frames, dropped } = splitter.push(chunk);
      if (dropped) this.#reject('oversized', `${socket.remoteAddress}`, 'unterminated data dropped');
      if (frames.length > 0) {
        clearTimeout(idleTimer);
        idleTimer = setTimeout(() => close('idle'), limits.idleTimeoutMs);
        if (frameTimer) clearTimeout(frameTimer);
        frameTimer = null;
      }
      if (splitter.pending && !frameTimer)
        frameTimer = setTimeout(() => close('frame-timeout'), limits.frameTimeoutMs);
      for (const frame of frames) {
        // In order per connection: a sender waits for each reply anyway.
        chain = chain.then(async () => {
          const reply = await this.handle(frame);
          if (reply && !socket.destroyed) socket.write(reply, 'latin1');
        });
      }
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      clearTimeout(idleTimer);
      if (frameTimer) clearTimeout(frameTimer);
      this.#sockets.delete(socket);
    });
  }

  /** One frame in, the reply out (null: no reply). Public so that benchmarks and tests can drive it. */
  async handle(frame: string): Promise<Reply> {
    const now = this.#o.now?.() ?? Date.now();
    const parsed = parseFrame(
      frame,
      (account, prefix) => this.#accounts.get(accountKey(prefix, account))?.key ?? null,
    );
    if (!parsed.ok) {
      this.#reject(parsed.stage === 'crc' ? 'crc' : parsed.stage, 'frame', parsed.reason);
      return parsed.stage === 'crc' ? null : this.#count('nak', nakFrame(now));
    }
    const message = parsed.message;
    const own = this.#o.receiverNumber;
    if (
      own &&
      message.receiver !== null &&
      Number.parseInt(message.receiver, 16) !== Number.parseInt(own, 16)
    ) {
      this.#reject(
        'wrong-receiver',
        `${message.prefix}/${message.account}`,
        `addressed to receiver R${message.receiver}`,
      );
      return this.#count('duh', duhFrame(message));
    }
    const account = this.#accounts.get(accountKey(message.prefix, message.account));
    if (!account) {
      this.#reject('unknown-account', `${message.prefix}/${message.account}`, 'account not provisioned');
      return this.#count('nak', nakFrame(now));
    }
    if (account.key && !message.encrypted) {
      this.#reject('cleartext', `${message.prefix}/${message.account}`, 'keyed account sent a clear frame');
      return this.#count('nak', nakFrame(now));
    }
    if (message.encrypted) {
      const skew = message.timestamp === null ? Number.POSITIVE_INFINITY : message.timestamp - now;
      if (skew < -(this.#o.windowPastMs ?? 40_000) || skew > (this.#o.windowFutureMs ?? 20_000)) {
        this.#reject(
          'timestamp',
          `${message.prefix}/${message.account}`,
          `skew ${Math.round(skew / 1000)} s`,
        );
        return this.#count('nak', nakFrame(now));
      }
    }
    // A plain frame's timestamp outside the window: NAK (the sender corrects its clock and
    // repeats) or, by default, take it and say how late it is, so an old alarm never looks fresh.
    let late: number | null = null;
    if (!message.encrypted && message.timestamp !== null) {
      const skew = message.timestamp - now;
      if (skew < -(this.#o.windowPastMs ?? 40_000) || skew > (this.#o.windowFutureMs ?? 20_000)) {
        this.#o.metrics.increment('dc09_late_frames_total');
        if ((this.#o.plainOutsideWindow ?? 'accept') === 'nak') {
          this.#reject(
            'timestamp',
            `${message.prefix}/${message.account}`,
            `skew ${Math.round(skew / 1000)} s`,
          );
          return this.#count('nak', nakFrame(now));
        }
        late = -skew;
      }
    }
    try {
      const outcome = await this.#process(message, account, now, frame, late);
      if (outcome === 'duh') return this.#count('duh', duhFrame(message));
      this.#heartbeats.heard(account.gatewayId, account.path);
      return this.#count('ack', ackFrame(message, now, account.key));
    } catch (error) {
      // Not committed: stay silent so that the sender repeats the message.
      this.#o.metrics.increment('dc09_errors_total');
      this.#o.logger.error(
        { account: message.account, err: errorMessage(error) },
        'DC-09 message not stored',
      );
      return null;
    }
  }

  async #process(
    message: Dc09Message,
    account: Dc09Account,
    now: number,
    frame: string,
    late: number | null,
  ): Promise<'ack' | 'duh'> {
    if (message.id === 'NULL') return 'ack';
    // Kept with each stored event: what came over the wire, as the receiver read it.
    const body = frame.replace(/^\n/, '').replace(/\r$/, '');
    const evidence: Dc09Evidence = {
      frame: body.length <= 2048 ? body : `${body.slice(0, 2048)}…`,
      receiver: message.receiver,
      prefix: message.prefix,
      account: message.account,
      sequence: message.seq,
      encrypted: message.encrypted,
      // Location, verification and picture links (X, Y, V …); not Vigil's own copy of the event.
      xdata: message.xdata.filter((x) => !x.startsWith(VIGIL_XDATA)),
    };
    const vigil = readVigilXdata(message.xdata);
    if (vigil !== null) {
      // A Vigil gateway resends what is not acked: what cannot be stored is kept and acked, as over MQTT.
      const keep = async (reason: string, detail: string) => {
        this.#reject(reason, message.account, detail);
        await this.#quarantine.keep({
          siteId: account.siteId,
          gatewayId: account.gatewayId,
          channel: 'dc09',
          payload: Buffer.from(vigil, 'utf8'),
          reason,
          detail,
        });
        return 'ack' as const;
      };
      const read = readGatewayEvent(vigil, account, 'foreign-event', this.#o);
      if (!read.ok) return keep(read.reason, read.detail);
      const { event } = read;
      try {
        return (await this.#store(event, evidence, true))
          ? 'ack'
          : keep('event-refused', 'event id already used by another gateway');
      } catch (error) {
        if (isPermanentStoreError(error)) return keep('store-failed', errorMessage(error));
        throw error;
      }
    }
    // The account in the data block (`#acct|…`) must be the header's.
    const inner = /^#([0-9A-Fa-f]{3,16})\|/.exec(message.data)?.[1]?.toUpperCase();
    if (inner && inner !== message.account) {
      this.#reject('account-mismatch', message.account, `data block names account ${inner}`);
      return 'duh';
    }
    const events = eventsFromDc09(
      message,
      account,
      now,
      await this.#firstSeen(messageKey(message, account), now),
    );
    if (!events) {
      this.#reject('unprocessable', message.account, `${message.id} payload not understood`);
      return 'duh';
    }
    for (const raw of events) {
      const event =
        late === null ? raw : { ...raw, text: `${raw.text} [${lateness(late)}]`.trim().slice(0, 256) };
      const linked = event.qualifier === 'restore' ? await this.#linkRestore(event) : event;
      if (!(await this.#store(linked, evidence))) return 'duh';
    }
    return 'ack';
  }

  async #store(event: AlarmEvent, evidence: Dc09Evidence, vigil = false): Promise<boolean> {
    const result = await storeEvent(this.#o.pool, event, 'dc09', { evidence, feed: this.#o.feed });
    if (result.kind === 'rejected') {
      this.#reject('event-refused', event.gatewayId, result.reason);
      return false;
    }
    this.#o.metrics.increment(
      result.kind === 'stored' ? 'dc09_events_stored_total' : 'dc09_events_duplicate_total',
    );
    if (result.kind === 'stored') {
      await this.#o.afterStore?.(event, result);
      // A Vigil gateway's own sequence (a third-party panel's DC-09 sequence is another matter).
      if (vigil) await this.#o.sequences?.observe(event, this.#o.now?.() ?? Date.now());
    }
    return true;
  }

  /**
   * When this message (account, sequence, content) was first seen within the duplicate window: a
   * repeat inside it is the same message, the same again after it a new one. In the database, so
   * every central node agrees.
   */
  async #firstSeen(key: string, now: number): Promise<number> {
    const window = this.#o.duplicateWindowMs ?? DEFAULT_DUPLICATE_WINDOW_MS;
    const { rows } = await this.#o.pool.query<{ first_seen: string }>(
      `INSERT INTO dc09_recent AS r (key_sha256, first_seen) VALUES (sha256(convert_to($1, 'UTF8')), $3)
       ON CONFLICT (key_sha256) DO UPDATE SET first_seen =
         CASE WHEN r.first_seen < $3::timestamptz - make_interval(secs => $2 / 1000.0) THEN $3 ELSE r.first_seen END
       RETURNING (extract(epoch FROM first_seen) * 1000)::bigint::text AS first_seen`,
      [key, window, new Date(now)],
    );
    if (now - this.#lastPurge > 60_000) {
      this.#lastPurge = now;
      await this.#o.pool.query(
        `DELETE FROM dc09_recent WHERE first_seen < $2::timestamptz - make_interval(secs => $1 / 1000.0)`,
        [window, new Date(now)],
      );
    }
    return Number(rows[0]!.first_seen);
  }

  /**
   * A third-party restore names no event: attach it to the latest alarm event of that zone and
   * type in an incident (the one that opened it, or one that joined it).
   */
  async #linkRestore(event: AlarmEvent): Promise<AlarmEvent> {
    const { rows } = await this.#o.pool.query<{ id: string }>(
      `SELECT e.id FROM events e JOIN alarms a ON a.id = e.alarm_id
        WHERE e.site_id = $1 AND e.event_type = $2 AND e.zone = $3 AND e.qualifier = 'event'
          AND (a.event_id <> e.id OR a.restored_at IS NULL)
        ORDER BY e.received_at DESC LIMIT 1`,
      [event.siteId, event.eventType, event.zone],
    );
    return rows[0] ? { ...event, relatesTo: rows[0].id } : event;
  }

  #count(reply: 'ack' | 'nak' | 'duh', frame: string): string {
    this.#o.metrics.increment('dc09_frames_total', { reply });
    return frame;
  }

  #reject(reason: string, subject: string, detail: string): void {
    this.#o.metrics.increment('dc09_rejected_total', { reason });
    this.#o.logger.warn({ reason, subject, detail }, 'DC-09 frame refused');
  }
}
