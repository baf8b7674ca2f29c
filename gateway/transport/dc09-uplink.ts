import dgram from 'node:dgram';
import net from 'node:net';
import type { Clock, TimerHandle } from '../../lib/clock.ts';
import type { Logger } from '../../lib/logger.ts';
import type { Metrics } from '../../lib/metrics.ts';
import { buildFrame, FrameSplitter, parseFrame } from '../../protocols/dc09/frame.ts';
import { formatAdmCid, formatSiaDcs, vigilXdata } from '../../protocols/dc09/payload.ts';
import type { AlarmEvent } from '../../protocols/messages.ts';
import type { JournalOutbox } from '../outbox/journal-outbox.ts';

export interface Dc09UplinkOptions {
  readonly host: string;
  readonly port: number;
  readonly prefix: string;
  readonly account: string;
  readonly key: Buffer | null;
  /** The receiver number (`R…`) to address, or none. */
  readonly receiver?: string | null;
  /** TCP (default) or UDP, as the receiver offers. */
  readonly transport?: 'tcp' | 'udp';
  /** `vigil`: SIA-DCS with the full event for a Vigil central; otherwise the standard content only. */
  readonly format?: 'vigil' | 'sia-dcs' | 'adm-cid';
  /** Refusals (NAK/DUH) of one event before the path gives up on it and goes on with the next. */
  readonly maxRefusals?: number;
  /** The path gave up on an event (it stays in the outbox for the primary): raise it as a trouble. */
  readonly onRefused?: (event: AlarmEvent, reply: 'nak' | 'duh') => void;
  readonly outbox: JournalOutbox;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Supervision messages (NULL) on this path, whatever the primary does. */
  readonly nullIntervalMs: number;
  readonly replyTimeoutMs?: number;
  /** The primary path's state: events go this way only while it is down. */
  readonly primaryUp: () => boolean;
}

type Reply =
  | { kind: 'ack' }
  | { kind: 'nak'; receiverTime: number | null }
  | { kind: 'duh' }
  | { kind: 'none' };

const RECONNECT_STEPS_MS = [200, 500, 1000, 2000, 5000];

/**
 * The backup path: SIA DC-09 over TCP, AES-encrypted with the account's key. Each event goes as
 * SIA-DCS (or ADM-CID) in ASCII; to a Vigil central it also carries the full protocol event in
 * Vigil's extension block (stored exactly once, whichever path it came by), to any other receiver
 * only the standard content. One exchange at a time, as DC-09 is request/response. The outbox drops an event
 * only on the receiver's ACK, which it sends after committing.
 */
export class Dc09Uplink {
  readonly #o: Dc09UplinkOptions;
  #socket: net.Socket | null = null;
  #udp: dgram.Socket | null = null;
  #connected = false;
  #splitter = new FrameSplitter();
  #waiting: ((reply: Reply) => void) | null = null;
  #exchange: Promise<unknown> = Promise.resolve();
  #seq = 0;
  #clockOffsetMs = 0;
  #running = false;
  #pumping = false;
  #attempt = 0;
  #reconnect: TimerHandle | null = null;
  #nullTimer: TimerHandle | null = null;
  #lastNullOk = false;
  /** Refusals so far of the event being sent. */
  readonly #refusals = new Map<string, number>();
  /** Events this path gave up on (they wait for the primary). */
  readonly #givenUp = new Set<string>();

  constructor(options: Dc09UplinkOptions) {
    this.#o = options;
    options.outbox.onAppend(() => this.pump());
    options.outbox.onAck((ids) => {
      for (const id of ids) this.#givenUp.delete(id);
    });
  }

  get connected(): boolean {
    return this.#connected;
  }

  /** Whether the last supervision message was acknowledged. */
  get healthy(): boolean {
    return this.#connected && this.#lastNullOk;
  }

  async start(): Promise<void> {
    this.#running = true;
    this.#connect();
    this.#scheduleNull(this.#o.nullIntervalMs);
  }

