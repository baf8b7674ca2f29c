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
  adjacentZones: [
    [1, 2],
    [2, 3],
  ],
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

/**
 * The trail as `+seconds [propose|recorded] action target`, relative to `base`: proposals are the
 * engine's tasks for an operator, `recorded` what an operator recorded, the rest facts. `start`,
 * `count-handling`, `escalate` and `prompt` are left out unless asked.
 */
function run(site: Record<string, unknown>, lines: ScenarioInput[], base = T, keep: string[] = []): string[] {
  const inputs = parseLines(lines.map((l) => JSON.stringify(l)).join('\n'));
  return simulate({ ...SITE, ...site }, inputs)
    .filter(
      (a) => !['start', 'count-handling', 'escalate', 'prompt'].includes(a.action) || keep.includes(a.action),
    )
    .map((a) => {
      const seconds = Math.round((Date.parse(a.time) - base) / 1000);
      if (a.sort === 'proposal') return `+${seconds} propose ${a.action} ${a.target}`;
      if (a.sort === 'outcome') return `+${seconds} recorded ${a.target}`;
      return `+${seconds} ${a.action} ${a.target}`;
    });
}

const ev = (seconds: number, eventType: string, extra: Record<string, unknown> = {}, base = T) =>
  ({ at: at(base, seconds), type: 'event', eventType, zone: 2, ref: 'A', ...extra }) as ScenarioInput;
const outcome = (
  seconds: number,
  what: string,
  base = T,
  alarm = 'A',
  detail: Record<string, unknown> = {},
) => ({ at: at(base, seconds), type: 'outcome', alarm, outcome: what, ...detail }) as ScenarioInput;
const dispatched = (seconds: number, alarm = 'A', service = 'police') =>
  outcome(seconds, 'dispatched', T, alarm, {
    service,
    agency: 'Politie Amsterdam',
    reference: 'P-2611-0042',
  });

const PREMISES = '+0 propose call premises +31201110000';

// --- Steps are tasks; the trail holds only what happened -------------------------------------

test('an alarm nobody handles for 10 minutes: no call in its trail, escalated, still proposing the first call', (t) => {
  const inputs = parseLines(JSON.stringify(ev(0, 'burglary-interior')));
  const trail = simulate(SITE, inputs, T + 600_000);
  t.false(
    trail.some((a) => a.sort === 'outcome'),
    'nothing was recorded as done',
  );
  t.false(
    trail.some((a) => a.sort === 'fact' && a.action === 'call'),
    'no call is a fact',
  );
  t.deepEqual(
    trail
      .filter((a) => a.action === 'escalate')
      .map((a) => `+${(Date.parse(a.time) - T) / 1000} ${a.target}`),
    ['+30 attention', '+90 urgent', '+180 supervisor'],
  );
  t.deepEqual(
    trail.filter((a) => a.sort === 'proposal').map((a) => `${a.action} ${a.target}`),
    ['call premises +31201110000'],
    'the first call is still the next step',
  );
  t.false(trail.some((a) => a.action === 'close'));
});

test('a claim stops the escalation; the answer time runs from when the operator starts the call, and only prompts', (t) => {
  const actions = run(
    {},
    [
      ev(0, 'burglary-interior'),
      { at: at(T, 20), type: 'claim', alarm: 'A' } as ScenarioInput,
      outcome(25, 'call-started'),
      outcome(70, 'no-answer'),
    ],
    T,
    ['escalate', 'prompt'],
  );
  t.deepEqual(
    actions,
    [
      PREMISES,
      '+25 recorded call-started',
      '+55 prompt premises +31201110000',
      '+70 recorded no-answer',
      '+70 propose call keyholder 1 Kees +31600000011',
    ],
    'no escalation once someone has it, not even for the next step',
  );
});

test('outcomes that do not fit the step are refused and change nothing', (t) => {
  const actions = run({}, [
    ev(0, 'burglary-interior'),
    outcome(5, 'dispatched', T, 'A', { agency: 'Politie' }),
    outcome(6, 'consulted'),
    outcome(7, 'close-real'),
  ]);
  t.deepEqual(actions, [PREMISES, '+5 refused dispatched', '+6 refused consulted', '+7 refused close-real']);
});

