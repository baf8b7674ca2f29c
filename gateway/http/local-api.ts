import { readFileSync } from 'node:fs';
import Fastify, { type FastifyInstance } from 'fastify';
import { SIGNAL_KINDS } from '../../hardware/device-signal.ts';
import { errorMessage } from '../../lib/errors.ts';
import { httpServerOptions } from '../../lib/http.ts';
import type { Logger } from '../../lib/logger.ts';
import type { Metrics } from '../../lib/metrics.ts';
import type { Gateway } from '../gateway.ts';

const DEMO_PAGE = readFileSync(new URL('./demo-page.html', import.meta.url), 'utf8');

/**
 * The gateway's local HTTP API, bound to loopback by default. Status for everyone on the box;
 * the simulator endpoints exist only when the gateway has simulated devices.
 */
export function buildLocalApi(gateway: Gateway, logger: Logger, metrics: Metrics): FastifyInstance {
  const app = Fastify(httpServerOptions(logger, 'local-api'));

  app.get('/api/status', async () => ({
    siteId: gateway.config.siteId,
    gatewayId: gateway.config.gatewayId,
    uplink: gateway.uplinkConnected ? 'connected' : 'disconnected',
    outboxDepth: gateway.outbox.depth,
    areas: gateway.config.areas.map((a) => ({ ...a, mode: gateway.areas[a.id] })),
    devices: gateway.config.devices,
  }));

  app.get('/metrics', async (_request, reply) =>
    reply.type('text/plain; version=0.0.4').send(metrics.render()),
  );

  const bus = gateway.simulatedBus;
  if (bus) {
    app.get('/', async (_request, reply) => reply.redirect('/demo'));
    app.get('/demo', async (_request, reply) => reply.type('text/html; charset=utf-8').send(DEMO_PAGE));
    app.get('/api/sim/devices', async () =>
      gateway.config.devices
        .filter((d) => d.bus === 'simulated')
        .map(({ id, name, type, zone, area }) => ({
          id,
          name,
          type,
          zone,
          area,
        })),
    );
    app.post<{ Params: { id: string }; Body: { kind?: unknown } | null }>(
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
          const signal = bus.inject(request.params.id, String(request.body?.kind));
          await gateway.settled();
          return reply.code(202).send({ accepted: signal, outboxDepth: gateway.outbox.depth });
        } catch (error) {
          metrics.increment('local_api_rejected_total', { route: 'sim-signal' });
          return reply.code(404).send({ error: errorMessage(error) });
        }
      },
    );
  }
  return app;
}
