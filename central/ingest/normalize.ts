import type { Logger } from '../../lib/logger.ts';
import type { Metrics } from '../../lib/metrics.ts';
import { CLASS_PRIORITY, EVENT_TYPES } from '../../protocols/event-codes.ts';
import { type AlarmEvent, AlarmEventSchema, decode } from '../../protocols/messages.ts';

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

/**
 * A Vigil gateway's event message as the central takes it, whichever path it came by: valid
 * against the protocol, naming the gateway it came from (else `mismatch` is the reason), with the
 * fields the central derives itself (a difference logged and counted in `ingest_derived_total`).
 * `asReceived` is the payload's text when it is that event exactly — nothing derived, no default
 * filled in (the schema's defaults are top-level fields) — so that it can be stored without being
 * encoded again; else null.
 */
export function readGatewayEvent(
  payload: Buffer | string,
  from: { readonly siteId: string; readonly gatewayId: string },
  mismatch: string,
  report: { readonly logger: Logger; readonly metrics: Metrics },
):
  | { ok: true; event: AlarmEvent; asReceived: string | null }
  | { ok: false; reason: string; detail: string } {
  const text = typeof payload === 'string' ? payload : payload.toString('utf8');
  const decoded = decode(AlarmEventSchema, text);
  if (!decoded.ok) return { ok: false, reason: 'invalid-event', detail: decoded.reason };
  if (decoded.value.siteId !== from.siteId || decoded.value.gatewayId !== from.gatewayId)
    return { ok: false, reason: mismatch, detail: 'payload names another site or gateway' };
  const { event, overridden } = deriveFromType(decoded.value);
  if (overridden.length > 0) {
    report.metrics.increment('ingest_derived_total');
    report.logger.warn(
      {
        subject: `${from.siteId}/${from.gatewayId}`,
        eventId: event.id,
        eventType: event.eventType,
        overridden,
      },
      'event fields the central derives itself differed from what the gateway sent',
    );
  }
  const complete = Object.keys(decoded.json as object).length === Object.keys(event).length;
  return { ok: true, event, asReceived: overridden.length === 0 && complete ? text : null };
}
