import { createHash, randomBytes } from 'node:crypto';
import { httpRequest } from '../../lib/http-request.ts';
import type { Logger } from '../../lib/logger.ts';
import { DOWNLINK_CHANNELS, gatewayClientId, UPLINK_CHANNELS } from '../../protocols/topics.ts';
import { TOPIC_ROOT } from '../../protocols/version.ts';

/**
 * RabbitMQ's MQTT plugin publishes to the `amq.topic` exchange with the topic's levels joined by
 * dots (ids here hold no dots: IdentifierSchema).
 */
export const MQTT_EXCHANGE = 'amq.topic';

export function routingKeyOf(topic: string): string {
  return topic.replaceAll('/', '.');
}

export function topicOf(routingKey: string): string {
  return routingKey.replaceAll('.', '/');
}

const ROOT = routingKeyOf(TOPIC_ROOT).replaceAll('.', '\\.');

/** RabbitMQ's stored form of a password (rabbit_password_hashing_sha256): the broker never sees the secret. */
export function rabbitPasswordHash(password: string): string {
  const salt = randomBytes(4);
  const digest = createHash('sha256')
    .update(Buffer.concat([salt, Buffer.from(password, 'utf8')]))
    .digest();
  return Buffer.concat([salt, digest]).toString('base64');
}

/** The queues the MQTT plugin keeps for one client id (QoS 0 and QoS 1 subscriptions). */
function sessionQueues(clientId: string): string {
  return `mqtt-subscription-${clientId.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}qos[01]`;
}

export interface RabbitPermissions {
  readonly configure: string;
  readonly write: string;
  readonly read: string;
  /** On amq.topic: what the user may publish (write) and subscribe to (read), as routing keys. */
  readonly topicWrite: string;
  readonly topicRead: string;
}

/** The embedded broker's ACL (acl.ts) as RabbitMQ permissions: its own topics, its own session queues. */
export function gatewayPermissions(siteId: string, gatewayId: string): RabbitPermissions {
  const own = sessionQueues(gatewayClientId(gatewayId));
  return {
    configure: `^${own}$`,
    write: `^(amq\\.topic|${own})$`,
    read: `^(amq\\.topic|${own})$`,
    topicWrite: `^${ROOT}\\.${siteId}\\.${gatewayId}\\.(${UPLINK_CHANNELS.join('|')})$`,
    topicRead: `^${ROOT}\\.${siteId}\\.${gatewayId}\\.(${DOWNLINK_CHANNELS.join('|')})$`,
  };
}

/** The central's workers: their own queues (`vigil.*`), every gateway's uplink in, acks and commands out. */
export function centralPermissions(): RabbitPermissions {
  return {
    configure: '^vigil\\.',
    write: '^(amq\\.topic|vigil\\..*)$',
    read: '^(amq\\.topic|vigil\\..*)$',
    topicWrite: `^${ROOT}\\.[^.]+\\.[^.]+\\.(${DOWNLINK_CHANNELS.join('|')})$`,
    topicRead: `^${ROOT}\\.[^.]+\\.[^.]+\\.(${UPLINK_CHANNELS.join('|')})$`,
  };
}

/** The management API's credentials, as an HTTP Authorization header. */
export function basicAuthorization(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}

/**
 * Provisioning of a RabbitMQ cluster over its management API (any node; the cluster replicates
 * users): the central's user, and for each gateway a user holding only the hash of its issued
 * secret, with permissions on its own topics and session queues. Idempotent (PUT).
 */
export class RabbitProvisioner {
  readonly #apiUrl: string;
  readonly #authorization: string;
  readonly #logger: Logger;
  readonly #vhost = encodeURIComponent('/');

  readonly #ca: string | undefined;

  constructor(options: {
    apiUrl: string;
    username: string;
    password: string;
    /** The CA that certifies an https: API (the cluster's own). */
    ca?: string | undefined;
    logger: Logger;
  }) {
    this.#apiUrl = options.apiUrl.replace(/\/$/, '');
    this.#ca = options.ca;
    this.#authorization = basicAuthorization(options.username, options.password);
    this.#logger = options.logger;
  }

  async ensureCentral(username: string, password: string): Promise<void> {
    await this.putUser(username, password, centralPermissions());
  }

  async provisionGateway(siteId: string, gatewayId: string, secret: string): Promise<void> {
    await this.putUser(gatewayId, secret, gatewayPermissions(siteId, gatewayId));
    this.#logger.info({ siteId, gatewayId }, 'gateway provisioned on RabbitMQ');
  }

  /** A user with the hash of its password and these permissions (created or replaced). */
  async putUser(username: string, password: string, p: RabbitPermissions): Promise<void> {
    const user = encodeURIComponent(username);
    await this.#put(`/users/${user}`, {
      password_hash: rabbitPasswordHash(password),
      hashing_algorithm: 'rabbit_password_hashing_sha256',
      tags: '',
    });
    await this.#put(`/permissions/${this.#vhost}/${user}`, {
      configure: p.configure,
      write: p.write,
      read: p.read,
    });
    await this.#put(`/topic-permissions/${this.#vhost}/${user}`, {
      exchange: MQTT_EXCHANGE,
      write: p.topicWrite,
      read: p.topicRead,
    });
  }

  async #put(path: string, body: unknown): Promise<void> {
    const response = await httpRequest(`${this.#apiUrl}${path}`, {
      method: 'PUT',
      headers: { authorization: this.#authorization, 'content-type': 'application/json' },
      body: JSON.stringify(body),
      ca: this.#ca,
      timeoutMs: 15_000,
    }).catch((error: Error) => {
      throw new Error(`RabbitMQ management API ${path}: ${error.message}`);
    });
    if (!response.ok) throw new Error(`RabbitMQ management API ${path}: ${response.status} ${response.text}`);
  }
}
