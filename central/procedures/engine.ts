import { DateTime } from 'luxon';
import { EVENT_TYPES, type EventTypeName } from '../../protocols/event-codes.ts';
import type { AlarmEvent } from '../../protocols/messages.ts';
import {
  AUTOMATIC_FIRE,
  type Condition,
  PROCEDURE_FOR,
  PROCEDURES,
  type ProcedureName,
  type Step,
} from './definitions.ts';

/**
 * The procedure engine (SPEC §5–§7): deterministic, no I/O, time passed in. It decides and
 * proposes; operators record outcomes; timers (call timeouts, waits, deadlines, windows, SMS
 * replies) escalate by themselves when `tick` is called. Every decision is an Action, which the
 * central appends to the audit trail and the scenario runner prints.
 */
export interface Contact {
  readonly id: string;
  readonly name: string;
  /** Authorised persons may cancel but are never called; keyholders are called in order. */
  readonly role: 'authorised' | 'keyholder';
  readonly order: number;
  readonly phone?: string;
  readonly mobile?: string;
  readonly email?: string;
}

export interface SiteProfile {
  readonly id: string;
  readonly name: string;
  readonly timeZone: string;
  readonly kind: 'residential' | 'business';
  readonly formula: 'APP' | 'MIX' | 'FULL';
  /** Start of service; the first `testPeriodDays` are a test period (never police or fire). */
  readonly activatedAt: number | null;
  readonly testPeriodDays: number;
  /** While in test mode the central does not act (SPEC §7). */
  readonly testModeUntil: number | null;
  readonly certifiedFirePanel: boolean;
  /** Working hours for automatic fire alarms: weekdays 1 (Mon) … 7, local times. */
  readonly workingHours: { readonly days: readonly number[]; readonly from: string; readonly to: string };
  /** When single-path and non-urgent technical alarms may be acted on (09:00–22:00). */
  readonly actWindow: { readonly from: string; readonly to: string };
  readonly mainsDelayMinutes: number;
  readonly premisesPhone: string | null;
  readonly counterPhone: string | null;
  readonly contacts: readonly Contact[];
  /** Annual alarm handlings included in the contract (SPEC §6); more are billed. */
  readonly includedHandlings: number;
  readonly overrides?: Partial<Record<ProcedureName, readonly Step[]>>;
}

export type ActionKind =
  | 'start'
  | 'dispatch'
  | 'no-dispatch'
  | 'call'
  | 'sms'
  | 'consult'
  | 'hold'
  | 'release'
  | 'wait'
  | 'push'
  | 'email'
  | 'present'
  | 'notify-installer'
  | 'count-handling'
  | 'close';

export interface Action {
  readonly time: string;
  readonly site: string;
  readonly alarm: string;
  readonly action: ActionKind;
  readonly target: string;
  readonly reason: string;
}

/** How an operator ends a handling (SPEC §7: a cancelled false alarm does not count as one). */
export const CLOSE_OUTCOMES = {
  'close-real': 'closed by operator: real alarm',
  'close-false': 'closed by operator: false alarm',
  'close-cancelled': 'closed by operator: cancelled in time',
  'close-technical': 'closed by operator: technical cause',
} as const;
export type CloseOutcome = keyof typeof CLOSE_OUTCOMES;

/** What an operator records on a handling. */
export const OUTCOMES = [
  'answered-valid-code',
  'answered-invalid-code',
  'no-answer',
  'cancel-valid-code',
  'close-real',
  'close-false',
  'close-cancelled',
  'close-technical',
] as const satisfies readonly string[];
export type Outcome = (typeof OUTCOMES)[number];

interface Waiting {
  readonly kind: 'call' | 'sms' | 'timer' | 'window' | 'operator';
  readonly until: number;
  readonly target: string;
  /** What an operator reads (who and which number), where the target is an id. */
  readonly label?: string;
}

