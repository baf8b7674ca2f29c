import type pg from 'pg';
import type { Logger } from '../../lib/logger.ts';
import type { Metrics } from '../../lib/metrics.ts';
import { Throttle } from '../../lib/throttle.ts';
import type { AlarmEvent } from '../../protocols/messages.ts';
import { centralEvent, storeCentralEvent } from '../supervision/central-event.ts';
import type { AfterStore } from './event-store.ts';

/** How long a hole in a gateway's sequence may stay open (events arrive by priority after an outage). */
export const GAP_GRACE_MS = 10 * 60_000;
/** One trouble per gateway in this time; the rest is logged and counted. */
const RAISE_INTERVAL_MS = 15 * 60_000;

interface Gap {
  from: number;
  to: number;
  readonly since: number;
  told: boolean;
}

interface Track {
  high: number;
  readonly gaps: Gap[];
}

/**
 * Watches each Vigil gateway's event sequence numbers (over MQTT and the DC-09 backup alike). A
 * hole that stays open past GAP_GRACE_MS means events were lost on the way; a number already used
 * by another event means the gateway's journal went back (lost data, a reset): both raise a
 * `system-trouble` for the site, and are logged and counted (`ingest_sequence_troubles_total`).
 */
export class SequenceWatch {
  readonly #tracks = new Map<string, Track>();
  readonly #raised = new Throttle(RAISE_INTERVAL_MS);
  readonly #o: SequenceWatchOptions;

  constructor(options: SequenceWatchOptions) {
    this.#o = options;
    options.metrics.describe('ingest_sequence_troubles_total', 'Sequence gaps and reuses, by kind');
  }

  /**
   * Before a gateway's first event here is stored: what the database holds of it is read now, so
   * its events committed while this one is being stored are not taken for the state before them.
   */
  async prepare(gatewayId: string): Promise<void> {
    if (!this.#tracks.has(gatewayId)) await this.#track(gatewayId);
  }

  /** A new event of a Vigil gateway was stored (not a duplicate). */
  async observe(event: AlarmEvent, now: number): Promise<void> {
    const track = await this.#track(event.gatewayId);
    const seq = event.seq;
    if (seq > track.high) {
      if (seq > track.high + 1 && track.high >= 0)
        track.gaps.push({ from: track.high + 1, to: seq - 1, since: now, told: false });
      track.high = seq;
      return;
    }
    const gap = track.gaps.find((g) => g.from <= seq && seq <= g.to);
    if (gap) {
      this.#fill(track, gap, seq);
      return;
    }
    // Below the highest and in no known hole: a hole from before a restart, or a number used twice.
    const { rows } = await this.#o.pool.query(
      `SELECT 1 FROM events WHERE gateway_id = $1 AND seq = $2 AND id <> $3 AND via IN ('mqtt', 'dc09') LIMIT 1`,
      [event.gatewayId, seq, event.id],
    );
    if (rows.length > 0)
      await this.#raise(
        event,
        'reused',
        now,
        `Gateway ${event.gatewayId} sent sequence number ${seq} again for another event (highest ${track.high}): its journal went back`,
      );
  }

  /** Holes open longer than the grace: raise them (once each). */
  async check(now: number): Promise<void> {
    for (const [gatewayId, track] of this.#tracks) {
      for (const gap of [...track.gaps]) {
        if (gap.told || now - gap.since < GAP_GRACE_MS) continue;
        // Another worker of a cluster may have stored them (the queue hands a gateway's messages to any).
        await this.#fillFromStore(gatewayId, track, gap);
        if (!track.gaps.includes(gap)) continue;
        gap.told = true;
        const siteId = await this.#siteOf(gatewayId);
        if (!siteId) continue;
        const range = gap.from === gap.to ? `${gap.from}` : `${gap.from}–${gap.to}`;
        await this.#raise(
          { siteId, gatewayId },
          'gap',
          now,
          `Events ${range} of gateway ${gatewayId} never arrived (${gap.to - gap.from + 1} missing)`,
        );
      }
    }
  }

  async #fillFromStore(gatewayId: string, track: Track, gap: Gap): Promise<void> {
    const { rows } = await this.#o.pool.query<{ seq: string }>(
      `SELECT DISTINCT seq::text FROM events
        WHERE gateway_id = $1 AND seq BETWEEN $2 AND $3 AND via IN ('mqtt', 'dc09')`,
      [gatewayId, gap.from, gap.to],
    );
    for (const { seq } of rows) {
      const open = track.gaps.find((g) => g.from <= Number(seq) && Number(seq) <= g.to);
      if (open) this.#fill(track, open, Number(seq));
    }
  }

  #fill(track: Track, gap: Gap, seq: number): void {
    const index = track.gaps.indexOf(gap);
    if (gap.from === gap.to) track.gaps.splice(index, 1);
    else if (seq === gap.from) gap.from++;
    else if (seq === gap.to) gap.to--;
    else track.gaps.splice(index, 1, { ...gap, to: seq - 1 }, { ...gap, from: seq + 1 });
  }

  async #track(gatewayId: string): Promise<Track> {
    let track = this.#tracks.get(gatewayId);
    if (!track) {
      // After a restart: continue from what is stored (holes from before are checked on arrival).
      const { rows } = await this.#o.pool.query<{ high: string | null }>(
        `SELECT max(seq)::text AS high FROM events WHERE gateway_id = $1 AND via = 'mqtt'`,
        [gatewayId],
      );
      track = this.#tracks.get(gatewayId) ?? {
        high: rows[0]?.high === null ? -1 : Number(rows[0]?.high),
        gaps: [],
      };
      this.#tracks.set(gatewayId, track);
    }
    return track;
  }

  async #siteOf(gatewayId: string): Promise<string | null> {
    const { rows } = await this.#o.pool.query<{ site_id: string }>(
      'SELECT site_id FROM gateways WHERE id = $1',
      [gatewayId],
    );
    return rows[0]?.site_id ?? null;
  }

  async #raise(
    source: { siteId: string; gatewayId: string },
    kind: 'gap' | 'reused',
    now: number,
    text: string,
  ): Promise<void> {
    this.#o.metrics.increment('ingest_sequence_troubles_total', { kind });
    this.#o.logger.error({ gatewayId: source.gatewayId, kind, text }, 'event sequence trouble');
    if (!this.#raised.allow(source.gatewayId, now)) return;
    const event = centralEvent('system-trouble', 'event', source, now, null, text.slice(0, 256), {
      id: `${source.gatewayId}_sequence`,
      name: 'Event sequence',
    });
    await storeCentralEvent(this.#o.pool, event, this.#o.afterStore);
  }
}

export interface SequenceWatchOptions {
  readonly pool: pg.Pool;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly afterStore?: AfterStore | undefined;
}
