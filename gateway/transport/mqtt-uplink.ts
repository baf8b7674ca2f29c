import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { Backoff } from '../../lib/backoff.ts';
import type { Clock, TimerHandle } from '../../lib/clock.ts';
import type { Logger } from '../../lib/logger.ts';
import type { Metrics } from '../../lib/metrics.ts';
import { disableNagle, SMALL_FOOTPRINT } from '../../lib/mqtt.ts';
import {
  AckSchema,
  type AlarmEvent,
  type Command,
  CommandSchema,
  decode,
  encode,
  type GatewayStatus,
  type Heartbeat,
  type Media,
} from '../../protocols/messages.ts';
import { gatewayClientId, parseTopic, topicFor } from '../../protocols/topics.ts';
import { PROTOCOL_VERSION } from '../../protocols/version.ts';
import type { JournalOutbox } from '../outbox/journal-outbox.ts';
import { SendQueue } from './send-queue.ts';
import { UPLINK_TIMING } from './uplink-timing.ts';

/** Events in flight at most: enough to keep the central busy, few enough that a new alarm waits little. */
export const DEFAULT_WINDOW = 64;

export interface UplinkOptions {
  /** The central's brokers (the nodes of a cluster), tried in turn. */
  readonly urls: readonly [string, ...string[]];
  readonly siteId: string;
  readonly gatewayId: string;
  readonly secret: string;
  readonly ca?: string | undefined;
  readonly outbox: JournalOutbox;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly heartbeatMs: number;
  /** Without any ack for this long, what is in flight is published again. */
  readonly ackTimeoutMs: number;
  /** At most this many events published and not yet acked (flow control). */
  readonly window?: number;
  readonly firmware: string;
  readonly onCommand: (command: Command) => void;
  /** The cameras to announce in heartbeats. */
  readonly cameras?: () => NonNullable<Heartbeat['cameras']>;
  /** The devices and the areas' arming to announce when coming online (and whenever they change). */
  readonly devices?: () => NonNullable<GatewayStatus['devices']>;
  readonly areas?: () => NonNullable<GatewayStatus['areas']>;
}

/**
 * The primary path: publishes outbox events QoS 1 and drops each from the outbox only on the
 * central's ack (sent after the central committed it). Flow control: at most `window` events in
 * flight, chosen by priority with new events ahead of an old backlog (send-queue.ts). What is in
 * flight is published again only when no ack at all arrived for the ack timeout (a busy central
 * that acks is not a lost one); the central stores and shows a repeat once.
 */
export class MqttUplink {
  readonly #o: UplinkOptions;
  #client: MqttClient | null = null;
  /** Event ids published on the current connection, with when, awaiting the central's ack. */
  readonly #inFlight = new Map<string, number>();
  readonly #queue = new SendQueue();
  /** Ids published at least once and not yet acked: a second publish is a republish. */
  readonly #published = new Set<string>();
  #lastAckAt = 0;
  #heartbeatSeq = 0;
  #heartbeatTimer: TimerHandle | null = null;
  #retryTimer: TimerHandle | null = null;
  #connected = false;
  readonly #reconnects = new Backoff(UPLINK_TIMING.backoff);
  #reconnectTimer: NodeJS.Timeout | null = null;
  readonly #connectionListeners: Array<(up: boolean) => void> = [];

  constructor(options: UplinkOptions) {
    this.#o = options;
    options.outbox.onAppend((event) => {
      this.#queue.addLive(event);
      this.pump();
    });
    options.outbox.onAck((ids) => {
      for (const id of ids) {
        this.#queue.remove(id);
        this.#inFlight.delete(id);
        this.#published.delete(id);
      }
      this.pump();
    });
  }

  get connected(): boolean {
    return this.#connected;
  }

  /** Told when the primary path comes up or goes down (the backup path takes over meanwhile). */
  onConnectionChange(listener: (up: boolean) => void): void {
    this.#connectionListeners.push(listener);
  }

