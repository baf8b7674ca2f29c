import { EVENT_TYPES } from '../../protocols/event-codes.ts';
import type { AlarmEvent } from '../../protocols/messages.ts';
import { DEFAULT_ESCALATION, type EscalationTable, nextEscalation } from '../incidents/escalation.ts';
import { handlingClass, rankOf } from '../incidents/ranking.ts';
import { nextWindowStart } from './calendar.ts';
import {
  OPERATOR_IN_EVERY_FORMULA,
  PROCEDURE_FOR,
  PROCEDURES,
  type ProcedureName,
  type Step,
} from './definitions.ts';
import { describeTask, type Handling, holds, keyholders, type Service, type Task } from './handling.ts';
import {
  type Action,
  type ActionKind,
  type ActionSort,
  CALL_RESULTS,
  type Channels,
  CLOSE_OUTCOMES,
  type CloseOutcome,
  type Outcome,
  type OutcomeDetail,
  type SiteProfile,
} from './model.ts';
import { OpenHandlings } from './open-handlings.ts';
import {
  centralVerification,
  incidentEvent,
  openDispatch,
  refusalOf,
  SERVICE_NAMES,
  taskTarget,
} from './rules.ts';
import {
  countHandling,
  newSiteMemory,
  recordFalseAlarm,
  type SiteMemory,
  type SiteStatus,
  siteStatusOf,
  TEST_MISSING_LIMIT,
} from './site-memory.ts';

export type { Action, Contact, Outcome, SiteProfile } from './model.ts';
export { CLOSE_OUTCOMES, OUTCOMES } from './model.ts';
export type { SiteStatus } from './site-memory.ts';

/**
 * The procedure engine (SPEC §5–§7): deterministic, no I/O, time passed in. For each incident it
 * proposes the next task a person must do — call, dispatch, consult, send by hand, close — and
 * waits for the operator's recorded outcome: a timer never stands in for one. It does by itself
 * only what the system does (SMS, e-mail and push through the notifier, holds, waits, windows),
 * and an incident nobody attends to escalates. Every entry it makes is an Action for the trail.
 */
/** The engine's answer to an operator's outcome. */
export interface OutcomeResult {
  readonly actions: Action[];
  /** Why the outcome was not accepted (nothing changed), e.g. closing as real before a dispatch. */
  readonly refused: string | null;
}

/** The engine's state without the sites' profiles (procedure_snapshots). */
export interface EngineState {
  readonly handlings: Handling[];
  readonly memory: [string, SiteMemory][];
  readonly incidentOfEvent: [string, string][];
}

export interface EngineOptions {
  readonly channels?: Channels;
  readonly escalation?: EscalationTable;
}

const SMS_REPLY_MS = 90_000;

export class ProcedureEngine {
  readonly #sites = new Map<string, SiteProfile>();
  readonly #memory = new Map<string, SiteMemory>();
  readonly #handlings = new Map<string, Handling>();
  readonly #open = new OpenHandlings();
  /**
   * What `nextDue` answered, until an input may change an open incident (undefined: work it out
   * again). It is asked before every input, and working it out looks at every open incident.
   */
  #due: number | null | undefined;
  /** Which incident each event belongs to, for restores and verifications that name an event. */
  readonly #incidentOfEvent = new Map<string, string>();
  readonly #channels: Channels;
  readonly #escalation: EscalationTable;
  #actions: Action[] = [];

  constructor(options: EngineOptions = {}) {
    this.#channels = options.channels ?? { sms: true, email: true };
    this.#escalation = options.escalation ?? DEFAULT_ESCALATION;
  }

  setSite(site: SiteProfile): void {
    this.#sites.set(site.id, site);
  }

  get openHandlings(): number {
    return this.#open.size;
  }

