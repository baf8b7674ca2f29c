import { z } from 'zod';
import type { EventTypeName } from '../../protocols/event-codes.ts';

/**
 * The procedures of an alarm receiving centre (SPEC §5), as data. A procedure is an ordered list
 * of steps; a step with `if` runs only when its named condition holds when it is reached. Sites
 * override a whole procedure (e.g. e-mail instead of a call) in their profile.
 */
export const CONDITIONS = [
  'verified-not-disarmed',
  'not-verified',
  'verified',
  'premises-not-valid',
  'no-keyholder-reached',
  'premises-invalid-no-keyholder',
  'no-valid-reaction',
  'counter-failed',
  'fire-dispatch-at-once',
  'fire-after-reaction-time',
  'not-certified',
  'residential',
  'no-mains-loss',
] as const;
export type Condition = (typeof CONDITIONS)[number];

export const PROCEDURE_NAMES = [
  'burglary',
  'holdup',
  'fire',
  'medical',
  'tamper',
  'exit-error',
  'arming-fault',
  'connection-single',
  'connection-all',
  'test-missing',
  'battery',
  'system-battery',
  'component',
  'mains',
  'technical',
  'undefined',
] as const;
export type ProcedureName = (typeof PROCEDURE_NAMES)[number];

const when = { if: z.enum(CONDITIONS).optional() };
const Seconds = z.number().int().min(1).max(86_400);

/** One step of a procedure; overrides in a site's profile are checked against this. */
export const StepSchema = z.discriminatedUnion('do', [
  z.strictObject({
    do: z.literal('dispatch'),
    service: z.enum(['police', 'fire', 'guard']),
    priority: z.enum(['high', 'low']).optional(),
    ...when,
  }),
  z.strictObject({
    do: z.literal('call'),
    target: z.enum(['premises', 'counter']),
    timeoutSeconds: Seconds,
    ...when,
  }),
  z.strictObject({
    do: z.literal('call-keyholders'),
    rounds: z.number().int().min(1).max(5),
    timeoutSeconds: Seconds,
    ...when,
  }),
  z.strictObject({ do: z.literal('sms-keyholders'), ...when }),
  z.strictObject({ do: z.literal('consult'), service: z.enum(['police', 'fire']), ...when }),
  /** Dispatch after `seconds` from the alarm's start unless someone with a valid code reacts. */
  z.strictObject({
    do: z.literal('deadline'),
    seconds: Seconds,
    service: z.enum(['police', 'fire']),
    ...when,
  }),
  /** Wait this long from the event; a restore in the meantime closes the handling. */
  z.strictObject({
    do: z.literal('wait'),
    seconds: Seconds,
    setting: z.literal('mainsDelay').optional(),
    ...when,
  }),
  /** Hold until the site's action window (09:00–22:00 local); closed if restored meanwhile. */
  z.strictObject({ do: z.literal('window'), ...when }),
  /** Technical alarms by the site's formula: APP push, MIX SMS escalation, FULL operator calls. */
  z.strictObject({ do: z.literal('by-formula'), ...when }),
  z.strictObject({ do: z.literal('sms-escalation'), replySeconds: Seconds, ...when }),
  z.strictObject({ do: z.literal('email'), to: z.enum(['keyholders', 'customer']), ...when }),
  z.strictObject({ do: z.literal('notify-installer'), ...when }),
  z.strictObject({ do: z.literal('finish'), ...when }),
  z.strictObject({ do: z.literal('close'), reason: z.string().min(1).max(200), ...when }),
]);
export type Step = Readonly<z.infer<typeof StepSchema>>;

/** A site's own procedures, replacing the defaults per alarm type (SPEC §5: procedures are data). */
export const OverridesSchema = z.partialRecord(z.enum(PROCEDURE_NAMES), z.array(StepSchema).min(1).max(30));

/** The procedure has run: an operator closes the alarm with a reason (real, false, …). */
const FINISH: Step = { do: 'finish' };
const CALL_PREMISES: Step = { do: 'call', target: 'premises', timeoutSeconds: 30 };
const CALL_KEYHOLDERS: Step = {
  do: 'call-keyholders',
  rounds: 2,
  timeoutSeconds: 30,
  if: 'premises-not-valid',
};
const SMS_KEYHOLDERS: Step = { do: 'sms-keyholders', if: 'no-keyholder-reached' };
const PREMISES_THEN_KEYHOLDERS: readonly Step[] = [CALL_PREMISES, CALL_KEYHOLDERS, SMS_KEYHOLDERS];

