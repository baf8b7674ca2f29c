import type { Clock } from '../lib/clock.ts';
import type { DeviceBus, DeviceSignal, SignalKind, SignalListener } from './device-signal.ts';
import { SIGNAL_KINDS } from './device-signal.ts';

/**
 * A bus whose devices are driven by software: the demo page, the CLI and the tests inject
 * signals exactly as a real driver would emit them.
 */
export class SimulatedBus implements DeviceBus {
  readonly name = 'simulated';
  readonly #listeners: SignalListener[] = [];
  #devices: Set<string>;
  readonly #clock: Clock;
  #running = false;

  constructor(deviceIds: Iterable<string>, clock: Clock) {
    this.#devices = new Set(deviceIds);
    this.#clock = clock;
  }

  async start(): Promise<void> {
    this.#running = true;
  }

  async stop(): Promise<void> {
    this.#running = false;
  }

  onSignal(listener: SignalListener): void {
    this.#listeners.push(listener);
  }

  /** Installers add and remove simulated devices while the gateway runs. */
  setDevices(deviceIds: Iterable<string>): void {
    this.#devices = new Set(deviceIds);
  }

  get deviceIds(): string[] {
    return [...this.#devices];
  }

  /** Inject a signal; throws on an unknown device or kind so callers can answer with a clear error. */
  inject(deviceId: string, kind: string, detail: Record<string, unknown> = {}): DeviceSignal {
    if (!this.#running) throw new Error('simulated bus is not running');
    if (!this.#devices.has(deviceId)) throw new Error(`unknown simulated device "${deviceId}"`);
    if (!(SIGNAL_KINDS as readonly string[]).includes(kind)) {
      throw new Error(`unknown signal kind "${kind}" (expected one of ${SIGNAL_KINDS.join(', ')})`);
    }
    const signal: DeviceSignal = {
      deviceId,
      kind: kind as SignalKind,
      at: this.#clock.now(),
      detail: { simulated: true, ...detail },
    };
    for (const listener of this.#listeners) listener(signal);
    return signal;
  }
}
