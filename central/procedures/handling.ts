import type { EventTypeName } from '../../protocols/event-codes.ts';
import type { EscalationLevel } from '../incidents/escalation.ts';
import { inWorkingHours } from './calendar.ts';
import { AUTOMATIC_FIRE, type Condition, type ProcedureName, type Step } from './definitions.ts';
import type { Contact, SiteProfile } from './model.ts';

/** Something only a person can do; the incident's next step until an operator records it. */
export type Task =
  | {
      readonly kind: 'call';
      readonly target: string;
      readonly number: string;
      readonly label: string;
      readonly timeoutSeconds: number;
      /** When the operator said the call is ringing; the answer time runs from here. */
      startedAt: number | null;
      prompted: boolean;
    }
  | {
      readonly kind: 'dispatch';
      readonly service: Service;
      readonly priority: 'high' | 'low';
      readonly why: string;
    }
  | { readonly kind: 'consult'; readonly service: 'police' | 'fire' }
  | {
      readonly kind: 'by-hand';
      readonly channel: 'sms' | 'email';
      readonly to: string;
      readonly text: string;
    }
  | { readonly kind: 'close'; readonly why: string };

/** What the system itself waits for: a reply to its SMS, a restore, the action window, an outage. */
export type SystemWait =
  | { readonly kind: 'sms'; readonly until: number; readonly number: string; readonly name: string }
  | { readonly kind: 'restore'; readonly until: number }
  | { readonly kind: 'window'; readonly until: number }
  | { readonly kind: 'outage' };

export type Service = 'police' | 'fire' | 'guard';

export interface DispatchRecord {
  readonly service: Service;
  readonly dispatched: boolean;
  readonly agency?: string;
  readonly reference?: string;
  readonly reason?: string;
  readonly at: number;
}

export interface IncidentEvent {
  readonly id: string;
  readonly eventType: EventTypeName;
  readonly zone: number;
  readonly area: number;
  readonly at: number;
}

/** One incident's procedure as it stands. */
export interface Handling {
  readonly alarmId: string;
  readonly siteId: string;
  readonly events: IncidentEvent[];
  /** The event whose procedure runs (the most severe so far). */
  lead: IncidentEvent;
  procedure: ProcedureName;
  steps: readonly Step[];
  pc: number;
  readonly openedAt: number;
  task: Task | null;
  wait: SystemWait | null;
  /** Dispatches proposed beside the sequence (a verification or deadline during the calls). */
  readonly openDispatches: Map<Service, Extract<Task, { kind: 'dispatch' }>>;
  readonly dispatches: DispatchRecord[];
  /** The system decided not to alert an agency (test period, red card). */
  noDispatch: boolean;
  closed: boolean;
  verified: boolean;
  disarmed: boolean;
  restored: boolean;
  /** A duress alarm: silent towards the premises, never cancelled from the portal. */
  silent: boolean;
  premises: 'valid' | 'invalid' | 'not-reached' | null;
  counter: 'valid' | 'invalid' | 'not-reached' | null;
  keyholderReached: boolean;
  keyholderCursor: { index: number; round: number } | null;
  smsCursor: number | null;
  deadline: { at: number; service: 'police' | 'fire' } | null;
  /** A cancel an operator must confirm (who, with which code). */
  cancelRequested: string | null;
  /** Counted against the contract once an operator worked it. */
  operatorInvolved: boolean;
  /** An operator claimed it or recorded something: it no longer escalates. */
  attended: boolean;
  /** Since when it needs an operator nobody has given it (null: someone has, or nobody needs to). */
  unattendedSince: number | null;
  escalation: EscalationLevel | null;
}

export function keyholders(site: SiteProfile): Contact[] {
  return site.contacts.filter((c) => c.role === 'keyholder').sort((a, b) => a.order - b.order);
}

export function holds(condition: Condition, h: Handling, site: SiteProfile, mainsLost: boolean): boolean {
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
        site.certifiedFirePanel && !(AUTOMATIC_FIRE.has(h.lead.eventType) && inWorkingHours(site, h.openedAt))
      );
    case 'fire-after-reaction-time':
      return (
        site.certifiedFirePanel && AUTOMATIC_FIRE.has(h.lead.eventType) && inWorkingHours(site, h.openedAt)
      );
    case 'not-certified':
      return !site.certifiedFirePanel;
    case 'residential':
      return site.kind === 'residential';
    case 'no-mains-loss':
      return !mainsLost;
  }
}

/** What the console shows as the next step. */
export function describeTask(task: Task): string {
  switch (task.kind) {
    case 'call':
      return `call ${task.label}`;
    case 'dispatch':
      return `dispatch ${task.service}${task.priority === 'low' ? ' (low priority)' : ''}: ${task.why}`;
    case 'consult':
      return `consult the ${task.service === 'fire' ? 'fire brigade' : 'police'}`;
    case 'by-hand':
      return `send by hand (${task.channel}) to ${task.to}: ${task.text}`;
    case 'close':
      return task.why;
  }
}