  async stop(): Promise<void> {
    this.#running = false;
    for (const timer of [this.#reconnect, this.#nullTimer]) if (timer) this.#o.clock.clearTimeout(timer);
    this.#socket?.destroy();
    this.#socket = null;
    this.#udp?.close();
    this.#udp = null;
    this.#connected = false;
    this.#waiting?.({ kind: 'none' });
  }

  /** Called when the primary goes up or down, and after each append: send while the primary is down. */
  pump(): void {
    if (this.#pumping || !this.#running || !this.#connected || this.#o.primaryUp()) return;
    this.#pumping = true;
    void this.#drain().finally(() => {
      this.#pumping = false;
    });
  }

  /**
   * Send what is pending, oldest first. A refused event (NAK, DUH) is tried again with a growing
   * pause; after `maxRefusals` the path gives up on it — it stays in the outbox for the primary,
   * and the gateway raises a trouble — and goes on with the next, so one frame the receiver will
   * not take never holds up the alarms behind it. No reply at all is the transport, not the event.
   */
  async #drain(): Promise<void> {
    while (this.#running && this.#connected && !this.#o.primaryUp()) {
      const event = this.#o.outbox.pending().find((e) => !this.#givenUp.has(e.id));
      if (!event) return;
      const reply = await this.#send(this.#eventFrame(event));
      if (reply.kind === 'ack') {
        this.#o.metrics.increment('dc09_uplink_events_acked_total');
        this.#refusals.delete(event.id);
        await this.#o.outbox.ack([event.id]);
        continue;
      }
      if (reply.kind === 'none') continue;
      this.#o.metrics.increment('dc09_uplink_refused_total', { reply: reply.kind });
      const refusals = (this.#refusals.get(event.id) ?? 0) + 1;
      this.#refusals.set(event.id, refusals);
      if (refusals >= (this.#o.maxRefusals ?? 4)) {
        this.#refusals.delete(event.id);
        this.#givenUp.add(event.id);
        this.#o.metrics.increment('dc09_uplink_given_up_total', { reply: reply.kind });
        this.#o.logger.error(
          { eventId: event.id, eventType: event.eventType, reply: reply.kind, refusals },
          'backup receiver will not take this event; it waits for the primary, the next goes on',
        );
        this.#o.onRefused?.(event, reply.kind);
        continue;
      }
      this.#o.logger.warn(
        { eventId: event.id, reply: reply.kind, refusals },
        'backup path did not take the event; retrying',
      );
      // A NAK carried the receiver's time (the offset is corrected): try again soon; a DUH, later.
      const pause = reply.kind === 'nak' ? 500 * refusals : 2000 * 2 ** (refusals - 1);
      await new Promise<void>((resolve) => this.#o.clock.setTimeout(resolve, pause));
    }
  }

  #eventFrame(event: AlarmEvent): () => string {
    const format = this.#o.format ?? 'vigil';
    const adm = format === 'adm-cid';
    const data = adm
      ? formatAdmCid(
          this.#o.account,
          event.qualifier === 'restore' ? 3 : 1,
          event.code.cid,
          event.area,
          event.zone,
        )
      : formatSiaDcs(this.#o.account, event.code.sia, event.area, event.zone, event.text);
    return () =>
      buildFrame({
        id: adm ? 'ADM-CID' : 'SIA-DCS',
        seq: this.#nextSeq(),
        receiver: this.#o.receiver ?? null,
        prefix: this.#o.prefix,
        account: this.#o.account,
        data,
        // The full event rides along only to a Vigil central.
        xdata: format === 'vigil' ? [vigilXdata(JSON.stringify(event))] : [],
        key: this.#o.key,
        timestamp: this.#o.clock.now() + this.#clockOffsetMs,
      });
  }

  #nullFrame(): string {
    return buildFrame({
      id: 'NULL',
      seq: this.#nextSeq(),
      receiver: this.#o.receiver ?? null,
      prefix: this.#o.prefix,
      account: this.#o.account,
      data: '',
      key: this.#o.key,
      timestamp: this.#o.clock.now() + this.#clockOffsetMs,
    });
  }