// --- §5 Burglary ------------------------------------------------------------------------------

test('burglary, verified and not disarmed: police first (agency and reference recorded), then premises and keyholders', (t) => {
  const actions = run({}, [
    ev(0, 'burglary-interior', { verified: true }),
    dispatched(40),
    outcome(50, 'call-started'),
    outcome(60, 'answered-valid-code', T, 'A', { by: 'Mr Jansen' }),
    outcome(70, 'close-real'),
  ]);
  t.deepEqual(actions, [
    '+0 propose dispatch police',
    '+40 recorded dispatched',
    '+40 propose call premises +31201110000',
    '+50 recorded call-started',
    '+60 recorded answered-valid-code',
    '+60 propose present operator',
    '+70 recorded close-real',
    '+70 close A',
  ]);
});

test('a real alarm cannot be closed without the dispatch record, or "not dispatched" with a reason', (t) => {
  const actions = run({}, [
    ev(0, 'burglary-interior'),
    outcome(10, 'answered-valid-code'),
    outcome(20, 'close-real'),
    outcome(30, 'not-dispatched', T, 'A'),
    outcome(40, 'close-false'),
  ]);
  t.deepEqual(actions, [
    PREMISES,
    '+10 recorded answered-valid-code',
    '+10 propose present operator',
    '+20 refused close-real',
    '+30 refused not-dispatched',
    '+40 recorded close-false',
    '+40 close A',
  ]);
});

test('burglary, unverified, nobody answers: premises, keyholders in order twice, SMS, no police; authorised persons never called', (t) => {
  const answers = [10, 20, 30, 40, 50, 60, 70].map((s) => outcome(s, s % 20 === 0 ? 'busy' : 'no-answer'));
  const actions = run({}, [ev(0, 'burglary-perimeter'), ...answers]);
  t.deepEqual(
    actions.filter((a) => a.includes('propose') || a.includes(' sms ')),
    [
      PREMISES,
      '+10 propose call keyholder 1 Kees +31600000011',
      '+20 propose call keyholder 2 Karin +31200000012',
      '+30 propose call keyholder 3 Koen +31600000013',
      '+40 propose call keyholder 1 Kees +31600000011',
      '+50 propose call keyholder 2 Karin +31200000012',
      '+60 propose call keyholder 3 Koen +31600000013',
      '+70 sms Kees +31600000011, Koen +31600000013',
      '+70 propose present operator',
    ],
  );
  t.false(actions.some((a) => a.includes('Anna')));
});

test('burglary: premises answer without a valid code and no keyholder is reached: police', (t) => {
  const actions = run({}, [
    ev(0, 'burglary'),
    outcome(5, 'answered-invalid-code'),
    ...[10, 20, 30, 40, 50, 60].map((s) => outcome(s, 'no-answer')),
  ]);
  t.deepEqual(actions.slice(-2), [
    '+60 sms Kees +31600000011, Koen +31600000013',
    '+60 propose dispatch police',
  ]);
});

test('burglary: a keyholder with a valid code ends the calling, no police', (t) => {
  const actions = run({}, [
    ev(0, 'burglary'),
    outcome(5, 'answered-invalid-code'),
    outcome(20, 'wrong-number'),
    outcome(40, 'answered-valid-code', T, 'A', { by: 'Karin' }),
  ]);
  t.deepEqual(actions, [
    PREMISES,
    '+5 recorded answered-invalid-code',
    '+5 propose call keyholder 1 Kees +31600000011',
    '+20 recorded wrong-number',
    '+20 propose call keyholder 2 Karin +31200000012',
    '+40 recorded answered-valid-code',
    '+40 propose present operator',
  ]);
});

test('burglary verified during the calls: police proposed then, beside the calls; disarmed first: no police at once', (t) => {
  const verifiedLater = run({}, [
    ev(0, 'burglary-interior'),
    ev(20, 'alarm-verified', { ref: 'V', relatesTo: 'A' }),
  ]);
  t.deepEqual(verifiedLater, [
    PREMISES,
    '+20 verify verified at the premises',
    '+20 propose dispatch police',
  ]);
  const disarmed = run({}, [
    ev(0, 'burglary-interior'),
    ev(10, 'opening-closing', { ref: 'O' }),
    ev(20, 'alarm-verified', { ref: 'V', relatesTo: 'A' }),
  ]);
  t.false(
    disarmed.some((a) => a.includes('dispatch')),
    'burglary is still handled, by calling first',
  );
});

