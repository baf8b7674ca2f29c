import type { SignalKind } from '../device-signal.ts';

/**
 * DSC IT-100 / PC5401 integration protocol (also Envisalink TPI): ASCII frames
 * `CCC` (command) + data + `KK` (checksum) + CR LF. The checksum is the sum of the ASCII codes of
 * command and data, low 8 bits, as two upper-case hex digits. Pure: no I/O here.
 */
export function checksum(body: string): string {
  let sum = 0;
  for (let i = 0; i < body.length; i++) sum += body.charCodeAt(i);
  return (sum & 0xff).toString(16).toUpperCase().padStart(2, '0');
}

export function encodeFrame(command: string, data = ''): string {
  if (!/^\d{3}$/.test(command)) throw new Error(`IT-100 command must be 3 digits, got "${command}"`);
  return `${command}${data}${checksum(command + data)}\r\n`;
}

export type DecodedFrame =
  | { readonly ok: true; readonly command: string; readonly data: string }
  | {
      readonly ok: false;
      readonly reason: 'too-short' | 'not-ascii' | 'bad-command' | 'bad-checksum';
      readonly raw: string;
    };

/** Decode one line (without CR LF). Lower-case checksums are accepted. */
export function decodeFrame(line: string): DecodedFrame {
  if (line.length < 5) return { ok: false, reason: 'too-short', raw: line };
  if (!/^[\x20-\x7e]+$/.test(line)) return { ok: false, reason: 'not-ascii', raw: line };
  const command = line.slice(0, 3);
  if (!/^\d{3}$/.test(command)) return { ok: false, reason: 'bad-command', raw: line };
  const data = line.slice(3, -2);
  if (checksum(command + data) !== line.slice(-2).toUpperCase())
    return { ok: false, reason: 'bad-checksum', raw: line };
  return { ok: true, command, data };
}

/**
 * Splits a byte stream into lines on CR LF (a lone LF or CR is tolerated). A line longer than
 * `maxLine` is garbage (a frame is at most a few dozen characters): it is dropped and reported, so a
 * noisy line cannot grow memory without bound.
 */
export class LineSplitter {
  #buffer = '';
  readonly #maxLine: number;

  constructor(maxLine = 128) {
    this.#maxLine = maxLine;
  }

