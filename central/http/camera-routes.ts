import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type pg from 'pg';
import { z } from 'zod';
import { assertClaimed } from '../alarm-claims.ts';
import type { CameraService } from '../cameras/camera-service.ts';
import { parseOr400 } from './validation.ts';

type Guard = (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;

const AlarmParams = z.strictObject({ id: z.string().regex(/^\d{1,18}$/, 'an alarm id') });
const MediaParams = z.strictObject({ id: z.string().regex(/^\d{1,18}$/, 'a media id') });
const SnapshotBody = z.strictObject({ cameraId: z.string().min(1).max(64) });
const HoldBody = z.strictObject({ reason: z.string().trim().min(3).max(300) });
const LiveParams = z.strictObject({ id: AlarmParams.shape.id, cameraId: z.string().min(1).max(64) });
const LiveQuery = z.strictObject({ seconds: z.coerce.number().int().min(1).max(60).default(30) });
const LIVE_BOUNDARY = 'vigil-live-frame';

/** SPEC §8 over HTTP: the grant window of an alarm, snapshots under it, stored pictures. */
export function registerCameraRoutes(
  app: FastifyInstance,
  pool: pg.Pool,
  cameras: CameraService,
  guards: { requireOperator: Guard; requireSupervisor: Guard },
): void {
  const actor = (request: FastifyRequest) => `operator:${request.operator!.username}`;

  app.post('/api/alarms/:id/camera-access', { preHandler: guards.requireOperator }, async (request) => {
    const { id } = parseOr400(AlarmParams, request.params);
    await assertClaimed(pool, id, request.operator!);
    return cameras.access(id, actor(request));
  });

  app.post('/api/alarms/:id/snapshots', { preHandler: guards.requireOperator }, async (request, reply) => {
    const { id } = parseOr400(AlarmParams, request.params);
    const { cameraId } = parseOr400(SnapshotBody, request.body);
    await assertClaimed(pool, id, request.operator!);
    return reply.code(201).send(await cameras.snapshot(id, cameraId, actor(request)));
  });

  // Live view: the camera's own stream relayed as MJPEG, which an <img> plays as it comes.
  app.get(
    '/api/alarms/:id/cameras/:cameraId/live',
    { preHandler: guards.requireOperator },
    async (request, reply) => {
      const { id, cameraId } = parseOr400(LiveParams, request.params);
      const { seconds } = parseOr400(LiveQuery, request.query);
      await assertClaimed(pool, id, request.operator!);
      const window = await cameras.access(id, actor(request));
      if (!window.cameras.some((c) => c.id === cameraId && c.live))
        return reply.code(404).send({ error: `camera "${cameraId}" has no live stream` });
      reply.hijack();
      const out = reply.raw;
      out.writeHead(200, {
        'content-type': `multipart/x-mixed-replace; boundary=${LIVE_BOUNDARY}`,
        'cache-control': 'private, no-store',
        'x-content-type-options': 'nosniff',
      });
      const viewer = new AbortController();
      request.raw.on('close', () => viewer.abort());
      const ending = await cameras
        .live(
          id,
          cameraId,
          actor(request),
          seconds,
          (frame) => {
            out.write(
              `--${LIVE_BOUNDARY}\r\nContent-Type: ${frame.contentType}\r\nContent-Length: ${frame.bytes.length}\r\n\r\n`,
            );
            out.write(frame.bytes);
            out.write('\r\n');
          },
          viewer.signal,
        )
        .catch((error: Error) => error.message);
      request.log.info({ alarmId: id, cameraId, ending }, 'live view ended');
      out.end();
    },
  );

  app.get('/api/alarms/:id/media', { preHandler: guards.requireOperator }, async (request) => {
    const { id } = parseOr400(AlarmParams, request.params);
    return { media: await cameras.mediaOf(id) };
  });

  app.get('/api/media/:id', { preHandler: guards.requireOperator }, async (request, reply) => {
    const { id } = parseOr400(MediaParams, request.params);
    const picture = await cameras.view(id, actor(request));
    if (!picture) return reply.code(404).send({ error: 'no such picture (deleted after 60 days?)' });
    return reply
      .header('content-type', picture.contentType)
      .header('x-content-type-options', 'nosniff')
      .header('content-security-policy', "default-src 'none'")
      .header('cache-control', 'private, no-store')
      .send(picture.bytes);
  });

  app.put('/api/media/:id/hold', { preHandler: guards.requireSupervisor }, async (request, reply) => {
    const { id } = parseOr400(MediaParams, request.params);
    const { reason } = parseOr400(HoldBody, request.body);
    if (!(await cameras.hold(id, reason, actor(request))))
      return reply.code(404).send({ error: 'no such picture, or already held' });
    return { held: true };
  });
}
