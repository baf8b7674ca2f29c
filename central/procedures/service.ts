import type pg from 'pg';
import { errorMessage } from '../../lib/errors.ts';
import type { Logger } from '../../lib/logger.ts';
import type { Metrics } from '../../lib/metrics.ts';
import type { AlarmEvent } from '../../protocols/messages.ts';
import { alarmById } from '../alarms.ts';
import { type CodeCheck, checkCode } from '../contacts.ts';
import type { EscalationTable } from '../incidents/escalation.ts';
import { VERIFIED_RANK } from '../incidents/ranking.ts';
import { ALARM_CHANNEL } from '../ingest/event-store.ts';
import type { Notifier, Recipients } from '../notify/notifier.ts';
import { subscriptionsOf } from '../notify/push-subscriptions.ts';
import { ProcedureEngine, type SiteStatus } from './engine.ts';
import { describeTask } from './handling.ts';
import {
  type Action,
  CLOSE_OUTCOMES,
  type CloseOutcome,
  type Outcome,
  type OutcomeDetail,
  type SiteProfile,
} from './model.ts';
import { SiteProfileSchema } from './simulate.ts';

/** An incident's next step as the console shows it: the operator's task, or what the system waits for. */
export interface Proposal {
  readonly kind:
    | 'call'
    | 'dispatch'
    | 'consult'
    | 'by-hand'
    | 'close'
    | 'sms'
    | 'restore'
    | 'window'
    | 'outage';
  /** What to do, in words (who to call and on which number). */
  readonly label: string;
  /** A call: when the operator started it; its answer time ends at `until`. */
  readonly startedAt: string | null;
  readonly until: string | null;
  /** Dispatches proposed beside the current step: each must be recorded before a real close. */
  readonly dispatches: readonly { readonly service: string; readonly label: string }[];
  readonly escalation: string | null;
  readonly verified: boolean;
}

type Input =
  | { kind: 'event'; event: AlarmEvent; alarmId: string | null }
  | { kind: 'outcome'; alarmId: string; outcome: Outcome; detail?: OutcomeDetail }
  | { kind: 'claim'; alarmId: string }
  | { kind: 'sms'; alarmId: string; text: string }
  | { kind: 'outage'; siteId: string; active: boolean };

/** Facts the notifier carries out: the system sends these itself. */
const MESSAGE_ACTIONS = new Set(['sms', 'email', 'notify-installer', 'push']);

/** An outcome the engine did not accept: answered 409 with the reason. */
export class OutcomeRefused extends Error {}

/** How far back a restart replays the engine's inputs (open handlings older than this are rare). */
const REPLAY_DAYS = 14;

/**
 * The procedure engine inside the central: fed with every stored event, operators' outcomes and
 * SMS replies; its decisions go to the append-only `alarm_actions` trail and to the live feed; its
 * timers run from a one-second loop. Inputs are recorded, so after a restart the engine is rebuilt
 * by replaying them (it is deterministic) and only what became due meanwhile is new.
 */
export class ProcedureService {
  readonly #pool: pg.Pool;
  readonly #logger: Logger;
  readonly #metrics: Metrics;
  #engine: ProcedureEngine;
  readonly #loaded = new Set<string>();
  #timer: NodeJS.Timeout | null = null;
  #chain: Promise<unknown> = Promise.resolve();

  #notifier: Notifier | null = null;

  readonly #escalation: EscalationTable | undefined;