interface Handling {
  readonly alarmId: string;
  readonly siteId: string;
  readonly eventId: string;
  readonly eventType: EventTypeName;
  readonly zone: number;
  readonly procedure: ProcedureName;
  steps: readonly Step[];
  readonly openedAt: number;
  readonly occurredAt: number;
  pc: number;
  waiting: Waiting | null;
  closed: boolean;
  verified: boolean;
  disarmed: boolean;
  restored: boolean;
  premises: 'valid' | 'invalid' | 'no-answer' | null;
  counter: 'valid' | 'invalid' | 'no-answer' | null;
  keyholderReached: boolean;
  keyholderCursor: { index: number; round: number } | null;
  smsCursor: number | null;
  dispatched: Set<string>;
  deadline: { at: number; service: 'police' | 'fire' } | null;
  /** Did an operator act (calls, dispatch…)? Only such handlings count against the contract. */
  operatorInvolved: boolean;
}

export interface SiteStatus {
  readonly yellowCardAt: number | null;
  readonly policeBlockedUntil: number | null;
  readonly falseAlarmsInThreeMonths: number;
  readonly missedTests: number;
  readonly handlingsThisYear: number;
  readonly includedHandlings: number | null;
}

interface SiteMemory {
  handlingsThisYear: { year: number; count: number };
  missedTests: number;
  notifiedUndefined: Set<string>;
  falseAlarms: Array<{ at: number; police: boolean }>;
  yellowCardAt: number | null;
  policeBlockedUntil: number | null;
  regionalOutage: boolean;
  mainsLost: boolean;
}

const TEST_MISSING_LIMIT = 3;
const THREE_MONTHS_MS = 91 * 86_400_000;

export class ProcedureEngine {
  readonly #sites = new Map<string, SiteProfile>();
  readonly #memory = new Map<string, SiteMemory>();
  readonly #handlings = new Map<string, Handling>();
  #actions: Action[] = [];

  setSite(site: SiteProfile): void {
    this.#sites.set(site.id, site);
  }

