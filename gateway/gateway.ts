import path from 'node:path';
import type { CameraBus } from '../hardware/camera/camera-bus.ts';
import { relayMjpeg } from '../hardware/camera/mjpeg.ts';
import { fetchSnapshot, type Snapshot } from '../hardware/camera/snapshot.ts';
import type { DeviceBus } from '../hardware/device-signal.ts';
import type { OutputDriver } from '../hardware/outputs.ts';
import type { SimulatedBus } from '../hardware/simulated-bus.ts';
import type { ZigbeeBus } from '../hardware/zigbee/zigbee-bus.ts';
import type { Clock, TimerHandle } from '../lib/clock.ts';
import { newId } from '../lib/ids.ts';
import type { Logger } from '../lib/logger.ts';
import type { Metrics } from '../lib/metrics.ts';
import { grantKeyFromRaw } from '../protocols/camera-grant.ts';
import { keyBytes } from '../protocols/dc09/frame.ts';
import { CLASS_PRIORITY, eventType } from '../protocols/event-codes.ts';
import {
  type AlarmEvent,
  AlarmEventSchema,
  type Command,
  type GatewayStatus,
  toStorableText,
} from '../protocols/messages.ts';
import { PROTOCOL_VERSION } from '../protocols/version.ts';
import { type Identified, identify } from './auth/user-codes.ts';
import { createBuses, createOutputs } from './buses.ts';
import { CameraAccess, type CameraAccessRecord } from './camera-access.ts';
import { type DeviceConfig, type GatewayConfig, supervisionSeconds, type UserConfig } from './config.ts';
import { type ConfigStore, memoryConfigStore } from './config-store.ts';
import { desiredOutputs } from './domain/output-rules.ts';
import {
  type ArmedMode,
  type ArmingMode,
  type EventDraft,
  initialPanel,
  keypadLocked,
  type Notice,
  nextDeadline,
  type PanelContext,
  type PanelInput,
  type PanelState,
  panelContext,
  step,
  zoneKind,
} from './domain/panel.ts';
import { EventHistory, type HistoryEntry } from './event-history.ts';
import { JournalOutbox } from './outbox/journal-outbox.ts';
import { openStateStore, type StateStore } from './state-store.ts';
import { backupRefusals, StorageHealth } from './storage-health.ts';
import { Dc09Uplink } from './transport/dc09-uplink.ts';
import { MqttUplink } from './transport/mqtt-uplink.ts';

export const FIRMWARE_VERSION = 'vigil-gateway/0.2.0';

export interface GatewayOptions {
  readonly config: GatewayConfig;
  /** Where installer changes are saved; in memory when absent. */
  readonly configStore?: ConfigStore;
  readonly dataDir: string;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly outputs?: OutputDriver;
  /** Arming mode of every area on the very first start (later starts restore the saved state). */
  readonly initialMode?: ArmingMode;
}

/** Who acts: a code typed on a keypad or in the app, or an authenticated central operator. */
export type Actor = { readonly code: string; readonly source: string } | { readonly central: string };

export type ActionResult =
  | { ok: true }
  | { ok: false; status: 400 | 401 | 403 | 404 | 409 | 423; error: string };

const ROLE_RANK: Record<UserConfig['role'], number> = { user: 0, master: 1, installer: 2 };

/**
 * The gateway process minus its HTTP face: bus signals, people's actions, central commands and
 * timer ticks all go through one serialized `step` of the pure panel; its events are made durable
 * in the outbox before the uplink sends them, and its soundings drive the outputs.
 */
