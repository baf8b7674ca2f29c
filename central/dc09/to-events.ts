import { createHash } from 'node:crypto';
import type { Dc09Message } from '../../protocols/dc09/frame.ts';
import { eventTypeForCid, eventTypeForSia, parseAdmCid, parseSiaDcs } from '../../protocols/dc09/payload.ts';
import { CLASS_PRIORITY, EVENT_TYPES, type EventTypeName } from '../../protocols/event-codes.ts';
import type { AlarmEvent } from '../../protocols/messages.ts';
import { PROTOCOL_VERSION } from '../../protocols/version.ts';
import type { Dc09Account } from './accounts.ts';

/** What identifies a message for duplicate detection: account, sequence, content. */
export function messageKey(message: Dc09Message, account: Dc09Account): string {
  return `${account.prefix}|${account.account}|${message.seq}|${message.data}|${message.timestamp ?? ''}`;
}

/**
 * A third-party panel's DC-09 message as events of the Vigil model. The id is derived from the
 * message key and `firstSeen` (when the receiver first saw that key within its duplicate window),
 * so a retransmission is stored once, and the same sequence and content again after the window
 * (a panel restarted, its sequence wrapped) is a new event. Unknown codes become `undefined-alarm`
 * with the raw code kept (SPEC §3). Pure.
 */
export function eventsFromDc09(
  message: Dc09Message,
  account: Dc09Account,
  now: number,
  firstSeen = 0,
): AlarmEvent[] | null {
  const occurredAt = new Date(message.timestamp ?? now).toISOString();
  const base = (index: number) => ({
    v: PROTOCOL_VERSION,
    type: 'event' as const,
    id: derivedId(`${messageKey(message, account)}|${firstSeen}|${index}`),
    siteId: account.siteId,
    gatewayId: account.gatewayId,
    seq: Number(message.seq),
    device: null,
    verification: { verified: false, rule: null, supportingEventIds: [] },
    relatesTo: null,
    occurredAt,
    recordedAt: new Date(now).toISOString(),
  });
  if (message.id === 'ADM-CID') {
    const cid = parseAdmCid(message.data);
    if (!cid) return null;
    const known = eventTypeForCid(cid.code) ?? 'undefined-alarm';
    // Qualifier 6 is a status report (the condition is still present), never a new alarm.
    const status = cid.qualifier === 6;
    const eventType = status ? 'periodic-test-trouble' : known;
    const type = EVENT_TYPES[eventType];
    const qualifier = cid.qualifier === 3 ? 'restore' : 'event';
    return [
      {
        ...base(0),
        eventType,
        qualifier,
        code: { cid: cid.code, sia: qualifier === 'event' ? type.sia.event : type.sia.restore },
        class: type.class,
        priority: CLASS_PRIORITY[type.class],
        zone: Math.min(cid.zone, 999),
        area: Math.min(cid.group, 99),
        text: status
          ? `Status: ${EVENT_TYPES[known].title} still present (Contact ID 6${cid.code})`
          : eventType === 'undefined-alarm'
            ? `Contact ID ${cid.qualifier}${cid.code}`
            : '',
      },
    ];
  }
  if (message.id === 'SIA-DCS') {
    const sia = parseSiaDcs(message.data);
    if (!sia) return null;
    return sia.blocks.map((block, index) => {
      const known = eventTypeForSia(block.code);
      const eventType: EventTypeName = known?.eventType ?? 'undefined-alarm';
      const type = EVENT_TYPES[eventType];
      return {
        ...base(index),
        eventType,
        qualifier: known?.qualifier ?? 'event',
        code: { cid: type.cid, sia: block.code },
        class: type.class,
        priority: CLASS_PRIORITY[type.class],
        zone: Math.min(Number(block.address) || 0, 999),
        area: Math.min(block.area ?? 0, 99),
        text: (block.text || (known ? '' : `SIA ${block.code}${block.address}`)).slice(0, 256),
      };
    });
  }
  return null;
}

/** A UUID (version 8, name-based) from a stable description of the message. */
export function derivedId(name: string): string {
  const hash = createHash('sha256').update(name).digest();
  hash[6] = (hash[6]! & 0x0f) | 0x80;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