  get openHandlings(): number {
    let open = 0;
    for (const h of this.#handlings.values()) if (!h.closed) open++;
    return open;
  }

  handling(alarmId: string): Readonly<Handling> | undefined {
    return this.#handlings.get(alarmId);
  }

  /** The open handling waiting on a step of this kind whose target matches (e.g. an SMS to a number). */
  waitingFor(kind: Waiting['kind'], matches: (target: string) => boolean): string | null {
    for (const h of this.#handlings.values()) {
      if (!h.closed && h.waiting?.kind === kind && matches(h.waiting.target)) return h.alarmId;
    }
    return null;
  }

  /** The earliest time a `tick` has work to do, or null. */
  nextDue(): number | null {
    let next: number | null = null;
    for (const h of this.#handlings.values()) {
      if (h.closed) continue;
      for (const at of [h.waiting?.until, h.deadline?.at]) {
        if (at !== undefined && Number.isFinite(at) && (next === null || at < next)) next = at;
      }
    }
    return next;
  }

  /** An event arrived (already stored); returns what is decided now. */
  onEvent(event: AlarmEvent, alarmId: string | null, now: number): Action[] {
    this.#actions = [];
    const site = this.#sites.get(event.siteId);
    const memory = this.#memoryOf(event.siteId);
    this.#siteFacts(event, memory);
    for (const h of this.#handlings.values())
      if (!h.closed && h.siteId === event.siteId) this.#relate(h, event, now);
    if (site && alarmId && event.qualifier === 'event') this.#start(site, memory, event, alarmId, now);
    return this.#actions;
  }

  /** An operator recorded what happened on the step the engine proposed. */
  onOutcome(alarmId: string, outcome: Outcome, now: number): Action[] {
    this.#actions = [];
    const h = this.#handlings.get(alarmId);
    if (!h || h.closed) return this.#actions;
    const memory = this.#memoryOf(h.siteId);
    if (outcome === 'cancel-valid-code') {
      this.#close(h, now, 'cancelled by an authorised person with a valid code');
      return this.#actions;
    }
    if (outcome in CLOSE_OUTCOMES) {
      if (outcome === 'close-false') this.#falseAlarm(h, memory, now);
      if (h.operatorInvolved) this.#countHandling(h, now);
      this.#close(h, now, CLOSE_OUTCOMES[outcome as CloseOutcome]);
      return this.#actions;
    }
    const waiting = h.waiting;
    if (!waiting || (waiting.kind !== 'call' && waiting.kind !== 'sms')) return this.#actions;
    h.waiting = null;
    this.#recordCall(h, waiting.target, outcome);
    this.#run(h, now);
    return this.#actions;
  }

  /** An SMS reply from a contact's mobile (SPEC §6): "ok" closes, anything else needs an operator now. */
  onSmsReply(alarmId: string, text: string, now: number): Action[] {
    this.#actions = [];
    const h = this.#handlings.get(alarmId);
    if (!h || h.closed || h.waiting?.kind !== 'sms') return this.#actions;
    if (text.trim().toLowerCase() === 'ok') {
      this.#close(h, now, `"ok" from ${h.waiting.target}`);
    } else {
      const from = h.waiting.target;
      h.waiting = null;
      h.smsCursor = null;
      this.#emit(h, now, 'present', 'operator', `reply "${text.slice(0, 40)}" from ${from}: act now`);
      h.pc++;
      this.#run(h, now);
    }
    return this.#actions;
  }

  /** A known regional power outage starts or ends (SPEC §5 mains). */
  setRegionalOutage(siteIds: readonly string[], active: boolean, now: number): Action[] {
    this.#actions = [];
    for (const siteId of siteIds) {
      this.#memoryOf(siteId).regionalOutage = active;
      if (active) continue;
      for (const h of this.#handlings.values()) {
        if (
          h.siteId === siteId &&
          !h.closed &&
          h.procedure === 'mains' &&
          h.waiting?.target === 'regional outage'
        ) {
          h.waiting = null;
          this.#emit(
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
    const memory = this.#memoryOf(siteId);
    const year = new Date(now).getUTCFullYear();
    return {
      yellowCardAt:
        memory.yellowCardAt && now - memory.yellowCardAt <= THREE_MONTHS_MS ? memory.yellowCardAt : null,
      policeBlockedUntil:
        memory.policeBlockedUntil && memory.policeBlockedUntil > now ? memory.policeBlockedUntil : null,
      falseAlarmsInThreeMonths: memory.falseAlarms.filter((f) => now - f.at <= THREE_MONTHS_MS).length,
      missedTests: memory.missedTests,
      handlingsThisYear: memory.handlingsThisYear.year === year ? memory.handlingsThisYear.count : 0,
      includedHandlings: this.#sites.get(siteId)?.includedHandlings ?? null,
    };
  }

  tick(now: number): Action[] {
    this.#actions = [];
    for (const h of [...this.#handlings.values()]) {
      if (h.closed) continue;
      if (h.deadline && h.deadline.at <= now) {
        const { service } = h.deadline;
        h.deadline = null;
        this.#dispatch(h, now, service, 'high', 'no reaction within the reaction time');
      }
      const waiting = h.waiting;
      if (!waiting || waiting.until > now) continue;
      h.waiting = null;
      if (waiting.kind === 'call') this.#recordCall(h, waiting.target, 'no-answer');
      else if (waiting.kind === 'sms') this.#smsTimeout(h, waiting.target, now);
      else if (waiting.kind === 'window') {
        this.#emit(h, now, 'release', 'window', 'the action window opened');
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

  // -------------------------------------------------------------------------------------------

  #memoryOf(siteId: string): SiteMemory {
    let memory = this.#memory.get(siteId);
    if (!memory) {
      memory = {
        handlingsThisYear: { year: 0, count: 0 },
        missedTests: 0,
        notifiedUndefined: new Set(),
        falseAlarms: [],
        yellowCardAt: null,
        policeBlockedUntil: null,
        regionalOutage: false,
        mainsLost: false,
      };
      this.#memory.set(siteId, memory);
    }
    return memory;
  }

  #siteFacts(event: AlarmEvent, memory: SiteMemory): void {
    if (event.eventType === 'periodic-test') memory.missedTests = 0;
    if (event.eventType === 'mains-loss') memory.mainsLost = event.qualifier === 'event';
  }

  /** What a later event means for a running handling of the same site. */
  #relate(h: Handling, event: AlarmEvent, now: number): void {
    if (event.relatesTo === h.eventId && event.qualifier === 'restore') {
      h.restored = true;
      if (h.waiting?.kind === 'timer' && h.waiting.target !== 'regional outage') {
        this.#close(h, now, 'restored within the wait');
      } else if (h.waiting?.kind === 'window' || h.waiting?.target === 'regional outage') {
        this.#close(h, now, 'restored while held');
      }
    }
    if (event.eventType === 'alarm-verified' && event.relatesTo === h.eventId && !h.verified) {
      h.verified = true;
      if (h.procedure === 'burglary' && !h.disarmed)
        this.#dispatch(h, now, 'police', 'high', 'alarm verified');
      if (h.procedure === 'tamper') this.#dispatch(h, now, 'police', 'high', 'tamper with another alarm');
    }
    if (event.eventType === 'opening-closing' && event.qualifier === 'event') h.disarmed = true;
    // A correct arming ends exit-error and arming-fault handlings (SPEC §5, "no action if … follows").
    if (
      event.eventType === 'opening-closing' &&
      event.qualifier === 'restore' &&
      h.procedure === 'arming-fault'
    ) {
      this.#close(h, now, 'a correct arming followed');
    }
    if (
      event.eventType === 'opening-closing' &&
      event.qualifier === 'restore' &&
      h.procedure === 'exit-error'
    ) {
      this.#close(h, now, 'a correct arming followed');
    }
  }

  #start(site: SiteProfile, memory: SiteMemory, event: AlarmEvent, alarmId: string, now: number): void {
    const procedure = PROCEDURE_FOR[event.eventType];
    if (!procedure) return;
    const h: Handling = {
      alarmId,
      siteId: site.id,
      eventId: event.id,
      eventType: event.eventType,
      zone: event.zone,
      procedure,
      steps: site.overrides?.[procedure] ?? PROCEDURES[procedure],
      openedAt: now,
      occurredAt: Date.parse(event.occurredAt),
      pc: 0,
      waiting: null,
      closed: false,
      verified: event.verification.verified,
      disarmed: false,
      restored: false,
      premises: null,
      counter: null,
      keyholderReached: false,
      keyholderCursor: null,
      smsCursor: null,
      dispatched: new Set(),
      deadline: null,
      operatorInvolved: false,
    };
    this.#handlings.set(alarmId, h);
    this.#emit(h, now, 'start', procedure, `${EVENT_TYPES[event.eventType].title}, zone ${event.zone}`);
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
      h.waiting = { kind: 'timer', until: Number.POSITIVE_INFINITY, target: 'regional outage' };
      this.#emit(
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

  /** Execute steps until one has to wait, or the procedure ends. */
  #run(h: Handling, now: number): void {
    const site = this.#sites.get(h.siteId)!;
    while (!h.closed && !h.waiting && h.pc < h.steps.length) {
      const step = h.steps[h.pc]!;
      if (step.if && !this.#holds(step.if, h, site)) {
        h.pc++;
        continue;
      }
      if (this.#execute(h, step, site, now)) h.pc++;
    }
  }

  /** One step; false when the handling now waits on it (the pc moves on when the wait ends). */
  #execute(h: Handling, step: Step, site: SiteProfile, now: number): boolean {
    switch (step.do) {
      case 'dispatch':
        this.#dispatch(h, now, step.service, step.priority ?? 'high', 'per procedure');
        return true;
      case 'call':
        return this.#call(h, step.target, site, now, step.timeoutSeconds);
      case 'call-keyholders':
        return this.#callKeyholders(h, site, now, step.rounds, step.timeoutSeconds);
      case 'sms-keyholders': {
        const mobiles = keyholders(site).filter((c) => c.mobile);
        this.#emit(
          h,
          now,
          'sms',
          mobiles.map((c) => `${c.name} ${c.mobile}`).join(', ') || 'nobody',
          'no keyholder reached after two rounds',
        );
        return true;
      }
      case 'consult':
        this.#emit(h, now, 'consult', step.service === 'fire' ? 'fire brigade' : 'police', 'per procedure');
        return true;
      case 'deadline':
        h.deadline = { at: h.openedAt + step.seconds * 1000, service: step.service };
        this.#emit(
          h,
          now,
          'wait',
          `dispatch ${step.service}`,
          `unless someone reacts within ${step.seconds} s`,
        );
        return true;
      case 'wait': {
        const seconds = step.setting === 'mainsDelay' ? site.mainsDelayMinutes * 60 : step.seconds;
        const until = h.occurredAt + seconds * 1000;
        if (h.restored) {
          this.#close(h, now, 'restored within the wait');
          return false;
        }
        if (until <= now) return true;
        h.waiting = { kind: 'timer', until, target: 'restore' };
        this.#emit(h, now, 'wait', 'restore', `no action if restored within ${seconds} s`);
        return false;
      }
      case 'window': {
        const opens = nextWindowStart(site, now);
        if (opens === null) return true;
        h.waiting = { kind: 'window', until: opens, target: 'window' };
        this.#emit(
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
        this.#emit(h, now, 'email', step.to, 'customer override: e-mail instead of a call');
        return true;
      case 'notify-installer':
        this.#emit(
          h,
          now,
          'notify-installer',
          'installer',
          `undefined alarm code ${h.eventType}: told once, in writing`,
        );
        return true;
      case 'finish':
        if (h.deadline && !(h.premises === 'valid' || h.keyholderReached)) {
          const { service } = h.deadline;
          h.deadline = null;
          this.#dispatch(h, now, service, 'high', 'everyone called, nobody reacted');
        }
        h.waiting = { kind: 'operator', until: Number.POSITIVE_INFINITY, target: 'operator' };
        this.#emit(h, now, 'present', 'operator', 'procedure complete: close the alarm with a reason');
        return false;
      case 'close':
        this.#close(h, now, step.reason);
        return false;
    }
  }

  #holds(condition: Condition, h: Handling, site: SiteProfile): boolean {
    const valid = h.premises === 'valid' || h.keyholderReached;
    switch (condition) {
      case 'verified':
        return h.verified;
      case 'not-verified':
        return !h.verified;
      case 'verified-not-disarmed':
        return h.verified && !h.disarmed;
      case 'premises-not-valid':
        return h.premises !== 'valid';
      case 'no-keyholder-reached':
        return !valid;
      case 'premises-invalid-no-keyholder':
        return h.premises === 'invalid' && !h.keyholderReached;
      case 'no-valid-reaction':
        return !valid;
      case 'counter-failed':
        return h.counter !== 'valid';
      case 'fire-dispatch-at-once':
        return (
          site.certifiedFirePanel && !(AUTOMATIC_FIRE.has(h.eventType) && inWorkingHours(site, h.openedAt))
        );
      case 'fire-after-reaction-time':
        return site.certifiedFirePanel && AUTOMATIC_FIRE.has(h.eventType) && inWorkingHours(site, h.openedAt);
      case 'not-certified':
        return !site.certifiedFirePanel;
      case 'residential':
        return site.kind === 'residential';
      case 'no-mains-loss':
        return !this.#memoryOf(h.siteId).mainsLost;
    }
  }

  #call(
    h: Handling,
    target: 'premises' | 'counter',
    site: SiteProfile,
    now: number,
    timeoutSeconds: number,
  ): boolean {
    const number = target === 'counter' ? (site.counterPhone ?? site.premisesPhone) : site.premisesPhone;
    if (!number) {
      this.#recordCall(h, target, 'no-answer');
      this.#emit(h, now, 'call', target, `no ${target} number on file: skipped`);
      return true;
    }
    h.waiting = { kind: 'call', until: now + timeoutSeconds * 1000, target, label: `${target} ${number}` };
    this.#emit(
      h,
      now,
      'call',
      `${target} ${number}`,
      `answer within ${timeoutSeconds} s and give a valid code`,
    );
    return false;
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
    const label = `keyholder ${contact.order} ${contact.name} ${contact.phone ?? contact.mobile}`;
    h.waiting = {
      kind: 'call',
      until: now + timeoutSeconds * 1000,
      target: `keyholder:${contact.id}`,
      label,
    };
    this.#emit(h, now, 'call', label, `attempt ${cursor.round} of ${rounds}`);
    return false;
  }

