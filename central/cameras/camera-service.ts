import type pg from 'pg';
import { newId } from '../../lib/ids.ts';
import type { Logger } from '../../lib/logger.ts';
import type { Metrics } from '../../lib/metrics.ts';
import { Throttle } from '../../lib/throttle.ts';
import {
  CAMERA_ACCESS_MS,
  CAMERA_EVENT_CLASSES,
  type CameraGrant,
  signGrant,
} from '../../protocols/camera-grant.ts';
import { type Command, type Media, newCommand } from '../../protocols/messages.ts';
import { audit } from '../records.ts';
import type { GrantSigner } from './grant-signer.ts';

/** SPEC §8: pictures of an alarm event are kept 60 days, longer only when held for the police. */
export const MEDIA_RETENTION_DAYS = 60;
/** What the console will show inline; anything else a gateway sends is refused. */
const IMAGE_TYPES = new Set(['image/jpeg', 'image/png', 'image/webp']);

export interface CameraView {
  readonly id: string;
  readonly name: string;
  readonly snapshot: boolean;
  readonly live?: boolean;
}

export interface AccessWindow {
  readonly grantId: string;
  readonly notBefore: string;
  readonly notAfter: string;
  readonly cameras: readonly CameraView[];
}

/** A refusal with its HTTP status, for the routes. */
export class CameraAccessError extends Error {
  readonly statusCode: number;
  readonly expose = true;
  constructor(statusCode: number, message: string) {
    super(message);
    this.statusCode = statusCode;
  }
}

interface Pending {
  readonly grant: CameraGrant;
  readonly alarmId: string;
  readonly cameraId: string;
  resolve(value: { mediaId: string; takenAt: string }): void;
  reject(error: Error): void;
  readonly timer: NodeJS.Timeout;
}

interface LiveStream {
  readonly grant: CameraGrant;
  readonly cameraId: string;
  frame(media: Media): void;
  end(reason: string): void;
}

export interface CameraServiceOptions {
  readonly pool: pg.Pool;
  readonly signer: GrantSigner;
  readonly sendCommand: (siteId: string, gatewayId: string, command: Command) => Promise<void>;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly now?: () => number;
  readonly answerTimeoutMs?: number;
}

interface AlarmScope {
  site_id: string;
  gateway_id: string;
  event_id: string;
  class: string;
  qualifier: string;
  occurred_at: Date;
  cameras: CameraView[] | null;
}

/**
 * The central's side of SPEC §8. An operator gets a grant for an alarm only inside the 15 minutes
 * from its event's start; the grant is signed for the gateway, which checks it again and answers
 * with the picture. Every grant, picture and viewing is in the audit trail; pictures expire.
 */
/** One viewing of a picture by one operator, however often the console redraws it. */
const VIEW_AUDIT_MS = 10 * 60_000;

export class CameraService {
  readonly #o: CameraServiceOptions;
  readonly #viewings = new Throttle(VIEW_AUDIT_MS);
  readonly #pending = new Map<string, Pending>();
  readonly #streams = new Map<string, LiveStream>();
  readonly #now: () => number;

  constructor(options: CameraServiceOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
  }

  /** The running grant of this alarm for this operator, or a new one while the window is open. */
  async access(alarmId: string, operator: string): Promise<AccessWindow> {
    const grant = await this.#grant(alarmId, operator);
    const scope = await this.#scope(alarmId);
    const cameras = (scope?.cameras ?? []).filter((c) => grant.cameras.includes(c.id));
    return {
      grantId: grant.id,
      notBefore: new Date(grant.notBefore).toISOString(),
      notAfter: new Date(grant.notAfter).toISOString(),
      cameras,
    };
  }

  /** Ask the gateway for one picture under this alarm's grant; resolves when it is stored. */
  async snapshot(
    alarmId: string,
    cameraId: string,
    operator: string,
  ): Promise<{ mediaId: string; takenAt: string }> {
    const grant = await this.#grantFor(alarmId, cameraId, operator);
    const command = newCommand(
      operator,
      { name: 'camera-snapshot', cameraId, grant: signGrant(grant, this.#o.signer.privateKey) },
      this.#now(),
    );
    const answered = new Promise<{ mediaId: string; takenAt: string }>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(command.id);
        this.#o.metrics.increment('camera_snapshots_failed_total', { reason: 'timeout' });
        reject(new CameraAccessError(504, 'the gateway did not answer in time'));
      }, this.#o.answerTimeoutMs ?? 15_000);
      this.#pending.set(command.id, { grant, alarmId, cameraId, resolve, reject, timer });
    });
    try {
      await this.#o.sendCommand(grant.siteId, grant.gatewayId, command);
    } catch (error) {
      clearTimeout(this.#pending.get(command.id)?.timer);
      this.#pending.delete(command.id);
      throw new CameraAccessError(503, `gateway unreachable: ${(error as Error).message}`);
    }
    return answered;
  }

