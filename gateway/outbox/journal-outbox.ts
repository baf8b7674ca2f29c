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
  readonly #pending = new Map<string, { event: AlarmEvent; segment: Segment; durable: boolean }>();
  readonly #listeners: Array<() => void> = [];
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

  /** Unacked events that are on disk, oldest first: nothing is sent before it is durable. */
  pending(): AlarmEvent[] {
    const events: AlarmEvent[] = [];
    for (const entry of this.#pending.values()) if (entry.durable) events.push(entry.event);
    return events;
  }

  has(eventId: string): boolean {
    return this.#pending.has(eventId);
  }

  /** Called after each durable append, so a transport can send at once. */
  onAppend(listener: () => void): void {
    this.#listeners.push(listener);
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
    this.#rotateIfFull();
    const segment = this.#active();
    segment.unacked.add(event.id);
    const entry = { event, segment, durable: false };
    this.#pending.set(event.id, entry);
    try {
      await this.#write({ k: 'e', event });
      entry.durable = true;
    } catch (error) {
      this.#pending.delete(event.id);
      segment.unacked.delete(event.id);
      throw error;
    }
    for (const listener of this.#listeners) listener();
    return event;
  }

  /** Record the central's ack; returns how many pending events it removed. */
  async ack(ids: readonly string[]): Promise<number> {
    this.#assertOpen();
    const known = ids.filter((id) => this.#pending.has(id));
    if (known.length === 0) return 0;
    await this.#write({ k: 'a', ids: known });
    for (const id of known) {
      const entry = this.#pending.get(id);
      if (!entry) continue;
      this.#pending.delete(id);
      entry.segment.unacked.delete(id);
    }
    this.#dropAckedSegments();
    return known.length;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
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
    if (this.#fd >= 0) fs.closeSync(this.#fd);
    this.#fd = fs.openSync(file, 'a');
    const header = Buffer.from(encodeRecord({ k: 'h', nextSeq: this.#nextSeq }));
    fs.writeSync(this.#fd, header);
    fs.fdatasyncSync(this.#fd);
    fsyncDir(this.#dir);
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
    files.forEach((file, index) => {
      const segment: Segment = { file, unacked: new Set(), bytes: 0 };
      this.#segments.push(segment);
      this.#replay(segment, index === files.length - 1);
    });
    if (this.#segments.length === 0) {
      this.#rotateIfFull();
    } else {
      this.#fd = fs.openSync(this.#active().file, 'a');
    }
    this.#dropAckedSegments();
    if (this.#pending.size > 0)
      this.#logger.info({ pending: this.#pending.size }, 'outbox recovered unacked events');
  }

  #replay(segment: Segment, isNewest: boolean): void {
    const content = fs.readFileSync(segment.file);
    let offset = 0;
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
      this.#apply(record, segment);
      offset = end;
    }
    segment.bytes = offset;
  }

  #apply(record: JournalRecord, segment: Segment): void {
    if (record.k === 'h') {
      this.#nextSeq = Math.max(this.#nextSeq, record.nextSeq);
    } else if (record.k === 'e') {
      this.#pending.set(record.event.id, { event: record.event, segment, durable: true });
      segment.unacked.add(record.event.id);
      this.#nextSeq = Math.max(this.#nextSeq, record.event.seq + 1);
    } else {
      for (const id of record.ids) {
        const entry = this.#pending.get(id);
        if (!entry) continue;
        this.#pending.delete(id);
        entry.segment.unacked.delete(id);
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
