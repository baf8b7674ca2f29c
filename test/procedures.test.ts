import test from 'ava';
import { parseLines, type ScenarioInput, simulate } from '../central/procedures/simulate.ts';

// Saturday 21 November 2026, 10:00 in Amsterdam (09:00 UTC): outside working hours, inside 09–22.
const T = Date.UTC(2026, 10, 21, 9, 0, 0);
const MONDAY_10 = Date.UTC(2026, 10, 23, 9, 0, 0);
const at = (base: number, seconds: number) => new Date(base + seconds * 1000).toISOString();

const SITE = {
  id: 'home',
  name: 'Jansen',
  activatedAt: '2026-01-01T00:00:00Z',
  premisesPhone: '+31201110000',
  contacts: [
    {
      id: 'a',
      name: 'Anna (authorised)',
      role: 'authorised',
      order: 1,
      phone: '+31600000001',
      mobile: '+31600000001',
    },
    { id: 'k1', name: 'Kees', role: 'keyholder', order: 1, phone: '+31600000011', mobile: '+31600000011' },
    { id: 'k2', name: 'Karin', role: 'keyholder', order: 2, phone: '+31200000012' },
    { id: 'k3', name: 'Koen', role: 'keyholder', order: 3, mobile: '+31600000013' },
  ],
};

/** Actions as `+seconds action target`, relative to `base`; `start` and `count-handling` left out unless asked. */
function run(site: Record<string, unknown>, lines: ScenarioInput[], base = T, keep: string[] = []): string[] {
  const inputs = parseLines(lines.map((l) => JSON.stringify(l)).join('\n'));
  return simulate({ ...SITE, ...site }, inputs)
    .filter((a) => !['start', 'count-handling'].includes(a.action) || keep.includes(a.action))
    .map((a) => `+${Math.round((Date.parse(a.time) - base) / 1000)} ${a.action} ${a.target}`);
}

const ev = (seconds: number, eventType: string, extra: Record<string, unknown> = {}, base = T) =>
  ({ at: at(base, seconds), type: 'event', eventType, zone: 2, ref: 'A', ...extra }) as ScenarioInput;
const outcome = (seconds: number, what: string, base = T, alarm = 'A') =>
  ({ at: at(base, seconds), type: 'outcome', alarm, outcome: what }) as ScenarioInput;

const ALL_KEYHOLDERS_TWICE = [
  '+30 call keyholder 1 Kees +31600000011',
  '+60 call keyholder 2 Karin +31200000012',
  '+90 call keyholder 3 Koen +31600000013',
  '+120 call keyholder 1 Kees +31600000011',
  '+150 call keyholder 2 Karin +31200000012',
  '+180 call keyholder 3 Koen +31600000013',
  '+210 sms Kees +31600000011, Koen +31600000013',
];

// --- §5 Burglary ------------------------------------------------------------------------------

test('burglary, verified and not disarmed: police at once, then premises and keyholders', (t) => {
  const actions = run({}, [
    ev(0, 'burglary-interior', { verified: true }),
    outcome(10, 'answered-valid-code'),
  ]);
  t.deepEqual(actions, ['+0 dispatch police', '+0 call premises +31201110000', '+10 present operator']);
});

test('burglary, unverified, nobody answers: premises 30 s, keyholders in order twice, SMS, no police; authorised persons never called', (t) => {
  const actions = run({}, [ev(0, 'burglary-perimeter')]);
  t.deepEqual(actions, ['+0 call premises +31201110000', ...ALL_KEYHOLDERS_TWICE, '+210 present operator']);
  t.false(actions.some((a) => a.includes('Anna')));
});

test('burglary: premises answer without a valid code and no keyholder is reached: police', (t) => {
  const actions = run({}, [ev(0, 'burglary'), outcome(5, 'answered-invalid-code')]);
  t.deepEqual(actions.slice(0, 2), [
    '+0 call premises +31201110000',
    '+5 call keyholder 1 Kees +31600000011',
  ]);
  t.deepEqual(actions.slice(-3), [
    '+185 sms Kees +31600000011, Koen +31600000013',
    '+185 dispatch police',
    '+185 present operator',
  ]);
});

