import { readFileSync } from 'node:fs';
import cookie from '@fastify/cookie';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type pg from 'pg';
import { httpServerOptions } from '../../lib/http.ts';
import type { Logger } from '../../lib/logger.ts';
import type { Metrics } from '../../lib/metrics.ts';
import { openAlarmQueue } from '../alarms.ts';
import { login, logout, type Operator, operatorForSession } from '../auth/operator-auth.ts';
import type { CameraService } from '../cameras/camera-service.ts';
import { upsertDc09Account } from '../dc09/accounts.ts';
import type { AlarmFeed } from '../live/alarm-feed.ts';
import type { ProcedureService } from '../procedures/service.ts';
import { registerAlarmRoutes } from './alarm-routes.ts';
import { registerCameraRoutes } from './camera-routes.ts';
import { registerPushRoutes } from './push-routes.ts';
import { registerSiteRoutes } from './site-routes.ts';

const CONSOLE_PAGE = readFileSync(new URL('./console.html', import.meta.url), 'utf8');
const SESSION_COOKIE = 'vigil_session';
const SSE_KEEPALIVE_MS = 15_000;

export interface HttpOptions {
  readonly pool: pg.Pool;
  readonly feed: AlarmFeed;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Mark the session cookie `Secure` (behind TLS). */
  readonly secureCookies: boolean;
  /** Reload the DC-09 receiver's accounts after a change through the API. */
  readonly onDc09AccountsChanged?: () => Promise<void>;
  readonly procedures: ProcedureService;
  /** The VAPID public key the customer's app subscribes with. */
  readonly pushPublicKey: string;
  readonly cameras: CameraService;
}

declare module 'fastify' {
  interface FastifyRequest {
    operator: Operator | null;
  }
}

/**
 * The central's HTTP face: login, the alarm queue API, the live feed (Server-Sent Events) and the
 * operator console page. Sessions are opaque random tokens in an HttpOnly, SameSite=Strict
 * cookie; state-changing routes accept JSON only, which a cross-site form cannot send.
 */
