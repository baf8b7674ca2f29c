import { DateTime } from 'luxon';
import { z } from 'zod';
import { newId } from '../../lib/ids.ts';
import { eventTypeForCid, eventTypeForSia } from '../../protocols/dc09/payload.ts';
import { CLASS_PRIORITY, EVENT_TYPE_NAMES, EVENT_TYPES } from '../../protocols/event-codes.ts';
import type { AlarmEvent } from '../../protocols/messages.ts';
import { PROTOCOL_VERSION } from '../../protocols/version.ts';
import { DEFAULT_MERGE_RULES, joinTarget, type OpenIncident } from '../incidents/merge-rules.ts';
import { TEST_MODE_LIMITS_MINUTES } from '../site-settings.ts';
import { armingDeadlines, disarmAllowed, WeeklyScheduleSchema } from '../supervision/schedule.ts';
import { OverridesSchema, PROCEDURE_FOR } from './definitions.ts';
import { type Action, ProcedureEngine, type SiteProfile } from './engine.ts';
import { OUTCOMES, type OutcomeDetail } from './model.ts';

/**
 * The scenario runner: a site file and a JSON-lines event file, replayed through the real engine
 * on a virtual clock. An ARC uses it to check a site's procedures before go-live; tests use it too.
 * Formats: docs/procedures.md.
 */
const Time = z.iso.datetime({ offset: true }).transform((t) => Date.parse(t));
const HHMM = z.string().regex(/^\d\d:\d\d$/);

export const SiteProfileSchema = z
  .strictObject({
    id: z.string().min(1),
    name: z.string().min(1),
    timeZone: z
      .string()
      .default('Europe/Amsterdam')
      .refine(
        (zone) => DateTime.local().setZone(zone).isValid,
        'not an IANA time zone (e.g. Europe/Amsterdam)',
      ),
    kind: z.enum(['residential', 'business']).default('residential'),
    formula: z.enum(['APP', 'MIX', 'FULL']).default('FULL'),
    activatedAt: Time.nullable().default(null),
    testPeriodDays: z.number().int().min(0).max(60).default(14),
    testModeUntil: Time.nullable().default(null),
    certifiedFirePanel: z.boolean().default(false),
    workingHours: z
      .strictObject({ days: z.array(z.number().int().min(1).max(7)), from: HHMM, to: HHMM })
      .default({ days: [1, 2, 3, 4, 5], from: '08:00', to: '18:00' }),
    actWindow: z.strictObject({ from: HHMM, to: HHMM }).default({ from: '09:00', to: '22:00' }),
    mainsDelayMinutes: z.number().int().min(0).max(240).default(15),
    premisesPhone: z.string().nullable().default(null),
    counterPhone: z.string().nullable().default(null),
    contacts: z
      .array(
        z.strictObject({
          id: z.string(),
          name: z.string(),
          role: z.enum(['authorised', 'keyholder']),
          order: z.number().int().min(1),
          phone: z.string().optional(),
          mobile: z.string().optional(),
          email: z.string().optional(),
        }),
      )
      .default([]),
    includedHandlings: z.number().int().min(0).optional(),
    /** Pairs of zones whose detectors are next to each other: two of them verify a burglary. */
    adjacentZones: z.array(z.tuple([z.number().int().min(0), z.number().int().min(0)])).default([]),
    overrides: OverridesSchema.optional(),
    /** Business sites: arming schedule (SPEC §7), supervised as the central supervises it. */
    schedule: WeeklyScheduleSchema.nullable().default(null),
  })
  .transform((site) => ({
    ...site,
    // SPEC §6: residential 12 a year (8 with APP), business 24 (16 with APP).
    includedHandlings:
      site.includedHandlings ??
      (site.kind === 'business' ? (site.formula === 'APP' ? 16 : 24) : site.formula === 'APP' ? 8 : 12),
  }));

