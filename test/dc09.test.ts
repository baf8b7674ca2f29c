import { randomBytes } from 'node:crypto';
import test from 'ava';
import {
  buildFrame,
  crc16arc,
  decryptRegion,
  encryptRegion,
  FrameSplitter,
  keyBytes,
  parseFrame,
  parseTimestamp,
} from '../protocols/dc09/frame.ts';
import {
  ackFrame,
  duhFrame,
  eventTypeForCid,
  eventTypeForSia,
  formatSiaDcs,
  nakFrame,
  parseAdmCid,
  parseSiaDcs,
  readVigilXdata,
  vigilXdata,
} from '../protocols/dc09/payload.ts';

const noKey = () => null;
const KEY = keyBytes('ABCDABCDABCDABCDABCDABCDABCDABCD', 'hex');

test('CRC-16/ARC check value', (t) => {
  t.is(crc16arc('123456789'), 0xbb3d);
});

// ../shared/reference/alarm-transmission.md §1.9
const vectors = [
  'F4D20029"SIA-DCS"0001RF3L77#1234[#1234|NRR|Atest]',
  '96ED0016"SIA-DCS"0001L0#1234[]',
  'E4410025"NAK"0000R0L0A0[]_16:20:01,09-24-2025',
  '73580056"SIA-DCS"0002R1L232#78919[#78919|Nri1/BA012][X012W34.1][Y045N12.2]_14:12:04,09-25-2026',
  'CE110032"SIA-DCS"9876R579BDFL789ABC#12345A[#12345A|NFA129]',
  '87CD0037"ADM-CID"9876R579BDFL789ABC#12345A[#12345A|1110 00 129]',
];
for (const vector of vectors) {
  test(`reference frame parses: ${vector.slice(8, 30)}…`, (t) => {
    const result = parseFrame(`\n${vector}\r`, noKey);
    t.true(result.ok, result.ok ? '' : result.reason);
  });
}

test('a reference frame is rebuilt byte for byte', (t) => {
  const built = buildFrame({
    id: 'SIA-DCS',
    seq: 2,
    receiver: '1',
    prefix: '232',
    account: '78919',
    data: '#78919|Nri1/BA012',
    xdata: ['X012W34.1', 'Y045N12.2'],
    timestamp: Date.UTC(2026, 8, 25, 14, 12, 4),
  });
  t.is(built, `\n${vectors[3]}\r`);
  const parsed = parseFrame(built, noKey);
  t.like(parsed.ok ? parsed.message : null, {
    id: 'SIA-DCS',
    seq: '0002',
    receiver: '1',
    prefix: '232',
    account: '78919',
    data: '#78919|Nri1/BA012',
    xdata: ['X012W34.1', 'Y045N12.2'],
    timestamp: Date.UTC(2026, 8, 25, 14, 12, 4),
  });
});

test('the reference encrypted ACK decrypts to pad | ] timestamp', (t) => {
  const frame =
    '\nE34C0062"*ACK"0001R5678L1234#080027E62A64[14F088FF5DCB19D1908069507EAB97C7CDB20F1C6EFA550BB59864D54B2DFA1C\r';
  const parsed = parseFrame(frame, () => KEY);
  t.true(parsed.ok);
  if (parsed.ok) {
    t.like(parsed.message, {
      id: 'ACK',
      encrypted: true,
      data: '',
      timestamp: Date.UTC(2015, 3, 14, 16, 8, 12),
    });
  }
});

test('encryption round-trips for 128/192/256-bit keys, hex or ASCII, pad never | [ ]', (t) => {
  for (const [key, format] of [
    ['ABCDABCDABCDABCDABCDABCDABCDABCD', 'hex'],
    ['0123456789abcdef01234567', 'ascii'],
    ['0123456789abcdef0123456789abcdef', 'ascii'],
  ] as const) {
    const bytes = keyBytes(key, format);
    for (let length = 0; length < 40; length++) {
      const clear = `#1234|Nri1/BA${'0'.repeat(length)}]_10:00:00,01-01-2026`;
      const hex = encryptRegion(clear, bytes, (n) => Buffer.alloc(n, 0x7c));
      t.is(hex.length % 32, 0);
      t.is(decryptRegion(hex, bytes), clear);
    }
  }
  t.throws(() => keyBytes('ABCD', 'hex'), { message: /16, 24 or 32 bytes/ });
});