export async function buildHttpServer(options: HttpOptions): Promise<FastifyInstance> {
  const { pool, feed, metrics } = options;
  const app = Fastify(httpServerOptions(options.logger, 'http'));
  await app.register(cookie);
  app.decorateRequest('operator', null);

  const requireOperator = async (request: FastifyRequest, reply: FastifyReply) => {
    const token = request.cookies[SESSION_COOKIE];
    request.operator = token ? await operatorForSession(pool, token) : null;
    if (!request.operator) {
      metrics.increment('http_unauthorized_total');
      return reply.code(401).send({ error: 'login required' });
    }
  };

  app.setErrorHandler((error: Error & { statusCode?: number; expose?: boolean }, request, reply) => {
    const status = error.statusCode ?? 500;
    metrics.increment('http_errors_total', { status: String(status) });
    if (status >= 500) request.log.error({ err: error }, 'request failed');
    else request.log.warn({ url: request.url, reason: error.message }, 'bad request');
    // A 5xx says "internal error" unless the error was made to be shown (a gateway's refusal, a timeout).
    return reply
      .code(status)
      .send({ error: status >= 500 && !error.expose ? 'internal error' : error.message });
  });

  app.get('/', async (_request, reply) => reply.redirect('/console'));
  app.get('/console', async (_request, reply) =>
    reply
      .type('text/html; charset=utf-8')
      .header(
        'content-security-policy',
        "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'unsafe-inline'",
      )
      .header('x-frame-options', 'DENY')
      .send(CONSOLE_PAGE),
  );

  app.get('/api/health', async () => {
    await pool.query('SELECT 1');
    return { status: 'ok' };
  });
  app.get('/metrics', async (_request, reply) =>
    reply.type('text/plain; version=0.0.4').send(metrics.render()),
  );

  app.post<{ Body: { username: string; password: string } }>(
    '/api/session',
    {
      schema: {
        body: {
          type: 'object',
          required: ['username', 'password'],
          properties: {
            username: { type: 'string', maxLength: 120 },
            password: { type: 'string', maxLength: 200 },
          },
          additionalProperties: false,
        },
      },
    },
    async (request, reply) => {
      const result = await login(pool, request.body.username, request.body.password, request.ip);
      if (!result.ok) {
        metrics.increment('http_login_failures_total', { reason: result.reason });
        return reply.code(result.reason === 'locked' ? 423 : 401).send({
          error:
            result.reason === 'locked' ? 'account locked; try again later' : 'wrong username or password',
        });
      }
      reply.setCookie(SESSION_COOKIE, result.token, {
        path: '/',
        httpOnly: true,
        sameSite: 'strict',
        secure: options.secureCookies,
        expires: result.expiresAt,
      });
      return { operator: result.operator };
    },
  );

  app.delete('/api/session', { preHandler: requireOperator }, async (request, reply) => {
    await logout(pool, request.cookies[SESSION_COOKIE]!, request.operator!);
    return reply.clearCookie(SESSION_COOKIE, { path: '/' }).send({ ok: true });
  });

  app.get('/api/me', { preHandler: requireOperator }, async (request) => ({ operator: request.operator }));

  const requireSupervisor = async (request: FastifyRequest, reply: FastifyReply) => {
    await requireOperator(request, reply);
    if (reply.sent) return;
    if (request.operator?.role !== 'supervisor') {
      metrics.increment('http_forbidden_total');
      return reply.code(403).send({ error: 'supervisors only' });
    }
  };

  registerSiteRoutes(app, { pool, procedures: options.procedures, requireOperator, requireSupervisor });
  registerPushRoutes(app, pool, options.pushPublicKey);
  registerCameraRoutes(app, pool, options.cameras, { requireOperator, requireSupervisor });

  app.get('/api/dc09-accounts', { preHandler: requireSupervisor }, async () => {
    const { rows } = await pool.query(
      `SELECT prefix, account, site_id AS "siteId", gateway_id AS "gatewayId", path, supervision_seconds AS "supervisionSeconds",
              aes_key IS NOT NULL AS encrypted, key_format AS "keyFormat"
         FROM dc09_accounts ORDER BY site_id, prefix, account`,
    );
    return { accounts: rows };
  });

  app.post<{
    Body: {
      account: string;
      prefix?: string;
      siteId: string;
      gatewayId?: string;
      key?: string;
      keyFormat?: 'hex' | 'ascii';
      supervisionSeconds?: number;
    };
  }>(
    '/api/dc09-accounts',
    {
      preHandler: requireSupervisor,
      schema: {
        body: {
          type: 'object',
          required: ['account', 'siteId'],
          properties: {
            account: { type: 'string', pattern: '^[0-9A-Fa-f]{3,16}$' },
            prefix: { type: 'string', pattern: '^[0-9A-Fa-f]{1,6}$' },
            siteId: { type: 'string', maxLength: 64 },
            gatewayId: { type: 'string', maxLength: 64 },
            key: { type: 'string', maxLength: 64 },
            keyFormat: { enum: ['hex', 'ascii'] },
            supervisionSeconds: { type: 'integer', minimum: 10, maximum: 604800 },
          },
          additionalProperties: false,
        },
      },
    },
    async (request, reply) => {
      try {
        const saved = await upsertDc09Account(
          pool,
          { ...request.body, prefix: request.body.prefix ?? '0' },
          request.operator!.username,
        );
        await options.onDc09AccountsChanged?.();
        return reply.code(201).send({
          prefix: saved.prefix,
          account: saved.account,
          siteId: saved.siteId,
          gatewayId: saved.gatewayId,
          path: saved.path,
          encrypted: saved.key !== null,
        });
      } catch (error) {
        metrics.increment('http_errors_total', { status: '400' });
        return reply.code(400).send({ error: (error as Error).message });
      }
    },
  );

  registerAlarmRoutes(app, {
    pool,
    procedures: options.procedures,
    cameras: options.cameras,
    requireOperator,
    requireSupervisor,
  });

  app.get('/api/alarms/stream', { preHandler: requireOperator }, async (request, reply) => {
    reply.hijack();
    const out = reply.raw;
    out.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    const send = (event: string, data: unknown) =>
      out.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    // Subscribe before the snapshot, so nothing committed in between is missed; the page dedupes by id.
    const unsubscribe = feed.subscribe((alarm) => send('alarm', alarm));
    out.write('retry: 2000\n\n');
    send(
      'snapshot',
      (await openAlarmQueue(pool)).map((alarm) => ({
        ...alarm,
        proposal: options.procedures.proposal(alarm.alarmId),
      })),
    );
    const keepalive = setInterval(() => out.write(': keepalive\n\n'), SSE_KEEPALIVE_MS);
    metrics.increment('http_feed_connections_total');
    request.raw.on('close', () => {
      clearInterval(keepalive);
      unsubscribe();
    });
  });

  return app;
}