  /**
   * What the engine holds, for a snapshot (the sites' profiles are not: they are re-read). Closed
   * incidents opened before `keepClosedSince` are left out, so a snapshot does not grow forever.
   */
  snapshot(keepClosedSince: number): EngineState {
    const handlings = [...this.#handlings.values()].filter((h) => !h.closed || h.openedAt >= keepClosedSince);
    const kept = new Set(handlings.map((h) => h.alarmId));
    return {
      handlings,
      memory: [...this.#memory],
      incidentOfEvent: [...this.#incidentOfEvent].filter(([, alarmId]) => kept.has(alarmId)),
    };
  }

  /**
   * Lets go of the incidents a snapshot taken with `keepClosedSince` leaves out (closed, opened
   * before it), so the engine's memory does not grow with every incident it has handled.
   */
  forgetClosedBefore(keepClosedSince: number): void {
    for (const [alarmId, h] of this.#handlings)
      if (h.closed && h.openedAt < keepClosedSince) this.#handlings.delete(alarmId);
    for (const [eventId, alarmId] of this.#incidentOfEvent)
      if (!this.#handlings.has(alarmId)) this.#incidentOfEvent.delete(eventId);
  }

  /** Starts from a snapshot's state (before any input). */
  restore(state: EngineState): void {
    this.#due = undefined;
    for (const h of state.handlings) {
      this.#handlings.set(h.alarmId, h);
      this.#open.add(h);
    }
    for (const [siteId, memory] of state.memory) this.#memory.set(siteId, memory);
    for (const [eventId, alarmId] of state.incidentOfEvent) this.#incidentOfEvent.set(eventId, alarmId);
  }

  /** The incidents the engine still works on. */
  openAlarmIds(): string[] {
    return [...this.#open].map((h) => h.alarmId);
  }

  handling(alarmId: string): Readonly<Handling> | undefined {
    return this.#handlings.get(alarmId);
  }

  /** The open incident whose SMS escalation waits on this number. */
  waitingForSms(number: string): string | null {
    for (const h of this.#open) if (h.wait?.kind === 'sms' && h.wait.number === number) return h.alarmId;
    return null;
  }

  /** The earliest time a `tick` has work to do, or null. */
  nextDue(): number | null {
    if (this.#due !== undefined) return this.#due;
    let next: number | null = null;
    const consider = (at: number | undefined | null) => {
      if (at !== undefined && at !== null && Number.isFinite(at) && (next === null || at < next)) next = at;
    };
    for (const h of this.#open) {
      consider(h.wait && 'until' in h.wait ? h.wait.until : null);
      consider(h.deadline?.at);
      consider(this.#promptAt(h));
      consider(this.#nextEscalation(h)?.at);
    }
    this.#due = next;
    return next;
  }

  // --- inputs ------------------------------------------------------------------------------

  /**
   * An event was stored. `alarmId` is the incident it opened or joined (null: it opened none); a
   * restore, verification or arming finds its incident through the event it names or its site.
   */
  /**
   * Whether an event would change anything the engine keeps: an incident of its own, an open one at
   * its site, or the site's memory (a mains loss, a test report after missed ones). Inputs that change
   * nothing need not be kept for the replay at start.
   */
  changesState(event: AlarmEvent, alarmId: string | null): boolean {
    if (alarmId !== null || event.eventType === 'mains-loss') return true;
    if (event.eventType === 'periodic-test' && (this.#memory.get(event.siteId)?.missedTests ?? 0) !== 0)
      return true;
    return this.#open.hasSite(event.siteId);
  }

  onEvent(event: AlarmEvent, alarmId: string | null, now: number): Action[] {
    this.#actions = [];
    // An event that names no incident at a site with none open changes no incident, only the site's memory.
    if (alarmId !== null || this.#open.hasSite(event.siteId)) this.#due = undefined;
    const site = this.#sites.get(event.siteId);
    const memory = this.#memoryOf(event.siteId);
    if (event.eventType === 'periodic-test') memory.missedTests = 0;
    if (event.eventType === 'mains-loss') memory.mainsLost = event.qualifier === 'event';
    const existing = alarmId ? this.#handlings.get(alarmId) : undefined;
    for (const h of this.#open.ofSite(event.siteId)) if (h !== existing) this.#relate(h, event, now);
    const joins = event.qualifier === 'event' && EVENT_TYPES[event.eventType].handling !== 'verification';
    if (existing && !existing.closed && joins) this.#join(existing, event, now);
    else if (existing) this.#relate(existing, event, now);
    else if (site && alarmId && event.qualifier === 'event') this.#start(site, memory, event, alarmId, now);
    return this.#actions;
  }

  /** An operator claimed the incident: it is attended to, so it stops escalating. */
  onClaim(alarmId: string, now: number): Action[] {
    this.#actions = [];
    this.#due = undefined;
    const h = this.#handlings.get(alarmId);
    if (h && !h.closed) {
      h.attended = true;
      h.unattendedSince = null;
    }
    void now;
    return this.#actions;
  }

  /** An operator recorded an outcome of the task the engine proposed. */
  onOutcome(alarmId: string, outcome: Outcome, detail: OutcomeDetail, now: number): OutcomeResult {
    this.#actions = [];
    this.#due = undefined;
    const h = this.#handlings.get(alarmId);
    if (!h) return { actions: [], refused: `no incident ${alarmId}` };
    if (h.closed) return { actions: [], refused: 'the incident is closed' };
    const refused = refusalOf(h, outcome, detail);
    if (refused) return { actions: [], refused };
    h.attended = true;
    h.unattendedSince = null;
    this.#record(h, now, outcome, detail);
    this.#apply(h, outcome, detail, now);
    return { actions: this.#actions, refused: null };
  }

  /** An SMS reply from a contact's mobile (SPEC §6): "ok" closes, anything else needs an operator now. */
  onSmsReply(alarmId: string, text: string, now: number): Action[] {
    this.#actions = [];
    this.#due = undefined;
    const h = this.#handlings.get(alarmId);
    if (!h || h.closed || h.wait?.kind !== 'sms') return this.#actions;
    const { name, number } = h.wait;
    h.wait = null;
    h.smsCursor = null;
    if (text.trim().toLowerCase() === 'ok') {
      this.#close(h, now, `"ok" from ${name} ${number}`);
      return this.#actions;
    }
    this.#fact(h, now, 'present', 'operator', `reply "${text.slice(0, 40)}" from ${name} ${number}: act now`);
    if (!h.attended) h.unattendedSince = now;
    h.pc++;
    this.#run(h, now);
    return this.#actions;
  }

  /** A known regional power outage starts or ends (SPEC §5 mains). */
  setRegionalOutage(siteIds: readonly string[], active: boolean, now: number): Action[] {
    this.#actions = [];
    this.#due = undefined;
    for (const siteId of siteIds) {
      this.#memoryOf(siteId).regionalOutage = active;
      for (const h of this.#open.ofSite(siteId)) {
        if (h.procedure !== 'mains') continue;
        if (active && h.wait?.kind === 'restore') {
          // Known only now, while the mains wait runs: it still suppresses the alarm.
          h.wait = { kind: 'outage' };
          this.#fact(
            h,
            now,
            'hold',
            'regional outage',
            'a regional power outage became known: no action unless it ends without a restore here',
          );
        } else if (!active && h.wait?.kind === 'outage') {
          h.wait = null;
          this.#fact(
            h,
            now,
            'release',
            'regional outage',
            'the regional outage ended without a restore at this site',
          );
          h.pc++;
          this.#run(h, now);
        }
      }
    }
    return this.#actions;
  }

  /** What the site card shows of the engine's memory: cards, missed tests, handlings this year. */
  siteStatus(siteId: string, now: number): SiteStatus {
    return siteStatusOf(this.#memoryOf(siteId), this.#sites.get(siteId), now);
  }

  /** Time passes: system waits end, deadlines fall due, operators are prompted, escalations rise. */
  tick(now: number): Action[] {
    this.#actions = [];
    this.#due = undefined;
    for (const h of [...this.#open]) {
      if (h.closed) continue;
      if (h.deadline && h.deadline.at <= now) {
        const { service } = h.deadline;
        h.deadline = null;
        this.#proposeDispatch(h, now, service, 'high', 'no reaction within the reaction time', false);
      }
      const promptAt = this.#promptAt(h);
      if (promptAt !== null && promptAt <= now && h.task?.kind === 'call') {
        h.task.prompted = true;
        this.#fact(
          h,
          now,
          'prompt',
          h.task.label,
          `no answer within ${h.task.timeoutSeconds} s? record the outcome`,
        );
      }
      const escalation = this.#nextEscalation(h);
      if (escalation && escalation.at <= now) {
        h.escalation = escalation.level;
        this.#fact(h, now, 'escalate', escalation.level, ESCALATION_TEXT[escalation.level]);
      }
      const wait = h.wait;
      if (!wait || !('until' in wait) || wait.until > now) continue;
      h.wait = null;
      if (wait.kind === 'sms') {
        this.#fact(h, now, 'sms', `${wait.name} ${wait.number}`, `no "ok" within ${SMS_REPLY_MS / 1000} s`);
        if (this.#smsNext(h, this.#sites.get(h.siteId)!, now, (h.smsCursor ?? 0) + 1)) h.pc++;
      } else if (wait.kind === 'window') {
        this.#fact(h, now, 'release', 'window', 'the action window opened');
        if (h.restored) {
          this.#close(h, now, 'restored while held');
          continue;
        }
        h.pc++;
      } else h.pc++;
      this.#run(h, now);
    }
    return this.#actions;
  }

  // --- incidents -----------------------------------------------------------------------------

  #memoryOf(siteId: string): SiteMemory {
    let memory = this.#memory.get(siteId);
    if (!memory) {
      memory = newSiteMemory();
      this.#memory.set(siteId, memory);
    }
    return memory;
  }

  #start(site: SiteProfile, memory: SiteMemory, event: AlarmEvent, alarmId: string, now: number): void {
    const procedure = PROCEDURE_FOR[event.eventType];
    if (!procedure) return;
    const lead = incidentEvent(event);
    const h: Handling = {
      alarmId,
      siteId: site.id,
      events: [lead],
      lead,
      procedure,
      steps: site.overrides?.[procedure] ?? PROCEDURES[procedure],
      pc: 0,
      openedAt: now,
      task: null,
      wait: null,
      openDispatches: new Map(),
      dispatches: [],
      noDispatch: false,
      closed: false,
      // A duress code is a person on site confirming the hold-up (SPEC §4).
      verified: event.verification.verified || event.eventType === 'duress',
      disarmed: false,
      restored: false,
      silent: event.eventType === 'duress',
      premises: null,
      counter: null,
      keyholderReached: false,
      keyholderCursor: null,
      smsCursor: null,
      deadline: null,
      cancelRequested: null,
      operatorInvolved: false,
      attended: false,
      unattendedSince: null,
      escalation: null,
    };
    this.#handlings.set(alarmId, h);
    this.#open.add(h);
    this.#incidentOfEvent.set(event.id, alarmId);
    this.#fact(h, now, 'start', procedure, `${EVENT_TYPES[event.eventType].title}, zone ${event.zone}`);
    if (site.testModeUntil !== null && now < site.testModeUntil) {
      this.#close(h, now, 'site in test mode: no action');
      return;
    }
    if (event.eventType === 'undefined-alarm') {
      const code = `${event.code.cid}/${event.code.sia}`;
      if (memory.notifiedUndefined.has(code)) {
        this.#close(h, now, `undefined code ${code}: installer already told; ignored`);
        return;
      }
      memory.notifiedUndefined.add(code);
    }
    if (procedure === 'test-missing') {
      memory.missedTests++;
      if (memory.missedTests > TEST_MISSING_LIMIT) {
        this.#close(
          h,
          now,
          `${TEST_MISSING_LIMIT} missed test reports without reaction: not handled until a test arrives`,
        );
        return;
      }
    }
    if (procedure === 'mains' && memory.regionalOutage) {
      h.wait = { kind: 'outage' };
      this.#fact(
        h,
        now,
        'hold',
        'regional outage',
        'known regional power outage: no action unless it ends without a restore here',
      );
      return;
    }
    this.#run(h, now);
  }

  /** Another alarm of the site joined the incident: its timeline grows; it may verify or outrank it. */
  #join(h: Handling, event: AlarmEvent, now: number): void {
    const site = this.#sites.get(h.siteId)!;
    const joined = incidentEvent(event);
    h.events.push(joined);
    this.#incidentOfEvent.set(event.id, h.alarmId);
    this.#fact(h, now, 'join', event.eventType, `${EVENT_TYPES[event.eventType].title}, zone ${event.zone}`);
    if (event.eventType === 'duress') h.silent = true;
    const rule = event.verification.verified
      ? (event.verification.rule ?? 'verified at the premises')
      : event.eventType === 'duress'
        ? 'duress code'
        : h.verified
          ? null // already verified: no need to look through its events again
          : centralVerification(site, h.events);
    const procedure = PROCEDURE_FOR[event.eventType];
    const outranks =
      procedure !== undefined &&
      procedure !== h.procedure &&
      rankOf(event.eventType, false) < rankOf(h.lead.eventType, h.verified);
    const newlyVerified = rule !== null && !h.verified;
    if (newlyVerified) {
      h.verified = true;
      this.#fact(h, now, 'verify', rule, 'the incident is verified');
    }
    if (outranks && procedure) {
      h.lead = joined;
      this.#switchProcedure(h, site, procedure, now);
    }
    if (newlyVerified) this.#dispatchOnVerification(h, now, rule);
    // SPEC §5: the system battery failing while the mains is lost is acted on at once.
    if (
      event.eventType === 'system-battery-low' &&
      h.procedure === 'mains' &&
      (h.wait?.kind === 'restore' || h.wait?.kind === 'outage')
    ) {
      h.wait = null;
      this.#fact(h, now, 'release', 'mains wait', 'system battery low while the mains is lost: act at once');
      h.pc++;
      this.#run(h, now);
    }
  }

  /** The incident is verified: its priority rises and the procedure takes the verified branch from here. */
  #verify(h: Handling, now: number, rule: string): void {
    h.verified = true;
    this.#fact(h, now, 'verify', rule, 'the incident is verified');
    this.#dispatchOnVerification(h, now, rule);
  }

  #dispatchOnVerification(h: Handling, now: number, rule: string): void {
    if ((h.procedure === 'burglary' && !h.disarmed) || h.procedure === 'holdup' || h.procedure === 'tamper')
      this.#proposeDispatch(h, now, 'police', 'high', `verified (${rule})`, false);
  }

  #switchProcedure(h: Handling, site: SiteProfile, procedure: ProcedureName, now: number): void {
    h.procedure = procedure;
    h.steps = site.overrides?.[procedure] ?? PROCEDURES[procedure];
    h.pc = 0;
    h.task = null;
    h.wait = null;
    this.#fact(
      h,
      now,
      'start',
      procedure,
      `the incident is now handled as ${procedure} (${EVENT_TYPES[h.lead.eventType].title})`,
    );
    this.#run(h, now);
  }

  /** What a later event of the site means for a running incident. */
  #relate(h: Handling, event: AlarmEvent, now: number): void {
    const names = event.relatesTo !== null && this.#incidentOfEvent.get(event.relatesTo) === h.alarmId;
    if (names && event.qualifier === 'restore' && event.relatesTo === h.lead.id) {
      h.restored = true;
      if (h.wait?.kind === 'restore') this.#close(h, now, 'restored within the wait');
      else if (h.wait?.kind === 'window' || h.wait?.kind === 'outage')
        this.#close(h, now, 'restored while held');
    }
    if (names && event.eventType === 'alarm-verified' && !h.verified)
      this.#verify(h, now, event.verification.rule ?? 'verified at the premises');
    if (event.eventType !== 'opening-closing') return;
    const sameArea = event.area === 0 || h.lead.area === 0 || event.area === h.lead.area;
    if (event.qualifier === 'event' && sameArea) h.disarmed = true;
    // A correct arming of the same area ends an exit-error or arming-fault handling (SPEC §5).
    if (
      event.qualifier === 'restore' &&
      sameArea &&
      (h.procedure === 'exit-error' || h.procedure === 'arming-fault')
    )
      this.#close(
        h,
        now,
        event.area === 0 ? 'a correct arming followed' : `a correct arming of area ${event.area} followed`,
      );
  }

  // --- the procedure ------------------------------------------------------------------------

  /** Execute steps until one needs a person or the system waits, or the procedure ends. */
  #run(h: Handling, now: number): void {
    const site = this.#sites.get(h.siteId)!;
    const memory = this.#memoryOf(h.siteId);
    while (!h.closed && !h.task && !h.wait && h.pc < h.steps.length) {
      const step = h.steps[h.pc]!;
      if (step.if && !holds(step.if, h, site, memory.mainsLost)) {
        h.pc++;
        continue;
      }
      if (this.#execute(h, step, site, now)) h.pc++;
    }
  }

  /** One step; false when the incident now waits on it (a task or a system wait). */
  #execute(h: Handling, step: Step, site: SiteProfile, now: number): boolean {
    switch (step.do) {
      case 'dispatch':
        return this.#proposeDispatch(h, now, step.service, step.priority ?? 'high', 'per procedure', true);
      case 'call':
        return this.#proposeCall(h, step.target, site, now, step.timeoutSeconds);
      case 'call-keyholders':
        return this.#callKeyholders(h, site, now, step.rounds, step.timeoutSeconds);
      case 'sms-keyholders': {
        const mobiles = keyholders(site).filter((c) => c.mobile);
        if (mobiles.length === 0) return true;
        const to = mobiles.map((c) => `${c.name} ${c.mobile}`).join(', ');
        return this.#send(h, now, 'sms', to, `${this.#title(h)}, ${site.name}: nobody reached by phone`);
      }
      case 'consult':
        return this.#propose(h, now, { kind: 'consult', service: step.service }, 'per procedure');
      case 'deadline':
        h.deadline = { at: h.openedAt + step.seconds * 1000, service: step.service };
        this.#fact(
          h,
          now,
          'wait',
          `dispatch ${step.service}`,
          `unless someone with a valid code reacts within ${step.seconds} s`,
        );
        return true;
      case 'wait': {
        const seconds = step.setting === 'mainsDelay' ? site.mainsDelayMinutes * 60 : step.seconds;
        const until = h.lead.at + seconds * 1000;
        if (h.restored) {
          this.#close(h, now, 'restored within the wait');
          return false;
        }
        if (until <= now) return true;
        h.wait = { kind: 'restore', until };
        this.#fact(h, now, 'wait', 'restore', `no action if restored within ${seconds} s`);
        return false;
      }
      case 'window': {
        const opens = nextWindowStart(site, now);
        if (opens === null) return true;
        h.wait = { kind: 'window', until: opens };
        this.#fact(
          h,
          now,
          'hold',
          'window',
          `outside ${site.actWindow.from}–${site.actWindow.to} ${site.timeZone}: held until ${new Date(opens).toISOString()}`,
        );
        return false;
      }
      case 'by-formula':
        return this.#byFormula(h, site, now);
      case 'sms-escalation':
        return this.#smsNext(h, site, now, 0);
      case 'email':
        return this.#send(
          h,
          now,
          'email',
          step.to,
          `${this.#title(h)}, ${site.name} (customer override: e-mail instead of a call)`,
        );
      case 'notify-installer':
        this.#fact(
          h,
          now,
          'notify-installer',
          'installer',
          `undefined alarm code ${h.lead.eventType}: told once, in writing`,
        );
        return true;
      case 'finish':
        if (h.deadline && !(h.premises === 'valid' || h.keyholderReached)) {
          const { service } = h.deadline;
          h.deadline = null;
          this.#proposeDispatch(h, now, service, 'high', 'everyone called, nobody reacted', false);
        }
        return this.#propose(
          h,
          now,
          { kind: 'close', why: 'procedure complete: close the incident with a reason' },
          'every step is done',
        );
      case 'close':
        this.#close(h, now, step.reason);
        return false;
    }
  }

  /** Make `task` the incident's next step, for an operator; false: the incident waits on it. */
  #propose(h: Handling, now: number, task: Task, reason: string): false {
    h.task = task;
    h.operatorInvolved ||= task.kind !== 'close';
    if (!h.attended && h.unattendedSince === null && h.escalation === null) h.unattendedSince = now;
    this.#emit(
      h,
      now,
      'proposal',
      task.kind === 'by-hand' ? 'by-hand' : task.kind === 'close' ? 'present' : task.kind,
      taskTarget(task),
      reason === '' ? describeTask(task) : reason,
    );
    return false;
  }

  #proposeCall(
    h: Handling,
    target: 'premises' | 'counter',
    site: SiteProfile,
    now: number,
    timeoutSeconds: number,
  ): boolean {
    const number = target === 'counter' ? (site.counterPhone ?? site.premisesPhone) : site.premisesPhone;
    if (!number) {
      if (target === 'premises') h.premises = 'not-reached';
      else h.counter = 'not-reached';
      this.#fact(h, now, 'skip', `call ${target}`, `no ${target} number on file: skipped`);
      return true;
    }
    return this.#propose(
      h,
      now,
      {
        kind: 'call',
        target,
        number,
        label: `${target} ${number}`,
        timeoutSeconds,
        startedAt: null,
        prompted: false,
      },
      `${timeoutSeconds} s to answer and give a valid code`,
    );
  }

  #callKeyholders(
    h: Handling,
    site: SiteProfile,
    now: number,
    rounds: number,
    timeoutSeconds: number,
  ): boolean {
    const list = keyholders(site).filter((c) => c.phone ?? c.mobile);
    if (h.keyholderReached || list.length === 0) {
      h.keyholderCursor = null;
      return true;
    }
    const cursor = h.keyholderCursor ?? { index: 0, round: 1 };
    if (cursor.round > rounds) {
      h.keyholderCursor = null;
      return true;
    }
    const contact = list[cursor.index]!;
    h.keyholderCursor =
      cursor.index + 1 < list.length
        ? { index: cursor.index + 1, round: cursor.round }
        : { index: 0, round: cursor.round + 1 };
    const number = (contact.phone ?? contact.mobile)!;
    return this.#propose(
      h,
      now,
      {
        kind: 'call',
        target: `keyholder:${contact.id}`,
        number,
        label: `keyholder ${contact.order} ${contact.name} ${number}`,
        timeoutSeconds,
        startedAt: null,
        prompted: false,
      },
      `attempt ${cursor.round} of ${rounds}`,
    );
  }

  /**
   * Propose alerting an agency, unless the site may not have one (test period, red card: a system
   * decision, recorded as such). `blocking`: a step of the sequence, which waits for the record;
   * otherwise the dispatch stands beside whatever the operator is doing, and blocks only the close.
   */
  #proposeDispatch(
    h: Handling,
    now: number,
    service: Service,
    priority: 'high' | 'low',
    why: string,
    blocking: boolean,
  ): boolean {
    if (h.dispatches.some((d) => d.service === service) || h.openDispatches.has(service)) return true;
    if (h.task?.kind === 'dispatch' && h.task.service === service) return true;
    const site = this.#sites.get(h.siteId)!;
    const memory = this.#memoryOf(h.siteId);
    const testPeriod =
      site.activatedAt !== null &&
      now < site.activatedAt + site.testPeriodDays * 86_400_000 &&
      service !== 'guard';
    if (
      testPeriod ||
      (service === 'police' && memory.policeBlockedUntil !== null && now < memory.policeBlockedUntil)
    ) {
      h.noDispatch = true;
      this.#emit(
        h,
        now,
        'proposal',
        'no-dispatch',
        service,
        testPeriod
          ? 'test period: only the customer and contacts are called'
          : 'red card: police may not be alerted for this site',
      );
      return true;
    }
    const task = { kind: 'dispatch', service, priority, why } as const;
    if (blocking) return this.#propose(h, now, task, why);
    h.openDispatches.set(service, task);
    h.operatorInvolved = true;
    if (!h.attended && h.unattendedSince === null && h.escalation === null) h.unattendedSince = now;
    this.#emit(
      h,
      now,
      'proposal',
      'dispatch',
      `${SERVICE_NAMES[service]}${priority === 'low' ? ' (low priority)' : ''}`,
      why,
    );
    return true;
  }

  /** A message the system sends itself when it can; without the channel, a task for an operator. */
  #send(h: Handling, now: number, channel: 'sms' | 'email', to: string, text: string): boolean {
    if (this.#channels[channel]) {
      this.#fact(h, now, channel, to, text);
      return true;
    }
    return this.#propose(
      h,
      now,
      { kind: 'by-hand', channel, to, text },
      `no ${channel === 'sms' ? 'SMSC' : 'SMTP server'} configured: send it by hand`,
    );
  }

  /**
   * Technical alarms by the site's formula (seed 002): APP → the customer's app; MIX → SMS; FULL
   * (operator) → SMS first, a call only when nobody answers "ok". External technical alarms and
   * active supervision go to an operator in every formula.
   */
  #byFormula(h: Handling, site: SiteProfile, now: number): boolean {
    if (handlingClass(h.lead.eventType) !== 'technical' || OPERATOR_IN_EVERY_FORMULA.has(h.lead.eventType)) {
      h.steps = [...h.steps.slice(0, h.pc + 1), ...PREMISES_STEPS, ...h.steps.slice(h.pc + 1)];
      return true;
    }
    if (site.formula === 'APP') {
      this.#fact(h, now, 'push', 'customer app', `${this.#title(h)}: handled in the app (formula APP)`);
      this.#close(h, now, 'sent to the customer app');
      return false;
    }
    const calls = site.formula === 'FULL' ? PREMISES_STEPS : [];
    h.steps = [
      ...h.steps.slice(0, h.pc + 1),
      { do: 'sms-escalation', replySeconds: 90 },
      ...calls,
      ...h.steps.slice(h.pc + 1),
    ];
    return true;
  }

  #smsNext(h: Handling, site: SiteProfile, now: number, index: number): boolean {
    const contacts = site.contacts.filter((c) => c.mobile).sort((a, b) => a.order - b.order);
    const text = `${this.#title(h)}, zone ${h.lead.zone}, ${site.name}: reply "ok"`;
    if (!this.#channels.sms) {
      if (index > 0 || contacts.length === 0) return true;
      return this.#propose(
        h,
        now,
        {
          kind: 'by-hand',
          channel: 'sms',
          to: contacts.map((c) => `${c.name} ${c.mobile}`).join(', '),
          text,
        },
        'no SMSC configured: send it by hand, one contact after the other',
      );
    }
    const contact = contacts[index];
    if (!contact) {
      h.smsCursor = null;
      this.#fact(h, now, 'present', 'operator', 'no "ok" from any contact: call them');
      if (!h.attended && h.unattendedSince === null) h.unattendedSince = now;
      return true;
    }
    h.smsCursor = index;
    h.wait = { kind: 'sms', until: now + SMS_REPLY_MS, number: contact.mobile!, name: contact.name };
    this.#fact(h, now, 'sms', `${contact.name} ${contact.mobile}`, `${text} within ${SMS_REPLY_MS / 1000} s`);
    return false;
  }

  // --- outcomes ----------------------------------------------------------------------------

  #record(h: Handling, now: number, outcome: Outcome, detail: OutcomeDetail): void {
    const task = h.task;
    const on = task?.kind === 'call' ? task.label : task ? describeTask(task) : h.alarmId;
    const parts = [
      detail.by && `by ${detail.by}`,
      detail.agency && `${detail.agency}`,
      detail.reference && `ref. ${detail.reference}`,
      detail.reason,
      detail.note,
    ].filter(Boolean);
    this.#emit(
      h,
      now,
      'outcome',
      'recorded',
      outcome,
      `${on}${parts.length ? ` — ${parts.join(', ')}` : ''}`,
      { ...detail },
    );
  }

  #apply(h: Handling, outcome: Outcome, detail: OutcomeDetail, now: number): void {
    const memory = this.#memoryOf(h.siteId);
    if (outcome === 'call-started' && h.task?.kind === 'call') {
      h.task.startedAt = now;
      return;
    }
    if ((CALL_RESULTS as readonly string[]).includes(outcome) && h.task?.kind === 'call') {
      const task = h.task;
      h.task = null;
      const result =
        outcome === 'answered-valid-code'
          ? 'valid'
          : outcome === 'answered-invalid-code'
            ? 'invalid'
            : 'not-reached';
      if (task.target === 'premises') h.premises = result;
      else if (task.target === 'counter') h.counter = result;
      else if (result === 'valid') h.keyholderReached = true;
      if (result === 'valid') h.deadline = null;
      // The keyholder step repeats while its cursor moves on; any other call is done.
      if (!task.target.startsWith('keyholder:')) h.pc++;
      this.#run(h, now);
      return;
    }
    if (outcome === 'dispatched' || outcome === 'not-dispatched') {
      const service = detail.service ?? openDispatch(h)?.service ?? 'police';
      h.dispatches.push({
        service,
        dispatched: outcome === 'dispatched',
        ...(detail.agency ? { agency: detail.agency } : {}),
        ...(detail.reference ? { reference: detail.reference } : {}),
        ...(detail.reason ? { reason: detail.reason } : {}),
        at: detail.at ? Date.parse(detail.at) : now,
      });
      if (h.openDispatches.delete(service)) return;
      if (h.task?.kind !== 'dispatch' || h.task.service !== service) return;
      h.task = null;
      h.pc++;
      this.#run(h, now);
      return;
    }
    if (outcome === 'consulted' || outcome === 'sent-by-hand') {
      h.task = null;
      h.pc++;
      this.#run(h, now);
      return;
    }
    if (outcome === 'cancel-valid-code') {
      const who = detail.by ?? 'an authorised person';
      // An operator working the incident sees the cancel and confirms the close (a customer's cancel
      // must not make it vanish from under them).
      if (detail.via === 'portal' && h.operatorInvolved) {
        h.cancelRequested = who;
        h.task = { kind: 'close', why: `cancelled by ${who} with a valid code: confirm the close` };
        h.wait = null;
        this.#emit(h, now, 'proposal', 'present', 'operator', h.task.why);
        return;
      }
      this.#close(h, now, `cancelled by ${who} with a valid code`);
      return;
    }
    if (outcome in CLOSE_OUTCOMES) {
      if (outcome === 'close-false') this.#falseAlarm(h, memory, now);
      if (h.operatorInvolved) this.#countHandling(h, now);
      this.#close(h, now, CLOSE_OUTCOMES[outcome as CloseOutcome]);
    }
  }

  #falseAlarm(h: Handling, memory: SiteMemory, now: number): void {
    const police = h.dispatches.some((d) => d.service === 'police' && d.dispatched);
    const card = recordFalseAlarm(memory, police, now);
    if (card === 'red')
      this.#fact(h, now, 'notify-installer', 'customer', 'red card: no police for this site for 3 months');
    if (card === 'yellow')
      this.#fact(h, now, 'notify-installer', 'customer', 'yellow card: 2 false alarms within 3 months');
  }

  #countHandling(h: Handling, now: number): void {
    const site = this.#sites.get(h.siteId)!;
    const count = countHandling(this.#memoryOf(h.siteId), site, now);
    const billable = count > site.includedHandlings;
    this.#fact(
      h,
      now,
      'count-handling',
      `${count} of ${site.includedHandlings}`,
      billable ? 'billable extra handling' : 'included in the contract',
    );
  }

  #close(h: Handling, now: number, reason: string): void {
    if (h.closed) return;
    h.closed = true;
    this.#open.delete(h);
    h.task = null;
    h.wait = null;
    h.deadline = null;
    h.unattendedSince = null;
    this.#fact(h, now, 'close', h.alarmId, reason);
  }

  #promptAt(h: Handling): number | null {
    const task = h.task;
    if (task?.kind !== 'call' || task.startedAt === null || task.prompted) return null;
    return task.startedAt + task.timeoutSeconds * 1000;
  }

  #nextEscalation(h: Handling): { level: NonNullable<Handling['escalation']>; at: number } | null {
    if (h.unattendedSince === null) return null;
    return nextEscalation(this.#escalation, handlingClass(h.lead.eventType), h.unattendedSince, h.escalation);
  }

  #title(h: Handling): string {
    return EVENT_TYPES[h.lead.eventType].title;
  }

  #fact(h: Handling, now: number, action: ActionKind, target: string, reason: string): void {
    this.#emit(h, now, 'fact', action, target, reason);
  }

  #emit(
    h: Handling,
    now: number,
    sort: ActionSort,
    action: ActionKind,
    target: string,
    reason: string,
    detail?: Record<string, unknown>,
  ): void {
    this.#actions.push({
      time: new Date(now).toISOString(),
      site: h.siteId,
      alarm: h.alarmId,
      sort,
      action,
      target,
      reason,
      ...(detail ? { detail } : {}),
    });
  }
}

const ESCALATION_TEXT = {
  attention: 'nobody has taken the incident: re-alert',
  urgent: 'still nobody on the incident: urgent',
  supervisor: 'unattended: the supervisor is alerted',
} as const;

const PREMISES_STEPS: readonly Step[] = [
  { do: 'call', target: 'premises', timeoutSeconds: 30 },
  { do: 'call-keyholders', rounds: 2, timeoutSeconds: 30, if: 'premises-not-valid' },
  { do: 'sms-keyholders', if: 'no-keyholder-reached' },
];
