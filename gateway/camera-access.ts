import type { KeyObject } from 'node:crypto';
import type { Frame } from '../hardware/camera/mjpeg.ts';
import type { Snapshot } from '../hardware/camera/snapshot.ts';
import type { Clock } from '../lib/clock.ts';
import type { Logger } from '../lib/logger.ts';
import type { Metrics } from '../lib/metrics.ts';
import {
  CAMERA_ACCESS_MS,
  CAMERA_EVENT_CLASSES,
  type CameraGrant,
  checkGrant,
} from '../protocols/camera-grant.ts';
import { type AlarmEvent, type Command, MAX_MEDIA_BYTES, type Media } from '../protocols/messages.ts';
import { PROTOCOL_VERSION } from '../protocols/version.ts';

export interface CameraAccessOptions {
  readonly siteId: string;
  readonly gatewayId: string;
  /** The central's grant-signing key; without it the central never gets a picture. */
  readonly grantKey: KeyObject | null;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Take a snapshot from a configured camera (null: no such camera or no snapshot URL). */
  readonly snapshot: (cameraId: string) => Promise<Snapshot> | null;
  /** Open a camera's own stream for some seconds (null: no such camera or no stream URL). */
  readonly stream?: (
    cameraId: string,
  ) =>
    | ((seconds: number, onFrame: (frame: Frame) => Promise<void>, signal: AbortSignal) => Promise<string>)
    | null;
}

export interface CameraAccessRecord {
  readonly at: number;
  readonly cameraId: string;
  readonly operator: string | null;
  readonly eventId: string | null;
  readonly granted: boolean;
  readonly reason: string;
}

type CameraCommand<N extends 'camera-snapshot' | 'camera-live'> = Command & { command: { name: N } };

function media(command: CameraCommand<'camera-snapshot' | 'camera-live'>, result: Media['result']): Media {
  return {
    v: PROTOCOL_VERSION,
    type: 'media',
    commandId: command.id,
    cameraId: command.command.cameraId,
    result,
  };
}

/**
 * The premises' side of SPEC §8: the central sees a camera only with a grant it signed for an alarm
 * event this gateway itself raised, from that event's start for 15 minutes. The gateway checks the
 * signature, the site, the camera, the window on its own clock, and that the event and its start
 * are its own; every access, granted or refused, is logged here and kept for the homeowner to see.
 */
export class CameraAccess {
  readonly #o: CameraAccessOptions;
  /** Alarm events raised here in the last 15 minutes: id → start. */
  readonly #alarmStarts = new Map<string, number>();
  readonly #log: CameraAccessRecord[] = [];
  /** Live views running, by the command that started them. */
  readonly #live = new Map<string, AbortController>();

  constructor(options: CameraAccessOptions) {
    this.#o = options;
  }