const InputSchema = z.discriminatedUnion('type', [
  z.strictObject({
    at: Time,
    type: z.literal('event'),
    eventType: z.enum(EVENT_TYPE_NAMES),
    qualifier: z.enum(['event', 'restore']).default('event'),
    zone: z.number().int().min(0).default(0),
    area: z.number().int().min(0).default(1),
    verified: z.boolean().default(false),
    /** A name for this event, so later lines can refer to it (its alarm, what a restore restores). */
    ref: z.string().optional(),
    relatesTo: z.string().optional(),
  }),
  z.strictObject({
    at: Time,
    type: z.literal('outcome'),
    /** The `ref` of the event that opened the incident. */
    alarm: z.string(),
    outcome: z.enum(OUTCOMES),
    by: z.string().max(120).optional(),
    service: z.enum(['police', 'fire', 'guard']).optional(),
    agency: z.string().max(120).optional(),
    reference: z.string().max(60).optional(),
    reason: z.string().max(300).optional(),
    note: z.string().max(300).optional(),
    via: z.enum(['operator', 'portal', 'phone']).optional(),
  }),
  /** An operator takes the incident: it stops escalating. */
  z.strictObject({ at: Time, type: z.literal('claim'), alarm: z.string() }),
  /**
   * A test-mode request (SPEC §7): by phone (an authorised person's ID code + PIN checked) at most
   * 24 h, in writing longer; capped exactly as the central caps them.
   */
  z.strictObject({
    at: Time,
    type: z.literal('test-mode'),
    authority: z.enum(['phone', 'written']),
    minutes: z.number().int().min(0),
    by: z.string().min(1).max(120),
    reference: z.string().max(120).optional(),
  }),
  /**
   * A raw code as a third-party panel sends it (Contact ID event code `cid`, e.g. "130", or a SIA
   * code `sia`, e.g. "BA"): mapped as the DC-09 receiver maps it; an unknown code is an undefined
   * alarm, told to the installer once.
   */
  z.strictObject({
    at: Time,
    type: z.literal('code'),
    cid: z
      .string()
      .regex(/^\d{3}$/)
      .optional(),
    qualifier: z.enum(['event', 'restore']).default('event'),
    sia: z
      .string()
      .regex(/^[A-Z]{2}$/)
      .optional(),
    zone: z.number().int().min(0).default(0),
    area: z.number().int().min(0).default(1),
    ref: z.string().optional(),
  }),
  z.strictObject({ at: Time, type: z.literal('sms-reply'), alarm: z.string(), text: z.string() }),
  z.strictObject({ at: Time, type: z.literal('regional-outage'), active: z.boolean() }),
]);
export type ScenarioInput = z.input<typeof InputSchema>;

export function parseLines(text: string): z.infer<typeof InputSchema>[] {
  return text
    .split('\n')
    .map((line, index) => ({ line: line.trim(), index }))
    .filter(({ line }) => line !== '' && !line.startsWith('#'))
    .map(({ line, index }) => {
      let json: unknown;
      try {
        json = JSON.parse(line);
      } catch {
        throw new Error(`events line ${index + 1}: not JSON`);
      }
      const parsed = InputSchema.safeParse(json);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        throw new Error(`events line ${index + 1}: ${issue?.path.join('.') || '(root)'}: ${issue?.message}`);
      }
      return parsed.data;
    });
}

