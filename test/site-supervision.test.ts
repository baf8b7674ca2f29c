import test from 'ava';
import { DateTime } from 'luxon';
import type { MqttClient } from 'mqtt';
import { changePin, createContact } from '../central/contacts.ts';
import { upsertOperator } from '../central/records.ts';
import { centralEvent } from '../central/supervision/central-event.ts';
import { armingDeadlines, disarmAllowed, WeeklyScheduleSchema } from '../central/supervision/schedule.ts';
import type { EventTypeName } from '../protocols/event-codes.ts';
import { encode } from '../protocols/messages.ts';
import { topicFor } from '../protocols/topics.ts';
import {
  apiClient,
  connectAsGateway,
  eventually,
  loginCookie,
  OPERATOR,
  startTestCentral,
  type TestCentral,
} from './helpers/central.ts';

const ZONE = 'Europe/Amsterdam';
const local = (iso: string) => DateTime.fromISO(iso, { zone: ZONE }).toMillis();
const OFFICE = WeeklyScheduleSchema.parse({
  open: {
    1: { from: '08:00', to: '18:00' },
    2: { from: '08:00', to: '18:00' },
    3: { from: '08:00', to: '18:00' },
    4: { from: '08:00', to: '18:00' },
    5: { from: '08:00', to: '17:00' },
  },
});

test('deadlines: closing time + margin on open days, the night check every day, in local time across DST', (t) => {
  const withNight = { ...OFFICE, nightCheck: '23:00' };
  // The week of 2026-10-19 (Mon) to 2026-10-26: summer time ends on Sunday the 25th.
  const deadlines = armingDeadlines(withNight, ZONE, local('2026-10-23T12:00'), local('2026-10-26T23:30'));
  t.deepEqual(
    deadlines.map((d) => DateTime.fromMillis(d.at, { zone: ZONE }).toFormat('ccc HH:mm')),
    ['Fri 17:15', 'Fri 23:00', 'Sat 23:00', 'Sun 23:00', 'Mon 18:15', 'Mon 23:00'],
  );
  t.is(new Date(deadlines[0]!.at).toISOString(), '2026-10-23T15:15:00.000Z', 'CEST: UTC+2');
  t.is(new Date(deadlines[4]!.at).toISOString(), '2026-10-26T17:15:00.000Z', 'CET: UTC+1');
  t.regex(deadlines[0]!.reason, /not armed by 17:00 \+ 15 min/);
  t.deepEqual(
    armingDeadlines(OFFICE, ZONE, local('2026-10-23T17:15'), local('2026-10-23T17:16')),
    [],
    '(from, to]',
  );
});

test('disarming is allowed within the opening hours, margin included; never on a closed day', (t) => {
  t.true(disarmAllowed(OFFICE, ZONE, local('2026-11-16T07:45')));
  t.false(disarmAllowed(OFFICE, ZONE, local('2026-11-16T07:44')));
  t.true(disarmAllowed(OFFICE, ZONE, local('2026-11-16T18:15')));
  t.false(disarmAllowed(OFFICE, ZONE, local('2026-11-16T18:16')));
  t.false(disarmAllowed(OFFICE, ZONE, local('2026-11-21T10:00')), 'Saturday');
  t.false(disarmAllowed({ ...OFFICE, marginMinutes: 0 }, ZONE, local('2026-11-16T07:59')));
});

test('schedules are validated with reasons', (t) => {
  const bad = [
    { open: { 1: { from: '18:00', to: '08:00' } } },
    { open: { 8: { from: '08:00', to: '18:00' } } },
    { nightCheck: '21:30' },
    { marginMinutes: 500 },
    { open: { 1: { from: '8:00', to: '18:00' } } },
  ];
  for (const schedule of bad)
    t.false(WeeklyScheduleSchema.safeParse(schedule).success, JSON.stringify(schedule));
  t.deepEqual(WeeklyScheduleSchema.parse({}), { marginMinutes: 15, open: {}, nightCheck: null });
});