  /** Every event the gateway records passes here; alarm starts open a window. */
  noteEvent(event: AlarmEvent): void {
    if (event.qualifier !== 'event' || !CAMERA_EVENT_CLASSES.has(event.class)) return;
    this.#alarmStarts.set(event.id, Date.parse(event.occurredAt));
    const horizon = this.#o.clock.now() - CAMERA_ACCESS_MS;
    for (const [id, start] of this.#alarmStarts) if (start < horizon) this.#alarmStarts.delete(id);
  }

  /** The last accesses, newest first (the homeowner's "who looked" list). */
  get log(): readonly CameraAccessRecord[] {
    return [...this.#log].reverse();
  }

  async snapshot(command: CameraCommand<'camera-snapshot'>): Promise<Media> {
    const access = this.#authorize(command);
    if (!access.ok) return access.refusal;
    const { grant } = access;
    const { cameraId } = command.command;
    const taking = this.#o.snapshot(cameraId);
    if (!taking) return this.#refuse(command, 'no-snapshot-camera', grant);
    try {
      const picture = await taking;
      if (picture.body.length > MAX_MEDIA_BYTES)
        throw new Error(`snapshot of ${picture.body.length} bytes is too large`);
      this.#granted(command, grant, 'snapshot', picture.body.length);
      return media(command, {
        ok: true,
        grantId: grant.id,
        takenAt: new Date(picture.takenAt).toISOString(),
        contentType: picture.contentType,
        data: picture.body.toString('base64'),
      });
    } catch (error) {
      this.#o.metrics.increment('camera_snapshot_failures_total');
      this.#o.logger.error({ cameraId, err: (error as Error).message }, 'snapshot for the central failed');
      return media(command, { ok: false, error: (error as Error).message.slice(0, 300) });
    }
  }

  /**
   * The camera's own stream under a grant: frames go to `publish` as they come (at most two a
   * second), never past the grant's end; the last message is marked `final`.
   */
  async live(
    command: CameraCommand<'camera-live'>,
    publish: (message: Media) => Promise<void>,
  ): Promise<void> {
    const access = this.#authorize(command);
    if (!access.ok) return publish({ ...access.refusal, final: true });
    const { grant } = access;
    const { cameraId } = command.command;
    const streaming = this.#o.stream;
    const source = streaming?.(cameraId);
    if (!streaming || !source)
      return publish({ ...this.#refuse(command, 'no-stream-camera', grant), final: true });
    const seconds = Math.min(
      command.command.seconds,
      Math.floor((grant.notAfter - this.#o.clock.now()) / 1000),
    );
    this.#granted(command, grant, `live view for ${seconds} s`, 0);
    let sequence = 0;
    let ending: string;
    try {
      const stop = new AbortController();
      this.#live.set(command.id, stop);
      ending = await source(
        seconds,
        async (frame) => {
          if (frame.body.length > MAX_MEDIA_BYTES) return;
          await publish({
            ...media(command, {
              ok: true,
              grantId: grant.id,
              takenAt: new Date(this.#o.clock.now()).toISOString(),
              contentType: frame.contentType,
              data: frame.body.toString('base64'),
            }),
            sequence: sequence++,
          });
        },
        stop.signal,
      );
    } catch (error) {
      this.#o.metrics.increment('camera_stream_failures_total');
      ending = (error as Error).message.slice(0, 300);
    }
    this.#live.delete(command.id);
    this.#o.logger.info({ cameraId, frames: sequence, ending }, 'live view ended');
    await publish({ ...media(command, { ok: false, error: `ended: ${ending}` }), sequence, final: true });
  }

  /** The central's viewer left: end that live view now (unknown ids are ignored: it ended already). */
  stopLive(commandId: string): void {
    this.#live.get(commandId)?.abort();
  }

  #authorize(
    command: CameraCommand<'camera-snapshot' | 'camera-live'>,
  ): { ok: true; grant: CameraGrant } | { ok: false; refusal: Media } {
    if (!this.#o.grantKey)
      return { ok: false, refusal: this.#refuse(command, 'no grant key configured', null) };
    const check = checkGrant(command.command.grant, this.#o.grantKey, {
      siteId: this.#o.siteId,
      gatewayId: this.#o.gatewayId,
      cameraId: command.command.cameraId,
      now: this.#o.clock.now(),
    });
    if (!check.ok) return { ok: false, refusal: this.#refuse(command, check.reason, null) };
    // A grant is only as good as the event it names: one raised here, starting when the grant says.
    if (this.#alarmStarts.get(check.grant.eventId) !== check.grant.notBefore)
      return { ok: false, refusal: this.#refuse(command, 'unknown-event', check.grant) };
    return { ok: true, grant: check.grant };
  }

  #refuse(
    command: CameraCommand<'camera-snapshot' | 'camera-live'>,
    reason: string,
    grant: CameraGrant | null,
  ): Media {
    const { cameraId } = command.command;
    this.#record({
      cameraId,
      operator: grant?.operator ?? null,
      eventId: grant?.eventId ?? null,
      granted: false,
      reason,
    });
    this.#o.metrics.increment('camera_access_refused_total', { reason });
    this.#o.logger.warn({ cameraId, reason, by: command.issuedBy }, 'camera access refused');
    return media(command, { ok: false, error: `refused: ${reason}` });
  }

  #granted(
    command: CameraCommand<'camera-snapshot' | 'camera-live'>,
    grant: CameraGrant,
    what: string,
    bytes: number,
  ): void {
    const { cameraId } = command.command;
    this.#record({ cameraId, operator: grant.operator, eventId: grant.eventId, granted: true, reason: what });
    this.#o.metrics.increment('camera_access_granted_total');
    this.#o.logger.info(
      { cameraId, operator: grant.operator, eventId: grant.eventId, grantId: grant.id, what, bytes },
      'camera access granted',
    );
  }

  #record(entry: Omit<CameraAccessRecord, 'at'>): void {
    this.#log.push({ ...entry, at: this.#o.clock.now() });
    if (this.#log.length > 200) this.#log.shift();
  }
}
