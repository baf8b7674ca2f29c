import mqtt, { type MqttClient } from 'mqtt';
import type { Logger } from '../../lib/logger.ts';
import type { Metrics } from '../../lib/metrics.ts';
import { disableNagle, SMALL_FOOTPRINT } from '../../lib/mqtt.ts';
import type { DeviceType, GatewayConfig } from '../config.ts';
import type { PanelState } from '../domain/panel.ts';
import { FIRMWARE_VERSION, type Gateway } from '../gateway.ts';

/**
 * Home Assistant MQTT discovery on an optional *local* broker: one `alarm_control_panel` per area
 * (arming needs a code, which Home Assistant passes through) and one `binary_sensor` per device.
 * This link is for the household; alarms go to the central over the supervised uplink only.
 */
export type HomeAssistantConfig = NonNullable<GatewayConfig['homeAssistant']>;

const DEVICE_CLASS: Record<DeviceType, string> = {
  motion: 'motion',
  contact: 'door',
  glassbreak: 'vibration',
  camera: 'motion',
  smoke: 'smoke',
  heat: 'heat',
  gas: 'gas',
  water: 'moisture',
  panic: 'safety',
  holdup: 'safety',
  medical: 'safety',
  tamper: 'tamper',
  'power-supply': 'problem',
  keyfob: 'safety',
};

const ACTIONS: Record<string, 'away' | 'home' | 'night' | 'disarm'> = {
  ARM_AWAY: 'away',
  ARM_HOME: 'home',
  ARM_NIGHT: 'night',
  DISARM: 'disarm',
};

/** Home Assistant's alarm panel states from the panel's area state. */
export function haAreaState(state: PanelState, areaId: number, now: number): string {
  const area = state.areas[areaId];
  if (!area || area.phase === 'disarmed') return 'disarmed';
  if (state.soundings.some((s) => s.area === areaId && s.from <= now && now < s.until)) return 'triggered';
  if (area.phase === 'exit') return 'arming';
  if (area.phase === 'entry') return 'pending';
  return `armed_${area.mode}`;
}

export class HomeAssistantBridge {
  readonly #gateway: Gateway;
  readonly #ha: HomeAssistantConfig;
  readonly #logger: Logger;
  readonly #metrics: Metrics;
  readonly #base: string;
  readonly #published = new Map<string, string>();
  #client: MqttClient | null = null;
  #unsubscribe: (() => void) | null = null;

  constructor(gateway: Gateway, ha: HomeAssistantConfig, logger: Logger, metrics: Metrics) {
    this.#gateway = gateway;
    this.#ha = ha;
    this.#logger = logger;
    this.#metrics = metrics;
    this.#base = `vigil-local/${gateway.config.siteId}/${gateway.config.gatewayId}`;
  }