// --- One incident per site; the central verifies ---------------------------------------------

test('two detectors in consecutive zones: one incident, verified by the central, police proposed', (t) => {
  const trail = simulate(
    SITE,
    parseLines(
      [ev(0, 'burglary-interior', { zone: 1 }), ev(25, 'burglary-interior', { zone: 2, ref: 'B' })]
        .map((l) => JSON.stringify(l))
        .join('\n'),
    ),
  );
  t.deepEqual(new Set(trail.map((a) => a.alarm)), new Set(['A']), 'one incident');
  t.deepEqual(
    trail
      .filter((a) => ['join', 'verify', 'dispatch'].includes(a.action))
      .map((a) => `${a.action} ${a.target}`),
    ['join burglary-interior', 'verify detectors in consecutive zones 1 and 2', 'dispatch police'],
  );
});

test('tamper then burglary 20 s later from a panel that does not verify: one verified incident, police at once', (t) => {
  const actions = run({}, [ev(0, 'tamper', { zone: 9 }), ev(20, 'burglary', { zone: 4, ref: 'B' })]);
  t.deepEqual(actions, [
    PREMISES,
    '+20 join burglary',
    '+20 verify tamper with another alarm',
    '+20 propose dispatch police',
  ]);
});

test('a hold-up joining a burglary incident outranks it: the incident is handled as a hold-up from there', (t) => {
  const actions = run({ counterPhone: '+31201119999' }, [ev(0, 'burglary'), ev(10, 'panic', { ref: 'P' })]);
  t.deepEqual(actions, [PREMISES, '+10 join panic', '+10 propose call counter +31201119999']);
});

// --- §5 Hold-up, panic, duress --------------------------------------------------------------

test('hold-up verified: police at once', (t) => {
  t.deepEqual(run({}, [ev(0, 'holdup', { verified: true }), dispatched(30)]), [
    '+0 propose dispatch police',
    '+30 recorded dispatched',
    '+30 propose present operator',
  ]);
});

test('panic unverified: call the counter; no answer: police at lower priority; a valid code: no police', (t) => {
  const site = { kind: 'business', counterPhone: '+31201119999' };
  t.deepEqual(run(site, [ev(0, 'panic'), outcome(35, 'no-answer')]), [
    '+0 propose call counter +31201119999',
    '+35 recorded no-answer',
    '+35 propose dispatch police (low priority)',
  ]);
  t.deepEqual(run(site, [ev(0, 'panic'), outcome(12, 'answered-valid-code')]), [
    '+0 propose call counter +31201119999',
    '+12 recorded answered-valid-code',
    '+12 propose present operator',
  ]);
});

test('duress: silent towards the premises — police at once, no call to the premises, no cancel from the portal', (t) => {
  const site = { kind: 'business', counterPhone: '+31201119999' };
  const actions = run(site, [
    ev(0, 'duress'),
    outcome(5, 'cancel-valid-code', T, 'A', { via: 'portal', by: 'Anna' }),
  ]);
  t.deepEqual(actions, ['+0 propose dispatch police', '+5 refused cancel-valid-code']);
  t.false(actions.some((a) => a.includes('counter') || a.includes('premises')));
});

// --- §5 Fire ----------------------------------------------------------------------------------

test('fire, certified panel: the fire brigade at once (manual call point, or automatic outside working hours)', (t) => {
  const certified = { certifiedFirePanel: true };
  t.is(run(certified, [ev(0, 'fire')])[0], '+0 propose dispatch fire brigade');
  t.is(
    run(certified, [ev(0, 'smoke')])[0],
    '+0 propose dispatch fire brigade',
    'Saturday: outside working hours',
  );
});