  /**
   * Relay a camera's own stream for up to `seconds` under this alarm's grant: frames go to
   * `onFrame` as the gateway sends them; one frame a second is kept as a picture of the alarm.
   * Resolves with why it ended (time, the camera, the viewer leaving, the grant's end).
   */
  async live(
    alarmId: string,
    cameraId: string,
    operator: string,
    seconds: number,
    onFrame: (frame: { contentType: string; bytes: Buffer }) => void,
    signal: AbortSignal,
  ): Promise<string> {
    const grant = await this.#grantFor(alarmId, cameraId, operator);
    const command = newCommand(
      operator,
      { name: 'camera-live', cameraId, grant: signGrant(grant, this.#o.signer.privateKey), seconds },
      this.#now(),
    );
    await audit(this.#o.pool, operator, 'camera.live', grant.siteId, {
      alarmId,
      cameraId,
      grantId: grant.id,
      seconds,
    });
    return new Promise<string>((resolve, reject) => {
      const finish = (reason: string) => {
        clearTimeout(timer);
        this.#streams.delete(command.id);
        resolve(reason);
      };
      const timer = setTimeout(() => finish('the gateway went quiet'), (seconds + 15) * 1000);
      let lastKept = 0;
      this.#streams.set(command.id, {
        grant,
        cameraId,
        end: finish,
        frame: (media) => {
          const result = media.result;
          if (!result.ok || !IMAGE_TYPES.has(result.contentType) || result.grantId !== grant.id) return;
          const bytes = Buffer.from(result.data, 'base64');
          onFrame({ contentType: result.contentType, bytes });
          this.#o.metrics.increment('camera_live_frames_total');
          if (this.#now() - lastKept < 1000) return;
          lastKept = this.#now();
          this.#keep(alarmId, grant, cameraId, result.takenAt, result.contentType, bytes).catch(
            (error: Error) => this.#o.logger.error({ err: error.message }, 'live frame not kept'),
          );
        },
      });
      signal.addEventListener(
        'abort',
        () => {
          finish('closed by the viewer');
          // Tell the gateway, so the camera and the uplink stop carrying frames nobody watches.
          this.#o
            .sendCommand(
              grant.siteId,
              grant.gatewayId,
              newCommand(operator, { name: 'camera-stop', commandId: command.id }, this.#now()),
            )
            .catch(() => undefined);
        },
        { once: true },
      );
      this.#o.sendCommand(grant.siteId, grant.gatewayId, command).catch((error: Error) => {
        clearTimeout(timer);
        this.#streams.delete(command.id);
        reject(new CameraAccessError(503, `gateway unreachable: ${error.message}`));
      });
    });
  }

  /** A gateway's answer (from the ingest, topic already checked). */
  onMedia(gateway: { siteId: string; gatewayId: string }, media: Media): void {
    const stream = this.#streams.get(media.commandId);
    if (stream && stream.grant.gatewayId === gateway.gatewayId && stream.cameraId === media.cameraId) {
      if (media.final) stream.end(media.result.ok ? 'ended' : media.result.error);
      else stream.frame(media);
      return;
    }
    const pending = this.#pending.get(media.commandId);
    if (
      !pending ||
      pending.grant.gatewayId !== gateway.gatewayId ||
      pending.grant.siteId !== gateway.siteId
    ) {
      this.#o.metrics.increment('camera_media_unexpected_total');
      this.#o.logger.warn({ ...gateway, commandId: media.commandId }, 'camera answer matches no request');
      return;
    }
    this.#pending.delete(media.commandId);
    clearTimeout(pending.timer);
    void this.#store(pending, media).then(pending.resolve, pending.reject);
  }

  async #store(pending: Pending, media: Media): Promise<{ mediaId: string; takenAt: string }> {
    const { grant } = pending;
    const result = media.result;
    if (!result.ok) {
      this.#o.metrics.increment('camera_snapshots_failed_total', { reason: 'gateway' });
      await audit(this.#o.pool, grant.operator, 'camera.refused', grant.siteId, {
        alarmId: pending.alarmId,
        cameraId: media.cameraId,
        grantId: grant.id,
        reason: result.error,
      });
      throw new CameraAccessError(502, `the gateway answered: ${result.error}`);
    }
    if (result.grantId !== grant.id || media.cameraId !== pending.cameraId)
      throw new CameraAccessError(502, 'the gateway answered for another grant or camera');
    if (!IMAGE_TYPES.has(result.contentType)) {
      this.#o.metrics.increment('camera_snapshots_failed_total', { reason: 'content-type' });
      throw new CameraAccessError(
        502,
        `the camera sent ${result.contentType}, not a picture the console shows`,
      );
    }
    const bytes = Buffer.from(result.data, 'base64');
    const mediaId = await this.#keep(
      pending.alarmId,
      grant,
      media.cameraId,
      result.takenAt,
      result.contentType,
      bytes,
    );
    await audit(this.#o.pool, grant.operator, 'camera.snapshot', grant.siteId, {
      alarmId: pending.alarmId,
      cameraId: media.cameraId,
      grantId: grant.id,
      mediaId,
      bytes: bytes.length,
    });
    this.#o.metrics.increment('camera_snapshots_total');
    return { mediaId, takenAt: result.takenAt };
  }

  /** Store a picture of an alarm, taken under `grant` (its operator asked for it); answers its id. */
  async #keep(
    alarmId: string,
    grant: CameraGrant,
    cameraId: string,
    takenAt: string,
    contentType: string,
    bytes: Buffer,
  ): Promise<string> {
    const { rows } = await this.#o.pool.query<{ id: string }>(
      `INSERT INTO event_media (alarm_id, site_id, camera_id, grant_id, requested_by, taken_at, content_type, bytes)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id::text`,
      [alarmId, grant.siteId, cameraId, grant.id, grant.operator, takenAt, contentType, bytes],
    );
    return rows[0]!.id;
  }

  /** Pictures of an alarm (metadata). */
  async mediaOf(alarmId: string): Promise<unknown[]> {
    const { rows } = await this.#o.pool.query(
      `SELECT id::text, camera_id AS "cameraId", taken_at AS "takenAt", requested_by AS "requestedBy",
              held_at AS "heldAt", hold_reason AS "holdReason",
              created_at + make_interval(days => $2) AS "expiresAt"
         FROM event_media WHERE alarm_id = $1 ORDER BY id`,
      [alarmId, MEDIA_RETENTION_DAYS],
    );
    return rows;
  }

  /**
   * One stored picture, for an operator; every viewing is audited, once: the same operator showing
   * the same picture again within VIEW_AUDIT_MS (a redraw, a reopened panel) is the same viewing.
   */
  async view(mediaId: string, operator: string): Promise<{ contentType: string; bytes: Buffer } | null> {
    const { rows } = await this.#o.pool.query<{
      content_type: string;
      bytes: Buffer;
      site_id: string;
      alarm_id: string;
    }>('SELECT content_type, bytes, site_id, alarm_id::text FROM event_media WHERE id = $1', [mediaId]);
    const row = rows[0];
    if (!row) return null;
    if (this.#viewings.allow(`${operator} ${mediaId}`, Date.now()))
      await audit(this.#o.pool, operator, 'camera.view', row.site_id, { mediaId, alarmId: row.alarm_id });
    return { contentType: row.content_type, bytes: row.bytes };
  }

  /** Keep a picture past its 60 days, for the police. */
  async hold(mediaId: string, reason: string, supervisor: string): Promise<boolean> {
    const { rows } = await this.#o.pool.query<{ site_id: string }>(
      `UPDATE event_media SET held_at = now(), held_by = $2, hold_reason = $3 WHERE id = $1 AND held_at IS NULL
       RETURNING site_id`,
      [mediaId, supervisor, reason],
    );
    if (!rows[0]) return false;
    await audit(this.#o.pool, supervisor, 'media.hold', rows[0].site_id, { mediaId, reason });
    return true;
  }

  /** Delete pictures older than the retention period that are not held; returns how many. */
  async purgeExpired(now: number): Promise<number> {
    const { rowCount } = await this.#o.pool.query(
      `DELETE FROM event_media WHERE held_at IS NULL AND created_at < $1::timestamptz - make_interval(days => $2)`,
      [new Date(now), MEDIA_RETENTION_DAYS],
    );
    if (rowCount) {
      this.#o.metrics.increment('event_media_purged_total', {}, rowCount);
      await audit(this.#o.pool, 'central', 'media.purge', null, {
        deleted: rowCount,
        retentionDays: MEDIA_RETENTION_DAYS,
      });
    }
    return rowCount ?? 0;
  }

  stop(): void {
    for (const pending of this.#pending.values()) {
      clearTimeout(pending.timer);
      pending.reject(new CameraAccessError(503, 'the central is stopping'));
    }
    this.#pending.clear();
    for (const stream of this.#streams.values()) stream.end('the central is stopping');
  }

  async #scope(alarmId: string): Promise<AlarmScope | null> {
    const { rows } = await this.#o.pool.query<AlarmScope>(
      `SELECT a.site_id, e.gateway_id, e.id AS event_id, e.class, e.qualifier, e.occurred_at,
              g.last_heartbeat->'cameras' AS cameras
         FROM alarms a JOIN events e ON e.id = a.event_id AND e.received_at = a.event_received_at JOIN gateways g ON g.id = e.gateway_id
        WHERE a.id = $1`,
      [alarmId],
    );
    return rows[0] ?? null;
  }

  /** The alarm's grant for this operator, which must include this camera. */
  async #grantFor(alarmId: string, cameraId: string, operator: string): Promise<CameraGrant> {
    const grant = await this.#grant(alarmId, operator);
    if (!grant.cameras.includes(cameraId))
      throw new CameraAccessError(404, `no camera "${cameraId}" at this site`);
    return grant;
  }

  async #grant(alarmId: string, operator: string): Promise<CameraGrant> {
    const now = this.#now();
    const { rows: current } = await this.#o.pool.query<{
      id: string;
      site_id: string;
      gateway_id: string;
      event_id: string;
      cameras: string[];
      not_before: Date;
      not_after: Date;
    }>(
      `SELECT id, site_id, gateway_id, event_id, cameras, not_before, not_after FROM camera_grants
        WHERE alarm_id = $1 AND operator = $2 AND not_before <= $3 AND not_after > $3
        ORDER BY not_after DESC LIMIT 1`,
      [alarmId, operator, new Date(now)],
    );
    const row = current[0];
    if (row) {
      return {
        id: row.id,
        siteId: row.site_id,
        gatewayId: row.gateway_id,
        eventId: row.event_id,
        cameras: row.cameras,
        notBefore: row.not_before.getTime(),
        notAfter: row.not_after.getTime(),
        operator,
      };
    }
    const scope = await this.#scope(alarmId);
    if (!scope) throw new CameraAccessError(404, 'no such alarm');
    if (scope.qualifier !== 'event' || !CAMERA_EVENT_CLASSES.has(scope.class as 'security'))
      throw new CameraAccessError(403, 'cameras open only for security and safety alarm events');
    const start = scope.occurred_at.getTime();
    const end = start + CAMERA_ACCESS_MS;
    if (now < start || now >= end) {
      this.#o.metrics.increment('camera_grants_refused_total', { reason: 'outside-window' });
      await audit(this.#o.pool, operator, 'camera.grant-refused', scope.site_id, {
        alarmId,
        reason: 'outside the 15 minutes from the alarm event start',
      });
      throw new CameraAccessError(
        403,
        'camera access ended: only within 15 minutes of the alarm event start',
      );
    }
    const cameras = (scope.cameras ?? []).map((c) => c.id);
    if (cameras.length === 0) throw new CameraAccessError(409, 'the gateway has announced no cameras');
    const grant: CameraGrant = {
      id: newId(),
      siteId: scope.site_id,
      gatewayId: scope.gateway_id,
      eventId: scope.event_id,
      cameras,
      notBefore: start,
      notAfter: end,
      operator,
    };
    await this.#o.pool.query(
      `INSERT INTO camera_grants (id, alarm_id, site_id, gateway_id, event_id, operator, cameras, not_before, not_after)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [
        grant.id,
        alarmId,
        grant.siteId,
        grant.gatewayId,
        grant.eventId,
        operator,
        cameras,
        new Date(start),
        new Date(end),
      ],
    );
    await audit(this.#o.pool, operator, 'camera.grant', grant.siteId, {
      alarmId,
      grantId: grant.id,
      cameras,
      notAfter: new Date(end).toISOString(),
    });
    this.#o.metrics.increment('camera_grants_total');
    return grant;
  }
}
