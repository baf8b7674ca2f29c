import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * SIA DC-09 (ANSI/SIA DC-09-2013/2021) frames, pure:
 *   LF <crc:4> <0LLL:4> "<id>" <seq:4> [R<rcvr>] L<pref> #<acct> [<data>] [<xdata>]… [_<timestamp>] CR
 * CRC-16/ARC and the length cover the body (from the opening quote to the last character before
 * CR). Encrypted frames (`"*SIA-DCS"`, `"*ADM-CID"`, `"*NULL"`, `"*ACK"`) carry, after the `[`,
 * the hex of AES-CBC (zero IV, no PKCS#7) over `<pad>|<data>]<xdata…>_<timestamp>`.
 * Facts and vectors: ../shared/reference/alarm-transmission.md §1.
 */
export function crc16arc(text: string | Buffer): number {
  const bytes = typeof text === 'string' ? Buffer.from(text, 'latin1') : text;
  let crc = 0;
  for (const byte of bytes) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0xa001 : crc >>> 1;
  }
  return crc & 0xffff;
}

export interface Dc09Message {
  readonly id: string;
  readonly encrypted: boolean;
  readonly seq: string;
  readonly receiver: string | null;
  readonly prefix: string;
  readonly account: string;
  /** The payload inside the data block, without its brackets (`#1234|Nri1/BA012`). */
  readonly data: string;
  readonly xdata: readonly string[];
  /** Epoch ms, from `_HH:MM:SS,MM-DD-YYYY` (UTC); null when absent. */
  readonly timestamp: number | null;
}

export type ParseResult =
  | { readonly ok: true; readonly message: Dc09Message }
  | { readonly ok: false; readonly reason: string; readonly stage: 'crc' | 'format' | 'decrypt' };

export const MAX_BODY = 0x0fff;

export function formatTimestamp(ms: number): string {
  const d = new Date(ms);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `_${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())},${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())}-${p(d.getUTCFullYear(), 4)}`;
}

export function parseTimestamp(text: string): number | null {
  const m = /^_?(\d\d):(\d\d):(\d\d),(\d\d)-(\d\d)-(\d{4})$/.exec(text);
  if (!m) return null;
  const [, hh, mi, ss, mo, dd, yyyy] = m.map(Number) as number[];
  const ms = Date.UTC(yyyy!, mo! - 1, dd!, hh!, mi!, ss!);
  return Number.isNaN(ms) ? null : ms;
}

/** Key bytes from a per-account key given as 32/48/64 hex digits or 16/24/32 ASCII characters. */
export function keyBytes(key: string, format: 'hex' | 'ascii'): Buffer {
  const bytes = format === 'hex' ? Buffer.from(key, 'hex') : Buffer.from(key, 'latin1');
  if (format === 'hex' && !/^[0-9a-fA-F]+$/.test(key)) throw new Error('key is not hex');
  if (![16, 24, 32].includes(bytes.length))
    throw new Error(`AES key must be 16, 24 or 32 bytes, got ${bytes.length}`);
  return bytes;
}

/**
 * How a key is written when nobody said: only one reading gives an AES key length. A key both
 * readings accept (32 hex digits: AES-128 as hex, AES-256 as ASCII) is refused — receivers differ.
 */
export function keyFormatOf(key: string, given?: 'hex' | 'ascii'): 'hex' | 'ascii' {
  if (given) return given;
  const asHex = /^[0-9A-Fa-f]+$/.test(key) && [32, 48, 64].includes(key.length);
  const asAscii = [16, 24, 32].includes(Buffer.byteLength(key, 'latin1'));
  if (asHex && asAscii)
    throw new Error(
      'key-format: this key reads as hex (AES-128) and as ASCII (AES-256); say which (--key-format hex|ascii)',
    );
  if (asHex) return 'hex';
  if (asAscii) return 'ascii';
  throw new Error('key: 16, 24 or 32 ASCII characters, or 32, 48 or 64 hex digits');
}

function cipherName(key: Buffer): string {
  return `aes-${key.length * 8}-cbc`;
}

const FORBIDDEN_PAD = new Set([0x7c, 0x5b, 0x5d]);

