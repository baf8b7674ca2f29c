import type { Clock, TimerHandle } from '../../lib/clock.ts';
import type { Logger } from '../../lib/logger.ts';
import type { Metrics } from '../../lib/metrics.ts';
import type { DeviceBus, SignalKind, SignalListener } from '../device-signal.ts';
import type { OutputDriver } from '../outputs.ts';
import type { GpioLines } from './lines.ts';
import { GpioZoneLogic, type Level, type ZoneWiring } from './zone-logic.ts';

export interface GpioZoneConfig {
  readonly deviceId: string;
  readonly pin: number;
  readonly tamperPin?: number | undefined;
  readonly wiring: Omit<ZoneWiring, 'hasTamperLoop'>;
}

export interface GpioBusOptions {
  readonly zones: readonly GpioZoneConfig[];
  /** Opens the lines (backend selection happens here, so a failure names the pins). */
  readonly open: (pins: readonly number[]) => Promise<GpioLines>;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly restartMs?: number;
}

/**
 * Wired zones on GPIO. At start (and after a backend restart) the current levels set each zone's
 * condition as a resync; edges then go through debounce and classification (zone-logic.ts). If the
 * backend dies every zone reports a trouble, restored when watching resumes.
 */
export class GpioBus implements DeviceBus {
  readonly name = 'gpio';
  readonly #o: GpioBusOptions;
  readonly #listeners: SignalListener[] = [];
  readonly #zones = new Map<string, GpioZoneLogic>();
  #lines: GpioLines | null = null;
  #running = false;
  #trouble = false;
  #restart: TimerHandle | null = null;

  constructor(options: GpioBusOptions) {
    this.#o = options;
  }

  onSignal(listener: SignalListener): void {
    this.#listeners.push(listener);
  }

  async start(): Promise<void> {
    this.#running = true;
    for (const zone of this.#o.zones) {
      const pins = zone.tamperPin === undefined ? [zone.pin] : [zone.pin, zone.tamperPin];
      const wiring: ZoneWiring = { ...zone.wiring, hasTamperLoop: zone.tamperPin !== undefined };
      this.#zones.set(
        zone.deviceId,
        new GpioZoneLogic(wiring, this.#o.clock, (kind, detail) =>
          this.#emit(zone.deviceId, kind, { pins, ...detail }),
        ),
      );
    }
    await this.#watch();
  }

  async stop(): Promise<void> {
    this.#running = false;
    if (this.#restart) this.#o.clock.clearTimeout(this.#restart);
    for (const zone of this.#zones.values()) zone.stop();
    await this.#lines?.close();
    this.#lines = null;
  }

  async #watch(): Promise<void> {
    const pins = [
      ...new Set(this.#o.zones.flatMap((z) => (z.tamperPin === undefined ? [z.pin] : [z.pin, z.tamperPin]))),
    ];
    const biases = new Set(this.#o.zones.map((z) => z.wiring.pull));
    if (biases.size > 1)
      throw new Error('GPIO zones with pull-up and pull-down on one bus are not supported');
    this.#lines = await this.#o.open(pins);
    const levels = await this.#lines.watch(
      pins,
      [...biases][0] ?? 'up',
      (pin, level) => this.#edge(pin, level),
      (reason) => this.#died(reason),
    );
    for (const zone of this.#o.zones) {
      const tamper = zone.tamperPin === undefined ? null : (levels.get(zone.tamperPin) ?? null);
      this.#zones.get(zone.deviceId)?.initial(levels.get(zone.pin) as Level, tamper);
    }
    if (this.#trouble) {
      this.#trouble = false;
      for (const zone of this.#o.zones)
        this.#emit(zone.deviceId, 'trouble-restore', { reason: 'GPIO watching again' });
    }
    this.#o.logger.info({ backend: this.#lines.name, pins }, 'GPIO zones watched');
  }

  #edge(pin: number, level: Level): void {
    this.#o.metrics.increment('gpio_edges_total');
    for (const zone of this.#o.zones) {
      if (zone.pin === pin) this.#zones.get(zone.deviceId)?.level('alarm', level);
      if (zone.tamperPin === pin) this.#zones.get(zone.deviceId)?.level('tamper', level);
    }
  }

  #died(reason: string): void {
    this.#o.metrics.increment('gpio_backend_failures_total');
    this.#o.logger.error({ reason }, 'GPIO backend stopped; restarting');
    if (!this.#trouble) {
      this.#trouble = true;
      for (const zone of this.#o.zones) this.#emit(zone.deviceId, 'trouble', { reason });
    }
    if (!this.#running || this.#restart) return;
    this.#restart = this.#o.clock.setTimeout(() => {
      this.#restart = null;
      void this.#lines
        ?.close()
        .then(() => this.#watch())
        .catch((error: Error) => this.#died(error.message));
    }, this.#o.restartMs ?? 5000);
  }

  #emit(deviceId: string, kind: SignalKind, detail: Record<string, unknown>): void {
    const signal = { deviceId, kind, at: this.#o.clock.now(), detail: { bus: 'gpio', ...detail } };
    for (const listener of this.#listeners) listener(signal);
  }
}

/** Sirens, strobes and relays on GPIO pins. */
export class GpioOutputs implements OutputDriver {
  readonly name = 'gpio';
  readonly #pins: ReadonlyMap<string, { pin: number; activeLow: boolean }>;
  readonly #open: (pins: readonly number[]) => Promise<GpioLines>;
  #lines: GpioLines | null = null;

  constructor(
    pins: ReadonlyMap<string, { pin: number; activeLow: boolean }>,
    open: (pins: readonly number[]) => Promise<GpioLines>,
  ) {
    this.#pins = pins;
    this.#open = open;
  }

  async set(outputId: string, on: boolean): Promise<void> {
    const output = this.#pins.get(outputId);
    if (!output) throw new Error(`output "${outputId}" is not on GPIO`);
    this.#lines ??= await this.#open([...this.#pins.values()].map((p) => p.pin));
    await this.#lines.write(output.pin, on !== output.activeLow ? 1 : 0);
  }

  async close(): Promise<void> {
    await this.#lines?.close();
  }
}
