import type pg from 'pg';
import { errorMessage } from '../../lib/errors.ts';
import type { Logger } from '../../lib/logger.ts';
import type { Metrics } from '../../lib/metrics.ts';
import type { PathName } from '../paths.ts';

interface Seen {
  readonly siteId: string;
  readonly at: string;
  readonly heartbeat: string;
}

/**
 * When each gateway and each of its paths was last heard, kept in memory and written in batches:
 * one statement a second for all heartbeats and one for all paths heard, on a pool of its own, instead
 * of two commits per heartbeat on the pool alarms use (at 100,000 gateways ~1,100 heartbeats/s took
 * 40% of the central's time and queued alarms behind them). A lost batch costs at most a second of
 * "last heard", which the supervision's grace covers; a failed write is kept for the next one.
 */
export class HeartbeatBook {
  readonly #pool: pg.Pool;
  readonly #logger: Logger;
  readonly #metrics: Metrics;
  readonly #flushMs: number;
  #gateways = new Map<string, Seen>();
  /** `at`: epoch ms (heard with every message of a gateway, so kept cheap until written). */
  #paths = new Map<string, { gatewayId: string; path: PathName; at: number }>();
  #timer: NodeJS.Timeout | null = null;
  /** What each gateway's heartbeats say besides their counters, as last written. */
  readonly #facts = new Map<string, string>();
  #flushing: Promise<void> = Promise.resolve();

  constructor(options: { pool: pg.Pool; logger: Logger; metrics: Metrics; flushMs?: number }) {
    this.#pool = options.pool;
    this.#logger = options.logger;
    this.#metrics = options.metrics;
    this.#flushMs = options.flushMs ?? 1000;
  }

  start(): void {
    this.#timer = setInterval(() => void this.flush(), this.#flushMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await this.flush();
  }

  heartbeat(siteId: string, gatewayId: string, heartbeat: object): void {
    this.#gateways.set(gatewayId, {
      siteId,
      at: new Date().toISOString(),
      heartbeat: JSON.stringify(heartbeat),
    });
    this.heard(gatewayId, 'primary');
    // Only repeats wait for the batch: a gateway's first heartbeat since it (re)connected, or one
    // that says something new (its cameras, its firmware), is written at once.
    const {
      seq: _seq,
      sentAt: _sentAt,
      outboxDepth: _depth,
      ...facts
    } = heartbeat as Record<string, unknown>;
    const known = JSON.stringify(facts);
    if (this.#facts.get(gatewayId) !== known) {
      this.#facts.set(gatewayId, known);
      void this.flush();
    }
  }

  /** A gateway's connection ended: its next heartbeat is written at once again. */
  forget(gatewayId: string): void {
    this.#facts.delete(gatewayId);
  }

  heard(gatewayId: string, path: PathName): void {
    const key = `${gatewayId}/${path}`;
    const known = this.#paths.get(key);
    if (known) known.at = Date.now();
    else this.#paths.set(key, { gatewayId, path, at: Date.now() });
  }

  /** Write what was heard since the last batch (batches never overlap). */
  flush(): Promise<void> {
    this.#flushing = this.#flushing.then(() => this.#write());
    return this.#flushing;
  }

  async #write(): Promise<void> {
    const gateways = this.#gateways;
    const paths = this.#paths;
    if (gateways.size === 0 && paths.size === 0) return;
    this.#gateways = new Map();
    this.#paths = new Map();
    try {
      if (gateways.size > 0)
        await this.#pool.query(
          // A status written since (an `offline` last will) is newer than the heartbeat: it stands.
          `UPDATE gateways g SET last_heartbeat = v.hb::jsonb,
                  online = CASE WHEN g.last_seen_at IS NULL OR g.last_seen_at <= v.at THEN true ELSE g.online END,
                  last_seen_at = GREATEST(g.last_seen_at, v.at)
             FROM jsonb_to_recordset($1::jsonb) AS v(id text, site text, at timestamptz, hb text)
            WHERE g.id = v.id AND g.site_id = v.site`,
          [
            JSON.stringify(
              [...gateways].map(([id, s]) => ({ id, site: s.siteId, at: s.at, hb: s.heartbeat })),
            ),
          ],
        );
      if (paths.size > 0)
        await this.#pool.query(
          `INSERT INTO path_status (gateway_id, path, last_heard_at)
           SELECT v.gw, v.path, v.at FROM jsonb_to_recordset($1::jsonb) AS v(gw text, path text, at timestamptz)
             JOIN gateways g ON g.id = v.gw
           ON CONFLICT (gateway_id, path) DO UPDATE
             SET last_heard_at = GREATEST(path_status.last_heard_at, EXCLUDED.last_heard_at)`,
          [
            JSON.stringify(
              [...paths.values()].map((p) => ({
                gw: p.gatewayId,
                path: p.path,
                at: new Date(p.at).toISOString(),
              })),
            ),
          ],
        );
      this.#metrics.increment('heartbeat_batches_total');
      this.#metrics.increment('heartbeat_batch_rows_total', {}, gateways.size + paths.size);
    } catch (error) {
      // Kept for the next batch, unless something newer came in meanwhile.
      for (const [id, seen] of gateways) if (!this.#gateways.has(id)) this.#gateways.set(id, seen);
      for (const [key, heard] of paths) if (!this.#paths.has(key)) this.#paths.set(key, heard);
      this.#metrics.increment('heartbeat_batch_errors_total');
      this.#logger.error({ err: errorMessage(error) }, 'heartbeats not written; kept for the next batch');
    }
  }
}
