import { SerialPort } from 'serialport';
import type { Clock, TimerHandle } from '../../lib/clock.ts';
import type { Logger } from '../../lib/logger.ts';
import type { Metrics } from '../../lib/metrics.ts';
import type { DeviceBus, SignalListener } from '../device-signal.ts';
import { decodeFrame, encodeFrame, interpret, LineSplitter, signalFor } from './dsc-it100.ts';

export interface DscBusOptions {
  readonly path: string;
  readonly baudRate: number;
  /** Device id by IT-100 address (`zone:5`, `panel`, `key:fire`…). */
  readonly devices: ReadonlyMap<string, string>;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** After a (re)connect the panel's status dump is a resync, not news, for this long. */
  readonly resyncMs?: number;
  readonly pollMs?: number;
  readonly pollTimeoutMs?: number;
}

const RECONNECT_STEPS_MS = [500, 1000, 2000, 5000, 10_000];

/**
 * A DSC PowerSeries panel behind an IT-100 / PC5401 serial module, used as a zone and trouble
 * source. On every (re)connect the bus asks for a status dump (001); zone states in the dump are
 * marked `resync` so the gateway updates its zone states without raising alarms. A poll (000)
 * every `pollMs` supervises the link; a lost link or an unanswered poll is a trouble of the
 * `panel` device, restored when the panel answers again.
 */
export class DscIt100Bus implements DeviceBus {
  readonly name = 'dsc-it100';
  readonly #o: DscBusOptions;
  readonly #listeners: SignalListener[] = [];
  #devices: ReadonlyMap<string, string>;
  #port: SerialPort | null = null;
  #splitter = new LineSplitter();
  #running = false;
  #attempt = 0;
  #resyncUntil = 0;
  #linkTrouble = false;
  #awaitingPollSince: number | null = null;
  #reconnectTimer: TimerHandle | null = null;
  #pollTimer: TimerHandle | null = null;
  #lastCommand: string | null = null;

  constructor(options: DscBusOptions) {
    this.#o = options;
    this.#devices = options.devices;
  }

  /** Replace the address -> device id map (installer changes). */
  setDevices(devices: ReadonlyMap<string, string>): void {
    this.#devices = devices;
  }

  onSignal(listener: SignalListener): void {
    this.#listeners.push(listener);
  }

  get connected(): boolean {
    return this.#port?.isOpen ?? false;
  }

  async start(): Promise<void> {
    this.#running = true;
    this.#open();
    this.#schedulePoll();
  }

