import type { Handling } from './handling.ts';
import { describeTask } from './handling.ts';

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

/**
 * What the engine holds for an incident that any worker must be able to serve: written to the
 * alarm's row by the partition's owner after every step.
 */
export interface ProcedureState {
  readonly proposal: Proposal | null;
  readonly cancelRequested: boolean;
  /** The mobile number an SMS escalation waits on for a reply. */
  readonly smsWaitingFor: string | null;
  readonly open: boolean;
}

export const NO_PROCEDURE: ProcedureState = {
  proposal: null,
  cancelRequested: false,
  smsWaitingFor: null,
  open: false,
};

export function procedureStateOf(h: Readonly<Handling> | undefined): ProcedureState {
  if (!h || h.closed) return NO_PROCEDURE;
  return {
    proposal: proposalOf(h),
    cancelRequested: Boolean(h.cancelRequested),
    smsWaitingFor: h.wait?.kind === 'sms' ? h.wait.number : null,
    open: true,
  };
}

function proposalOf(h: Readonly<Handling>): Proposal | null {
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
      until: task.kind === 'call' && startedAt !== null ? iso(startedAt + task.timeoutSeconds * 1000) : null,
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
