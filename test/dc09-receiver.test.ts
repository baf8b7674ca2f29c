import dgram from 'node:dgram';
import net from 'node:net';
import test from 'ava';
import { SecretBox } from '../central/auth/secret-box.ts';
import { accountKey, loadDc09Accounts, upsertDc09Account } from '../central/dc09/accounts.ts';
import { Dc09Receiver } from '../central/dc09/receiver.ts';
import { upsertOperator } from '../central/records.ts';
import { silentLogger } from '../lib/logger.ts';
import { Metrics } from '../lib/metrics.ts';
import { buildFrame, FrameSplitter, keyBytes, parseFrame } from '../protocols/dc09/frame.ts';
import { vigilXdata } from '../protocols/dc09/payload.ts';
import { encode } from '../protocols/messages.ts';
import {
  eventually,
  loginCookie,
  sessionHeaders,
  startTestCentral,
  type TestCentral,
} from './helpers/central.ts';
import { sampleEvent } from './helpers/events.ts';

const KEY_HEX = '000102030405060708090A0B0C0D0E0F';
const KEY = keyBytes(KEY_HEX, 'hex');
let env: TestCentral;

test.before(async () => {
  env = await startTestCentral();
  await env.addGateway('site-dc', 'gw-dc');
  const pool = env.central.pool;
  await upsertDc09Account(pool, { account: '1234', prefix: '0', siteId: 'site-dc' }, 'test');
  await upsertDc09Account(
    pool,
    { account: 'ABC1', prefix: '0', siteId: 'site-dc', gatewayId: 'gw-dc', key: KEY_HEX, keyFormat: 'hex' },
    'test',
  );
  await env.central.dc09.reloadAccounts();
});
test.after.always(() => env?.stop());

