import { promisify } from 'node:util';
import zlib from 'node:zlib';
import type pg from 'pg';
import { errorMessage } from '../../lib/errors.ts';
import type { Logger } from '../../lib/logger.ts';
import type { Metrics } from '../../lib/metrics.ts';
import { alarmById } from '../alarms.ts';
import { inTransaction } from '../db/pool.ts';
import { isTransient } from '../db/target.ts';
import type { EscalationTable } from '../incidents/escalation.ts';
import { VERIFIED_RANK } from '../incidents/ranking.ts';
import { announce, type LocalFeed } from '../live/announce.ts';
import type { Notifier, Recipients } from '../notify/notifier.ts';
import { subscriptionsOf } from '../notify/push-subscriptions.ts';
import { type EngineState, ProcedureEngine, type SiteStatus } from './engine.ts';
import type { InboxRow, ProcedureInbox } from './inbox.ts';
import { alarmOfInput, type Input } from './inputs.ts';
import { type Action, CLOSE_OUTCOMES, type CloseOutcome, type SiteProfile } from './model.ts';
import { holdsPartition, type PartitionFence } from './partitions.ts';
import { type ProcedureState, procedureStateOf } from './proposal.ts';
import { SiteProfileSchema } from './simulate.ts';
import { encodeState } from './snapshot.ts';

/** Facts the notifier carries out: the system sends these itself. */
const MESSAGE_ACTIONS = new Set(['sms', 'email', 'notify-installer', 'push']);

/** An outcome the engine did not accept: answered 409 with the reason. */
export class OutcomeRefused extends Error {}

/** This worker no longer owns the partition: the input goes to the inbox for whoever does. */
export class NotOwner extends Error {}

export interface RunnerOptions {
  readonly partition: number;
  readonly pool: pg.Pool;
  readonly inbox: ProcedureInbox;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly notifier: Notifier | null;
  readonly escalation: EscalationTable | undefined;
  readonly feed?: LocalFeed | undefined;
  /** How many partitions the sites are split into (a snapshot is of one partition of that split). */
  readonly partitions: number;
  /** What proves, at each commit, that the partition is still this worker's (null: it is not). */
  readonly fence: () => PartitionFence | null;
  /** Told when a commit found the partition not held: the runner has stopped. */
  readonly onFenced: (runner: PartitionRunner) => void;
}

/** A partition's last snapshot: the engine's state after the recorded input `lastInput`. */
export interface PartitionSnapshot {
  readonly lastInput: string;
  readonly state: EngineState;
}

/** How long a step's commit is retried while the database is away (a failover takes seconds). */
const STEP_RETRY_MS = 120_000;

/** A snapshot is taken after this many recorded inputs, or this long after the last one. */
const SNAPSHOT_EVERY_INPUTS = 500;
const SNAPSHOT_EVERY_MS = 5 * 60_000;
/** Closed incidents stay in a snapshot this long after they opened (a late restore still finds its own). */
const KEEP_CLOSED_MS = 14 * 86_400_000;

/** A recorded input as replay reads it. */
export interface RecordedInput {
  readonly id: string;
  readonly siteId: string;
  readonly at: number;
  readonly payload: Input;
}

/** On the thread pool, off the event loop (a snapshot at ARC volume is 13 MB of JSON). */
const gzip = promisify(zlib.gzip);

/**
 * The procedure engine of one site partition, on the worker that owns it: fed with that
 * partition's inputs (taken here or from the inbox) one at a time, its decisions written to the
 * append-only `alarm_actions` trail, the incident rows and the live feed. Inputs are recorded, so a
 * worker that takes the partition over rebuilds the engine by replaying them (it is deterministic)
 * and only what became due meanwhile is new.
 */
export class PartitionRunner {
  readonly partition: number;
  readonly #o: RunnerOptions;
  readonly #engine: ProcedureEngine;
  readonly #loaded = new Set<string>();
  /** What was last written to each incident's row, so an unchanged state is not written again. */
  readonly #written = new Map<string, string>();
  #chain: Promise<unknown> = Promise.resolve();
  #active = true;
  /** The last recorded input the engine has applied, and how many since the last snapshot. */
  #lastInput: string | null = null;
  #sinceSnapshot = 0;
  #snapshotAt = Date.now();
  #draining = false;
  #drainAgain = false;

