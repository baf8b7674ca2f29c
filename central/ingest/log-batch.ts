import type pg from 'pg';
import type { Metrics } from '../../lib/metrics.ts';
import type { AlarmEvent } from '../../protocols/messages.ts';
import { EVENT_COLUMNS, notStored, opensAlarm, type StoreResult, storeEvent } from './event-store.ts';

/**
 * One statement of fixed text (prepared once per connection) for any batch: the events travel as one
 * JSON array and PostgreSQL takes the columns out of each, as eventParams does for a single event
 * (numbers through numeric: a gateway's JSON may write 10 as 10.0 or 1e1).
 */
const INSERT_BATCH = {
  name: 'insert-log-event-batch',
  text: `WITH batch AS (
      SELECT DISTINCT ON (id) (r->'event'->>'id')::uuid AS id, r->>'via' AS via, r->'event' AS e
        FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS x (r, n) ORDER BY id, n),
    registered AS (
      INSERT INTO event_ids (id, gateway_id) SELECT id, e->>'gatewayId' FROM batch
      ON CONFLICT (id) DO NOTHING RETURNING id, received_at)
    INSERT INTO events (${EVENT_COLUMNS}, received_at)
    SELECT b.id, e->>'siteId', e->>'gatewayId', (e->>'seq')::numeric::bigint, e->>'eventType',
           e->>'qualifier', e->'code'->>'cid', e->'code'->>'sia', e->>'class', (e->>'priority')::numeric::smallint,
           e->'device'->>'id', e->'device'->>'name', (e->>'zone')::numeric::integer, (e->>'area')::numeric::integer,
           (e->'verification'->>'verified')::boolean, e->'verification', (e->>'relatesTo')::uuid, e->>'text',
           (e->>'occurredAt')::timestamptz, (e->>'recordedAt')::timestamptz, via, e, NULL, g.received_at
      FROM batch b JOIN registered g ON g.id = b.id
    RETURNING id, gateway_id`,
};

/** An event that changes nothing but its own row: no alarm, naming no earlier event. */
export function isPlainLog(event: AlarmEvent): boolean {
  return !opensAlarm(event) && !event.relatesTo;
}

interface Waiting {
  readonly event: AlarmEvent;
  /** The event's JSON as the gateway sent it, when that is the event exactly (readGatewayEvent). */
  readonly asReceived: string | null;
  readonly via: 'mqtt' | 'dc09' | 'central';
  readonly resolve: (result: StoreResult) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Group commit for plain log events (arming, bypasses, troubles, test reports — most of the traffic):
 * the events of many gateways that arrive within `lingerMs` are inserted by one statement, one
 * commit, instead of one commit each. Each is answered only after that commit (so its ack is never
 * early). Alarms never come here: they are stored on their own, at once. A batch the database refuses
 * is stored event by event, so only the bad one fails.
 */
export class LogEventBatch {
  readonly #pool: pg.Pool;
  readonly #metrics: Metrics;
  readonly #lingerMs: number;
  readonly #maxBatch: number;
  #queue: Waiting[] = [];
  #timer: NodeJS.Timeout | null = null;

  constructor(options: { pool: pg.Pool; metrics: Metrics; lingerMs?: number; maxBatch?: number }) {
    this.#pool = options.pool;
    this.#metrics = options.metrics;
    this.#lingerMs = options.lingerMs ?? 2;
    this.#maxBatch = options.maxBatch ?? 256;
  }

  store(event: AlarmEvent, via: Waiting['via'], asReceived: string | null = null): Promise<StoreResult> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ event, asReceived, via, resolve, reject });
      if (this.#queue.length >= this.#maxBatch) void this.#flush();
      else this.#timer ??= setTimeout(() => void this.#flush(), this.#lingerMs);
    });
  }

  async #flush(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    const batch = this.#queue;
    this.#queue = [];
    if (batch.length === 0) return;
    let stored: Set<string>;
    try {
      const result = await this.#pool.query<{ id: string; gateway_id: string }>({
        ...INSERT_BATCH,
        values: [batchJson(batch)],
      });
      stored = new Set(result.rows.map((r) => `${r.id} ${r.gateway_id}`));
      this.#metrics.increment('ingest_log_batches_total');
      this.#metrics.increment('ingest_log_batch_events_total', {}, batch.length);
    } catch {
      this.#metrics.increment('ingest_log_batch_fallbacks_total');
      for (const w of batch) storeEvent(this.#pool, w.event, w.via).then(w.resolve, w.reject);
      return;
    }
    for (const w of batch) {
      if (stored.has(`${w.event.id} ${w.event.gatewayId}`))
        w.resolve({ kind: 'stored', alarm: null, incident: null });
      else notStored(this.#pool, w.event).then(w.resolve, w.reject);
    }
  }
}

/**
 * The batch as INSERT_BATCH takes it. An event's JSON as received goes in as it is (validated, and
 * the event exactly): encoding every event of a batch again was 5% of the central's time.
 */
function batchJson(batch: readonly Waiting[]): string {
  const items = batch.map(
    (w) => `{"via":${JSON.stringify(w.via)},"event":${w.asReceived ?? JSON.stringify(w.event)}}`,
  );
  return `[${items.join(',')}]`;
}