  async start(): Promise<void> {
    const { siteId, gatewayId } = this.#o;
    const statusTopic = topicFor(siteId, gatewayId, 'status');
    const client = mqtt.connect(this.#o.urls[0], {
      ...SMALL_FOOTPRINT,
      // Each (re)connect takes the next broker of the list.
      servers: this.#o.urls.map(serverOf),
      clientId: gatewayClientId(gatewayId),
      username: gatewayId,
      password: this.#o.secret,
      // A clean session, and acks and commands subscribed at QoS 0 (#onConnect): nothing is kept
      // for the gateway while it is away, on no broker. Acks need not be (what is not acked is
      // published again from the outbox, acked then as a duplicate), and a command is for now (an
      // arming queued for hours must not run on reconnect). On RabbitMQ a persistent session is a
      // replicated quorum queue per gateway (too heavy for 100,000), one created just before its
      // node died was seen refusing every ack published to it, and a QoS 1 subscription is a
      // durable queue that no other node can take over: see docs/cluster.md.
      clean: true,
      keepalive: UPLINK_TIMING.keepaliveS,
      // Reconnects are ours (#reconnectLater): spread, and growing while every broker is away.
      reconnectPeriod: 0,
      connectTimeout: UPLINK_TIMING.connectTimeoutMs,
      ...(this.#o.ca ? { ca: this.#o.ca } : {}),
      will: {
        topic: statusTopic,
        payload: statusMessage('offline', null),
        qos: 1,
        retain: true,
      },
    });
    this.#client = client;
    disableNagle(client);
    client.on('connect', () => this.#onConnect());
    client.on('close', () => this.#onClose());
    client.on('error', (error) => {
      this.#o.metrics.increment('uplink_errors_total');
      this.#o.logger.warn({ err: error.message }, 'uplink error');
    });
    client.on('message', (topic, payload) => this.#onMessage(topic, payload));
    this.#scheduleRetry();
    this.#scheduleHeartbeat();
  }

  async stop(): Promise<void> {
    for (const timer of [this.#heartbeatTimer, this.#retryTimer])
      if (timer) this.#o.clock.clearTimeout(timer);
    if (this.#reconnectTimer) clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = null;
    this.#heartbeatTimer = null;
    this.#retryTimer = null;
    const client = this.#client;
    this.#client = null;
    if (!client) return;
    if (this.#connected) {
      await client
        .publishAsync(
          topicFor(this.#o.siteId, this.#o.gatewayId, 'status'),
          statusMessage('offline', new Date(this.#o.clock.now()).toISOString()),
          { qos: 1, retain: true },
        )
        .catch(() => undefined);
    }
    // An orderly stop is not a lost link: no "disconnected" warning.
    this.#connected = false;
    await client.endAsync();
  }

  /** Fill the window: the next events by priority that are not in flight. */
  pump(): void {
    const client = this.#client;
    if (!client || !this.#connected) return;
    const free = (this.#o.window ?? DEFAULT_WINDOW) - this.#inFlight.size;
    if (free <= 0) return;
    const topic = topicFor(this.#o.siteId, this.#o.gatewayId, 'event');
    for (const event of this.#queue.take(free, (id) => this.#inFlight.has(id)))
      this.#publish(client, topic, event);
  }

  #publish(client: MqttClient, topic: string, event: AlarmEvent): void {
    this.#inFlight.set(event.id, this.#o.clock.now());
    this.#o.metrics.increment('uplink_events_published_total');
    if (this.#published.has(event.id)) this.#o.metrics.increment('uplink_events_republished_total');
    this.#published.add(event.id);
    client.publish(topic, encode(event), { qos: 1 }, (error) => {
      if (!error) return;
      // Not delivered to the broker: forget it so the next pump or reconnect sends it again.
      this.#inFlight.delete(event.id);
      this.#o.metrics.increment('uplink_publish_failures_total');
      this.#o.logger.warn({ eventId: event.id, err: error.message }, 'event publish failed; will retry');
    });
  }

  #onConnect(): void {
    const client = this.#client;
    if (!client) return;
    this.#connected = true;
    this.#reconnects.reset();
    this.#inFlight.clear();
    // Whatever is waiting now is the backlog; what happens from here on goes ahead of it.
    this.#queue.resetBacklog(this.#o.outbox.pending());
    this.#lastAckAt = this.#o.clock.now();
    for (const listener of this.#connectionListeners) listener(true);
    this.#o.logger.info({ broker: `${client.options.host}:${client.options.port}` }, 'uplink connected');
    const { siteId, gatewayId } = this.#o;
    client.subscribe(
      [topicFor(siteId, gatewayId, 'ack'), topicFor(siteId, gatewayId, 'command')],
      { qos: 0 },
      (error) => {
        if (error) {
          this.#o.logger.error({ err: error.message }, 'uplink subscribe refused');
          this.#o.metrics.increment('uplink_errors_total');
          return;
        }
        this.publishStatus();
        this.#sendHeartbeat();
        this.pump();
      },
    );
  }

  /**
   * The retained `online` status with the devices and the areas' arming now, and the answer to a
   * command when there is one. Sent on connect and whenever arming changes; lost while offline (the
   * next connect sends the state then).
   */
  publishStatus(command?: GatewayStatus['command']): void {
    const client = this.#client;
    if (!client || !this.#connected) return;
    const { siteId, gatewayId } = this.#o;
    client.publish(
      topicFor(siteId, gatewayId, 'status'),
      statusMessage('online', new Date(this.#o.clock.now()).toISOString(), {
        devices: this.#o.devices?.(),
        areas: this.#o.areas?.(),
        command,
      }),
      { qos: 1, retain: true },
    );
  }

  #onClose(): void {
    const was = this.#connected;
    if (was) this.#o.logger.warn('uplink disconnected; reconnecting');
    this.#connected = false;
    this.#inFlight.clear();
    if (was) for (const listener of this.#connectionListeners) listener(false);
    this.#reconnectLater();
  }

  /** On the wall clock, as the network is: a test's simulated time does not bring a broker back. */
  #reconnectLater(): void {
    const client = this.#client;
    if (!client || this.#reconnectTimer) return;
    const delay = this.#reconnects.next();
    this.#o.metrics.increment('uplink_reconnects_total');
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = null;
      // MQTT.js's own step, as its timer takes it: the public reconnect() starts with empty stores
      // and would orphan the session's unacknowledged publishes (end() then waits for them forever).
      if (this.#client === client) (client as unknown as { _reconnect(): void })._reconnect();
    }, delay);
  }

  #onMessage(topic: string, payload: Buffer): void {
    const parsed = parseTopic(topic);
    if (!parsed || parsed.siteId !== this.#o.siteId || parsed.gatewayId !== this.#o.gatewayId) {
      this.#reject('foreign-topic', `message on unexpected topic ${topic}`);
      return;
    }
    if (parsed.channel === 'ack') {
      const ack = decode(AckSchema, payload);
      if (!ack.ok) {
        this.#reject('bad-ack', ack.reason);
        return;
      }
      this.#lastAckAt = this.#o.clock.now();
      for (const id of ack.value.eventIds) {
        this.#inFlight.delete(id);
        this.#queue.remove(id);
      }
      this.pump();
      this.#o.outbox.ack(ack.value.eventIds).then(
        (removed) => this.#o.metrics.increment('uplink_events_acked_total', {}, removed),
        (error) => this.#o.logger.error({ err: error }, 'could not record ack'),
      );
      return;
    }
    if (parsed.channel === 'command') {
      const command = decode(CommandSchema, payload);
      if (!command.ok) {
        this.#reject('bad-command', command.reason);
        return;
      }
      this.#o.onCommand(command.value);
      return;
    }
    this.#reject('unexpected-channel', `unexpected channel ${parsed.channel}`);
  }

  /** A camera answer for the central; only over the primary path (DC-09 carries no pictures). */
  async publishMedia(media: Media): Promise<void> {
    const client = this.#client;
    if (!client || !this.#connected) throw new Error('the primary path is down');
    await client.publishAsync(topicFor(this.#o.siteId, this.#o.gatewayId, 'media'), encode(media), {
      qos: 1,
    });
    this.#o.metrics.increment('uplink_media_published_total', { ok: String(media.result.ok) });
  }

  #reject(reason: string, detail: string): void {
    this.#o.metrics.increment('uplink_rejected_messages_total', { reason });
    this.#o.logger.warn({ reason, detail }, 'rejected message from central');
  }

  #sendHeartbeat(): void {
    const client = this.#client;
    if (!client || !this.#connected) return;
    const heartbeat: Heartbeat = {
      v: PROTOCOL_VERSION,
      type: 'heartbeat',
      siteId: this.#o.siteId,
      gatewayId: this.#o.gatewayId,
      path: 'primary',
      seq: this.#heartbeatSeq++,
      sentAt: new Date(this.#o.clock.now()).toISOString(),
      outboxDepth: this.#o.outbox.depth,
      firmware: this.#o.firmware,
      ...(this.#o.cameras ? { cameras: this.#o.cameras().slice(0, 32) } : {}),
    };
    client.publish(topicFor(this.#o.siteId, this.#o.gatewayId, 'heartbeat'), encode(heartbeat), { qos: 1 });
  }

  #scheduleHeartbeat(): void {
    this.#heartbeatTimer = this.#o.clock.setTimeout(() => {
      this.#sendHeartbeat();
      this.#scheduleHeartbeat();
    }, this.#o.heartbeatMs);
  }

  /**
   * Events the broker took but the central never acked (central down, ack lost) go out again —
   * timed from the later of their publish and the last ack of any event, so a central working
   * through a backlog is not flooded with repeats.
   */
  #scheduleRetry(): void {
    const interval = Math.max(250, Math.floor(this.#o.ackTimeoutMs / 2));
    this.#retryTimer = this.#o.clock.setTimeout(() => {
      const now = this.#o.clock.now();
      let expired = 0;
      for (const [id, sentAt] of this.#inFlight) {
        if (now - Math.max(sentAt, this.#lastAckAt) >= this.#o.ackTimeoutMs) {
          this.#inFlight.delete(id);
          expired++;
        }
      }
      if (expired > 0) {
        this.#o.metrics.increment('uplink_ack_timeouts_total', {}, expired);
        this.pump();
      }
      this.#scheduleRetry();
    }, interval);
  }
}

/** The retained status: `online` on connect, `offline` on a clean stop and as the last will (no time). */
function statusMessage(
  state: 'online' | 'offline',
  at: string | null,
  parts: Pick<GatewayStatus, 'devices' | 'areas' | 'command'> = {},
): Buffer {
  return encode({
    v: PROTOCOL_VERSION,
    type: 'status',
    state,
    at,
    ...(parts.devices ? { devices: parts.devices.slice(0, 512) } : {}),
    ...(parts.areas ? { areas: parts.areas } : {}),
    ...(parts.command ? { command: parts.command } : {}),
  });
}

function serverOf(url: string): NonNullable<IClientOptions['servers']>[number] {
  const parsed = new URL(url);
  return {
    host: parsed.hostname,
    port: Number(parsed.port || (parsed.protocol === 'mqtts:' ? 8883 : 1883)),
    protocol: parsed.protocol === 'mqtts:' ? 'mqtts' : 'mqtt',
  };
}
