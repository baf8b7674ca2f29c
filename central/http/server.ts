import { timingSafeEqual } from 'node:crypto';
import type net from 'node:net';
import cookie from '@fastify/cookie';
import rateLimit from '@fastify/rate-limit';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type pg from 'pg';
import { isLoopback } from '../../lib/addresses.ts';
import { httpServerOptions } from '../../lib/http.ts';
import type { Logger } from '../../lib/logger.ts';
import type { Metrics } from '../../lib/metrics.ts';
import { loadWebAssets, readPage } from '../../web/assets.ts';
import { openAlarmQueue } from '../alarms.ts';
import {
  csrfTokenFor,
  login,
  logout,
  type Operator,
  operatorForSession,
  type Role,
} from '../auth/operator-auth.ts';
import type { CameraService } from '../cameras/camera-service.ts';
import { upsertDc09Account } from '../dc09/accounts.ts';
import { DEFAULT_LIMITS, type ListenerLimits } from '../limits.ts';
import type { AlarmFeed } from '../live/alarm-feed.ts';
import { OperatorPresence } from '../live/presence.ts';
import type { ProcedureService } from '../procedures/service.ts';
import { registerAlarmRoutes } from './alarm-routes.ts';
import { registerCameraRoutes } from './camera-routes.ts';
import { registerCustomerRoutes } from './customer-routes.ts';
import { type GatewayProvisioning, registerInstallerRoutes } from './installer-routes.ts';
import { registerPushRoutes } from './push-routes.ts';
import { registerSiteRoutes } from './site-routes.ts';
import { registerSupervisorRoutes } from './supervisor-routes.ts';

const CONSOLE_PAGE = readPage(new URL('./console.html', import.meta.url));
const WEB_ASSETS = loadWebAssets();
const PORTAL_PAGE = readPage(new URL('./portal.html', import.meta.url));
const INSTALLER_PAGE = readPage(new URL('./installer.html', import.meta.url));

/** A page of the web application: no framing, scripts and styles only from itself. */
function page(reply: FastifyReply, html: string) {
  return reply
    .type('text/html; charset=utf-8')
    .header(
      'content-security-policy',
      "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:",
    )
    .header('x-frame-options', 'DENY')
    .header('referrer-policy', 'no-referrer')
    .send(html);
}

const SESSION_COOKIE = 'vigil_session';
const SSE_KEEPALIVE_MS = 15_000;
const UNSAFE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Requests per minute and client address: everything, and the routes that check a secret. */
export interface RateLimits {
  readonly perMinute: number;
  readonly secretChecksPerMinute: number;
}
export const DEFAULT_RATE_LIMITS: RateLimits = { perMinute: 1200, secretChecksPerMinute: 20 };

export interface HttpOptions {
  readonly pool: pg.Pool;
  readonly feed: AlarmFeed;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Serve HTTPS with this key and certificate. */
  readonly tls?: { readonly key: string; readonly cert: string } | null;
  /**
   * The TLS-terminating proxies in front (addresses, CIDRs, `loopback`…): only their X-Forwarded-*
   * is believed, hop by hop from the right, so a client cannot name its own address. Cookies Secure.
   */
  readonly trustedProxies?: readonly string[];
  /** Reload the DC-09 receiver's accounts after a change through the API. */
  readonly onDc09AccountsChanged?: () => Promise<void>;
  readonly procedures: ProcedureService;
  /** The VAPID public key the customer's app subscribes with. */
  readonly pushPublicKey: string;
  readonly cameras: CameraService;
  readonly rateLimits?: Partial<RateLimits>;
  readonly gateways: GatewayProvisioning;
  readonly limits?: ListenerLimits['http'];
  /** The bearer token a metrics scraper sends; without one, /metrics answers loopback and supervisors only. */
  readonly metricsToken?: string | undefined;
  /** What `/readyz` checks besides the database: each part's state, null when it is fine. */
  readonly readiness?: () => Record<string, string | null>;
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
  const presence = new OperatorPresence();
  const proxies = options.trustedProxies ?? [];
  const httpLimits = options.limits ?? DEFAULT_LIMITS.http;
  const timeouts = {
    headersTimeout: httpLimits.headersTimeoutMs,
    connectionsCheckingInterval: Math.min(1000, httpLimits.headersTimeoutMs),
  };
  const refused = (reason: string, source: string | undefined) => {
    metrics.increment('listener_refused_total', { listener: 'http', reason });
    options.logger.warn({ listener: 'http', reason, source }, 'connection refused');
  };
  // HTTPS itself, or behind a TLS terminator that sets X-Forwarded-*: either way cookies are Secure.
  const app = Fastify({
    ...httpServerOptions(options.logger, 'http'),
    // How often Node checks those timeouts (its default, 30 s, would let a drip last that long).
    ...(options.tls
      ? { https: { key: options.tls.key, cert: options.tls.cert, ...timeouts } }
      : { http: timeouts }),
    trustProxy: proxies.length > 0 ? [...proxies] : false,
    // A request that drips in is cut off: whole request, and headers, within these times.
    requestTimeout: httpLimits.requestTimeoutMs,
    clientErrorHandler: (error: NodeJS.ErrnoException, socket) => {
      refused(
        error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 'request-timeout' : 'bad-request',
        (socket as net.Socket).remoteAddress,
      );
      const status = error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : '400 Bad Request';
      if (socket.writable) socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      else socket.destroy();
    },
  }) as unknown as FastifyInstance;
  app.server.maxConnections = httpLimits.maxConnections;
  app.server.on('drop', (data?: { remoteAddress?: string }) =>
    refused('too-many-connections', data?.remoteAddress),
  );