test('fire, certified, automatic within working hours: call first; dispatch proposed after 3 minutes without reaction', (t) => {
  const certified = { certifiedFirePanel: true };
  const noReaction = run(certified, [ev(0, 'smoke', {}, MONDAY_10)], MONDAY_10);
  t.deepEqual(noReaction, ['+0 wait dispatch fire', PREMISES, '+180 propose dispatch fire brigade']);
  const reacted = run(
    certified,
    [ev(0, 'smoke', {}, MONDAY_10), outcome(20, 'answered-valid-code', MONDAY_10)],
    MONDAY_10,
  );
  t.false(reacted.some((a) => a.includes('dispatch fire brigade')));
});

test('fire, not certified: premises, keyholders, then consult the fire brigade', (t) => {
  const actions = run({}, [
    ev(0, 'smoke'),
    ...[10, 20, 30, 40, 50, 60, 70].map((s) => outcome(s, 'no-answer')),
  ]);
  t.deepEqual(actions.slice(-2), [
    '+70 sms Kees +31600000011, Koen +31600000013',
    '+70 propose consult fire brigade',
  ]);
  t.false(actions.some((a) => a.includes('dispatch')));
});

// --- §5 Medical, tamper, exit error, arming ----------------------------------------------------

test('medical: premises, keyholders, then consult the police; consulted, then close', (t) => {
  const actions = run({}, [
    ev(0, 'medical'),
    ...[10, 20, 30, 40, 50, 60, 70].map((s) => outcome(s, 'no-answer')),
    outcome(80, 'consulted', T, 'A', { note: 'police sends a car' }),
  ]);
  t.deepEqual(actions.slice(-3), [
    '+70 propose consult police',
    '+80 recorded consulted',
    '+80 propose present operator',
  ]);
});

test('tamper: premises then keyholders; verified tamper: police at once', (t) => {
  t.is(run({}, [ev(0, 'sensor-tamper')])[0], PREMISES);
  t.is(run({}, [ev(0, 'tamper', { verified: true })])[0], '+0 propose dispatch police');
});

test('exit error: closed by a correct arming of the same area only; otherwise premises, keyholders', (t) => {
  t.deepEqual(
    run({}, [
      ev(0, 'exit-error', { area: 1 }),
      ev(15, 'opening-closing', { qualifier: 'restore', ref: 'C', area: 1 }),
    ]),
    ['+0 wait restore', '+15 close A'],
  );
  t.deepEqual(
    run({}, [
      ev(0, 'exit-error', { area: 1 }),
      ev(15, 'opening-closing', { qualifier: 'restore', ref: 'C', area: 2 }),
    ]),
    ['+0 wait restore', '+60 propose call premises +31201110000'],
    'arming area 2 does not resolve an exit error in area 1: the premises is called',
  );
});

test('failed arming / not armed in time: calling stops when a correct arming arrives', (t) => {
  const actions = run({ kind: 'business' }, [
    ev(0, 'not-yet-armed'),
    outcome(70, 'no-answer'),
    ev(100, 'opening-closing', { qualifier: 'restore', ref: 'C' }),
  ]);
  t.deepEqual(actions, [
    '+0 wait restore',
    '+60 propose call premises +31201110000',
    '+70 recorded no-answer',
    '+70 propose call keyholder 1 Kees +31600000011',
    '+100 close A',
  ]);
});

// --- §5 Connection loss, tests, batteries, component, mains -----------------------------------

const NIGHT = Date.UTC(2026, 10, 21, 22, 0, 0); // 23:00 in Amsterdam
const HOURS_TO_9 = 10 * 3600; // 23:00 → 09:00