let env: TestCentral;
let supervisor: ReturnType<typeof apiClient>;
let operator: ReturnType<typeof apiClient>;
const SUPERVISOR = { username: 'sam', password: 'supervisor secret 1' };

test.before(async () => {
  // Supervision is driven by the tests' own clock only.
  env = await startTestCentral({ supervisionIntervalMs: 3_600_000 });
  await upsertOperator(
    env.central.pool,
    { username: SUPERVISOR.username, displayName: 'Sam', password: SUPERVISOR.password, role: 'supervisor' },
    'test',
  );
  const url = env.central.httpUrl;
  supervisor = apiClient(url, await loginCookie(url, SUPERVISOR.username, SUPERVISOR.password));
  operator = apiClient(url, await loginCookie(url, OPERATOR.username, OPERATOR.password));
});
test.after.always(() => env?.stop());

/** A raw gateway connection that sends events of its site, in order. */
async function gatewayOf(siteId: string, gatewayId: string) {
  const client: MqttClient = await connectAsGateway(env, siteId, gatewayId);
  let seq = 0;
  return {
    client,
    async send(type: EventTypeName, qualifier: 'event' | 'restore', at: number, text = '') {
      const event = { ...centralEvent(type, qualifier, { siteId, gatewayId }, at, null, text), seq: ++seq };
      await client.publishAsync(topicFor(siteId, gatewayId, 'event'), encode(event), { qos: 1 });
      await eventually(
        async () => (await env.central.pool.query('SELECT 1 FROM events WHERE id = $1', [event.id])).rowCount,
        `event ${type} stored`,
      );
      return event;
    },
  };
}

async function eventsOf(siteId: string, types: string[]) {
  const { rows } = await env.central.pool.query<{
    id: string;
    event_type: string;
    qualifier: string;
    occurred_at: Date;
    text: string;
    relates_to: string | null;
  }>(
    `SELECT id, event_type, qualifier, occurred_at, text, relates_to FROM events
      WHERE site_id = $1 AND event_type = ANY($2) ORDER BY received_at, id`,
    [siteId, types],
  );
  return rows;
}

async function alarmOf(eventId: string) {
  const { rows } = await env.central.pool.query<{ id: string; status: string; close_reason: string | null }>(
    'SELECT id::text, status, close_reason FROM alarms WHERE event_id = $1',
    [eventId],
  );
  return rows[0];
}

