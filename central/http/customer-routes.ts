import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type pg from 'pg';
import { z } from 'zod';
import { newCommand } from '../../protocols/messages.ts';
import {
  ContactChangesSchema,
  changePin,
  checkAuthorised,
  createContact,
  NewContactSchema,
  removeContact,
  updateContact,
} from '../contacts.ts';
import { grantInstallerAccess, INSTALLER_ACCESS_MAX_HOURS } from '../installer-access.ts';
import { OutcomeRefused, type ProcedureService } from '../procedures/service.ts';
import { audit } from '../records.ts';
import { setTestMode, TEST_MODE_LIMITS_MINUTES } from '../site-settings.ts';
import type { GatewayProvisioning } from './installer-routes.ts';
import { parseOr400 } from './validation.ts';

type Guard = (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;

export interface CustomerRouteOptions {
  readonly pool: pg.Pool;
  readonly procedures: ProcedureService;
  readonly requireCustomer: Guard;
  readonly secretCheck: object;
  readonly gateways: Pick<GatewayProvisioning, 'ask'>;
}

/** How long the portal waits for the gateway to check a code and arm or disarm. */
const ARMING_ANSWER_MS = 15_000;
/** Alarm classes a customer may cancel as a false alarm; technical messages close with their cause. */
const CANCELLABLE_CLASSES = ['security', 'safety'];

const Code = { idCode: z.string().regex(/^\d{6}$/, 'a 6-digit ID code'), pin: z.string().min(1).max(8) };
const IdParams = z.strictObject({ id: z.string().regex(/^\d{1,18}$/) });
const CodeBody = z.strictObject(Code);
const TestModeBody = z.strictObject({
  ...Code,
  minutes: z.number().int().min(1).max(TEST_MODE_LIMITS_MINUTES.phone),
});
const InstallerAccessBody = z.strictObject({
  ...Code,
  hours: z.number().int().min(1).max(INSTALLER_ACCESS_MAX_HOURS),
});
const PinBody = z.strictObject({ ...Code, newPin: z.string().regex(/^\d{4,8}$/, '4 to 8 digits') });
const AddContactBody = z.strictObject({ ...Code, contact: NewContactSchema });
const ChangeContactBody = z.strictObject({ ...Code, changes: ContactChangesSchema });
const ReplyBody = z.strictObject({ text: z.string().trim().min(1).max(1000) });
const ArmingBody = z.strictObject({
  area: z.number().int().min(0).max(99),
  mode: z.enum(['away', 'home', 'night', 'disarmed']),
  /** The user's code of the gateway's keypad: checked by the gateway, never kept by the central. */
  code: z.string().regex(/^[0-9]{4,8}$/, 'your code of 4 to 8 digits'),
});
const MediaParams = z.strictObject({ id: z.string().regex(/^\d{1,18}$/) });
const EventsQuery = z.strictObject({
  before: z.iso.datetime({ offset: true }).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});
const ReportQuery = z.strictObject({
  period: z.enum(['day', 'week', 'month']).default('week'),
  end: z.iso.datetime({ offset: true }).optional(),
});

/** How a report period is cut into chart buckets. */
const PERIODS = {
  day: { span: '1 day', bucket: '1 hour', unit: 'hour' },
  week: { span: '7 days', bucket: '1 day', unit: 'day' },
  month: { span: '30 days', bucket: '1 day', unit: 'day' },
} as const;

/**
 * The customer portal's API, always scoped to the account's own site. Anything that changes the
 * site's records or cancels an alarm also needs the ID code + PIN of one of its authorised persons,
 * exactly as on the phone (same lockout, same audit).
 */
export function registerCustomerRoutes(app: FastifyInstance, options: CustomerRouteOptions): void {
  const { pool, procedures, requireCustomer, secretCheck } = options;
  const guarded = { preHandler: requireCustomer };
  const checked = { preHandler: requireCustomer, config: secretCheck };
  const site = (request: FastifyRequest) => request.operator!.siteId!;
  const actor = (request: FastifyRequest) => `customer:${request.operator!.username}`;
  const authorised = async (request: FastifyRequest, code: { idCode: string; pin: string }) => {
    const result = await checkAuthorised(pool, site(request), code.idCode, code.pin, actor(request));
    if (!result.ok) {
      const message =
        result.reason === 'must-change-pin' ? 'change the default PIN first' : 'ID code or PIN not accepted';
      throw Object.assign(new Error(message), { statusCode: 403 });
    }
    return result.contactId;
  };

  app.get('/api/customer/overview', guarded, async (request) => {
    const id = site(request);
    const [{ rows: sites }, { rows: armingEvents }, { rows: gateways }, { rows: open }] = await Promise.all([
      pool.query(
        `SELECT id, name, address, kind, formula, test_mode_until AS "testModeUntil", activated_at AS "activatedAt",
                test_period_days AS "testPeriodDays" FROM sites WHERE id = $1`,
        [id],
      ),
      pool.query(
        `SELECT DISTINCT ON (area) area, CASE qualifier WHEN 'restore' THEN 'armed' ELSE 'disarmed' END AS state,
                occurred_at AS "since", text FROM events
          WHERE site_id = $1 AND event_type = 'opening-closing' ORDER BY area, occurred_at DESC`,
        [id],
      ),
      pool.query(
        `SELECT id, online, last_seen_at AS "lastSeenAt", arming, arming_at AS "armingAt"
           FROM gateways WHERE site_id = $1 ORDER BY id`,
        [id],
      ),
      pool.query(
        `SELECT a.id::text AS "alarmId", a.lead_event_type AS "eventType", a.lead_text AS text, a.opened_at AS "openedAt",
                a.status, a.class
           FROM alarms a WHERE a.site_id = $1 AND a.status <> 'closed'
            AND NOT a.silent
          ORDER BY a.opened_at DESC`,
        [id],
      ),
    ]);
    // Each area's arming as its gateway reported it (from its first status on), else the last
    // arm or disarm event the central stored.
    const reported = gateways.flatMap((g) =>
      (g.arming ?? []).map(
        (a: { id: number; name: string; mode: string; phase: string; until: string | null }) => {
          const state = a.mode === 'disarmed' ? 'disarmed' : 'armed';
          // Since the arm or disarm that led to it, when the central has it; else since the report.
          const last = armingEvents.find((e) => e.area === a.id && e.state === state);
          return {
            area: a.id,
            name: a.name,
            state,
            mode: a.mode,
            phase: a.phase,
            until: a.until,
            since: last?.since ?? g.armingAt,
            text: last?.text ?? '',
            reported: true,
          };
        },
      ),
    );
    const arming = [
      ...reported,
      ...armingEvents.filter((e) => !reported.some((r: { area: number }) => r.area === e.area)),
    ];
    const cancelled = await procedures.cancelsRequested(open.map((a) => a.alarmId));
    return {
      site: sites[0],
      arming,
      gateways: gateways.map(({ arming: _arming, armingAt: _at, ...g }) => g),
      openAlarms: open.map((a) => ({
        ...a,
        cancellable: CANCELLABLE_CLASSES.includes(a.class) && !cancelled.has(a.alarmId),
      })),
    };
  });

  // Arming or disarming from the portal goes through the gateway, which checks the user's code as
  // its keypad does (same lockout; a duress code works as on site) and answers within seconds.
  app.post('/api/customer/arming', checked, async (request, reply) => {
    const body = parseOr400(ArmingBody, request.body);
    const { rows } = await pool.query<{ id: string; online: boolean }>(
      'SELECT id, online FROM gateways WHERE site_id = $1 ORDER BY online DESC, id LIMIT 1',
      [site(request)],
    );
    const gateway = rows[0];
    if (!gateway?.online)
      return reply
        .code(503)
        .send({ error: 'your gateway is not connected: arm or disarm at the panel at home' });
    const command = newCommand(
      actor(request),
      body.mode === 'disarmed'
        ? { name: 'disarm', area: body.area, code: body.code }
        : { name: 'arm', area: body.area, mode: body.mode, code: body.code },
    );
    const answer = await options.gateways.ask(site(request), gateway.id, command, ARMING_ANSWER_MS);
    await audit(
      pool,
      actor(request),
      body.mode === 'disarmed' ? 'arming.disarm' : 'arming.arm',
      site(request),
      {
        area: body.area,
        ...(body.mode === 'disarmed' ? {} : { mode: body.mode }),
        result: answer === null ? 'no answer' : answer.ok ? 'done' : answer.error,
      },
    );
    if (answer === null)
      return reply.code(504).send({ error: 'your gateway did not answer in time: check the panel at home' });
    if (!answer.ok) {
      const status = answer.error === 'wrong code' ? 403 : /locked/.test(answer.error ?? '') ? 423 : 409;
      return reply.code(status).send({ error: answer.error ?? 'refused by the gateway' });
    }
    return { done: true };
  });

  // Every camera access of the central under an alarm (SPEC §8), with the pictures it took.
  app.get('/api/customer/camera-access', guarded, async (request) => {
    const { rows } = await pool.query(
      `SELECT g.id, g.alarm_id::text AS "alarmId", a.lead_event_type AS "eventType", g.issued_at AS "at",
              g.not_after AS "until", g.cameras, coalesce(o.display_name, g.operator) AS "by",
              coalesce((SELECT json_agg(json_build_object('id', m.id::text, 'cameraId', m.camera_id, 'takenAt', m.taken_at)
                                        ORDER BY m.id)
                          FROM event_media m WHERE m.grant_id = g.id), '[]') AS pictures
         FROM camera_grants g JOIN alarms a ON a.id = g.alarm_id
         LEFT JOIN operators o ON g.operator = 'operator:' || o.username
        WHERE g.site_id = $1 AND NOT a.silent ORDER BY g.issued_at DESC LIMIT 50`,
      [site(request)],
    );
    return { accesses: rows };
  });

  app.get('/api/customer/media/:id', guarded, async (request, reply) => {
    const { id } = parseOr400(MediaParams, request.params);
    const { rows } = await pool.query<{ content_type: string; bytes: Buffer }>(
      `SELECT m.content_type, m.bytes FROM event_media m JOIN alarms a ON a.id = m.alarm_id
        WHERE m.id = $1 AND m.site_id = $2 AND NOT a.silent`,
      [id, site(request)],
    );
    if (!rows[0]) return reply.code(404).send({ error: 'no such picture (deleted after 60 days?)' });
    return reply
      .header('content-type', rows[0].content_type)
      .header('x-content-type-options', 'nosniff')
      .header('content-security-policy', "default-src 'none'")
      .header('cache-control', 'private, max-age=600')
      .send(rows[0].bytes);
  });

  app.get('/api/customer/events', guarded, async (request) => {
    const query = parseOr400(EventsQuery, request.query);
    const { rows } = await pool.query(
      `SELECT id, event_type AS "eventType", qualifier, class, zone, area, device_name AS "deviceName", text,
              occurred_at AS "occurredAt"
         FROM events WHERE site_id = $1 AND ($2::timestamptz IS NULL OR occurred_at < $2)
          AND event_type <> 'duress'
        ORDER BY occurred_at DESC LIMIT $3`,
      [site(request), query.before ?? null, query.limit],
    );
    return { events: rows };
  });

  app.get('/api/customer/alarms', guarded, async (request) => {
    const { rows } = await pool.query(
      `SELECT a.id::text AS "alarmId", a.lead_event_type AS "eventType", a.lead_text AS text, a.status, a.opened_at AS "openedAt",
              a.closed_at AS "closedAt", a.close_reason AS "closeReason",
              coalesce((SELECT json_agg(json_build_object('at', x.at, 'action', x.action, 'target', x.target,
                                                          'reason', x.reason, 'by', coalesce(o.display_name, x.actor))
                                        ORDER BY x.id)
                          FROM alarm_actions x LEFT JOIN operators o ON x.actor = 'operator:' || o.username
                         -- What was done, by whom: never the engine's proposals.
                         WHERE x.alarm_id = a.id AND x.sort IS DISTINCT FROM 'proposal'
                           AND x.action IN ('recorded', 'sms', 'push', 'email', 'close')),
                       '[]') AS steps
         FROM alarms a WHERE a.site_id = $1 AND NOT a.silent
        ORDER BY a.opened_at DESC LIMIT 100`,
      [site(request)],
    );
    return { alarms: rows };
  });

  // Cancelling a (false) alarm: the person proves to be authorised, as on the phone (SPEC §2).
  app.post('/api/customer/alarms/:id/cancel', checked, async (request, reply) => {
    const { id } = parseOr400(IdParams, request.params);
    const body = parseOr400(CodeBody, request.body);
    const { rows } = await pool.query<{ status: string; class: string }>(
      // A duress alarm is silent towards the premises: as far as the portal knows, there is none.
      'SELECT status, class FROM alarms WHERE id = $1 AND site_id = $2 AND NOT silent',
      [id, site(request)],
    );
    if (!rows[0]) return reply.code(404).send({ error: 'no such alarm' });
    if (rows[0].status === 'closed') return reply.code(409).send({ error: 'the alarm is already closed' });
    if (!CANCELLABLE_CLASSES.includes(rows[0].class))
      return reply
        .code(409)
        .send({ error: 'a technical message is not cancelled: it closes when its cause is put right' });
    if (await procedures.cancelRequested(id))
      return reply.code(409).send({ error: 'already cancelled: the operator is confirming it' });
    const contactId = await authorised(request, body);
    const { rows: who } = await pool.query<{ name: string }>('SELECT name FROM contacts WHERE id = $1', [
      contactId,
    ]);
    const by = `${who[0]?.name ?? 'authorised person'} (ID code ${body.idCode.slice(0, 2)}····)`;
    // The code was checked just now. An operator working the incident sees the cancel and confirms it.
    try {
      await procedures.onOutcome(id, 'cancel-valid-code', actor(request), { by, via: 'portal' });
    } catch (error) {
      if (error instanceof OutcomeRefused) throw Object.assign(error, { statusCode: 409 });
      throw error;
    }
    const { rows: after } = await pool.query<{ status: string }>('SELECT status FROM alarms WHERE id = $1', [
      id,
    ]);
    return { cancelled: after[0]?.status === 'closed', confirmation: after[0]?.status !== 'closed' };
  });

  app.put('/api/customer/test-mode', checked, async (request) => {
    const body = parseOr400(TestModeBody, request.body);
    await authorised(request, body);
    const until = new Date(Date.now() + body.minutes * 60_000);
    await setTestMode(pool, site(request), until, actor(request), {
      authority: 'portal',
      minutes: body.minutes,
    });
    await procedures.reloadSite(site(request));
    return { testModeUntil: until.toISOString() };
  });

  // Ending test mode early: alarms are acted on again at once.
  app.delete('/api/customer/test-mode', checked, async (request) => {
    const body = parseOr400(CodeBody, request.body);
    await authorised(request, body);
    await setTestMode(pool, site(request), null, actor(request), { authority: 'portal' });
    await procedures.reloadSite(site(request));
    return { testModeUntil: null };
  });

  // The site consents to its installer servicing it (walk test, new gateway credentials) for a while.
  app.post('/api/customer/installer-access', checked, async (request) => {
    const body = parseOr400(InstallerAccessBody, request.body);
    const contactId = await authorised(request, body);
    const until = await grantInstallerAccess(pool, site(request), body.hours, actor(request), {
      contact: contactId,
    });
    return { installerAccessUntil: until?.toISOString() ?? null };
  });

  app.post('/api/customer/pin', checked, async (request) => {
    const body = parseOr400(PinBody, request.body);
    try {
      await changePin(pool, site(request), body.idCode, body.pin, body.newPin, actor(request));
    } catch (error) {
      throw Object.assign(error as Error, { statusCode: 403 });
    }
    return { changed: true };
  });

  app.get('/api/customer/contacts', guarded, async (request) => {
    const { rows } = await pool.query(
      `SELECT id::text, name, role, call_order AS "order", phone, mobile, email FROM contacts
        WHERE site_id = $1 ORDER BY role DESC, call_order, id`,
      [site(request)],
    );
    return { contacts: rows };
  });

  app.post('/api/customer/contacts', checked, async (request, reply) => {
    const body = parseOr400(AddContactBody, request.body);
    await authorised(request, body);
    try {
      const created = await createContact(pool, { ...body.contact, siteId: site(request) }, actor(request));
      await procedures.reloadSite(site(request));
      return reply.code(201).send(created);
    } catch (error) {
      throw Object.assign(error as Error, { statusCode: 409 });
    }
  });

  app.patch('/api/customer/contacts/:id', checked, async (request, reply) => {
    const { id } = parseOr400(IdParams, request.params);
    const body = parseOr400(ChangeContactBody, request.body);
    await authorised(request, body);
    if (!(await updateContact(pool, site(request), id, body.changes, actor(request))))
      return reply.code(404).send({ error: 'no such contact' });
    await procedures.reloadSite(site(request));
    return { updated: true };
  });

  app.delete('/api/customer/contacts/:id', checked, async (request, reply) => {
    const { id } = parseOr400(IdParams, request.params);
    const body = parseOr400(CodeBody, request.body);
    await authorised(request, body);
    if (!(await removeContact(pool, site(request), id, actor(request))))
      return reply.code(409).send({ error: 'no such contact, or the last authorised person' });
    await procedures.reloadSite(site(request));
    return { removed: true };
  });

  // Reports (SPEC §7): alarms over time with their outcome, and the arming history, for a period.
  app.get('/api/customer/report', guarded, async (request) => {
    const query = parseOr400(ReportQuery, request.query);
    const period = PERIODS[query.period];
    const end = query.end ? new Date(query.end) : new Date();
    const params = [site(request), end, period.span];
    const [{ rows: buckets }, { rows: alarms }, { rows: arming }] = await Promise.all([
      pool.query(
        `SELECT b.start, count(a.id)::int AS alarms,
                count(a.id) FILTER (WHERE a.close_reason LIKE '%false alarm%')::int AS "false",
                count(a.id) FILTER (WHERE a.close_reason LIKE '%real alarm%')::int AS real
           FROM generate_series(date_trunc('${period.unit}', $2::timestamptz - $3::interval) + '${period.bucket}'::interval,
                                date_trunc('${period.unit}', $2::timestamptz), '${period.bucket}'::interval) AS b(start)
           LEFT JOIN alarms a ON a.site_id = $1 AND a.opened_at >= b.start
                              AND a.opened_at < b.start + '${period.bucket}'::interval
          GROUP BY b.start ORDER BY b.start`,
        params,
      ),
      pool.query(
        `SELECT a.id::text AS "alarmId", a.lead_event_type AS "eventType", a.opened_at AS "openedAt",
                a.close_reason AS "closeReason",
                (SELECT count(*)::int FROM alarm_actions x
                  WHERE x.alarm_id = a.id AND x.sort IS DISTINCT FROM 'proposal' AND x.action IN ('recorded', 'sms')) AS steps
           FROM alarms a
          WHERE a.site_id = $1 AND NOT a.silent AND a.opened_at > $2::timestamptz - $3::interval AND a.opened_at <= $2
          ORDER BY a.opened_at`,
        params,
      ),
      pool.query(
        `SELECT occurred_at AS "at", area, CASE qualifier WHEN 'restore' THEN 'armed' ELSE 'disarmed' END AS state, text
           FROM events WHERE site_id = $1 AND event_type = 'opening-closing'
            AND occurred_at > $2::timestamptz - $3::interval AND occurred_at <= $2
          ORDER BY occurred_at`,
        params,
      ),
    ]);
    return { period: query.period, end: end.toISOString(), buckets, alarms, arming };
  });

  app.get('/api/customer/follow-ups', guarded, async (request) => {
    const { rows } = await pool.query(
      `SELECT f.id::text, f.alarm_id::text AS "alarmId", a.lead_event_type AS "eventType", f.created_at AS "createdAt",
              f.due_at AS "dueAt", f.customer_reply AS "reply", f.done_at AS "doneAt", f.note
         FROM follow_ups f JOIN alarms a ON a.id = f.alarm_id
        WHERE f.site_id = $1 ORDER BY f.created_at DESC LIMIT 20`,
      [site(request)],
    );
    return { followUps: rows };
  });

  app.post('/api/customer/follow-ups/:id/reply', guarded, async (request, reply) => {
    const { id } = parseOr400(IdParams, request.params);
    const { text } = parseOr400(ReplyBody, request.body);
    const { rowCount } = await pool.query(
      `UPDATE follow_ups SET customer_reply = $3, replied_at = now() WHERE id = $1 AND site_id = $2 AND done_at IS NULL`,
      [id, site(request), text],
    );
    if (rowCount !== 1) return reply.code(404).send({ error: 'no open follow-up' });
    return { replied: true };
  });
}
