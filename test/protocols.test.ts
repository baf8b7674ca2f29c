import test from 'ava';
import { readGatewayEvent } from '../central/ingest/normalize.ts';
import { createLogger } from '../lib/logger.ts';
import { Metrics } from '../lib/metrics.ts';
import {
  AckSchema,
  AlarmEventSchema,
  CLASS_PRIORITY,
  decode,
  EVENT_TYPES,
  encode,
  parseTopic,
  topicFor,
  toStorableText,
} from '../protocols/index.ts';
import { sampleEvent } from './helpers/events.ts';

test('a valid event survives encode and decode unchanged', (t) => {
  const event = sampleEvent();
  const decoded = decode(AlarmEventSchema, encode(event));
  t.deepEqual(decoded, { ok: true, value: event, json: event });
});

const badEvents: Array<[string, unknown, RegExp]> = [
  ['not JSON', '{"v":1,', /not valid JSON/],
  ['unknown version', { ...sampleEvent(), v: 2 }, /^v:/],
  ['non-uuid id', { ...sampleEvent(), id: 'abc' }, /^id:/],
  ['unknown event type', { ...sampleEvent(), eventType: 'alien' }, /^eventType:/],
  ['site id with a topic wildcard', { ...sampleEvent(), siteId: 'a/+' }, /^siteId:/],
  ['lower-case SIA code', { ...sampleEvent(), code: { cid: '130', sia: 'ba' } }, /^code\.sia:/],
  ['extra field', { ...sampleEvent(), injected: true }, /injected|Unrecognized/],
  ['negative seq', { ...sampleEvent(), seq: -1 }, /^seq:/],
  ['missing timestamp', { ...sampleEvent(), occurredAt: undefined }, /^occurredAt:/],
];
for (const [name, input, reason] of badEvents) {
  test(`an event with ${name} is refused with a reason naming the field`, (t) => {
    const result = decode(AlarmEventSchema, typeof input === 'string' ? input : JSON.stringify(input));
    t.false(result.ok);
    if (!result.ok) t.regex(result.reason, reason);
  });
}

test('an ack needs at least one event id', (t) => {
  const result = decode(
    AckSchema,
    JSON.stringify({ v: 1, type: 'ack', eventIds: [], storedAt: new Date().toISOString() }),
  );
  t.false(result.ok);
});

test('topics round-trip and foreign topics are not parsed', (t) => {
  t.deepEqual(parseTopic(topicFor('site-a', 'gw-1', 'event')), {
    siteId: 'site-a',
    gatewayId: 'gw-1',
    channel: 'event',
  });
  t.is(parseTopic('vigil/v1/site-a/gw-1/bogus'), null);
  t.is(parseTopic('vigil/v2/site-a/gw-1/event'), null);
  t.is(parseTopic('vigil/v1/site-a/event'), null);
  t.is(parseTopic('vigil/v1/site-a/gw-1/event/extra'), null);
});

test('every event type has a 3-digit Contact ID code, two-letter SIA codes and a class priority', (t) => {
  for (const [name, type] of Object.entries(EVENT_TYPES)) {
    t.regex(type.cid, /^[0-9]{3}$/, name);
    t.regex(type.sia.event, /^[A-Z]{2}$/, name);
    t.regex(type.sia.restore, /^[A-Z]{2}$/, name);
    t.true(CLASS_PRIORITY[type.class] >= 1, name);
  }
  t.true(CLASS_PRIORITY.security < CLASS_PRIORITY.safety);
  t.true(CLASS_PRIORITY.safety < CLASS_PRIORITY.technical);
});

test('free text that PostgreSQL or a browser cannot take is refused by the schema on both sides', (t) => {
  const nul = AlarmEventSchema.safeParse(sampleEvent({ device: { id: 'pir', name: 'Hall\u0000PIR' } }));
  t.false(nul.success);
  t.false(AlarmEventSchema.safeParse(sampleEvent({ text: 'lone \ud800 surrogate' })).success);
  t.true(AlarmEventSchema.safeParse(sampleEvent({ text: 'Zone 3 – keuken 🔥' })).success, 'real text passes');
  t.is(
    toStorableText('a\u0000b\ud800c'),
    'a\uFFFDb\uFFFDc',
    'what the gateway did not write is made storable',
  );
});

test('the central takes an event as received only when it is that event exactly', (t) => {
  const report = { logger: createLogger('test', 'silent'), metrics: new Metrics() };
  const from = { siteId: 'site-a', gatewayId: 'gw-a' };
  const event = sampleEvent();
  const text = JSON.stringify(event);
  const read = readGatewayEvent(Buffer.from(text), from, 'mismatch', report);
  t.deepEqual(read, { ok: true, event, asReceived: text });
  // A default filled in (no text), or a field the central derives itself: encoded again.
  const { text: _omitted, ...withoutText } = event;
  t.like(readGatewayEvent(JSON.stringify(withoutText), from, 'mismatch', report), {
    ok: true,
    event: { text: '' },
    asReceived: null,
  });
  t.like(readGatewayEvent(JSON.stringify({ ...event, priority: 9 }), from, 'mismatch', report), {
    ok: true,
    event: { priority: 1 },
    asReceived: null,
  });
  t.is(report.metrics.get('ingest_derived_total'), 1);
});