  async stop(): Promise<void> {
    this.#running = false;
    for (const timer of [this.#reconnectTimer, this.#pollTimer]) if (timer) this.#o.clock.clearTimeout(timer);
    const port = this.#port;
    this.#port = null;
    if (port?.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
  }

  /** Send a command to the panel (e.g. `000` poll, `001` status request). */
  send(command: string, data = ''): void {
    const port = this.#port;
    if (!port?.isOpen) throw new Error(`IT-100 on ${this.#o.path} is not connected`);
    this.#lastCommand = encodeFrame(command, data);
    port.write(this.#lastCommand);
  }

  #open(): void {
    if (!this.#running) return;
    const port = new SerialPort({ path: this.#o.path, baudRate: this.#o.baudRate, autoOpen: false });
    this.#port = port;
    this.#splitter = new LineSplitter();
    port.on('data', (chunk: Buffer) => this.#onData(chunk));
    port.on('error', (error) =>
      this.#o.logger.warn({ path: this.#o.path, err: error.message }, 'IT-100 port error'),
    );
    port.on('close', () => this.#onClose(port));
    port.open((error) => {
      if (error) {
        this.#o.metrics.increment('dsc_connect_failures_total');
        this.#o.logger.warn({ path: this.#o.path, err: error.message }, 'IT-100 port cannot be opened');
        this.#linkLost();
        this.#scheduleReconnect();
        return;
      }
      this.#attempt = 0;
      this.#o.logger.info(
        { path: this.#o.path, baudRate: this.#o.baudRate },
        'IT-100 connected; requesting status',
      );
      this.#resyncUntil = this.#o.clock.now() + (this.#o.resyncMs ?? 3000);
      this.send('001');
    });
  }

  #onClose(port: SerialPort): void {
    if (port !== this.#port) return;
    this.#o.logger.warn({ path: this.#o.path }, 'IT-100 disconnected');
    this.#linkLost();
    this.#scheduleReconnect();
  }

  #scheduleReconnect(): void {
    if (!this.#running || this.#reconnectTimer) return;
    const delay = RECONNECT_STEPS_MS[Math.min(this.#attempt++, RECONNECT_STEPS_MS.length - 1)]!;
    this.#reconnectTimer = this.#o.clock.setTimeout(() => {
      this.#reconnectTimer = null;
      this.#open();
    }, delay);
  }

  #schedulePoll(): void {
    if (!this.#running) return;
    this.#pollTimer = this.#o.clock.setTimeout(() => {
      const now = this.#o.clock.now();
      if (
        this.#awaitingPollSince !== null &&
        now - this.#awaitingPollSince >= (this.#o.pollTimeoutMs ?? 10_000)
      ) {
        this.#o.metrics.increment('dsc_poll_timeouts_total');
        this.#linkLost();
      }
      if (this.connected && this.#awaitingPollSince === null) {
        this.#awaitingPollSince = now;
        this.send('000');
      }
      this.#schedulePoll();
    }, this.#o.pollMs ?? 30_000);
  }

  #linkLost(): void {
    if (this.#linkTrouble) return;
    this.#linkTrouble = true;
    this.#emit('panel', 'trouble', { reason: 'IT-100 link lost' });
  }

  #linkUp(): void {
    this.#awaitingPollSince = null;
    if (!this.#linkTrouble) return;
    this.#linkTrouble = false;
    this.#emit('panel', 'trouble-restore', { reason: 'IT-100 link restored' });
  }

  #onData(chunk: Buffer): void {
    const { lines, overflowed } = this.#splitter.push(chunk);
    if (overflowed > 0) this.#reject('line-too-long', `${overflowed} over-long line(s) dropped`);
    for (const line of lines) this.#onLine(line);
  }

  #onLine(line: string): void {
    const frame = decodeFrame(line);
    if (!frame.ok) {
      this.#reject(frame.reason, frame.raw);
      return;
    }
    const message = interpret(frame.command, frame.data);
    if (!message) {
      this.#reject('malformed-data', line);
      return;
    }
    this.#o.metrics.increment('dsc_frames_total', { kind: message.kind });
    this.#linkUp();
    if (message.kind === 'checksum-refused') {
      this.#o.metrics.increment('dsc_resends_total');
      if (this.#lastCommand && this.#port?.isOpen) this.#port.write(this.#lastCommand);
      return;
    }
    if (message.kind === 'system-error') {
      this.#o.logger.warn({ code: message.code }, 'IT-100 reports a system error');
      return;
    }
    if (message.kind === 'unknown') {
      this.#o.metrics.increment('dsc_unknown_commands_total', { command: message.command });
      return;
    }
    const signal = signalFor(message);
    if (!signal) return;
    this.#emit(signal.address, signal.kind, { frame: line, resync: this.#o.clock.now() < this.#resyncUntil });
  }

  #emit(address: string, kind: Parameters<SignalListener>[0]['kind'], detail: Record<string, unknown>): void {
    const deviceId = this.#devices.get(address);
    if (!deviceId) {
      this.#reject('unknown-device', `${address} (${kind}) has no device configured`);
      return;
    }
    const signal = {
      deviceId,
      kind,
      at: this.#o.clock.now(),
      detail: { bus: 'dsc-it100', address, ...detail },
    };
    for (const listener of this.#listeners) listener(signal);
  }

  #reject(reason: string, detail: string): void {
    this.#o.metrics.increment('dsc_rejected_total', { reason });
    this.#o.logger.warn({ reason, detail: detail.slice(0, 80) }, 'IT-100 input rejected');
  }
}
