import { EVENT_TYPES } from '../../protocols/event-codes.ts';
import type { AlarmEvent } from '../../protocols/messages.ts';

/**
 * What the outbox does with a new event when it already holds `limit` unsent events (the central
 * unreachable for a long time). Alarms, restores and arming reports are always kept — the outbox
 * grows past its bound rather than lose one. Only technical log events (periodic test reports, walk
 * test marks) that repeat one already waiting are coalesced: the central learns nothing new from
 * the second copy.
 */
export type Admission = 'append' | 'coalesce';

export function admit(
  event: AlarmEvent,
  pending: Iterable<AlarmEvent>,
  depth: number,
  limit: number,
): Admission {
  if (depth < limit) return 'append';
  const type = EVENT_TYPES[event.eventType];
  if (type.handling !== 'log' || type.class !== 'technical') return 'append';
  for (const waiting of pending) {
    if (
      waiting.eventType === event.eventType &&
      waiting.qualifier === event.qualifier &&
      waiting.zone === event.zone
    ) {
      return 'coalesce';
    }
  }
  return 'append';
}
