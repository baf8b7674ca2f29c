import type { ProcedureName, Step } from './definitions.ts';

/** The procedure engine's vocabulary: sites and their contacts in, trail entries out. */
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
  /** Zones whose detectors are next to each other: two of them verify a burglary (SPEC §4). */
  readonly adjacentZones: readonly (readonly [number, number])[];
  readonly overrides?: Partial<Record<ProcedureName, readonly Step[]>>;
}

/**
 * What goes into an incident's trail. `proposal`: the engine proposes a task a person must do
 * (call, dispatch, consult, send by hand, close) — never a claim that it was done. `outcome`: what
 * an operator recorded. `fact`: what the system itself did or decided (sent an SMS, held until
 * 09:00, escalated, verified, joined an event).
 */
export type ActionSort = 'proposal' | 'outcome' | 'fact';

export type ActionKind =
  | 'start'
  | 'join'
  | 'verify'
  | 'dispatch'
  | 'no-dispatch'
  | 'call'
  | 'sms'
  | 'email'
  | 'push'
  | 'by-hand'
  | 'consult'
  | 'hold'
  | 'release'
  | 'wait'
  | 'prompt'
  | 'skip'
  | 'escalate'
  | 'present'
  | 'notify-installer'
  | 'count-handling'
  | 'recorded'
  | 'refused'
  | 'close';

export interface Action {
  readonly time: string;
  readonly site: string;
  readonly alarm: string;
  readonly sort: ActionSort;
  readonly action: ActionKind;
  readonly target: string;
  readonly reason: string;
  readonly detail?: Readonly<Record<string, unknown>>;
}

/** How an operator ends an incident (SPEC §7: a cancelled false alarm does not count as one). */
export const CLOSE_OUTCOMES = {
  'close-real': 'closed by operator: real alarm',
  'close-false': 'closed by operator: false alarm',
  'close-cancelled': 'closed by operator: cancelled in time',
  'close-technical': 'closed by operator: technical cause',
} as const;
export type CloseOutcome = keyof typeof CLOSE_OUTCOMES;

/** The results of a call an operator made. */
export const CALL_RESULTS = [
  'answered-valid-code',
  'answered-invalid-code',
  'no-answer',
  'busy',
  'wrong-number',
] as const;

/** What an operator records on an incident. */
export const OUTCOMES = [
  'call-started',
  ...CALL_RESULTS,
  'cancel-valid-code',
  'dispatched',
  'not-dispatched',
  'consulted',
  'sent-by-hand',
  'close-real',
  'close-false',
  'close-cancelled',
  'close-technical',
] as const;
export type Outcome = (typeof OUTCOMES)[number];

/** What comes with an outcome: who answered, the agency and its reference, a reason. */
export interface OutcomeDetail {
  /** Who answered the phone, or who cancelled (a contact's name or ID). */
  readonly by?: string;
  /** dispatched / not-dispatched: which service (police, fire, guard); default the open one. */
  readonly service?: 'police' | 'fire' | 'guard';
  readonly agency?: string;
  readonly reference?: string;
  /** When the agency was called (ISO); default now. */
  readonly at?: string;
  readonly reason?: string;
  readonly note?: string;
  /** Where it came from: the customer portal may not cancel a silent (duress) alarm. */
  readonly via?: 'operator' | 'portal' | 'phone';
}

/** What the system can send by itself; what it cannot becomes a task for an operator. */
export interface Channels {
  readonly sms: boolean;
  readonly email: boolean;
}