test.serial(
  'schedule supervision: late arming and disarming outside the hours raise their alarms',
  async (t) => {
    const gw = await gatewayOf('site-office', 'gw-office');
    t.teardown(() => gw.client.endAsync());
    await env.central.pool.query(`UPDATE sites SET kind = 'business' WHERE id = 'site-office'`);
    const patched = await supervisor('PATCH', '/api/sites/site-office', {
      schedule: { ...OFFICE, nightCheck: '23:30' },
    });
    t.is(patched.status, 200, JSON.stringify(patched.body));
    // Judge the week of Monday 2026-11-16 as if the schedule had been set at its start.
    await env.central.pool.query(`UPDATE sites SET schedule_checked_until = $2 WHERE id = $1`, [
      'site-office',
      new Date(local('2026-11-16T00:00')),
    ]);

    // Monday: opened 08:05, armed 17:50; the 18:15 deadline and the night check pass quietly.
    await gw.send('opening-closing', 'event', local('2026-11-16T08:05'), 'disarmed by user 1');
    await gw.send('opening-closing', 'restore', local('2026-11-16T17:50'), 'armed by user 1');
    await env.central.superviseOnce(local('2026-11-17T00:00'));
    t.deepEqual(await eventsOf('site-office', ['not-yet-armed', 'disarm-outside-schedule']), []);

    // Tuesday: opened 07:50 (within the margin), still disarmed at 18:15.
    await gw.send('opening-closing', 'event', local('2026-11-17T07:50'), 'disarmed by user 1');
    await env.central.superviseOnce(local('2026-11-17T18:14'));
    t.deepEqual(await eventsOf('site-office', ['not-yet-armed']), []);
    await env.central.superviseOnce(local('2026-11-17T18:16'));
    const [late] = await eventsOf('site-office', ['not-yet-armed']);
    t.truthy(late);
    t.is(late!.occurred_at.getTime(), local('2026-11-17T18:15'), 'dated at the deadline');
    t.regex(late!.text, /not armed by 18:00 \+ 15 min/);
    const lateAlarm = await eventually(() => alarmOf(late!.id), 'the not-yet-armed alarm');
    t.is(lateAlarm.status, 'open');
    await eventually(
      async () =>
        (await supervisor('GET', '/api/alarms')).body.alarms.find(
          (a: { eventId: string }) => a.eventId === late!.id,
        )?.proposal,
      'the engine to propose a step',
    );
    await env.central.superviseOnce(local('2026-11-17T18:30'));
    t.is((await eventsOf('site-office', ['not-yet-armed'])).length, 1, 'each deadline is judged once');

    // Armed at 18:40: the arming-fault handling ends by itself.
    await gw.send('opening-closing', 'restore', local('2026-11-17T18:40'), 'armed by user 1');
    const closed = await eventually(async () => {
      const alarm = await alarmOf(late!.id);
      return alarm?.status === 'closed' ? alarm : null;
    }, 'the late-arming alarm to close');
    t.is(closed.close_reason, 'a correct arming followed');

    // Tuesday 23:40: someone disarms at night.
    const night = await gw.send('opening-closing', 'event', local('2026-11-17T23:40'), 'disarmed by user 3');
    const [outside] = await eventually(async () => {
      const rows = await eventsOf('site-office', ['disarm-outside-schedule']);
      return rows.length > 0 ? rows : null;
    }, 'the disarm-outside-schedule event');
    t.is(outside!.occurred_at.getTime(), Date.parse(night.occurredAt));
    t.regex(
      outside!.text,
      /disarmed by user 3 at Tue 23:40, outside the schedule \(Mon 08:00–18:00, .* ±15 min, night check 23:30\)/,
    );
    t.truthy(await eventually(() => alarmOf(outside!.id), 'its alarm'));
    // Still disarmed at Wednesday's 23:30 night check (but Wednesday 18:15 too): two deadlines missed.
    await env.central.superviseOnce(local('2026-11-18T23:31'));
    const lates = await eventsOf('site-office', ['not-yet-armed']);
    t.deepEqual(
      lates.map((e) => DateTime.fromJSDate(e.occurred_at, { zone: ZONE }).toFormat('ccc HH:mm')),
      ['Tue 18:15', 'Wed 18:15', 'Wed 23:30'],
    );
    t.is(env.metrics.get('schedule_violations_total', { kind: 'not-yet-armed' }), 3);
  },
);

test.serial(
  'a missing periodic test report is raised once per interval and restored by the next report',
  async (t) => {
    const gw = await gatewayOf('site-test', 'gw-test');
    t.teardown(() => gw.client.endAsync());
    t.is(
      (await supervisor('PATCH', '/api/sites/site-test', { testIntervalMinutes: 60, testGraceMinutes: 10 }))
        .status,
      200,
    );
    const t0 = Date.now() - 3_600_000;
    await gw.send('periodic-test', 'event', t0, 'periodic test');

    await env.central.superviseOnce(t0 + 69 * 60_000);
    t.deepEqual(await eventsOf('site-test', ['test-missing']), []);
    await env.central.superviseOnce(t0 + 71 * 60_000);
    await env.central.superviseOnce(t0 + 72 * 60_000);
    let missing = await eventsOf('site-test', ['test-missing']);
    t.deepEqual(
      missing.map((e) => e.text),
      ['1 consecutive test report(s) missing (expected every 1 h)'],
    );
    await env.central.superviseOnce(t0 + 131 * 60_000);
    missing = await eventsOf('site-test', ['test-missing']);
    t.is(missing.length, 2);
    t.regex(missing[1]!.text, /^2 consecutive/);

    await gw.send('periodic-test', 'event', t0 + 135 * 60_000, 'periodic test');
    const restore = await eventually(
      async () => (await eventsOf('site-test', ['test-missing'])).find((e) => e.qualifier === 'restore'),
      'the test-missing restore',
    );
    t.is(restore.relates_to, missing[1]!.id, 'the restore names the last miss');
    const { rows } = await env.central.pool.query(
      'SELECT missed FROM test_supervision WHERE gateway_id = $1',
      ['gw-test'],
    );
    t.is(rows[0].missed, 0);
    await env.central.superviseOnce(t0 + 190 * 60_000);
    t.is(
      (await eventsOf('site-test', ['test-missing'])).length,
      3,
      'counting starts again from the last report',
    );
  },
);

