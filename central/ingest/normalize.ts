import { CLASS_PRIORITY, EVENT_TYPES } from '../../protocols/event-codes.ts';
import type { AlarmEvent } from '../../protocols/messages.ts';

/**
 * What the central decides about an event itself instead of believing the gateway: its class,
 * priority and codes follow from its type (the event catalogue), so a gateway cannot send a panic
 * as a priority-9 technical event with fire codes. Returns the event as the central stores it and
 * the fields the gateway had otherwise.
 */
export function deriveFromType(event: AlarmEvent): { event: AlarmEvent; overridden: string[] } {
  const type = EVENT_TYPES[event.eventType];
  const derived = {
    class: type.class,
    priority: CLASS_PRIORITY[type.class],
    code: { cid: type.cid, sia: event.qualifier === 'event' ? type.sia.event : type.sia.restore },
  };
  const overridden: string[] = [];
  if (event.class !== derived.class) overridden.push('class');
  if (event.priority !== derived.priority) overridden.push('priority');
  if (event.code.cid !== derived.code.cid) overridden.push('code.cid');
  if (event.code.sia !== derived.code.sia) overridden.push('code.sia');
  return { event: overridden.length === 0 ? event : { ...event, ...derived }, overridden };
}