  const secure = (options.tls !== null && options.tls !== undefined) || proxies.length > 0;
  if (secure) {
    app.addHook('onSend', async (_request, reply) => {
      reply.header('strict-transport-security', 'max-age=31536000');
    });
  }
  await app.register(cookie);
  const limits = { ...DEFAULT_RATE_LIMITS, ...options.rateLimits };
  await app.register(rateLimit, {
    global: true,
    max: limits.perMinute,
    timeWindow: '1 minute',
    onExceeded: (request) => {
      metrics.increment('http_rate_limited_total', { route: request.routeOptions.url ?? 'unknown' });
      request.log.warn({ url: request.url, ip: request.ip }, 'rate limit exceeded');
    },
  });
  app.decorateRequest('operator', null);

  const requireSession = async (request: FastifyRequest, reply: FastifyReply) => {
    const token = request.cookies[SESSION_COOKIE];
    request.operator = token ? await operatorForSession(pool, token) : null;
    if (!request.operator) {
      metrics.increment('http_unauthorized_total');
      return reply.code(401).send({ error: 'login required' });
    }
  };
  /** Each role sees only what it may: a guard per set of roles. */
  const requireRole =
    (roles: readonly Role[], refusal: string) => async (request: FastifyRequest, reply: FastifyReply) => {
      await requireSession(request, reply);
      if (reply.sent) return;
      if (!roles.includes(request.operator!.role)) {
        metrics.increment('http_forbidden_total');
        return reply.code(403).send({ error: refusal });
      }
    };
  const requireOperator = requireRole(['operator', 'supervisor'], 'operators only');
  const requireSupervisor = requireRole(['supervisor'], 'supervisors only');
  const requireCustomer = requireRole(['customer'], 'customers only');
  const requireInstaller = requireRole(['installer'], 'installers only');