test('connection: both paths lost → at once; one path at night → held until 09:00, or closed if restored', (t) => {
  t.is(run({}, [ev(0, 'all-paths-failure', {}, NIGHT)], NIGHT)[0], PREMISES);
  t.deepEqual(run({}, [ev(0, 'path-failure', {}, NIGHT)], NIGHT), [
    '+0 hold window',
    `+${HOURS_TO_9} release window`,
    `+${HOURS_TO_9} propose call premises +31201110000`,
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
  t.is(run({ kind: 'business' }, [ev(0, 'test-missing', {}, NIGHT)], NIGHT)[0], PREMISES);
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
  t.true(
    fourth.includes(`+${5 * day} propose call premises +31201110000`),
    'handled again after a test arrived',
  );
});

test('battery low at night: held until 09:00; system battery with mains loss: at once', (t) => {
  t.is(run({}, [ev(0, 'device-battery-low', {}, NIGHT)], NIGHT)[0], '+0 hold window');
  const withMains = run(
    {},
    [ev(0, 'mains-loss', { ref: 'M' }, NIGHT), ev(5, 'system-battery-low', { ref: 'B' }, NIGHT)],
    NIGHT,
  );
  t.deepEqual(
    withMains.slice(0, 2),
    ['+0 wait restore', '+5 sms Anna (authorised) +31600000001'],
    'not held: acted on at once',
  );
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
    '+180 sms Anna (authorised) +31600000001',
  ]);
});

test('mains failure: wait the contract delay; no action if restored; a regional outage suppresses it, even one known only later', (t) => {
  t.deepEqual(
    run({}, [ev(0, 'mains-loss'), ev(600, 'mains-loss', { qualifier: 'restore', ref: 'R', relatesTo: 'A' })]),
    ['+0 wait restore', '+600 close A'],
  );
  t.is(run({}, [ev(0, 'mains-loss')])[1], '+900 sms Anna (authorised) +31600000001');
  t.is(
    run({ mainsDelayMinutes: 30 }, [ev(0, 'mains-loss')])[1],
    '+1800 sms Anna (authorised) +31600000001',
    'a per-contract setting',
  );
  const outage = (seconds: number, active: boolean) =>
    ({ at: at(T, seconds), type: 'regional-outage', active }) as ScenarioInput;
  t.deepEqual(run({}, [outage(-60, true), ev(0, 'mains-loss'), outage(3600, false)]).slice(0, 3), [
    '+0 hold regional outage',
    '+3600 release regional outage',
    '+3600 sms Anna (authorised) +31600000001',
  ]);
  t.deepEqual(
    run({}, [
      ev(0, 'mains-loss'),
      outage(300, true),
      ev(1200, 'mains-loss', { qualifier: 'restore', ref: 'R', relatesTo: 'A' }),
    ]),
    ['+0 wait restore', '+300 hold regional outage', '+1200 close A'],
    'mains lost, outage known 5 min later, restore later: nothing',
  );
});

// --- §6 Formulas and SMS escalation ------------------------------------------------------------

test('formula APP: technical alarms go to the customer app; external technical alarms to an operator', (t) => {
  t.deepEqual(run({ formula: 'APP' }, [ev(0, 'water')]), ['+0 push customer app', '+0 close A']);
  t.is(run({ formula: 'APP' }, [ev(0, 'external-technical')])[0], PREMISES, 'an operator in every formula');
  t.is(run({ formula: 'APP' }, [ev(0, 'burglary')])[0], PREMISES, 'security stays with operators');
});

test('formula MIX: SMS to contacts one by one every 90 s; "ok" closes; any other reply needs an operator now', (t) => {
  const mobiles = [
    '+0 sms Anna (authorised) +31600000001',
    '+90 sms Kees +31600000011',
    '+180 sms Koen +31600000013',
  ];
  const nobody = run({ formula: 'MIX' }, [ev(0, 'water')]).filter(
    (a) => !a.includes('sms ') || !a.includes('no "ok"'),
  );
  t.deepEqual(nobody.filter((a) => a.includes(' sms ') || a.includes('present')).slice(0, 5), [
    mobiles[0]!,
    '+90 sms Anna (authorised) +31600000001',
    mobiles[1]!,
    '+180 sms Kees +31600000011',
    mobiles[2]!,
  ]);
  t.false(
    nobody.some((a) => a.includes('propose call')),
    'MIX: SMS only',
  );
  t.deepEqual(
    run({ formula: 'MIX' }, [
      ev(0, 'water'),
      { at: at(T, 100), type: 'sms-reply', alarm: 'A', text: 'OK ' },
    ]).filter((a) => !a.startsWith('+90 sms Anna')),
    [mobiles[0], mobiles[1], '+100 close A'],
  );
  const other = run({ formula: 'MIX' }, [
    ev(0, 'water'),
    { at: at(T, 20), type: 'sms-reply', alarm: 'A', text: '' },
  ]);
  t.deepEqual(other.slice(0, 2), [mobiles[0], '+20 present operator']);
});