test('burglary: a keyholder with a valid code ends the calling, no police', (t) => {
  const actions = run({}, [
    ev(0, 'burglary'),
    outcome(5, 'answered-invalid-code'),
    outcome(20, 'no-answer'),
    outcome(40, 'answered-valid-code'),
  ]);
  t.deepEqual(actions, [
    '+0 call premises +31201110000',
    '+5 call keyholder 1 Kees +31600000011',
    '+20 call keyholder 2 Karin +31200000012',
    '+40 present operator',
  ]);
});

test('burglary verified during the calls: police then; disarmed before the verification: no police at once', (t) => {
  const verifiedLater = run({}, [
    ev(0, 'burglary-interior'),
    ev(20, 'alarm-verified', { ref: 'V', relatesTo: 'A' }),
  ]);
  t.deepEqual(verifiedLater.slice(0, 2), ['+0 call premises +31201110000', '+20 dispatch police']);
  const disarmed = run({}, [
    ev(0, 'burglary-interior'),
    ev(10, 'opening-closing', { ref: 'O' }),
    ev(20, 'alarm-verified', { ref: 'V', relatesTo: 'A' }),
  ]);
  t.false(
    disarmed.slice(0, 3).includes('+20 dispatch police'),
    'burglary is still handled, by calling first',
  );
  t.is(disarmed[0], '+0 call premises +31201110000');
});

// --- §5 Hold-up, panic, duress --------------------------------------------------------------

test('hold-up verified: police at once', (t) => {
  t.deepEqual(run({}, [ev(0, 'holdup', { verified: true })]), ['+0 dispatch police', '+0 present operator']);
});

test('panic unverified: call the counter 30 s; no answer: police at lower priority; a valid code: no police', (t) => {
  const site = { kind: 'business', counterPhone: '+31201119999' };
  t.deepEqual(run(site, [ev(0, 'panic')]), [
    '+0 call counter +31201119999',
    '+30 dispatch police (low priority)',
    '+30 present operator',
  ]);
  t.deepEqual(run(site, [ev(0, 'panic'), outcome(12, 'answered-valid-code')]), [
    '+0 call counter +31201119999',
    '+12 present operator',
  ]);
  t.deepEqual(
    run(site, [ev(0, 'duress'), outcome(12, 'answered-invalid-code')]),
    ['+0 call counter +31201119999', '+12 dispatch police (low priority)', '+12 present operator'],
    'duress is handled exactly as hold-up',
  );
});

// --- §5 Fire ----------------------------------------------------------------------------------

test('fire, certified panel: the fire brigade at once (manual call point, or automatic outside working hours)', (t) => {
  const certified = { certifiedFirePanel: true };
  t.is(run(certified, [ev(0, 'fire')])[0], '+0 dispatch fire');
  t.is(run(certified, [ev(0, 'smoke')])[0], '+0 dispatch fire', 'Saturday: outside working hours');
});

test('fire, certified, automatic within working hours: call first; dispatch after 3 minutes without reaction', (t) => {
  const certified = { certifiedFirePanel: true };
  const noReaction = run(certified, [ev(0, 'smoke', {}, MONDAY_10)], MONDAY_10);
  t.deepEqual(noReaction.slice(0, 2), ['+0 wait dispatch fire', '+0 call premises +31201110000']);
  t.true(noReaction.includes('+180 dispatch fire'));
  const reacted = run(
    certified,
    [ev(0, 'smoke', {}, MONDAY_10), outcome(20, 'answered-valid-code', MONDAY_10)],
    MONDAY_10,
  );
  t.false(reacted.some((a) => /^\+\d+ dispatch fire/.test(a)));
});

test('fire, not certified: premises, keyholders, then consult the fire brigade', (t) => {
  const actions = run({}, [ev(0, 'smoke')]);
  t.deepEqual(actions.slice(-2), ['+210 consult fire brigade', '+210 present operator']);
  t.false(actions.some((a) => a.includes('dispatch')));
});

// --- §5 Medical, tamper, exit error, arming ----------------------------------------------------

