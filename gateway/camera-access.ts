import type { KeyObject } from 'node:crypto';
import type { Snapshot } from '../hardware/camera/snapshot.ts';
import type { Clock } from '../lib/clock.ts';
import type { Logger } from '../lib/logger.ts';
import type { Metrics } from '../lib/metrics.ts';
import { CAMERA_ACCESS_MS, CAMERA_EVENT_CLASSES, checkGrant } from '../protocols/camera-grant.ts';
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
}

export interface CameraAccessRecord {
  readonly at: number;
  readonly cameraId: string;
  readonly operator: string | null;
  readonly eventId: string | null;
  readonly granted: boolean;
  readonly reason: string;
}

type SnapshotCommand = Command & { command: { name: 'camera-snapshot' } };

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

  async snapshot(command: SnapshotCommand): Promise<Media> {
    const { cameraId, grant: token } = command.command;
    const reply = (result: Media['result']): Media => ({
      v: PROTOCOL_VERSION,
      type: 'media',
      commandId: command.id,
      cameraId,
      result,
    });
    const refuse = (reason: string, grant: { operator: string; eventId: string } | null) => {
      this.#record({
        cameraId,
        operator: grant?.operator ?? null,
        eventId: grant?.eventId ?? null,
        granted: false,
        reason,
      });
      this.#o.metrics.increment('camera_access_refused_total', { reason });
      this.#o.logger.warn({ cameraId, reason, by: command.issuedBy }, 'camera access refused');
      return reply({ ok: false, error: `refused: ${reason}` });
    };
    if (!this.#o.grantKey) return refuse('no grant key configured', null);
    const now = this.#o.clock.now();
    const check = checkGrant(token, this.#o.grantKey, {
      siteId: this.#o.siteId,
      gatewayId: this.#o.gatewayId,
      cameraId,
      now,
    });
    if (!check.ok) return refuse(check.reason, null);
    const { grant } = check;
    // A grant is only as good as the event it names: one raised here, starting when the grant says.
    if (this.#alarmStarts.get(grant.eventId) !== grant.notBefore) return refuse('unknown-event', grant);
    const taking = this.#o.snapshot(cameraId);
    if (!taking) return refuse('no-snapshot-camera', grant);
    try {
      const picture = await taking;
      if (picture.body.length > MAX_MEDIA_BYTES)
        throw new Error(`snapshot of ${picture.body.length} bytes is too large`);
      this.#record({
        cameraId,
        operator: grant.operator,
        eventId: grant.eventId,
        granted: true,
        reason: 'snapshot',
      });
      this.#o.metrics.increment('camera_access_granted_total');
      this.#o.logger.info(
        {
          cameraId,
          operator: grant.operator,
          eventId: grant.eventId,
          grantId: grant.id,
          bytes: picture.body.length,
        },
        'camera access granted: snapshot sent to the central',
      );
      return reply({
        ok: true,
        grantId: grant.id,
        takenAt: new Date(picture.takenAt).toISOString(),
        contentType: picture.contentType,
        data: picture.body.toString('base64'),
      });
    } catch (error) {
      this.#o.metrics.increment('camera_snapshot_failures_total');
      this.#o.logger.error({ cameraId, err: (error as Error).message }, 'snapshot for the central failed');
      return reply({ ok: false, error: (error as Error).message.slice(0, 300) });
    }
  }

  #record(entry: Omit<CameraAccessRecord, 'at'>): void {
    this.#log.push({ ...entry, at: this.#o.clock.now() });
    if (this.#log.length > 200) this.#log.shift();
  }
}
