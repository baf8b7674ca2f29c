import { randomBytes } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import type { Logger } from '../../lib/logger.ts';
import { disableNagle } from '../../lib/mqtt.ts';
import { allGatewaysFilter, CENTRAL_CLIENT_ID_PREFIX, UPLINK_CHANNELS } from '../../protocols/topics.ts';

/** What the ingest does with one uplink message; settles once it is handled (stored, or refused and kept). */
export type Deliver = (topic: string, payload: Buffer) => Promise<void>;

/**
 * How the central hears its gateways and answers them: a broker connection (MQTT, one central) or
 * a shared queue (AMQP, several workers taking turns). Topics are MQTT's in both.
 */
export interface Uplink {
  start(deliver: Deliver): Promise<void>;
  /** To one gateway (an ack, a command), now: the gateway takes them at QoS 0 in a clean session. */
  publish(topic: string, payload: Buffer): Promise<void>;
  readonly connected: boolean;
  /** After the ingest is idle: nothing delivered is left unhandled. */
  stop(): Promise<void>;
}

export interface MqttUplinkOptions {
  readonly url: string;
  readonly username: string;
  readonly secret: string;
  /** The CA to trust when the broker speaks TLS. */
  readonly ca?: string | undefined;
  readonly logger: Logger;
}

/**
 * The uplink over an external MQTT broker (mosquitto): one subscription to every
 * gateway's uplink channels. The broker's QoS 1 hop is acked on receipt; the gateway's own ack is
 * sent only after the commit, so a central that dies before it loses nothing (the gateway resends).
 */
export class MqttBrokerUplink implements Uplink {
  readonly #o: MqttUplinkOptions;
  #client: MqttClient | null = null;

  constructor(options: MqttUplinkOptions) {
    this.#o = options;
  }

  async start(deliver: Deliver): Promise<void> {
    const client = await mqtt.connectAsync(this.#o.url, {
      clientId: `${CENTRAL_CLIENT_ID_PREFIX}ingest-${randomBytes(4).toString('hex')}`,
      username: this.#o.username,
      password: this.#o.secret,
      clean: true,
      keepalive: 30,
      reconnectPeriod: 1000,
      ...(this.#o.ca ? { ca: this.#o.ca } : {}),
    });
    this.#client = client;
    disableNagle(client);
    // A failure is logged and counted by the ingest; the gateway sends the event again.
    client.on('message', (topic, payload) => void deliver(topic, payload).catch(() => undefined));
    client.on('error', (error) => this.#o.logger.error({ err: error.message }, 'ingest MQTT error'));
    await client.subscribeAsync(UPLINK_CHANNELS.map(allGatewaysFilter), { qos: 1 });
    this.#o.logger.info({ broker: this.#o.url }, 'ingest subscribed');
  }

  get connected(): boolean {
    return this.#client?.connected ?? false;
  }

  async publish(topic: string, payload: Buffer): Promise<void> {
    if (!this.#client) throw new Error('ingest is not connected');
    await this.#client.publishAsync(topic, payload, { qos: 1 });
  }

  async stop(): Promise<void> {
    await this.#client?.endAsync();
    this.#client = null;
  }
}
