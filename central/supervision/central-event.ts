import type pg from 'pg';
import { newId } from '../../lib/ids.ts';
import { CLASS_PRIORITY, EVENT_TYPES, type EventTypeName } from '../../protocols/event-codes.ts';
import type { AlarmEvent } from '../../protocols/messages.ts';
import { PROTOCOL_VERSION } from '../../protocols/version.ts';
import { type AfterStore, storeEvent } from '../ingest/event-store.ts';

/** An event the central itself raises about a gateway (supervision), in the gateways' own format. */
export function centralEvent(
  eventType: EventTypeName,
  qualifier: 'event' | 'restore',
  source: { readonly siteId: string; readonly gatewayId: string },
  at: number,
  relatesTo: string | null,
  text: string,
  /** What it is about (a transmission path, …): the incident's merge key tells them apart. */
  device: { readonly id: string; readonly name: string } | null = null,
): AlarmEvent {
  const type = EVENT_TYPES[eventType];
  const time = new Date(at).toISOString();
  return {
    v: PROTOCOL_VERSION,
    type: 'event',
    id: newId(),
    siteId: source.siteId,
    gatewayId: source.gatewayId,
    seq: 0,
    eventType,
    qualifier,
    code: { cid: type.cid, sia: qualifier === 'event' ? type.sia.event : type.sia.restore },
    class: type.class,
    priority: CLASS_PRIORITY[type.class],
    device: device ? { ...device } : null,
    zone: 0,
    area: 0,
    verification: { verified: false, rule: null, supportingEventIds: [] },
    relatesTo,
    text,
    occurredAt: time,
    recordedAt: time,
  };
}

/** Store a central-raised event and let the procedures hear it, like any received event. */
export async function storeCentralEvent(
  pool: pg.Pool,
  event: AlarmEvent,
  afterStore: AfterStore | undefined,
): Promise<void> {
  const result = await storeEvent(pool, event, 'central');
  if (result.kind === 'stored') await afterStore?.(event, result);
}
