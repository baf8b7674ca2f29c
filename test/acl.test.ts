import test from 'ava';
import { mayPublish, maySubscribe, type Principal } from '../central/broker/acl.ts';

const gwA: Principal = { kind: 'gateway', siteId: 'site-a', gatewayId: 'gw-a' };
const central: Principal = { kind: 'central' };

const publishCases: Array<[string, Principal, string, boolean, boolean]> = [
  ['own event', gwA, 'vigil/v1/site-a/gw-a/event', false, true],
  ['own heartbeat', gwA, 'vigil/v1/site-a/gw-a/heartbeat', false, true],
  ['own retained status', gwA, 'vigil/v1/site-a/gw-a/status', true, true],
  ['retained event', gwA, 'vigil/v1/site-a/gw-a/event', true, false],
  ['another gateway of its site', gwA, 'vigil/v1/site-a/gw-b/event', false, false],
  ['another site', gwA, 'vigil/v1/site-b/gw-a/event', false, false],
  ['its own ack channel (forging acks)', gwA, 'vigil/v1/site-a/gw-a/ack', false, false],
  ['its own command channel', gwA, 'vigil/v1/site-a/gw-a/command', false, false],
  ['outside the layout', gwA, 'anything/else', false, false],
  ['central ack', central, 'vigil/v1/site-a/gw-a/ack', false, true],
  ['central command', central, 'vigil/v1/site-a/gw-a/command', false, true],
  ['central forging an event', central, 'vigil/v1/site-a/gw-a/event', false, false],
];
for (const [name, principal, topic, retain, expected] of publishCases) {
  test(`publish: ${principal.kind} ${name} -> ${expected ? 'allowed' : 'refused'}`, (t) => {
    t.is(mayPublish(principal, topic, retain), expected);
  });
}

const subscribeCases: Array<[string, Principal, string, boolean]> = [
  ['own acks', gwA, 'vigil/v1/site-a/gw-a/ack', true],
  ['own commands', gwA, 'vigil/v1/site-a/gw-a/command', true],
  ['another gateway acks', gwA, 'vigil/v1/site-a/gw-b/ack', false],
  ['another site', gwA, 'vigil/v1/site-b/gw-a/command', false],
  ['wildcard over its site', gwA, 'vigil/v1/site-a/+/ack', false],
  ['everything', gwA, '#', false],
  ['its own events (reading uplink)', gwA, 'vigil/v1/site-a/gw-a/event', false],
  ['system topics', gwA, '$SYS/#', false],
  ['central: all events', central, 'vigil/v1/+/+/event', true],
  ['central: all heartbeats', central, 'vigil/v1/+/+/heartbeat', true],
  ['central: everything', central, '#', false],
];
for (const [name, principal, filter, expected] of subscribeCases) {
  test(`subscribe: ${principal.kind} ${name} -> ${expected ? 'allowed' : 'refused'}`, (t) => {
    t.is(maySubscribe(principal, filter), expected);
  });
}