test('medical: premises, keyholders, then consult the police', (t) => {
  t.deepEqual(run({}, [ev(0, 'medical')]).slice(-2), ['+210 consult police', '+210 present operator']);
});

test('tamper: premises then keyholders; with another priority alarm (verified): police at once', (t) => {
  t.is(run({}, [ev(0, 'sensor-tamper')])[0], '+0 call premises +31201110000');
  t.is(run({}, [ev(0, 'tamper', { verified: true })])[0], '+0 dispatch police');
});

test('exit error: no action if a correct arming follows at once; otherwise premises, keyholders', (t) => {
  t.deepEqual(run({}, [ev(0, 'exit-error'), ev(15, 'opening-closing', { qualifier: 'restore', ref: 'C' })]), [
    '+0 wait restore',
    '+15 close A',
  ]);
  t.deepEqual(run({}, [ev(0, 'exit-error')]).slice(0, 2), [
    '+0 wait restore',
    '+60 call premises +31201110000',
  ]);
});

test('failed arming / not armed in time: calling stops when a correct arming arrives', (t) => {
  const actions = run({ kind: 'business' }, [
    ev(0, 'not-yet-armed'),
    ev(100, 'opening-closing', { qualifier: 'restore', ref: 'C' }),
  ]);
  t.deepEqual(actions, [
    '+0 wait restore',
    '+60 call premises +31201110000',
    '+90 call keyholder 1 Kees +31600000011',
    '+100 close A',
  ]);
});

// --- §5 Connection loss, tests, batteries, component, mains -----------------------------------

const NIGHT = Date.UTC(2026, 10, 21, 22, 0, 0); // 23:00 in Amsterdam
const HOURS_TO_9 = 10 * 3600; // 23:00 → 09:00

test('connection: both paths lost → at once; one path at night → held until 09:00, or closed if restored', (t) => {
  t.is(run({}, [ev(0, 'all-paths-failure', {}, NIGHT)], NIGHT)[0], '+0 call premises +31201110000');
  const held = run({}, [ev(0, 'path-failure', {}, NIGHT)], NIGHT);
  t.deepEqual(held.slice(0, 3), [
    '+0 hold window',
    `+${HOURS_TO_9} release window`,
    `+${HOURS_TO_9} call premises +31201110000`,
  ]);
  const restored = run(
    {},
    [
      ev(0, 'path-failure', {}, NIGHT),
      ev(7200, 'path-failure', { qualifier: 'restore', ref: 'R', relatesTo: 'A' }, NIGHT),
    ],
    NIGHT,
  );
  t.deepEqual(restored, ['+0 hold window', '+7200 close A']);
});

test('missed test report: business at once, residential held at night; after 3 missed, not handled until a test arrives', (t) => {
  t.is(
    run({ kind: 'business' }, [ev(0, 'test-missing', {}, NIGHT)], NIGHT)[0],
    '+0 call premises +31201110000',
  );
  t.is(run({}, [ev(0, 'test-missing', {}, NIGHT)], NIGHT)[0], '+0 hold window');
  const day = 86_400;
  const fourth = run({ kind: 'business' }, [
    ev(0, 'test-missing', { ref: 'A' }),
    outcome(1, 'cancel-valid-code'),
    ev(day, 'test-missing', { ref: 'B' }),
    outcome(day + 1, 'cancel-valid-code', T, 'B'),
    ev(2 * day, 'test-missing', { ref: 'C' }),
    outcome(2 * day + 1, 'cancel-valid-code', T, 'C'),
    ev(3 * day, 'test-missing', { ref: 'D' }),
    ev(4 * day, 'periodic-test', { ref: 'P' }),
    ev(5 * day, 'test-missing', { ref: 'E' }),
  ]);
  t.true(fourth.includes(`+${3 * day} close D`), 'the fourth is closed without calls');
  t.false(fourth.includes(`+${3 * day} call premises +31201110000`));
  t.true(fourth.includes(`+${5 * day} call premises +31201110000`), 'handled again after a test arrived');
});