  push(chunk: Buffer | string): { lines: string[]; overflowed: number } {
    this.#buffer += typeof chunk === 'string' ? chunk : chunk.toString('latin1');
    const parts = this.#buffer.split(/\r\n|\n|\r/);
    this.#buffer = parts.pop() ?? '';
    let overflowed = 0;
    const lines: string[] = [];
    for (const part of parts) {
      if (part.length > this.#maxLine) overflowed++;
      else if (part.length > 0) lines.push(part);
    }
    if (this.#buffer.length > this.#maxLine) {
      overflowed++;
      this.#buffer = '';
    }
    return { lines, overflowed };
  }
}

const ZONE_EVENTS: Record<string, { event: ZoneEvent; withPartition: boolean }> = {
  '601': { event: 'alarm', withPartition: true },
  '602': { event: 'alarm-restore', withPartition: true },
  '603': { event: 'tamper', withPartition: true },
  '604': { event: 'tamper-restore', withPartition: true },
  '605': { event: 'fault', withPartition: false },
  '606': { event: 'fault-restore', withPartition: false },
  '609': { event: 'open', withPartition: false },
  '610': { event: 'restored', withPartition: false },
};
type ZoneEvent =
  | 'alarm'
  | 'alarm-restore'
  | 'tamper'
  | 'tamper-restore'
  | 'fault'
  | 'fault-restore'
  | 'open'
  | 'restored';

const PARTITION_STATES: Record<string, PartitionState> = {
  '650': 'ready',
  '651': 'not-ready',
  '652': 'armed',
  '654': 'in-alarm',
  '655': 'disarmed',
  '656': 'exit-delay',
  '657': 'entry-delay',
};
type PartitionState =
  | 'ready'
  | 'not-ready'
  | 'armed'
  | 'in-alarm'
  | 'disarmed'
  | 'exit-delay'
  | 'entry-delay';

const KEYS: Record<string, { key: 'duress' | 'fire' | 'aux' | 'panic' | 'smoke'; restore: boolean }> = {
  '620': { key: 'duress', restore: false },
  '621': { key: 'fire', restore: false },
  '622': { key: 'fire', restore: true },
  '623': { key: 'aux', restore: false },
  '624': { key: 'aux', restore: true },
  '625': { key: 'panic', restore: false },
  '626': { key: 'panic', restore: true },
  '631': { key: 'smoke', restore: false },
  '632': { key: 'smoke', restore: true },
};

const PANEL_TROUBLES: Record<string, { what: PanelTrouble; active: boolean }> = {
  '800': { what: 'battery', active: true },
  '801': { what: 'battery', active: false },
  '802': { what: 'ac', active: true },
  '803': { what: 'ac', active: false },
  '806': { what: 'bell', active: true },
  '807': { what: 'bell', active: false },
  '829': { what: 'system-tamper', active: true },
  '830': { what: 'system-tamper', active: false },
  '842': { what: 'fire-trouble', active: true },
  '843': { what: 'fire-trouble', active: false },
  '896': { what: 'keybus', active: true },
  '897': { what: 'keybus', active: false },
};
type PanelTrouble = 'battery' | 'ac' | 'bell' | 'system-tamper' | 'fire-trouble' | 'keybus';

export type DscMessage =
  | {
      readonly kind: 'zone';
      readonly event: ZoneEvent;
      readonly zone: number;
      readonly partition: number | null;
    }
  | {
      readonly kind: 'partition';
      readonly state: PartitionState;
      readonly partition: number;
      readonly mode: number | null;
    }
  | {
      readonly kind: 'key';
      readonly key: 'duress' | 'fire' | 'aux' | 'panic' | 'smoke';
      readonly restore: boolean;
    }
  | { readonly kind: 'panel-trouble'; readonly what: PanelTrouble; readonly active: boolean }
  | { readonly kind: 'trouble-led'; readonly partition: number; readonly on: boolean }
  | { readonly kind: 'wireless-battery'; readonly zone: number; readonly low: boolean }
  | { readonly kind: 'ack'; readonly command: string }
  | { readonly kind: 'checksum-refused' }
  | { readonly kind: 'system-error'; readonly code: string }
  | { readonly kind: 'unknown'; readonly command: string; readonly data: string };

function zoneNumber(text: string): number | null {
  return /^\d{3}$/.test(text) ? Number(text) : null;
}

/** What a decoded frame says; `null` when its data does not fit its command (counted as malformed). */
export function interpret(command: string, data: string): DscMessage | null {
  const zoneEvent = ZONE_EVENTS[command];
  if (zoneEvent) {
    const partition = zoneEvent.withPartition ? Number(data.slice(0, 1)) : null;
    const zone = zoneNumber(zoneEvent.withPartition ? data.slice(1) : data);
    if (zone === null || (zoneEvent.withPartition && !/^\d$/.test(data.slice(0, 1)))) return null;
    return { kind: 'zone', event: zoneEvent.event, zone, partition };
  }
  const state = PARTITION_STATES[command];
  if (state) {
    if (!/^\d\d?$/.test(data)) return null;
    return {
      kind: 'partition',
      state,
      partition: Number(data[0]),
      mode: data.length === 2 ? Number(data[1]) : null,
    };
  }
  const key = KEYS[command];
  if (key) return { kind: 'key', ...key };
  const trouble = PANEL_TROUBLES[command];
  if (trouble) return { kind: 'panel-trouble', ...trouble };
  if (command === '840' || command === '841') {
    return /^\d$/.test(data) ? { kind: 'trouble-led', partition: Number(data), on: command === '840' } : null;
  }
  if (command === '821' || command === '822') {
    const zone = zoneNumber(data);
    return zone === null ? null : { kind: 'wireless-battery', zone, low: command === '821' };
  }
  if (command === '500') return /^\d{3}$/.test(data) ? { kind: 'ack', command: data } : null;
  if (command === '501') return { kind: 'checksum-refused' };
  if (command === '502') return { kind: 'system-error', code: data };
  return { kind: 'unknown', command, data };
}

/**
 * Device addresses on an IT-100 bus: `zone:N` for a zone, `panel` for the panel itself (its AC,
 * battery, bell, tamper, keybus), `key:fire|aux|panic|duress|smoke` for keypad keys and 2-wire smoke.
 */
export const DSC_ADDRESS = /^(zone:\d{1,3}|panel|key:(fire|aux|panic|duress|smoke))$/;

/** The normalized signal a message means, and for which address; null when it means none. */
export function signalFor(message: DscMessage): { address: string; kind: SignalKind } | null {
  switch (message.kind) {
    case 'zone': {
      const kinds: Partial<Record<ZoneEvent, SignalKind>> = {
        open: 'alarm',
        restored: 'restore',
        tamper: 'tamper',
        'tamper-restore': 'tamper-restore',
        fault: 'trouble',
        'fault-restore': 'trouble-restore',
      };
      // 601/602 are the panel's own alarm decisions; the gateway decides from open/restore itself.
      const kind = kinds[message.event];
      return kind ? { address: `zone:${message.zone}`, kind } : null;
    }
    case 'key':
      return { address: `key:${message.key}`, kind: message.restore ? 'restore' : 'alarm' };
    case 'wireless-battery':
      return { address: `zone:${message.zone}`, kind: message.low ? 'battery-low' : 'battery-ok' };
    case 'panel-trouble': {
      const kinds: Record<PanelTrouble, [SignalKind, SignalKind]> = {
        battery: ['battery-low', 'battery-ok'],
        ac: ['mains-lost', 'mains-restored'],
        bell: ['trouble', 'trouble-restore'],
        'system-tamper': ['tamper', 'tamper-restore'],
        'fire-trouble': ['trouble', 'trouble-restore'],
        keybus: ['trouble', 'trouble-restore'],
      };
      const [on, off] = kinds[message.what];
      return { address: 'panel', kind: message.active ? on : off };
    }
    default:
      return null;
  }
}
