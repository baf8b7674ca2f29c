import { EVENT_TYPES, type EventTypeName } from '../event-codes.ts';
import { buildFrame, crc16arc, formatTimestamp } from './frame.ts';

/**
 * DC-09 payloads (SIA DC-03 "SIA-DCS" and Contact ID "ADM-CID") and the receiver's replies. Pure.
 */
export interface SiaBlock {
  readonly code: string;
  readonly address: string;
  readonly area: number | null;
  readonly user: number | null;
  readonly text: string;
}

/**
 * A SIA DC-04 data block as DC-09 carries it: `#acct|Nri1/BA012^Hall^/BA013|Atext`.
 * `|`-separated parts after the account: `N` (new) or `O` (old) event parts, `A` ASCII text for
 * the events before it; within an event part `/`-separated fields, each with modifiers (`ri` area,
 * `id` user, `pi` peripheral, `ti` time, `da` date) that carry over to the fields after, then a
 * two-letter code and its address; a field of digits alone is another address for the code before
 * (`BA01/02/03`); `^…^` is the field's own text. Parts it does not know are skipped.
 */
export function parseSiaDcs(
  data: string,
): { account: string | null; blocks: SiaBlock[]; old: boolean } | null {
  const parts = data.split('|');
  const account = parts[0]?.startsWith('#') ? parts.shift()!.slice(1) || null : null;
  const blocks: SiaBlock[] = [];
  let old = false;
  let area: number | null = null;
  let user: number | null = null;
  for (const part of parts) {
    if (part.startsWith('A')) {
      // Text for the events of the part before it that have none of their own.
      const text = part.slice(1).trim();
      for (const [i, block] of blocks.entries()) if (!block.text) blocks[i] = { ...block, text };
      continue;
    }
    if (!/^[NO]/.test(part)) continue;
    old ||= part.startsWith('O');
    let lastCode: string | null = null;
    for (const raw of part.slice(1).split('/')) {
      let field = raw;
      let text = '';
      const caret = /\^([^^]*)\^?/.exec(field);
      if (caret) {
        text = caret[1]!.trim();
        field = field.replace(caret[0], '');
      }
      for (let m = MODIFIER.exec(field); m; m = MODIFIER.exec(field)) {
        if (m[1] === 'ri' || m[1] === 'pm') area = m[2] ? Number.parseInt(m[2], 10) : null;
        if (m[1] === 'id') user = m[2] ? Number.parseInt(m[2], 10) : null;
        field = field.slice(m[0].length);
      }
      if (field === '') continue;
      if (/^\d+$/.test(field) && lastCode) {
        blocks.push({ code: lastCode, address: field, area, user, text });
        continue;
      }
      const code = /^([A-Z]{2})([0-9A-Za-z]{0,6})$/.exec(field);
      if (!code) return null;
      lastCode = code[1]!;
      blocks.push({ code: lastCode, address: code[2] ?? '', area, user, text });
    }
  }
  return blocks.length > 0 ? { account, blocks, old } : null;
}

/** `ri01`, `id3`, `pi12`, `ti10:15`, `da12-01` … */
const MODIFIER = /^([a-z]{2})(\d{1,2}:\d{2}|\d{1,2}-\d{1,2}(?:-\d{2,4})?|\d*)/;

export interface ContactId {
  readonly account: string | null;
  readonly qualifier: 1 | 3 | 6;
  readonly code: string;
  readonly group: number;
  readonly zone: number;
}

/** Group and zone digits are decimal, except from panels that write them in hex (`00B`). */
function cidNumber(digits: string): number {
  return /^\d+$/.test(digits) ? Number.parseInt(digits, 10) : Number.parseInt(digits, 16);
}

/** `#acct|QXYZ GG CCC` (the account may lack its `#`). */
export function parseAdmCid(data: string): ContactId | null {
  const m = /^(?:#?([0-9A-Fa-f]{3,16})\|)?([136])([0-9A-F]{3}) ([0-9A-Fa-f]{2}) ([0-9A-Fa-f]{3})$/.exec(
    data.trim(),
  );
  if (!m) return null;
  return {
    account: m[1]?.toUpperCase() ?? null,
    qualifier: Number(m[2]) as 1 | 3 | 6,
    code: m[3]!,
    group: cidNumber(m[4]!),
    zone: cidNumber(m[5]!),
  };
}

/** The catalogue, looked up by Contact ID code and by SIA code (first match wins). */
const BY_CID = new Map<string, EventTypeName>();
const BY_SIA = new Map<string, { eventType: EventTypeName; qualifier: 'event' | 'restore' }>();
for (const [name, type] of Object.entries(EVENT_TYPES) as Array<
  [EventTypeName, (typeof EVENT_TYPES)[EventTypeName]]
>) {
  if (type.handling === 'verification' || name === 'undefined-alarm') continue;
  if (!BY_CID.has(type.cid)) BY_CID.set(type.cid, name);
  if (!BY_SIA.has(type.sia.event)) BY_SIA.set(type.sia.event, { eventType: name, qualifier: 'event' });
  if (!BY_SIA.has(type.sia.restore)) BY_SIA.set(type.sia.restore, { eventType: name, qualifier: 'restore' });
}

/**
 * SIA DC-03 codes panels send beyond the catalogue's own pair per type: restorals (`BR` beside
 * `BH`), troubles, other arming forms, tests (pysiaalarm's table and ../shared/reference).
 */
