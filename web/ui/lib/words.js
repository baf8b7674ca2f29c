// Plain words for what the central stores as codes: event types, restores, outcomes, actors and
// audit actions. The event titles come from the protocol's catalogue (served as event-titles.js).
import { EVENT_TITLES } from './event-titles.js';

/** Event types whose restore is a different thing, not "… restored". */
const PAIRS = {
  'opening-closing': ['Disarmed', 'Armed'],
  'zone-bypass': ['Zone bypassed', 'Zone bypass removed'],
  'walk-test': ['Walk test started', 'Walk test ended'],
  'mains-loss': ['Mains power lost', 'Mains power back'],
  'communication-trouble': ['Communication trouble', 'Communication restored'],
  'path-failure': ['Transmission path failed', 'Transmission path back'],
  'all-paths-failure': ['All transmission paths failed', 'Transmission paths back'],
  'device-supervision-loss': ['Device stopped checking in', 'Device checking in again'],
};

export const isEventType = (value) => Object.hasOwn(EVENT_TITLES, value);

export function eventWords(eventType, qualifier) {
  const restore = qualifier === 'restore';
  const pair = PAIRS[eventType];
  if (pair) return pair[restore ? 1 : 0];
  const title = EVENT_TITLES[eventType] ?? eventType.replaceAll('-', ' ');
  return restore ? `${title}: restored` : title;
}

/** "zone 2 · Hall PIR" — where an event came from, leaving out what is not known. */
export function whereWords({ zone, area, deviceName }) {
  const parts = [];
  if (deviceName) parts.push(deviceName);
  if (zone) parts.push(`zone ${zone}`);
  if (area && area !== 1) parts.push(`area ${area}`);
  return parts.join(' · ') || 'the gateway';
}

const ACTOR_KINDS = {
  operator: '',
  customer: 'customer ',
  installer: 'installer ',
  contact: 'contact ',
  sms: 'SMS from ',
  phone: 'phone ',
};

/** One naming scheme for whoever did something: "alice", "customer site-1", "the central". */
export function actorWords(actor, names = new Map()) {
  if (!actor) return '—';
  if (actor === 'system' || actor === 'central' || actor === 'engine')
    return actor === 'engine' ? 'procedure' : 'the central';
  const at = actor.indexOf(':');
  if (at === -1) return names.get(actor) ?? actor;
  const kind = actor.slice(0, at);
  const who = actor.slice(at + 1);
  if (kind === 'operator') return names.get(who) ?? who;
  return `${ACTOR_KINDS[kind] ?? `${kind} `}${who}`;
}

const CLOSE_WORDS = {
  'close-real': 'closed as a real alarm',
  'close-false': 'closed as a false alarm',
  'close-cancelled': 'closed: cancelled in time',
  'close-technical': 'closed: technical cause',
};
const OUTCOME_WORDS = {
  'call-started': 'started the call',
  'answered-valid-code': 'call answered, valid code',
  'answered-invalid-code': 'call answered, no valid code',
  'no-answer': 'no answer',
  busy: 'line busy',
  'wrong-number': 'wrong number',
  dispatched: 'dispatched',
  'not-dispatched': 'not dispatched',
  consulted: 'consulted',
  'sent-by-hand': 'sent by hand',
  ...CLOSE_WORDS,
};
export const outcomeWords = (outcome) => OUTCOME_WORDS[outcome] ?? outcome.replaceAll('-', ' ');

/** A line of an incident's trail (`action target — reason`) in words. */
const TRAIL_VERBS = {
  recorded: (t) => outcomeWords(t),
  start: (t) => `procedure "${t}" started`,
  join: (t) => `joined: ${eventWords(t)}`,
  verify: (t) => `verified: ${t}`,
  claim: (t) => `claimed by ${t}`,
  release: () => 'released to the queue',
  note: (t) => `note by ${t}`,
  'count-handling': (t) => `handling counted: ${t}`,
  close: () => 'closed',
  escalate: (t) => `escalated: ${t}`,
  wait: (t) => `waiting for ${t}`,
  skip: (t) => `skipped: ${t}`,
};

export function trailWords(x) {
  const verb = TRAIL_VERBS[x.action];
  const what = verb
    ? verb(x.target)
    : `${x.action} ${isEventType(x.target) ? eventWords(x.target) : x.target}`;
  return `${x.sort === 'proposal' ? 'proposed: ' : ''}${what}${x.reason ? ` — ${x.reason}` : ''}`;
}

/** An audit action in words: "camera.view" → "viewed a camera picture". */
const AUDIT_WORDS = {
  'login.ok': 'logged in',
  'login.failed': 'login failed',
  'login.refused': 'login refused (locked)',
  logout: 'logged out',
  'alarm.claim': 'claimed an incident',
  'alarm.take-over': 'took over an incident',
  'alarm.release': 'released an incident',
  'camera.grant': 'opened camera access',
  'camera.grant-refused': 'camera access refused',
  'camera.snapshot': 'took a camera picture',
  'camera.live': 'watched a camera live',
  'camera.view': 'viewed a camera picture',
  'camera.refused': 'camera refused',
  'media.hold': 'held a picture',
  'media.purge': 'deleted expired pictures',
  'site.register': 'registered a site',
  'contact.update': 'changed a contact',
  'contact.create': 'added a contact',
  'contact.remove': 'removed a contact',
  'code-check.valid': 'checked an ID code: valid',
  'code-check.invalid': 'checked an ID code: not valid',
  'code-check.locked': 'checked an ID code: locked',
  'pin-change.ok': 'changed a PIN',
  'pin-change.refused': 'PIN change refused',
  'installer-access.grant': 'opened an installer service window',
  'site.test-mode.start': 'put the site in test',
  'site.test-mode.end': 'ended test mode',
  'site.settings': 'changed site records',
  'site.submit': 'submitted a site',
  'site.reject': 'rejected a submission',
  'installer.create': 'added an installer',
  'account.upsert': 'saved an account',
  'gateway.issue-secret': 'issued a gateway secret',
  'site.activate': 'activated a site',
  'site.upsert': 'saved a site',
  'push.subscribe': 'turned on push notifications',
  'walk-test.start': 'started a walk test',
  'walk-test.stop': 'ended a walk test',
  'push.unsubscribe': 'stopped push notifications',
};
export const auditWords = (action) => AUDIT_WORDS[action] ?? action.replaceAll(/[.-]/g, ' ');

/** An audit row's detail as "key: value" pairs, values in words (dates, lists). */
export function detailWords(detail) {
  if (!detail || typeof detail !== 'object') return [];
  return Object.entries(detail)
    .filter(([, value]) => value !== null && value !== undefined && value !== '')
    .map(([key, value]) => [key.replaceAll(/([a-z])([A-Z])/g, '$1 $2').toLowerCase(), valueWords(value)]);
}

function valueWords(value) {
  if (Array.isArray(value)) return value.map(valueWords).join(', ');
  if (typeof value === 'object')
    return Object.entries(value)
      .map(([k, v]) => `${k} ${valueWords(v)}`)
      .join(', ');
  if (typeof value === 'string' && /^\d{4}-\d\d-\d\dT/.test(value)) return new Date(value).toLocaleString();
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  return String(value);
}

export const CLASSES = [
  ['security', 'Security'],
  ['safety', 'Safety'],
  ['technical', 'Technical'],
  ['schedule', 'Schedule'],
];