/** Send frames over one TCP connection; resolve with the replies (or null after a quiet period). */
async function tcp(frames: string[], quietMs = 400): Promise<Array<string | null>> {
  const socket = net.connect(env.central.dc09.port, '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  const splitter = new FrameSplitter();
  const replies: Array<string | null> = [];
  let pending: ((reply: string | null) => void) | null = null;
  socket.on('data', (chunk: Buffer) => {
    for (const frame of splitter.push(chunk).frames) pending?.(frame);
  });
  for (const frame of frames) {
    const reply = await new Promise<string | null>((resolve) => {
      const timer = setTimeout(() => resolve(null), quietMs);
      pending = (r) => {
        clearTimeout(timer);
        resolve(r);
      };
      socket.write(frame, 'latin1');
    });
    replies.push(reply);
  }
  socket.destroy();
  return replies;
}

const idOf = (reply: string | null | undefined, key: Buffer | null = null) => {
  if (!reply) return null;
  const parsed = parseFrame(reply, () => key);
  return parsed.ok
    ? `${parsed.message.encrypted ? '*' : ''}${parsed.message.id}`
    : `unparsable: ${parsed.reason}`;
};
/** A receiver of its own on the test database (not listening), with the accounts loaded. */
async function ownReceiver(options: Partial<ConstructorParameters<typeof Dc09Receiver>[0]> = {}) {
  const receiver = new Dc09Receiver({
    host: '127.0.0.1',
    port: 0,
    pool: env.central.pool,
    logger: silentLogger,
    metrics: new Metrics(),
    ...options,
  });
  await receiver.reloadAccounts();
  return receiver;
}

const count = async (sql: string, params: unknown[] = []) =>
  (await env.central.pool.query<{ n: number }>(sql, params)).rows[0]!.n;

test.serial(
  'a third-party panel: SIA-DCS alarm stored once across a retransmission, Contact ID restore links to it',
  async (t) => {
    const alarm = buildFrame({
      id: 'SIA-DCS',
      seq: 11,
      prefix: '0',
      account: '1234',
      data: '#1234|Nri1/BA012^Back door^',
    });
    const [first, again] = await tcp([alarm, alarm]);
    t.is(idOf(first), 'ACK');
    t.is(idOf(again), 'ACK', 'a retransmission is acknowledged');
    t.is(
      await count(
        `SELECT count(*)::int AS n FROM events WHERE gateway_id = 'panel-0-1234' AND event_type = 'burglary'`,
      ),
      1,
    );
    const { rows } = await env.central.pool.query(
      `SELECT e.zone, e.area, e.text, e.sia, e.cid, a.status FROM events e JOIN alarms a ON a.event_id = e.id WHERE e.gateway_id = 'panel-0-1234'`,
    );
    t.like(rows[0], { zone: 12, area: 1, text: 'Back door', sia: 'BA', cid: '130', status: 'open' });

    const restore = buildFrame({
      id: 'ADM-CID',
      seq: 12,
      prefix: '0',
      account: '1234',
      data: '#1234|3130 01 012',
    });
    t.is(idOf((await tcp([restore]))[0]!), 'ACK');
    t.is(
      await count(
        `SELECT count(*)::int AS n FROM alarms a JOIN events e ON e.id = a.event_id AND e.received_at = a.event_received_at WHERE e.gateway_id = 'panel-0-1234' AND a.restored_at IS NOT NULL`,
      ),
      1,
    );
  },
);

test.serial('unknown codes are kept as undefined alarms; unprocessable payloads get DUH', async (t) => {
  const unknown = buildFrame({
    id: 'SIA-DCS',
    seq: 13,
    prefix: '0',
    account: '1234',
    data: '#1234|Nri1/QQ005',
  });
  const garbage = buildFrame({ id: 'SIA-DCS', seq: 14, prefix: '0', account: '1234', data: '#1234|zz!!' });
  const other = buildFrame({ id: 'RSP', seq: 15, prefix: '0', account: '1234', data: '' });
  const replies = await tcp([unknown, garbage, other]);
  t.deepEqual(
    replies.map((r) => idOf(r)),
    ['ACK', 'DUH', 'DUH'],
  );
  t.is(
    await count(`SELECT count(*)::int AS n FROM events WHERE event_type = 'undefined-alarm' AND sia = 'QQ'`),
    1,
  );
});

test.serial(
  'third-party panels as they are in the field: DC-04 blocks, restorals, Contact ID status and hex zones, a glued frame',
  async (t) => {
    let seq = 40;
    const frame = (id: 'SIA-DCS' | 'ADM-CID', data: string) =>
      buildFrame({ id, seq: seq++, prefix: '0', account: '1234', data });
    const powerUp = frame('SIA-DCS', '#1234|NRR|Apower restored');
    const lines = frame('SIA-DCS', '#1234|Nri3/BA21/22');
    const restoral = frame('SIA-DCS', '#1234|Nri3/BR21');
    const status = frame('ADM-CID', '#1234|6130 03 021');
    const hexZone = frame('ADM-CID', '#1234|1110 01 00B');
    const mismatch = frame('SIA-DCS', '#9999|Nri1/BA01');
    // A partial frame, then a good one on the same connection: the LF starts the good one.
    const glued = `${lines.slice(0, 20)}${frame('SIA-DCS', '#1234|Nri3/FA30')}`;
    const replies = await tcp([powerUp, lines, restoral, status, hexZone, mismatch, glued]);
    t.deepEqual(
      replies.map((r) => idOf(r)),
      ['ACK', 'ACK', 'ACK', 'ACK', 'ACK', 'DUH', 'ACK'],
    );
    const rows = async (where: string) =>
      (
        await env.central.pool.query<{
          event_type: string;
          qualifier: string;
          zone: number;
          area: number;
          text: string;
        }>(
          `SELECT event_type, qualifier, zone, area, text FROM events WHERE site_id = 'site-dc' AND via = 'dc09' AND ${where}
          ORDER BY received_at, zone`,
        )
      ).rows;
    t.like((await rows(`event_type = 'system-reset'`))[0], { text: 'power restored' });
    t.deepEqual(
      (await rows(`zone IN (21, 22) AND area = 3 AND event_type = 'burglary'`)).map((r) => [
        r.zone,
        r.qualifier,
      ]),
      [
        [21, 'event'],
        [22, 'event'],
        [21, 'restore'],
      ],
    );
    t.like((await rows(`event_type = 'periodic-test-trouble' AND zone = 21`))[0], {
      text: 'Status: Burglary still present (Contact ID 6130)',
    });
    t.is((await rows(`event_type = 'fire' AND zone = 11`)).length, 1, 'zone 00B is 11');
    t.is((await rows(`event_type = 'fire' AND zone = 30`)).length, 1, 'the frame after a partial one');
    t.true(env.metrics.get('dc09_rejected_total', { reason: 'account-mismatch' }) >= 1);
    const { rows: linked } = await env.central.pool.query<{ same: boolean }>(
      `SELECT r.alarm_id = a.alarm_id AS same FROM events r JOIN events a ON a.id = r.relates_to
        WHERE r.site_id = 'site-dc' AND r.zone = 21 AND r.qualifier = 'restore'`,
    );
    t.deepEqual(linked, [{ same: true }], 'BR names the BA of zone 21 and joins its incident');
  },
);

test.serial(
  'bad frames: CRC error gets no reply; unknown account, cleartext to a keyed account and stale timestamps get NAK',
  async (t) => {
    const good = buildFrame({
      id: 'SIA-DCS',
      seq: 20,
      prefix: '0',
      account: '1234',
      data: '#1234|Nri1/BA001',
    });
    const badCrc = good.replace(/^\n..../, (m) => `${m.slice(0, 1)}0000`);
    const unknownAccount = buildFrame({
      id: 'SIA-DCS',
      seq: 21,
      prefix: '0',
      account: '9999',
      data: '#9999|Nri1/BA001',
    });
    const clearToKeyed = buildFrame({
      id: 'SIA-DCS',
      seq: 22,
      prefix: '0',
      account: 'ABC1',
      data: '#ABC1|Nri1/BA001',
    });
    const stale = buildFrame({
      id: 'SIA-DCS',
      seq: 23,
      prefix: '0',
      account: 'ABC1',
      data: '#ABC1|Nri1/BA001',
      key: KEY,
      timestamp: Date.now() - 60_000,
    });
    const future = buildFrame({
      id: 'SIA-DCS',
      seq: 24,
      prefix: '0',
      account: 'ABC1',
      data: '#ABC1|Nri1/BA001',
      key: KEY,
      timestamp: Date.now() + 40_000,
    });
    const replies = await tcp([badCrc, unknownAccount, clearToKeyed, stale, future]);
    t.deepEqual(
      replies.map((r) => idOf(r)),
      [null, 'NAK', 'NAK', 'NAK', 'NAK'],
    );
    const nak = parseFrame(replies[1]!, () => null);
    t.true(
      nak.ok && nak.message.timestamp !== null && Math.abs(nak.message.timestamp - Date.now()) < 5000,
      'NAK carries the receiver time',
    );
    for (const reason of ['crc', 'unknown-account', 'cleartext', 'timestamp']) {
      t.true(env.metrics.get('dc09_rejected_total', { reason }) >= 1, reason);
    }
  },
);

test.serial(
  'a Vigil gateway backup path: encrypted frame carrying the protocol event, stored once with the MQTT copy',
  async (t) => {
    const event = sampleEvent({ siteId: 'site-dc', gatewayId: 'gw-dc', seq: 3 });
    const frame = buildFrame({
      id: 'SIA-DCS',
      seq: 30,
      prefix: '0',
      account: 'ABC1',
      data: '#ABC1|Nri1/BA002',
      xdata: [vigilXdata(encode(event).toString())],
      key: KEY,
      timestamp: Date.now(),
    });
    const [reply] = await tcp([frame]);
    t.is(idOf(reply!, KEY), '*ACK');
    t.is(await count('SELECT count(*)::int AS n FROM events WHERE id = $1', [event.id]), 1);
    t.is(await count(`SELECT count(*)::int AS n FROM events WHERE id = $1 AND via = 'dc09'`, [event.id]), 1);
    const foreign = buildFrame({
      id: 'SIA-DCS',
      seq: 31,
      prefix: '0',
      account: 'ABC1',
      data: '#ABC1|Nri1/BA002',
      xdata: [vigilXdata(encode(sampleEvent({ siteId: 'site-dc', gatewayId: 'someone-else' })).toString())],
      key: KEY,
      timestamp: Date.now(),
    });
    // A gateway cannot speak for another over its account: kept as rejected, acked so its queue moves.
    t.is(idOf((await tcp([foreign]))[0]!, KEY), '*ACK');
    const poison = sampleEvent({
      siteId: 'site-dc',
      gatewayId: 'gw-dc',
      seq: 4,
      device: { id: 'x', name: 'a\u0000b' },
    });
    const poisoned = buildFrame({
      id: 'SIA-DCS',
      seq: 32,
      prefix: '0',
      account: 'ABC1',
      data: '#ABC1|Nri1/BA002',
      xdata: [vigilXdata(encode(poison).toString())],
      key: KEY,
      timestamp: Date.now(),
    });
    t.is(idOf((await tcp([poisoned]))[0]!, KEY), '*ACK', 'a poison event does not block the backup path');
    const { rows } = await env.central.pool.query<{ reason: string; channel: string }>(
      `SELECT reason, channel FROM rejected_messages WHERE gateway_id = 'gw-dc' ORDER BY id`,
    );
    t.deepEqual(
      rows.map((r) => [r.channel, r.reason]),
      [
        ['dc09', 'foreign-event'],
        ['dc09', 'invalid-event'],
      ],
    );
    t.is(await count('SELECT count(*)::int AS n FROM events WHERE id = $1', [poison.id]), 0);
  },
);

test.serial('NULL supervision messages over UDP are acknowledged and mark the path heard', async (t) => {
  const socket = dgram.createSocket('udp4');
  t.teardown(() => socket.close());
  const reply = new Promise<string>((resolve) =>
    socket.once('message', (message) => resolve(message.toString('latin1'))),
  );
  const frame = buildFrame({
    id: 'NULL',
    seq: 0,
    prefix: '0',
    account: 'ABC1',
    data: '',
    key: KEY,
    timestamp: Date.now(),
  });
  socket.send(Buffer.from(frame, 'latin1'), env.central.dc09.port, '127.0.0.1');
  t.is(idOf((await reply).replace(/^\n/, '').replace(/\r$/, ''), KEY), '*ACK');
  t.is(
    await count(`SELECT count(*)::int AS n FROM path_status WHERE gateway_id = 'gw-dc' AND path = 'backup'`),
    1,
  );
});

test.serial(
  'a repeat within the duplicate window is one event; the same message after it is a new one',
  async (t) => {
    let clock = Date.now();
    const receiver = await ownReceiver({ duplicateWindowMs: 10 * 60_000, now: () => clock });
    // A plain frame without a timestamp: after a restart the panel sends sequence 0001 again.
    const frame = buildFrame({
      id: 'SIA-DCS',
      seq: 1,
      prefix: '0',
      account: '1234',
      data: '#1234|Nri4/PA044',
    });
    const stored = () =>
      count(`SELECT count(*)::int AS n FROM events WHERE site_id = 'site-dc' AND zone = 44`);
    t.is(idOf(await receiver.handle(frame)), 'ACK');
    t.is(idOf(await receiver.handle(frame)), 'ACK', 'a retransmission is acknowledged');
    t.is(await stored(), 1, 'and stored once');
    clock += 9 * 60_000;
    t.is(idOf(await receiver.handle(frame)), 'ACK');
    t.is(await stored(), 1, 'still within the window');
    clock += 11 * 60_000;
    t.is(idOf(await receiver.handle(frame)), 'ACK');
    t.is(await stored(), 2, 'after the window it is a new alarm');
  },
);

test.serial(
  'line prefixes are hex numbers, the receiver number is checked, the frame is kept as evidence',
  async (t) => {
    const receiver = await ownReceiver({ receiverNumber: '12' });
    // Account 1234 is provisioned with prefix "0": L000 is the same line.
    const longPrefix = buildFrame({
      id: 'SIA-DCS',
      seq: 61,
      receiver: '012',
      prefix: '000',
      account: '1234',
      data: '#1234|Nri5/TA061',
      xdata: ['X005E12.5', 'Y52N3.1'],
    });
    t.is(idOf(await receiver.handle(longPrefix)), 'ACK');
    const { rows } = await env.central.pool.query<{ evidence: Record<string, unknown> }>(
      `SELECT payload->'evidence' AS evidence FROM events WHERE site_id = 'site-dc' AND zone = 61`,
    );
    t.like(rows[0]?.evidence, {
      receiver: '012',
      prefix: '000',
      account: '1234',
      sequence: '0061',
      encrypted: false,
    });
    t.deepEqual(rows[0]?.evidence.xdata, ['X005E12.5', 'Y52N3.1'], 'location blocks kept');
    t.is(rows[0]?.evidence.frame, longPrefix.slice(1, -1), 'the frame as received');
    const elsewhere = buildFrame({
      id: 'SIA-DCS',
      seq: 62,
      receiver: '7',
      prefix: '0',
      account: '1234',
      data: '#1234|Nri5/TA062',
    });
    t.is(idOf(await receiver.handle(elsewhere)), 'DUH', 'a frame for another receiver');
  },
);

test.serial(
  'a plain frame dated outside the window is taken with its age shown, or NAKed when so configured',
  async (t) => {
    const now = Date.UTC(2026, 10, 21, 14, 0, 0);
    const make = (plainOutsideWindow: 'accept' | 'nak') =>
      ownReceiver({ now: () => now, plainOutsideWindow });
    const old = (seq: number, zone: number) =>
      buildFrame({
        id: 'SIA-DCS',
        seq,
        prefix: '0',
        account: '1234',
        data: `#1234|Nri1/BA0${zone}`,
        timestamp: now - 2 * 3600_000,
      });
    const accepting = await make('accept');
    t.is(idOf(await accepting.handle(old(71, 71))), 'ACK');
    const { rows } = await env.central.pool.query<{ text: string; occurred_at: Date }>(
      `SELECT text, occurred_at FROM events WHERE site_id = 'site-dc' AND zone = 71`,
    );
    t.regex(rows[0]?.text ?? '', /\[sent 2 h before it arrived\]/);
    t.is(rows[0]?.occurred_at.getTime(), now - 2 * 3600_000, 'dated when it happened');
    const refusing = await make('nak');
    t.is(idOf(await refusing.handle(old(72, 72))), 'NAK');
  },
);

test.serial('the timestamp window is exactly −40 s … +20 s', async (t) => {
  const now = Date.UTC(2026, 10, 21, 12, 0, 0);
  const receiver = new Dc09Receiver({
    host: '127.0.0.1',
    port: 0,
    pool: env.central.pool,
    logger: silentLogger,
    metrics: new Metrics(),
    now: () => now,
  });
  await receiver.reloadAccounts();
  const at = (offsetMs: number, seq: number) =>
    buildFrame({
      id: 'NULL',
      seq,
      prefix: '0',
      account: 'ABC1',
      data: '',
      key: KEY,
      timestamp: now + offsetMs,
    });
  const replies = [];
  for (const [offset, seq] of [
    [-40_000, 1],
    [-41_000, 2],
    [20_000, 3],
    [21_000, 4],
  ] as const) {
    replies.push(idOf(await receiver.handle(at(offset, seq)), KEY));
  }
  t.deepEqual(replies, ['*ACK', 'NAK', '*ACK', 'NAK']);
});

test.serial(
  'supervisors provision DC-09 accounts over the API; the receiver knows them at once; keys are never shown',
  async (t) => {
    const url = env.central.httpUrl;
    const operatorCookie = await loginCookie(url);
    const body = {
      account: '5A5A',
      siteId: 'site-dc',
      key: '00112233445566778899AABBCCDDEEFF',
      keyFormat: 'hex',
    };
    const asOperator = await fetch(`${url}/api/dc09-accounts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...sessionHeaders(operatorCookie) },
      body: JSON.stringify(body),
    });
    t.is(asOperator.status, 403);
    await upsertOperator(
      env.central.pool,
      { username: 'sue', displayName: 'Sue', password: 'supervisor password', role: 'supervisor' },
      'test',
    );
    const cookie = await loginCookie(url, 'sue', 'supervisor password');
    const bad = await fetch(`${url}/api/dc09-accounts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...sessionHeaders(cookie) },
      body: JSON.stringify({ ...body, key: 'ABCD' }),
    });
    t.is(bad.status, 400);
    t.regex(((await bad.json()) as { error: string }).error, /16, 24 or 32 bytes/);
    const ambiguous = await fetch(`${url}/api/dc09-accounts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...sessionHeaders(cookie) },
      body: JSON.stringify({ ...body, keyFormat: undefined }),
    });
    t.is(ambiguous.status, 400, 'a key both readings accept needs its format');
    t.regex(
      ((await ambiguous.json()) as { error: string }).error,
      /reads as hex \(AES-128\) and as ASCII \(AES-256\)/,
    );
    const created = await fetch(`${url}/api/dc09-accounts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...sessionHeaders(cookie) },
      body: JSON.stringify(body),
    });
    t.is(created.status, 201);
    t.like(await created.json(), {
      account: '5A5A',
      path: 'primary',
      encrypted: true,
      gatewayId: 'panel-0-5a5a',
    });
    const frame = buildFrame({
      id: 'NULL',
      seq: 1,
      prefix: '0',
      account: '5A5A',
      data: '',
      key: keyBytes(body.key, 'hex'),
      timestamp: Date.now(),
    });
    t.is(idOf((await tcp([frame]))[0], keyBytes(body.key, 'hex')), '*ACK');
    const list = await (await fetch(`${url}/api/dc09-accounts`, { headers: { cookie } })).json();
    t.false(JSON.stringify(list).includes(body.key), 'the key is not listed');
  },
);