export class Gateway {
  #simulatedBus: SimulatedBus | null = null;
  readonly outputs: OutputDriver;
  readonly #o: GatewayOptions;
  readonly #configStore: ConfigStore;
  #buses: DeviceBus[] = [];
  #updateBuses: (config: GatewayConfig) => void = () => {};
  #cameras: CameraBus | null = null;
  readonly #cameraAccess: CameraAccess;
  #history: EventHistory | null = null;
  #announcedArming = '';
  #zigbee: ZigbeeBus | null = null;
  #ctx: PanelContext;
  #state: PanelState;
  #outbox: JournalOutbox | null = null;
  #storage: StorageHealth | null = null;
  #uplink: MqttUplink | null = null;
  #backup: Dc09Uplink | null = null;
  #stateStore: StateStore | null = null;
  #timer: TimerHandle | null = null;
  #outputStates: Record<string, boolean> = {};
  #savedModes = '';
  #stopped = false;
  readonly #notices: Array<Notice & { at: number }> = [];
  readonly #noticeListeners = new Set<(notice: Notice & { at: number }) => void>();
  readonly #changeListeners = new Set<() => void>();
  /** Devices triggered in any walk test since start: the commissioning report's coverage. */
  readonly #everWalkTested = new Set<string>();
  /** Serializes panel steps and their outbox appends, so event order is input order. */
  #chain: Promise<unknown> = Promise.resolve();

