import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { IANAZone } from 'luxon';
import type pg from 'pg';
import { z } from 'zod';
import { type Command, IdentifierSchema, newCommand } from '../../protocols/messages.ts';
import { CONTACT_LIMITS, createContact, NewContactSchema } from '../contacts.ts';
import type { CommandAnswer } from '../gateway-answers.ts';
import { installerMayService } from '../installer-access.ts';
import type { ProcedureService } from '../procedures/service.ts';
import { audit } from '../records.ts';
import { parseOr400 } from './validation.ts';

type Guard = (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;

/** What the installer portal needs from the rest of the central. */
export interface GatewayProvisioning {
  issueSecret(siteId: string, gatewayId: string, actor: string): Promise<string>;
  sendCommand(siteId: string, gatewayId: string, command: Command): Promise<void>;
  /** Send a command that the gateway answers (on its status); null when no answer came in time. */
  ask(siteId: string, gatewayId: string, command: Command, timeoutMs: number): Promise<CommandAnswer | null>;
  /** How a gateway reaches this central: broker URL, its CA (TLS) and the camera-grant key. */
  connection(): { mqttUrl: string; mqttUrls: readonly string[]; caCert: string | null; grantKey: string };
}

export interface InstallerRouteOptions {
  readonly pool: pg.Pool;
  readonly procedures: ProcedureService;
  readonly gateways: GatewayProvisioning;
  readonly requireInstaller: Guard;
  readonly requireSupervisor: Guard;
}

const SiteParams = z.strictObject({ id: IdentifierSchema });

export const SubmissionSchema = z
  .strictObject({
    id: IdentifierSchema,
    name: z.string().trim().min(1).max(200),
    address: z.string().trim().min(1).max(300),
    timeZone: z
      .string()
      .refine((zone) => IANAZone.isValidZone(zone), 'an IANA time zone such as Europe/Amsterdam')
      .default('Europe/Amsterdam'),
    kind: z.enum(['residential', 'business']),
    gatewayId: IdentifierSchema,
    devices: z
      .array(
        z.strictObject({
          id: IdentifierSchema,
          name: z.string().trim().min(1).max(120),
          type: z.string().min(1).max(40),
          zone: z.number().int().min(1).max(999),
          area: z.number().int().min(1).max(99),
        }),
      )
      .min(1)
      .max(512),
    contacts: z.array(NewContactSchema).min(1).max(CONTACT_LIMITS.business),
  })
  .superRefine((site, issues) => {
    if (site.contacts.length > CONTACT_LIMITS[site.kind])
      issues.addIssue({
        code: 'custom',
        path: ['contacts'],
        message: `a ${site.kind} contract includes at most ${CONTACT_LIMITS[site.kind]} contacts`,
      });
    if (!site.contacts.some((c) => c.role === 'authorised'))
      issues.addIssue({
        code: 'custom',
        path: ['contacts'],
        message: 'at least one authorised person (who may cancel)',
      });
    const zones = site.devices.map((d) => d.zone);
    if (new Set(zones).size !== zones.length)
      issues.addIssue({ code: 'custom', path: ['devices'], message: 'each device has its own zone' });
    const ids = site.devices.map((d) => d.id);
    if (new Set(ids).size !== ids.length)
      issues.addIssue({ code: 'custom', path: ['devices'], message: 'device ids are unique' });
  });
export type Submission = z.infer<typeof SubmissionSchema>;

const CredentialsBody = z.strictObject({ replace: z.boolean().optional() });
const WalkTestBody = z.strictObject({ on: z.boolean() });

interface CommissioningCheck {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

/**
 * The installer portal's API (SPEC §7 lifecycle): submit a site with its devices, zones and
 * contacts; once the central registered it, fetch the gateway's credentials, run the walk test live
 * from the portal, read the commissioning report and activate the site (the test period starts).
 * An installer sees only the sites of their own company.
 */
export function registerInstallerRoutes(app: FastifyInstance, options: InstallerRouteOptions): void {
  const { pool, procedures, gateways, requireInstaller, requireSupervisor } = options;
  const guarded = { preHandler: requireInstaller };
  const actor = (request: FastifyRequest) => `installer:${request.operator!.username}`;

  /** One of this installer's sites, or a 404 (never a hint that another company's site exists). */
  const ownSite = async (request: FastifyRequest) => {
    const { id } = parseOr400(SiteParams, request.params);
    const { rows } = await pool.query<{
      id: string;
      name: string;
      status: 'submitted' | 'registered' | 'active';
      submission: Submission | null;
      activated_at: Date | null;
      test_period_days: number;
      installer_access_until: Date | null;
    }>(
      `SELECT id, name, status, submission, activated_at, test_period_days, installer_access_until FROM sites
        WHERE id = $1 AND installer_id = $2`,
      [id, request.operator!.installerId],
    );
    if (!rows[0]) throw Object.assign(new Error('no such site'), { statusCode: 404 });
    return rows[0];
  };
  // A live site's installer acts only in a window the customer or the central opened.
  const serviceable = async (request: FastifyRequest) => {
    const site = await ownSite(request);
    if (!installerMayService(site, Date.now()))
      throw Object.assign(
        new Error(
          'the site is live: the customer (portal, with an ID code + PIN) or the central must open a service window first',
        ),
        { statusCode: 403 },
      );
    return site;
  };
  const gatewayOf = async (siteId: string, submission: Submission | null) => {
    const { rows } = await pool.query<{ id: string }>(
      'SELECT id FROM gateways WHERE site_id = $1 ORDER BY created_at LIMIT 1',
      [siteId],
    );
    const id = rows[0]?.id ?? submission?.gatewayId;
    if (!id) throw Object.assign(new Error('the site has no gateway yet'), { statusCode: 409 });
    return id;
  };

  app.get('/api/installer/sites', guarded, async (request) => {
    const { rows } = await pool.query(
      `SELECT s.id, s.name, s.address, s.status, s.rejection, s.activated_at AS "activatedAt",
              bool_or(g.online) AS online
         FROM sites s LEFT JOIN gateways g ON g.site_id = s.id
        WHERE s.installer_id = $1 GROUP BY s.id ORDER BY s.created_at DESC`,
      [request.operator!.installerId],
    );
    return { sites: rows };
  });

  app.post('/api/installer/sites', guarded, async (request, reply) => {
    const site = parseOr400(SubmissionSchema, request.body);
    // A gateway id is the gateway's identity at the central: one site's only.
    const { rows: taken } = await pool.query(
      `SELECT 1 FROM gateways WHERE id = $1
       UNION ALL SELECT 1 FROM sites WHERE submission->>'gatewayId' = $1 AND id <> $2 LIMIT 1`,
      [site.gatewayId, site.id],
    );
    if (taken.length > 0)
      return reply.code(409).send({
        error: `gateway id "${site.gatewayId}" is in use at another site; give this gateway its own`,
      });
    const { rowCount } = await pool.query(
      `INSERT INTO sites (id, name, address, time_zone, kind, installer_id, status, submission)
       VALUES ($1, $2, $3, $4, $5, $6, 'submitted', $7)
       ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, address = EXCLUDED.address,
         time_zone = EXCLUDED.time_zone, kind = EXCLUDED.kind, status = 'submitted',
         submission = EXCLUDED.submission, rejection = NULL, created_at = now()
       -- A site the central rejected is submitted again by its installer, corrected.
       WHERE sites.status = 'rejected' AND sites.installer_id = EXCLUDED.installer_id`,
      [
        site.id,
        site.name,
        site.address,
        site.timeZone,
        site.kind,
        request.operator!.installerId,
        JSON.stringify(site),
      ],
    );
    if (rowCount !== 1)
      return reply.code(409).send({ error: `a site "${site.id}" exists already: choose another site id` });
    await audit(pool, actor(request), 'site.submit', site.id, {
      devices: site.devices.length,
      contacts: site.contacts.length,
    });
    return reply.code(201).send({ id: site.id, status: 'submitted' });
  });

  app.get('/api/installer/sites/:id', guarded, async (request) => {
    const site = await ownSite(request);
    return {
      id: site.id,
      name: site.name,
      status: site.status,
      activatedAt: site.activated_at,
      testPeriodEnds: site.activated_at
        ? new Date(site.activated_at.getTime() + site.test_period_days * 86_400_000)
        : null,
      devices: site.submission?.devices ?? [],
      gatewayId: site.submission?.gatewayId ?? null,
    };
  });

  // The central accepts a submission: contacts get their ID codes (letters, shown once to the ARC).
  app.post('/api/sites/:id/register', { preHandler: requireSupervisor }, async (request, reply) => {
    const { id } = parseOr400(SiteParams, request.params);
    const { rows } = await pool.query<{ submission: Submission | null }>(
      `UPDATE sites SET status = 'registered' WHERE id = $1 AND status = 'submitted' RETURNING submission`,
      [id],
    );
    const submission = rows[0]?.submission;
    if (!submission) return reply.code(409).send({ error: 'no submitted site by that id' });
    const by = `operator:${request.operator!.username}`;
    const letters = [];
    for (const contact of submission.contacts) {
      const created = await createContact(pool, { ...contact, siteId: id }, by);
      letters.push({
        name: contact.name,
        role: contact.role,
        idCode: created.idCode,
        defaultPin: created.defaultPin,
      });
    }
    await audit(pool, by, 'site.register', id, { contacts: letters.length });
    await procedures.reloadSite(id);
    return { id, status: 'registered', letters };
  });

  app.post('/api/installer/sites/:id/gateway-credentials', guarded, async (request, reply) => {
    const site = await serviceable(request);
    if (site.status === 'submitted')
      return reply.code(409).send({ error: 'the central has not registered the site yet' });
    const gatewayId = await gatewayOf(site.id, site.submission);
    // A gateway that has credentials (perhaps connected with them right now) loses its link when
    // a new secret is issued: the installer confirms that first.
    const { replace } = parseOr400(CredentialsBody, request.body ?? {});
    const { rows: existing } = await pool.query<{ online: boolean }>(
      'SELECT online FROM gateways WHERE id = $1 AND site_id = $2',
      [gatewayId, site.id],
    );
    if (existing[0] && !replace)
      return reply.code(409).send({
        error: existing[0].online
          ? `gateway ${gatewayId} is connected with its current secret: a new one disconnects it until its configuration is updated`
          : `gateway ${gatewayId} has a secret already: a new one replaces it`,
        confirm: 'replace',
        online: existing[0].online,
      });
    let secret: string;
    try {
      secret = await gateways.issueSecret(site.id, gatewayId, actor(request));
    } catch (error) {
      if (/belongs to another site|reserved/.test((error as Error).message))
        return reply.code(409).send({ error: (error as Error).message });
      throw error;
    }
    const connection = gateways.connection();
    return {
      siteId: site.id,
      gatewayId,
      central: {
        mqttUrl: connection.mqttUrl,
        ...(connection.mqttUrls.length > 0 ? { mqttUrls: connection.mqttUrls } : {}),
        secret,
        grantKey: connection.grantKey,
        ...(connection.caCert ? { caCert: connection.caCert } : {}),
      },
    };
  });

  app.post('/api/installer/sites/:id/walk-test', guarded, async (request) => {
    const { on } = parseOr400(WalkTestBody, request.body);
    // Ending a walk test is always allowed; starting one on a live site needs the window.
    const site = on ? await serviceable(request) : await ownSite(request);
    const gatewayId = await gatewayOf(site.id, site.submission);
    await gateways.sendCommand(site.id, gatewayId, newCommand(actor(request), { name: 'walk-test', on }));
    await audit(pool, actor(request), on ? 'walk-test.start' : 'walk-test.stop', site.id);
    return { requested: on ? 'start' : 'stop' };
  });

  // The live walk test: the portal polls this while the installer walks the premises.
  app.get('/api/installer/sites/:id/walk-test', guarded, async (request) => {
    const site = await ownSite(request);
    return walkTestState(pool, site.id, site.submission);
  });

  app.get('/api/installer/sites/:id/commissioning', guarded, async (request) => {
    const site = await ownSite(request);
    return commissioning(pool, site.id, site.submission);
  });

  app.post('/api/installer/sites/:id/activate', guarded, async (request, reply) => {
    const site = await ownSite(request);
    if (site.status !== 'registered') return reply.code(409).send({ error: `the site is ${site.status}` });
    const report = await commissioning(pool, site.id, site.submission);
    if (!report.passed) {
      return reply.code(409).send({
        error: `commissioning incomplete: ${report.checks
          .filter((c) => !c.ok)
          .map((c) => c.name)
          .join(', ')}`,
      });
    }
    await pool.query(`UPDATE sites SET status = 'active', activated_at = now() WHERE id = $1`, [site.id]);
    await audit(pool, actor(request), 'site.activate', site.id, { report: report.checks });
    await procedures.reloadSite(site.id);
    return { status: 'active', testPeriodDays: site.test_period_days };
  });
}

/** The latest walk test: running or not, and which devices have been triggered in it. */
async function walkTestState(pool: pg.Pool, siteId: string, submission: Submission | null) {
  const { rows } = await pool.query<{
    qualifier: string;
    device_id: string | null;
    text: string;
    received_at: Date;
  }>(
    `SELECT qualifier, device_id, text, received_at FROM events
      WHERE site_id = $1 AND event_type = 'walk-test'
        AND received_at >= coalesce((SELECT max(received_at) FROM events
                                      WHERE site_id = $1 AND event_type = 'walk-test' AND device_id IS NULL
                                        AND qualifier = 'event'), '-infinity')
      ORDER BY received_at`,
    [siteId],
  );
  const started = rows.find((r) => r.device_id === null && r.qualifier === 'event');
  const ended = rows.find((r) => r.qualifier === 'restore');
  const triggered = rows
    .filter((r) => r.device_id)
    .map((r) => ({ deviceId: r.device_id, text: r.text, at: r.received_at }));
  // Every device: those the installer submitted and those the gateway reports, each with its state.
  const { rows: reported } = await pool.query<{ id: string; name: string; type: string; zone: number }>(
    `SELECT d->>'id' AS id, d->>'name' AS name, d->>'type' AS type, (d->>'zone')::int AS zone
       FROM gateways g, jsonb_array_elements(coalesce(g.devices, '[]')) d WHERE g.site_id = $1`,
    [siteId],
  );
  const planned = submission?.devices ?? [];
  const all = [...planned, ...reported.filter((d) => !planned.some((p) => p.id === d.id))];
  return {
    running: Boolean(started) && !ended,
    startedAt: started?.received_at ?? null,
    endedAt: ended?.received_at ?? null,
    summary: ended?.text ?? null,
    triggered,
    devices: all
      .sort((a, b) => a.zone - b.zone)
      .map((d) => {
        const hit = triggered.filter((x) => x.deviceId === d.id).at(-1);
        return {
          id: d.id,
          name: d.name,
          type: d.type,
          zone: d.zone,
          planned: planned.some((p) => p.id === d.id),
          reported: reported.some((r) => r.id === d.id),
          tested: hit ? { at: hit.at, text: hit.text } : null,
        };
      }),
  };
}

/** The central's commissioning report: what it sees of the site, check by check. */
async function commissioning(pool: pg.Pool, siteId: string, submission: Submission | null) {
  const [{ rows: gateways }, { rows: tested }, { rows: paths }, { rows: tests }, { rows: open }] =
    await Promise.all([
      pool.query<{
        id: string;
        online: boolean;
        devices: Array<{ id: string; name: string; type: string; zone: number }> | null;
      }>('SELECT id, online, devices FROM gateways WHERE site_id = $1', [siteId]),
      pool.query<{ device_id: string }>(
        `SELECT DISTINCT device_id FROM events WHERE site_id = $1 AND event_type = 'walk-test' AND device_id IS NOT NULL`,
        [siteId],
      ),
      pool.query<{ path: string; last_heard_at: Date; failed: boolean }>(
        `SELECT p.path, p.last_heard_at, p.failed FROM path_status p JOIN gateways g ON g.id = p.gateway_id WHERE g.site_id = $1`,
        [siteId],
      ),
      pool.query<{ occurred_at: Date }>(
        `SELECT max(occurred_at) AS occurred_at FROM events WHERE site_id = $1 AND event_type IN ('periodic-test', 'periodic-test-trouble')`,
        [siteId],
      ),
      pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM alarms a
        WHERE a.site_id = $1 AND a.status <> 'closed' AND a.lead_event_type <> 'walk-test'`,
        [siteId],
      ),
    ]);
  const gateway = gateways[0];
  const announced = gateway?.devices ?? [];
  const testedIds = new Set(tested.map((r) => r.device_id));
  // The gateway's own supply is supervised, not walked.
  const walkable = announced.filter((d) => d.type !== 'power-supply');
  const untested = walkable.filter((d) => !testedIds.has(d.id));
  const planned = submission?.devices ?? [];
  const missing = planned.filter((d) => !announced.some((a) => a.id === d.id));
  const primary = paths.find((p) => p.path === 'primary');
  const checks: CommissioningCheck[] = [
    {
      name: 'gateway online',
      ok: gateway?.online === true,
      detail: gateway ? `gateway ${gateway.id}` : 'no gateway has connected',
    },
    {
      name: 'devices as planned',
      ok: announced.length > 0 && missing.length === 0,
      detail: missing.length
        ? `not installed: ${missing.map((d) => d.id).join(', ')}`
        : `${announced.length} device(s) announced`,
    },
    {
      name: 'every device walk-tested',
      ok: walkable.length > 0 && untested.length === 0,
      detail: untested.length
        ? `not yet: ${untested.map((d) => d.name).join(', ')}`
        : `${testedIds.size} device(s) triggered`,
    },
    {
      name: 'primary path',
      ok: primary !== undefined && !primary.failed,
      detail: primary ? `last heard ${primary.last_heard_at.toISOString()}` : 'never heard',
    },
    { name: 'no open alarms or troubles', ok: open[0]!.n === 0, detail: `${open[0]!.n} open` },
  ];
  return {
    siteId,
    checks,
    passed: checks.every((c) => c.ok),
    devices: announced.map((d) => ({ ...d, walkTested: testedIds.has(d.id) })),
    paths: paths.map((p) => ({ path: p.path, lastHeardAt: p.last_heard_at, failed: p.failed })),
    lastTestReport: tests[0]?.occurred_at ?? null,
  };
}