  constructor(options: RunnerOptions) {
    this.#o = options;
    this.partition = options.partition;
    this.#engine = new ProcedureEngine({
      channels: options.notifier?.channels ?? { sms: false, email: false },
      ...(options.escalation ? { escalation: options.escalation } : {}),
    });
  }

  get active(): boolean {
    return this.#active;
  }

  get openHandlings(): number {
    return this.#engine.openHandlings;
  }

  /**
   * Rebuilds the engine from the partition's snapshot (if any) and the inputs recorded after it,
   * then acts on what became due.
   */
  replay(snapshot: PartitionSnapshot | null, inputs: readonly RecordedInput[]): Promise<void> {
    return this.#serial(async () => {
      if (snapshot) {
        const { state } = snapshot;
        this.#engine.restore(state);
        this.#lastInput = snapshot.lastInput;
        // The engine's timers read the sites' profiles (contacts, action windows): loaded first.
        for (const siteId of new Set(state.handlings.filter((h) => !h.closed).map((h) => h.siteId)))
          await this.#site(siteId);
      }
      for (const input of inputs) {
        this.#lastInput = input.id;
        await this.#site(input.siteId);
        for (let due = this.#engine.nextDue(); due !== null && due <= input.at; due = this.#engine.nextDue())
          this.#engine.tick(due);
        this.#apply(input.payload, input.at);
      }
      this.#sinceSnapshot = inputs.length;
      await this.#tick(Date.now());
      await this.#persist([], 'engine', this.#engine.openAlarmIds(), { input: null, inboxId: null });
    });
  }

  /** An input taken on this worker; throws OutcomeRefused (nothing recorded) when not accepted. */
  input(siteId: string, input: Input, actor: string): Promise<void> {
    return this.#serial(() => this.#input(siteId, input, Date.now(), actor, null));
  }

  siteStatus(siteId: string): Promise<SiteStatus> {
    return this.#serial(async () => {
      await this.#site(siteId);
      return this.#engine.siteStatus(siteId, Date.now());
    });
  }

  reloadSite(siteId: string): Promise<void> {
    return this.#serial(() => this.#reload(siteId));
  }

  /** Time passes: what fell due is acted on; a snapshot is taken when one is due. */
  tick(): Promise<void> {
    return this.#serial(async () => {
      await this.#tick(Date.now());
      if (this.#sinceSnapshot >= SNAPSHOT_EVERY_INPUTS || Date.now() - this.#snapshotAt >= SNAPSHOT_EVERY_MS)
        await this.#snapshot();
    });
  }

  /** Applies what other workers posted for this partition, oldest first, until none is left. */
  drainInbox(): void {
    if (this.#draining) {
      this.#drainAgain = true;
      return;
    }
    this.#draining = true;
    this.#serial(async () => {
      try {
        do {
          this.#drainAgain = false;
          for (let rows = await this.#o.inbox.take(this.partition); rows.length > 0; ) {
            for (const row of rows) {
              if (!this.#active) return;
              await this.#fromInbox(row);
            }
            rows = await this.#o.inbox.take(this.partition);
          }
        } while (this.#drainAgain && this.#active);
      } finally {
        this.#draining = false;
      }
    }).catch(() => undefined); // logged by the chain
  }

  /** Gives the partition back: what is queued finishes and a snapshot is taken, then nothing more. */
  async close(): Promise<void> {
    let chain: Promise<unknown>;
    do {
      chain = this.#chain;
      await chain.catch(() => undefined);
    } while (chain !== this.#chain);
    await this.#snapshot().catch((error: unknown) =>
      this.#o.logger.warn(
        { err: errorMessage(error), partition: this.partition },
        'procedure snapshot failed',
      ),
    );
    this.#active = false;
  }

  /** The engine as it stands after the last recorded input, for whoever takes the partition next. */
  async #snapshot(): Promise<void> {
    this.#snapshotAt = Date.now();
    if (this.#lastInput === null || this.#sinceSnapshot === 0) return;
    const keepClosedSince = Date.now() - KEEP_CLOSED_MS;
    const state = await gzip(encodeState(this.#engine.snapshot(keepClosedSince)), { level: 1 });
    await this.#o.pool.query(
      `INSERT INTO procedure_snapshots (partitions, partition, taken_at, last_input, state_gzip) VALUES ($1, $2, now(), $3, $4)
       ON CONFLICT (partitions, partition) DO UPDATE SET taken_at = now(), last_input = $3, state = NULL, state_gzip = $4`,
      [this.#o.partitions, this.partition, this.#lastInput, state],
    );
    // What the snapshot left out, the engine lets go too: as a worker taking over would have it.
    this.#engine.forgetClosedBefore(keepClosedSince);
    this.#sinceSnapshot = 0;
    this.#o.metrics.increment('procedure_snapshots_total');
  }

  /** The lease is gone: stop at once (another worker may own the partition already). */
  abandon(): void {
    this.#active = false;
  }

  #serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.#chain.then(() => {
      if (!this.#active) throw new NotOwner(`partition ${this.partition} is not owned here`);
      return work();
    });
    this.#chain = next.catch((error) => {
      if (error instanceof NotOwner || error instanceof OutcomeRefused) return;
      this.#o.metrics.increment('procedure_errors_total');
      this.#o.logger.error({ err: errorMessage(error), partition: this.partition }, 'procedure step failed');
    });
    return next;
  }

  async #fromInbox(row: InboxRow): Promise<void> {
    const { inbox, pool } = this.#o;
    try {
      if (row.body.kind === 'reload') {
        await this.#reload(row.siteId);
        await this.#deleteRow(row.id);
        return;
      }
      if (row.body.kind === 'status') {
        await this.#site(row.siteId);
        const status = this.#engine.siteStatus(row.siteId, Date.now());
        await this.#deleteRow(row.id);
        await inbox.answer(row.request, { refused: null, result: status });
        return;
      }
      await this.#input(row.siteId, row.body, Date.now(), row.actor, row.id);
      await inbox.answer(row.request, { refused: null });
    } catch (error) {
      if (error instanceof OutcomeRefused) {
        await this.#deleteRow(row.id);
        await inbox.answer(row.request, { refused: error.message });
        return;
      }
      if (!this.#active) throw error;
      // Not retried forever, and never in front of the rows behind it.
      this.#o.metrics.increment('procedure_inbox_failed_total');
      this.#o.logger.error(
        { err: errorMessage(error), row: row.id, kind: row.body.kind, siteId: row.siteId },
        'procedure inbox row failed',
      );
      await pool.query('UPDATE procedure_inbox SET attempts = attempts + 1, last_error = $2 WHERE id = $1', [
        row.id,
        errorMessage(error),
      ]);
      await inbox.answer(row.request, { refused: null, failed: errorMessage(error) });
    }
  }

  async #deleteRow(id: string): Promise<void> {
    await this.#o.pool.query('DELETE FROM procedure_inbox WHERE id = $1', [id]);
  }

  async #reload(siteId: string): Promise<void> {
    this.#loaded.delete(siteId);
    await this.#site(siteId);
  }

  async #site(siteId: string): Promise<SiteProfile | null> {
    if (this.#loaded.has(siteId)) return null;
    const { pool } = this.#o;
    const { rows } = await pool.query(
      `SELECT id, name, time_zone, kind, formula, activated_at, test_period_days, test_mode_until, certified_fire_panel,
              mains_delay_minutes, premises_phone, counter_phone, included_handlings, profile
         FROM sites WHERE id = $1`,
      [siteId],
    );
    const site = rows[0];
    if (!site) return null;
    const contacts = await pool.query(
      `SELECT id::text, name, role, call_order, phone, mobile, email FROM contacts WHERE site_id = $1 ORDER BY call_order, id`,
      [siteId],
    );
    const profile = SiteProfileSchema.parse({
      ...(site.profile as object),
      id: site.id,
      name: site.name,
      timeZone: site.time_zone,
      kind: site.kind,
      formula: site.formula,
      activatedAt: site.activated_at ? new Date(site.activated_at).toISOString() : null,
      testPeriodDays: site.test_period_days,
      testModeUntil: site.test_mode_until ? new Date(site.test_mode_until).toISOString() : null,
      certifiedFirePanel: site.certified_fire_panel,
      mainsDelayMinutes: site.mains_delay_minutes,
      premisesPhone: site.premises_phone,
      counterPhone: site.counter_phone,
      ...(site.included_handlings === null ? {} : { includedHandlings: site.included_handlings }),
      contacts: contacts.rows.map((c) => ({
        id: c.id,
        name: c.name,
        role: c.role,
        order: c.call_order,
        ...(c.phone ? { phone: c.phone } : {}),
        ...(c.mobile ? { mobile: c.mobile } : {}),
        ...(c.email ? { email: c.email } : {}),
      })),
    }) as SiteProfile;
    this.#engine.setSite(profile);
    this.#loaded.add(siteId);
    return profile;
  }

  /** `inboxId`: the row it came from, deleted in the transaction that records the input (once). */
  async #input(
    siteId: string,
    input: Input,
    now: number,
    actor: string,
    inboxId: string | null,
  ): Promise<void> {
    await this.#site(siteId);
    await this.#tick(now);
    // Most events (test reports, arming at a site with nothing open) change nothing the engine keeps:
    // not written as inputs, which would serialise every event of the central behind one INSERT each.
    const kept = input.kind !== 'event' || this.#engine.changesState(input.event, input.alarmId);
    const { actions, refused } = this.#apply(input, now);
    // Refused (e.g. a real close before the dispatch record): nothing is recorded, the caller is told.
    if (refused) throw new OutcomeRefused(refused);
    const alarmId = alarmOfInput(input);
    await this.#persist(actions, actor, alarmId ? [alarmId] : [], {
      input: kept ? { siteId, input, now } : null,
      inboxId,
    });
  }

  #apply(input: Input, now: number): { actions: Action[]; refused: string | null } {
    const engine = this.#engine;
    if (input.kind === 'event')
      return { actions: engine.onEvent(input.event, input.alarmId, now), refused: null };
    if (input.kind === 'claim') return { actions: engine.onClaim(input.alarmId, now), refused: null };
    if (input.kind === 'outcome') {
      // An incident no procedure handles (or one the engine already closed) is still closed when asked.
      if (!engine.handling(input.alarmId) && input.outcome in CLOSE_OUTCOMES) {
        return {
          actions: [closeUnhandled(input.alarmId, input.outcome as CloseOutcome, now)],
          refused: null,
        };
      }
      return engine.onOutcome(input.alarmId, input.outcome, input.detail ?? {}, now);
    }
    if (input.kind === 'outage')
      return { actions: engine.setRegionalOutage([input.siteId], input.active, now), refused: null };
    // Replayed: the timers due by then have just run (nothing is left due at this time).
    if (input.kind === 'tick') return { actions: engine.tick(now), refused: null };
    return { actions: engine.onSmsReply(input.alarmId, input.text, now), refused: null };
  }

  async #tick(now: number): Promise<void> {
    for (let due = this.#engine.nextDue(); due !== null && due <= now; due = this.#engine.nextDue()) {
      const actions = this.#engine.tick(due);
      const siteId = actions.find((a) => a.site !== '')?.site;
      await this.#persist(actions, 'engine', [], {
        input: siteId ? { siteId, input: { kind: 'tick' }, now: due } : null,
        inboxId: null,
      });
    }
  }

  /**
   * One step of the engine, committed at once: the input recorded (and its inbox row deleted),
   * each entry appended to the trail under who did it — the operator for outcomes, `engine` for
   * proposals, `system` for facts — and the incident rows (verified, rank, escalation, closed, the
   * engine's state) kept in step. A worker that dies mid-step leaves all of it or none to the next
   * owner, so a step is never proposed twice nor lost. After the commit: the messages the facts
   * call for are sent, and the live feed is told.
   */
  async #persist(
    actions: readonly Action[],
    actor: string,
    touched: readonly string[],
    step: { input: { siteId: string; input: Input; now: number } | null; inboxId: string | null },
  ): Promise<void> {
    const { metrics, notifier } = this.#o;
    const changed = [...new Set(actions.map((a) => a.alarm))];
    const stateOf = new Map<string, { state: ProcedureState; text: string }>();
    for (const alarmId of new Set([...touched, ...changed])) {
      const state = procedureStateOf(this.#engine.handling(alarmId));
      stateOf.set(alarmId, { state, text: JSON.stringify(state) });
    }
    const pending = [...stateOf].filter(([alarmId, { text }]) => this.#written.get(alarmId) !== text);
    if (!step.input && !step.inboxId && actions.length === 0 && pending.length === 0) return;
    await this.#transaction(async (db) => {
      if (step.input) {
        this.#lastInput = await recordInput(db, step.input, step.inboxId);
        this.#sinceSnapshot++;
      } else if (step.inboxId) await db.query('DELETE FROM procedure_inbox WHERE id = $1', [step.inboxId]);
      for (const action of actions) {
        const who = action.sort === 'outcome' ? actor : action.sort === 'proposal' ? 'engine' : 'system';
        await db.query(
          'INSERT INTO alarm_actions (alarm_id, at, actor, action, target, reason, sort, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)',
          [
            action.alarm,
            action.time,
            who,
            action.action,
            action.target,
            action.reason,
            action.sort,
            action.detail ? JSON.stringify(action.detail) : null,
          ],
        );
        await applyToIncident(db, action);
      }
      for (const [alarmId, { state }] of pending) await writeState(db, alarmId, state);
    });
    for (const [alarmId, { state, text }] of pending) {
      if (state.open) this.#written.set(alarmId, text);
      else this.#written.delete(alarmId);
    }
    for (const action of actions) {
      metrics.increment('procedure_actions_total', { action: action.action, sort: action.sort });
      if (action.action === 'by-hand')
        metrics.increment('notifications_manual_total', { kind: action.target.split(' ')[0] ?? 'message' });
      if (action.sort === 'fact' && notifier && MESSAGE_ACTIONS.has(action.action))
        await this.#deliver(action);
    }
    for (const alarmId of changed) await this.#announce(alarmId, stateOf.get(alarmId)!.state, actions);
  }

  /**
   * The engine has already taken the step, so its commit must happen: retried while the database
   * is away or changing hands (a failover takes seconds), for as long as the partition is ours.
   */
  async #transaction(work: (db: pg.PoolClient) => Promise<void>): Promise<void> {
    const started = Date.now();
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#transactionOnce(work);
      } catch (error) {
        if (!isTransient(error) || !this.#active || Date.now() - started > STEP_RETRY_MS) throw error;
        this.#o.metrics.increment('procedure_step_retries_total');
        this.#o.logger.warn(
          { err: errorMessage(error), partition: this.partition, attempt },
          'procedure step not committed: the database is away, retrying',
        );
        await new Promise((resolve) => setTimeout(resolve, Math.min(5000, 250 * 2 ** Math.min(attempt, 5))));
      }
    }
  }

  async #transactionOnce(work: (db: pg.PoolClient) => Promise<void>): Promise<void> {
    await inTransaction(this.#o.pool, async (client) => {
      const fence = this.#o.fence();
      if (!fence || !(await holdsPartition(client, fence))) {
        // Another worker may own it already: nothing of this step is written; the runner stops.
        this.#active = false;
        this.#o.metrics.increment('procedure_steps_fenced_total');
        this.#o.onFenced(this);
        throw new NotOwner(`partition ${this.partition} is no longer held by this worker's lease`);
      }
      await work(client);
    });
  }

  async #deliver(action: Action): Promise<void> {
    const result = await this.#o.notifier!.deliver(action, await this.#recipients(action));
    if (result) {
      await this.#o.pool.query(
        `INSERT INTO alarm_actions (alarm_id, at, actor, action, target, reason, sort) VALUES ($1, now(), 'notifier', 'delivery', $2, $3, 'fact')`,
        [action.alarm, action.action, result],
      );
    }
  }

  /** The incident as it now stands, to every console's live feed. */
  async #announce(alarmId: string, state: ProcedureState, actions: readonly Action[]): Promise<void> {
    const { pool, feed } = this.#o;
    const alarm = await alarmById(pool, alarmId);
    if (!alarm) return;
    const lastAction = actions.findLast((a) => a.alarm === alarmId);
    await announce(pool, { ...alarm, proposal: state.proposal, lastAction }, feed);
  }

  async #recipients(action: Action): Promise<Recipients> {
    if (action.action === 'push') return { push: await subscriptionsOf(this.#o.pool, action.site) };
    return { email: await this.#emails(action) };
  }

  /** Who an e-mail action goes to: keyholders, the customer (authorised persons), or the site's installer. */
  async #emails(action: Action): Promise<string[]> {
    const { pool } = this.#o;
    if (action.action === 'notify-installer') {
      const { rows } = await pool.query<{ email: string | null }>(
        'SELECT i.email FROM sites s JOIN installers i ON i.id = s.installer_id WHERE s.id = $1',
        [action.site],
      );
      return rows[0]?.email ? [rows[0].email] : [];
    }
    if (action.action !== 'email') return [];
    const role = action.target === 'keyholders' ? 'keyholder' : 'authorised';
    const { rows } = await pool.query<{ email: string }>(
      'SELECT email FROM contacts WHERE site_id = $1 AND role = $2 AND email IS NOT NULL ORDER BY call_order',
      [action.site, role],
    );
    return rows.map((r) => r.email);
  }
}