test.serial(
  'a panel that does not verify: tamper, then a burglary 20 s later, is one incident the central verifies, police proposed at once',
  async (t) => {
    const pool = env.central.pool;
    await env.addGateway('site-dc7', 'gw-dc7');
    await upsertDc09Account(pool, { account: '7777', prefix: '0', siteId: 'site-dc7' }, 'test');
    await env.central.dc09.reloadAccounts();
    const tamper = buildFrame({
      id: 'ADM-CID',
      seq: 31,
      prefix: '0',
      account: '7777',
      data: '#7777|1137 01 009',
    });
    const burglary = buildFrame({
      id: 'SIA-DCS',
      seq: 32,
      prefix: '0',
      account: '7777',
      data: '#7777|Nri1/BA004',
    });
    t.is(idOf((await tcp([tamper]))[0]), 'ACK');
    await env.central.settled();
    t.is(idOf((await tcp([burglary]))[0]), 'ACK', 'later, within the merge window');
    const incident = await eventually(async () => {
      const { rows } = await pool.query(
        `SELECT a.id::text, a.verified, a.verification->>'rule' AS rule,
              (SELECT count(*)::int FROM events e WHERE e.alarm_id = a.id) AS events
         FROM alarms a WHERE a.site_id = 'site-dc7' AND a.status <> 'closed'`,
      );
      return rows.length === 1 && rows[0].verified ? rows[0] : null;
    }, 'one verified incident');
    t.like(incident, { events: 2, rule: 'tamper with another alarm' });
    const proposal = await env.central.procedures.proposal(incident.id);
    t.truthy(proposal, 'a step is proposed');
    const police = [proposal!.label, ...proposal!.dispatches.map((d) => d.label)].filter((l) =>
      /dispatch police/.test(l),
    );
    t.is(police.length, 1, 'police proposed at once');
    const { rows: trail } = await pool.query(
      `SELECT sort, action FROM alarm_actions WHERE alarm_id = $1 ORDER BY id`,
      [incident.id],
    );
    t.false(
      trail.some((r) => r.sort !== 'proposal' && (r.action === 'call' || r.action === 'dispatch')),
      'nothing claimed as done',
    );
  },
);

test.serial('DC-09 keys are sealed at rest under the master key, never stored in clear', async (t) => {
  const pool = env.central.pool;
  const { rows } = await pool.query<{ aes_key: string }>(
    `SELECT aes_key FROM dc09_accounts WHERE account = 'ABC1'`,
  );
  t.regex(rows[0]!.aes_key, /^v1:/);
  t.false(rows[0]!.aes_key.includes(KEY_HEX), 'not in clear');
  // A key left in clear by an older version is sealed when the accounts are loaded.
  await pool.query(`UPDATE dc09_accounts SET aes_key = $1 WHERE account = 'ABC1'`, [KEY_HEX]);
  const accounts = await loadDc09Accounts(pool);
  t.deepEqual(accounts.get(accountKey('0', 'ABC1'))?.key, KEY);
  const { rows: after } = await pool.query<{ aes_key: string }>(
    `SELECT aes_key FROM dc09_accounts WHERE account = 'ABC1'`,
  );
  t.regex(after[0]!.aes_key, /^v1:/);
  const other = new SecretBox(Buffer.alloc(32, 7));
  t.throws(() => other.open(after[0]!.aes_key), { message: /does not open with this master key/ });
});