test.serial('a known regional power outage holds mains failures in its region until it ends', async (t) => {
  const gw = await gatewayOf('site-region', 'gw-region');
  t.teardown(() => gw.client.endAsync());
  t.is((await supervisor('PATCH', '/api/sites/site-region', { region: 'NL-AMS-12' })).status, 200);
  t.is((await operator('PUT', '/api/regional-outages/NL-AMS-12')).status, 403, 'supervisors declare outages');
  const declared = await supervisor('PUT', '/api/regional-outages/NL-AMS-12');
  t.deepEqual(declared.body, { region: 'NL-AMS-12', active: true, sites: 1 });
  t.is((await operator('GET', '/api/regional-outages')).body.outages[0].startedBy, 'operator:sam');
  t.true((await operator('GET', '/api/sites/site-region')).body.regionalOutage);

  const mains = await gw.send('mains-loss', 'event', Date.now(), 'mains lost');
  const alarm = await eventually(() => alarmOf(mains.id), 'the mains alarm');
  const held = await eventually(async () => {
    const { rows } = await env.central.pool.query(
      `SELECT action, target, reason FROM alarm_actions WHERE alarm_id = $1 AND target = 'regional outage'`,
      [alarm.id],
    );
    return rows[0];
  }, 'the hold');
  t.regex(held.reason, /regional power outage/);

  const ended = await supervisor('DELETE', '/api/regional-outages/NL-AMS-12');
  t.is(ended.body.active, false);
  const released = await eventually(async () => {
    const { rows } = await env.central.pool.query(
      `SELECT action, reason FROM alarm_actions WHERE alarm_id = $1 AND action = 'release'`,
      [alarm.id],
    );
    return rows[0];
  }, 'the release');
  t.is(released.reason, 'the regional outage ended without a restore at this site');
  const { rows } = await env.central.pool.query(
    `SELECT action, actor FROM audit_log WHERE subject = 'NL-AMS-12' ORDER BY id`,
  );
  t.deepEqual(
    rows.map((r) => `${r.action} by ${r.actor}`),
    ['regional-outage.start by operator:sam', 'regional-outage.end by operator:sam'],
  );
});

