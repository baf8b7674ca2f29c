import { timingSafeEqual } from 'node:crypto';
import type { Clock, TimerHandle } from '../../lib/clock.ts';
import type { Logger } from '../../lib/logger.ts';
import type { Metrics } from '../../lib/metrics.ts';
import type { DeviceBus, SignalListener } from '../device-signal.ts';

export interface CameraTrigger {
  readonly cameraId: string;
  readonly deviceId: string;
  /** The secret the camera sends with its HTTP alarm notification. */
  readonly eventToken: string;
  /** Most cameras only report an alarm's start: the restore follows after this long without news. */
  readonly restoreAfterMs: number;
}

/**
 * Cameras as alarm sources through their HTTP alarm notifications ("alarm server", "HTTP
 * notification"): the gateway's local API hands each notification to `notify`; a wrong token is
 * refused and counted. (A camera's relay alarm output wired to GPIO is the other, network-free way.)
 */
export class CameraBus implements DeviceBus {
  readonly name = 'camera';
  readonly #triggers: ReadonlyMap<string, CameraTrigger>;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #metrics: Metrics;
  readonly #listeners: SignalListener[] = [];
  readonly #restores = new Map<string, TimerHandle>();
  #running = false;

  constructor(triggers: readonly CameraTrigger[], clock: Clock, logger: Logger, metrics: Metrics) {
    this.#triggers = new Map(triggers.map((t) => [t.cameraId, t]));
    this.#clock = clock;
    this.#logger = logger;
    this.#metrics = metrics;
  }

  onSignal(listener: SignalListener): void {
    this.#listeners.push(listener);
  }

  async start(): Promise<void> {
    this.#running = true;
  }

  async stop(): Promise<void> {
    this.#running = false;
    for (const timer of this.#restores.values()) this.#clock.clearTimeout(timer);
    this.#restores.clear();
  }

  /** An HTTP notification from a camera; returns false (and counts it) when it is not to be trusted. */
  notify(
    cameraId: string,
    token: string,
    state: 'start' | 'stop',
    detail: Record<string, unknown> = {},
  ): boolean {
    const trigger = this.#triggers.get(cameraId);
    const expected = Buffer.from(trigger?.eventToken ?? '');
    const given = Buffer.from(token);
    if (!this.#running || !trigger || expected.length !== given.length || !timingSafeEqual(expected, given)) {
      this.#metrics.increment('camera_events_refused_total');
      this.#logger.warn({ cameraId }, 'camera notification refused: unknown camera or wrong token');
      return false;
    }
    this.#metrics.increment('camera_events_total', { state });
    const pending = this.#restores.get(cameraId);
    if (pending) this.#clock.clearTimeout(pending);
    this.#restores.delete(cameraId);
    if (state === 'stop') {
      this.#emit(trigger, 'restore', detail);
      return true;
    }
    this.#emit(trigger, 'alarm', detail);
    this.#restores.set(
      cameraId,
      this.#clock.setTimeout(() => {
        this.#restores.delete(cameraId);
        this.#emit(trigger, 'restore', { reason: 'no further notification' });
      }, trigger.restoreAfterMs),
    );
    return true;
  }

  #emit(trigger: CameraTrigger, kind: 'alarm' | 'restore', detail: Record<string, unknown>): void {
    const signal = {
      deviceId: trigger.deviceId,
      kind,
      at: this.#clock.now(),
      detail: { bus: 'camera', camera: trigger.cameraId, ...detail },
    };
    for (const listener of this.#listeners) listener(signal);
  }
}