const SIA_ALSO: Record<string, { eventType: EventTypeName; qualifier: 'event' | 'restore' }> = {
  BR: { eventType: 'burglary', qualifier: 'restore' },
  BT: { eventType: 'sensor-trouble', qualifier: 'event' },
  BJ: { eventType: 'sensor-trouble', qualifier: 'restore' },
  FR: { eventType: 'fire', qualifier: 'restore' },
  PR: { eventType: 'panic', qualifier: 'restore' },
  HR: { eventType: 'holdup', qualifier: 'restore' },
  QA: { eventType: 'panic', qualifier: 'event' },
  QR: { eventType: 'panic', qualifier: 'restore' },
  UH: { eventType: 'external-technical', qualifier: 'restore' },
  YS: { eventType: 'communication-trouble', qualifier: 'event' },
  LT: { eventType: 'communication-trouble', qualifier: 'event' },
  LR: { eventType: 'communication-trouble', qualifier: 'restore' },
  ET: { eventType: 'system-trouble', qualifier: 'event' },
  ER: { eventType: 'system-trouble', qualifier: 'restore' },
  YM: { eventType: 'system-battery-low', qualifier: 'event' },
  YW: { eventType: 'system-reset', qualifier: 'event' },
  RX: { eventType: 'periodic-test', qualifier: 'event' },
  OA: { eventType: 'opening-closing', qualifier: 'event' },
  CA: { eventType: 'opening-closing', qualifier: 'restore' },
  OQ: { eventType: 'opening-closing', qualifier: 'event' },
  CQ: { eventType: 'opening-closing', qualifier: 'restore' },
  OS: { eventType: 'opening-closing', qualifier: 'event' },
  CS: { eventType: 'opening-closing', qualifier: 'restore' },
  CG: { eventType: 'opening-closing', qualifier: 'restore' },
  NL: { eventType: 'opening-closing', qualifier: 'restore' },
};
for (const [code, meaning] of Object.entries(SIA_ALSO)) if (!BY_SIA.has(code)) BY_SIA.set(code, meaning);

export function eventTypeForCid(code: string): EventTypeName | null {
  return BY_CID.get(code) ?? null;
}

export function eventTypeForSia(
  code: string,
): { eventType: EventTypeName; qualifier: 'event' | 'restore' } | null {
  return BY_SIA.get(code) ?? null;
}

/** Letters DC-09 receivers cannot read, as ASCII (ü → u, ß → ss …); anything else unknown → `?`. */
const SPELLED: Record<string, string> = {
  ß: 'ss',
  æ: 'ae',
  Æ: 'AE',
  ø: 'o',
  Ø: 'O',
  œ: 'oe',
  Œ: 'OE',
  ł: 'l',
  Ł: 'L',
  đ: 'd',
  Đ: 'D',
  þ: 'th',
};
export function toWireAscii(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^\x20-\x7e]/g, (c) => SPELLED[c] ?? '?');
}

/** `#acct|Nri<area>/<SIA><zone>^text^`, what a Vigil gateway sends on its DC-09 path (ASCII only). */
export function formatSiaDcs(account: string, sia: string, area: number, zone: number, text = ''): string {
  const clean = toWireAscii(text)
    .replace(/[\^[\]|/]/g, ' ')
    .slice(0, 60);
  return `#${account}|Nri${area}/${sia}${String(zone).padStart(3, '0')}${clean ? `^${clean}^` : ''}`;
}

/** `#acct|QXYZ GG CCC`: Contact ID as ADM-CID carries it (qualifier 1 event, 3 restore). */
export function formatAdmCid(
  account: string,
  qualifier: 1 | 3 | 6,
  cid: string,
  area: number,
  zone: number,
): string {
  return `#${account}|${qualifier}${cid} ${String(Math.min(area, 99)).padStart(2, '0')} ${String(Math.min(zone, 999)).padStart(3, '0')}`;
}

interface ReplyTo {
  readonly seq: string;
  readonly receiver: string | null;
  readonly prefix: string;
  readonly account: string;
  readonly encrypted: boolean;
}

/** ACK mirrors seq, receiver, prefix and account; an encrypted request gets `*ACK` with `<pad>|]_<ts>`. */
export function ackFrame(to: ReplyTo, now: number, key: Buffer | null): string {
  return buildFrame({
    id: 'ACK',
    seq: to.seq,
    receiver: to.receiver,
    prefix: to.prefix,
    account: to.account,
    data: '',
    timestamp: now,
    key: to.encrypted ? key : null,
  });
}

/** DUH: understood as a frame, not processable. Never encrypted. */
export function duhFrame(to: ReplyTo): string {
  return buildFrame({
    id: 'DUH',
    seq: to.seq,
    receiver: to.receiver,
    prefix: to.prefix,
    account: to.account,
    data: '',
  });
}

/** NAK with the receiver's time (so the sender can correct its clock); fixed form, never encrypted. */
export function nakFrame(now: number): string {
  return rawFrame(`"NAK"0000R0L0A0[]${formatTimestamp(now)}`);
}

/** LF crc len body CR for a body built by hand. */
export function rawFrame(body: string): string {
  const crc = crc16arc(body).toString(16).toUpperCase().padStart(4, '0');
  return `\n${crc}${body.length.toString(16).toUpperCase().padStart(4, '0')}${body}\r`;
}

/** Vigil's extension block: the full protocol event, base64url JSON, under xdata letter `U`. */
export const VIGIL_XDATA = 'U';
export function vigilXdata(eventJson: string): string {
  return `${VIGIL_XDATA}${Buffer.from(eventJson).toString('base64url')}`;
}
export function readVigilXdata(xdata: readonly string[]): string | null {
  const block = xdata.find((x) => x.startsWith(VIGIL_XDATA));
  return block ? Buffer.from(block.slice(1), 'base64url').toString('utf8') : null;
}