test('formula Operator (FULL): SMS first, a call only when nobody answers "ok"', (t) => {
  const actions = run({ formula: 'FULL' }, [ev(0, 'device-battery-low')]);
  t.is(actions[0], '+0 sms Anna (authorised) +31600000001');
  t.true(actions.includes('+270 propose call premises +31201110000'));
});

// --- §7 Test period, test mode, cancel, undefined codes, cards, quota ---------------------------

test('first 14 days: never police or fire brigade, only the customer and contacts', (t) => {
  const actions = run({ activatedAt: at(T, -3 * 86_400), certifiedFirePanel: true }, [
    ev(0, 'burglary', { verified: true }),
  ]);
  t.deepEqual(actions.slice(0, 2), ['+0 propose no-dispatch police', PREMISES]);
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

test('an authorised person cancels with a valid code: the handling stops; from the portal while an operator works it, the operator confirms', (t) => {
  t.deepEqual(run({}, [ev(0, 'burglary'), outcome(10, 'cancel-valid-code', T, 'A', { by: 'Anna' })]), [
    PREMISES,
    '+10 recorded cancel-valid-code',
    '+10 close A',
  ]);
  t.deepEqual(
    run({}, [
      ev(0, 'burglary'),
      outcome(10, 'cancel-valid-code', T, 'A', { by: 'Anna', via: 'portal' }),
      outcome(20, 'close-cancelled'),
    ]),
    [
      PREMISES,
      '+10 recorded cancel-valid-code',
      '+10 propose present operator',
      '+20 recorded close-cancelled',
      '+20 close A',
    ],
  );
});

test('undefined alarm codes: the installer is told once, then they are ignored', (t) => {
  const actions = run({}, [ev(0, 'undefined-alarm'), ev(60, 'undefined-alarm', { ref: 'B' })]);
  t.deepEqual(actions, ['+0 notify-installer installer', '+0 close A', '+60 close B']);
});

test('false alarms: yellow card after 2 in 3 months; red card on another with police: no police for 3 months', (t) => {
  const day = 86_400;
  const falseWithPolice = (base: number, ref: string) => [
    ev(base, 'burglary', { ref, verified: true }),
    dispatched(base + 5, ref),
    outcome(base + 6, 'close-false', T, ref),
  ];
  const actions = run({}, [
    ...falseWithPolice(0, 'A'),
    ...falseWithPolice(10 * day, 'B'),
    ...falseWithPolice(20 * day, 'C'),
    ev(30 * day, 'burglary', { ref: 'D', verified: true }),
  ]);
  t.true(actions.includes(`+${10 * day + 6} notify-installer customer`), 'yellow card');
  t.true(actions.includes(`+${20 * day + 6} notify-installer customer`), 'red card');
  t.true(actions.includes(`+${30 * day} propose no-dispatch police`));
});

test('the annual quota is counted once per incident; handlings beyond it are billable', (t) => {
  const lines = Array.from({ length: 13 }, (_, i) => [
    ev(i * 7200, 'burglary', { ref: `A${i}` }),
    ev(i * 7200 + 30, 'burglary', { ref: `B${i}`, zone: 7 }),
    outcome(i * 7200 + 40, 'answered-valid-code', T, `A${i}`),
    outcome(i * 7200 + 50, 'not-dispatched', T, `A${i}`, { service: 'police', reason: 'keyholder on site' }),
    outcome(i * 7200 + 60, 'close-real', T, `A${i}`),
  ]).flat();
  const counts = run({}, lines, T, ['count-handling']).filter((a) => a.includes('count-handling'));
  t.is(counts.length, 13, 'two detectors, one incident, one handling');
  t.regex(counts[11]!, /count-handling 12 of 12$/);
  t.regex(counts[12]!, /count-handling 13 of 12$/);
});

test('event files are validated line by line; a reference to an unknown alarm or event is an error; a bad time zone names its field', (t) => {
  t.throws(() => parseLines('{"at":"2026-11-21T10:00:00Z","type":"event","eventType":"alien"}'), {
    message: /events line 1: eventType/,
  });
  t.throws(() => parseLines('# comment\nnot json'), { message: /events line 2: not JSON/ });
  t.throws(() => run({}, [outcome(0, 'no-answer', T, 'NOPE')]), {
    message: /no alarm or event with ref "NOPE"/,
  });
  t.throws(() => run({}, [ev(0, 'burglary', { qualifier: 'restore', relatesTo: 'X' })]), {
    message: /relatesTo "X" names no earlier event/,
  });
  t.throws(() => run({ timeZone: 'Mars/Olympus' }, []), { message: /timeZone/ });
});

// --- §5 The runner expresses what the central acts on ---------------------------------------------

test('raw Contact ID / SIA codes map as the receiver maps them; each undefined code is told to the installer once', (t) => {
  const code = (seconds: number, raw: Record<string, unknown>, ref: string) =>
    ({ at: at(T, seconds), type: 'code', zone: 3, ref, ...raw }) as ScenarioInput;
  const actions = run({}, [
    code(0, { cid: '130' }, 'A'),
    code(100, { sia: 'QQ' }, 'B'),
    code(200, { sia: 'QQ' }, 'C'),
    code(300, { cid: '987' }, 'D'),
  ]);
  t.is(actions[0], PREMISES, 'CID 130 is a burglary');
  t.deepEqual(
    actions.filter((a) => a.includes('notify-installer') || a.includes('close')),
    [
      '+100 notify-installer installer',
      '+100 close B',
      '+200 close C',
      '+300 notify-installer installer',
      '+300 close D',
    ],
  );
});

test('test-mode requests: by phone at most 24 h, in writing with a reference; while in test nothing is done', (t) => {
  const request = (
    seconds: number,
    authority: string,
    minutes: number,
    extra: Record<string, unknown> = {},
  ) => ({ at: at(T, seconds), type: 'test-mode', authority, minutes, by: 'Anna', ...extra }) as ScenarioInput;
  t.deepEqual(
    run({}, [request(0, 'phone', 120), ev(60, 'burglary')]),
    ['+0 hold test mode', '+60 start burglary', '+60 close A'].filter((a) => !a.includes('start')),
  );
  t.is(
    run({}, [request(0, 'phone', 120), ev(7260, 'burglary')]).at(-1),
    '+7260 propose call premises +31201110000',
  );
  t.throws(() => run({}, [request(0, 'phone', 24 * 60 + 1)]), {
    message: /by phone is at most 1440 minutes/,
  });
  t.throws(() => run({}, [request(0, 'written', 14 * 24 * 60)]), { message: /needs the letter's reference/ });
  t.notThrows(() => run({}, [request(0, 'written', 14 * 24 * 60, { reference: 'letter 2026-118' })]));
});

test('arming schedules are supervised as the central does: late arming, a correct arming closes it, a disarm outside the hours', (t) => {
  const schedule = { marginMinutes: 15, open: { '1': { from: '08:00', to: '18:00' } } };
  const closing = (seconds: number, qualifier: string, ref: string) =>
    ev(seconds, 'opening-closing', { qualifier, ref, area: 1, zone: 0 }, MONDAY_10);
  const actions = run(
    { kind: 'business', schedule },
    [closing(-6900, 'event', 'open'), closing(31_200, 'restore', 'armed'), closing(49_200, 'event', 'night')],
    MONDAY_10,
    ['start'],
  );
  t.deepEqual(actions, [
    '+29700 start arming-fault',
    '+29700 wait restore',
    '+29760 propose call premises +31201110000',
    '+31200 close incident-1',
    '+49200 start arming-fault',
    '+49200 wait restore',
    '+49260 propose call premises +31201110000',
    // The runner runs on a week after the last line: the next Monday, disarmed at night, is late too.
    '+634500 start arming-fault',
    '+634500 wait restore',
    '+634560 propose call premises +31201110000',
  ]);
  t.throws(() => run({ schedule: { open: { '9': { from: '08:00', to: '18:00' } } } }, []), {
    message: /schedule/,
  });
});
