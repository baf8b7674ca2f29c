import path from 'node:path';
import type { DeviceBus, DeviceSignal } from '../hardware/device-signal.ts';
import { SimulatedBus } from '../hardware/simulated-bus.ts';
import type { Clock } from '../lib/clock.ts';
import { newId } from '../lib/ids.ts';
import type { Logger } from '../lib/logger.ts';
import type { Metrics } from '../lib/metrics.ts';
import { CLASS_PRIORITY, eventType } from '../protocols/event-codes.ts';
import { type AlarmEvent, AlarmEventSchema, type Command } from '../protocols/messages.ts';
import { PROTOCOL_VERSION } from '../protocols/version.ts';
import type { DeviceConfig, GatewayConfig } from './config.ts';
import {
  type ArmingMode,
  type DomainContext,
  type EventDraft,
  handleSignal,
  initialPremises,
  type Outcome,
  type PremisesState,
  setArming,
} from './domain/premises.ts';
import { JournalOutbox } from './outbox/journal-outbox.ts';
import { openStateStore, type StateStore } from './state-store.ts';
import { MqttUplink } from './transport/mqtt-uplink.ts';

export const FIRMWARE_VERSION = 'vigil-gateway/0.1.0';

export interface GatewayOptions {
  readonly config: GatewayConfig;
  readonly dataDir: string;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Initial arming mode of every area on the very first start (later starts restore the saved state). */
  readonly initialMode?: ArmingMode;
}

/**
 * The gateway process minus its HTTP face: buses feed the premises logic, whose events are made
 * durable in the outbox before the uplink sends them.
 */
export class Gateway {
  readonly config: GatewayConfig;
  readonly simulatedBus: SimulatedBus | null;
  readonly #o: GatewayOptions;
  readonly #buses: DeviceBus[];
  readonly #ctx: DomainContext;
  #outbox: JournalOutbox | null = null;
  #uplink: MqttUplink | null = null;
  #stateStore: StateStore | null = null;
  #state: PremisesState;
  /** Serializes domain steps and their outbox appends, so event order is signal order. */
  #chain: Promise<unknown> = Promise.resolve();

  constructor(options: GatewayOptions) {
    this.#o = options;
    this.config = options.config;
    const devices = new Map<string, DeviceConfig>(options.config.devices.map((d) => [d.id, d]));
    this.#ctx = { devices, newId };
    const simulated = options.config.devices.filter((d) => d.bus === 'simulated').map((d) => d.id);
    this.simulatedBus = simulated.length > 0 ? new SimulatedBus(simulated, options.clock) : null;
    this.#buses = this.simulatedBus ? [this.simulatedBus] : [];
    this.#state = initialPremises(options.config.areas.map((a) => a.id));
    const unsupported = options.config.devices.filter((d) => d.bus !== 'simulated');
    if (unsupported.length > 0) {
      throw new Error(
        `devices on buses without a driver yet: ${unsupported.map((d) => `${d.id} (${d.bus})`).join(', ')}`,
      );
    }
  }

