import type { Aedes, AedesPublishPacket } from 'aedes';
import { errorMessage } from '../../lib/errors.ts';
import type { Logger } from '../../lib/logger.ts';
import { allGatewaysFilter, UPLINK_CHANNELS } from '../../protocols/topics.ts';
import type { Deliver, Uplink } from '../ingest/uplink.ts';

type Handler = (packet: AedesPublishPacket, done: () => void) => void;

/**
 * The uplink inside the embedded broker's process: the ingest hears every gateway's uplink channels
 * from aedes' own message bus and publishes acks and commands into it, with no MQTT client, no
 * loopback socket (TLS when the broker speaks TLS) and no credential of its own in between. The
 * broker has acked the gateway's QoS 1 publish on receipt as before; the gateway's own ack still
 * follows the commit, so a central that dies first loses nothing (the gateway resends).
 */
export class EmbeddedBrokerUplink implements Uplink {
  readonly #aedes: Aedes;
  readonly #logger: Logger;
  #handler: Handler | null = null;

  constructor(aedes: Aedes, logger: Logger) {
    this.#aedes = aedes;
    this.#logger = logger;
  }

  async start(deliver: Deliver): Promise<void> {
    // Handled after the bus moves on: a slow commit never holds up the broker's other deliveries.
    const handler: Handler = (packet, done) => {
      const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
      // A failure is logged and counted by the ingest; the gateway sends the event again.
      void deliver(packet.topic, payload).catch(() => undefined);
      done();
    };
    await this.#everyChannel('subscribe', handler);
    this.#handler = handler;
    this.#logger.info('ingest subscribed to the embedded broker');
  }

  get connected(): boolean {
    return this.#handler !== null && !this.#aedes.closed;
  }

  async publish(topic: string, payload: Buffer): Promise<void> {
    if (!this.connected) throw new Error('ingest is not subscribed to the embedded broker');
    await new Promise<void>((resolve, reject) =>
      this.#aedes.publish({ cmd: 'publish', topic, payload, qos: 1, retain: false, dup: false }, (error) =>
        error ? reject(new Error(`embedded broker refused ${topic}: ${errorMessage(error)}`)) : resolve(),
      ),
    );
  }

  async stop(): Promise<void> {
    const handler = this.#handler;
    if (!handler) return;
    this.#handler = null;
    if (this.#aedes.closed) return;
    await this.#everyChannel('unsubscribe', handler);
  }

  /** Every gateway's uplink channels, on the broker's bus: `handler` added or taken off. */
  #everyChannel(change: 'subscribe' | 'unsubscribe', handler: Handler): Promise<unknown> {
    return Promise.all(
      UPLINK_CHANNELS.map(
        (channel) =>
          new Promise<void>((resolve) => this.#aedes[change](allGatewaysFilter(channel), handler, resolve)),
      ),
    );
  }
}