/** `<pad>|<clear>` padded to a multiple of 16 (16 pad bytes when already aligned), pad bytes never `|[]`. */
export function encryptRegion(
  clear: string,
  key: Buffer,
  random: (n: number) => Buffer = randomBytes,
): string {
  const rest = Buffer.from(`|${clear}`, 'latin1');
  const padLength = 16 - (rest.length % 16) || 16;
  const pad = Buffer.from(random(padLength).map((b) => (FORBIDDEN_PAD.has(b) ? 0x2a : b)));
  const cipher = createCipheriv(cipherName(key), key, Buffer.alloc(16));
  cipher.setAutoPadding(false);
  return Buffer.concat([cipher.update(Buffer.concat([pad, rest])), cipher.final()])
    .toString('hex')
    .toUpperCase();
}

/** The clear text after the pad: found at the first `|` before the first `]` (senders differ). */
export function decryptRegion(hex: string, key: Buffer): string {
  if (!/^[0-9A-Fa-f]+$/.test(hex) || hex.length % 32 !== 0)
    throw new Error('encrypted block is not whole AES blocks of hex');
  const decipher = createDecipheriv(cipherName(key), key, Buffer.alloc(16));
  decipher.setAutoPadding(false);
  const plain = Buffer.concat([decipher.update(Buffer.from(hex, 'hex')), decipher.final()]).toString(
    'latin1',
  );
  const bar = plain.indexOf('|');
  const close = plain.indexOf(']');
  const clear =
    bar !== -1 && (close === -1 || bar < close)
      ? plain.slice(bar + 1)
      : close !== -1
        ? plain.slice(close)
        : null;
  if (clear === null) throw new Error('decrypted block has no data');
  // The clear text is printable ASCII; what a wrong key yields is not (a stray '|' or ']' in it can be).
  if (!/^[\x20-\x7e]*$/.test(clear)) throw new Error('decrypted text is not readable (wrong key?)');
  return clear;
}

export interface BuildOptions {
  readonly id: string;
  readonly seq: number | string;
  readonly receiver?: string | null;
  readonly prefix: string;
  readonly account: string;
  readonly data: string;
  readonly xdata?: readonly string[];
  /** Epoch ms; always sent when encrypting. */
  readonly timestamp?: number | null;
  readonly key?: Buffer | null;
  readonly random?: (n: number) => Buffer;
}

/** A whole frame, LF to CR. */
export function buildFrame(o: BuildOptions): string {
  const seq = typeof o.seq === 'number' ? String(o.seq).padStart(4, '0') : o.seq;
  const head = `${o.receiver ? `R${o.receiver}` : ''}L${o.prefix}#${o.account}`;
  const xdata = (o.xdata ?? []).map((x) => `[${x}]`).join('');
  let body: string;
  if (o.key) {
    const ts = formatTimestamp(o.timestamp ?? Date.now());
    body = `"*${o.id}"${seq}${head}[${encryptRegion(`${o.data}]${xdata}${ts}`, o.key, o.random)}`;
  } else {
    const ts = o.timestamp === undefined || o.timestamp === null ? '' : formatTimestamp(o.timestamp);
    body = `"${o.id}"${seq}${head}[${o.data}]${xdata}${ts}`;
  }
  if (body.length > MAX_BODY) throw new Error(`DC-09 body of ${body.length} bytes is over ${MAX_BODY}`);
  const crc = crc16arc(body).toString(16).toUpperCase().padStart(4, '0');
  const length = body.length.toString(16).toUpperCase().padStart(4, '0');
  return `\n${crc}${length}${body}\r`;
}

/** Split a clear `data]xdata…_ts` region (or a plain tail `[data][x]…_ts`) into its parts. */
function splitTail(tail: string): { data: string; xdata: string[]; timestamp: number | null } | null {
  const close = tail.indexOf(']');
  if (close === -1) return null;
  const data = tail.slice(0, close);
  let rest = tail.slice(close + 1);
  const xdata: string[] = [];
  while (rest.startsWith('[')) {
    const end = rest.indexOf(']');
    if (end === -1) return null;
    xdata.push(rest.slice(1, end));
    rest = rest.slice(end + 1);
  }
  if (rest === '') return { data, xdata, timestamp: null };
  const timestamp = parseTimestamp(rest);
  return timestamp === null ? null : { data, xdata, timestamp };
}