  get outbox(): JournalOutbox {
    if (!this.#outbox) throw new Error('gateway is not started');
    return this.#outbox;
  }

  get uplinkConnected(): boolean {
    return this.#uplink?.connected ?? false;
  }

  get areas(): Readonly<Record<number, ArmingMode>> {
    return this.#state.areas;
  }

  async start(): Promise<void> {
    const { config, dataDir, clock, logger, metrics } = this.#o;
    const initialMode = this.#o.initialMode ?? 'disarmed';
    this.#stateStore = await openStateStore(dataDir, {
      areas: Object.fromEntries(config.areas.map((a) => [String(a.id), initialMode])),
    });
    const saved = this.#stateStore.load();
    this.#state = {
      ...this.#state,
      areas: Object.fromEntries(config.areas.map((a) => [a.id, saved.areas[String(a.id)] ?? initialMode])),
    };
    this.#outbox = JournalOutbox.open({ dir: path.join(dataDir, 'outbox'), logger, metrics });
    this.#uplink = new MqttUplink({
      url: config.central.mqttUrl,
      siteId: config.siteId,
      gatewayId: config.gatewayId,
      secret: config.central.secret,
      outbox: this.#outbox,
      clock,
      logger: logger.child({ component: 'uplink' }),
      metrics,
      heartbeatMs: config.heartbeatSeconds * 1000,
      ackTimeoutMs: config.ackTimeoutSeconds * 1000,
      firmware: FIRMWARE_VERSION,
      onCommand: (command) => this.#onCommand(command),
    });
    for (const bus of this.#buses) {
      bus.onSignal((signal) => {
        this.#enqueue(() => this.#onSignal(signal));
      });
      await bus.start();
    }
    await this.#uplink.start();
    logger.info(
      { siteId: config.siteId, gatewayId: config.gatewayId, devices: config.devices.length },
      'gateway started',
    );
  }

  async stop(): Promise<void> {
    for (const bus of this.#buses) await bus.stop();
    await this.#chain.catch(() => undefined);
    await this.#uplink?.stop();
    await this.#outbox?.close();
    this.#o.logger.info('gateway stopped');
  }

  /** Resolves once every signal and command received so far is durable in the outbox. */
  settled(): Promise<void> {
    return this.#chain.then(() => undefined);
  }

  async arm(area: number, mode: ArmingMode, user: string): Promise<void> {
    await this.#enqueue(async () => {
      const outcome = setArming(this.#state, area, mode, user, this.#o.clock.now(), this.#ctx);
      await this.#apply(outcome, `arming area ${area}`);
      if (!outcome.rejected) await this.#stateStore?.saveAreas(this.#state.areas);
    });
  }

  #enqueue(step: () => Promise<void>): Promise<void> {
    const next = this.#chain.then(step);
    this.#chain = next.catch((error) => this.#o.logger.error({ err: error }, 'gateway step failed'));
    return next;
  }

  async #onSignal(signal: DeviceSignal): Promise<void> {
    this.#o.metrics.increment('gateway_signals_total', { kind: signal.kind });
    await this.#apply(handleSignal(this.#state, signal, this.#ctx), `signal from ${signal.deviceId}`);
  }

  async #apply(outcome: Outcome, what: string): Promise<void> {
    if (outcome.rejected) {
      this.#o.metrics.increment('gateway_rejected_inputs_total');
      this.#o.logger.warn({ reason: outcome.rejected }, `rejected ${what}`);
      throw new Error(outcome.rejected);
    }
    this.#state = outcome.state;
    for (const draft of outcome.drafts) {
      const event = await this.outbox.append((seq) => this.#toEvent(draft, seq));
      this.#o.metrics.increment('gateway_events_total', { eventType: event.eventType });
      this.#o.logger.info(
        { eventId: event.id, eventType: event.eventType, qualifier: event.qualifier, zone: event.zone },
        'event recorded',
      );
    }
  }

  /** Built and checked against the same schema the central applies, so the gateway never sends what it would refuse. */
  #toEvent(draft: EventDraft, seq: number): AlarmEvent {
    const type = eventType(draft.eventType);
    const device = draft.deviceId ? this.#ctx.devices.get(draft.deviceId) : undefined;
    return AlarmEventSchema.parse({
      v: PROTOCOL_VERSION,
      type: 'event',
      id: draft.id,
      siteId: this.config.siteId,
      gatewayId: this.config.gatewayId,
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
      text: draft.text,
      occurredAt: new Date(draft.occurredAt).toISOString(),
      recordedAt: new Date(this.#o.clock.now()).toISOString(),
    });
  }

  #onCommand(command: Command): void {
    this.#o.logger.info(
      { commandId: command.id, name: command.command.name, by: command.issuedBy },
      'command',
    );
    const c = command.command;
    if (c.name === 'arm') void this.arm(c.area, c.mode, command.issuedBy).catch(() => undefined);
    else if (c.name === 'disarm') void this.arm(c.area, 'disarmed', command.issuedBy).catch(() => undefined);
  }
}
