import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type pg from 'pg';
import { z } from 'zod';
import {
  ContactChangesSchema,
  checkAuthorised,
  createContact,
  NewContactSchema,
  removeContact,
  updateContact,
} from '../contacts.ts';
import { escapeLike } from '../db/pool.ts';
import { grantInstallerAccess, INSTALLER_ACCESS_MAX_HOURS } from '../installer-access.ts';
import type { ProcedureService } from '../procedures/service.ts';
import { audit } from '../records.ts';
import { siteCard } from '../site-card.ts';
import {
  createInstaller,
  InstallerSchema,
  recordRegionalOutage,
  SiteSettingsSchema,
  setTestMode,
  TEST_MODE_LIMITS_MINUTES,
  updateSiteSettings,
} from '../site-settings.ts';
import { parseOr400 } from './validation.ts';

type Guard = (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;

export interface SiteRouteOptions {
  readonly secretCheck: object;
  readonly pool: pg.Pool;
  readonly procedures: ProcedureService;
  readonly requireOperator: Guard;
  readonly requireSupervisor: Guard;
}

const SiteParams = z.strictObject({ id: z.string().min(1).max(64) });
const InstallerAccessRequest = z.strictObject({
  hours: z.number().int().min(1).max(INSTALLER_ACCESS_MAX_HOURS),
  reason: z.string().trim().min(1).max(300),
});
const RegionParams = z.strictObject({ region: z.string().min(1).max(64) });

/**
 * On whose authority an ARC operator changes a site's contacts: an authorised person on the phone
 * (ID code + PIN checked) or a signed request filed under a reference (supervisors).
 */
const AuthoritySchema = z.discriminatedUnion('authority', [
  z.strictObject({
    authority: z.literal('phone'),
    idCode: z.string().regex(/^\d{6}$/),
    pin: z.string().min(1).max(8),
  }),
  z.strictObject({ authority: z.literal('written'), reference: z.string().trim().min(1).max(200) }),
]);
const ContactParams = z.strictObject({
  id: z.string().min(1).max(64),
  contactId: z.string().regex(/^\d{1,18}$/),
});
const ContactChangeBody = z.strictObject({ changes: ContactChangesSchema, authority: AuthoritySchema });
const ContactRemoveBody = z.strictObject({ authority: AuthoritySchema });
/** Who asked for a change of the site's records and how (a caller, a letter's reference): audited. */
const RequestedBy = z.string().trim().min(3).max(200).optional();
const RejectBody = z.strictObject({ reason: z.string().trim().min(3).max(500) });
const SiteListQuery = z.strictObject({
  filter: z.enum(['all', 'test', 'outage', 'offline', 'submitted']).default('all'),
  q: z.string().trim().max(100).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(200),
});

const TestModeRequestSchema = z.discriminatedUnion('authority', [
  // By phone: the caller proves to be an authorised person of the site with ID code + PIN.
  z.strictObject({
    authority: z.literal('phone'),
    minutes: z.number().int().min(1).max(TEST_MODE_LIMITS_MINUTES.phone),
    idCode: z.string().regex(/^\d{6}$/),
    pin: z.string().min(1).max(8),
  }),
  // On a written (signed) request, filed under a reference; supervisors only.
  z.strictObject({
    authority: z.literal('written'),
    minutes: z.number().int().min(1).max(TEST_MODE_LIMITS_MINUTES.written),
    reference: z.string().trim().min(1).max(200),
  }),
]);

/**
 * Site administration at the central: installers, supervision settings (region, test report
 * interval, arming schedule), test mode and known regional power outages. Every change is audited
 * and the procedure engine re-reads the site.
 */
export function registerSiteRoutes(app: FastifyInstance, options: SiteRouteOptions): void {
  const { pool, procedures, requireOperator, requireSupervisor } = options;
  const actor = (request: FastifyRequest) => `operator:${request.operator!.username}`;

  // Sites installers submitted, waiting for the central to register them.
  app.get('/api/submissions', { preHandler: requireSupervisor }, async () => {
    const { rows } = await pool.query(
      `SELECT s.id, s.name, s.address, s.kind, s.created_at AS "submittedAt", i.company AS "installer",
              s.submission->'devices' AS devices, s.submission->'contacts' AS contacts,
              s.submission->>'gatewayId' AS "gatewayId"
         FROM sites s LEFT JOIN installers i ON i.id = s.installer_id
        WHERE s.status = 'submitted' ORDER BY s.created_at`,
    );
    return { submissions: rows };
  });

  app.post('/api/installers', { preHandler: requireSupervisor }, async (request, reply) => {
    const id = await createInstaller(pool, parseOr400(InstallerSchema, request.body), actor(request));
    return reply.code(201).send({ id: Number(id) });
  });

  app.get('/api/sites/:id', { preHandler: requireOperator }, async (request, reply) => {
    const { id } = parseOr400(SiteParams, request.params);
    const { rows } = await pool.query(
      `SELECT s.id, s.name, s.address, s.time_zone AS "timeZone", s.kind, s.formula, s.region,
              s.test_mode_until AS "testModeUntil", s.test_interval_minutes AS "testIntervalMinutes",
              s.test_grace_minutes AS "testGraceMinutes", s.schedule, s.premises_phone AS "premisesPhone",
              s.mains_delay_minutes AS "mainsDelayMinutes",
              CASE WHEN i.id IS NULL THEN NULL
                   ELSE json_build_object('id', i.id, 'company', i.company, 'name', i.name, 'phone', i.phone) END AS installer,
              (o.region IS NOT NULL) AS "regionalOutage"
         FROM sites s
         LEFT JOIN installers i ON i.id = s.installer_id
         LEFT JOIN regional_outages o ON o.region = s.region
        WHERE s.id = $1`,
      [id],
    );
    if (!rows[0]) return reply.code(404).send({ error: 'no such site' });
    return rows[0];
  });

  app.patch('/api/sites/:id', { preHandler: requireSupervisor }, async (request, reply) => {
    const { id } = parseOr400(SiteParams, request.params);
    const { requestedBy: asked, ...fields } = (request.body ?? {}) as Record<string, unknown>;
    const requestedBy = parseOr400(RequestedBy, asked);
    const settings = parseOr400(SiteSettingsSchema, fields);
    try {
      if (!(await updateSiteSettings(pool, id, settings, actor(request), requestedBy ? { requestedBy } : {})))
        return reply.code(404).send({ error: 'no such site' });
    } catch (error) {
      if ((error as { code?: string }).code === '23503')
        throw Object.assign(new Error('no such installer'), { statusCode: 400 });
      throw error;
    }
    await procedures.reloadSite(id);
    return { ok: true };
  });

  // Every site, or those in test, in a known regional outage, with a gateway offline, or submitted.
  app.get('/api/sites', { preHandler: requireOperator }, async (request) => {
    const { filter, q, limit } = parseOr400(SiteListQuery, request.query);
    const { rows } = await pool.query(
      `SELECT s.id, s.name, s.address, s.status, s.kind, s.formula, s.region,
              s.test_mode_until AS "testModeUntil", (o.region IS NOT NULL) AS "regionalOutage",
              coalesce(bool_and(g.online), false) AS online, count(g.id)::int AS gateways,
              (SELECT count(*)::int FROM alarms a WHERE a.site_id = s.id AND a.status <> 'closed') AS "openAlarms"
         FROM sites s
         LEFT JOIN gateways g ON g.site_id = s.id
         LEFT JOIN regional_outages o ON o.region = s.region
        WHERE ($2::text IS NULL OR lower(s.id) LIKE $2 OR lower(s.name) LIKE $2 OR lower(s.address) LIKE $2)
          AND ($1 <> 'test' OR s.test_mode_until > now())
          AND ($1 <> 'outage' OR o.region IS NOT NULL)
          AND ($1 <> 'submitted' OR s.status = 'submitted')
        GROUP BY s.id, o.region
       HAVING $1 <> 'offline' OR coalesce(bool_and(g.online), false) = false
        ORDER BY s.name LIMIT $3`,
      [filter, q ? `%${escapeLike(q.toLowerCase())}%` : null, limit],
    );
    return { sites: rows };
  });

  // The site card an operator sees on an incident, without one.
  app.get('/api/sites/:id/card', { preHandler: requireOperator }, async (request, reply) => {
    const { id } = parseOr400(SiteParams, request.params);
    const card = await siteCard(pool, procedures, id);
    if (!card.id) return reply.code(404).send({ error: 'no such site' });
    return card;
  });

  // The central refuses a submission with what the installer must fix; they may submit it again.
  app.post('/api/sites/:id/reject', { preHandler: requireSupervisor }, async (request, reply) => {
    const { id } = parseOr400(SiteParams, request.params);
    const { reason } = parseOr400(RejectBody, request.body);
    const { rowCount } = await pool.query(
      `UPDATE sites SET status = 'rejected', rejection = $2 WHERE id = $1 AND status = 'submitted'`,
      [id, reason],
    );
    if (rowCount !== 1) return reply.code(409).send({ error: 'no submitted site by that id' });
    await audit(pool, actor(request), 'site.reject', id, { reason });
    return { id, status: 'rejected' };
  });

  /** The authority for a change: a caller's code checked (403 when not accepted), or a written request. */
  const authorityOf = async (
    request: FastifyRequest,
    siteId: string,
    authority: z.infer<typeof AuthoritySchema>,
  ) => {
    if (authority.authority === 'written') {
      if (request.operator!.role !== 'supervisor')
        throw Object.assign(new Error('written requests are entered by supervisors'), { statusCode: 403 });
      return { authority: 'written', reference: authority.reference };
    }
    const result = await checkAuthorised(pool, siteId, authority.idCode, authority.pin, actor(request));
    if (!result.ok) throw Object.assign(new Error('code not accepted'), { statusCode: 403 });
    const { rows } = await pool.query<{ name: string }>('SELECT name FROM contacts WHERE id = $1', [
      result.contactId,
    ]);
    return { authority: 'phone', authorisedBy: rows[0]?.name ?? result.contactId };
  };

  app.patch(
    '/api/sites/:id/contacts/:contactId',
    { preHandler: requireOperator, config: options.secretCheck },
    async (request, reply) => {
      const { id, contactId } = parseOr400(ContactParams, request.params);
      const body = parseOr400(ContactChangeBody, request.body);
      const authority = await authorityOf(request, id, body.authority);
      if (!(await updateContact(pool, id, contactId, body.changes, actor(request), authority)))
        return reply.code(404).send({ error: 'no such contact' });
      await procedures.reloadSite(id);
      return { updated: true };
    },
  );

  app.delete(
    '/api/sites/:id/contacts/:contactId',
    { preHandler: requireOperator, config: options.secretCheck },
    async (request, reply) => {
      const { id, contactId } = parseOr400(ContactParams, request.params);
      const body = parseOr400(ContactRemoveBody, request.body);
      const authority = await authorityOf(request, id, body.authority);
      if (!(await removeContact(pool, id, contactId, actor(request), authority)))
        return reply.code(409).send({ error: "no such contact, or the site's last authorised person" });
      await procedures.reloadSite(id);
      return { removed: true };
    },
  );

  // An ARC operator opens a service window for the site's installer (e.g. asked on the phone).
  app.post('/api/sites/:id/installer-access', { preHandler: requireOperator }, async (request, reply) => {
    const { id } = parseOr400(SiteParams, request.params);
    const body = parseOr400(InstallerAccessRequest, request.body);
    const until = await grantInstallerAccess(pool, id, body.hours, actor(request), { reason: body.reason });
    if (!until) return reply.code(404).send({ error: 'no such site' });
    return { installerAccessUntil: until.toISOString() };
  });

  app.get('/api/sites/:id/contacts', { preHandler: requireOperator }, async (request) => {
    const { id } = parseOr400(SiteParams, request.params);
    const { rows } = await pool.query(
      `SELECT id::text, name, role, call_order AS "order", phone, mobile, email, pin_must_change AS "pinMustChange",
              EXISTS (SELECT 1 FROM secret_lockouts l WHERE l.target = 'contact:' || site_id || '/' || id_code
                         AND l.source = '*' AND l.locked_until > now()) AS locked
         FROM contacts WHERE site_id = $1 ORDER BY role DESC, call_order, id`,
      [id],
    );
    return { contacts: rows };
  });

  // The ID code and default PIN are shown once, to be sent to the contact by letter.
  app.post('/api/sites/:id/contacts', { preHandler: requireSupervisor }, async (request, reply) => {
    const { id } = parseOr400(SiteParams, request.params);
    const input = parseOr400(NewContactSchema, request.body);
    let created: Awaited<ReturnType<typeof createContact>>;
    try {
      created = await createContact(pool, { ...input, siteId: id }, actor(request));
    } catch (error) {
      throw Object.assign(error as Error, { statusCode: 409 });
    }
    await procedures.reloadSite(id);
    return reply.code(201).send(created);
  });

  app.put(
    '/api/sites/:id/test-mode',
    { preHandler: requireOperator, config: options.secretCheck },
    async (request, reply) => {
      const { id } = parseOr400(SiteParams, request.params);
      const body = parseOr400(TestModeRequestSchema, request.body);
      if (body.authority === 'written' && request.operator!.role !== 'supervisor')
        return reply.code(403).send({ error: 'written test-mode requests are entered by supervisors' });
      if (body.authority === 'phone') {
        // Only an authorised person may put the site in test; a wrong code tells the caller nothing (SPEC §2).
        const result = await checkAuthorised(pool, id, body.idCode, body.pin, actor(request));
        if (!result.ok) return reply.code(403).send({ error: 'code not accepted' });
      }
      const until = new Date(Date.now() + body.minutes * 60_000);
      const detail =
        body.authority === 'phone'
          ? { authority: 'phone', minutes: body.minutes, idCode: body.idCode }
          : { authority: 'written', minutes: body.minutes, reference: body.reference };
      if (!(await setTestMode(pool, id, until, actor(request), detail)))
        return reply.code(404).send({ error: 'no such site' });
      await procedures.reloadSite(id);
      return { testModeUntil: until.toISOString() };
    },
  );

  app.delete('/api/sites/:id/test-mode', { preHandler: requireOperator }, async (request, reply) => {
    const { id } = parseOr400(SiteParams, request.params);
    if (!(await setTestMode(pool, id, null, actor(request), {})))
      return reply.code(404).send({ error: 'no such site' });
    await procedures.reloadSite(id);
    return { testModeUntil: null };
  });

  app.get('/api/regional-outages', { preHandler: requireOperator }, async () => {
    const { rows } = await pool.query(
      `SELECT o.region, o.started_at AS "startedAt", o.started_by AS "startedBy",
              (SELECT count(*)::int FROM sites s WHERE s.region = o.region) AS sites
         FROM regional_outages o ORDER BY o.started_at`,
    );
    return { outages: rows };
  });

  app.put('/api/regional-outages/:region', { preHandler: requireSupervisor }, async (request) => {
    const { region } = parseOr400(RegionParams, request.params);
    const { changed, siteIds } = await recordRegionalOutage(pool, region, true, actor(request));
    if (changed) await procedures.setRegionalOutage(siteIds, true, actor(request));
    return { region, active: true, sites: siteIds.length };
  });

  app.delete('/api/regional-outages/:region', { preHandler: requireSupervisor }, async (request) => {
    const { region } = parseOr400(RegionParams, request.params);
    const { changed, siteIds } = await recordRegionalOutage(pool, region, false, actor(request));
    if (changed) await procedures.setRegionalOutage(siteIds, false, actor(request));
    return { region, active: false, sites: siteIds.length };
  });
}
