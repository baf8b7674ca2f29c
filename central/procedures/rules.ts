import type { AlarmEvent } from '../../protocols/messages.ts';
import { BURGLARY_TYPES, handlingClass } from '../incidents/ranking.ts';
import type { Handling, IncidentEvent, Service, Task } from './handling.ts';
import { CALL_RESULTS, type Outcome, type OutcomeDetail, type SiteProfile } from './model.ts';

/** The engine's pure rules: which outcome fits an incident now, what verifies it, how a task is named. */
export const SERVICE_NAMES: Record<Service, string> = {
  police: 'police',
  fire: 'fire brigade',
  guard: 'guard',
};

/** Why an operator's outcome does not fit the incident now (nothing is recorded), or null. */
export function refusalOf(h: Handling, outcome: Outcome, detail: OutcomeDetail): string | null {
  const task = h.task;
  if (outcome === 'call-started' || (CALL_RESULTS as readonly string[]).includes(outcome)) {
    return task?.kind === 'call' ? null : 'no call is proposed now';
  }
  if (outcome === 'dispatched' || outcome === 'not-dispatched') {
    // Also without a proposal: an operator may alert an agency on their own judgement, or record
    // why none was alerted (which a real close needs).
    if (outcome === 'dispatched' && !(detail.agency && detail.reference))
      return 'a dispatch needs the agency and its reference number';
    if (outcome === 'not-dispatched' && !detail.reason) return '"not dispatched" needs a reason';
    return null;
  }
  if (outcome === 'consulted') return task?.kind === 'consult' ? null : 'no consultation is proposed now';
  if (outcome === 'sent-by-hand')
    return task?.kind === 'by-hand' ? null : 'nothing is to be sent by hand now';
  if (outcome === 'cancel-valid-code')
    return h.silent && detail.via === 'portal' ? 'this alarm cannot be cancelled here' : null;
  if (outcome === 'close-real') {
    const open = openDispatch(h);
    if (open)
      return `record the ${SERVICE_NAMES[open.service]} dispatch (agency and reference) or "not dispatched" with a reason first`;
    const cls = handlingClass(h.lead.eventType);
    if ((cls === 'security' || cls === 'safety') && h.dispatches.length === 0 && !h.noDispatch)
      return 'a real alarm needs the dispatch record (agency and reference) or "not dispatched" with a reason';
  }
  return null;
}

/** The dispatch an operator must record now: the current step's, or one proposed beside it. */
export function openDispatch(h: Handling): Extract<Task, { kind: 'dispatch' }> | null {
  if (h.task?.kind === 'dispatch') return h.task;
  return h.openDispatches.values().next().value ?? null;
}

export function taskTarget(task: Task): string {
  switch (task.kind) {
    case 'call':
      return task.label;
    case 'dispatch':
      return `${SERVICE_NAMES[task.service]}${task.priority === 'low' ? ' (low priority)' : ''}`;
    case 'consult':
      return SERVICE_NAMES[task.service];
    case 'by-hand':
      return `${task.channel} ${task.to}`;
    case 'close':
      return 'operator';
  }
}

export function incidentEvent(event: AlarmEvent): IncidentEvent {
  return {
    id: event.id,
    eventType: event.eventType,
    zone: event.zone,
    area: event.area,
    at: Date.parse(event.occurredAt),
  };
}

const TAMPER_TYPES: ReadonlySet<string> = new Set(['tamper', 'sensor-tamper']);

/**
 * The central verifies too, for panels that do not (SPEC §4): a tamper together with another
 * priority alarm, or two detectors in consecutive zones (adjacency from the site record).
 */
export function centralVerification(site: SiteProfile, events: readonly IncidentEvent[]): string | null {
  const tamper = events.some((e) => TAMPER_TYPES.has(e.eventType));
  const priority = events.some(
    (e) => !TAMPER_TYPES.has(e.eventType) && handlingClass(e.eventType) === 'security',
  );
  if (tamper && priority) return 'tamper with another alarm';
  const zones = [...new Set(events.filter((e) => BURGLARY_TYPES.has(e.eventType)).map((e) => e.zone))];
  for (const [a, b] of site.adjacentZones)
    if (zones.includes(a) && zones.includes(b)) return `detectors in consecutive zones ${a} and ${b}`;
  return null;
}