export const PROCEDURES: Readonly<Record<ProcedureName, readonly Step[]>> = {
  burglary: [
    { do: 'dispatch', service: 'police', priority: 'high', if: 'verified-not-disarmed' },
    ...PREMISES_THEN_KEYHOLDERS,
    { do: 'dispatch', service: 'police', if: 'premises-invalid-no-keyholder' },
    FINISH,
  ],
  holdup: [
    { do: 'dispatch', service: 'police', priority: 'high', if: 'verified' },
    { do: 'call', target: 'counter', timeoutSeconds: 30, if: 'not-verified' },
    { do: 'dispatch', service: 'police', priority: 'low', if: 'counter-failed' },
    FINISH,
  ],
  fire: [
    { do: 'dispatch', service: 'fire', priority: 'high', if: 'fire-dispatch-at-once' },
    { do: 'deadline', seconds: 180, service: 'fire', if: 'fire-after-reaction-time' },
    ...PREMISES_THEN_KEYHOLDERS,
    { do: 'consult', service: 'fire', if: 'not-certified' },
    FINISH,
  ],
  medical: [
    ...PREMISES_THEN_KEYHOLDERS,
    { do: 'consult', service: 'police', if: 'no-valid-reaction' },
    FINISH,
  ],
  tamper: [
    { do: 'dispatch', service: 'police', priority: 'high', if: 'verified' },
    ...PREMISES_THEN_KEYHOLDERS,
    FINISH,
  ],
  // "No action if a correct arming follows immediately": a short grace before calling.
  'exit-error': [{ do: 'wait', seconds: 60 }, ...PREMISES_THEN_KEYHOLDERS, FINISH],
  'arming-fault': [{ do: 'wait', seconds: 60 }, ...PREMISES_THEN_KEYHOLDERS, FINISH],
  'connection-single': [{ do: 'window' }, ...PREMISES_THEN_KEYHOLDERS, FINISH],
  'connection-all': [...PREMISES_THEN_KEYHOLDERS, FINISH],
  'test-missing': [{ do: 'window', if: 'residential' }, ...PREMISES_THEN_KEYHOLDERS, FINISH],
  battery: [{ do: 'window' }, { do: 'by-formula' }, FINISH],
  'system-battery': [{ do: 'window', if: 'no-mains-loss' }, { do: 'by-formula' }, FINISH],
  component: [{ do: 'wait', seconds: 180 }, { do: 'by-formula' }, FINISH],
  mains: [{ do: 'wait', seconds: 900, setting: 'mainsDelay' }, { do: 'by-formula' }, FINISH],
  technical: [{ do: 'by-formula' }, FINISH],
  undefined: [{ do: 'notify-installer' }, { do: 'close', reason: 'undefined alarm code' }],
};

/** Which procedure handles which alarm type; types not listed open no handling. */
export const PROCEDURE_FOR: Partial<Record<EventTypeName, ProcedureName>> = {
  burglary: 'burglary',
  'burglary-perimeter': 'burglary',
  'burglary-interior': 'burglary',
  'camera-alarm': 'burglary',
  panic: 'holdup',
  holdup: 'holdup',
  duress: 'holdup',
  fire: 'fire',
  smoke: 'fire',
  heat: 'fire',
  gas: 'medical',
  medical: 'medical',
  tamper: 'tamper',
  'sensor-tamper': 'tamper',
  'wrong-code': 'tamper',
  'exit-error': 'exit-error',
  'failed-arming': 'arming-fault',
  'not-yet-armed': 'arming-fault',
  'disarm-outside-schedule': 'arming-fault',
  'fire-trouble': 'arming-fault',
  'test-missing': 'test-missing',
  'path-failure': 'connection-single',
  'all-paths-failure': 'connection-all',
  'communication-trouble': 'connection-single',
  'device-battery-low': 'battery',
  'system-battery-low': 'system-battery',
  'device-supervision-loss': 'component',
  'mains-loss': 'mains',
  'sensor-trouble': 'technical',
  water: 'technical',
  'external-technical': 'technical',
  'message-rejected': 'technical',
  'system-trouble': 'technical',
  'undefined-alarm': 'undefined',
};

/** Technical alarms an operator handles in every formula (seed 002: "Extern technisch alarm: OP"). */
export const OPERATOR_IN_EVERY_FORMULA: ReadonlySet<EventTypeName> = new Set([
  'external-technical',
  // What the premises sent could not be read: it may have been any alarm.
  'message-rejected',
  // The gateway cannot keep what it sends (full or failing card, lost journal data).
  'system-trouble',
]);

/** Automatic fire detectors, as opposed to a manual call point or fire key. */
export const AUTOMATIC_FIRE: ReadonlySet<EventTypeName> = new Set(['smoke', 'heat']);