  #recordCall(h: Handling, target: string, outcome: Outcome): void {
    const result =
      outcome === 'answered-valid-code'
        ? 'valid'
        : outcome === 'answered-invalid-code'
          ? 'invalid'
          : 'no-answer';
    if (target === 'premises') h.premises = result;
    else if (target === 'counter') h.counter = result;
    else if (target.startsWith('keyholder:') && result === 'valid') h.keyholderReached = true;
    // The keyholder step repeats itself while its cursor moves on; any other call is done.
    if (!target.startsWith('keyholder:')) h.pc++;
    // Someone with a valid code reacted: no dispatch for lack of reaction.
    if (result === 'valid') h.deadline = null;
  }

  #byFormula(h: Handling, site: SiteProfile, now: number): boolean {
    if (EVENT_TYPES[h.eventType].class !== 'technical' || site.formula === 'FULL') {
      h.steps = [...h.steps.slice(0, h.pc + 1), ...PREMISES_STEPS, ...h.steps.slice(h.pc + 1)] as Step[];
      return true;
    }
    if (site.formula === 'APP') {
      this.#emit(
        h,
        now,
        'push',
        'customer app',
        `${EVENT_TYPES[h.eventType].title}: handled in the app (formula APP)`,
      );
      this.#close(h, now, 'sent to the customer app');
      return false;
    }
    h.steps = [
      ...h.steps.slice(0, h.pc + 1),
      { do: 'sms-escalation', replySeconds: 90 },
      ...PREMISES_STEPS,
      ...h.steps.slice(h.pc + 1),
    ] as Step[];
    return true;
  }

  #smsNext(h: Handling, site: SiteProfile, now: number, index: number): boolean {
    const contacts = site.contacts.filter((c) => c.mobile).sort((a, b) => a.order - b.order);
    const contact = contacts[index];
    if (!contact) {
      h.smsCursor = null;
      this.#emit(h, now, 'present', 'operator', 'no "ok" from any contact: call them');
      return true;
    }
    h.smsCursor = index;
    h.waiting = { kind: 'sms', until: now + 90_000, target: `${contact.name} ${contact.mobile}` };
    this.#emit(
      h,
      now,
      'sms',
      `${contact.name} ${contact.mobile}`,
      `${EVENT_TYPES[h.eventType].title}, zone ${h.zone}, ${site.name}: reply "ok" within 90 s`,
    );
    return false;
  }

  #smsTimeout(h: Handling, _target: string, now: number): void {
    const site = this.#sites.get(h.siteId)!;
    const next = (h.smsCursor ?? 0) + 1;
    if (this.#smsNext(h, site, now, next)) h.pc++;
  }

  #dispatch(
    h: Handling,
    now: number,
    service: 'police' | 'fire' | 'guard',
    priority: 'high' | 'low',
    why: string,
  ): void {
    if (h.dispatched.has(service)) return;
    h.dispatched.add(service);
    const site = this.#sites.get(h.siteId)!;
    const memory = this.#memoryOf(h.siteId);
    const testPeriod =
      site.activatedAt !== null &&
      now < site.activatedAt + site.testPeriodDays * 86_400_000 &&
      service !== 'guard';
    if (testPeriod) {
      this.#emit(h, now, 'no-dispatch', service, 'test period: only the customer and contacts are called');
      return;
    }
    if (service === 'police' && memory.policeBlockedUntil !== null && now < memory.policeBlockedUntil) {
      this.#emit(h, now, 'no-dispatch', service, 'red card: police may not be alerted for this site');
      return;
    }
    this.#emit(h, now, 'dispatch', `${service}${priority === 'low' ? ' (low priority)' : ''}`, why);
  }

  #falseAlarm(h: Handling, memory: SiteMemory, now: number): void {
    memory.falseAlarms = [
      ...memory.falseAlarms.filter((f) => now - f.at <= THREE_MONTHS_MS),
      { at: now, police: h.dispatched.has('police') },
    ];
    if (
      memory.yellowCardAt !== null &&
      now - memory.yellowCardAt <= THREE_MONTHS_MS &&
      h.dispatched.has('police')
    ) {
      memory.policeBlockedUntil = now + THREE_MONTHS_MS;
      this.#emit(h, now, 'notify-installer', 'customer', 'red card: no police for this site for 3 months');
    } else if (memory.yellowCardAt === null && memory.falseAlarms.length >= 2) {
      memory.yellowCardAt = now;
      this.#emit(h, now, 'notify-installer', 'customer', 'yellow card: 2 false alarms within 3 months');
    }
  }

  #countHandling(h: Handling, now: number): void {
    const site = this.#sites.get(h.siteId)!;
    const memory = this.#memoryOf(h.siteId);
    const year = DateTime.fromMillis(now, { zone: site.timeZone }).year;
    if (memory.handlingsThisYear.year !== year) memory.handlingsThisYear = { year, count: 0 };
    memory.handlingsThisYear.count++;
    const { count } = memory.handlingsThisYear;
    this.#emit(
      h,
      now,
      'count-handling',
      `${count} of ${site.includedHandlings}`,
      count > site.includedHandlings ? 'billable extra handling' : 'included in the contract',
    );
  }

  #close(h: Handling, now: number, reason: string): void {
    if (h.closed) return;
    h.closed = true;
    h.waiting = null;
    h.deadline = null;
    this.#emit(h, now, 'close', h.alarmId, reason);
  }

  #emit(h: Handling, now: number, action: ActionKind, target: string, reason: string): void {
    if (
      action === 'call' ||
      action === 'dispatch' ||
      action === 'consult' ||
      action === 'sms' ||
      action === 'present'
    ) {
      h.operatorInvolved = true;
    }
    this.#actions.push({
      time: new Date(now).toISOString(),
      site: h.siteId,
      alarm: h.alarmId,
      action,
      target,
      reason,
    });
  }
}