  // CSRF: a state-changing request with a session must carry the session's token in a header, which
  // another site can neither read nor set (on top of SameSite=Strict and JSON-only bodies).
  app.addHook('preHandler', async (request, reply) => {
    if (!UNSAFE_METHODS.has(request.method)) return;
    const token = request.cookies[SESSION_COOKIE];
    if (!token || (request.method === 'POST' && request.routeOptions.url === '/api/session')) return;
    const given = Buffer.from(String(request.headers['x-csrf-token'] ?? ''));
    const expected = Buffer.from(csrfTokenFor(token));
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      metrics.increment('http_csrf_refused_total');
      request.log.warn({ url: request.url }, 'request refused: missing or wrong CSRF token');
      return reply.code(403).send({ error: 'missing or wrong CSRF token' });
    }
  });

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
  app.get('/console', async (_request, reply) => page(reply, CONSOLE_PAGE));
  for (const [url, asset] of WEB_ASSETS)
    app.get(url, async (_request, reply) =>
      reply.type(asset.type).header('cache-control', 'no-cache').send(asset.body),
    );

  app.get('/api/health', async () => {
    await pool.query('SELECT 1');
    return { status: 'ok' };
  });
  // For load balancers and orchestrators: /healthz says the process answers (restart it when not),
  // /readyz that it can take traffic — database, broker link and receivers up, not stopping.
  app.get('/healthz', { config: { rateLimit: false } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { config: { rateLimit: false } }, async (_request, reply) => {
    const checks: Record<string, string | null> = { ...options.readiness?.() };
    try {
      await Promise.race([
        pool.query('SELECT 1'),
        new Promise((_, reject) => setTimeout(() => reject(new Error('no answer within 2 s')), 2000).unref()),
      ]);
      checks.database = null;
    } catch (error) {
      checks.database = (error as Error).message;
    }
    const failing = Object.entries(checks).filter(([, problem]) => problem !== null);
    if (failing.length > 0) metrics.increment('http_not_ready_total');
    return reply.code(failing.length > 0 ? 503 : 200).send({
      status: failing.length > 0 ? 'not ready' : 'ready',
      checks: Object.fromEntries(Object.entries(checks).map(([part, problem]) => [part, problem ?? 'ok'])),
    });
  });
  // Metrics tell a lot about the ARC (sites, volumes, refusals): a scraper's bearer token, a
  // supervisor's session, or — without a token configured — the machine itself.
  app.get('/metrics', async (request, reply) => {
    const bearer = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1];
    const token = options.metricsToken;
    let allowed = false;
    if (token && bearer) {
      const a = Buffer.from(bearer);
      const b = Buffer.from(token);
      allowed = a.length === b.length && timingSafeEqual(a, b);
    } else if (!token && !bearer) {
      allowed = isLoopback(request.ip);
    }
    if (!allowed && !bearer) {
      const session = request.cookies[SESSION_COOKIE];
      allowed = session ? (await operatorForSession(pool, session))?.role === 'supervisor' : false;
    }
    if (!allowed) {
      metrics.increment('http_unauthorized_total');
      return reply.code(401).send({ error: 'metrics need the scrape token or a supervisor' });
    }
    return reply.type('text/plain; version=0.0.4').send(metrics.render());
  });

  const secretCheck = { rateLimit: { max: limits.secretChecksPerMinute, timeWindow: '1 minute' } };
  app.post<{ Body: { username: string; password: string } }>(
    '/api/session',
    {
      config: secretCheck,
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
        secure,
        expires: result.expiresAt,
      });
      return { operator: result.operator, csrfToken: csrfTokenFor(result.token) };
    },
  );

  app.delete('/api/session', { preHandler: requireSession }, async (request, reply) => {
    await logout(pool, request.cookies[SESSION_COOKIE]!, request.operator!);
    return reply.clearCookie(SESSION_COOKIE, { path: '/' }).send({ ok: true });
  });

  app.get('/api/me', { preHandler: requireSession }, async (request) => ({
    operator: request.operator,
    csrfToken: csrfTokenFor(request.cookies[SESSION_COOKIE]!),
  }));

  registerSiteRoutes(app, {
    pool,
    procedures: options.procedures,
    requireOperator,
    requireSupervisor,
    secretCheck,
  });
  registerPushRoutes(app, pool, options.pushPublicKey, secretCheck);
  registerCustomerRoutes(app, {
    pool,
    procedures: options.procedures,
    requireCustomer,
    secretCheck,
    gateways: options.gateways,
  });
  app.get('/portal', async (_request, reply) => page(reply, PORTAL_PAGE));
  registerInstallerRoutes(app, {
    pool,
    procedures: options.procedures,
    gateways: options.gateways,
    requireInstaller,
    requireSupervisor,
  });
  app.get('/installer', async (_request, reply) => page(reply, INSTALLER_PAGE));

  registerSupervisorRoutes(app, { pool, presence, requireSupervisor });
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
    secretCheck,
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
    const page = await openAlarmQueue(pool);
    send('snapshot', await options.procedures.withProposals(page.alarms));
    // How many open alarms the snapshot leaves out (all lower in priority than those on it).
    send('queue', { total: page.total, shown: page.alarms.length, beyond: page.beyond });
    // A named event, not a comment: the page notices a feed that went quiet and reconnects.
    const keepalive = setInterval(() => send('ping', {}), SSE_KEEPALIVE_MS);
    const leave = presence.connect(request.operator!.username);
    metrics.increment('http_feed_connections_total');
    request.raw.on('close', () => {
      clearInterval(keepalive);
      unsubscribe();
      leave();
    });
  });

  return app;
}
