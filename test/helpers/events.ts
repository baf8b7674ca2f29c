import { newId } from '../../lib/ids.ts';
import type { AlarmEvent } from '../../protocols/messages.ts';

/** A valid event; override any field. */
export function sampleEvent(overrides: Partial<AlarmEvent> = {}): AlarmEvent {
  const at = new Date('2026-11-21T10:00:00Z').toISOString();
  return {
    v: 1,
    type: 'event',
    id: newId(),
    siteId: 'site-a',
    gatewayId: 'gw-a',
    seq: 0,
    eventType: 'burglary-interior',
    qualifier: 'event',
    code: { cid: '132', sia: 'BA' },
    class: 'security',
    priority: 1,
    device: { id: 'hall-pir', name: 'Hall PIR' },
    zone: 2,
    area: 1,
    verification: { verified: false, rule: null, supportingEventIds: [] },
    relatesTo: null,
    text: 'Hall PIR',
    occurredAt: at,
    recordedAt: at,
    ...overrides,
  };
}