test.serial(
  'test mode: by phone with ID code + PIN for at most 24 h; longer only on a written request',
  async (t) => {
    const gw = await gatewayOf('site-move', 'gw-move');
    t.teardown(() => gw.client.endAsync());
    const pool = env.central.pool;
    const anna = await createContact(pool, { siteId: 'site-move', name: 'Anna', role: 'authorised' }, 'test');
    await changePin(pool, 'site-move', anna.idCode, anna.defaultPin, '2468', 'test');

    const tooLong = await operator('PUT', '/api/sites/site-move/test-mode', {
      authority: 'phone',
      minutes: 24 * 60 + 1,
      idCode: anna.idCode,
      pin: '2468',
    });
    t.is(tooLong.status, 400);
    t.regex(tooLong.body.error, /minutes/);
    const wrongPin = await operator('PUT', '/api/sites/site-move/test-mode', {
      authority: 'phone',
      minutes: 120,
      idCode: anna.idCode,
      pin: '1111',
    });
    t.deepEqual(wrongPin, { status: 403, body: { error: 'code not accepted' } });

    // A keyholder's valid code does not do: test mode is for authorised persons.
    const kees = await createContact(pool, { siteId: 'site-move', name: 'Kees', role: 'keyholder' }, 'test');
    await changePin(pool, 'site-move', kees.idCode, kees.defaultPin, '1357', 'test');
    t.is(
      (
        await operator('PUT', '/api/sites/site-move/test-mode', {
          authority: 'phone',
          minutes: 60,
          idCode: kees.idCode,
          pin: '1357',
        })
      ).status,
      403,
    );

    const byPhone = await operator('PUT', '/api/sites/site-move/test-mode', {
      authority: 'phone',
      minutes: 120,
      idCode: anna.idCode,
      pin: '2468',
    });
    t.is(byPhone.status, 200);
    t.true(Math.abs(Date.parse(byPhone.body.testModeUntil) - (Date.now() + 120 * 60_000)) < 10_000);

    // While in test, an alarm is recorded but not acted on.
    const burglary = await gw.send('burglary-interior', 'event', Date.now(), 'hall PIR');
    const alarm = await eventually(() => alarmOf(burglary.id), 'the alarm');
    const noAction = await eventually(async () => {
      const { rows } = await pool.query(
        'SELECT action, reason FROM alarm_actions WHERE alarm_id = $1 ORDER BY id',
        [alarm.id],
      );
      // Wait for the decision itself, not for whichever row the engine writes first.
      return rows.some((r) => /test mode/.test(r.reason ?? '')) ? rows : null;
    }, 'the engine decision');
    t.false(noAction.some((r) => r.action === 'call'));

    const written = { authority: 'written', minutes: 14 * 24 * 60, reference: 'letter 2026-118 (moving)' };
    t.is((await operator('PUT', '/api/sites/site-move/test-mode', written)).status, 403);
    t.is((await supervisor('PUT', '/api/sites/site-move/test-mode', written)).status, 200);
    t.is((await operator('DELETE', '/api/sites/site-move/test-mode')).body.testModeUntil, null);
    t.is((await operator('GET', '/api/sites/site-move')).body.testModeUntil, null);

    const { rows } = await pool.query(
      `SELECT action, actor, detail FROM audit_log WHERE subject = 'site-move' AND action LIKE 'site.test-mode%' ORDER BY id`,
    );
    t.deepEqual(
      rows.map((r) => [r.action, r.actor, r.detail.authority ?? null]),
      [
        ['site.test-mode.start', 'operator:alice', 'phone'],
        ['site.test-mode.start', 'operator:sam', 'written'],
        ['site.test-mode.end', 'operator:alice', null],
      ],
    );
  },
);