test('battery low at night: held until 09:00; system battery with mains loss: at once', (t) => {
  t.is(run({}, [ev(0, 'device-battery-low', {}, NIGHT)], NIGHT)[0], '+0 hold window');
  const withMains = run(
    { mainsDelayMinutes: 0 },
    [ev(0, 'mains-loss', { ref: 'M' }, NIGHT), ev(5, 'system-battery-low', { ref: 'B' }, NIGHT)],
    NIGHT,
  );
  t.true(withMains.includes('+5 call premises +31201110000'));
});

test('component failure: no action if restored within 3 minutes; otherwise act at 3 minutes', (t) => {
  t.deepEqual(
    run({}, [
      ev(0, 'device-supervision-loss'),
      ev(100, 'device-supervision-loss', { qualifier: 'restore', ref: 'R', relatesTo: 'A' }),
    ]),
    ['+0 wait restore', '+100 close A'],
  );
  t.deepEqual(run({}, [ev(0, 'device-supervision-loss')]).slice(0, 2), [
    '+0 wait restore',
    '+180 call premises +31201110000',
  ]);
});

test('mains failure: wait the contract delay; no action if restored; regional outage suppresses unless it ends without a restore', (t) => {
  t.deepEqual(
    run({}, [ev(0, 'mains-loss'), ev(600, 'mains-loss', { qualifier: 'restore', ref: 'R', relatesTo: 'A' })]),
    ['+0 wait restore', '+600 close A'],
  );
  t.is(run({}, [ev(0, 'mains-loss')])[1], '+900 call premises +31201110000');
  t.is(
    run({ mainsDelayMinutes: 30 }, [ev(0, 'mains-loss')])[1],
    '+1800 call premises +31201110000',
    'a per-contract setting',
  );
  const outage = [
    { at: at(T, -60), type: 'regional-outage', active: true } as ScenarioInput,
    ev(0, 'mains-loss'),
  ];
  t.deepEqual(
    run({}, [...outage, { at: at(T, 3600), type: 'regional-outage', active: false } as ScenarioInput]).slice(
      0,
      3,
    ),
    ['+0 hold regional outage', '+3600 release regional outage', '+3600 call premises +31201110000'],
  );
  t.deepEqual(
    run({}, [...outage, ev(1200, 'mains-loss', { qualifier: 'restore', ref: 'R', relatesTo: 'A' })]),
    ['+0 hold regional outage', '+1200 close A'],
  );
});

// --- §6 Formulas and SMS escalation ------------------------------------------------------------

test('formula APP: technical alarms go to the customer app', (t) => {
  t.deepEqual(run({ formula: 'APP' }, [ev(0, 'water')]), ['+0 push customer app', '+0 close A']);
  t.is(
    run({ formula: 'APP' }, [ev(0, 'burglary')])[0],
    '+0 call premises +31201110000',
    'security stays with operators',
  );
});

test('formula MIX: SMS to contacts one by one every 90 s; "ok" closes; any other reply needs an operator now', (t) => {
  const mobiles = [
    '+0 sms Anna (authorised) +31600000001',
    '+90 sms Kees +31600000011',
    '+180 sms Koen +31600000013',
  ];
  const nobody = run({ formula: 'MIX' }, [ev(0, 'water')]);
  t.deepEqual(nobody.slice(0, 5), [...mobiles, '+270 present operator', '+270 call premises +31201110000']);
  t.deepEqual(
    run({ formula: 'MIX' }, [ev(0, 'water'), { at: at(T, 100), type: 'sms-reply', alarm: 'A', text: 'OK ' }]),
    [mobiles[0], mobiles[1], '+100 close A'],
  );
  const other = run({ formula: 'MIX' }, [
    ev(0, 'water'),
    { at: at(T, 20), type: 'sms-reply', alarm: 'A', text: '' },
  ]);
  t.deepEqual(other.slice(0, 3), [mobiles[0], '+20 present operator', '+20 call premises +31201110000']);
});

// --- §7 Test period, test mode, cancel, undefined codes, cards, quota ---------------------------