  constructor(options: GatewayOptions) {
    this.#o = options;
    this.#configStore = options.configStore ?? memoryConfigStore(options.config);
    const config = this.#configStore.read();
    this.#ctx = panelContext(config, newId);
    this.outputs = options.outputs ?? createOutputs(config);
    this.#state = initialPanel(this.#ctx, options.clock.now());
    this.#cameraAccess = new CameraAccess({
      siteId: config.siteId,
      gatewayId: config.gatewayId,
      grantKey: config.central.grantKey ? grantKeyFromRaw(config.central.grantKey) : null,
      clock: options.clock,
      logger: options.logger.child({ component: 'camera-access' }),
      metrics: options.metrics,
      snapshot: (cameraId) => this.#takeSnapshot(cameraId),
      stream: (cameraId) => {
        const camera = this.config.cameras.find((c) => c.id === cameraId);
        if (!camera?.streamUrl || !/^https?:/.test(camera.streamUrl)) return null;
        const source = { streamUrl: camera.streamUrl, credentials: credentialsOf(camera) };
        return (seconds, onFrame, signal) =>
          relayMjpeg(source, { seconds, minIntervalMs: 500, signal }, onFrame);
      },
    });
  }

  /** Who at the central looked at which camera, and what was refused (newest first). */
  get cameraAccessLog(): readonly CameraAccessRecord[] {
    return this.#cameraAccess.log;
  }

  #takeSnapshot(cameraId: string): Promise<Snapshot> | null {
    const camera = this.config.cameras.find((c) => c.id === cameraId);
    if (!camera?.snapshotUrl) return null;
    return fetchSnapshot({ snapshotUrl: camera.snapshotUrl, credentials: credentialsOf(camera) });
  }

  get config(): GatewayConfig {
    return this.#configStore.read();
  }

  get outbox(): JournalOutbox {
    if (!this.#outbox) throw new Error('gateway is not started');
    return this.#outbox;
  }

  /** Which paths are up: the MQTT primary and, when configured, the DC-09 backup. */
  get paths(): { primary: boolean; backup: boolean | null } {
    return { primary: this.uplinkConnected, backup: this.#backup ? this.#backup.healthy : null };
  }

  get uplinkConnected(): boolean {
    return this.#uplink?.connected ?? false;
  }

  /** The bus of the simulated devices (the demo page, tests); there from `start()` on. */
  get simulatedBus(): SimulatedBus {
    if (!this.#simulatedBus) throw new Error('gateway is not started');
    return this.#simulatedBus;
  }

  get panel(): PanelState {
    return this.#state;
  }

  async start(): Promise<void> {
    const { dataDir, clock, logger, metrics } = this.#o;
    const config = this.config;
    const initialMode = this.#o.initialMode ?? 'disarmed';
    this.#stateStore = await openStateStore(dataDir, {
      areas: Object.fromEntries(config.areas.map((a) => [String(a.id), initialMode])),
    });
    const saved = this.#stateStore.load();
    const modes = Object.fromEntries(
      config.areas.map((a) => [a.id, saved.areas[String(a.id)] ?? initialMode]),
    );
    this.#state = initialPanel(this.#ctx, clock.now(), modes);
    this.#savedModes = JSON.stringify(modes);
    this.#outbox = JournalOutbox.open({ dir: path.join(dataDir, 'outbox'), logger, metrics });
    this.#history = await EventHistory.open(dataDir, logger.child({ component: 'history' }), clock);
    this.#storage = new StorageHealth({
      outbox: this.#outbox,
      record: (draft) => this.#enqueue(() => this.#record(draft)),
      clock,
      logger,
    });
    await this.#storage.start();
    this.#uplink = new MqttUplink({
      urls: [config.central.mqttUrl, ...config.central.mqttUrls],
      siteId: config.siteId,
      gatewayId: config.gatewayId,
      secret: config.central.secret,
      ca: config.central.caCert,
      outbox: this.#outbox,
      clock,
      logger: logger.child({ component: 'uplink' }),
      metrics,
      heartbeatMs: config.heartbeatSeconds * 1000,
      ackTimeoutMs: config.ackTimeoutSeconds * 1000,
      window: config.uplinkWindow,
      firmware: FIRMWARE_VERSION,
      onCommand: (command) => this.#onCommand(command),
      areas: () => this.#arming(),
      devices: () =>
        this.config.devices.map((d) => ({
          id: d.id,
          name: d.name,
          type: d.type,
          zone: d.zone,
          area: d.area,
        })),
      cameras: () =>
        this.config.cameras.map((c) => ({
          id: c.id,
          name: c.name,
          snapshot: c.snapshotUrl !== undefined,
          live: c.streamUrl !== undefined && /^https?:/.test(c.streamUrl),
        })),
    });
    const buses = await createBuses(this.config, { dataDir, clock, logger, metrics });
    this.#simulatedBus = buses.simulated;
    this.#cameras = buses.cameras;
    this.#zigbee = buses.zigbee;
    this.#buses = [buses.simulated, ...buses.others];
    this.#updateBuses = buses.update;
    for (const bus of this.#buses) {
      bus.onSignal((signal) => {
        this.#o.metrics.increment('gateway_signals_total', { kind: signal.kind });
        void this.#step({ type: 'signal', signal }).catch(() => undefined);
      });
      await bus.start();
    }
    const backup = config.backup?.dc09;
    if (backup) {
      const primary = this.#uplink;
      this.#backup = new Dc09Uplink({
        host: backup.host,
        port: backup.port,
        prefix: backup.prefix.toUpperCase(),
        account: backup.account.toUpperCase(),
        key: backup.key && backup.keyFormat ? keyBytes(backup.key, backup.keyFormat) : null,
        receiver: backup.receiver?.toUpperCase() ?? null,
        format: backup.format,
        maxRefusals: backup.maxRefusals,
        transport: backup.transport,
        onRefused: backupRefusals(clock, (draft) => this.#enqueue(() => this.#record(draft))),
        outbox: this.#outbox,
        clock,
        logger: logger.child({ component: 'backup-path' }),
        metrics,
        nullIntervalMs: backup.nullIntervalSeconds * 1000,
        primaryUp: () => primary.connected,
      });
      const backupPath = this.#backup;
      primary.onConnectionChange(() => backupPath.pump());
      await backupPath.start();
    }
    await this.#uplink.start();
    await this.#step({ type: 'tick' });
    logger.info(
      { siteId: config.siteId, gatewayId: config.gatewayId, devices: config.devices.length },
      'gateway started',
    );
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    if (this.#timer) this.#o.clock.clearTimeout(this.#timer);
    for (const bus of this.#buses) await bus.stop();
    await this.#chain.catch(() => undefined);
    await this.#uplink?.stop();
    await this.#backup?.stop();
    await this.#outbox?.close();
    await this.#history?.stop();
    this.#o.logger.info('gateway stopped');
  }

  /** What a person on site is told when the gateway cannot keep events on its card (null: it can). */
  get storageTrouble(): string | null {
    return this.#storage?.describe() ?? null;
  }

  /** Resolves once every input received so far has been stepped and its events made durable. */
  settled(): Promise<void> {
    return this.#chain.then(() => undefined);
  }

  onNotice(listener: (notice: Notice & { at: number }) => void): () => void {
    this.#noticeListeners.add(listener);
    return () => this.#noticeListeners.delete(listener);
  }

  /** Called after every step (arming, zones, outputs may have changed). */
  onChange(listener: () => void): () => void {
    this.#changeListeners.add(listener);
    return () => this.#changeListeners.delete(listener);
  }

  recentNotices(): ReadonlyArray<Notice & { at: number }> {
    return this.#notices;
  }

  outputState(): Readonly<Record<string, boolean>> {
    return this.#outputStates;
  }

  // -------------------------------------------------------------------------------------------
  // People's actions

  async arm(area: number, mode: ArmedMode, actor: Actor, force = false): Promise<ActionResult> {
    const who = await this.#authorize(actor, 'user', area);
    if (!who.ok) return who;
    const outcome = await this.#step({ type: 'arm', area, mode, user: who.name, force });
    return outcome.error ? { ok: false, status: 409, error: outcome.error } : { ok: true };
  }

  async disarm(area: number, actor: Actor): Promise<ActionResult> {
    const who = await this.#authorize(actor, 'user', area);
    if (!who.ok) return who;
    const outcome = await this.#step({ type: 'disarm', area, user: who.name, duress: who.duress });
    return outcome.error ? { ok: false, status: 409, error: outcome.error } : { ok: true };
  }

  async bypass(deviceId: string, on: boolean, actor: Actor): Promise<ActionResult> {
    const who = await this.#authorize(actor, 'master');
    if (!who.ok) return who;
    const outcome = await this.#step({ type: 'bypass', deviceId, bypassed: on, user: who.name });
    return outcome.error ? { ok: false, status: 409, error: outcome.error } : { ok: true };
  }

  async walkTest(on: boolean, actor: Actor): Promise<ActionResult> {
    const who = await this.#authorize(actor, 'installer');
    if (!who.ok) return who;
    const outcome = await this.#step({ type: 'walk-test', on, user: who.name });
    return outcome.error ? { ok: false, status: 409, error: outcome.error } : { ok: true };
  }

  /** A camera's HTTP alarm notification; false when the camera or its token is not known. */
  notifyCamera(
    cameraId: string,
    token: string,
    state: 'start' | 'stop',
    detail: Record<string, unknown> = {},
  ): boolean {
    if (!this.#cameras) throw new Error('gateway is not started');
    return this.#cameras.notify(cameraId, token, state, detail);
  }

  /** Installer: prove a camera's snapshot works (size and type only; the image is not handed out). */
  async checkCamera(
    cameraId: string,
    actor: Actor,
  ): Promise<ActionResult | { ok: true; contentType: string; bytes: number; ms: number }> {
    const who = await this.#authorize(actor, 'installer');
    if (!who.ok) return who;
    const taking = this.#takeSnapshot(cameraId);
    if (!taking) return { ok: false, status: 400, error: `camera "${cameraId}" has no snapshot URL` };
    const started = Date.now();
    try {
      const snapshot = await taking;
      this.#o.logger.info({ cameraId, by: who.name, bytes: snapshot.body.length }, 'camera snapshot checked');
      return {
        ok: true,
        contentType: snapshot.contentType,
        bytes: snapshot.body.length,
        ms: Date.now() - started,
      };
    } catch (error) {
      this.#o.metrics.increment('camera_snapshot_failures_total');
      return { ok: false, status: 409, error: `camera "${cameraId}": ${(error as Error).message}` };
    }
  }

  /** Installer: open the Zigbee network for pairing (at most 254 s), optionally only for listed addresses. */
  async permitJoin(seconds: number, allow: readonly string[], actor: Actor): Promise<ActionResult> {
    const who = await this.#authorize(actor, 'installer');
    if (!who.ok) return who;
    if (!this.#zigbee) return { ok: false, status: 409, error: 'no Zigbee coordinator is configured' };
    try {
      await this.#zigbee.permitJoin(seconds, allow);
      this.#o.logger.info({ seconds, allow, by: who.name }, 'Zigbee pairing window');
      return { ok: true };
    } catch (error) {
      return { ok: false, status: 409, error: (error as Error).message };
    }
  }

  /** Whether the actor holds an installer code (for read-only installer views). */
  async checkInstaller(actor: Actor): Promise<ActionResult> {
    const who = await this.#authorize(actor, 'installer');
    return who.ok ? { ok: true } : who;
  }

  /** A user of the premises: the latest events, newest first (works without the central). */
  async history(
    actor: Actor,
    limit: number,
  ): Promise<ActionResult | { ok: true; events: readonly HistoryEntry[] }> {
    const who = await this.#authorize(actor, 'user');
    return who.ok ? { ok: true, events: this.#history?.latest(limit) ?? [] } : who;
  }

  /** A user turns a detector's door chime on or off (heard at the panel while disarmed). */
  async setChime(deviceId: string, on: boolean, actor: Actor): Promise<ActionResult> {
    const who = await this.#authorize(actor, 'user');
    if (!who.ok) return who;
    if (!this.config.devices.some((d) => d.id === deviceId))
      return { ok: false, status: 404, error: `unknown device "${deviceId}"` };
    return this.#changeConfig(who.name, `chime ${on ? 'on' : 'off'} for ${deviceId}`, (draft) => {
      const device = draft.devices.find((d) => d.id === deviceId);
      if (device) device.chime = on;
    });
  }

  /** The homeowner (master code): who at the central looked at which camera, and what was refused. */
  async cameraAccess(
    actor: Actor,
  ): Promise<ActionResult | { ok: true; accesses: readonly CameraAccessRecord[] }> {
    const who = await this.#authorize(actor, 'master');
    return who.ok ? { ok: true, accesses: this.#cameraAccess.log } : who;
  }

  /** Installer: add or replace a device in the registry (validated, saved, live at once for simulated devices). */
  async saveDevice(device: DeviceConfig, actor: Actor): Promise<ActionResult> {
    const who = await this.#authorize(actor, 'installer');
    if (!who.ok) return who;
    return this.#changeConfig(who.name, `device ${device.id} saved`, (draft) => {
      const index = draft.devices.findIndex((d) => d.id === device.id);
      if (index >= 0) draft.devices[index] = device;
      else draft.devices.push(device);
    });
  }

  async removeDevice(deviceId: string, actor: Actor): Promise<ActionResult> {
    const who = await this.#authorize(actor, 'installer');
    if (!who.ok) return who;
    if (!this.config.devices.some((d) => d.id === deviceId)) {
      return { ok: false, status: 400, error: `unknown device "${deviceId}"` };
    }
    return this.#changeConfig(who.name, `device ${deviceId} removed`, (draft) => {
      draft.devices = draft.devices.filter((d) => d.id !== deviceId);
    });
  }

  /** The commissioning summary an installer signs off: devices, walk-test coverage, links, warnings. */
  commissioning() {
    const config = this.config;
    const state = this.#state;
    const walk = state.walkTest?.triggered ?? {};
    const devices = config.devices.map((d) => ({
      id: d.id,
      name: d.name,
      type: d.type,
      bus: d.bus,
      zone: d.zone,
      area: d.area,
      zoneKind: zoneKind(d),
      supervisionSeconds: supervisionSeconds(d),
      walkTested: walk[d.id] !== undefined || this.#everWalkTested.has(d.id),
      lastSeen: state.lastSeen[d.id] ? new Date(state.lastSeen[d.id]!).toISOString() : null,
      open: Boolean(state.openZones[d.id]),
      bypassed: Boolean(state.bypassed[d.id]),
      troubles: Object.keys(state.active)
        .filter((key) => key.startsWith(`${d.id}:`))
        .map((key) => key.slice(d.id.length + 1)),
    }));
    const warnings: string[] = [];
    const untested = devices.filter((d) => !d.walkTested && d.type !== 'power-supply');
    if (untested.length > 0) warnings.push(`not walk-tested: ${untested.map((d) => d.id).join(', ')}`);
    if (!config.users.some((u) => u.role !== 'installer'))
      warnings.push('no user codes: the homeowner cannot arm');
    if (config.outputs.length === 0) warnings.push('no siren or strobe configured');
    if (!this.uplinkConnected) warnings.push('not connected to the central');
    for (const area of config.areas) {
      if (!config.devices.some((d) => d.area === area.id))
        warnings.push(`area ${area.id} (${area.name}) has no devices`);
    }
    return {
      siteId: config.siteId,
      gatewayId: config.gatewayId,
      firmware: FIRMWARE_VERSION,
      uplink: this.uplinkConnected ? 'connected' : 'disconnected',
      outboxDepth: this.#outbox?.depth ?? 0,
      storage: this.#storage?.describe() ?? 'ok',
      areas: config.areas.map((a) => ({
        ...a,
        mode: state.areas[a.id]?.mode,
        phase: state.areas[a.id]?.phase,
      })),
      devices,
      outputs: config.outputs,
      users: config.users.map(({ id, name, role, areas }) => ({ id, name, role, areas })),
      walkTest: state.walkTest ? { until: new Date(state.walkTest.until).toISOString() } : null,
      ready: warnings.length === 0,
      warnings,
    };
  }

  async #changeConfig(
    user: string,
    what: string,
    change: (draft: GatewayConfig) => void,
  ): Promise<ActionResult> {
    try {
      await this.#enqueue(async () => {
        const config = await this.#configStore.update(change);
        this.#ctx = panelContext(config, newId);
        this.#updateBuses(config);
        this.#o.logger.info({ user }, what);
      });
      return { ok: true };
    } catch (error) {
      this.#o.metrics.increment('gateway_rejected_inputs_total', { what: 'config' });
      return { ok: false, status: 400, error: (error as Error).message };
    }
  }

  async #authorize(
    actor: Actor,
    role: UserConfig['role'],
    area?: number,
  ): Promise<{ ok: true; name: string; duress: boolean } | Extract<ActionResult, { ok: false }>> {
    if ('central' in actor) return { ok: true, name: actor.central, duress: false };
    if (keypadLocked(this.#state, this.#o.clock.now())) {
      this.#o.metrics.increment('gateway_code_refused_total', { reason: 'locked' });
      return { ok: false, status: 423, error: 'too many wrong codes; keypad locked, try again later' };
    }
    const found: Identified | null = await identify(this.config.users, actor.code);
    if (!found) {
      this.#o.metrics.increment('gateway_code_refused_total', { reason: 'wrong' });
      this.#o.logger.warn({ source: actor.source }, 'wrong code');
      await this.#step({ type: 'code-failure', source: actor.source });
      return { ok: false, status: 401, error: 'wrong code' };
    }
    const { user, duress } = found;
    if (ROLE_RANK[user.role] < ROLE_RANK[role] || (area !== undefined && !user.areas.includes(area))) {
      this.#o.metrics.increment('gateway_code_refused_total', { reason: 'not-allowed' });
      return { ok: false, status: 403, error: `${user.name} may not do this` };
    }
    return { ok: true, name: user.name, duress };
  }

  // -------------------------------------------------------------------------------------------
  // The one path through the panel

  #enqueue<T>(work: () => Promise<T>): Promise<T> {
    const next = this.#chain.then(work);
    this.#chain = next.catch((error) => this.#o.logger.error({ err: error }, 'gateway step failed'));
    return next;
  }

  #step(input: PanelInput) {
    return this.#enqueue(async () => {
      const now = this.#o.clock.now();
      const outcome = step(this.#state, input, now, this.#ctx);
      this.#state = outcome.state;
      if (outcome.error && input.type === 'signal') {
        this.#o.metrics.increment('gateway_rejected_inputs_total', { what: 'signal' });
        this.#o.logger.warn({ reason: outcome.error }, 'signal rejected');
      }
      for (const draft of outcome.drafts) await this.#record(draft);
      for (const notice of outcome.notices) this.#notice(notice, now);
      await this.#driveOutputs(now);
      await this.#saveModes();
      this.#schedule(now);
      this.#announceArming();
      for (const listener of this.#changeListeners) listener();
      return outcome;
    });
  }

  /** The areas' arming as the central's status shows it. */
  #arming(): NonNullable<GatewayStatus['areas']> {
    return this.config.areas.map((a) => {
      const area = this.#state.areas[a.id];
      return {
        id: a.id,
        name: a.name,
        mode: area?.mode ?? 'disarmed',
        phase: area?.phase ?? 'disarmed',
        until: area?.deadline ? new Date(area.deadline).toISOString() : null,
      };
    });
  }

  /** Tell the central when an area's mode or phase changed (the customer's portal shows it). */
  #announceArming(): void {
    const now = JSON.stringify(this.#arming().map(({ id, mode, phase }) => [id, mode, phase]));
    if (now === this.#announcedArming) return;
    this.#announcedArming = now;
    this.#uplink?.publishStatus();
  }

  async #record(draft: EventDraft): Promise<void> {
    const event = await this.outbox.append((seq) => this.#toEvent(draft, seq));
    if (!event) return;
    this.#cameraAccess.noteEvent(event);
    this.#history?.add(event);
    this.#o.metrics.increment('gateway_events_total', { eventType: event.eventType });
    this.#o.logger.info(
      {
        eventId: event.id,
        eventType: event.eventType,
        qualifier: event.qualifier,
        zone: event.zone,
        text: event.text,
      },
      'event recorded',
    );
  }

  #notice(notice: Notice, at: number): void {
    if (notice.kind === 'walk-test-trigger' && notice.deviceId) {
      this.#everWalkTested.add(notice.deviceId);
      this.#o.logger.info({ deviceId: notice.deviceId, signal: notice.detail }, 'walk test trigger');
    }
    const stamped = { ...notice, at };
    this.#notices.push(stamped);
    if (this.#notices.length > 200) this.#notices.shift();
    for (const listener of this.#noticeListeners) listener(stamped);
  }

  async #driveOutputs(now: number): Promise<void> {
    const desired = desiredOutputs(this.config.outputs, this.#state.soundings, now);
    for (const [outputId, on] of Object.entries(desired)) {
      if ((this.#outputStates[outputId] ?? false) === on) continue;
      try {
        await this.outputs.set(outputId, on);
        this.#outputStates = { ...this.#outputStates, [outputId]: on };
        this.#o.logger.info({ outputId, on }, 'output');
      } catch (error) {
        this.#o.metrics.increment('gateway_output_errors_total');
        this.#o.logger.error({ outputId, err: (error as Error).message }, 'output failed');
      }
    }
  }

  async #saveModes(): Promise<void> {
    const modes = Object.fromEntries(Object.entries(this.#state.areas).map(([id, a]) => [id, a.mode]));
    const serialized = JSON.stringify(modes);
    if (serialized === this.#savedModes) return;
    try {
      await this.#stateStore?.saveAreas(modes);
      this.#savedModes = serialized;
    } catch (error) {
      // A full card must not stop the panel: the modes are saved on the next step that can.
      this.#o.metrics.increment('gateway_state_save_errors_total');
      this.#o.logger.error({ err: error }, 'could not save the arming state');
    }
  }

  #schedule(now: number): void {
    if (this.#stopped) return;
    if (this.#timer) this.#o.clock.clearTimeout(this.#timer);
    const at = nextDeadline(this.#state, this.#ctx, now);
    this.#timer = this.#o.clock.setTimeout(
      () => {
        this.#timer = null;
        void this.#step({ type: 'tick' }).catch(() => undefined);
      },
      Math.max(0, at - now),
    );
  }

  /** Built and checked against the same schema the central applies, so the gateway never sends what it would refuse. */
  #toEvent(draft: EventDraft, seq: number): AlarmEvent {
    const type = eventType(draft.eventType);
    const device = draft.deviceId ? this.#ctx.devices.get(draft.deviceId) : undefined;
    const config = this.config;
    return AlarmEventSchema.parse({
      v: PROTOCOL_VERSION,
      type: 'event',
      id: draft.id,
      siteId: config.siteId,
      gatewayId: config.gatewayId,
      seq,
      eventType: draft.eventType,
      qualifier: draft.qualifier,
      code: { cid: type.cid, sia: draft.qualifier === 'event' ? type.sia.event : type.sia.restore },
      class: type.class,
      priority: CLASS_PRIORITY[type.class],
      device: device ? { id: device.id, name: device.name } : null,
      zone: draft.zone,
      area: draft.area,
      verification: draft.verification,
      relatesTo: draft.relatesTo,
      // A panel's or device's text may carry bytes the central cannot store: made storable, never refused.
      text: toStorableText(draft.text.slice(0, 256)),
      occurredAt: new Date(draft.occurredAt).toISOString(),
      recordedAt: new Date(this.#o.clock.now()).toISOString(),
    });
  }

  #onCommand(command: Command): void {
    this.#o.logger.info(
      { commandId: command.id, name: command.command.name, by: command.issuedBy },
      'command',
    );
    const actor: Actor = { central: command.issuedBy };
    const c = command.command;
    if ((c.name === 'arm' || c.name === 'disarm') && c.code) {
      // A user at the customer's portal: the code is checked here, as at the keypad (same lockout).
      const user: Actor = { code: c.code, source: `portal ${command.issuedBy}` };
      const done = c.name === 'arm' ? this.arm(c.area, c.mode, user) : this.disarm(c.area, user);
      void done
        .then((result) =>
          this.#uplink?.publishStatus(
            result.ok ? { id: command.id, ok: true } : { id: command.id, ok: false, error: result.error },
          ),
        )
        .catch((error: Error) => this.#o.logger.error({ err: error.message }, 'portal arming failed'));
    } else if (c.name === 'arm') void this.arm(c.area, c.mode, actor);
    else if (c.name === 'disarm') void this.disarm(c.area, actor);
    else if (c.name === 'walk-test') void this.walkTest(c.on, actor);
    else if (c.name === 'camera-stop') this.#cameraAccess.stopLive(c.commandId);
    else if (c.name === 'camera-live') {
      void this.#cameraAccess
        .live({ ...command, command: c }, async (media) => {
          if (!this.#uplink) throw new Error('the primary path is not running');
          await this.#uplink.publishMedia(media);
        })
        .catch((error: Error) => this.#o.logger.error({ err: error.message }, 'live view not sent'));
    } else if (c.name === 'camera-snapshot') {
      void this.#cameraAccess
        .snapshot({ ...command, command: c })
        .then((media) => this.#uplink?.publishMedia(media))
        .catch((error: Error) => this.#o.logger.error({ err: error.message }, 'camera answer not sent'));
    }
  }
}

function credentialsOf(camera: GatewayConfig['cameras'][number]) {
  return camera.username ? { username: camera.username, password: camera.password ?? '' } : undefined;
}