/** Replay inputs (any order; sorted by time) and return every decided action, in order. */
export function simulate(
  siteInput: unknown,
  inputs: ReadonlyArray<z.infer<typeof InputSchema>>,
  until?: number,
): Action[] {
  const parsed = SiteProfileSchema.safeParse(siteInput);
  if (!parsed.success) throw new Error(`invalid site: ${z.prettifyError(parsed.error)}`);
  const site = parsed.data as SiteProfile & { schedule: z.infer<typeof WeeklyScheduleSchema> | null };
  const engine = new ProcedureEngine();
  engine.setSite(site);
  const actions: Action[] = [];
  const refs = new Map<string, string>();
  /** Incident ids by the ref of the event that opened them, and of every event that joined. */
  const incidentOf = new Map<string, string>();
  const open: Array<{ -readonly [K in keyof OpenIncident]: OpenIncident[K] }> = [];
  const sorted = [...inputs].map(fromRawCode).sort((a, b) => a.at - b.at);
  let current = site;
  let incidentNumber = 0;
  const schedule = site.schedule;
  /** Arming per area, from the opening/closing events (true: armed). */
  const armed = new Map<number, boolean>();
  let scheduleCheckedUntil = sorted[0]?.at ?? 0;
  /** Time passes: the engine's timers, and the schedule's arming deadlines, in the order they fall due. */
  const advanceTo = (target: number) => {
    for (;;) {
      const due = engine.nextDue();
      const deadline = schedule
        ? armingDeadlines(schedule, site.timeZone, scheduleCheckedUntil, target)[0]
        : undefined;
      if (deadline && (due === null || deadline.at <= due)) {
        scheduleCheckedUntil = deadline.at;
        const allArmed = armed.size > 0 && [...armed.values()].every(Boolean);
        if (!allArmed) onEventInput({ ...eventInput('not-yet-armed', deadline.at), area: 0 });
        continue;
      }
      if (due === null || due > target) break;
      record(engine.tick(due));
    }
    if (schedule) scheduleCheckedUntil = Math.max(scheduleCheckedUntil, target);
  };
  const incident = (ref: string, line: string): string => {
    const id = incidentOf.get(ref);
    if (!id) throw new Error(`${line}: no alarm or event with ref "${ref}"`);
    return id;
  };
  const record = (found: Action[]) => {
    actions.push(...found);
    for (const a of found) {
      const index = a.action === 'close' ? open.findIndex((i) => i.id === a.alarm) : -1;
      if (index !== -1) open.splice(index, 1);
    }
  };
  /** An event from the site (or one the central raises): it opens or joins an incident, or relates. */
  const onEventInput = (input: EventInput) => {
    if (input.qualifier === 'event' && input.eventType === 'opening-closing') armed.set(input.area, false);
    if (input.qualifier === 'restore' && input.eventType === 'opening-closing') armed.set(input.area, true);
    const event = scenarioEvent(site.id, input, input.relatesTo ? refs.get(input.relatesTo)! : null);
    if (input.ref) refs.set(input.ref, event.id);
    const opens = input.qualifier === 'event' && PROCEDURE_FOR[input.eventType] !== undefined;
    let alarmId: string | null = null;
    if (opens) {
      const subject = { eventType: input.eventType, deviceId: null, zone: input.zone };
      alarmId = joinTarget(DEFAULT_MERGE_RULES, open, subject, input.at);
      if (alarmId) open.find((i) => i.id === alarmId)!.lastEventAt = input.at;
      else {
        alarmId = input.ref ?? `incident-${++incidentNumber}`;
        open.push({ id: alarmId, lead: subject, lastEventAt: input.at });
      }
      if (input.ref) incidentOf.set(input.ref, alarmId);
    }
    record(engine.onEvent(event, alarmId, input.at));
  };
  for (const input of sorted) {
    advanceTo(input.at);
    const line = `input at ${new Date(input.at).toISOString()}`;
    if (input.type === 'event') {
      if (input.relatesTo && !refs.has(input.relatesTo))
        throw new Error(`${line}: relatesTo "${input.relatesTo}" names no earlier event`);
      onEventInput(input);
      // Schedule supervision, as the central's: a disarm outside the opening hours is raised at once.
      if (
        schedule &&
        input.eventType === 'opening-closing' &&
        input.qualifier === 'event' &&
        !disarmAllowed(schedule, site.timeZone, input.at)
      )
        onEventInput({ ...eventInput('disarm-outside-schedule', input.at), area: input.area });
    } else if (input.type === 'outcome') {
      const { at, type, alarm, outcome, ...rest } = input;
      void type;
      const detail = rest as OutcomeDetail;
      const result = engine.onOutcome(incident(alarm, line), outcome, detail, at);
      record(result.actions);
      if (result.refused)
        actions.push({
          time: new Date(at).toISOString(),
          site: site.id,
          alarm: incident(alarm, line),
          sort: 'fact',
          action: 'refused',
          target: outcome,
          reason: result.refused,
        });
    } else if (input.type === 'test-mode') {
      const limit = TEST_MODE_LIMITS_MINUTES[input.authority];
      if (input.minutes > limit)
        throw new Error(
          `${line}: test mode by ${input.authority} is at most ${limit} minutes (asked ${input.minutes})`,
        );
      if (input.authority === 'written' && !input.reference)
        throw new Error(`${line}: test mode in writing needs the letter's reference`);
      current = { ...current, testModeUntil: input.minutes === 0 ? null : input.at + input.minutes * 60_000 };
      engine.setSite(current);
      actions.push({
        time: new Date(input.at).toISOString(),
        site: site.id,
        alarm: '',
        sort: 'fact',
        action: 'hold',
        target: 'test mode',
        reason:
          input.minutes === 0
            ? `test mode ended by ${input.by}`
            : `in test for ${input.minutes} min (${input.authority}, ${input.by}${input.reference ? `, ${input.reference}` : ''})`,
      });
    } else if (input.type === 'claim') {
      record(engine.onClaim(incident(input.alarm, line), input.at));
    } else if (input.type === 'sms-reply') {
      record(engine.onSmsReply(incident(input.alarm, line), input.text, input.at));
    } else {
      record(engine.setRegionalOutage([site.id], input.active, input.at));
    }
  }
  advanceTo(until ?? (sorted.at(-1)?.at ?? 0) + 7 * 86_400_000);
  return actions;
}