  async start(): Promise<void> {
    const client = mqtt.connect(this.#ha.mqttUrl, {
      ...SMALL_FOOTPRINT,
      ...(this.#ha.username ? { username: this.#ha.username } : {}),
      ...(this.#ha.password ? { password: this.#ha.password } : {}),
      clientId: `vigil-ha-${this.#gateway.config.gatewayId}`,
      reconnectPeriod: 2000,
      will: { topic: `${this.#base}/availability`, payload: Buffer.from('offline'), qos: 1, retain: true },
    });
    this.#client = client;
    disableNagle(client);
    client.on('connect', () => {
      this.#published.clear();
      this.#announce();
      client.subscribe(`${this.#base}/area/+/set`, { qos: 1 });
    });
    client.on('message', (topic, payload) => void this.#command(topic, payload.toString('utf8')));
    client.on('error', (error) => this.#logger.warn({ err: error.message }, 'Home Assistant broker error'));
    this.#unsubscribe = this.#gateway.onChange(() => this.#publishStates());
  }

  async stop(): Promise<void> {
    this.#unsubscribe?.();
    const client = this.#client;
    this.#client = null;
    if (!client) return;
    if (client.connected)
      await client.publishAsync(`${this.#base}/availability`, 'offline', { qos: 1, retain: true });
    await client.endAsync();
  }

  #announce(): void {
    const client = this.#client;
    if (!client) return;
    const config = this.#gateway.config;
    const prefix = this.#ha.discoveryPrefix;
    const idBase = `vigil_${config.siteId}_${config.gatewayId}`.replaceAll('-', '_');
    const device = {
      identifiers: [idBase],
      name: `Vigil ${config.siteId}`,
      manufacturer: 'Vigil',
      model: 'Vigil gateway',
      sw_version: FIRMWARE_VERSION,
    };
    const availability_topic = `${this.#base}/availability`;
    for (const area of config.areas) {
      const payload = {
        name: area.name,
        unique_id: `${idBase}_area${area.id}`,
        state_topic: `${this.#base}/area/${area.id}/state`,
        command_topic: `${this.#base}/area/${area.id}/set`,
        command_template: '{"action":"{{ action }}","code":"{{ code }}"}',
        code: 'REMOTE_CODE',
        code_arm_required: true,
        code_disarm_required: true,
        supported_features: ['arm_home', 'arm_away', 'arm_night'],
        availability_topic,
        device,
      };
      client.publish(
        `${prefix}/alarm_control_panel/${idBase}_area${area.id}/config`,
        JSON.stringify(payload),
        {
          qos: 1,
          retain: true,
        },
      );
    }
    for (const d of config.devices) {
      const payload = {
        name: d.name,
        unique_id: `${idBase}_${d.id.replaceAll('-', '_')}`,
        device_class: DEVICE_CLASS[d.type],
        state_topic: `${this.#base}/device/${d.id}/state`,
        availability_topic,
        device,
      };
      client.publish(`${prefix}/binary_sensor/${payload.unique_id}/config`, JSON.stringify(payload), {
        qos: 1,
        retain: true,
      });
    }
    client.publish(availability_topic, 'online', { qos: 1, retain: true });
    this.#publishStates();
  }

  #publishStates(): void {
    const client = this.#client;
    if (!client?.connected) return;
    const panel = this.#gateway.panel;
    const now = Date.now();
    const states: Array<[string, string]> = [];
    for (const area of this.#gateway.config.areas) {
      states.push([`${this.#base}/area/${area.id}/state`, haAreaState(panel, area.id, now)]);
    }
    for (const d of this.#gateway.config.devices) {
      const on =
        Boolean(panel.openZones[d.id]) || Object.keys(panel.active).some((key) => key.startsWith(`${d.id}:`));
      states.push([`${this.#base}/device/${d.id}/state`, on ? 'ON' : 'OFF']);
    }
    for (const [topic, value] of states) {
      if (this.#published.get(topic) === value) continue;
      this.#published.set(topic, value);
      client.publish(topic, value, { qos: 1, retain: true });
    }
  }

  async #command(topic: string, payload: string): Promise<void> {
    const area = Number(/\/area\/(\d+)\/set$/.exec(topic)?.[1]);
    let parsed: { action?: unknown; code?: unknown };
    try {
      parsed = JSON.parse(payload);
    } catch {
      parsed = {};
    }
    const action = ACTIONS[String(parsed.action)];
    if (!Number.isInteger(area) || !action || typeof parsed.code !== 'string') {
      this.#metrics.increment('home_assistant_refused_total', { reason: 'malformed' });
      this.#logger.warn({ topic }, 'Home Assistant command refused: malformed');
      return;
    }
    const actor = { code: parsed.code, source: 'home-assistant' };
    const result =
      action === 'disarm'
        ? await this.#gateway.disarm(area, actor)
        : await this.#gateway.arm(area, action, actor);
    if (!result.ok) {
      this.#metrics.increment('home_assistant_refused_total', { reason: String(result.status) });
      this.#logger.warn({ area, action, error: result.error }, 'Home Assistant command refused');
    }
  }
}