function closeUnhandled(alarmId: string, outcome: CloseOutcome, now: number): Action {
  return {
    time: new Date(now).toISOString(),
    site: '',
    alarm: alarmId,
    sort: 'outcome',
    action: 'close',
    target: alarmId,
    reason: CLOSE_OUTCOMES[outcome],
  };
}

async function recordInput(
  db: pg.PoolClient,
  recorded: { siteId: string; input: Input; now: number },
  inboxId: string | null,
): Promise<string> {
  const { siteId, input, now } = recorded;
  const { rows } = await db.query<{ id: string }>(
    'INSERT INTO procedure_inputs (site_id, alarm_id, at, kind, payload) VALUES ($1, $2, $3, $4, $5) RETURNING id::text',
    [siteId, alarmOfInput(input), new Date(now), input.kind, JSON.stringify(input)],
  );
  if (inboxId) await db.query('DELETE FROM procedure_inbox WHERE id = $1', [inboxId]);
  return rows[0]!.id;
}

async function applyToIncident(db: pg.PoolClient, action: Action): Promise<void> {
  if (action.action === 'verify') {
    await db.query(
      `UPDATE alarms SET verified = true, verification = jsonb_build_object('verified', true, 'rule', $2::text),
              verified_at = $3, rank = LEAST(rank, $4) WHERE id = $1 AND NOT verified`,
      [action.alarm, action.target, action.time, VERIFIED_RANK],
    );
  }
  if (action.action === 'escalate') {
    await db.query('UPDATE alarms SET escalation = $2 WHERE id = $1', [action.alarm, action.target]);
  }
  if (action.action === 'close') {
    await db.query(
      `UPDATE alarms SET status = 'closed', closed_at = $2, close_reason = $3 WHERE id = $1 AND status <> 'closed'`,
      [action.alarm, action.time, action.reason],
    );
    // A real alarm is followed up with the customer within a day (one follow-up per incident).
    if (action.reason === CLOSE_OUTCOMES['close-real']) {
      await db.query(
        `INSERT INTO follow_ups (alarm_id, site_id, due_at)
         SELECT id, site_id, $2::timestamptz + interval '1 day' FROM alarms WHERE id = $1
         ON CONFLICT (alarm_id) DO NOTHING`,
        [action.alarm, action.time],
      );
    }
  }
}

/** The engine's state of an incident onto its row, for every worker to serve. */
async function writeState(db: pg.PoolClient, alarmId: string, state: ProcedureState): Promise<void> {
  await db.query(
    'UPDATE alarms SET proposal = $2, cancel_requested = $3, sms_waiting_for = $4, handling_open = $5 WHERE id = $1',
    [
      alarmId,
      state.proposal ? JSON.stringify(state.proposal) : null,
      state.cancelRequested,
      state.smsWaitingFor,
      state.open,
    ],
  );
}