  constructor(pool: pg.Pool, logger: Logger, metrics: Metrics, escalation?: EscalationTable) {
    this.#pool = pool;
    this.#logger = logger;
    this.#metrics = metrics;
    this.#escalation = escalation;
    this.#engine = new ProcedureEngine({
      channels: { sms: false, email: false },
      ...(escalation ? { escalation } : {}),
    });
  }

  /**
   * Messages the engine decides to send go out through this notifier; what it cannot send (no
   * SMSC, no SMTP server) the engine proposes to an operator to send by hand. Before `start`.
   */
  useNotifier(notifier: Notifier): void {
    this.#notifier = notifier;
    this.#engine = new ProcedureEngine({
      channels: notifier.channels,
      ...(this.#escalation ? { escalation: this.#escalation } : {}),
    });
  }

  /** A contact's SMS reply: the escalation waiting on that number gets it. */
  onInboundSms(from: string, text: string): Promise<void> {
    return this.#serial(async () => {
      const alarmId = this.#engine.waitingForSms(from);
      if (!alarmId) {
        this.#metrics.increment('sms_unmatched_total');
        this.#logger.warn({ from }, 'SMS reply matches no waiting escalation');
        return;
      }
      await this.#input({ kind: 'sms', alarmId, text }, Date.now(), `sms:${from}`);
    });
  }

  /**
   * A known regional power outage starts or ends for these sites (SPEC §5 mains): while it lasts a
   * mains failure there waits; when it ends, a site whose mains did not come back is acted on.
   */
  setRegionalOutage(siteIds: readonly string[], active: boolean, actor: string): Promise<void> {
    return this.#serial(async () => {
      for (const siteId of siteIds) await this.#input({ kind: 'outage', siteId, active }, Date.now(), actor);
    });
  }

  async start(): Promise<void> {
    await this.#replay();
    this.#timer = setInterval(() => void this.#serial(() => this.#tick(Date.now())), 1000);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await this.#chain.catch(() => undefined);
  }

  /** Re-read a site's profile and contacts after a change. */
  async reloadSite(siteId: string): Promise<void> {
    this.#loaded.delete(siteId);
    await this.#site(siteId);
  }

  /** The engine's memory of a site, for its card (false-alarm cards, missed tests, quota). */
  async siteStatus(siteId: string): Promise<SiteStatus> {
    await this.#serial(() => this.#site(siteId));
    return this.#engine.siteStatus(siteId, Date.now());
  }

  /** Whether a customer's cancel waits for the operator's confirmation. */
  cancelRequested(alarmId: string): boolean {
    return Boolean(this.#engine.handling(alarmId)?.cancelRequested);
  }

  proposal(alarmId: string): Proposal | null {
    const h = this.#engine.handling(alarmId);
    if (!h || h.closed) return null;
    const iso = (at: number | null) => (at === null ? null : new Date(at).toISOString());
    const common = {
      dispatches: [...h.openDispatches.values()].map((d) => ({ service: d.service, label: describeTask(d) })),
      escalation: h.escalation,
      verified: h.verified,
    };
    const task = h.task;
    if (task) {
      const startedAt = task.kind === 'call' ? task.startedAt : null;
      return {
        kind: task.kind,
        ...(task.kind === 'dispatch' ? { service: task.service } : {}),
        label: describeTask(task),
        startedAt: iso(startedAt),
        until:
          task.kind === 'call' && startedAt !== null ? iso(startedAt + task.timeoutSeconds * 1000) : null,
        ...common,
      };
    }
    const wait = h.wait;
    if (wait) {
      const label =
        wait.kind === 'sms'
          ? `waiting for "ok" from ${wait.name} ${wait.number}`
          : wait.kind === 'restore'
            ? 'waiting for a restore'
            : wait.kind === 'window'
              ? 'held until the action window opens'
              : 'held: a regional power outage is known';
      return {
        kind: wait.kind,
        label,
        startedAt: null,
        until: 'until' in wait ? iso(wait.until) : null,
        ...common,
      };
    }
    return common.dispatches.length > 0
      ? { kind: 'dispatch', label: common.dispatches[0]!.label, startedAt: null, until: null, ...common }
      : null;
  }

  /** A stored event; `alarmId` is the incident it opened or joined. */
  onEventStored(event: AlarmEvent, alarmId: string | null): Promise<void> {
    return this.#serial(() => this.#input({ kind: 'event', event, alarmId }, Date.now(), 'system'));
  }

  /** An operator's outcome; throws OutcomeRefused (nothing recorded) when the engine does not accept it. */
  onOutcome(alarmId: string, outcome: Outcome, operator: string, detail: OutcomeDetail = {}): Promise<void> {
    return this.#serial(() =>
      this.#input({ kind: 'outcome', alarmId, outcome, detail }, Date.now(), operator),
    );
  }

  /** An operator took the incident: it stops escalating. */
  onClaim(alarmId: string, operator: string): Promise<void> {
    return this.#serial(() => this.#input({ kind: 'claim', alarmId }, Date.now(), operator));
  }

  /** The person on the phone gives an ID code + PIN; the result is recorded as the call's outcome. */
  async codeCheck(
    alarmId: string,
    idCode: string,
    pin: string,
    operator: string,
    cancel: boolean,
  ): Promise<CodeCheck> {
    const alarm = await alarmById(this.#pool, alarmId);
    if (!alarm) throw new Error(`no alarm ${alarmId}`);
    // Whoever is on the phone is the one guessing, not the operator: every operator counts as one source.
    const source = operator.startsWith('customer:') ? operator : 'phone';
    const result = await checkCode(this.#pool, alarm.siteId, idCode, pin, operator, source);
    const outcome: Outcome =
      result === 'valid' ? (cancel ? 'cancel-valid-code' : 'answered-valid-code') : 'answered-invalid-code';
    const by = result === 'valid' ? await this.#contactName(alarm.siteId, idCode) : undefined;
    if (result === 'valid' || !cancel)
      await this.onOutcome(alarmId, outcome, operator, {
        ...(by ? { by } : {}),
        via: cancel && operator.startsWith('customer:') ? 'portal' : 'operator',
      });
    return result;
  }

  async #contactName(siteId: string, idCode: string): Promise<string | undefined> {
    const { rows } = await this.#pool.query<{ name: string }>(
      'SELECT name FROM contacts WHERE site_id = $1 AND id_code = $2',
      [siteId, idCode],
    );
    return rows[0]?.name;
  }

  #serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.#chain.then(work);
    this.#chain = next.catch((error) => {
      this.#metrics.increment('procedure_errors_total');
      this.#logger.error({ err: errorMessage(error) }, 'procedure step failed');
    });
    return next;
  }

  async #site(siteId: string): Promise<SiteProfile | null> {
    if (this.#loaded.has(siteId)) return null;
    const { rows } = await this.#pool.query(
      `SELECT id, name, time_zone, kind, formula, activated_at, test_period_days, test_mode_until, certified_fire_panel,
              mains_delay_minutes, premises_phone, counter_phone, included_handlings, profile
         FROM sites WHERE id = $1`,
      [siteId],
    );
    const site = rows[0];
    if (!site) return null;
    const contacts = await this.#pool.query(
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

  async #input(input: Input, now: number, actor: string): Promise<void> {
    const siteId =
      input.kind === 'event'
        ? input.event.siteId
        : input.kind === 'outage'
          ? input.siteId
          : await this.#siteOfAlarm(input.alarmId);
    if (!siteId) return;
    await this.#site(siteId);
    await this.#tick(now);
    // Most events (test reports, arming at a site with nothing open) change nothing the engine keeps:
    // not written as inputs, which would serialise every event of the central behind one INSERT each.
    const kept = input.kind !== 'event' || this.#engine.changesState(input.event, input.alarmId);
    const { actions, refused } = this.#apply(input, now);
    // Refused (e.g. a real close before the dispatch record): nothing is recorded, the caller is told.
    if (refused) throw new OutcomeRefused(refused);
    if (!kept) return this.#persist(actions, actor);
    await this.#pool.query(
      'INSERT INTO procedure_inputs (site_id, alarm_id, at, kind, payload) VALUES ($1, $2, $3, $4, $5)',
      [siteId, 'alarmId' in input ? input.alarmId : null, new Date(now), input.kind, JSON.stringify(input)],
    );
    await this.#persist(actions, actor);
  }

  #apply(input: Input, now: number): { actions: Action[]; refused: string | null } {
    if (input.kind === 'event')
      return { actions: this.#engine.onEvent(input.event, input.alarmId, now), refused: null };
    if (input.kind === 'claim') return { actions: this.#engine.onClaim(input.alarmId, now), refused: null };
    if (input.kind === 'outcome') {
      // An incident no procedure handles (or one the engine already closed) is still closed when asked.
      if (!this.#engine.handling(input.alarmId) && input.outcome in CLOSE_OUTCOMES) {
        return {
          actions: [this.#closeUnhandled(input.alarmId, input.outcome as CloseOutcome, now)],
          refused: null,
        };
      }
      return this.#engine.onOutcome(input.alarmId, input.outcome, input.detail ?? {}, now);
    }
    if (input.kind === 'outage')
      return { actions: this.#engine.setRegionalOutage([input.siteId], input.active, now), refused: null };
    return { actions: this.#engine.onSmsReply(input.alarmId, input.text, now), refused: null };
  }

  #closeUnhandled(alarmId: string, outcome: CloseOutcome, now: number): Action {
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

  async #tick(now: number): Promise<void> {
    for (let due = this.#engine.nextDue(); due !== null && due <= now; due = this.#engine.nextDue()) {
      await this.#persist(this.#engine.tick(due), 'engine');
    }
  }

  async #siteOfAlarm(alarmId: string): Promise<string | null> {
    const { rows } = await this.#pool.query<{ site_id: string }>('SELECT site_id FROM alarms WHERE id = $1', [
      alarmId,
    ]);
    return rows[0]?.site_id ?? null;
  }

  /**
   * Append each entry to the trail under who did it: the operator for outcomes, `engine` for
   * proposals, `system` for facts; carry out the facts that are messages, and keep the incident
   * row (verified, rank, escalation, closed) in step.
   */
  async #persist(actions: readonly Action[], actor: string): Promise<void> {
    const changed = new Set<string>();
    for (const action of actions) {
      this.#metrics.increment('procedure_actions_total', { action: action.action, sort: action.sort });
      const who = action.sort === 'outcome' ? actor : action.sort === 'proposal' ? 'engine' : 'system';
      await this.#pool.query(
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
      if (action.sort === 'fact' && this.#notifier && MESSAGE_ACTIONS.has(action.action)) {
        const result = await this.#notifier.deliver(action, await this.#recipients(action));
        if (result) {
          await this.#pool.query(
            `INSERT INTO alarm_actions (alarm_id, at, actor, action, target, reason, sort) VALUES ($1, now(), 'notifier', 'delivery', $2, $3, 'fact')`,
            [action.alarm, action.action, result],
          );
        }
      }
      if (action.action === 'by-hand')
        this.#metrics.increment('notifications_manual_total', {
          kind: action.target.split(' ')[0] ?? 'message',
        });
      if (action.action === 'verify') {
        await this.#pool.query(
          `UPDATE alarms SET verified = true, verification = jsonb_build_object('verified', true, 'rule', $2::text),
                  verified_at = $3, rank = LEAST(rank, $4) WHERE id = $1 AND NOT verified`,
          [action.alarm, action.target, action.time, VERIFIED_RANK],
        );
      }
      if (action.action === 'escalate') {
        await this.#pool.query('UPDATE alarms SET escalation = $2 WHERE id = $1', [
          action.alarm,
          action.target,
        ]);
      }
      if (action.action === 'close') {
        await this.#pool.query(
          `UPDATE alarms SET status = 'closed', closed_at = $2, close_reason = $3 WHERE id = $1 AND status <> 'closed'`,
          [action.alarm, action.time, action.reason],
        );
        // A real alarm is followed up with the customer within a day (one follow-up per incident).
        if (action.reason === CLOSE_OUTCOMES['close-real']) {
          await this.#pool.query(
            `INSERT INTO follow_ups (alarm_id, site_id, due_at)
             SELECT id, site_id, $2::timestamptz + interval '1 day' FROM alarms WHERE id = $1
             ON CONFLICT (alarm_id) DO NOTHING`,
            [action.alarm, action.time],
          );
        }
      }
      changed.add(action.alarm);
    }
    for (const alarmId of changed) {
      const alarm = await alarmById(this.#pool, alarmId);
      if (alarm) {
        await this.#pool.query('SELECT pg_notify($1, $2)', [
          ALARM_CHANNEL,
          JSON.stringify({
            ...alarm,
            proposal: this.proposal(alarmId),
            lastAction: actions.findLast((a) => a.alarm === alarmId),
          }),
        ]);
      }
    }
  }

  async #recipients(action: Action): Promise<Recipients> {
    if (action.action === 'push') return { push: await subscriptionsOf(this.#pool, action.site) };
    return { email: await this.#emails(action) };
  }

  /** Who an e-mail action goes to: keyholders, the customer (authorised persons), or the site's installer. */
  async #emails(action: Action): Promise<string[]> {
    if (action.action === 'notify-installer') {
      const { rows } = await this.#pool.query<{ email: string | null }>(
        'SELECT i.email FROM sites s JOIN installers i ON i.id = s.installer_id WHERE s.id = $1',
        [action.site],
      );
      return rows[0]?.email ? [rows[0].email] : [];
    }
    if (action.action !== 'email') return [];
    const role = action.target === 'keyholders' ? 'keyholder' : 'authorised';
    const { rows } = await this.#pool.query<{ email: string }>(
      'SELECT email FROM contacts WHERE site_id = $1 AND role = $2 AND email IS NOT NULL ORDER BY call_order',
      [action.site, role],
    );
    return rows.map((r) => r.email);
  }

  /** Rebuild the engine from its recorded inputs; persist only what became due while we were down. */
  async #replay(): Promise<void> {
    const { rows } = await this.#pool.query<{
      site_id: string;
      at: Date;
      kind: Input['kind'];
      payload: Input;
    }>(
      `SELECT site_id, at, kind, payload FROM procedure_inputs
        WHERE at > now() - make_interval(days => $1) ORDER BY id`,
      [REPLAY_DAYS],
    );
    for (const row of rows) {
      await this.#site(row.site_id);
      const at = row.at.getTime();
      for (let due = this.#engine.nextDue(); due !== null && due <= at; due = this.#engine.nextDue())
        this.#engine.tick(due);
      this.#apply(row.payload, at);
    }
    if (rows.length > 0)
      this.#logger.info({ inputs: rows.length, open: this.#engine.openHandlings }, 'procedures replayed');
    await this.#tick(Date.now());
  }
}
