import path from 'node:path';
import { Controller, setLogger } from 'zigbee-herdsman';
import type { Clock, TimerHandle } from '../../lib/clock.ts';
import type { Logger } from '../../lib/logger.ts';
import type { Metrics } from '../../lib/metrics.ts';
import type { DeviceBus, SignalKind, SignalListener } from '../device-signal.ts';
import { zoneStatusOf, zoneStatusSignals } from './ias-zone.ts';
import { loadOrCreateNetwork } from './network-params.ts';

export type ZigbeeAdapterType = 'zstack' | 'ember' | 'deconz' | 'zigate' | 'ezsp' | 'zboss';

export interface ZigbeeBusOptions {
  readonly dataDir: string;
  readonly adapter: ZigbeeAdapterType;
  readonly path: string;
  readonly baudRate?: number | undefined;
  readonly channel: number;
  /** Device id by IEEE address (`0x…`). */
  readonly devices: ReadonlyMap<string, string>;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Reports for this long after a device re-announces itself are a resync, not news. */
  readonly resyncMs?: number;
  readonly restartMs?: number;
}

type HerdsmanMessage = {
  type: string;
  cluster: string | number;
  data: Record<string, unknown>;
  device: { ieeeAddr: string };
  linkquality?: number;
};

const CHECK_IN_EVERY_MS = 60_000;
const MAX_PERMIT_JOIN_SECONDS = 254;

/**
 * Zigbee IAS devices through zigbee-herdsman. Herdsman does the ZCL parsing, the interview and the
 * IAS enrollment (CIE address, enroll response); this bus maps zone-status changes to signals,
 * reports every device's presence as check-ins (the panel supervises silence), reports a security
 * device leaving as a trouble, lets devices join only inside an installer's permit-join window
 * (optionally only listed IEEE addresses), and restarts the coordinator when it disconnects.
 */
export class ZigbeeBus implements DeviceBus {
  readonly name = 'zigbee';
  readonly #o: ZigbeeBusOptions;
  readonly #listeners: SignalListener[] = [];
  readonly #status = new Map<string, number>();
  readonly #lastCheckIn = new Map<string, number>();
  readonly #resyncUntil = new Map<string, number>();
  readonly #interviewFailed = new Set<string>();
  #devices: ReadonlyMap<string, string>;
  #controller: Controller | null = null;
  #running = false;
  #coordinatorTrouble = false;
  #restart: TimerHandle | null = null;
  #joinWindow: { until: number; allow: ReadonlySet<string> } | null = null;

  constructor(options: ZigbeeBusOptions) {
    this.#o = options;
    this.#devices = options.devices;
  }

  onSignal(listener: SignalListener): void {
    this.#listeners.push(listener);
  }

  setDevices(devices: ReadonlyMap<string, string>): void {
    this.#devices = devices;
  }

  get permitJoinUntil(): number | null {
    return this.#joinWindow && this.#joinWindow.until > this.#o.clock.now() ? this.#joinWindow.until : null;
  }

  async start(): Promise<void> {
    this.#running = true;
    const log = this.#o.logger;
    setLogger({
      debug: (message, namespace) =>
        log.debug({ namespace }, typeof message === 'function' ? message() : message),
      info: (message, namespace) =>
        log.debug({ namespace }, typeof message === 'function' ? message() : message),
      warning: (message, namespace) =>
        log.warn({ namespace }, typeof message === 'function' ? message() : message),
      error: (message, namespace) => log.error({ namespace }, message),
    });
    await this.#startController();
  }

  async stop(): Promise<void> {
    this.#running = false;
    if (this.#restart) this.#o.clock.clearTimeout(this.#restart);
    const controller = this.#controller;
    this.#controller = null;
    await controller?.stop().catch(() => undefined);
  }

  /** Open the network for joining, for at most 254 s; only listed addresses when `allow` is given. */
  async permitJoin(seconds: number, allow: readonly string[] = []): Promise<void> {
    const controller = this.#controller;
    if (!controller) throw new Error('the Zigbee coordinator is not running');
    const time = Math.max(0, Math.min(MAX_PERMIT_JOIN_SECONDS, Math.round(seconds)));
    this.#joinWindow = time > 0 ? { until: this.#o.clock.now() + time * 1000, allow: new Set(allow) } : null;
    await controller.permitJoin(time);
    this.#o.logger.info(
      { seconds: time, allow },
      time > 0 ? 'Zigbee permit join opened' : 'Zigbee permit join closed',
    );
  }

