import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { errorMessage } from '../../lib/errors.ts';
import type { Logger } from '../../lib/logger.ts';
import type { Metrics } from '../../lib/metrics.ts';
import { PgListener } from '../db/listener.ts';
import type { InboxBody } from './inputs.ts';

/** An inbox row that failed this often is left in the table for an administrator, not retried. */
export const INBOX_ATTEMPTS = 3;

const INBOX_CHANNEL = 'vigil_procedure_inbox';
const DONE_CHANNEL = 'vigil_procedure_done';

/** How long a worker waits for a partition's owner to answer before it gives up (answered 503). */
export const ANSWER_TIMEOUT_MS = 10_000;

/** The owner's answer to a posted input: refused (why), or done with a result (a site's status). */
export interface InboxAnswer {
  readonly refused: string | null;
  /** The owner could not apply it (the row stays for another attempt, then for an administrator). */
  readonly failed?: string;
  readonly result?: unknown;
}

export interface InboxRow {
  readonly id: string;
  readonly siteId: string;
  readonly actor: string;
  readonly body: InboxBody;
  readonly request: string | null;
}

/** No worker answered for the partition in time (none owns it now, or its owner is stuck). */
export class OwnerUnavailable extends Error {
  /** Answered 503: the request may be tried again. */
  readonly statusCode = 503;
}

/**
 * The procedure inputs a worker takes for a partition another worker owns: written to
 * `procedure_inbox` with a NOTIFY, applied by the owner in order. A poster that needs the answer
 * (an operator's outcome may be refused; a site card needs the engine's memory) waits for the
 * owner's NOTIFY on the done channel, matched by a request id it chose before posting.
 */
export class ProcedureInbox {
  readonly #pool: pg.Pool;
  readonly #logger: Logger;
  readonly #metrics: Metrics;
  readonly #listener: PgListener;
  readonly #waiting = new Map<string, (answer: InboxAnswer) => void>();
  readonly #onWork: (partition: number | null) => void;

  /** `onWork(partition)`: rows were posted for it; `null` after a reconnect (look at every partition). */
  constructor(options: {
    pool: pg.Pool;
    connect: () => pg.Client;
    logger: Logger;
    metrics: Metrics;
    onWork: (partition: number | null) => void;
  }) {
    this.#pool = options.pool;
    this.#logger = options.logger;
    this.#metrics = options.metrics;
    this.#onWork = options.onWork;
    this.#listener = new PgListener({
      connect: options.connect,
      channels: [INBOX_CHANNEL, DONE_CHANNEL],
      logger: options.logger,
      onMessage: (channel, payload) => this.#message(channel, payload),
      onConnected: () => options.onWork(null),
    });
  }

  start(): Promise<void> {
    return this.#listener.start();
  }

  async stop(): Promise<void> {
    await this.#listener.stop();
    for (const answer of this.#waiting.values()) answer({ refused: 'the central is stopping' });
    this.#waiting.clear();
  }

  /** Hands an input to the partition's owner; nothing to wait for. */
  async post(partition: number, siteId: string, body: InboxBody, actor: string): Promise<void> {
    await this.#insert(partition, siteId, body, actor, null);
  }

  /** Hands an input to the partition's owner and waits for its answer. */
  async ask(partition: number, siteId: string, body: InboxBody, actor: string): Promise<InboxAnswer> {
    const request = randomUUID();
    const answered = new Promise<InboxAnswer>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(request);
        this.#metrics.increment('procedure_inbox_unanswered_total');
        reject(
          new OwnerUnavailable(
            `no worker answered for this site's procedures within ${ANSWER_TIMEOUT_MS / 1000} s`,
          ),
        );
      }, ANSWER_TIMEOUT_MS);
      this.#waiting.set(request, (answer) => {
        clearTimeout(timer);
        this.#waiting.delete(request);
        resolve(answer);
      });
    });
    try {
      await this.#insert(partition, siteId, body, actor, request);
    } catch (error) {
      this.#waiting.get(request)?.({ refused: null });
      throw error;
    }
    return answered;
  }

  /** The oldest rows waiting for a partition, in the order they were posted. */
  async take(partition: number, limit = 200): Promise<InboxRow[]> {
    const { rows } = await this.#pool.query<{
      id: string;
      site_id: string;
      actor: string;
      body: InboxBody;
      request: string | null;
    }>(
      `SELECT id::text, site_id, actor, body, request FROM procedure_inbox
        WHERE partition = $1 AND attempts < $3 ORDER BY id LIMIT $2`,
      [partition, limit, INBOX_ATTEMPTS],
    );
    return rows.map((r) => ({
      id: r.id,
      siteId: r.site_id,
      actor: r.actor,
      body: r.body,
      request: r.request,
    }));
  }

  /** Tells the waiting poster (on whichever worker) how its input went. */
  async answer(request: string | null, answer: InboxAnswer): Promise<void> {
    if (request === null) return;
    await this.#pool.query('SELECT pg_notify($1, $2)', [
      DONE_CHANNEL,
      JSON.stringify({ request, ...answer }),
    ]);
  }

  async #insert(
    partition: number,
    siteId: string,
    body: InboxBody,
    actor: string,
    request: string | null,
  ): Promise<void> {
    await this.#pool.query(
      `WITH posted AS (
         INSERT INTO procedure_inbox (partition, site_id, actor, body, request) VALUES ($1, $2, $3, $4, $5) RETURNING partition)
       SELECT pg_notify($6, partition::text) FROM posted`,
      [partition, siteId, actor, JSON.stringify(body), request, INBOX_CHANNEL],
    );
    this.#metrics.increment('procedure_inbox_posted_total', { kind: body.kind });
  }

  #message(channel: string, payload: string): void {
    if (channel === INBOX_CHANNEL) {
      const partition = Number(payload);
      if (Number.isInteger(partition)) this.#onWork(partition);
      return;
    }
    let done: { request?: unknown; refused?: unknown; failed?: unknown; result?: unknown };
    try {
      done = JSON.parse(payload) as typeof done;
    } catch (error) {
      this.#logger.error({ err: errorMessage(error) }, 'procedure inbox: unreadable answer');
      return;
    }
    if (typeof done.request !== 'string') return;
    this.#waiting.get(done.request)?.({
      refused: typeof done.refused === 'string' ? done.refused : null,
      ...(typeof done.failed === 'string' ? { failed: done.failed } : {}),
      ...(done.result === undefined ? {} : { result: done.result }),
    });
  }
}