test.serial('site settings: supervisors only, validated with reasons, installers must exist', async (t) => {
  const gw = await gatewayOf('site-settings', 'gw-settings');
  t.teardown(() => gw.client.endAsync());
  t.is((await operator('PATCH', '/api/sites/site-settings', { region: 'X' })).status, 403);
  const badSchedule = await supervisor('PATCH', '/api/sites/site-settings', {
    schedule: { open: { 1: { from: '18:00', to: '08:00' } } },
  });
  t.is(badSchedule.status, 400);
  t.regex(badSchedule.body.error, /opening hours must end after they start/);
  t.is((await supervisor('PATCH', '/api/sites/site-settings', {})).status, 400);
  t.is((await supervisor('PATCH', '/api/sites/site-settings', { colour: 'red' })).status, 400);
  t.deepEqual(await supervisor('PATCH', '/api/sites/site-settings', { installerId: 9999 }), {
    status: 400,
    body: { error: 'no such installer' },
  });
  t.is((await supervisor('PATCH', '/api/sites/nowhere', { region: 'X' })).status, 404);

  const badInstaller = await supervisor('POST', '/api/installers', {
    company: 'A',
    name: 'B',
    email: 'nope',
  });
  t.is(badInstaller.status, 400);
  const created = await supervisor('POST', '/api/installers', {
    company: 'Alarmtechniek BV',
    name: 'Ivo',
    email: 'ivo@example.test',
    phone: '+31 20 555 1234',
  });
  t.is(created.status, 201);
  t.is((await supervisor('PATCH', '/api/sites/site-settings', { installerId: created.body.id })).status, 200);
  const site = await operator('GET', '/api/sites/site-settings');
  t.is(site.body.installer.company, 'Alarmtechniek BV');
  const badStep = await supervisor('PATCH', '/api/sites/site-settings', {
    overrides: { technical: [{ do: 'teleport' }] },
  });
  t.is(badStep.status, 400);
  t.regex(badStep.body.error, /overrides\.technical/);
  t.is(
    (
      await supervisor('PATCH', '/api/sites/site-settings', {
        overrides: { 'no-such-procedure': [{ do: 'finish' }] },
      })
    ).status,
    400,
  );
  t.true(env.metrics.get('http_errors_total', { status: '400' }) >= 7);

  // The site's own procedure for technical alarms: e-mail the customer, then close.
  const own = await supervisor('PATCH', '/api/sites/site-settings', {
    formula: 'FULL',
    premisesPhone: '+31 20 555 0000',
    overrides: {
      technical: [
        { do: 'email', to: 'customer' },
        { do: 'close', reason: 'e-mailed to the customer' },
      ],
    },
  });
  t.is(own.status, 200, JSON.stringify(own.body));
  const water = await gw.send('water', 'event', Date.now(), 'kitchen');
  const alarm = await eventually(() => alarmOf(water.id), 'the water alarm');
  const trail = await eventually(async () => {
    const { rows } = await env.central.pool.query(
      'SELECT action, target, reason FROM alarm_actions WHERE alarm_id = $1 ORDER BY id',
      [alarm.id],
    );
    return rows.some((r) => r.action === 'by-hand') ? rows : null;
  }, 'the override to run');
  // This central has no SMTP server: the e-mail is an operator's task, never claimed as sent.
  t.deepEqual(
    trail.map((r) => [r.action, r.target]),
    [
      ['start', 'technical'],
      ['by-hand', 'email customer'],
    ],
  );
  const { rows } = await env.central.pool.query(
    `SELECT detail FROM audit_log WHERE subject = 'site-settings' AND action = 'site.settings' ORDER BY id DESC LIMIT 1`,
  );
  t.is(rows[0].detail.formula, 'FULL');
});

test.serial(
  'contacts: entered by supervisors, codes shown once, as many as the contract includes',
  async (t) => {
    await env.addGateway('site-home', 'gw-home');
    const add = (contact: object) => supervisor('POST', '/api/sites/site-home/contacts', contact);
    t.is(
      (await operator('POST', '/api/sites/site-home/contacts', { name: 'X', role: 'keyholder' })).status,
      403,
    );
    const bad = await add({ name: 'Kees', role: 'keyholder', phone: 'call me' });
    t.is(bad.status, 400);
    t.regex(bad.body.error, /phone/);

    const kees = await add({ name: 'Kees', role: 'keyholder', order: 1, mobile: '+31 6 1111 1111' });
    t.is(kees.status, 201);
    t.regex(kees.body.idCode, /^\d{6}$/);
    t.regex(kees.body.defaultPin, /^\d{6}$/);
    t.is((await add({ name: 'Karin', role: 'keyholder', order: 2 })).status, 201);
    t.is((await add({ name: 'Anna', role: 'authorised' })).status, 201);
    const fourth = await add({ name: 'Piet', role: 'keyholder', order: 3 });
    t.deepEqual(fourth, {
      status: 409,
      body: { error: 'a residential contract includes at most 3 contacts' },
    });

    const listed = (await operator('GET', '/api/sites/site-home/contacts')).body.contacts;
    t.deepEqual(
      listed.map((c: { name: string; role: string; pinMustChange: boolean }) => [
        c.name,
        c.role,
        c.pinMustChange,
      ]),
      [
        ['Kees', 'keyholder', true],
        ['Karin', 'keyholder', true],
        ['Anna', 'authorised', true],
      ],
    );
    t.false(JSON.stringify(listed).includes(kees.body.idCode), 'ID codes are not listed');
  },
);
