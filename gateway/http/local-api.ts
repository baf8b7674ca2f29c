import { readFileSync } from 'node:fs';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { SIGNAL_KINDS } from '../../hardware/device-signal.ts';
import { errorMessage } from '../../lib/errors.ts';
import { httpServerOptions } from '../../lib/http.ts';
import type { Logger } from '../../lib/logger.ts';
import type { Metrics } from '../../lib/metrics.ts';
import { CODE_PATTERN } from '../auth/user-codes.ts';
import { DeviceConfigSchema } from '../config.ts';
import { keypadLocked } from '../domain/panel.ts';
import type { ActionResult, Gateway } from '../gateway.ts';

const DEMO_PAGE = readFileSync(new URL('./demo-page.html', import.meta.url), 'utf8');
const CODE = { type: 'string', pattern: CODE_PATTERN.source } as const;
const CODE_HEADER = 'x-vigil-code';

/**
 * The gateway's local HTTP API (loopback by default): status for the homeowner's app, arming with
 * a user code, the installer's device registry, walk test and commissioning report, and — when the
 * gateway has simulated devices — the simulator and its demo page. Codes are checked with the
 * keypad's lockout; every refusal is counted.
 */
export async function buildLocalApi(
  gateway: Gateway,
  logger: Logger,
  metrics: Metrics,
): Promise<FastifyInstance> {
  const app = Fastify(httpServerOptions(logger, 'local-api'));
  const source = (ip: string) => `local-api ${ip}`;
  const answer = (reply: FastifyReply, result: ActionResult) => {
    if (result.ok) return reply.send({ ok: true, status: status() });
    metrics.increment('local_api_refused_total', { status: String(result.status) });
    return reply.code(result.status).send({ error: result.error });
  };

  const status = () => {
    const config = gateway.config;
    const panel = gateway.panel;
    return {
      siteId: config.siteId,
      gatewayId: config.gatewayId,
      uplink: gateway.uplinkConnected ? 'connected' : 'disconnected',
      outboxDepth: gateway.outbox.depth,
      keypadLocked: keypadLocked(panel, Date.now()),
      walkTest: panel.walkTest !== null,
      areas: config.areas.map((a) => ({
        id: a.id,
        name: a.name,
        mode: panel.areas[a.id]?.mode,
        phase: panel.areas[a.id]?.phase,
      })),
      devices: config.devices.map((d) => ({
        id: d.id,
        name: d.name,
        type: d.type,
        zone: d.zone,
        area: d.area,
        open: Boolean(panel.openZones[d.id]),
        bypassed: Boolean(panel.bypassed[d.id]),
      })),
      outputs: config.outputs.map((o) => ({
        id: o.id,
        name: o.name,
        kind: o.kind,
        on: gateway.outputState()[o.id] ?? false,
      })),
      conditions: Object.keys(panel.active),
    };
  };

  app.setErrorHandler((error: Error & { statusCode?: number }, request, reply) => {
    const code = error.statusCode ?? 500;
    metrics.increment('local_api_refused_total', { status: String(code) });
    request.log.warn({ url: request.url, reason: error.message }, 'local API request refused');
    return reply.code(code).send({ error: code >= 500 ? 'internal error' : error.message });
  });

  app.get('/api/status', async () => status());
  app.get('/api/notices', async () => gateway.recentNotices());
  app.get('/metrics', async (_request, reply) =>
    reply.type('text/plain; version=0.0.4').send(metrics.render()),
  );

  app.post<{
    Params: { id: string };
    Body: { mode: 'away' | 'home' | 'night'; code: string; force?: boolean };
  }>(
    '/api/areas/:id/arm',
    {
      schema: {
        params: { type: 'object', properties: { id: { type: 'integer', minimum: 1, maximum: 99 } } },
        body: {
          type: 'object',
          required: ['mode', 'code'],
          properties: { mode: { enum: ['away', 'home', 'night'] }, code: CODE, force: { type: 'boolean' } },
          additionalProperties: false,
        },
      },
    },
    async (request, reply) => {
      const { mode, code, force } = request.body;
      return answer(
        reply,
        await gateway.arm(
          Number(request.params.id),
          mode,
          { code, source: source(request.ip) },
          force ?? false,
        ),
      );
    },
  );

  app.post<{ Params: { id: string }; Body: { code: string } }>(
    '/api/areas/:id/disarm',
    {
      schema: {
        params: { type: 'object', properties: { id: { type: 'integer', minimum: 1, maximum: 99 } } },
        body: { type: 'object', required: ['code'], properties: { code: CODE }, additionalProperties: false },
      },
    },
    async (request, reply) =>
      answer(
        reply,
        await gateway.disarm(Number(request.params.id), {
          code: request.body.code,
          source: source(request.ip),
        }),
      ),
  );

  app.post<{ Params: { id: string }; Body: { code: string; bypassed: boolean } }>(
    '/api/devices/:id/bypass',
    {
      schema: {
        body: {
          type: 'object',
          required: ['code', 'bypassed'],
          properties: { code: CODE, bypassed: { type: 'boolean' } },
          additionalProperties: false,
        },
      },
    },
    async (request, reply) =>
      answer(
        reply,
        await gateway.bypass(request.params.id, request.body.bypassed, {
          code: request.body.code,
          source: source(request.ip),
        }),
      ),
  );

  // Cameras push their alarm notifications here (many can only send a GET with query parameters).
  const cameraEvent = async (
    request: {
      params: { id: string };
      query: { token?: string; state?: string };
      headers: Record<string, unknown>;
    },
    reply: FastifyReply,
  ) => {
    const token = String(request.headers['x-vigil-token'] ?? request.query.token ?? '');
    const state = request.query.state === 'stop' ? 'stop' : 'start';
    if (!gateway.notifyCamera(request.params.id, token, state)) {
      metrics.increment('local_api_refused_total', { status: '403' });
      return reply.code(403).send({ error: 'unknown camera or wrong token' });
    }
    await gateway.settled();
    return reply.code(202).send({ ok: true });
  };
  await app.register(async (cameras) => {
    // Cameras post XML or multipart bodies we do not need: accept any type, small, unparsed.
    cameras.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: 256 * 1024 }, (_request, body, done) =>
      done(null, body),
    );
    cameras.get<{ Params: { id: string }; Querystring: { token?: string; state?: string } }>(
      '/api/cameras/:id/events',
      cameraEvent,
    );
    cameras.post<{ Params: { id: string }; Querystring: { token?: string; state?: string } }>(
      '/api/cameras/:id/events',
      cameraEvent,
    );
  });

  app.post<{ Params: { id: string }; Body: { code: string } }>(
    '/api/installer/cameras/:id/check',
    {
      schema: {
        body: { type: 'object', required: ['code'], properties: { code: CODE }, additionalProperties: false },
      },
    },
    async (request, reply) => {
      const result = await gateway.checkCamera(request.params.id, {
        code: request.body.code,
        source: source(request.ip),
      });
      if (!result.ok) return answer(reply, result);
      return reply.send(result);
    },
  );

  app.post<{ Body: { code: string; seconds: number; allow?: string[] } }>(
    '/api/installer/zigbee/permit-join',
    {
      schema: {
        body: {
          type: 'object',
          required: ['code', 'seconds'],
          properties: {
            code: CODE,
            seconds: { type: 'integer', minimum: 0, maximum: 254 },
            allow: { type: 'array', maxItems: 64, items: { type: 'string', pattern: '^0x[0-9a-f]{16}$' } },
          },
          additionalProperties: false,
        },
      },
    },
    async (request, reply) =>
      answer(
        reply,
        await gateway.permitJoin(request.body.seconds, request.body.allow ?? [], {
          code: request.body.code,
          source: source(request.ip),
        }),
      ),
  );

  // Installer: walk test, device registry, commissioning report.
  app.post<{ Body: { code: string; on: boolean } }>(
    '/api/installer/walk-test',
    {
      schema: {
        body: {
          type: 'object',
          required: ['code', 'on'],
          properties: { code: CODE, on: { type: 'boolean' } },
          additionalProperties: false,
        },
      },
    },
    async (request, reply) =>
      answer(
        reply,
        await gateway.walkTest(request.body.on, { code: request.body.code, source: source(request.ip) }),
      ),
  );

  app.put<{ Params: { id: string }; Body: { code: string; device: unknown } }>(
    '/api/installer/devices/:id',
    {
      schema: {
        body: {
          type: 'object',
          required: ['code', 'device'],
          properties: { code: CODE, device: { type: 'object' } },
          additionalProperties: false,
        },
      },
    },
    async (request, reply) => {
      const parsed = DeviceConfigSchema.safeParse({
        ...(request.body.device as object),
        id: request.params.id,
      });
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        metrics.increment('local_api_refused_total', { status: '400' });
        return reply.code(400).send({ error: `device.${issue?.path.join('.')}: ${issue?.message}` });
      }
      return answer(
        reply,
        await gateway.saveDevice(parsed.data, { code: request.body.code, source: source(request.ip) }),
      );
    },
  );

  app.delete<{ Params: { id: string } }>('/api/installer/devices/:id', async (request, reply) => {
    const code = String(request.headers[CODE_HEADER] ?? '');
    return answer(reply, await gateway.removeDevice(request.params.id, { code, source: source(request.ip) }));
  });

  // SPEC §8: every camera access by the central, granted or refused, for the homeowner to see.
  app.get('/api/camera-access', async (request, reply) => {
    const code = String(request.headers[CODE_HEADER] ?? '');
    const result = await gateway.cameraAccess({ code, source: source(request.ip) });
    if (!result.ok) return answer(reply, result);
    return 'accesses' in result
      ? { accesses: result.accesses.map((a) => ({ ...a, at: new Date(a.at).toISOString() })) }
      : { accesses: [] };
  });

  app.get('/api/installer/commissioning', async (request, reply) => {
    const code = String(request.headers[CODE_HEADER] ?? '');
    const allowed = await gateway.checkInstaller({ code, source: source(request.ip) });
    if (!allowed.ok) return answer(reply, allowed);
    return gateway.commissioning();
  });

  if (gateway.config.devices.some((d) => d.bus === 'simulated')) {
    app.get('/', async (_request, reply) => reply.redirect('/demo'));
    app.get('/demo', async (_request, reply) => reply.type('text/html; charset=utf-8').send(DEMO_PAGE));
    app.get('/api/sim/devices', async () =>
      gateway.config.devices
        .filter((d) => d.bus === 'simulated')
        .map(({ id, name, type, zone, area }) => ({ id, name, type, zone, area })),
    );
    app.post<{ Params: { id: string }; Body: { kind: string } }>(
      '/api/sim/devices/:id/signals',
      {
        schema: {
          body: {
            type: 'object',
            required: ['kind'],
            properties: { kind: { type: 'string', enum: [...SIGNAL_KINDS] } },
            additionalProperties: false,
          },
        },
      },
      async (request, reply) => {
        try {
          const signal = gateway.simulatedBus.inject(request.params.id, request.body.kind);
          await gateway.settled();
          return reply.code(202).send({ accepted: signal, outboxDepth: gateway.outbox.depth });
        } catch (error) {
          metrics.increment('local_api_refused_total', { status: '404' });
          return reply.code(404).send({ error: errorMessage(error) });
        }
      },
    );
  }
  return app;
}
