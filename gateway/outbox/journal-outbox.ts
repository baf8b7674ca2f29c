import fs from 'node:fs';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import type { Logger } from '../../lib/logger.ts';
import type { Metrics } from '../../lib/metrics.ts';
import { type AlarmEvent, AlarmEventSchema } from '../../protocols/messages.ts';
import { admit } from './admission.ts';

/**
 * The gateway's durable outbox: an append-only journal in segment files.
 *
 * Each record is one line, `<crc32 hex> <json>\n`, of three kinds: `e` (an event, written
 * before it is ever sent), `a` (ids the central acknowledged) and `h` (a segment header that
 * carries the next sequence number across rotation). Appends are group-committed: records
 * queued in the same tick share one write and one fdatasync, and `append` resolves only after
 * that fdatasync. Nothing is rewritten in place (kind to SD cards): a full segment is closed
 * and a new one started; the oldest segment is deleted once every event in it is acked.
 * A torn record at the end of the newest segment (power cut mid-write) is cut off on open.
 *
 * When the journal cannot be written (a full or failing SD card), events are held in memory and
 * sent all the same; `health` says so (the gateway raises a trouble and answers signals with
 * 507), and every write retries them until the card takes them again. Sequence numbers are never
 * reused: a floor reserved ahead in `seq.floor` survives the loss of journal data, which is
 * detected on open (a segment without its header, a journal behind the floor) and reported.
 */
export interface OutboxOptions {
  readonly dir: string;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Rotate to a new segment past this size. */
  readonly segmentBytes?: number;
  /** Past this many unsent events the admission policy applies (see admission.ts). */
  readonly limit?: number;
}

type JournalRecord = { k: 'e'; event: AlarmEvent } | { k: 'a'; ids: string[] } | { k: 'h'; nextSeq: number };

/** Why the journal is not durable right now, or what was found lost on open. */
export interface OutboxHealth {
  /** The journal cannot be written: how many events are held in memory only, since when, why. */
  readonly failing: { readonly since: number; readonly reason: string; readonly heldInMemory: number } | null;
  /** Journal data found missing on open (reported once by whoever starts the outbox). */
  readonly lost: { readonly reason: string; readonly seqFrom: number } | null;
}

type Durability = 'writing' | 'durable' | 'held';
interface PendingEntry {
  readonly event: AlarmEvent;
  segment: Segment | null;
  durability: Durability;
}

/** Sequence numbers reserved ahead on disk: a restart after lost journal data continues above them. */
const SEQ_BLOCK = 1000;
const RETRY_HELD_MS = 5000;

interface Segment {
  readonly file: string;
  /** Events in this segment not yet acked. */
  readonly unacked: Set<string>;
  bytes: number;
}

interface QueuedWrite {
  readonly line: string;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

const SEGMENT_PATTERN = /^segment-(\d{12})\.jrnl$/;

export class JournalOutbox {
  readonly #dir: string;
  readonly #logger: Logger;
  readonly #metrics: Metrics;
  readonly #segmentBytes: number;
  readonly #limit: number;
  readonly #segments: Segment[] = [];
  /** Unacked events in sequence order (Map keeps insertion order, and seq grows with insertion). */
  readonly #pending = new Map<string, PendingEntry>();
  readonly #listeners: Array<(event: AlarmEvent) => void> = [];
  readonly #ackListeners: Array<(ids: readonly string[]) => void> = [];
  readonly #healthListeners: Array<(health: OutboxHealth) => void> = [];
  #failing: { since: number; reason: string } | null = null;
  #lost: OutboxHealth['lost'] = null;
  #retryTimer: NodeJS.Timeout | null = null;
  #retrying: Promise<boolean> | null = null;
  /** Acks applied in memory whose record could not be written yet. */
  readonly #heldAcks = new Set<string>();
  /** Sequence numbers below this are reserved on disk (`seq.floor`). */
  #seqReserved = 0;
  #fd = -1;
  #nextSeq = 0;
  #queue: QueuedWrite[] = [];
  #flushScheduled = false;
  #closed = false;