  async #startController(): Promise<void> {
    const dir = this.#o.dataDir;
    const { params, created } = loadOrCreateNetwork(dir, this.#o.channel);
    if (created)
      this.#o.logger.info(
        { panID: params.panID, channel: params.channel },
        'new Zigbee network key and PAN generated',
      );
    const controller = new Controller({
      network: {
        panID: params.panID,
        extendedPanID: params.extendedPanID,
        networkKey: params.networkKey,
        channelList: [params.channel],
      },
      serialPort: {
        path: this.#o.path,
        adapter: this.#o.adapter,
        ...(this.#o.baudRate ? { baudRate: this.#o.baudRate } : {}),
      },
      databasePath: path.join(dir, 'database.db'),
      databaseBackupPath: path.join(dir, 'database.db.backup'),
      backupPath: path.join(dir, 'coordinator_backup.json'),
      adapter: { disableLED: false },
      acceptJoiningDeviceHandler: async (ieeeAddr) => this.#acceptJoin(ieeeAddr),
    });
    controller.on('message', (message) => this.#onMessage(message as unknown as HerdsmanMessage));
    controller.on('lastSeenChanged', ({ device }) => this.#checkIn(device.ieeeAddr));
    controller.on('deviceAnnounce', ({ device }) => {
      this.#resyncUntil.set(device.ieeeAddr, this.#o.clock.now() + (this.#o.resyncMs ?? 10_000));
      this.#checkIn(device.ieeeAddr);
    });
    controller.on('deviceJoined', ({ device }) => {
      this.#o.metrics.increment('zigbee_joins_total');
      this.#o.logger.info(
        { ieeeAddr: device.ieeeAddr, known: this.#devices.has(device.ieeeAddr) },
        'Zigbee device joined',
      );
    });
    controller.on('deviceInterview', ({ status, device }) => {
      this.#o.logger.info({ ieeeAddr: device.ieeeAddr, status }, 'Zigbee interview');
      // Herdsman enrolls IAS devices during the interview and fails it if zoneState never becomes 1.
      if (status === 'failed') {
        this.#interviewFailed.add(device.ieeeAddr);
        this.#emit(device.ieeeAddr, 'trouble', { reason: 'interview or IAS enrollment failed' });
      } else if (status === 'successful' && this.#interviewFailed.delete(device.ieeeAddr)) {
        this.#emit(device.ieeeAddr, 'trouble-restore', { reason: 'interviewed and enrolled' });
      }
    });
    controller.on('deviceLeave', ({ ieeeAddr }) => {
      this.#o.metrics.increment('zigbee_leaves_total');
      this.#status.delete(ieeeAddr);
      this.#emit(ieeeAddr, 'trouble', { reason: 'left the Zigbee network; pair it again' });
    });
    controller.on('adapterDisconnected', () => this.#coordinatorLost('coordinator disconnected'));
    controller.on('permitJoinChanged', ({ permitted }) => {
      if (!permitted) this.#joinWindow = null;
    });
    this.#controller = controller;
    try {
      const result = await controller.start();
      this.#o.logger.info(
        { result, adapter: this.#o.adapter, path: this.#o.path },
        'Zigbee coordinator started',
      );
    } catch (error) {
      this.#controller = null;
      await controller.stop().catch(() => undefined);
      throw new Error(
        `Zigbee coordinator (${this.#o.adapter} on ${this.#o.path}) did not start: ${(error as Error).message}`,
      );
    }
    if (this.#coordinatorTrouble) {
      this.#coordinatorTrouble = false;
      for (const ieeeAddr of this.#devices.keys())
        this.#emit(ieeeAddr, 'trouble-restore', { reason: 'coordinator back' });
    }
  }

  async #acceptJoin(ieeeAddr: string): Promise<boolean> {
    const window = this.#joinWindow;
    const open = window !== null && window.until > this.#o.clock.now();
    const allowed = open && (window.allow.size === 0 || window.allow.has(ieeeAddr));
    if (!allowed) {
      this.#o.metrics.increment('zigbee_joins_refused_total');
      this.#o.logger.warn({ ieeeAddr, windowOpen: open }, 'Zigbee join refused');
    }
    return allowed;
  }

  #onMessage(message: HerdsmanMessage): void {
    const ieeeAddr = message.device.ieeeAddr;
    this.#checkIn(ieeeAddr);
    if (message.cluster !== 'ssIasZone') {
      this.#o.metrics.increment('zigbee_ignored_messages_total', { cluster: String(message.cluster) });
      return;
    }
    const status = zoneStatusOf(message.type, message.data);
    if (status === null) {
      if (message.type !== 'commandEnrollReq') {
        this.#o.metrics.increment('zigbee_ignored_messages_total', { cluster: 'ssIasZone' });
      }
      return;
    }
    const previous = this.#status.get(ieeeAddr);
    this.#status.set(ieeeAddr, status);
    const resync = (this.#resyncUntil.get(ieeeAddr) ?? 0) > this.#o.clock.now();
    for (const kind of zoneStatusSignals(previous, status)) {
      this.#emit(ieeeAddr, kind, { zoneStatus: status, linkquality: message.linkquality, resync });
    }
  }

  #checkIn(ieeeAddr: string): void {
    const now = this.#o.clock.now();
    if (now - (this.#lastCheckIn.get(ieeeAddr) ?? Number.NEGATIVE_INFINITY) < CHECK_IN_EVERY_MS) return;
    this.#lastCheckIn.set(ieeeAddr, now);
    this.#emit(ieeeAddr, 'check-in', {});
  }

  #coordinatorLost(reason: string): void {
    this.#o.metrics.increment('zigbee_coordinator_failures_total');
    this.#o.logger.error({ reason }, 'Zigbee coordinator lost; restarting');
    if (!this.#coordinatorTrouble) {
      this.#coordinatorTrouble = true;
      for (const ieeeAddr of this.#devices.keys()) this.#emit(ieeeAddr, 'trouble', { reason });
    }
    if (!this.#running || this.#restart) return;
    this.#restart = this.#o.clock.setTimeout(() => {
      this.#restart = null;
      const old = this.#controller;
      this.#controller = null;
      void (old?.stop().catch(() => undefined) ?? Promise.resolve())
        .then(() => this.#startController())
        .catch((error: Error) => this.#coordinatorLost(error.message));
    }, this.#o.restartMs ?? 10_000);
  }

  #emit(ieeeAddr: string, kind: SignalKind, detail: Record<string, unknown>): void {
    const deviceId = this.#devices.get(ieeeAddr);
    if (!deviceId) {
      if (kind !== 'check-in') {
        this.#o.metrics.increment('zigbee_unknown_device_total');
        this.#o.logger.warn({ ieeeAddr, kind }, 'signal from a Zigbee device not in the registry');
      }
      return;
    }
    const signal = {
      deviceId,
      kind,
      at: this.#o.clock.now(),
      detail: { bus: 'zigbee', ieeeAddr, ...detail },
    };
    for (const listener of this.#listeners) listener(signal);
  }
}