test('an encrypted event frame round-trips; a wrong key or a missing key is refused', (t) => {
  const frame = buildFrame({
    id: 'SIA-DCS',
    seq: 7,
    prefix: '0',
    account: '1234',
    data: '#1234|Nri1/BA012',
    key: KEY,
    timestamp: 1_800_000_000_000,
  });
  t.regex(frame, /"\*SIA-DCS"0007L0#1234\[[0-9A-F]+\r$/);
  const parsed = parseFrame(frame, () => KEY);
  t.like(parsed.ok ? parsed.message : null, {
    encrypted: true,
    data: '#1234|Nri1/BA012',
    timestamp: 1_800_000_000_000,
  });
  t.like(
    parseFrame(frame, () => keyBytes('00'.repeat(16), 'hex')),
    { ok: false, stage: 'decrypt' },
  );
  t.like(parseFrame(frame, noKey), { ok: false, stage: 'decrypt', reason: 'no key for account 1234' });
  // With random padding, what a wrong key yields now and then holds a '|' or ']': never accepted.
  const wrong = keyBytes('00'.repeat(16), 'hex');
  const accepted = Array.from({ length: 500 }, (_, i) =>
    parseFrame(
      buildFrame({
        id: 'SIA-DCS',
        seq: i,
        prefix: '0',
        account: '1234',
        data: '#1234|Nri1/BA012',
        key: KEY,
        timestamp: 1_800_000_000_000,
      }),
      () => wrong,
    ),
  ).filter((result) => result.ok).length;
  t.is(accepted, 0);
});

test('CRC, length and header faults are told apart', (t) => {
  const good = vectors[1]!;
  t.like(parseFrame(`\n${good.replace('96ED', '96EE')}\r`, noKey), { ok: false, stage: 'crc' });
  const wrongLength = buildFrame({ id: 'SIA-DCS', seq: 1, prefix: '0', account: '1234', data: '' }).replace(
    '0016',
    '0017',
  );
  t.like(parseFrame(wrongLength, noKey), {
    ok: false,
    stage: 'format',
    reason: 'length 0017 does not match body of 22',
  });
  t.like(parseFrame('\n0000', noKey), { ok: false, stage: 'format' });
});

test('fuzzed frames never throw and never parse with a bad CRC', (t) => {
  for (let i = 0; i < 3000; i++) {
    const noise = randomBytes(5 + (i % 80)).toString('latin1');
    t.notThrows(() => parseFrame(noise, () => KEY));
    const mutated = vectors[i % vectors.length]!.split('');
    mutated[8 + (i % (mutated.length - 8))] = String.fromCharCode(33 + (i % 90));
    const result = parseFrame(mutated.join(''), noKey);
    if (result.ok)
      t.is(crc16arc(mutated.join('').slice(8)), Number.parseInt(mutated.slice(0, 4).join(''), 16));
  }
});

test('the stream splitter handles missing LF, NULs, several frames per chunk and chunked frames', (t) => {
  const splitter = new FrameSplitter();
  const [a, b] = [vectors[0]!, vectors[4]!];
  t.deepEqual(splitter.push(`\n${a}\r\0\0${b.slice(0, 10)}`).frames, [a]);
  t.deepEqual(splitter.push(`${b.slice(10)}\r`).frames, [b]);
  t.deepEqual(splitter.push('x'.repeat(5000)).dropped, 1);
  // A line feed starts a new frame: a partial or corrupted one before it is dropped, not glued on.
  const fresh = new FrameSplitter();
  t.deepEqual(fresh.push(`\n${b.slice(0, 15)}\n${a}\r`), { frames: [a], dropped: 1 });
  t.deepEqual(fresh.push(`\n${b.slice(0, 15)}`), { frames: [], dropped: 0 });
  t.deepEqual(fresh.push(`\n${a}\r`), { frames: [a], dropped: 1 }, 'also across chunks');
  t.false(fresh.pending);
});

test('SIA-DCS and Contact ID payloads', (t) => {
  t.deepEqual(parseSiaDcs('#1234|Nri1/BA012^Hall PIR^/BA013'), {
    account: '1234',
    blocks: [
      { code: 'BA', address: '012', area: 1, user: null, text: 'Hall PIR' },
      { code: 'BA', address: '013', area: 1, user: null, text: '' },
    ],
    old: false,
  });
  // SIA DC-04 as panels send it: a text part, address lists, user and time modifiers, old events.
  t.like(parseSiaDcs('#1234|NRR|Atest'), {
    account: '1234',
    blocks: [{ code: 'RR', address: '', text: 'test' }],
  });
  t.deepEqual(
    parseSiaDcs('#1234|Nri2/BA01/02/03')?.blocks.map((b) => [b.code, b.address, b.area]),
    [
      ['BA', '01', 2],
      ['BA', '02', 2],
      ['BA', '03', 2],
    ],
  );
  t.like(parseSiaDcs('#1234|Oti10:15/id3/CL01'), {
    old: true,
    blocks: [{ code: 'CL', address: '01', user: 3 }],
  });
  t.like(parseSiaDcs('#1234|Nri1/FA05|Nri2/BA07|AKitchen'), {
    blocks: [
      { code: 'FA', area: 1, text: 'Kitchen' },
      { code: 'BA', area: 2, text: 'Kitchen' },
    ],
  });
  t.like(parseSiaDcs('#1234|Npi12/TA'), { blocks: [{ code: 'TA', address: '' }] });
  t.like(parseSiaDcs('#7878|Nri01^TOTAL^/LX901^centrale^'), {
    blocks: [{ code: 'LX', address: '901', area: 1 }],
  });
  t.like(parseSiaDcs('Nri1/WA000'), { account: null, blocks: [{ code: 'WA' }] });
  t.is(parseSiaDcs('#1|garbage'), null);
  t.deepEqual(parseAdmCid('#9757|1602 00 000'), {
    account: '9757',
    qualifier: 1,
    code: '602',
    group: 0,
    zone: 0,
  });
  t.like(parseAdmCid('10064|3130 01 015'), { qualifier: 3, code: '130', group: 1, zone: 15 });
  t.is(parseAdmCid('#1|9130 01 015'), null);
  t.is(eventTypeForCid('130'), 'burglary');
  t.is(eventTypeForCid('111'), 'smoke');
  t.deepEqual(eventTypeForSia('FA'), { eventType: 'fire', qualifier: 'event' });
  t.deepEqual(eventTypeForSia('BH'), { eventType: 'burglary', qualifier: 'restore' });
  t.is(eventTypeForSia('QQ'), null);
  t.deepEqual(parseSiaDcs(formatSiaDcs('1234', 'BA', 1, 2, 'Hall ^ PIR')), {
    account: '1234',
    blocks: [{ code: 'BA', address: '002', area: 1, user: null, text: 'Hall   PIR' }],
    old: false,
  });
});

test('replies: ACK mirrors the request, encrypted ACK, NAK with receiver time, DUH', (t) => {
  const to = { seq: '0042', receiver: 'R1'.slice(1), prefix: '0', account: '1234', encrypted: false };
  const now = Date.UTC(2026, 10, 21, 10, 0, 0);
  t.like(parseFrame(ackFrame(to, now, null), noKey), {
    ok: true,
    message: { id: 'ACK', seq: '0042', account: '1234' },
  });
  const encrypted = parseFrame(ackFrame({ ...to, encrypted: true }, now, KEY), () => KEY);
  t.like(encrypted.ok ? encrypted.message : null, { id: 'ACK', encrypted: true, timestamp: now });
  t.is(nakFrame(Date.UTC(2025, 8, 24, 16, 20, 1)), `\n${vectors[2]}\r`);
  t.like(parseFrame(duhFrame(to), noKey), { ok: true, message: { id: 'DUH', seq: '0042' } });
  t.is(parseTimestamp('_16:20:01,09-24-2025'), Date.UTC(2025, 8, 24, 16, 20, 1));
});

test('the Vigil extension block carries a whole event', (t) => {
  const json = JSON.stringify({ v: 1, type: 'event', text: 'ÄÖ |[]' });
  t.is(readVigilXdata(['X1', vigilXdata(json)]), json);
  t.is(readVigilXdata(['X1']), null);
});
