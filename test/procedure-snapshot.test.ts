import test from 'ava';
import { decodeState, encodeState } from '../central/procedures/snapshot.ts';
import { engineWithSites } from './helpers/engine.ts';
import { sampleEvent } from './helpers/events.ts';

const T = Date.UTC(2026, 10, 21, 9, 0, 0);

const engine = () => engineWithSites();

test('a snapshot restores the engine as it was: open incidents with their dispatches, the sites’ memory', (t) => {
  const original = engine();
  // A verified burglary (a dispatch proposed beside the calls), a false alarm closed, an undefined code told.
  original.onEvent(sampleEvent({ siteId: 'site-a', zone: 1 }), 'a1', T);
  original.onEvent(
    sampleEvent({
      siteId: 'site-a',
      zone: 2,
      verification: { verified: true, rule: 'dual-zone', supportingEventIds: [] },
    }),
    'a1',
    T + 1000,
  );
  original.onEvent(sampleEvent({ siteId: 'site-a', zone: 3 }), 'a2', T + 2000);
  original.onOutcome('a2', 'answered-valid-code', {}, T + 3000);
  original.onOutcome('a2', 'close-false', {}, T + 4000);
  original.onEvent(
    sampleEvent({ siteId: 'site-a', eventType: 'undefined-alarm', code: { cid: '999', sia: 'ZZ' } }),
    'a3',
    T + 5000,
  );

  const json = encodeState(original.snapshot(0));
  const stored = JSON.parse(json) as {
    handlings: Array<{ openDispatches: unknown[] }>;
    memory: Array<[string, { notifiedUndefined: string[]; falseAlarms: unknown[] }]>;
  };
  t.true(
    stored.handlings.some((h) => h.openDispatches.length > 0),
    'an open dispatch is in it',
  );
  t.true(stored.memory[0]![1].notifiedUndefined.length > 0, 'a notified undefined code is in it');
  t.is(stored.memory[0]![1].falseAlarms.length, 1, 'the false alarm is in it');
  const restored = engine();
  restored.restore(decodeState(json));
  t.is(encodeState(restored.snapshot(0)), json, 'the same state, collections included');
  t.deepEqual(restored.siteStatus('site-a', T + 6000), original.siteStatus('site-a', T + 6000));
  t.deepEqual(restored.openAlarmIds(), original.openAlarmIds());
  t.is(restored.nextDue(), original.nextDue());
  // Both go on alike: the same actions from the same time on.
  t.deepEqual(restored.tick(T + 600_000), original.tick(T + 600_000));
  t.deepEqual(
    restored.onOutcome('a1', 'no-answer', {}, T + 601_000),
    original.onOutcome('a1', 'no-answer', {}, T + 601_000),
  );
});

test('a snapshot of another version is refused; a collection the snapshot does not know is refused when written', (t) => {
  const json = encodeState(engine().snapshot(0));
  t.throws(() => decodeState(json.replace('"version":1', '"version":99')), {
    message: /snapshot version 99/,
  });
  const state = engine().snapshot(0);
  t.throws(() => encodeState({ ...state, incidentOfEvent: [['e', new Map() as unknown as string]] }), {
    message: /Map or Set/,
  });
});

test('the engine lets go of what a snapshot leaves out (closed, opened before the cut) and goes on as a worker restoring that snapshot would', (t) => {
  const live = engine();
  live.onEvent(sampleEvent({ siteId: 'site-a', zone: 1 }), 'old', T);
  live.onOutcome('old', 'answered-valid-code', {}, T + 1000);
  live.onOutcome('old', 'close-false', {}, T + 1100);
  live.onEvent(sampleEvent({ siteId: 'site-a', zone: 2 }), 'open', T + 2000);
  const cut = T + 1500;
  const json = encodeState(live.snapshot(cut));
  live.forgetClosedBefore(cut);
  t.is(live.handling('old'), undefined, 'the closed incident from before the cut is gone');
  t.truthy(live.handling('open'), 'the open one stays');
  t.is(encodeState(live.snapshot(cut)), json, 'what it holds is what the snapshot holds');
  const restored = engine();
  restored.restore(decodeState(json));
  t.deepEqual(restored.openAlarmIds(), live.openAlarmIds());
  t.is(restored.openHandlings, 1);
  t.deepEqual(restored.tick(T + 600_000), live.tick(T + 600_000));
  // Closed on both: no open incident is left at the site, so a later event there changes nothing.
  const close = (e: typeof live) => [
    e.onOutcome('open', 'answered-valid-code', {}, T + 601_000),
    e.onOutcome('open', 'close-false', {}, T + 601_100),
  ];
  t.deepEqual(close(restored), close(live));
  t.is(live.openHandlings, 0);
  t.false(live.changesState(sampleEvent({ siteId: 'site-a', eventType: 'zone-bypass' }), null));
});

test('the next due time follows every input that changes an open incident, and not one that cannot', (t) => {
  const e = engine();
  t.is(e.nextDue(), null);
  e.onEvent(sampleEvent({ siteId: 'site-a' }), 'a1', T);
  const unattended = e.nextDue();
  t.not(unattended, null, 'an alarm nobody attends to escalates');
  // A log event at another site, which has nothing open: nothing changes.
  e.onEvent(sampleEvent({ siteId: 'site-b', eventType: 'zone-bypass' }), null, T + 1000);
  t.is(e.nextDue(), unattended);
  e.onClaim('a1', T + 2000);
  t.not(e.nextDue(), unattended, 'claimed: it no longer escalates');
  e.onOutcome('a1', 'call-started', {}, T + 3000);
  const prompt = e.nextDue();
  t.true(prompt !== null && prompt > T + 3000, 'the answer time runs from the call');
  e.tick(prompt!);
  t.not(e.nextDue(), prompt, 'the prompt, once given, is not due again');
});
