import { randomBytes } from 'node:crypto';
import test from 'ava';
import {
  checksum,
  DSC_ADDRESS,
  decodeFrame,
  encodeFrame,
  interpret,
  LineSplitter,
  signalFor,
} from '../hardware/serial/dsc-it100.ts';

// Frames from ../shared/reference/hardware.md §4.1 (checksums computed there).
const golden: Array<[string, string, string]> = [
  ['00090', '000', ''],
  ['00191', '001', ''],
  ['50000025', '500', '000'],
  ['60900130', '609', '001'],
  ['61000128', '610', '001'],
  ['601100159', '601', '1001'],
  ['60210015A', '602', '1001'],
  ['60310015B', '603', '1001'],
  ['60410015C', '604', '1001'],
  ['6541D0', '654', '1'],
  ['8029A', '802', ''],
  ['8039B', '803', ''],
  ['80098', '800', ''],
  ['8401CD', '840', '1'],
  ['6259D', '625', ''],
  ['5053CD', '505', '3'],
];
for (const [frame, command, data] of golden) {
  test(`golden frame ${frame} decodes and re-encodes`, (t) => {
    t.deepEqual(decodeFrame(frame), { ok: true, command, data });
    t.is(encodeFrame(command, data), `${frame}\r\n`);
  });
}

test('checksum is the low byte of the ASCII sum, upper-case hex; lower case is accepted on input', (t) => {
  t.is(checksum('609001'), '30');
  t.like(decodeFrame('6541d0'), { ok: true, command: '654' });
});

const bad: Array<[string, string]> = [
  ['60900131', 'bad-checksum'],
  ['609', 'too-short'],
  ['ABC0012', 'bad-command'],
  ['609\u0000\u000130', 'not-ascii'],
];
for (const [frame, reason] of bad) {
  test(`a frame "${JSON.stringify(frame)}" is refused: ${reason}`, (t) => {
    t.like(decodeFrame(frame), { ok: false, reason });
  });
}

test('messages carry zone, partition and meaning; data that does not fit its command is refused', (t) => {
  t.deepEqual(interpret('601', '1001'), { kind: 'zone', event: 'alarm', zone: 1, partition: 1 });
  t.deepEqual(interpret('609', '012'), { kind: 'zone', event: 'open', zone: 12, partition: null });
  t.deepEqual(interpret('652', '10'), { kind: 'partition', state: 'armed', partition: 1, mode: 0 });
  t.deepEqual(interpret('821', '007'), { kind: 'wireless-battery', zone: 7, low: true });
  t.deepEqual(interpret('500', '001'), { kind: 'ack', command: '001' });
  t.deepEqual(interpret('777', 'x'), { kind: 'unknown', command: '777', data: 'x' });
  t.is(interpret('609', '1'), null);
  t.is(interpret('601', 'x001'), null);
  t.is(interpret('654', 'abc'), null);
});

test('messages map to normalized signals per address', (t) => {
  const cases: Array<[string, string, ReturnType<typeof signalFor>]> = [
    ['609', '003', { address: 'zone:3', kind: 'alarm' }],
    ['610', '003', { address: 'zone:3', kind: 'restore' }],
    ['603', '1003', { address: 'zone:3', kind: 'tamper' }],
    ['605', '003', { address: 'zone:3', kind: 'trouble' }],
    ['821', '003', { address: 'zone:3', kind: 'battery-low' }],
    ['802', '', { address: 'panel', kind: 'mains-lost' }],
    ['801', '', { address: 'panel', kind: 'battery-ok' }],
    ['829', '', { address: 'panel', kind: 'tamper' }],
    ['621', '', { address: 'key:fire', kind: 'alarm' }],
    ['626', '', { address: 'key:panic', kind: 'restore' }],
    ['601', '1003', null],
    ['650', '1', null],
  ];
  for (const [command, data, expected] of cases) {
    t.deepEqual(signalFor(interpret(command, data)!), expected, `${command}${data}`);
    if (expected) t.regex(expected.address, DSC_ADDRESS);
  }
});

test('the splitter reassembles chunked frames and tolerates LF-only endings', (t) => {
  const splitter = new LineSplitter();
  t.deepEqual(splitter.push('6090').lines, []);
  t.deepEqual(splitter.push('0130\r\n610').lines, ['60900130']);
  t.deepEqual(splitter.push('00128\n8029A\r\n').lines, ['61000128', '8029A']);
});

test('an endless line without an end is dropped and reported, not buffered forever', (t) => {
  const splitter = new LineSplitter(64);
  const result = splitter.push('9'.repeat(1000));
  t.deepEqual(result, { lines: [], overflowed: 1 });
  t.deepEqual(splitter.push('60900130\r\n').lines, ['60900130']);
});

test('fuzzed input never throws and never yields a frame with a wrong checksum', (t) => {
  const splitter = new LineSplitter();
  let decoded = 0;
  for (let i = 0; i < 2000; i++) {
    const noise = randomBytes(1 + (i % 40));
    for (const line of splitter.push(noise).lines) {
      const frame = decodeFrame(line);
      if (frame.ok) {
        decoded++;
        t.is(checksum(frame.command + frame.data), line.slice(-2).toUpperCase());
        t.notThrows(() => interpret(frame.command, frame.data));
      }
    }
  }
  t.true(decoded < 100, `random bytes rarely form a valid frame (${decoded})`);
});