  #nextSeq(): number {
    this.#seq = (this.#seq % 9999) + 1;
    return this.#seq;
  }

  /** One request, one reply; requests queue behind each other. Frames are built when sent (fresh timestamp). */
  #send(frame: () => string): Promise<Reply> {
    const exchange = this.#exchange.then(
      () =>
        new Promise<Reply>((resolve) => {
          const socket = this.#socket;
          const udp = this.#udp;
          if ((!socket && !udp) || !this.#connected) return resolve({ kind: 'none' });
          const timer = this.#o.clock.setTimeout(() => {
            this.#waiting = null;
            this.#o.metrics.increment('dc09_uplink_timeouts_total');
            // Over TCP a silent receiver means a broken connection; a lost datagram is just sent again.
            socket?.destroy();
            resolve({ kind: 'none' });
          }, this.#o.replyTimeoutMs ?? 10_000);
          this.#waiting = (reply) => {
            this.#o.clock.clearTimeout(timer);
            this.#waiting = null;
            if (reply.kind === 'nak' && reply.receiverTime !== null) {
              // The receiver said what time it is: frames from now on carry its time.
              this.#clockOffsetMs = reply.receiverTime - this.#o.clock.now();
              this.#o.metrics.increment('dc09_uplink_clock_corrections_total');
            }
            resolve(reply);
          };
          if (udp) udp.send(Buffer.from(frame(), 'latin1'), this.#o.port, this.#o.host);
          else socket!.write(frame(), 'latin1');
        }),
    );
    this.#exchange = exchange;
    return exchange;
  }

  /** UDP: no connection to keep; each frame is a datagram, each reply one too. */
  #openUdp(): void {
    const udp = dgram.createSocket(net.isIPv6(this.#o.host) ? 'udp6' : 'udp4');
    this.#udp = udp;
    udp.on('message', (datagram) => {
      for (const frame of new FrameSplitter().push(datagram).frames) this.#onReply(frame);
    });
    udp.on('error', (error) => this.#o.logger.debug({ err: error.message }, 'backup path socket error'));
    udp.bind(0, () => {
      this.#connected = true;
      this.#o.logger.info(
        { host: this.#o.host, port: this.#o.port, transport: 'udp' },
        'backup path (DC-09) ready',
      );
      void this.#send(() => this.#nullFrame()).then((reply) => {
        this.#lastNullOk = reply.kind === 'ack';
      });
      this.pump();
    });
  }

  #connect(): void {
    if (!this.#running) return;
    if (this.#o.transport === 'udp') {
      this.#openUdp();
      return;
    }
    const socket = net.connect({ host: this.#o.host, port: this.#o.port, noDelay: true });
    this.#socket = socket;
    this.#splitter = new FrameSplitter();
    socket.on('connect', () => {
      this.#connected = true;
      this.#attempt = 0;
      this.#o.logger.info({ host: this.#o.host, port: this.#o.port }, 'backup path (DC-09) connected');
      void this.#send(() => this.#nullFrame()).then((reply) => {
        this.#lastNullOk = reply.kind === 'ack';
      });
      this.pump();
    });
    socket.on('data', (chunk: Buffer) => {
      for (const frame of this.#splitter.push(chunk).frames) this.#onReply(frame);
    });
    socket.on('error', (error) => this.#o.logger.debug({ err: error.message }, 'backup path socket error'));
    socket.on('close', () => {
      if (this.#socket !== socket) return;
      if (this.#connected) this.#o.logger.warn('backup path (DC-09) disconnected');
      this.#connected = false;
      this.#lastNullOk = false;
      this.#waiting?.({ kind: 'none' });
      if (!this.#running || this.#reconnect) return;
      const delay = RECONNECT_STEPS_MS[Math.min(this.#attempt++, RECONNECT_STEPS_MS.length - 1)]!;
      this.#reconnect = this.#o.clock.setTimeout(() => {
        this.#reconnect = null;
        this.#connect();
      }, delay);
    });
  }

  #onReply(frame: string): void {
    const parsed = parseFrame(frame, () => this.#o.key);
    if (!parsed.ok) {
      this.#o.metrics.increment('dc09_uplink_bad_replies_total');
      return;
    }
    const id = parsed.message.id;
    const reply: Reply =
      id === 'ACK'
        ? { kind: 'ack' }
        : id === 'NAK'
          ? { kind: 'nak', receiverTime: parsed.message.timestamp }
          : { kind: 'duh' };
    this.#waiting?.(reply);
  }

  #scheduleNull(delay: number): void {
    if (!this.#running) return;
    this.#nullTimer = this.#o.clock.setTimeout(() => {
      void this.#send(() => this.#nullFrame()).then((reply) => {
        this.#lastNullOk = reply.kind === 'ack';
        this.#o.metrics.increment('dc09_uplink_null_total', { reply: reply.kind });
        this.#scheduleNull(this.#o.nullIntervalMs);
      });
    }, delay);
  }
}