const PREMISES_STEPS: readonly Step[] = [
  { do: 'call', target: 'premises', timeoutSeconds: 30 },
  { do: 'call-keyholders', rounds: 2, timeoutSeconds: 30, if: 'premises-not-valid' },
  { do: 'sms-keyholders', if: 'no-keyholder-reached' },
];

function keyholders(site: SiteProfile): Contact[] {
  return site.contacts.filter((c) => c.role === 'keyholder').sort((a, b) => a.order - b.order);
}

function localMinutes(text: string): number {
  const [h, m] = text.split(':').map(Number);
  return (h ?? 0) * 60 + (m ?? 0);
}

export function inWorkingHours(site: SiteProfile, at: number): boolean {
  const local = DateTime.fromMillis(at, { zone: site.timeZone });
  const minutes = local.hour * 60 + local.minute;
  return (
    site.workingHours.days.includes(local.weekday) &&
    minutes >= localMinutes(site.workingHours.from) &&
    minutes < localMinutes(site.workingHours.to)
  );
}

/** Null when `at` is inside the site's action window; otherwise when the window next opens. */
export function nextWindowStart(site: SiteProfile, at: number): number | null {
  const local = DateTime.fromMillis(at, { zone: site.timeZone });
  const minutes = local.hour * 60 + local.minute;
  const from = localMinutes(site.actWindow.from);
  const to = localMinutes(site.actWindow.to);
  if (minutes >= from && minutes < to) return null;
  const day = minutes >= to ? local.plus({ days: 1 }) : local;
  return day.set({ hour: Math.floor(from / 60), minute: from % 60, second: 0, millisecond: 0 }).toMillis();
}
