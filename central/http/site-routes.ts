import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type pg from 'pg';
import { z } from 'zod';
import { checkAuthorised, createContact, NewContactSchema } from '../contacts.ts';
import { grantInstallerAccess, INSTALLER_ACCESS_MAX_HOURS } from '../installer-access.ts';
import type { ProcedureService } from '../procedures/service.ts';
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
              jsonb_array_length(s.submission->'devices') AS devices, s.submission->'contacts' AS contacts
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
              s.test_grace_minutes AS "testGraceMinutes", s.schedule,
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
    const settings = parseOr400(SiteSettingsSchema, request.body);
    try {
      if (!(await updateSiteSettings(pool, id, settings, actor(request))))
        return reply.code(404).send({ error: 'no such site' });
    } catch (error) {
      if ((error as { code?: string }).code === '23503')
        throw Object.assign(new Error('no such installer'), { statusCode: 400 });
      throw error;
    }
    await procedures.reloadSite(id);
    return { ok: true };
  });

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