type Parsed = z.infer<typeof InputSchema>;
type EventInput = Extract<Parsed, { type: 'event' }>;

/** An event the central itself raises (schedule supervision), in the runner's input form. */
function eventInput(eventType: EventInput['eventType'], at: number): EventInput {
  return { at, type: 'event', eventType, qualifier: 'event', zone: 0, area: 0, verified: false };
}

/** A raw panel code becomes the event the DC-09 receiver would make of it. */
function fromRawCode(input: Parsed): Exclude<Parsed, { type: 'code' }> {
  if (input.type !== 'code') return input;
  const mapped = input.cid
    ? { eventType: eventTypeForCid(input.cid), qualifier: input.qualifier }
    : input.sia
      ? (eventTypeForSia(input.sia) ?? { eventType: null, qualifier: input.qualifier })
      : { eventType: null, qualifier: input.qualifier };
  return {
    at: input.at,
    type: 'event',
    eventType: mapped.eventType ?? 'undefined-alarm',
    qualifier: mapped.eventType ? mapped.qualifier : 'event',
    zone: input.zone,
    area: input.area,
    verified: false,
    ...(input.ref ? { ref: input.ref } : {}),
    ...(mapped.eventType ? {} : { rawCode: { cid: input.cid ?? '000', sia: input.sia ?? 'UX' } }),
  } as Exclude<Parsed, { type: 'code' }>;
}

function scenarioEvent(
  siteId: string,
  input: Extract<z.infer<typeof InputSchema>, { type: 'event' }>,
  relatesTo: string | null,
): AlarmEvent {
  const type = EVENT_TYPES[input.eventType];
  return {
    v: PROTOCOL_VERSION,
    type: 'event',
    id: newId(),
    siteId,
    gatewayId: 'simulated',
    seq: 0,
    eventType: input.eventType,
    qualifier: input.qualifier,
    // An undefined code keeps the code the panel sent: the installer is told once per code.
    code: (input as { rawCode?: { cid: string; sia: string } }).rawCode ?? {
      cid: type.cid,
      sia: input.qualifier === 'event' ? type.sia.event : type.sia.restore,
    },
    class: type.class,
    priority: CLASS_PRIORITY[type.class],
    device: null,
    zone: input.zone,
    area: input.area,
    verification: {
      verified: input.verified,
      rule: input.verified ? 'dual-zone' : null,
      supportingEventIds: [],
    },
    relatesTo,
    text: '',
    occurredAt: new Date(input.at).toISOString(),
    recordedAt: new Date(input.at).toISOString(),
  };
}
