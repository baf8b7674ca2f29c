import net from 'node:net';
import { Aedes, type Client } from 'aedes';
import type pg from 'pg';
import type { Logger } from '../../lib/logger.ts';
import type { Metrics } from '../../lib/metrics.ts';
import { gatewayClientId } from '../../protocols/topics.ts';
import { secretMatches } from '../auth/secrets.ts';
import { ConnectionGate, DEFAULT_LIMITS, type ListenerLimits } from '../limits.ts';
import { mayPublish, maySubscribe, type Principal } from './acl.ts';
import { createMemoryPersistence, withExactRetainedLookups } from './exact-retained.ts';
import { guardedConnection } from './packet-guard.ts';
import { TlsAdmission } from './tls-admission.ts';

export const CENTRAL_MQTT_USER = 'central';

export interface BrokerOptions {
  readonly host: string;
  readonly port: number;
  readonly pool: pg.Pool;
  /** Serve MQTT over TLS with this key and certificate (the default outside tests). */
  readonly tls?: { key: string; cert: string } | null;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly limits?: ListenerLimits['mqtt'];
}

export interface RunningBroker {
  readonly port: number;
  readonly url: string;
  readonly aedes: Aedes;
  close(): Promise<void>;
}

const BAD_CREDENTIALS = 4;

/**
 * The embedded MQTT broker. Every connection is authenticated (gateway id + issued secret, and the
 * client id bound to that gateway, so no one else can take over its session or read what is queued
 * for it) and every publish and subscribe authorized by the ACL; refusals are logged and counted.
 */
export async function startBroker(options: BrokerOptions): Promise<RunningBroker> {
  const { pool, logger, metrics } = options;
  const principals = new WeakMap<Client, Principal>();
  const refuse = (what: string, client: Client | null, detail: Record<string, unknown>) => {
    metrics.increment('broker_refused_total', { what });
    logger.warn({ what, clientId: client?.id, ...detail }, 'broker refused');
  };

  const limits = options.limits ?? DEFAULT_LIMITS.mqtt;
  const gate = new ConnectionGate('mqtt', limits, logger, metrics);
  const aedes = await Aedes.createBroker({
    persistence: withExactRetainedLookups(createMemoryPersistence()),
    // A complete, authenticated CONNECT within this time, or the socket is closed.
    connectTimeout: limits.connectTimeoutMs,
    authenticate(client, username, password, done) {
      const fail = (reason: string) => {
        refuse('connect', client, { username, reason });
        const error = Object.assign(new Error('bad username or password'), { returnCode: BAD_CREDENTIALS });
        done(error, false);
      };
      if (!username || !password) return fail('missing credentials');
      const secret = password.toString('utf8');
      // Checked before the secret: a client id bound to another gateway says nothing about this one.
      if (client.id !== gatewayClientId(username)) return fail('client id not bound to this gateway');
      pool
        .query<{ site_id: string; secret_sha256: string }>(
          'SELECT site_id, secret_sha256 FROM gateways WHERE id = $1',
          [username],
        )
        .then(({ rows: [row] }) => {
          if (!row || !secretMatches(secret, row.secret_sha256)) return fail('unknown gateway or bad secret');
          principals.set(client, { kind: 'gateway', siteId: row.site_id, gatewayId: username });
          done(null, true);
        })
        .catch((error: Error) => {
          logger.error({ err: error.message }, 'broker authentication lookup failed');
          fail('lookup failed');
        });
    },
    authorizePublish(client, packet, callback) {
      // Broker-internal publishes ($SYS, wills already authorized at connect) have no client.
      if (!client) return callback(null);
      const principal = principals.get(client);
      if (principal && mayPublish(principal, packet.topic, packet.retain)) return callback(null);
      refuse('publish', client, { topic: packet.topic, retain: packet.retain });
      callback(new Error('publish not authorized'));
    },
    authorizeSubscribe(client, subscription, callback) {
      const principal = principals.get(client);
      if (principal && maySubscribe(principal, subscription.topic)) return callback(null, subscription);
      refuse('subscribe', client, { topic: subscription.topic });
      callback(null, null);
    },
  });

  // Every connection: admitted by the gate, its packet sizes checked before aedes buffers them.
  // Every connection handed to aedes, until it closes: one that aedes does not count as a client
  // yet (no CONNECT so far) must not keep the server from closing.
  const handed = new Set<net.Socket>();
  const accept = (socket: net.Socket) => {
    handed.add(socket);
    socket.once('close', () => handed.delete(socket));
    const source = socket.remoteAddress;
    aedes.handle(
      guardedConnection(socket, limits, (reason) =>
        gate.refuse('packet-too-large', source, { detail: reason }),
      ),
    );
  };
  // Over TLS, handshakes are taken in turn (tls-admission.ts): the TCP socket is accepted paused.
  const admission = options.tls
    ? new TlsAdmission({
        ...options.tls,
        concurrency: limits.maxHandshakes,
        // The handshake is part of the time to a complete CONNECT.
        handshakeTimeoutMs: limits.connectTimeoutMs,
        onSecure: (socket) => {
          socket.setNoDelay(true);
          accept(socket);
        },
        onRefused: (error) => {
          metrics.increment('broker_refused_total', { what: 'tls' });
          logger.warn({ err: error.message }, 'TLS handshake refused');
        },
      })
    : null;
  // Alarm traffic is many small packets: without TCP_NODELAY, Nagle and delayed ACKs add ~40 ms a hop.
  const server = net.createServer({ noDelay: true, pauseOnConnect: admission !== null }, (socket) => {
    if (!gate.admit(socket)) return;
    if (admission) admission.admit(socket);
    else accept(socket);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  logger.info({ host: options.host, port, tls: Boolean(options.tls) }, 'MQTT broker listening');
  return {
    port,
    // The certificate names localhost, not the loopback address.
    url: `${options.tls ? 'mqtts' : 'mqtt'}://${options.host === '127.0.0.1' ? 'localhost' : options.host}:${port}`,
    aedes,
    close: () =>
      new Promise<void>((resolve) => {
        // What has not reached aedes yet (waiting for or in its handshake), or has but sent no
        // CONNECT, is closed too: the server would otherwise wait for it to time out (measured: a
        // restart's stop held 36 s by one such connection).
        admission?.close();
        aedes.close(() => {
          for (const socket of handed) socket.destroy();
          server.close(() => resolve());
        });
      }),
  };
}
