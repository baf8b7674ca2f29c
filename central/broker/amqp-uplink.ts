import amqp, { type Channel, type ChannelModel, type ConfirmChannel, type ConsumeMessage } from 'amqplib';
import { Backoff } from '../../lib/backoff.ts';
import { errorMessage } from '../../lib/errors.ts';
import type { Logger } from '../../lib/logger.ts';
import type { Metrics } from '../../lib/metrics.ts';
import { allGatewaysFilter, UPLINK_CHANNELS } from '../../protocols/topics.ts';
import type { Deliver, Uplink } from '../ingest/uplink.ts';
import { MQTT_EXCHANGE, routingKeyOf, topicOf } from './rabbitmq.ts';

/** The quorum queue every worker consumes: all gateways' uplink messages. */
export const UPLINK_QUEUE = 'vigil.uplink';

export interface AmqpUplinkOptions {
  /** The cluster's nodes (amqp[s]://user:password@host:port), tried in turn. */
  readonly urls: readonly [string, ...string[]];
  readonly ca?: string | undefined;
  /** Messages handed to this worker and not yet acked, at most. */
  readonly prefetch?: number;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

interface Session {
  readonly model: ChannelModel;
  readonly consume: Channel;
  readonly publish: ConfirmChannel;
}

/**
 * The uplink as competing consumers of one replicated queue (RabbitMQ: MQTT plugin in front,
 * quorum queue behind): every central worker consumes it, each message goes to one of them and is
 * acked to the queue only after the worker handled it (committed, or refused and kept). A worker
 * that dies leaves its unacked messages to the others; the event ids make a repeat harmless. Acks
 * and commands are published to the MQTT exchange with publisher confirms, so they reach the
 * gateway whichever node it is connected to.
 */
export class AmqpUplink implements Uplink {
  readonly #o: AmqpUplinkOptions;
  readonly #backoff = new Backoff({ initialMs: 500, maxMs: 5000 });
  #session: Session | null = null;
  #deliver: Deliver | null = null;
  #next = 0;
  #stopping = false;
  #retry: NodeJS.Timeout | null = null;

  constructor(options: AmqpUplinkOptions) {
    this.#o = options;
    options.metrics.describe('amqp_uplink_connects_total', 'Connections to the uplink queue, by outcome');
    options.metrics.describe('amqp_uplink_redelivered_total', 'Uplink messages another worker had taken');
  }

  async start(deliver: Deliver): Promise<void> {
    this.#deliver = deliver;
    // The first connection must work (a wrong URL or password fails the start); later ones retry.
    let lastError: unknown;
    for (let i = 0; i < this.#o.urls.length; i++) {
      try {
        await this.#connect();
        return;
      } catch (error) {
        lastError = error;
      }
    }
    throw new Error(`no uplink queue reachable: ${errorMessage(lastError)}`);
  }

  get connected(): boolean {
    return this.#session !== null;
  }

  async publish(topic: string, payload: Buffer): Promise<void> {
    const session = this.#session;
    if (!session) throw new Error('the uplink queue is not connected');
    await new Promise<void>((resolve, reject) => {
      session.publish.publish(
        MQTT_EXCHANGE,
        routingKeyOf(topic),
        payload,
        // QoS 1 towards the gateway; kept in its session queue while it is away.
        { persistent: true, headers: { 'x-mqtt-publish-qos': 1 } },
        (error) => (error ? reject(error) : resolve()),
      );
    });
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    if (this.#retry) clearTimeout(this.#retry);
    const session = this.#session;
    this.#session = null;
    await session?.model.close().catch(() => undefined);
  }

  async #connect(): Promise<void> {
    const url = this.#o.urls[this.#next++ % this.#o.urls.length]!;
    const where = new URL(url).host;
    let model: ChannelModel;
    try {
      model = await amqp.connect(url, {
        noDelay: true,
        timeout: 10_000,
        ...(this.#o.ca ? { ca: [this.#o.ca] } : {}),
      });
    } catch (error) {
      this.#o.metrics.increment('amqp_uplink_connects_total', { outcome: 'failed' });
      this.#o.logger.warn({ node: where, err: errorMessage(error) }, 'uplink queue unreachable');
      throw error;
    }
    model.on('error', (error) =>
      this.#o.logger.warn({ node: where, err: errorMessage(error) }, 'AMQP error'),
    );
    model.on('close', () => this.#lost(model, where));
    const consume = await model.createChannel();
    const publish = await model.createConfirmChannel();
    // A channel the broker closed (an error on it) is a lost session: start over on a new connection.
    for (const channel of [consume, publish])
      channel.on('close', () => void model.close().catch(() => undefined));
    await consume.assertQueue(UPLINK_QUEUE, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    for (const channel of UPLINK_CHANNELS)
      await consume.bindQueue(
        UPLINK_QUEUE,
        MQTT_EXCHANGE,
        routingKeyOf(allGatewaysFilter(channel)).replaceAll('+', '*'),
      );
    await consume.prefetch(this.#o.prefetch ?? 512);
    this.#session = { model, consume, publish };
    await consume.consume(UPLINK_QUEUE, (message) => message && this.#handle(consume, message));
    this.#backoff.reset();
    this.#o.metrics.increment('amqp_uplink_connects_total', { outcome: 'connected' });
    this.#o.logger.info({ node: where, queue: UPLINK_QUEUE }, 'consuming the uplink queue');
  }

  #handle(channel: Channel, message: ConsumeMessage): void {
    if (message.fields.redelivered) this.#o.metrics.increment('amqp_uplink_redelivered_total');
    const deliver = this.#deliver;
    if (!deliver) return;
    // On a channel that closed meanwhile the queue hands the message out again: nothing to settle.
    const current = () => this.#session?.consume === channel;
    deliver(topicOf(message.fields.routingKey), message.content).then(
      () => current() && channel.ack(message),
      // Not stored or its ack not sent (the database away, say): back to the queue after a pause,
      // for this worker or another, rather than at once in a loop.
      () => setTimeout(() => current() && channel.nack(message, false, true), 1000).unref(),
    );
  }

  #lost(model: ChannelModel, where: string): void {
    if (this.#session?.model === model) this.#session = null;
    if (this.#stopping) return;
    this.#o.logger.warn({ node: where }, 'uplink queue connection lost; reconnecting');
    this.#schedule();
  }

  #schedule(): void {
    if (this.#retry || this.#stopping) return;
    this.#retry = setTimeout(() => {
      this.#retry = null;
      this.#connect().catch(() => this.#schedule());
    }, this.#backoff.next());
  }
}