test('first 14 days: never police or fire brigade, only the customer and contacts', (t) => {
  const actions = run({ activatedAt: at(T, -3 * 86_400), certifiedFirePanel: true }, [
    ev(0, 'burglary', { verified: true }),
  ]);
  t.deepEqual(actions.slice(0, 2), ['+0 no-dispatch police', '+0 call premises +31201110000']);
});

test('test mode: no action', (t) => {
  t.deepEqual(run({ testModeUntil: at(T, 3600) }, [ev(0, 'burglary', { verified: true })]), ['+0 close A']);
});

test('site overrides: a battery alarm e-mailed to the customer within a narrower window', (t) => {
  // Saturday 21:30 local (20:30 UTC): inside 09–22, but this customer wants messages only until 21:00.
  const evening = Date.UTC(2026, 10, 21, 20, 30, 0);
  const overrides = {
    battery: [{ do: 'window' }, { do: 'email', to: 'customer' }, { do: 'close', reason: 'e-mailed' }],
  };
  t.deepEqual(
    run(
      { overrides, actWindow: { from: '08:00', to: '21:00' } },
      [ev(0, 'device-battery-low', {}, evening)],
      evening,
    ),
    ['+0 hold window', '+37800 release window', '+37800 email customer', '+37800 close A'],
    'held from 21:30 until 08:00 the next morning (10.5 h), then e-mailed instead of called',
  );
  t.throws(
    () => run({ overrides: { battery: [{ do: 'call', target: 'neighbour', timeoutSeconds: 30 }] } }, []),
    {
      message: /invalid site:.*\n.*overrides\.battery\[0\]\.target/,
    },
  );
});

test('an authorised person cancels with a valid code: the handling stops', (t) => {
  t.deepEqual(run({}, [ev(0, 'burglary'), outcome(10, 'cancel-valid-code')]), [
    '+0 call premises +31201110000',
    '+10 close A',
  ]);
});

test('undefined alarm codes: the installer is told once, then they are ignored', (t) => {
  const actions = run({}, [ev(0, 'undefined-alarm'), ev(60, 'undefined-alarm', { ref: 'B' })]);
  t.deepEqual(actions, ['+0 notify-installer installer', '+0 close A', '+60 close B']);
});

test('false alarms: yellow card after 2 in 3 months; red card on another with police: no police for 3 months', (t) => {
  const day = 86_400;
  const actions = run({}, [
    ev(0, 'burglary', { ref: 'A', verified: true }),
    outcome(5, 'close-false'),
    ev(10 * day, 'burglary', { ref: 'B', verified: true }),
    outcome(10 * day + 5, 'close-false', T, 'B'),
    ev(20 * day, 'burglary', { ref: 'C', verified: true }),
    outcome(20 * day + 5, 'close-false', T, 'C'),
    ev(30 * day, 'burglary', { ref: 'D', verified: true }),
  ]);
  t.true(actions.includes(`+${10 * day + 5} notify-installer customer`), 'yellow card');
  t.true(actions.includes(`+${20 * day + 5} notify-installer customer`), 'red card');
  t.true(actions.includes(`+${30 * day} no-dispatch police`));
});

test('the annual quota is counted; handlings beyond it are billable', (t) => {
  const lines = Array.from({ length: 13 }, (_, i) => [
    ev(i * 3600, 'burglary', { ref: `A${i}` }),
    outcome(i * 3600 + 5, 'answered-valid-code', T, `A${i}`),
    outcome(i * 3600 + 6, 'close-real', T, `A${i}`),
  ]).flat();
  const counts = run({}, lines, T, ['count-handling']).filter((a) => a.includes('count-handling'));
  t.is(counts.length, 13);
  t.regex(counts[11]!, /count-handling 12 of 12$/);
  t.regex(counts[12]!, /count-handling 13 of 12$/);
});

test('event files are validated line by line', (t) => {
  t.throws(() => parseLines('{"at":"2026-11-21T10:00:00Z","type":"event","eventType":"alien"}'), {
    message: /events line 1: eventType/,
  });
  t.throws(() => parseLines('# comment\nnot json'), { message: /events line 2: not JSON/ });
});
