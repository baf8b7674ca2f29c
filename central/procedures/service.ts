import type pg from 'pg';
import { errorMessage } from '../../lib/errors.ts';
import type { Logger } from '../../lib/logger.ts';
import type { Metrics } from '../../lib/metrics.ts';
import type { AlarmEvent } from '../../protocols/messages.ts';
import { alarmById } from '../alarms.ts';
import { type CodeCheck, checkCode } from '../contacts.ts';
import { ALARM_CHANNEL } from '../ingest/event-store.ts';
import type { Notifier, Recipients } from '../notify/notifier.ts';
import { subscriptionsOf } from '../notify/push-subscriptions.ts';
import {
  type Action,
  CLOSE_OUTCOMES,
  type CloseOutcome,
  type Outcome,
  ProcedureEngine,
  type SiteProfile,
  type SiteStatus,
} from './engine.ts';
import { SiteProfileSchema } from './simulate.ts';

export interface Proposal {
  readonly kind: 'call' | 'sms' | 'timer' | 'window' | 'operator';
  readonly target: string;
  /** Who to call and on which number, for the console. */
  readonly label: string;
  readonly until: string | null;
}

type Input =
  | { kind: 'event'; event: AlarmEvent; alarmId: string | null }
  | { kind: 'outcome'; alarmId: string; outcome: Outcome }
  | { kind: 'sms'; alarmId: string; text: string }
  | { kind: 'outage'; siteId: string; active: boolean };

/** Actions the notifier carries out (the rest are for operators or the engine itself). */
const MESSAGE_ACTIONS = new Set(['sms', 'email', 'notify-installer', 'push']);

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
  readonly #engine = new ProcedureEngine();
  readonly #loaded = new Set<string>();
  #timer: NodeJS.Timeout | null = null;
  #chain: Promise<unknown> = Promise.resolve();

  #notifier: Notifier | null = null;

  constructor(pool: pg.Pool, logger: Logger, metrics: Metrics) {
    this.#pool = pool;
    this.#logger = logger;
    this.#metrics = metrics;
  }

  /** Messages the engine decides to send go out through this notifier. */
  useNotifier(notifier: Notifier): void {
    this.#notifier = notifier;
  }

  /** A contact's SMS reply: the escalation waiting on that number gets it. */
  onInboundSms(from: string, text: string): Promise<void> {
    return this.#serial(async () => {
      const alarmId = this.#engine.waitingFor('sms', (target) => target.endsWith(` ${from}`));
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

  proposal(alarmId: string): Proposal | null {
    const waiting = this.#engine.handling(alarmId)?.waiting;
    if (!waiting) return null;
    return {
      kind: waiting.kind,
      target: waiting.target,
      label: waiting.label ?? waiting.target,
      until: Number.isFinite(waiting.until) ? new Date(waiting.until).toISOString() : null,
    };
  }

  onEventStored(event: AlarmEvent, alarmId: string | null): Promise<void> {
    return this.#serial(() => this.#input({ kind: 'event', event, alarmId }, Date.now(), 'engine'));
  }

  onOutcome(alarmId: string, outcome: Outcome, operator: string): Promise<void> {
    return this.#serial(() => this.#input({ kind: 'outcome', alarmId, outcome }, Date.now(), operator));
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
    const result = await checkCode(this.#pool, alarm.siteId, idCode, pin, operator);
    const outcome: Outcome =
      result === 'valid' ? (cancel ? 'cancel-valid-code' : 'answered-valid-code') : 'answered-invalid-code';
    if (result === 'valid' || !cancel) await this.onOutcome(alarmId, outcome, operator);
    return result;
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
    await this.#pool.query(
      'INSERT INTO procedure_inputs (site_id, alarm_id, at, kind, payload) VALUES ($1, $2, $3, $4, $5)',
      [siteId, 'alarmId' in input ? input.alarmId : null, new Date(now), input.kind, JSON.stringify(input)],
    );
    await this.#tick(now);
    const actions = this.#apply(input, now);
    // An alarm no procedure handles (or one the engine already finished) is still closed when asked.
    if (
      input.kind === 'outcome' &&
      input.outcome in CLOSE_OUTCOMES &&
      !actions.some((a) => a.action === 'close')
    ) {
      actions.push({
        time: new Date(now).toISOString(),
        site: siteId,
        alarm: input.alarmId,
        action: 'close',
        target: input.alarmId,
        reason: CLOSE_OUTCOMES[input.outcome as CloseOutcome],
      });
    }
    await this.#persist(actions, actor);
  }

  #apply(input: Input, now: number): Action[] {
    if (input.kind === 'event') return this.#engine.onEvent(input.event, input.alarmId, now);
    if (input.kind === 'outcome') return this.#engine.onOutcome(input.alarmId, input.outcome, now);
    if (input.kind === 'outage') return this.#engine.setRegionalOutage([input.siteId], input.active, now);
    return this.#engine.onSmsReply(input.alarmId, input.text, now);
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

  async #persist(actions: readonly Action[], actor: string): Promise<void> {
    const changed = new Set<string>();
    for (const action of actions) {
      this.#metrics.increment('procedure_actions_total', { action: action.action });
      await this.#pool.query(
        'INSERT INTO alarm_actions (alarm_id, at, actor, action, target, reason) VALUES ($1, $2, $3, $4, $5, $6)',
        [action.alarm, action.time, actor, action.action, action.target, action.reason],
      );
      if (this.#notifier && MESSAGE_ACTIONS.has(action.action)) {
        const result = await this.#notifier.deliver(action, await this.#recipients(action));
        if (result) {
          await this.#pool.query(
            'INSERT INTO alarm_actions (alarm_id, at, actor, action, target, reason) VALUES ($1, now(), $2, $3, $4, $5)',
            [action.alarm, 'notifier', 'delivery', action.action, result],
          );
        }
      }
      if (action.action === 'close') {
        await this.#pool.query(
          `UPDATE alarms SET status = 'closed', closed_at = $2, close_reason = $3 WHERE id = $1 AND status <> 'closed'`,
          [action.alarm, action.time, action.reason],
        );
        // A real alarm is followed up with the customer within a day.
        if (action.reason === CLOSE_OUTCOMES['close-real']) {
          await this.#pool.query(
            `INSERT INTO follow_ups (alarm_id, site_id, due_at) VALUES ($1, $2, $3::timestamptz + interval '1 day')
             ON CONFLICT (alarm_id) DO NOTHING`,
            [action.alarm, action.site, action.time],
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