  private constructor(options: OutboxOptions) {
    this.#dir = options.dir;
    this.#logger = options.logger;
    this.#metrics = options.metrics;
    this.#segmentBytes = options.segmentBytes ?? 4 * 1024 * 1024;
    this.#limit = options.limit ?? 100_000;
  }

  static open(options: OutboxOptions): JournalOutbox {
    const outbox = new JournalOutbox(options);
    outbox.#recover();
    return outbox;
  }

  /** The sequence number the next event must carry. */
  get nextSeq(): number {
    return this.#nextSeq;
  }

  get depth(): number {
    return this.#pending.size;
  }

  get segmentCount(): number {
    return this.#segments.length;
  }

  /**
   * Unacked events, oldest first: on disk, or held in memory because the disk failed (sent all
   * the same); never one whose write is still under way.
   */
  pending(): AlarmEvent[] {
    const events: AlarmEvent[] = [];
    for (const entry of this.#pending.values()) if (entry.durability !== 'writing') events.push(entry.event);
    return events;
  }

  get health(): OutboxHealth {
    let held = 0;
    for (const entry of this.#pending.values()) if (entry.durability === 'held') held++;
    return {
      failing: this.#failing ? { ...this.#failing, heldInMemory: held } : null,
      lost: this.#lost,
    };
  }

  /** Told when the journal starts or stops failing. */
  onHealthChange(listener: (health: OutboxHealth) => void): void {
    this.#healthListeners.push(listener);
  }

  /** Whether this event is on disk (false: held in memory only, or unknown). */
  isDurable(eventId: string): boolean {
    return this.#pending.get(eventId)?.durability === 'durable';
  }

  has(eventId: string): boolean {
    return this.#pending.has(eventId);
  }

  /** Called after each durable append, so a transport can send at once. */
  onAppend(listener: (event: AlarmEvent) => void): void {
    this.#listeners.push(listener);
  }

  /** Called with the ids an ack removed (over either path). */
  onAck(listener: (ids: readonly string[]) => void): void {
    this.#ackListeners.push(listener);
  }

  /**
   * Make `build(seq)` durable. The sequence number is assigned here so that the journal order,
   * the seq order and the send order are one and the same. Resolves null when the admission
   * policy coalesced the event into one already waiting (only ever a repeated technical log event).
   */
  async append(build: (seq: number) => AlarmEvent): Promise<AlarmEvent | null> {
    this.#assertOpen();
    const event = build(this.#nextSeq);
    if (event.seq !== this.#nextSeq) throw new Error(`event seq ${event.seq} != outbox seq ${this.#nextSeq}`);
    if (this.#pending.size >= this.#limit) {
      this.#metrics.increment('outbox_over_limit_total');
      if (admit(event, this.pending(), this.#pending.size, this.#limit) === 'coalesce') {
        this.#metrics.increment('outbox_coalesced_total', { eventType: event.eventType });
        this.#logger.warn(
          { eventType: event.eventType, depth: this.#pending.size },
          'outbox full: coalesced a repeat',
        );
        return null;
      }
      this.#logger.error(
        { eventType: event.eventType, depth: this.#pending.size },
        'outbox past its limit; kept the event',
      );
    }
    this.#nextSeq += 1;
    const entry: PendingEntry = { event, segment: null, durability: 'writing' };
    this.#pending.set(event.id, entry);
    try {
      this.#reserveSeq();
      this.#rotateIfFull();
      const segment = this.#active();
      // Counted in its segment before the write: a rotation meanwhile must not delete the segment.
      entry.segment = segment;
      segment.unacked.add(event.id);
      await this.#write({ k: 'e', event });
      entry.durability = 'durable';
      this.#recovered();
    } catch (error) {
      // Never lose it: held in memory, sent all the same, written when the card takes it again.
      entry.segment?.unacked.delete(event.id);
      entry.segment = null;
      entry.durability = 'held';
      this.#failed(error);
    }
    for (const listener of this.#listeners) listener(event);
    return event;
  }

  /** Record the central's ack; returns how many pending events it removed. */
  async ack(ids: readonly string[]): Promise<number> {
    this.#assertOpen();
    const known = ids.filter((id) => this.#pending.has(id));
    if (known.length === 0) return 0;
    try {
      await this.#write({ k: 'a', ids: known });
      this.#recovered();
    } catch (error) {
      // Written with the held events once the card takes it; lost meanwhile, it would cost only a
      // resend after a restart (the central dedups).
      for (const id of known) this.#heldAcks.add(id);
      this.#failed(error);
    }
    for (const id of known) {
      const entry = this.#pending.get(id);
      if (!entry) continue;
      this.#pending.delete(id);
      entry.segment?.unacked.delete(id);
    }
    this.#dropAckedSegments();
    for (const listener of this.#ackListeners) listener(known);
    return known.length;
  }

  /** Write what is held in memory; true when nothing is held any more. */
  async retryHeld(): Promise<boolean> {
    if (this.#closed) return false;
    if (this.#retrying) return this.#retrying;
    this.#retrying = this.#writeHeld().finally(() => {
      this.#retrying = null;
    });
    return this.#retrying;
  }

  async #writeHeld(): Promise<boolean> {
    const held = [...this.#pending.values()].filter((entry) => entry.durability === 'held');
    const acks = [...this.#heldAcks];
    if (held.length === 0 && acks.length === 0 && !this.#failing) return true;
    let segment: Segment | null = null;
    try {
      this.#rotateIfFull();
      segment = this.#active();
      for (const entry of held) segment.unacked.add(entry.event.id);
      await Promise.all([
        ...held.map((entry) => this.#write({ k: 'e', event: entry.event })),
        // With nothing held (all acked meanwhile), the empty ack is the probe that the card writes again.
        ...(acks.length > 0 || held.length === 0 ? [this.#write({ k: 'a', ids: acks })] : []),
      ]);
      for (const id of acks) this.#heldAcks.delete(id);
      for (const entry of held) {
        // Acked meanwhile: its record is harmless on disk (replay applies the later ack or none).
        if (!this.#pending.has(entry.event.id)) {
          segment.unacked.delete(entry.event.id);
          continue;
        }
        entry.segment = segment;
        entry.durability = 'durable';
      }
      this.#logger.info({ written: held.length }, 'outbox: events held in memory are on disk again');
      this.#recovered();
      return true;
    } catch (error) {
      for (const entry of held) segment?.unacked.delete(entry.event.id);
      this.#failed(error);
      return false;
    }
  }

  #failed(error: unknown): void {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    this.#metrics.increment('outbox_held_in_memory_total');
    if (!this.#failing) {
      this.#failing = { since: Date.now(), reason };
      this.#logger.error({ reason }, 'outbox cannot write its journal: holding events in memory');
      this.#notifyHealth();
    }
    if (!this.#retryTimer && !this.#closed) {
      this.#retryTimer = setTimeout(() => {
        this.#retryTimer = null;
        void this.retryHeld();
      }, RETRY_HELD_MS);
      this.#retryTimer.unref();
    }
  }

  #recovered(): void {
    if (!this.#failing) return;
    if (this.#heldAcks.size > 0 || [...this.#pending.values()].some((entry) => entry.durability === 'held')) {
      void this.retryHeld();
      return;
    }
    this.#logger.info({ since: this.#failing.since }, 'outbox journal writable again');
    this.#failing = null;
    this.#notifyHealth();
  }

  #notifyHealth(): void {
    const health = this.health;
    for (const listener of this.#healthListeners) listener(health);
  }

  /** Keep `seq.floor` ahead of every sequence number handed out. */
  #reserveSeq(): void {
    if (this.#nextSeq < this.#seqReserved) return;
    const reserved = this.#nextSeq + SEQ_BLOCK;
    const file = path.join(this.#dir, 'seq.floor');
    const temp = `${file}.tmp`;
    const fd = fs.openSync(temp, 'w');
    try {
      fs.writeSync(fd, `${reserved}\n`);
      fs.fdatasyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(temp, file);
    fsyncDir(this.#dir);
    this.#seqReserved = reserved;
  }

  #readSeqFloor(): number {
    try {
      const value = Number.parseInt(fs.readFileSync(path.join(this.#dir, 'seq.floor'), 'utf8'), 10);
      return Number.isSafeInteger(value) && value >= 0 ? value : 0;
    } catch {
      return 0;
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
    if (this.#queue.length > 0) this.#flush();
    this.#closed = true;
    if (this.#fd >= 0) fs.closeSync(this.#fd);
    this.#fd = -1;
  }

  #assertOpen(): void {
    if (this.#closed) throw new Error('outbox is closed');
  }

  #active(): Segment {
    const segment = this.#segments.at(-1);
    if (!segment) throw new Error('outbox has no active segment');
    return segment;
  }

  #write(record: JournalRecord): Promise<void> {
    const line = encodeRecord(record);
    return new Promise((resolve, reject) => {
      this.#queue.push({ line, resolve, reject });
      if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        setImmediate(() => this.#flush());
      }
    });
  }

  /** One write and one fdatasync for everything queued since the last flush. */
  #flush(): void {
    this.#flushScheduled = false;
    const batch = this.#queue;
    this.#queue = [];
    if (batch.length === 0) return;
    const data = batch.map((w) => w.line).join('');
    try {
      if (this.#closed) throw new Error('outbox is closed');
      const buffer = Buffer.from(data);
      let offset = 0;
      while (offset < buffer.length) offset += fs.writeSync(this.#fd, buffer, offset);
      fs.fdatasyncSync(this.#fd);
      this.#active().bytes += buffer.length;
      this.#metrics.increment('outbox_fsyncs_total');
      for (const write of batch) write.resolve();
    } catch (error) {
      // A partial record must not stay: the next record would run into it and both be lost.
      try {
        if (this.#fd >= 0) fs.ftruncateSync(this.#fd, this.#active().bytes);
      } catch {
        // Cut off on the next open as a torn or corrupt record.
      }
      this.#logger.error({ err: error }, 'outbox write failed');
      this.#metrics.increment('outbox_write_errors_total');
      for (const write of batch) write.reject(error as Error);
    }
  }

  #rotateIfFull(): void {
    const active = this.#segments.at(-1);
    if (active && active.bytes < this.#segmentBytes) return;
    if (this.#queue.length > 0) this.#flush();
    const number = active ? segmentNumber(active.file) + 1 : 1;
    const file = path.join(this.#dir, `segment-${String(number).padStart(12, '0')}.jrnl`);
    const header = Buffer.from(encodeRecord({ k: 'h', nextSeq: this.#nextSeq }));
    const fd = fs.openSync(file, 'a');
    try {
      fs.writeSync(fd, header);
      fs.fdatasyncSync(fd);
      fsyncDir(this.#dir);
    } catch (error) {
      // No half-made segment: the active one stays active, and the rotation is tried again later.
      fs.closeSync(fd);
      fs.rmSync(file, { force: true });
      throw error;
    }
    if (this.#fd >= 0) fs.closeSync(this.#fd);
    this.#fd = fd;
    this.#segments.push({ file, unacked: new Set(), bytes: header.length });
    this.#dropAckedSegments();
  }

  /** Delete fully acked segments from the oldest on, never the active one, so acks outlive their events. */
  #dropAckedSegments(): void {
    while (this.#segments.length > 1 && this.#segments[0]!.unacked.size === 0) {
      const oldest = this.#segments.shift()!;
      fs.rmSync(oldest.file, { force: true });
      this.#metrics.increment('outbox_segments_removed_total');
    }
  }

  #recover(): void {
    fs.mkdirSync(this.#dir, { recursive: true });
    const files = fs
      .readdirSync(this.#dir)
      .filter((name) => SEGMENT_PATTERN.test(name))
      .sort()
      .map((name) => path.join(this.#dir, name));
    const headerless: string[] = [];
    files.forEach((file, index) => {
      const segment: Segment = { file, unacked: new Set(), bytes: 0 };
      this.#segments.push(segment);
      if (!this.#replay(segment, index === files.length - 1)) headerless.push(path.basename(file));
    });
    // Every segment starts with its header, and the journal never falls behind the reserved floor:
    // anything else means the card lost data (a zero-length file after a power cut, say).
    const floor = this.#readSeqFloor();
    const behind = floor > 0 && this.#nextSeq < floor - SEQ_BLOCK;
    if (headerless.length > 0 || behind) {
      const reason =
        headerless.length > 0
          ? `journal segment(s) without their header (data lost): ${headerless.join(', ')}`
          : `journal ends at sequence ${this.#nextSeq}, below the reserved ${floor - SEQ_BLOCK}`;
      this.#lost = { reason, seqFrom: Math.max(this.#nextSeq, floor) };
      this.#metrics.increment('outbox_data_lost_total');
      this.#logger.error({ reason, continueAt: this.#lost.seqFrom }, 'outbox: journal data lost');
    }
    // Never hand out a number that may have been used before.
    if (this.#lost) this.#nextSeq = Math.max(this.#nextSeq, floor);
    this.#seqReserved = floor;
    const newest = this.#segments.at(-1);
    if (!newest || headerless.includes(path.basename(newest.file))) {
      // Start a new segment, whose header carries the sequence on.
      if (newest) newest.bytes = Number.POSITIVE_INFINITY;
      try {
        this.#rotateIfFull();
      } catch (error) {
        // Started on a full card: run all the same, holding events in memory until it takes them.
        this.#failed(error);
      }
    } else {
      this.#fd = fs.openSync(this.#active().file, 'a');
    }
    this.#dropAckedSegments();
    if (this.#pending.size > 0)
      this.#logger.info({ pending: this.#pending.size }, 'outbox recovered unacked events');
  }

  /** Apply a segment's records; false when it does not start with its header. */
  #replay(segment: Segment, isNewest: boolean): boolean {
    const content = fs.readFileSync(segment.file);
    let offset = 0;
    let first = true;
    let headed = false;
    while (offset < content.length) {
      const newline = content.indexOf(0x0a, offset);
      const end = newline === -1 ? content.length : newline + 1;
      const record = newline === -1 ? null : decodeRecord(content.subarray(offset, newline));
      if (!record) {
        if (isNewest && newline === -1) {
          this.#logger.warn({ file: segment.file, offset }, 'outbox: cutting off a torn record at the end');
          this.#metrics.increment('outbox_torn_records_total');
          fs.truncateSync(segment.file, offset);
          break;
        }
        this.#logger.error({ file: segment.file, offset }, 'outbox: skipping a corrupt record');
        this.#metrics.increment('outbox_corrupt_records_total');
        offset = end;
        continue;
      }
      if (first) headed = record.k === 'h';
      first = false;
      this.#apply(record, segment);
      offset = end;
    }
    segment.bytes = offset;
    return headed;
  }

  #apply(record: JournalRecord, segment: Segment): void {
    if (record.k === 'h') {
      this.#nextSeq = Math.max(this.#nextSeq, record.nextSeq);
    } else if (record.k === 'e') {
      // Written again after a disk failure: the later copy is the one that counts.
      this.#pending.get(record.event.id)?.segment?.unacked.delete(record.event.id);
      this.#pending.set(record.event.id, { event: record.event, segment, durability: 'durable' });
      segment.unacked.add(record.event.id);
      this.#nextSeq = Math.max(this.#nextSeq, record.event.seq + 1);
    } else {
      for (const id of record.ids) {
        const entry = this.#pending.get(id);
        if (!entry) continue;
        this.#pending.delete(id);
        entry.segment?.unacked.delete(id);
      }
    }
  }
}

function encodeRecord(record: JournalRecord): string {
  const json = JSON.stringify(record);
  return `${crc32(json).toString(16).padStart(8, '0')} ${json}\n`;
}

function decodeRecord(line: Buffer): JournalRecord | null {
  if (line.length < 10 || line[8] !== 0x20) return null;
  const json = line.subarray(9);
  if (Number.parseInt(line.subarray(0, 8).toString(), 16) !== crc32(json)) return null;
  try {
    const record = JSON.parse(json.toString()) as JournalRecord;
    if (record.k === 'e') return AlarmEventSchema.safeParse(record.event).success ? record : null;
    if (record.k === 'a') return Array.isArray(record.ids) ? record : null;
    if (record.k === 'h') return Number.isInteger(record.nextSeq) ? record : null;
    return null;
  } catch {
    return null;
  }
}

function segmentNumber(file: string): number {
  return Number(SEGMENT_PATTERN.exec(path.basename(file))?.[1] ?? 0);
}

/** A new file's directory entry is durable only once the directory itself is synced. */
function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
