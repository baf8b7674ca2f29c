import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type pg from 'pg';
import { z } from 'zod';
import { addNote, assertClaimed, claimAlarm, releaseAlarm } from '../alarm-claims.ts';
import { alarmById, openAlarmQueue, QUEUE_PAGE } from '../alarms.ts';
import type { CameraService } from '../cameras/camera-service.ts';
import { escapeLike } from '../db/pool.ts';
import { OUTCOMES } from '../procedures/model.ts';
import { OutcomeRefused, type ProcedureService } from '../procedures/service.ts';
import { siteCard } from '../site-card.ts';
import { parseOr400 } from './validation.ts';

type Guard = (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;

export interface AlarmRouteOptions {
  /** Route config for requests that check a secret (rate-limited harder). */
  readonly secretCheck: object;
  readonly pool: pg.Pool;
  readonly procedures: ProcedureService;
  readonly cameras: CameraService;
  readonly requireOperator: Guard;
  readonly requireSupervisor: Guard;
}

const AlarmParams = z.strictObject({ id: z.string().regex(/^\d{1,18}$/, 'an alarm id') });
const OutcomeBody = z.strictObject({
  outcome: z.enum(OUTCOMES),
  /** Who answered (a contact's name), or who cancelled. */
  by: z.string().trim().min(1).max(120).optional(),
  service: z.enum(['police', 'fire', 'guard']).optional(),
  /** A dispatch: the agency (e.g. "Politie Midden-Nederland") and its reference number. */
  agency: z.string().trim().min(1).max(120).optional(),
  reference: z.string().trim().min(1).max(60).optional(),
  at: z.iso.datetime({ offset: true }).optional(),
  reason: z.string().trim().min(1).max(300).optional(),
  note: z.string().trim().min(1).max(300).optional(),
});
const CodeBody = z.strictObject({
  idCode: z.string().regex(/^\d{6}$/, 'a 6-digit ID code'),
  pin: z.string().min(1).max(8),
  cancel: z.boolean().optional(),
});
// Taking over from another operator says why: the operator who loses the incident is told.
const ClaimBody = z
  .strictObject({ takeOver: z.boolean().optional(), reason: z.string().trim().min(1).max(300).optional() })
  .refine((body) => !body.takeOver || body.reason, { message: 'say why you take it over', path: ['reason'] })
  .optional();
const QueueQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(QUEUE_PAGE).default(QUEUE_PAGE),
  after: z
    .string()
    .regex(/^\d{1,18}$/, 'an alarm id')
    .optional(),
});
const NoteBody = z.strictObject({ text: z.string().trim().min(1).max(1000) });
const SearchQuery = z.strictObject({ q: z.string().trim().min(2).max(100) });
const AuditQuery = z.strictObject({
  /** Part of the subject (a site, an alarm, an account), any case. */
  subject: z.string().max(120).optional(),
  /** `operator:alice`, or a bare username of any role. */
  actor: z.string().max(120).optional(),
  /** An action or its beginning: `camera.` */
  action: z.string().max(60).optional(),
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  before: z.coerce.number().int().positive().optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

/**
 * The operators' work on alarms: the queue, an alarm with its site card and trail, claiming (one
 * operator per alarm), outcomes, ID code checks, notes; search and the audit view.
 */
export function registerAlarmRoutes(app: FastifyInstance, options: AlarmRouteOptions): void {
  const { pool, procedures, cameras, requireOperator, requireSupervisor } = options;
  const actor = (request: FastifyRequest) => `operator:${request.operator!.username}`;

  // The open queue, highest priority first, a page at a time: `next` continues after this page.
  app.get('/api/alarms', { preHandler: requireOperator }, async (request) => {
    const query = parseOr400(QueueQuery, request.query);
    const page = await openAlarmQueue(pool, query);
    const last = page.alarms.at(-1);
    return {
      alarms: await procedures.withProposals(page.alarms),
      total: page.total,
      beyond: page.beyond,
      next: page.beyond > 0 && last ? last.alarmId : null,
    };
  });

  app.get('/api/alarms/:id', { preHandler: requireOperator }, async (request, reply) => {
    const { id } = parseOr400(AlarmParams, request.params);
    const alarm = await alarmById(pool, id);
    if (!alarm) return reply.code(404).send({ error: 'no such alarm' });
    const [{ rows: actions }, { rows: timeline }] = await Promise.all([
      pool.query(
        'SELECT at, actor, sort, action, target, reason, detail FROM alarm_actions WHERE alarm_id = $1 ORDER BY id',
        [id],
      ),
      // Every event of the incident in the order it happened: alarms, restores, verifications.
      pool.query(
        `SELECT id, occurred_at AS "occurredAt", event_type AS "eventType", qualifier, zone, area,
                device_name AS "deviceName", verified, text
           FROM events WHERE alarm_id = $1 ORDER BY occurred_at, received_at`,
        [id],
      ),
    ]);
    return {
      alarm,
      proposal: await procedures.proposal(id),
      actions,
      timeline,
      site: await siteCard(pool, procedures, alarm.siteId),
      media: await cameras.mediaOf(id),
    };
  });

  app.post('/api/alarms/:id/claim', { preHandler: requireOperator }, async (request) => {
    const { id } = parseOr400(AlarmParams, request.params);
    const body = parseOr400(ClaimBody, request.body);
    await claimAlarm(pool, id, request.operator!, body?.takeOver ? { reason: body.reason! } : null);
    await procedures.onClaim(id, actor(request));
    return { alarm: await alarmById(pool, id) };
  });

  app.delete('/api/alarms/:id/claim', { preHandler: requireOperator }, async (request) => {
    const { id } = parseOr400(AlarmParams, request.params);
    await releaseAlarm(pool, id, request.operator!);
    return { alarm: await alarmById(pool, id) };
  });

  app.post('/api/alarms/:id/outcome', { preHandler: requireOperator }, async (request) => {
    const { id } = parseOr400(AlarmParams, request.params);
    const { outcome, ...detail } = parseOr400(OutcomeBody, request.body);
    await assertClaimed(pool, id, request.operator!);
    try {
      await procedures.onOutcome(id, outcome, actor(request), { ...detail, via: 'operator' });
    } catch (error) {
      if (error instanceof OutcomeRefused) throw Object.assign(error, { statusCode: 409 });
      throw error;
    }
    return { proposal: await procedures.proposal(id), alarm: await alarmById(pool, id) };
  });

  app.post(
    '/api/alarms/:id/code-check',
    { preHandler: requireOperator, config: options.secretCheck },
    async (request) => {
      const { id } = parseOr400(AlarmParams, request.params);
      const body = parseOr400(CodeBody, request.body);
      await assertClaimed(pool, id, request.operator!);
      const result = await procedures.codeCheck(
        id,
        body.idCode,
        body.pin,
        actor(request),
        body.cancel ?? false,
      );
      // A wrong or missing code: no information is given and nothing is cancelled (SPEC §2).
      return {
        result: result === 'valid' ? 'valid' : 'not-accepted',
        proposal: await procedures.proposal(id),
      };
    },
  );

  app.post('/api/alarms/:id/notes', { preHandler: requireOperator }, async (request, reply) => {
    const { id } = parseOr400(AlarmParams, request.params);
    const { text } = parseOr400(NoteBody, request.body);
    await assertClaimed(pool, id, request.operator!);
    await addNote(pool, id, request.operator!, text);
    return reply.code(201).send({ ok: true });
  });

  // Sites by id, name, address, a contact's name or phone (an ID code's owner is found by name, never
  // by the code), a DC-09 account or a gateway id; with what matched and their latest alarms.
  app.get('/api/search', { preHandler: requireOperator }, async (request) => {
    const { q } = parseOr400(SearchQuery, request.query);
    const pattern = `%${escapeLike(q.toLowerCase())}%`;
    // Digits only, without a national trunk 0: "06 1111 2222" finds +31 6 1111 2222.
    const digits = q.replace(/[^0-9]/g, '').replace(/^0+/, '');
    const phone = digits.length >= 4 ? `%${digits}%` : null;
    const { rows } = await pool.query(
      `WITH hits AS (
         SELECT id AS site_id, 'site' AS matched FROM sites
          WHERE lower(id) LIKE $1 OR lower(name) LIKE $1 OR lower(address) LIKE $1
         UNION ALL
         SELECT site_id, 'contact ' || name FROM contacts
          WHERE lower(name) LIKE $1
             OR ($2::text IS NOT NULL AND (regexp_replace(coalesce(phone, ''), '[^0-9]', '', 'g') LIKE $2
                                       OR regexp_replace(coalesce(mobile, ''), '[^0-9]', '', 'g') LIKE $2))
         UNION ALL
         SELECT id, 'premises phone' FROM sites
          WHERE $2::text IS NOT NULL AND regexp_replace(coalesce(premises_phone, ''), '[^0-9]', '', 'g') LIKE $2
         UNION ALL
         SELECT site_id, 'DC-09 account ' || account FROM dc09_accounts WHERE lower(account) LIKE $1
         UNION ALL
         SELECT site_id, 'gateway ' || id FROM gateways WHERE lower(id) LIKE $1
       ), matched AS (
         SELECT site_id, string_agg(DISTINCT matched, ', ') FILTER (WHERE matched <> 'site') AS matched
           FROM hits GROUP BY site_id)
       SELECT s.id, s.name, s.address, m.matched,
              coalesce((SELECT json_agg(x) FROM (
                 SELECT a.id::text AS "alarmId", a.lead_event_type AS "eventType", a.status, a.opened_at AS "openedAt",
                        a.close_reason AS "closeReason"
                   FROM alarms a
                  WHERE a.site_id = s.id ORDER BY a.opened_at DESC LIMIT 5) x), '[]') AS alarms
         FROM matched m JOIN sites s ON s.id = m.site_id
        ORDER BY s.name LIMIT 20`,
      [pattern, phone],
    );
    return { sites: rows };
  });

  // Follow-ups after real alarms (SPEC §7): open ones, oldest due first; done with a note.
  app.get('/api/follow-ups', { preHandler: requireOperator }, async () => {
    const { rows } = await pool.query(
      `SELECT f.id::text, f.alarm_id::text AS "alarmId", f.site_id AS "siteId", s.name AS "siteName",
              a.lead_event_type AS "eventType", f.due_at AS "dueAt", f.customer_reply AS "reply"
         FROM follow_ups f JOIN sites s ON s.id = f.site_id JOIN alarms a ON a.id = f.alarm_id
        WHERE f.done_at IS NULL ORDER BY f.due_at LIMIT 200`,
    );
    return { followUps: rows };
  });

  app.post('/api/follow-ups/:id/done', { preHandler: requireOperator }, async (request, reply) => {
    const { id } = parseOr400(AlarmParams, request.params);
    const { text } = parseOr400(NoteBody, request.body);
    const { rowCount } = await pool.query(
      'UPDATE follow_ups SET done_at = now(), done_by = $2, note = $3 WHERE id = $1 AND done_at IS NULL',
      [id, actor(request), text],
    );
    if (rowCount !== 1) return reply.code(404).send({ error: 'no open follow-up' });
    return { done: true };
  });

  app.get('/api/audit', { preHandler: requireSupervisor }, async (request) => {
    const query = parseOr400(AuditQuery, request.query);
    const { rows } = await pool.query(
      `SELECT id::int, at, actor, action, subject, detail FROM audit_log
        WHERE ($1::text IS NULL OR subject ILIKE '%' || $1 || '%')
          AND ($2::text IS NULL OR actor = $8 OR actor LIKE '%:' || $2)
          AND ($3::text IS NULL OR action LIKE $3 || '%') AND ($4::bigint IS NULL OR id < $4)
          AND ($6::timestamptz IS NULL OR at >= $6) AND ($7::timestamptz IS NULL OR at < $7)
        ORDER BY id DESC LIMIT $5`,
      [
        query.subject ? escapeLike(query.subject) : null,
        query.actor ? escapeLike(query.actor) : null,
        query.action ? escapeLike(query.action) : null,
        query.before ?? null,
        query.limit,
        query.from ?? null,
        query.to ?? null,
        query.actor ?? null,
      ],
    );
    return { entries: rows, limit: query.limit };
  });
}