/** `#acct`, or `A0` in the fixed NAK form. */
const HEAD =
  /^"(\*?)([A-Z-]+)"(\d{4})(?:R([0-9A-Fa-f]{1,6}))?L([0-9A-Fa-f]{1,6})(?:#([0-9A-Fa-f]{3,16})|A(\d))\[/;

/**
 * Parse one frame (without its LF and CR). `keyFor` returns the account's key for encrypted
 * frames, or null when the account has none (refused). CRC is always checked; the length too,
 * unless `lenientLength` (some senders write it in decimal).
 */
export function parseFrame(
  frame: string,
  keyFor: (account: string, prefix: string) => Buffer | null,
  lenientLength = false,
): ParseResult {
  const text = frame.replace(/^\n/, '').replace(/\r$/, '');
  if (text.length < 10) return { ok: false, stage: 'format', reason: 'frame too short' };
  const body = text.slice(8);
  const crc = Number.parseInt(text.slice(0, 4), 16);
  if (!/^[0-9A-Fa-f]{4}$/.test(text.slice(0, 4)) || crc !== crc16arc(body)) {
    return { ok: false, stage: 'crc', reason: 'CRC mismatch' };
  }
  const lengthField = text.slice(4, 8);
  const length = Number.parseInt(lengthField, 16);
  if (length !== body.length && !(lenientLength && Number.parseInt(lengthField, 10) === body.length)) {
    return {
      ok: false,
      stage: 'format',
      reason: `length ${lengthField} does not match body of ${body.length}`,
    };
  }
  const head = HEAD.exec(body);
  if (!head) return { ok: false, stage: 'format', reason: 'header is not "id"seq[R]L#acct[' };
  const [matched, star, id, seq, receiver, prefix, hashAccount, nakAccount] = head as unknown as string[];
  const account = hashAccount ?? nakAccount ?? '';
  const encrypted = star === '*';
  let tail = body.slice(matched!.length);
  if (encrypted) {
    const key = keyFor(account.toUpperCase(), prefix!);
    if (!key) return { ok: false, stage: 'decrypt', reason: `no key for account ${account}` };
    try {
      tail = decryptRegion(tail, key);
    } catch (error) {
      return { ok: false, stage: 'decrypt', reason: (error as Error).message };
    }
  }
  const parts = splitTail(tail);
  if (!parts)
    return {
      ok: false,
      stage: encrypted ? 'decrypt' : 'format',
      reason: 'data, extended data or timestamp malformed',
    };
  // An encrypted message always carries its timestamp (SIA DC-09); without one it is not ours to read.
  if (encrypted && parts.timestamp === null)
    return { ok: false, stage: 'decrypt', reason: 'encrypted message without a timestamp (wrong key?)' };
  return {
    ok: true,
    message: {
      id: id!,
      encrypted,
      seq: seq!,
      receiver: receiver ?? null,
      prefix: prefix!,
      account: account.toUpperCase(),
      data: parts.data,
      xdata: parts.xdata,
      timestamp: parts.timestamp,
    },
  };
}

/** Splits a TCP stream into frames on CR; tolerates a missing LF and NUL padding; bounds garbage. */
export class FrameSplitter {
  #buffer = '';

  /** Part of a frame is buffered, waiting for its end. */
  get pending(): boolean {
    return this.#buffer.replace(/^\n+/, '').length > 0;
  }

  /**
   * Frames are `LF … CR`. A line feed always starts a new frame: whatever came before it without
   * its CR (a partial or corrupted frame) is dropped and counted, so the next good frame on the
   * connection is still answered. A frame without its LF is taken too (some senders omit it).
   */
  push(chunk: Buffer | string): { frames: string[]; dropped: number } {
    this.#buffer += (typeof chunk === 'string' ? chunk : chunk.toString('latin1')).replaceAll('\0', '');
    const frames: string[] = [];
    let dropped = 0;
    for (let cr = this.#buffer.indexOf('\r'); cr !== -1; cr = this.#buffer.indexOf('\r')) {
      const segment = this.#buffer.slice(0, cr);
      this.#buffer = this.#buffer.slice(cr + 1);
      const lf = segment.lastIndexOf('\n');
      if (segment.slice(0, Math.max(lf, 0)).replaceAll('\n', '').length > 0) dropped++;
      const frame = segment.slice(lf + 1);
      if (frame.length > 0) frames.push(frame);
    }
    // A new LF while a frame is unfinished: that frame is lost, the new one starts here.
    const lf = this.#buffer.lastIndexOf('\n');
    if (lf > 0) {
      if (this.#buffer.slice(0, lf).replaceAll('\n', '').length > 0) dropped++;
      this.#buffer = this.#buffer.slice(lf);
    }
    if (this.#buffer.length > MAX_BODY + 16) {
      this.#buffer = '';
      dropped++;
    }
    return { frames, dropped };
  }
}
